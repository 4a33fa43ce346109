package api

import (
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
)

// Problems the server sends, as the examples of the document's error
// answers: each is exactly what the request in its summary gets (a test
// sends each and compares).
var (
	problem429 = map[string]any{"type": "about:blank", "title": "Too Many Requests", "status": 429,
		"detail": "more than 20 requests a second (burst 40) from this client (HTTP_RATE_LIMIT); retry after the time in Retry-After"}
	problem500 = map[string]any{"type": "about:blank", "title": "Internal Server Error", "status": 500,
		"detail": "internal error; it has been logged"}
	problem503 = map[string]any{"type": "about:blank", "title": "Service Unavailable", "status": 503,
		"detail": "the database is unavailable; try again shortly"}
)

// Problem422Examples are, per metric path, a request with a bad parameter
// and the problem it gets.
var Problem422Examples = map[string]struct {
	Query   string
	Problem map[string]any
}{
	"/metrics/event-avg-time": {"event_type=PushEvent&action=opened!", map[string]any{
		"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
		"errors": []any{map[string]any{"message": "expected string to match pattern ^[A-Za-z_]+$", "location": "query.action", "value": "opened!"}},
	}},
	"/metrics/events-total-count": {"offset=0", map[string]any{
		"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
		"errors": []any{map[string]any{"message": "expected number >= 1", "location": "query.offset", "value": 0}},
	}},
	"/metrics/events-timeline": {"offset=604800&bucket=minute", map[string]any{
		"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
		"errors": []any{map[string]any{"message": "offset 604800 is more than 2000 buckets of a minute: with bucket=minute, offset is at most 120000", "location": "query.offset", "value": 604800}},
	}},
	"/metrics/coverage": {"offset=0", map[string]any{
		"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
		"errors": []any{map[string]any{"message": "expected number >= 1", "location": "query.offset", "value": 0}},
	}},
	"/metrics/multiple-events-repos": {"event_type=WatchEvent&limit=20000", map[string]any{
		"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
		"errors": []any{map[string]any{"message": "expected number <= 10000", "location": "query.limit", "value": 20000}},
	}},
}

// describeErrors makes the document's error answers say what the server
// sends: an example of each (Huma's own shows a 400 "Property foo is
// required" for every status), and a problem schema with our examples and
// without the field the server never sends (instance).
func describeErrors(doc *huma.OpenAPI) {
	schemas := doc.Components.Schemas.Map()
	if em := schemas["ErrorModel"]; em != nil {
		delete(em.Properties, "instance")
		examples := map[string]any{"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": "validation failed"}
		for name, ex := range examples {
			if p := em.Properties[name]; p != nil {
				p.Examples = []any{ex}
			}
		}
		em.Properties["type"].Description = "A URI reference naming the problem's type: always sent, about:blank (the problem is what its status says)."
		em.Required = []string{"type", "title", "status"}
	}
	if ed := schemas["ErrorDetail"]; ed != nil {
		for name, ex := range map[string]any{"message": "expected number >= 1", "location": "query.offset", "value": 0} {
			if p := ed.Properties[name]; p != nil {
				p.Examples = []any{ex}
			}
		}
	}
	for path, item := range doc.Paths {
		op := item.Get
		if op == nil {
			continue
		}
		for code, r := range op.Responses {
			mt := r.Content["application/problem+json"]
			if mt == nil {
				continue
			}
			var summary string
			var value any
			switch code {
			case "422":
				ex, ok := Problem422Examples[path]
				if !ok {
					continue
				}
				summary, value = "GET "+path+"?"+ex.Query, ex.Problem
			case "429":
				summary, value = "Over HTTP_RATE_LIMIT=20 (HTTP_RATE_BURST=40)", problem429
			case "500":
				summary, value = "A failure of the server's own, logged with its cause", problem500
			case "503":
				summary, value = "The database cannot be reached", problem503
			default:
				continue
			}
			status, _ := strconv.Atoi(code)
			mt.Examples = map[string]*huma.Example{http.StatusText(status): {Summary: summary, Value: value}}
		}
	}
}
