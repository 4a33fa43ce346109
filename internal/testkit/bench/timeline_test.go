package bench

// The activity-over-time benchmarks (issue 16), on the data set of the
// metrics benchmarks, served by the real binary:
//
//	BenchmarkTimelineLatency/<variant>  sequential requests: p50-ms, p99-ms
//
// Every window ends at the data set's end (until), however long ago it was
// made, so the last 24 h and 7 days are full of events.

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// timelineVariants are the requests of issue 16's targets: the timeline
// over 30 days by hour and by day, all types and one; the last 24 h by
// minute; the busiest repository; trending repositories of the last 24 h
// and 7 days.
func timelineVariants(ctx context.Context, f *fixture) ([]variant, error) {
	var busiest string
	if err := f.store.Pool().QueryRow(ctx, `SELECT repo_key FROM repo_type_counts GROUP BY repo_key ORDER BY sum(events) DESC, repo_key LIMIT 1`).Scan(&busiest); err != nil {
		return nil, err
	}
	until := url.QueryEscape(f.ds.End.Format(time.RFC3339))
	tl := func(q string) string { return "/metrics/events-timeline?until=" + until + "&" + q }
	trending := func(typ string, offset int) string {
		return fmt.Sprintf("/metrics/multiple-events-repos?event_type=%s&minimal_events_count=1&offset=%d&until=%s", typ, offset, until)
	}
	repo := url.QueryEscape(busiest)
	return []variant{
		{name: "timeline/30d-hour", path: tl("offset=2592000&bucket=hour")},
		{name: "timeline/30d-hour-PushEvent", path: tl("offset=2592000&bucket=hour&event_type=PushEvent")},
		{name: "timeline/30d-hour-IssuesEvent+opened", path: tl("offset=2592000&bucket=hour&event_type=IssuesEvent&action=opened")},
		{name: "timeline/30d-day", path: tl("offset=2592000&bucket=day")},
		{name: "timeline/30d-day-WatchEvent", path: tl("offset=2592000&bucket=day&event_type=WatchEvent")},
		{name: "timeline/24h-minute", path: tl("offset=86400&bucket=minute")},
		{name: "timeline/24h-minute-WatchEvent", path: tl("offset=86400&bucket=minute&event_type=WatchEvent")},
		{name: "timeline/30d-hour-busiest-repo", path: tl("offset=2592000&bucket=hour&repository_name=" + repo)},
		{name: "timeline/30d-day-busiest-repo-WatchEvent", path: tl("offset=2592000&bucket=day&event_type=WatchEvent&repository_name=" + repo)},
		{name: "timeline/24h-minute-busiest-repo", path: tl("offset=86400&bucket=minute&repository_name=" + repo)},
		{name: "trending/WatchEvent-24h", path: trending("WatchEvent", 86400)},
		{name: "trending/PushEvent-24h", path: trending("PushEvent", 86400)},
		{name: "trending/WatchEvent-7d", path: trending("WatchEvent", 604800)},
		{name: "trending/PushEvent-7d", path: trending("PushEvent", 604800)},
		{name: "chart/timeline-30d-hour", path: "/visualization/events-timeline?until=" + until + "&offset=2592000&bucket=hour"},
		{name: "chart/star-history-busiest-repo", path: "/visualization/events-timeline?until=" + until + "&offset=2592000&bucket=day&event_type=WatchEvent&cumulative=true&repository_name=" + repo},
	}, nil
}

func BenchmarkTimelineLatency(b *testing.B) {
	f := setup(b)
	vs, err := timelineVariants(context.Background(), f)
	if err != nil {
		b.Fatal(err)
	}
	c := Client(1)
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			for range 5 { // warm the connection and the caches
				if status, _, err := Get(c, f.srv.URL+v.path); err != nil || status != 200 {
					b.Fatalf("%s: %d %v", v.path, status, err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				status, took, err := Get(c, f.srv.URL+v.path)
				if err != nil || status != 200 {
					b.Fatalf("%s: %d %v", v.path, status, err)
				}
				lat = append(lat, took)
			}
			b.ReportMetric(ms(Percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(Percentile(lat, 99)), "p99-ms")
		})
	}
}
