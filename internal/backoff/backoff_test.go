package backoff_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/backoff"
)

func TestStep(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		base, limit time.Duration
		attempt     int
		want        time.Duration
	}{
		{time.Second, 5 * time.Minute, 0, time.Second},
		{time.Second, 5 * time.Minute, 1, time.Second},
		{time.Second, 5 * time.Minute, 2, 2 * time.Second},
		{time.Second, 5 * time.Minute, 9, 256 * time.Second},
		{time.Second, 5 * time.Minute, 10, 5 * time.Minute},
		{time.Second, 5 * time.Minute, math.MaxInt, 5 * time.Minute},
		{100 * time.Millisecond, 5 * time.Second, 6, 3200 * time.Millisecond},
		{100 * time.Millisecond, 5 * time.Second, 7, 5 * time.Second},
		{250 * time.Millisecond, 30 * time.Second, 8, 30 * time.Second},
	} {
		if got := backoff.Step(c.base, c.limit, c.attempt); got != c.want {
			t.Errorf("Step(%v, %v, %d) = %v, want %v", c.base, c.limit, c.attempt, got, c.want)
		}
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rnd  float64
		want time.Duration
	}{
		{0, 5 * time.Second},
		{0.5, 7500 * time.Millisecond},
		{1, 10 * time.Second},
		{-3, 5 * time.Second},
		{7, 10 * time.Second},
		{math.NaN(), 10 * time.Second},
	} {
		if got := backoff.Jitter(10*time.Second, c.rnd); got != c.want {
			t.Errorf("Jitter(10s, %v) = %v, want %v", c.rnd, got, c.want)
		}
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	if err := backoff.Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
	if err := backoff.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := backoff.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("Sleep(1h) on an ended context = %v after %v", err, time.Since(start))
	}
	if err := backoff.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) on an ended context = %v", err)
	}
}
