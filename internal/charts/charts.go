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

// EmptyNotice is shown on a chart with nothing to draw.
const EmptyNotice = "No events yet — run the poller or import an hour of GH Archive."

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
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · ghevents</title>
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
<div id="chart" class="chart" role="img" aria-label="{{.Title}}"></div>
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
func GapsOption(series []GapSeries, logScale bool) map[string]any {
	c := charts.NewScatter()
	yType := "value"
	if logScale {
		yType = "log"
	}
	c.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "5"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "time", Name: "event time (UTC)", NameLocation: "middle", NameGap: 30}),
		charts.WithYAxisOpts(opts.YAxis{Type: yType, Name: "seconds since the previous event", NameLocation: "middle", NameGap: 50}),
		charts.WithGridOpts(opts.Grid{Top: "50", Left: "70", Right: "40", Bottom: "90"}),
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
			ss.ConfigureSeriesOpts(
				charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{
					Name:  "average " + s.Name,
					YAxis: round(*s.AvgSeconds, 3),
				}),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
					Symbol:    []string{"none", "none"},
					LineStyle: &opts.LineStyle{Type: "dotted", Width: 2},
					Label:     &opts.Label{Show: opts.Bool(true), Formatter: "avg {c} s", Position: "insideEndTop"},
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

// BarsOption draws vertical bars (one per item, in the given order).
func BarsOption(seriesName, valueName string, items []CountItem) map[string]any {
	c := charts.NewBar()
	names := make([]string, len(items))
	values := make([]opts.BarData, len(items))
	for i, it := range items {
		names[i] = it.Name
		values[i] = opts.BarData{Value: it.Count}
	}
	c.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: &opts.AxisLabel{Rotate: 35, Interval: "0"}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: valueName}),
		charts.WithGridOpts(opts.Grid{Top: "40", Left: "70", Right: "40", Bottom: "150"}),
		charts.WithAnimation(false),
	)
	c.SetXAxis(names).AddSeries(seriesName, values, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "top"}))
	return option(c)
}

// HorizontalBarsOption draws horizontal bars, the first item at the top.
func HorizontalBarsOption(seriesName, valueName string, items []CountItem) map[string]any {
	c := charts.NewBar()
	// A category y axis lists bottom-up: reverse so the first item is on top.
	names := make([]string, len(items))
	values := make([]opts.BarData, len(items))
	for i, it := range items {
		names[len(items)-1-i] = it.Name
		values[len(items)-1-i] = opts.BarData{Value: it.Count}
	}
	c.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: valueName}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", AxisLabel: &opts.AxisLabel{Interval: "0"}}),
		charts.WithGridOpts(opts.Grid{Top: "30", Left: "20", Right: "60", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithAnimation(false),
	)
	c.SetXAxis(names).AddSeries(seriesName, values, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right"}))
	c.XYReversal()
	return option(c)
}

// AssetsHandler serves echarts.min.js (cacheable for a year: the version is
// in the path), charts.js and charts.css.
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
	for _, name := range []string{"charts.js", "charts.css"} {
		mux.Handle("GET /assets/"+name, http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=3600")
			ownFiles.ServeHTTP(w, r)
		})))
	}
	return mux
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

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
