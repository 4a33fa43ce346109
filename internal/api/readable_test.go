package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// gharchiveHour is the real GH Archive hour of 2015-01-01 00:00 UTC: 7,702
// events, PushEvents 0.841 s apart on average (below the smallest gap a
// log axis draws, 1 s), two PublicEvents (a single gap).
const gharchiveHour = "../../testdata/github/gharchive-2015-01-01-0.json.gz"

// layoutCheck runs in the page once the chart is drawn: every text echarts
// drew (its bounding box, rotation included) is listed; two that overlap,
// one cut by the canvas' edge, and an average line outside the plot are
// reported.
const layoutCheck = `(function () {
  var chart = echarts.getInstanceByDom(document.getElementById("chart"));
  var W = chart.getWidth(), H = chart.getHeight(), texts = [];
  chart.getZr().storage.getDisplayList(true).forEach(function (el) {
    if (el.ignore || el.invisible || !el.style || typeof el.style.text !== "string" || el.style.text === "" || el.style.opacity === 0) {
      return;
    }
    var r = el.getBoundingRect().clone();
    var m = el.getComputedTransform();
    if (m) { r.applyTransform(m); }
    // What a clip path (a scrolled legend's) leaves of it.
    var x0 = r.x, y0 = r.y, x1 = r.x + r.width, y1 = r.y + r.height;
    (el.__clipPaths || []).forEach(function (cp) {
      var c = cp.getBoundingRect().clone(), cm = cp.getComputedTransform();
      if (cm) { c.applyTransform(cm); }
      x0 = Math.max(x0, c.x); y0 = Math.max(y0, c.y); x1 = Math.min(x1, c.x + c.width); y1 = Math.min(y1, c.y + c.height);
    });
    if (!(x1 - x0 >= 1 && y1 - y0 >= 1)) { return; } // clipped away, or placed nowhere (NaN)
    texts.push({ t: el.style.text, x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
  });
  var overlaps = [], clipped = [];
  for (var i = 0; i < texts.length; i++) {
    var a = texts[i];
    if (a.x < -1 || a.y < -1 || a.x + a.w > W + 1 || a.y + a.h > H + 1) {
      clipped.push(a.t + " at x=" + Math.round(a.x) + " y=" + Math.round(a.y) + " w=" + Math.round(a.w) + " h=" + Math.round(a.h) + " in " + W + "x" + H);
    }
    for (var j = i + 1; j < texts.length; j++) {
      var b = texts[j];
      var ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      var oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ox > 1 && oy > 1) { overlaps.push(a.t + " | " + b.t); }
    }
  }
  var outside = [], lines = 0;
  var grid = chart.getModel().getComponent("grid", 0).coordinateSystem.getRect();
  (chart.getOption().series || []).forEach(function (s) {
    if (s.markLine && s.markLine.data && s.markLine.data.length) {
      lines++;
      var v = s.markLine.data[0].yAxis, py = chart.convertToPixel({ yAxisIndex: 0 }, v);
      if (!(py >= grid.y - 1 && py <= grid.y + grid.height + 1)) { outside.push(s.name + " avg " + v + " at y=" + py); }
    }
  });
  return JSON.stringify({ texts: texts.map(function (t) { return t.t; }), overlaps: overlaps, clipped: clipped,
    outside: outside, lines: lines, height: H, width: W });
})()`

type layout struct {
	Texts    []string `json:"texts"`
	Overlaps []string `json:"overlaps"`
	Clipped  []string `json:"clipped"`
	Outside  []string `json:"outside"`
	Lines    int      `json:"lines"`
	Height   float64  `json:"height"`
	Width    float64  `json:"width"`
}

// TestChartsReadableOnPhoneAndDesktop draws every chart of the real GH
// Archive hour in headless Chromium at 390 px (a phone) and 1280 px wide:
// no two labels overlap, none is cut by the canvas' edge, every average
// line is inside the plot, and the repositories chart is as tall as its
// 100 rows.
func TestChartsReadableOnPhoneAndDesktop(t *testing.T) {
	browser := findChromium(t)
	t.Parallel()
	s := store.New(testdb.New(t))
	if _, err := importer.New(s, importer.Options{}).Run(context.Background(), []string{gharchiveHour}); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2015, 1, 1, 1, 0, 0, 0, time.UTC)
	// The coverage chart's hours: the day before, as a follower would have
	// recorded it (files of 7,000 to 9,300 events, 900 to 1,360 of them
	// seen before), and the hour imported (every event seen before GH
	// Archive: `ghevents import` stored them).
	for i := range 23 {
		h := clock.Add(-time.Duration(24-i) * time.Hour)
		if _, err := s.GHArchiveHourDone(context.Background(), "http://mirror/", h, int64(7000+100*i), int64(900+20*i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GHArchiveHourDone(context.Background(), "http://mirror/", clock.Add(-time.Hour), 7702, 7702); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return clock }, Version: "test"}))
	defer srv.Close()
	bctx := newBrowser(t, browser)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		name, path string
		want       func(t *testing.T, l layout)
	}{
		{"gaps-all-log", "/visualization/event-avg-time", nil},
		{"gaps-push-log", "/visualization/event-avg-time?event_type=PushEvent", func(t *testing.T, l layout) {
			if l.Lines != 1 || !contains(l.Texts, "avg 0.841 s") {
				t.Errorf("the PushEvent average (0.841 s) is not drawn and labelled: %d lines, texts %q", l.Lines, l.Texts)
			}
		}},
		{"gaps-pull-linear", "/visualization/event-avg-time?event_type=PullRequestEvent&scale=linear", nil},
		{"gaps-public-single", "/visualization/event-avg-time?event_type=PublicEvent", func(t *testing.T, l layout) {
			// One gap: the axis spans a couple of minutes, not days.
			for _, txt := range l.Texts {
				if strings.Contains(txt, "Jan") || strings.Contains(txt, "12-31") || strings.Contains(txt, "01-02") {
					t.Errorf("a single gap's axis reaches other days: label %q", txt)
				}
			}
		}},
		{"types", "/visualization/events-total-count?offset=7200", func(t *testing.T, l layout) {
			if !contains(l.Texts, "4,280") || !contains(l.Texts, "CommitCommentEvent") {
				t.Errorf("bar labels: want 4,280 (with its separator) and the whole CommitCommentEvent: %q", l.Texts)
			}
		}},
		{"coverage-day", "/visualization/coverage?offset=86400", func(t *testing.T, l layout) {
			if !contains(l.Texts, "seen before GH Archive") || !contains(l.Texts, "coverage (%)") {
				t.Errorf("coverage chart: want its legend and axis names: %q", l.Texts)
			}
		}},
		{"repos-100", "/visualization/multiple-events-repos?event_type=PushEvent&minimal_events_count=1", func(t *testing.T, l layout) {
			if l.Height != 100*22+60 {
				t.Errorf("100 repositories drawn %v px tall, want %d", l.Height, 100*22+60)
			}
		}},
		{"repos-trending-24h", "/visualization/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1&offset=86400", nil},
		{"timeline-minute-all", "/visualization/events-timeline?offset=3600&bucket=minute", func(t *testing.T, l layout) {
			if !contains(l.Texts, "PushEvent") || !contains(l.Texts, "bucket start (UTC)") {
				t.Errorf("the timeline's legend or UTC axis is missing: %q", l.Texts)
			}
		}},
		{"timeline-push-hour", "/visualization/events-timeline?offset=86400&event_type=PushEvent", nil},
		{"timeline-watch-cumulative", "/visualization/events-timeline?offset=3600&bucket=minute&event_type=WatchEvent&cumulative=true", func(t *testing.T, l layout) {
			if !contains(l.Texts, "events since the window's start") {
				t.Errorf("the y axis does not say it draws running totals: %q", l.Texts)
			}
		}},
	}
	for _, width := range []int64{390, 1280} {
		for _, p := range pages {
			t.Run(fmt.Sprintf("%s-%d", p.name, width), func(t *testing.T) {
				ctx, cancel := chromedp.NewContext(bctx)
				defer cancel()
				ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
				defer cancelTimeout()
				var res string
				var shot []byte
				err := chromedp.Run(ctx,
					emulation.SetDeviceMetricsOverride(width, 900, 1, width < 600),
					chromedp.Navigate(srv.URL+p.path),
					chromedp.WaitVisible(`html[data-chart-finished="true"]`, chromedp.ByQuery),
					chromedp.Evaluate(layoutCheck, &res),
					chromedp.FullScreenshot(&shot, 80),
				)
				if err != nil {
					t.Fatalf("%s at %d px: %v", p.path, width, err)
				}
				_ = os.WriteFile(filepath.Join(screenshotDir, fmt.Sprintf("readable-%s-%d.jpg", p.name, width)), shot, 0o644)
				var l layout
				if err := json.Unmarshal([]byte(res), &l); err != nil {
					t.Fatal(err)
				}
				if l.Width > float64(width) || len(l.Texts) < 5 {
					t.Fatalf("%s at %d px: chart %v px wide with %d texts", p.path, width, l.Width, len(l.Texts))
				}
				for _, o := range l.Overlaps {
					t.Errorf("%s at %d px: labels overlap: %s", p.path, width, o)
				}
				for _, c := range l.Clipped {
					t.Errorf("%s at %d px: label cut by the edge: %q", p.path, width, c)
				}
				for _, o := range l.Outside {
					t.Errorf("%s at %d px: average line outside the plot: %s", p.path, width, o)
				}
				if p.want != nil {
					p.want(t, l)
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCrossOriginFetchInChromium: a page served from another origin calls
// the API with fetch, as a web app would: with its origin in CORS_ORIGINS
// it reads the answer and the ETag, and its conditional request (which
// needs a preflight: If-None-Match is not a simple header) gets 304; an
// API that does not list the page's origin cannot be read.
func TestCrossOriginFetchInChromium(t *testing.T) {
	browser := findChromium(t)
	f := setup(t, handWorked)
	var pageOrigin string
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><body><pre id="out"></pre><script>
(async function () {
  const q = new URLSearchParams(location.search), out = {};
  const metric = "/metrics/event-avg-time?event_type=PushEvent";
  try {
    const r = await fetch(q.get("api") + metric);
    out.status = r.status; out.etag = r.headers.get("ETag"); out.body = await r.json();
    const r2 = await fetch(q.get("api") + metric, { headers: { "If-None-Match": out.etag } });
    out.conditional = r2.status;
  } catch (e) { out.error = String(e); }
  try { const r3 = await fetch(q.get("other") + metric); out.other = r3.status; } catch (e) { out.otherError = String(e); }
  document.getElementById("out").textContent = JSON.stringify(out);
  document.documentElement.setAttribute("data-done", "true");
})();
</script></body></html>`)
	}))
	defer page.Close()
	pageOrigin = page.URL
	allowed := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return now }, Version: "test", CORSOrigins: []string{pageOrigin}}))
	defer allowed.Close()
	other := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return now }, Version: "test", CORSOrigins: []string{"https://elsewhere.example"}}))
	defer other.Close()

	ctx, cancel := chromedp.NewContext(newBrowser(t, browser))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	defer cancelTimeout()
	var res string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(page.URL+"/?api="+allowed.URL+"&other="+other.URL),
		chromedp.WaitVisible(`html[data-done="true"]`, chromedp.ByQuery),
		chromedp.Text("#out", &res, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Status, Conditional int
		ETag                string
		Body                struct {
			EventsCount int `json:"events_count"`
		}
		Error, OtherError string
		Other             int
	}
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		t.Fatalf("%v: %s", err, res)
	}
	// handWorked holds 5 PushEvents.
	if out.Error != "" || out.Status != 200 || out.Body.EventsCount != 5 || !strings.HasPrefix(out.ETag, `W/"`) || out.Conditional != 304 {
		t.Errorf("from %s to the API listing it: %s", pageOrigin, res)
	}
	if out.Other != 0 || !strings.Contains(out.OtherError, "Failed to fetch") {
		t.Errorf("from %s to an API not listing it: %s; want the browser to refuse", pageOrigin, res)
	}
}
