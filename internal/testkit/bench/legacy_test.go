package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/bench/legacydb"
)

// legacyQueries is the Python service's approach (sql/legacy/legacy.sql):
// every matching row is fetched and the metric computed in the
// application. BenchmarkLegacy measures it beside the summary-table
// queries on the same data.
type legacyQueries struct{ q *legacydb.Queries }

func newLegacyQueries(db legacydb.DBTX) *legacyQueries {
	return &legacyQueries{q: legacydb.New(db)}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// avgGap fetches every matching created_at and averages the gaps.
func (l *legacyQueries) avgGap(ctx context.Context, eventType, repoName, action string) (count int64, avg *float64, err error) {
	times, err := l.q.LegacyEventTimes(ctx, legacydb.LegacyEventTimesParams{EventType: eventType, RepoName: optional(repoName), Action: optional(action)})
	if err != nil {
		return 0, nil, fmt.Errorf("legacy event times: %w", err)
	}
	if len(times) < 2 {
		return int64(len(times)), nil, nil
	}
	var sum time.Duration
	for i := 1; i < len(times); i++ {
		sum += times[i].Sub(times[i-1])
	}
	a := sum.Seconds() / float64(len(times)-1)
	return int64(len(times)), &a, nil
}

// countsSince fetches the type of every event since and counts them.
func (l *legacyQueries) countsSince(ctx context.Context, since time.Time, repoName, action string) (map[string]int64, error) {
	types, err := l.q.LegacyTypesSince(ctx, legacydb.LegacyTypesSinceParams{Since: since, RepoName: optional(repoName), Action: optional(action)})
	if err != nil {
		return nil, fmt.Errorf("legacy types since: %w", err)
	}
	counts := map[string]int64{}
	for _, t := range types {
		counts[t]++
	}
	return counts, nil
}

// topRepos fetches the repository of every event of a type, counts per
// repository (case-insensitively) and sorts.
func (l *legacyQueries) topRepos(ctx context.Context, eventType string, minEvents int64, limit int) (int64, []store.RepoCount, error) {
	names, err := l.q.LegacyRepoNames(ctx, eventType)
	if err != nil {
		return 0, nil, fmt.Errorf("legacy repo names: %w", err)
	}
	counts := map[string]int64{}
	for _, n := range names {
		counts[strings.ToLower(n)]++
	}
	var out []store.RepoCount
	for name, n := range counts {
		if n > minEvents {
			out = append(out, store.RepoCount{RepoName: name, Events: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events != out[j].Events {
			return out[i].Events > out[j].Events
		}
		return out[i].RepoName < out[j].RepoName
	})
	total := int64(len(out))
	if len(out) > limit {
		out = out[:limit]
	}
	return total, out, nil
}
