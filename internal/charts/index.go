package charts

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
)

// Form is the form of one chart's parameters: on the index, and on the
// page that says which parameters were wrong, filled with what was asked.
type Form struct {
	// Action is the chart's path; ID names the form in the page.
	Action, ID  string
	Title, Help string
	Fields      []Field
}

// Field is one parameter of a form: a select when it has Options, else
// an input of Type (text or number).
type Field struct {
	Label, Name, Value string
	Type               string
	Options            []Option
	Placeholder        string
	Min, Max           string
	// After is a word written after the field ("events").
	After string
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Window is a choice of the window of the events-total-count form.
type Window struct {
	Seconds int64
	Label   string
}

// DefaultWindows are the windows the events-total-count form offers, with
// the last hour chosen.
var defaultWindows = []Window{
	{60, "minute"}, {600, "10 minutes"}, {3600, "hour"}, {86400, "day"}, {604800, "week"}, {2592000, "30 days"},
}

// options makes a select's choices, with value chosen; a value that is
// none of them (as a wrong one may be) is added, so the form shows what
// was asked.
func options(values, labels []string, value string) []Option {
	out := make([]Option, len(values))
	found := false
	for i, v := range values {
		out[i] = Option{Value: v, Label: labels[i], Selected: v == value}
		found = found || v == value
	}
	if !found && value != "" {
		out = append(out, Option{Value: value, Label: value + " (as asked)", Selected: true})
	}
	return out
}

func get(q url.Values, key, def string) string {
	if v, ok := q[key]; ok && len(v) > 0 {
		return v[0]
	}
	return def
}

// AvgTimeForm is the form of /visualization/event-avg-time, filled with q.
func AvgTimeForm(eventTypes []string, q url.Values) Form {
	return Form{
		Action: "/visualization/event-avg-time", ID: "form-event-avg-time",
		Title: "Time between events",
		Help:  "Each event's gap to the previous one (dots) and the average over all events (dotted line).",
		Fields: []Field{
			{Label: "Event type", Name: "event_type", Options: options(append([]string{""}, eventTypes...),
				append([]string{"every type"}, eventTypes...), get(q, "event_type", ""))},
			{Label: "Repository", Name: "repository_name", Type: "text", Placeholder: "owner/name", Value: get(q, "repository_name", "")},
			{Label: "Action", Name: "action", Type: "text", Placeholder: "opened", Value: get(q, "action", "")},
			{Label: "Y axis", Name: "scale", Options: options([]string{"log", "linear"}, []string{"log", "linear"}, get(q, "scale", "log"))},
		},
	}
}

// Stored is what the forms offer from what the store holds.
type Stored struct {
	// Everything is a window (offset, in seconds) ending now that holds
	// every stored event, 0 when none is stored; OldestLabel says when the
	// oldest was created.
	Everything  int64
	OldestLabel string
	// NewestHourEnd is the end of the UTC hour of the newest stored event
	// (RFC 3339), "" when none is stored: a window ending there ends with
	// the stored history (an import of the past, say). Range is the
	// window (offset) from the start of the oldest stored event's hour to
	// it: the whole stored range.
	NewestHourEnd, NewestLabel string
	Range                      int64
}

// windowField is the "Last" select: the default windows, the whole
// stored range (with the until of the newest stored event) and everything
// stored (from now), with value def chosen unless q says otherwise.
func windowField(st Stored, q url.Values, def string) Field {
	windows := slices.Clone(defaultWindows)
	// A window the list has already is not offered twice (both would be
	// chosen).
	add := func(w Window) {
		if w.Seconds > 0 && !slices.ContainsFunc(windows, func(x Window) bool { return x.Seconds == w.Seconds }) {
			windows = append(windows, w)
		}
	}
	add(Window{st.Range, "the whole stored range (" + st.OldestLabel + " to " + st.NewestLabel + "; end: its newest hour)"})
	add(Window{st.Everything, "everything stored (since " + st.OldestLabel + ")"})
	values := make([]string, len(windows))
	labels := make([]string, len(windows))
	for i, w := range windows {
		values[i], labels[i] = strconv.FormatInt(w.Seconds, 10), w.Label
	}
	return Field{Label: "Last", Name: "offset", Options: options(values, labels, get(q, "offset", def))}
}

// untilField is the "Ending" select: now, or the hour of the newest
// stored event.
func untilField(st Stored, q url.Values) Field {
	values, labels := []string{""}, []string{"now"}
	if st.NewestHourEnd != "" {
		values = append(values, st.NewestHourEnd)
		labels = append(labels, "the hour of the newest stored event ("+st.NewestLabel+")")
	}
	return Field{Label: "Ending", Name: "until", Options: options(values, labels, get(q, "until", ""))}
}

// TotalCountForm is the form of /visualization/events-total-count, filled
// with q.
func TotalCountForm(st Stored, q url.Values) Form {
	return Form{
		Action: "/visualization/events-total-count", ID: "form-events-total-count",
		Title: "Events per type in a window",
		Fields: []Field{
			windowField(st, q, "3600"),
			untilField(st, q),
			{Label: "Repository", Name: "repository_name", Type: "text", Placeholder: "owner/name", Value: get(q, "repository_name", "")},
			{Label: "Action", Name: "action", Type: "text", Placeholder: "opened", Value: get(q, "action", "")},
		},
	}
}

// TimelineForm is the form of /visualization/events-timeline, filled with q.
func TimelineForm(eventTypes []string, st Stored, q url.Values) Form {
	return Form{
		Action: "/visualization/events-timeline", ID: "form-events-timeline",
		Title: "Events over time",
		Help: "Events per minute, hour or day (UTC), a line per type. With WatchEvent, a repository and running totals: " +
			"its star history, as far as the store holds its events. At most 2,000 buckets: a minute bucket for up to 33 hours, an hour for up to 83 days.",
		Fields: []Field{
			windowField(st, q, "86400"),
			untilField(st, q),
			{Label: "Buckets of a", Name: "bucket", Options: options([]string{"minute", "hour", "day"}, []string{"minute", "hour", "day"}, get(q, "bucket", "hour"))},
			{Label: "Event type", Name: "event_type", Options: options(append([]string{""}, eventTypes...),
				append([]string{"every type"}, eventTypes...), get(q, "event_type", ""))},
			{Label: "Repository", Name: "repository_name", Type: "text", Placeholder: "owner/name", Value: get(q, "repository_name", "")},
			{Label: "Action", Name: "action", Type: "text", Placeholder: "opened", Value: get(q, "action", "")},
			{Label: "Draw", Name: "cumulative", Options: options([]string{"false", "true"}, []string{"events per bucket", "running totals"}, get(q, "cumulative", "false"))},
		},
	}
}

// trendingWindows are the windows the repositories form offers beside
// every stored event.
var trendingWindows = []Window{{86400, "trending: the last 24 h"}, {604800, "trending: the last 7 days"}, {2592000, "the last 30 days"}}

// ReposForm is the form of /visualization/multiple-events-repos, filled
// with q.
func ReposForm(eventTypes []string, st Stored, q url.Values) Form {
	values, labels := []string{""}, []string{"every stored event"}
	for _, w := range trendingWindows {
		values, labels = append(values, strconv.FormatInt(w.Seconds, 10)), append(labels, w.Label)
	}
	return Form{
		Action: "/visualization/multiple-events-repos", ID: "form-multiple-events-repos",
		Title: "Repositories with the most events of a type",
		Help:  "Trending: the repositories with the most WatchEvents (stars) or PushEvents of the last day or week.",
		Fields: []Field{
			{Label: "Event type", Name: "event_type", Options: options(eventTypes, eventTypes, get(q, "event_type", "PushEvent"))},
			{Label: "More than", Name: "minimal_events_count", Type: "number", Min: "1", Value: get(q, "minimal_events_count", "2"), After: "events"},
			{Label: "Top", Name: "limit", Type: "number", Min: "1", Max: "10000", Value: get(q, "limit", "100")},
			{Label: "Counting", Name: "offset", Options: options(values, labels, get(q, "offset", ""))},
			untilField(st, q),
		},
	}
}

// CoverageForm is the form of /visualization/coverage, filled with q.
func CoverageForm(q url.Values) Form {
	windows := []Window{{86400, "day"}, {604800, "week"}, {2592000, "30 days"}, {7776000, "90 days"}}
	values := make([]string, len(windows))
	labels := make([]string, len(windows))
	for i, w := range windows {
		values[i], labels[i] = strconv.FormatInt(w.Seconds, 10), w.Label
	}
	return Form{
		Action: "/visualization/coverage", ID: "form-coverage",
		Title: "How complete each hour is",
		Help:  "Per hour, the GH Archive events ghevents had already seen and those only GH Archive had, and the coverage.",
		Fields: []Field{
			{Label: "Last", Name: "offset", Options: options(values, labels, get(q, "offset", "86400"))},
		},
	}
}

const pageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · ghevents</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/assets/charts.css">
</head>
<body>
<nav><strong>ghevents</strong> <a href="/visualization">All charts</a> <a href="/docs">API docs</a></nav>
<main>
`

var formsTemplate = template.Must(template.New("forms").Parse(`{{define "form"}}<form class="chart-form" id="{{.ID}}" action="{{.Action}}" method="get">
<h2>{{.Title}}</h2>
{{if .Help}}<p>{{.Help}}</p>
{{end}}{{range .Fields}}<label>{{.Label}} {{if .Options}}<select name="{{.Name}}">{{range .Options}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>{{else}}<input name="{{.Name}}" type="{{.Type}}" value="{{.Value}}"{{if .Placeholder}} placeholder="{{.Placeholder}}"{{end}}{{if .Min}} min="{{.Min}}"{{end}}{{if .Max}} max="{{.Max}}"{{end}}>{{end}}{{if .After}} {{.After}}{{end}}</label>
{{end}}<button type="submit">Show</button>
</form>
{{end}}`))

var indexTemplate = template.Must(template.Must(formsTemplate.Clone()).New("index").Parse(pageHead + `<h1>Charts</h1>
<p class="subtitle">{{.Subtitle}}</p>
{{if .Shortcuts}}<ul class="shortcuts" id="shortcuts">{{range .Shortcuts}}<li><a href="{{.URL}}">{{.Text}}</a></li>{{end}}</ul>
{{end}}{{range .Forms}}{{template "form" .}}{{end}}</main>
</body>
</html>
`))

var problemTemplate = template.Must(template.Must(formsTemplate.Clone()).New("problem").Parse(pageHead + `<h1>{{.Title}}</h1>
<div class="problem" id="problem" role="alert">
<p>{{.Lead}}</p>
{{if .Problems}}<ul>{{range .Problems}}
<li>{{.}}</li>{{end}}
</ul>{{end}}
</div>
{{with .Form}}{{template "form" .}}{{end}}</main>
</body>
</html>
`))

// Index renders the charts' index page: links to a few charts worth
// opening first (trending repositories, the whole stored range), then a
// form per chart. subtitle says what is stored.
func Index(subtitle string, shortcuts []Link, forms []Form) ([]byte, error) {
	var buf bytes.Buffer
	err := indexTemplate.Execute(&buf, struct {
		Title, Subtitle string
		Shortcuts       []Link
		Forms           []Form
	}{"Charts", subtitle, shortcuts, forms})
	if err != nil {
		return nil, fmt.Errorf("render chart index: %w", err)
	}
	return buf.Bytes(), nil
}

// ProblemPage is a page saying what was wrong with a request for a page:
// one line per bad parameter, and the form filled with what was asked.
type ProblemPage struct {
	Title, Lead string
	Problems    []string
	// Form is the chart's form, or nil (an unknown page).
	Form *Form
}

// RenderProblem writes the problem page's HTML.
func RenderProblem(p ProblemPage) ([]byte, error) {
	var buf bytes.Buffer
	if err := problemTemplate.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render problem page %q: %w", p.Title, err)
	}
	return buf.Bytes(), nil
}
