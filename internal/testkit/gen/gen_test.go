package gen_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/testkit/gen"
)

func lines(t *testing.T, o gen.Options, n int) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := gen.New(o).WriteLines(&buf, int64(n)); err != nil {
		t.Fatal(err)
	}
	out := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if len(out) != n {
		t.Fatalf("WriteLines(%d) wrote %d lines", n, len(out))
	}
	return out
}

func sameEvent(a, b model.Event) bool {
	return a.ID == b.ID && a.Type == b.Type && a.ActorID == b.ActorID && a.ActorLogin == b.ActorLogin &&
		a.RepoID == b.RepoID && a.RepoName == b.RepoName && a.OrgID == b.OrgID && a.OrgLogin == b.OrgLogin &&
		a.Action == b.Action && a.CreatedAt.Equal(b.CreatedAt)
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	o := gen.Options{Seed: 7, Events: 3000}
	a, b := lines(t, o, 3000), lines(t, o, 3000)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("seed 7 line %d differs between two runs:\n%s\n%s", i+1, a[i], b[i])
		}
	}
	o.Seed = 8
	c := lines(t, o, 3000)
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same != 0 {
		t.Fatalf("seeds 7 and 8 give %d identical lines of 3000, want 0", same)
	}
}

// Every line is JSON that github.Decoder reads back as the event Next
// returns for the same seed, with or without NoRaw.
func TestLinesDecodeAsNextEvents(t *testing.T) {
	t.Parallel()
	const n = 20_000
	o := gen.Options{Seed: 3, Events: n, Start: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Span: time.Hour}
	ls := lines(t, o, n)
	withRaw, noRaw := gen.New(o), gen.New(gen.Options{Seed: 3, Events: n, Start: o.Start, Span: o.Span, NoRaw: true})
	var d github.Decoder
	for i, line := range ls {
		if !json.Valid(line) {
			t.Fatalf("line %d is not valid JSON: %s", i+1, line)
		}
		got, err := d.Event(line)
		if err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, line)
		}
		want := withRaw.Next()
		if !sameEvent(got, want) || !bytes.Equal(want.Raw, line) {
			t.Fatalf("line %d decodes to %+v\nNext gave %+v", i+1, got, want)
		}
		bare := noRaw.Next()
		if !sameEvent(bare, want) || bare.Raw != nil {
			t.Fatalf("event %d with NoRaw = %+v (raw %d bytes), want %+v and no raw", i+1, bare, len(bare.Raw), want)
		}
	}
}

// The type mix, the actions, the skew of repositories, the time spread and
// the identity of the events stay within the bounds the package promises.
func TestShape(t *testing.T) {
	t.Parallel()
	const n = 200_000
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	span := 24 * time.Hour
	g := gen.New(gen.Options{Seed: 1, Events: n, Start: start, Span: span})

	types := map[string]int{}
	acts := map[string]map[string]int{}
	repos := map[int64]int{}
	spellings := map[int64]map[string]bool{}
	ids := map[[2]int64]bool{}
	sizes := map[string][]int{}
	var mixedCase, withOrg int
	for i := range n {
		e := g.Next()
		types[e.Type]++
		if acts[e.Type] == nil {
			acts[e.Type] = map[string]int{}
		}
		acts[e.Type][e.Action]++
		repos[e.RepoID]++
		if spellings[e.RepoID] == nil {
			spellings[e.RepoID] = map[string]bool{}
		}
		spellings[e.RepoID][e.RepoName] = true
		if strings.ToLower(e.RepoName) != e.RepoName {
			mixedCase++
		}
		if e.OrgID != 0 {
			withOrg++
		}
		key := [2]int64{e.ID, e.CreatedAt.Unix()}
		if ids[key] {
			t.Fatalf("event %d repeats identity %v", i, key)
		}
		ids[key] = true
		sizes[e.Type] = append(sizes[e.Type], len(e.Raw))

		// created_at: on the line from start to start+span, ±3 s, whole seconds.
		planned := start.Add(time.Duration(float64(i) * float64(span) / n))
		if d := e.CreatedAt.Sub(planned); d < -4*time.Second || d > 3*time.Second || e.CreatedAt.Before(start) {
			t.Fatalf("event %d created_at %v is %v from the planned %v", i, e.CreatedAt, d, planned)
		}
		if e.CreatedAt.Nanosecond() != 0 || e.CreatedAt.Location() != time.UTC {
			t.Fatalf("event %d created_at %v is not whole UTC seconds", i, e.CreatedAt)
		}
	}

	// Type mix: every type within half a percentage point of TypeMix, and
	// no other type.
	var mixTotal int
	for _, tw := range gen.TypeMix {
		mixTotal += tw.PerMille
		share := float64(types[tw.Type]) / n
		if want := float64(tw.PerMille) / 1000; share < want-0.005 || share > want+0.005 {
			t.Errorf("%s is %.4f of the events, want %.3f ± 0.005", tw.Type, share, want)
		}
		if !model.IsKnownType(tw.Type) {
			t.Errorf("TypeMix holds %s, not a known type", tw.Type)
		}
	}
	if mixTotal != 1000 || len(types) != len(gen.TypeMix) {
		t.Errorf("TypeMix sums to %d‰ over %d types, %d types generated", mixTotal, len(gen.TypeMix), len(types))
	}
	if push := float64(types["PushEvent"]) / n; push < 0.55 || push > 0.60 {
		t.Errorf("PushEvent share %.3f, want 0.55..0.60", push)
	}

	// Actions: exactly the documented ones, each seen; none for the others.
	for typ, got := range acts {
		want := gen.Actions(typ)
		if want == nil {
			if len(got) != 1 || got[""] == 0 {
				t.Errorf("%s has actions %v, want none", typ, got)
			}
			continue
		}
		for a := range got {
			if _, ok := want[a]; !ok {
				t.Errorf("%s has action %q, not one of %v", typ, a, want)
			}
		}
		for a := range want {
			if got[a] == 0 {
				t.Errorf("%s never has action %q", typ, a)
			}
		}
	}
	for _, typ := range []string{"PushEvent", "CreateEvent", "DeleteEvent", "ForkEvent", "GollumEvent", "CommitCommentEvent", "PublicEvent"} {
		if gen.Actions(typ) != nil {
			t.Errorf("%s should have no action", typ)
		}
	}
	for typ, want := range map[string][]string{
		"IssuesEvent":       {"closed", "opened", "reopened"},
		"PullRequestEvent":  {"closed", "opened", "reopened"},
		"WatchEvent":        {"started"},
		"IssueCommentEvent": {"created"},
	} {
		got := make([]string, 0, len(acts[typ]))
		for a := range acts[typ] {
			got = append(got, a)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s actions = %v, want %v", typ, got, want)
		}
	}

	// Skew: a few repositories with huge counts, a long tail of ones and twos.
	counts := make([]int, 0, len(repos))
	oneOrTwo := 0
	for _, c := range repos {
		counts = append(counts, c)
		if c <= 2 {
			oneOrTwo++
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	top10 := 0
	for _, c := range counts[:10] {
		top10 += c
	}
	if counts[0] < n/100 {
		t.Errorf("busiest repository has %d events, want at least 1%% (%d)", counts[0], n/100)
	}
	if top10 < n/20 {
		t.Errorf("10 busiest repositories have %d events, want at least 5%% (%d)", top10, n/20)
	}
	if len(repos) < n*3/10 {
		t.Errorf("%d distinct repositories, want at least 30%% of %d events", len(repos), n)
	}
	if oneOrTwo < len(repos)*8/10 {
		t.Errorf("%d of %d repositories have one or two events, want at least 80%%", oneOrTwo, len(repos))
	}

	// Names: mixed case for some, and some repositories seen under two
	// spellings that differ only in case (a rename).
	if mixedCase < n/10 || mixedCase > n/2 {
		t.Errorf("%d events with a mixed-case repository name, want 10%%..50%%", mixedCase)
	}
	renamed := 0
	for _, names := range spellings {
		if len(names) > 1 {
			renamed++
			var lower []string
			for name := range names {
				lower = append(lower, strings.ToLower(name))
			}
			if len(lower) != 2 || lower[0] != lower[1] {
				t.Errorf("repository with names %v: want two spellings of one name", names)
			}
		}
	}
	if renamed == 0 {
		t.Error("no repository appears under two case spellings")
	}
	if share := float64(withOrg) / n; share < 0.15 || share > 0.45 {
		t.Errorf("%.3f of events have an org, want 0.15..0.45 (real: 0.30)", share)
	}

	// Payload sizes like the real ones: a few hundred bytes to a few KB.
	median := func(typ string) int {
		s := sizes[typ]
		slices.Sort(s)
		return s[len(s)/2]
	}
	for typ, bounds := range map[string][2]int{
		"PushEvent":        {600, 2500},
		"WatchEvent":       {300, 800},
		"PullRequestEvent": {1500, 8000},
		"IssuesEvent":      {1000, 5000},
	} {
		if m := median(typ); m < bounds[0] || m > bounds[1] {
			t.Errorf("median %s line is %d bytes, want %d..%d", typ, m, bounds[0], bounds[1])
		}
	}
}

func TestWriteFileGzip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gen.json.gz")
	o := gen.Options{Seed: 5, Events: 1000}
	if err := gen.WriteFile(path, o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want := lines(t, o, 1000)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	i := 0
	for sc.Scan() {
		if i >= len(want) || !bytes.Equal(sc.Bytes(), want[i]) {
			t.Fatalf("gzip line %d differs from WriteLines", i+1)
		}
		i++
	}
	if err := sc.Err(); err != nil || i != 1000 {
		t.Fatalf("read %d lines, err %v; want 1000", i, err)
	}
}
