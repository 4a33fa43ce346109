package maintenance_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/maintenance"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

const rebuiltLine = "rebuilt the indexes of repo_type_counts"

// Run looks at the ranking index at once and again every Every, rebuilds
// it each time the rule says so (here: always), leaves the ranking exact,
// and returns nil when its context ends.
func TestRunRebuildsEachRoundUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))
	// PushEvents: 3 in a/b, 2 in c/d, 1 in e/f.
	var events []model.Event
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, name := range []string{"a/b", "c/d", "a/b", "e/f", "c/d", "a/b"} {
		events = append(events, model.Event{ID: int64(i + 1), Type: "PushEvent", RepoID: int64(len(name)), RepoName: name,
			CreatedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	var logs testkit.Buffer
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- maintenance.Run(rctx, s, maintenance.Config{Every: 20 * time.Millisecond,
			Rule: store.RankIndexRule{MaxBloat: 0.01, MinPages: 1}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(logs.String(), rebuiltLine) < 3 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("after 30 s, %d rebuilds logged, want 3", strings.Count(logs.String(), rebuiltLine))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s of its context ending")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 0 {
		t.Fatalf("%d warnings logged, want none (the rounds ended with the context):\n%s", n, logs.String())
	}

	total, repos, err := s.TopRepos(ctx, "PushEvent", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	// TopRepos counts the repositories with more than one event.
	want := []store.RepoCount{{RepoName: "a/b", Events: 3}, {RepoName: "c/d", Events: 2}}
	if total != 2 || !slices.Equal(repos, want) {
		t.Fatalf("after the rebuilds: total %d, ranking %+v; want 2, %+v", total, repos, want)
	}
}

// A round whose store fails logs a warning naming the failure and returns
// (the metrics stay exact without the rebuild); one whose context has
// already ended logs nothing. The default rule leaves a small packed index
// alone: no rebuild line.
func TestRoundLogsAFailureAndNothingElse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))

	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	maintenance.Round(ctx, s, store.DefaultRankIndexRule, time.Minute, log)
	if n := strings.Count(logs.String(), rebuiltLine); n != 0 {
		t.Fatalf("an empty store's index was rebuilt (%d lines) under the default rule", n)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 0 {
		t.Fatalf("a round on a healthy store warned:\n%s", logs.String())
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	maintenance.Round(ended, s, store.DefaultRankIndexRule, time.Minute, log)
	if n := strings.Count(logs.String(), "level=WARN"); n != 0 {
		t.Fatalf("a round whose context had ended warned:\n%s", logs.String())
	}

	// A store whose database is not there (the pool connects lazily).
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/ghevents_maintenance_no_such_db?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	maintenance.Round(ctx, store.New(pool), store.DefaultRankIndexRule, time.Minute, log)
	if n := strings.Count(logs.String(), "the upkeep of the ranking index failed; will retry"); n != 1 {
		t.Fatalf("a round on a missing database logged %d failures, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "open the maintenance connection") + strings.Count(logs.String(), "ghevents_maintenance_no_such_db"); n < 2 {
		t.Fatalf("the warning does not name the failure:\n%s", logs.String())
	}
}
