package api_test

import (
	"encoding/json"
	"html"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/store"
)

type line struct {
	name    string
	stacked bool
	points  [][2]int64
}

func lines(t *testing.T, opt map[string]any) []line {
	t.Helper()
	var out []line
	for _, raw := range opt["series"].([]any) {
		s := raw.(map[string]any)
		if s["type"] != "line" {
			t.Fatalf("series %v is a %v, want a line", s["name"], s["type"])
		}
		l := line{name: s["name"].(string), stacked: s["stack"] == "total" && s["areaStyle"] != nil}
		for _, p := range s["data"].([]any) {
			pp := p.([]any)
			l.points = append(l.points, [2]int64{int64(pp[0].(float64)), int64(pp[1].(float64))})
		}
		out = append(out, l)
	}
	return out
}

// TestTimelineChartDrawsTheAPIsNumbers compares the chart's series with the
// JSON answer for the same query: one point per bucket (its start, in ms),
// a line per type with events, stacked areas for every type, running
// totals with cumulative=true, and the star history's words.
func TestTimelineChartDrawsTheAPIsNumbers(t *testing.T) {
	f := setup(t, withFuture)
	for _, q := range []string{"offset=5400", "offset=7200&repository_name=OCTO/HELLO", "offset=7200&until=2024-06-01T09:30:00Z&bucket=minute",
		"offset=86400&event_type=PushEvent", "offset=86400&bucket=day&event_type=WatchEvent&repository_name=octo/hello"} {
		_, _, body := get(t, f.srv.URL, "/metrics/events-timeline?"+q)
		var tl struct {
			Buckets []struct {
				Start  time.Time
				Counts map[string]int64
			}
		}
		if err := json.Unmarshal(body, &tl); err != nil {
			t.Fatal(err)
		}
		for _, cumulative := range []bool{false, true} {
			path := "/visualization/events-timeline?" + q
			if cumulative {
				path += "&cumulative=true"
			}
			opt, _ := chartOption(t, f.srv.URL, path)
			if opt["useUTC"] != true || opt["xAxis"].([]any)[0].(map[string]any)["type"] != "time" {
				t.Errorf("%s: useUTC %v, x axis %v; want a UTC time axis", path, opt["useUTC"], opt["xAxis"])
			}
			ls := lines(t, opt)
			types := map[string]bool{}
			for _, b := range tl.Buckets {
				for k := range b.Counts {
					types[k] = true
				}
			}
			if !strings.Contains(q, "event_type") && len(ls) != len(types) {
				t.Fatalf("%s: %d lines, JSON has %d types", path, len(ls), len(types))
			}
			for _, l := range ls {
				if l.stacked != !strings.Contains(q, "event_type") {
					t.Errorf("%s: %s stacked=%v", path, l.name, l.stacked)
				}
				if len(l.points) != len(tl.Buckets) {
					t.Fatalf("%s: %s has %d points, %d buckets", path, l.name, len(l.points), len(tl.Buckets))
				}
				var run int64
				for i, b := range tl.Buckets {
					want := b.Counts[l.name]
					run += want
					if cumulative {
						want = run
					}
					if l.points[i] != [2]int64{b.Start.UnixMilli(), want} {
						t.Errorf("%s: %s point %d = %v, want [%d %d]", path, l.name, i, l.points[i], b.Start.UnixMilli(), want)
					}
				}
			}
		}
	}
	_, page := chartOption(t, f.srv.URL, "/visualization/events-timeline?offset=86400&bucket=day&event_type=WatchEvent&repository_name=octo/hello&cumulative=true")
	page = html.UnescapeString(page)
	for _, s := range []string{"<h1>Star history of octo/hello</h1>", "2 events from 2024-05-31 12:00:00 UTC to now · buckets of a day (UTC)",
		"the star history as far as the store knows it: it holds events of octo/hello from 2024-06-01 09:00 UTC on", "Draw events per bucket"} {
		if !strings.Contains(page, s) {
			t.Errorf("star history page lacks %q", s)
		}
	}
	_, page = chartOption(t, f.srv.URL, "/visualization/events-timeline?offset=3600&event_type=DeleteEvent")
	if !strings.Contains(html.UnescapeString(page), "No DeleteEvent from 2024-06-01 11:00:00 UTC to now; the store holds 24 events") {
		t.Errorf("an empty timeline does not say so:\n%s", page)
	}
}

// TestTimelineChartBucketCap draws at most CHART_MAX_POINTS buckets, the
// newest, with running totals still counted from the window's start.
func TestTimelineChartBucketCap(t *testing.T) {
	f := setup(t, withFuture)
	srv := httptest.NewServer(api.New(api.Config{Store: store.New(f.pool), Now: func() time.Time { return now }, Version: "test", ChartMaxPoints: 3}))
	t.Cleanup(srv.Close)
	// Hours 08:00 .. 12:00: five buckets, the newest three drawn; the forks of 08:00 count in the running total.
	opt, page := chartOption(t, srv.URL, "/visualization/events-timeline?offset=14400&cumulative=true&event_type=ForkEvent")
	ls := lines(t, opt)
	if len(ls) != 1 || len(ls[0].points) != 3 || ls[0].points[0] != [2]int64{at("10:00:00").UnixMilli(), 10} {
		t.Fatalf("lines %+v; want one of 3 points from 10:00, 10 forks", ls)
	}
	if !strings.Contains(page, "the newest 3 of 5 buckets drawn") {
		t.Errorf("the subtitle does not say what is drawn:\n%s", page)
	}
}

// TestReposChartWindowAndIndexShortcuts: the repositories chart counts the
// window's events only, and the index links trending repositories and the
// whole stored range.
func TestReposChartWindowAndIndexShortcuts(t *testing.T) {
	f := setup(t, withFuture)
	opt, page := chartOption(t, f.srv.URL, "/visualization/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1&offset=600&until=2024-06-01T08:08:00Z")
	cats := opt["yAxis"].([]any)[0].(map[string]any)["data"].([]any)
	vals := opt["series"].([]any)[0].(map[string]any)["data"].([]any)
	// Bottom-up: C/Repo, b/repo, a/repo, 2 each ([07:58, 08:08)).
	if len(cats) != 3 || cats[2] != "a/repo" || cats[0] != "C/Repo" || vals[0].(map[string]any)["value"].(float64) != 2 {
		t.Errorf("bars %v %v; want a/repo, b/repo, C/Repo with 2 each", cats, vals)
	}
	page = html.UnescapeString(page)
	for _, s := range []string{"<h1>Repositories with more than 1 ForkEvent in the 10 min up to 2024-06-01 08:08:00 UTC</h1>",
		"3 repositories · their events from 2024-06-01 07:58:00 UTC to 2024-06-01 08:08:00 UTC",
		`href="/metrics/multiple-events-repos?event_type=ForkEvent&limit=100&minimal_events_count=1&offset=600&until=2024-06-01T08%3A08%3A00Z"`} {
		if !strings.Contains(page, s) {
			t.Errorf("windowed repositories page lacks %q:\n%s", s, page)
		}
	}
	_, _, body := get(t, f.srv.URL, "/visualization")
	index := html.UnescapeString(string(body))
	// The newest stored event is dated 13:30 (after now, 12:00): the
	// whole range is 08:00 to 14:00, six hours, drawn per minute.
	for _, s := range []string{
		`<a href="/visualization/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1&offset=86400">Trending repositories, the last 24 h: stars (WatchEvent)</a>`,
		`<a href="/visualization/multiple-events-repos?event_type=PushEvent&minimal_events_count=1&offset=604800">Trending repositories, the last 7 days: pushes (PushEvent)</a>`,
		`<a href="/visualization/events-timeline?bucket=minute&offset=21600&until=2024-06-01T14%3A00%3A00Z">Events over the whole stored range, per minute</a>`,
		`<option value="2024-06-01T14:00:00Z">the hour of the newest stored event (2024-06-01 13:30 UTC)</option>`,
		`<option value="604800">trending: the last 7 days</option>`,
		`id="form-events-timeline"`,
	} {
		if !strings.Contains(index, s) {
			t.Errorf("the index lacks %s", s)
		}
	}
}
