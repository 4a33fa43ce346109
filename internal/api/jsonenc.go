package api

import (
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// The big answers (the 10,000-row export of multiple-events-repos, a
// timeline of thousands of buckets) write their own JSON: encoding/json
// walks them by reflection, sorts every map's keys through reflect values
// and copies each time through MarshalJSON and a compaction pass. They
// write exactly the bytes encoding/json writes for them (with HTML
// escaping off, as Huma's default JSON format has it): jsonenc_test.go
// compares the two on every field, and the schemas still come from the
// struct types.

// jsonAppender is an answer that appends its own JSON encoding, the bytes
// huma.DefaultJSONFormat would write for it without the final newline.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// jsonBuffers keeps the buffers of the appenders between requests (one
// export is about 0.8 MB).
var jsonBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledJSON is the largest buffer kept for the next answer.
const maxPooledJSON = 4 << 20

// jsonFormat is Huma's JSON format (huma.DefaultJSONFormat) with the fast
// path of the jsonAppenders.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		a, ok := v.(jsonAppender)
		if !ok {
			return huma.DefaultJSONFormat.Marshal(w, v)
		}
		bp := jsonBuffers.Get().(*[]byte)
		b, err := a.appendJSON((*bp)[:0])
		if err == nil {
			b = append(b, '\n') // as json.Encoder ends each value
			_, err = w.Write(b)
		}
		if cap(b) <= maxPooledJSON {
			*bp = b
			jsonBuffers.Put(bp)
		}
		return err
	},
	Unmarshal: json.Unmarshal,
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// without HTML escaping: `"` and `\` escaped, the control characters as
// \b \f \n \r \t or \u00XX, each byte of invalid UTF-8 as U+FFFD
// (unescaped, as encoding/json writes it on its v2 implementation, the
// default in Go 1.27), U+2028 and U+2029 as \u2028 and \u2029.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, refused outside years 0 to 9999).
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return b, err
	}
	return append(b, '"'), nil
}

// appendJSONOptString appends s, or null when it is nil.
func appendJSONOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSON writes the export and every other multiple-events-repos answer.
func (m *MultipleEventsRepos) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"event_type":`...)
	b = appendJSONString(b, m.EventType)
	b = append(b, `,"minimal_events_count":`...)
	b = strconv.AppendInt(b, m.MinimalEventsCount, 10)
	if m.OffsetSeconds != nil {
		b = append(b, `,"offset_seconds":`...)
		b = strconv.AppendInt(b, *m.OffsetSeconds, 10)
	}
	if m.Since != nil {
		b = append(b, `,"since":`...)
		if b, err = appendJSONTime(b, *m.Since); err != nil {
			return b, err
		}
	}
	if m.Until != nil {
		b = append(b, `,"until":`...)
		if b, err = appendJSONTime(b, *m.Until); err != nil {
			return b, err
		}
	}
	b = append(b, `,"total_repositories":`...)
	b = strconv.AppendInt(b, m.TotalRepositories, 10)
	b = append(b, `,"repositories":`...)
	if m.Repositories == nil {
		b = append(b, "null"...)
	} else {
		b = slices.Grow(b, len(m.Repositories)*64)
		b = append(b, '[')
		for i, r := range m.Repositories {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"repository_name":`...)
			b = appendJSONString(b, r.RepositoryName)
			b = append(b, `,"events_count":`...)
			b = strconv.AppendInt(b, r.EventsCount, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendJSON writes a timeline: every bucket's counts with their keys in
// order, as encoding/json sorts a map's.
func (t *EventsTimeline) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"offset_seconds":`...)
	b = strconv.AppendInt(b, t.OffsetSeconds, 10)
	b = append(b, `,"since":`...)
	if b, err = appendJSONTime(b, t.Since); err != nil {
		return b, err
	}
	if t.Until != nil {
		b = append(b, `,"until":`...)
		if b, err = appendJSONTime(b, *t.Until); err != nil {
			return b, err
		}
	}
	b = append(b, `,"bucket":`...)
	b = appendJSONString(b, t.Bucket)
	b = append(b, `,"event_type":`...)
	b = appendJSONOptString(b, t.EventType)
	b = append(b, `,"repository_name":`...)
	b = appendJSONOptString(b, t.RepositoryName)
	b = append(b, `,"action":`...)
	b = appendJSONOptString(b, t.Action)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, t.Total, 10)
	b = append(b, `,"buckets":`...)
	if t.Buckets == nil {
		b = append(b, "null"...)
		return append(b, '}'), nil
	}
	b = slices.Grow(b, len(t.Buckets)*64)
	b = append(b, '[')
	var keys []string
	for i, k := range t.Buckets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"start":`...)
		if b, err = appendJSONTime(b, k.Start); err != nil {
			return b, err
		}
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, k.Total, 10)
		b = append(b, `,"counts":`...)
		if k.Counts == nil {
			b = append(b, "null}"...)
			continue
		}
		if !sameKeys(keys, k.Counts) { // most buckets hold the types of the one before
			keys = keys[:0]
			for typ := range k.Counts {
				keys = append(keys, typ)
			}
			slices.Sort(keys)
		}
		b = append(b, '{')
		for j, typ := range keys {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, typ)
			b = append(b, ':')
			b = strconv.AppendInt(b, k.Counts[typ], 10)
		}
		b = append(b, "}}"...)
	}
	b = append(b, ']')
	return append(b, '}'), nil
}

// sameKeys says whether keys are exactly the keys of m.
func sameKeys(keys []string, m map[string]int64) bool {
	if len(keys) != len(m) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
