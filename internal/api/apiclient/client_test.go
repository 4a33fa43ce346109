package apiclient_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/api/apiclient"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// TestSpecUpToDate: the document the client was generated from is the one
// the API publishes (regenerate with `make api-client`).
func TestSpecUpToDate(t *testing.T) {
	t.Parallel()
	committed, err := os.ReadFile("openapi-3.0.json")
	if err != nil {
		t.Fatal(err)
	}
	live, err := api.OpenAPI("dev").Downgrade()
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(committed, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(live, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("internal/api/apiclient/openapi-3.0.json differs from the live document: run `make api-client`")
	}
}

// TestGeneratedClientCallsEveryEndpoint calls each operation through the
// generated client against a real server and database.
func TestGeneratedClientCallsEveryEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))
	base := time.Date(2024, 6, 1, 11, 0, 0, 0, time.UTC)
	events := []model.Event{
		{ID: 1, Type: "WatchEvent", RepoID: 1, RepoName: "a/b", Action: "started", CreatedAt: base},
		{ID: 2, Type: "WatchEvent", RepoID: 1, RepoName: "A/B", Action: "started", CreatedAt: base.Add(10 * time.Second)},
		{ID: 3, Type: "WatchEvent", RepoID: 1, RepoName: "a/b", Action: "started", CreatedAt: base.Add(40 * time.Second)},
		{ID: 4, Type: "PushEvent", RepoID: 2, RepoName: "c/d", CreatedAt: base.Add(50 * time.Second)},
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	now := base.Add(time.Minute)
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return now }}))
	defer srv.Close()
	c, err := apiclient.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	repo := "A/b"
	avg, err := c.GetEventAvgTimeWithResponse(ctx, &apiclient.GetEventAvgTimeParams{EventType: "WatchEvent", RepositoryName: &repo})
	if err != nil {
		t.Fatal(err)
	}
	// 3 events over 40 s: 20 s.
	if avg.JSON200 == nil || avg.JSON200.EventsCount != 3 || avg.JSON200.AvgTimeSeconds == nil || *avg.JSON200.AvgTimeSeconds != 20 ||
		!avg.JSON200.OldestEventTime.Equal(base) || *avg.JSON200.RepositoryName != "A/b" {
		t.Fatalf("event-avg-time: %d %s", avg.StatusCode(), avg.Body)
	}

	total, err := c.GetEventsTotalCountWithResponse(ctx, &apiclient.GetEventsTotalCountParams{Offset: 30})
	if err != nil {
		t.Fatal(err)
	}
	// since 11:00:30: ids 3 (11:00:40) and 4 (11:00:50).
	if total.JSON200 == nil || total.JSON200.Total != 2 || total.JSON200.Counts["WatchEvent"] != 1 || total.JSON200.Counts["PushEvent"] != 1 ||
		len(total.JSON200.Counts) != len(model.EventTypes) || !total.JSON200.Since.Equal(base.Add(30*time.Second)) {
		t.Fatalf("events-total-count: %d %s", total.StatusCode(), total.Body)
	}

	minimal := int64(1)
	repos, err := c.GetMultipleEventsReposWithResponse(ctx, &apiclient.GetMultipleEventsReposParams{EventType: "WatchEvent", MinimalEventsCount: &minimal})
	if err != nil {
		t.Fatal(err)
	}
	if repos.JSON200 == nil || repos.JSON200.TotalRepositories != 1 || len(repos.JSON200.Repositories) != 1 ||
		repos.JSON200.Repositories[0].RepositoryName != "a/b" || repos.JSON200.Repositories[0].EventsCount != 3 {
		t.Fatalf("multiple-events-repos: %d %s", repos.StatusCode(), repos.Body)
	}

	// A bad parameter comes back as the documented 422 problem.
	bad, err := c.GetEventsTotalCountWithResponse(ctx, &apiclient.GetEventsTotalCountParams{Offset: 0})
	if err != nil {
		t.Fatal(err)
	}
	if bad.ApplicationproblemJSON422 == nil || bad.ApplicationproblemJSON422.Errors == nil ||
		(*bad.ApplicationproblemJSON422.Errors)[0].Location == nil || *(*bad.ApplicationproblemJSON422.Errors)[0].Location != "query.offset" {
		t.Fatalf("offset=0: %d %s", bad.StatusCode(), bad.Body)
	}
}
