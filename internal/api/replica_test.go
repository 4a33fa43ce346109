package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/replica"
)

// TestETagsFromAReplica: with a read replica (two private clusters, the
// second a streaming standby of the first), the data version is the
// replica's: while it has not replayed an insert, the old ETag still
// matches (its answer is still the old one), and once it has, the answer
// and its ETag are new.
func TestETagsFromAReplica(t *testing.T) {
	t.Parallel()
	pair := replica.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pair.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s, err := store.Open(ctx, pair.PrimaryURL(), store.Options{ReadURL: pair.StandbyURL()})
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

	rc, err := pgx.Connect(ctx, pair.StandbyURL())
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

// TestReplayConflictAnswers503: a metric query that a standby cancels so
// that its replay can go on (a recovery conflict, SQLSTATE 40001) answers
// 503 problem+json, not 500, and the same request answers again once the
// conflict is over. The conflict is made for real: the primary holds an
// ACCESS EXCLUSIVE lock on events (replayed: the standby's startup process
// holds it), so the request's snapshot, having read data_version, waits for
// events; then the primary locks data_version too, which the request holds,
// and the standby (max_standby_streaming_delay 0) cancels the request.
func TestReplayConflictAnswers503(t *testing.T) {
	t.Parallel()
	pair := replica.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pair.Exec(t, "ALTER SYSTEM SET max_standby_streaming_delay = 0")
	pair.Exec(t, "SELECT pg_reload_conf()")
	testkit.WaitFor(t, 30*time.Second, "max_standby_streaming_delay to be 0", func() bool {
		return pair.StandbyText(t, "SHOW max_standby_streaming_delay") == "0"
	})
	s, err := store.Open(ctx, pair.PrimaryURL(), store.Options{ReadURL: pair.StandbyURL(), ApplicationName: "api under test"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.InsertEvents(ctx, []model.Event{{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("10:00:00")}}); err != nil {
		t.Fatal(err)
	}
	pair.WaitReplayed(t, time.Minute)
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return now }, Version: "test"}))
	defer srv.Close()
	const metric = "/metrics/event-avg-time?event_type=PushEvent"
	const ok = `{"event_type":"PushEvent","action":null,"repository_name":null,"events_count":1,"avg_time_seconds":null,` +
		`"oldest_event_time":"2024-06-01T10:00:00Z","newest_event_time":"2024-06-01T10:00:00Z"}` + "\n"
	if resp, body := do(t, http.MethodGet, srv.URL+metric, nil); resp.StatusCode != 200 || string(body) != ok {
		t.Fatalf("before the conflict: %d %s", resp.StatusCode, body)
	}

	lockEvents, err := pgx.Connect(ctx, pair.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer lockEvents.Close(context.Background())
	if _, err := lockEvents.Exec(ctx, "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	lockVersion, err := pgx.Connect(ctx, pair.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer lockVersion.Close(context.Background())
	// A commit flushes the WAL before it, the lock's record included, so
	// the standby gets it now rather than at the WAL writer's leisure.
	if _, err := lockVersion.Exec(ctx, "SELECT txid_current()"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 30*time.Second, "the standby's replay to hold the lock on events", func() bool {
		return pair.StandbyText(t, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'events'::regclass
			AND mode = 'AccessExclusiveLock' AND granted)::text`) == "true"
	})
	type result struct {
		status int
		ctype  string
		body   string
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(srv.URL + metric)
		if err != nil {
			done <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
	}()
	testkit.WaitFor(t, 30*time.Second, "the request to wait for the lock on events", func() bool {
		return pair.StandbyText(t, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE application_name = 'api under test' AND wait_event_type = 'Lock')::text`) == "true"
	})
	if _, err := lockVersion.Exec(ctx, "BEGIN; LOCK TABLE data_version IN ACCESS EXCLUSIVE MODE; COMMIT"); err != nil {
		t.Fatal(err)
	}
	const conflict = `{"type":"about:blank","title":"Service Unavailable","status":503,` +
		`"detail":"the read replica cancelled the query to replay changes from the primary (a recovery conflict); try again"}` + "\n"
	select {
	case r := <-done:
		if r.status != 503 || r.ctype != "application/problem+json" || r.body != conflict {
			t.Fatalf("the request the standby cancelled answered %d %s %s", r.status, r.ctype, r.body)
		}
	case <-ctx.Done():
		t.Fatal("the request never ended")
	}
	if _, err := lockEvents.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	pair.WaitReplayed(t, time.Minute)
	if resp, body := do(t, http.MethodGet, srv.URL+metric, nil); resp.StatusCode != 200 || string(body) != ok {
		t.Fatalf("after the conflict: %d %s", resp.StatusCode, body)
	}
}
