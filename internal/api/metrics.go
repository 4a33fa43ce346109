package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// EventType is a GitHub event type; its schema is the enum of model.EventTypes.
type EventType string

// Schema implements huma.SchemaProvider.
func (EventType) Schema(huma.Registry) *huma.Schema {
	enum := make([]any, len(model.EventTypes))
	for i, t := range model.EventTypes {
		enum[i] = t
	}
	return &huma.Schema{
		Type:        huma.TypeString,
		Enum:        enum,
		Description: "A GitHub event type.",
		Examples:    []any{"PushEvent"},
	}
}

// RepoFilter and ActionFilter are the optional filters shared by the metrics and the charts.
//
// A repository name may be any the store holds: up to 2,704 characters,
// PostgreSQL's largest btree entry (in bytes, on 8 kB pages), so every name
// the store can index uncompressed. (Longer names could only be stored
// compressed, as a run of one letter; GitHub's have at most 140.)
type RepoFilter struct {
	RepositoryName string `query:"repository_name" maxLength:"2704" example:"torvalds/linux" doc:"Only events of this repository, compared case-insensitively as GitHub does: owner/name, or any other name an import or the poller stored (at most 2,704 characters; valid UTF-8 without NUL, as the store holds)."`
}

// Resolve refuses names the store cannot hold, so none reaches a query
// that would fail on it.
func (f *RepoFilter) Resolve(huma.Context) []error {
	if utf8.ValidString(f.RepositoryName) && !strings.ContainsRune(f.RepositoryName, 0) {
		return nil
	}
	return []error{&huma.ErrorDetail{Location: "query.repository_name", Message: "expected valid UTF-8 without NUL characters", Value: f.RepositoryName}}
}

type ActionFilter struct {
	Action string `query:"action" maxLength:"64" pattern:"^[A-Za-z_]+$" example:"opened" doc:"Only events whose payload.action is this (opened, closed, started, ...), compared case-insensitively. Types without actions (PushEvent, ...) never match."`
}

// UntilParam is the optional end of a window: [until - offset, until)
// instead of the window ending now, for history that ended in the past (an
// import of GH Archive, say).
type UntilParam struct {
	Until time.Time `query:"until" example:"2015-01-01T01:00:00Z" doc:"The end of the window (RFC 3339, from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z; default: now): the events created at or after until - offset and before until. Without it the window ends now and also counts the events dated later (a clock ahead of ours)."`
}

// untilMin and untilMax bound until: every window it ends starts after
// year 1 (offset is at most a hundred years) and is written in RFC 3339.
var (
	untilMin = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	untilMax = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Resolve refuses an until out of range.
func (p *UntilParam) Resolve(huma.Context) []error {
	if p.Until.IsZero() || (!p.Until.Before(untilMin) && !p.Until.After(untilMax)) {
		return nil
	}
	return []error{&huma.ErrorDetail{Location: "query.until", Message: "expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z", Value: p.Until.Format(time.RFC3339Nano)}}
}

// given is until in UTC, or nil when not given.
func (p UntilParam) given() *time.Time {
	if p.Until.IsZero() {
		return nil
	}
	u := p.Until.UTC()
	return &u
}

// ConditionalInput is the If-None-Match header of the metrics: the ETag
// of an answer the client holds.
type ConditionalInput struct {
	IfNoneMatch string `header:"If-None-Match" doc:"The ETag of an answer already held (several, comma-separated, or *): while the answer is the same, the server answers 304 Not Modified with no body."`
}

// EventAvgTimeQuery is the query of /metrics/event-avg-time.
type EventAvgTimeQuery struct {
	EventType EventType `query:"event_type" required:"true" doc:"The event type to measure."`
	ActionFilter
	RepoFilter
}

// EventAvgTimeInput is the request of /metrics/event-avg-time.
type EventAvgTimeInput struct {
	EventAvgTimeQuery
	ConditionalInput
}

// EventAvgTime is the average time between adjacent events.
type EventAvgTime struct {
	EventType       string     `json:"event_type" doc:"The event type asked for." example:"PushEvent"`
	Action          *string    `json:"action" doc:"The action filter as given; null when not given."`
	RepositoryName  *string    `json:"repository_name" doc:"The repository filter as given; null when not given."`
	EventsCount     int64      `json:"events_count" doc:"How many stored events match." example:"1234"`
	AvgTimeSeconds  *float64   `json:"avg_time_seconds" doc:"Average seconds between adjacent matching events ordered by created_at; null with fewer than 2 events." example:"2.5"`
	OldestEventTime *time.Time `json:"oldest_event_time" doc:"created_at of the oldest matching event (RFC 3339, UTC); null when none."`
	NewestEventTime *time.Time `json:"newest_event_time" doc:"created_at of the newest matching event (RFC 3339, UTC); null when none."`
}

// EventsTotalCountQuery is the query of /metrics/events-total-count.
type EventsTotalCountQuery struct {
	Offset int64 `query:"offset" required:"true" minimum:"1" maximum:"3153600000" example:"3600" doc:"The window: events created in the last this many seconds (at least 1), counted from the current second (or from until)."`
	RepoFilter
	ActionFilter
	UntilParam
}

// EventsTotalCountInput is the request of /metrics/events-total-count.
type EventsTotalCountInput struct {
	EventsTotalCountQuery
	ConditionalInput
}

// EventsTotalCount is the number of events per type in a window.
type EventsTotalCount struct {
	OffsetSeconds   int64            `json:"offset_seconds" doc:"The window asked for, in seconds." example:"3600"`
	Since           time.Time        `json:"since" doc:"Start of the window: now - offset, now taken to the second (RFC 3339, UTC); until - offset when until is given."`
	Until           *time.Time       `json:"until,omitempty" doc:"The end of the window (excluded), when until was given (RFC 3339, UTC); absent otherwise."`
	RepositoryName  *string          `json:"repository_name" doc:"The repository filter as given; null when not given."`
	Action          *string          `json:"action" doc:"The action filter as given; null when not given."`
	OldestEventTime *time.Time       `json:"oldest_event_time" doc:"created_at of the oldest event counted; null when none."`
	Counts          map[string]int64 `json:"counts" doc:"Events per type; every known type is present, zero included, and any other type stored in the window too."`
	Total           int64            `json:"total" doc:"Sum of counts." example:"1200"`
}

// MultipleEventsReposQuery is the query of /metrics/multiple-events-repos.
type MultipleEventsReposQuery struct {
	EventType          EventType `query:"event_type" required:"true" doc:"The event type to count."`
	MinimalEventsCount int64     `query:"minimal_events_count" default:"2" minimum:"1" example:"2" doc:"Only repositories with strictly more than this many events of the type."`
	Limit              int       `query:"limit" default:"100" minimum:"1" maximum:"10000" example:"100" doc:"At most this many repositories in the answer."`
	Offset             int64     `query:"offset" minimum:"1" maximum:"3153600000" example:"86400" doc:"Only events created in the last this many seconds (or before until): with event_type=WatchEvent&offset=86400, the repositories trending today. Without it, every stored event counts."`
	UntilParam
}

// Resolve refuses until without offset (it ends a window), and an until out of range.
func (q *MultipleEventsReposQuery) Resolve(ctx huma.Context) []error {
	if !q.Until.IsZero() && q.Offset == 0 {
		return []error{&huma.ErrorDetail{Location: "query.until", Message: "until ends a window: give offset too", Value: q.Until.Format(time.RFC3339Nano)}}
	}
	return q.UntilParam.Resolve(ctx)
}

// MultipleEventsReposInput is the request of /metrics/multiple-events-repos.
type MultipleEventsReposInput struct {
	MultipleEventsReposQuery
	ConditionalInput
}

// RepoEvents is a repository and its count.
type RepoEvents struct {
	RepositoryName string `json:"repository_name" doc:"The repository's name (owner/name), as spelled by its newest event." example:"torvalds/linux"`
	EventsCount    int64  `json:"events_count" doc:"Events of the type in this repository." example:"42"`
}

// MultipleEventsRepos is the repositories with more than N events of a type.
type MultipleEventsRepos struct {
	EventType          string       `json:"event_type" doc:"The event type asked for." example:"WatchEvent"`
	MinimalEventsCount int64        `json:"minimal_events_count" doc:"The threshold asked for (count > threshold)." example:"2"`
	OffsetSeconds      *int64       `json:"offset_seconds,omitempty" doc:"The window asked for, in seconds, when offset was given; absent otherwise (every stored event counts)." example:"86400"`
	Since              *time.Time   `json:"since,omitempty" doc:"Start of the window (now - offset, or until - offset), when offset was given; absent otherwise."`
	Until              *time.Time   `json:"until,omitempty" doc:"The end of the window (excluded), when until was given; absent otherwise."`
	TotalRepositories  int64        `json:"total_repositories" doc:"How many repositories qualify, before limit." example:"512"`
	Repositories       []RepoEvents `json:"repositories" nullable:"false" doc:"The first limit of them, by events_count descending, then repository_name ascending (compared case-insensitively)."`
}

// metricOutput is a metric's answer: the body with its ETag, or 304 Not
// Modified without a body when the client holds it already.
type metricOutput[T any] struct {
	Status       int
	ETag         string `header:"ETag" doc:"Names this answer (a weak validator): send it back in If-None-Match to get 304 while the answer is the same. It covers the query, the window (since, to the second) and the version of the stored events."`
	CacheControl string `header:"Cache-Control" doc:"no-cache: a cache may keep the answer, and asks again (with If-None-Match) before each use."`
	Body         *T
}

// problemErrors are the error answers every metric may give (429 only when
// HTTP_RATE_LIMIT is set).
var problemErrors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable}

func (s *Server) registerMetrics(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "get-event-avg-time",
		Method:      http.MethodGet,
		Path:        "/metrics/event-avg-time",
		Summary:     "Average time between events",
		Description: "The average time between adjacent events of one type (ordered by created_at), optionally of one " +
			"repository and one action. It equals the mean of created_at - LAG(created_at) over the matching events. " +
			"With fewer than two matching events the average is undefined: avg_time_seconds is null " +
			"(the Python service answered 400 there).",
		Tags:      []string{"metrics"},
		Errors:    problemErrors,
		Responses: notModifiedResponse(),
	}, s.getEventAvgTime)

	huma.Register(api, huma.Operation{
		OperationID: "get-events-total-count",
		Method:      http.MethodGet,
		Path:        "/metrics/events-total-count",
		Summary:     "Events per type in a time window",
		Description: "How many events of each type were created in the last `offset` seconds (created_at >= now - offset), " +
			"optionally of one repository and one action. Every known event type is in counts, zero included.",
		Tags:      []string{"metrics"},
		Errors:    problemErrors,
		Responses: notModifiedResponse(),
	}, s.getEventsTotalCount)

	huma.Register(api, huma.Operation{
		OperationID: "get-multiple-events-repos",
		Method:      http.MethodGet,
		Path:        "/metrics/multiple-events-repos",
		Summary:     "Repositories with more than N events of a type",
		Description: "Repositories with strictly more than minimal_events_count events of one type, by count descending " +
			"then name ascending; total_repositories counts all that qualify, before limit.",
		Tags:      []string{"metrics"},
		Errors:    problemErrors,
		Responses: notModifiedResponse(),
	}, s.getMultipleEventsRepos)
}

func (s *Server) getEventAvgTime(ctx context.Context, in *EventAvgTimeInput) (*metricOutput[EventAvgTime], error) {
	q := in.EventAvgTimeQuery
	return conditionalGet(s, ctx, "event-avg-time", in.IfNoneMatch, []string{string(q.EventType), q.RepositoryName, q.Action},
		func(db *store.Store) (EventAvgTime, error) {
			return s.eventAvgTime(ctx, db, string(q.EventType), q.RepositoryName, q.Action)
		})
}

// eventAvgTime computes the /metrics/event-avg-time answer from db; the
// charts call it too, so both show the same numbers.
func (s *Server) eventAvgTime(ctx context.Context, db *store.Store, eventType, repoName, action string) (EventAvgTime, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	span, err := db.EventSpan(qctx, store.EventFilter{EventType: eventType, RepoName: repoName, Action: action})
	if err != nil {
		return EventAvgTime{}, s.dbError(ctx, "event-avg-time", err)
	}
	return EventAvgTime{
		EventType:       eventType,
		Action:          optional(action),
		RepositoryName:  optional(repoName),
		EventsCount:     span.Count,
		AvgTimeSeconds:  span.AvgGapSeconds(),
		OldestEventTime: span.Oldest,
		NewestEventTime: span.Newest,
	}, nil
}

func (s *Server) getEventsTotalCount(ctx context.Context, in *EventsTotalCountInput) (*metricOutput[EventsTotalCount], error) {
	q := in.EventsTotalCountQuery
	w := s.window(q.Offset, q.given())
	return conditionalGet(s, ctx, "events-total-count", in.IfNoneMatch,
		[]string{strconv.FormatInt(q.Offset, 10), q.RepositoryName, q.Action, windowKey(w)},
		func(db *store.Store) (EventsTotalCount, error) {
			return s.eventsTotalCount(ctx, db, q.Offset, w, q.RepositoryName, q.Action)
		})
}

// window is the window of offset seconds ending at until, or now (to the
// second) when until is nil.
func (s *Server) window(offset int64, until *time.Time) store.Window {
	if until != nil {
		return store.Window{Since: until.Add(-time.Duration(offset) * time.Second), Until: *until}
	}
	return store.Window{Since: s.since(offset), Until: s.cfg.Now().UTC().Truncate(time.Second), OpenEnd: true}
}

// windowKey is the part of an ETag's key that names the window.
func windowKey(w store.Window) string {
	k := strconv.FormatInt(w.Since.UnixNano(), 10)
	if !w.OpenEnd {
		k += "-" + strconv.FormatInt(w.Until.UnixNano(), 10)
	}
	return k
}

// untilOf is the window's end as the answers echo it: nil when the window
// ends now.
func untilOf(w store.Window) *time.Time {
	if w.OpenEnd {
		return nil
	}
	u := w.Until
	return &u
}

// since is the start of a window of offset seconds: now, to the second,
// minus offset. Within one second every answer for the window is the same.
func (s *Server) since(offset int64) time.Time {
	return s.cfg.Now().UTC().Truncate(time.Second).Add(-time.Duration(offset) * time.Second)
}

// eventsTotalCount computes the /metrics/events-total-count answer from db.
func (s *Server) eventsTotalCount(ctx context.Context, db *store.Store, offset int64, w store.Window, repoName, action string) (EventsTotalCount, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	var tc store.TypeCounts
	var err error
	if w.OpenEnd {
		tc, err = db.CountsSince(qctx, w.Since, repoName, action)
	} else {
		tc, err = db.CountsIn(qctx, w, repoName, action)
	}
	if err != nil {
		return EventsTotalCount{}, s.dbError(ctx, "events-total-count", err)
	}
	counts := make(map[string]int64, len(model.EventTypes)+len(tc.Counts))
	for _, t := range model.EventTypes {
		counts[t] = 0
	}
	for t, n := range tc.Counts {
		counts[t] = n
	}
	return EventsTotalCount{
		OffsetSeconds:   offset,
		Since:           w.Since,
		Until:           untilOf(w),
		RepositoryName:  optional(repoName),
		Action:          optional(action),
		OldestEventTime: tc.Oldest,
		Counts:          counts,
		Total:           tc.Total,
	}, nil
}

func (s *Server) getMultipleEventsRepos(ctx context.Context, in *MultipleEventsReposInput) (*metricOutput[MultipleEventsRepos], error) {
	q := in.MultipleEventsReposQuery
	key := []string{string(q.EventType), strconv.FormatInt(q.MinimalEventsCount, 10), strconv.Itoa(q.Limit)}
	var w *store.Window
	if q.Offset > 0 {
		win := s.window(q.Offset, q.given())
		w = &win
		key = append(key, strconv.FormatInt(q.Offset, 10), windowKey(win))
	}
	return conditionalGet(s, ctx, "multiple-events-repos", in.IfNoneMatch, key,
		func(db *store.Store) (MultipleEventsRepos, error) {
			return s.multipleEventsRepos(ctx, db, string(q.EventType), q.MinimalEventsCount, q.Limit, q.Offset, w)
		})
}

// multipleEventsRepos computes the /metrics/multiple-events-repos answer
// from db: over every stored event, or over the window w (of offset
// seconds) when it is not nil.
func (s *Server) multipleEventsRepos(ctx context.Context, db *store.Store, eventType string, minEvents int64, limit int, offset int64, w *store.Window) (MultipleEventsRepos, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	var total int64
	var repos []store.RepoCount
	var err error
	if w == nil {
		total, repos, err = db.TopRepos(qctx, eventType, minEvents, limit)
	} else {
		total, repos, err = db.TopReposIn(qctx, eventType, *w, minEvents, limit)
	}
	if err != nil {
		return MultipleEventsRepos{}, s.dbError(ctx, "multiple-events-repos", err)
	}
	out := MultipleEventsRepos{
		EventType:          eventType,
		MinimalEventsCount: minEvents,
		TotalRepositories:  total,
		Repositories:       make([]RepoEvents, len(repos)),
	}
	if w != nil {
		since := w.Since
		out.OffsetSeconds, out.Since, out.Until = &offset, &since, untilOf(*w)
	}
	for i, r := range repos {
		out.Repositories[i] = RepoEvents{RepositoryName: r.RepoName, EventsCount: r.Events}
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
