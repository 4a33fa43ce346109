package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/faultproxy"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// loadPaths are the requests of the fault test: every metric, every chart
// that reads the database, and /readyz.
var loadPaths = []string{
	"/metrics/event-avg-time?event_type=PushEvent",
	"/metrics/event-avg-time?event_type=IssuesEvent&action=opened&repository_name=octo/hello",
	"/metrics/events-total-count?offset=3600",
	"/metrics/events-total-count?offset=3600&repository_name=octo/hello",
	"/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1",
	"/visualization/event-avg-time?event_type=PushEvent",
	"/visualization/events-total-count?offset=3600",
	"/visualization/multiple-events-repos?event_type=ForkEvent",
	"/readyz",
}

// unavailable are the exact 503 bodies while the database is away.
var unavailable = map[bool]string{
	false: `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the database is unavailable; try again shortly"}`,
	true:  `{"checks":{"database":"database unreachable"},"status":"unavailable"}`, // /readyz
}

// outcome is one answer of a load phase.
type outcome struct {
	path   string
	status int
	ctype  string
	body   string
}

// load sends rounds × len(loadPaths) requests from workers goroutines, all
// started together, and returns every answer.
func load(t *testing.T, client *http.Client, base string, workers, rounds int) []outcome {
	t.Helper()
	var mu sync.Mutex
	var out []outcome
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds * len(loadPaths) {
				p := loadPaths[(w+i)%len(loadPaths)]
				o := outcome{path: p}
				resp, err := client.Get(base + p)
				if err != nil {
					o.body = "transport error: " + err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					o.status, o.ctype, o.body = resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(b))
				}
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// summarize counts the answers by status: "200×72".
func summarize(outs []outcome) string {
	counts := map[int]int{}
	for _, o := range outs {
		counts[o.status]++
	}
	var parts []string
	for _, s := range []int{0, 200, 422, 500, 503} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d×%d", s, counts[s]))
		}
		delete(counts, s)
	}
	for s, n := range counts {
		parts = append(parts, fmt.Sprintf("%d×%d", s, n))
	}
	return strings.Join(parts, " ")
}

// The database goes away under load (its connections reset through a TCP
// proxy, new ones refused), then comes back. Phases are separated, so the
// status of every request is known in advance: all 200; then all 503 with
// the exact problem body (and /readyz 503); then, with nothing restarted,
// all 200 again. Then a cut while every request is in the middle of its
// query: each of those answers 503, never 500, never a hang; and again 200.
func TestDatabaseGoesAwayUnderLoad(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL := testdb.URL(t)
	seed, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	half := len(handWorked) / 2
	for _, b := range [][]int{{0, half}, {half, len(handWorked)}} {
		if _, err := seed.InsertEvents(ctx, handWorked[b[0]:b[1]]); err != nil {
			t.Fatal(err)
		}
	}
	seed.Close()

	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faultproxy.New(t, u.Host)
	s, err := store.Open(ctx, px.MustURL(t, dbURL), store.Options{MaxConns: 4, StatementTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return now }, Version: "test"}))
	defer srv.Close()
	client := &http.Client{Timeout: 30 * time.Second}

	const workers, rounds = 8, 3 // 216 requests a phase
	total := workers * rounds * len(loadPaths)
	expect := func(phase string, outs []outcome, status int) {
		t.Helper()
		if len(outs) != total {
			t.Fatalf("%s: %d answers, want %d", phase, len(outs), total)
		}
		for _, o := range outs {
			bad := o.status != status
			if status == http.StatusServiceUnavailable {
				ready := o.path == "/readyz"
				wantType := "application/problem+json"
				if ready {
					wantType = "application/json"
				}
				if strings.HasPrefix(o.path, "/visualization") { // a page for people, saying it
					bad = bad || o.ctype != "text/html; charset=utf-8" || !strings.Contains(o.body, "<p>the database is unavailable; try again shortly</p>")
				} else {
					bad = bad || o.ctype != wantType || o.body != unavailable[ready]
				}
			}
			if bad {
				t.Fatalf("%s: %s answered %d %s %s; every answer should be %d (%s)", phase, o.path, o.status, o.ctype, o.body, status, summarize(outs))
			}
		}
		t.Logf("%s: %s", phase, summarize(outs))
	}

	expect("database up", load(t, client, srv.URL, workers, rounds), http.StatusOK)

	px.Cut()
	expect("database away", load(t, client, srv.URL, workers, rounds), http.StatusServiceUnavailable)

	px.Restore()
	expect("database back", load(t, client, srv.URL, workers, rounds), http.StatusOK)

	// Every statement now waits 500 ms in the proxy; the cut comes 200 ms
	// after the requests started, while all are waiting for the database.
	px.SetDelay(500 * time.Millisecond)
	var inflight []outcome
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range loadPaths[:8] {
		wg.Go(func() {
			start := time.Now()
			resp, err := client.Get(srv.URL + p)
			o := outcome{path: p}
			if err != nil {
				o.body = err.Error()
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				o.status, o.ctype, o.body = resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(b))
			}
			if d := time.Since(start); d > 10*time.Second {
				o.body += fmt.Sprintf(" (after %v)", d)
			}
			mu.Lock()
			inflight = append(inflight, o)
			mu.Unlock()
		})
	}
	time.Sleep(200 * time.Millisecond)
	px.Cut()
	wg.Wait()
	for _, o := range inflight {
		page := strings.HasPrefix(o.path, "/visualization") && strings.Contains(o.body, "<p>the database is unavailable; try again shortly</p>")
		if o.status != http.StatusServiceUnavailable || (o.body != unavailable[false] && !page) {
			t.Fatalf("in flight at the cut: %s answered %d %s", o.path, o.status, o.body)
		}
	}
	t.Logf("in flight at the cut: %s", summarize(inflight))
	px.SetDelay(0)
	px.Restore()
	expect("database back again", load(t, client, srv.URL, workers, rounds), http.StatusOK)
	if st := px.Stats(); st.Cuts != 2 || st.Refused == 0 {
		t.Fatalf("proxy %+v: want 2 cuts and refused connections", st)
	}
}
