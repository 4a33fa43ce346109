package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/faultproxy"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// buildBinary builds ghevents into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ghevents")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// `ghevents poll` is killed with SIGKILL while it stores a page, then
// started again. The fake GitHub serves the recorded 8-page walk of a
// user's events (227 events, all distinct); every statement to PostgreSQL
// waits 150 ms in a TCP proxy, so a page takes a while to store. With one
// insert worker, pages are stored in order, each in one statement: once
// what the dead process had sent has reached the server (a statement that
// arrived whole commits, one cut short is rolled back), the table holds
// exactly the events of pages 1..k, for some k between 1 and 7, nothing of
// a page in part and nothing twice. The restarted
// poller (no saved ETag: no round was complete) reads every page again and
// stores the rest: then the table holds the 227 events once each, and the
// summary tables agree.
func TestKilledMidBatchThenRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildBinary(t)
	pages := githubtest.UserPages(t)
	perPage := make([]map[githubtest.Identity]bool, len(pages))
	for i, p := range pages {
		perPage[i], _ = githubtest.Identities(t, p)
	}
	all, _ := githubtest.Identities(t, pages...)
	if len(all) != 227 {
		t.Fatalf("%d distinct events served, want 227", len(all))
	}
	// No X-Poll-Interval and a large rate limit: the rounds follow POLL_INTERVAL.
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages, PollInterval: -1, RateLimit: 1_000_000})

	dbURL := testdb.URL(t)
	direct, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faultproxy.New(t, u.Host)
	env := append(os.Environ(),
		"DATABASE_URL="+px.MustURL(t, dbURL),
		"GITHUB_EVENTS_URL="+srv.EventsURL().String(),
		"GITHUB_TOKEN=ghp_KillTestToken0000000000000000000000",
		"POLL_INTERVAL=1s", "POLL_WORKERS=1", "LOG_FORMAT=json", "LOG_LEVEL=debug", "SHUTDOWN_GRACE=30s")
	start := func(logs *testkit.Buffer) *exec.Cmd {
		cmd := exec.Command(bin, "poll")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	count := func() int {
		var n int
		if err := direct.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, cond func() bool, logs *testkit.Buffer) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Run 1: slow inserts; SIGKILL once the first page is stored, while
	// the next is on its way.
	px.SetDelay(150 * time.Millisecond)
	var logs1 testkit.Buffer
	cmd := start(&logs1)
	waitFor("the first page stored", func() bool { return count() >= len(perPage[0]) }, &logs1)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Its connections go down with it, as when its machine dies: the
	// statement in flight reaches the server cut short and is rolled back.
	// (Without the cut, the proxy delivers what the process had sent, as a
	// network would, and a statement that arrives whole commits; either
	// way the table holds whole pages.)
	px.Cut()
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the poller ended with %v, not by SIGKILL", err)
	}
	fetched := len(srv.Requests())
	// What the process sent before it died still reaches PostgreSQL (the
	// proxy, like a network, delivers the bytes in flight): a statement
	// that arrived whole commits, one cut short is rolled back. The state
	// after the kill is the state once the proxy has nothing left and no
	// session of the dead process is left on the server.
	waitFor("the dead process's connections to drain", func() bool {
		var n int
		if err := direct.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'ghevents poll'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return px.Stats().Live == 0 && n == 0
	}, &logs1)
	got, _ := githubtest.StoredIdentities(t, direct)
	k := 0
	for k < len(perPage) {
		in := 0
		for id := range perPage[k] {
			if got[id] > 0 {
				in++
			}
		}
		if in == 0 {
			break
		}
		if in != len(perPage[k]) {
			t.Fatalf("page %d is stored in part: %d of %d events", k+1, in, len(perPage[k]))
		}
		k++
	}
	want := 0
	for i := range k {
		want += len(perPage[i])
	}
	if len(got) != want || k < 1 || k >= len(perPage) {
		t.Fatalf("after the kill: %d events stored, pages 1..%d hold %d; want a proper prefix of the 8 pages", len(got), k, want)
	}
	for id, n := range got {
		if n != 1 || !all[id] {
			t.Fatalf("after the kill: %v stored %d times (served: %v)", id, n, all[id])
		}
	}
	t.Logf("killed after %d requests with pages 1..%d (%d events) stored", fetched, k, want)

	// Run 2: normal speed; it fills the rest, then stops on SIGTERM.
	px.SetDelay(0)
	px.Restore()
	var logs2 testkit.Buffer
	cmd = start(&logs2)
	waitFor("every event stored", func() bool { return count() == len(all) }, &logs2)
	waitFor("a round logged", func() bool { return strings.Contains(logs2.String(), `"msg":"poll round"`) }, &logs2)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the restarted poller exited with %v:\n%s", err, logs2.String())
	}
	got, _ = githubtest.StoredIdentities(t, direct)
	if len(got) != len(all) {
		t.Fatalf("after the restart: %d events stored, want %d", len(got), len(all))
	}
	for id, n := range got {
		if n != 1 || !all[id] {
			t.Fatalf("after the restart: %v stored %d times (served: %v)", id, n, all[id])
		}
	}
	var summary int
	if err := direct.QueryRow(ctx, `SELECT coalesce(sum(events), 0)::int FROM event_type_counts`).Scan(&summary); err != nil {
		t.Fatal(err)
	}
	if summary != len(all) {
		t.Fatalf("event_type_counts sums to %d, want %d", summary, len(all))
	}
	// The first round of the restarted poller found pages 1..k stored.
	if !strings.Contains(logs2.String(), fmt.Sprintf(`"duplicates":%d`, want)) {
		t.Errorf("the restarted poller's first round does not report %d duplicates:\n%s", want, logs2.String())
	}
	if strings.Contains(logs1.String()+logs2.String(), "KillTestToken") {
		t.Errorf("the token appears in the logs")
	}
}
