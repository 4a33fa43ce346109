package store_test

import (
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
)

// TestEveryWritePathRecordsItsSource stores events through each way of
// the one write path (the straight COPY, and the INSERT ... ON CONFLICT of
// a batch another writer stored some of) and reads back the source of each row, the first storer's, and the
// hourly summary that /metrics/coverage reads, against counts made by hand.
func TestEveryWritePathRecordsItsSource(t *testing.T) {
	s, ctx := setup(t)
	ev := func(id int64, at string, src model.Source) model.Event {
		return model.Event{ID: id, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: ts(at), Source: src}
	}
	// Hour 10: two from the firehose, one from a watched feed; hour 11: one
	// imported, one from the archive (straight COPY), one staged, one NULL.
	if n, err := s.InsertEvents(ctx, []model.Event{ev(1, "2024-05-01T10:00:00Z", model.SourceFirehose), ev(2, "2024-05-01T10:59:59Z", model.SourceFirehose)}); err != nil || n != 2 {
		t.Fatalf("InsertEvents firehose: %d, %v", n, err)
	}
	if n, err := s.InsertEvents(ctx, []model.Event{ev(3, "2024-05-01T10:30:00Z", model.SourceWatch)}); err != nil || n != 1 {
		t.Fatalf("InsertEvents watch: %d, %v", n, err)
	}
	// The archive brings 1 and 3 again (kept as firehose and watch) and 4.
	if n, err := s.InsertEvents(ctx, []model.Event{ev(1, "2024-05-01T10:00:00Z", model.SourceArchive), ev(3, "2024-05-01T10:30:00Z", model.SourceArchive), ev(4, "2024-05-01T11:00:00Z", model.SourceArchive)}); err != nil || n != 1 {
		t.Fatalf("ImportEvents archive: %d, %v", n, err)
	}
	if n, err := s.InsertEvents(ctx, []model.Event{ev(5, "2024-05-01T11:10:00Z", model.SourceImport)}); err != nil || n != 1 {
		t.Fatalf("ImportEvents import: %d, %v", n, err)
	}
	if n, err := s.InsertOnConflictForTest(ctx, []model.Event{ev(6, "2024-05-01T11:20:00Z", model.SourceImport), ev(2, "2024-05-01T10:59:59Z", model.SourceImport)}); err != nil || n != 1 {
		t.Fatalf("INSERT ON CONFLICT: %d, %v", n, err)
	}
	if n, err := s.InsertEvents(ctx, []model.Event{ev(7, "2024-05-01T11:30:00Z", "")}); err != nil || n != 1 {
		t.Fatalf("InsertEvents without source: %d, %v", n, err)
	}
	want := map[int64]model.Source{1: model.SourceFirehose, 2: model.SourceFirehose, 3: model.SourceWatch,
		4: model.SourceArchive, 5: model.SourceImport, 6: model.SourceImport, 7: ""}
	rows, err := s.Pool().Query(ctx, `SELECT id, coalesce(source::text, '') FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]model.Source{}
	for rows.Next() {
		var id int64
		var src string
		if err := rows.Scan(&id, &src); err != nil {
			t.Fatal(err)
		}
		got[id] = model.Source(src)
	}
	if rows.Err() != nil || len(got) != len(want) {
		t.Fatalf("rows %v (%v), want %v", got, rows.Err(), want)
	}
	for id, src := range want {
		if got[id] != src {
			t.Errorf("event %d: source %q, want %q", id, got[id], src)
		}
	}
	if e, err := s.Event(ctx, 3, ts("2024-05-01T10:30:00Z")); err != nil || e.Source != model.SourceWatch {
		t.Errorf("Event(3) = %+v, %v; want source watch", e, err)
	}

	type hour struct{ events, polled int64 }
	summary := func() map[time.Time]hour {
		t.Helper()
		rows, err := s.Pool().Query(ctx, `SELECT hour, events, polled FROM hourly_source_counts`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[time.Time]hour{}
		for rows.Next() {
			var h time.Time
			var x hour
			if err := rows.Scan(&h, &x.events, &x.polled); err != nil {
				t.Fatal(err)
			}
			m[h.UTC()] = x
		}
		return m
	}
	h10, h11 := ts("2024-05-01T10:00:00Z"), ts("2024-05-01T11:00:00Z")
	if got, want := summary(), map[time.Time]hour{h10: {3, 3}, h11: {4, 0}}; len(got) != 2 || got[h10] != want[h10] || got[h11] != want[h11] {
		t.Fatalf("hourly summary %v, want %v", got, want)
	}
	// Retention deletes follow: hour 10 goes, and its row with it.
	if n, err := s.DeleteOlderThan(ctx, h11, 100); err != nil || n != 3 {
		t.Fatalf("DeleteOlderThan: %d, %v", n, err)
	}
	if got := summary(); len(got) != 1 || got[h11] != (hour{4, 0}) {
		t.Fatalf("hourly summary after retention %v, want only %v: {4 0}", got, h11)
	}
}

// Retention dropping a whole month (a partition) takes its hours out of
// hourly_source_counts too, in the same transaction; the other months stay.
func TestDropPartitionTakesItsHoursOutOfTheSourceSummary(t *testing.T) {
	s, ctx := setup(t)
	ev := func(id int64, at string) model.Event {
		return model.Event{ID: id, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: ts(at), Source: model.SourceFirehose}
	}
	if _, err := s.InsertEvents(ctx, []model.Event{ev(1, "2024-03-31T23:00:00Z"), ev(2, "2024-03-01T00:00:00Z"), ev(3, "2024-04-01T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	parts, err := s.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var march string
	for _, p := range parts {
		if p.From.Equal(ts("2024-03-01T00:00:00Z")) {
			march = p.Name
		}
	}
	if march == "" {
		t.Fatalf("no partition for March 2024 in %+v", parts)
	}
	if n, err := s.DropPartition(ctx, march); err != nil || n != 2 {
		t.Fatalf("DropPartition(%s) = %d, %v; want 2", march, n, err)
	}
	var hours, events, polled int64
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), coalesce(sum(events), 0), coalesce(sum(polled), 0) FROM hourly_source_counts`).Scan(&hours, &events, &polled); err != nil {
		t.Fatal(err)
	}
	if hours != 1 || events != 1 || polled != 1 {
		t.Fatalf("hourly_source_counts after the drop: %d hours, %d events, %d polled; want April's 1, 1, 1", hours, events, polled)
	}
}
