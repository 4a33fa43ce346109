package importer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/gen"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// vacuumSpy is the store, recording each round of VacuumSummaries the
// importer runs: how many events were stored when it began, and how many
// tables it vacuumed. It vacuums every table with a dead row (rule zero),
// so that a round does something however late the server's statistics
// are; fail, when set, is returned after the vacuum.
type vacuumSpy struct {
	*store.Store
	fail error

	mu     sync.Mutex
	rounds []spyRound
	rules  []store.VacuumRule
}

type spyRound struct {
	stored int64
	tables int
}

func (v *vacuumSpy) VacuumSummaries(ctx context.Context, rule store.VacuumRule) ([]store.Vacuumed, error) {
	var n int64
	if err := v.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return nil, err
	}
	done, err := v.Store.VacuumSummaries(ctx, store.VacuumRule{})
	if err == nil {
		err = v.fail
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rounds = append(v.rounds, spyRound{stored: n, tables: len(done)})
	v.rules = append(v.rules, rule)
	return done, err
}

// vacuumCount is how many VACUUMs the server counted on the store's tables.
func vacuumCount(t *testing.T, ctx context.Context, s *store.Store) int64 {
	t.Helper()
	return count(t, ctx, s, `SELECT coalesce(sum(vacuum_count), 0)::bigint FROM pg_stat_user_tables`)
}

// The import vacuums the summary tables every VacuumEvery events stored,
// those with more dead rows than live ones (and 50), and once more when
// everything is stored; the summaries stay exact.
func TestImportVacuumsSummaries(t *testing.T) {
	s, ctx := setup(t)
	spy := &vacuumSpy{Store: s}
	m := importer.NewMetrics(nil)
	const n = 24_000
	sum := run(t, ctx, spy, importer.Options{BatchSize: 1000, VacuumEvery: 6000, Metrics: m,
		Stdin: generated(gen.Options{Seed: 5, Events: n})}, "-")
	if sum.Stored != n || !sum.Clean() {
		t.Fatalf("stored %d of %d, clean %v", sum.Stored, n, sum.Clean())
	}
	spy.mu.Lock()
	rounds, rules := spy.rounds, spy.rules
	spy.mu.Unlock()
	// 6,000, 12,000, 18,000 and 24,000 stored ask for a round each (a
	// round asked for while one runs is merged into the next), then the
	// last one.
	if len(rounds) < 2 || len(rounds) > 5 {
		t.Fatalf("%d rounds %+v, want 2 to 5", len(rounds), rounds)
	}
	if rounds[0].stored < 6000 {
		t.Errorf("first round began with %d stored, before the first 6,000", rounds[0].stored)
	}
	if last := rounds[len(rounds)-1]; last.stored != n {
		t.Errorf("last round began with %d stored, want all %d", last.stored, n)
	}
	var tables int
	for i, r := range rounds {
		if i > 0 && r.stored < rounds[i-1].stored {
			t.Errorf("rounds out of order: %+v", rounds)
		}
		if want := (store.VacuumRule{MinDead: 50, Scale: 1}); rules[i] != want || importer.VacuumRuleForTest != want {
			t.Errorf("round %d with rule %+v, want %+v (more dead rows than live ones)", i, rules[i], want)
		}
		tables += r.tables
	}
	if tables == 0 {
		t.Fatalf("no table vacuumed in %d rounds", len(rounds))
	}
	if got := testutil.ToFloat64(m.Vacuums); got != float64(tables) {
		t.Errorf("ghevents_import_vacuums_total %v, want the %d tables vacuumed", got, tables)
	}
	if got := vacuumCount(t, ctx, s); got != int64(tables) {
		t.Errorf("the server counted %d VACUUMs, the rounds %d", got, tables)
	}
	if testutil.ToFloat64(m.VacuumSeconds) <= 0 {
		t.Errorf("ghevents_import_vacuum_seconds_total is 0 after %d VACUUMs", tables)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}

// NoVacuum: no round at all.
func TestImportNoVacuum(t *testing.T) {
	s, ctx := setup(t)
	spy := &vacuumSpy{Store: s}
	sum := run(t, ctx, spy, importer.Options{BatchSize: 1000, VacuumEvery: 2000, NoVacuum: true,
		Stdin: generated(gen.Options{Seed: 6, Events: 8000})}, "-")
	if sum.Stored != 8000 || !sum.Clean() {
		t.Fatalf("stored %d of 8000, clean %v", sum.Stored, sum.Clean())
	}
	if len(spy.rounds) != 0 {
		t.Fatalf("NoVacuum: %d rounds %+v", len(spy.rounds), spy.rounds)
	}
	if got := vacuumCount(t, ctx, s); got != 0 {
		t.Fatalf("NoVacuum: the server counted %d VACUUMs", got)
	}
}

// A failing VACUUM is logged and the import goes on: everything stored,
// nothing reported bad.
func TestImportVacuumFails(t *testing.T) {
	s, ctx := setup(t)
	spy := &vacuumSpy{Store: s, fail: errors.New("vacuum refused")}
	var logs syncBuffer
	sum, err := importer.New(spy, importer.Options{BatchSize: 1000, VacuumEvery: 2000,
		Log:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Stdin: generated(gen.Options{Seed: 7, Events: 8000})}).Run(ctx, []string{"-"})
	if err != nil || sum.Stored != 8000 || !sum.Clean() {
		t.Fatalf("stored %d of 8000, clean %v: %v", sum.Stored, sum.Clean(), err)
	}
	spy.mu.Lock()
	rounds := len(spy.rounds)
	spy.mu.Unlock()
	want := `vacuum of the summary tables failed; the import goes on" error="vacuum refused"`
	if got := strings.Count(logs.String(), want); rounds < 2 || got != rounds {
		t.Fatalf("%d rounds, %d warnings %q in the log:\n%s", rounds, got, want, logs.String())
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}

// syncBuffer is a bytes.Buffer safe for the importer's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// batchSizes is a Sink that stores nothing and records the size of each
// batch, in order.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) InsertEvents(_ context.Context, events []model.Event) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, len(events))
	return int64(len(events)), nil
}

// Without payload a batch holds up to 100,000 events by default; with it,
// 5,000 (the 12,000 generated lines here stay under 8 MiB per 5,000).
func TestImportDefaultBatchSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		noPayload bool
		want      []int
	}{{true, []int{12_000}}, {false, []int{5000, 5000, 2000}}} {
		sink := &batchSizes{}
		sum := run(t, ctx, sink, importer.Options{NoPayload: c.noPayload, Jobs: 1, Stdin: generated(gen.Options{Seed: 8, Events: 12_000})}, "-")
		if sum.Stored != 12_000 || !sum.Clean() {
			t.Fatalf("no payload %v: stored %d of 12,000, clean %v", c.noPayload, sum.Stored, sum.Clean())
		}
		if !slices.Equal(sink.sizes, c.want) {
			t.Errorf("no payload %v: batches %v, want %v", c.noPayload, sink.sizes, c.want)
		}
	}
}
