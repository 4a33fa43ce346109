package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// get fetches url and returns the status and body (0 when unreachable).
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// hasLine tells whether the exposition text holds line as a whole line.
func hasLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}

// scrapeUntil reads the exposition at url until it holds every line of
// want (at most 20 s) and returns it.
func scrapeUntil(t *testing.T, url string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(url)
		ok := code == http.StatusOK
		for _, w := range want {
			ok = ok && hasLine(body, w)
		}
		if ok {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q; last answer %d:\n%s", url, want, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPollCommand(t *testing.T) {
	t.Parallel()
	const token = "ghp_CliTestTokenNeverShown0123456789"
	pages := githubtest.EventsPages(t)[:3]
	want, total := githubtest.Identities(t, pages...)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	dbURL := testdb.URL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	addr := testkit.FreeAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr testkit.Buffer
	done := make(chan int, 1)
	started := time.Now()
	go func() {
		done <- run(ctx, []string{"poll"}, []string{
			"DATABASE_URL=" + dbURL, "GITHUB_EVENTS_URL=" + srv.EventsURL().String(), "GITHUB_TOKEN=" + token,
			"POLL_INTERVAL=1h", "POLL_FAILOVER=1s", "POLL_METRICS_ADDR=" + addr, "LOG_FORMAT=json",
		}, &stdout, &stderr)
	}()
	// One round, then a long wait: stop (as SIGTERM would) once it is stored.
	for {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == len(want) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("poll exited with %d before storing the events:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	// The round's line is written once its counters are all counted.
	for !strings.Contains(stderr.String(), `"msg":"poll round"`) {
		select {
		case code := <-done:
			t.Fatalf("poll exited with %d:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The counters of that one round: 3 pages of 5,000 requests an hour
	// (with a token), 90 events of which 60 distinct.
	metrics := scrapeUntil(t, "http://"+addr+"/internal/metrics", "ghevents_poller_last_wait_seconds 3600")
	for _, line := range []string{
		`ghevents_poller_rounds_total{outcome="ok"} 1`,
		`ghevents_poller_rounds_total{outcome="not_modified"} 0`,
		`ghevents_poller_rounds_total{outcome="failed"} 0`,
		`ghevents_poller_github_requests_total{status="200"} 3`,
		"ghevents_poller_pages_fetched_total 3",
		"ghevents_poller_pages_stored_total 3",
		"ghevents_poller_bad_pages_total 0",
		fmt.Sprintf("ghevents_poller_events_received_total %d", total),
		fmt.Sprintf("ghevents_poller_events_stored_total %d", len(want)),
		fmt.Sprintf("ghevents_poller_duplicate_events_total %d", total-len(want)),
		"ghevents_poller_bad_events_total 0",
		"ghevents_poller_refused_events_total 0",
		"ghevents_poller_probable_gaps_total 0",
		"ghevents_poller_rate_limit_remaining 4997",
		"ghevents_poller_rate_limit_limit 5000",
		"ghevents_poller_queue_depth 0",
		"ghevents_poller_last_wait_seconds 3600",
		"ghevents_poller_leader 1",
		"ghevents_poller_leadership_acquired_total 1",
		`ghevents_db_pool_max_connections{pool="primary"} 10`,
	} {
		if !hasLine(metrics, line) {
			t.Errorf("/internal/metrics lacks %q", line)
		}
	}
	if strings.Count(metrics, "ghevents_poller_github_requests_total{") != 1 {
		t.Errorf("requests by status: want only status 200:\n%s", metrics)
	}
	// The times: the reset is within the hour GitHub's window lasts; the
	// last round ended after the start.
	var reset, last float64
	for line := range strings.SplitSeq(metrics, "\n") {
		fmt.Sscanf(line, "ghevents_poller_rate_limit_reset_timestamp_seconds %g", &reset)
		fmt.Sscanf(line, "ghevents_poller_last_round_timestamp_seconds %g", &last)
	}
	if now := float64(time.Now().Unix()); reset < now || reset > now+3601 {
		t.Errorf("rate limit reset %v, want within the hour after %v", reset, now)
	}
	if last < float64(started.Unix()) || last > float64(time.Now().Unix())+1 {
		t.Errorf("last round at %v, want after %v", last, started.Unix())
	}
	if code, body := get("http://" + addr + "/readyz"); code != 200 ||
		body != `{"checks":{"database":"ok","leadership":"leader","poller":"ok"},"status":"ok"}`+"\n" {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, body := get("http://" + addr + "/healthz"); code != 200 || body != `{"status":"ok"}`+"\n" {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if strings.Contains(metrics, token) || strings.Contains(metrics, "CliTestToken") {
		t.Errorf("the token appears in /internal/metrics")
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	if strings.Contains(logs, token) || strings.Contains(logs, "CliTestToken") {
		t.Errorf("the token appears in the logs")
	}
	for _, s := range []string{`"msg":"poll round"`, `"stored":60`, `"duplicates":30`, `"why":"poll-interval"`, `"wait":3600000000000`,
		`"msg":"poller stopped"`, `"pages_left":0`, `"msg":"poller leadership acquired: this process polls (after the settle wait)"`,
		`"msg":"poller leadership released"`} {
		if !strings.Contains(logs, s) {
			t.Errorf("logs lack %s:\n%s", s, logs)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[0].Header.Get("Authorization") != "Bearer "+token || !strings.HasPrefix(reqs[0].Header.Get("User-Agent"), "ghevents/") {
		t.Errorf("requests %+v", reqs)
	}
}

func TestPollCommandUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"poll", "--help"}, nil, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "Usage: ghevents poll") || !strings.Contains(stdout.String(), "SHUTDOWN_GRACE") {
		t.Errorf("poll --help: %d\n%s%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"poll", "extra"}, nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "takes no arguments") {
		t.Errorf("poll extra: %d\n%s", code, stderr.String())
	}
}
