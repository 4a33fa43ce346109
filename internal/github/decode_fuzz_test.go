package github

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ghevents/ghevents/internal/model"
)

// The decoder's fuzz targets. Seeds: the f.Add calls below and the files
// under testdata/fuzz/FuzzDecodeEvent and testdata/fuzz/FuzzDecodePage
// (real events and pages from the recorded data, and hostile variants).
//
// Property: no panic and no hang; either a clean event, whose columns
// satisfy the invariants below and whose raw JSON is stored-safe (valid
// UTF-8, no \u0000 escape, no unpaired surrogate escape), or a
// *BadEventError (Event), or a clean error (Page). When the input is JSON
// (json.Valid), the raw JSON is JSON too and the columns are the values
// encoding/json reads.
//
// The decoder does not validate the whole input: fastjson's parser is
// lenient (numbers such as 01.2.3, escapes such as \q, control characters
// inside strings). Such input is not JSON, and PostgreSQL refuses its raw
// column; the poller and the importer then isolate that one event and
// report it. Validating every line (fastjson.Validate) would cost about 60%
// more decoding time (measured on the 2015 hour: 157 MB/s to validate
// beside 101 MB/s to decode), for input GitHub does not send.

// FuzzDecodeEvent decodes one GH Archive line.
func FuzzDecodeEvent(f *testing.F) {
	const ok = `"type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"`
	for _, s := range []string{
		`{"id":"2489368070","type":"IssuesEvent","actor":{"id":9152315,"login":"davidjhulse"},"repo":{"id":28635890,"name":"Davidjhulse/Bot"},"org":{"id":42,"login":"acme"},"payload":{"action":"opened","issue":{"title":"x\u0000y"}},"public":true,"created_at":"2015-01-01T00:00:01Z"}`,
		`{"id":1,` + ok + `}`,
		`{"id":"1",` + ok + `,"payload":{"action":"op\u0000ened"}}`,
		`{"id":"1",` + ok + `,"payload":{"title":"\ud800 \udc00 \ud83d\ude00 \\ud800"}}`,
		`{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/\ud800"},"created_at":"2024-01-01T00:00:00Z"}`,
		`{"id":"1","type":"Push\u0007Event","repo":{"id":1,"name":"a/\"b\""},"created_at":"2024-01-01T00:00:00+02:00"}`,
		`{"id":"1","id":"2",` + ok + `}`,
		`{"ID":"1",` + ok + `}`,
		`{"id":"12ab",` + ok + `}`,
		`{"id":"99999999999999999999",` + ok + `}`,
		`{"id":1e3,` + ok + `}`,
		`{"type":"PushEvent","repository":{"name":"b","owner":"a"},"created_at":"2012-01-01T00:00:00Z"}`,
		`{"id":"1","type":"PushEvent","repo":{"id":1.5,"name":"a/b"},"created_at":"2024-01-01T00:00:00.123456789Z"}`,
		"{\"id\":\"1\",\"type\":\"PushEvent\",\"repo\":{\"id\":1,\"name\":\"a/\xff\"},\"created_at\":\"2024-01-01T00:00:00Z\"}",
		"{\"id\":\"1\",\"type\":\"PushEvent\",\"repo\":{\"id\":1,\"name\":\"a/\x01b\"},\"created_at\":\"2024-01-01T00:00:00Z\"}",
		`{"id":"1",` + ok + `,"payload":{"n":01.2.3,"s":"\q"}}`,
		`[1,2]`, `null`, `"x"`, ``, `{`, `{"id":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		in := bytes.Clone(line)
		var d Decoder
		e, err := d.Event(line)
		if !bytes.Equal(line, in) {
			t.Fatalf("Event modified its input")
		}
		if err != nil {
			var be *BadEventError
			if !errors.As(err, &be) {
				t.Fatalf("error %T %v, want a *BadEventError", err, err)
			}
			checkBadEvent(t, be, -1)
			if e.ID != 0 || e.Raw != nil {
				t.Fatalf("an error with an event: %+v", e)
			}
			return
		}
		checkEvent(t, e, json.Valid(line))
		checkAgainstEncodingJSON(t, e, line)
		// The raw JSON is the line, unless the line had to be made safe.
		if needsSanitizing(line) == 0 && !bytes.Equal(e.Raw, line) {
			t.Fatalf("raw %q differs from a line that needed no change", e.Raw)
		}
	})
}

// FuzzDecodePage decodes one Events API page.
func FuzzDecodePage(f *testing.F) {
	const ev = `{"id":"1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"}`
	for _, s := range []string{
		`[` + ev + `]`,
		`[` + ev + `,{"id":"x1","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"},` +
			`{"id":"3","type":"NewFutureEvent","repo":{"id":2,"name":"c/d"},"created_at":"2024-01-01T00:00:02Z"}]`,
		`[{"id":"1","type":"Push\u0001Event","actor":{"login":"a\u0007b"},"repo":{"id":1,"name":"a/b"},"payload":{"action":"x\u0000"},"created_at":"2024-01-01T00:00:00Z"}]`,
		`[{"id":"1","ty\u0000pe":"x","type":"PushEvent","repo":{"id":1,"name":"a/b"},"created_at":"2024-01-01T00:00:00Z"}]`,
		`[ ` + ev + ` , null , 1 , "x" , [] ]`,
		`[]`, `{}`, `{"message":"Server Error"}`, `<html>rate limited</html>`, ``, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := bytes.Clone(body)
		var d Decoder
		events, bad, err := d.Page(body)
		if !bytes.Equal(body, in) {
			t.Fatalf("Page modified its input")
		}
		if err != nil {
			var be *BadEventError
			if errors.As(err, &be) || events != nil || bad != nil {
				t.Fatalf("page error %v with events %d, bad %d", err, len(events), len(bad))
			}
			if !utf8.ValidString(err.Error()) || len(err.Error()) > 300 {
				t.Fatalf("error message not clean: %q", err.Error())
			}
			return
		}
		last := -1
		for _, be := range bad {
			if be.Index <= last {
				t.Fatalf("bad indexes not ascending: %d after %d", be.Index, last)
			}
			last = be.Index
			checkBadEvent(t, be, be.Index)
		}
		for _, e := range events {
			checkEvent(t, e, json.Valid(body))
		}
		// An independent reading of the same array, when encoding/json takes it.
		var elems []json.RawMessage
		if !json.Valid(body) || json.Unmarshal(body, &elems) != nil {
			return
		}
		if len(events)+len(bad) != len(elems) {
			t.Fatalf("%d events + %d bad, but the array has %d elements", len(events), len(bad), len(elems))
		}
		if last >= len(elems) {
			t.Fatalf("bad index %d past the %d elements", last, len(elems))
		}
		isBad := map[int]bool{}
		for _, be := range bad {
			isBad[be.Index] = true
		}
		k := 0
		for i, elem := range elems {
			if isBad[i] {
				continue
			}
			e := events[k]
			k++
			checkAgainstEncodingJSON(t, e, elem)
			// The raw JSON is the element as sent (without insignificant
			// whitespace), unless it had to be made safe.
			var compact bytes.Buffer
			if err := json.Compact(&compact, elem); err != nil {
				t.Fatal(err)
			}
			if needsSanitizing(elem) == 0 && !bytes.Equal(e.Raw, compact.Bytes()) {
				t.Fatalf("raw of element %d:\n got  %q\n want %q", i, e.Raw, compact.Bytes())
			}
		}
	})
}

// checkBadEvent checks a refusal is well formed and says why in a short,
// printable way.
func checkBadEvent(t *testing.T, be *BadEventError, index int) {
	t.Helper()
	if be.Index != index {
		t.Fatalf("bad event index %d, want %d", be.Index, index)
	}
	if be.Reason == "" {
		t.Fatalf("bad event without a reason")
	}
	msg := be.Error()
	// The message quotes at most 40 bytes of the id and 120 of a parse
	// error, plus a fixed text: never the whole event.
	if len(msg) > 400 {
		t.Fatalf("bad event message of %d bytes: %q", len(msg), msg)
	}
	if be.Err != nil && !errors.Is(be, ErrOldLayout) {
		t.Fatalf("Err is %v, want nil or ErrOldLayout", be.Err)
	}
}

// checkEvent checks the invariants of a decoded event: what the store's
// columns require.
func checkEvent(t *testing.T, e model.Event, wantJSON bool) {
	t.Helper()
	if e.ID <= 0 {
		t.Fatalf("id %d is not positive", e.ID)
	}
	for name, s := range map[string]string{"type": e.Type, "repo.name": e.RepoName, "actor.login": e.ActorLogin,
		"org.login": e.OrgLogin, "action": e.Action} {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("%s %q is not valid text for PostgreSQL (invalid UTF-8 or NUL)", name, s)
		}
	}
	if e.Type == "" || e.RepoName == "" {
		t.Fatalf("required column empty: type %q, repo %q", e.Type, e.RepoName)
	}
	if e.CreatedAt.IsZero() || e.CreatedAt.Location() != time.UTC {
		t.Fatalf("created_at %v is zero or not in UTC", e.CreatedAt)
	}
	if e.CreatedAt.Before(EarliestEvent) || e.CreatedAt.Year() > 9999 {
		t.Fatalf("created_at %v out of range", e.CreatedAt)
	}
	checkStoredSafe(t, e.Raw, wantJSON)
}

// checkStoredSafe checks raw has none of what jsonb refuses in JSON: invalid
// UTF-8, the \u0000 escape, an unpaired surrogate escape; and, with
// wantJSON, that it is JSON.
func checkStoredSafe(t *testing.T, raw []byte, wantJSON bool) {
	t.Helper()
	if raw == nil {
		t.Fatalf("raw is nil")
	}
	if !utf8.Valid(raw) {
		t.Fatalf("raw is not valid UTF-8: %q", raw)
	}
	if wantJSON && !json.Valid(raw) {
		t.Fatalf("raw is not valid JSON: %q", raw)
	}
	if n := needsSanitizing(raw); n != 0 {
		t.Fatalf("raw holds an escape jsonb refuses at byte %d: %q", n-1, raw)
	}
}

// needsSanitizing finds what jsonb refuses in JSON text: invalid UTF-8, the
// escape \u0000, or a surrogate escape that is not part of a pair. It
// returns 1 + the offset of the first, or 0 when there is none. It is the
// test's own reading, written apart from sanitizeRaw.
func needsSanitizing(raw []byte) int {
	if !utf8.Valid(raw) {
		return 1
	}
	hex := func(i int) (rune, bool) {
		if i+4 > len(raw) {
			return 0, false
		}
		v, err := strconv.ParseUint(string(raw[i:i+4]), 16, 16)
		return rune(v), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		if raw[i+1] != 'u' {
			i++ // any other escape, \\ included, is two bytes
			continue
		}
		v, ok := hex(i + 2)
		if !ok {
			i++
			continue
		}
		switch {
		case v == 0:
			return i + 1
		case v >= 0xDC00 && v <= 0xDFFF:
			return i + 1
		case v >= 0xD800 && v <= 0xDBFF:
			if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if lo, ok := hex(i + 8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 11
					continue
				}
			}
			return i + 1
		}
		i += 5
	}
	return 0
}

// checkAgainstEncodingJSON compares the decoded columns with what
// encoding/json reads from the same JSON, when it is JSON to encoding/json,
// valid UTF-8 (encoding/json puts a U+FFFD per bad byte, the decoder one
// per run of them: both are fine) and has no repeated key (where readers
// may differ on which one counts).
func checkAgainstEncodingJSON(t *testing.T, e model.Event, src []byte) {
	t.Helper()
	if !utf8.Valid(src) {
		return
	}
	top, ok := objectFields(src)
	if !ok {
		return
	}
	repo, ok := objectFields(top["repo"])
	if !ok {
		return
	}
	var idText string
	if err := json.Unmarshal(top["id"], &idText); err != nil {
		idText = string(top["id"]) // a number
	}
	if idText != strconv.FormatInt(e.ID, 10) {
		t.Fatalf("id %d, encoding/json reads %s", e.ID, top["id"])
	}
	text := func(raw json.RawMessage) string {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("string field %s: %v", raw, err)
		}
		// PostgreSQL text takes no NUL: the decoder puts U+FFFD there.
		return strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if want := text(top["type"]); e.Type != want {
		t.Fatalf("type %q, encoding/json reads %q", e.Type, want)
	}
	if want := text(repo["name"]); e.RepoName != want {
		t.Fatalf("repo.name %q, encoding/json reads %q", e.RepoName, want)
	}
	if want, err := strconv.ParseInt(string(repo["id"]), 10, 64); err != nil || e.RepoID != want {
		t.Fatalf("repo.id %d, encoding/json reads %s", e.RepoID, repo["id"])
	}
	created, err := time.Parse(time.RFC3339, text(top["created_at"]))
	if err != nil || !created.Equal(e.CreatedAt) {
		t.Fatalf("created_at %v, encoding/json reads %s", e.CreatedAt, top["created_at"])
	}
	if p, ok := objectFields(top["payload"]); ok && p["action"] != nil {
		var a string
		if json.Unmarshal(p["action"], &a) == nil && e.Action != strings.ReplaceAll(a, "\x00", "\uFFFD") {
			t.Fatalf("action %q, encoding/json reads %s", e.Action, p["action"])
		}
	}
}

// objectFields reads a JSON object's members with encoding/json; ok is
// false when raw is not an object or repeats a key.
func objectFields(raw []byte) (map[string]json.RawMessage, bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if _, dup := fields[key]; dup {
			return nil, false
		}
		fields[key] = v
	}
	return fields, true
}
