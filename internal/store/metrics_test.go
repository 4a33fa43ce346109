package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// randomEvents makes n events over a few types, repositories in several
// spellings, actions in mixed case, many created_at ties, and some repeated
// identities.
func randomEvents(r *rand.Rand, n int, start time.Time) []model.Event {
	types := []string{"PushEvent", "IssuesEvent", "WatchEvent", "ForkEvent"}
	actions := map[string][]string{"IssuesEvent": {"opened", "closed", "Opened", "REOPENED"}, "WatchEvent": {"started"}}
	repos := []string{"a/x", "A/X", "b/y", "B/y", "c/z", "d/w", "e/v"}
	out := make([]model.Event, n)
	for i := range out {
		typ := types[r.IntN(len(types))]
		action := ""
		if as := actions[typ]; as != nil {
			action = as[r.IntN(len(as))]
		}
		out[i] = model.Event{
			ID:        int64(r.IntN(n*2) + 1), // repeats on purpose
			Type:      typ,
			RepoID:    1,
			RepoName:  repos[r.IntN(len(repos))],
			Action:    action,
			CreatedAt: start.Add(time.Duration(r.IntN(3*3600)) * time.Second), // 3 hours: ties
		}
	}
	return out
}

// TestAverageEqualsLagDefinition proves on random data that the fast form
// (newest - oldest) / (count - 1) equals the mean of LAG gaps, for every
// combination of filters.
func TestAverageEqualsLagDefinition(t *testing.T) {
	s, ctx := setup(t)
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for range 5 {
		if _, err := s.InsertEvents(ctx, randomEvents(r, 400, start)); err != nil {
			t.Fatal(err)
		}
	}
	filters := []store.EventFilter{}
	for _, typ := range []string{"PushEvent", "IssuesEvent", "WatchEvent", "ForkEvent", "DeleteEvent"} {
		for _, repo := range []string{"", "a/x", "B/Y", "c/z", "nope/none"} {
			for _, action := range []string{"", "opened", "CLOSED", "started", "none"} {
				filters = append(filters, store.EventFilter{EventType: typ, RepoName: repo, Action: action})
			}
		}
	}
	checked := 0
	for _, f := range filters {
		span, err := s.EventSpan(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		// The LAG form over every matching event.
		gaps, err := s.EventGaps(ctx, f, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		// An independent count straight from events.
		var count int64
		err = s.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1
			AND ($2 = '' OR lower(repo_name) = lower($2)) AND ($3 = '' OR lower(action) = lower($3))`,
			f.EventType, f.RepoName, f.Action).Scan(&count)
		if err != nil {
			t.Fatal(err)
		}
		if span.Count != count {
			t.Errorf("%+v: summary count %d, events hold %d", f, span.Count, count)
		}
		if int64(len(gaps)) != max(count-1, 0) {
			t.Errorf("%+v: %d gaps for %d events", f, len(gaps), count)
		}
		avg := span.AvgGapSeconds()
		if count < 2 {
			if avg != nil {
				t.Errorf("%+v: average %v with %d events, want nil", f, *avg, count)
			}
			continue
		}
		var sum float64
		for _, g := range gaps {
			sum += g.Seconds
		}
		lag := sum / float64(len(gaps))
		if avg == nil || math.Abs(*avg-lag) > 1e-9*math.Max(1, lag) {
			t.Errorf("%+v: fast average %v, LAG average %v", f, avg, lag)
		}
		checked++
	}
	if checked < 25 {
		t.Fatalf("only %d filters had two or more events: the data set is too thin", checked)
	}
}

// summariesMatch compares every summary table with a recount from events.
func summariesMatch(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	testdb.SummariesMatch(t, ctx, pool)
}

func rowsOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSummariesStayExact inserts concurrently (duplicates included) and
// deletes, and checks after each step that every summary equals a
// recomputation from events.
func TestSummariesStayExact(t *testing.T) {
	s, ctx := setup(t)
	r := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	batches := make([][]model.Event, 8)
	for i := range batches {
		batches[i] = randomEvents(r, 300, start)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	for _, b := range batches {
		wg.Go(func() {
			if _, err := s.InsertEvents(ctx, b); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	summariesMatch(t, ctx, s.Pool())

	// Deleting (as retention will) keeps them exact and drops emptied rows.
	if _, err := s.Pool().Exec(ctx, `DELETE FROM events WHERE created_at < $1`, start.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	summariesMatch(t, ctx, s.Pool())
	if _, err := s.Pool().Exec(ctx, `DELETE FROM events WHERE type = 'IssuesEvent' OR repo_name = 'a/x'`); err != nil {
		t.Fatal(err)
	}
	summariesMatch(t, ctx, s.Pool())
	var zeros int
	err := s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM event_type_counts WHERE events <= 0)
		+ (SELECT count(*) FROM event_hourly_counts WHERE events <= 0) + (SELECT count(*) FROM repo_type_counts WHERE events <= 0)
`).Scan(&zeros)
	if err != nil || zeros != 0 {
		t.Fatalf("summary rows with no events left: %d (%v)", zeros, err)
	}
}

// TestTopReposAndCountsSince checks the other metric queries against
// independent counts on random data.
func TestTopReposAndCountsSince(t *testing.T) {
	s, ctx := setup(t)
	r := rand.New(rand.NewPCG(5, 6))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.InsertEvents(ctx, randomEvents(r, 2000, start)); err != nil {
		t.Fatal(err)
	}
	for _, since := range []time.Time{start, start.Add(37*time.Minute + 13*time.Second), start.Add(2 * time.Hour), start.Add(5 * time.Hour)} {
		for _, repo := range []string{"", "A/x"} {
			for _, action := range []string{"", "Opened"} {
				tc, err := s.CountsSince(ctx, since, repo, action)
				if err != nil {
					t.Fatal(err)
				}
				rows := rowsOf(t, ctx, s.Pool(), fmt.Sprintf(`SELECT type || '=' || count(*) FROM events
					WHERE created_at >= '%s' AND ('%s' = '' OR lower(repo_name) = lower('%s')) AND ('%s' = '' OR lower(action) = lower('%s'))
					GROUP BY type ORDER BY 1`, since.Format(time.RFC3339), repo, repo, action, action))
				var got []string
				var total int64
				for _, typ := range []string{"ForkEvent", "IssuesEvent", "PushEvent", "WatchEvent"} {
					if n := tc.Counts[typ]; n > 0 {
						got = append(got, fmt.Sprintf("%s=%d", typ, n))
						total += n
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(rows) || total != tc.Total {
					t.Errorf("since %s repo %q action %q: got %v (total %d), want %v", since, repo, action, got, tc.Total, rows)
				}
				oldest := rowsOf(t, ctx, s.Pool(), fmt.Sprintf(`SELECT coalesce(to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'none') FROM events
					WHERE created_at >= '%s' AND ('%s' = '' OR lower(repo_name) = lower('%s')) AND ('%s' = '' OR lower(action) = lower('%s'))`,
					since.Format(time.RFC3339), repo, repo, action, action))
				gotOldest := "none"
				if tc.Oldest != nil {
					gotOldest = tc.Oldest.Format(time.RFC3339)
				}
				if gotOldest != oldest[0] {
					t.Errorf("since %s repo %q action %q: oldest %s, want %s", since, repo, action, gotOldest, oldest[0])
				}
			}
		}
	}
	for _, minEvents := range []int64{1, 50, 100, 1000} {
		total, repos, err := s.TopRepos(ctx, "PushEvent", minEvents, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := rowsOf(t, ctx, s.Pool(), fmt.Sprintf(`SELECT lower(repo_name) || '=' || count(*) FROM events WHERE type = 'PushEvent'
			GROUP BY lower(repo_name) HAVING count(*) > %d ORDER BY count(*) DESC, lower(repo_name) COLLATE "C"`, minEvents))
		var got []string
		for _, rc := range repos {
			got = append(got, fmt.Sprintf("%s=%d", lowerASCII(rc.RepoName), rc.Events))
		}
		if total != int64(len(want)) || fmt.Sprint(got) != fmt.Sprint(want[:min(2, len(want))]) {
			t.Errorf("min %d: total %d %v, want %d %v", minEvents, total, got, len(want), want)
		}
	}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
