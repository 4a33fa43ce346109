package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/store"
)

// maxBuckets is how many bucket lengths a timeline's offset may span (so a
// timeline has at most maxBuckets + 1 buckets: the first and last partial).
const maxBuckets = 2000

// bucketWidths are the timeline's bucket lengths, by name.
var bucketWidths = map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}

// EventsTimelineQuery is the query of /metrics/events-timeline.
type EventsTimelineQuery struct {
	Offset    int64     `query:"offset" required:"true" minimum:"1" maximum:"3153600000" example:"86400" doc:"The window: events created in the last this many seconds (at least 1), counted from the current second (or from until); at most 2,000 bucket lengths (120000 for minute, 7200000 for hour, 172800000 for day)."`
	Bucket    string    `query:"bucket" enum:"minute,hour,day" default:"hour" example:"hour" doc:"The length of a bucket: minute, hour or day, aligned to UTC."`
	EventType EventType `query:"event_type" doc:"Only events of this type; without it, every type."`
	ActionFilter
	RepoFilter
	UntilParam
}

// Resolve refuses a window of more than maxBuckets buckets, naming the
// largest offset the bucket allows, and checks the repository and until
// (whose own Resolve this one hides).
func (q *EventsTimelineQuery) Resolve(ctx huma.Context) []error {
	errs := append(q.RepoFilter.Resolve(ctx), q.UntilParam.Resolve(ctx)...)
	if w, ok := bucketWidths[q.Bucket]; ok {
		if most := int64(maxBuckets * w / time.Second); q.Offset > most {
			errs = append(errs, &huma.ErrorDetail{
				Location: "query.offset",
				Message:  fmt.Sprintf("offset %d is more than %d buckets of a %s: with bucket=%s, offset is at most %d", q.Offset, maxBuckets, q.Bucket, q.Bucket, most),
				Value:    q.Offset,
			})
		}
	}
	return errs
}

// EventsTimelineInput is the request of /metrics/events-timeline.
type EventsTimelineInput struct {
	EventsTimelineQuery
	ConditionalInput
}

// TimelineBucket is one bucket of a timeline.
type TimelineBucket struct {
	Start  time.Time        `json:"start" doc:"Start of the bucket (RFC 3339, UTC, on a minute, hour or day). The first bucket counts only events from since on; the last holds now (or the last instant before until) and, without until, also the events dated later than now."`
	Total  int64            `json:"total" doc:"Events in the bucket." example:"120"`
	Counts map[string]int64 `json:"counts" doc:"Events per type, for each type with at least one event in the bucket (only event_type when given); empty for an empty bucket."`
}

// EventsTimeline is the events of a window, bucket by bucket.
type EventsTimeline struct {
	OffsetSeconds  int64            `json:"offset_seconds" doc:"The window asked for, in seconds." example:"86400"`
	Since          time.Time        `json:"since" doc:"Start of the window: now - offset, now taken to the second (RFC 3339, UTC); until - offset when until is given."`
	Until          *time.Time       `json:"until,omitempty" doc:"The end of the window (excluded), when until was given (RFC 3339, UTC); absent otherwise."`
	Bucket         string           `json:"bucket" doc:"The bucket length: minute, hour or day." example:"hour"`
	EventType      *string          `json:"event_type" doc:"The event type filter as given; null when not given."`
	RepositoryName *string          `json:"repository_name" doc:"The repository filter as given; null when not given."`
	Action         *string          `json:"action" doc:"The action filter as given; null when not given."`
	Total          int64            `json:"total" doc:"Events in the window: the sum of the buckets' totals, events-total-count's total for the same window and filters." example:"2880"`
	Buckets        []TimelineBucket `json:"buckets" nullable:"false" doc:"Every bucket from the one holding since to the one holding now (or the last instant before until), oldest first, empty ones included: at most 2,001."`
}

func (s *Server) registerTimeline(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "get-events-timeline",
		Method:      http.MethodGet,
		Path:        "/metrics/events-timeline",
		Summary:     "Events over time, bucket by bucket",
		Description: "How many events were created in each minute, hour or day (UTC) of the last `offset` seconds " +
			"(created_at >= now - offset, or the window [until - offset, until)), per type, optionally of one type, " +
			"one repository and one action. Every bucket is listed, empty ones included; the buckets add up to " +
			"events-total-count's total for the same window and filters. With event_type=WatchEvent and a " +
			"repository_name, the buckets are the repository's stars as far as the store holds its events.",
		Tags:      []string{"metrics"},
		Errors:    problemErrors,
		Responses: notModifiedResponse(),
	}, s.getEventsTimeline)
}

func (s *Server) getEventsTimeline(ctx context.Context, in *EventsTimelineInput) (*metricOutput[EventsTimeline], error) {
	q := in.EventsTimelineQuery
	w := s.window(q.Offset, q.given())
	return conditionalGet(s, ctx, "events-timeline", in.IfNoneMatch,
		[]string{strconv.FormatInt(q.Offset, 10), q.Bucket, string(q.EventType), q.RepositoryName, q.Action, windowKey(w)},
		func(db *store.Store) (EventsTimeline, error) {
			return s.eventsTimeline(ctx, db, q, w)
		})
}

// eventsTimeline computes the /metrics/events-timeline answer from db; the
// chart calls it too.
func (s *Server) eventsTimeline(ctx context.Context, db *store.Store, q EventsTimelineQuery, w store.Window) (EventsTimeline, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	buckets, err := db.Timeline(qctx, w, bucketWidths[q.Bucket], store.EventFilter{
		EventType: string(q.EventType), RepoName: q.RepositoryName, Action: q.Action,
	})
	if err != nil {
		return EventsTimeline{}, s.dbError(ctx, "events-timeline", err)
	}
	out := EventsTimeline{
		OffsetSeconds:  q.Offset,
		Since:          w.Since,
		Until:          untilOf(w),
		Bucket:         q.Bucket,
		EventType:      optional(string(q.EventType)),
		RepositoryName: optional(q.RepositoryName),
		Action:         optional(q.Action),
		Buckets:        make([]TimelineBucket, len(buckets)),
	}
	for i, b := range buckets {
		out.Buckets[i] = TimelineBucket{Start: b.Start, Total: b.Total, Counts: b.Counts}
		out.Total += b.Total
	}
	return out, nil
}
