package bench

// The metrics benchmarks (issue 4), on a generated data set of
// GHEVENTS_BENCH_METRICS_EVENTS events (default 1,000,000), served by the
// real binary:
//
//	BenchmarkMetricsLatency/<variant>  sequential requests: p50-ms, p99-ms
//	BenchmarkMetricsLoad               mixed requests from 16 workers for 20 s:
//	                                   req/s, p50-ms, p99-ms, errors, rss-MiB
//	                                   (every variant but the 10,000-row export,
//	                                   unless GHEVENTS_BENCH_LOAD_BULK is set)
//	BenchmarkLegacy/<variant>          the Python service's approach on the same
//	                                   data (fetch every row, compute in Go)
//
// GHEVENTS_BENCH_SERVE_ENV adds settings to the server's environment
// (space-separated NAME=value): ANSWER_CACHE_MB=0 measures the big answers
// computed afresh on every request instead of sent from the answer cache.
//
// make bench runs them; see BENCHMARKS.md.

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

type variant struct {
	name, path string
	legacy     func(ctx context.Context, q *legacyQueries) error
	// bulk marks an export-sized answer (10,000 rows): measured for its
	// latency, left out of the mixed load.
	bulk bool
}

type fixture struct {
	ds       Dataset
	srv      *Server
	store    *store.Store
	variants []variant
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func envInt(name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return n
		}
	}
	return def
}

// setup builds the data set and starts the server once per process.
func setup(b *testing.B) *fixture {
	b.Helper()
	fixOnce.Do(func() {
		ctx := context.Background()
		events := envInt("GHEVENTS_BENCH_METRICS_EVENTS", 1_000_000)
		ds, err := EnsureDataset(ctx, testdb.ServerURL(), events, 1, func(f string, a ...any) { fmt.Printf(f+"\n", a...) })
		if err != nil {
			fixErr = err
			return
		}
		root, _ := filepath.Abs("../../..")
		// GHEVENTS_BENCH_SERVE_ENV: settings of the server, such as
		// ANSWER_CACHE_MB=0 to measure every answer computed afresh.
		srv, err := StartServer(ctx, testkit.FreeAddr(b), root, ds.URL, filepath.Join(os.TempDir(), fmt.Sprintf("ghevents-bench-serve-%d.log", events)),
			strings.Fields(os.Getenv("GHEVENTS_BENCH_SERVE_ENV"))...)
		if err != nil {
			fixErr = err
			return
		}
		s, err := store.Open(ctx, ds.URL, store.Options{MaxConns: 4})
		if err != nil {
			fixErr = err
			return
		}
		f := &fixture{ds: ds, srv: srv, store: s}
		f.variants, fixErr = variants(ctx, s, ds)
		fix = f
	})
	if fixErr != nil {
		b.Fatal(fixErr)
	}
	return fix
}

// variants are the requests measured: each endpoint without filters and
// with the filters users give, on repositories picked from the data (the
// busiest, a middling one).
func variants(ctx context.Context, s *store.Store, ds Dataset) ([]variant, error) {
	var topPush, midPush, topIssues string
	if err := s.Pool().QueryRow(ctx, `SELECT repo_name FROM repo_type_counts WHERE type = 'PushEvent' ORDER BY events DESC, repo_key LIMIT 1`).Scan(&topPush); err != nil {
		return nil, err
	}
	if err := s.Pool().QueryRow(ctx, `SELECT repo_name FROM repo_type_counts WHERE type = 'PushEvent' AND events BETWEEN 20 AND 200 ORDER BY repo_key LIMIT 1`).Scan(&midPush); err != nil {
		return nil, err
	}
	if err := s.Pool().QueryRow(ctx, `SELECT repo_name FROM repo_type_counts WHERE type = 'IssuesEvent' ORDER BY events DESC, repo_key LIMIT 1`).Scan(&topIssues); err != nil {
		return nil, err
	}
	// /metrics/coverage compares each hour with a GH Archive hour the
	// follower imported: the data set has none, so every hour of it gets
	// one (a file of the hour's stored events, a sixth of them seen
	// before), as a follower would have recorded over the 30 days.
	if _, err := s.Pool().Exec(ctx, `INSERT INTO gharchive_hours (base_url, hour, status, archive_events, seen_before_archive)
		SELECT 'bench', hour, 'done', events, events / 6 FROM hourly_source_counts ON CONFLICT DO NOTHING`); err != nil {
		return nil, err
	}
	// Windows end at the data set's end, however long ago it was made.
	age := int64(time.Since(ds.End).Seconds()) + 1
	hour, day, all := age+3600, age+86400, age+int64(Span.Seconds())
	q := url.QueryEscape
	since := func(off int64) time.Time { return time.Now().Add(-time.Duration(off) * time.Second) }
	avg := func(t, repo, action string) func(context.Context, *legacyQueries) error {
		return func(ctx context.Context, q *legacyQueries) error {
			_, _, err := q.avgGap(ctx, t, repo, action)
			return err
		}
	}
	total := func(off int64, repo, action string) func(context.Context, *legacyQueries) error {
		return func(ctx context.Context, q *legacyQueries) error {
			_, err := q.countsSince(ctx, since(off), repo, action)
			return err
		}
	}
	repos := func(t string, min int64, limit int) func(context.Context, *legacyQueries) error {
		return func(ctx context.Context, q *legacyQueries) error {
			_, _, err := q.topRepos(ctx, t, min, limit)
			return err
		}
	}
	return []variant{
		{"avg/PushEvent", "/metrics/event-avg-time?event_type=PushEvent", avg("PushEvent", "", ""), false},
		{"avg/WatchEvent", "/metrics/event-avg-time?event_type=WatchEvent", avg("WatchEvent", "", ""), false},
		{"avg/IssuesEvent+opened", "/metrics/event-avg-time?event_type=IssuesEvent&action=opened", avg("IssuesEvent", "", "opened"), false},
		{"avg/PushEvent+busiest-repo", "/metrics/event-avg-time?event_type=PushEvent&repository_name=" + q(topPush), avg("PushEvent", topPush, ""), false},
		{"avg/PushEvent+middling-repo", "/metrics/event-avg-time?event_type=PushEvent&repository_name=" + q(midPush), avg("PushEvent", midPush, ""), false},
		{"avg/IssuesEvent+closed+busiest-repo", "/metrics/event-avg-time?event_type=IssuesEvent&action=closed&repository_name=" + q(topIssues), avg("IssuesEvent", topIssues, "closed"), false},
		{"total/1h", fmt.Sprintf("/metrics/events-total-count?offset=%d", hour), total(hour, "", ""), false},
		{"total/24h", fmt.Sprintf("/metrics/events-total-count?offset=%d", day), total(day, "", ""), false},
		{"total/30d", fmt.Sprintf("/metrics/events-total-count?offset=%d", all), total(all, "", ""), false},
		{"total/1h+opened", fmt.Sprintf("/metrics/events-total-count?offset=%d&action=opened", hour), total(hour, "", "opened"), false},
		{"total/1h+busiest-repo", fmt.Sprintf("/metrics/events-total-count?offset=%d&repository_name=%s", hour, q(topPush)), total(hour, topPush, ""), false},
		{"total/30d+busiest-repo", fmt.Sprintf("/metrics/events-total-count?offset=%d&repository_name=%s", all, q(topPush)), total(all, topPush, ""), false},
		{"coverage/30d", fmt.Sprintf("/metrics/coverage?offset=%d", all), nil, false},
		{"coverage/24h", fmt.Sprintf("/metrics/coverage?offset=%d", day), nil, false},
		{"repos/PushEvent", "/metrics/multiple-events-repos?event_type=PushEvent", repos("PushEvent", 2, 100), false},
		{"repos/WatchEvent>10,top10", "/metrics/multiple-events-repos?event_type=WatchEvent&minimal_events_count=10&limit=10", repos("WatchEvent", 10, 10), false},
		{"repos/PushEvent>1,top10000", "/metrics/multiple-events-repos?event_type=PushEvent&minimal_events_count=1&limit=10000", repos("PushEvent", 1, 10000), true},
	}, nil
}

func BenchmarkMetricsLatency(b *testing.B) {
	f := setup(b)
	c := Client(1)
	for _, v := range f.variants {
		b.Run(v.name, func(b *testing.B) {
			for range 5 { // warm the connection and the caches
				if status, _, err := Get(c, f.srv.URL+v.path); err != nil || status != 200 {
					b.Fatalf("%s: %d %v", v.path, status, err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				status, took, err := Get(c, f.srv.URL+v.path)
				if err != nil || status != 200 {
					b.Fatalf("%s: %d %v", v.path, status, err)
				}
				lat = append(lat, took)
			}
			b.ReportMetric(ms(Percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(Percentile(lat, 99)), "p99-ms")
		})
	}
}

// BenchmarkChartsLatency measures the chart pages: server-side render time
// (p50/p99 of whole requests on loopback) and page size.
func BenchmarkChartsLatency(b *testing.B) {
	f := setup(b)
	age := int64(time.Since(f.ds.End).Seconds()) + 1
	pages := []struct{ name, path string }{
		{"event-avg-time/all-types", "/visualization/event-avg-time"},
		{"event-avg-time/PushEvent", "/visualization/event-avg-time?event_type=PushEvent"},
		{"event-avg-time/IssuesEvent+opened", "/visualization/event-avg-time?event_type=IssuesEvent&action=opened&scale=linear"},
		{"events-total-count/24h", fmt.Sprintf("/visualization/events-total-count?offset=%d", age+86400)},
		{"multiple-events-repos/PushEvent-top100", "/visualization/multiple-events-repos?event_type=PushEvent&limit=100"},
		{"coverage/30d", fmt.Sprintf("/visualization/coverage?offset=%d", age+int64(Span.Seconds()))},
		{"index", "/visualization"},
	}
	c := Client(1)
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			resp, err := c.Get(f.srv.URL + p.path)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("%s: %d %v", p.path, resp.StatusCode, err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				status, took, err := Get(c, f.srv.URL+p.path)
				if err != nil || status != 200 {
					b.Fatalf("%s: %d %v", p.path, status, err)
				}
				lat = append(lat, took)
			}
			b.ReportMetric(ms(Percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(Percentile(lat, 99)), "p99-ms")
			b.ReportMetric(float64(len(body))/1024, "page-KiB")
		})
	}
}

func BenchmarkMetricsLoad(b *testing.B) {
	f := setup(b)
	var paths []string
	for _, v := range f.variants {
		if !v.bulk || os.Getenv("GHEVENTS_BENCH_LOAD_BULK") != "" {
			paths = append(paths, v.path)
		}
	}
	workers := int(envInt("GHEVENTS_BENCH_WORKERS", 16))
	d := time.Duration(envInt("GHEVENTS_BENCH_SECONDS", 20)) * time.Second
	// One run of fixed length, whatever b.N (-benchtime does not apply).
	b.ResetTimer()
	res := Load(context.Background(), f.srv.URL, paths, workers, d)
	b.StopTimer()
	rss, peak, err := Memory(f.srv.Pid())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond(), "req/s")
	b.ReportMetric(ms(Percentile(res.Latencies, 50)), "p50-ms")
	b.ReportMetric(ms(Percentile(res.Latencies, 99)), "p99-ms")
	b.ReportMetric(float64(res.Errors), "errors")
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(peak, "peak-rss-MiB")
	if res.Errors > 0 {
		b.Errorf("%d errors, e.g. %v", res.Errors, res.ErrorSamples)
	}
}

func BenchmarkLegacy(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	q := newLegacyQueries(f.store.Pool())
	for _, v := range f.variants {
		if v.legacy == nil {
			continue // no counterpart in the old service (coverage)
		}
		b.Run(v.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				start := time.Now()
				if err := v.legacy(ctx, q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.ReportMetric(ms(Percentile(lat, 50)), "p50-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestMain stops the server the benchmarks started.
func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.srv.Stop()
		fix.store.Close()
	}
	os.Exit(code)
}
