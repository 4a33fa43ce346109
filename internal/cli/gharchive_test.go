package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// `ghevents poll` with GHARCHIVE_FOLLOW=true: the leader polls the Events
// API and follows GH Archive from the last complete hour (a fake mirror
// serving the real hour file for any recent hour); every event of both is
// stored once, with its source, and the follower shows on /readyz and
// /internal/metrics. A bad GHARCHIVE_SINCE stops the command with exit 2.
func TestPollFollowsGHArchive(t *testing.T) {
	t.Parallel()
	_, file, _, _ := runtime.Caller(0)
	hourFile, err := os.ReadFile(filepath.Join(filepath.Dir(file), "../../testdata/github/gharchive-2015-01-01-0.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	recent := map[string]bool{}
	for h := range 4 {
		at := time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(h) * time.Hour)
		recent["/"+at.Format("2006-01-02-")+strconv.Itoa(at.Hour())+".json.gz"] = true
	}
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !recent[r.URL.Path] {
			http.NotFound(w, r)
			return
		}
		w.Write(hourFile)
	}))
	defer mirror.Close()

	pages := githubtest.EventsPages(t)[:1]
	want, _ := githubtest.Identities(t, pages...)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	dbURL := testdb.URL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	addr := testkit.FreeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr testkit.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"poll"}, []string{
			"DATABASE_URL=" + dbURL, "GITHUB_EVENTS_URL=" + srv.EventsURL().String(),
			"GHARCHIVE_FOLLOW=true", "GHARCHIVE_URL=" + mirror.URL,
			"POLL_INTERVAL=1h", "POLL_FAILOVER=1s", "POLL_METRICS_ADDR=" + addr, "LOG_FORMAT=json",
		}, &stdout, &stderr)
	}()
	// The whole hour (7,702 events) under the race detector on a loaded
	// machine takes a while: wait for it longer than scrapeUntil does.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, body := get("http://" + addr + "/internal/metrics"); hasLine(body, "ghevents_gharchive_hours_imported_total 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no GH Archive hour imported in 2 minutes:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	metrics := scrapeUntil(t, "http://"+addr+"/internal/metrics", "ghevents_gharchive_hours_imported_total 1")
	for _, line := range []string{"ghevents_gharchive_gaps_total 0", "ghevents_gharchive_events_stored_total 7702"} {
		if !hasLine(metrics, line) {
			t.Errorf("/internal/metrics lacks %q", line)
		}
	}
	var archive, firehose int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE source = 'archive'), count(*) FILTER (WHERE source = 'firehose') FROM events`).Scan(&archive, &firehose); err != nil {
		t.Fatal(err)
	}
	if archive != 7702 || firehose != len(want) {
		t.Errorf("stored %d from the archive and %d from the firehose, want 7702 and %d", archive, firehose, len(want))
	}
	last := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	code, body := get("http://" + addr + "/readyz")
	if code != 200 || !strings.Contains(body, `"gharchive":"`+mirror.URL+`/: `) ||
		!strings.Contains(body, "1 hour imported, 0 gaps") || !strings.Contains(body, last.Format(time.RFC3339)) {
		t.Errorf("/readyz: %d %s", code, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr.String())
	}

	var errOut testkit.Buffer
	if code := run(context.Background(), []string{"poll"}, []string{"GHARCHIVE_SINCE=2014-06-01"}, &stdout, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), `invalid GHARCHIVE_SINCE="2014-06-01"`) {
		t.Errorf("GHARCHIVE_SINCE=2014-06-01: exit %d\n%s", code, errOut.String())
	}
}
