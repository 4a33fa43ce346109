package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/store"
)

// maxCoverageHours is the most hours /metrics/coverage answers (the newest).
const maxCoverageHours = 2000

// CoverageQuery is the query of /metrics/coverage.
type CoverageQuery struct {
	Offset int64 `query:"offset" required:"true" minimum:"1" maximum:"3153600000" example:"86400" doc:"The window: the hours from now - offset (or until - offset) on, that start rounded down to the hour (now taken to the second), as the offset of events-total-count."`
	UntilParam
}

// CoverageInput is the request of /metrics/coverage.
type CoverageInput struct {
	CoverageQuery
	ConditionalInput
}

// CoverageHour is how complete one UTC hour of the stored events is.
type CoverageHour struct {
	Hour              time.Time `json:"hour" doc:"The hour's start (RFC 3339, UTC)."`
	Events            int64     `json:"events" doc:"Stored events whose created_at is in the hour, whichever source stored them." example:"7702"`
	Polled            int64     `json:"polled" doc:"Of those, the events a poller stored first: the public feed (firehose) or a watched repository, organisation or user (watch)." example:"1200"`
	ArchiveEvents     *int64    `json:"archive_events" doc:"The distinct events, by (id, created_at), of the GH Archive file named for this hour, whatever their created_at (GH Archive cuts its files by its crawler's clock); null when the follower has not imported that hour." example:"7702"`
	SeenBeforeArchive *int64    `json:"seen_before_archive" doc:"Of the file's distinct events, those another source (a poller, an import, or a row stored before sources were recorded) had stored before the follower; null when archive_events is." example:"1100"`
	PollerCoverage    *float64  `json:"poller_coverage" doc:"seen_before_archive / archive_events, from 0 to 1: the share of GH Archive's events of the hour that ghevents had before the archive; null when archive_events is null or 0." example:"0.1428"`
}

// Coverage is /metrics/coverage's answer.
type Coverage struct {
	OffsetSeconds int64          `json:"offset_seconds" doc:"The window asked for, in seconds." example:"86400"`
	Since         time.Time      `json:"since" doc:"Start of the window: now - offset (or until - offset) rounded down to the hour (RFC 3339, UTC)."`
	Until         *time.Time     `json:"until,omitempty" doc:"The end of the window (excluded: the hours that start before it), when until was given (RFC 3339, UTC); absent otherwise."`
	Hours         []CoverageHour `json:"hours" nullable:"false" doc:"One row per UTC hour of the window that holds stored events or a GH Archive hour imported by the follower, oldest first; at most 2,000 (the newest)."`
	HoursOmitted  int64          `json:"hours_omitted" doc:"How many older hours of the window were left out past the 2,000." example:"0"`
}

func (s *Server) registerCoverage(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "get-coverage",
		Method:      http.MethodGet,
		Path:        "/metrics/coverage",
		Summary:     "How complete each hour is",
		Description: "Per UTC hour of the window, the stored events and how many of them the pollers (the public feed, " +
			"the watched feeds) brought, beside the GH Archive file of the hour when the follower (GHARCHIVE_FOLLOW) " +
			"imported it: its distinct events and how many of them ghevents had before the archive. " +
			"poller_coverage is then the share of every public event of the hour that the pollers (or an import) had caught. " +
			"Exact: the counts are kept as events are stored and deleted.",
		Tags:      []string{"metrics"},
		Errors:    problemErrors,
		Responses: notModifiedResponse(),
	}, s.getCoverage)
}

func (s *Server) getCoverage(ctx context.Context, in *CoverageInput) (*metricOutput[Coverage], error) {
	q := in.CoverageQuery
	w := s.coverageWindow(q.Offset, q.given())
	return conditionalGet(s, ctx, "coverage", in.IfNoneMatch,
		[]string{strconv.FormatInt(q.Offset, 10), windowKey(w)},
		func(db *store.Store) (Coverage, error) {
			return s.coverage(ctx, db, q.Offset, w)
		})
}

// coverageWindow is the window of /metrics/coverage: its start rounded
// down to the hour.
func (s *Server) coverageWindow(offset int64, until *time.Time) store.Window {
	w := s.window(offset, until)
	w.Since = w.Since.Truncate(time.Hour)
	return w
}

// coverage computes the /metrics/coverage answer from db; the chart calls
// it too.
func (s *Server) coverage(ctx context.Context, db *store.Store, offset int64, w store.Window) (Coverage, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	until := untilOf(w)
	hours, total, err := db.Coverage(qctx, w.Since, until, maxCoverageHours)
	if err != nil {
		return Coverage{}, s.dbError(ctx, "coverage", err)
	}
	out := Coverage{OffsetSeconds: offset, Since: w.Since, Until: until, Hours: make([]CoverageHour, len(hours)),
		HoursOmitted: total - int64(len(hours))}
	for i, h := range hours {
		row := CoverageHour{Hour: h.Hour, Events: h.Events, Polled: h.Polled,
			ArchiveEvents: h.ArchiveEvents, SeenBeforeArchive: h.SeenBeforeArchive}
		if h.ArchiveEvents != nil && *h.ArchiveEvents > 0 && h.SeenBeforeArchive != nil {
			r := float64(*h.SeenBeforeArchive) / float64(*h.ArchiveEvents)
			row.PollerCoverage = &r
		}
		out.Hours[i] = row
	}
	return out, nil
}
