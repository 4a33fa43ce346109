// Package maintenance runs the store's upkeep that no write does on its
// own: for now, keeping the ranking index of repo_type_counts packed
// (store.MaintainRankIndex). Run runs on the poller leader; the importer
// runs a Round at the end of an import.
package maintenance

import (
	"context"
	"log/slog"
	"time"

	"github.com/ghevents/ghevents/internal/store"
)

// Config tunes Run.
type Config struct {
	// Every is the time between two looks at the ranking index (0: an
	// hour).
	Every time.Duration
	// Rule is when the index is rebuilt (zero: store.DefaultRankIndexRule).
	Rule store.RankIndexRule
	// Timeout bounds one round (0: 30 minutes).
	Timeout time.Duration
	// Log receives a line per rebuild, per leftover dropped and per failed
	// round.
	Log *slog.Logger
}

// Run looks at the ranking index at once and then every cfg.Every until
// ctx ends, rebuilding it when bloated. A failed round is logged and tried
// again at the next one. It returns nil when ctx ends.
func Run(ctx context.Context, s *store.Store, cfg Config) error {
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		Round(ctx, s, cfg.Rule, cfg.Timeout, cfg.Log)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Keeper keeps the ranking index packed: *store.Store.
type Keeper interface {
	MaintainRankIndex(ctx context.Context, rule store.RankIndexRule) (store.RankIndexReport, error)
}

// Round runs MaintainRankIndex once with rule (zero:
// store.DefaultRankIndexRule), within timeout, and logs what it did; an
// error is logged (unless ctx ended), not returned: the metrics stay exact
// without the rebuild, only slower.
func Round(ctx context.Context, s Keeper, rule store.RankIndexRule, timeout time.Duration, log *slog.Logger) {
	if rule == (store.RankIndexRule{}) {
		rule = store.DefaultRankIndexRule
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := s.MaintainRankIndex(rctx, rule)
	for _, name := range rep.Dropped {
		log.Info("dropped the leftover of an interrupted index rebuild", slog.String("index", name))
	}
	if rep.Rebuilt {
		log.Info("rebuilt the indexes of repo_type_counts: the ranking index was bloated",
			slog.Int64("pages_before", rep.Pages), slog.Int64("pages_packed_estimate", rep.Packed),
			slog.Int64("pages_after", rep.PagesAfter), slog.Int64("entries", rep.Entries), slog.Duration("took", rep.Took))
	}
	if err != nil && ctx.Err() == nil {
		log.Warn("the upkeep of the ranking index failed; will retry", slog.String("error", err.Error()))
	}
}
