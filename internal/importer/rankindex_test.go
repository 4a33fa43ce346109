package importer_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/gen"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// keeperSpy is vacuumSpy recording each MaintainRankIndex the importer
// runs: the events stored and the VACUUM rounds run when it began, and its
// rule.
type keeperSpy struct {
	*vacuumSpy

	mu    sync.Mutex
	calls []keeperCall
}

type keeperCall struct {
	stored int64
	rounds int
	rule   store.RankIndexRule
	rep    store.RankIndexReport
}

func (k *keeperSpy) MaintainRankIndex(ctx context.Context, rule store.RankIndexRule) (store.RankIndexReport, error) {
	var n int64
	if err := k.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return store.RankIndexReport{}, err
	}
	k.vacuumSpy.mu.Lock()
	rounds := len(k.vacuumSpy.rounds)
	k.vacuumSpy.mu.Unlock()
	rep, err := k.Store.MaintainRankIndex(ctx, rule)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, keeperCall{stored: n, rounds: rounds, rule: rule, rep: rep})
	return rep, err
}

// At the end of an import, after its last VACUUM, the ranking index is
// looked at once with Options.RankIndexRule (here: always rebuilt), the
// rebuild is logged, and the summaries stay exact; with NoVacuum it is
// left alone.
func TestImportLooksAtTheRankingIndexAtTheEnd(t *testing.T) {
	s, ctx := setup(t)
	spy := &keeperSpy{vacuumSpy: &vacuumSpy{Store: s}}
	var logs syncBuffer
	rule := store.RankIndexRule{MaxBloat: 0.01, MinPages: 1}
	const n = 12_000
	sum := run(t, ctx, spy, importer.Options{BatchSize: 1000, VacuumEvery: 6000, RankIndexRule: rule,
		Log:   slog.New(slog.NewTextHandler(&logs, nil)),
		Stdin: generated(gen.Options{Seed: 8, Events: n})}, "-")
	if sum.Stored != n || !sum.Clean() {
		t.Fatalf("stored %d of %d, clean %v", sum.Stored, n, sum.Clean())
	}
	spy.vacuumSpy.mu.Lock()
	rounds := len(spy.vacuumSpy.rounds)
	spy.vacuumSpy.mu.Unlock()
	if len(spy.calls) != 1 {
		t.Fatalf("%d looks at the ranking index %+v, want 1", len(spy.calls), spy.calls)
	}
	c := spy.calls[0]
	if c.stored != n || c.rounds != rounds || rounds == 0 || c.rule != rule || !c.rep.Rebuilt {
		t.Errorf("the look: %+v (of %d VACUUM rounds); want it after all %d stored and the last round, rule %+v, rebuilt", c, rounds, n, rule)
	}
	if !strings.Contains(logs.String(), "rebuilt the indexes of repo_type_counts") {
		t.Errorf("no rebuild logged:\n%s", logs.String())
	}
	testdb.SummariesMatch(t, ctx, s.Pool())

	off := &keeperSpy{vacuumSpy: &vacuumSpy{Store: s}}
	run(t, ctx, off, importer.Options{BatchSize: 1000, NoVacuum: true, RankIndexRule: rule,
		Stdin: generated(gen.Options{Seed: 9, Events: 2000})}, "-")
	if len(off.calls) != 0 {
		t.Errorf("NoVacuum: %d looks at the ranking index", len(off.calls))
	}
}
