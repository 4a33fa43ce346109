package api_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/model"
)

// do sends a request with headers and returns the answer with its body
// read (not decompressed: the client asks for gzip itself when it wants).
func do(t *testing.T, method, url string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestETags: each metric answer carries a weak ETag and Cache-Control:
// no-cache; the same ETag in If-None-Match gets 304 with no body while the
// answer is the same, and a 200 with a new ETag once the stored events
// change; a window's ETag changes with the second its since falls on.
func TestETags(t *testing.T) {
	f := setup(t, handWorked)
	clock := now
	srv := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return clock }, Version: "test"}))
	defer srv.Close()
	paths := []string{
		"/metrics/event-avg-time?event_type=PushEvent",
		"/metrics/events-total-count?offset=3600",
		"/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1",
	}
	tags := map[string]string{}
	for _, p := range paths {
		resp, body := do(t, http.MethodGet, srv.URL+p, nil)
		tag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || !strings.HasPrefix(tag, `W/"`) || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %d ETag %q Cache-Control %q", p, resp.StatusCode, tag, resp.Header.Get("Cache-Control"))
		}
		for _, o := range tags {
			if o == tag {
				t.Fatalf("%s: ETag %s shared with another query", p, tag)
			}
		}
		tags[p] = tag
		// The same tag: 304, no body, the tag again; the strong form and a
		// list match too (weak comparison).
		for _, inm := range []string{tag, strings.TrimPrefix(tag, "W/"), `"nope", ` + tag, "*"} {
			resp, b := do(t, http.MethodGet, srv.URL+p, map[string]string{"If-None-Match": inm})
			if resp.StatusCode != 304 || len(b) != 0 || resp.Header.Get("ETag") != tag || resp.Header.Get("Cache-Control") != "no-cache" ||
				resp.Header.Get("Content-Type") != "" {
				t.Errorf("%s If-None-Match %s: %d, %d bytes, ETag %q, Content-Type %q; want 304 empty with the ETag",
					p, inm, resp.StatusCode, len(b), resp.Header.Get("ETag"), resp.Header.Get("Content-Type"))
			}
		}
		// Another tag: the answer, the same as without one.
		resp, b := do(t, http.MethodGet, srv.URL+p, map[string]string{"If-None-Match": `W/"0-000000000000000000000000"`})
		if resp.StatusCode != 200 || string(b) != string(body) {
			t.Errorf("%s with a stale tag: %d %s", p, resp.StatusCode, b)
		}
	}
	// A query differing in case only is another answer (the filter is echoed).
	r1, _ := do(t, http.MethodGet, srv.URL+"/metrics/event-avg-time?event_type=PushEvent&repository_name=octo/hello", nil)
	r2, _ := do(t, http.MethodGet, srv.URL+"/metrics/event-avg-time?event_type=PushEvent&repository_name=OCTO/hello", nil)
	if r1.Header.Get("ETag") == r2.Header.Get("ETag") {
		t.Errorf("octo/hello and OCTO/hello share the ETag %s", r1.Header.Get("ETag"))
	}

	// Within the same second the window's tag holds; a second later since
	// moves and so does the tag.
	clock = now.Add(900 * time.Millisecond)
	if resp, _ := do(t, http.MethodGet, srv.URL+paths[1], map[string]string{"If-None-Match": tags[paths[1]]}); resp.StatusCode != 304 {
		t.Errorf("same second: %d, want 304", resp.StatusCode)
	}
	clock = now.Add(time.Second)
	if resp, _ := do(t, http.MethodGet, srv.URL+paths[1], map[string]string{"If-None-Match": tags[paths[1]]}); resp.StatusCode != 200 {
		t.Errorf("next second: %d, want 200", resp.StatusCode)
	}
	clock = now

	// New events: every answer may have changed, so no tag matches.
	if _, err := f.store.InsertEvents(context.Background(), []model.Event{
		{ID: 900, Type: "PushEvent", RepoID: 100, RepoName: "octo/hello", CreatedAt: at("11:59:30")},
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		resp, _ := do(t, http.MethodGet, srv.URL+p, map[string]string{"If-None-Match": tags[p]})
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == tags[p] {
			t.Errorf("%s after an insert: %d with ETag %s (was %s); want 200 with a new one", p, resp.StatusCode, resp.Header.Get("ETag"), tags[p])
		}
	}
	// The same events again (duplicates) change nothing: the tags hold.
	tag, _ := do(t, http.MethodGet, srv.URL+paths[0], nil)
	if _, err := f.store.InsertEvents(context.Background(), handWorked); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, http.MethodGet, srv.URL+paths[0], map[string]string{"If-None-Match": tag.Header.Get("ETag")}); resp.StatusCode != 304 {
		t.Errorf("after inserting duplicates only: %d, want 304", resp.StatusCode)
	}
}

// TestCompression: text answers are gzip-compressed for a client that
// accepts it, from the first byte; others get them plain.
func TestCompression(t *testing.T) {
	f := setup(t, handWorked)
	for _, c := range []struct{ path, ctype string }{
		{"/metrics/event-avg-time?event_type=PushEvent", "application/json"},
		{"/metrics/events-total-count?offset=0", "application/problem+json"},
		{"/visualization/events-total-count?offset=3600", "text/html; charset=utf-8"},
		{"/docs", "text/html; charset=utf-8"},
		{"/assets/echarts/5.6.0/echarts.min.js", "text/javascript; charset=utf-8"},
		{"/assets/swagger-ui/5.35.0/swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
		{"/assets/charts.css", "text/css; charset=utf-8"},
		{"/openapi.json", "application/openapi+json"},
	} {
		plainResp, plain := do(t, http.MethodGet, f.srv.URL+c.path, nil)
		resp, zipped := do(t, http.MethodGet, f.srv.URL+c.path, map[string]string{"Accept-Encoding": "gzip"})
		if plainResp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Content-Encoding") != "gzip" ||
			resp.Header.Get("Content-Type") != c.ctype || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: plain %q, with gzip %q %q Vary %q", c.path, plainResp.Header.Get("Content-Encoding"),
				resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"), resp.Header.Get("Vary"))
			continue
		}
		zr, err := gzip.NewReader(strings.NewReader(string(zipped)))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if !strings.HasPrefix(c.path, "/metrics/events-total-count") && string(unzipped) != string(plain) {
			t.Errorf("%s: the gzipped answer differs from the plain one", c.path)
		}
		// The static files at gzip's default level, the rest at its fastest:
		// the header's XFL byte says which (RFC 1952: 4 the fastest, 0 other).
		wantXFL := byte(4)
		if strings.HasPrefix(c.path, "/assets/") {
			wantXFL = 0
		}
		if len(zipped) < 10 || zipped[8] != wantXFL {
			t.Errorf("%s: gzip XFL %d, want %d", c.path, zipped[8], wantXFL)
		}
		t.Logf("%s: %d bytes, %d gzipped", c.path, len(plain), len(zipped))
	}
	// The icon is not text: sent as it is.
	if resp, _ := do(t, http.MethodGet, f.srv.URL+"/favicon.ico", map[string]string{"Accept-Encoding": "gzip"}); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("/favicon.ico compressed")
	}
}

// TestCORS: off by default; with "*" any origin may read the answers;
// with a list, a listed origin is echoed (Vary: Origin) and another gets
// no CORS header. Preflights for GET answer 204 with the allowed headers;
// ETag and Retry-After are exposed; never credentials.
func TestCORS(t *testing.T) {
	f := setup(t, handWorked)
	serve := func(origins []string) *httptest.Server {
		srv := httptest.NewServer(api.New(api.Config{Store: f.store, Now: func() time.Time { return now }, Version: "test", CORSOrigins: origins}))
		t.Cleanup(srv.Close)
		return srv
	}
	const metric = "/metrics/event-avg-time?event_type=PushEvent"
	preflight := map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "if-none-match"}

	off := serve(nil)
	resp, _ := do(t, http.MethodGet, off.URL+metric, map[string]string{"Origin": "https://a.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off: Access-Control-Allow-Origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, body := do(t, http.MethodOptions, off.URL+metric, preflight)
	if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off, preflight: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	anyOrigin := serve([]string{"*"})
	resp, _ = do(t, http.MethodGet, anyOrigin.URL+metric, map[string]string{"Origin": "https://b.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Expose-Headers") != "Etag, Retry-After" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("CORS *: %v", resp.Header)
	}
	resp, body = do(t, http.MethodOptions, anyOrigin.URL+metric, preflight)
	if resp.StatusCode != 204 || len(body) != 0 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET" || resp.Header.Get("Access-Control-Allow-Headers") != "if-none-match" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("CORS *, preflight: %d %v", resp.StatusCode, resp.Header)
	}
	for _, h := range []string{"accept", "content-type", "accept, content-type, if-none-match"} {
		pf := map[string]string{"Origin": "https://b.example", "Access-Control-Request-Method": "HEAD", "Access-Control-Request-Headers": h}
		if resp, _ := do(t, http.MethodOptions, anyOrigin.URL+metric, pf); resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != h {
			t.Errorf("preflight for HEAD with %s: %d %q", h, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Headers"))
		}
	}
	// Another method or header is not allowed: no CORS header.
	for _, pf := range []map[string]string{
		{"Origin": "https://b.example", "Access-Control-Request-Method": "DELETE"},
		{"Origin": "https://b.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
	} {
		if resp, _ := do(t, http.MethodOptions, anyOrigin.URL+metric, pf); resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %v allowed", pf)
		}
	}

	listed := serve([]string{"https://a.example", "http://localhost:3000"})
	resp, _ = do(t, http.MethodGet, listed.URL+metric, map[string]string{"Origin": "http://localhost:3000"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("listed origin: %v", resp.Header)
	}
	resp, _ = do(t, http.MethodGet, listed.URL+metric, map[string]string{"Origin": "https://evil.example"})
	for h := range resp.Header {
		if strings.HasPrefix(h, "Access-Control-") {
			t.Errorf("an origin not listed got %s", h)
		}
	}
	// Errors carry the CORS headers too, so a page can read them.
	resp, _ = do(t, http.MethodGet, listed.URL+"/metrics/events-total-count?offset=0", map[string]string{"Origin": "https://a.example"})
	if resp.StatusCode != 422 || resp.Header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Errorf("422 across origins: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestErrorsAreProblems: an unknown path and a wrong method answer
// problem+json like every other error; the trailing-slash forms of the
// pages redirect to them.
func TestErrorsAreProblems(t *testing.T) {
	f := setup(t, nil)
	cases := []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/nope", 404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such path: /nope (the API is described at /docs and /openapi.json; the charts are at /visualization)"}`, ""},
		{"GET", "/metrics/nope", 404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such path: /metrics/nope (the API is described at /docs and /openapi.json; the charts are at /visualization)"}`, ""},
		{"GET", "/assets/echarts/5.6.0/nope.js", 404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such path: /assets/echarts/5.6.0/nope.js (the API is described at /docs and /openapi.json; the charts are at /visualization)"}`, ""},
		{"POST", "/metrics/event-avg-time", 405, `{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"POST is not allowed on /metrics/event-avg-time; it takes GET, HEAD"}`, "GET, HEAD"},
		{"DELETE", "/docs", 405, `{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"DELETE is not allowed on /docs; it takes GET, HEAD"}`, "GET, HEAD"},
	}
	for _, c := range cases {
		resp, body := do(t, c.method, f.srv.URL+c.path, nil)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %s Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"))
		}
		assertJSON(t, c.method+" "+c.path, body, c.body)
	}
	for from, to := range map[string]string{"/docs/": "/docs", "/visualization/": "/visualization", "/visualization/?a=1": "/visualization?a=1", "/": "/docs"} {
		resp, _ := do(t, http.MethodGet, f.srv.URL+from, nil)
		if resp.StatusCode != 308 || resp.Header.Get("Location") != to {
			t.Errorf("%s: %d to %q, want 308 to %s", from, resp.StatusCode, resp.Header.Get("Location"), to)
		}
	}
}

// TestAnyStoredRepositoryName: names that are not owner/name, as old
// fixtures and imports hold them, can be asked for.
func TestAnyStoredRepositoryName(t *testing.T) {
	long := strings.Repeat("x", 1300) + "/y"
	var events []model.Event
	for i, name := range []string{"my-repository-1", "my-repository-1", "with space/and ünicode", long, long} {
		events = append(events, model.Event{ID: int64(i + 1), Type: "WatchEvent", RepoID: int64(len(name)), RepoName: name,
			Action: "started", CreatedAt: at("10:00:0" + string(rune('0'+i)))})
	}
	f := setup(t, events)
	for name, want := range map[string]string{"my-repository-1": `"events_count":2`, "with space/and ünicode": `"events_count":1`, long: `"events_count":2`} {
		q := "/metrics/event-avg-time?event_type=WatchEvent&repository_name=" + strings.ReplaceAll(strings.ReplaceAll(name, " ", "%20"), "ü", "%C3%BC")
		status, _, body := get(t, f.srv.URL, q)
		if status != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%.80s: %d %.200s; want %s", q, status, body, want)
		}
	}
}
