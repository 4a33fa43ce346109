package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

func TestImportEventsStoresEachIdentityOnce(t *testing.T) {
	s, ctx := setup(t)
	push := model.Event{ID: 100, Type: "PushEvent", ActorID: 1, ActorLogin: "alice", RepoID: 10, RepoName: "Alice/Repo",
		CreatedAt: ts("2024-05-01T10:00:00Z"), Raw: json.RawMessage(`{"id":"100","type":"PushEvent"}`)}
	issue := model.Event{ID: 101, Type: "IssuesEvent", ActorID: 2, ActorLogin: "bob", RepoID: 11, RepoName: "org/x",
		OrgID: 7, OrgLogin: "org", Action: "opened", CreatedAt: ts("2024-05-01T10:00:05Z")}
	reused := push
	reused.CreatedAt = ts("2025-10-09T00:00:00Z")

	n, err := s.InsertEvents(ctx, []model.Event{push, issue, push, reused})
	if err != nil || n != 3 {
		t.Fatalf("first batch: stored %d, %v; want 3", n, err)
	}
	// The poller stored one of them meanwhile: both paths agree on identity.
	other := model.Event{ID: 102, Type: "WatchEvent", RepoID: 12, RepoName: "a/b", Action: "started", CreatedAt: ts("2024-05-01T10:00:06Z")}
	if n, err := s.InsertEvents(ctx, []model.Event{other}); err != nil || n != 1 {
		t.Fatalf("InsertEvents: %d, %v", n, err)
	}
	n, err = s.InsertEvents(ctx, []model.Event{issue, reused, push, other})
	if err != nil || n != 0 {
		t.Fatalf("second batch: stored %d, %v; want 0", n, err)
	}
	if n, err := s.InsertEvents(ctx, nil); err != nil || n != 0 {
		t.Fatalf("empty batch: %d, %v", n, err)
	}
	got, err := s.Event(ctx, 101, issue.CreatedAt)
	if err != nil || !eventsEqual(got, issue) {
		t.Fatalf("Event(101) = %+v, %v\nwant %+v", got, err, issue)
	}
	got, err = s.Event(ctx, 100, push.CreatedAt)
	if err != nil || !eventsEqual(got, push) {
		t.Fatalf("Event(100) = %+v, %v\nwant %+v", got, err, push)
	}
	// Optional values are NULL, as through InsertEvents; raw is NULL when not given.
	var orgID *int64
	var action *string
	var rawNull bool
	if err := s.Pool().QueryRow(ctx, `SELECT org_id, action, raw IS NULL FROM events WHERE id = 101`).Scan(&orgID, &action, &rawNull); err != nil {
		t.Fatal(err)
	}
	if orgID == nil || *orgID != 7 || action == nil || *action != "opened" || !rawNull {
		t.Fatalf("event 101: org_id %v, action %v, raw NULL %v", orgID, action, rawNull)
	}
	if err := s.Pool().QueryRow(ctx, `SELECT org_id, action FROM events WHERE id = 100 AND created_at = $1`, push.CreatedAt).Scan(&orgID, &action); err != nil {
		t.Fatal(err)
	}
	if orgID != nil || action != nil {
		t.Fatalf("event 100: org_id %v, action %v; want NULL, NULL", orgID, action)
	}
	var total int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil || total != 4 {
		t.Fatalf("events holds %d (%v), want 4", total, err)
	}
}

func TestImportEventsRefusedRow(t *testing.T) {
	s, ctx := setup(t)
	good := model.Event{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: ts("2024-01-01T00:00:00Z"), Raw: json.RawMessage(`{}`)}
	bad := good
	bad.ID = 2
	bad.Raw = json.RawMessage(`{"t":"\ud800"}`) // jsonb refuses a lone surrogate
	_, err := s.InsertEvents(ctx, []model.Event{good, bad})
	if !store.IsDataError(err) || store.IsRetryable(err) || !strings.Contains(store.RowErrorMessage(err), "22P02") {
		t.Fatalf("err = %v; want a row data error (22P02), not retryable", err)
	}
	// The whole batch failed: nothing stored, and the connection is usable.
	if n, err := s.InsertEvents(ctx, []model.Event{good}); err != nil || n != 1 {
		t.Fatalf("after the failure: stored %d, %v; want 1", n, err)
	}
	if store.IsDataError(store.ErrUnavailable) || !store.IsRetryable(store.ErrUnavailable) {
		t.Fatal("ErrUnavailable must be retryable and not a row data error")
	}
}

// TestImportEventsRaceWithAnotherWriter: another writer stores one of the
// batch's events between the look-up and the COPY. The COPY waits for that
// writer, fails on the duplicate once it commits, and the batch is stored
// through INSERT ... ON CONFLICT DO NOTHING: each event once.
func TestImportEventsRaceWithAnotherWriter(t *testing.T) {
	s, ctx := setup(t)
	batch := make([]model.Event, 50)
	for i := range batch {
		batch[i] = model.Event{ID: int64(500 + i), Type: "PushEvent", RepoID: 1, RepoName: "a/b",
			CreatedAt: ts("2024-05-01T10:00:00Z").Add(time.Duration(i) * time.Second)}
	}
	// The other writer holds event #20 uncommitted: the look-up cannot see it.
	if err := s.EnsureMonths(ctx, batch[20].CreatedAt); err != nil {
		t.Fatal(err)
	}
	other, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(context.Background()) //nolint:errcheck
	if _, err := other.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, created_at) VALUES ($1, 'PushEvent', 1, 'a/b', $2)`,
		batch[20].ID, batch[20].CreatedAt); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.InsertEvents(ctx, batch)
		done <- result{n, err}
	}()
	// The COPY now waits on the uncommitted duplicate (check it is blocked).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE 'copy%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the import's COPY never waited on the other writer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.n != 49 {
		t.Fatalf("InsertEvents stored %d, %v; want 49 (one was stored by the other writer)", r.n, r.err)
	}
	var rows, distinct int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FROM events WHERE id BETWEEN 500 AND 549`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != 50 || distinct != 50 {
		t.Fatalf("%d rows, %d distinct ids; want 50, 50", rows, distinct)
	}
	summariesMatch(t, ctx, s.Pool())
}

// The per-identity look-up is skipped only when no stored event has its id
// and time within the batch's ranges; at the ranges' very edges (bounds
// included), and for an id stored at another time (GitHub's reset ids),
// every identity is still stored exactly once.
func TestImportEventsRangeOfStoredIdentities(t *testing.T) {
	s, ctx := setup(t)
	ev := func(id int64, at string) model.Event {
		return model.Event{ID: id, Type: "WatchEvent", RepoID: id, RepoName: "o/r", CreatedAt: ts(at)}
	}
	if n, err := s.InsertEvents(ctx, []model.Event{ev(100, "2024-05-01T10:00:00Z"), ev(200, "2024-05-01T11:00:00Z")}); err != nil || n != 2 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	for _, c := range []struct {
		name  string
		batch []model.Event
		want  int64
	}{
		// Stored ones at the lowest id and time, and at the highest.
		{"edges", []model.Event{ev(100, "2024-05-01T10:00:00Z"), ev(150, "2024-05-01T10:30:00Z"), ev(200, "2024-05-01T11:00:00Z")}, 1},
		// Ids of stored events at other times: new identities.
		{"same ids, other times", []model.Event{ev(100, "2025-10-09T00:00:00Z"), ev(200, "2024-05-01T10:59:59Z")}, 2},
		// Outside every stored id (the range probe finds none).
		{"new ids", []model.Event{ev(300, "2024-05-01T10:00:00Z"), ev(301, "2024-05-01T11:00:00Z")}, 2},
		// All stored by now.
		{"again", []model.Event{ev(301, "2024-05-01T11:00:00Z"), ev(100, "2025-10-09T00:00:00Z"), ev(150, "2024-05-01T10:30:00Z")}, 0},
	} {
		if n, err := s.InsertEvents(ctx, c.batch); err != nil || n != c.want {
			t.Fatalf("%s: stored %d, %v; want %d", c.name, n, err, c.want)
		}
	}
	var n int64
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("%d events stored (%v), want 7", n, err)
	}
}
