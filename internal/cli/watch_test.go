package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/config"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// `ghevents poll` with GITHUB_WATCH: a watched repository's and a watched
// organisation's feeds are polled beside the public one, from the same
// fake GitHub (resolved against GITHUB_EVENTS_URL), each with its own
// state: their events are all stored, with source watch, though the
// firehose never showed them; per-feed series and last rounds are on
// /internal/metrics and /readyz. With GITHUB_FIREHOSE=false the public
// feed is not asked at all.
func TestPollWatchesRepositoriesAndOrganisations(t *testing.T) {
	t.Parallel()
	firehose := githubtest.EventsPages(t)[:2]
	user := githubtest.UserPages(t)
	repoPages, orgPages := user[:3], user[3:5]
	wantFirehose, _ := githubtest.Identities(t, firehose...)
	wantRepo, _ := githubtest.Identities(t, repoPages...)
	wantOrg, _ := githubtest.Identities(t, orgPages...)
	watched := map[githubtest.Identity]bool{}
	for id := range wantRepo {
		watched[id] = true
	}
	for id := range wantOrg {
		watched[id] = true
	}
	for id := range watched {
		if wantFirehose[id] {
			t.Fatalf("the test's feeds overlap: %v", id)
		}
	}

	for _, withFirehose := range []bool{true, false} {
		t.Run(fmt.Sprintf("firehose=%v", withFirehose), func(t *testing.T) {
			t.Parallel()
			srv := githubtest.NewServer(t, githubtest.Options{Pages: firehose, Feeds: map[string][][]byte{
				"/repos/octo/hello/events": repoPages, "/orgs/acme/events": orgPages,
			}})
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
			go func() {
				done <- run(ctx, []string{"poll"}, []string{
					"DATABASE_URL=" + dbURL, "GITHUB_EVENTS_URL=" + srv.EventsURL().String(), "GITHUB_TOKEN=ghp_x",
					"GITHUB_WATCH=repo:octo/hello,org:acme", fmt.Sprintf("GITHUB_FIREHOSE=%v", withFirehose),
					"POLL_INTERVAL=1h", "POLL_FAILOVER=1s", "POLL_METRICS_ADDR=" + addr, "LOG_FORMAT=json",
				}, &stdout, &stderr)
			}()
			wantWatch := len(watched)
			wantFire := 0
			if withFirehose {
				wantFire = len(wantFirehose)
			}
			lines := []string{
				fmt.Sprintf(`ghevents_poller_feed_events_stored_total{feed="repo:octo/hello"} %d`, len(wantRepo)),
				fmt.Sprintf(`ghevents_poller_feed_events_stored_total{feed="org:acme"} %d`, len(wantOrg)),
				`ghevents_poller_feed_rounds_total{feed="repo:octo/hello",outcome="ok"} 1`,
				`ghevents_poller_feed_rounds_total{feed="org:acme",outcome="ok"} 1`,
				`ghevents_poller_feed_wait_seconds{feed="repo:octo/hello"} 3600`,
				`ghevents_poller_feed_wait_seconds{feed="org:acme"} 3600`,
				fmt.Sprintf("ghevents_poller_events_stored_total %d", wantWatch+wantFire),
			}
			if withFirehose {
				lines = append(lines, fmt.Sprintf(`ghevents_poller_feed_events_stored_total{feed="firehose"} %d`, wantFire))
			}
			scrapeUntil(t, "http://"+addr+"/internal/metrics", lines...)

			rows, err := pool.Query(ctx, `SELECT id::text, created_at, source::text FROM events`)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id githubtest.Identity
				var src string
				var at time.Time
				if err := rows.Scan(&id.ID, &at, &src); err != nil {
					t.Fatal(err)
				}
				id.CreatedAt = at.UTC().Format(time.RFC3339)
				n++
				switch {
				case watched[id] && src == "watch", withFirehose && wantFirehose[id] && src == "firehose":
				default:
					t.Errorf("stored %v with source %s", id, src)
				}
			}
			if n != wantWatch+wantFire {
				t.Errorf("%d events stored, want %d", n, wantWatch+wantFire)
			}
			_, body := get("http://" + addr + "/readyz")
			for _, f := range []string{"repo:octo/hello last round ", "org:acme last round ", "Z, then a wait of 1h0m0s (poll-interval)"} {
				if !strings.Contains(body, f) {
					t.Errorf("/readyz lacks %q: %s", f, body)
				}
			}
			paths := map[string]int{}
			for _, r := range srv.Requests() {
				paths[strings.SplitN(r.URL, "?", 2)[0]]++
			}
			wantPaths := map[string]int{"/repos/octo/hello/events": 3, "/orgs/acme/events": 2}
			if withFirehose {
				wantPaths["/events"] = 2
			}
			if fmt.Sprint(paths) != fmt.Sprint(wantPaths) {
				t.Errorf("requests by path %v, want %v", paths, wantPaths)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr.String())
			}
		})
	}

	var stdout, errOut testkit.Buffer
	if code := run(context.Background(), []string{"poll"}, []string{"GITHUB_WATCH=repo:octo/hello,repo:bad"}, &stdout, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), `invalid GITHUB_WATCH="repo:bad"`) {
		t.Errorf("a bad entry: exit %d\n%s", code, errOut.String())
	}
}

// Without a token, polling more feeds than 60 requests an hour allow (one
// request a round, a round a minute at least) is warned about at start.
func TestWarnWithoutToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  []string
		want string // "" for no warning
	}{
		{[]string{}, ""}, // the public feed alone: 60 an hour
		{[]string{"GITHUB_WATCH=repo:octo/hello"}, "feeds=2 requests_per_hour=120 poll_interval=1m0s"},
		{[]string{"GITHUB_WATCH=repo:octo/hello,org:acme", "POLL_INTERVAL=2m"}, "feeds=3 requests_per_hour=90 poll_interval=2m0s"},
		{[]string{"GITHUB_WATCH=repo:octo/hello", "POLL_INTERVAL=2m"}, ""},                                                 // 60
		{[]string{"GITHUB_WATCH=repo:octo/hello,org:acme", "GITHUB_FIREHOSE=false", "POLL_INTERVAL=2m"}, ""},               // 60
		{[]string{"GITHUB_WATCH=repo:octo/hello", "POLL_INTERVAL=10s"}, "feeds=2 requests_per_hour=120 poll_interval=10s"}, // X-Poll-Interval: 60 s at least
		{[]string{"GITHUB_WATCH=repo:octo/hello,org:acme", "GITHUB_TOKEN=ghp_x"}, ""},
	}
	for _, c := range cases {
		cfg, err := config.Load(c.env)
		if err != nil {
			t.Fatal(err)
		}
		var logs testkit.Buffer
		a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(&logs, nil))}
		feeds := len(cfg.GitHubWatch.Entries)
		if cfg.GitHubFirehose {
			feeds++
		}
		a.warnTokenless(feeds)
		got := logs.String()
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, "without GITHUB_TOKEN the feeds cannot all be polled") || !strings.Contains(got, c.want) {
			t.Errorf("%v: logged %q, want %q", c.env, got, c.want)
		}
	}
}
