package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// With HTTP_RATE_LIMIT=2 and HTTP_RATE_BURST=3, on a clock that only the
// test moves: a client gets 3 answers, then 429 problem+json with
// Retry-After 1 (a token comes back every 0.5 s, rounded up to a second);
// another client is not affected; the probes are never limited; half a
// second later the client has one token again.
func TestRateLimitPerClient(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: now}
	h := api.New(api.Config{Now: clock.Now, Version: "test", RateLimit: 2, RateBurst: 3})
	get := func(client, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = client
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	statuses := func(client, path string, n int) []int {
		var out []int
		for range n {
			out = append(out, get(client, path).Code)
		}
		return out
	}
	equal := func(what string, got, want []int) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
		}
	}

	// Pages that need no database, so every status comes from the limit.
	equal("client A", statuses("192.0.2.1:1000", "/openapi.json", 5), []int{200, 200, 200, 429, 429})
	rec := get("192.0.2.1:1001", "/docs") // another port, the same client
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != "application/problem+json" ||
		string(body) != `{"detail":"more than 2 requests a second (burst 3) from this client (HTTP_RATE_LIMIT); retry after the time in Retry-After","status":429,"title":"Too Many Requests","type":"about:blank"}` {
		t.Fatalf("429: %d Retry-After %q %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"), body)
	}
	equal("client B", statuses("198.51.100.7:2000", "/openapi.json", 3), []int{200, 200, 200})
	equal("client C, over IPv6", statuses("[2001:db8::1]:3000", "/openapi.json", 1), []int{200})
	equal("client A's probes", statuses("192.0.2.1:1000", "/healthz", 10), []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200})
	equal("client A's scrapes", statuses("192.0.2.1:1000", "/internal/metrics", 3), []int{200, 200, 200})

	clock.Add(500 * time.Millisecond)
	equal("client A half a second later", statuses("192.0.2.1:1000", "/openapi.json", 2), []int{200, 429})
	clock.Add(10 * time.Second)
	equal("client A ten seconds later", statuses("192.0.2.1:1000", "/openapi.json", 4), []int{200, 200, 200, 429})
}

// Off by default: no limit at all.
func TestNoRateLimitByDefault(t *testing.T) {
	t.Parallel()
	h := api.New(api.Config{Now: func() time.Time { return now }, Version: "test"})
	for i := range 200 {
		req := httptest.NewRequest(http.MethodGet, "/openapi.json", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
}

// Over a real connection the limit applies to the peer's address, and the
// 429 is counted in /internal/metrics under its route.
func TestRateLimitOverLoopback(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.New(api.Config{Version: "test", RateLimit: 0.001, RateBurst: 2}))
	defer srv.Close()
	var got []int
	for range 4 {
		resp, err := http.Get(srv.URL + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "1000" {
			t.Errorf("Retry-After %q, want 1000 (one token per 1,000 s)", resp.Header.Get("Retry-After"))
		}
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 || got[3] != 429 {
		t.Fatalf("statuses %v, want [200 200 429 429]", got)
	}
	resp, err := http.Get(srv.URL + "/internal/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `ghevents_http_requests_total{method="GET",route="GET /openapi.json",status="429"} 2`) {
		t.Fatalf("429s not counted:\n%s", b)
	}
}
