package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// recencyOf is the pair's (newest, second newest) event times as the
// schema keeps them: repo_type_counts from 014 on, repo_recent_events
// before; "" for a time that is NULL, "gone" when the pair has no row.
func recencyOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool, typ, key string) string {
	t.Helper()
	var version int32
	if err := pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	q := `SELECT name_seen_at, prev_at FROM repo_type_counts WHERE type = $1 AND repo_key = $2`
	if version < 14 {
		q = `SELECT last_at, prev_at FROM repo_recent_events WHERE type = $1 AND repo_key = $2`
	}
	var last time.Time
	var prev *time.Time
	if err := pool.QueryRow(ctx, q, typ, key).Scan(&last, &prev); err == pgx.ErrNoRows {
		return "gone"
	} else if err != nil {
		t.Fatal(err)
	}
	p := ""
	if prev != nil {
		p = prev.UTC().Format("01-02 15:04")
	}
	return last.UTC().Format("01-02 15:04") + " " + p
}

// summaryTriggers are the names of the triggers on events, sorted.
func summaryTriggers(t *testing.T, ctx context.Context, pool *pgxpool.Pool) []string {
	t.Helper()
	rs, err := pool.Query(ctx, `SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMigrationOneSummaryTrigger fills a store at 013 (with deletes, so
// that name_seen_at is left on a deleted event, as 013 left it), migrates
// it to 014 and checks every summary against a recount from events, and
// the recency of a few pairs against times worked out by hand, through
// inserts in and out of order, deletes, a partition drop, a migration
// down and up again.
func TestMigrationOneSummaryTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := store.MigrateTo(ctx, conn, 13, nil); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := store.New(pool)
	day := func(m time.Month, d, h int) time.Time { return time.Date(2024, m, d, h, 0, 0, 0, time.UTC) }
	if err := s.EnsureMonths(ctx, day(3, 1, 0), day(4, 1, 0), day(5, 1, 0)); err != nil {
		t.Fatal(err)
	}
	// 2,000 generated events over March and April: 40 repositories, three
	// types, two spellings of each name; ties in created_at (every event
	// at a whole hour, several per hour and pair).
	if _, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at)
		SELECT g, (ARRAY['PushEvent','WatchEvent','IssuesEvent'])[1 + g % 3], g % 40,
		       CASE WHEN g % 2 = 0 THEN 'Gen/R' ELSE 'gen/r' END || (g % 40),
		       CASE WHEN g % 3 = 2 THEN 'opened' END,
		       timestamptz '2024-03-01 00:00:00Z' + ((g * 7919) % 1400) * interval '1 hour'
		FROM generate_series(1, 2000) g`); err != nil {
		t.Fatal(err)
	}
	// Pairs worked by hand, (WatchEvent, hand/aN):
	//   a1: 03-10, 03-20, 04-05 (two in March, the newest in April)
	//   a2: 03-15 once
	//   a3: 04-02 twice (a tie), 03-03
	//   a4: 03-04, 03-05, 03-06: the newest (03-06) deleted at 013
	watch := func(id int64, name string, at time.Time) model.Event {
		return model.Event{ID: id, Type: "WatchEvent", RepoID: id, RepoName: name, CreatedAt: at}
	}
	if n, err := s.InsertEvents(ctx, []model.Event{
		watch(9001, "hand/a1", day(3, 10, 0)), watch(9002, "Hand/A1", day(3, 20, 0)), watch(9003, "hand/a1", day(4, 5, 0)),
		watch(9004, "hand/a2", day(3, 15, 0)),
		watch(9005, "hand/a3", day(4, 2, 0)), watch(9006, "hand/a3", day(4, 2, 0)), watch(9007, "hand/a3", day(3, 3, 0)),
		watch(9008, "hand/a4", day(3, 4, 0)), watch(9009, "hand/a4", day(3, 5, 0)), watch(9010, "hand/a4", day(3, 6, 0)),
	}); err != nil || n != 10 {
		t.Fatalf("insert the hand pairs: %d, %v", n, err)
	}
	// At 013: deletes of generated events and a4's newest.
	if _, err := pool.Exec(ctx, `DELETE FROM events WHERE id % 17 = 0 OR id = 9010`); err != nil {
		t.Fatal(err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	var stale int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM repo_type_counts c JOIN repo_recent_events r USING (type, repo_key)
		WHERE c.name_seen_at <> r.last_at`).Scan(&stale); err != nil || stale == 0 {
		t.Fatalf("%d pairs with name_seen_at on a deleted event at 013 (%v), want some (the case 014 corrects)", stale, err)
	}

	if err := store.MigrateTo(ctx, conn, 14, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if got, want := summaryTriggers(t, ctx, pool), []string{"events_summaries_delete", "events_summaries_insert",
		"events_version_delete", "events_version_insert", "events_version_truncate", "events_version_update"}; !slices.Equal(got, want) {
		t.Fatalf("triggers at 014: %v, want %v", got, want)
	}
	var gone bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('repo_recent_events') IS NULL`).Scan(&gone); err != nil || !gone {
		t.Fatalf("repo_recent_events still there at 014 (%v)", err)
	}
	hand := func(step string, want map[string]string) {
		t.Helper()
		for key, w := range want {
			if got := recencyOf(t, ctx, pool, "WatchEvent", key); got != w {
				t.Errorf("%s: %s is %q, want %q", step, key, got, w)
			}
		}
	}
	hand("after the migration", map[string]string{
		"hand/a1": "04-05 00:00 03-20 00:00", "hand/a2": "03-15 00:00 ", "hand/a3": "04-02 00:00 04-02 00:00",
		"hand/a4": "03-05 00:00 03-04 00:00",
	})

	// Inserts out of order, each its own statement (a batch meets the
	// stored pair): older than both stored times (no change), between them,
	// newer than both, and a second event for a pair of one; then one
	// batch holding two events of a pair, both newer.
	for _, e := range []model.Event{
		watch(9101, "hand/a1", day(3, 1, 0)),  // older: 04-05 03-20
		watch(9102, "hand/a1", day(3, 25, 0)), // between: 04-05 03-25
		watch(9103, "hand/a4", day(4, 9, 0)),  // newer: 04-09 03-05
		watch(9104, "hand/a2", day(3, 14, 0)), // second, older: 03-15 03-14
	} {
		if n, err := s.InsertEvents(ctx, []model.Event{e}); err != nil || n != 1 {
			t.Fatalf("insert %d: %d, %v", e.ID, n, err)
		}
	}
	if n, err := s.InsertEvents(ctx, []model.Event{
		watch(9105, "hand/a3", day(4, 20, 0)), watch(9106, "hand/a3", day(4, 10, 0)), // both newer: 04-20 04-10
		watch(9107, "hand/a5", day(4, 11, 0)), watch(9108, "Hand/a5", day(4, 11, 0)), // a new pair, a tie
		watch(9109, "hand/a6", day(3, 30, 0)), // a new pair of one
	}); err != nil || n != 5 {
		t.Fatalf("insert a batch: %d, %v", n, err)
	}
	// The same rows again (the duplicate path: INSERT ... ON CONFLICT DO
	// NOTHING) change nothing.
	if n, err := s.InsertOnConflictForTest(ctx, []model.Event{watch(9105, "hand/a3", day(4, 20, 0)), watch(9110, "hand/a6", day(3, 29, 0))}); err != nil || n != 1 {
		t.Fatalf("insert on conflict: %d, %v", n, err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	hand("after the inserts", map[string]string{
		"hand/a1": "04-05 00:00 03-25 00:00", "hand/a2": "03-15 00:00 03-14 00:00", "hand/a3": "04-20 00:00 04-10 00:00",
		"hand/a4": "04-09 00:00 03-05 00:00", "hand/a5": "04-11 00:00 04-11 00:00", "hand/a6": "03-30 00:00 03-29 00:00",
	})
	// Deletes: a1's newest (read again: 03-25 03-20), a3's oldest (03-03:
	// older than prev, nothing to read), a4's prev (read again: 04-09
	// 03-04), a6 whole (gone), and in one statement a2's two; and
	// generated events.
	for _, q := range []string{
		`DELETE FROM events WHERE id = 9003`,
		`DELETE FROM events WHERE id = 9007`,
		`DELETE FROM events WHERE id IN (9009, 9109, 9110)`,
		`DELETE FROM events WHERE id IN (9004, 9104) OR id % 13 = 0`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	testdb.SummariesMatch(t, ctx, pool)
	hand("after the deletes", map[string]string{
		"hand/a1": "03-25 00:00 03-20 00:00", "hand/a2": "gone", "hand/a3": "04-20 00:00 04-10 00:00",
		"hand/a4": "04-09 00:00 03-04 00:00", "hand/a5": "04-11 00:00 04-11 00:00", "hand/a6": "gone",
	})
	var name string
	if err := pool.QueryRow(ctx, `SELECT repo_name FROM repo_type_counts WHERE type = 'WatchEvent' AND repo_key = 'hand/a1'`).Scan(&name); err != nil || name != "hand/a1" {
		t.Fatalf("hand/a1 named %q (%v), want the spelling of its newest event left, hand/a1", name, err)
	}

	// The retention drop of April: a1 keeps March (03-25 03-20), a3 and a5
	// had all theirs in April (gone), a4 keeps 03-04 alone.
	if n, err := s.DropPartition(ctx, "events_2024_04"); err != nil || n == 0 {
		t.Fatalf("drop April: %d, %v", n, err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	hand("after the drop", map[string]string{
		"hand/a1": "03-25 00:00 03-20 00:00", "hand/a3": "gone", "hand/a4": "03-04 00:00 ", "hand/a5": "gone",
	})
	// What trending reads: the WatchEvent pairs with two events since
	// 03-20, counted by hand from events.
	var want, got int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT repo_key FROM events WHERE type = 'WatchEvent' AND created_at >= '2024-03-20Z'
		GROUP BY 1 HAVING count(*) > 1) r`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM repo_type_counts WHERE type = 'WatchEvent' AND prev_at >= '2024-03-20Z'`).Scan(&got); err != nil || got != want || want == 0 {
		t.Fatalf("pairs with two events since 03-20: %d (%v), want %d (more than 0)", got, err, want)
	}

	// Down to 013: repo_recent_events and the five triggers come back,
	// exact; they keep it exact; up again.
	if err := store.MigrateTo(ctx, conn, 13, nil); err != nil {
		t.Fatalf("down: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if got, want := summaryTriggers(t, ctx, pool), []string{"events_summaries_delete", "events_summaries_insert",
		"events_summaries_sources_delete", "events_summaries_sources_insert",
		"events_summaries_timeline_delete", "events_summaries_timeline_insert",
		"events_summaries_timeline_recent_delete", "events_summaries_timeline_recent_insert",
		"events_version_delete", "events_version_insert", "events_version_truncate", "events_version_update"}; !slices.Equal(got, want) {
		t.Fatalf("triggers at 013: %v, want %v", got, want)
	}
	hand("down at 013", map[string]string{"hand/a1": "03-25 00:00 03-20 00:00", "hand/a4": "03-04 00:00 "})
	if _, err := s.InsertEvents(ctx, []model.Event{watch(9201, "hand/a4", day(3, 9, 0)), watch(9202, "hand/a1", day(3, 21, 0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM events WHERE id % 11 = 0`); err != nil {
		t.Fatal(err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if err := store.MigrateTo(ctx, conn, 14, nil); err != nil {
		t.Fatalf("up again: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	hand("up again", map[string]string{"hand/a1": "03-25 00:00 03-21 00:00", "hand/a4": "03-09 00:00 03-04 00:00"})
}
