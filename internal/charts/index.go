package charts

import (
	"bytes"
	"fmt"
	"html/template"
)

// IndexPage lists the charts, each with a form for its parameters.
var indexTemplate = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Charts · ghevents</title>
<link rel="stylesheet" href="/assets/charts.css">
</head>
<body>
<nav><strong>ghevents</strong> <a href="/visualization">All charts</a> <a href="/docs">API docs</a></nav>
<main>
<h1>Charts</h1>
<p class="subtitle">The same numbers as the JSON API, drawn. Pick the parameters and open a chart.</p>

<form class="chart-form" action="/visualization/event-avg-time" method="get">
<h2>Time between events</h2>
<p>Each event's gap to the previous one (dots) and the average over all events (dotted line).</p>
<label>Event type <select name="event_type"><option value="">every type</option>{{range .EventTypes}}<option>{{.}}</option>{{end}}</select></label>
<label>Repository <input name="repository_name" placeholder="owner/name" pattern="[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+"></label>
<label>Action <input name="action" placeholder="opened" pattern="[A-Za-z_]+"></label>
<label>Y axis <select name="scale"><option value="log">log</option><option value="linear">linear</option></select></label>
<button type="submit">Show</button>
</form>

<form class="chart-form" action="/visualization/events-total-count" method="get">
<h2>Events per type in a window</h2>
<label>Last <select name="offset"><option value="60">minute</option><option value="600">10 minutes</option><option value="3600" selected>hour</option><option value="86400">day</option><option value="604800">week</option><option value="2592000">30 days</option></select></label>
<label>Repository <input name="repository_name" placeholder="owner/name" pattern="[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+"></label>
<label>Action <input name="action" placeholder="opened" pattern="[A-Za-z_]+"></label>
<button type="submit">Show</button>
</form>

<form class="chart-form" action="/visualization/multiple-events-repos" method="get">
<h2>Repositories with the most events of a type</h2>
<label>Event type <select name="event_type">{{range .EventTypes}}<option{{if eq . "PushEvent"}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<label>More than <input name="minimal_events_count" type="number" min="1" value="2"> events</label>
<label>Top <input name="limit" type="number" min="1" max="10000" value="25"></label>
<button type="submit">Show</button>
</form>
</main>
</body>
</html>
`))

// Index renders the charts' index page.
func Index(eventTypes []string) ([]byte, error) {
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, struct{ EventTypes []string }{eventTypes}); err != nil {
		return nil, fmt.Errorf("render chart index: %w", err)
	}
	return buf.Bytes(), nil
}
