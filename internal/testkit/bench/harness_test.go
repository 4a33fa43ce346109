package bench

// The harness of the benchmarks and the soak: a generated data set kept in
// a database of its own and reused across runs, the real binary started as
// a server, a load generator on loopback, latency percentiles and the
// server's memory.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/gen"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
	schema "github.com/ghevents/ghevents/sql"
)

// Dataset is a database holding a generated data set.
type Dataset struct {
	// URL connects to it.
	URL string
	// Events is how many events it holds.
	Events int64
	// Start and End bound the events' created_at.
	Start, End time.Time
}

// Span is how much time a data set covers: a month of polling.
const Span = 30 * 24 * time.Hour

// marker is stored as the database's comment once the data set is complete.
// It names the schema it was made with (a digest of the migration files):
// migrating up cannot bring a data set made before a migration was edited
// in place up to date, so such a data set is made again.
func marker(events, seed int64, end time.Time) string {
	return markerPrefix(events, seed) + end.UTC().Format(time.RFC3339) + ", complete"
}

// markerEnd reads the end of the data set from a marker.
func markerEnd(comment string) (time.Time, error) {
	_, rest, ok := strings.Cut(comment, ", end ")
	if !ok {
		return time.Time{}, fmt.Errorf("marker %q names no end", comment)
	}
	return time.Parse(time.RFC3339, strings.TrimSuffix(rest, ", complete"))
}

// databaseComment is the comment of the database name (nil when it has
// none; pgx.ErrNoRows when there is no such database).
func databaseComment(ctx context.Context, admin *pgx.Conn, name string) (*string, error) {
	var comment *string
	err := admin.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name).Scan(&comment)
	return comment, err
}

func markerPrefix(events, seed int64) string {
	return fmt.Sprintf("ghevents bench: %d events, seed %d, schema %s, end ", events, seed, testdb.SchemaDigest()[:12])
}

// EnsureDataset returns the database ghevents_bench_<events>_<schema> on the
// server at serverURL (<schema>: the first 12 hex digits of the schema
// digest, so branches with different migrations each keep their own data set
// on a shared server), creating, migrating and filling it first when it is
// missing or incomplete. Filling 10M events takes minutes; later runs reuse
// it.
func EnsureDataset(ctx context.Context, serverURL string, events, seed int64, logf func(string, ...any)) (Dataset, error) {
	name := fmt.Sprintf("ghevents_bench_%d_%s", events, testdb.SchemaDigest()[:12])
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return Dataset{}, fmt.Errorf("connect to %s: %w", redact(serverURL), err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	dbURL, err := withDatabase(serverURL, name)
	if err != nil {
		return Dataset{}, err
	}

	comment, err := databaseComment(ctx, admin, name)
	switch {
	case err == nil && comment != nil && strings.HasPrefix(*comment, markerPrefix(events, seed)):
		end, perr := markerEnd(*comment)
		if perr == nil {
			if err := migrate(ctx, dbURL); err != nil {
				return Dataset{}, err
			}
			logf("reusing data set %s (%d events ending %s)", name, events, end.Format(time.RFC3339))
			return Dataset{URL: dbURL, Events: events, Start: end.Add(-Span), End: end}, nil
		}
	case err == nil && comment != nil && strings.HasPrefix(*comment, fmt.Sprintf("ghevents bench: %d events, seed %d, end ", events, seed)):
		// Made before markers named the schema: reused when it has every
		// table of the migrations (then marked with the schema), else made
		// again below.
		end, perr := markerEnd(*comment)
		missing, cerr := missingTables(ctx, dbURL)
		if perr == nil && cerr == nil && len(missing) == 0 {
			if err := migrate(ctx, dbURL); err != nil {
				return Dataset{}, err
			}
			if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quote(marker(events, seed, end))); err != nil {
				return Dataset{}, err
			}
			logf("reusing data set %s (%d events ending %s; it has every table of the schema)", name, events, end.Format(time.RFC3339))
			return Dataset{URL: dbURL, Events: events, Start: end.Add(-Span), End: end}, nil
		}
		logf("data set %s was made with an older schema (missing %v): recreating it", name, missing)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return Dataset{}, err
		}
	case err == nil:
		logf("data set %s is incomplete or was made with another schema: recreating it", name)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return Dataset{}, err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return Dataset{}, err
	}
	if from := os.Getenv("GHEVENTS_BENCH_FROM"); from != "" {
		return cloneDataset(ctx, admin, from, name, dbURL, events, seed, logf)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return Dataset{}, fmt.Errorf("create %s: %w", name, err)
	}
	if err := migrate(ctx, dbURL); err != nil {
		return Dataset{}, err
	}

	end := time.Now().UTC().Truncate(time.Second)
	// GHEVENTS_BENCH_DATASET_END (RFC 3339) fixes the end of a new data set,
	// so that an import of the days after it writes months of its own.
	if v := os.Getenv("GHEVENTS_BENCH_DATASET_END"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return Dataset{}, fmt.Errorf("GHEVENTS_BENCH_DATASET_END=%q: want an RFC 3339 time", v)
		}
		end = t.UTC()
	}
	start := end.Add(-Span)
	s, err := store.Open(ctx, dbURL, store.Options{MaxConns: 4, ApplicationName: "ghevents bench load"})
	if err != nil {
		return Dataset{}, err
	}
	defer s.Close()
	began := time.Now()
	if err := load(ctx, s, gen.Options{Seed: seed, Events: events, Start: start, Span: Span, NoRaw: false}, logf); err != nil {
		return Dataset{}, err
	}
	logf("loaded %d events in %s; vacuum analyze", events, time.Since(began).Round(time.Second))
	if _, err := s.Pool().Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return Dataset{}, fmt.Errorf("vacuum analyze: %w", err)
	}
	if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quote(marker(events, seed, end))); err != nil {
		return Dataset{}, err
	}
	return Dataset{URL: dbURL, Events: events, Start: start, End: end}, nil
}

// cloneDataset makes the data set name as a copy of the complete data set
// from (GHEVENTS_BENCH_FROM: same events and seed, made with an earlier
// schema) and migrates the copy up: a branch that adds migrations gets its
// data set in minutes instead of a new load, and the log says how long its
// migrations took on a store of that size. Only migrations added after
// from's schema are applied, so one edited in place since is not seen:
// use it for branches that append migrations.
func cloneDataset(ctx context.Context, admin *pgx.Conn, from, name, dbURL string, events, seed int64, logf func(string, ...any)) (Dataset, error) {
	comment, err := databaseComment(ctx, admin, from)
	if errors.Is(err, pgx.ErrNoRows) {
		return Dataset{}, fmt.Errorf("GHEVENTS_BENCH_FROM=%q: no such database", from)
	}
	if err != nil {
		return Dataset{}, err
	}
	prefix := fmt.Sprintf("ghevents bench: %d events, seed %d, schema ", events, seed)
	if comment == nil || !strings.HasPrefix(*comment, prefix) || !strings.HasSuffix(*comment, ", complete") {
		return Dataset{}, fmt.Errorf("GHEVENTS_BENCH_FROM=%q: not a complete data set of %d events, seed %d (its comment: %v)", from, events, seed, derefOr(comment, "none"))
	}
	end, err := markerEnd(*comment)
	if err != nil {
		return Dataset{}, fmt.Errorf("GHEVENTS_BENCH_FROM=%q: its comment names no end: %w", from, err)
	}
	if err := roomForCopy(ctx, admin, from); err != nil {
		return Dataset{}, err
	}
	began := time.Now()
	// FILE_COPY copies the files as they are (WAL_LOG, the default, would
	// write the whole database to the WAL); the source must have no other
	// sessions meanwhile.
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{from}.Sanitize()+" STRATEGY FILE_COPY"); err != nil {
		return Dataset{}, fmt.Errorf("copy %s to %s (nothing else may be connected to it meanwhile): %w", from, name, err)
	}
	logf("copied data set %s to %s in %s", from, name, time.Since(began).Round(time.Second))
	began = time.Now()
	if err := migrate(ctx, dbURL); err != nil {
		return Dataset{}, fmt.Errorf("migrate the copy %s up: %w", name, err)
	}
	logf("migrated %s up in %s; analyze", name, time.Since(began).Round(10*time.Millisecond))
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return Dataset{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return Dataset{}, fmt.Errorf("analyze %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quote(marker(events, seed, end))); err != nil {
		return Dataset{}, err
	}
	return Dataset{URL: dbURL, Events: events, Start: end.Add(-Span), End: end}, nil
}

// roomForCopy refuses a copy that would leave the server's disk with less
// than 5 GB free (a full disk stops every writer of the shared server, and
// PostgreSQL stops when it cannot write its WAL). It reads the free space
// of the data directory when the server is on this machine (as in every
// benchmark here); elsewhere it does not check.
func roomForCopy(ctx context.Context, admin *pgx.Conn, from string) error {
	var size int64
	var dir string
	if err := admin.QueryRow(ctx, `SELECT pg_database_size($1::text), current_setting('data_directory')`, from).Scan(&size, &dir); err != nil {
		return fmt.Errorf("size of %s: %w", from, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // not on this machine (or not readable): not checked
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	const margin = 5 << 30
	if free-size < margin {
		return fmt.Errorf("GHEVENTS_BENCH_FROM=%q: copying it (%d GB) would leave %d GB free on the server's disk (want 5 GB or more): drop a data set no longer needed first",
			from, size>>30, (free-size)>>30)
	}
	return nil
}

func derefOr(s *string, or string) string {
	if s == nil {
		return or
	}
	return *s
}

// load generates the events and imports them in batches, two writers.
func load(ctx context.Context, s *store.Store, o gen.Options, logf func(string, ...any)) error {
	const batch = 10000
	g := gen.New(o)
	var stored atomic.Int64
	errc := make(chan error, 2)
	pipe := make(chan []model.Event, 4)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for b := range pipe {
				n, err := s.InsertEvents(ctx, b)
				if err != nil {
					errc <- err
					return
				}
				stored.Add(n)
			}
		})
	}
	var sent int64
	last := time.Now()
	for sent < o.Events {
		n := min(int64(batch), o.Events-sent)
		b := make([]model.Event, n)
		for i := range b {
			b[i] = g.Next()
		}
		select {
		case pipe <- b:
		case err := <-errc:
			close(pipe)
			wg.Wait()
			return err
		}
		sent += n
		if time.Since(last) > 15*time.Second {
			logf("  %d of %d events stored", stored.Load(), o.Events)
			last = time.Now()
		}
	}
	close(pipe)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	if stored.Load() != o.Events {
		return fmt.Errorf("stored %d events of %d generated: the generator repeated identities", stored.Load(), o.Events)
	}
	return nil
}

// createTable finds the tables a migration creates (above tern's
// "---- create above / drop below ----" line).
var createTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)

// missingTables lists the tables of the migrations that the database at
// dbURL lacks.
func missingTables(ctx context.Context, dbURL string) ([]string, error) {
	names, err := fs.Glob(schema.Migrations(), "*.sql")
	if err != nil {
		return nil, err
	}
	var want []string
	for _, name := range names {
		b, err := fs.ReadFile(schema.Migrations(), name)
		if err != nil {
			return nil, err
		}
		up, _, _ := strings.Cut(string(b), "---- create above / drop below ----")
		for _, m := range createTable.FindAllStringSubmatch(up, -1) {
			want = append(want, strings.ToLower(m[1]))
		}
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var missing []string
	for _, tbl := range want {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, tbl).Scan(&ok); err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, tbl)
		}
	}
	return missing, nil
}

func migrate(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return store.MigrateTo(ctx, conn, -1, nil)
}

func withDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(bad URL)"
	}
	return p.Redacted()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Server is the real ghevents binary serving a data set.
type Server struct {
	URL string
	cmd *exec.Cmd
	log *os.File
}

// StartServer builds (once per process) and starts `ghevents serve` on
// addr (a free loopback address), and waits until it answers /readyz.
func StartServer(ctx context.Context, addr, root, dbURL, logPath string, env ...string) (*Server, error) {
	bin, err := Binary(root)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "HTTP_ADDR="+addr, "LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, log: logf}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("ghevents serve did not become ready in 30 s (see %s)", logPath)
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop ends the server with SIGTERM (SIGKILL after 20 s).
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.log.Close()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds bin/ghevents-bench from the module at root, once.
func Binary(root string) (string, error) {
	buildOnce.Do(func() {
		binPath = filepath.Join(root, "bin", "ghevents-bench")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, "./cmd/ghevents")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build ghevents: %v\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// Memory reads a process's resident set and its peak, in MiB, from /proc.
func Memory(pid int) (rss, peak float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak, sc.Err()
}

// Client is an HTTP client for loopback load: enough idle connections that
// every worker keeps its own.
func Client(workers int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = workers * 2
	tr.MaxIdleConnsPerHost = workers * 2
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Get fetches url, drains the body and returns the status and how long it took.
func Get(c *http.Client, url string) (int, time.Duration, error) {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, time.Since(start), err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}

// Percentile returns the p-th percentile (0..100) of ds (nearest rank).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

// LoadResult is what a load run saw.
type LoadResult struct {
	Requests, Errors int64
	Elapsed          time.Duration
	Latencies        []time.Duration
	// PathLatencies are the same latencies by path.
	PathLatencies map[string][]time.Duration
	// ErrorSamples are the first few errors, for the report.
	ErrorSamples []string
}

// PerSecond is the throughput.
func (r LoadResult) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Load sends requests from workers goroutines for d, cycling through paths
// (each worker starts at its own offset). A non-200 answer is an error.
func Load(ctx context.Context, base string, paths []string, workers int, d time.Duration) LoadResult {
	c := Client(workers)
	// The connections end with the run, so that the server is seen idle.
	defer c.CloseIdleConnections()
	var mu sync.Mutex
	var res LoadResult
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			byPath := map[string][]time.Duration{}
			var n, errs int64
			var samples []string
			for i := w; ctx.Err() == nil; i++ {
				status, took, err := Get(c, base+paths[i%len(paths)])
				if ctx.Err() != nil && err != nil {
					break // the run ended mid-request
				}
				n++
				lat = append(lat, took)
				byPath[paths[i%len(paths)]] = append(byPath[paths[i%len(paths)]], took)
				if err != nil || status != http.StatusOK {
					errs++
					if len(samples) < 3 {
						samples = append(samples, fmt.Sprintf("%s: %d %v", paths[i%len(paths)], status, err))
					}
				}
			}
			mu.Lock()
			res.Requests += n
			res.Errors += errs
			res.Latencies = append(res.Latencies, lat...)
			if res.PathLatencies == nil {
				res.PathLatencies = map[string][]time.Duration{}
			}
			for p, l := range byPath {
				res.PathLatencies[p] = append(res.PathLatencies[p], l...)
			}
			if len(res.ErrorSamples) < 5 {
				res.ErrorSamples = append(res.ErrorSamples, samples...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}
