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

// soak is one run of the soak: its settings, the copy of the data set, the
// fake GitHub, the running `ghevents run`, and the report being written.
type soak struct {
	t               *testing.T
	ctx             context.Context
	events          int64
	dur             time.Duration
	workers         int
	feedRate        int64
	root, artifacts string
	report          strings.Builder
	ds              Dataset
	admin           *pgx.Conn
	soakDB, soakURL string
	stopFeed        func()
	bin, base       string
	cmd             *exec.Cmd
	pid             int
	logPath         string
	stopped         bool
	paths           []string
}

// gauges are the server's gauges read before and after the load.
var gauges = []string{"go_goroutines", "ghevents_db_pool_connections", "ghevents_db_pool_acquired_connections", "process_resident_memory_bytes", "process_open_fds", "go_memstats_heap_inuse_bytes", "ghevents_poller_queue_depth"}

// TestSoak runs the phases of the soak in order: set-up, warm-up,
// baseline, load (with the poller and an import writing), drain, after;
// then the report and the checks.
func TestSoak(t *testing.T) {
	if os.Getenv("GHEVENTS_SOAK") != "1" {
		t.Skip("the soak runs with GHEVENTS_SOAK=1 (make soak)")
	}
	s := setupSoak(t)
	defer s.stop()
	s.warmUp()
	before := s.measure()
	s.say("baseline: %s; RSS %.1f MiB; database sessions %v; %d polled events already stored", fmtGauges(before.gauges, gauges), before.rss, before.sessions, before.polled)
	imp := s.startImports()
	l := s.underLoad()
	imp.stop()
	loadAfter := loadAverage()
	drained, drainTime := s.drain()
	// Let the last requests and batches settle and idle connections close,
	// then measure again.
	time.Sleep(15 * time.Second)
	after := s.measure()
	s.writeReport(before, after, l, imp, drained, drainTime, loadAfter)
	s.check(before, after, l, imp, drained)
}

// setupSoak reads the settings, copies the data set (made once, shared
// with make bench) into a database the soak may write to (dropped at the
// end), starts the fake GitHub with its feed of fresh events, and starts
// `ghevents run` (migrate, poll, serve) on it, ready.
func setupSoak(t *testing.T) *soak {
	s := &soak{
		t:        t,
		events:   envInt("SOAK_EVENTS", 1_000_000),
		dur:      envDuration("SOAK_DURATION", 3*time.Minute),
		workers:  int(envInt("SOAK_WORKERS", 8)),
		feedRate: envInt("SOAK_FEED_EVENTS", 300),
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.dur+60*time.Minute)
	t.Cleanup(cancel)
	s.ctx = ctx
	s.root, _ = filepath.Abs("../../..")
	s.artifacts = filepath.Join(s.root, "artifacts", "soak")
	if err := os.MkdirAll(s.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	s.say("soak: %d events, %v, %d load workers, a feed of %d new events a second; machine %s, %d CPUs; load average before: %s", s.events, s.dur, s.workers, s.feedRate, host, runtime.NumCPU(), loadAverage())
	s.copyDataset()
	// Idle pooled connections are closed after 5 s (pgx keeps them 30 min
	// by default), so that the count after the load says whether any was
	// left in use.
	runURL := s.soakURL + "&pool_max_conn_idle_time=5s&pool_health_check_period=1s"

	// The fake GitHub, serving fresh events.
	gh := githubtest.NewServer(t, githubtest.Options{PollInterval: -1, RateLimit: 1 << 30})
	feedCtx, stopFeed := context.WithCancel(ctx)
	t.Cleanup(stopFeed)
	s.stopFeed = stopFeed
	go freshFeed(feedCtx, gh, s.feedRate)

	// ghevents run: migrate (nothing to do), poll, serve.
	var err error
	if s.bin, err = Binary(s.root); err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	s.base = "http://" + addr
	s.logPath = filepath.Join(s.artifacts, fmt.Sprintf("run-%d.log", s.events))
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	s.cmd = exec.Command(s.bin, "run")
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+runURL, "HTTP_ADDR="+addr, "LOG_FORMAT=json",
		"GITHUB_EVENTS_URL="+gh.EventsURL().String(), "GITHUB_TOKEN=ghp_soak", "POLL_INTERVAL=1s")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("ghevents run not ready in 2 minutes (see %s)", s.logPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.pid = s.cmd.Process.Pid

	// The requests: every metric and chart, with and without filters.
	age := int64(time.Since(s.ds.End).Seconds()) + 1
	s.paths = []string{
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
	return s
}

// say logs a line of the report.
func (s *soak) say(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	s.t.Log(line)
	s.report.WriteString(line + "\n")
}

// copyDataset makes the data set if needed and copies it into the soak's
// own database, dropped when the test ends.
func (s *soak) copyDataset() {
	t, ctx := s.t, s.ctx
	var err error
	s.ds, err = EnsureDataset(ctx, testdb.ServerURL(), s.events, 1, func(f string, a ...any) { t.Logf(f, a...) })
	if err != nil {
		t.Fatal(err)
	}
	s.admin, err = pgx.Connect(ctx, testdb.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.admin.Close(context.WithoutCancel(ctx)) })
	s.soakDB = fmt.Sprintf("ghevents_soak_%d", s.events)
	src, _ := url.Parse(s.ds.URL)
	began := time.Now()
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + pgx.Identifier{s.soakDB}.Sanitize() + " WITH (FORCE)",
		// FILE_COPY copies the files (with a checkpoint before and after)
		// instead of writing the whole data set through the WAL: at 10M
		// events the WAL_LOG default left a checkpoint of 17 GB running
		// into the first requests, which then timed out.
		"CREATE DATABASE " + pgx.Identifier{s.soakDB}.Sanitize() + " TEMPLATE " + pgx.Identifier{strings.TrimPrefix(src.Path, "/")}.Sanitize() + " STRATEGY FILE_COPY",
		"CHECKPOINT",
	} {
		if _, err := s.admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Its own connection: admin is closed by then.
		c, err := pgx.Connect(context.Background(), testdb.ServerURL())
		if err != nil {
			t.Errorf("drop %s: %v", s.soakDB, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{s.soakDB}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", s.soakDB, err)
		}
	})
	s.soakURL, _ = withDatabase(testdb.ServerURL(), s.soakDB)
	s.say("copied the data set into %s in %v", s.soakDB, time.Since(began).Round(time.Second))
}

// stop ends ghevents run with SIGINT (SIGKILL after 60 s), once.
func (s *soak) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("ghevents run exited with %v (see %s)", err, s.logPath)
		}
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("ghevents run did not stop within 60 s of SIGINT")
	}
}

// warmUp: every request answers before the load starts, or the soak says
// why. The copy's pages are not cached yet: a request whose first answer
// is a 503 (the 5 s statement timeout) is asked again, for up to a minute,
// and the warm-up is reported. A few idle seconds of polling follow, so
// that what the first requests start lazily exists before the baseline.
func (s *soak) warmUp() {
	warm := time.Now()
	var retried int
	for _, p := range s.paths {
		for {
			status, _, err := Get(http.DefaultClient, s.base+p)
			if err == nil && status == http.StatusOK {
				break
			}
			if err != nil || status != http.StatusServiceUnavailable || time.Since(warm) > time.Minute {
				s.t.Fatalf("%s answered %d (%v) before the load: see %s", p, status, err, s.logPath)
			}
			retried++
			time.Sleep(time.Second)
		}
	}
	s.say("warm-up: every request answered 200 in %v (%d asked again after a 503)", time.Since(warm).Round(time.Millisecond), retried)
	time.Sleep(5 * time.Second)
}

// measurement is the server's state at one moment.
type measurement struct {
	gauges   map[string]float64
	sessions map[string]int
	// rss and peak are the server's resident memory now and at its peak, MiB.
	rss, peak float64
	// polled and imported are the rows stored in the id ranges of the
	// poller's feed and of the import.
	polled, imported int64
}

// measure reads the gauges, the database sessions, the server's memory and
// the rows the writers stored.
func (s *soak) measure() measurement {
	t := s.t
	var m measurement
	var err error
	if m.gauges, err = scrape(s.base, gauges...); err != nil {
		t.Fatal(err)
	}
	if m.sessions, err = dbSessions(s.ctx, s.admin, s.soakDB); err != nil {
		t.Fatal(err)
	}
	m.rss, m.peak, _ = Memory(s.pid)
	m.polled = s.count(pollFirstID, math.MaxInt64)
	m.imported = s.count(importFirstID, pollFirstID)
	return m
}

// count is the number of stored events with lo <= id < hi.
func (s *soak) count(lo, hi int64) int64 {
	var n int64
	c, err := pgx.Connect(s.ctx, s.soakURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close(context.WithoutCancel(s.ctx))
	if err := c.QueryRow(s.ctx, `SELECT count(*) FROM events WHERE id >= $1 AND id < $2`, lo, hi).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// imports is the loop of `ghevents import` runs beside the load.
type imports struct {
	stop func()
	runs atomic.Int64
	err  atomic.Value
	wg   sync.WaitGroup
}

// startImports imports generated GH Archive files of 100,000 events, one
// after the other, until stopped (the last one part way).
func (s *soak) startImports() *imports {
	importCtx, stopImport := context.WithCancel(s.ctx)
	imp := &imports{}
	imp.stop = func() { stopImport(); imp.wg.Wait() }
	dir := s.t.TempDir()
	imp.wg.Go(func() {
		for k := int64(0); importCtx.Err() == nil; k++ {
			file := filepath.Join(dir, fmt.Sprintf("soak-%d.json.gz", k))
			if err := gen.WriteFile(file, gen.Options{Seed: 1000 + k, Events: 100_000, FirstID: importFirstID + k*1_000_000,
				Start: time.Now().Add(-time.Hour), Span: time.Hour}); err != nil {
				imp.err.Store(err.Error())
				return
			}
			ic := exec.CommandContext(importCtx, s.bin, "import", "--jobs", "1", file)
			ic.Env = append(os.Environ(), "DATABASE_URL="+s.soakURL, "LOG_FORMAT=json")
			out, err := ic.CombinedOutput()
			_ = os.Remove(file)
			if importCtx.Err() != nil {
				return // stopped at the end of the soak; the file is left half done
			}
			if err != nil {
				imp.err.Store(fmt.Sprintf("import %d: %v\n%s", k, err, out))
				return
			}
			imp.runs.Add(1)
		}
	})
	return imp
}

// loadRun is what the load phase saw.
type loadRun struct {
	res LoadResult
	// rss and queue are the server's RSS (MiB) and the poller's queue
	// (pages), every 5 s; rssEnd the RSS when the load ended.
	rss, queue []float64
	rssEnd     float64
}

// underLoad sends the mixed requests for the soak's duration, sampling the
// server's RSS and the poller's queue every 5 s.
func (s *soak) underLoad() loadRun {
	var l loadRun
	loadDone := make(chan struct{})
	go func() { l.res = Load(s.ctx, s.base, s.paths, s.workers, s.dur); close(loadDone) }()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-loadDone:
			l.rssEnd, _, _ = Memory(s.pid)
			return l
		case <-tick.C:
			if r, _, err := Memory(s.pid); err == nil {
				l.rss = append(l.rss, r)
			}
			if g, err := scrape(s.base, "ghevents_poller_queue_depth"); err == nil {
				l.queue = append(l.queue, g["ghevents_poller_queue_depth"])
			}
		}
	}
}

// drain waits for the writers' backlog: pages the poller fetched faster
// than the database stored them wait in its queue (bounded by
// POLL_QUEUE_SIZE). The feed stops; the workers empty the queue (up to 5
// minutes), so that what is left afterwards is a leak, not work in
// progress.
func (s *soak) drain() (drained bool, took time.Duration) {
	s.stopFeed()
	start := time.Now()
	for time.Since(start) < 5*time.Minute {
		g, err := scrape(s.base, "ghevents_poller_queue_depth", "ghevents_db_pool_acquired_connections")
		if err == nil && g["ghevents_poller_queue_depth"] == 0 && g[`ghevents_db_pool_acquired_connections{pool="primary"}`] == 0 {
			return true, time.Since(start)
		}
		time.Sleep(time.Second)
	}
	return false, time.Since(start)
}

// writeReport says what the soak saw, stops the server (with a goroutine
// dump in its log when goroutines leaked) and writes the report to
// artifacts/soak/.
func (s *soak) writeReport(before, after measurement, l loadRun, imp *imports, drained bool, drainTime time.Duration, loadAfter string) {
	res := l.res
	s.say("load: %d requests in %v (%.0f/s), %d errors, p50 %v, p99 %v, max %v", res.Requests, res.Elapsed.Round(time.Millisecond),
		res.PerSecond(), res.Errors, Percentile(res.Latencies, 50).Round(10*time.Microsecond),
		Percentile(res.Latencies, 99).Round(10*time.Microsecond), Percentile(res.Latencies, 100).Round(time.Millisecond))
	for _, e := range res.ErrorSamples {
		s.say("  error: %s", e)
	}
	for _, p := range s.paths {
		lat := res.PathLatencies[p]
		s.say("  %6d × %-85s p50 %8v  p99 %8v", len(lat), p, Percentile(lat, 50).Round(10*time.Microsecond), Percentile(lat, 99).Round(10*time.Microsecond))
	}
	s.say("writes meanwhile: the poller stored %d new events; %d imports of 100,000 events finished (%d rows of the import range stored, the last import stopped part way)",
		after.polled-before.polled, imp.runs.Load(), after.imported)
	s.say("server RSS every 5 s (MiB): %s", fmtSamples(l.rss))
	s.say("poller queue every 5 s (pages): %s", fmtSamples(l.queue))
	s.say("RSS: %.1f MiB before, %.1f MiB when the load ended, %.1f MiB at the end, peak %.1f MiB", before.rss, l.rssEnd, after.rss, after.peak)
	s.say("the poller's queue emptied in %v after the load and the feed stopped (drained: %v)", drainTime.Round(time.Second), drained)
	s.say("after (queue empty, then 15 s idle): %s; database sessions %v (before %v)", fmtGauges(after.gauges, gauges), after.sessions, before.sessions)
	s.say("load average after: %s", loadAfter)
	if leaked(before, after) {
		// Where the goroutines beyond what the open connections explain
		// wait: the server's goroutine dump (SIGQUIT) goes to its log.
		s.stopped = true
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		_ = s.cmd.Wait()
		s.say("goroutines %v before, %v after: the server's goroutine dump is in %s", before.gauges["go_goroutines"], after.gauges["go_goroutines"], s.logPath)
	}
	s.stop()
	if n := len(l.rss); n >= 6 {
		third := n / 3
		s.say("RSS mean of the first third %.1f MiB, of the last third %.1f MiB", mean(l.rss[:third]), mean(l.rss[n-third:]))
	}
	if err := os.WriteFile(filepath.Join(s.artifacts, fmt.Sprintf("soak-%d.txt", s.events)), []byte(s.report.String()), 0o644); err != nil {
		s.t.Error(err)
	}
}

// leaked reports goroutines beyond what the open connections explain.
func leaked(before, after measurement) bool {
	c0, c1 := before.gauges[`ghevents_db_pool_connections{pool="primary"}`], after.gauges[`ghevents_db_pool_connections{pool="primary"}`]
	return after.gauges["go_goroutines"] > before.gauges["go_goroutines"]+max(c1-c0, 0)+2
}

// check: no error; the writers wrote; no leak.
func (s *soak) check(before, after measurement, l loadRun, imp *imports, drained bool) {
	t := s.t
	if v := imp.err.Load(); v != nil {
		t.Errorf("import: %s", v)
	}
	if l.res.Errors != 0 {
		t.Errorf("%d errors under load", l.res.Errors)
	}
	if polled := after.polled - before.polled; polled < int64(s.dur.Seconds())*min(s.feedRate, 100)/3 || after.imported < 1000 {
		t.Errorf("the writers did not write: %d polled, %d imported", polled, after.imported)
	}
	if !drained {
		t.Errorf("the poller's queue did not empty within 5 minutes of the load")
	}
	// The poller keeps writing every second, so the pool may hold more
	// connections than at the start (each with its reader goroutine); a
	// leak is a connection still in use, more than the pool allows, or
	// goroutines beyond what the open connections explain.
	c0, c1 := before.gauges[`ghevents_db_pool_connections{pool="primary"}`], after.gauges[`ghevents_db_pool_connections{pool="primary"}`]
	if c1 > 10 {
		t.Errorf("pool connections %v before, %v after 15 s idle: more than DB_MAX_CONNS (10)", c0, c1)
	}
	if leaked(before, after) {
		t.Errorf("goroutines %v before, %v after (pool connections %v, then %v): a leak", before.gauges["go_goroutines"], after.gauges["go_goroutines"], c0, c1)
	}
	for k, v := range after.gauges {
		if strings.HasPrefix(k, "ghevents_db_pool_acquired_connections") && v > 0 {
			t.Errorf("%s = %v after the load: connections not released", k, v)
		}
	}
	if n := len(l.rss); n >= 6 {
		third := n / 3
		if first, last := mean(l.rss[:third]), mean(l.rss[n-third:]); last > first*1.25+10 {
			t.Errorf("RSS grew from %.1f to %.1f MiB over the soak (the poller's queue held up to %.0f pages)", first, last, slices.Max(append(l.queue, 0)))
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
