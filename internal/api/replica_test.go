package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/devdb"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// TestETagsFromAReplica: with a read replica (two private clusters, the
// second a streaming standby of the first), the data version is the
// replica's: while it has not replayed an insert, the old ETag still
// matches (its answer is still the old one), and once it has, the answer
// and its ETag are new.
func TestETagsFromAReplica(t *testing.T) {
	if _, err := devdb.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} { // the postgres user must reach it when we are root
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	primary, err := devdb.StartCluster(ctx, devdb.Config{Dir: filepath.Join(base, "primary")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.Background()) })
	if err := primary.CreateDatabase(ctx, "ghevents"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, primary.URL("ghevents"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatal(err)
	}
	replica, err := devdb.StartCluster(ctx, devdb.Config{Dir: filepath.Join(base, "replica"), StandbyOf: primary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Stop(context.Background()) })
	s, err := store.Open(ctx, primary.URL("ghevents"), store.Options{ReadURL: replica.URL("ghevents")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	insert := func(id int64) {
		t.Helper()
		if _, err := s.InsertEvents(ctx, []model.Event{{ID: id, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("10:00:00").Add(time.Duration(id) * time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	insert(1)
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return now }, Version: "test"}))
	defer srv.Close()
	const metric = "/metrics/event-avg-time?event_type=PushEvent"
	// Until the replica has replayed the first insert, it answers 0 events.
	var tag string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, body := do(t, http.MethodGet, srv.URL+metric, nil)
		if resp.StatusCode == 200 && strings.Contains(string(body), `"events_count":1`) {
			tag = resp.Header.Get("ETag")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never answered the first event: %d %s", resp.StatusCode, body)
		}
	}

	rc, err := pgx.Connect(ctx, replica.URL("ghevents"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(ctx)
	if _, err := rc.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	insert(2)
	var onPrimary int64
	if err := conn.QueryRow(ctx, "SELECT version FROM data_version").Scan(&onPrimary); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	resp, body := do(t, http.MethodGet, srv.URL+metric, map[string]string{"If-None-Match": tag})
	if resp.StatusCode != 304 {
		t.Fatalf("replay paused: %d %s; want 304 (the replica's answer has not changed)", resp.StatusCode, body)
	}
	if _, err := rc.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, body := do(t, http.MethodGet, srv.URL+metric, map[string]string{"If-None-Match": tag})
		if resp.StatusCode == 200 {
			if !strings.Contains(string(body), `"events_count":2`) || resp.Header.Get("ETag") == tag ||
				!strings.HasPrefix(resp.Header.Get("ETag"), `W/"`+strconv.FormatInt(onPrimary, 10)+"-") {
				t.Fatalf("after replay: %s with ETag %s (was %s, primary at version %d)", body, resp.Header.Get("ETag"), tag, onPrimary)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica never replayed the second insert")
		}
	}
}
