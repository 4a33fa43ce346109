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
}

// pageParameters are the parameters each chart page takes, in the order
// its form shows them.
var pageParameters = map[string][]string{
	"/visualization/event-avg-time":        {"event_type", "repository_name", "action", "scale"},
	"/visualization/events-total-count":    {"offset", "repository_name", "action"},
	"/visualization/multiple-events-repos": {"event_type", "minimal_events_count", "limit"},
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
	switch r.URL.Path {
	case "/visualization/event-avg-time":
		return charts.AvgTimeForm(model.EventTypes, q)
	case "/visualization/events-total-count":
		span, err := s.storedSpan(r.Context())
		var oldest string
		if err == nil && span.Oldest != nil {
			oldest = span.Oldest.Format("2006-01-02 15:04 UTC")
		}
		return charts.TotalCountForm(s.everything(span), oldest, q)
	case "/visualization/coverage":
		return charts.CoverageForm(q)
	default:
		return charts.ReposForm(model.EventTypes, q)
	}
}
