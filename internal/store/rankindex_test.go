package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// churnRepos and churnRounds shape the store of the ranking index tests:
// churnRepos repositories get two PushEvents each, then, in each of
// churnRounds batches, one more for those with (i+round)%3 != 0: every
// batch moves two thirds of the ranking index's entries.
const (
	churnRepos  = 1500
	churnRounds = 20
)

// churn fills s as above and returns the ranking it must answer, worked
// out here: every repository's count, most first, then by name.
func churn(t *testing.T, ctx context.Context, s *store.Store, rounds int) []store.RepoCount {
	t.Helper()
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	id := int64(0)
	event := func(i int, at time.Time) model.Event {
		id++
		return model.Event{ID: id, Type: "PushEvent", RepoID: int64(i + 1), RepoName: fmt.Sprintf("o/r%04d", i), CreatedAt: at}
	}
	counts := make([]int64, churnRepos)
	var first []model.Event
	for i := range churnRepos {
		first = append(first, event(i, start), event(i, start.Add(time.Second)))
		counts[i] = 2
	}
	if n, err := s.InsertEvents(ctx, first); err != nil || n != int64(len(first)) {
		t.Fatalf("first batch: stored %d of %d: %v", n, len(first), err)
	}
	for r := range rounds {
		var batch []model.Event
		for i := range churnRepos {
			if (i+r)%3 != 0 {
				batch = append(batch, event(i, start.Add(time.Duration(r+1)*time.Minute)))
				counts[i]++
			}
		}
		if n, err := s.InsertEvents(ctx, batch); err != nil || n != int64(len(batch)) {
			t.Fatalf("round %d: stored %d of %d: %v", r, n, len(batch), err)
		}
	}
	want := make([]store.RepoCount, churnRepos)
	for i, c := range counts {
		want[i] = store.RepoCount{RepoName: fmt.Sprintf("o/r%04d", i), Events: c}
	}
	slices.SortFunc(want, func(a, b store.RepoCount) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), strings.Compare(a.RepoName, b.RepoName))
	})
	return want
}

// rankingIs checks the whole ranking (more than 1 event) against want.
func rankingIs(t *testing.T, ctx context.Context, s *store.Store, want []store.RepoCount) {
	t.Helper()
	total, got, err := s.TopRepos(ctx, "PushEvent", 1, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(len(want)) || !slices.Equal(got, want) {
		t.Errorf("TopRepos = %d, %d rows (first %v); want %d rows (first %v)", total, len(got), got[:min(3, len(got))], len(want), want[:3])
	}
}

// indexesOf is every index of repo_type_counts: name, validity, definition.
func indexesOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT c.relname || ' ' || i.indisvalid || ' ' || pg_get_indexdef(c.oid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'repo_type_counts'::regclass ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func analyze(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(ctx, `ANALYZE repo_type_counts`); err != nil {
		t.Fatal(err)
	}
}

// A ranking index filled in key order is packed: it is left.
func TestMaintainRankIndexLeavesAPackedIndex(t *testing.T) {
	s, ctx := setup(t)
	pool := s.Pool()
	rule := store.RankIndexRule{MaxBloat: 2, MinPages: 8}

	// One batch: 1,500 entries inserted in key order, packed.
	want := churn(t, ctx, s, 0)
	analyze(t, ctx, pool)
	rep, err := s.MaintainRankIndex(ctx, rule)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rebuilt || rep.Skipped || len(rep.Dropped) != 0 || rep.Entries != churnRepos {
		t.Fatalf("fresh index: %+v; want it looked at (%d entries) and left", rep, churnRepos)
	}
	if float64(rep.Pages) > 2*float64(rep.Packed) || rep.Pages < rep.Packed/2 {
		t.Errorf("fresh index: %d pages, packed estimate %d: the estimate is off", rep.Pages, rep.Packed)
	}
	rankingIs(t, ctx, s, want)
}

// A ranking index that writes have churned is rebuilt, packed; the answers
// stay the same and exact, the indexes' definitions too.
func TestMaintainRankIndexRebuildsAChurnedIndex(t *testing.T) {
	s, ctx := setup(t)
	pool := s.Pool()
	rule := store.RankIndexRule{MaxBloat: 2, MinPages: 8}
	want := churn(t, ctx, s, churnRounds)
	if _, err := pool.Exec(ctx, `VACUUM repo_type_counts`); err != nil {
		t.Fatal(err)
	}
	analyze(t, ctx, pool)
	defs := indexesOf(t, ctx, pool)
	rankingIs(t, ctx, s, want)

	rep, err := s.MaintainRankIndex(ctx, rule)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Rebuilt || rep.Entries != churnRepos || rep.Pages <= 2*rep.Packed {
		t.Fatalf("churned index: %+v; want it rebuilt", rep)
	}
	if rep.PagesAfter > rep.Packed*3/2 || rep.PagesAfter >= rep.Pages/4 {
		t.Errorf("after the rebuild: %d pages (before %d, packed estimate %d)", rep.PagesAfter, rep.Pages, rep.Packed)
	}
	if got := indexesOf(t, ctx, pool); !slices.Equal(got, defs) {
		t.Errorf("indexes after the rebuild:\n %v\nwant\n %v", got, defs)
	}
	rankingIs(t, ctx, s, want)
	testdb.SummariesMatch(t, ctx, pool)

	// Packed now: the next look leaves it.
	again, err := s.MaintainRankIndex(ctx, rule)
	if err != nil {
		t.Fatal(err)
	}
	if again.Rebuilt || again.Pages != rep.PagesAfter {
		t.Errorf("second look: %+v; want it left at %d pages", again, rep.PagesAfter)
	}
}

// leftovers are the indexes of repo_type_counts an interrupted REINDEX
// left, with their validity.
func leftovers(t *testing.T, ctx context.Context, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT c.relname || ' ' || i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'repo_type_counts'::regclass AND c.relname LIKE '%\_cc%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// blockWriters opens a writer's transaction on repo_type_counts (as an
// import batch holds one): a REINDEX CONCURRENTLY makes its new indexes,
// then waits for it. release ends it.
// interruptedLeftovers are what an interrupted REINDEX TABLE CONCURRENTLY
// of repo_type_counts leaves: one INVALID copy of each of its indexes.
var interruptedLeftovers = []string{"repo_type_counts_pkey_ccnew", "repo_type_counts_prev_idx_ccnew", "repo_type_counts_rank_idx_ccnew"}

// cleanedUp checks that no leftover is there, the indexes are defs again,
// the ranking is want and every summary matches a recount.
func cleanedUp(t *testing.T, ctx context.Context, s *store.Store, defs []string, want []store.RepoCount) {
	t.Helper()
	pool := s.Pool()
	if got := leftovers(t, ctx, pool); len(got) != 0 {
		t.Errorf("leftovers after: %v", got)
	}
	if got := indexesOf(t, ctx, pool); !slices.Equal(got, defs) {
		t.Errorf("indexes after:\n %v\nwant\n %v", got, defs)
	}
	rankingIs(t, ctx, s, want)
	testdb.SummariesMatch(t, ctx, pool)
}

func blockWriters(t *testing.T, ctx context.Context, pool *pgxpool.Pool) (release func()) {
	t.Helper()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE repo_type_counts IN ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }) }
	t.Cleanup(release)
	return release
}

// cancelWhenBuilding waits until a REINDEX of repo_type_counts has made its
// three new indexes, runs during (if not nil), and cancels it
// (pg_cancel_backend: the statement is cancelled, as by a client going away
// or an operator).
func cancelWhenBuilding(t *testing.T, ctx context.Context, pool *pgxpool.Pool, during func()) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, "the REINDEX's new indexes", func() bool {
		return len(leftovers(t, ctx, pool)) == 3
	})
	if during != nil {
		during()
	}
	var cancelled bool
	if err := pool.QueryRow(ctx, `SELECT bool_or(pg_cancel_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%REINDEX TABLE CONCURRENTLY repo_type_counts%'`).Scan(&cancelled); err != nil || !cancelled {
		t.Fatalf("cancel the REINDEX: %v, %v", cancelled, err)
	}
}

var wantLeftovers = []string{"repo_type_counts_pkey_ccnew false", "repo_type_counts_prev_idx_ccnew false", "repo_type_counts_rank_idx_ccnew false"}

// A REINDEX interrupted earlier (by anyone) leaves INVALID indexes: the
// next look drops them, whether or not it rebuilds.
func TestMaintainRankIndexDropsAnEarlierInterruptedRebuild(t *testing.T) {
	s, ctx := setup(t)
	pool := s.Pool()
	want := churn(t, ctx, s, 3)
	defs := indexesOf(t, ctx, pool)

	release := blockWriters(t, ctx, pool)
	done := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `REINDEX TABLE CONCURRENTLY repo_type_counts`)
		done <- err
	}()
	cancelWhenBuilding(t, ctx, pool, nil)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "canceling statement") {
		t.Fatalf("the REINDEX: %v; want it cancelled", err)
	}
	release()
	if got := leftovers(t, ctx, pool); !slices.Equal(got, wantLeftovers) {
		t.Fatalf("leftovers %v; want %v", got, wantLeftovers)
	}
	rep, err := s.MaintainRankIndex(ctx, store.RankIndexRule{MaxBloat: 1e9, MinPages: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rebuilt || !slices.Equal(rep.Dropped, interruptedLeftovers) {
		t.Errorf("MaintainRankIndex = %+v; want %v dropped, no rebuild", rep, interruptedLeftovers)
	}
	cleanedUp(t, ctx, s, defs, want)
}

// Its own REINDEX cancelled, the job drops what it left at once, once the
// writer it waited for is done, and says it failed.
func TestMaintainRankIndexCleansUpItsInterruptedRebuild(t *testing.T) {
	s, ctx := setup(t)
	pool := s.Pool()
	want := churn(t, ctx, s, 3)
	defs := indexesOf(t, ctx, pool)

	release := blockWriters(t, ctx, pool)
	type result struct {
		rep store.RankIndexReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := s.MaintainRankIndex(ctx, store.RankIndexRule{}) // always rebuilds
		done <- result{rep, err}
	}()
	// While the rebuild runs (here: waits for the writer), queries and
	// other writers go on: each within a second.
	cancelWhenBuilding(t, ctx, pool, func() {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, _, err := s.TopRepos(qctx, "PushEvent", 1, 10000); err != nil {
			t.Errorf("a query during the rebuild: %v", err)
		}
		if n, err := s.InsertEvents(qctx, []model.Event{{ID: 1 << 40, Type: "WatchEvent", RepoID: 1, RepoName: "o/r0001",
			CreatedAt: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)}}); err != nil || n != 1 {
			t.Errorf("a write during the rebuild: %d, %v", n, err)
		}
	})
	// The clean-up waits for its lock 50 ms at a time while the writer
	// runs on.
	time.Sleep(300 * time.Millisecond)
	release()
	r := <-done
	if r.err == nil || !strings.Contains(r.err.Error(), "rebuild the indexes of repo_type_counts") || r.rep.Rebuilt {
		t.Fatalf("MaintainRankIndex = %+v, %v; want the rebuild's failure", r.rep, r.err)
	}
	if !slices.Equal(r.rep.Dropped, interruptedLeftovers) {
		t.Errorf("dropped %v; want %v", r.rep.Dropped, interruptedLeftovers)
	}
	cleanedUp(t, ctx, s, defs, want)
}

// One session at a time: while another holds the job's lock, a look is
// skipped.
func TestMaintainRankIndexOneAtATime(t *testing.T) {
	s, ctx := setup(t)
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(0x67686576_72616e6b)); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock_all()`)
	rep, err := s.MaintainRankIndex(ctx, store.RankIndexRule{})
	if err != nil || !rep.Skipped || rep.Rebuilt {
		t.Errorf("MaintainRankIndex = %+v, %v; want it skipped", rep, err)
	}
}
