package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

func runCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, env, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestConfigErrorsExitTwoWithOneLineEach(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, []string{"POLL_INTERVAL=abc", "POLL_WORKERS=-1", "GITHUB_TOKEN=ghp_topsecret",
		"DATABASE_URL=postgres://u:hunter2@h:x/db"}, "serve")
	if code != 2 {
		t.Fatalf("exit status %d, want 2", code)
	}
	want := "ghevents: invalid DATABASE_URL (value not shown): expected a PostgreSQL URL such as postgres://user:pass@host:5432/db\n" +
		"ghevents: invalid POLL_WORKERS=\"-1\": expected a whole number from 1 to 64\n" +
		"ghevents: invalid POLL_INTERVAL=\"abc\": expected a duration of at least 1s, such as 60s or 2m\n"
	if stderr != want || stdout != "" {
		t.Fatalf("stderr:\n%s\nwant:\n%s\nstdout: %q", stderr, want, stdout)
	}
	if strings.Contains(stderr, "hunter2") || strings.Contains(stderr, "ghp_topsecret") {
		t.Fatal("a secret was printed")
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	if code, out, _ := runCLI(t, nil); code != 2 || !strings.Contains(out, "Usage: ghevents COMMAND") {
		t.Errorf("no arguments: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	for _, c := range commands() {
		code, out, _ := runCLI(t, nil, c.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: ghevents "+c.name) {
			t.Errorf("%s --help: %d %q", c.name, code, out)
		}
	}
	if code, _, errOut := runCLI(t, nil, "migrate", "--bogus"); code != 2 || !strings.Contains(errOut, "flag provided but not defined: -bogus") {
		t.Errorf("bad flag: %d %q", code, errOut)
	}
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || out != "ghevents dev\n" {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestMigrateUpStatusDown(t *testing.T) {
	t.Parallel()
	latest, err := store.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + testdb.Empty(t), "LOG_LEVEL=warn"}
	code, out, errOut := runCLI(t, env, "migrate", "status")
	if code != 0 || !regexp.MustCompile(`001_create_events.sql +pending`).MatchString(out) ||
		!strings.Contains(out, fmt.Sprintf("schema version 0 of %d", latest)) {
		t.Fatalf("status on an empty database: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "migrate", "up")
	if code != 0 || strings.Contains(out, "pending") || !strings.Contains(out, fmt.Sprintf("schema version %d of %d", latest, latest)) {
		t.Fatalf("up: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "migrate", "down")
	if code != 0 || strings.Count(out, "pending") != 1 || !strings.Contains(out, fmt.Sprintf("schema version %d of %d", latest-1, latest)) {
		t.Fatalf("down: %d\n%s", code, out)
	}
	// A command that needs the current schema refuses the old one.
	code, _, errOut = runCLI(t, env, "stats")
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("schema is at version %d but this ghevents needs version %d: run `ghevents migrate up`", latest-1, latest)) {
		t.Fatalf("stats on an old schema: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, env, "migrate", "sideways"); code != 2 || !strings.Contains(errOut, `unknown action "sideways"`) {
		t.Fatalf("bad action: %d %q", code, errOut)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	if code, _, errOut := runCLI(t, nil, "healthcheck", "--url", ok.URL+"/healthz"); code != 0 {
		t.Fatalf("healthy: %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, nil, "healthcheck", "--url", ok.URL+"/nope"); code != 1 {
		t.Fatalf("404 answered: exit %d, want 1", code)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ok.URL, "http://"))
	if code, _, errOut := runCLI(t, []string{"HTTP_ADDR=:" + port}, "healthcheck"); code != 0 {
		t.Fatalf("URL from HTTP_ADDR: %d %s", code, errOut)
	}
}

// DATABASE_URL may carry pgxpool's settings, which the pools read: the
// migrations' single connection must leave them out. It used to send them
// to PostgreSQL, which refused ("unrecognized configuration parameter
// pool_max_conns"), so migrate and run failed with such a URL.
func TestPoolSettingsInDatabaseURL(t *testing.T) {
	t.Parallel()
	latest, err := store.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + testdb.Empty(t) + "&pool_max_conns=3&pool_max_conn_idle_time=5s&pool_health_check_period=1s", "LOG_LEVEL=warn"}
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "status"}, {"stats"}} {
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, code, out, errOut)
		}
		if args[0] == "migrate" && !strings.Contains(out, fmt.Sprintf("schema version %d of %d", latest, latest)) {
			t.Fatalf("%v: %s", args, out)
		}
	}
}

// Every command that opens the store warns when the server does not run
// autovacuum, and only then: the warning's presence is checked against the
// setting read by a query of its own (the test server is whatever the
// machine runs; this one has it off).
func TestWarnsWhenAutovacuumIsOff(t *testing.T) {
	t.Parallel()
	url := testdb.New(t).Config().ConnString()
	var setting string
	if err := testdb.New(t).QueryRow(context.Background(), `SHOW autovacuum`).Scan(&setting); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, []string{"DATABASE_URL=" + url, "LOG_LEVEL=warn"}, "stats")
	if code != 0 {
		t.Fatalf("stats: %d %q", code, errOut)
	}
	warned := strings.Contains(errOut, "autovacuum is off on this PostgreSQL server")
	if warned != (setting == "off") {
		t.Fatalf("SHOW autovacuum = %s, warned %v:\n%s", setting, warned, errOut)
	}
	if warned && strings.Count(errOut, "autovacuum is off") != 1 {
		t.Fatalf("the warning is logged once per command:\n%s", errOut)
	}
}
