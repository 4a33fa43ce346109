package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// edgeEvents are random events over three days from start, a fifth of them
// exactly on a minute, hour or day boundary (or a microsecond before one),
// with types, actions and repository names in mixed case.
func edgeEvents(r *rand.Rand, n int, start time.Time, firstID int64) []model.Event {
	types := []string{"PushEvent", "IssuesEvent", "WatchEvent", "ForkEvent"}
	actions := map[string][]string{"IssuesEvent": {"opened", "closed", "Opened", "REOPENED"}, "WatchEvent": {"started", "Started"}}
	repos := []string{"a/x", "A/X", "b/y", "B/y", "c/z", "d/w", "e/v"}
	out := make([]model.Event, n)
	for i := range out {
		typ := types[r.IntN(len(types))]
		action := ""
		if as := actions[typ]; as != nil {
			action = as[r.IntN(len(as))]
		}
		at := start.Add(time.Duration(r.Int64N(int64(72*time.Hour/time.Microsecond))) * time.Microsecond)
		if r.IntN(5) == 0 {
			unit := []time.Duration{time.Minute, time.Hour, 24 * time.Hour}[r.IntN(3)]
			at = at.Truncate(unit)
			if r.IntN(2) == 0 {
				at = at.Add(-time.Microsecond)
			}
		}
		out[i] = model.Event{ID: firstID + int64(i), Type: typ, RepoID: 1, RepoName: repos[r.IntN(len(repos))], Action: action, CreatedAt: at}
	}
	return out
}

// oracleTimeline is the timeline by a plain GROUP BY over events, binned by
// date_trunc at UTC (not the store's date_bin), the events from the last
// bucket's start on put in the last bucket.
func oracleTimeline(ctx context.Context, t *testing.T, pool *pgxpool.Pool, w store.Window, unit string, width time.Duration, f store.EventFilter) []store.Bucket {
	t.Helper()
	first, last := w.FirstBucket(width), w.LastBucket(width)
	var until *time.Time
	if !w.OpenEnd {
		until = &w.Until
	}
	rows, err := pool.Query(ctx, `
		SELECT CASE WHEN e.created_at >= $4 THEN $4 ELSE date_trunc($1, e.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END,
		       e.type, count(*)
		FROM events e
		WHERE e.created_at >= $2 AND ($3::timestamptz IS NULL OR e.created_at < $3)
		  AND ($5 = '' OR e.type = $5) AND ($6 = '' OR lower(e.repo_name) = lower($6)) AND ($7 = '' OR lower(e.action) = lower($7))
		GROUP BY 1, 2`, unit, w.Since, until, last, f.EventType, f.RepoName, f.Action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := int(last.Sub(first)/width) + 1
	out := make([]store.Bucket, n)
	for i := range out {
		out[i] = store.Bucket{Start: first.Add(time.Duration(i) * width), Counts: map[string]int64{}}
	}
	for rows.Next() {
		var b time.Time
		var typ string
		var c int64
		if err := rows.Scan(&b, &typ, &c); err != nil {
			t.Fatal(err)
		}
		i := int(b.Sub(first) / width)
		out[i].Counts[typ] = c
		out[i].Total += c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameBuckets(got, want []store.Bucket) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d buckets, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || g.Start.Location() != time.UTC || g.Total != w.Total || len(g.Counts) != len(w.Counts) {
			return fmt.Errorf("bucket %d: %s total %d %v, want %s total %d %v", i, g.Start, g.Total, g.Counts, w.Start, w.Total, w.Counts)
		}
		for k, v := range w.Counts {
			if g.Counts[k] != v {
				return fmt.Errorf("bucket %d (%s): %s %d, want %d", i, g.Start, k, g.Counts[k], v)
			}
		}
	}
	return nil
}

// TestTimelineEqualsGroupBy compares the timeline, the windowed counts and
// the repositories of a window with plain GROUP BY queries over events, on
// random data with events on the bucket edges, for windows starting and
// ending on an edge or inside a bucket, windows ending now with events
// dated later, every bucket width and every combination of filters.
func TestTimelineEqualsGroupBy(t *testing.T) {
	s, _ := setup(t)
	// Hundreds of queries: more time than setup's 30 s, for a loaded machine under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := rand.New(rand.NewPCG(16, 1))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		if _, err := s.InsertEvents(ctx, edgeEvents(r, 500, start, int64(i*500+1))); err != nil {
			t.Fatal(err)
		}
	}
	pool := s.Pool()
	// Windows: random ones, and ones on edges of every width.
	type win struct {
		w     store.Window
		label string
	}
	var windows []win
	for range 12 {
		since := start.Add(time.Duration(r.Int64N(int64(70*time.Hour/time.Second))) * time.Second).Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		until := since.Add(time.Duration(r.Int64N(int64(40*time.Hour/time.Second))+1) * time.Second)
		windows = append(windows, win{store.Window{Since: since, Until: until}, "random"}, win{store.Window{Since: since, Until: until, OpenEnd: true}, "random, open end"})
	}
	windows = append(windows,
		win{store.Window{Since: start.Add(24 * time.Hour), Until: start.Add(48 * time.Hour)}, "a whole day"},
		win{store.Window{Since: start.Add(25 * time.Hour), Until: start.Add(25*time.Hour + 30*time.Minute)}, "half an hour from an hour"},
		win{store.Window{Since: start.Add(25*time.Hour + 10*time.Minute), Until: start.Add(25*time.Hour + 50*time.Minute)}, "inside one hour"},
		win{store.Window{Since: start.Add(10*time.Hour + 59*time.Minute), Until: start.Add(12*time.Hour + time.Minute)}, "across two hour edges"},
		win{store.Window{Since: start.Add(25*time.Hour + 10*time.Minute + 5500*time.Millisecond), Until: start.Add(25*time.Hour + 10*time.Minute + 40*time.Second)}, "inside one minute"},
		win{store.Window{Since: start.Add(25*time.Hour + 10*time.Minute + 50*time.Second), Until: start.Add(25*time.Hour + 11*time.Minute + 10*time.Second)}, "across one minute edge"},
		win{store.Window{Since: start.Add(25*time.Hour + 59*time.Minute + 30*time.Second), Until: start.Add(27*time.Hour + 30*time.Second)}, "partial minutes beside two hour edges"},
		win{store.Window{Since: start.Add(25*time.Hour + 59*time.Minute + 30*time.Second), Until: start.Add(26*time.Hour + 30*time.Second), OpenEnd: true}, "a partial minute before an hour, open end"},
		win{store.Window{Since: start.Add(-time.Hour), Until: start.Add(80 * time.Hour), OpenEnd: true}, "everything"},
		win{store.Window{Since: start.Add(30 * time.Hour), Until: start.Add(30 * time.Hour), OpenEnd: true}, "now on an edge"},
	)
	widths := []struct {
		unit  string
		width time.Duration
	}{{"minute", time.Minute}, {"hour", time.Hour}, {"day", 24 * time.Hour}}
	filters := []store.EventFilter{{EventType: "WatchEvent", RepoName: "b/Y", Action: "started"}, {EventType: "WatchEvent"}}
	for _, typ := range []string{"", "IssuesEvent"} {
		for _, repo := range []string{"", "A/x", "none/none"} {
			for _, action := range []string{"", "OPENED"} {
				filters = append(filters, store.EventFilter{EventType: typ, RepoName: repo, Action: action})
			}
		}
	}
	checked, nonEmpty := 0, 0
	for _, wi := range windows {
		for _, wd := range widths {
			if wi.w.Until.Sub(wi.w.Since) > 30*time.Hour && wd.width == time.Minute {
				continue // the API allows at most 2,000 buckets
			}
			for _, f := range filters {
				got, err := s.Timeline(ctx, wi.w, wd.width, f)
				if err != nil {
					t.Fatal(err)
				}
				want := oracleTimeline(ctx, t, pool, wi.w, wd.unit, wd.width, f)
				if err := sameBuckets(got, want); err != nil {
					t.Fatalf("%s window %+v, %s buckets, filter %+v: %v", wi.label, wi.w, wd.unit, f, err)
				}
				checked++
				if slices.ContainsFunc(got, func(b store.Bucket) bool { return b.Total > 0 }) {
					nonEmpty++
				}
			}
		}
		// Windowed counts: the sum of the day timeline, by type.
		for _, f := range filters {
			if f.EventType != "" {
				continue
			}
			got, err := s.CountsIn(ctx, wi.w, f.RepoName, f.Action)
			if err != nil {
				t.Fatal(err)
			}
			want := oracleTimeline(ctx, t, pool, wi.w, "day", 24*time.Hour, f)
			var total int64
			counts := map[string]int64{}
			for _, b := range want {
				total += b.Total
				for k, v := range b.Counts {
					counts[k] += v
				}
			}
			var oldest *time.Time
			var until *time.Time
			if !wi.w.OpenEnd {
				until = &wi.w.Until
			}
			if err := pool.QueryRow(ctx, `SELECT min(created_at) FROM events WHERE created_at >= $1 AND ($2::timestamptz IS NULL OR created_at < $2)
				AND ($3 = '' OR lower(repo_name) = lower($3)) AND ($4 = '' OR lower(action) = lower($4))`, wi.w.Since, until, f.RepoName, f.Action).Scan(&oldest); err != nil {
				t.Fatal(err)
			}
			if got.Total != total || len(got.Counts) != len(counts) || (oldest == nil) != (got.Oldest == nil) || (oldest != nil && !oldest.Equal(*got.Oldest)) {
				t.Fatalf("%s window %+v, filter %+v: counts %+v, want total %d %v oldest %v", wi.label, wi.w, f, got, total, counts, oldest)
			}
			for k, v := range counts {
				if got.Counts[k] != v {
					t.Fatalf("%s window %+v, filter %+v: %s %d, want %d", wi.label, wi.w, f, k, got.Counts[k], v)
				}
			}
		}
		// The repositories of the window.
		for _, typ := range []string{"PushEvent", "WatchEvent", "DeleteEvent"} {
			for _, minEvents := range []int64{1, 5, 40} {
				for _, limit := range []int{1, 3, 100} {
					total, repos, err := s.TopReposIn(ctx, typ, wi.w, minEvents, limit)
					if err != nil {
						t.Fatal(err)
					}
					wantTotal, wantRepos := oracleTopRepos(ctx, t, pool, typ, wi.w, minEvents, limit)
					if total != wantTotal || !slices.Equal(repos, wantRepos) {
						t.Fatalf("%s window %+v, %s > %d, top %d: %d %v, want %d %v", wi.label, wi.w, typ, minEvents, limit, total, repos, wantTotal, wantRepos)
					}
				}
			}
		}
	}
	if nonEmpty < checked/2 {
		t.Fatalf("only %d of %d timelines hold an event: the data misses the windows", nonEmpty, checked)
	}
}

// oracleTopRepos groups the window's events of a type by lower-cased name;
// the name shown is the one repo_type_counts keeps (the spelling of the
// repository's newest event, whose own tests are those of the summaries).
func oracleTopRepos(ctx context.Context, t *testing.T, pool *pgxpool.Pool, typ string, w store.Window, minEvents int64, limit int) (int64, []store.RepoCount) {
	t.Helper()
	var until *time.Time
	if !w.OpenEnd {
		until = &w.Until
	}
	rows, err := pool.Query(ctx, `
		SELECT (SELECT n.repo_name FROM repo_type_counts n WHERE n.type = $1 AND n.repo_key = g.k), g.c
		FROM (SELECT lower(e.repo_name) AS k, count(*) AS c
		      FROM events e
		      WHERE e.type = $1 AND e.created_at >= $2 AND ($3::timestamptz IS NULL OR e.created_at < $3)
		      GROUP BY 1 HAVING count(*) > $4) g
		ORDER BY g.c DESC, g.k COLLATE "C"`, typ, w.Since, until, minEvents)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all []store.RepoCount
	for rows.Next() {
		var rc store.RepoCount
		if err := rows.Scan(&rc.RepoName, &rc.Events); err != nil {
			t.Fatal(err)
		}
		all = append(all, rc)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return int64(len(all)), all[:min(limit, len(all))]
}

// TestTopReposInRecent compares the repositories of windows reaching the
// newest event (the plan that reads the recency summary and pages through
// the repositories by their count of all time) with a plain GROUP BY, on
// thousands of repositories (so the plan pages several times) whose order
// of all time differs from their order in the window, inserted out of
// order in several statements.
func TestTopReposInRecent(t *testing.T) {
	s, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := rand.New(rand.NewPCG(16, 2))
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var events []model.Event
	for i := range 3000 {
		n := 1 + 1500/(i+1) + r.IntN(3)
		for range n {
			// A third of the repositories have most of their events in the
			// first week, the others in the last three days.
			at := start.Add(7*24*time.Hour + time.Duration(r.Int64N(int64(3*24*time.Hour))))
			if i%3 == 0 && r.IntN(5) > 0 {
				at = start.Add(time.Duration(r.Int64N(int64(7 * 24 * time.Hour))))
			}
			name := fmt.Sprintf("owner%d/Repo%d", i%7, i)
			if r.IntN(2) == 0 {
				name = fmt.Sprintf("OWNER%d/repo%d", i%7, i)
			}
			typ := "PushEvent"
			if r.IntN(4) == 0 {
				typ = "WatchEvent"
			}
			events = append(events, model.Event{ID: int64(len(events) + 1), Type: typ, RepoID: int64(i), RepoName: name, CreatedAt: at})
		}
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	for b := 0; b < len(events); b += 2500 {
		if _, err := s.InsertEvents(ctx, events[b:min(b+2500, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
	s.SetAggregateEventsForTest(-1) // the data set is small: the recency plan whatever its size
	end := start.Add(10 * 24 * time.Hour)
	windows := []store.Window{
		{Since: end.Add(-24 * time.Hour), Until: end, OpenEnd: true},
		{Since: end.Add(-3 * 24 * time.Hour), Until: end.Add(time.Hour)},
		{Since: end.Add(-8*24*time.Hour - 17*time.Second), Until: end},
		{Since: start, Until: end, OpenEnd: true},
		{Since: end.Add(-48 * time.Hour), Until: end.Add(-24 * time.Hour)}, // before the newest: the other plan
	}
	for _, w := range windows {
		for _, typ := range []string{"PushEvent", "WatchEvent"} {
			for _, limit := range []int{1, 10, 100, 700, 10000} {
				total, repos, err := s.TopReposIn(ctx, typ, w, 1, limit)
				if err != nil {
					t.Fatal(err)
				}
				wantTotal, wantRepos := oracleTopRepos(ctx, t, s.Pool(), typ, w, 1, limit)
				if total != wantTotal || !slices.Equal(repos, wantRepos) {
					t.Fatalf("window %+v, %s, top %d: %d repositories %v,\nwant %d %v", w, typ, limit, total, repos, wantTotal, wantRepos)
				}
			}
		}
	}
}
