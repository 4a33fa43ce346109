package importer_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/gen"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// heapPeak samples the Go heap in use until stop is called and returns
// the highest value seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak.Load()
	}
}

// generated streams n generated GH Archive lines through a pipe: nothing
// of the input is ever held in memory whole.
func generated(o gen.Options) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		_, err := gen.New(o).WriteLines(pw, o.Events)
		pw.CloseWithError(err)
	}()
	return pr
}

// The Go heap stays flat while a large generated input streams in: the
// peak does not grow with the input. (BenchmarkImport measures it on
// millions of events.)
//
// Not parallel on purpose: the heap is the whole test process's, so this
// test runs alone (Go runs the sequential tests before resuming the
// parallel ones).
func TestImportMemoryFlat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := store.New(testdb.New(t))
	n := int64(60_000)
	if testing.Short() {
		n = 20_000
	}
	runtime.GC()
	stop := heapPeak()
	sum := run(t, ctx, s, importer.Options{Stdin: generated(gen.Options{Seed: 11, Events: n})}, "-")
	peak := stop()
	if sum.Stored != n || !sum.Clean() {
		t.Fatalf("stored %d of %d, clean %v", sum.Stored, n, sum.Clean())
	}
	// 2 jobs × (a batch being read + one queued + one being written) of at
	// most 8 MiB of raw JSON each, plus the decoded strings: well under 96 MiB
	// whatever the input size (the input here is about 75 MB).
	const bound = 96 << 20
	t.Logf("peak Go heap in use: %.1f MiB while importing %d generated events", float64(peak)/(1<<20), n)
	if peak > bound {
		t.Fatalf("peak Go heap %d MiB, want under %d MiB", peak>>20, bound>>20)
	}
}

// benchEvents is the size of the benchmark input: GHEVENTS_BENCH_EVENTS
// (default 100,000; the figures are 1M and 10M).
func benchEvents(b *testing.B, name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			b.Fatalf("%s=%q: want a whole number", name, v)
		}
		return n
	}
	return def
}

// benchFiles writes (once, cached in the temp dir) the generated input as
// a GH Archive .json.gz and the same rows as CSV, with and without raw.
//
// Only the CSVs of the variants named in csvs ("payload", "no-payload")
// are written; with none, only the archive (a 10M archive alone is about
// 3 GB; its CSV with payloads would be tens).
func benchFiles(b *testing.B, o gen.Options, csvs ...string) (archive, csvPayload, csvBare string) {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "ghevents-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("gen-seed%d-%d-from%d", o.Seed, o.Events, o.FirstID))
	if !o.Start.IsZero() {
		base += "-at" + o.Start.UTC().Format("20060102T150405") + "-" + o.Span.String()
	}
	archive, csvPayload, csvBare = base+".json.gz", base+".csv", base+"-bare.csv"
	if _, err := os.Stat(archive); err != nil {
		if err := gen.WriteFile(base+".tmp.json.gz", o); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(base+".tmp.json.gz", archive); err != nil {
			b.Fatal(err)
		}
	}
	for _, withRaw := range []bool{true, false} {
		path := csvBare
		if withRaw {
			path = csvPayload
		}
		if !slices.Contains(csvs, map[bool]string{true: "payload", false: "no-payload"}[withRaw]) {
			continue
		}
		if _, err := os.Stat(path); err == nil {
			continue
		}
		f, err := os.Create(path + ".tmp")
		if err != nil {
			b.Fatal(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		w := csv.NewWriter(bw)
		g := gen.New(o)
		opt := func(n int64) string {
			if n == 0 {
				return ""
			}
			return strconv.FormatInt(n, 10)
		}
		for range o.Events {
			e := g.Next()
			raw := ""
			if withRaw {
				raw = string(e.Raw)
			}
			if err := w.Write([]string{strconv.FormatInt(e.ID, 10), e.Type, opt(e.ActorID), e.ActorLogin,
				strconv.FormatInt(e.RepoID, 10), e.RepoName, opt(e.OrgID), e.OrgLogin, e.Action,
				e.CreatedAt.Format(time.RFC3339), raw}); err != nil {
				b.Fatal(err)
			}
		}
		w.Flush()
		if err := w.Error(); err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
	}
	return
}

// benchVariants are the variants GHEVENTS_BENCH_VARIANTS asks for (both
// when it is unset).
func benchVariants() []string {
	if v := os.Getenv("GHEVENTS_BENCH_VARIANTS"); v != "" {
		return []string{v}
	}
	return []string{"payload", "no-payload"}
}

// copyCSVFile COPYs the CSV file at path (written by benchFiles) into
// events in one statement, fails the benchmark unless it stored want rows,
// and returns how long the COPY took.
func copyCSVFile(b *testing.B, s *store.Store, path string, want int64) time.Duration {
	b.Helper()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	start := time.Now()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, bufio.NewReaderSize(f, 1<<20),
		`COPY events (id, type, actor_id, actor_login, repo_id, repo_name, org_id, org_login, action, created_at, raw) FROM STDIN WITH (FORMAT csv)`)
	took := time.Since(start)
	if err != nil || tag.RowsAffected() != want {
		b.Fatalf("COPY: %v rows, %v", tag.RowsAffected(), err)
	}
	return took
}

// benchFirstID starts the ids of the imported events: a range of their own,
// so that clearBench removes them alone, even from a shared data set.
const benchFirstID = 50_000_000_000

// benchIDRange bounds the ids the generator gives from benchFirstID (it
// steps by a few per event: 10M events stay far below it).
const benchIDRange = 10_000_000_000

// benchStore gives the database to import into: GHEVENTS_BENCH_DATABASE_URL
// when set (an existing data set, such as the 10M-event one internal/bench
// keeps; what an iteration imports is deleted again after it), else a fresh
// database holding GHEVENTS_BENCH_PRELOAD generated events (default 0),
// imported without payload from another id range and another month.
//
// GHEVENTS_BENCH_KEEP=1 is for a throwaway copy of the data set, dropped
// after the runs: nothing is deleted, neither after a run (10M rows need
// not be deleted again) nor before it (what earlier runs stored stays, so
// that successive runs measure a growing store; their ids repeat, so give
// each its own GHEVENTS_BENCH_START).
func benchStore(b *testing.B, o gen.Options) *store.Store {
	b.Helper()
	if u := os.Getenv("GHEVENTS_BENCH_DATABASE_URL"); u != "" {
		s, err := store.Open(context.Background(), u, store.Options{MaxConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		keep := os.Getenv("GHEVENTS_BENCH_KEEP") == "1"
		if !keep {
			clearBench(b, s, o)
		}
		b.Cleanup(func() {
			if !keep {
				clearBench(b, s, o)
			}
			s.Close()
		})
		return s
	}
	s := store.New(testdb.New(b))
	if pre := benchEvents(b, "GHEVENTS_BENCH_PRELOAD", 0); pre > 0 {
		o := gen.Options{Seed: 99, Events: pre, FirstID: 1_000_000_000, Start: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), Span: 30 * 24 * time.Hour}
		sum, err := importer.New(s, importer.Options{NoPayload: true, Stdin: generated(o)}).Run(context.Background(), []string{"-"})
		if err != nil || sum.Stored != pre {
			b.Fatalf("preload: stored %d of %d: %v", sum.Stored, pre, err)
		}
	}
	return s
}

// perMillion logs the import's rate over each successive million events
// stored (counted from the summary table every 200 ms), until stopped.
func perMillion(b *testing.B, s *store.Store, o gen.Options) (stop func()) {
	count := func() int64 {
		var n int64
		if err := s.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(events), 0)::bigint FROM event_type_counts`).Scan(&n); err != nil {
			b.Logf("per-million count: %v", err)
		}
		return n
	}
	base := count()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		last, lastAt, next := int64(0), time.Now(), int64(1_000_000)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			n := count() - base
			for n >= next {
				now := time.Now()
				b.Logf("million %d: %.0f events/s", next/1_000_000, float64(n-last)/now.Sub(lastAt).Seconds())
				last, lastAt, next = n, now, next+1_000_000
			}
			if next > o.Events {
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// clearBench removes what one benchmark iteration stored, outside the timer:
// the partitions holding nothing else are dropped (DropPartition keeps the
// summaries exact), the rest deleted.
func clearBench(b *testing.B, s *store.Store, o gen.Options) {
	b.Helper()
	parts, err := s.Partitions(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range parts {
		var others bool
		if err := s.Pool().QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM `+p.Name+` WHERE id < $1 OR id >= $2)`,
			o.FirstID, o.FirstID+benchIDRange).Scan(&others); err != nil {
			b.Fatal(err)
		}
		if !others && p.Events > 0 {
			if _, err := s.DropPartition(context.Background(), p.Name); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := s.Pool().Exec(context.Background(), `DELETE FROM events WHERE id >= $1 AND id < $2`, o.FirstID, o.FirstID+benchIDRange); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Pool().Exec(context.Background(), `VACUUM events`); err != nil {
		b.Fatal(err)
	}
}

// benchOptions are the generated events of the import benchmarks:
// GHEVENTS_BENCH_EVENTS of them from benchFirstID. GHEVENTS_BENCH_START
// (RFC 3339) makes them cover the 30 days from then. With
// GHEVENTS_BENCH_FOLLOW=1 and GHEVENTS_BENCH_DATABASE_URL set, they cover
// the 30 days after the newest event stored there (new data is newer, as
// with a backfill catching up, or a follower); else one day of 2024.
func benchOptions(b *testing.B) gen.Options {
	b.Helper()
	o := gen.Options{Seed: 1, Events: benchEvents(b, "GHEVENTS_BENCH_EVENTS", 100_000), FirstID: benchFirstID}
	if v := os.Getenv("GHEVENTS_BENCH_START"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			b.Fatalf("GHEVENTS_BENCH_START=%q: want an RFC 3339 time", v)
		}
		o.Start, o.Span = t, 30*24*time.Hour
		return o
	}
	u := os.Getenv("GHEVENTS_BENCH_DATABASE_URL")
	if os.Getenv("GHEVENTS_BENCH_FOLLOW") != "1" || u == "" {
		return o
	}
	s, err := store.Open(context.Background(), u, store.Options{MaxConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// The newest event not of a previous iteration (clearBench removes those).
	var newest time.Time
	if err := s.Pool().QueryRow(context.Background(), `SELECT max(created_at) FROM events WHERE id < $1 OR id >= $2`,
		benchFirstID, benchFirstID+benchIDRange).Scan(&newest); err != nil {
		b.Fatal(err)
	}
	o.Start, o.Span = newest.Add(time.Second).Truncate(time.Second), 30*24*time.Hour
	return o
}

// benchLog logs the importer's messages (the VACUUMs it runs) through b.
func benchLog(b *testing.B) *slog.Logger {
	return slog.New(slog.NewTextHandler(benchWriter{b}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type benchWriter struct{ b *testing.B }

func (w benchWriter) Write(p []byte) (int, error) {
	w.b.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// BenchmarkImport imports a generated GH Archive-shaped .json.gz of
// GHEVENTS_BENCH_EVENTS events, with and without --no-payload, and reports
// events/s and the peak Go heap. GHEVENTS_BENCH_VARIANTS=no-payload runs
// one of the two; GHEVENTS_BENCH_BATCH sets the events per statement
// (ghevents import --batch-size; default 100,000 without payload, 5,000 with),
// GHEVENTS_BENCH_JOBS the writers (--jobs; default 2); GHEVENTS_BENCH_NO_VACUUM=1
// imports without the VACUUM of the summary tables (--no-vacuum).
func BenchmarkImport(b *testing.B) {
	o := benchOptions(b)
	n := o.Events
	archive, _, _ := benchFiles(b, o)
	for _, noPayload := range []bool{false, true} {
		name := "payload"
		if noPayload {
			name = "no-payload"
		}
		if v := os.Getenv("GHEVENTS_BENCH_VARIANTS"); v != "" && v != name {
			continue
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, o)
			var elapsed time.Duration
			var peak uint64
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					clearBench(b, s, o)
					b.StartTimer()
				}
				runtime.GC()
				stop := heapPeak()
				stopRates := perMillion(b, s, o)
				start := time.Now()
				sum, err := importer.New(s, importer.Options{NoPayload: noPayload, BatchSize: int(benchEvents(b, "GHEVENTS_BENCH_BATCH", 0)),
					Jobs: int(benchEvents(b, "GHEVENTS_BENCH_JOBS", 0)), NoVacuum: os.Getenv("GHEVENTS_BENCH_NO_VACUUM") == "1", Log: benchLog(b)}).Run(context.Background(), []string{archive})
				elapsed += time.Since(start)
				stopRates()
				peak = max(peak, stop())
				if err != nil || sum.Stored != n {
					b.Fatalf("stored %d of %d: %v", sum.Stored, n, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkCopyCSV is the floor PostgreSQL sets: plain COPY of the same
// rows from a CSV file straight into events (no staging, no conflict check).
//
// COPY does not make partitions: the months of the rows are made first,
// outside the timer, as the leader makes them ahead of need.
func BenchmarkCopyCSV(b *testing.B) {
	o := benchOptions(b)
	n := o.Events
	_, csvPayload, csvBare := benchFiles(b, o, benchVariants()...)
	if os.Getenv("GHEVENTS_BENCH_FILES_ONLY") == "1" {
		return // the input made ahead, for a later locked run
	}
	for _, c := range []struct{ name, path string }{{"payload", csvPayload}, {"no-payload", csvBare}} {
		if !slices.Contains(benchVariants(), c.name) {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b, o)
			if err := s.EnsureMonths(context.Background(), genMonths(o)...); err != nil {
				b.Fatal(err)
			}
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					clearBench(b, s, o)
					b.StartTimer()
				}
				elapsed += copyCSVFile(b, s, c.path, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkGenerate is how fast the generator writes GH Archive lines
// (gzip excluded), so it is known not to limit the import benchmarks.
func BenchmarkGenerate(b *testing.B) {
	g := gen.New(gen.Options{Seed: 1, Events: int64(b.N)})
	var buf []byte
	var bytes int64
	for i := 0; i < b.N; i++ {
		buf = g.AppendLine(buf[:0])
		bytes += int64(len(buf))
	}
	b.SetBytes(bytes / int64(max(b.N, 1)))
}

// genMonths are times in every month the generated events fall in (the
// generator's defaults filled in).
func genMonths(o gen.Options) []time.Time {
	start, span := o.Start, o.Span
	if start.IsZero() {
		start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if span == 0 {
		span = 24 * time.Hour
	}
	var out []time.Time
	for t := start; !t.After(start.Add(span)); t = t.AddDate(0, 0, 1) {
		out = append(out, t)
	}
	return append(out, start.Add(span))
}

// BenchmarkImportSummaryCost is what the upkeep of the summaries costs the
// import into an empty store: the same generated events without payload
// imported (as BenchmarkImport/no-payload) into a fresh database of each
// schema in turn, each iteration starting with the next one:
//   - "013": migrations up to 013 (five statement triggers on events, the
//     recency in a table of its own, repo_recent_events);
//   - "014": the whole schema (one summary trigger, the recency in
//     repo_type_counts);
//   - "no-summaries": the whole schema with events_summaries_insert
//     disabled (the four B-trees and the version trigger: the floor).
//
// Every import gets a database of its own, made outside the timer.
func BenchmarkImportSummaryCost(b *testing.B) {
	n := benchEvents(b, "GHEVENTS_BENCH_EVENTS", 100_000)
	o := gen.Options{Seed: 1, Events: n, FirstID: benchFirstID}
	archive, _, _ := benchFiles(b, o)
	ctx := context.Background()
	at13 := func() *store.Store {
		url := testdb.Empty(b)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := store.MigrateTo(ctx, conn, 13, nil); err != nil {
			b.Fatal(err)
		}
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		return store.New(pool)
	}
	variants := []struct {
		name  string
		fresh func() *store.Store
		// check is a query of one row of two counts that are both
		// greater than 0 exactly when the variant kept its summaries.
		check string
	}{
		{"013", at13, `SELECT (SELECT count(*) FROM event_minute_counts), (SELECT count(*) FROM repo_recent_events WHERE prev_at IS NOT NULL)`},
		{"014", func() *store.Store { return store.New(testdb.New(b)) },
			`SELECT (SELECT count(*) FROM event_minute_counts), (SELECT count(*) FROM repo_type_counts WHERE prev_at IS NOT NULL)`},
		{"no-summaries", func() *store.Store {
			s := store.New(testdb.New(b))
			if _, err := s.Pool().Exec(ctx, `ALTER TABLE events DISABLE TRIGGER events_summaries_insert`); err != nil {
				b.Fatal(err)
			}
			return s
		}, `SELECT (SELECT count(*) FROM event_minute_counts), (SELECT count(*) FROM repo_type_counts)`},
	}
	elapsed := make([]time.Duration, len(variants))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range variants {
			k := (i + j) % len(variants)
			b.StopTimer()
			s := variants[k].fresh()
			b.StartTimer()
			start := time.Now()
			sum, err := importer.New(s, importer.Options{NoPayload: true}).Run(ctx, []string{archive})
			took := time.Since(start)
			elapsed[k] += took
			if err != nil || sum.Stored != n {
				b.Fatalf("%s: stored %d of %d: %v", variants[k].name, sum.Stored, n, err)
			}
			b.StopTimer()
			var minutes, repos int64
			if err := s.Pool().QueryRow(ctx, variants[k].check).Scan(&minutes, &repos); err != nil {
				b.Fatal(err)
			}
			if kept := variants[k].name != "no-summaries"; (minutes > 0) != kept || (repos > 0) != kept {
				b.Fatalf("%s: %d minutes, %d repositories in the summaries", variants[k].name, minutes, repos)
			}
			b.StartTimer()
			b.Logf("iteration %d, %s: %.0f events/s", i, variants[k].name, float64(n)/took.Seconds())
		}
	}
	b.StopTimer()
	for k, v := range variants {
		b.ReportMetric(float64(n)*float64(b.N)/elapsed[k].Seconds(), "events/s-"+v.name)
	}
}

// BenchmarkCopyFloor is what each index and each summary trigger costs a
// write: plain COPY of the same rows as BenchmarkCopyCSV/no-payload into
// fresh databases that keep, step by step, more of the schema, from the
// primary key alone to the whole schema (the last step is plain COPY into
// events as it is). Each step is its own database; the months are made
// first, outside the timer.
func BenchmarkCopyFloor(b *testing.B) {
	o := benchOptions(b)
	n := o.Events
	_, _, csvBare := benchFiles(b, o, "no-payload")
	indexes := []string{"events_created_idx", "events_type_created_idx", "events_repo_type_created_idx"}
	triggers := []string{"events_summaries_insert", "events_version_insert"}
	steps := []struct {
		name              string
		indexes, triggers int // how many of each list the step keeps
	}{
		{"pk-only", 0, 0},
		{"pk+created_idx", 1, 0},
		{"pk+created+type_created_idx", 2, 0},
		{"four-btrees", 3, 0},
		{"four-btrees+summaries", 3, 1},
		{"whole-schema", 3, 2},
	}
	for _, st := range steps {
		b.Run(st.name, func(b *testing.B) {
			s := store.New(testdb.New(b))
			ctx := context.Background()
			for _, ix := range indexes[st.indexes:] {
				if _, err := s.Pool().Exec(ctx, `DROP INDEX `+ix); err != nil {
					b.Fatal(err)
				}
			}
			for _, tg := range triggers[st.triggers:] {
				if _, err := s.Pool().Exec(ctx, `ALTER TABLE events DISABLE TRIGGER `+tg); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.EnsureMonths(ctx, genMonths(o)...); err != nil {
				b.Fatal(err)
			}
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					if _, err := s.Pool().Exec(ctx, `TRUNCATE events`); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				elapsed += copyCSVFile(b, s, csvBare, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
