package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/model"
)

// chartOption fetches a chart page and returns its embedded echarts option
// and the page.
func chartOption(t *testing.T, base, path string) (map[string]any, string) {
	t.Helper()
	client := &http.Client{}
	resp, err := client.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q", path, csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", path)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-option">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s: no embedded option", path)
	}
	var opt map[string]any
	if err := json.Unmarshal([]byte(m[1]), &opt); err != nil {
		t.Fatalf("%s: option is not JSON: %v", path, err)
	}
	return opt, page
}

type scatter struct {
	name   string
	points [][2]float64
	avg    *float64
}

func scatterSeries(t *testing.T, opt map[string]any) []scatter {
	t.Helper()
	var out []scatter
	for _, raw := range opt["series"].([]any) {
		s := raw.(map[string]any)
		sc := scatter{name: s["name"].(string)}
		if data, ok := s["data"].([]any); ok {
			for _, p := range data {
				pp := p.([]any)
				sc.points = append(sc.points, [2]float64{pp[0].(float64), pp[1].(float64)})
			}
		}
		if ml, ok := s["markLine"].(map[string]any); ok {
			v := ml["data"].([]any)[0].(map[string]any)["yAxis"].(float64)
			sc.avg = &v
		}
		out = append(out, sc)
	}
	return out
}

func ms(hms string) float64 { return float64(at(hms).UnixMilli()) }

func TestAvgTimeChartDrawsTheAPIsNumbers(t *testing.T) {
	f := setup(t, handWorked)

	// The JSON answer, to compare the chart with.
	_, _, body := get(t, f.srv.URL, "/metrics/event-avg-time?event_type=PushEvent")
	var j struct {
		Avg float64 `json:"avg_time_seconds"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatal(err)
	}

	opt, page := chartOption(t, f.srv.URL, "/visualization/event-avg-time?event_type=PushEvent&scale=linear")
	series := scatterSeries(t, opt)
	// Push times 10:00:00, 10:00:00, 10:00:30, 11:00:00, 11:59:00: gaps 0, 30, 3570, 3540.
	want := [][2]float64{{ms("10:00:00"), 0}, {ms("10:00:30"), 30}, {ms("11:00:00"), 3570}, {ms("11:59:00"), 3540}}
	if len(series) != 1 || series[0].name != "PushEvent" || len(series[0].points) != 4 || series[0].avg == nil {
		t.Fatalf("series = %+v", series)
	}
	for i, p := range want {
		if series[0].points[i] != p {
			t.Errorf("point %d = %v, want %v", i, series[0].points[i], p)
		}
	}
	if *series[0].avg != j.Avg || j.Avg != 1785 {
		t.Errorf("average line %v, JSON %v, want 1785", *series[0].avg, j.Avg)
	}
	if opt["yAxis"].([]any)[0].(map[string]any)["type"] != "value" {
		t.Errorf("linear scale not applied: %v", opt["yAxis"])
	}
	for _, s := range []string{"<h1>Time between PushEvent events</h1>", "4 gaps drawn · dotted line",
		"average over all 5 events: 1785 s", `href="/metrics/event-avg-time?event_type=PushEvent"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}

	// Log scale (the default): the zero gap (a tie) is left out and said so.
	opt, page = chartOption(t, f.srv.URL, "/visualization/event-avg-time?event_type=PushEvent")
	series = scatterSeries(t, opt)
	if len(series[0].points) != 3 || series[0].points[0][1] != 30 || opt["yAxis"].([]any)[0].(map[string]any)["type"] != "log" {
		t.Errorf("log scale: %+v %v", series, opt["yAxis"])
	}
	if !strings.Contains(page, "log scale: 1 gap of 0 s (a tie) not drawn") {
		t.Errorf("log page does not say the zero gap is not drawn")
	}

	// Filters go through the same query as the JSON: IssuesEvent opened in octo/hello: 600 s.
	opt, _ = chartOption(t, f.srv.URL, "/visualization/event-avg-time?event_type=IssuesEvent&action=OPENED&repository_name=Octo/Hello&scale=linear")
	series = scatterSeries(t, opt)
	if len(series) != 1 || *series[0].avg != 600 || len(series[0].points) != 1 || series[0].points[0] != [2]float64{ms("09:10:00"), 600} {
		t.Errorf("filtered: %+v", series)
	}

	// Without event_type: one series per type with at least two events, in
	// the enum's order: ForkEvent (60 s), IssuesEvent (3000 s), PushEvent (1785 s).
	opt, _ = chartOption(t, f.srv.URL, "/visualization/event-avg-time?scale=linear")
	series = scatterSeries(t, opt)
	var names []string
	var avgs []float64
	for _, s := range series {
		names = append(names, s.name)
		avgs = append(avgs, *s.avg)
	}
	if strings.Join(names, ",") != "ForkEvent,IssuesEvent,PushEvent" || avgs[0] != 60 || avgs[1] != 3000 || avgs[2] != 1785 ||
		len(series[0].points) != 9 {
		t.Errorf("all types: %v %v (%d fork points)", names, avgs, len(series[0].points))
	}
}

// TestAvgTimeChartPointCap: with a cap of 2 points the newest 2 gaps are
// drawn and the average still covers every event.
func TestAvgTimeChartPointCap(t *testing.T) {
	f := setup(t, handWorked)
	srv := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return now }, ChartMaxPoints: 2}))
	defer srv.Close()
	opt, page := chartOption(t, srv.URL, "/visualization/event-avg-time?event_type=PushEvent&scale=linear")
	series := scatterSeries(t, opt)
	want := [][2]float64{{ms("11:00:00"), 3570}, {ms("11:59:00"), 3540}}
	if len(series[0].points) != 2 || series[0].points[0] != want[0] || series[0].points[1] != want[1] || *series[0].avg != 1785 {
		t.Fatalf("capped series: %+v", series)
	}
	if !strings.Contains(page, "2 of 4 gaps drawn (the most recent)") {
		t.Errorf("subtitle does not say 2 of 4 drawn")
	}
}

func TestTotalCountChartDrawsTheAPIsNumbers(t *testing.T) {
	f := setup(t, handWorked)
	for _, q := range []string{"offset=3600", "offset=31536000", "offset=5400&repository_name=octo/hello"} {
		_, _, body := get(t, f.srv.URL, "/metrics/events-total-count?"+q)
		var j struct {
			Counts map[string]int64 `json:"counts"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			t.Fatal(err)
		}
		opt, page := chartOption(t, f.srv.URL, "/visualization/events-total-count?"+q)
		cats := opt["yAxis"].([]any)[0].(map[string]any)["data"].([]any)
		vals := opt["series"].([]any)[0].(map[string]any)["data"].([]any)
		if len(cats) != len(j.Counts) {
			t.Fatalf("%s: %d bars, JSON has %d types", q, len(cats), len(j.Counts))
		}
		// Horizontal bars, listed bottom-up; the chart is as tall as its rows.
		if want := fmt.Sprintf(`style="height: %dpx"`, len(cats)*22+60); !strings.Contains(page, want) {
			t.Errorf("%s: the chart is not %s", q, want)
		}
		prev := int64(1 << 62)
		for k := range cats {
			i := len(cats) - 1 - k
			c := cats[i]
			v := int64(vals[i].(map[string]any)["value"].(float64))
			if j.Counts[c.(string)] != v {
				t.Errorf("%s: bar %s = %d, JSON %d", q, c, v, j.Counts[c.(string)])
			}
			if v > prev {
				t.Errorf("%s: bars not sorted by count at %s", q, c)
			}
			prev = v
		}
	}
	_, page := chartOption(t, f.srv.URL, "/visualization/events-total-count?offset=3600")
	for _, s := range []string{"Events per type, last 1 h", "since 2024-06-01T11:00:00Z · 5 events"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func TestReposChartAndHostileNames(t *testing.T) {
	hostile := `<script>alert(1)</script>`
	events := append([]model.Event{}, handWorked...)
	for i := range 3 {
		events = append(events, model.Event{ID: int64(100 + i), Type: "ForkEvent", RepoID: 9, RepoName: hostile + "/x",
			CreatedAt: at("07:00:0" + string(rune('0'+i)))})
	}
	events = append(events, model.Event{ID: 200, Type: `<img src=x onerror=alert(2)>`, RepoID: 9, RepoName: "a/b", CreatedAt: at("11:50:00")})
	f := setup(t, events)

	_, _, body := get(t, f.srv.URL, "/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1&limit=3")
	var j struct {
		Repos []struct {
			Name  string `json:"repository_name"`
			Count int64  `json:"events_count"`
		} `json:"repositories"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatal(err)
	}
	opt, page := chartOption(t, f.srv.URL, "/visualization/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1&limit=3")
	cats := opt["yAxis"].([]any)[0].(map[string]any)["data"].([]any)
	vals := opt["series"].([]any)[0].(map[string]any)["data"].([]any)
	// Horizontal bars list bottom-up: the first repository is the last category.
	if len(cats) != len(j.Repos) || len(j.Repos) != 3 {
		t.Fatalf("chart %v vs JSON %+v", cats, j.Repos)
	}
	for i, r := range j.Repos {
		k := len(cats) - 1 - i
		if cats[k] != r.Name || int64(vals[k].(map[string]any)["value"].(float64)) != r.Count {
			t.Errorf("bar %d: %v=%v, JSON %s=%d", i, cats[k], vals[k], r.Name, r.Count)
		}
	}
	// The hostile repository (3 events, sorted first among the 3s by its key "<script>...") is drawn as text.
	if j.Repos[0].Name != hostile+"/x" && j.Repos[1].Name != hostile+"/x" {
		t.Fatalf("hostile repository not in the top 3: %+v", j.Repos)
	}
	_, totalPage := chartOption(t, f.srv.URL, "/visualization/events-total-count?offset=3600")
	for _, p := range []string{page, totalPage} {
		for _, bad := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(p, bad) {
				t.Errorf("page contains %q unescaped", bad)
			}
		}
	}
	if !strings.Contains(totalPage, `\u003cimg src=x onerror=alert(2)\u003e`) {
		t.Errorf("the hostile type is not in the total-count chart data, escaped")
	}
}

func TestChartsEmptyDatabase(t *testing.T) {
	f := setup(t, nil)
	for _, p := range []string{
		"/visualization/event-avg-time",
		"/visualization/event-avg-time?event_type=PushEvent",
		"/visualization/events-total-count?offset=3600",
		"/visualization/multiple-events-repos?event_type=PushEvent",
	} {
		_, page := chartOption(t, f.srv.URL, p)
		if !strings.Contains(page, `<p class="notice" id="notice">No events are stored yet: the poller adds the newest as it polls GitHub, `+
			"and `ghevents import` loads history from GH Archive (an hour of it is enough to start).</p>") {
			t.Errorf("%s: no empty-store notice", p)
		}
	}
}

// TestChartsSayWhatMatchedNothing: with events stored, a chart that has
// nothing to draw says what matched nothing and what the store holds, and
// the window chart offers the window that holds everything.
func TestChartsSayWhatMatchedNothing(t *testing.T) {
	f := setup(t, handWorked)
	// handWorked runs from 08:00:00 (ForkEvent 13) to 11:59:59 (WatchEvent 10); now is 12:00:00.
	held := "the store holds 22 events, created from 2024-06-01 08:00 to 11:59 UTC."
	cases := []struct{ path, notice string }{
		{"/visualization/event-avg-time?event_type=DeleteEvent", "No DeleteEvent is stored; " + held},
		{"/visualization/event-avg-time?repository_name=no/such&action=opened", "No event of repository no/such with action opened is stored; " + held},
		{"/visualization/events-total-count?offset=600&repository_name=b/repo", "No event of repository b/repo in the last 10 min (since 2024-06-01 11:50:00 UTC); " + held},
		{"/visualization/events-total-count?offset=3600&action=reopened", "No event with action reopened in the last 1 h (since 2024-06-01 11:00:00 UTC); " + held},
		{"/visualization/multiple-events-repos?event_type=ForkEvent&minimal_events_count=3", "No repository has more than 3 ForkEvents; " + held},
		{"/visualization/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1", "No repository has more than 1 WatchEvent; " + held},
	}
	for _, c := range cases {
		_, page := chartOption(t, f.srv.URL, c.path)
		if want := `<p class="notice" id="notice">` + c.notice + `</p>`; !strings.Contains(page, want) {
			m := regexp.MustCompile(`<p class="notice".*</p>`).FindString(page)
			t.Errorf("%s:\n got  %s\n want %s", c.path, m, want)
		}
	}
	// 4 h since 08:00:00, in whole hours and one more for the time until
	// the form is sent: 6 h, 21600 s (the oldest event is 4 h old).
	_, page := chartOption(t, f.srv.URL, "/visualization/events-total-count?offset=600&repository_name=b/repo")
	if !strings.Contains(page, `<a href="/visualization/events-total-count?offset=21600&amp;repository_name=b%2Frepo">Show everything stored</a>`) {
		t.Errorf("no link to the window holding everything:\n%s", page)
	}
	_, _, index := get(t, f.srv.URL, "/visualization")
	for _, want := range []string{`<option value="21600">everything stored (since 2024-06-01 08:00 UTC)</option>`,
		"The store holds 22 events, created from 2024-06-01 08:00 to 11:59 UTC."} {
		if !strings.Contains(string(index), want) {
			t.Errorf("the index lacks %s", want)
		}
	}
}

// TestChartPagesProblems: a bad or missing parameter on a chart page
// answers a page for people: 422 kept, the navigation, one line per bad
// parameter in words, the chart's form filled with what was asked. A
// client asking for JSON gets the problem+json; the metrics always do.
func TestChartPagesProblems(t *testing.T) {
	f := setup(t, nil)
	cases := []struct {
		path  string
		lines []string
		form  []string // what the filled form must hold
	}{
		{"/visualization/events-total-count?offset=abc&repository_name=a/b",
			[]string{"offset: must be a whole number of seconds, at least 1 (at most 3153600000, a hundred years)"},
			[]string{`<option value="abc" selected>abc (as asked)</option>`, `name="repository_name" type="text" value="a/b"`}},
		{"/visualization/events-total-count",
			[]string{"offset: is missing; it must be a whole number of seconds, at least 1 (at most 3153600000, a hundred years)"},
			[]string{`<option value="3600" selected>hour</option>`}},
		{"/visualization/event-avg-time?event_type=Nope&scale=cubic&action=x!",
			[]string{"event_type: must be one of GitHub&#39;s event types, such as PushEvent or WatchEvent (the form lists them)",
				"action: must be letters and underscores only (such as opened or ready_for_review), at most 64",
				"scale: must be log or linear"},
			[]string{`<option value="Nope" selected>Nope (as asked)</option>`, `<option value="cubic" selected>cubic (as asked)</option>`,
				`name="action" type="text" value="x!"`}},
		{"/visualization/multiple-events-repos?event_type=PushEvent&limit=0&minimal_events_count=0",
			[]string{"minimal_events_count: must be a whole number, at least 1", "limit: must be a whole number from 1 to 10000"},
			[]string{`<option value="PushEvent" selected>PushEvent</option>`, `name="limit" type="number" value="0"`}},
		{"/visualization/multiple-events-repos?event_type=PushEvent&event_type=WatchEvent",
			[]string{"event_type: is given 2 times; give it once"}, nil},
		{"/visualization/events-total-count?offset=60&colour=red",
			[]string{"colour: is not a parameter of this page (it takes offset, until, repository_name, action)"}, nil},
	}
	for _, c := range cases {
		status, ctype, body := get(t, f.srv.URL, c.path)
		page := string(body)
		if status != 422 || ctype != "text/html; charset=utf-8" {
			t.Errorf("%s: %d %s, want 422 text/html", c.path, status, ctype)
			continue
		}
		var lines []string
		for _, m := range regexp.MustCompile(`<li>(.*)</li>`).FindAllStringSubmatch(page, -1) {
			lines = append(lines, m[1])
		}
		if strings.Join(lines, "\n") != strings.Join(c.lines, "\n") {
			t.Errorf("%s: lines\n %q\nwant\n %q", c.path, lines, c.lines)
		}
		for _, want := range append([]string{`<a href="/visualization">All charts</a>`, `<meta name="viewport"`}, c.form...) {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page lacks %s", c.path, want)
			}
		}
		// A program asking for JSON gets the problem.
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+c.path, nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 422 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s with Accept: application/json: %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	// An unknown chart is a page too; an unknown path elsewhere a problem.
	status, ctype, body := get(t, f.srv.URL, "/visualization/nope")
	if status != 404 || ctype != "text/html; charset=utf-8" || !strings.Contains(string(body), "There is no page at /visualization/nope.") {
		t.Errorf("/visualization/nope: %d %s %s", status, ctype, body)
	}
}

func TestChartsIndexAndAssets(t *testing.T) {
	f := setup(t, nil)
	status, ctype, body := get(t, f.srv.URL, "/visualization")
	if status != 200 || ctype != "text/html; charset=utf-8" {
		t.Fatalf("/visualization: %d %s", status, ctype)
	}
	for _, s := range []string{`action="/visualization/event-avg-time"`, `action="/visualization/events-total-count"`,
		`action="/visualization/multiple-events-repos"`, `<option value="WatchEvent">WatchEvent</option>`,
		`name="limit" type="number" value="100"`, `<link rel="icon" href="/favicon.ico">`} {
		if !strings.Contains(string(body), s) {
			t.Errorf("index lacks %q", s)
		}
	}
	_, _, docs := get(t, f.srv.URL, "/docs")
	if !strings.Contains(string(docs), `href="/visualization"`) {
		t.Errorf("/docs does not link to /visualization")
	}
	// Assets: echarts with a year of caching, our script, the icon.
	for _, a := range []struct {
		path, ctype, cache string
		least              int
	}{
		{"/assets/echarts/5.6.0/echarts.min.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 900_000},
		{"/assets/charts.js", "text/javascript; charset=utf-8", "public, max-age=3600", 1000},
		{"/favicon.ico", "image/vnd.microsoft.icon", "public, max-age=86400", 100},
	} {
		resp, err := http.Get(f.srv.URL + a.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != a.ctype || resp.Header.Get("Cache-Control") != a.cache || len(b) < a.least {
			t.Errorf("%s: %d %q %q %d bytes", a.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), len(b))
		}
	}
}
