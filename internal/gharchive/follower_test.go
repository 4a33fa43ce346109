package gharchive_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ghevents/ghevents/internal/gharchive"
	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

var h0 = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// hour is h0 plus n hours.
func hour(n int) time.Time { return h0.Add(time.Duration(n) * time.Hour) }

// realLines are the 7,702 lines of the real GH Archive hour 2015-01-01-0.
func realLines(t *testing.T) [][]byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(file), "../../testdata/github/gharchive-2015-01-01-0.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
	}
	if sc.Err() != nil || len(lines) != 7702 {
		t.Fatalf("read %d lines (%v), want 7702", len(lines), sc.Err())
	}
	return lines
}

// shifted returns line with created_at moved by d (GH Archive cuts its
// files by its crawler's clock, so a file holds events of two hours).
func shifted(t *testing.T, line []byte, d time.Duration) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	if err := json.Unmarshal(m["created_at"], &at); err != nil {
		t.Fatal(err)
	}
	m["created_at"], _ = json.Marshal(at.Add(d).UTC().Format(time.RFC3339))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gz(t *testing.T, lines [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range lines {
		zw.Write(l)
		zw.Write([]byte("\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// identity is an event's (id, created_at), worked out from its line.
type identity struct {
	ID        string
	CreatedAt time.Time
}

func identityOf(t *testing.T, line []byte) identity {
	t.Helper()
	var e struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		t.Fatal(err)
	}
	return identity{e.ID, e.CreatedAt.UTC()}
}

func identities(t *testing.T, lines ...[][]byte) map[identity]bool {
	t.Helper()
	m := map[identity]bool{}
	for _, ls := range lines {
		for _, l := range ls {
			m[identityOf(t, l)] = true
		}
	}
	return m
}

// clock is the fake clock of a test: Sleep moves it on at once, and ends
// the run (cancelling its context) instead of passing stop.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	stop   time.Time
	cancel context.CancelFunc
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	if !c.stop.IsZero() && c.now.Add(d).After(c.stop) {
		c.mu.Unlock()
		c.cancel()
		return context.Canceled
	}
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// file is one hour file of the fake GH Archive.
type file struct {
	body []byte
	// publishAt: 404 before it (fake clock); zero: published.
	publishAt time.Time
	// cut is how many of the first downloads stop in the middle;
	// corrupt serves a gzip file damaged in the middle, always.
	cut     int
	corrupt bool
	// onServe, when set, runs before the answer (a test interrupts there).
	onServe func()
}

// archive is a fake GH Archive serving files by name, 404 for the others.
type archive struct {
	srv   *httptest.Server
	clock *clock

	mu       sync.Mutex
	files    map[string]*file
	requests map[string]int // per file name, every answer
	served   map[string]int // per file name, whole files served
}

func newArchive(t *testing.T, c *clock) *archive {
	a := &archive{clock: c, files: map[string]*file{}, requests: map[string]int{}, served: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *archive) url() string { return a.srv.URL + "/" }

func (a *archive) put(h time.Time, f *file) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.files[strings.TrimPrefix(gharchive.FileURL("/", h), "/")] = f
}

func (a *archive) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	a.mu.Lock()
	a.requests[name]++
	f := a.files[name]
	n := a.requests[name]
	a.mu.Unlock()
	if f == nil || (!f.publishAt.IsZero() && a.clock.Now().Before(f.publishAt)) {
		http.NotFound(w, r)
		return
	}
	if f.onServe != nil {
		f.onServe()
	}
	body := f.body
	switch {
	case f.corrupt:
		body = slices.Clone(body)
		for i := len(body) / 2; i < len(body)/2+64; i++ {
			body[i] ^= 0x5a
		}
		w.Write(body)
		return
	case n <= f.cut:
		// Promise the whole file, send half: the client sees the
		// connection end early.
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
	a.mu.Lock()
	a.served[name]++
	a.mu.Unlock()
}

func (a *archive) counts(h time.Time) (requests, served int) {
	name := strings.TrimPrefix(gharchive.FileURL("/", h), "/")
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[name], a.served[name]
}

// logBuffer collects log lines (testkit.Buffer, safe for the follower's
// goroutines) and finds those of one message.
type logBuffer struct{ testkit.Buffer }

func (b *logBuffer) lines(msg string) []string {
	var out []string
	for l := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(l, `msg="`+msg+`"`) {
			out = append(out, l)
		}
	}
	return out
}

type env struct {
	t       *testing.T
	store   *store.Store
	clock   *clock
	archive *archive
	logs    *logBuffer
	metrics *gharchive.Metrics
}

func setup(t *testing.T, now time.Time) *env {
	t.Helper()
	t.Parallel()
	c := &clock{now: now}
	e := &env{t: t, store: store.New(testdb.New(t)), clock: c, archive: newArchive(t, c), logs: &logBuffer{},
		metrics: gharchive.NewMetrics(nil)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", e.logs.String())
		}
	})
	return e
}

// follow runs a follower until the fake clock would pass stop.
func (e *env) follow(stop time.Time, mod func(*gharchive.Config)) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.clock.mu.Lock()
	e.clock.stop, e.clock.cancel = stop, cancel
	e.clock.mu.Unlock()
	cfg := gharchive.Config{
		BaseURL: e.archive.url(), Since: h0, Store: e.store, Metrics: e.metrics,
		Log: slog.New(slog.NewTextHandler(e.logs, nil)), Now: e.clock.Now, Sleep: e.clock.Sleep,
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := gharchive.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := f.Run(ctx); err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		e.t.Fatal("the follower did not stop in time")
	}
}

// stored is every stored identity with its source.
func (e *env) stored() map[identity]string {
	e.t.Helper()
	rows, err := e.store.Pool().Query(context.Background(), `SELECT id::text, created_at, coalesce(source::text, '') FROM events`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	m := map[identity]string{}
	for rows.Next() {
		var id identity
		var src string
		if err := rows.Scan(&id.ID, &id.CreatedAt, &src); err != nil {
			e.t.Fatal(err)
		}
		id.CreatedAt = id.CreatedAt.UTC()
		m[id] = src
	}
	return m
}

// hoursOf is the state of the follower's hours: "done" or "gap".
func (e *env) hoursOf() map[time.Time]string {
	e.t.Helper()
	rows, err := e.store.Pool().Query(context.Background(), `SELECT hour, status FROM gharchive_hours WHERE base_url = $1`, e.archive.url())
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	m := map[time.Time]string{}
	for rows.Next() {
		var h time.Time
		var s string
		if err := rows.Scan(&h, &s); err != nil {
			e.t.Fatal(err)
		}
		m[h.UTC()] = s
	}
	return m
}

func ptr(n int64) *int64 { return &n }

// After polling part of two hours from the Events API, the follower
// imports the GH Archive files of both: every event of both sources is
// stored once, each with the source that had it first, and the coverage
// of each hour is what the sets give, worked out here from the lines.
func TestFollowThroughPolledHours(t *testing.T) {
	lines := realLines(t)
	e := setup(t, hour(2).Add(10*time.Minute))
	// File 0: the first 5,000 lines. File 1: the rest and the last 10 of
	// file 0 again (files overlap at their edges), 1,702 of them moved to
	// hour 1, and one line twice: a file of two hours.
	file0 := lines[:5000]
	var file1 [][]byte
	file1 = append(file1, lines[4990:6000]...)
	for _, l := range lines[6000:] {
		file1 = append(file1, shifted(t, l, time.Hour))
	}
	file1 = append(file1, lines[5000])
	e.archive.put(hour(0), &file{body: gz(t, file0)})
	e.archive.put(hour(1), &file{body: gz(t, file1)})

	// The poller saw 200 events of file 0, 100 of hour 0 that only file 1
	// has, 100 of hour 1, and one event GH Archive never had.
	var polled [][]byte
	polled = append(polled, lines[100:300]...)
	polled = append(polled, lines[5500:5600]...)
	polled = append(polled, file1[7000-4990:7100-4990]...)
	polled = append(polled, bytes.Replace(shifted(t, lines[0], time.Hour), []byte(`"id":"`), []byte(`"id":"9`), 1))
	var pages [][]byte
	for lo := 0; lo < len(polled); lo += 100 {
		pages = append(pages, append(append([]byte("["), bytes.Join(polled[lo:min(lo+100, len(polled))], []byte(","))...), ']'))
	}
	pollOnce(t, e.store, pages)
	wantPolled := identities(t, polled)
	if got := e.stored(); len(got) != 401 || len(wantPolled) != 401 {
		t.Fatalf("the poller stored %d events, want 401 (%d distinct polled)", len(got), len(wantPolled))
	}

	e.follow(hour(2).Add(59*time.Minute), nil)

	set0, set1 := identities(t, file0), identities(t, file1)
	if len(set0) != 5000 || len(set1) != 2712 {
		t.Fatalf("files hold %d and %d distinct events, want 5000 and 2712", len(set0), len(set1))
	}
	// Every event of both sources stored once, with the first source.
	want := map[identity]string{}
	for id := range wantPolled {
		want[id] = "firehose"
	}
	for _, set := range []map[identity]bool{set0, set1} {
		for id := range set {
			if _, ok := want[id]; !ok {
				want[id] = "archive"
			}
		}
	}
	got := e.stored()
	if len(got) != len(want) {
		t.Fatalf("%d events stored, want %d", len(got), len(want))
	}
	for id, src := range want {
		if got[id] != src {
			t.Fatalf("event %v: stored %q, want %q", id, got[id], src)
		}
	}

	// Coverage, worked out from the sets: events and polled by created_at,
	// the archive counts by file.
	inHour := func(set map[identity]string, h time.Time, src string) (n int64) {
		for id, s := range set {
			if id.CreatedAt.Truncate(time.Hour).Equal(h) && (src == "" || s == src) {
				n++
			}
		}
		return n
	}
	seenBefore := func(file map[identity]bool) (n int64) {
		for id := range file {
			if wantPolled[id] {
				n++
			}
		}
		return n
	}
	wantCov := []store.CoverageHour{
		{Hour: hour(0), Events: inHour(want, hour(0), ""), Polled: inHour(want, hour(0), "firehose"),
			ArchiveEvents: ptr(int64(len(set0))), SeenBeforeArchive: ptr(seenBefore(set0))},
		{Hour: hour(1), Events: inHour(want, hour(1), ""), Polled: inHour(want, hour(1), "firehose"),
			ArchiveEvents: ptr(int64(len(set1))), SeenBeforeArchive: ptr(seenBefore(set1))},
	}
	// The same by hand: hour 0 holds the 6,000 events first created in it,
	// 300 of them polled; hour 1 the 1,702 moved there and the one only
	// the poller had, 101 polled. File 0 had 200 polled events; file 1
	// 100 + 100 (its 10 events from file 0 were stored by the archive).
	if wantCov[0].Events != 6000 || wantCov[0].Polled != 300 || wantCov[1].Events != 1703 || wantCov[1].Polled != 101 ||
		*wantCov[0].SeenBeforeArchive != 200 || *wantCov[1].SeenBeforeArchive != 200 {
		t.Fatalf("the test's own counts are off: %+v %+v", wantCov[0], wantCov[1])
	}
	cov, total, err := e.store.Coverage(context.Background(), hour(0), nil, 2000)
	if err != nil || total != 2 || !coverageEqual(cov, wantCov) {
		t.Fatalf("Coverage = %s (total %d, %v)\nwant %s", fmtCov(cov), total, err, fmtCov(wantCov))
	}
	if st := e.hoursOf(); len(st) != 2 || st[hour(0)] != "done" || st[hour(1)] != "done" {
		t.Fatalf("follower state %v, want hours 0 and 1 done", st)
	}
	if got := testutil.ToFloat64(e.metrics.HoursImported); got != 2 {
		t.Errorf("hours imported %v, want 2", got)
	}
	// At 02:10 the newest hour that has ended is 01:00, imported: no lag.
	if got := testutil.ToFloat64(e.metrics.Lag); got != 0 {
		t.Errorf("lag %v s, want 0", got)
	}
	if s := e.metrics.Status(); !strings.Contains(s, "waiting for 2015-01-01T02:00:00Z to end") || !strings.Contains(s, "2 hours imported, 0 gaps") {
		t.Errorf("status %q", s)
	}
}

func coverageEqual(a, b []store.CoverageHour) bool {
	return slices.EqualFunc(a, b, func(x, y store.CoverageHour) bool {
		eq := func(p, q *int64) bool { return (p == nil) == (q == nil) && (p == nil || *p == *q) }
		return x.Hour.Equal(y.Hour) && x.Events == y.Events && x.Polled == y.Polled &&
			eq(x.ArchiveEvents, y.ArchiveEvents) && eq(x.SeenBeforeArchive, y.SeenBeforeArchive)
	})
}

func fmtCov(hs []store.CoverageHour) string {
	var b strings.Builder
	for _, h := range hs {
		v := func(p *int64) string {
			if p == nil {
				return "null"
			}
			return fmt.Sprint(*p)
		}
		fmt.Fprintf(&b, "\n  %s events=%d polled=%d archive=%s seen=%s", h.Hour.Format(time.RFC3339), h.Events, h.Polled,
			v(h.ArchiveEvents), v(h.SeenBeforeArchive))
	}
	return b.String()
}

// pollOnce runs one polling round of the firehose over a fake GitHub
// serving pages.
func pollOnce(t *testing.T, s *store.Store, pages [][]byte) {
	t.Helper()
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	client, err := github.NewClient(github.ClientConfig{EventsURL: *srv.EventsURL(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := poller.New(poller.Config{Client: client, Store: s,
		Sleep: func(context.Context, poller.Wait) error { cancel(); return context.Canceled }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// A mirror lacking a long stretch, an hour published late, a download cut
// short, a corrupt file: the follower crosses the stretch at once (one
// request per hour, one log line for the whole run of gaps), waits for
// the hour not published yet, downloads the cut file again, records the
// corrupt one as a gap after three downloads, and fills a gap on its daily
// retry.
func TestFollowGapsAndBadFiles(t *testing.T) {
	lines := realLines(t)
	// The clock starts 48 hours after hour 0: hours 0 to 23 are older than
	// GHARCHIVE_GAP_AFTER (24h) after their end, hours 24 to 46 are not.
	e := setup(t, hour(48))
	part := func(i int) [][]byte { return lines[i*300 : (i+1)*300] }
	e.archive.put(hour(0), &file{body: gz(t, part(0))})
	// Hours 1 to 19 missing; hour 10 appears 12 hours from the start, and
	// is found by the daily retry.
	e.archive.put(hour(10), &file{body: gz(t, part(10)), publishAt: hour(60)})
	e.archive.put(hour(20), &file{body: gz(t, part(20)), cut: 1})
	e.archive.put(hour(21), &file{body: gz(t, part(21)), corrupt: true})
	e.archive.put(hour(22), &file{body: gz(t, part(22))})
	// Hours 23 to 46 missing, except 30, published 3 hours late (at 34:00).
	e.archive.put(hour(30), &file{body: gz(t, part(23)), publishAt: hour(34)})

	// Run until 95:00 of the fake clock.
	e.follow(hour(95), nil)

	st := e.hoursOf()
	wantDone := []int{0, 10, 20, 22, 30}
	for h := 0; h <= 70; h++ { // every hour whose gap deadline (its end + 24h) passed is settled
		want := "gap"
		if slices.Contains(wantDone, h) {
			want = "done"
		}
		if st[hour(h)] != want {
			t.Errorf("hour %d: %q, want %q", h, st[hour(h)], want)
		}
	}
	// Each file served whole once; the cut one downloaded twice, the
	// corrupt one three times, and three again on its daily retry; a
	// missing hour older than the gap deadline asked once, and once more
	// on its daily retry.
	for _, c := range []struct{ h, requests, served int }{
		{0, 1, 1}, {20, 2, 1}, {21, 6, 0}, {22, 1, 1}, {5, 2, 0},
	} {
		if r, s := e.archive.counts(hour(c.h)); r != c.requests || s != c.served {
			t.Errorf("hour %d: %d requests, %d served whole; want %d, %d", c.h, r, s, c.requests, c.served)
		}
	}
	if _, s := e.archive.counts(hour(10)); s != 1 {
		t.Errorf("hour 10 served %d times, want 1 (on the daily retry)", s)
	}
	if _, s := e.archive.counts(hour(30)); s != 1 {
		t.Errorf("hour 30 served %d times, want 1", s)
	}
	// The five files are stored whole; of the corrupt one, the lines
	// before the damage (real events) are stored too, nothing else.
	stored := e.stored()
	whole := identities(t, part(0), part(10), part(20), part(22), part(23))
	corrupt := identities(t, part(21))
	var fromCorrupt int
	for id := range stored {
		switch {
		case whole[id]:
		case corrupt[id]:
			fromCorrupt++
		default:
			t.Errorf("stored %v, in no file", id)
		}
	}
	for id := range whole {
		if _, ok := stored[id]; !ok {
			t.Errorf("event %v not stored", id)
		}
	}
	if fromCorrupt == 0 || fromCorrupt >= 300 {
		t.Errorf("%d events of the corrupt file stored, want its intact beginning", fromCorrupt)
	}
	// Every event the follower stored is counted once: the first part of
	// the cut file (stored before the cut, not again on the second
	// download) and the corrupt file's intact beginning too.
	if got := testutil.ToFloat64(e.metrics.EventsStored); got != float64(len(stored)) {
		t.Errorf("events stored counted %v, want %d (the rows in events)", got, len(stored))
	}
	// Runs of gaps, one line each: 1-19, 21, 23-29, 31-..., logged when
	// the run ends (or the follower stops).
	gaps := e.logs.lines("GH Archive hours missing: recorded as gaps, tried again once a day")
	wantRuns := []string{
		"from=2015-01-01T01:00:00.000Z to=2015-01-01T19:00:00.000Z hours=19",
		"from=2015-01-01T21:00:00.000Z to=2015-01-01T21:00:00.000Z hours=1",
		"from=2015-01-01T23:00:00.000Z to=2015-01-02T05:00:00.000Z hours=7",
	}
	if len(gaps) != 4 {
		t.Errorf("%d gap lines, want 4:\n%s", len(gaps), strings.Join(gaps, "\n"))
	}
	for i, w := range wantRuns {
		if i >= len(gaps) || !strings.Contains(gaps[i], w) {
			t.Errorf("gap line %d: want %s", i, w)
		}
	}
	if got := testutil.ToFloat64(e.metrics.HoursImported); got != 5 {
		t.Errorf("hours imported %v, want 5", got)
	}
	if got, want := testutil.ToFloat64(e.metrics.Gaps), float64(len(st)-5+1); got != want {
		// hour 10 was a gap first, then filled
		t.Errorf("gaps counted %v, want %v", got, want)
	}
	if got := testutil.ToFloat64(e.metrics.Retries.WithLabelValues("bad_download")); got != 5 {
		t.Errorf("bad_download retries %v, want 5 (one for hour 20, two and two for hour 21)", got)
	}
}

// A follower stopped in the middle of an hour's file goes on, after a
// restart, with that hour from its start: no hour is imported twice, none
// is skipped.
func TestRestartMidCatchUp(t *testing.T) {
	lines := realLines(t)
	e := setup(t, hour(10).Add(5*time.Minute))
	for h := range 10 {
		e.archive.put(hour(h), &file{body: gz(t, lines[h*700:(h+1)*700])})
	}
	// The first run stops while hour 4 is being served.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	e.archive.files[strings.TrimPrefix(gharchive.FileURL("/", hour(4)), "/")].onServe = func() {
		once.Do(func() {
			cancel()
			time.Sleep(50 * time.Millisecond)
		})
	}
	f, err := gharchive.New(gharchive.Config{BaseURL: e.archive.url(), Since: h0, Store: e.store, Metrics: e.metrics,
		Log: slog.New(slog.NewTextHandler(e.logs, nil)), Now: e.clock.Now, Sleep: e.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	first := e.hoursOf()
	if len(first) != 4 {
		t.Fatalf("after the first run %d hours are done, want 4 (0 to 3): %v", len(first), first)
	}

	e.follow(hour(11), nil)
	st := e.hoursOf()
	for h := range 10 {
		if st[hour(h)] != "done" {
			t.Errorf("hour %d: %q, want done", h, st[hour(h)])
		}
		wantReq := 1
		if h == 4 {
			wantReq = 2 // interrupted, then redone
		}
		if r, _ := e.archive.counts(hour(h)); r != wantReq {
			t.Errorf("hour %d requested %d times, want %d", h, r, wantReq)
		}
	}
	if got := testutil.ToFloat64(e.metrics.HoursImported); got != 10 {
		t.Errorf("hours imported %v over both runs, want 10", got)
	}
	if got := e.stored(); len(got) != 7000 {
		t.Errorf("%d events stored, want 7000", len(got))
	}
	var n int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM gharchive_hours WHERE archive_events = 700 AND seen_before_archive = 0`).Scan(&n); err != nil || n != 10 {
		t.Errorf("%d hours record 700 events, none seen before (%v); want 10", n, err)
	}
}

// With RETENTION, hours older than the limit are never fetched, even when
// GHARCHIVE_SINCE names them.
func TestFollowRespectsRetention(t *testing.T) {
	lines := realLines(t)
	e := setup(t, hour(5).Add(30*time.Minute))
	for h := range 5 {
		e.archive.put(hour(h), &file{body: gz(t, lines[h*10:(h+1)*10])})
	}
	// now - 3h = 02:30: hours from 03:00 on.
	e.follow(hour(6), func(c *gharchive.Config) { c.Retention = 3 * time.Hour })
	st := e.hoursOf()
	if len(st) != 2 || st[hour(3)] != "done" || st[hour(4)] != "done" {
		t.Errorf("hours %v, want 3 and 4 done", st)
	}
	for h := range 3 {
		if r, _ := e.archive.counts(hour(h)); r != 0 {
			t.Errorf("hour %d older than the retention limit requested %d times", h, r)
		}
	}
}

// GHARCHIVE_PAYLOAD: the raw JSON of the followed events is kept only when
// asked for (it is most of the size of a day of events).
func TestFollowPayload(t *testing.T) {
	t.Parallel()
	lines := realLines(t)[:10]
	for _, payload := range []bool{false, true} {
		t.Run(fmt.Sprintf("payload=%v", payload), func(t *testing.T) {
			e := setup(t, hour(1).Add(30*time.Minute))
			e.archive.put(hour(0), &file{body: gz(t, lines)})
			e.follow(hour(2), func(c *gharchive.Config) { c.Payload = payload })
			var n, withRaw, sameRaw int
			err := e.store.Pool().QueryRow(context.Background(),
				`SELECT count(*), count(e.raw), count(*) FILTER (WHERE e.raw = l.line::jsonb)
				 FROM events e JOIN (SELECT unnest($1::text[]) AS line) l ON e.id = (l.line::jsonb->>'id')::bigint`,
				func() []string {
					out := make([]string, len(lines))
					for i, l := range lines {
						out[i] = string(l)
					}
					return out
				}()).Scan(&n, &withRaw, &sameRaw)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if payload {
				want = len(lines)
			}
			if n != len(lines) || withRaw != want || sameRaw != want {
				t.Errorf("%d events stored, %d with their raw JSON, %d equal to their line; want %d, %d, %d", n, withRaw, sameRaw, len(lines), want, want)
			}
		})
	}
}
