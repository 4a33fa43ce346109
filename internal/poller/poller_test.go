package poller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// token is what the tests use as GITHUB_TOKEN; it must never be logged.
const token = "ghp_SeCrEtT0kenForTests0123456789abcdef"

// t0 is when every test starts, on the fake clock.
var t0 = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is the fake clock: Sleep records the wait and moves time forward
// at once. The insert workers' retry waits are neither recorded nor
// counted: they sleep a few real milliseconds.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	waits  []poller.Wait
	onWait func(n int, w poller.Wait)
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Sleep(ctx context.Context, w poller.Wait) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.Why == poller.WhyDBRetry {
		select {
		case <-time.After(10 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.waits = append(c.waits, w)
	c.now = c.now.Add(w.D)
	n, hook := len(c.waits), c.onWait
	c.mu.Unlock()
	if hook != nil {
		hook(n, w)
	}
	return ctx.Err()
}

func (c *clock) Waits() []poller.Wait {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// logBuffer collects log lines from several goroutines.
type logBuffer struct{ testkit.Buffer }

// Lines returns the lines whose message is msg.
func (b *logBuffer) Lines(msg string) []string {
	var out []string
	for line := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(line, " msg="+fmt.Sprintf("%q", msg)+" ") || strings.Contains(line, " msg="+msg+" ") {
			out = append(out, line)
		}
	}
	return out
}

// env is one test's world: a fake GitHub, a fake clock, a database.
type env struct {
	t     *testing.T
	srv   *githubtest.Server
	clock *clock
	pool  *pgxpool.Pool
	store *store.Store
	logs  *logBuffer
	log   *slog.Logger
	token string
}

func setup(t *testing.T, opts githubtest.Options) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, clock: &clock{now: t0}, logs: &logBuffer{}, token: token}
	opts.Now = e.clock.Now
	e.srv = githubtest.NewServer(t, opts)
	e.pool = testdb.New(t)
	e.store = store.New(e.pool)
	// No time attribute, so that lines compare exactly.
	e.log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("POLLER_TEST_LOGS") != "" {
			t.Logf("poller log:\n%s", e.logs.String())
		}
	})
	return e
}

// config is the poller configuration of the test, before mod.
func (e *env) config(mod ...func(*poller.Config, *github.ClientConfig)) poller.Config {
	cc := github.ClientConfig{EventsURL: *e.srv.EventsURL(), Token: e.token, Version: "9.9.9-test", Timeout: 5 * time.Second}
	cfg := poller.Config{
		Store:         e.store,
		Logger:        e.log,
		Workers:       2,
		QueueSize:     100,
		Interval:      time.Minute,
		ShutdownGrace: 10 * time.Second,
		Now:           e.clock.Now,
		Sleep:         e.clock.Sleep,
		Rand:          func() float64 { return 1 },
	}
	for _, m := range mod {
		m(&cfg, &cc)
	}
	c, err := github.NewClient(cc)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Client = c
	return cfg
}

// run runs a poller until the fake clock has recorded stopAfter waits (the
// hook, if any, is called on each wait first), and returns Run's error.
func (e *env) run(cfg poller.Config, stopAfter int, hook func(n int, w poller.Wait)) (*poller.Poller, error) {
	e.t.Helper()
	p, err := poller.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.clock.mu.Lock()
	base := len(e.clock.waits)
	e.clock.onWait = func(n int, w poller.Wait) {
		if hook != nil {
			hook(n-base, w)
		}
		if n-base >= stopAfter {
			cancel()
		}
	}
	e.clock.mu.Unlock()
	err = p.Run(ctx)
	if ctx.Err() == context.DeadlineExceeded {
		e.t.Fatalf("the poller did not stop within a minute; waits so far: %v", e.clock.Waits())
	}
	return p, err
}

// stored is the identities of the events in the database (rows per
// identity), and the row count.
func (e *env) stored() (map[githubtest.Identity]int, int) {
	e.t.Helper()
	return githubtest.StoredIdentities(e.t, e.pool)
}

// assertStored checks that the database holds exactly want, each once.
func (e *env) assertStored(want map[githubtest.Identity]bool) {
	e.t.Helper()
	got, rows := e.stored()
	if rows != len(want) || len(got) != len(want) {
		e.t.Errorf("events table holds %d rows, %d distinct; want %d", rows, len(got), len(want))
	}
	missing, extra := githubtest.Compare(want, got)
	if missing > 0 || extra > 0 {
		e.t.Errorf("stored events differ from those served: %d missing, %d not served", missing, extra)
	}
}

// assertNoToken checks that the token is in no log line.
func (e *env) assertNoToken() {
	e.t.Helper()
	logs := e.logs.String()
	if strings.Contains(logs, e.token) || strings.Contains(logs, "SeCrEt") {
		e.t.Errorf("the token appears in the logs")
	}
	if logs == "" {
		e.t.Errorf("no log output captured: the token check proves nothing")
	}
}

func assertWaits(t *testing.T, got, want []poller.Wait) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("waits = %v\nwant    %v", got, want)
	}
}

// distinct computes the identities served, independently of the decoder.
func distinct(t *testing.T, pages ...[]byte) map[githubtest.Identity]bool {
	t.Helper()
	ids, _ := githubtest.Identities(t, pages...)
	return ids
}

// createdRange is the oldest and newest created_at in pages.
func createdRange(t *testing.T, pages ...[]byte) (oldest, newest time.Time) {
	t.Helper()
	for _, p := range pages {
		var events []struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(p, &events); err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if oldest.IsZero() || e.CreatedAt.Before(oldest) {
				oldest = e.CreatedAt
			}
			if e.CreatedAt.After(newest) {
				newest = e.CreatedAt
			}
		}
	}
	return oldest.UTC(), newest.UTC()
}

func TestPollStoresEveryDistinctEventOnce(t *testing.T) {
	pages := githubtest.AllPages(t)
	e := setup(t, githubtest.Options{Pages: pages})
	p, err := e.run(e.config(), 1, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	want, total := githubtest.Identities(t, pages...)
	if total != 508 || len(want) != 382 {
		t.Fatalf("served %d events, %d distinct; the recorded data has 508 and 382", total, len(want))
	}
	e.assertStored(want)
	var firehose int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE source = 'firehose'`).Scan(&firehose); err != nil || firehose != 382 {
		t.Errorf("events with source firehose: %d (%v), want 382", firehose, err)
	}
	// 18 pages of 5,000 an hour: 3,601 s / (4,982 / 18) rounds = 13 s, under the minute.
	assertWaits(t, e.clock.Waits(), []poller.Wait{{D: time.Minute, Why: poller.WhyPollInterval}})

	reqs := e.srv.Requests()
	if len(reqs) != 18 {
		t.Fatalf("%d requests, want 18 (one per page)", len(reqs))
	}
	for i, r := range reqs {
		wantURL := "/events?per_page=100"
		if i > 0 {
			wantURL = fmt.Sprintf("/events?page=%d&per_page=100", i+1)
		}
		if r.URL != wantURL || r.Status != 200 {
			t.Errorf("request %d: %s → %d; want %s → 200", i+1, r.URL, r.Status, wantURL)
		}
		for k, v := range map[string]string{
			"User-Agent": "ghevents/9.9.9-test", "Accept": "application/vnd.github+json",
			"X-GitHub-Api-Version": "2022-11-28", "Authorization": "Bearer " + token, "If-None-Match": "",
		} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i+1, k, got, v)
			}
		}
	}

	m := read(poller.MetricsOf(p))
	if m.Rounds != 1 || m.PagesFetched != 18 || m.PagesStored != 18 || m.EventsReceived != 508 ||
		m.EventsStored != 382 || m.Duplicates != 126 || m.BadEvents != 0 || m.RefusedEvents != 0 ||
		m.ProbableGaps != 0 || m.RateRemaining != 4982 || m.RateLimit != 5000 || m.QueueDepth != 0 ||
		!m.RateReset.Equal(t0.Add(time.Hour)) || m.LastWait != time.Minute || !m.LastRound.Equal(t0.Add(time.Minute)) ||
		len(m.Requests) != 1 || m.Requests[200] != 18 {
		t.Errorf("metrics = %+v", m)
	}

	rounds := e.logs.Lines("poll round")
	wantLine := `level=INFO msg="poll round" round=1 pages=18 events=508 stored=382 duplicates=126 bad=0 overlap=0 not_modified=false ended_by="last page" wait=1m0s why=poll-interval pace="kept: no previous round to compare with" rate.remaining=4982 rate.limit=5000 rate.reset=2024-06-01T13:00:00.000Z`
	if len(rounds) != 1 || rounds[0] != wantLine {
		t.Errorf("round lines:\n%s\nwant\n%s", strings.Join(rounds, "\n"), wantLine)
	}
	e.assertNoToken()

	// The state a restart needs is in the database.
	_, newest := createdRange(t, pages...)
	st, ok, err := e.store.PollerState(context.Background(), e.srv.EventsURL().String())
	wantSt := store.PollerState{Feed: e.srv.EventsURL().String(), ETag: githubtest.ETag(pages[0]),
		RoundAt: t0, NextRoundAt: t0.Add(time.Minute), NewestEventAt: newest}
	if err != nil || !ok || st != wantSt {
		t.Errorf("poller state = %+v (%v, %v)\nwant %+v", st, ok, err, wantSt)
	}
}

func TestConditionalRequestsAndPace(t *testing.T) {
	pages := githubtest.EventsPages(t)[:3]
	e := setup(t, githubtest.Options{Pages: pages})
	p, err := e.run(e.config(), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Round 1 has nothing to compare with; each 304 lengthens the pace by half.
	assertWaits(t, e.clock.Waits(), []poller.Wait{
		{D: time.Minute, Why: poller.WhyPollInterval},
		{D: 90 * time.Second, Why: poller.WhyPace},
		{D: 135 * time.Second, Why: poller.WhyPace},
	})
	reqs := e.srv.Requests()
	var statuses []int
	for _, r := range reqs {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []int{200, 200, 200, 304, 304}) {
		t.Fatalf("statuses %v, want [200 200 200 304 304]", statuses)
	}
	etag := githubtest.ETag(pages[0])
	for i, r := range reqs {
		want := ""
		if i >= 3 {
			want = etag
		}
		if got := r.Header.Get("If-None-Match"); got != want {
			t.Errorf("request %d: If-None-Match %q, want %q", i+1, got, want)
		}
	}
	e.assertStored(distinct(t, pages...))
	m := read(poller.MetricsOf(p))
	if m.Rounds != 3 || m.RoundsNotModified != 2 || m.Requests[200] != 3 || m.Requests[304] != 2 || m.EventsStored != 60 || m.Duplicates != 30 {
		t.Errorf("metrics = %+v", m)
	}
	// Lines come when a round's pages are stored: round 1's may come last.
	rounds := e.logs.Lines("poll round")
	want2 := `level=INFO msg="poll round" round=2 pages=0 events=0 stored=0 duplicates=0 bad=0 overlap=0 not_modified=true ended_by="not modified" wait=1m30s why=pace pace="lengthened: nothing new (304)" rate.remaining=4997 rate.limit=5000 rate.reset=2024-06-01T13:00:00.000Z`
	if len(rounds) != 3 || !slices.Contains(rounds, want2) {
		t.Errorf("round lines:\n%s\nwant among them\n%s", strings.Join(rounds, "\n"), want2)
	}
	e.assertNoToken()
}

func TestStateSurvivesRestart(t *testing.T) {
	pages := githubtest.EventsPages(t)[:3]
	e := setup(t, githubtest.Options{Pages: pages})
	// The two pollers share their counters, as successive pollers of one process do.
	shared := poller.NewMetrics(nil)
	withShared := func(c *poller.Config, _ *github.ClientConfig) { c.Metrics = shared }
	if _, err := e.run(e.config(withShared), 1, nil); err != nil {
		t.Fatal(err)
	}
	// The process restarts 20 s after round 1 began; round 2 was planned for 60 s.
	e.clock.Set(t0.Add(20 * time.Second))
	p, err := e.run(e.config(withShared), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertWaits(t, e.clock.Waits(), []poller.Wait{
		{D: time.Minute, Why: poller.WhyPollInterval},
		{D: 40 * time.Second, Why: poller.WhyResume},
		{D: time.Minute, Why: poller.WhyPollInterval}, // a fresh pace: a 304 lengthens nothing yet
	})
	reqs := e.srv.Requests()
	if len(reqs) != 4 || reqs[3].Status != 304 || reqs[3].Header.Get("If-None-Match") != githubtest.ETag(pages[0]) {
		t.Fatalf("after the restart: %d requests, last %+v; want a 304 to the saved ETag", len(reqs), reqs[len(reqs)-1])
	}
	if m := read(poller.MetricsOf(p)); poller.MetricsOf(p) != shared || m.Rounds != 2 || m.RoundsNotModified != 1 || m.Requests[200] != 3 || m.Requests[304] != 1 {
		t.Errorf("counters after both pollers: %+v", m)
	}
	e.assertStored(distinct(t, pages...))
}

// replaceID gives the index-th event of page a new "id" value (raw JSON).
func replaceID(t *testing.T, page []byte, index int, id string) []byte {
	t.Helper()
	var events []map[string]json.RawMessage
	if err := json.Unmarshal(page, &events); err != nil {
		t.Fatal(err)
	}
	events[index]["id"] = json.RawMessage(id)
	b, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// identityAt is the identity of the index-th event of page.
func identityAt(t *testing.T, page []byte, index int) githubtest.Identity {
	t.Helper()
	var events []struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(page, &events); err != nil {
		t.Fatal(err)
	}
	return githubtest.Identity{ID: events[index].ID, CreatedAt: events[index].CreatedAt}
}

func TestWaitsAndFaults(t *testing.T) {
	t.Parallel()
	three := githubtest.EventsPages(t)[:3]
	type scenario struct {
		name string
		// opts are the fake's options (Pages default to three).
		opts   githubtest.Options
		noAuth bool
		mod    func(*poller.Config, *github.ClientConfig)
		// prepare scripts the fake before the run.
		prepare func(e *env)
		waits   []poller.Wait
		// stored are the pages whose events must be stored (default: all
		// served), less the identities in unstored.
		stored   [][]byte
		unstored []githubtest.Identity
		statuses []int
		check    func(t *testing.T, e *env, m snapshot)
	}
	badID := replaceID(t, three[0], 5, `"12ab"`)
	cases := []scenario{
		{
			name:  "X-Poll-Interval above POLL_INTERVAL",
			mod:   func(c *poller.Config, _ *github.ClientConfig) { c.Interval = 10 * time.Second },
			waits: []poller.Wait{{D: time.Minute, Why: poller.WhyXPollInterval}},
		},
		{
			name:  "POLL_INTERVAL above X-Poll-Interval",
			mod:   func(c *poller.Config, _ *github.ClientConfig) { c.Interval = 90 * time.Second },
			waits: []poller.Wait{{D: 90 * time.Second, Why: poller.WhyPollInterval}},
		},
		{
			// 4,997 requests left for 3,601 s at 3 a round: one round per
			// 3 × 3,601 / 4,997 s spends them by the reset.
			name:  "no X-Poll-Interval: the rate limit sets the pace",
			opts:  githubtest.Options{PollInterval: -1},
			mod:   func(c *poller.Config, _ *github.ClientConfig) { c.Interval = time.Second },
			waits: []poller.Wait{{D: 3 * 3601 * time.Second / 4997, Why: poller.WhyRateLimit}},
		},
		{
			// Without a token: 57 requests left, 19 rounds of 3 until the reset.
			name:   "no token: 60 requests an hour",
			noAuth: true,
			waits:  []poller.Wait{{D: 3601 * time.Second / 19, Why: poller.WhyRateLimit}},
			check: func(t *testing.T, e *env, m snapshot) {
				for _, r := range e.srv.Requests() {
					if _, ok := r.Header["Authorization"]; ok {
						t.Errorf("Authorization sent without a token")
					}
				}
				if m.RateLimit != 60 || m.RateRemaining != 57 {
					t.Errorf("rate %d/%d, want 60/57", m.RateRemaining, m.RateLimit)
				}
			},
		},
		{
			name:    "x-ratelimit-remaining 0 with the reset a second ahead",
			opts:    githubtest.Options{PollInterval: -1},
			mod:     func(c *poller.Config, _ *github.ClientConfig) { c.Interval = time.Second },
			prepare: func(e *env) { e.srv.SetRateLimit(3, t0.Add(time.Second)) },
			waits:   []poller.Wait{{D: 2 * time.Second, Why: poller.WhyRateLimit}},
		},
		{
			name:    "rate limit exhausted mid-round: wait for the reset, then a full round",
			opts:    githubtest.Options{PollInterval: -1},
			mod:     func(c *poller.Config, _ *github.ClientConfig) { c.Interval = time.Second },
			prepare: func(e *env) { e.srv.SetRateLimit(2, t0.Add(10*time.Second)) },
			// Round 1 stops after page 2 (no request left); round 2, after the
			// reset, reads 3 pages: 57 left for an hour is 19 rounds.
			waits:    []poller.Wait{{D: 11 * time.Second, Why: poller.WhyRateLimit}, {D: 3601 * time.Second / 19, Why: poller.WhyRateLimit}},
			statuses: []int{200, 200, 200, 200, 200},
		},
		{
			name: "an answer saying nothing is left: no request before the reset",
			prepare: func(e *env) {
				e.srv.Push(githubtest.Reply{Page: 1, Status: 500, Header: map[string]string{
					"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(t0.Add(100 * time.Second).Unix())}})
			},
			waits: []poller.Wait{{D: time.Second, Why: "backoff"}, {D: 100 * time.Second, Why: poller.WhyRateLimit},
				{D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{500, 200, 200, 200},
		},
		{
			name:     "403 with Retry-After on page 1",
			prepare:  func(e *env) { e.srv.Push(githubtest.RetryAfter(1, 403, "30")) },
			waits:    []poller.Wait{{D: 30 * time.Second, Why: "retry-after"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{403, 200, 200, 200},
			check: func(t *testing.T, e *env, m snapshot) {
				if m.RoundsFailed != 1 || m.Rounds != 1 || m.Requests[403] != 1 || m.Requests[200] != 3 {
					t.Errorf("metrics %+v", m)
				}
			},
		},
		{
			name:     "429 with Retry-After on page 2",
			prepare:  func(e *env) { e.srv.Push(githubtest.RetryAfter(2, 429, "45")) },
			waits:    []poller.Wait{{D: 45 * time.Second, Why: "retry-after"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{200, 429, 200, 200},
		},
		{
			name:     "secondary rate limit without Retry-After, twice",
			prepare:  func(e *env) { e.srv.Push(githubtest.SecondaryLimit(1), githubtest.SecondaryLimit(1)) },
			waits:    []poller.Wait{{D: time.Minute, Why: "secondary-rate-limit"}, {D: 2 * time.Minute, Why: "secondary-rate-limit"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{403, 403, 200, 200, 200},
		},
		{
			name:     "500 twice then 200 on page 2",
			prepare:  func(e *env) { e.srv.Push(githubtest.ServerError(2), githubtest.ServerError(2)) },
			waits:    []poller.Wait{{D: time.Second, Why: "backoff"}, {D: 2 * time.Second, Why: "backoff"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{200, 500, 500, 200, 200},
		},
		{
			name: "500 three times on page 2 ends the round early; the next one starts afresh",
			prepare: func(e *env) {
				e.srv.Push(githubtest.ServerError(2), githubtest.ServerError(2), githubtest.ServerError(2))
			},
			// Round 2 overlaps round 1's page 1 completely: the pace lengthens.
			waits: []poller.Wait{{D: time.Second, Why: "backoff"}, {D: 2 * time.Second, Why: "backoff"},
				{D: time.Minute, Why: poller.WhyPollInterval}, {D: 90 * time.Second, Why: poller.WhyPace}},
			statuses: []int{200, 500, 500, 500, 200, 200, 200},
			check: func(t *testing.T, e *env, m snapshot) {
				// The cut-short round's ETag is not trusted.
				if r := e.srv.Requests()[4]; r.Header.Get("If-None-Match") != "" {
					t.Errorf("round 2 sent If-None-Match %q after an incomplete round", r.Header.Get("If-None-Match"))
				}
			},
		},
		{
			name:     "422 on page 4 ends the round normally",
			opts:     githubtest.Options{Pages: githubtest.EventsPages(t), MaxPages: 3},
			waits:    []poller.Wait{{D: time.Minute, Why: poller.WhyPollInterval}},
			stored:   three,
			statuses: []int{200, 200, 200, 422},
			check: func(t *testing.T, e *env, m snapshot) {
				if l := e.logs.Lines("poll round"); len(l) != 1 || !strings.Contains(l[0], `ended_by="pagination limit at page 4"`) {
					t.Errorf("round line %q", l)
				}
				if m.RoundsFailed != 0 || m.EventsStored != 60 {
					t.Errorf("metrics %+v", m)
				}
			},
		},
		{
			name:     "a 200 whose body is not JSON",
			prepare:  func(e *env) { e.srv.Push(githubtest.NotJSON(2)) },
			waits:    []poller.Wait{{D: time.Second, Why: "backoff"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{200, 200, 200, 200},
			check: func(t *testing.T, e *env, m snapshot) {
				if m.BadPages != 1 || m.PagesFetched != 3 {
					t.Errorf("bad pages %d, pages %d; want 1, 3", m.BadPages, m.PagesFetched)
				}
				if !strings.Contains(e.logs.String(), "page body is not JSON") {
					t.Errorf("the reason is not logged")
				}
			},
		},
		{
			name:     "an event whose id is not a number",
			opts:     githubtest.Options{Pages: [][]byte{badID, three[1], three[2]}},
			waits:    []poller.Wait{{D: time.Minute, Why: poller.WhyPollInterval}},
			stored:   three, // as recorded: all but the event whose id was replaced
			unstored: []githubtest.Identity{identityAt(t, three[0], 5)},
			check: func(t *testing.T, e *env, m snapshot) {
				if m.BadEvents != 1 || m.EventsReceived != 89 || m.EventsStored != 59 {
					t.Errorf("metrics %+v", m)
				}
				if l := e.logs.Lines("bad event skipped"); len(l) != 1 || !strings.Contains(l[0], `page=1 index=5 id=12ab reason="id \"12ab\" is not a positive 64-bit number"`) {
					t.Errorf("bad event lines %q", l)
				}
			},
		},
		{
			name:     "an answer slower than the client timeout",
			mod:      func(_ *poller.Config, cc *github.ClientConfig) { cc.Timeout = 200 * time.Millisecond },
			prepare:  func(e *env) { e.srv.Push(githubtest.Slow(1, 3*time.Second)) },
			waits:    []poller.Wait{{D: time.Second, Why: "backoff"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{0, 200, 200, 200},
			check: func(t *testing.T, e *env, m snapshot) {
				if m.Requests[0] != 1 || m.RoundsFailed != 1 {
					t.Errorf("metrics %+v", m)
				}
			},
		},
		{
			name: "absurd headers fall back to sane waits",
			prepare: func(e *env) {
				e.srv.Push(
					githubtest.RetryAfter(1, 403, "-5"),                   // ignored: a secondary limit
					githubtest.RetryAfter(1, 429, "99999999999999999999"), // capped at an hour
					githubtest.Reply{Page: 1, Status: 403, Header: map[string]string{ // reset in the past
						"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}},
					githubtest.Reply{Page: 1, Status: 403, Header: map[string]string{ // nonsense everywhere
						"Retry-After": "soon", "X-RateLimit-Remaining": "-3", "X-RateLimit-Reset": "x"}},
				)
			},
			waits: []poller.Wait{
				{D: time.Minute, Why: "secondary-rate-limit"},
				{D: time.Hour, Why: "retry-after"},
				{D: 4 * time.Minute, Why: "rate-limit"},
				{D: 8 * time.Minute, Why: "secondary-rate-limit"},
				{D: time.Minute, Why: poller.WhyPollInterval},
			},
			statuses: []int{403, 429, 403, 403, 200, 200, 200},
		},
		{
			name: "401 bad credentials",
			prepare: func(e *env) {
				e.srv.Push(githubtest.Reply{Page: 1, Status: 401, Body: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`})
			},
			waits:    []poller.Wait{{D: time.Second, Why: "backoff"}, {D: time.Minute, Why: poller.WhyPollInterval}},
			statuses: []int{401, 200, 200, 200},
			check: func(t *testing.T, e *env, m snapshot) {
				if l := e.logs.Lines("poll round failed"); len(l) != 1 || !strings.Contains(l[0], "401 Unauthorized: Bad credentials") {
					t.Errorf("failure lines %q", l)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.Pages == nil {
				c.opts.Pages = three
			}
			e := setup(t, c.opts)
			if c.noAuth {
				e.token = "unused-token-value"
			}
			if c.prepare != nil {
				c.prepare(e)
			}
			p, err := e.run(e.config(func(cfg *poller.Config, cc *github.ClientConfig) {
				if c.noAuth {
					cc.Token = ""
				}
				if c.mod != nil {
					c.mod(cfg, cc)
				}
			}), len(c.waits), nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			assertWaits(t, e.clock.Waits(), c.waits)
			stored := c.stored
			if stored == nil {
				stored = c.opts.Pages
			}
			want := distinct(t, stored...)
			for _, id := range c.unstored {
				if !want[id] {
					t.Fatalf("%v is not among the events served", id)
				}
				delete(want, id)
			}
			e.assertStored(want)
			if c.statuses != nil {
				var got []int
				for _, r := range e.srv.Requests() {
					got = append(got, r.Status)
				}
				if !slices.Equal(got, c.statuses) {
					t.Errorf("statuses %v, want %v", got, c.statuses)
				}
			}
			if e.srv.PendingReplies() != 0 {
				t.Errorf("%d scripted replies unused", e.srv.PendingReplies())
			}
			e.assertNoToken()
			if c.check != nil {
				c.check(t, e, read(poller.MetricsOf(p)))
			}
		})
	}
}

func TestProbableGapAndAdaptivePace(t *testing.T) {
	events := githubtest.EventsPages(t) // 2019
	user := githubtest.UserPages(t)     // 2023: newer than all of events
	e := setup(t, githubtest.Options{Pages: events})
	p, err := e.run(e.config(), 3, func(n int, _ poller.Wait) {
		switch n {
		case 1: // round 2: the same events without page 1 (so no 304): all overlap
			e.srv.SetPages(events[1:]...)
		case 2: // round 3: only newer events: nothing overlaps
			e.srv.SetPages(user...)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	assertWaits(t, e.clock.Waits(), []poller.Wait{
		{D: time.Minute, Why: poller.WhyPollInterval}, // nothing stored before
		{D: 90 * time.Second, Why: poller.WhyPace},    // 100% overlap: lengthened by half
		{D: time.Minute, Why: poller.WhyPollInterval}, // no overlap: halved, but never below the floor
	})
	e.assertStored(distinct(t, append(slices.Clone(events), user...)...))
	m := read(poller.MetricsOf(p))
	if m.ProbableGaps != 1 || m.Rounds != 3 {
		t.Errorf("metrics %+v", m)
	}
	_, newestBefore := createdRange(t, events...)
	oldest, _ := createdRange(t, user...)
	gaps := e.logs.Lines("probable gap: this round did not overlap the events already stored; events in between were probably missed (poll sooner, or set GITHUB_TOKEN)")
	wantGap := fmt.Sprintf("round=3 newest_stored=%s oldest_fetched=%s gap=%s",
		newestBefore.Format("2006-01-02T15:04:05.000Z"), oldest.Format("2006-01-02T15:04:05.000Z"), oldest.Sub(newestBefore))
	if len(gaps) != 1 || !strings.HasPrefix(gaps[0], "level=WARN") || !strings.HasSuffix(gaps[0], wantGap) {
		t.Errorf("gap lines %q\nwant one ending in %q", gaps, wantGap)
	}
	// Round 2's events were all fetched by round 1.
	overlap2 := fmt.Sprintf("overlap=%d ", len(distinct(t, events[1:]...)))
	rounds := e.logs.Lines("poll round")
	if len(rounds) != 3 || !strings.Contains(rounds[1], overlap2) || !strings.Contains(rounds[1], `pace="lengthened: 100% overlap with the previous round"`) ||
		!strings.Contains(rounds[2], `overlap=0 `) || !strings.Contains(rounds[2], `pace="shortened: no overlap with stored events"`) {
		t.Errorf("round lines:\n%s", strings.Join(rounds, "\n"))
	}
}

func TestEventRefusedByTheDatabase(t *testing.T) {
	pages := githubtest.EventsPages(t)[:1]
	// A repository name too long for an index entry: the decoder takes it,
	// PostgreSQL refuses the row (SQLSTATE 54000).
	var events []map[string]any
	if err := json.Unmarshal(pages[0], &events); err != nil {
		t.Fatal(err)
	}
	badID := events[7]["id"].(string)
	r := rand.New(rand.NewPCG(7, 7))
	long := make([]byte, 10_000)
	for i := range long {
		long[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)]
	}
	events[7]["repo"].(map[string]any)["name"] = "owner/" + string(long)
	page, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, githubtest.Options{Pages: [][]byte{page}})
	p, err := e.run(e.config(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := distinct(t, pages...)
	delete(want, githubtest.Identity{ID: badID, CreatedAt: events[7]["created_at"].(string)})
	e.assertStored(want)
	m := read(poller.MetricsOf(p))
	if m.RefusedEvents != 1 || m.EventsStored != 29 || m.PagesStored != 1 {
		t.Errorf("metrics %+v", m)
	}
	if l := e.logs.Lines("event refused by the database: skipped"); len(l) != 1 || !strings.Contains(l[0], "id="+badID) || !strings.Contains(l[0], "SQLSTATE 54000") {
		t.Errorf("refusal lines %q", l)
	}
	if l := e.logs.Lines("poll round"); len(l) != 1 || !strings.Contains(l[0], "stored=29 duplicates=0 bad=1 ") {
		t.Errorf("round line %q", l)
	}
}

func TestBeforeRound(t *testing.T) {
	pages := githubtest.EventsPages(t)[:3]
	e := setup(t, githubtest.Options{Pages: pages})
	calls := 0
	lost := fmt.Errorf("leader lock lost")
	cfg := e.config(func(c *poller.Config, _ *github.ClientConfig) {
		c.BeforeRound = func(ctx context.Context) error {
			calls++
			switch calls {
			case 1:
				return poller.ErrSkipRound
			case 2:
				return nil
			default:
				return lost
			}
		}
	})
	_, err := e.run(cfg, 100, nil)
	if err == nil || !strings.Contains(err.Error(), "leader lock lost") {
		t.Fatalf("Run = %v, want the hook's error", err)
	}
	if calls != 3 {
		t.Errorf("BeforeRound called %d times, want 3", calls)
	}
	assertWaits(t, e.clock.Waits(), []poller.Wait{{D: time.Minute, Why: poller.WhySkipped}, {D: time.Minute, Why: poller.WhyPollInterval}})
	if n := len(e.srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (one round)", n)
	}
	e.assertStored(distinct(t, pages...))
}
