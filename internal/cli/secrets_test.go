package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/faultproxy"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// secretRole creates a login role with a password that may use the test
// database db (it inherits the privileges of the database's owner), and
// returns its name and password. It is dropped when the test ends.
func secretRole(t *testing.T, db *url.URL) (role, password string) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	role = "ghevents_secret_" + hex.EncodeToString(b)
	_, _ = rand.Read(b)
	password = "Pw-" + hex.EncodeToString(b) + "-never-shown"
	admin, err := pgx.Connect(ctx, testdb.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	owner := db.User.Username()
	for _, q := range []string{
		"CREATE ROLE " + pgx.Identifier{role}.Sanitize() + " LOGIN PASSWORD '" + password + "'",
		"GRANT " + pgx.Identifier{owner}.Sanitize() + " TO " + pgx.Identifier{role}.Sanitize(),
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testdb.ServerURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		// Its sessions first: DROP ROLE refuses a role still connected.
		_, _ = c.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		if _, err := c.Exec(context.Background(), "DROP ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	return role, password
}

// leaks reports which of the secrets text holds, as sent or URL-encoded.
func leaks(text string, secrets ...string) []string {
	var found []string
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), s[len(s)/2:]} {
			if strings.Contains(text, form) {
				found = append(found, form)
			}
		}
	}
	return found
}

// `ghevents poll` and `ghevents run` with a GitHub token and a database
// password (a real role with LOGIN PASSWORD, reached through a TCP proxy
// that the test cuts to provoke the database errors): neither secret, nor
// its URL-encoded form, nor its second half, appears in any log line
// (debug level, text and JSON), in any HTTP answer (metrics, a 422, the
// 503s while the database is away, /readyz ok and unavailable,
// /internal/metrics of run and of poll's POLL_METRICS_ADDR), or in the
// errors of a start that cannot connect.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	testEnd, _ := ctx.Deadline()
	defer cancel()
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	token := "ghp_" + hex.EncodeToString(b)

	dbu, err := url.Parse(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	role, password := secretRole(t, dbu)
	px := faultproxy.New(t, dbu.Host)
	withPassword := *dbu
	withPassword.User = url.UserPassword(role, password)
	withPassword.Host = px.Addr()
	q := withPassword.Query()
	q.Set("connect_timeout", "2")
	withPassword.RawQuery = q.Encode()
	dbURL := withPassword.String()

	pages := githubtest.EventsPages(t)[:3]
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	// Faults whose errors name the request: a 401 and a 500 on page 1.
	srv.Push(githubtest.Reply{Page: 1, Status: 401, Body: `{"message":"Bad credentials"}`}, githubtest.ServerError(1))
	base := []string{"DATABASE_URL=" + dbURL, "GITHUB_EVENTS_URL=" + srv.EventsURL().String(), "GITHUB_TOKEN=" + token,
		"POLL_INTERVAL=1s", "LOG_LEVEL=debug"}
	var seen strings.Builder

	// 1. poll (JSON logs, its own /internal/metrics and /readyz): two
	// failed rounds, one stored, a database outage.
	metricsAddr := testkit.FreeAddr(t)
	scrapePoller := func() {
		for _, p := range []string{"/internal/metrics", "/readyz"} {
			resp, err := http.Get("http://" + metricsAddr + p)
			if err != nil {
				t.Errorf("poller %s: %v", p, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if p == "/internal/metrics" && (resp.StatusCode != 200 || !strings.Contains(string(b), "# HELP ghevents_")) {
				t.Errorf("poller %s: %d, no ghevents metrics", p, resp.StatusCode)
			}
			seen.Write(b)
		}
	}
	var stdout, stderr testkit.Buffer
	pctx, stopPoll := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- run(pctx, []string{"poll"}, append(base, "LOG_FORMAT=json", "POLL_METRICS_ADDR="+metricsAddr), &stdout, &stderr)
	}()
	testkit.WaitFor(t, time.Until(testEnd), "a round stored", func() bool { return strings.Contains(stderr.String(), `"msg":"poll round"`) })
	scrapePoller()
	px.Cut()
	srv.Push(githubtest.ServerError(1)) // the next round fails, its retry waits; meanwhile the database is away
	time.Sleep(1500 * time.Millisecond)
	scrapePoller()
	px.Restore()
	stopPoll()
	if code := <-done; code != 0 {
		t.Fatalf("poll exited with %d:\n%s", code, stderr.String())
	}
	for _, want := range []string{"401 Unauthorized", "500 Internal Server Error"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("poll logs lack %q: the faults were not seen", want)
		}
	}
	seen.WriteString(stdout.String() + stderr.String())

	// 2. run (text logs): serve, answer, lose the database, answer again.
	addr := testkit.FreeAddr(t)
	var rout, rerr testkit.Buffer
	rctx, stopRun := context.WithCancel(ctx)
	go func() {
		done <- run(rctx, []string{"run"}, append(base, "HTTP_ADDR="+addr, "LOG_FORMAT=text"), &rout, &rerr)
	}()
	fetch := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		head := ""
		for k, v := range resp.Header {
			head += k + ": " + strings.Join(v, ",") + "\n"
		}
		return resp.StatusCode, head + string(body)
	}
	testkit.WaitFor(t, time.Until(testEnd), "the server ready", func() bool { s, _ := fetch("/readyz"); return s == 200 })
	paths := []string{"/readyz", "/internal/metrics", "/metrics/event-avg-time?event_type=PushEvent",
		"/metrics/events-total-count?offset=60", "/metrics/multiple-events-repos?event_type=PushEvent",
		"/visualization/events-total-count?offset=60", "/metrics/events-total-count?offset=-1", "/healthz"}
	statuses := map[string][]int{}
	for _, phase := range []string{"up", "away", "back"} {
		switch phase {
		case "away":
			px.Cut()
		case "back":
			px.Restore()
			time.Sleep(200 * time.Millisecond)
		}
		for _, p := range paths {
			s, body := fetch(p)
			statuses[phase] = append(statuses[phase], s)
			seen.WriteString(body)
		}
	}
	stopRun()
	if code := <-done; code != 0 {
		t.Fatalf("run exited with %d:\n%s", code, rerr.String())
	}
	seen.WriteString(rout.String() + rerr.String())
	// readyz, metrics, 3 metrics, a chart, a 422, healthz.
	if want := []int{503, 200, 503, 503, 503, 503, 422, 200}; !slices.Equal(statuses["away"], want) {
		t.Errorf("statuses with the database away %v, want %v", statuses["away"], want)
	}
	if want := []int{200, 200, 200, 200, 200, 200, 422, 200}; !slices.Equal(statuses["up"], want) || !slices.Equal(statuses["back"], want) {
		t.Errorf("statuses up %v, back %v, want %v", statuses["up"], statuses["back"], want)
	}

	// 3. Starts that cannot connect: nothing listens; a URL that does not parse.
	closed := testkit.FreeAddr(t)
	down := withPassword
	down.Host = closed
	for _, env := range [][]string{
		{"DATABASE_URL=" + down.String(), "GITHUB_TOKEN=" + token},
		{"DATABASE_URL=postgres://" + role + ":" + password + "@127.0.0.1:notaport/db", "GITHUB_TOKEN=" + token},
		{"DATABASE_URL=" + down.String(), "DATABASE_READ_URL=" + down.String(), "GITHUB_TOKEN=" + token, "LOG_FORMAT=json"},
	} {
		for _, cmd := range []string{"poll", "run", "serve", "migrate", "stats"} {
			code, out, errOut := runCLI(t, env, cmd)
			if code == 0 {
				t.Errorf("%s with an unreachable database exited 0", cmd)
			}
			seen.WriteString(out + errOut)
		}
	}

	all := seen.String()
	// The places a password would show: the database URL, logged (as
	// postgres://role@host...), and the driver's connection errors.
	if len(all) < 10_000 || !strings.Contains(all, "database unavailable") || !strings.Contains(all, "postgres://"+role+"@") ||
		!strings.Contains(all, "failed to connect to `user="+role) {
		t.Fatalf("only %d bytes captured, or no database URL or connection error among them: the check proves little", len(all))
	}
	if found := leaks(all, token, password); len(found) > 0 {
		t.Fatalf("secrets shown: %q", found)
	}
	t.Logf("%d bytes of logs and answers checked: no secret", len(all))
}
