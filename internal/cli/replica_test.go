package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/replica"
)

// answer is one HTTP answer.
type answer struct {
	status int
	ctype  string
	etag   string
	body   string
}

func fetch(t *testing.T, u string) answer {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("ETag"), string(b)}
}

// replicaDown is the answer of every metric while the replica is away.
const replicaDown = `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the database is unavailable; try again shortly"}` + "\n"

// TestServeFromAStreamingReplica: PostgreSQL's own replication, a primary
// and a streaming hot standby. The importer (the GH Archive hour) and the
// poller (`ghevents run`, polling the fake GitHub) write on the primary;
// the API of that same `ghevents run` reads from the standby
// (DATABASE_READ_URL), and a `ghevents serve` on the primary alone is the
// reference. Once the standby has replayed the primary's WAL position,
// every metric answer (body and ETag) equals the primary's. /readyz and
// /internal/metrics report the lag: 0 once replayed; with replay paused
// behind a write, the age of the last transaction replayed. The standby
// stopped: every metric answers 503 problem+json, /readyz 503; restarted
// on its port, the same requests answer 200 with the primary's numbers
// again (a write made meanwhile included), nothing restarted in ghevents.
func TestServeFromAStreamingReplica(t *testing.T) {
	t.Parallel()
	pair := replica.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The GH Archive hour, imported on the primary.
	const hour = "../../testdata/github/gharchive-2015-01-01-0.json.gz"
	var stdout, stderr testkit.Buffer
	if code := run(ctx, []string{"import", hour}, []string{"DATABASE_URL=" + pair.PrimaryURL()}, &stdout, &stderr); code != exitOK ||
		!strings.Contains(stdout.String(), "events read 7702, stored 7702, duplicates 0") {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}

	// ghevents run: polls into the primary, serves from the standby.
	pages := githubtest.EventsPages(t)
	polled, _ := githubtest.Identities(t, pages...)
	gh := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	onReplica, onPrimary := "http://"+testkit.FreeAddr(t), "http://"+testkit.FreeAddr(t)
	start := func(name string, args, environ []string) {
		var stderr testkit.Buffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, append(environ, "LOG_FORMAT=json"), io.Discard, &stderr) }()
		t.Cleanup(func() {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("%s: exit status %d:\n%s", name, code, stderr.String())
			}
		})
	}
	start("run", []string{"run"}, []string{
		"DATABASE_URL=" + pair.PrimaryURL(), "DATABASE_READ_URL=" + pair.StandbyURL(),
		"GITHUB_EVENTS_URL=" + gh.EventsURL().String(), "POLL_INTERVAL=1h",
		// Leadership checks get POLL_FAILOVER/5: 1 s, so that a loaded machine
		// does not turn the only poller into a standby under the test.
		"POLL_FAILOVER=5s",
		"HTTP_ADDR=" + strings.TrimPrefix(onReplica, "http://"),
	})
	start("serve", []string{"serve"}, []string{"DATABASE_URL=" + pair.PrimaryURL(), "HTTP_ADDR=" + strings.TrimPrefix(onPrimary, "http://")})

	// Everything stored on the primary: the hour and every distinct event
	// polled (they are years apart: none is both).
	stored := 7702 + len(polled)
	const everything = "/metrics/events-total-count?offset=3153600000"
	const theHour = "/metrics/events-total-count?offset=3600&until=2015-01-01T01:00:00Z"
	testkit.WaitFor(t, time.Minute, "the primary to hold the hour and the polled events", func() bool {
		resp, err := http.Get(onPrimary + everything)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct{ Total int }
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&body) == nil && body.Total == stored
	})

	// The requests compared: every metric, with and without its filters,
	// on the busiest repositories.
	var top struct {
		Repositories []struct {
			RepositoryName string `json:"repository_name"`
		}
	}
	if a := fetch(t, onPrimary+"/metrics/multiple-events-repos?event_type=PushEvent&limit=1"); a.status != 200 || json.Unmarshal([]byte(a.body), &top) != nil || len(top.Repositories) != 1 {
		t.Fatalf("top repository on the primary: %+v", a)
	}
	repo := url.QueryEscape(top.Repositories[0].RepositoryName)
	paths := []string{everything, everything + "&action=opened", everything + "&repository_name=" + repo, "/metrics/events-total-count?offset=3600",
		"/metrics/multiple-events-repos?event_type=PushEvent&minimal_events_count=1&limit=10000",
		"/metrics/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1&limit=10000",
		"/metrics/multiple-events-repos?event_type=IssuesEvent",
		// The GH Archive hour, by its own window (until), and the timelines.
		theHour, "/metrics/events-total-count?offset=1800&until=2015-01-01T00:30:00Z&action=started",
		"/metrics/multiple-events-repos?event_type=PushEvent&offset=3600&until=2015-01-01T01:00:00Z",
		"/metrics/events-timeline?offset=3600&bucket=minute&until=2015-01-01T01:00:00Z",
		"/metrics/events-timeline?offset=3600&bucket=minute&until=2015-01-01T01:00:00Z&event_type=PushEvent",
		"/metrics/events-timeline?offset=172800000&bucket=day&until=2020-01-01T00:00:00Z",
		"/metrics/events-timeline?offset=86400&bucket=hour"}
	for _, typ := range model.EventTypes {
		paths = append(paths, "/metrics/event-avg-time?event_type="+typ, "/metrics/event-avg-time?event_type="+typ+"&repository_name="+repo)
	}
	paths = append(paths, "/metrics/event-avg-time?event_type=IssuesEvent&action=opened", "/metrics/event-avg-time?event_type=PullRequestEvent&action=closed")

	// same checks every answer of the replica equals the primary's. The
	// window of events-total-count starts at each server's current second:
	// a pair of requests that straddles a second is asked again.
	same := func(phase string) {
		t.Helper()
		for _, p := range paths {
			var r, q answer
			for range 3 {
				r, q = fetch(t, onReplica+p), fetch(t, onPrimary+p)
				if r == q {
					break
				}
			}
			if r.status != 200 || r != q {
				t.Fatalf("%s: %s on the replica: %+v\non the primary: %+v", phase, p, r, q)
			}
		}
	}
	total := func(base string) int {
		t.Helper()
		var body struct{ Total int }
		if a := fetch(t, base+everything); a.status != 200 || json.Unmarshal([]byte(a.body), &body) != nil {
			t.Fatalf("%s%s: %+v", base, everything, a)
		}
		return body.Total
	}
	readyz := func(lag string) string {
		return `{"checks":{"database":"ok","leadership":"leader","poller":"ok"},"replica_lag_seconds":` + lag + `,"status":"ok"}` + "\n"
	}
	caughtUp := func(phase string) {
		t.Helper()
		pair.WaitReplayed(t, time.Minute)
		same(phase)
		// Replayed all it received: lag 0 (a background write of the
		// primary, such as autovacuum's, may be in flight a moment).
		testkit.WaitFor(t, 30*time.Second, phase+": /readyz to report a lag of 0", func() bool {
			return fetch(t, onReplica+"/readyz") == answer{200, "application/json", "", readyz("0")}
		})
		scrapeUntil(t, onReplica+"/internal/metrics", "ghevents_replica_lag_seconds 0")
	}
	caughtUp("after the import and the poll")
	if a := fetch(t, onReplica+theHour); a.status != 200 || !strings.Contains(a.body, `"total":7702}`) {
		t.Fatalf("the GH Archive hour on the replica: %+v, want its 7702 events", a)
	}
	t.Logf("%d metric requests compared; %d events stored (%d polled)", len(paths), stored, len(polled))
	if n := total(onReplica); n != stored {
		t.Fatalf("total on the replica %d, want %d", n, stored)
	}

	// One more event on the primary, with replay paused on the standby: it
	// is received, not replayed. The replica answers as of its replay
	// position, and its lag is the age of the last transaction replayed.
	s, err := store.Open(ctx, pair.PrimaryURL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	insert := func(id int64) {
		t.Helper()
		if _, err := s.InsertEvents(ctx, []model.Event{{ID: id, Type: "PushEvent", RepoID: 1, RepoName: "replica/test",
			CreatedAt: time.Now().UTC().Truncate(time.Second).Add(-time.Minute)}}); err != nil {
			t.Fatal(err)
		}
	}
	pair.Exec(t, "SELECT pg_wal_replay_pause()")
	testkit.WaitFor(t, 30*time.Second, "replay to pause", func() bool {
		return pair.StandbyText(t, "SELECT pg_get_wal_replay_pause_state()") == "paused"
	})
	insert(1)
	pair.WaitReceived(t, 30*time.Second)
	lastReplayed, err := time.Parse(time.RFC3339Nano, pair.StandbyText(t,
		`SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`))
	if err != nil {
		t.Fatal(err)
	}
	within := func(what string, got float64, before, after time.Time) {
		t.Helper()
		lo, hi := before.Sub(lastReplayed).Seconds()-1e-6, after.Sub(lastReplayed).Seconds()+1e-6
		if got < lo || got > hi || got <= 0 {
			t.Errorf("%s = %v, want the age of the last transaction replayed (%s), between %v and %v", what, got, lastReplayed, lo, hi)
		}
	}
	before := time.Now()
	a := fetch(t, onReplica+"/readyz")
	after := time.Now()
	var ready struct {
		Status string
		Lag    *float64 `json:"replica_lag_seconds"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ready) != nil || ready.Status != "ok" || ready.Lag == nil {
		t.Fatalf("/readyz with replay paused: %+v", a)
	}
	within("replica_lag_seconds", *ready.Lag, before, after)
	before = time.Now()
	metrics := fetch(t, onReplica+"/internal/metrics").body
	after = time.Now()
	var gauge float64
	n := 0
	for line := range strings.SplitSeq(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, "ghevents_replica_lag_seconds "); ok {
			gauge, err = strconv.ParseFloat(v, 64)
			n++
		}
	}
	if n != 1 || err != nil {
		t.Fatalf("ghevents_replica_lag_seconds: %d lines (%v) in\n%s", n, err, metrics)
	}
	within("ghevents_replica_lag_seconds", gauge, before, after)
	if got, primary := total(onReplica), total(onPrimary); got != stored || primary != stored+1 {
		t.Fatalf("with replay paused the replica answers %d events, want %d (its replay position); the primary %d, want %d", got, stored, primary, stored+1)
	}
	t.Logf("replay paused: lag %.6f s in /readyz, %.6f s in the gauge", *ready.Lag, gauge)
	pair.Exec(t, "SELECT pg_wal_replay_resume()")
	stored++
	caughtUp("after replay resumed")
	if n := total(onReplica); n != stored {
		t.Fatalf("total on the replica %d, want %d", n, stored)
	}

	// The standby goes away: 503 problem+json for every metric, never a
	// number; /readyz 503, its lag null; the gauge absent.
	pair.StopStandby(t)
	for _, p := range paths {
		if a := fetch(t, onReplica+p); a != (answer{503, "application/problem+json", "", replicaDown}) {
			t.Fatalf("standby stopped: %s answered %+v", p, a)
		}
	}
	down := `{"checks":{"database":"read replica unreachable","leadership":"leader","poller":"ok"},"replica_lag_seconds":null,"status":"unavailable"}` + "\n"
	if a := fetch(t, onReplica+"/readyz"); a != (answer{503, "application/json", "", down}) {
		t.Fatalf("standby stopped: /readyz answered %+v", a)
	}
	if a := fetch(t, onReplica+"/internal/metrics"); a.status != 200 || strings.Contains(a.body, "\nghevents_replica_lag_seconds ") {
		t.Fatalf("standby stopped: /internal/metrics %d, with the lag gauge:\n%s", a.status, a.body)
	}
	// The primary goes on meanwhile.
	insert(2)
	stored++

	// Back on the same port: the same requests answer again, by themselves.
	pair.StartStandby(t)
	pair.WaitReplayed(t, time.Minute)
	testkit.WaitFor(t, 30*time.Second, "the replica's answers to come back", func() bool {
		a := fetch(t, onReplica+everything)
		if a.status != 200 && a != (answer{503, "application/problem+json", "", replicaDown}) {
			t.Fatalf("standby restarting: %s answered %+v", everything, a)
		}
		return a.status == 200
	})
	caughtUp("after the standby came back")
	if n := total(onReplica); n != stored || n != total(onPrimary) {
		t.Fatalf("total on the replica %d, want %d", n, stored)
	}
}
