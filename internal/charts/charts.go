// Package charts turns metric series into HTML pages with go-echarts. It
// knows nothing of the database: the API hands it the numbers its JSON
// operations compute.
//
// A page embeds its echarts option as JSON in a <script type="application/json">
// block (escaped by html/template, so no text from the data can close the
// script), and our own charts.js, served from the binary like echarts itself,
// draws it: pages run no inline script, and their Content-Security-Policy
// allows only our own.
package charts

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"
)

// EchartsVersion is the vendored echarts (scripts/vendor-assets.sh).
const EchartsVersion = "5.6.0"

// EchartsPath is where echarts.min.js is served; the version in the path
// lets browsers cache it for a year.
const EchartsPath = "/assets/echarts/" + EchartsVersion + "/echarts.min.js"

//go:embed assets
var assets embed.FS

// EmptyStoreNotice is shown on a chart when nothing at all is stored.
const EmptyStoreNotice = "No events are stored yet: the poller adds the newest as it polls GitHub, " +
	"and `ghevents import` loads history from GH Archive (an hour of it is enough to start)."

// FaviconPath is where the icon of every page is served.
const FaviconPath = "/favicon.ico"

// RowHeight is the height in pixels of one bar of a horizontal bar chart;
// MaxBars is the most bars one chart draws, whose height (about 6,600 px)
// a browser still draws on a high-density screen.
const (
	RowHeight = 22
	MaxBars   = 300
)

// Link is a link shown under a chart.
type Link struct {
	Text, URL string
}

// Page is one chart page.
type Page struct {
	// Title is the page's <title> and heading.
	Title string
	// Subtitle says what is drawn (window, how many points of how many).
	Subtitle string
	// Notice, when set, is shown prominently (e.g. EmptyNotice).
	Notice string
	// Links go under the chart (the JSON of the same numbers, other views).
	Links []Link
	// Option is the echarts option, from one of the *Option functions (the
	// title and subtitle are the page's, in HTML, not drawn on the canvas).
	Option map[string]any
	// Height is the chart's height in pixels (0: the style sheet's, for
	// charts whose height does not depend on their data).
	Height int
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · ghevents</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/assets/charts.css">
<script src="{{.EchartsPath}}" defer></script>
<script src="/assets/charts.js" defer></script>
</head>
<body>
<nav><strong>ghevents</strong> <a href="/visualization">All charts</a> <a href="/docs">API docs</a></nav>
<main>
<h1>{{.Title}}</h1>
<p class="subtitle">{{.Subtitle}}</p>
{{if .Notice}}<p class="notice" id="notice">{{.Notice}}</p>{{end}}
<div id="chart" class="chart" role="img" aria-label="{{.Title}}"{{if .Height}} style="height: {{.Height}}px"{{end}}></div>
{{if .Links}}<p class="links">{{range .Links}}<a href="{{.URL}}">{{.Text}}</a> {{end}}</p>{{end}}
</main>
<script type="application/json" id="chart-option">{{.Option}}</script>
</body>
</html>
`))

// Render writes the page's HTML.
func Render(p Page) ([]byte, error) {
	var buf bytes.Buffer
	err := pageTemplate.Execute(&buf, struct {
		Page
		EchartsPath string
	}{p, EchartsPath})
	if err != nil {
		return nil, fmt.Errorf("render chart page %q: %w", p.Title, err)
	}
	return buf.Bytes(), nil
}

// option extracts the echarts option map from a go-echarts chart.
func option(c interface {
	Validate()
	JSON() map[string]any
}) map[string]any {
	c.Validate()
	return c.JSON()
}

// GapSeries is one event type's gaps between adjacent events.
type GapSeries struct {
	// Name labels the series (the event type).
	Name string
	// Times and Seconds are the drawn gaps: the event's time and the seconds
	// since the previous one, oldest first.
	Times   []time.Time
	Seconds []float64
	// Events is how many events match in all (the drawn gaps may be fewer).
	Events int64
	// AvgSeconds is the average over all matching events; nil under two.
	AvgSeconds *float64
}

// GapsOption draws each series' gaps as dots (x: time, y: seconds) with
// its average as a dotted line labelled with its value. On a log axis, gaps
// of zero seconds (ties) cannot be drawn and are left out.
//
// The axes cover every dot and every average line: on a log axis an
// average below the smallest gap still shows (the axis starts at the power
// of ten below it), and an average of 0 s, which a log axis cannot show,
// is drawn at the axis' foot, labelled with its value. Dots within a
// minute get a minute either side (echarts would spread them over days).
func GapsOption(series []GapSeries, logScale bool) map[string]any {
	c := charts.NewScatter()
	yAxis := opts.YAxis{Type: "value", Name: "seconds since the previous event", NameLocation: "middle", NameGap: 50}
	// Lowest and highest value drawn (positive ones on a log axis), the
	// highest gap and average, and the time span in ms.
	var lo, hi, maxGap, maxAvg, first, last float64
	seen := false
	for _, s := range series {
		values := slices.Clone(s.Seconds)
		if s.AvgSeconds != nil {
			values = append(values, *s.AvgSeconds)
			maxAvg = max(maxAvg, *s.AvgSeconds)
		}
		for _, v := range values {
			if logScale && v <= 0 {
				continue
			}
			if !seen || v < lo {
				lo = v
			}
			hi, seen = max(hi, v), true
		}
		for i, t := range s.Times {
			ms := float64(t.UnixMilli())
			if first == 0 || ms < first {
				first = ms
			}
			last = max(last, ms)
			maxGap = max(maxGap, s.Seconds[i])
		}
	}
	switch {
	case logScale && seen:
		yAxis.Type = "log"
		yAxis.Min = math.Pow(10, math.Floor(math.Log10(lo)))
		yAxis.Max = max(math.Pow(10, math.Ceil(math.Log10(hi))), yAxis.Min.(float64)*10)
	case logScale:
		yAxis.Type, yAxis.Min, yAxis.Max = "log", 0.1, 10.0 // nothing positive to draw: an axis still
	case maxAvg > maxGap:
		// The drawn gaps are the newest; the average is over all events and
		// may be above them all.
		yAxis.Max = niceCeil(maxAvg)
	}
	xAxis := opts.XAxis{Type: "time", Name: "event time (UTC)", NameLocation: "middle", NameGap: 30}
	if first > 0 && last-first < 60_000 {
		// A dot or a few within a minute: echarts would spread them over
		// days; a minute either side shows them as what they are.
		xAxis.Min, xAxis.Max = first-60_000, last+60_000
	}
	c.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "5"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(xAxis),
		charts.WithYAxisOpts(yAxis),
		charts.WithGridOpts(opts.Grid{Top: "50", Left: "70", Right: "30", Bottom: "90"}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", XAxisIndex: []int{0}}, opts.DataZoom{Type: "inside", XAxisIndex: []int{0}}),
		charts.WithAnimation(false),
	)
	for _, s := range series {
		points := make([][2]float64, 0, len(s.Seconds))
		for i, sec := range s.Seconds {
			if logScale && sec <= 0 {
				continue
			}
			points = append(points, [2]float64{float64(s.Times[i].UnixMilli()), sec})
		}
		ss := charts.SingleSeries{Name: s.Name, Type: types.ChartScatter, Data: points}
		ss.ConfigureSeriesOpts(charts.WithScatterChartOpts(opts.ScatterChart{SymbolSize: 5}))
		if s.AvgSeconds != nil {
			avg, label := round(*s.AvgSeconds, 3), "avg {c} s"
			if logScale && avg <= 0 {
				avg, label = yAxis.Min.(float64), "avg 0 s (drawn at the axis' foot)"
			}
			ss.ConfigureSeriesOpts(
				charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{
					Name:  "average " + s.Name,
					YAxis: avg,
				}),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
					Symbol:    []string{"none", "none"},
					LineStyle: &opts.LineStyle{Type: "dotted", Width: 2},
					Label:     &opts.Label{Show: opts.Bool(true), Formatter: label, Position: "insideEndTop"},
				}),
			)
		}
		c.MultiSeries = append(c.MultiSeries, ss)
	}
	return option(c)
}

// CountItem is one bar.
type CountItem struct {
	Name  string
	Count int64
}

// SortCounts orders bars by count (descending), then name.
func SortCounts(items []CountItem) {
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].Count != items[j].Count {
			return items[i].Count > items[j].Count
		}
		return items[i].Name < items[j].Name
	})
}

// HorizontalBarsOption draws horizontal bars, the first item at the top,
// at most MaxBars of them (BarsHeight is the height they need). Long names
// are cut to the room there is (charts.js fits them to the chart's width)
// and shown whole in the tooltip; values are written beside the bars.
func HorizontalBarsOption(seriesName, valueName string, items []CountItem) map[string]any {
	c := charts.NewBar()
	items = items[:min(len(items), MaxBars)]
	// A category y axis lists bottom-up: reverse so the first item is on top.
	names := make([]string, len(items))
	values := make([]opts.BarData, len(items))
	for i, it := range items {
		names[len(items)-1-i] = it.Name
		values[len(items)-1-i] = opts.BarData{Value: it.Count}
	}
	c.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}), // one series: the title says what it is
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: valueName, NameLocation: "middle", NameGap: 25}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", AxisLabel: &opts.AxisLabel{Interval: "0"}}),
		// containLabel leaves a label cut to its width a few pixels short: room on the left.
		charts.WithGridOpts(opts.Grid{Top: "10", Left: "40", Right: "60", Bottom: "45", ContainLabel: opts.Bool(true)}),
		charts.WithAnimation(false),
	)
	c.SetXAxis(names).AddSeries(seriesName, values, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right"}))
	c.XYReversal()
	return option(c)
}

// BarsHeight is the height in pixels of a horizontal bar chart of n bars:
// RowHeight a bar (at most MaxBars), the axis below, and at least room for
// a notice.
func BarsHeight(n int) int {
	return max(min(n, MaxBars)*RowHeight+60, 200)
}

// AssetsHandler serves echarts.min.js (cacheable for a year: the version is
// in the path), charts.js, charts.css and the favicon.
func AssetsHandler() http.Handler {
	mux := http.NewServeMux()
	echartsDir, err := fs.Sub(assets, "assets/echarts")
	if err != nil {
		panic(err) // a constant path into our own embed
	}
	prefix := "/assets/echarts/" + EchartsVersion + "/"
	files := http.FileServerFS(echartsDir)
	mux.Handle("GET "+prefix+"{file}", http.StripPrefix(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})))
	own, err := fs.Sub(assets, "assets/own")
	if err != nil {
		panic(err)
	}
	ownFiles := http.FileServerFS(own)
	mux.Handle("GET "+FaviconPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeFileFS(w, r, own, "favicon.ico")
	}))
	for _, name := range []string{"charts.js", "charts.css"} {
		mux.Handle("GET /assets/"+name, http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=3600")
			ownFiles.ServeHTTP(w, r)
		})))
	}
	return mux
}

// Plural is n and the noun, in the plural unless n is 1: "1 gap", "2,000 gaps".
func Plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey") {
		return Thousands(n) + " " + strings.TrimSuffix(noun, "y") + "ies"
	}
	return Thousands(n) + " " + noun + "s"
}

// Thousands formats n with thousands separators: 1234567 -> "1,234,567".
func Thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// niceCeil is the least of 1, 2, 2.5, 5 times a power of ten at or above x
// (x > 0): an axis' top that reads well.
func niceCeil(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// TimelineSeries is one event type's counts, bucket by bucket.
type TimelineSeries struct {
	// Name labels the series (the event type).
	Name string
	// Counts are the bucket's counts (or running totals), one per start.
	Counts []int64
}

// TimelineOption draws counts per bucket on a UTC time axis: one line per
// series, stacked areas when stacked (every type: the top edge is the
// total), a tooltip per bucket listing each series and the total. starts
// are the buckets' starts, oldest first; every series has one count per
// start. The caller bounds the buckets (at most CHART_MAX_POINTS).
func TimelineOption(starts []time.Time, series []TimelineSeries, stacked bool, valueName string) map[string]any {
	c := charts.NewLine()
	xAxis := opts.XAxis{Type: "time", Name: "bucket start (UTC)", NameLocation: "middle", NameGap: 30}
	if len(starts) == 1 {
		// One bucket: echarts would spread a lone point over days.
		ms := float64(starts[0].UnixMilli())
		xAxis.Min, xAxis.Max = ms-3_600_000, ms+3_600_000
	}
	c.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(series) > 1), Type: "scroll", Top: "5"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(xAxis),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: valueName, NameLocation: "middle", NameGap: 55, Min: 0}),
		charts.WithGridOpts(opts.Grid{Top: "50", Left: "70", Right: "30", Bottom: "90"}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", XAxisIndex: []int{0}}, opts.DataZoom{Type: "inside", XAxisIndex: []int{0}}),
		charts.WithAnimation(false),
	)
	for _, s := range series {
		points := make([][2]int64, len(starts))
		for i, t := range starts {
			points[i] = [2]int64{t.UnixMilli(), s.Counts[i]}
		}
		ss := charts.SingleSeries{Name: s.Name, Type: types.ChartLine, Data: points, ShowSymbol: opts.Bool(len(starts) <= 60)}
		if stacked {
			ss.Stack = "total"
			ss.ConfigureSeriesOpts(charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.55)}))
		}
		c.MultiSeries = append(c.MultiSeries, ss)
	}
	o := option(c)
	// The time axis and the tooltip in UTC, as the buckets are: echarts
	// would write the browser's local time.
	o["useUTC"] = true
	return o
}
