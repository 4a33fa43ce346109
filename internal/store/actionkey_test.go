package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

func TestActionKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                 "",
		"opened":           "opened",
		"OPENED":           "opened",
		"Ready_For_Review": "ready_for_review",
		"ÉTÉ":              "ÉtÉ",         // non-ASCII letters are kept
		"mar\u212Aed":      "mar\u212Aed", // the Kelvin sign, which lower() makes "k"
	} {
		if got := model.ActionKey(in); got != want {
			t.Errorf("ActionKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// actionRows is every stored (id, action) in id order, NULL as "<nil>".
func actionRows(t *testing.T, ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) map[int64]string {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT id, coalesce(action, '<nil>') FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var a string
		if err := rows.Scan(&id, &a); err != nil {
			t.Fatal(err)
		}
		out[id] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationActionKeyAFilledStore fills a store at schema version 10
// (actions stored as sent, counted under lower(action)) with actions in
// mixed case, non-ASCII capitals among them, migrates it to 011 and checks
// that every stored action is its key, every summary equals a recount, the
// metrics count the same events as before, new writes are keyed and
// checked, and that migrating down and up again keeps the summaries exact.
func TestMigrationActionKeyAFilledStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := store.MigrateTo(ctx, conn, 10, nil); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := store.New(pool)
	// 3,000 events, one every 10 minutes from 2024-03-05, through the
	// parent (partition 2024_03 and 2024_04 made first): IssuesEvents with
	// six spellings of two actions, PushEvents without one, and a few
	// non-ASCII ones.
	if err := s.EnsureMonths(ctx, time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2024, 4, 25, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at)
		SELECT g, CASE WHEN g % 2 = 0 THEN 'IssuesEvent' ELSE 'PushEvent' END, g % 7, 'Owner/R' || (g % 7),
		       CASE WHEN g % 2 = 0 THEN (ARRAY['opened','Opened','OPENED','closed','Closed','CLOSED'])[1 + (g / 2) % 6] END,
		       timestamptz '2024-03-05 00:00:00Z' + g * interval '10 minutes'
		FROM generate_series(1, 3000) g`); err != nil {
		t.Fatal(err)
	}
	// 'ÉTÉ' counts as 'été' before 011 and as 'ÉtÉ' after; the Kelvin sign
	// counts as 'marked' before and stays itself after; 'é' is a key.
	if _, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at) VALUES
		(5001, 'WatchEvent', 1, 'a/b', 'ÉTÉ', '2024-03-06 10:00:00Z'),
		(5002, 'WatchEvent', 1, 'a/b', 'été', '2024-03-06 10:30:00Z'),
		(5003, 'WatchEvent', 1, 'a/b', 'mar' || chr(8490) || 'ed', '2024-03-07 10:00:00Z'),
		(5004, 'WatchEvent', 1, 'a/b', 'marked', '2024-03-07 10:00:00Z'),
		(5005, 'WatchEvent', 1, 'a/b', 'é', '2024-03-08 10:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	// What the queries before 011 counted (lower() on both sides).
	var spanBefore store.EventSpan
	if err := pool.QueryRow(ctx, `SELECT count(*), min(created_at), max(created_at) FROM events
		WHERE type = 'IssuesEvent' AND repo_key = 'owner/r2' AND lower(action) = lower('Closed')`).Scan(&spanBefore.Count, &spanBefore.Oldest, &spanBefore.Newest); err != nil {
		t.Fatal(err)
	}
	before := actionRows(t, ctx, pool)

	if err := store.MigrateTo(ctx, conn, 11, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	after := actionRows(t, ctx, pool)
	if len(after) != len(before) {
		t.Fatalf("%d rows after, %d before", len(after), len(before))
	}
	for id, a := range before {
		want := a
		if a != "<nil>" {
			want = model.ActionKey(a)
		}
		if after[id] != want {
			t.Errorf("event %d: action %q after the migration, want %q (was %q)", id, after[id], want, a)
		}
	}
	// The hand count: ids 2..3000 step 2 are IssuesEvents, action index
	// (g/2)%6 in 3..5 is a spelling of closed; of repository owner/r2,
	// g%7 = 2. Both filters count in events, the answer is the same as
	// before the migration.
	var wantClosed int64
	for g := 2; g <= 3000; g += 2 {
		if (g/2)%6 >= 3 && g%7 == 2 {
			wantClosed++
		}
	}
	span, err := s.EventSpan(ctx, store.EventFilter{EventType: "IssuesEvent", Action: "cLoSeD", RepoName: "OWNER/R2"})
	if err != nil || span.Count != wantClosed || span.Count != spanBefore.Count || !span.Oldest.Equal(*spanBefore.Oldest) || !span.Newest.Equal(*spanBefore.Newest) {
		t.Fatalf("closed in owner/r2: %+v (%v), want %d events as before (%+v)", span, err, wantClosed, spanBefore)
	}
	// From the summary: 1,500 IssuesEvents, half of them opened.
	if span, err := s.EventSpan(ctx, store.EventFilter{EventType: "IssuesEvent", Action: "OPENED"}); err != nil || span.Count != 750 {
		t.Fatalf("opened: %+v (%v), want 750", span, err)
	}
	var valid bool
	if err := pool.QueryRow(ctx, `SELECT convalidated FROM pg_constraint WHERE conrelid = 'events'::regclass AND conname = 'events_action_key'`).Scan(&valid); err != nil || valid {
		t.Fatalf("events_action_key validated %v (%v), want a NOT VALID constraint", valid, err)
	}
	// What the migration did stands up to the proof it leaves out.
	if _, err := pool.Exec(ctx, `ALTER TABLE events VALIDATE CONSTRAINT events_action_key`); err != nil {
		t.Fatalf("validate: %v", err)
	}

	// A row that is not its key is refused, on every partition, new ones too.
	for _, at := range []string{"2024-03-09 00:00:00Z", "2031-01-01 00:00:00Z"} {
		tat, _ := time.Parse("2006-01-02 15:04:05Z", at)
		if err := s.EnsureMonths(ctx, tat); err != nil {
			t.Fatal(err)
		}
		_, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at) VALUES (6000, 'IssuesEvent', 1, 'a/b', 'Opened', $1)`, tat)
		if !store.IsDataError(err) {
			t.Fatalf("a raw 'Opened' at %s: %v, want a refused row (check violation)", at, err)
		}
	}

	// The writers store the key, on either path: COPY, and INSERT ... ON
	// CONFLICT when a batch holds an identity stored meanwhile.
	copied := []model.Event{{ID: 7001, Type: "IssuesEvent", RepoID: 1, RepoName: "a/b", Action: "Reopened", CreatedAt: time.Date(2024, 3, 9, 1, 0, 0, 0, time.UTC)}}
	if n, err := s.InsertEvents(ctx, copied); err != nil || n != 1 {
		t.Fatalf("copy: %d %v", n, err)
	}
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at) VALUES (7003, 'IssuesEvent', 1, 'a/b', 'reopened', '2024-03-09 03:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.InsertEvents(ctx, []model.Event{
			{ID: 7002, Type: "IssuesEvent", RepoID: 1, RepoName: "a/b", Action: "REOPENED", CreatedAt: time.Date(2024, 3, 9, 2, 0, 0, 0, time.UTC)},
			{ID: 7003, Type: "IssuesEvent", RepoID: 1, RepoName: "a/b", Action: "ReOpened", CreatedAt: time.Date(2024, 3, 9, 3, 0, 0, 0, time.UTC)},
		})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the COPY waits on 7003's row lock
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("insert beside another writer: %v", err)
	}
	got := actionRows(t, ctx, pool)
	for _, id := range []int64{7001, 7002, 7003} {
		if got[id] != "reopened" {
			t.Errorf("event %d stored with action %q, want reopened", id, got[id])
		}
	}
	if span, err := s.EventSpan(ctx, store.EventFilter{EventType: "IssuesEvent", Action: "Reopened", RepoName: "a/b"}); err != nil || span.Count != 3 {
		t.Fatalf("reopened: %+v (%v), want 3", span, err)
	}
	testdb.SummariesMatch(t, ctx, pool)

	// Down: lower() on both sides again, the summaries exact under it; a
	// mixed-case row is accepted again; and up once more.
	if err := store.MigrateTo(ctx, conn, 10, nil); err != nil {
		t.Fatalf("down: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if _, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at) VALUES (8001, 'IssuesEvent', 1, 'a/b', 'Opened', '2031-01-02Z')`); err != nil {
		t.Fatalf("a mixed-case row after down: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatalf("up again: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if got := actionRows(t, ctx, pool)[8001]; got != "opened" {
		t.Fatalf("event 8001 after up again: %q", got)
	}
}
