package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// summaryOrder is the order in which the function's body first names each
// summary table.
func summaryOrder(t *testing.T, ctx context.Context, pool *pgxpool.Pool, fn string) []string {
	t.Helper()
	var def string
	if err := pool.QueryRow(ctx, `SELECT pg_get_functiondef($1::regproc)`, fn).Scan(&def); err != nil {
		t.Fatal(err)
	}
	tables := []string{"repo_type_counts", "event_type_counts", "event_hourly_counts", "hourly_source_counts", "event_minute_counts"}
	at := map[string]int{}
	for _, tb := range tables {
		i := strings.Index(def, tb)
		if i < 0 {
			t.Fatalf("%s does not name %s", fn, tb)
		}
		at[tb] = i
	}
	out := append([]string(nil), tables...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if at[out[j]] < at[out[i]] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// The migration that puts the shared summary rows last, and the one
// before it (the order of 014).
const sharedRowsLast, beforeSharedRowsLast = 15, 14

// TestMigrationSharedRowsLast fills a store at the version before the
// migration, migrates it (the same summary work, the per-repository counts
// first), and checks that every summary equals a recount from events after
// it, after inserts, the duplicate path and deletes, down and up again.
func TestMigrationSharedRowsLast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := store.MigrateTo(ctx, conn, beforeSharedRowsLast, nil); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := store.New(pool)
	day := func(m time.Month, d, h int) time.Time { return time.Date(2024, m, d, h, 0, 0, 0, time.UTC) }
	if err := s.EnsureMonths(ctx, day(3, 1, 0), day(4, 1, 0)); err != nil {
		t.Fatal(err)
	}
	// 3,000 events over March and April: 50 repositories, three types,
	// two spellings of each name, several events per hour and pair.
	fill := func(from, to int) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at, source)
			SELECT g, (ARRAY['PushEvent','WatchEvent','IssuesEvent'])[1 + g % 3], g % 50,
			       CASE WHEN g % 2 = 0 THEN 'Gen/R' ELSE 'gen/r' END || (g % 50),
			       CASE WHEN g % 3 = 2 THEN 'opened' END,
			       timestamptz '2024-03-01 00:00:00Z' + ((g * 7919) % 1400) * interval '1 hour' + (g % 60) * interval '1 minute',
			       (ARRAY['import','firehose']::event_source[])[1 + g % 2]
			FROM generate_series($1::int, $2::int) g`, from, to); err != nil {
			t.Fatal(err)
		}
	}
	fill(1, 3000)
	if _, err := pool.Exec(ctx, `DELETE FROM events WHERE id % 17 = 0`); err != nil {
		t.Fatal(err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	old := []string{"event_type_counts", "event_hourly_counts", "repo_type_counts", "hourly_source_counts", "event_minute_counts"}
	for _, fn := range []string{"events_summaries_insert", "events_summaries_delete"} {
		if got := summaryOrder(t, ctx, pool, fn); strings.Join(got, " ") != strings.Join(old, " ") {
			t.Fatalf("%s before the migration takes %v, want %v", fn, got, old)
		}
	}

	if err := store.MigrateTo(ctx, conn, sharedRowsLast, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	want := []string{"repo_type_counts", "event_type_counts", "event_hourly_counts", "hourly_source_counts", "event_minute_counts"}
	for _, fn := range []string{"events_summaries_insert", "events_summaries_delete"} {
		if got := summaryOrder(t, ctx, pool, fn); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s after the migration takes %v, want %v", fn, got, want)
		}
	}
	// After it: a batch that meets stored pairs (COPY), the duplicate path,
	// a statement of new rows, deletes of single events and of whole pairs.
	watch := func(id int64, name string, at time.Time) model.Event {
		return model.Event{ID: id, Type: "WatchEvent", RepoID: id, RepoName: name, CreatedAt: at, Source: model.SourceWatch}
	}
	if n, err := s.InsertEvents(ctx, []model.Event{
		watch(9001, "hand/r1", day(4, 20, 0)), watch(9002, "Hand/R1", day(4, 20, 0)), watch(9005, "hand/r1", day(3, 1, 0)), watch(9003, "hand/new", day(3, 2, 5)),
	}); err != nil || n != 4 {
		t.Fatalf("insert: %d, %v", n, err)
	}
	if n, err := s.InsertOnConflictForTest(ctx, []model.Event{watch(9001, "hand/r1", day(4, 20, 0)), watch(9004, "gen/r2", day(3, 9, 0))}); err != nil || n != 1 {
		t.Fatalf("insert on conflict: %d, %v", n, err)
	}
	fill(3001, 4000)
	for _, q := range []string{`DELETE FROM events WHERE id = 9003`, `DELETE FROM events WHERE repo_id = 7 OR id % 13 = 0`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	testdb.SummariesMatch(t, ctx, pool)
	if got := recencyOf(t, ctx, pool, "WatchEvent", "hand/r1"); got != "04-20 00:00 04-20 00:00" {
		t.Fatalf("hand/r1 recency %q, want its two events of 04-20 00:00", got)
	}

	// Down and up again, each kept exact by its functions.
	if err := store.MigrateTo(ctx, conn, beforeSharedRowsLast, nil); err != nil {
		t.Fatalf("down: %v", err)
	}
	for _, fn := range []string{"events_summaries_insert", "events_summaries_delete"} {
		if got := summaryOrder(t, ctx, pool, fn); strings.Join(got, " ") != strings.Join(old, " ") {
			t.Fatalf("%s down again takes %v, want %v", fn, got, old)
		}
	}
	fill(4001, 4500)
	if _, err := pool.Exec(ctx, `DELETE FROM events WHERE id % 11 = 0`); err != nil {
		t.Fatal(err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if err := store.MigrateTo(ctx, conn, sharedRowsLast, nil); err != nil {
		t.Fatalf("up again: %v", err)
	}
	fill(4501, 5000)
	testdb.SummariesMatch(t, ctx, pool)
}
