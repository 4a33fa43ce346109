package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// TestDataVersion: the version grows with every statement that changes
// events, and only then (a page of duplicates changes nothing), and two
// databases never share one.
func TestDataVersion(t *testing.T) {
	s, ctx := setup(t)
	pool := s.Pool()
	version := func() store.DataVersion {
		t.Helper()
		v, err := s.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	if v0.N != 0 || len(v0.Epoch) != 36 {
		t.Fatalf("fresh database: version %+v, want N 0 and a UUID epoch", v0)
	}
	at := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	ev := []model.Event{
		{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at},
		{ID: 2, Type: "WatchEvent", RepoID: 1, RepoName: "a/b", Action: "started", CreatedAt: at.Add(time.Second)},
	}
	steps := []struct {
		name  string
		do    func() error
		bumps int64
	}{
		{"insert two events", func() error { _, err := s.InsertEvents(ctx, ev); return err }, 1},
		{"insert the same two again (duplicates)", func() error { _, err := s.InsertEvents(ctx, ev); return err }, 0},
		{"delete nothing", func() error { _, err := pool.Exec(ctx, "DELETE FROM events WHERE id = 99"); return err }, 0},
		{"update one", func() error { _, err := pool.Exec(ctx, "UPDATE events SET actor_login = 'x' WHERE id = 1"); return err }, 1},
		{"delete one", func() error { _, err := pool.Exec(ctx, "DELETE FROM events WHERE id = 2"); return err }, 1},
		{"truncate", func() error { _, err := pool.Exec(ctx, "TRUNCATE events"); return err }, 1},
		{"a rolled-back insert", func() error {
			if err := s.EnsureMonths(ctx, time.Now()); err != nil {
				return err
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO events (id, type, repo_id, repo_name, created_at) VALUES (5, 'PushEvent', 1, 'a/b', now())"); err != nil {
				return err
			}
			return tx.Rollback(ctx)
		}, 0},
	}
	want := v0.N
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want += st.bumps
		if v := version(); v.N != want || v.Epoch != v0.Epoch || v.Database != v0.Database {
			t.Fatalf("after %s: version %+v, want N %d and epoch %s", st.name, v, want, v0.Epoch)
		}
	}

	other, err := store.New(testdb.New(t)).DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A test database is a copy of one template: the same epoch, another
	// database.
	if other.Database == v0.Database || other.String() == v0.String() {
		t.Fatalf("two databases share the version %s", other)
	}
}

// TestReadSnapshot: the queries run by ReadSnapshot's function see one
// snapshot, the one whose version it returns, even while another
// connection commits a new event in between.
func TestReadSnapshot(t *testing.T) {
	s, ctx := setup(t)
	at := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	if _, err := s.InsertEvents(ctx, []model.Event{{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at}}); err != nil {
		t.Fatal(err)
	}
	before, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first, second store.StoredSpan
	v, err := s.ReadSnapshot(ctx, func(snap *store.Store) error {
		var err error
		if first, err = snap.StoredSpan(ctx); err != nil {
			return err
		}
		// Committed by another connection while the snapshot is open.
		if _, err := s.InsertEvents(context.Background(), []model.Event{{ID: 2, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at.Add(time.Hour)}}); err != nil {
			return err
		}
		second, err = snap.StoredSpan(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v != before || first.Events != 1 || second.Events != 1 || !second.Newest.Equal(at) {
		t.Fatalf("snapshot: version %v (before %v), spans %+v then %+v; want the version before and 1 event twice", v, before, first, second)
	}
	after, err := s.StoredSpan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Events != 2 || !after.Oldest.Equal(at) || !after.Newest.Equal(at.Add(time.Hour)) || now.N != before.N+1 {
		t.Fatalf("after: span %+v, version %v; want 2 events from %s to %s, version %d", after, now, at, at.Add(time.Hour), before.N+1)
	}
	empty, err := store.New(testdb.New(t)).StoredSpan(ctx)
	if err != nil || empty.Events != 0 || empty.Oldest != nil || empty.Newest != nil {
		t.Fatalf("empty store: %+v, %v", empty, err)
	}
}
