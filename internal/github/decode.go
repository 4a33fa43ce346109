// Package github talks to GitHub: the Events API client (headers, Link
// pagination, ETag, rate limits) and the decoder of events, shared by API
// pages and GH Archive lines (the same JSON).
package github

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/ghevents/ghevents/internal/model"
)

// ErrOldLayout marks an event in the layout GH Archive used before 2015
// ("repository" instead of "repo", no numeric id). ghevents does not map it:
// such events are rejected with this error rather than stored half-filled.
var ErrOldLayout = errors.New("pre-2015 GH Archive layout (\"repository\" instead of \"repo\", no numeric id): not supported; import dumps from 2015-01-01 on")

// EarliestEvent bounds created_at from below: GitHub opened in October 2007.
var EarliestEvent = time.Date(2007, 10, 1, 0, 0, 0, 0, time.UTC)

// BadEventError says why one event could not be decoded.
type BadEventError struct {
	// Index is the event's position in its page (0-based); -1 for a single event.
	Index int
	// ID is the event's id as sent, when it could be read.
	ID string
	// Reason says what is wrong, without quoting the whole event.
	Reason string
	// Err is ErrOldLayout for old-layout events, else nil.
	Err error
}

func (e *BadEventError) Error() string {
	var b strings.Builder
	b.WriteString("bad event")
	if e.Index >= 0 {
		fmt.Fprintf(&b, " #%d", e.Index)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, " (id %s)", truncate(e.ID, 40))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

func (e *BadEventError) Unwrap() error { return e.Err }

// Decoder decodes events. It reuses its buffers, so one Decoder must not be
// used by two goroutines at once; the events it returns share nothing with it.
type Decoder struct {
	p fastjson.Parser
}

// Event decodes one event object (a GH Archive line). The event's Raw is
// line itself (sanitised for PostgreSQL when needed), so the caller must not
// reuse line's memory while the event is in use, or must clear Raw.
//
// The line is made safe before it is parsed, not only before it is stored:
// fastjson keeps an unpaired surrogate escape (\ud800) as its six
// characters of text where encoding/json, and so any other reader of the
// stored JSON, reads U+FFFD; the columns must say what the stored raw says.
func (d *Decoder) Event(line []byte) (model.Event, error) {
	safe := sanitizeRaw(line)
	v, err := d.p.ParseBytes(safe)
	if err != nil {
		return model.Event{}, &BadEventError{Index: -1, Reason: "not JSON: " + truncate(err.Error(), 120)}
	}
	e, err := decodeValue(v, -1)
	if err != nil {
		return model.Event{}, err
	}
	e.Raw = safe
	return e, nil
}

// Page decodes a page of the Events API: a JSON array of events. A body
// that is not a JSON array is an error; events that cannot be decoded are
// returned as bad (with their position and reason) and the others decoded.
func (d *Decoder) Page(body []byte) (events []model.Event, bad []*BadEventError, err error) {
	// Made safe before parsing, as in Event: the columns then read what
	// the stored raw JSON says.
	v, err := d.p.ParseBytes(sanitizeRaw(body))
	if err != nil {
		return nil, nil, fmt.Errorf("page body is not JSON: %s", truncate(err.Error(), 120))
	}
	arr, err := v.Array()
	if err != nil {
		return nil, nil, fmt.Errorf("page body is a JSON %s, not an array of events", v.Type())
	}
	events = make([]model.Event, 0, len(arr))
	for i, ev := range arr {
		// The event's JSON is written out before its fields are read:
		// reading a string unescapes it inside the parsed value, and
		// fastjson writes an unescaped string back with Go's quoting
		// (\x01, \a), which is not JSON; unread strings are copied as sent.
		raw := ev.MarshalTo(nil)
		e, err := decodeValue(ev, i)
		if err != nil {
			var be *BadEventError
			if errors.As(err, &be) {
				bad = append(bad, be)
				continue
			}
			return nil, nil, err
		}
		e.Raw = raw // made safe with the body
		events = append(events, e)
	}
	return events, bad, nil
}

// decodeValue extracts an event's columns from its parsed JSON.
func decodeValue(v *fastjson.Value, index int) (model.Event, error) {
	bad := func(id, format string, args ...any) error {
		return &BadEventError{Index: index, ID: id, Reason: fmt.Sprintf(format, args...)}
	}
	if v.Type() != fastjson.TypeObject {
		return model.Event{}, bad("", "a JSON %s, not an event object", v.Type())
	}
	var e model.Event

	idv := v.Get("id")
	if idv == nil || idv.Type() == fastjson.TypeNull {
		if v.Get("repository") != nil && v.Get("repo") == nil {
			return e, &BadEventError{Index: index, Reason: ErrOldLayout.Error(), Err: ErrOldLayout}
		}
		return e, bad("", "id is missing")
	}
	var idText string
	switch idv.Type() {
	case fastjson.TypeString:
		idText = string(idv.GetStringBytes())
	case fastjson.TypeNumber:
		idText = idv.String()
	default:
		return e, bad("", "id is a JSON %s, not a string of digits", idv.Type())
	}
	// Only the canonical form: strconv also reads "+5" and "010", which
	// would give two spellings of one identity.
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || idText[0] < '1' || idText[0] > '9' {
		return e, bad(idText, "id %q is not a positive 64-bit number", truncate(idText, 40))
	}
	e.ID = id

	if e.Type = cleanString(v.GetStringBytes("type")); e.Type == "" {
		return e, bad(idText, "type is missing or not a string")
	}

	repo := v.Get("repo")
	if repo == nil || repo.Type() != fastjson.TypeObject {
		if v.Get("repository") != nil {
			return e, &BadEventError{Index: index, ID: idText, Reason: ErrOldLayout.Error(), Err: ErrOldLayout}
		}
		return e, bad(idText, "repo is missing or not an object")
	}
	if e.RepoName = cleanString(repo.GetStringBytes("name")); e.RepoName == "" {
		return e, bad(idText, "repo.name is missing or not a string")
	}
	rid := repo.Get("id")
	if rid == nil || rid.Type() != fastjson.TypeNumber {
		return e, bad(idText, "repo.id is missing or not a number")
	}
	if e.RepoID, err = rid.Int64(); err != nil {
		return e, bad(idText, "repo.id %s is not a 64-bit integer", truncate(rid.String(), 40))
	}

	created := v.GetStringBytes("created_at")
	if created == nil {
		return e, bad(idText, "created_at is missing or not a string")
	}
	if e.CreatedAt, err = time.Parse(time.RFC3339, string(created)); err != nil {
		return e, bad(idText, "created_at %q is not an RFC 3339 time", truncate(string(created), 40))
	}
	e.CreatedAt = e.CreatedAt.UTC()
	// An offset can carry "9999-12-31T23:00:00-05:00" into the year 10000
	// in UTC: PostgreSQL stores it, but no RFC 3339 time (the API's
	// answers) can say it, so one such event would break every answer
	// that shows it. At the other end, a time before GitHub existed is no
	// GitHub event, and 0001-01-01T00:00:00Z is Go's zero time, which the
	// poller reads as "no time".
	if e.CreatedAt.Before(EarliestEvent) || e.CreatedAt.Year() > 9999 {
		return e, bad(idText, "created_at %q is outside 2007-10-01 to 9999-12-31 (UTC)", truncate(string(created), 40))
	}

	// Optional parts: absent or malformed ones are left empty, not fatal.
	if actor := v.Get("actor"); actor != nil && actor.Type() == fastjson.TypeObject {
		e.ActorID = actor.GetInt64("id")
		e.ActorLogin = cleanString(actor.GetStringBytes("login"))
	}
	if org := v.Get("org"); org != nil && org.Type() == fastjson.TypeObject {
		e.OrgID = org.GetInt64("id")
		e.OrgLogin = cleanString(org.GetStringBytes("login"))
	}
	e.Action = cleanString(v.GetStringBytes("payload", "action"))
	return e, nil
}

// cleanString makes b safe for a PostgreSQL text column: valid UTF-8 and no
// NUL byte (both replaced by U+FFFD).
func cleanString(b []byte) string {
	if bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) {
		return string(b)
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// sanitizeRaw makes raw JSON acceptable to jsonb, which refuses invalid
// UTF-8, the escape \u0000 and unpaired surrogate escapes such as \ud800
// (all replaced by U+FFFD). Most events need nothing and are returned as
// they are.
func sanitizeRaw(raw []byte) []byte {
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	if !bytes.Contains(raw, []byte(`\u0000`)) && !bytes.Contains(raw, []byte(`\ud`)) && !bytes.Contains(raw, []byte(`\uD`)) {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		// An escape: copy it whole so that `\\u0000` (a backslash, then
		// text) is not mistaken for the NUL escape.
		if raw[i+1] == 'u' && i+6 <= len(raw) {
			if v, ok := hex4(raw[i+2 : i+6]); ok {
				switch {
				case v == 0:
					out = append(out, `\ufffd`...)
					i += 5
					continue
				case v >= 0xD800 && v <= 0xDBFF:
					// A high surrogate must be followed by a low one.
					if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
						if lo, ok := hex4(raw[i+8 : i+12]); ok && lo >= 0xDC00 && lo <= 0xDFFF {
							out = append(out, raw[i:i+12]...)
							i += 11
							continue
						}
					}
					out = append(out, `\ufffd`...)
					i += 5
					continue
				case v >= 0xDC00 && v <= 0xDFFF: // a low surrogate alone
					out = append(out, `\ufffd`...)
					i += 5
					continue
				}
			}
		}
		out = append(out, c, raw[i+1])
		i++
	}
	return out
}

// hex4 parses four hex digits.
func hex4(b []byte) (rune, bool) {
	var v rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// truncate shortens s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
