package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// now is the fixed clock of the hand-worked data set.
var now = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func at(hms string) time.Time {
	t, err := time.Parse(time.RFC3339, "2024-06-01T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

// handWorked is the data set whose answers are worked out by hand in the
// comments of the tests: ties on created_at, repository names differing only
// in case, actions in mixed case, events on both sides of window edges, a
// type with one event, a type with none, a type ghevents does not know.
var handWorked = []model.Event{
	{ID: 1, Type: "PushEvent", RepoID: 100, RepoName: "Octo/Hello", CreatedAt: at("10:00:00")},
	{ID: 2, Type: "PushEvent", RepoID: 100, RepoName: "octo/hello", CreatedAt: at("10:00:00")}, // tie with 1
	{ID: 3, Type: "PushEvent", RepoID: 100, RepoName: "OCTO/HELLO", CreatedAt: at("10:00:30")},
	{ID: 4, Type: "PushEvent", RepoID: 200, RepoName: "other/repo", CreatedAt: at("11:00:00")}, // exactly now-1h
	{ID: 5, Type: "PushEvent", RepoID: 100, RepoName: "octo/hello", CreatedAt: at("11:59:00")},
	{ID: 6, Type: "IssuesEvent", RepoID: 100, RepoName: "octo/hello", Action: "opened", CreatedAt: at("09:00:00")},
	{ID: 7, Type: "IssuesEvent", RepoID: 100, RepoName: "octo/hello", Action: "OPENED", CreatedAt: at("09:10:00")},
	{ID: 8, Type: "IssuesEvent", RepoID: 100, RepoName: "octo/hello", Action: "closed", CreatedAt: at("09:20:00")},
	{ID: 9, Type: "IssuesEvent", RepoID: 200, RepoName: "Other/Repo", Action: "opened", CreatedAt: at("11:30:00")},
	{ID: 10, Type: "WatchEvent", RepoID: 100, RepoName: "octo/hello", Action: "started", CreatedAt: at("11:59:59")},
	{ID: 11, Type: "PullRequestEvent", RepoID: 100, RepoName: "octo/hello", Action: "closed", CreatedAt: at("10:59:59")}, // 1 s before now-1h
	{ID: 12, Type: "GistEvent", RepoID: 100, RepoName: "octo/hello", CreatedAt: at("11:45:00")},
	{ID: 13, Type: "ForkEvent", RepoID: 3, RepoName: "b/repo", CreatedAt: at("08:00:00")},
	{ID: 14, Type: "ForkEvent", RepoID: 3, RepoName: "b/repo", CreatedAt: at("08:01:00")},
	{ID: 15, Type: "ForkEvent", RepoID: 4, RepoName: "a/repo", CreatedAt: at("08:02:00")},
	{ID: 16, Type: "ForkEvent", RepoID: 4, RepoName: "a/repo", CreatedAt: at("08:03:00")},
	{ID: 17, Type: "ForkEvent", RepoID: 5, RepoName: "c/repo", CreatedAt: at("08:04:00")},
	{ID: 18, Type: "ForkEvent", RepoID: 5, RepoName: "C/Repo", CreatedAt: at("08:05:00")}, // newest spelling of c/repo
	{ID: 19, Type: "ForkEvent", RepoID: 6, RepoName: "d/repo", CreatedAt: at("08:06:00")},
	{ID: 20, Type: "ForkEvent", RepoID: 7, RepoName: "zz/top", CreatedAt: at("08:07:00")},
	{ID: 21, Type: "ForkEvent", RepoID: 7, RepoName: "zz/top", CreatedAt: at("08:08:00")},
	{ID: 22, Type: "ForkEvent", RepoID: 7, RepoName: "zz/top", CreatedAt: at("08:09:00")},
}

type fixture struct {
	srv   *httptest.Server
	pool  *pgxpool.Pool
	store *store.Store
}

func setup(t *testing.T, events []model.Event) fixture {
	t.Helper()
	t.Parallel()
	pool := testdb.New(t)
	s := store.New(pool)
	if len(events) > 0 {
		// Two statements, so the summaries add up across batches.
		half := len(events) / 2
		for _, batch := range [][]model.Event{events[:half], events[half:]} {
			if _, err := s.InsertEvents(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return now }, Version: "test"}))
	t.Cleanup(srv.Close)
	return fixture{srv: srv, pool: pool, store: s}
}

// get fetches path and returns the status, the content type and the body.
func get(t *testing.T, base, path string) (int, string, []byte) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// assertJSON checks that body is the JSON want (as objects, not as text).
func assertJSON(t *testing.T, path string, body []byte, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", path, err, body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s:\n got  %s\n want %s", path, body, want)
	}
}

func TestEventAvgTime(t *testing.T) {
	f := setup(t, handWorked)
	cases := []struct{ query, want string }{
		// Push: 10:00:00, 10:00:00, 10:00:30, 11:00:00, 11:59:00 -> gaps 0, 30, 3570, 3540 = 7140 s / 4 = 1785.
		{"event_type=PushEvent", `{"event_type":"PushEvent","action":null,"repository_name":null,"events_count":5,
			"avg_time_seconds":1785,"oldest_event_time":"2024-06-01T10:00:00Z","newest_event_time":"2024-06-01T11:59:00Z"}`},
		// octo/hello in any case: ids 1, 2, 3, 5 -> 7140 s / 3 = 2380.
		{"event_type=PushEvent&repository_name=OCTO/hello", `{"event_type":"PushEvent","action":null,"repository_name":"OCTO/hello",
			"events_count":4,"avg_time_seconds":2380,"oldest_event_time":"2024-06-01T10:00:00Z","newest_event_time":"2024-06-01T11:59:00Z"}`},
		// Issues: 09:00, 09:10, 09:20, 11:30 -> 9000 s / 3 = 3000.
		{"event_type=IssuesEvent", `{"event_type":"IssuesEvent","action":null,"repository_name":null,"events_count":4,
			"avg_time_seconds":3000,"oldest_event_time":"2024-06-01T09:00:00Z","newest_event_time":"2024-06-01T11:30:00Z"}`},
		// opened in any case: ids 6, 7, 9 -> 9000 s / 2 = 4500.
		{"event_type=IssuesEvent&action=Opened", `{"event_type":"IssuesEvent","action":"Opened","repository_name":null,
			"events_count":3,"avg_time_seconds":4500,"oldest_event_time":"2024-06-01T09:00:00Z","newest_event_time":"2024-06-01T11:30:00Z"}`},
		// ids 6, 7 -> 600 s / 1.
		{"event_type=IssuesEvent&action=opened&repository_name=Octo/Hello", `{"event_type":"IssuesEvent","action":"opened",
			"repository_name":"Octo/Hello","events_count":2,"avg_time_seconds":600,"oldest_event_time":"2024-06-01T09:00:00Z",
			"newest_event_time":"2024-06-01T09:10:00Z"}`},
		// ids 6, 7, 8 -> 1200 s / 2.
		{"event_type=IssuesEvent&repository_name=octo/hello", `{"event_type":"IssuesEvent","action":null,"repository_name":"octo/hello",
			"events_count":3,"avg_time_seconds":600,"oldest_event_time":"2024-06-01T09:00:00Z","newest_event_time":"2024-06-01T09:20:00Z"}`},
		// An empty value means "not given".
		{"event_type=WatchEvent&action=&repository_name=", `{"event_type":"WatchEvent","action":null,"repository_name":null,"events_count":1,
			"avg_time_seconds":null,"oldest_event_time":"2024-06-01T11:59:59Z","newest_event_time":"2024-06-01T11:59:59Z"}`},
		// One event: no average.
		{"event_type=WatchEvent", `{"event_type":"WatchEvent","action":null,"repository_name":null,"events_count":1,
			"avg_time_seconds":null,"oldest_event_time":"2024-06-01T11:59:59Z","newest_event_time":"2024-06-01T11:59:59Z"}`},
		// None.
		{"event_type=DeleteEvent", `{"event_type":"DeleteEvent","action":null,"repository_name":null,"events_count":0,
			"avg_time_seconds":null,"oldest_event_time":null,"newest_event_time":null}`},
		// An action PushEvent never has.
		{"event_type=PushEvent&action=opened", `{"event_type":"PushEvent","action":"opened","repository_name":null,"events_count":0,
			"avg_time_seconds":null,"oldest_event_time":null,"newest_event_time":null}`},
		// Fork: 08:00 .. 08:09, 10 events -> 540 s / 9 = 60.
		{"event_type=ForkEvent", `{"event_type":"ForkEvent","action":null,"repository_name":null,"events_count":10,
			"avg_time_seconds":60,"oldest_event_time":"2024-06-01T08:00:00Z","newest_event_time":"2024-06-01T08:09:00Z"}`},
	}
	for _, c := range cases {
		path := "/metrics/event-avg-time?" + c.query
		status, ctype, body := get(t, f.srv.URL, path)
		if status != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("%s: status %d, type %q: %s", path, status, ctype, body)
			continue
		}
		assertJSON(t, path, body, c.want)
	}
}

// allZero is the counts object with every known type at zero, plus extra.
func counts(extra map[string]int64) string {
	m := map[string]int64{}
	for _, t := range model.EventTypes {
		m[t] = 0
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestEventsTotalCount(t *testing.T) {
	f := setup(t, handWorked)
	cases := []struct {
		query, since, repo, action, oldest string
		counts                             map[string]int64
		total                              int64
	}{
		// since 11:00:00 (a whole hour: all from the hourly summary): ids 4 (exactly 11:00:00), 5, 9, 10, 12; not 11 (10:59:59).
		{"offset=3600", "2024-06-01T11:00:00Z", "null", "null", `"2024-06-01T11:00:00Z"`,
			map[string]int64{"PushEvent": 2, "IssuesEvent": 1, "WatchEvent": 1, "GistEvent": 1}, 5},
		// One second more takes in id 11.
		{"offset=3601", "2024-06-01T10:59:59Z", "null", "null", `"2024-06-01T10:59:59Z"`,
			map[string]int64{"PushEvent": 2, "IssuesEvent": 1, "WatchEvent": 1, "GistEvent": 1, "PullRequestEvent": 1}, 6},
		// since 11:30:00 (partial hour from events): ids 5, 9 (exactly 11:30:00), 10, 12.
		{"offset=1800", "2024-06-01T11:30:00Z", "null", "null", `"2024-06-01T11:30:00Z"`,
			map[string]int64{"PushEvent": 1, "IssuesEvent": 1, "WatchEvent": 1, "GistEvent": 1}, 4},
		// since 10:30:00: partial hour [10:30, 11:00) holds id 11, whole hour 11:00 the rest.
		{"offset=5400", "2024-06-01T10:30:00Z", "null", "null", `"2024-06-01T10:59:59Z"`,
			map[string]int64{"PushEvent": 2, "IssuesEvent": 1, "WatchEvent": 1, "GistEvent": 1, "PullRequestEvent": 1}, 6},
		// octo/hello in any case since 11:00: ids 5, 10, 12.
		{"offset=3600&repository_name=OCTO/Hello", "2024-06-01T11:00:00Z", `"OCTO/Hello"`, "null", `"2024-06-01T11:45:00Z"`,
			map[string]int64{"PushEvent": 1, "WatchEvent": 1, "GistEvent": 1}, 3},
		// opened in any case since 11:00: id 9.
		{"offset=3600&action=OPENED", "2024-06-01T11:00:00Z", "null", `"OPENED"`, `"2024-06-01T11:30:00Z"`,
			map[string]int64{"IssuesEvent": 1}, 1},
		{"offset=3600&action=opened&repository_name=other/repo", "2024-06-01T11:00:00Z", `"other/repo"`, `"opened"`, `"2024-06-01T11:30:00Z"`,
			map[string]int64{"IssuesEvent": 1}, 1},
		// since 09:00:30 is nearer the oldest event (08:00) than the newest
		// (11:59:59): counted as all minus what came before (the whole hours
		// before 09:00 and, in events, id 6 at 09:00:00). Left: every Push,
		// Issues 7, 8, 9, Watch, PR, Gist.
		{"offset=10770", "2024-06-01T09:00:30Z", "null", "null", `"2024-06-01T09:10:00Z"`,
			map[string]int64{"PushEvent": 5, "IssuesEvent": 3, "WatchEvent": 1, "PullRequestEvent": 1, "GistEvent": 1}, 11},
		{"offset=10770&action=opened", "2024-06-01T09:00:30Z", "null", `"opened"`, `"2024-06-01T09:10:00Z"`,
			map[string]int64{"IssuesEvent": 2}, 2},
		// A year: all 22.
		{"offset=31536000", "2023-06-02T12:00:00Z", "null", "null", `"2024-06-01T08:00:00Z"`,
			map[string]int64{"PushEvent": 5, "IssuesEvent": 4, "WatchEvent": 1, "PullRequestEvent": 1, "GistEvent": 1, "ForkEvent": 10}, 22},
		// Nothing in the last second.
		{"offset=1", "2024-06-01T11:59:59Z", "null", "null", `"2024-06-01T11:59:59Z"`, map[string]int64{"WatchEvent": 1}, 1},
		{"offset=1&repository_name=no/such", "2024-06-01T11:59:59Z", `"no/such"`, "null", "null", nil, 0},
	}
	for _, c := range cases {
		path := "/metrics/events-total-count?" + c.query
		status, _, body := get(t, f.srv.URL, path)
		if status != http.StatusOK {
			t.Errorf("%s: status %d: %s", path, status, body)
			continue
		}
		offset := strings.TrimPrefix(strings.SplitN(c.query, "&", 2)[0], "offset=")
		want := `{"offset_seconds":` + offset + `,"since":"` + c.since + `","repository_name":` + c.repo +
			`,"action":` + c.action + `,"oldest_event_time":` + c.oldest + `,"counts":` + counts(c.counts) +
			`,"total":` + jsonInt(c.total) + `}`
		assertJSON(t, path, body, want)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestMultipleEventsRepos(t *testing.T) {
	f := setup(t, handWorked)
	cases := []struct{ query, want string }{
		// Fork per repository: zz/top 3, a/repo 2, b/repo 2, c/repo 2 (spelled C/Repo by its newest event), d/repo 1.
		{"event_type=ForkEvent&minimal_events_count=1", `{"event_type":"ForkEvent","minimal_events_count":1,"total_repositories":4,
			"repositories":[{"repository_name":"zz/top","events_count":3},{"repository_name":"a/repo","events_count":2},
			{"repository_name":"b/repo","events_count":2},{"repository_name":"C/Repo","events_count":2}]}`},
		// limit cuts the list, not the total.
		{"event_type=ForkEvent&minimal_events_count=1&limit=2", `{"event_type":"ForkEvent","minimal_events_count":1,"total_repositories":4,
			"repositories":[{"repository_name":"zz/top","events_count":3},{"repository_name":"a/repo","events_count":2}]}`},
		// Default threshold 2 is strict: only 3 > 2.
		{"event_type=ForkEvent", `{"event_type":"ForkEvent","minimal_events_count":2,"total_repositories":1,
			"repositories":[{"repository_name":"zz/top","events_count":3}]}`},
		{"event_type=ForkEvent&minimal_events_count=3", `{"event_type":"ForkEvent","minimal_events_count":3,"total_repositories":0,"repositories":[]}`},
		// Push: octo/hello 4 in three spellings (newest: octo/hello), other/repo 1.
		{"event_type=PushEvent&minimal_events_count=1", `{"event_type":"PushEvent","minimal_events_count":1,"total_repositories":1,
			"repositories":[{"repository_name":"octo/hello","events_count":4}]}`},
		{"event_type=DeleteEvent&minimal_events_count=1", `{"event_type":"DeleteEvent","minimal_events_count":1,"total_repositories":0,"repositories":[]}`},
	}
	for _, c := range cases {
		path := "/metrics/multiple-events-repos?" + c.query
		status, _, body := get(t, f.srv.URL, path)
		if status != http.StatusOK {
			t.Errorf("%s: status %d: %s", path, status, body)
			continue
		}
		assertJSON(t, path, body, c.want)
	}
}

// TestValidation checks every rule: each bad request gets 422
// application/problem+json naming each bad parameter.
func TestValidation(t *testing.T) {
	f := setup(t, nil)
	cases := []struct {
		path      string
		locations []string
	}{
		{"/metrics/event-avg-time", []string{"query.event_type"}},
		{"/metrics/event-avg-time?event_type=NotAType", []string{"query.event_type"}},
		{"/metrics/event-avg-time?event_type=pushevent", []string{"query.event_type"}},
		// Any name the store can hold is taken (up to 2,704 characters of
		// UTF-8 without NUL); these are not.
		{"/metrics/event-avg-time?event_type=PushEvent&repository_name=" + strings.Repeat("é", 2705), []string{"query.repository_name"}},
		{"/metrics/event-avg-time?event_type=PushEvent&repository_name=a%00b", []string{"query.repository_name"}},
		{"/metrics/event-avg-time?event_type=PushEvent&repository_name=a%FFb", []string{"query.repository_name"}},
		// A parameter given twice is refused, not answered for its first value.
		{"/metrics/event-avg-time?event_type=PushEvent&event_type=WatchEvent", []string{"query.event_type"}},
		{"/metrics/events-total-count?offset=60&offset=60&action=a&action=b", []string{"query.action", "query.offset"}},
		{"/metrics/event-avg-time?event_type=PushEvent&action=" + url.QueryEscape("op en"), []string{"query.action"}},
		{"/metrics/event-avg-time?event_type=Bad&action=x!&repository_name=y%00", []string{"query.event_type", "query.action", "query.repository_name"}},
		{"/metrics/event-avg-time?event_type=PushEvent&evnt=1", []string{"query.evnt"}},
		{"/metrics/events-total-count", []string{"query.offset"}},
		{"/metrics/events-total-count?offset=0", []string{"query.offset"}},
		{"/metrics/events-total-count?offset=-5", []string{"query.offset"}},
		{"/metrics/events-total-count?offset=abc", []string{"query.offset"}},
		{"/metrics/events-total-count?offset=1.5", []string{"query.offset"}},
		{"/metrics/events-total-count?offset=99999999999999999999", []string{"query.offset"}},
		{"/metrics/events-total-count?offset=3153600001", []string{"query.offset"}},
		{"/metrics/multiple-events-repos", []string{"query.event_type"}},
		{"/metrics/multiple-events-repos?event_type=PushEvent&minimal_events_count=0", []string{"query.minimal_events_count"}},
		{"/metrics/multiple-events-repos?event_type=PushEvent&minimal_events_count=x", []string{"query.minimal_events_count"}},
		{"/metrics/multiple-events-repos?event_type=PushEvent&limit=0", []string{"query.limit"}},
		{"/metrics/multiple-events-repos?event_type=PushEvent&limit=10001", []string{"query.limit"}},
		{"/metrics/multiple-events-repos?event_type=PushEvent&limit=ten", []string{"query.limit"}},
		{"/metrics/multiple-events-repos?event_type=X&limit=0&minimal_events_count=0", []string{"query.event_type", "query.limit", "query.minimal_events_count"}},
	}
	for _, c := range cases {
		status, ctype, body := get(t, f.srv.URL, c.path)
		if status != http.StatusUnprocessableEntity || ctype != "application/problem+json" {
			t.Errorf("%s: status %d, type %q; want 422 application/problem+json\n%s", c.path, status, ctype, body)
			continue
		}
		var problem struct {
			Status int `json:"status"`
			Errors []struct {
				Location string `json:"location"`
				Message  string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(body, &problem); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		var got []string
		for _, e := range problem.Errors {
			if e.Message == "" {
				t.Errorf("%s: error at %s has no message", c.path, e.Location)
			}
			got = append(got, e.Location)
		}
		if problem.Status != 422 || !sameSet(got, c.locations) {
			t.Errorf("%s: status %d, locations %v; want 422, %v\n%s", c.path, problem.Status, got, c.locations, body)
		}
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestDatabaseUnreachable: with nothing listening where the database
// should be, every metric answers 503 problem+json without internals.
func TestDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:"+closedPort(t)+"/postgres?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(api.New(api.Config{Store: store.New(pool), Now: func() time.Time { return now }}))
	defer srv.Close()
	for _, path := range []string{
		"/metrics/event-avg-time?event_type=PushEvent",
		"/metrics/events-total-count?offset=60",
		"/metrics/events-total-count?offset=60&repository_name=a/b",
		"/metrics/multiple-events-repos?event_type=PushEvent",
	} {
		status, ctype, body := get(t, srv.URL, path)
		if status != http.StatusServiceUnavailable || ctype != "application/problem+json" {
			t.Errorf("%s: status %d, type %q; want 503 problem+json: %s", path, status, ctype, body)
			continue
		}
		assertJSON(t, path, body, `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the database is unavailable; try again shortly"}`)
		if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "refused") {
			t.Errorf("%s: body leaks internals: %s", path, body)
		}
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func TestRedirectAndNotFound(t *testing.T) {
	f := setup(t, nil)
	status, _, _ := get(t, f.srv.URL, "/")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/docs" {
		t.Fatalf("GET / = %d Location %q; want 308 /docs", status, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/nope", "/docsx", "/metrics"} {
		if status, _, _ := get(t, f.srv.URL, p); status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, status)
		}
	}
}
