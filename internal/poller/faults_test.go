package poller_test

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/faultproxy"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// The database goes away for two rounds: the workers retry while the queue
// holds the pages, and once it is back every event is stored exactly once.
func TestDatabaseOutage(t *testing.T) {
	all := githubtest.AllPages(t)
	feeds := [][][]byte{all[0:6], all[6:12], all[12:18]}
	e := setup(t, githubtest.Options{Pages: feeds[0]})

	dbURL := testdb.URL(t)
	direct, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(direct.Close)
	e.pool, e.store = direct, store.New(direct) // the checks read directly; the poller writes through the proxy
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faultproxy.New(t, u.Host)
	pool, err := pgxpool.New(context.Background(), px.MustURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	proxied := store.New(pool)
	p, err := poller.New(e.config(func(c *poller.Config, _ *github.ClientConfig) { c.Store = proxied }))
	if err != nil {
		t.Fatal(err)
	}
	metrics := func() snapshot { return read(poller.MetricsOf(p)) }

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var storedDuringOutage int64 = -1
	e.clock.mu.Lock()
	e.clock.onWait = func(n int, _ poller.Wait) {
		switch n {
		case 1:
			// Round 1 stored, then the database goes away.
			testkit.WaitFor(t, 20*time.Second, "round 1 stored", func() bool {
				_, saved, _ := e.store.PollerState(context.Background(), e.srv.EventsURL().String())
				return metrics().PagesStored == 6 && saved
			})
			px.Cut()
			e.srv.SetPages(feeds[1]...)
		case 2:
			e.srv.SetPages(feeds[2]...)
		case 3:
			// Rounds 2 and 3 were fetched while the database was away.
			testkit.WaitFor(t, 20*time.Second, "the workers to retry", func() bool {
				return strings.Contains(e.logs.String(), "database_unavailable=true")
			})
			storedDuringOutage = metrics().PagesStored
			px.Restore()
			testkit.WaitFor(t, 30*time.Second, "every page stored", func() bool { return metrics().PagesStored == 18 })
			cancel()
		}
	}
	e.clock.mu.Unlock()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatal("timed out")
	}
	if storedDuringOutage != 6 {
		t.Errorf("%d pages stored while the database was away, want 6 (round 1 only)", storedDuringOutage)
	}
	e.assertStored(distinct(t, all...))
	m := metrics()
	if m.EventsReceived != 508 || m.EventsStored != 382 || m.Duplicates != 126 || m.PagesStored != 18 || m.QueueDepth != 0 {
		t.Errorf("metrics %+v", m)
	}
	if l := e.logs.Lines("poller stopped"); len(l) != 1 || !strings.Contains(l[0], "pages_left=0") {
		t.Errorf("stop lines %q", l)
	}
	e.assertNoToken()
}

// gatedStore holds every insert until the gate opens (or its ctx ends).
type gatedStore struct {
	*store.Store
	gate    chan struct{}
	entered atomic.Int64
}

func (g *gatedStore) InsertEventsSkippingBad(ctx context.Context, events []model.Event) (store.InsertResult, error) {
	g.entered.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return store.InsertResult{}, ctx.Err()
	}
	return g.Store.InsertEventsSkippingBad(ctx, events)
}

func TestShutdownDrainsTheQueue(t *testing.T) {
	pages := githubtest.AllPages(t)
	e := setup(t, githubtest.Options{Pages: pages})
	g := &gatedStore{Store: e.store, gate: make(chan struct{})}
	var depth int64 = -1
	p, err := poller.New(e.config(func(c *poller.Config, _ *github.ClientConfig) { c.Store = g }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.clock.mu.Lock()
	e.clock.onWait = func(n int, _ poller.Wait) {
		// The round is fetched; both workers hold a page, 16 wait in the queue.
		testkit.WaitFor(t, 10*time.Second, "both workers busy", func() bool { return g.entered.Load() == 2 })
		depth = read(poller.MetricsOf(p)).QueueDepth
		cancel()
		// The database answers only once the poller is stopping.
		go func() { time.Sleep(50 * time.Millisecond); close(g.gate) }()
	}
	e.clock.mu.Unlock()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if depth != 16 {
		t.Errorf("queue depth %d when stopping, want 16", depth)
	}
	e.assertStored(distinct(t, pages...))
	if l := e.logs.Lines("poller stopping: storing the pages already fetched"); len(l) != 1 || !strings.Contains(l[0], "pages_queued=18 ") {
		t.Errorf("stopping lines %q", l)
	}
	if l := e.logs.Lines("poller stopped"); len(l) != 1 || !strings.Contains(l[0], "pages_left=0 ") {
		t.Errorf("stop lines %q", l)
	}
	if m := read(poller.MetricsOf(p)); m.PagesStored != 18 || m.EventsStored != 382 {
		t.Errorf("metrics %+v", m)
	}
}

func TestShutdownGraceRunsOut(t *testing.T) {
	pages := githubtest.AllPages(t)
	e := setup(t, githubtest.Options{Pages: pages})
	g := &gatedStore{Store: e.store, gate: make(chan struct{})} // never opens
	cfg := e.config(func(c *poller.Config, _ *github.ClientConfig) {
		c.Store = g
		c.ShutdownGrace = 300 * time.Millisecond
	})
	start := time.Now()
	p, err := e.run(cfg, 1, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Run took %v to give up, want about the 300ms grace", el)
	}
	if l := e.logs.Lines("poller stopped before storing every page fetched: the shutdown grace period ran out"); len(l) != 1 || !strings.HasPrefix(l[0], "level=WARN ") || !strings.Contains(l[0], " pages_left=18 ") {
		t.Errorf("stop lines %q", l)
	}
	if m := read(poller.MetricsOf(p)); m.PagesStored != 0 || m.QueueDepth != 0 {
		t.Errorf("metrics %+v", m)
	}
	e.assertStored(nil)
}

// With the queue full, the fetch loop waits: it holds one page and asks
// for no other until a worker takes one.
func TestBackPressure(t *testing.T) {
	pages := githubtest.AllPages(t)
	e := setup(t, githubtest.Options{Pages: pages})
	g := &gatedStore{Store: e.store, gate: make(chan struct{})}
	cfg := e.config(func(c *poller.Config, _ *github.ClientConfig) {
		c.Store = g
		c.Workers = 1
		c.QueueSize = 2
	})
	p, err := poller.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.clock.mu.Lock()
	e.clock.onWait = func(int, poller.Wait) { cancel() }
	e.clock.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// One page in the worker, two in the queue, one in the fetch loop's hands.
	testkit.WaitFor(t, 10*time.Second, "the queue to fill", func() bool {
		return len(e.srv.Requests()) == 4 && g.entered.Load() == 1 && read(poller.MetricsOf(p)).QueueDepth == 2
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(e.srv.Requests()); n != 4 {
		t.Fatalf("%d requests with the queue full, want 4", n)
	}
	close(g.gate)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	e.assertStored(distinct(t, pages...))
	if m := read(poller.MetricsOf(p)); m.PagesStored != 18 || m.EventsStored != 382 || m.Duplicates != 126 {
		t.Errorf("metrics %+v", m)
	}
}

// A database that refuses the writes for a reason other than being away
// (here: the table is gone) keeps the page in retry; the poller neither
// drops it nor crashes, and stores it once the table is back.
func TestNonDataErrorIsRetried(t *testing.T) {
	pages := githubtest.EventsPages(t)[:1]
	e := setup(t, githubtest.Options{Pages: pages})
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `ALTER TABLE events RENAME TO events_away`); err != nil {
		t.Fatal(err)
	}
	p, err := e.run(e.config(), 1, func(int, poller.Wait) {
		testkit.WaitFor(t, 10*time.Second, "a failed insert", func() bool {
			return strings.Contains(e.logs.String(), `msg="cannot store page: retrying"`)
		})
		if _, err := e.pool.Exec(ctx, `ALTER TABLE events_away RENAME TO events`); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e.assertStored(distinct(t, pages...))
	if m := read(poller.MetricsOf(p)); m.EventsStored != 30 || m.RefusedEvents != 0 {
		t.Errorf("metrics %+v", m)
	}
	if l := e.logs.Lines("cannot store page: retrying"); len(l) == 0 || !strings.Contains(l[0], "database_unavailable=false") {
		t.Errorf("retry lines %q", l)
	}
}
