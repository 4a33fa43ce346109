package importer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

const testdata = "../../testdata/github/"

var (
	hour2015 = testdata + "gharchive-2015-01-01-0.json.gz"
	day2021  = testdata + "gharchive-2021-07-21-sample.jsonl"
	push2024 = testdata + "push-events-2024-2025.jsonl"
)

func setup(t *testing.T) (*store.Store, context.Context) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return store.New(testdb.New(t)), ctx
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// rawEvent is what the tests read from the real files on their own, with
// encoding/json, to work out the expected counts independently of the
// importer and its decoder.
type rawEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
}

// readLines returns the lines of a test file (gunzipped when needed).
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func parse(t *testing.T, line []byte) rawEvent {
	t.Helper()
	var e rawEvent
	if err := json.Unmarshal(line, &e); err != nil {
		t.Fatalf("test data line is not JSON: %v", err)
	}
	return e
}

// distinct counts the distinct (id, created_at) pairs of the lines that
// pass keep.
func distinct(t *testing.T, lines [][]byte, keep func(rawEvent) bool) int64 {
	t.Helper()
	seen := map[[2]string]bool{}
	for _, l := range lines {
		e := parse(t, l)
		if keep == nil || keep(e) {
			seen[[2]string{e.ID, e.CreatedAt}] = true
		}
	}
	return int64(len(seen))
}

func count(t *testing.T, ctx context.Context, s *store.Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.Pool().QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func run(t *testing.T, ctx context.Context, sink importer.Sink, o importer.Options, sources ...string) importer.Summary {
	t.Helper()
	if o.Log == nil {
		o.Log = testLog(t)
	}
	sum, err := importer.New(sink, o).Run(ctx, sources)
	if err != nil {
		t.Fatalf("Run(%v): %v", sources, err)
	}
	return sum
}

func TestImportRealFilesTwice(t *testing.T) {
	s, ctx := setup(t)
	want2015 := distinct(t, readLines(t, hour2015), nil)
	want2021 := distinct(t, readLines(t, day2021), nil)
	want2024 := distinct(t, readLines(t, push2024), nil)
	if want2015 != 7702 || want2021 != 800 || want2024 != 2 {
		t.Fatalf("test data: %d, %d, %d distinct events; README says 7702, 800, 2", want2015, want2021, want2024)
	}
	total := want2015 + want2021 + want2024
	var pushes2021 int64
	for _, l := range readLines(t, day2021) {
		if parse(t, l).Type == "PushEvent" {
			pushes2021++
		}
	}

	sum := run(t, ctx, s, importer.Options{BatchSize: 1000}, hour2015, day2021, push2024)
	if !sum.Clean() || sum.Events != total || sum.Stored != total || sum.Duplicates != 0 || len(sum.Files) != 3 {
		t.Fatalf("first import: %+v; want %d events stored, clean", sum, total)
	}
	for i, want := range []int64{want2015, want2021, want2024} {
		if f := sum.Files[i]; f.Stored != want || f.Lines != want || f.Done != want || f.Err != nil {
			t.Errorf("file %s: stored %d of %d lines, done %d, err %v; want %d", f.Name, f.Stored, f.Lines, f.Done, f.Err, want)
		}
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != total {
		t.Fatalf("events table holds %d rows, want %d", got, total)
	}
	// Each row records that `ghevents import` stored it.
	if got := count(t, ctx, s, `SELECT count(*) FROM events WHERE source = 'import'`); got != total {
		t.Errorf("events with source import: %d, want %d", got, total)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events WHERE type = 'PushEvent' AND created_at < '2015-01-02'`); got != 4280 {
		t.Errorf("2015 PushEvents stored: %d, want 4280", got)
	}

	// The raw column holds each line as sent (compared as JSON).
	for _, l := range readLines(t, day2021)[:50] {
		e := parse(t, l)
		if n := count(t, ctx, s, `SELECT count(*) FROM events WHERE id = $1::bigint AND raw = $2::jsonb`, e.ID, string(l)); n != 1 {
			t.Fatalf("event %s: raw differs from its line", e.ID)
		}
	}

	// Again: nothing new, every event a duplicate.
	sum = run(t, ctx, s, importer.Options{Jobs: 1}, hour2015, day2021, push2024)
	if !sum.Clean() || sum.Stored != 0 || sum.Duplicates != total {
		t.Fatalf("second import: stored %d, duplicates %d; want 0, %d", sum.Stored, sum.Duplicates, total)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != total {
		t.Fatalf("after the second import the table holds %d rows, want %d", got, total)
	}
	// The summary tables, kept by statement triggers on events, saw only
	// the rows really inserted: duplicates skipped by ON CONFLICT count nowhere.
	if got := count(t, ctx, s, `SELECT COALESCE(sum(events), 0)::bigint FROM event_type_counts`); got != total {
		t.Fatalf("event_type_counts sums to %d, want %d", got, total)
	}
	if got := count(t, ctx, s, `SELECT COALESCE(sum(events), 0)::bigint FROM event_type_counts WHERE type = 'PushEvent'`); got != 4280+pushes2021+2 {
		t.Fatalf("event_type_counts has %d PushEvents, want %d", got, 4280+pushes2021+2)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// setField returns line with the top-level field set to value (raw JSON),
// or removed when value is "".
func setField(t *testing.T, line []byte, field, value string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(value)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every kind of bad input is reported with its file and line, counted,
// and skipped; what is good is stored.
func TestImportBadInput(t *testing.T) {
	s, ctx := setup(t)
	dir := t.TempDir()
	real := readLines(t, day2021)

	// A truncated gzip: the first 300 lines of the 2015 hour, compressed,
	// cut in the middle. The lines before the cut are stored; how many is
	// worked out by gunzipping the cut file here.
	h := readLines(t, hour2015)[:300]
	whole := gz(t, append(bytes.Join(h, []byte("\n")), '\n'))
	cut := whole[:len(whole)*2/3]
	truncated := writeFile(t, dir, "a-truncated.json.gz", cut)
	var complete int64
	{
		zr, err := gzip.NewReader(bytes.NewReader(cut))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut gzip reads with %v, want unexpected EOF", err)
		}
		complete = int64(bytes.Count(got, []byte("\n")))
		if complete < 50 || complete >= 300 {
			t.Fatalf("cut gzip holds %d complete lines; want a cut well inside the file", complete)
		}
	}

	// Hostile lines, each with its expected report.
	huge := setField(t, real[10], "payload", `{"blob":"`+strings.Repeat("x", 70_000)+`"}`)
	longName := make([]byte, 10_000)
	r := rand.New(rand.NewSource(1))
	for i := range longName {
		longName[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.Intn(36)]
	}
	hostile := [][]byte{
		real[0], // 1: good
		[]byte(`{"id": "123", "type": "PushEvent", this is not JSON`),                    // 2
		setField(t, real[1], "id", ""),                                                   // 3: missing id
		setField(t, real[2], "id", `"12ab"`),                                             // 4: non-numeric id
		setField(t, real[3], "payload", `{"action":"opened","title":"nul \u0000 here"}`), // 5: good, NUL replaced
		[]byte("   "),                          // 6: blank, skipped
		setField(t, real[4], "type", ""),       // 7: missing type
		setField(t, real[5], "repo", ""),       // 8: missing repo
		setField(t, real[6], "created_at", ""), // 9: missing created_at
		huge,                                   // 10: longer than MaxLineBytes
		setField(t, real[7], "payload", `{"title":"lone surrogate \ud800"}`), // 11: good, the surrogate replaced
		real[8], // 12: good
		setField(t, real[9], "repo", `{"id":1,"name":"owner/`+string(longName)+`"}`), // 13: too big for the index
		setField(t, real[11], "created_at", `"yesterday"`),                           // 14: bad time
		real[12], // 15: good
	}
	hostileFile := writeFile(t, dir, "b-hostile.jsonl", append(bytes.Join(hostile, []byte("\n")), '\n'))
	wantBad := []int64{2, 3, 4, 7, 8, 9, 10, 13, 14}

	// A pre-2015 dump: one message for the file, nothing stored.
	old := `{"repository":{"name":"x","owner":"y","url":"https://github.com/y/x"},"actor":"y","type":"PushEvent","created_at":"2013-01-01T00:00:00-08:00","payload":{}}`
	oldFile := writeFile(t, dir, "c-2013.json.gz", gz(t, []byte(strings.Repeat(old+"\n", 50))))
	missing := filepath.Join(dir, "d-missing.json.gz")

	sum, err := importer.New(s, importer.Options{BatchSize: 4, MaxLineBytes: 64 << 10, Log: testLog(t)}).
		Run(ctx, []string{truncated, hostileFile, oldFile, missing})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 4 {
		t.Fatalf("%d file results, want 4", len(sum.Files))
	}
	tr, ho, ol, mi := sum.Files[0], sum.Files[1], sum.Files[2], sum.Files[3]

	if tr.Err == nil || !strings.Contains(tr.Err.Error(), fmt.Sprintf("after line %d", complete)) || tr.Stored != complete || tr.Lines != complete {
		t.Errorf("truncated gzip: err %v, stored %d of %d lines; want an error after line %d and %d stored", tr.Err, tr.Stored, tr.Lines, complete, complete)
	}

	var gotBad []int64
	for _, b := range ho.Bad {
		gotBad = append(gotBad, b.Line)
	}
	if ho.Err != nil || ho.Lines != 15 || ho.BadLines != int64(len(wantBad)) || !slices.Equal(gotBad, wantBad) || ho.Stored != 5 {
		t.Errorf("hostile file: err %v, lines %d, stored %d, bad %d at %v; want 15 lines, 5 stored, bad at %v",
			ho.Err, ho.Lines, ho.Stored, ho.BadLines, gotBad, wantBad)
	}
	reasons := map[int64]string{}
	for _, b := range ho.Bad {
		reasons[b.Line] = b.Reason
	}
	for line, want := range map[int64]string{
		2: "not JSON", 3: "id is missing", 4: `id "12ab" is not a positive 64-bit number`, 7: "type is missing",
		8: "repo is missing", 9: "created_at is missing", 10: "line longer than 65536 bytes",
		13: "SQLSTATE 54000", 14: `created_at "yesterday"`,
	} {
		if !strings.Contains(reasons[line], want) {
			t.Errorf("line %d reason %q, want it to say %q", line, reasons[line], want)
		}
	}
	// The NUL escape became U+FFFD; the good lines are all there.
	nulID := parse(t, hostile[4]).ID
	if n := count(t, ctx, s, `SELECT count(*) FROM events WHERE id = $1::bigint AND raw->'payload'->>'title' = 'nul `+"\uFFFD"+` here'`, nulID); n != 1 {
		t.Errorf("event with the NUL escape: %d rows with U+FFFD in its place, want 1", n)
	}
	// The lone surrogate became U+FFFD too.
	surrogateID := parse(t, hostile[10]).ID
	if n := count(t, ctx, s, `SELECT count(*) FROM events WHERE id = $1::bigint AND raw->'payload'->>'title' = 'lone surrogate `+"\uFFFD"+`'`, surrogateID); n != 1 {
		t.Errorf("event with the lone surrogate: %d rows with U+FFFD in its place, want 1", n)
	}
	for _, i := range []int{0, 4, 10, 11, 14} {
		if n := count(t, ctx, s, `SELECT count(*) FROM events WHERE id = $1::bigint`, parse(t, hostile[i]).ID); n != 1 {
			t.Errorf("good hostile-file line %d: %d rows, want 1", i+1, n)
		}
	}

	if ol.Err == nil || !errors.Is(ol.Err, github.ErrOldLayout) || !strings.Contains(ol.Err.Error(), "line 1:") || ol.Stored != 0 || ol.BadLines != 0 {
		t.Errorf("pre-2015 file: err %v, stored %d, bad lines %d; want one ErrOldLayout at line 1 and nothing else", ol.Err, ol.Stored, ol.BadLines)
	}
	if mi.Err == nil || !strings.Contains(mi.Err.Error(), "no such file") {
		t.Errorf("missing file: err %v", mi.Err)
	}

	if sum.BadFiles != 3 || sum.BadLines != int64(len(wantBad)) || sum.Stored != complete+5 || sum.Clean() {
		t.Errorf("summary: %d bad files, %d bad lines, %d stored, clean %v; want 3, %d, %d, false",
			sum.BadFiles, sum.BadLines, sum.Stored, sum.Clean(), len(wantBad), complete+5)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != complete+5 {
		t.Errorf("events table holds %d, want %d", got, complete+5)
	}
}

func TestImportFilters(t *testing.T) {
	t.Parallel()
	lines := readLines(t, hour2015)
	since := time.Date(2015, 1, 1, 0, 10, 0, 0, time.UTC)
	until := time.Date(2015, 1, 1, 0, 20, 0, 0, time.UTC)
	inWindow := func(e rawEvent) bool {
		at, _ := time.Parse(time.RFC3339, e.CreatedAt)
		return !at.Before(since) && at.Before(until)
	}
	cases := []struct {
		name string
		o    importer.Options
		keep func(rawEvent) bool
	}{
		{"types", importer.Options{Types: []string{"WatchEvent", "IssuesEvent"}},
			func(e rawEvent) bool { return e.Type == "WatchEvent" || e.Type == "IssuesEvent" }},
		{"since-until", importer.Options{Since: since, Until: until}, inWindow},
		{"since", importer.Options{Since: since}, func(e rawEvent) bool { at, _ := time.Parse(time.RFC3339, e.CreatedAt); return !at.Before(since) }},
		{"all three", importer.Options{Types: []string{"PushEvent"}, Since: since, Until: until},
			func(e rawEvent) bool { return e.Type == "PushEvent" && inWindow(e) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, ctx := setup(t)
			want := distinct(t, lines, c.keep)
			if want == 0 || want == 7702 {
				t.Fatalf("filter keeps %d events: not a useful case", want)
			}
			sum := run(t, ctx, s, c.o, hour2015)
			if sum.Stored != want || sum.Filtered != 7702-want || sum.Events != 7702 {
				t.Fatalf("stored %d, filtered %d of %d; want %d, %d", sum.Stored, sum.Filtered, sum.Events, want, 7702-want)
			}
			if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != want {
				t.Fatalf("table holds %d, want %d", got, want)
			}
		})
	}

	t.Run("no-payload", func(t *testing.T) {
		s, ctx := setup(t)
		sum := run(t, ctx, s, importer.Options{NoPayload: true}, day2021)
		if sum.Stored != 800 {
			t.Fatalf("stored %d, want 800", sum.Stored)
		}
		if n := count(t, ctx, s, `SELECT count(*) FROM events WHERE raw IS NULL AND repo_name <> '' AND type <> ''`); n != 800 {
			t.Fatalf("%d rows without raw, want 800", n)
		}
		// The columns are still filled: the action of every IssuesEvent is there.
		var issues int64
		for _, l := range readLines(t, day2021) {
			if parse(t, l).Type == "IssuesEvent" {
				issues++
			}
		}
		if n := count(t, ctx, s, `SELECT count(*) FROM events WHERE type = 'IssuesEvent' AND action IN ('opened', 'closed')`); n != issues || issues == 0 {
			t.Fatalf("%d IssuesEvent rows with an action, want %d", n, issues)
		}
	})
}

func TestImportStdinAndHTTP(t *testing.T) {
	s, ctx := setup(t)
	gzData, err := os.ReadFile(hour2015)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/2015-01-01-0.json.gz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(gzData)))
		_, _ = w.Write(gzData)
	}))
	t.Cleanup(srv.Close)

	stdin, err := os.Open(day2021)
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	sum := run(t, ctx, s, importer.Options{Stdin: stdin}, "-", srv.URL+"/2015-01-01-{0..1}.json.gz")
	if len(sum.Files) != 3 {
		t.Fatalf("%d files, want 3 (stdin and two URLs)", len(sum.Files))
	}
	if f := sum.Files[0]; f.Name != "-" || f.Stored != 800 {
		t.Errorf("stdin: %+v, want 800 stored", f)
	}
	if f := sum.Files[1]; f.Stored != 7702 || f.Err != nil || f.Bytes != int64(len(gzData)) || f.Size != int64(len(gzData)) {
		t.Errorf("URL hour 0: stored %d, err %v, read %d of %d bytes; want 7702 and all %d bytes", f.Stored, f.Err, f.Bytes, f.Size, len(gzData))
	}
	if f := sum.Files[2]; f.Err == nil || !strings.Contains(f.Err.Error(), "404") || !strings.HasSuffix(f.Name, "2015-01-01-1.json.gz") {
		t.Errorf("URL hour 1: %v, want a 404 error", f.Err)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != 8502 {
		t.Errorf("table holds %d, want 8502", got)
	}
}

func TestExpandRanges(t *testing.T) {
	t.Parallel()
	got, err := importer.ExpandRanges("https://x/2024-01-{01..02}-{0..2}.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://x/2024-01-01-0.json.gz", "https://x/2024-01-01-1.json.gz", "https://x/2024-01-01-2.json.gz",
		"https://x/2024-01-02-0.json.gz", "https://x/2024-01-02-1.json.gz", "https://x/2024-01-02-2.json.gz",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if got, _ := importer.ExpandRanges("plain.json"); !slices.Equal(got, []string{"plain.json"}) {
		t.Fatalf("no range: %v", got)
	}
	if _, err := importer.ExpandRanges("x-{5..2}"); err == nil {
		t.Fatal("{5..2} accepted")
	}
}

// The poller storing overlapping events while an import runs: each event
// ends up stored once, and the two report together exactly the events there.
func TestImportWhilePollerStores(t *testing.T) {
	s, ctx := setup(t)
	var dec github.Decoder
	var events []model.Event
	for _, l := range readLines(t, hour2015) {
		e, err := dec.Event(l)
		if err != nil {
			t.Fatal(err)
		}
		e.Raw = slices.Clone(e.Raw)
		events = append(events, e)
	}
	// The "poller" stores the events in shuffled pages of 100, as it would
	// store overlapping API pages, retrying a lost deadlock as it must.
	r := rand.New(rand.NewSource(2))
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	var pollerStored atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < len(events); i += 100 {
			page := events[i:min(i+100, len(events))]
			for {
				n, err := s.InsertEvents(ctx, page)
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.DeadlockDetected {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				pollerStored.Add(n)
				break
			}
		}
	})
	sum := run(t, ctx, s, importer.Options{BatchSize: 200, Jobs: 2}, hour2015)
	wg.Wait()
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != 7702 {
		t.Fatalf("table holds %d, want 7702", got)
	}
	if sum.Stored+pollerStored.Load() != 7702 || sum.Stored+sum.Duplicates != 7702 {
		t.Fatalf("import stored %d (duplicates %d), poller %d; want a total of 7702", sum.Stored, sum.Duplicates, pollerStored.Load())
	}
	t.Logf("import stored %d, poller %d", sum.Stored, pollerStored.Load())
}

// cancelAfter is a sink that cancels the import's context once n batches
// were stored: an interruption in the middle of a file.
type cancelAfter struct {
	importer.Sink
	n      int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelAfter) InsertEvents(ctx context.Context, events []model.Event) (int64, error) {
	n, err := c.Sink.InsertEvents(ctx, events)
	if c.calls.Add(1) == c.n {
		c.cancel()
	}
	return n, err
}

func TestImportInterruptedThenResumed(t *testing.T) {
	s, ctx := setup(t)
	runCtx, cancel := context.WithCancel(ctx)
	sink := &cancelAfter{Sink: s, n: 2, cancel: cancel}
	sum, err := importer.New(sink, importer.Options{BatchSize: 500, Jobs: 1, Log: testLog(t)}).Run(runCtx, []string{hour2015, day2021})
	if err != nil {
		t.Fatal(err)
	}
	f := sum.Files[0]
	if !sum.Interrupted || !f.Interrupted || f.Done < 1000 || f.Done >= 7702 || f.Done != f.Lines {
		t.Fatalf("interrupted import: %+v", f)
	}
	// Every line up to Done is stored, nothing after it; all lines of this
	// file are distinct events, so the count is Done.
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != f.Done || f.Stored != f.Done {
		t.Fatalf("after interruption the table holds %d, file stored %d; want %d (Done)", got, f.Stored, f.Done)
	}
	if g := sum.Files[1]; !g.Interrupted || g.Lines != 0 {
		t.Fatalf("second file should not have started: %+v", g)
	}

	// Running it again finishes the job, with no duplicate stored.
	sum2 := run(t, ctx, s, importer.Options{BatchSize: 500}, hour2015, day2021)
	if !sum2.Clean() || sum2.Stored != 7702-f.Done+800 || sum2.Duplicates != f.Done {
		t.Fatalf("resumed: stored %d, duplicates %d; want %d, %d", sum2.Stored, sum2.Duplicates, 7702-f.Done+800, f.Done)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != 8502 {
		t.Fatalf("table holds %d, want 8502", got)
	}
}

// flaky fails like an unreachable database on the calls it is told to.
type flaky struct {
	importer.Sink
	calls atomic.Int32
	fail  func(call int32) bool
}

func (f *flaky) InsertEvents(ctx context.Context, events []model.Event) (int64, error) {
	if f.fail(f.calls.Add(1)) {
		return 0, fmt.Errorf("insert: %w: connection refused", store.ErrUnavailable)
	}
	return f.Sink.InsertEvents(ctx, events)
}

func TestImportDatabaseDown(t *testing.T) {
	t.Run("back after retries", func(t *testing.T) {
		s, ctx := setup(t)
		// Calls 2 to 4 fail: the second batch is retried three times.
		sink := &flaky{Sink: s, fail: func(c int32) bool { return c >= 2 && c <= 4 }}
		sum := run(t, ctx, sink, importer.Options{BatchSize: 2000, Jobs: 1, RetryFor: 30 * time.Second}, hour2015)
		if !sum.Clean() || sum.Stored != 7702 || sum.Duplicates != 0 {
			t.Fatalf("stored %d, duplicates %d, clean %v; want 7702, 0, true", sum.Stored, sum.Duplicates, sum.Clean())
		}
		if c := sink.calls.Load(); c != 7 {
			t.Fatalf("%d calls, want 7 (4 batches + 3 retries)", c)
		}
		if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != 7702 {
			t.Fatalf("table holds %d, want 7702", got)
		}
	})
	t.Run("gone for good", func(t *testing.T) {
		s, ctx := setup(t)
		// The first batch goes in, then the database is gone.
		sink := &flaky{Sink: s, fail: func(c int32) bool { return c >= 2 }}
		start := time.Now()
		sum, err := importer.New(sink, importer.Options{BatchSize: 2000, Jobs: 1, RetryFor: 500 * time.Millisecond, Log: testLog(t)}).
			Run(ctx, []string{hour2015, day2021})
		if !errors.Is(err, importer.ErrStopped) || !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "lines 2001 to 4000") {
			t.Fatalf("err = %v; want ErrStopped wrapping ErrUnavailable, naming lines 2001 to 4000", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("gave up after %v, want about RetryFor", d)
		}
		f := sum.Files[0]
		if !sum.Interrupted || f.Done != 2000 || f.Stored != 2000 {
			t.Fatalf("file: done %d, stored %d, interrupted %v; want 2000, 2000, true", f.Done, f.Stored, f.Interrupted)
		}
		if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != 2000 {
			t.Fatalf("table holds %d, want 2000", got)
		}
	})
}
