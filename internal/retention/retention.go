// Package retention deletes events older than RETENTION, on a schedule, in
// small batches with pauses between them, so neither the poller's inserts
// nor the API's queries wait on it. The summary tables stay exact: the
// delete trigger subtracts exactly the rows each batch removed.
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

// Sweep deletes every event older than now - Keep, batch by batch, and
// returns how many it deleted.
func Sweep(ctx context.Context, s *store.Store, cfg Config) (int64, error) {
	cfg.defaults()
	cutoff := cfg.Now().Add(-cfg.Keep)
	start := time.Now()
	var total int64
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
