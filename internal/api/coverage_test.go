package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
)

// coverageEvents: hour 08 (two polled, one watched, one imported), hour 09
// (one polled, one from the archive, one stored before sources), hour 11
// (one from the archive). The clock is 12:00.
var coverageEvents = []model.Event{
	{ID: 1, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("08:00:00"), Source: model.SourceFirehose},
	{ID: 2, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("08:59:59"), Source: model.SourceFirehose},
	{ID: 3, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("08:30:00"), Source: model.SourceWatch},
	{ID: 4, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("08:40:00"), Source: model.SourceImport},
	{ID: 5, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("09:00:00"), Source: model.SourceFirehose},
	{ID: 6, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("09:10:00"), Source: model.SourceArchive},
	{ID: 7, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("09:20:00")},
	{ID: 8, Type: "PushEvent", RepoID: 1, RepoName: "a/b", CreatedAt: at("11:00:00"), Source: model.SourceArchive},
}

func TestCoverage(t *testing.T) {
	f := setup(t, coverageEvents)
	ctx := context.Background()
	// The follower imported hour 09 (4 distinct events, 3 seen before),
	// hour 10 (a file of 0 events: every event of its hour came in 09's),
	// and hour 11 from two mirrors (the newest import counts); hour 07 is
	// a gap (not shown).
	for _, h := range []struct {
		url          string
		hour         string
		events, seen int64
	}{
		{"http://a/", "09:00:00", 4, 3}, {"http://a/", "10:00:00", 0, 0}, {"http://a/", "11:00:00", 2, 0}, {"http://b/", "11:00:00", 1, 1},
	} {
		if _, err := f.store.GHArchiveHourDone(ctx, h.url, at(h.hour), h.events, h.seen); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.GHArchiveHourGap(ctx, "http://a/", at("07:00:00"), "not published (HTTP 404)", at("12:00:00").Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ query, want string }{
		// 12:00 - 4 h = 08:00: every hour. 08: 4 events, 3 polled (firehose and watch); 09: 3 events, 1 polled,
		// the file 4 and 3 → 0.75; 10: no event, the file 0 → null; 11: 1 event, mirror b's import (1, 1) → 1.
		{"offset=14400", `{"offset_seconds":14400,"since":"2024-06-01T08:00:00Z","hours_omitted":0,"hours":[
			{"hour":"2024-06-01T08:00:00Z","events":4,"polled":3,"archive_events":null,"seen_before_archive":null,"poller_coverage":null},
			{"hour":"2024-06-01T09:00:00Z","events":3,"polled":1,"archive_events":4,"seen_before_archive":3,"poller_coverage":0.75},
			{"hour":"2024-06-01T10:00:00Z","events":0,"polled":0,"archive_events":0,"seen_before_archive":0,"poller_coverage":null},
			{"hour":"2024-06-01T11:00:00Z","events":1,"polled":0,"archive_events":1,"seen_before_archive":1,"poller_coverage":1}]}`},
		// 12:00 - 9,000 s = 09:30, rounded down to 09:00.
		{"offset=9000", `{"offset_seconds":9000,"since":"2024-06-01T09:00:00Z","hours_omitted":0,"hours":[
			{"hour":"2024-06-01T09:00:00Z","events":3,"polled":1,"archive_events":4,"seen_before_archive":3,"poller_coverage":0.75},
			{"hour":"2024-06-01T10:00:00Z","events":0,"polled":0,"archive_events":0,"seen_before_archive":0,"poller_coverage":null},
			{"hour":"2024-06-01T11:00:00Z","events":1,"polled":0,"archive_events":1,"seen_before_archive":1,"poller_coverage":1}]}`},
		// until: the hours from until - offset (rounded down) that start before until.
		{"offset=3600&until=2024-06-01T10:00:00Z", `{"offset_seconds":3600,"since":"2024-06-01T09:00:00Z","until":"2024-06-01T10:00:00Z","hours_omitted":0,"hours":[
			{"hour":"2024-06-01T09:00:00Z","events":3,"polled":1,"archive_events":4,"seen_before_archive":3,"poller_coverage":0.75}]}`},
		{"offset=5400&until=2024-06-01T10:30:00Z", `{"offset_seconds":5400,"since":"2024-06-01T09:00:00Z","until":"2024-06-01T10:30:00Z","hours_omitted":0,"hours":[
			{"hour":"2024-06-01T09:00:00Z","events":3,"polled":1,"archive_events":4,"seen_before_archive":3,"poller_coverage":0.75},
			{"hour":"2024-06-01T10:00:00Z","events":0,"polled":0,"archive_events":0,"seen_before_archive":0,"poller_coverage":null}]}`},
		{"offset=1", `{"offset_seconds":1,"since":"2024-06-01T11:00:00Z","hours_omitted":0,"hours":[
			{"hour":"2024-06-01T11:00:00Z","events":1,"polled":0,"archive_events":1,"seen_before_archive":1,"poller_coverage":1}]}`},
	}
	for _, c := range cases {
		code, ctype, body := get(t, f.srv.URL, "/metrics/coverage?"+c.query)
		if code != 200 || ctype != "application/json" {
			t.Errorf("%s: %d %s", c.query, code, ctype)
		}
		assertJSON(t, c.query, body, c.want)
	}
	for _, q := range []string{"", "offset=0", "offset=x", "offset=3153600001"} {
		if code, _, body := get(t, f.srv.URL, "/metrics/coverage?"+q); code != 422 || !strings.Contains(string(body), "query.offset") {
			t.Errorf("%q: %d %s, want 422 naming query.offset", q, code, body)
		}
	}
	if code, _, body := get(t, f.srv.URL, "/metrics/coverage?offset=60&until=yesterday"); code != 422 || !strings.Contains(string(body), "query.until") {
		t.Errorf("until=yesterday: %d %s, want 422 naming query.until", code, body)
	}

	// The ETag changes when the follower records an hour, though no event
	// was stored.
	req := func(etag string) (*http.Response, string) {
		r, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/metrics/coverage?offset=14400", nil)
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp, resp.Header.Get("ETag")
	}
	_, tag := req("")
	if resp, _ := req(tag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("with its ETag: %d, want 304", resp.StatusCode)
	}
	if _, err := f.store.GHArchiveHourDone(ctx, "http://a/", at("08:00:00"), 4, 4); err != nil {
		t.Fatal(err)
	}
	if resp, _ := req(tag); resp.StatusCode != http.StatusOK {
		t.Fatalf("after an hour was imported: %d, want 200", resp.StatusCode)
	}
}

// At most 2,000 hours, the newest; hours_omitted counts the others.
func TestCoverageOmitsTheOldestHours(t *testing.T) {
	events := make([]model.Event, 2003)
	for i := range events {
		events[i] = model.Event{ID: int64(i + 1), Type: "PushEvent", RepoID: 1, RepoName: "a/b",
			CreatedAt: now.Add(-time.Duration(i+1) * time.Hour).Add(time.Minute), Source: model.SourceFirehose}
	}
	f := setup(t, events)
	_, _, body := get(t, f.srv.URL, "/metrics/coverage?offset=31536000")
	s := string(body)
	if !strings.Contains(s, `"hours_omitted":3`) || strings.Count(s, `"hour":`) != 2000 ||
		!strings.Contains(s, fmt.Sprintf(`"hours":[{"hour":"%s"`, now.Add(-2000*time.Hour).Format(time.RFC3339))) ||
		!strings.HasSuffix(strings.TrimSpace(s), fmt.Sprintf(`{"hour":"%s","events":1,"polled":1,"archive_events":null,"seen_before_archive":null,"poller_coverage":null}],"hours_omitted":3}`, now.Add(-time.Hour).Format(time.RFC3339))) {
		t.Errorf("answer: %.300s ... %s", s, s[max(len(s)-300, 0):])
	}
}
