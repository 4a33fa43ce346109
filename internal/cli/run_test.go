package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// TestRunMigratesPollsAndServes: `ghevents run` on an empty database
// migrates it, polls the fake GitHub, and serves what it stored.
func TestRunMigratesPollsAndServes(t *testing.T) {
	t.Parallel()
	pages := githubtest.EventsPages(t)[:3]
	want, _ := githubtest.Identities(t, pages...)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	addr := testkit.FreeAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr testkit.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run"}, []string{
			"DATABASE_URL=" + testdb.Empty(t), "GITHUB_EVENTS_URL=" + srv.EventsURL().String(),
			"POLL_INTERVAL=1h", "POLL_FAILOVER=1s", "HTTP_ADDR=" + addr, "LOG_FORMAT=json",
		}, &stdout, &stderr)
	}()

	total := func() (int, bool) {
		resp, err := http.Get("http://" + addr + "/metrics/events-total-count?offset=3153600000")
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var body struct {
			Total int `json:"total"`
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil {
			return 0, false
		}
		return body.Total, true
	}
	for {
		if n, ok := total(); ok && n == len(want) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited with %d:\n%s", code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"checks":{"database":"ok","leadership":"leader","poller":"ok"},"status":"ok"}`+"\n" {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, b)
	}
	// The poller's counters are on the API's /internal/metrics.
	metrics := scrapeUntil(t, "http://"+addr+"/internal/metrics", fmt.Sprintf("ghevents_poller_events_stored_total %d", len(want)))
	for _, line := range []string{"ghevents_poller_leader 1", "ghevents_poller_leadership_acquired_total 1", `ghevents_poller_rounds_total{outcome="ok"} 1`} {
		if !hasLine(metrics, line) {
			t.Errorf("/internal/metrics lacks %q", line)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	// GHARCHIVE_FOLLOW is off: `run` (what `make run` starts) says how to
	// turn it on.
	for _, s := range []string{`"msg":"migration"`, `"msg":"poll round"`, `"msg":"serving"`, `"msg":"shutting down the HTTP server"`,
		`"msg":"the Events API shows a sample of the public events: set GHARCHIVE_FOLLOW=true (in .env) to store every one from GH Archive, and see /metrics/coverage"`} {
		if !strings.Contains(logs, s) {
			t.Errorf("logs lack %s", s)
		}
	}
}

// TestPollerCheck: a standby is ready; a leader is ready while its term is
// young or its last round recent; rounds of an earlier term do not count.
func TestPollerCheck(t *testing.T) {
	t.Parallel()
	now := time.Now()
	const interval = time.Minute // allowed: max(3 min, 3 × last wait, 10 min) = 10 min here
	cases := []struct {
		name      string
		leading   bool
		since     time.Time
		lastRound time.Time
		lastWait  time.Duration
		want      string // "" when ready; else the start of the error
	}{
		{"standby", false, time.Time{}, time.Time{}, 0, ""},
		{"new leader, no round yet", true, now.Add(-time.Minute), time.Time{}, 0, ""},
		{"leader without a round for 11 min", true, now.Add(-11 * time.Minute), time.Time{}, 0, "no polling round has succeeded since this process became leader"},
		{"leader, recent round", true, now.Add(-time.Hour), now.Add(-9 * time.Minute), 0, ""},
		{"leader, old round", true, now.Add(-time.Hour), now.Add(-11 * time.Minute), 0, "the last successful polling round was 11m0s ago"},
		{"leader, old round but long waits", true, now.Add(-time.Hour), now.Add(-11 * time.Minute), 5 * time.Minute, ""},
		{"a round of an earlier term does not count", true, now.Add(-11 * time.Minute), now.Add(-12 * time.Minute), 0, "no polling round has succeeded since this process became leader"},
	}
	for _, c := range cases {
		check := pollerCheck(func() time.Time { return c.lastRound }, func() time.Duration { return c.lastWait },
			interval, func() (time.Time, bool) { return c.since, c.leading })
		err := check(context.Background())
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want ready", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
