package bench

// The soak (make soak, issue 8): the real binary runs `ghevents run` on a
// copy of the generated data set of SOAK_EVENTS events (default 1,000,000)
// while, for SOAK_DURATION (default 3m):
//   - a load generator on loopback sends mixed metrics and chart requests
//     (SOAK_WORKERS workers, default 8);
//   - the poller polls a fake GitHub that serves 300 fresh events a second
//     (3 pages of 100, new every second);
//   - `ghevents import` imports generated GH Archive files, one after another.
// It reports requests, errors (there must be none), p50/p99, the server's
// RSS every 5 s, goroutines and database connections before and after, and
// writes the report to artifacts/soak/. Skipped unless GHEVENTS_SOAK=1.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/gen"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// Id ranges that keep the soak's writers apart from the data set (which
// starts at gen's default 30,000,000,000) and from each other.
const (
	importFirstID = 60_000_000_000
	pollFirstID   = 90_000_000_000
)

// freshFeed makes the fake GitHub serve new events: three pages of 100
// events with ids never served before, created now, replaced every
// 300/perSecond seconds (every second at the default 300 a second).
func freshFeed(ctx context.Context, srv *githubtest.Server, perSecond int64) {
	g := gen.New(gen.Options{Seed: 42, Events: 1 << 40, Start: time.Now(),
		Span: time.Duration(1<<40) * time.Millisecond, FirstID: pollFirstID, Repos: 100_000, Actors: 50_000})
	tick := time.NewTicker(time.Duration(float64(300*time.Second) / float64(max(perSecond, 1))))
	defer tick.Stop()
	for {
		now := time.Now().UTC().Truncate(time.Second)
		pages := make([][]byte, 3)
		for p := range pages {
			var b []byte
			b = append(b, '[')
			for i := range 100 {
				if i > 0 {
					b = append(b, ',')
				}
				line := g.AppendLine(nil)
				// The generator's time runs on its own: make the event fresh.
				var ev map[string]json.RawMessage
				if err := json.Unmarshal(line, &ev); err == nil {
					ev["created_at"], _ = json.Marshal(now.Format(time.RFC3339))
					line, _ = json.Marshal(ev)
				}
				b = append(b, strings.TrimSpace(string(line))...)
			}
			pages[p] = append(b, ']')
		}
		srv.SetPages(pages...)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scrape reads the Prometheus exposition and returns the samples whose
// names start with one of prefixes, keyed by the whole series.
func scrape(base string, prefixes ...string) (map[string]float64, error) {
	resp, err := http.Get(base + "/internal/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				i := strings.LastIndexByte(line, ' ')
				v, err := strconv.ParseFloat(line[i+1:], 64)
				if err == nil {
					out[line[:i]] = v
				}
			}
		}
	}
	return out, sc.Err()
}

// dbSessions counts the sessions on the soak database by application name.
func dbSessions(ctx context.Context, admin *pgx.Conn, db string) (map[string]int, error) {
	rows, err := admin.Query(ctx, `SELECT coalesce(application_name, ''), count(*) FROM pg_stat_activity WHERE datname = $1 GROUP BY 1`, db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var app string
		var n int
		if err := rows.Scan(&app, &n); err != nil {
			return nil, err
		}
		out[app] = n
	}
	return out, rows.Err()
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// fmtSamples writes samples as whole numbers separated by spaces.
func fmtSamples(samples []float64) string {
	parts := make([]string, len(samples))
	for i, v := range samples {
		parts[i] = fmt.Sprintf("%.0f", v)
	}
	return strings.Join(parts, " ")
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func TestSoak(t *testing.T) {
	if os.Getenv("GHEVENTS_SOAK") != "1" {
		t.Skip("the soak runs with GHEVENTS_SOAK=1 (make soak)")
	}
	events := envInt("SOAK_EVENTS", 1_000_000)
	dur := envDuration("SOAK_DURATION", 3*time.Minute)
	workers := int(envInt("SOAK_WORKERS", 8))
	feedRate := envInt("SOAK_FEED_EVENTS", 300)
	ctx, cancel := context.WithTimeout(context.Background(), dur+60*time.Minute)
	defer cancel()
	root, _ := filepath.Abs("../../..")
	artifacts := filepath.Join(root, "artifacts", "soak")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	say := func(format string, a ...any) {
		line := fmt.Sprintf(format, a...)
		t.Log(line)
		report.WriteString(line + "\n")
	}
	host, _ := os.Hostname()
	say("soak: %d events, %v, %d load workers, a feed of %d new events a second; machine %s, %d CPUs; load average before: %s", events, dur, workers, feedRate, host, runtime.NumCPU(), loadAverage())

	// The data set (made once, shared with make bench), copied for the
	// soak, which writes into it; the copy is dropped at the end.
	ds, err := EnsureDataset(ctx, testdb.ServerURL(), events, 1, func(f string, a ...any) { t.Logf(f, a...) })
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, testdb.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	soakDB := fmt.Sprintf("ghevents_soak_%d", events)
	src, _ := url.Parse(ds.URL)
	began := time.Now()
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + pgx.Identifier{soakDB}.Sanitize() + " WITH (FORCE)",
		// FILE_COPY copies the files (with a checkpoint before and after)
		// instead of writing the whole data set through the WAL: at 10M
		// events the WAL_LOG default left a checkpoint of 17 GB running
		// into the first requests, which then timed out.
		"CREATE DATABASE " + pgx.Identifier{soakDB}.Sanitize() + " TEMPLATE " + pgx.Identifier{strings.TrimPrefix(src.Path, "/")}.Sanitize() + " STRATEGY FILE_COPY",
		"CHECKPOINT",
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Its own connection: admin is closed by then.
		c, err := pgx.Connect(context.Background(), testdb.ServerURL())
		if err != nil {
			t.Errorf("drop %s: %v", soakDB, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{soakDB}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", soakDB, err)
		}
	})
	soakURL, _ := withDatabase(testdb.ServerURL(), soakDB)
	// Idle pooled connections are closed after 5 s (pgx keeps them 30 min
	// by default), so that the count after the load says whether any was
	// left in use.
	runURL := soakURL + "&pool_max_conn_idle_time=5s&pool_health_check_period=1s"
	say("copied the data set into %s in %v", soakDB, time.Since(began).Round(time.Second))

	// The fake GitHub, serving fresh events.
	gh := githubtest.NewServer(t, githubtest.Options{PollInterval: -1, RateLimit: 1 << 30})
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	go freshFeed(feedCtx, gh, feedRate)

	// ghevents run: migrate (nothing to do), poll, serve.
	bin, err := Binary(root)
	if err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	base := "http://" + addr
	logPath := filepath.Join(artifacts, fmt.Sprintf("run-%d.log", events))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "run")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+runURL, "HTTP_ADDR="+addr, "LOG_FORMAT=json",
		"GITHUB_EVENTS_URL="+gh.EventsURL().String(), "GITHUB_TOKEN=ghp_soak", "POLL_INTERVAL=1s")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ghevents run exited with %v (see %s)", err, logPath)
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("ghevents run did not stop within 60 s of SIGINT")
		}
	}
	defer stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ghevents run not ready in 2 minutes (see %s)", logPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
	pid := cmd.Process.Pid

	// The requests: every metric and chart, with and without filters.
	age := int64(time.Since(ds.End).Seconds()) + 1
	paths := []string{
		"/metrics/event-avg-time?event_type=PushEvent",
		"/metrics/event-avg-time?event_type=IssuesEvent&action=opened",
		"/metrics/event-avg-time?event_type=WatchEvent",
		fmt.Sprintf("/metrics/events-total-count?offset=%d", 3600),
		fmt.Sprintf("/metrics/events-total-count?offset=%d", age+86400),
		fmt.Sprintf("/metrics/events-total-count?offset=%d&action=opened", age+3600),
		"/metrics/multiple-events-repos?event_type=PushEvent",
		"/metrics/multiple-events-repos?event_type=WatchEvent&minimal_events_count=10&limit=20",
		"/visualization/event-avg-time?event_type=PullRequestEvent",
		fmt.Sprintf("/visualization/events-total-count?offset=%d", age+86400),
		"/visualization/multiple-events-repos?event_type=ForkEvent",
		"/metrics/event-avg-time?event_type=PushEvent&repository_name=nobody/nothing",
	}

	// Every request answers before the load starts, or the soak says why.
	// The copy's pages are not cached yet: a request whose first answer is
	// a 503 (the 5 s statement timeout) is asked again, for up to a minute,
	// and the warm-up is reported.
	warm := time.Now()
	var retried int
	for _, p := range paths {
		for {
			status, _, err := Get(http.DefaultClient, base+p)
			if err == nil && status == http.StatusOK {
				break
			}
			if err != nil || status != http.StatusServiceUnavailable || time.Since(warm) > time.Minute {
				t.Fatalf("%s answered %d (%v) before the load: see %s", p, status, err, logPath)
			}
			retried++
			time.Sleep(time.Second)
		}
	}
	say("warm-up: every request answered 200 in %v (%d asked again after a 503)", time.Since(warm).Round(time.Millisecond), retried)

	// Baseline, after the warm-up (what the first requests start lazily
	// exists by then) and a few idle seconds of polling.
	time.Sleep(5 * time.Second)
	gauges := []string{"go_goroutines", "ghevents_db_pool_connections", "ghevents_db_pool_acquired_connections", "process_resident_memory_bytes", "process_open_fds", "go_memstats_heap_inuse_bytes", "ghevents_poller_queue_depth"}
	baseline, err := scrape(base, gauges...)
	if err != nil {
		t.Fatal(err)
	}
	sessBefore, err := dbSessions(ctx, admin, soakDB)
	if err != nil {
		t.Fatal(err)
	}
	rss0, _, _ := Memory(pid)
	var stored0 int64
	count := func(lo, hi int64) int64 {
		var n int64
		c, err := pgx.Connect(ctx, soakURL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.WithoutCancel(ctx))
		if err := c.QueryRow(ctx, `SELECT count(*) FROM events WHERE id >= $1 AND id < $2`, lo, hi).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stored0 = count(pollFirstID, math.MaxInt64)
	say("baseline: %s; RSS %.1f MiB; database sessions %v; %d polled events already stored", fmtGauges(baseline, gauges), rss0, sessBefore, stored0)

	// The import: generated GH Archive files, one after the other.
	importCtx, stopImport := context.WithCancel(ctx)
	var imported, importRuns atomic.Int64
	var importErr atomic.Value
	var iwg sync.WaitGroup
	iwg.Go(func() {
		dir := t.TempDir()
		for k := int64(0); importCtx.Err() == nil; k++ {
			file := filepath.Join(dir, fmt.Sprintf("soak-%d.json.gz", k))
			if err := gen.WriteFile(file, gen.Options{Seed: 1000 + k, Events: 100_000, FirstID: importFirstID + k*1_000_000,
				Start: time.Now().Add(-time.Hour), Span: time.Hour}); err != nil {
				importErr.Store(err.Error())
				return
			}
			ic := exec.CommandContext(importCtx, bin, "import", "--jobs", "1", file)
			ic.Env = append(os.Environ(), "DATABASE_URL="+soakURL, "LOG_FORMAT=json")
			out, err := ic.CombinedOutput()
			_ = os.Remove(file)
			if importCtx.Err() != nil {
				return // stopped at the end of the soak; the file is left half done
			}
			if err != nil {
				importErr.Store(fmt.Sprintf("import %d: %v\n%s", k, err, out))
				return
			}
			imported.Add(100_000)
			importRuns.Add(1)
		}
	})

	// The load, with RSS and the poller's queue sampled every 5 s.
	var res LoadResult
	var lwg sync.WaitGroup
	lwg.Go(func() { res = Load(ctx, base, paths, workers, dur) })
	var rss, queue []float64
	tick := time.NewTicker(5 * time.Second)
	loadDone := make(chan struct{})
	go func() { lwg.Wait(); close(loadDone) }()
sample:
	for {
		select {
		case <-loadDone:
			break sample
		case <-tick.C:
			r, _, err := Memory(pid)
			if err == nil {
				rss = append(rss, r)
			}
			if g, err := scrape(base, "ghevents_poller_queue_depth"); err == nil {
				queue = append(queue, g["ghevents_poller_queue_depth"])
			}
		}
	}
	tick.Stop()
	stopImport()
	iwg.Wait()
	loadAfter := loadAverage()
	rssLoadEnd, _, _ := Memory(pid)

	// The writers' backlog: pages the poller fetched faster than the
	// database stored them wait in its queue (bounded by POLL_QUEUE_SIZE).
	// The feed stops; the workers empty the queue (up to 5 minutes), so
	// that what is left afterwards is a leak, not work in progress.
	stopFeed()
	drainStart := time.Now()
	var drained bool
	for time.Since(drainStart) < 5*time.Minute {
		g, err := scrape(base, "ghevents_poller_queue_depth", "ghevents_db_pool_acquired_connections")
		if err == nil && g["ghevents_poller_queue_depth"] == 0 && g[`ghevents_db_pool_acquired_connections{pool="primary"}`] == 0 {
			drained = true
			break
		}
		time.Sleep(time.Second)
	}
	drainTime := time.Since(drainStart)

	// Let the last requests and batches settle and idle connections close,
	// then measure again.
	time.Sleep(15 * time.Second)
	after, err := scrape(base, gauges...)
	if err != nil {
		t.Fatal(err)
	}
	sessAfter, err := dbSessions(ctx, admin, soakDB)
	if err != nil {
		t.Fatal(err)
	}
	rssEnd, peak, _ := Memory(pid)
	polled := count(pollFirstID, math.MaxInt64) - stored0
	importedRows := count(importFirstID, pollFirstID)

	say("load: %d requests in %v (%.0f/s), %d errors, p50 %v, p99 %v, max %v", res.Requests, res.Elapsed.Round(time.Millisecond),
		res.PerSecond(), res.Errors, Percentile(res.Latencies, 50).Round(10*time.Microsecond),
		Percentile(res.Latencies, 99).Round(10*time.Microsecond), Percentile(res.Latencies, 100).Round(time.Millisecond))
	for _, s := range res.ErrorSamples {
		say("  error: %s", s)
	}
	for _, p := range paths {
		l := res.PathLatencies[p]
		say("  %6d × %-85s p50 %8v  p99 %8v", len(l), p, Percentile(l, 50).Round(10*time.Microsecond), Percentile(l, 99).Round(10*time.Microsecond))
	}
	say("writes meanwhile: the poller stored %d new events; %d imports of 100,000 events finished (%d rows of the import range stored, the last import stopped part way)",
		polled, importRuns.Load(), importedRows)
	say("server RSS every 5 s (MiB): %s", fmtSamples(rss))
	say("poller queue every 5 s (pages): %s", fmtSamples(queue))
	say("RSS: %.1f MiB before, %.1f MiB when the load ended, %.1f MiB at the end, peak %.1f MiB", rss0, rssLoadEnd, rssEnd, peak)
	say("the poller's queue emptied in %v after the load and the feed stopped (drained: %v)", drainTime.Round(time.Second), drained)
	say("after (queue empty, then 15 s idle): %s; database sessions %v (before %v)", fmtGauges(after, gauges), sessAfter, sessBefore)
	say("load average after: %s", loadAfter)
	if v := importErr.Load(); v != nil {
		t.Errorf("import: %s", v)
	}
	// Goroutines beyond what the open connections explain: the server's
	// goroutine dump (SIGQUIT) goes to its log, to show where they wait.
	c0, c1 := baseline[`ghevents_db_pool_connections{pool="primary"}`], after[`ghevents_db_pool_connections{pool="primary"}`]
	g0, g1 := baseline["go_goroutines"], after["go_goroutines"]
	leaked := g1 > g0+max(c1-c0, 0)+2
	if leaked {
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		_ = cmd.Wait()
		say("goroutines %v before, %v after: the server's goroutine dump is in %s", g0, g1, logPath)
	}
	stop()
	if err := os.WriteFile(filepath.Join(artifacts, fmt.Sprintf("soak-%d.txt", events)), []byte(report.String()), 0o644); err != nil {
		t.Error(err)
	}

	// The checks: no error; the writers wrote; no leak.
	if res.Errors != 0 {
		t.Errorf("%d errors under load", res.Errors)
	}
	if polled < int64(dur.Seconds())*min(feedRate, 100)/3 || importedRows < 1000 {
		t.Errorf("the writers did not write: %d polled, %d imported", polled, importedRows)
	}
	if !drained {
		t.Errorf("the poller's queue did not empty within 5 minutes of the load")
	}
	// The poller keeps writing every second, so the pool may hold more
	// connections than at the start (each with its reader goroutine); a
	// leak is a connection still in use, more than the pool allows, or
	// goroutines beyond what the open connections explain.
	if c1 > 10 {
		t.Errorf("pool connections %v before, %v after 15 s idle: more than DB_MAX_CONNS (10)", c0, c1)
	}
	if leaked {
		t.Errorf("goroutines %v before, %v after (pool connections %v, then %v): a leak", g0, g1, c0, c1)
	}
	for k, v := range after {
		if strings.HasPrefix(k, "ghevents_db_pool_acquired_connections") && v > 0 {
			t.Errorf("%s = %v after the load: connections not released", k, v)
		}
	}
	if n := len(rss); n >= 6 {
		third := n / 3
		first, last := mean(rss[:third]), mean(rss[n-third:])
		say("RSS mean of the first third %.1f MiB, of the last third %.1f MiB", first, last)
		if last > first*1.25+10 {
			t.Errorf("RSS grew from %.1f to %.1f MiB over the soak (the poller's queue held up to %.0f pages)", first, last, slices.Max(append(queue, 0)))
		}
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func fmtGauges(m map[string]float64, names []string) string {
	var parts []string
	for _, n := range names {
		for k, v := range m {
			if k == n || strings.HasPrefix(k, n+"{") {
				if n == "process_resident_memory_bytes" {
					parts = append(parts, fmt.Sprintf("%s=%.1fMiB", k, v/(1<<20)))
				} else {
					parts = append(parts, fmt.Sprintf("%s=%v", k, v))
				}
			}
		}
	}
	return strings.Join(parts, " ")
}
