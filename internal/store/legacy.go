package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// The Python service's approach (sql/queries/legacy.sql): every matching row
// is fetched and the metric computed in the application. Only the
// benchmarks call these, to compare with the summary-table queries.

// LegacyAvgGap fetches every matching created_at and averages the gaps.
func (s *Store) LegacyAvgGap(ctx context.Context, f EventFilter) (count int64, avg *float64, err error) {
	times, err := s.read().LegacyEventTimes(ctx, dbgen.LegacyEventTimesParams{EventType: f.EventType, RepoName: f.repo(), Action: f.action()})
	if err != nil {
		return 0, nil, fmt.Errorf("legacy event times: %w", mapErr(err))
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

// LegacyCountsSince fetches the type of every event since and counts them.
func (s *Store) LegacyCountsSince(ctx context.Context, since time.Time, repoName, action string) (map[string]int64, error) {
	f := EventFilter{RepoName: repoName, Action: action}
	types, err := s.read().LegacyTypesSince(ctx, dbgen.LegacyTypesSinceParams{Since: since, RepoName: f.repo(), Action: f.action()})
	if err != nil {
		return nil, fmt.Errorf("legacy types since: %w", mapErr(err))
	}
	counts := map[string]int64{}
	for _, t := range types {
		counts[t]++
	}
	return counts, nil
}

// LegacyTopRepos fetches the repository of every event of a type, counts
// per repository (case-insensitively) and sorts.
func (s *Store) LegacyTopRepos(ctx context.Context, eventType string, minEvents int64, limit int) (int64, []RepoCount, error) {
	names, err := s.read().LegacyRepoNames(ctx, eventType)
	if err != nil {
		return 0, nil, fmt.Errorf("legacy repo names: %w", mapErr(err))
	}
	counts := map[string]int64{}
	for _, n := range names {
		counts[strings.ToLower(n)]++
	}
	var out []RepoCount
	for name, n := range counts {
		if n > minEvents {
			out = append(out, RepoCount{RepoName: name, Events: n})
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
