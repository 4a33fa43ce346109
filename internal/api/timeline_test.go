package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ghevents/ghevents/internal/model"
)

// withFuture is the hand-worked data set and two events dated after now
// (12:00:00): a clock ahead of ours. They count in the last bucket of a
// window ending now.
var withFuture = append(slices.Clone(handWorked),
	model.Event{ID: 23, Type: "PushEvent", RepoID: 100, RepoName: "octo/hello", CreatedAt: at("12:00:05")},
	model.Event{ID: 24, Type: "WatchEvent", RepoID: 100, RepoName: "Octo/Hello", Action: "Started", CreatedAt: at("13:30:00")},
)

func TestEventsTimeline(t *testing.T) {
	f := setup(t, withFuture)
	cases := []struct{ query, want string }{
		// since 11:00:00, hour buckets: 11:00 holds ids 4, 5, 9, 10, 12; 12:00 (holding now) the two future ones.
		{"offset=3600", `{"offset_seconds":3600,"since":"2024-06-01T11:00:00Z","bucket":"hour","event_type":null,"repository_name":null,"action":null,"total":7,
			"buckets":[{"start":"2024-06-01T11:00:00Z","total":5,"counts":{"PushEvent":2,"IssuesEvent":1,"WatchEvent":1,"GistEvent":1}},
			{"start":"2024-06-01T12:00:00Z","total":2,"counts":{"PushEvent":1,"WatchEvent":1}}]}`},
		// since 10:30:00: the first bucket starts at 10:00 but counts from 10:30 (id 11 at 10:59:59; not ids 1-3).
		{"offset=5400&bucket=hour", `{"offset_seconds":5400,"since":"2024-06-01T10:30:00Z","bucket":"hour","event_type":null,"repository_name":null,"action":null,"total":8,
			"buckets":[{"start":"2024-06-01T10:00:00Z","total":1,"counts":{"PullRequestEvent":1}},
			{"start":"2024-06-01T11:00:00Z","total":5,"counts":{"PushEvent":2,"IssuesEvent":1,"WatchEvent":1,"GistEvent":1}},
			{"start":"2024-06-01T12:00:00Z","total":2,"counts":{"PushEvent":1,"WatchEvent":1}}]}`},
		// Minute buckets since 11:58:00: 11:59 holds ids 5 (11:59:00) and 10 (11:59:59); 12:00 the future ones.
		{"offset=120&bucket=minute", `{"offset_seconds":120,"since":"2024-06-01T11:58:00Z","bucket":"minute","event_type":null,"repository_name":null,"action":null,"total":4,
			"buckets":[{"start":"2024-06-01T11:58:00Z","total":0,"counts":{}},
			{"start":"2024-06-01T11:59:00Z","total":2,"counts":{"PushEvent":1,"WatchEvent":1}},
			{"start":"2024-06-01T12:00:00Z","total":2,"counts":{"PushEvent":1,"WatchEvent":1}}]}`},
		// A window in the past, [07:30, 09:30): 08:00 holds the ten forks, 09:00 ids 6, 7, 8; 07:00 is empty.
		{"offset=7200&until=2024-06-01T09:30:00Z", `{"offset_seconds":7200,"since":"2024-06-01T07:30:00Z","until":"2024-06-01T09:30:00Z","bucket":"hour",
			"event_type":null,"repository_name":null,"action":null,"total":13,
			"buckets":[{"start":"2024-06-01T07:00:00Z","total":0,"counts":{}},
			{"start":"2024-06-01T08:00:00Z","total":10,"counts":{"ForkEvent":10}},
			{"start":"2024-06-01T09:00:00Z","total":3,"counts":{"IssuesEvent":3}}]}`},
		// The same with the action in another case: ids 6 and 7; one day bucket.
		{"offset=7200&until=2024-06-01T11:30:00%2B02:00&bucket=day&action=OPENED", `{"offset_seconds":7200,"since":"2024-06-01T07:30:00Z","until":"2024-06-01T09:30:00Z","bucket":"day",
			"event_type":null,"repository_name":null,"action":"OPENED","total":2,
			"buckets":[{"start":"2024-06-01T00:00:00Z","total":2,"counts":{"IssuesEvent":2}}]}`},
		// until on an hour: the last bucket is the hour before it. [09:00, 10:00) holds ids 6, 7, 8 only.
		{"offset=3600&until=2024-06-01T10:00:00Z&event_type=IssuesEvent", `{"offset_seconds":3600,"since":"2024-06-01T09:00:00Z","until":"2024-06-01T10:00:00Z","bucket":"hour",
			"event_type":"IssuesEvent","repository_name":null,"action":null,"total":3,
			"buckets":[{"start":"2024-06-01T09:00:00Z","total":3,"counts":{"IssuesEvent":3}}]}`},
		// One repository in any case since 10:00:00: ids 1, 2, 3, 11 at 10:xx; 5, 10, 12 at 11:xx (not 4, 9: other/repo); 23, 24 later.
		{"offset=7200&repository_name=OCTO/HELLO", `{"offset_seconds":7200,"since":"2024-06-01T10:00:00Z","bucket":"hour","event_type":null,"repository_name":"OCTO/HELLO","action":null,"total":9,
			"buckets":[{"start":"2024-06-01T10:00:00Z","total":4,"counts":{"PushEvent":3,"PullRequestEvent":1}},
			{"start":"2024-06-01T11:00:00Z","total":3,"counts":{"PushEvent":1,"WatchEvent":1,"GistEvent":1}},
			{"start":"2024-06-01T12:00:00Z","total":2,"counts":{"PushEvent":1,"WatchEvent":1}}]}`},
		// Its stars by day: id 10 and the one dated 13:30 (in the bucket holding now).
		{"offset=86400&bucket=day&event_type=WatchEvent&repository_name=octo/hello", `{"offset_seconds":86400,"since":"2024-05-31T12:00:00Z","bucket":"day",
			"event_type":"WatchEvent","repository_name":"octo/hello","action":null,"total":2,
			"buckets":[{"start":"2024-05-31T00:00:00Z","total":0,"counts":{}},{"start":"2024-06-01T00:00:00Z","total":2,"counts":{"WatchEvent":2}}]}`},
		// A type with no event: every bucket empty.
		{"offset=3600&event_type=DeleteEvent", `{"offset_seconds":3600,"since":"2024-06-01T11:00:00Z","bucket":"hour","event_type":"DeleteEvent","repository_name":null,"action":null,"total":0,
			"buckets":[{"start":"2024-06-01T11:00:00Z","total":0,"counts":{}},{"start":"2024-06-01T12:00:00Z","total":0,"counts":{}}]}`},
	}
	for _, c := range cases {
		path := "/metrics/events-timeline?" + c.query
		status, ctype, body := get(t, f.srv.URL, path)
		if status != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("%s: status %d, type %q: %s", path, status, ctype, body)
			continue
		}
		assertJSON(t, path, body, c.want)
	}

	// The largest window a bucket allows has 2,001 buckets (the first and
	// the last partial), and adds up to events-total-count's total.
	for _, q := range []string{"offset=120000&bucket=minute", "offset=7200000", "offset=172800000&bucket=day&action=opened"} {
		_, _, body := get(t, f.srv.URL, "/metrics/events-timeline?"+q)
		var tl struct {
			Total   int64
			Buckets []struct{ Total int64 }
		}
		if err := json.Unmarshal(body, &tl); err != nil {
			t.Fatal(err)
		}
		offset, action, _ := strings.Cut(strings.TrimPrefix(q, "offset="), "&")
		if i := strings.Index(action, "action="); i >= 0 {
			action = "&" + action[i:]
		} else {
			action = ""
		}
		_, _, tb := get(t, f.srv.URL, "/metrics/events-total-count?offset="+offset+action)
		var tc struct{ Total int64 }
		if err := json.Unmarshal(tb, &tc); err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, b := range tl.Buckets {
			sum += b.Total
		}
		if len(tl.Buckets) != 2001 || sum != tl.Total || tl.Total != tc.Total || tc.Total == 0 {
			t.Errorf("%s: %d buckets adding up to %d (total %d); events-total-count %d", q, len(tl.Buckets), sum, tl.Total, tc.Total)
		}
	}
}

func TestEventsTimelineValidation(t *testing.T) {
	f := setup(t, nil)
	cases := []struct{ query, want string }{
		{"offset=120001&bucket=minute", `[{"message":"offset 120001 is more than 2000 buckets of a minute: with bucket=minute, offset is at most 120000","location":"query.offset","value":120001}]`},
		{"offset=7200001", `[{"message":"offset 7200001 is more than 2000 buckets of a hour: with bucket=hour, offset is at most 7200000","location":"query.offset","value":7200001}]`},
		{"offset=172800001&bucket=day", `[{"message":"offset 172800001 is more than 2000 buckets of a day: with bucket=day, offset is at most 172800000","location":"query.offset","value":172800001}]`},
		{"offset=60&bucket=week", `[{"message":"expected value to be one of \"minute, hour, day\"","location":"query.bucket","value":"week"}]`},
		{"offset=60&until=yesterday", `[{"message":"invalid date/time for format 2006-01-02T15:04:05.999999999Z07:00","location":"query.until","value":"yesterday"}]`},
		{"offset=60&until=1969-12-31T23:59:59Z", `[{"message":"expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z","location":"query.until","value":"1969-12-31T23:59:59Z"}]`},
		{"offset=60&event_type=NoEvent", `[{"message":"expected value to be one of \"` + strings.Join(model.EventTypes, ", ") + `\"","location":"query.event_type","value":"NoEvent"}]`},
	}
	for _, c := range cases {
		path := "/metrics/events-timeline?" + c.query
		status, ctype, body := get(t, f.srv.URL, path)
		if status != http.StatusUnprocessableEntity || ctype != "application/problem+json" {
			t.Errorf("%s: %d %s: %s", path, status, ctype, body)
			continue
		}
		var p struct{ Errors json.RawMessage }
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		assertJSON(t, path, p.Errors, c.want)
	}
	for _, path := range []string{
		"/metrics/multiple-events-repos?event_type=WatchEvent&until=2024-06-01T00:00:00Z",
		"/metrics/events-total-count?offset=60&until=10000-01-01T00:00:00Z",
	} {
		status, ctype, body := get(t, f.srv.URL, path)
		if status != http.StatusUnprocessableEntity || ctype != "application/problem+json" || !strings.Contains(string(body), `"location":"query.until"`) {
			t.Errorf("%s: %d %s: %s", path, status, ctype, body)
		}
	}
}

// TestWindowedTotalsAndTrending checks until on events-total-count and the
// window (offset, until) of multiple-events-repos, by hand.
func TestWindowedTotalsAndTrending(t *testing.T) {
	f := setup(t, withFuture)
	cases := []struct{ path, want string }{
		// [07:30, 09:30): ten forks, ids 6, 7, 8.
		{"/metrics/events-total-count?offset=7200&until=2024-06-01T09:30:00Z", `{"offset_seconds":7200,"since":"2024-06-01T07:30:00Z","until":"2024-06-01T09:30:00Z",
			"repository_name":null,"action":null,"oldest_event_time":"2024-06-01T08:00:00Z","counts":` + counts(map[string]int64{"ForkEvent": 10, "IssuesEvent": 3}) + `,"total":13}`},
		// [10:00:15, 12:00:05) of octo/hello: id 3 (10:00:30), 11, 5, 10, 12; not 23 (12:00:05, the end is excluded).
		{"/metrics/events-total-count?offset=7190&until=2024-06-01T12:00:05Z&repository_name=Octo/HELLO", `{"offset_seconds":7190,"since":"2024-06-01T10:00:15Z",
			"until":"2024-06-01T12:00:05Z","repository_name":"Octo/HELLO","action":null,"oldest_event_time":"2024-06-01T10:00:30Z",
			"counts":` + counts(map[string]int64{"PushEvent": 2, "PullRequestEvent": 1, "WatchEvent": 1, "GistEvent": 1}) + `,"total":5}`},
		// Without until the window ending now counts the events dated later: since 11:00, ids 4, 5, 9, 10, 12, 23, 24.
		{"/metrics/events-total-count?offset=3600", `{"offset_seconds":3600,"since":"2024-06-01T11:00:00Z","repository_name":null,"action":null,
			"oldest_event_time":"2024-06-01T11:00:00Z","counts":` + counts(map[string]int64{"PushEvent": 3, "IssuesEvent": 1, "WatchEvent": 2, "GistEvent": 1}) + `,"total":7}`},
		// Forks since 08:00:00, more than one: zz/top 3; a/repo, b/repo, C/Repo 2 each (by name, case-insensitive).
		{"/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1&offset=14400", `{"event_type":"ForkEvent","minimal_events_count":1,
			"offset_seconds":14400,"since":"2024-06-01T08:00:00Z","total_repositories":4,"repositories":[{"repository_name":"zz/top","events_count":3},
			{"repository_name":"a/repo","events_count":2},{"repository_name":"b/repo","events_count":2},{"repository_name":"C/Repo","events_count":2}]}`},
		// Since 08:05:00: c/repo and d/repo have one each; zz/top 3.
		{"/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1&offset=14100", `{"event_type":"ForkEvent","minimal_events_count":1,
			"offset_seconds":14100,"since":"2024-06-01T08:05:00Z","total_repositories":1,"repositories":[{"repository_name":"zz/top","events_count":3}]}`},
		// [07:58, 08:08): zz/top has one (08:07); the top two of three.
		{"/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1&offset=600&until=2024-06-01T08:08:00Z&limit=2", `{"event_type":"ForkEvent",
			"minimal_events_count":1,"offset_seconds":600,"since":"2024-06-01T07:58:00Z","until":"2024-06-01T08:08:00Z","total_repositories":3,
			"repositories":[{"repository_name":"a/repo","events_count":2},{"repository_name":"b/repo","events_count":2}]}`},
		// Stars of the last hour, more than one: octo/hello (ids 10 and 24, dated after now).
		{"/metrics/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1&offset=3600", `{"event_type":"WatchEvent","minimal_events_count":1,
			"offset_seconds":3600,"since":"2024-06-01T11:00:00Z","total_repositories":1,"repositories":[{"repository_name":"Octo/Hello","events_count":2}]}`},
		// None.
		{"/metrics/multiple-events-repos?event_type=WatchEvent&offset=60", `{"event_type":"WatchEvent","minimal_events_count":2,
			"offset_seconds":60,"since":"2024-06-01T11:59:00Z","total_repositories":0,"repositories":[]}`},
	}
	for _, c := range cases {
		status, ctype, body := get(t, f.srv.URL, c.path)
		if status != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("%s: status %d, type %q: %s", c.path, status, ctype, body)
			continue
		}
		assertJSON(t, c.path, body, c.want)
	}
	// Without offset, today's answer byte for byte: no window field.
	_, _, body := get(t, f.srv.URL, "/metrics/multiple-events-repos?event_type=ForkEvent&minimal_events_count=2")
	if want := `{"event_type":"ForkEvent","minimal_events_count":2,"total_repositories":1,"repositories":[{"repository_name":"zz/top","events_count":3}]}` + "\n"; string(body) != want {
		t.Errorf("without offset:\n got  %q\n want %q", body, want)
	}
}
