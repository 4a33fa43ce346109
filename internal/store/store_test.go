package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

func setup(t *testing.T) (*store.Store, context.Context) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return store.New(testdb.New(t)), ctx
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	latest, err := store.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	tables := func() []string {
		rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_version' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	status := func() (applied int, current int32) {
		migs, cur, err := store.MigrationStatus(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		if int32(len(migs)) != latest {
			t.Fatalf("MigrationStatus lists %d migrations, want %d", len(migs), latest)
		}
		for _, m := range migs {
			if m.Applied {
				applied++
			}
		}
		return applied, cur
	}

	if n, cur := status(); n != 0 || cur != 0 {
		t.Fatalf("fresh database: %d applied, version %d; want 0, 0", n, cur)
	}
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	up := tables()
	if !slices.Contains(up, "events") {
		t.Fatalf("after up, tables = %v; want events among them", up)
	}
	if n, cur := status(); n != int(latest) || cur != latest {
		t.Fatalf("after up: %d applied, version %d; want %d, %d", n, cur, latest, latest)
	}
	if err := store.MigrateTo(ctx, conn, 0, nil); err != nil {
		t.Fatalf("down: %v", err)
	}
	if got := tables(); len(got) != 0 {
		t.Fatalf("after down to 0, tables = %v; want none", got)
	}
	var steps []string
	if err := store.MigrateTo(ctx, conn, -1, func(v int32, name, dir string) { steps = append(steps, dir) }); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(steps) != int(latest) {
		t.Fatalf("up again ran %d steps, want %d", len(steps), latest)
	}
	if got := tables(); !slices.Equal(got, up) {
		t.Fatalf("after up again, tables = %v; want %v", got, up)
	}
}

func TestInsertEventsStoresEachIdentityOnce(t *testing.T) {
	s, ctx := setup(t)

	push := model.Event{
		ID: 100, Type: "PushEvent", ActorID: 1, ActorLogin: "alice", RepoID: 10, RepoName: "Alice/Repo",
		CreatedAt: ts("2024-05-01T10:00:00Z"), Raw: json.RawMessage(`{"id":"100","type":"PushEvent"}`),
	}
	issue := model.Event{
		ID: 101, Type: "IssuesEvent", ActorID: 2, ActorLogin: "bob", RepoID: 11, RepoName: "org/x",
		OrgID: 7, OrgLogin: "org", Action: "opened", CreatedAt: ts("2024-05-01T10:00:05Z"),
	}
	// Same id as push, another created_at: a different event (ids were reset in 2025).
	reused := push
	reused.CreatedAt = ts("2025-10-09T00:00:00Z")

	// The batch repeats push: the database keeps it once.
	n, err := s.InsertEvents(ctx, []model.Event{push, issue, push, reused})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("first batch stored %d, want 3", n)
	}
	// Everything again, plus nothing new: zero stored.
	n, err = s.InsertEvents(ctx, []model.Event{issue, reused, push})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second batch stored %d, want 0", n)
	}
	if n, err := s.InsertEvents(ctx, nil); err != nil || n != 0 {
		t.Fatalf("empty batch: %d, %v", n, err)
	}

	var count int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 3 {
		t.Fatalf("events table holds %d rows, want 3", count)
	}

	got, err := s.Event(ctx, 101, ts("2024-05-01T10:00:05Z"))
	if err != nil {
		t.Fatal(err)
	}
	issue.Raw = nil
	if !eventsEqual(got, issue) {
		t.Fatalf("Event(101) = %+v\nwant %+v", got, issue)
	}
	got, err = s.Event(ctx, 100, ts("2024-05-01T10:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if !eventsEqual(got, push) {
		t.Fatalf("Event(100) = %+v\nwant %+v", got, push)
	}

	// Optional values are stored as NULL, not as 0 or the empty string, and
	// repo_key is the lower-cased name.
	var orgID *int64
	var action *string
	var repoKey string
	if err := s.Pool().QueryRow(ctx, `SELECT org_id, action, repo_key FROM events WHERE id = 100 AND created_at = '2024-05-01T10:00:00Z'`).Scan(&orgID, &action, &repoKey); err != nil {
		t.Fatal(err)
	}
	if orgID != nil || action != nil || repoKey != "alice/repo" {
		t.Fatalf("org_id=%v action=%v repo_key=%q; want NULL, NULL, alice/repo", orgID, action, repoKey)
	}

	if _, err := s.Event(ctx, 999, ts("2024-05-01T10:00:00Z")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Event(999) error = %v, want ErrNotFound", err)
	}
	newest, ok, err := s.NewestEventTime(ctx)
	if err != nil || !ok || !newest.Equal(ts("2025-10-09T00:00:00Z")) {
		t.Fatalf("NewestEventTime = %v, %v, %v; want 2025-10-09T00:00:00Z", newest, ok, err)
	}
}

func TestNewestEventTimeEmpty(t *testing.T) {
	s, ctx := setup(t)
	_, ok, err := s.NewestEventTime(ctx)
	if err != nil || ok {
		t.Fatalf("NewestEventTime on empty table: ok=%v err=%v; want false, nil", ok, err)
	}
}

func eventsEqual(a, b model.Event) bool {
	return a.ID == b.ID && a.Type == b.Type && a.ActorID == b.ActorID && a.ActorLogin == b.ActorLogin &&
		a.RepoID == b.RepoID && a.RepoName == b.RepoName && a.OrgID == b.OrgID && a.OrgLogin == b.OrgLogin &&
		a.Action == b.Action && a.CreatedAt.Equal(b.CreatedAt) && jsonEqual(a.Raw, b.Raw) && a.Source == b.Source
}

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func TestStats(t *testing.T) {
	s, ctx := setup(t)
	events := []model.Event{
		{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: ts("2024-01-01T00:00:00Z")},
		{ID: 2, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: ts("2024-01-03T00:00:00Z")},
		{ID: 3, Type: "WatchEvent", RepoID: 1, RepoName: "a/b", Action: "started", CreatedAt: ts("2024-01-02T00:00:00Z")},
		// Two actions: two rows of the summary, one line of the stats.
		{ID: 4, Type: "IssuesEvent", RepoID: 1, RepoName: "a/b", Action: "opened", CreatedAt: ts("2024-01-01T12:00:00Z")},
		{ID: 5, Type: "IssuesEvent", RepoID: 2, RepoName: "c/d", Action: "closed", CreatedAt: ts("2024-01-04T00:00:00Z")},
		{ID: 6, Type: "IssuesEvent", RepoID: 2, RepoName: "c/d", Action: "closed", CreatedAt: ts("2024-01-02T06:00:00Z")},
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	check := func(want []store.TypeStats, total int64, rows bool) {
		t.Helper()
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != total || len(st.Types) != len(want) {
			t.Fatalf("stats = %+v, want %d events in %d types", st, total, len(want))
		}
		for i, w := range want {
			g := st.Types[i]
			if g.Type != w.Type || g.Events != w.Events || !g.Oldest.Equal(w.Oldest) || !g.Newest.Equal(w.Newest) {
				t.Errorf("type %d = %+v, want %+v", i, g, w)
			}
		}
		if (rows && st.TableBytes <= 0) || st.TotalBytes < st.TableBytes || st.DatabaseBytes < st.TotalBytes {
			t.Errorf("sizes table %d total %d database %d", st.TableBytes, st.TotalBytes, st.DatabaseBytes)
		}
	}
	// Most events first, then by name.
	check([]store.TypeStats{
		{Type: "IssuesEvent", Events: 3, Oldest: ts("2024-01-01T12:00:00Z"), Newest: ts("2024-01-04T00:00:00Z")},
		{Type: "PushEvent", Events: 2, Oldest: ts("2024-01-01T00:00:00Z"), Newest: ts("2024-01-03T00:00:00Z")},
		{Type: "WatchEvent", Events: 1, Oldest: ts("2024-01-02T00:00:00Z"), Newest: ts("2024-01-02T00:00:00Z")},
	}, 6, true)
	// Retention deletes through the trigger: the counts follow.
	if n, err := s.DeleteOlderThan(ctx, ts("2024-01-02T03:00:00Z"), 100); err != nil || n != 3 {
		t.Fatalf("DeleteOlderThan = %d, %v; want 3", n, err)
	}
	check([]store.TypeStats{
		{Type: "IssuesEvent", Events: 2, Oldest: ts("2024-01-02T06:00:00Z"), Newest: ts("2024-01-04T00:00:00Z")},
		{Type: "PushEvent", Events: 1, Oldest: ts("2024-01-03T00:00:00Z"), Newest: ts("2024-01-03T00:00:00Z")},
	}, 3, true)
	// TRUNCATE fires no delete trigger: the summary still counts events
	// that are gone, and the stats say so without failing.
	if _, err := s.Pool().Exec(ctx, `TRUNCATE events`); err != nil {
		t.Fatal(err)
	}
	check([]store.TypeStats{{Type: "IssuesEvent", Events: 2}, {Type: "PushEvent", Events: 1}}, 3, false)
}
