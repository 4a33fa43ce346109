package retention_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/retention"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

func TestSweepDeletesOldEventsAndKeepsSummariesExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var events []model.Event
	// One PushEvent per hour over 10 days (240), and one WatchEvent a day (10).
	for h := range 240 {
		events = append(events, model.Event{ID: int64(h + 1), Type: "PushEvent", RepoID: 1, RepoName: "a/b",
			CreatedAt: now.Add(-time.Duration(h)*time.Hour - 30*time.Minute)})
	}
	for d := range 10 {
		events = append(events, model.Event{ID: int64(1000 + d), Type: "WatchEvent", RepoID: 2, RepoName: "c/d", Action: "started",
			CreatedAt: now.Add(-time.Duration(d)*24*time.Hour - 12*time.Hour)})
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	// Keep 3 days: PushEvents at now-0:30 .. now-71:30 (72) and WatchEvents at now-12h, -36h, -60h (3) stay.
	deleted, err := retention.Sweep(ctx, s, retention.Config{Keep: 72 * time.Hour, Batch: 7, Pause: time.Millisecond,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 250-75 {
		t.Fatalf("deleted %d, want %d", deleted, 250-75)
	}
	var left int
	var oldest time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), min(created_at) FROM events`).Scan(&left, &oldest); err != nil {
		t.Fatal(err)
	}
	if left != 75 || !oldest.Equal(now.Add(-71*time.Hour-30*time.Minute)) {
		t.Fatalf("left %d, oldest %s", left, oldest)
	}
	// The summaries agree with what is left.
	push, err := s.EventSpan(ctx, store.EventFilter{EventType: "PushEvent"})
	if err != nil {
		t.Fatal(err)
	}
	watch, err := s.EventSpan(ctx, store.EventFilter{EventType: "WatchEvent", RepoName: "C/D", Action: "STARTED"})
	if err != nil {
		t.Fatal(err)
	}
	if push.Count != 72 || watch.Count != 3 {
		t.Fatalf("summary counts push %d watch %d, want 72, 3", push.Count, watch.Count)
	}
	total, repos, err := s.TopRepos(ctx, "PushEvent", 1, 10)
	if err != nil || total != 1 || repos[0].Events != 72 {
		t.Fatalf("top repos %d %+v %v", total, repos, err)
	}
	tc, err := s.CountsSince(ctx, now.Add(-1000*time.Hour), "", "")
	if err != nil || tc.Total != 75 {
		t.Fatalf("counts since: %+v %v", tc, err)
	}
	// A second sweep finds nothing.
	if n, err := retention.Sweep(ctx, s, retention.Config{Keep: 72 * time.Hour, Now: func() time.Time { return now }}); err != nil || n != 0 {
		t.Fatalf("second sweep deleted %d (%v)", n, err)
	}
}

func TestRunOffAndCancel(t *testing.T) {
	t.Parallel()
	// Off: returns at once.
	if err := retention.Run(context.Background(), nil, retention.Config{}); err != nil {
		t.Fatal(err)
	}
	s := store.New(testdb.New(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- retention.Run(ctx, s, retention.Config{Keep: time.Hour, Every: time.Hour}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestSweepDropsWholeMonths: the months wholly older than the limit are
// dropped (their partitions go), the month straddling it loses its older
// rows through events, and every summary equals a recount afterwards.
func TestSweepDropsWholeMonths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))
	// One event every 3 hours from 2024-01-01 to 2024-03-31 (728), over 7
	// repositories and two types, one with an action.
	var events []model.Event
	first := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC)
	for i := range 728 {
		e := model.Event{ID: int64(i + 1), Type: "PushEvent", RepoID: int64(i % 7), RepoName: fmt.Sprintf("o/r%d", i%7),
			CreatedAt: first.Add(time.Duration(i) * 3 * time.Hour)}
		if i%4 == 0 {
			e.Type, e.Action = "IssuesEvent", "opened"
		}
		events = append(events, e)
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	v0, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Keep 45 days from 2024-04-01: the limit is 2024-02-16. January goes
	// whole (248 events: 31 days × 8), February loses its first 15 days
	// (120 events: 2024-02-01 01:00 to 2024-02-15 22:00).
	now := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	deleted, err := retention.Sweep(ctx, s, retention.Config{Keep: 45 * 24 * time.Hour, Batch: 50, Pause: time.Millisecond,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 248+120 {
		t.Fatalf("deleted %d, want %d", deleted, 248+120)
	}
	parts, err := s.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		got = append(got, fmt.Sprintf("%s %d", p.Name, p.Events))
	}
	if want := []string{"events_2024_02 112", "events_2024_03 248"}; !slices.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	var left int
	var oldest time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), min(created_at) FROM events`).Scan(&left, &oldest); err != nil {
		t.Fatal(err)
	}
	if left != 360 || !oldest.Equal(time.Date(2024, 2, 16, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("left %d, oldest %s; want 360, 2024-02-16T01:00", left, oldest)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
	// The drop changed the data version (the ETags of the answers).
	if v, err := s.DataVersion(ctx); err != nil || v.N <= v0.N {
		t.Fatalf("version %d after the sweep, %d before (%v)", v.N, v0.N, err)
	}
	// Writing into a dropped month makes it again (a late backfill).
	if n, err := s.InsertEvents(ctx, []model.Event{{ID: 9999, Type: "PushEvent", RepoID: 1, RepoName: "o/r1", CreatedAt: first}}); err != nil || n != 1 {
		t.Fatalf("insert into a dropped month: %d %v", n, err)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}

// TestMakeAhead makes the current month and the next three.
func TestMakeAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))
	if err := retention.MakeAhead(ctx, s, time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), 3); err != nil {
		t.Fatal(err)
	}
	parts, err := s.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		got = append(got, p.Name)
	}
	if want := []string{"events_2026_11", "events_2026_12", "events_2027_01", "events_2027_02"}; !slices.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
}
