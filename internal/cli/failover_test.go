package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// TestMain lets the tests run this test binary as `ghevents` in a process
// of its own (to kill it for real): with GHEVENTS_TEST_MAIN=1 it is the
// command line, its version GHEVENTS_TEST_VERSION.
func TestMain(m *testing.M) {
	if os.Getenv("GHEVENTS_TEST_MAIN") == "1" {
		if v := os.Getenv("GHEVENTS_TEST_VERSION"); v != "" {
			Version = v
		}
		os.Exit(Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// process is `ghevents` running in a process of its own.
type process struct {
	name   string
	cmd    *exec.Cmd
	stderr *testkit.Buffer
	done   chan error
}

// startProcess runs `ghevents args...` with env (and nothing else of the
// test's environment); its logs are collected.
func startProcess(t *testing.T, name string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"GHEVENTS_TEST_MAIN=1", "GHEVENTS_TEST_VERSION=" + name}, env...)
	p := &process{name: name, cmd: cmd, stderr: &testkit.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		p.done <- nil
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// logLine is the first JSON log line of p whose message is msg.
func (p *process) logLine(msg string) (map[string]any, string, bool) {
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			return m, sc.Text(), true
		}
	}
	return nil, "", false
}

// TestPollFailoverSIGKILL runs two `ghevents poll` processes on one
// database and one fake GitHub, kills the leader with SIGKILL, and checks
// that the standby takes over within POLL_FAILOVER (it polls no sooner
// than the round the dead leader had planned), that no two rounds ran at
// once, and that every distinct event served is stored, once.
func TestPollFailoverSIGKILL(t *testing.T) {
	t.Parallel()
	const failover = 2 * time.Second
	before, after := githubtest.EventsPages(t)[:3], githubtest.UserPages(t)[:3]
	want, _ := githubtest.Identities(t, append(append([][]byte{}, before...), after...)...)
	wantBefore, _ := githubtest.Identities(t, before...)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: before, PollInterval: -1})
	dbURL := testdb.URL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	count := func() int {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	env := func(metricsAddr string) []string {
		return []string{
			"DATABASE_URL=" + dbURL, "GITHUB_EVENTS_URL=" + srv.EventsURL().String(), "GITHUB_TOKEN=ghp_test",
			"POLL_INTERVAL=1s", "POLL_FAILOVER=" + failover.String(), "POLL_METRICS_ADDR=" + metricsAddr,
			"LOG_FORMAT=json", "SHUTDOWN_GRACE=5s",
		}
	}

	addrA, addrB := testkit.FreeAddr(t), testkit.FreeAddr(t)
	a := startProcess(t, "a", env(addrA), "poll")
	testkit.WaitFor(t, 20*time.Second, "a stores the first pages", func() bool { return count() == len(wantBefore) })
	b := startProcess(t, "b", env(addrB), "poll")
	testkit.WaitFor(t, 20*time.Second, "b stands by", func() bool {
		_, body := get("http://" + addrB + "/readyz")
		return strings.Contains(body, `"leadership":"standby"`)
	})
	if _, body := get("http://" + addrA + "/readyz"); !strings.Contains(body, `"leadership":"leader"`) {
		t.Fatalf("a is not the leader: %s", body)
	}
	if m := scrapeUntil(t, "http://"+addrB+"/internal/metrics", "ghevents_poller_leader 0"); !hasLine(m, "ghevents_poller_rounds_total{outcome=\"ok\"} 0") {
		t.Errorf("the standby polled")
	}

	// Kill the leader (no drain, no unlock: its sockets just close), and
	// let GitHub's window move on.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	<-a.done
	a.done <- nil
	var planned time.Time
	if err := pool.QueryRow(context.Background(), `SELECT next_round_at FROM poller_state`).Scan(&planned); err != nil {
		t.Fatal(err)
	}
	srv.SetPages(after...)
	testkit.WaitFor(t, 20*time.Second, "b stores the new pages", func() bool { return count() == len(want) })

	// b took the lock at most failover/5 + settle (failover*2/5) after the
	// kill, and polled within the failover time or at the round a had
	// planned, whichever came later.
	acquired, line, ok := b.logLine("poller leadership acquired: this process polls (after the settle wait)")
	if !ok {
		t.Fatalf("b never logged its leadership")
	}
	t.Logf("b's log: %s", line)
	at, err := time.Parse(time.RFC3339Nano, acquired["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if d := at.Sub(killedAt); d < 0 || d > 2*failover/5 {
		t.Errorf("b took the lock %v after the kill, want within %v (one attempt every %v)", d, 2*failover/5, failover/5)
	}
	rs := githubtest.Rounds(srv.Requests())
	first, ok := githubtest.FirstRoundAfter(rs, "b", killedAt)
	if !ok {
		t.Fatal("b never polled")
	}
	deadline := killedAt.Add(failover)
	if planned.After(deadline) {
		deadline = planned
	}
	// (The round itself starts a moment after its time: the lock check
	// before it, on a machine shared with other tests.)
	if first.Start.After(deadline.Add(500*time.Millisecond)) || first.Start.Before(planned) {
		t.Errorf("b polled at %s; the kill was at %s, a's planned round %s: want between the plan and %s",
			first.Start.Format("15:04:05.000"), killedAt.Format("15:04:05.000"), planned.Format("15:04:05.000"), deadline.Format("15:04:05.000"))
	}
	t.Logf("killed a at %s (its next round planned at %s); b took the lock %v later and polled %v later",
		killedAt.Format("15:04:05.000"), planned.Format("15:04:05.000"), at.Sub(killedAt).Round(time.Millisecond), first.Start.Sub(killedAt).Round(time.Millisecond))
	githubtest.AssertNoParallelRounds(t, rs)

	// b exits cleanly; every event served is stored once.
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-b.done; err != nil {
		t.Errorf("b exited with %v", err)
	}
	b.done <- nil
	got, n := githubtest.StoredIdentities(t, pool)
	for id := range want {
		if got[id] == 0 {
			t.Errorf("event %v served but not stored", id)
		}
	}
	if n != len(want) || len(got) != len(want) {
		t.Errorf("%d rows, %d distinct; want %d", n, len(got), len(want))
	}
	for _, msg := range []string{"poller standby: another poller holds the leader lock", "poller leadership released"} {
		if _, _, ok := b.logLine(msg); !ok {
			t.Errorf("b did not log %q", msg)
		}
	}
	if _, line, ok := b.logLine("poller standby: another poller holds the leader lock"); ok && !strings.Contains(line, `"leader":"ghevents poller `) {
		t.Errorf("the standby's line does not name the leader: %s", line)
	}
}
