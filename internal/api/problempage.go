package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ghevents/ghevents/internal/charts"
	"github.com/ghevents/ghevents/internal/model"
)

// parameterRules say, for people, what each query parameter of the pages
// must be; they are the rules of the OpenAPI document in words.
var parameterRules = map[string]string{
	"offset":               "must be a whole number of seconds, at least 1 (at most 3153600000, a hundred years)",
	"event_type":           "must be one of GitHub's event types, such as PushEvent or WatchEvent (the form lists them)",
	"minimal_events_count": "must be a whole number, at least 1",
	"limit":                "must be a whole number from 1 to 10000",
	"repository_name":      "must be at most 2,704 characters of valid UTF-8, without NUL characters",
	"action":               "must be letters and underscores only (such as opened or ready_for_review), at most 64",
	"scale":                "must be log or linear",
	"bucket":               "must be minute, hour or day",
	"until":                "must be a time in RFC 3339 (such as 2015-01-01T01:00:00Z), from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
	"cumulative":           "must be true or false",
}

// pageParameters are the parameters each chart page takes, in the order
// its form shows them.
var pageParameters = map[string][]string{
	"/visualization/event-avg-time":        {"event_type", "repository_name", "action", "scale"},
	"/visualization/events-total-count":    {"offset", "until", "repository_name", "action"},
	"/visualization/multiple-events-repos": {"event_type", "minimal_events_count", "limit", "offset", "until"},
	"/visualization/events-timeline":       {"offset", "until", "bucket", "event_type", "repository_name", "action", "cumulative"},
	"/visualization":                       {},
}

// problemPage is the page for a chart page's problem: one line per bad
// parameter in words and the chart's form, filled with what was asked.
func (s *Server) problemPage(r *http.Request, status int, problem *huma.ErrorModel, answer http.Header) ([]byte, error) {
	params, known := pageParameters[r.URL.Path]
	p := charts.ProblemPage{Title: http.StatusText(status), Lead: problem.Detail}
	switch {
	case status == http.StatusNotFound:
		p.Title, p.Lead = "No such page", "There is no page at "+r.URL.Path+"."
		p.Problems = []string{"the charts are listed at /visualization, the API at /docs"}
	case status == http.StatusUnprocessableEntity && known:
		p.Title = "Check the parameters"
		p.Lead = "This chart cannot be drawn with these parameters:"
		for _, d := range problem.Errors {
			p.Problems = append(p.Problems, parameterProblem(d, params))
		}
		if r.URL.Path != "/visualization" {
			form := s.pageForm(r)
			p.Form = &form
		}
	case status == http.StatusTooManyRequests:
		p.Title = "Too many requests"
		if ra := answer.Get("Retry-After"); ra != "" {
			p.Problems = []string{"retry in " + ra + " s"}
		}
	case status == http.StatusServiceUnavailable:
		p.Title = "Try again shortly"
	}
	if len(p.Problems) == 0 && p.Lead == "" {
		p.Lead = strings.ToLower(http.StatusText(status))
	}
	return charts.RenderProblem(p)
}

// parameterProblem says in words what is wrong with one parameter:
// "offset: must be a whole number of seconds, at least 1".
func parameterProblem(d *huma.ErrorDetail, params []string) string {
	name := strings.TrimPrefix(d.Location, "query.")
	rule, ok := parameterRules[name]
	switch {
	case !slices.Contains(params, name):
		takes := "no parameter"
		if len(params) > 0 {
			takes = strings.Join(params, ", ")
		}
		return fmt.Sprintf("%s: is not a parameter of this page (it takes %s)", name, takes)
	case strings.Contains(d.Message, " buckets of a"), strings.HasPrefix(d.Message, "until ends"):
		return name + ": " + d.Message
	case strings.HasPrefix(d.Message, "given "):
		return name + ": " + strings.Replace(d.Message, "given", "is given", 1)
	case strings.Contains(d.Message, "required"):
		return name + ": is missing; it " + rule
	case ok:
		return name + ": " + rule
	default:
		return name + ": " + d.Message
	}
}

// pageForm is the form of the page r asked for, filled with its query.
func (s *Server) pageForm(r *http.Request) charts.Form {
	q := r.URL.Query()
	if r.URL.Path == "/visualization/event-avg-time" {
		return charts.AvgTimeForm(model.EventTypes, q)
	}
	span, _ := s.storedSpan(r.Context()) // without it, the forms offer less
	st := s.stored(span)
	switch r.URL.Path {
	case "/visualization/events-total-count":
		return charts.TotalCountForm(st, q)
	case "/visualization/events-timeline":
		return charts.TimelineForm(model.EventTypes, st, q)
	case "/visualization/coverage":
		return charts.CoverageForm(q)
	default:
		return charts.ReposForm(model.EventTypes, st, q)
	}
}
