package github

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
)

// sharedTestdata holds real GitHub events (copied unmodified from ../shared/testdata; see its README).
const sharedTestdata = "../../testdata/github/"

func TestDecodeEventFields(t *testing.T) {
	t.Parallel()
	line := `{"id":"2489368070","type":"IssuesEvent","actor":{"id":9152315,"login":"davidjhulse"},` +
		`"repo":{"id":28635890,"name":"Davidjhulse/Bot"},"org":{"id":42,"login":"acme"},` +
		`"payload":{"action":"opened","issue":{"title":"x\u0000y"}},"public":true,"created_at":"2015-01-01T00:00:01Z"}`
	var d Decoder
	e, err := d.Event([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := model.Event{ID: 2489368070, Type: "IssuesEvent", ActorID: 9152315, ActorLogin: "davidjhulse",
		RepoID: 28635890, RepoName: "Davidjhulse/Bot", OrgID: 42, OrgLogin: "acme", Action: "opened",
		CreatedAt: time.Date(2015, 1, 1, 0, 0, 1, 0, time.UTC)}
	got := e
	got.Raw = nil
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || got.ID != want.ID || got.Type != want.Type || got.ActorID != want.ActorID ||
		got.ActorLogin != want.ActorLogin || got.RepoID != want.RepoID || got.RepoName != want.RepoName ||
		got.OrgID != want.OrgID || got.OrgLogin != want.OrgLogin || got.Action != want.Action {
		t.Fatalf("decoded %+v\nwant    %+v", got, want)
	}
	// The NUL escape, which jsonb refuses, is replaced; the rest is kept.
	if strings.Contains(string(e.Raw), `\u0000`) || !strings.Contains(string(e.Raw), `x\ufffdy`) {
		t.Fatalf("raw not sanitised: %s", e.Raw)
	}
}

func TestDecodeEventRejects(t *testing.T) {
	t.Parallel()
	const ok = `"type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"`
	cases := []struct {
		name, line, reason string
		old                bool
	}{
		{"not json", `{"id":`, "not JSON", false},
		{"array", `[1,2]`, "a JSON array, not an event object", false},
		{"missing id", `{` + ok + `}`, "id is missing", false},
		{"null id", `{"id":null,` + ok + `}`, "id is missing", false},
		{"id not a number", `{"id":"12ab",` + ok + `}`, `id "12ab" is not a positive 64-bit number`, false},
		{"id overflow", `{"id":"99999999999999999999",` + ok + `}`, "is not a positive 64-bit number", false},
		{"id negative", `{"id":"-5",` + ok + `}`, "is not a positive 64-bit number", false},
		{"id with a plus sign", `{"id":"+5",` + ok + `}`, `id "+5" is not a positive 64-bit number`, false},
		{"id with a leading zero", `{"id":"010",` + ok + `}`, `id "010" is not a positive 64-bit number`, false},
		{"id zero", `{"id":0,` + ok + `}`, `id "0" is not a positive 64-bit number`, false},
		{"id object", `{"id":{},` + ok + `}`, "id is a JSON object", false},
		{"missing type", `{"id":"1","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"}`, "type is missing", false},
		{"missing repo", `{"id":"1","type":"PushEvent","created_at":"2024-01-01T00:00:00Z"}`, "repo is missing", false},
		{"repo without name", `{"id":"1","type":"PushEvent","repo":{"id":1},"created_at":"2024-01-01T00:00:00Z"}`, "repo.name is missing", false},
		{"repo without id", `{"id":"1","type":"PushEvent","repo":{"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"}`, "repo.id is missing", false},
		{"missing created_at", `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"}}`, "created_at is missing", false},
		{"bad created_at", `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"yesterday"}`, `created_at "yesterday" is not an RFC 3339 time`, false},
		{"created_at past 9999 in UTC", `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"9999-12-31T23:00:00-05:00"}`,
			`created_at "9999-12-31T23:00:00-05:00" is outside 2007-10-01 to 9999-12-31 (UTC)`, false},
		{"created_at before 0000 in UTC", `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"0000-01-01T00:00:00+01:00"}`,
			`created_at "0000-01-01T00:00:00+01:00" is outside 2007-10-01 to 9999-12-31 (UTC)`, false},
		{"created_at the zero time", `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"0001-01-01T00:00:00,000000000+00:00"}`,
			`created_at "0001-01-01T00:00:00,000000000+00:00" is outside 2007-10-01 to 9999-12-31 (UTC)`, false},
		{"created_at before GitHub", `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2007-09-30T23:59:59Z"}`,
			`created_at "2007-09-30T23:59:59Z" is outside 2007-10-01 to 9999-12-31 (UTC)`, false},
		{"old layout", `{"type":"PushEvent","repository":{"name":"b","owner":"a"},"created_at":"2012-01-01T00:00:00Z"}`, "pre-2015", true},
	}
	var d Decoder
	for _, c := range cases {
		_, err := d.Event([]byte(c.line))
		var be *BadEventError
		if !errors.As(err, &be) {
			t.Errorf("%s: error = %v, want a *BadEventError", c.name, err)
			continue
		}
		if !strings.Contains(be.Reason, c.reason) {
			t.Errorf("%s: reason %q does not contain %q", c.name, be.Reason, c.reason)
		}
		if errors.Is(err, ErrOldLayout) != c.old {
			t.Errorf("%s: errors.Is(ErrOldLayout) = %v, want %v", c.name, !c.old, c.old)
		}
	}
}

// TestDecodeRealData decodes every real event in the shared test data: all
// must decode, with the counts the data's README gives.
func TestDecodeRealData(t *testing.T) {
	t.Parallel()
	var d Decoder
	types := map[string]int{}

	n := 0
	for _, line := range archiveHour(t) {
		e, err := d.Event(line)
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		types[e.Type]++
		n++
	}
	if n != 7702 || types["PushEvent"] != 4280 || types["WatchEvent"] != 642 || types["IssuesEvent"] != 373 || types["PullRequestEvent"] != 315 || len(types) != 14 {
		t.Fatalf("2015 hour: %d events, types %v", n, types)
	}

	// The recorded API walk: pages are arrays with real headers.
	b, err := os.ReadFile(sharedTestdata + "api-responses-recorded.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	total, distinct := 0, map[int64]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		events, bad, err := d.Page(rec.Body)
		if err != nil || len(bad) != 0 {
			t.Fatalf("page: err=%v bad=%v", err, bad)
		}
		for _, e := range events {
			distinct[e.ID] = true
			var back map[string]any
			if err := json.Unmarshal(e.Raw, &back); err != nil || back["id"] == nil {
				t.Fatalf("raw of event %d does not round-trip: %v", e.ID, err)
			}
		}
		total += len(events)
	}
	if total != 508 || len(distinct) != 382 {
		t.Fatalf("recorded API: %d events, %d distinct; want 508, 382", total, len(distinct))
	}
}

func TestDecodePage(t *testing.T) {
	t.Parallel()
	var d Decoder
	body := `[{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"},` +
		`{"id":"x1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"},` +
		`{"id":"3","type":"NewFutureEvent","repo":{"id":2,"name":"c/d"},"created_at":"2024-01-01T00:00:02Z"}]`
	events, bad, err := d.Page([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].ID != 1 || events[1].ID != 3 || events[1].Type != "NewFutureEvent" {
		t.Fatalf("events = %+v", events)
	}
	if len(bad) != 1 || bad[0].Index != 1 || bad[0].ID != "x1" {
		t.Fatalf("bad = %+v", bad)
	}
	for _, body := range []string{`<html>rate limited</html>`, `{"message":"Server Error"}`, ``} {
		if _, _, err := d.Page([]byte(body)); err == nil {
			t.Errorf("Page(%q) gave no error", body)
		}
	}
}

func TestSanitizeRaw(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`{"a":"x"}`:            `{"a":"x"}`,
		`{"a":"\u0000"}`:       `{"a":"\ufffd"}`,
		`{"a":"\\u0000"}`:      `{"a":"\\u0000"}`, // an escaped backslash, then text
		`{"a":"\\\u0000"}`:     `{"a":"\\\ufffd"}`,
		`{"a":"\ud800"}`:       `{"a":"\ufffd"}`,
		`{"a":"\uDC00x"}`:      `{"a":"\ufffdx"}`,
		`{"a":"\ud83d\ude00"}`: `{"a":"\ud83d\ude00"}`, // a valid pair (an emoji) is kept
		`{"a":"\ud83d\u0041"}`: `{"a":"\ufffd\u0041"}`,
		`{"a":"\\ud800"}`:      `{"a":"\\ud800"}`,
		"{\"a\":\"\xff\"}":     "{\"a\":\"\uFFFD\"}",
		`{"a":"\u0000\u0000"}`: `{"a":"\ufffd\ufffd"}`,
	}
	for in, want := range cases {
		if got := string(sanitizeRaw([]byte(in))); got != want {
			t.Errorf("sanitizeRaw(%q) = %q, want %q", in, got, want)
		}
	}
}

// A page's events keep their JSON as sent, escapes included. The decoder
// used to write an event out after reading its fields, and fastjson writes
// a string it has unescaped with Go's quoting: "a\u0007b" came out as
// "a\ab", which is not JSON, so PostgreSQL refused the event.
func TestDecodePageKeepsEscapes(t *testing.T) {
	t.Parallel()
	ev := `{"id":"7","type":"Issues\u0001Event","actor":{"id":1,"login":"a\u0007b"},"repo":{"id":1,"name":"a/\"b\""},` +
		`"payload":{"action":"op\tened","x":"\u00e9\n"},"created_at":"2024-01-01T00:00:00Z"}`
	var d Decoder
	events, bad, err := d.Page([]byte("[" + ev + "]"))
	if err != nil || len(bad) != 0 || len(events) != 1 {
		t.Fatalf("events %d, bad %v, err %v", len(events), bad, err)
	}
	e := events[0]
	if string(e.Raw) != ev {
		t.Fatalf("raw\n got  %s\n want %s", e.Raw, ev)
	}
	if e.Type != "Issues\x01Event" || e.ActorLogin != "a\x07b" || e.RepoName != `a/"b"` || e.Action != "op\tened" {
		t.Fatalf("columns %q %q %q %q", e.Type, e.ActorLogin, e.RepoName, e.Action)
	}
}

// archiveHour returns the lines of the real 2015 GH Archive hour in the
// shared test data, decompressed.
func archiveHour(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open(sharedTestdata + "gharchive-2015-01-01-0.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// BenchmarkDecodeEvent decodes the real 2015 GH Archive hour line by line
// (already decompressed): the import's decoding cost per event on one core.
func BenchmarkDecodeEvent(b *testing.B) {
	lines := archiveHour(b)
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	var d Decoder
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Event(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// An unpaired surrogate escape in a column's string reads as U+FFFD, as
// encoding/json and PostgreSQL's jsonb read the stored raw JSON; a paired
// one and an escaped backslash followed by text stay what they are. (The
// fuzzer found the column read as the six characters `\ud800`.)
func TestDecodeUnpairedSurrogateInColumns(t *testing.T) {
	line := []byte(`{"id":"7","type":"PushEvent","actor":{"id":2,"login":"x\udc00y"},` +
		`"repo":{"id":1,"name":"a/\ud800b"},"payload":{"action":"\ud83d\ude00 \\ud800"},"created_at":"2024-01-01T00:00:00Z"}`)
	check := func(t *testing.T, e model.Event) {
		t.Helper()
		if e.RepoName != "a/\uFFFDb" || e.ActorLogin != "x\uFFFDy" || e.Action != "\U0001F600 \\ud800" {
			t.Fatalf("repo %q, actor %q, action %q", e.RepoName, e.ActorLogin, e.Action)
		}
		if !bytes.Contains(e.Raw, []byte(`"name":"a/\ufffdb"`)) || !bytes.Contains(e.Raw, []byte(`"login":"x\ufffdy"`)) ||
			!bytes.Contains(e.Raw, []byte(`"action":"\ud83d\ude00 \\ud800"`)) {
			t.Fatalf("raw %s", e.Raw)
		}
	}
	var d Decoder
	e, err := d.Event(line)
	if err != nil {
		t.Fatal(err)
	}
	check(t, e)
	events, bad, err := d.Page(append(append([]byte("["), line...), ']'))
	if err != nil || len(bad) != 0 || len(events) != 1 {
		t.Fatalf("page: %d events, %v bad, %v", len(events), bad, err)
	}
	check(t, events[0])
}
