package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// Dropping a month keeps every summary exact: the pairs whose every event
// was in the month go, with their share of the histogram; the pairs that
// keep events are lowered, and those whose newest or second newest event
// was in the month have both times and their name read again from the
// other months (before and after it). Then the newest month, then the last.
func TestDropPartitionKeepsTheSummariesExact(t *testing.T) {
	s, ctx := setup(t)
	pool := s.Pool()
	at := func(month, day, hour int) time.Time {
		return time.Date(2024, time.Month(month), day, hour, 0, 0, 0, time.UTC)
	}
	id := int64(0)
	ev := func(typ, name string, t time.Time) model.Event {
		id++
		return model.Event{ID: id, Type: typ, RepoID: 1, RepoName: name, CreatedAt: t}
	}
	events := []model.Event{
		// p1: March only: gone.
		ev("PushEvent", "x/p1", at(3, 2, 0)), ev("PushEvent", "x/p1", at(3, 3, 0)),
		// p1's WatchEvents, February only: untouched.
		ev("WatchEvent", "x/p1", at(2, 1, 0)),
		// p2: February, March, April: newest April, prev March -> February.
		ev("PushEvent", "x/p2", at(2, 10, 0)), ev("PushEvent", "x/p2", at(3, 10, 0)), ev("PushEvent", "x/p2", at(3, 11, 0)),
		ev("PushEvent", "X/P2", at(3, 12, 0)), ev("PushEvent", "x/P2", at(4, 10, 0)),
		// p3: newest two in March (spelled X/p3), February's left (x/p3, x/p3b... one key).
		ev("PushEvent", "x/p3", at(2, 5, 0)), ev("PushEvent", "x/P3", at(2, 6, 0)), ev("PushEvent", "X/p3", at(3, 5, 0)),
		// p4: one in March, two in April: no time to read again.
		ev("PushEvent", "x/p4", at(3, 1, 0)), ev("PushEvent", "x/p4", at(4, 1, 0)), ev("PushEvent", "x/p4", at(4, 2, 0)),
		// p5: one in February, one in March: one left, prev NULL.
		ev("PushEvent", "x/p5", at(2, 1, 0)), ev("PushEvent", "x/p5", at(3, 1, 0)),
	}
	// And a crowd, so that the histogram has many counts: repository i
	// has i%4 events in February, i%5 in March, i%3 in April.
	for i := range 200 {
		name := fmt.Sprintf("c/r%03d", i)
		for k := range i % 4 {
			events = append(events, ev("IssuesEvent", name, at(2, 1+k, i%24)))
		}
		for k := range i % 5 {
			events = append(events, ev("IssuesEvent", name, at(3, 1+k, i%24)))
		}
		for k := range i % 3 {
			events = append(events, ev("IssuesEvent", name, at(4, 1+k, i%24)))
		}
	}
	march := int64(0)
	for _, e := range events {
		if e.CreatedAt.Month() == time.March {
			march++
		}
	}
	if n, err := s.InsertEvents(ctx, events); err != nil || n != int64(len(events)) {
		t.Fatalf("stored %d of %d: %v", n, len(events), err)
	}
	testdb.SummariesMatch(t, ctx, pool)

	if n, err := s.DropPartition(ctx, "events_2024_03"); err != nil || n != march {
		t.Fatalf("drop March: %d, %v; want %d", n, err, march)
	}
	testdb.SummariesMatch(t, ctx, pool)
	for _, c := range []struct{ typ, key, recency, name string }{
		{"PushEvent", "x/p1", "gone", ""},
		{"WatchEvent", "x/p1", "02-01 00:00 ", "x/p1"},
		{"PushEvent", "x/p2", "04-10 00:00 02-10 00:00", "x/P2"},
		{"PushEvent", "x/p3", "02-06 00:00 02-05 00:00", "x/P3"},
		{"PushEvent", "x/p4", "04-02 00:00 04-01 00:00", "x/p4"},
		{"PushEvent", "x/p5", "02-01 00:00 ", "x/p5"},
	} {
		if got := recencyOf(t, ctx, pool, c.typ, c.key); got != c.recency {
			t.Errorf("%s %s: %q, want %q", c.typ, c.key, got, c.recency)
		}
		if c.name == "" {
			continue
		}
		var name string
		if err := pool.QueryRow(ctx, `SELECT repo_name FROM repo_type_counts WHERE type = $1 AND repo_key = $2`, c.typ, c.key).Scan(&name); err != nil || name != c.name {
			t.Errorf("%s %s named %q (%v), want %q", c.typ, c.key, name, err, c.name)
		}
	}

	if _, err := s.DropPartition(ctx, "events_2024_04"); err != nil {
		t.Fatalf("drop April: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if got := recencyOf(t, ctx, pool, "PushEvent", "x/p2"); got != "02-10 00:00 " {
		t.Errorf("x/p2 after April's drop: %q, want February's one", got)
	}
	if _, err := s.DropPartition(ctx, "events_2024_02"); err != nil {
		t.Fatalf("drop February: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	var left int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM repo_type_counts) + (SELECT count(*) FROM repo_count_histogram)
		+ (SELECT count(*) FROM event_type_counts) + (SELECT count(*) FROM event_hourly_counts)`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d summary rows left with no event (%v)", left, err)
	}
}
