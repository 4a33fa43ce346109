package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// Window is a time range of events: created at or after Since and before
// Until. When OpenEnd is set, Until is now and the events dated later (a
// clock ahead of ours) count too, in the last bucket of a timeline.
type Window struct {
	Since, Until time.Time
	OpenEnd      bool
}

func (w Window) until() *time.Time {
	if w.OpenEnd {
		return nil
	}
	u := w.Until
	return &u
}

// FirstBucket is the start of the bucket of width holding Since: buckets are
// aligned to UTC (time.Truncate counts from year 1, 00:00 UTC, a whole
// minute, hour and day, as the origin the queries bin from is).
func (w Window) FirstBucket(width time.Duration) time.Time {
	return w.Since.UTC().Truncate(width)
}

// LastBucket is the start of the last bucket of width: the one holding now
// (OpenEnd), else the one holding the last instant before Until.
func (w Window) LastBucket(width time.Duration) time.Time {
	if w.OpenEnd {
		return w.Until.UTC().Truncate(width)
	}
	return w.Until.UTC().Add(-time.Nanosecond).Truncate(width)
}

// Bucket is the events of one bucket of a timeline.
type Bucket struct {
	Start time.Time
	// Counts has a key per type with at least one event in the bucket.
	Counts map[string]int64
	// Total is the sum of Counts.
	Total int64
}

// Timeline counts the events of w matching f (every field optional) per
// bucket of width (a minute, an hour or a day) and type: every bucket from
// the one holding w.Since to w.LastBucket, oldest first, empty ones included.
// The first bucket counts only the events from w.Since on.
func (s *Store) Timeline(ctx context.Context, w Window, width time.Duration, f EventFilter) ([]Bucket, error) {
	first, last := w.FirstBucket(width), w.LastBucket(width)
	if last.Before(first) {
		return nil, fmt.Errorf("timeline: the window [%s, %s) is empty", w.Since.Format(time.RFC3339Nano), w.Until.Format(time.RFC3339Nano))
	}
	buckets := make([]Bucket, int(last.Sub(first)/width)+1)
	rows, err := s.windowCounts(ctx, w, width, last, f)
	if err != nil {
		return nil, err
	}
	// Each bucket's map made once at its size (the rows of a bucket, at
	// least as many as its types), not grown type by type: a timeline
	// of every type by hour over 30 days is some 10,000 rows.
	index := make([]int32, len(rows))
	perBucket := make([]int32, len(buckets))
	for k, r := range rows {
		i := int(r.bucket.Sub(first) / width)
		if i < 0 || i >= len(buckets) || !first.Add(time.Duration(i)*width).Equal(r.bucket) {
			return nil, fmt.Errorf("timeline: the store binned events at %s, not a bucket from %s to %s", r.bucket.Format(time.RFC3339), first.Format(time.RFC3339), last.Format(time.RFC3339))
		}
		index[k] = int32(i)
		perBucket[i]++
	}
	for i := range buckets {
		buckets[i] = Bucket{Start: first.Add(time.Duration(i) * width), Counts: make(map[string]int64, perBucket[i])}
	}
	for k, r := range rows {
		b := &buckets[index[k]]
		b.Counts[r.typ] += r.events
		b.Total += r.events
	}
	return buckets, nil
}

// CountsIn counts the events of each type in w, optionally of one
// repository and one action (both case-insensitive), and finds the oldest.
func (s *Store) CountsIn(ctx context.Context, w Window, repoName, action string) (TypeCounts, error) {
	f := EventFilter{RepoName: repoName, Action: action}
	rows, err := s.windowCounts(ctx, w, time.Hour, w.LastBucket(time.Hour), f)
	if err != nil {
		return TypeCounts{}, err
	}
	out := TypeCounts{Counts: map[string]int64{}}
	for _, r := range rows {
		out.Counts[r.typ] += r.events
		out.Total += r.events
	}
	if out.Oldest, err = s.OldestIn(ctx, w, repoName, action); err != nil {
		return TypeCounts{}, err
	}
	return out, nil
}

// OldestIn is the created_at of the oldest event of w, optionally of one
// repository and one action (both case-insensitive); nil when none.
func (s *Store) OldestIn(ctx context.Context, w Window, repoName, action string) (*time.Time, error) {
	f := EventFilter{RepoName: repoName, Action: action}
	var oldest *time.Time
	var err error
	if repoName == "" {
		oldest, err = s.read().WindowOldest(ctx, dbgen.WindowOldestParams{Since: w.Since, Until: w.until(), Action: f.action()})
	} else {
		oldest, err = s.read().WindowOldestOfRepo(ctx, dbgen.WindowOldestOfRepoParams{
			RepoName: repoName, Since: w.Since, Until: w.until(), Action: f.action(),
		})
	}
	if err != nil {
		return nil, fmt.Errorf("oldest event since %s: %w", w.Since.Format(time.RFC3339), mapErr(err))
	}
	return utcPtr(oldest), nil
}

type windowRow struct {
	bucket time.Time
	typ    string
	events int64
}

// windowCounts counts the events of w per bucket and type, the buckets
// after last counted in last. Two plans: without a repository, from the
// summaries (summaryPlan says which part of w comes from which); with one,
// which the summaries do not keep by time, everything is counted in events,
// as for minute buckets of one action (the minute summary keeps no action).
func (s *Store) windowCounts(ctx context.Context, w Window, width time.Duration, last time.Time, f EventFilter) ([]windowRow, error) {
	hours, minutes := width%time.Hour == 0, f.Action == ""
	if f.RepoName != "" || !(hours || minutes) {
		rows, err := s.read().TimelineFromEvents(ctx, dbgen.TimelineFromEventsParams{
			BucketSeconds: width.Seconds(), LastBucket: last, Since: w.Since, Until: w.until(),
			EventType: optional(f.EventType), RepoName: f.repo(), Action: f.action(),
		})
		if err != nil {
			return nil, fmt.Errorf("count events since %s by %s: %w", w.Since.Format(time.RFC3339), width, mapErr(err))
		}
		out := make([]windowRow, len(rows))
		for i, r := range rows {
			out[i] = windowRow{r.Bucket.UTC(), r.Type, r.Events}
		}
		return out, nil
	}
	p := summaryPlan(w, hours, minutes)
	p.BucketSeconds, p.LastBucket, p.EventType, p.Action = width.Seconds(), last, optional(f.EventType), f.action()
	rows, err := s.read().TimelineFromSummaries(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("count events since %s by %s: %w", w.Since.Format(time.RFC3339), width, mapErr(err))
	}
	out := make([]windowRow, len(rows))
	for i, r := range rows {
		out[i] = windowRow{r.Bucket.UTC(), r.Type, r.Events}
	}
	return out, nil
}

// summaryPlan splits w into the ranges of TimelineFromSummaries: the whole
// hours from the hourly summary (when hours: buckets of whole hours), the
// whole minutes around them from the minute summary (when minutes: no
// action filter), the rest, at either end, from events. Every range it
// does not use is empty (from == to).
func summaryPlan(w Window, hours, minutes bool) dbgen.TimelineFromSummariesParams {
	since := w.Since.UTC()
	ceil := func(t time.Time, unit time.Duration) time.Time {
		if f := t.Truncate(unit); f.Before(t) {
			return f.Add(unit)
		}
		return t
	}
	none := since
	p := dbgen.TimelineFromSummariesParams{
		HoursFrom: none, HoursTo: &none, MinutesFrom: none, MinutesTo: none,
		LaterMinutesFrom: none, LaterMinutesTo: &none, HeadFrom: none, HeadTo: none, TailFrom: none, TailTo: none,
	}
	unit := time.Minute // of the edges counted in events
	if !minutes {
		unit = time.Hour
	}
	from := ceil(since, unit)
	if !w.OpenEnd {
		to := w.Until.UTC().Truncate(unit)
		if !from.Before(to) {
			// No whole unit inside: everything is counted in events.
			p.HeadFrom, p.HeadTo = since, w.Until.UTC()
			return p
		}
		p.TailFrom, p.TailTo = to, w.Until.UTC()
	}
	p.HeadFrom, p.HeadTo = since, from
	// [from, to) (to: p.TailFrom, or nothing when the window is open) is
	// whole units from here on.
	switch {
	case !hours: // whole minutes
		p.LaterMinutesFrom, p.LaterMinutesTo = from, nil
		if !w.OpenEnd {
			to := p.TailFrom
			p.LaterMinutesTo = &to
		}
	case !minutes: // whole hours
		p.HoursFrom, p.HoursTo = from, nil
		if !w.OpenEnd {
			to := p.TailFrom
			p.HoursTo = &to
		}
	default: // whole hours, the minutes around them
		h1 := ceil(from, time.Hour)
		if w.OpenEnd {
			p.MinutesFrom, p.MinutesTo = from, h1
			p.HoursFrom, p.HoursTo = h1, nil
			break
		}
		to := p.TailFrom
		if h2 := to.Truncate(time.Hour); h1.Before(h2) {
			p.MinutesFrom, p.MinutesTo = from, h1
			p.HoursFrom, p.HoursTo = h1, &h2
			p.LaterMinutesFrom, p.LaterMinutesTo = h2, &to
		} else {
			p.LaterMinutesFrom, p.LaterMinutesTo = from, &to
		}
	}
	return p
}

// TopReposIn is TopRepos over the events of w only: how many repositories
// have more than minEvents events of eventType created in w, and the first
// limit of them by count (descending) then name, in one snapshot.
//
// Two plans. "More than one" over a window reaching the newest stored
// event of the type and holding more than aggregateEvents of them
// (trending of a busy type: the last day or week) reads the recency
// summary: the total is a count of the repositories whose second newest
// event is in the window, and the top rows come from the repositories in
// the order of their count of all time, each counted in the window, until
// no later one can reach the top rows (a count of all time bounds the
// window's). Any other window, or when that would count more than
// maxTopCandidates repositories (a store whose history is much longer than
// the window), counts the window's events per repository.
func (s *Store) TopReposIn(ctx context.Context, eventType string, w Window, minEvents int64, limit int) (total int64, repos []RepoCount, err error) {
	err = s.inSnapshot(ctx, func(q *dbgen.Queries) error {
		var ok bool
		if minEvents == 1 {
			if total, repos, ok, err = topReposRecent(ctx, q, eventType, w, limit, cmp.Or(s.aggregateEvents, aggregateEvents)); err != nil || ok {
				return err
			}
		}
		rows, err := q.WindowTopRepos(ctx, dbgen.WindowTopReposParams{
			EventType: eventType, Since: w.Since, Until: w.until(), MinEvents: minEvents, MaxRows: int64(limit),
		})
		if err != nil {
			return err
		}
		total, repos = 0, make([]RepoCount, len(rows))
		for i, r := range rows {
			repos[i] = RepoCount{RepoName: r.RepoName, Events: r.Events}
			total = r.Total
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("top repositories of %s since %s: %w", eventType, w.Since.Format(time.RFC3339), mapErr(err))
	}
	return total, repos, nil
}

// maxTopCandidates bounds how many repositories topReposRecent counts in the
// window before it leaves the answer to the plain count per repository.
const maxTopCandidates = 20_000

// aggregateEvents is the size of window (events of the type, about) up to
// which counting the window's events per repository is the faster plan:
// the recency plan's probes cost about as much as some tens of thousands
// of index entries (BENCHMARKS.md, issue 16).
const aggregateEvents = 100_000

// topReposRecent is TopReposIn's first plan, for minEvents 1; ok is false
// when it does not apply (w ends before the newest event of the type, or
// holds few of them) or gave up (more than maxTopCandidates candidates).
func topReposRecent(ctx context.Context, q *dbgen.Queries, eventType string, w Window, limit int, aggregateEvents int64) (total int64, repos []RepoCount, ok bool, err error) {
	if !w.OpenEnd {
		newest, err := q.NewestOfType(ctx, eventType)
		if err != nil {
			return 0, nil, false, err
		}
		if newest != nil && !newest.Before(w.Until) {
			return 0, nil, false, nil // events after the window: prev_at says nothing of it
		}
	}
	about, err := q.WindowTypeEventsAbout(ctx, dbgen.WindowTypeEventsAboutParams{EventType: eventType, Since: w.Since, Until: w.until()})
	if err != nil {
		return 0, nil, false, err
	}
	if about <= aggregateEvents {
		return 0, nil, false, nil
	}
	if total, err = q.RecentRepeatCount(ctx, dbgen.RecentRepeatCountParams{EventType: eventType, Since: w.Since}); err != nil {
		return 0, nil, false, err
	}
	type cand struct {
		key, name string
		events    int64
	}
	var top []cand
	// before orders the top rows: more events first, then by key, bytewise
	// (as COLLATE "C").
	before := func(a, b cand) int {
		if c := cmp.Compare(b.events, a.events); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	}
	p := dbgen.WindowTopCandidatesParams{
		EventType: eventType, Since: w.Since, Until: w.until(), AfterEvents: math.MaxInt64, MaxRows: 2*int64(limit) + 10,
	}
	for seen := 0; ; {
		if seen >= maxTopCandidates {
			return 0, nil, false, nil
		}
		rows, err := q.WindowTopCandidates(ctx, p)
		if err != nil {
			return 0, nil, false, err
		}
		seen += len(rows)
		for _, r := range rows {
			if r.WindowEvents > 1 {
				top = append(top, cand{r.RepoKey, r.RepoName, r.WindowEvents})
			}
		}
		slices.SortFunc(top, before)
		top = top[:min(len(top), limit)]
		if int64(len(rows)) < p.MaxRows {
			break // every candidate counted
		}
		last := rows[len(rows)-1]
		if len(top) == limit && last.AllEvents < top[limit-1].events {
			break // no later candidate (at most last.AllEvents in the window) gets in
		}
		p.AfterEvents, p.AfterKey = last.AllEvents, last.RepoKey
		p.MaxRows *= 2
	}
	repos = make([]RepoCount, len(top))
	for i, c := range top {
		repos[i] = RepoCount{RepoName: c.name, Events: c.events}
	}
	return total, repos, true, nil
}
