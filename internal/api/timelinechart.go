package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/charts"
	"github.com/ghevents/ghevents/internal/store"
)

// TimelineChartInput is the query of /visualization/events-timeline: the
// parameters of /metrics/events-timeline, and what to draw.
type TimelineChartInput struct {
	EventsTimelineQuery
	Cumulative bool `query:"cumulative" default:"false" doc:"Draw running totals from the start of the window instead of the events of each bucket. With event_type=WatchEvent and a repository_name: the repository's star history, as far as the store holds its events."`
}

func (s *Server) registerTimelineChart(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "visualization-events-timeline",
		Method:      http.MethodGet,
		Path:        "/visualization/events-timeline",
		Summary:     "Chart: events over time",
		Description: "The buckets of /metrics/events-timeline on a UTC time axis: one line per type, stacked areas when every type is " +
			"drawn, a tooltip per bucket; with cumulative=true, running totals from the start of the window (with " +
			"event_type=WatchEvent and a repository, its star history as far as the store knows it). At most " +
			"CHART_MAX_POINTS buckets (the newest) are drawn per series.",
		Tags:      []string{"visualization"},
		Responses: htmlResponses("An HTML page with the chart.", true),
	}, s.timelineChart)
}

// bucketNames are the bucket lengths as a subtitle says them.
var bucketNames = map[string]string{"minute": "a minute", "hour": "an hour", "day": "a day"}

func (s *Server) timelineChart(ctx context.Context, in *TimelineChartInput) (*htmlPage, error) {
	w := s.window(in.Offset, in.given())
	tl, err := s.eventsTimeline(ctx, s.cfg.Store, in.EventsTimelineQuery, w)
	if err != nil {
		return nil, err
	}
	// The types drawn: those with events, most first; running totals
	// count from the window's start, drawn buckets or not.
	sums := map[string]int64{}
	for _, b := range tl.Buckets {
		for t, n := range b.Counts {
			sums[t] += n
		}
	}
	if in.EventType != "" {
		sums[string(in.EventType)] += 0
	}
	types := make([]charts.CountItem, 0, len(sums))
	for t, n := range sums {
		types = append(types, charts.CountItem{Name: t, Count: n})
	}
	charts.SortCounts(types)
	skip := max(0, len(tl.Buckets)-s.cfg.ChartMaxPoints)
	starts := make([]time.Time, 0, len(tl.Buckets)-skip)
	for _, b := range tl.Buckets[skip:] {
		starts = append(starts, b.Start)
	}
	series := make([]charts.TimelineSeries, len(types))
	for i, t := range types {
		series[i].Name = t.Name
		var run int64
		for j, b := range tl.Buckets {
			n := b.Counts[t.Name]
			if in.Cumulative {
				run += n
				n = run
			}
			if j >= skip {
				series[i].Counts = append(series[i].Counts, n)
			}
		}
	}

	starHistory := in.Cumulative && in.EventType == "WatchEvent" && in.RepositoryName != ""
	what := "Events"
	if in.EventType != "" {
		what = string(in.EventType) + " events"
	}
	title := what + " over time" + filterText(in.RepositoryName, in.Action)
	valueName := "events per " + in.Bucket
	if in.Cumulative {
		title = "Running total of " + strings.Replace(what, "Events", "events", 1) + filterText(in.RepositoryName, in.Action)
		valueName = "events since the window's start"
	}
	if starHistory {
		title = "Star history of " + in.RepositoryName + filterText("", in.Action)
		valueName = "stars (WatchEvents) since the window's start"
	}
	end := "now"
	if !w.OpenEnd {
		end = w.Until.Format("2006-01-02 15:04:05 UTC")
	}
	subtitle := fmt.Sprintf("%s from %s to %s · buckets of %s (UTC)", charts.Plural(tl.Total, "event"),
		w.Since.Format("2006-01-02 15:04:05 UTC"), end, bucketNames[in.Bucket])
	if skip > 0 {
		subtitle += fmt.Sprintf(" · the newest %s of %s buckets drawn", charts.Thousands(int64(len(starts))), charts.Thousands(int64(len(tl.Buckets))))
	}
	if w.OpenEnd {
		subtitle += " · the last bucket also counts events dated after now"
	}
	if starHistory {
		text, err := s.storeKnows(ctx, in.RepositoryName)
		if err != nil {
			return nil, err
		}
		subtitle += " · " + text
	}

	q := timelineQuery(in.EventsTimelineQuery)
	flip := url.Values{}
	for k, v := range q {
		flip[k] = v
	}
	flipText := "Draw running totals"
	if in.Cumulative {
		flipText = "Draw events per bucket"
	} else {
		flip.Set("cumulative", "true")
	}
	page := charts.Page{
		Title:    title,
		Subtitle: subtitle,
		Option:   charts.TimelineOption(starts, series, in.EventType == "", valueName),
		Links: []charts.Link{
			{Text: flipText, URL: "/visualization/events-timeline?" + flip.Encode()},
			{Text: "The same numbers as JSON", URL: "/metrics/events-timeline?" + q.Encode()},
		},
	}
	if tl.Total == 0 {
		span, err := s.storedSpan(ctx)
		if err != nil {
			return nil, err
		}
		kind := "event"
		if in.EventType != "" {
			kind = string(in.EventType)
		}
		page.Notice = nothingMatchedText(span, fmt.Sprintf("no %s%s from %s to %s", kind, describeFilter(in.RepositoryName, in.Action),
			w.Since.Format("2006-01-02 15:04:05 UTC"), end))
	}
	return s.renderPage(page)
}

// storeKnows says since when the store holds events of a repository: a
// star history is only as old as that.
func (s *Server) storeKnows(ctx context.Context, repo string) (string, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	first, err := s.cfg.Store.OldestIn(qctx, store.Window{OpenEnd: true}, repo, "")
	if err != nil {
		return "", s.dbError(ctx, "chart events-timeline", err)
	}
	if first == nil {
		return "the star history as far as the store knows it: it holds no event of " + repo, nil
	}
	return "the star history as far as the store knows it: it holds events of " + repo + " from " +
		first.Format("2006-01-02 15:04 UTC") + " on", nil
}

// timelineQuery is q as a query string (the defaults left out but bucket).
func timelineQuery(q EventsTimelineQuery) url.Values {
	v := url.Values{"offset": {strconv.FormatInt(q.Offset, 10)}, "bucket": {q.Bucket}}
	if q.EventType != "" {
		v.Set("event_type", string(q.EventType))
	}
	addFilters(v, q.RepositoryName, q.Action)
	if u := q.given(); u != nil {
		v.Set("until", u.Format(time.RFC3339Nano))
	}
	return v
}
