package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// EventFilter selects events for the metrics. Empty fields match everything;
// RepoName and Action are compared case-insensitively (the queries get the
// repository's name lower-cased in SQL, as repo_key is made, and the
// action's key, model.ActionKey, as events.action is stored).
type EventFilter struct {
	EventType string
	RepoName  string
	Action    string
}

func (f EventFilter) repo() *string   { return optional(f.RepoName) }
func (f EventFilter) action() *string { return optional(model.ActionKey(f.Action)) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EventSpan is how many events match a filter and when the oldest and newest
// of them happened (nil when none match).
type EventSpan struct {
	Count          int64
	Oldest, Newest *time.Time
}

// AvgGapSeconds is the average time between adjacent matching events:
// (newest - oldest) / (count - 1), or nil with fewer than two events.
func (s EventSpan) AvgGapSeconds() *float64 {
	if s.Count < 2 || s.Oldest == nil || s.Newest == nil {
		return nil
	}
	avg := s.Newest.Sub(*s.Oldest).Seconds() / float64(s.Count-1)
	return &avg
}

// EventSpan counts the events of f.EventType matching f and finds the oldest
// and newest, in one statement (one snapshot).
func (s *Store) EventSpan(ctx context.Context, f EventFilter) (EventSpan, error) {
	r, err := s.read().MetricsEventSpan(ctx, dbgen.MetricsEventSpanParams{
		EventType: f.EventType, RepoName: f.repo(), Action: f.action(),
	})
	if err != nil {
		return EventSpan{}, fmt.Errorf("event span of %s: %w", f.EventType, mapErr(err))
	}
	return EventSpan{Count: r.EventsCount, Oldest: utcPtr(r.Oldest), Newest: utcPtr(r.Newest)}, nil
}

// Gap is one event's time and the seconds since the previous matching event.
type Gap struct {
	At      time.Time
	Seconds float64
}

// EventGaps returns the gaps between adjacent events matching f (LAG over
// created_at) for the newest maxGaps events, oldest first.
func (s *Store) EventGaps(ctx context.Context, f EventFilter, maxGaps int) ([]Gap, error) {
	rows, err := s.read().MetricsEventGaps(ctx, dbgen.MetricsEventGapsParams{
		EventType: f.EventType, RepoName: f.repo(), Action: f.action(), MaxRows: int64(maxGaps) + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("event gaps of %s: %w", f.EventType, mapErr(err))
	}
	gaps := make([]Gap, len(rows))
	for i, r := range rows {
		gaps[i] = Gap{At: r.CreatedAt.UTC(), Seconds: r.GapSeconds}
	}
	return gaps, nil
}

// TypeCounts is how many events of each type happened since a time.
type TypeCounts struct {
	// Counts has a key per type with at least one event.
	Counts map[string]int64
	// Total is the sum of Counts.
	Total int64
	// Oldest is the oldest event counted; nil when none.
	Oldest *time.Time
}

// CountsSince counts the events of each type created at or after since,
// optionally of one repository and one action (both case-insensitive), in
// one statement (one snapshot).
func (s *Store) CountsSince(ctx context.Context, since time.Time, repoName, action string) (TypeCounts, error) {
	f := EventFilter{RepoName: repoName, Action: action}
	out := TypeCounts{Counts: map[string]int64{}}
	add := func(typ string, n int64, oldest time.Time) {
		out.Counts[typ] = n
		out.Total += n
		if o := oldest.UTC(); out.Oldest == nil || o.Before(*out.Oldest) {
			out.Oldest = &o
		}
	}
	if repoName == "" {
		err := s.inSnapshot(ctx, func(q *dbgen.Queries) error {
			counts, oldest, err := typeCountsSince(ctx, q, since, f.action())
			if err != nil {
				return err
			}
			for typ, n := range counts {
				add(typ, n, oldest)
			}
			return nil
		})
		if err != nil {
			return TypeCounts{}, fmt.Errorf("count events since %s: %w", since.Format(time.RFC3339), mapErr(err))
		}
		return out, nil
	}
	err := s.inSnapshot(ctx, func(q *dbgen.Queries) error {
		counts, err := repoTypeCountsSince(ctx, q, repoName, since, f.action())
		for _, c := range counts {
			add(c.typ, c.events, c.oldest)
		}
		return err
	})
	if err != nil {
		return TypeCounts{}, fmt.Errorf("count events of %s since %s: %w", repoName, since.Format(time.RFC3339), mapErr(err))
	}
	return out, nil
}

// repoTypeCount is one type's count in a window and its oldest event there.
type repoTypeCount struct {
	typ    string
	events int64
	oldest time.Time
}

// repoTypeCountsSince counts the events of each type of one repository
// created at or after since (of one action when action is not nil),
// reading at most about half of each type's events: from each type's
// first and last event it decides which side of since holds fewer, and
// counts the types of either side in one statement. It runs several
// statements: q must be one snapshot.
func repoTypeCountsSince(ctx context.Context, q *dbgen.Queries, repoName string, since time.Time, action *string) ([]repoTypeCount, error) {
	spans, err := q.MetricsRepoTypeSpans(ctx, dbgen.MetricsRepoTypeSpansParams{RepoName: repoName, Since: since, Action: action})
	if err != nil {
		return nil, err
	}
	out := make([]repoTypeCount, 0, len(spans))
	at := map[string]int{}    // the type's place in out
	var newer, older []string // the types counted from since on, before since
	for _, sp := range spans {
		at[sp.Type] = len(out)
		out = append(out, repoTypeCount{typ: sp.Type, events: sp.Events, oldest: sp.Oldest})
		switch {
		case action != nil:
			newer = append(newer, sp.Type)
		case !sp.FirstAt.Before(since):
			// The window holds every event of the type: its summary count.
		case since.Sub(sp.FirstAt) < sp.LastAt.Sub(since):
			older = append(older, sp.Type)
		default:
			newer = append(newer, sp.Type)
		}
	}
	if len(newer) > 0 {
		rows, err := q.MetricsRepoTypeCountsFrom(ctx, dbgen.MetricsRepoTypeCountsFromParams{RepoName: repoName, Types: newer, Since: since, Action: action})
		if err != nil {
			return nil, err
		}
		for _, t := range newer {
			out[at[t]].events = 0
		}
		for _, r := range rows {
			out[at[r.Type]].events = r.Events
		}
	}
	if len(older) > 0 {
		rows, err := q.MetricsRepoTypeCountsBefore(ctx, dbgen.MetricsRepoTypeCountsBeforeParams{RepoName: repoName, Types: older, Since: since})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[at[r.Type]].events -= r.Events
		}
	}
	return slices.DeleteFunc(out, func(c repoTypeCount) bool { return c.events <= 0 }), nil
}

// RepoCount is a repository and its number of events of one type.
type RepoCount struct {
	RepoName string
	Events   int64
}

// TopRepos returns how many repositories have more than minEvents events of
// eventType, and the first limit of them by count (descending) then name,
// in one statement. minEvents must be at least 1.
func (s *Store) TopRepos(ctx context.Context, eventType string, minEvents int64, limit int) (total int64, repos []RepoCount, err error) {
	if minEvents < 1 {
		return 0, nil, fmt.Errorf("top repositories: minimal events %d, must be at least 1", minEvents)
	}
	rows, err := s.read().MetricsTopRepos(ctx, dbgen.MetricsTopReposParams{
		EventType: eventType, MinEvents: minEvents, MaxRows: int64(limit),
	})
	if err != nil {
		return 0, nil, fmt.Errorf("top repositories of %s: %w", eventType, mapErr(err))
	}
	repos = make([]RepoCount, len(rows))
	for i, r := range rows {
		repos[i] = RepoCount{RepoName: r.RepoName, Events: r.Events}
		total = r.Total
	}
	return total, repos, nil
}

// typeCountsSince counts the events per type created at or after since
// (of one action when action is not nil), reading at most about half of
// the hourly summary and half an hour of events, and finds the oldest of
// them. It runs several statements: q must be one snapshot.
func typeCountsSince(ctx context.Context, q *dbgen.Queries, since time.Time, action *string) (map[string]int64, time.Time, error) {
	span, err := q.StoredSpan(ctx)
	if err != nil || span.Oldest == nil || span.Newest == nil || since.After(*span.Newest) {
		return nil, time.Time{}, err
	}
	oldestRows, err := q.MetricsOldestSince(ctx, dbgen.MetricsOldestSinceParams{Since: since, Action: action})
	if err != nil || len(oldestRows) == 0 {
		return nil, time.Time{}, err
	}
	counts := map[string]int64{}
	add := func(sign int64, typ string, n int64) { counts[typ] += sign * n }
	all, err := q.MetricsTypeCountsAll(ctx, action)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !since.After(*span.Oldest) {
		// The window holds everything stored.
		for _, r := range all {
			add(1, r.Type, r.Events)
		}
		return positive(counts), oldestRows[0], nil
	}
	// The whole hours from the hour boundary nearest to since, counted on
	// the side of it that holds fewer: since - oldest < newest - since
	// means the older side is the smaller.
	boundary := since.Truncate(time.Hour)
	if since.Sub(boundary) > 30*time.Minute {
		boundary = boundary.Add(time.Hour)
	}
	if since.Sub(*span.Oldest) < span.Newest.Sub(since) {
		for _, r := range all {
			add(1, r.Type, r.Events)
		}
		before, err := q.MetricsTypeCountsHoursBefore(ctx, dbgen.MetricsTypeCountsHoursBeforeParams{Boundary: boundary, Action: action})
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, r := range before {
			add(-1, r.Type, r.Events)
		}
	} else {
		from, err := q.MetricsTypeCountsHoursFrom(ctx, dbgen.MetricsTypeCountsHoursFromParams{Boundary: boundary, Action: action})
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, r := range from {
			add(1, r.Type, r.Events)
		}
	}
	// Either side counted from boundary on: the events between it and
	// since are taken away (boundary before since) or added (after).
	lo, hi, sign := boundary, since, int64(-1)
	if boundary.After(since) {
		lo, hi, sign = since, boundary, 1
	}
	if lo.Before(hi) {
		part, err := q.MetricsTypeCountsBetween(ctx, dbgen.MetricsTypeCountsBetweenParams{FromAt: lo, ToAt: hi, Action: action})
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, r := range part {
			add(sign, r.Type, r.Events)
		}
	}
	return positive(counts), oldestRows[0], nil
}

// positive keeps the types with events.
func positive(counts map[string]int64) map[string]int64 {
	for typ, n := range counts {
		if n <= 0 {
			delete(counts, typ)
		}
	}
	return counts
}

// inSnapshot runs fn with queries that all read one snapshot of the read
// database: the snapshot of ReadSnapshot when s is its store, else a
// read-only REPEATABLE READ transaction of its own.
func (s *Store) inSnapshot(ctx context.Context, fn func(*dbgen.Queries) error) error {
	if s.snapshot {
		return fn(s.readQ)
	}
	tx, err := s.readPool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(s.readQ.WithTx(tx)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// read returns the queries bound to the read pool.
func (s *Store) read() *dbgen.Queries { return s.readQ }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
