package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/charts"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// htmlPage is an HTML answer with the security headers every page gets.
type htmlPage struct {
	ContentType    string `header:"Content-Type"`
	CSP            string `header:"Content-Security-Policy"`
	ReferrerPolicy string `header:"Referrer-Policy"`
	FrameOptions   string `header:"X-Frame-Options"`
	Body           []byte
}

func newHTMLPage(body []byte) *htmlPage {
	return &htmlPage{
		ContentType:    "text/html; charset=utf-8",
		CSP:            contentSecurityPolicy,
		ReferrerPolicy: "no-referrer",
		FrameOptions:   "DENY",
		Body:           body,
	}
}

// htmlResponses documents a page's answers, text/html only (clients
// generated from the document must not read them as JSON): the page, and
// for pages with parameters the page that says which are wrong (422).
// Over the rate limit (429) or without the database (503) the page says so.
func htmlResponses(desc string, withParams bool) map[string]*huma.Response {
	html := func(d string) *huma.Response {
		return &huma.Response{Description: d, Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: huma.TypeString}}}}
	}
	r := map[string]*huma.Response{
		"200": html(desc),
		"429": html("Too Many Requests (with HTTP_RATE_LIMIT set): a page saying when to retry (Retry-After)."),
		"503": html("Service Unavailable: a page saying the database could not answer."),
	}
	if withParams {
		r["422"] = html("Unprocessable Entity: a page naming each bad parameter in words, with the chart's form filled with what was asked. " +
			"A client sending Accept: application/json gets the application/problem+json of the JSON operations instead.")
	}
	return r
}

// AvgTimeChartInput is the query of /visualization/event-avg-time: the
// parameters of /metrics/event-avg-time, with event_type optional.
type AvgTimeChartInput struct {
	EventType EventType `query:"event_type" doc:"The event type to draw; without it, one series per type with at least two matching events."`
	ActionFilter
	RepoFilter
	Scale string `query:"scale" enum:"log,linear" default:"log" doc:"The y axis: log (gaps are very skewed; zero gaps are not drawn) or linear."`
}

// TotalCountChartInput is the query of /visualization/events-total-count.
type TotalCountChartInput = EventsTotalCountQuery

// ReposChartInput is the query of /visualization/multiple-events-repos.
type ReposChartInput = MultipleEventsReposQuery

func (s *Server) registerCharts(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "visualization-index",
		Method:      http.MethodGet,
		Path:        "/visualization",
		Summary:     "Charts index",
		Description: "A page linking each chart, with a form for its parameters, and what the store holds.",
		Tags:        []string{"visualization"},
		Responses:   htmlResponses("The charts index page.", false),
	}, s.index)

	huma.Register(api, huma.Operation{
		OperationID: "visualization-event-avg-time",
		Method:      http.MethodGet,
		Path:        "/visualization/event-avg-time",
		Summary:     "Chart: time between events",
		Description: "Each matching event's gap to the previous one as dots (x: event time, y: seconds), and the average over " +
			"all matching events as a dotted line labelled with its value; the numbers of /metrics/event-avg-time. At most " +
			"CHART_MAX_POINTS of the most recent gaps are drawn per series.",
		Tags:      []string{"visualization"},
		Responses: htmlResponses("An HTML page with the chart.", true),
	}, s.avgTimeChart)

	huma.Register(api, huma.Operation{
		OperationID: "visualization-events-total-count",
		Method:      http.MethodGet,
		Path:        "/visualization/events-total-count",
		Summary:     "Chart: events per type in a window",
		Description: "One bar per event type, sorted by count; the numbers of /metrics/events-total-count.",
		Tags:        []string{"visualization"},
		Responses:   htmlResponses("An HTML page with the chart.", true),
	}, s.totalCountChart)

	huma.Register(api, huma.Operation{
		OperationID: "visualization-multiple-events-repos",
		Method:      http.MethodGet,
		Path:        "/visualization/multiple-events-repos",
		Summary:     "Chart: repositories with the most events of a type",
		Description: "Horizontal bars of the top repositories (the chart grows with them; at most 300 are drawn); the numbers of /metrics/multiple-events-repos.",
		Tags:        []string{"visualization"},
		Responses:   htmlResponses("An HTML page with the chart.", true),
	}, s.reposChart)

	huma.Register(api, huma.Operation{
		OperationID: "visualization-coverage",
		Method:      http.MethodGet,
		Path:        "/visualization/coverage",
		Summary:     "Chart: how complete each hour is",
		Description: "Per hour, stacked bars of the GH Archive file's events another source had already seen and of those only " +
			"GH Archive had (for an hour the follower has not imported, the stored events), and the coverage as a line; " +
			"the numbers of /metrics/coverage.",
		Tags:      []string{"visualization"},
		Responses: htmlResponses("An HTML page with the chart.", true),
	}, s.coverageChart)
}

// CoverageChartInput is the query of /visualization/coverage.
type CoverageChartInput = CoverageQuery

func (s *Server) coverageChart(ctx context.Context, in *CoverageChartInput) (*htmlPage, error) {
	cov, err := s.coverage(ctx, s.cfg.Store, in.Offset, s.coverageWindow(in.Offset, in.given()))
	if err != nil {
		return nil, err
	}
	hours := make([]charts.CoverageHour, len(cov.Hours))
	var archive, seen, imported int64
	for i, h := range cov.Hours {
		hours[i] = charts.CoverageHour{Hour: h.Hour, Events: h.Events, Archive: h.ArchiveEvents, SeenBefore: h.SeenBeforeArchive}
		if h.ArchiveEvents != nil {
			imported++
			archive += *h.ArchiveEvents
			seen += *h.SeenBeforeArchive
		}
	}
	subtitle := fmt.Sprintf("since %s · %s, %s imported from GH Archive", cov.Since.Format(time.RFC3339),
		charts.Plural(int64(len(hours)), "hour"), charts.Thousands(imported))
	if archive > 0 {
		subtitle += fmt.Sprintf(" · of their %s, ghevents had %s before GH Archive (%s%%)", charts.Plural(archive, "event"),
			charts.Thousands(seen), strconv.FormatFloat(math.Round(1000*float64(seen)/float64(archive))/10, 'f', -1, 64))
	}
	if cov.HoursOmitted > 0 {
		subtitle += fmt.Sprintf(" · the %s before are left out", charts.Plural(cov.HoursOmitted, "older hour"))
	}
	q := url.Values{"offset": {strconv.FormatInt(in.Offset, 10)}}
	if cov.Until != nil {
		q.Set("until", cov.Until.Format(time.RFC3339))
		subtitle += " · until " + cov.Until.Format(time.RFC3339)
	}
	page := charts.Page{
		Title:    "How complete each hour is, last " + humanWindow(in.Offset),
		Subtitle: subtitle,
		Option:   charts.CoverageOption(hours),
		Links:    []charts.Link{{Text: "The same numbers as JSON", URL: "/metrics/coverage?" + q.Encode()}},
	}
	switch {
	case len(hours) == 0:
		notice, err := s.nothingMatched(ctx, "no event is stored and no GH Archive hour was imported since "+cov.Since.Format("2006-01-02 15:04 UTC"))
		if err != nil {
			return nil, err
		}
		page.Notice = notice
	case imported == 0:
		page.Notice = "No GH Archive hour of this window was imported, so there is nothing to compare the stored events with: " +
			"set GHARCHIVE_FOLLOW=true to follow GH Archive (see the README, How complete is the data)."
	}
	return s.renderPage(page)
}

func (s *Server) avgTimeChart(ctx context.Context, in *AvgTimeChartInput) (*htmlPage, error) {
	types := model.EventTypes
	if in.EventType != "" {
		types = []string{string(in.EventType)}
	}
	// One series per type, read concurrently (each is two short queries;
	// the pool bounds the concurrency), kept in the enum's order.
	results := make([]gapSeriesResult, len(types))
	sem := make(chan struct{}, chartConcurrency)
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = s.gapSeries(ctx, t, in, in.EventType != "")
		})
	}
	wg.Wait()
	var series []charts.GapSeries
	var events, drawn, zeros int64
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		events += r.events
		if r.keep {
			series = append(series, r.series)
			drawn += int64(len(r.series.Seconds))
			zeros += r.zeros
		}
	}

	what := "events"
	if in.EventType != "" {
		what = string(in.EventType) + " events"
	}
	title := "Time between " + what + filterText(in.RepositoryName, in.Action)
	var subtitle string
	switch {
	case in.EventType != "" && len(series) == 1 && series[0].AvgSeconds != nil:
		subtitle = drawnText(drawn, max(events-1, 0)) + fmt.Sprintf(" · dotted line: average over all %s: %s s",
			charts.Plural(events, "event"), formatSeconds(*series[0].AvgSeconds))
	case in.EventType != "":
		subtitle = fmt.Sprintf("%s matching: fewer than two, so no gap to draw", charts.Plural(events, "event"))
	default:
		subtitle = fmt.Sprintf("%s drawn: at most the %s most recent per type · dotted lines: averages over all %s",
			charts.Plural(drawn, "gap"), charts.Thousands(int64(s.cfg.ChartMaxPoints)), charts.Plural(events, "event"))
	}
	if in.Scale == "log" && zeros > 0 {
		if zeros == 1 {
			subtitle += " · log scale: 1 gap of 0 s (a tie) not drawn"
		} else {
			subtitle += fmt.Sprintf(" · log scale: %s gaps of 0 s (ties) not drawn", charts.Thousands(zeros))
		}
	}
	page := charts.Page{
		Title:    title,
		Subtitle: subtitle,
		Option:   charts.GapsOption(series, in.Scale == "log"),
		Links:    []charts.Link{{Text: "Switch to " + otherScale(in.Scale) + " scale", URL: withQuery("/visualization/event-avg-time", in.EventType, in.RepositoryName, in.Action, "scale", otherScale(in.Scale))}},
	}
	if in.EventType != "" {
		page.Links = append(page.Links, charts.Link{Text: "The same numbers as JSON", URL: withQuery("/metrics/event-avg-time", in.EventType, in.RepositoryName, in.Action)})
	}
	if events == 0 {
		kind := "event"
		if in.EventType != "" {
			kind = string(in.EventType)
		}
		notice, err := s.nothingMatched(ctx, "no "+kind+describeFilter(in.RepositoryName, in.Action)+" is stored")
		if err != nil {
			return nil, err
		}
		page.Notice = notice
	}
	return s.renderPage(page)
}

// drawnText says how many of the gaps are drawn.
func drawnText(drawn, total int64) string {
	if drawn == total {
		return charts.Plural(drawn, "gap") + " drawn"
	}
	return fmt.Sprintf("%s of %s drawn (the most recent)", charts.Thousands(drawn), charts.Plural(total, "gap"))
}

// chartConcurrency bounds the queries one chart page runs at once.
const chartConcurrency = 4

// gapSeriesResult is one type's series for the time-between-events chart.
type gapSeriesResult struct {
	series charts.GapSeries
	events int64
	keep   bool
	zeros  int64
	err    error
}

// gapSeries reads one type's average (the JSON endpoint's code) and its
// newest gaps. keep is false for a type with fewer than two events unless
// it was asked for by name (it then shows as an empty series).
func (s *Server) gapSeries(ctx context.Context, t string, in *AvgTimeChartInput, named bool) gapSeriesResult {
	avg, err := s.eventAvgTime(ctx, s.cfg.Store, t, in.RepositoryName, in.Action)
	if err != nil {
		return gapSeriesResult{err: err}
	}
	r := gapSeriesResult{events: avg.EventsCount, keep: named || avg.EventsCount >= 2}
	r.series = charts.GapSeries{Name: t, Events: avg.EventsCount, AvgSeconds: avg.AvgTimeSeconds}
	if avg.EventsCount < 2 {
		return r
	}
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	gaps, err := s.cfg.Store.EventGaps(qctx, store.EventFilter{EventType: t, RepoName: in.RepositoryName, Action: in.Action}, s.cfg.ChartMaxPoints)
	if err != nil {
		return gapSeriesResult{err: s.dbError(ctx, "chart event-avg-time", err)}
	}
	for _, g := range gaps {
		r.series.Times = append(r.series.Times, g.At)
		r.series.Seconds = append(r.series.Seconds, g.Seconds)
		if g.Seconds <= 0 {
			r.zeros++
		}
	}
	return r
}

func (s *Server) totalCountChart(ctx context.Context, in *TotalCountChartInput) (*htmlPage, error) {
	w := s.window(in.Offset, in.given())
	tc, err := s.eventsTotalCount(ctx, s.cfg.Store, in.Offset, w, in.RepositoryName, in.Action)
	if err != nil {
		return nil, err
	}
	items := make([]charts.CountItem, 0, len(tc.Counts))
	for t, n := range tc.Counts {
		items = append(items, charts.CountItem{Name: t, Count: n})
	}
	charts.SortCounts(items)
	title := "Events per type, last " + humanWindow(in.Offset) + filterText(in.RepositoryName, in.Action)
	subtitle := fmt.Sprintf("since %s · %s", tc.Since.Format(time.RFC3339), charts.Plural(tc.Total, "event"))
	q := url.Values{"offset": {strconv.FormatInt(in.Offset, 10)}}
	addFilters(q, in.RepositoryName, in.Action)
	page := charts.Page{
		Title:    title,
		Subtitle: subtitle,
		Option:   charts.HorizontalBarsOption("events", "events", items),
		Height:   charts.BarsHeight(len(items)),
		Links:    []charts.Link{{Text: "The same numbers as JSON", URL: "/metrics/events-total-count?" + q.Encode()}},
	}
	if tc.Total == 0 {
		span, err := s.storedSpan(ctx)
		if err != nil {
			return nil, err
		}
		page.Notice = nothingMatchedText(span, fmt.Sprintf("no event%s in the last %s (since %s)",
			describeFilter(in.RepositoryName, in.Action), humanWindow(in.Offset), tc.Since.Format("2006-01-02 15:04:05 UTC")))
		if all := s.everything(span); all > in.Offset {
			q.Set("offset", strconv.FormatInt(all, 10))
			page.Links = append([]charts.Link{{Text: "Show everything stored", URL: "/visualization/events-total-count?" + q.Encode()}}, page.Links...)
		}
	}
	return s.renderPage(page)
}

func (s *Server) reposChart(ctx context.Context, in *ReposChartInput) (*htmlPage, error) {
	var w *store.Window
	if in.Offset > 0 {
		win := s.window(in.Offset, in.given())
		w = &win
	}
	r, err := s.multipleEventsRepos(ctx, s.cfg.Store, string(in.EventType), in.MinimalEventsCount, in.Limit, in.Offset, w)
	if err != nil {
		return nil, err
	}
	items := make([]charts.CountItem, len(r.Repositories))
	for i, repo := range r.Repositories {
		items[i] = charts.CountItem{Name: repo.RepositoryName, Count: repo.EventsCount}
	}
	title := "Repositories with more than " + charts.Plural(in.MinimalEventsCount, string(in.EventType))
	subtitle := charts.Plural(r.TotalRepositories, "repository")
	if int64(len(items)) < r.TotalRepositories {
		subtitle = fmt.Sprintf("top %s of %s", charts.Thousands(int64(len(items))), subtitle)
	}
	if len(items) > charts.MaxBars {
		subtitle += fmt.Sprintf(" · the chart draws the first %s (a taller one would not draw well); all %s are in the JSON",
			charts.Thousands(charts.MaxBars), charts.Thousands(int64(len(items))))
	}
	if w != nil {
		// The window: "in the last 24 h", or "in the 24 h up to" a time.
		end := "now"
		title += " in the last " + humanWindow(in.Offset)
		if !w.OpenEnd {
			end = w.Until.Format("2006-01-02 15:04:05 UTC")
			title = strings.Replace(title, " in the last ", " in the ", 1) + " up to " + end
		}
		subtitle += fmt.Sprintf(" · their events from %s to %s", w.Since.Format("2006-01-02 15:04:05 UTC"), end)
	}
	q := url.Values{"event_type": {string(in.EventType)}, "minimal_events_count": {strconv.FormatInt(in.MinimalEventsCount, 10)},
		"limit": {strconv.Itoa(in.Limit)}}
	if w != nil {
		q.Set("offset", strconv.FormatInt(in.Offset, 10))
		if u := in.given(); u != nil {
			q.Set("until", u.Format(time.RFC3339Nano))
		}
	}
	page := charts.Page{
		Title:    title,
		Subtitle: subtitle,
		Option:   charts.HorizontalBarsOption(string(in.EventType)+" events", "events", items),
		Height:   charts.BarsHeight(len(items)),
		Links:    []charts.Link{{Text: "The same numbers as JSON", URL: "/metrics/multiple-events-repos?" + q.Encode()}},
	}
	if len(items) == 0 {
		what := "no repository has more than " + charts.Plural(in.MinimalEventsCount, string(in.EventType))
		if w != nil {
			what += " in the window"
		}
		notice, err := s.nothingMatched(ctx, what)
		if err != nil {
			return nil, err
		}
		page.Notice = notice
	}
	return s.renderPage(page)
}

// index is the charts' index: what is stored, and a form per chart, whose
// windows include one that holds every stored event.
func (s *Server) index(ctx context.Context, _ *struct{}) (*htmlPage, error) {
	span, err := s.storedSpan(ctx)
	if err != nil {
		return nil, err
	}
	subtitle := "The same numbers as the JSON API, drawn. Pick the parameters and open a chart."
	if span.Events == 0 {
		subtitle += " " + charts.EmptyStoreNotice
	} else {
		subtitle += " The store holds " + storedText(span) + "."
	}
	st := s.stored(span)
	body, err := charts.Index(subtitle, s.shortcuts(span), []charts.Form{
		charts.TimelineForm(model.EventTypes, st, nil),
		charts.ReposForm(model.EventTypes, st, nil),
		charts.TotalCountForm(st, nil),
		charts.AvgTimeForm(model.EventTypes, nil),
		charts.CoverageForm(nil),
	})
	if err != nil {
		return nil, s.renderError(err)
	}
	return newHTMLPage(body), nil
}

// stored is what the forms offer from what the store holds.
func (s *Server) stored(span store.StoredSpan) charts.Stored {
	st := charts.Stored{Everything: s.everything(span)}
	if span.Oldest == nil || span.Newest == nil {
		return st
	}
	st.OldestLabel = span.Oldest.Format("2006-01-02 15:04 UTC")
	end := newestHourEnd(span)
	st.NewestHourEnd, st.NewestLabel = end.Format(time.RFC3339), span.Newest.Format("2006-01-02 15:04 UTC")
	st.Range = int64(end.Sub(span.Oldest.Truncate(time.Hour)) / time.Second)
	return st
}

// newestHourEnd is the end of the UTC hour of the newest stored event: a
// window ending there holds it.
func newestHourEnd(span store.StoredSpan) time.Time {
	return span.Newest.UTC().Truncate(time.Hour).Add(time.Hour)
}

// shortcuts are the index's links to the charts worth opening first:
// trending repositories of the last day and week, and the events of the
// whole stored range (ending with the newest stored event's hour, so that
// history imported from the past shows too).
func (s *Server) shortcuts(span store.StoredSpan) []charts.Link {
	if span.Oldest == nil || span.Newest == nil {
		return nil
	}
	var links []charts.Link
	trending := func(label, typ string, offset int64, until string) {
		q := url.Values{"event_type": {typ}, "minimal_events_count": {"1"}, "offset": {strconv.FormatInt(offset, 10)}}
		if until != "" {
			q.Set("until", until)
		}
		links = append(links, charts.Link{Text: label, URL: "/visualization/multiple-events-repos?" + q.Encode()})
	}
	for _, w := range []struct {
		label  string
		offset int64
	}{{"the last 24 h", 86400}, {"the last 7 days", 604800}} {
		trending("Trending repositories, "+w.label+": stars (WatchEvent)", "WatchEvent", w.offset, "")
		trending("Trending repositories, "+w.label+": pushes (PushEvent)", "PushEvent", w.offset, "")
	}
	end := newestHourEnd(span)
	if s.cfg.Now().Sub(*span.Newest) > time.Hour {
		// The store's history ended a while ago (an import): the same,
		// ending with it.
		until := end.Format(time.RFC3339)
		trending("Trending repositories, the 24 h up to the newest stored event: stars", "WatchEvent", 86400, until)
		trending("Trending repositories, the 24 h up to the newest stored event: pushes", "PushEvent", 86400, until)
	}
	// The whole stored range, in the finest buckets that fit 2,000.
	offset := int64(end.Sub(span.Oldest.Truncate(time.Hour)) / time.Second)
	bucket := "day"
	for _, b := range []string{"minute", "hour"} {
		if offset <= int64(maxBuckets*bucketWidths[b]/time.Second) {
			bucket = b
			break
		}
	}
	q := url.Values{"offset": {strconv.FormatInt(offset, 10)}, "until": {end.Format(time.RFC3339)}, "bucket": {bucket}}
	if offset <= int64(maxBuckets*bucketWidths[bucket]/time.Second) {
		links = append(links, charts.Link{Text: "Events over the whole stored range, per " + bucket, URL: "/visualization/events-timeline?" + q.Encode()})
	}
	return links
}

// storedSpan reads what the store holds, for the pages' words.
func (s *Server) storedSpan(ctx context.Context) (store.StoredSpan, error) {
	qctx, cancel := s.queryContext(ctx)
	defer cancel()
	span, err := s.cfg.Store.StoredSpan(qctx)
	if err != nil {
		return store.StoredSpan{}, s.dbError(ctx, "stored span", err)
	}
	return span, nil
}

// everything is a window (offset, in seconds) that holds every stored
// event, or 0 when none is stored: whole hours, one more than needed, so
// it still holds them all when the form is sent a while later.
func (s *Server) everything(span store.StoredSpan) int64 {
	if span.Oldest == nil {
		return 0
	}
	hours := int64(s.cfg.Now().Sub(*span.Oldest)/time.Hour) + 2
	return hours * 3600
}

// nothingMatched is the notice of a chart with nothing to draw: what
// matched nothing, and what the store holds.
func (s *Server) nothingMatched(ctx context.Context, what string) (string, error) {
	span, err := s.storedSpan(ctx)
	if err != nil {
		return "", err
	}
	return nothingMatchedText(span, what), nil
}

func nothingMatchedText(span store.StoredSpan, what string) string {
	if span.Events == 0 {
		return charts.EmptyStoreNotice
	}
	return strings.ToUpper(what[:1]) + what[1:] + "; the store holds " + storedText(span) + "."
}

// storedText says what the store holds: "7,702 events, created from
// 2015-01-01 00:00 to 00:59 UTC".
func storedText(span store.StoredSpan) string {
	if span.Oldest == nil || span.Newest == nil {
		return charts.Plural(span.Events, "event")
	}
	from, to := span.Oldest.UTC(), span.Newest.UTC()
	toText := to.Format("2006-01-02 15:04")
	if from.Format("2006-01-02") == to.Format("2006-01-02") {
		toText = to.Format("15:04")
	}
	if span.Events == 1 {
		return "1 event, created at " + from.Format("2006-01-02 15:04 UTC")
	}
	return fmt.Sprintf("%s, created from %s to %s UTC", charts.Plural(span.Events, "event"), from.Format("2006-01-02 15:04"), toText)
}

// describeFilter writes the optional filters in words: " of repository
// a/b with action opened".
func describeFilter(repo, action string) string {
	var b strings.Builder
	if repo != "" {
		b.WriteString(" of repository " + repo)
	}
	if action != "" {
		b.WriteString(" with action " + action)
	}
	return b.String()
}

func (s *Server) renderPage(p charts.Page) (*htmlPage, error) {
	body, err := charts.Render(p)
	if err != nil {
		return nil, s.renderError(err)
	}
	return newHTMLPage(body), nil
}

func (s *Server) renderError(err error) error {
	s.log.Error("render page", "error", err.Error())
	return huma.Error500InternalServerError("internal error; it has been logged")
}

// filterText describes the optional filters for a title.
func filterText(repo, action string) string {
	var b strings.Builder
	if repo != "" {
		b.WriteString(" in " + repo)
	}
	if action != "" {
		b.WriteString(" (action " + action + ")")
	}
	return b.String()
}

func addFilters(q url.Values, repo, action string) {
	if repo != "" {
		q.Set("repository_name", repo)
	}
	if action != "" {
		q.Set("action", action)
	}
}

// withQuery builds path?event_type=..&repository_name=..&action=.. plus
// extra key/value pairs.
func withQuery(path string, eventType EventType, repo, action string, extra ...string) string {
	q := url.Values{}
	if eventType != "" {
		q.Set("event_type", string(eventType))
	}
	addFilters(q, repo, action)
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return path + "?" + q.Encode()
}

func otherScale(scale string) string {
	if scale == "log" {
		return "linear"
	}
	return "log"
}

// humanWindow writes a window in seconds the way a person says it:
// 3600 -> "1 h", 5400 -> "1 h 30 min", 90 -> "1 min 30 s".
func humanWindow(sec int64) string {
	units := []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}}
	var parts []string
	for _, u := range units {
		if sec >= u.n {
			parts = append(parts, fmt.Sprintf("%d %s", sec/u.n, u.name))
			sec %= u.n
		}
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// formatSeconds shows at most three decimals: 1785.1234 -> "1785.123".
func formatSeconds(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
}
