package poller_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
)

// sim is a discrete-event clock for several pollers: a poller's Sleep
// blocks until every poller is asleep; then the one due first (on a tie,
// the one added first) wakes, with the clock at its due time. Only one
// poller fetches at a time, so the same run gives the same requests and
// waits. Once the next wake-up would be after end, the run is over.
type sim struct {
	mu       sync.Mutex
	now      time.Time
	end      time.Time
	pollers  int
	asleep   map[int]*sleeper
	onWake   func(now time.Time)
	cancel   context.CancelFunc
	firstNap chan struct{} // closed when a poller first sleeps
	waits    map[int][]poller.Wait
}

type sleeper struct {
	due  time.Time
	wake chan struct{}
}

func newSim(start, end time.Time, pollers int, cancel context.CancelFunc) *sim {
	return &sim{now: start, end: end, pollers: pollers, asleep: map[int]*sleeper{}, cancel: cancel,
		firstNap: make(chan struct{}), waits: map[int][]poller.Wait{}}
}

func (s *sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// sleep is poller i's Sleep.
func (s *sim) sleep(i int) func(context.Context, poller.Wait) error {
	return func(ctx context.Context, w poller.Wait) error {
		if w.Why == poller.WhyDBRetry { // an insert worker: not on the clock
			select {
			case <-time.After(10 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		s.mu.Lock()
		s.waits[i] = append(s.waits[i], w)
		sl := &sleeper{due: s.now.Add(w.D), wake: make(chan struct{})}
		s.asleep[i] = sl
		if len(s.asleep) == 1 && len(s.waits) == 1 && len(s.waits[i]) == 1 {
			close(s.firstNap)
		}
		if len(s.asleep) == s.pollers {
			s.wakeNext()
		}
		s.mu.Unlock()
		select {
		case <-sl.wake:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wakeNext wakes the poller due first, or ends the run. s.mu is held.
func (s *sim) wakeNext() {
	next := -1
	for i, sl := range s.asleep {
		if next < 0 || sl.due.Before(s.asleep[next].due) || (sl.due.Equal(s.asleep[next].due) && i < next) {
			next = i
		}
	}
	sl := s.asleep[next]
	if sl.due.After(s.end) {
		s.cancel()
		return
	}
	delete(s.asleep, next)
	s.now = sl.due
	if s.onWake != nil {
		s.onWake(s.now)
	}
	close(sl.wake)
}

// busyFeed is a feed where 250 events a minute appear: at time
// t it shows the newest 300 (3 pages of 100, newest first) of the events
// numbered 1 to 300 + 250 × (whole seconds since t0) / 60. Polled once a
// minute, each round finds 250 new events and 50 it saw before.
func busyFeed(now time.Time) [][]byte {
	n := 300 + 250*int(now.Sub(t0)/time.Second)/60
	pages := make([][]byte, 3)
	for p := range pages {
		var b strings.Builder
		b.WriteByte('[')
		for k := range 100 {
			seq := n - 100*p - k
			if k > 0 {
				b.WriteByte(',')
			}
			at := t0.Add(time.Duration(seq-300) * 240 * time.Millisecond).Truncate(time.Second)
			fmt.Fprintf(&b, `{"id":"%d","type":"WatchEvent","actor":{"id":1,"login":"a"},"repo":{"id":10,"name":"busy/a"},"payload":{"action":"started"},"public":true,"created_at":%q}`,
				1_000_000+seq, at.Format(time.RFC3339))
		}
		b.WriteByte(']')
		pages[p] = []byte(b.String())
	}
	return pages
}

// quietFeed never changes: one page of 5 events.
func quietFeed() [][]byte {
	var b strings.Builder
	b.WriteByte('[')
	for k := range 5 {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d","type":"ForkEvent","actor":{"id":2,"login":"b"},"repo":{"id":20,"name":"quiet/b"},"payload":{},"public":true,"created_at":%q}`,
			9_000_005-k, t0.Add(-time.Duration(k)*time.Hour).Format(time.RFC3339))
	}
	b.WriteByte(']')
	return [][]byte{[]byte(b.String())}
}

// budgetRun polls a busy feed A and a quiet feed B from one fake GitHub
// for an hour of the simulated clock (one token, or none), and returns the
// requests the fake received, each poller's waits and the round lines.
func budgetRun(t *testing.T, withToken bool) ([]githubtest.Request, map[int][]poller.Wait, []string) {
	t.Helper()
	const pathA, pathB = "/repos/busy/a/events", "/repos/quiet/b/events"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	s := newSim(t0, t0.Add(time.Hour), 2, stop)
	e := setup(t, githubtest.Options{})
	// The fake's rate window runs on the simulated clock.
	e.srv = githubtest.NewServer(t, githubtest.Options{Now: s.Now, Feeds: map[string][][]byte{pathA: busyFeed(t0), pathB: quietFeed()}})
	s.onWake = func(now time.Time) { e.srv.SetFeedPages(pathA, busyFeed(now)...) }
	budget := poller.NewBudget()
	var pollers []*poller.Poller
	for i, path := range []string{pathA, pathB} {
		cfg := e.config(func(c *poller.Config, cc *github.ClientConfig) {
			u, _ := url.Parse(e.srv.URL() + path)
			cc.EventsURL = *u
			if !withToken {
				cc.Token = ""
			}
			c.Interval = 10 * time.Second // X-Poll-Interval (60 s) is the floor
			c.Now, c.Sleep = s.Now, s.sleep(i)
			c.Budget = budget
			c.Feed = []string{"repo:busy/a", "repo:quiet/b"}[i]
			c.Source = model.SourceWatch
		})
		p, err := poller.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pollers = append(pollers, p)
	}
	errs := make(chan error, 2)
	go func() { errs <- pollers[0].Run(runCtx) }()
	select { // B starts once A's first round is over: a fixed order
	case <-s.firstNap:
	case <-ctx.Done():
		t.Fatal("poller A never slept")
	}
	go func() { errs <- pollers[1].Run(runCtx) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the run did not end within 2 minutes of real time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return e.srv.Requests(), s.waits, e.logs.Lines("poll round")
}

// roundStarts are the times of the page-1 requests to path.
func roundStarts(reqs []githubtest.Request, path string) []time.Duration {
	var out []time.Duration
	for _, r := range reqs {
		if strings.HasPrefix(r.URL, path+"?") && r.Page == 1 {
			out = append(out, r.At.Sub(t0))
		}
	}
	return out
}

// checkPollInterval: no feed is asked twice within X-Poll-Interval (60 s).
func checkPollInterval(t *testing.T, name string, starts []time.Duration) {
	t.Helper()
	for i := 1; i < len(starts); i++ {
		if starts[i]-starts[i-1] < time.Minute {
			t.Errorf("%s: rounds at %v and %v, less than X-Poll-Interval apart", name, starts[i-1], starts[i])
		}
	}
}

// With a token (5,000 requests an hour) the budget asks nothing: the busy
// feed, whose rounds bring 250 new events (of the 300 a feed shows), is
// polled at X-Poll-Interval; the quiet one, answered 304, ever less often
// (the pace lengthens by half a round, up to 5 min).
func TestBudgetWithTokenFollowsEachFeedsYield(t *testing.T) {
	reqs, waits, rounds := budgetRun(t, true)
	var startsA []time.Duration
	for k := range 61 {
		startsA = append(startsA, time.Duration(k)*time.Minute)
	}
	startsB := []time.Duration{0, time.Minute, 150 * time.Second, 285 * time.Second, 487500 * time.Millisecond}
	for at := 787500 * time.Millisecond; at <= time.Hour; at += 5 * time.Minute {
		startsB = append(startsB, at)
	}
	if got := roundStarts(reqs, "/repos/busy/a/events"); !slices.Equal(got, startsA) {
		t.Errorf("busy feed's rounds at %v\nwant %v", got, startsA)
	}
	if got := roundStarts(reqs, "/repos/quiet/b/events"); !slices.Equal(got, startsB) {
		t.Errorf("quiet feed's rounds at %v\nwant %v", got, startsB)
	}
	wantB := []poller.Wait{{D: time.Minute, Why: poller.WhyXPollInterval}, {D: 90 * time.Second, Why: poller.WhyPace},
		{D: 135 * time.Second, Why: poller.WhyPace}, {D: 202500 * time.Millisecond, Why: poller.WhyPace}}
	for range len(startsB) - 4 { // one wait after each round, the last one past the hour
		wantB = append(wantB, poller.Wait{D: 5 * time.Minute, Why: poller.WhyPace})
	}
	assertWaits(t, waits[1], wantB)
	for i, w := range waits[0] {
		if w != (poller.Wait{D: time.Minute, Why: poller.WhyXPollInterval}) {
			t.Errorf("busy feed's wait %d = %v, want 1m0s x-poll-interval", i+1, w)
		}
	}
	// Every round of A after the first: 250 new, 50 seen before.
	shortened := 0
	for _, l := range rounds {
		if strings.Contains(l, `events=300 `) && strings.Contains(l, ` overlap=50 `) &&
			strings.Contains(l, `pace="shortened: 250 new events, close to the 300 a feed shows"`) {
			shortened++
		}
	}
	if shortened != 60 {
		t.Errorf("%d rounds of 250 new events shortened the pace, want 60", shortened)
	}
	statuses := map[int]int{}
	for _, r := range reqs {
		statuses[r.Status]++
	}
	// A: 61 rounds of 3 pages; B: its first round, then 304s.
	if want := map[int]int{200: 61*3 + 1, 304: len(startsB) - 1}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("answers by status %v, want %v", statuses, want)
	}
}

// Without a token (60 requests an hour), the two feeds want more than the
// budget: every wait is stretched by the same factor, so the busy feed
// keeps the larger share, no request is refused, and the hour's requests
// stay within 60.
func TestBudgetWithoutTokenStretchesTheWaits(t *testing.T) {
	reqs, waits, _ := budgetRun(t, false)
	// A's first round (3 pages) leaves 57 requests for the 3,601 s to the
	// reset: alone, A would spend 3 × 3,601 / 60 s; the budget gives it
	// one round per 3 × 3,601 / 57 s.
	if w := waits[0][0]; w != (poller.Wait{D: 3 * 3601 * time.Second / 57, Why: poller.WhyRateLimit}) {
		t.Errorf("busy feed's first wait %v", w)
	}
	// B's first round (1 page) leaves 56; both want 60 s: 4 requests a
	// minute, stretched to one round each per 4 × 3,601 / 56 s.
	if w := waits[1][0]; w != (poller.Wait{D: 4 * 3601 * time.Second / 56, Why: poller.WhyRateLimit}) {
		t.Errorf("quiet feed's first wait %v", w)
	}
	counted, refused := 0, 0
	for _, r := range reqs {
		switch r.Status {
		case 200, 422:
			counted++
		case 403:
			refused++
		}
	}
	if counted > 60 || refused > 0 {
		t.Errorf("%d requests counted in the hour, %d refused; want at most 60 and none", counted, refused)
	}
	startsA, startsB := roundStarts(reqs, "/repos/busy/a/events"), roundStarts(reqs, "/repos/quiet/b/events")
	checkPollInterval(t, "busy feed", startsA)
	checkPollInterval(t, "quiet feed", startsB)
	if len(startsA) <= len(startsB) {
		t.Errorf("busy feed polled %d times, quiet feed %d: the busy one should be polled more often", len(startsA), len(startsB))
	}
	t.Logf("busy feed rounds %v; quiet feed rounds %v; %d requests counted", startsA, startsB, counted)
}
