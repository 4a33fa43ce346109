package cli

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/github/githubtest"
	"github.com/ghevents/ghevents/internal/testdb"
)

// syncBuffer is a bytes.Buffer safe for the poller's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPollCommand(t *testing.T) {
	t.Parallel()
	const token = "ghp_CliTestTokenNeverShown0123456789"
	pages := githubtest.EventsPages(t)[:3]
	want, _ := githubtest.Identities(t, pages...)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	dbURL := testdb.URL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"poll"}, []string{
			"DATABASE_URL=" + dbURL, "GITHUB_EVENTS_URL=" + srv.EventsURL().String(), "GITHUB_TOKEN=" + token,
			"POLL_INTERVAL=1h", "LOG_FORMAT=json",
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
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	if strings.Contains(logs, token) || strings.Contains(logs, "CliTestToken") {
		t.Errorf("the token appears in the logs")
	}
	for _, s := range []string{`"msg":"poll round"`, `"stored":60`, `"duplicates":30`, `"why":"poll-interval"`, `"wait":3600000000000`, `"msg":"poller stopped"`, `"pages_left":0`} {
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
