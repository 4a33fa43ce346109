package charts

import (
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// CoverageHour is one hour of the coverage chart.
type CoverageHour struct {
	Hour time.Time
	// Events are the stored events of the hour; Archive and SeenBefore the
	// GH Archive file's distinct events and those another source had first
	// (nil when the follower has not imported the hour).
	Events              int64
	Archive, SeenBefore *int64
}

// Series names of the coverage chart.
const (
	CoverageSeen     = "seen before GH Archive"
	CoverageOnly     = "only GH Archive had"
	CoverageStored   = "stored (hour not imported from GH Archive)"
	CoverageLineName = "coverage (%)"
)

// CoverageOption draws, per hour, stacked bars of the GH Archive file's
// events another source had seen first and of those only GH Archive had
// (for an hour not imported, the stored events alone), and the coverage
// (seen / archive, in percent) as a line on a second axis.
func CoverageOption(hours []CoverageHour) map[string]any {
	c := charts.NewBar()
	labels := make([]string, len(hours))
	seen := make([]opts.BarData, len(hours))
	only := make([]opts.BarData, len(hours))
	stored := make([]opts.BarData, len(hours))
	pct := make([]opts.LineData, len(hours))
	for i, h := range hours {
		labels[i] = h.Hour.UTC().Format("2006-01-02 15:04")
		if h.Archive != nil && h.SeenBefore != nil {
			seen[i] = opts.BarData{Value: *h.SeenBefore}
			only[i] = opts.BarData{Value: *h.Archive - *h.SeenBefore}
			stored[i] = opts.BarData{Value: nil}
			if *h.Archive > 0 {
				pct[i] = opts.LineData{Value: round(100*float64(*h.SeenBefore)/float64(*h.Archive), 1)}
			} else {
				pct[i] = opts.LineData{Value: nil}
			}
			continue
		}
		seen[i], only[i] = opts.BarData{Value: nil}, opts.BarData{Value: nil}
		stored[i] = opts.BarData{Value: h.Events}
		pct[i] = opts.LineData{Value: nil}
	}
	c.SetGlobalOptions(
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "5"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "hour (UTC)", NameLocation: "middle", NameGap: 30}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "events", NameLocation: "middle", NameGap: 55}),
		charts.WithGridOpts(opts.Grid{Top: "60", Left: "70", Right: "60", Bottom: "90"}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "slider", XAxisIndex: []int{0}}, opts.DataZoom{Type: "inside", XAxisIndex: []int{0}}),
		charts.WithAnimation(false),
	)
	c.ExtendYAxis(opts.YAxis{Type: "value", Name: "coverage (%)", NameLocation: "middle", NameGap: 40, Min: 0, Max: 100})
	c.SetXAxis(labels).
		AddSeries(CoverageSeen, seen, charts.WithBarChartOpts(opts.BarChart{Stack: "events"})).
		AddSeries(CoverageOnly, only, charts.WithBarChartOpts(opts.BarChart{Stack: "events"})).
		AddSeries(CoverageStored, stored, charts.WithBarChartOpts(opts.BarChart{Stack: "events"}))
	line := charts.NewLine()
	line.SetXAxis(labels).AddSeries(CoverageLineName, pct,
		charts.WithLineChartOpts(opts.LineChart{YAxisIndex: 1, ConnectNulls: opts.Bool(false)}))
	c.Overlap(line)
	return option(c)
}
