package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// partitionNames lists the partitions of events with their bounds.
func partitionNames(t *testing.T, ctx context.Context, s *store.Store) []string {
	t.Helper()
	parts, err := s.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range parts {
		out = append(out, fmt.Sprintf("%s [%s, %s) %d", p.Name, p.From.Format("2006-01-02"), p.To.Format("2006-01-02"), p.Events))
	}
	return out
}

// TestMigrationPartitionsAFilledStore fills a store at schema version 4
// (one plain events table), migrates it up, checks that the old table became
// the partition of its months without a row moving and that every summary
// is still exact, writes through the new partitions, and migrates back down.
func TestMigrationPartitionsAFilledStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Empty(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := store.MigrateTo(ctx, conn, 4, nil); err != nil {
		t.Fatal(err)
	}
	// 6,000 events, one every 10 minutes from 2024-03-05 (to 2024-04-16),
	// of three types, two actions in mixed case, 40 repositories.
	if _, err := conn.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, action, created_at)
		SELECT g, (ARRAY['PushEvent','IssuesEvent','WatchEvent'])[1 + g % 3], g % 40, 'Owner/R' || (g % 40),
		       CASE WHEN g % 3 = 1 THEN (ARRAY['opened','Closed'])[1 + g % 2] END,
		       timestamptz '2024-03-05 00:00:00Z' + g * interval '10 minutes'
		FROM generate_series(1, 6000) g`); err != nil {
		t.Fatal(err)
	}
	var ctidsBefore string
	if err := conn.QueryRow(ctx, `SELECT string_agg(ctid::text, ',' ORDER BY id) FROM events`).Scan(&ctidsBefore); err != nil {
		t.Fatal(err)
	}
	var versionBefore int64
	if err := conn.QueryRow(ctx, `SELECT version FROM data_version`).Scan(&versionBefore); err != nil {
		t.Fatal(err)
	}
	// Up to the partitions and what follows them, not yet to 011 (which
	// rewrites the rows whose action is not its key, 'Closed' here).
	if err := store.MigrateTo(ctx, conn, 10, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := store.New(pool)

	// The range 005 chose runs to the end of the month after the later of
	// the newest row and now.
	now := time.Now().UTC()
	hi := time.Date(now.Year(), now.Month()+2, 1, 0, 0, 0, 0, time.UTC)
	want := fmt.Sprintf("events_2024_03_through_%s [2024-03-01, %s) 6000", hi.AddDate(0, -1, 0).Format("2006_01"), hi.Format("2006-01-02"))
	if got := partitionNames(t, ctx, s); !slices.Equal(got, []string{want}) {
		t.Fatalf("partitions %v, want [%s]", got, want)
	}
	var kind string
	if err := pool.QueryRow(ctx, `SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass`).Scan(&kind); err != nil || kind != "p" {
		t.Fatalf("events relkind %q (%v), want p (partitioned)", kind, err)
	}
	// No row moved (the same physical addresses), no row counted twice.
	var ctidsAfter string
	var versionAfter int64
	if err := pool.QueryRow(ctx, `SELECT string_agg(ctid::text, ',' ORDER BY id), (SELECT version FROM data_version) FROM events`).Scan(&ctidsAfter, &versionAfter); err != nil {
		t.Fatal(err)
	}
	if ctidsAfter != ctidsBefore || versionAfter != versionBefore {
		t.Fatalf("rows moved (%v) or version changed %d -> %d", ctidsAfter != ctidsBefore, versionBefore, versionAfter)
	}
	// Every index of the old table was adopted, none built: the partition
	// has exactly the four.
	var idx []string
	rows, err := pool.Query(ctx, `SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`, "events_2024_03_through_"+hi.AddDate(0, -1, 0).Format("2006_01"))
	if err != nil {
		t.Fatal(err)
	}
	if idx, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(idx) != 4 {
		t.Fatalf("indexes of the old table: %v, want 4", idx)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatalf("up: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)

	// Writes through the parent: the poller's path and the import's, into
	// the old partition (duplicates among them), a month before it and a
	// future one; the statement triggers count each new row once.
	batch := []model.Event{
		{ID: 3, Type: "IssuesEvent", RepoID: 3, RepoName: "owner/r3", Action: "opened", CreatedAt: time.Date(2024, 3, 5, 0, 30, 0, 0, time.UTC)}, // stored
		{ID: 7001, Type: "PushEvent", RepoID: 1, RepoName: "Owner/R1", CreatedAt: time.Date(2024, 4, 20, 0, 0, 0, 0, time.UTC)},
		{ID: 7002, Type: "PushEvent", RepoID: 1, RepoName: "Owner/R1", CreatedAt: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: 7003, Type: "WatchEvent", RepoID: 9, RepoName: "new/one", Action: "started", CreatedAt: time.Date(2031, 5, 17, 12, 0, 0, 0, time.UTC)},
	}
	if n, err := s.InsertEvents(ctx, batch); err != nil || n != 3 {
		t.Fatalf("insert: %d, %v; want 3 new", n, err)
	}
	more := []model.Event{
		{ID: 7002, Type: "PushEvent", RepoID: 1, RepoName: "Owner/R1", CreatedAt: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)}, // stored
		{ID: 7004, Type: "PushEvent", RepoID: 1, RepoName: "Owner/R1", CreatedAt: time.Date(2015, 1, 31, 23, 59, 59, 0, time.UTC)},
		{ID: 7005, Type: "PushEvent", RepoID: 2, RepoName: "Owner/R2", CreatedAt: time.Date(2015, 2, 1, 0, 0, 0, 0, time.UTC)},
	}
	if n, err := s.InsertEvents(ctx, more); err != nil || n != 2 {
		t.Fatalf("import: %d, %v; want 2 new", n, err)
	}
	wantParts := []string{
		"events_2015_01 [2015-01-01, 2015-02-01) 2",
		"events_2015_02 [2015-02-01, 2015-03-01) 1",
		fmt.Sprintf("events_2024_03_through_%s [2024-03-01, %s) 6001", hi.AddDate(0, -1, 0).Format("2006_01"), hi.Format("2006-01-02")),
		"events_2031_05 [2031-05-01, 2031-06-01) 1",
	}
	if got := partitionNames(t, ctx, s); !slices.Equal(got, wantParts) {
		t.Fatalf("partitions %v, want %v", got, wantParts)
	}
	testdb.SummariesMatch(t, ctx, pool)
	span, err := s.EventSpan(ctx, store.EventFilter{EventType: "WatchEvent", RepoName: "NEW/ONE", Action: "Started"})
	if err != nil || span.Count != 1 || !span.Newest.Equal(batch[3].CreatedAt) {
		t.Fatalf("the future event: %+v %v", span, err)
	}

	// Down: one table again, every row and summary as it was.
	if err := store.MigrateTo(ctx, conn, 4, nil); err != nil {
		t.Fatalf("down: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT relkind::text, (SELECT count(*) FROM events) FROM pg_class WHERE oid = 'events'::regclass`).Scan(&kind, &n); err != nil || kind != "r" || n != 6005 {
		t.Fatalf("after down: relkind %q, %d rows (%v); want r, 6005", kind, n, err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	if _, err := pool.Exec(ctx, `INSERT INTO events (id, type, repo_id, repo_name, created_at) VALUES (8000, 'PushEvent', 1, 'owner/r1', '2030-01-01Z')`); err != nil {
		t.Fatalf("insert after down: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
	// And up again.
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatalf("up again: %v", err)
	}
	testdb.SummariesMatch(t, ctx, pool)
}

// TestEmptyStoreMakesMonthsOnDemand: a store migrated while empty (every new
// install) has no partition; the first writes make the months they need.
func TestEmptyStoreMakesMonthsOnDemand(t *testing.T) {
	s, ctx := setup(t)
	if got := partitionNames(t, ctx, s); len(got) != 0 {
		t.Fatalf("partitions of a new store: %v", got)
	}
	ev := []model.Event{
		{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: time.Date(2015, 1, 1, 0, 0, 1, 0, time.UTC)},
		{ID: 2, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: time.Date(2015, 1, 1, 0, 59, 0, 0, time.UTC)},
	}
	if n, err := s.InsertEvents(ctx, ev); err != nil || n != 2 {
		t.Fatalf("import: %d %v", n, err)
	}
	if got := partitionNames(t, ctx, s); !slices.Equal(got, []string{"events_2015_01 [2015-01-01, 2015-02-01) 2"}) {
		t.Fatalf("partitions %v", got)
	}
	// A month made elsewhere (another process) is found, not made twice;
	// one dropped behind this store's back is made again.
	other := store.New(s.Pool())
	if err := other.EnsureMonths(ctx, time.Date(2015, 1, 20, 0, 0, 0, 0, time.UTC), time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `DROP TABLE events_2015_03`); err != nil {
		t.Fatal(err)
	}
	if n, err := other.InsertEvents(ctx, []model.Event{{ID: 3, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: time.Date(2015, 3, 2, 0, 0, 0, 0, time.UTC)}}); err != nil || n != 1 {
		t.Fatalf("insert into a month dropped meanwhile: %d %v", n, err)
	}
	want := []string{"events_2015_01 [2015-01-01, 2015-02-01) 2", "events_2015_03 [2015-03-01, 2015-04-01) 1"}
	if got := partitionNames(t, ctx, s); !slices.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}

// TestMakingAMonthNeverHoldsUpQueries: making a partition takes a lock
// queries do not wait for; when it must wait itself (behind a lock that
// conflicts, as a retention drop holds), it gives up every 50 ms and tries
// again, and the queries run meanwhile answer at once.
func TestMakingAMonthNeverHoldsUpQueries(t *testing.T) {
	s, ctx := setup(t)
	if _, err := s.InsertEvents(ctx, []model.Event{{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	// A reader in the middle of a transaction on events does not stop it.
	reader, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Exec(ctx, `SELECT count(*) FROM events`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.EnsureMonths(ctx, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("making a month beside an open reader took %v", d)
	}
	_ = reader.Rollback(ctx)

	// A conflicting lock held for 600 ms: the month is made once it goes.
	holder, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `LOCK TABLE ONLY events IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- store.New(s.Pool()).EnsureMonths(ctx, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) }()
	var slowest time.Duration
	for deadline := time.Now().Add(600 * time.Millisecond); time.Now().Before(deadline); {
		t0 := time.Now()
		span, err := s.EventSpan(ctx, store.EventFilter{EventType: "PushEvent"})
		if err != nil || span.Count != 1 {
			t.Fatalf("query while the month waits: %+v %v", span, err)
		}
		slowest = max(slowest, time.Since(t0))
		// Only the maker of the month waits for a lock, never a query.
		var waiting []string
		rows, err := s.Pool().Query(ctx, `SELECT DISTINCT a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE NOT l.granted AND a.datname = current_database() AND a.query NOT LIKE '%events_ensure_month%'`)
		if err != nil {
			t.Fatal(err)
		}
		if waiting, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		if len(waiting) > 0 {
			_ = holder.Rollback(ctx)
			t.Fatalf("waiting for a lock: %q", waiting)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = holder.Rollback(ctx)
	if err := <-done; err != nil {
		t.Fatalf("making the month after the lock went: %v", err)
	}
	// (Wall time, on a machine shared with other tests: a query that
	// queued behind the lock would take 600 ms.)
	if slowest > 300*time.Millisecond {
		t.Fatalf("a query took %v while the month was being made", slowest)
	}
	want := []string{"events_2024_01 [2024-01-01, 2024-02-01) 1", "events_2024_02 [2024-02-01, 2024-03-01) 0", "events_2024_03 [2024-03-01, 2024-04-01) 0"}
	if got := partitionNames(t, ctx, s); !slices.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
}

// TestDroppingAMonthHoldsUpQueriesBriefly: a partition's DROP needs a lock
// that every query conflicts with. Behind a long reader it waits 50 ms at a
// time and gives way in between, so the queries that arrive meanwhile wait
// for it 50 ms at most; it succeeds once the reader is gone.
func TestDroppingAMonthHoldsUpQueriesBriefly(t *testing.T) {
	s, ctx := setup(t)
	ev := []model.Event{
		{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{ID: 2, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC)},
	}
	if _, err := s.InsertEvents(ctx, ev); err != nil {
		t.Fatal(err)
	}
	reader, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(context.Background()) //nolint:errcheck
	if _, err := reader.Exec(ctx, `SELECT count(*) FROM events`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.DropPartition(ctx, "events_2024_01")
		done <- err
	}()
	var slowest time.Duration
	for deadline := time.Now().Add(700 * time.Millisecond); time.Now().Before(deadline); {
		t0 := time.Now()
		span, err := s.EventSpan(ctx, store.EventFilter{EventType: "PushEvent"})
		if err != nil || span.Count != 2 {
			_ = reader.Rollback(ctx)
			t.Fatalf("query while the drop waits: %+v %v", span, err)
		}
		slowest = max(slowest, time.Since(t0))
		time.Sleep(5 * time.Millisecond)
	}
	_ = reader.Rollback(ctx)
	if err := <-done; err != nil {
		t.Fatalf("drop after the reader went: %v", err)
	}
	// 50 ms of lock wait at most, plus the query (wall time on a shared
	// machine: a query held for the reader's whole 700 ms would show).
	t.Logf("slowest query while the drop waited: %v", slowest)
	if slowest > 300*time.Millisecond {
		t.Fatalf("a query took %v while the drop waited", slowest)
	}
	if got := partitionNames(t, ctx, s); !slices.Equal(got, []string{"events_2024_02 [2024-02-01, 2024-03-01) 1"}) {
		t.Fatalf("partitions %v", got)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}
