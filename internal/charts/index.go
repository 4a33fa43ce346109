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

// TotalCountForm is the form of /visualization/events-total-count, filled
// with q. everything, when above 0, adds the window that holds every
// stored event (since the oldest, oldestLabel).
func TotalCountForm(everything int64, oldestLabel string, q url.Values) Form {
	windows := slices.Clone(defaultWindows)
	if everything > 0 {
		windows = append(windows, Window{everything, "everything stored (since " + oldestLabel + ")"})
	}
	values := make([]string, len(windows))
	labels := make([]string, len(windows))
	for i, w := range windows {
		values[i], labels[i] = strconv.FormatInt(w.Seconds, 10), w.Label
	}
	return Form{
		Action: "/visualization/events-total-count", ID: "form-events-total-count",
		Title: "Events per type in a window",
		Fields: []Field{
			{Label: "Last", Name: "offset", Options: options(values, labels, get(q, "offset", "3600"))},
			{Label: "Repository", Name: "repository_name", Type: "text", Placeholder: "owner/name", Value: get(q, "repository_name", "")},
			{Label: "Action", Name: "action", Type: "text", Placeholder: "opened", Value: get(q, "action", "")},
		},
	}
}

// ReposForm is the form of /visualization/multiple-events-repos, filled
// with q.
func ReposForm(eventTypes []string, q url.Values) Form {
	return Form{
		Action: "/visualization/multiple-events-repos", ID: "form-multiple-events-repos",
		Title: "Repositories with the most events of a type",
		Fields: []Field{
			{Label: "Event type", Name: "event_type", Options: options(eventTypes, eventTypes, get(q, "event_type", "PushEvent"))},
			{Label: "More than", Name: "minimal_events_count", Type: "number", Min: "1", Value: get(q, "minimal_events_count", "2"), After: "events"},
			{Label: "Top", Name: "limit", Type: "number", Min: "1", Max: "10000", Value: get(q, "limit", "100")},
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
{{range .Forms}}{{template "form" .}}{{end}}</main>
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

// Index renders the charts' index page: a form per chart. subtitle says
// what is stored.
func Index(subtitle string, forms []Form) ([]byte, error) {
	var buf bytes.Buffer
	err := indexTemplate.Execute(&buf, struct {
		Title, Subtitle string
		Forms           []Form
	}{"Charts", subtitle, forms})
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
