package api

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// marshalBoth encodes v with Huma's default JSON format and with ours.
func marshalBoth(t *testing.T, v any) (want, got []byte, wantErr, gotErr error) {
	t.Helper()
	var w, g bytes.Buffer
	wantErr = huma.DefaultJSONFormat.Marshal(&w, v)
	gotErr = jsonFormat.Marshal(&g, v)
	return w.Bytes(), g.Bytes(), wantErr, gotErr
}

func sameJSON(t *testing.T, v any) {
	t.Helper()
	want, got, wantErr, gotErr := marshalBoth(t, v)
	if wantErr != nil || gotErr != nil {
		t.Fatalf("errors: encoding/json %v, ours %v", wantErr, gotErr)
	}
	if !bytes.Equal(want, got) {
		i := 0
		for i < min(len(want), len(got)) && want[i] == got[i] {
			i++
		}
		t.Fatalf("encodings differ at byte %d of %d\nencoding/json: …%q\nours:          …%q", i, len(want), want[max(0, i-80):min(len(want), i+80)], got[max(0, i-80):min(len(got), i+80)])
	}
}

// nonZeroFields fails when a field of the struct v points at is zero: the
// samples below set every field, so a field added to an answer without
// its encoding fails the comparison.
func nonZeroFields(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Fatalf("%s.%s is zero in the sample: set it, so that its encoding is compared", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}

// awkwardStrings are strings every escape of encoding/json applies to.
func awkwardStrings() []string {
	out := []string{"", "torvalds/linux", `a"b\c`, "<script>&amp;</script>", "line\u2028sep\u2029para", "tab\there\nnew\rret\bbs\fff",
		"\x00\x01\x1f\x7f", "caf\u00e9 \u65e5\u672c \U0001F600", "bad\xffutf8\xc3", "\xed\xa0\x80 surrogate", "end\\"}
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
		out = append(out, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	out = append(out, all.String())
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			switch r.IntN(4) {
			case 0:
				b[i] = byte(r.IntN(256))
			case 1:
				b[i] = byte(r.IntN(0x20))
			default:
				b[i] = byte('a' + r.IntN(26))
			}
		}
		out = append(out, string(b), string(b)+"\u2028", "\u00e9"+string(b))
	}
	return out
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range awkwardStrings() {
		sameJSON(t, s) // a string alone goes to encoding/json ...
		want, _, _, _ := marshalBoth(t, s)
		if got := append(appendJSONString(nil, s), '\n'); !bytes.Equal(want, got) { // ... and through ours
			t.Fatalf("%q: encoding/json %s, ours %s", s, want, got)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkwardStrings()[:40] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _, _, _ := marshalBoth(t, s)
		if got := append(appendJSONString(nil, s), '\n'); !bytes.Equal(want, got) {
			t.Fatalf("%q: encoding/json %s, ours %s", s, want, got)
		}
	})
}

func TestMultipleEventsReposJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	offset := int64(86400)
	since := time.Date(2026, 11, 30, 0, 0, 0, 123456789, time.UTC)
	until := time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))
	full := &MultipleEventsRepos{
		EventType: "PushEvent", MinimalEventsCount: 1, OffsetSeconds: &offset, Since: &since, Until: &until,
		TotalRepositories: 123456789012, Repositories: []RepoEvents{{RepositoryName: "a/b", EventsCount: 9}},
	}
	nonZeroFields(t, full)
	nonZeroFields(t, &full.Repositories[0])
	sameJSON(t, full)
	for _, name := range awkwardStrings() {
		full.Repositories = append(full.Repositories, RepoEvents{RepositoryName: name, EventsCount: -int64(len(name))})
	}
	sameJSON(t, full)
	sameJSON(t, &MultipleEventsRepos{EventType: "WatchEvent", MinimalEventsCount: 2, Repositories: []RepoEvents{}})
	sameJSON(t, &MultipleEventsRepos{EventType: "W\"x\u2028", Repositories: nil})
	sameJSON(t, &MultipleEventsRepos{Since: &since}) // until and offset absent on their own
	sameJSON(t, &MultipleEventsRepos{Until: &until})

	// A time encoding/json refuses is refused here too.
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, wantErr, gotErr := marshalBoth(t, &MultipleEventsRepos{Since: &bad}); wantErr == nil || gotErr == nil {
		t.Fatalf("year 10000: encoding/json %v, ours %v; want both to fail", wantErr, gotErr)
	}
}

func TestEventsTimelineJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	et, repo, action := "PushEvent", "Owner/Repo\"\\", "opened\u2029"
	until := time.Date(2026, 12, 1, 0, 0, 0, 1, time.UTC)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	full := &EventsTimeline{
		OffsetSeconds: 2592000, Since: start, Until: &until, Bucket: "hour",
		EventType: &et, RepositoryName: &repo, Action: &action, Total: 42,
		Buckets: []TimelineBucket{{Start: start, Total: 3, Counts: map[string]int64{"PushEvent": 3}}},
	}
	nonZeroFields(t, full)
	nonZeroFields(t, &full.Buckets[0])
	sameJSON(t, full)

	r := rand.New(rand.NewPCG(3, 4))
	names := awkwardStrings()
	for i := range 3000 {
		counts := map[string]int64{}
		for range r.IntN(18) {
			counts[names[r.IntN(len(names))]] = r.Int64N(1<<40) - 1<<39
		}
		if i%97 == 0 {
			counts = nil
		}
		full.Buckets = append(full.Buckets, TimelineBucket{
			Start: start.Add(time.Duration(i) * time.Minute).Add(time.Duration(r.IntN(1e9))), Total: r.Int64(), Counts: counts,
		})
	}
	sameJSON(t, full)
	// Runs of buckets with the same types, and with as many other ones.
	full.Buckets = full.Buckets[:1]
	for i := range 300 {
		counts := map[string]int64{"PushEvent": int64(i), "WatchEvent": 1, "IssuesEvent": 2}
		switch i % 7 {
		case 3:
			counts = map[string]int64{"PushEvent": 1, "ForkEvent": 1, "IssuesEvent": 2} // as many, one other
		case 5:
			delete(counts, "WatchEvent")
		}
		full.Buckets = append(full.Buckets, TimelineBucket{Start: start.Add(time.Duration(i) * time.Hour), Total: 3, Counts: counts})
	}
	sameJSON(t, full)
	sameJSON(t, &EventsTimeline{Bucket: "day", Buckets: []TimelineBucket{}})
	sameJSON(t, &EventsTimeline{Bucket: "day", Buckets: nil})
	sameJSON(t, &EventsTimeline{Buckets: []TimelineBucket{{Counts: map[string]int64{}}}})
	sameJSON(t, &EventsTimeline{Since: start.In(time.FixedZone("Y", -7*3600-30*60))})

	bad := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, wantErr, gotErr := marshalBoth(t, &EventsTimeline{Buckets: []TimelineBucket{{Start: bad}}}); wantErr == nil || gotErr == nil {
		t.Fatalf("year -1: encoding/json %v, ours %v; want both to fail", wantErr, gotErr)
	}
}

// TestJSONFormatLeavesOtherValues checks that every other answer still
// goes through encoding/json.
func TestJSONFormatLeavesOtherValues(t *testing.T) {
	t.Parallel()
	for _, v := range []any{&EventsTotalCount{Counts: map[string]int64{"b": 1, "a": 2}}, &huma.ErrorModel{Title: "x<y"}, map[string]any{"k": []int{1}}} {
		sameJSON(t, v)
	}
}
