package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ghevents/ghevents/internal/model"
)

// TestOpenAPIDocuments parses the three published documents and checks
// every operation and parameter is there and documented.
func TestOpenAPIDocuments(t *testing.T) {
	f := setup(t, nil)
	docs := map[string]func([]byte) (map[string]any, error){
		"/openapi.json": func(b []byte) (m map[string]any, err error) { err = json.Unmarshal(b, &m); return },
		"/openapi.yaml": func(b []byte) (m map[string]any, err error) { err = yaml.Unmarshal(b, &m); return },
		"/openapi-3.0.json": func(b []byte) (m map[string]any, err error) {
			err = json.Unmarshal(b, &m)
			return
		},
	}
	wantVersion := map[string]string{"/openapi.json": "3.1.0", "/openapi.yaml": "3.1.0", "/openapi-3.0.json": "3.0.3"}
	type opWant struct {
		params   map[string]bool // name -> required
		tag      string
		enumOn   string
		statuses []string
	}
	want := map[string]opWant{
		"/metrics/event-avg-time": {params: map[string]bool{"event_type": true, "action": false, "repository_name": false},
			tag: "metrics", enumOn: "event_type", statuses: []string{"200", "422", "429", "500", "503"}},
		"/metrics/events-total-count": {params: map[string]bool{"offset": true, "action": false, "repository_name": false, "until": false},
			tag: "metrics", statuses: []string{"200", "422", "429", "500", "503"}},
		"/metrics/events-timeline": {params: map[string]bool{"offset": true, "bucket": false, "event_type": false, "action": false, "repository_name": false, "until": false},
			tag: "metrics", enumOn: "event_type", statuses: []string{"200", "422", "429", "500", "503"}},
		"/metrics/multiple-events-repos": {params: map[string]bool{"event_type": true, "minimal_events_count": false, "limit": false, "offset": false, "until": false},
			tag: "metrics", enumOn: "event_type", statuses: []string{"200", "422", "429", "500", "503"}},
	}
	html := []string{"/visualization", "/visualization/event-avg-time", "/visualization/events-total-count", "/visualization/multiple-events-repos"}
	for path, parse := range docs {
		status, _, body := get(t, f.srv.URL, path)
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, status)
		}
		doc, err := parse(body)
		if err != nil {
			t.Fatalf("%s does not parse: %v", path, err)
		}
		if doc["openapi"] != wantVersion[path] {
			t.Errorf("%s: openapi = %v, want %s", path, doc["openapi"], wantVersion[path])
		}
		paths, _ := doc["paths"].(map[string]any)
		for _, p := range html {
			op, _ := paths[p].(map[string]any)["get"].(map[string]any)
			if op == nil {
				t.Errorf("%s: no GET %s", path, p)
				continue
			}
			content, _ := op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)
			if tags, _ := op["tags"].([]any); len(tags) != 1 || tags[0] != "visualization" || content["text/html"] == nil {
				t.Errorf("%s %s: tags %v, 200 content %v; want [visualization], text/html", path, p, op["tags"], content)
			}
		}
		for p, w := range want {
			item, _ := paths[p].(map[string]any)
			op, _ := item["get"].(map[string]any)
			if op == nil {
				t.Errorf("%s: no GET %s", path, p)
				continue
			}
			for _, k := range []string{"summary", "description", "operationId"} {
				if s, _ := op[k].(string); s == "" {
					t.Errorf("%s %s: no %s", path, p, k)
				}
			}
			if tags, _ := op["tags"].([]any); len(tags) != 1 || tags[0] != w.tag {
				t.Errorf("%s %s: tags %v, want [%s]", path, p, op["tags"], w.tag)
			}
			responses, _ := op["responses"].(map[string]any)
			for _, st := range w.statuses {
				if responses[st] == nil {
					t.Errorf("%s %s: no %s response", path, p, st)
				}
			}
			params, _ := op["parameters"].([]any)
			seen := map[string]bool{}
			for _, raw := range params {
				prm := raw.(map[string]any)
				name := prm["name"].(string)
				if prm["in"] == "header" {
					if name != "If-None-Match" {
						t.Errorf("%s %s: header parameter %s, want only If-None-Match", path, p, name)
					}
					continue
				}
				seen[name] = true
				req, known := w.params[name]
				if !known {
					t.Errorf("%s %s: unexpected parameter %s", path, p, name)
					continue
				}
				if got, _ := prm["required"].(bool); got != req {
					t.Errorf("%s %s: %s required=%v, want %v", path, p, name, got, req)
				}
				schema, _ := prm["schema"].(map[string]any)
				if d, _ := prm["description"].(string); d == "" {
					if d, _ = schema["description"].(string); d == "" {
						t.Errorf("%s %s: %s has no description", path, p, name)
					}
				}
				if prm["example"] == nil && schema["examples"] == nil && schema["example"] == nil {
					t.Errorf("%s %s: %s has no example", path, p, name)
				}
				if name == w.enumOn {
					var enum []string
					for _, v := range schema["enum"].([]any) {
						enum = append(enum, v.(string))
					}
					if !slices.Equal(enum, model.EventTypes) {
						t.Errorf("%s %s: %s enum %v, want %v", path, p, name, enum, model.EventTypes)
					}
				}
			}
			for name := range w.params {
				if !seen[name] {
					t.Errorf("%s %s: parameter %s missing", path, p, name)
				}
			}
		}
	}
}

// TestOpenAPIDocumentForClients: what generated clients rely on. The
// server is relative, the API public, the licence and the build's version
// named; chart pages are declared text/html only; the metrics document
// If-None-Match, ETag and 304; and each error example is what the server
// sends to the request its summary names.
func TestOpenAPIDocumentForClients(t *testing.T) {
	f := setup(t, nil)
	for _, path := range []string{"/openapi.json", "/openapi-3.0.json"} {
		_, _, body := get(t, f.srv.URL, path)
		var doc struct {
			Info struct {
				Version string
				License struct{ Name, URL string }
			}
			Servers  []map[string]string
			Security []any
			Paths    map[string]map[string]struct {
				Parameters []struct{ Name, In string }
				Responses  map[string]struct {
					Headers map[string]any
					Content map[string]struct {
						Examples map[string]struct {
							Summary string
							Value   any
						}
					}
				}
			}
			Components struct {
				Schemas map[string]struct {
					Required   []string
					Properties map[string]any
				}
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Info.Version != "test" || doc.Info.License.Name != "MIT" || doc.Info.License.URL == "" {
			t.Errorf("%s: info %+v", path, doc.Info)
		}
		if len(doc.Servers) != 1 || doc.Servers[0]["url"] != "/" {
			t.Errorf("%s: servers %v, want [{url: /}]", path, doc.Servers)
		}
		if doc.Security == nil || len(doc.Security) != 0 {
			t.Errorf("%s: security %v, want []", path, doc.Security)
		}
		em := doc.Components.Schemas["ErrorModel"]
		if !slices.Contains(em.Required, "type") || em.Properties["instance"] != nil {
			t.Errorf("%s: ErrorModel requires %v and has instance=%v; want type required, no instance", path, em.Required, em.Properties["instance"])
		}
		examples := 0
		for p, item := range doc.Paths {
			op, ok := item["get"]
			if !ok {
				t.Errorf("%s %s: no GET", path, p)
				continue
			}
			for code, r := range op.Responses {
				for ct, mt := range r.Content {
					if strings.HasPrefix(p, "/visualization") && ct != "text/html" {
						t.Errorf("%s %s %s: content %s; chart pages are text/html only", path, p, code, ct)
					}
					for _, ex := range mt.Examples {
						examples++
						want, _ := json.Marshal(ex.Value)
						switch {
						case code == "422":
							q, ok := strings.CutPrefix(ex.Summary, "GET ")
							if !ok {
								t.Fatalf("%s %s 422: example summary %q names no request", path, p, ex.Summary)
							}
							status, ctype, got := get(t, f.srv.URL, q)
							if status != 422 || ctype != "application/problem+json" {
								t.Errorf("%s: %d %s", q, status, ctype)
							}
							assertJSON(t, q, got, string(want))
						case code == "503" && ex.Summary == "The database cannot be reached":
							assertJSON(t, p, []byte(unavailable[false]), string(want))
						}
					}
				}
			}
			if strings.HasPrefix(p, "/metrics/") {
				if r, ok := op.Responses["304"]; !ok || r.Headers["ETag"] == nil {
					t.Errorf("%s %s: no 304 with an ETag header", path, p)
				}
				if op.Responses["200"].Headers["ETag"] == nil || op.Responses["200"].Headers["Cache-Control"] == nil {
					t.Errorf("%s %s: the 200 does not document ETag and Cache-Control", path, p)
				}
				for _, code := range []string{"422", "429", "500", "503"} {
					if len(op.Responses[code].Content["application/problem+json"].Examples) != 1 {
						t.Errorf("%s %s %s: want one example", path, p, code)
					}
				}
			}
		}
		if examples != 20 {
			t.Errorf("%s: %d error examples, want 20 (4 statuses × 5 metrics)", path, examples)
		}
	}
}
