package importer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ghevents/ghevents/internal/maintenance"
	"github.com/ghevents/ghevents/internal/store"
)

// Vacuumer is a Sink whose writes leave dead row versions in its summary
// tables, and that can vacuum them: *store.Store. The importer vacuums a
// sink that is one as the import goes (see Options.NoVacuum).
type Vacuumer interface {
	VacuumSummaries(ctx context.Context, rule store.VacuumRule) ([]store.Vacuumed, error)
}

const (
	// defaultVacuumEvery is how many events are stored between two looks
	// at the summary tables' dead rows.
	defaultVacuumEvery = 200_000
	// vacuumTimeout bounds one round of VACUUMs (at ten million events the
	// biggest summary takes seconds).
	vacuumTimeout = 30 * time.Minute
)

// vacuumRule is when the import vacuums a summary table: once it holds
// more dead row versions than live rows (autovacuum's scale factor is 0.2).
// The small tables every batch updates (the histogram, the counts per
// type, the data version) are due at every round; the per-repository
// tables, whose VACUUM reads all of their indexes and writes the pages it
// cleans into the WAL (seconds and gigabytes at ten million events), only
// once their dead versions outnumber their rows (BENCHMARKS.md).
var vacuumRule = store.VacuumRule{MinDead: 50, Scale: 1}

// vacuumer vacuums the summary tables of the sink, on its own goroutine
// and connection, once every Options.VacuumEvery events stored: the rounds
// never hold up a batch, and at most one runs at a time (a round asked for
// while one runs is merged into the next).
type vacuumer struct {
	v     Vacuumer
	rank  store.RankIndexRule
	every int64
	log   *slog.Logger
	m     *Metrics
	kick  chan struct{}
	done  chan struct{}
}

// startVacuumer starts the vacuum of the summaries for run r, or returns
// nil when the sink cannot vacuum or the options turn it off.
func startVacuumer(r *run) *vacuumer {
	v, ok := r.im.sink.(Vacuumer)
	if !ok || r.im.o.NoVacuum {
		return nil
	}
	vc := &vacuumer{v: v, rank: r.im.o.RankIndexRule, every: r.im.o.VacuumEvery, log: r.im.o.Log, m: r.im.o.Metrics,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(vc.done)
		for range vc.kick {
			vc.round(r.ctx)
		}
	}()
	return vc
}

// stored is told, after each batch, the events stored so far (total) and
// by that batch (n); it asks for a round when total crossed a multiple of
// every.
func (vc *vacuumer) stored(total, n int64) {
	if vc == nil || n <= 0 || total/vc.every == (total-n)/vc.every {
		return
	}
	select {
	case vc.kick <- struct{}{}:
	default: // a round is already asked for
	}
}

// finish waits for the rounds asked for, then, when last is set and ctx
// is not done, runs one last round, so the import leaves no table due for
// VACUUM behind, and has the ranking index looked at when the sink keeps
// one (maintenance.Keeper: the import moved an entry of it per pair of
// every batch; it is rebuilt when bloated). No batch may be stored after
// it is called.
func (vc *vacuumer) finish(ctx context.Context, last bool) {
	if vc == nil {
		return
	}
	close(vc.kick)
	<-vc.done
	if last && ctx.Err() == nil {
		vc.round(ctx)
		if k, ok := vc.v.(maintenance.Keeper); ok && ctx.Err() == nil {
			maintenance.Round(ctx, k, vc.rank, vacuumTimeout, vc.log)
		}
	}
}

// round vacuums the tables due. An error is logged and the import goes on:
// the summaries stay exact without VACUUM, only slower to keep.
func (vc *vacuumer) round(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, vacuumTimeout)
	defer cancel()
	done, err := vc.v.VacuumSummaries(ctx, vacuumRule)
	for _, d := range done {
		vc.m.Vacuums.Inc()
		vc.m.VacuumSeconds.Add(d.Took.Seconds())
		vc.log.Info("vacuumed a summary table", slog.String("table", d.Table), slog.Int64("dead_rows", d.Dead),
			slog.Int64("live_rows", d.Live), slog.Duration("took", d.Took))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		vc.log.Warn("vacuum of the summary tables failed; the import goes on", slog.String("error", err.Error()))
	}
}
