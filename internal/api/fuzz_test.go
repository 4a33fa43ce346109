package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// fuzzPaths are every path the server answers a GET with a query on. The
// fuzzer picks one by index and writes any query string after it.
var fuzzPaths = []struct {
	path string
	// db is set for the operations that read the database.
	db bool
	// ok are the statuses allowed when the database is up, beside 422.
	ok []int
}{
	{"/metrics/event-avg-time", true, []int{200}},
	{"/metrics/events-total-count", true, []int{200}},
	{"/metrics/multiple-events-repos", true, []int{200}},
	{"/visualization", true, []int{200}}, // what the store holds
	{"/visualization/event-avg-time", true, []int{200}},
	{"/visualization/events-total-count", true, []int{200}},
	{"/visualization/multiple-events-repos", true, []int{200}},
	{"/", false, []int{308}},
	{"/docs", false, []int{200}},
	{"/openapi.json", false, []int{200}},
	{"/openapi-3.0.json", false, []int{200}},
	{"/healthz", false, []int{200}},
	{"/metrics/events-timeline", true, []int{200}},
	{"/visualization/events-timeline", true, []int{200}},
}

// FuzzQuery drives the real handler in-process with any query string on
// every path, twice: once over a database holding the hand-worked events,
// once over a database that is not there.
//
// Property: never a panic, a 500 or a hang. With the database: 200 (or the
// path's own status) or 422. Errors are application/problem+json whose
// status field is the HTTP status. Without the database the same request
// gets the same 422 (validation comes first), and 503 with the fixed
// "unavailable" problem where the database would have answered 200.
func FuzzQuery(f *testing.F) {
	for i, q := range []string{
		"event_type=PushEvent",
		"event_type=PushEvent&action=opened&repository_name=octo/hello",
		"offset=3600",
		"offset=3600&repository_name=OCTO/HELLO&action=OPENED",
		"event_type=ForkEvent&minimal_events_count=1&limit=2",
		"",
		"event_type=IssuesEvent&scale=linear",
		"offset=3600",
		"event_type=ForkEvent&minimal_events_count=9223372036854775807&limit=10000",
		"",
		"",
		"",
	} {
		f.Add(uint8(i), q)
	}
	for _, q := range []string{
		"event_type=PushEvent&event_type=WatchEvent",
		"event_type=Push%00Event",
		"offset=-1", "offset=0", "offset=3153600001", "offset=1e3", "offset=99999999999999999999999",
		"repository_name=a/b%27%3B+DROP+TABLE+events%3B--&offset=1",
		"action=%E2%80%AE&event_type=PushEvent",
		"limit=0&event_type=PushEvent", "limit=10001&event_type=PushEvent",
		"scale=LOG&event_type=PushEvent",
		"%zz=1", "a=%", "=&=&", ";;;", "event_type", "offset=1;offset=2",
		"unknown=1", "EVENT_TYPE=PushEvent",
		"offset=120000&bucket=minute", "offset=120001&bucket=minute", "offset=86400&bucket=day&event_type=WatchEvent&repository_name=octo/hello",
		"offset=3600&until=2024-06-01T09:30:00Z", "offset=3153600000&until=1970-01-01T00:00:00Z", "offset=1&until=9999-12-31T23:59:59.999999999Z",
		"offset=60&until=2024-06-01T09:30:00%2B14:00", "event_type=WatchEvent&offset=86400&minimal_events_count=1", "event_type=WatchEvent&until=2024-06-01T00:00:00Z",
	} {
		for i := range fuzzPaths {
			f.Add(uint8(i), q)
		}
	}

	pool := testdb.New(f)
	s := store.New(pool)
	// Two statements, so the summaries add up across batches.
	half := len(handWorked) / 2
	if _, err := s.InsertEvents(context.Background(), handWorked[:half]); err != nil {
		f.Fatal(err)
	}
	if _, err := s.InsertEvents(context.Background(), handWorked[half:]); err != nil {
		f.Fatal(err)
	}
	withDB := api.New(api.Config{Store: s, Now: func() time.Time { return now }, Version: "test"})

	noPool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:"+closedPort(f)+"/postgres?sslmode=disable&connect_timeout=2")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(noPool.Close)
	noDB := api.New(api.Config{Store: store.New(noPool), Now: func() time.Time { return now }, Version: "test"})

	f.Fuzz(func(t *testing.T, pathIndex uint8, query string) {
		p := fuzzPaths[int(pathIndex)%len(fuzzPaths)]
		status, ctype, body := serveFuzz(t, withDB, p.path, query)
		if status != http.StatusUnprocessableEntity && !slices.Contains(p.ok, status) {
			t.Fatalf("%s?%s: status %d (%s)\n%s", p.path, query, status, ctype, body)
		}
		if status >= 400 {
			checkProblem(t, p.path, query, status, ctype, body)
		}

		status2, ctype2, body2 := serveFuzz(t, noDB, p.path, query)
		switch {
		case p.db && status == http.StatusOK:
			if status2 != http.StatusServiceUnavailable || string(bytes.TrimSpace(body2)) != `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the database is unavailable; try again shortly"}` {
				t.Fatalf("%s?%s without a database: %d %s", p.path, query, status2, body2)
			}
			checkProblem(t, p.path, query, status2, ctype2, body2)
		case status2 != status || ctype2 != ctype || !sameAnswer(body, body2):
			t.Fatalf("%s?%s: %d %s with the database, %d %s without", p.path, query, status, body, status2, body2)
		}
	})
}

// sameAnswer compares two answers that need no database: equal bytes, or
// equal problems up to the order of their errors (Huma lists unknown query
// parameters in map order).
func sameAnswer(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	type problem struct {
		Title, Detail string
		Status        int
		Errors        []struct{ Message, Location, Value any }
	}
	var pa, pb problem
	if json.Unmarshal(a, &pa) != nil || json.Unmarshal(b, &pb) != nil || len(pa.Errors) != len(pb.Errors) {
		return false
	}
	key := func(e struct{ Message, Location, Value any }) string {
		k, _ := json.Marshal(e)
		return string(k)
	}
	ka, kb := make([]string, len(pa.Errors)), make([]string, len(pb.Errors))
	for i := range pa.Errors {
		ka[i], kb[i] = key(pa.Errors[i]), key(pb.Errors[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return pa.Title == pb.Title && pa.Detail == pb.Detail && pa.Status == pb.Status && slices.Equal(ka, kb)
}

// serveFuzz sends GET path?query to h in-process and returns the status,
// the content type and the body.
func serveFuzz(t *testing.T, h http.Handler, path, query string) (int, string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := (&http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: path, RawQuery: query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		// A program's request: the chart pages answer their problems as
		// problem+json then (for people, as pages: TestChartPagesProblems).
		Header:     http.Header{"Accept": {"application/json"}},
		Host:       "ghevents.test",
		RemoteAddr: "192.0.2.1:4321",
		RequestURI: path + "?" + query,
	}).WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ctx.Err() != nil {
		t.Fatalf("%s?%s: no answer within 10 s", path, query)
	}
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()
}

// checkProblem checks an error answer is an RFC 9457 problem with its status.
func checkProblem(t *testing.T, path, query string, status int, ctype string, body []byte) {
	t.Helper()
	if status == http.StatusInternalServerError {
		t.Fatalf("%s?%s: 500: %s", path, query, body)
	}
	if ctype != "application/problem+json" {
		t.Fatalf("%s?%s: %d with Content-Type %q, want application/problem+json: %s", path, query, status, ctype, body)
	}
	var p struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Status != status || p.Title == "" {
		t.Fatalf("%s?%s: problem %s (status %d): %v", path, query, body, status, err)
	}
	if strings.Contains(string(body), "goroutine ") || strings.Contains(string(body), ".go:") {
		t.Fatalf("%s?%s: the problem shows internals: %s", path, query, body)
	}
}
