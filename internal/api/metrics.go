package api

import (
	"context"
	"net/http"
	"time"

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
type RepoFilter struct {
	RepositoryName string `query:"repository_name" maxLength:"140" pattern:"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$" example:"torvalds/linux" doc:"Only events of this repository (owner/name), compared case-insensitively as GitHub does."`
}

type ActionFilter struct {
	Action string `query:"action" maxLength:"64" pattern:"^[A-Za-z_]+$" example:"opened" doc:"Only events whose payload.action is this (opened, closed, started, ...), compared case-insensitively. Types without actions (PushEvent, ...) never match."`
}

// EventAvgTimeInput is the query of /metrics/event-avg-time.
type EventAvgTimeInput struct {
	EventType EventType `query:"event_type" required:"true" doc:"The event type to measure."`
	ActionFilter
	RepoFilter
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

type eventAvgTimeOutput struct {
	Body EventAvgTime
}

// EventsTotalCountInput is the query of /metrics/events-total-count.
type EventsTotalCountInput struct {
	Offset int64 `query:"offset" required:"true" minimum:"1" maximum:"3153600000" example:"3600" doc:"The window: events created in the last this many seconds (at least 1)."`
	RepoFilter
	ActionFilter
}

// EventsTotalCount is the number of events per type in a window.
type EventsTotalCount struct {
	OffsetSeconds   int64            `json:"offset_seconds" doc:"The window asked for, in seconds." example:"3600"`
	Since           time.Time        `json:"since" doc:"Start of the window: now - offset (RFC 3339, UTC)."`
	RepositoryName  *string          `json:"repository_name" doc:"The repository filter as given; null when not given."`
	Action          *string          `json:"action" doc:"The action filter as given; null when not given."`
	OldestEventTime *time.Time       `json:"oldest_event_time" doc:"created_at of the oldest event counted; null when none."`
	Counts          map[string]int64 `json:"counts" doc:"Events per type; every known type is present, zero included, and any other type stored in the window too."`
	Total           int64            `json:"total" doc:"Sum of counts." example:"1200"`
}

type eventsTotalCountOutput struct {
	Body EventsTotalCount
}

// MultipleEventsReposInput is the query of /metrics/multiple-events-repos.
type MultipleEventsReposInput struct {
	EventType          EventType `query:"event_type" required:"true" doc:"The event type to count."`
	MinimalEventsCount int64     `query:"minimal_events_count" default:"2" minimum:"1" example:"2" doc:"Only repositories with strictly more than this many events of the type."`
	Limit              int       `query:"limit" default:"100" minimum:"1" maximum:"10000" example:"100" doc:"At most this many repositories in the answer."`
}

// RepoEvents is a repository and its count.
type RepoEvents struct {
	RepositoryName string `json:"repository_name" doc:"owner/name, as spelled by its newest event." example:"torvalds/linux"`
	EventsCount    int64  `json:"events_count" doc:"Events of the type in this repository." example:"42"`
}

// MultipleEventsRepos is the repositories with more than N events of a type.
type MultipleEventsRepos struct {
	EventType          string       `json:"event_type" doc:"The event type asked for." example:"WatchEvent"`
	MinimalEventsCount int64        `json:"minimal_events_count" doc:"The threshold asked for (count > threshold)." example:"2"`
	TotalRepositories  int64        `json:"total_repositories" doc:"How many repositories qualify, before limit." example:"512"`
	Repositories       []RepoEvents `json:"repositories" nullable:"false" doc:"The first limit of them, by events_count descending, then repository_name ascending."`
}

type multipleEventsReposOutput struct {
	Body MultipleEventsRepos
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
		Tags:   []string{"metrics"},
		Errors: problemErrors,
	}, s.eventAvgTime)

	huma.Register(api, huma.Operation{
		OperationID: "get-events-total-count",
		Method:      http.MethodGet,
		Path:        "/metrics/events-total-count",
		Summary:     "Events per type in a time window",
		Description: "How many events of each type were created in the last `offset` seconds (created_at >= now - offset), " +
			"optionally of one repository and one action. Every known event type is in counts, zero included.",
		Tags:   []string{"metrics"},
		Errors: problemErrors,
	}, s.eventsTotalCount)

	huma.Register(api, huma.Operation{
		OperationID: "get-multiple-events-repos",
		Method:      http.MethodGet,
		Path:        "/metrics/multiple-events-repos",
		Summary:     "Repositories with more than N events of a type",
		Description: "Repositories with strictly more than minimal_events_count events of one type, by count descending " +
			"then name ascending; total_repositories counts all that qualify, before limit.",
		Tags:   []string{"metrics"},
		Errors: problemErrors,
	}, s.multipleEventsRepos)
}

func (s *Server) eventAvgTime(ctx context.Context, in *EventAvgTimeInput) (*eventAvgTimeOutput, error) {
	body, err := s.EventAvgTime(ctx, string(in.EventType), in.RepositoryName, in.Action)
	if err != nil {
		return nil, err
	}
	return &eventAvgTimeOutput{Body: body}, nil
}

// EventAvgTime computes the /metrics/event-avg-time answer; the charts call
// it too, so both show the same numbers.
func (s *Server) EventAvgTime(ctx context.Context, eventType, repoName, action string) (EventAvgTime, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	span, err := s.cfg.Store.EventSpan(qctx, store.EventFilter{EventType: eventType, RepoName: repoName, Action: action})
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

func (s *Server) eventsTotalCount(ctx context.Context, in *EventsTotalCountInput) (*eventsTotalCountOutput, error) {
	body, err := s.EventsTotalCount(ctx, in.Offset, in.RepositoryName, in.Action)
	if err != nil {
		return nil, err
	}
	return &eventsTotalCountOutput{Body: body}, nil
}

// EventsTotalCount computes the /metrics/events-total-count answer.
func (s *Server) EventsTotalCount(ctx context.Context, offset int64, repoName, action string) (EventsTotalCount, error) {
	// PostgreSQL keeps microseconds: since is exactly what is queried.
	since := s.cfg.Now().UTC().Add(-time.Duration(offset) * time.Second).Truncate(time.Microsecond)
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	tc, err := s.cfg.Store.CountsSince(qctx, since, repoName, action)
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
		Since:           since,
		RepositoryName:  optional(repoName),
		Action:          optional(action),
		OldestEventTime: tc.Oldest,
		Counts:          counts,
		Total:           tc.Total,
	}, nil
}

func (s *Server) multipleEventsRepos(ctx context.Context, in *MultipleEventsReposInput) (*multipleEventsReposOutput, error) {
	body, err := s.MultipleEventsRepos(ctx, string(in.EventType), in.MinimalEventsCount, in.Limit)
	if err != nil {
		return nil, err
	}
	return &multipleEventsReposOutput{Body: body}, nil
}

// MultipleEventsRepos computes the /metrics/multiple-events-repos answer.
func (s *Server) MultipleEventsRepos(ctx context.Context, eventType string, minEvents int64, limit int) (MultipleEventsRepos, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	total, repos, err := s.cfg.Store.TopRepos(qctx, eventType, minEvents, limit)
	if err != nil {
		return MultipleEventsRepos{}, s.dbError(ctx, "multiple-events-repos", err)
	}
	out := MultipleEventsRepos{
		EventType:          eventType,
		MinimalEventsCount: minEvents,
		TotalRepositories:  total,
		Repositories:       make([]RepoEvents, len(repos)),
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
