package api_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ghevents/ghevents/internal/model"
)

// httpHostile are the values sent in every filter of every endpoint: SQL
// meta-characters and statements, quotes, comments, wildcards, NUL and
// other control characters, invalid UTF-8, Unicode look-alikes and
// direction marks, markup, path tricks, parameter smuggling, very long.
var httpHostile = []string{
	`'`, `"`, `\`, `;`, `--`, `/*`, `%`, `_`, `$1`, `::text`,
	`' OR '1'='1`, `octo/hello' --`, `octo/hello'; DROP TABLE events; --`, `'; DELETE FROM events WHERE ''='`,
	`octo/%`, `octo/hell_`, `$$; DROP TABLE events; $$`, "octo/hello\x00", "\x00", "octo/\xff", "octo/hello\n",
	"octo/hello\r\nX-Injected: 1", "\u202eolleh/otco", "ｏｃｔｏ/hello", "<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`,
	"../../etc/passwd", "..%2F..", "%27", "%2527", "&event_type=WatchEvent", "a/b&offset=1", "a/b#x", "PushEvent ",
	"pushevent", "PUSHEVENT", "-1", "0", "1e3", "0x10", "9223372036854775808", "NaN", "log;linear",
	strings.Repeat("a", 70) + "/" + strings.Repeat("b", 70), strings.Repeat("a", 100_000),
	// Values the rules accept: they reach the database as parameters.
	"../..", "_/_", "-.-/-.-", "DROP_TABLE", "OR", "select", "my-repository-1", strings.Repeat("ü", 2704),
}

var actionPattern = regexp.MustCompile(`^[A-Za-z_]+$`)

// valid says whether the API must accept value for param, by the rules the
// README documents (written here apart from the code).
func valid(param, value string) bool {
	switch param {
	case "repository_name": // any name the store can hold
		return utf8.RuneCountInString(value) <= 2704 && utf8.ValidString(value) && !strings.ContainsRune(value, 0)
	case "action":
		return len(value) <= 64 && actionPattern.MatchString(value)
	case "event_type":
		return slices.Contains(model.EventTypes, value)
	case "scale":
		return value == "log" || value == "linear"
	case "cumulative": // Go's strconv.ParseBool, as Huma reads a boolean
		return slices.Contains([]string{"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}, value)
	}
	return false // offset, minimal_events_count, limit, bucket, until: none of the hostile values is a number in range, a bucket or a time
}

// Every hostile value in every parameter of every endpoint: 422
// problem+json naming that parameter, and no other, when the documented rules
// refuse it; otherwise 200 with the exact answer (nothing matches them),
// the value echoed as given, or shown as text in the charts. The database
// is unchanged afterwards.
func TestHostileParameters(t *testing.T) {
	f := setup(t, handWorked)
	ctx := context.Background()
	dbState := func() string {
		var s string
		if err := f.pool.QueryRow(ctx, `SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public')
			|| '|' || (SELECT count(*) FROM events) || '|' || (SELECT sum(events) FROM event_type_counts)
			|| '|' || (SELECT sum(events) FROM repo_type_counts) || '|' || (SELECT sum(events) FROM event_hourly_counts)
			|| '|' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM events)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := dbState()

	endpoints := []struct {
		path   string
		base   url.Values
		params []string
	}{
		{"/metrics/event-avg-time", url.Values{"event_type": {"PushEvent"}}, []string{"event_type", "action", "repository_name"}},
		{"/metrics/events-total-count", url.Values{"offset": {"3600"}}, []string{"offset", "action", "repository_name", "until"}},
		{"/metrics/multiple-events-repos", url.Values{"event_type": {"ForkEvent"}}, []string{"event_type", "minimal_events_count", "limit", "offset", "until"}},
		{"/metrics/events-timeline", url.Values{"offset": {"3600"}}, []string{"offset", "bucket", "event_type", "action", "repository_name", "until"}},
		{"/visualization/event-avg-time", url.Values{}, []string{"event_type", "action", "repository_name", "scale"}},
		{"/visualization/events-total-count", url.Values{"offset": {"3600"}}, []string{"offset", "action", "repository_name", "until"}},
		{"/visualization/multiple-events-repos", url.Values{"event_type": {"ForkEvent"}}, []string{"event_type", "minimal_events_count", "limit", "offset", "until"}},
		{"/visualization/events-timeline", url.Values{"offset": {"3600"}}, []string{"offset", "bucket", "event_type", "action", "repository_name", "until", "cumulative"}},
	}
	n, accepted := 0, 0
	for _, ep := range endpoints {
		for _, param := range ep.params {
			for _, v := range httpHostile {
				q := url.Values{}
				for k, vs := range ep.base {
					q[k] = vs
				}
				q.Set(param, v)
				path := ep.path + "?" + q.Encode()
				status, ctype, body := get(t, f.srv.URL, path)
				n++
				if !valid(param, v) && strings.HasPrefix(ep.path, "/visualization/") {
					// A page for people: 422, one line per bad parameter in words.
					lines := regexp.MustCompile(`<li>([a-z_]+): `).FindAllStringSubmatch(string(body), -1)
					if status != http.StatusUnprocessableEntity || !strings.HasPrefix(ctype, "text/html") || len(lines) == 0 {
						t.Fatalf("%.200s: %d %s %.300s; want a 422 page naming %s", path, status, ctype, body, param)
					}
					for _, l := range lines {
						if l[1] != param {
							t.Fatalf("%.200s: a line about %s; want only %s", path, l[1], param)
						}
					}
					continue
				}
				if !valid(param, v) {
					var p struct {
						Status int
						Errors []struct{ Location string }
					}
					if status != http.StatusUnprocessableEntity || ctype != "application/problem+json" ||
						json.Unmarshal(body, &p) != nil || p.Status != 422 || len(p.Errors) == 0 {
						t.Fatalf("%.200s: %d %s %.300s; want 422 naming query.%s", path, status, ctype, body, param)
					}
					for _, e := range p.Errors { // a value may break two rules (length and pattern)
						if e.Location != "query."+param {
							t.Fatalf("%.200s: error at %s; want only query.%s", path, e.Location, param)
						}
					}
					continue
				}
				accepted++
				if status != http.StatusOK {
					t.Fatalf("%.200s: %d %.300s; want 200", path, status, body)
				}
				switch {
				case ep.path == "/metrics/event-avg-time" && param != "event_type":
					want := map[string]any{"event_type": "PushEvent", "action": nil, "repository_name": nil,
						"events_count": 0, "avg_time_seconds": nil, "oldest_event_time": nil, "newest_event_time": nil}
					want[param] = v
					wb, _ := json.Marshal(want)
					assertJSON(t, path, body, string(wb))
				case ep.path == "/metrics/events-timeline":
					var got struct {
						Total   int64
						Buckets []struct{ Total int64 }
					}
					if json.Unmarshal(body, &got) != nil || got.Total != 0 || len(got.Buckets) != 2 {
						t.Fatalf("%s: %s; want nothing counted in 2 buckets", path, body)
					}
				case ep.path == "/metrics/events-total-count":
					var got struct {
						Total  int64
						Counts map[string]int64
					}
					if json.Unmarshal(body, &got) != nil || got.Total != 0 || len(got.Counts) != len(model.EventTypes) {
						t.Fatalf("%s: %s; want nothing counted", path, body)
					}
				case strings.HasPrefix(ep.path, "/visualization/"):
					if !strings.HasPrefix(ctype, "text/html") || (param != "scale" && param != "event_type" && param != "cumulative" && !strings.Contains(html.UnescapeString(string(body)), v)) {
						t.Fatalf("%s: %s, the value is not shown", path, ctype)
					}
				}
			}
		}
	}
	if after := dbState(); after != before {
		t.Fatalf("the database changed: %s, then %s", before, after)
	}
	t.Logf("%d requests, %d with values the rules accept, database unchanged", n, accepted)
}
