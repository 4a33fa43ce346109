package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// tableStats are a table's counters in pg_stat_user_tables.
type tableStats struct {
	live, dead, updated, deleted, vacuums int64
}

// statsOf reads the counters of every table of the store that is not a
// partition of events, after making the server publish what this
// session's transactions counted (pg_stat_force_next_flush; s must have
// one connection, the one that wrote).
func statsOf(t *testing.T, ctx context.Context, s *store.Store) map[string]tableStats {
	t.Helper()
	if _, err := s.Pool().Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	// The flush happens at the end of the statement above; this one reads
	// in a transaction of its own.
	rows, err := s.Pool().Query(ctx, `SELECT s.relname, s.n_live_tup, s.n_dead_tup, s.n_tup_upd, s.n_tup_del, s.vacuum_count
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = 'public' AND NOT c.relispartition`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]tableStats{}
	for rows.Next() {
		var name string
		var st tableStats
		if err := rows.Scan(&name, &st.live, &st.dead, &st.updated, &st.deleted, &st.vacuums); err != nil {
			t.Fatal(err)
		}
		out[name] = st
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// setupOneConn is setup with a pool of one connection, so that the
// statistics of every write can be flushed on demand (statsOf).
func setupOneConn(t *testing.T) (*store.Store, context.Context) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	s, err := store.Open(ctx, testdb.URL(t), store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, ctx
}

// threeBatches stores three batches of one PushEvent for each of 50
// repositories, an hour apart: repo_type_counts gets 50 rows, inserted by
// the first batch and updated by each of the two others (100 updates).
func threeBatches(t *testing.T, ctx context.Context, s *store.Store) {
	t.Helper()
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for b := range 3 {
		batch := make([]model.Event, 50)
		for r := range batch {
			batch[r] = model.Event{ID: int64(1 + b*50 + r), Type: "PushEvent", RepoID: int64(r + 1),
				RepoName: fmt.Sprintf("o/r%02d", r), CreatedAt: start.Add(time.Duration(b)*time.Hour + time.Duration(r)*time.Second)}
		}
		if n, err := s.InsertEvents(ctx, batch); err != nil || n != 50 {
			t.Fatalf("batch %d: stored %d of 50: %v", b, n, err)
		}
	}
}

// VacuumSummaries vacuums exactly the tables its rule says are due, and
// leaves them without dead rows; the summaries stay exact.
func TestVacuumSummaries(t *testing.T) {
	s, ctx := setupOneConn(t)
	threeBatches(t, ctx, s)
	before := statsOf(t, ctx, s)
	if got := before["repo_type_counts"]; got.live != 50 || got.updated != 100 || got.dead == 0 || got.vacuums != 0 {
		t.Fatalf("repo_type_counts before: %+v, want 50 live, 100 updated, dead rows, no vacuum", got)
	}

	// A rule nothing meets: nothing is vacuumed.
	done, err := s.VacuumSummaries(ctx, store.VacuumRule{MinDead: 1_000_000})
	if err != nil || len(done) != 0 {
		t.Fatalf("VacuumSummaries(min 1,000,000 dead) = %+v, %v; want nothing", done, err)
	}

	// Every table with a dead row: those, and only those, are vacuumed.
	var want []string
	for name, st := range before {
		if st.dead > 0 {
			want = append(want, name)
		}
	}
	slices.Sort(want)
	done, err = s.VacuumSummaries(ctx, store.VacuumRule{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range done {
		got = append(got, d.Table)
		if st := before[d.Table]; d.Dead != st.dead || d.Live != st.live {
			t.Errorf("%s: reported %d live, %d dead; the statistics said %d, %d", d.Table, d.Live, d.Dead, st.live, st.dead)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("vacuumed %v, want the tables with dead rows %v", got, want)
	}
	if !slices.Contains(got, "repo_type_counts") || !slices.Contains(got, "data_version") {
		t.Fatalf("vacuumed %v: repo_type_counts and data_version are updated by every batch", got)
	}
	after := statsOf(t, ctx, s)
	for name, st := range after {
		wantVacuums := int64(0)
		if slices.Contains(want, name) {
			wantVacuums = 1
		}
		if st.vacuums != wantVacuums || st.dead != 0 {
			t.Errorf("%s after: %d vacuums, %d dead rows; want %d, 0", name, st.vacuums, st.dead, wantVacuums)
		}
	}
	testdb.SummariesMatch(t, ctx, s.Pool())

	// Nothing left to do.
	if done, err := s.VacuumSummaries(ctx, store.VacuumRule{}); err != nil || len(done) != 0 {
		t.Fatalf("second VacuumSummaries = %+v, %v; want nothing", done, err)
	}
}

// Every table that storing or deleting events updates in place is one
// VacuumSummaries knows (a summary table added to the triggers must be
// added to it, or its dead rows would pile up).
func TestVacuumSummariesKnowsEveryUpdatedTable(t *testing.T) {
	s, ctx := setupOneConn(t)
	threeBatches(t, ctx, s)
	if _, err := s.Pool().Exec(ctx, `DELETE FROM events WHERE id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	known := s.SummaryTablesForTest()
	var updated []string
	for name, st := range statsOf(t, ctx, s) {
		if st.updated+st.deleted > 0 {
			updated = append(updated, name)
		}
	}
	if len(updated) < 5 {
		t.Fatalf("only %v were updated: the statistics did not arrive", updated)
	}
	for _, name := range updated {
		if !slices.Contains(known, name) {
			t.Errorf("%s is updated by the writes of events but VacuumSummaries does not vacuum it (it knows %v)", name, known)
		}
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}

// A cancelled context stops VacuumSummaries with an error naming the step.
func TestVacuumSummariesCancelled(t *testing.T) {
	s, ctx := setupOneConn(t)
	threeBatches(t, ctx, s)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	done, err := s.VacuumSummaries(cctx, store.VacuumRule{})
	if err == nil || len(done) != 0 {
		t.Fatalf("VacuumSummaries(cancelled) = %+v, %v; want an error", done, err)
	}
	if want := "publish the sessions' statistics"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// The writes just made count, though their session published its
// statistics less than a second before them (it would publish them ten
// seconds later): VacuumSummaries makes the idle sessions publish first.
func TestVacuumSummariesCountsTheLastWrites(t *testing.T) {
	s, ctx := setupOneConn(t)
	threeBatches(t, ctx, s)
	done, err := s.VacuumSummaries(ctx, store.VacuumRule{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(done, func(v store.Vacuumed) bool { return v.Table == "repo_type_counts" })
	if i < 0 || done[i].Live != 50 || done[i].Dead == 0 {
		t.Fatalf("vacuumed %+v: want repo_type_counts with 50 live rows and the dead ones of 100 updates", done)
	}
	if st := statsOf(t, ctx, s)["repo_type_counts"]; st.dead != 0 || st.vacuums != 1 || st.updated != 100 {
		t.Fatalf("repo_type_counts after: %+v, want 100 updates, 1 vacuum, no dead row", st)
	}
}
