// Package retention keeps the monthly partitions of events: it drops the
// months older than RETENTION whole and deletes the older events of the
// month that straddles the limit in small batches with pauses between them,
// so neither the poller's inserts nor the API's queries wait on it; and it
// makes the coming months' partitions ahead of need (Ahead). The summary
// tables stay exact: a dropped month's share is taken out in the same
// transaction as the DROP, and the delete trigger subtracts exactly the rows
// each batch removed.
package retention

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ghevents/ghevents/internal/store"
)

// Config tunes the sweeper.
type Config struct {
	// Keep is how long events are kept (by created_at); 0 turns retention off.
	Keep time.Duration
	// Every is the time between sweeps (0: 15 minutes).
	Every time.Duration
	// Batch is how many events one statement deletes (0: 5,000).
	Batch int
	// Pause is the wait between two batches of a sweep (0: 100 ms).
	Pause time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log receives one line per sweep that deleted something.
	Log *slog.Logger
}

func (c *Config) defaults() {
	if c.Every <= 0 {
		c.Every = 15 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 5000
	}
	if c.Pause <= 0 {
		c.Pause = 100 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Run sweeps at once and then every cfg.Every until ctx ends. A failed sweep
// is logged and tried again at the next tick. It returns nil when ctx ends.
func Run(ctx context.Context, s *store.Store, cfg Config) error {
	if cfg.Keep <= 0 {
		return nil
	}
	cfg.defaults()
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		if _, err := Sweep(ctx, s, cfg); err != nil && ctx.Err() == nil {
			cfg.Log.Warn("retention sweep failed; will retry", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep deletes every event older than now - Keep and returns how many it
// deleted: first the partitions whose whole months are older (one DROP
// each), then, batch by batch through events, the older rows of the month
// that straddles the limit.
func Sweep(ctx context.Context, s *store.Store, cfg Config) (int64, error) {
	cfg.defaults()
	cutoff := cfg.Now().Add(-cfg.Keep)
	start := time.Now()
	var total int64
	parts, err := s.Partitions(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range parts {
		if p.To.After(cutoff) {
			continue
		}
		n, err := s.DropPartition(ctx, p.Name)
		if err != nil {
			return total, err
		}
		total += n
		cfg.Log.Info("retention dropped a partition", slog.String("partition", p.Name), slog.Int64("events", n))
	}
	for {
		bctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := s.DeleteOlderThan(bctx, cutoff, cfg.Batch)
		cancel()
		total += n
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return total, nil
			}
			return total, err
		}
		if n < int64(cfg.Batch) {
			break
		}
		select {
		case <-ctx.Done():
			return total, nil
		case <-time.After(cfg.Pause):
		}
	}
	if total > 0 {
		cfg.Log.Info("retention sweep", slog.Int64("deleted", total), slog.Time("cutoff", cutoff),
			slog.Duration("took", time.Since(start)))
	}
	return total, nil
}

// AheadConfig tunes Ahead.
type AheadConfig struct {
	// Months is how many months after the current one get their partition
	// ahead of need (0: 3).
	Months int
	// Every is the time between two rounds (0: an hour).
	Every time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log receives a line per failed round.
	Log *slog.Logger
}

// Ahead makes the partitions of the current month and the next cfg.Months
// at once and then every cfg.Every until ctx ends, so the writers seldom
// have one to make. It runs on the leader. A failed round (the lock not had
// in time) is logged and tried again at the next one. It returns nil when
// ctx ends.
func Ahead(ctx context.Context, s *store.Store, cfg AheadConfig) error {
	if cfg.Months <= 0 {
		cfg.Months = 3
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		if err := MakeAhead(ctx, s, cfg.Now(), cfg.Months); err != nil && ctx.Err() == nil {
			cfg.Log.Warn("making the coming months' partitions failed; will retry", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// MakeAhead makes the partitions of now's UTC month and the months months
// after it.
func MakeAhead(ctx context.Context, s *store.Store, now time.Time, months int) error {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	times := make([]time.Time, 0, months+1)
	for i := range months + 1 {
		times = append(times, first.AddDate(0, i, 0))
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return s.EnsureMonths(mctx, times...)
}
