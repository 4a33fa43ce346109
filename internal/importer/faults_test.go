package importer_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/faultproxy"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// The database connections are cut again and again while an import runs
// (through a TCP proxy: every 3 MB the importer sends, every connection
// is reset and new ones are refused for 100 ms). Two batches of 200 events
// in flight send at most 1.5 MB (the 2021 events are the largest, 3.7 kB
// each), so some batch always gets through between two cuts: with a
// smaller period the two writers, retrying in step, were cut for ever.
// Each batch is retried;
// nothing is lost and nothing is stored twice: the table holds exactly the
// distinct events of the files (counted apart, with encoding/json), and the
// summary tables, kept by triggers in the same transactions, agree with it.
func TestImportSurvivesConnectionCuts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dbURL := testdb.URL(t)
	direct, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faultproxy.New(t, u.Host)
	s, err := store.Open(ctx, px.MustURL(t, dbURL), store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	lines := append(readLines(t, hour2015), readLines(t, day2021)...)
	want := distinct(t, lines, nil)
	wantByType := map[string]int64{}
	seen := map[[2]string]bool{}
	for _, l := range lines {
		e := parse(t, l)
		if k := [2]string{e.ID, e.CreatedAt}; !seen[k] {
			seen[k] = true
			wantByType[e.Type]++
		}
	}

	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	px.CutEvery(3_000_000, 100*time.Millisecond)
	sum, err := importer.New(s, importer.Options{BatchSize: 200, Jobs: 2, RetryFor: time.Minute, Log: log}).
		Run(ctx, []string{hour2015, day2021})
	px.CutEvery(0, 0)
	cuts := px.Stats().Cuts
	t.Logf("%d cuts, %d connections; import: stored %d, duplicates %d, %v", cuts, px.Stats().Accepted, sum.Stored, sum.Duplicates, sum.Elapsed)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, logs.String())
	}
	// The files hold 17.8 MB and 3.0 MB of JSON: at least 6 cuts.
	if cuts < 6 {
		t.Fatalf("only %d cuts: the fault was not injected", cuts)
	}
	retries := strings.Count(logs.String(), "storing a batch failed; retrying")
	if retries < int(cuts)/2 {
		t.Fatalf("%d retries logged for %d cuts", retries, cuts)
	}
	if !sum.Clean() || sum.Events != int64(len(lines)) {
		t.Fatalf("summary %+v", sum)
	}
	// A batch whose commit went through but whose answer was cut is sent
	// again and found already stored: it is counted as duplicates, so
	// stored + duplicates always adds up, and stored is at most the truth.
	if sum.Stored+sum.Duplicates != int64(len(lines)) || sum.Stored > want {
		t.Fatalf("stored %d + duplicates %d, want %d lines with at most %d stored", sum.Stored, sum.Duplicates, len(lines), want)
	}
	var rows, keys int64
	if err := direct.QueryRow(ctx, `SELECT count(*), count(DISTINCT (id, created_at)) FROM events`).Scan(&rows, &keys); err != nil {
		t.Fatal(err)
	}
	if rows != want || keys != want {
		t.Fatalf("events holds %d rows (%d identities), want %d", rows, keys, want)
	}
	assertSummariesAgree(t, ctx, direct, wantByType)
}

// assertSummariesAgree checks that the per-type counts of the events table,
// of the summary tables and of the expectation are the same.
func assertSummariesAgree(t *testing.T, ctx context.Context, pool *pgxpool.Pool, want map[string]int64) {
	t.Helper()
	for _, q := range []string{
		`SELECT type, count(*) FROM events GROUP BY type`,
		`SELECT type, sum(events)::bigint FROM event_type_counts GROUP BY type HAVING sum(events) > 0`,
		`SELECT type, sum(events)::bigint FROM event_hourly_counts GROUP BY type HAVING sum(events) > 0`,
		`SELECT type, sum(events)::bigint FROM repo_type_counts GROUP BY type HAVING sum(events) > 0`,
	} {
		rows, err := pool.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for rows.Next() {
			var typ string
			var n int64
			if err := rows.Scan(&typ, &n); err != nil {
				t.Fatal(err)
			}
			got[typ] = n
		}
		rows.Close()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", q, got, want)
		}
		for typ, n := range want {
			if got[typ] != n {
				t.Fatalf("%s: %s = %d, want %d", q, typ, got[typ], n)
			}
		}
	}
}
