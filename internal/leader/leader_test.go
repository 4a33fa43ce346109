package leader_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/leader"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// failover is POLL_FAILOVER in these tests: checks every 400 ms, a new
// leader settles 800 ms.
const failover = 2 * time.Second

// world is one test's database, fake GitHub and pollers.
type world struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
	srv  *githubtest.Server
	key  int64
	logs *testkit.Buffer
	log  *slog.Logger
}

func setup(t *testing.T) *world {
	t.Helper()
	t.Parallel()
	url := testdb.URL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// No X-Poll-Interval and a rate limit large enough that only
	// the poller's own interval paces the rounds.
	srv := githubtest.NewServer(t, githubtest.Options{PollInterval: -1, RateLimit: 1_000_000})
	logs := &testkit.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return &world{t: t, url: url, pool: pool, srv: srv, key: leader.Key(srv.EventsURL().String()), logs: logs,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// node is one poller process: its own pool, elector and poller.
type node struct {
	id      string
	e       *leader.Elector
	metrics *poller.Metrics
	cancel  context.CancelFunc
	done    chan error

	mu         sync.Mutex
	leadStarts []time.Time
}

// start runs a poller that polls while it leads.
func (w *world) start(id string) *node {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := store.Open(ctx, w.url, store.Options{MaxConns: 4, ApplicationName: "test pool " + id})
	if err != nil {
		w.t.Fatal(err)
	}
	log := w.log.With(slog.String("node", id))
	e, err := leader.New(leader.Config{Store: s, Key: w.key, Failover: failover, ID: id, Log: log})
	if err != nil {
		w.t.Fatal(err)
	}
	client, err := github.NewClient(github.ClientConfig{EventsURL: *w.srv.EventsURL(), Token: "t", Version: id})
	if err != nil {
		w.t.Fatal(err)
	}
	n := &node{id: id, e: e, metrics: poller.NewMetrics(nil), cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := e.Run(ctx, func(ctx context.Context) error {
			n.mu.Lock()
			n.leadStarts = append(n.leadStarts, time.Now())
			n.mu.Unlock()
			p, err := poller.New(poller.Config{
				Client: client, Store: s, Logger: log, Workers: 2,
				Interval: 20 * time.Millisecond, MaxPace: 50 * time.Millisecond, ShutdownGrace: 5 * time.Second,
				BeforeRound: e.Check, Metrics: n.metrics,
			})
			if err != nil {
				return err
			}
			return p.Run(ctx)
		})
		s.Close()
		n.done <- err
	}()
	w.t.Cleanup(func() { n.stop(w.t) })
	return n
}

// stop kills the node as a cancelled context does: its poller drains, its
// connections close. It waits for the end.
func (n *node) stop(t *testing.T) {
	t.Helper()
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("node %s: Run = %v", n.id, err)
		}
		n.done <- nil // for the next call
	case <-time.After(15 * time.Second):
		t.Fatalf("node %s did not stop", n.id)
	}
}

func (n *node) leadStartsAfter(t0 time.Time) []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []time.Time
	for _, s := range n.leadStarts {
		if s.After(t0) {
			out = append(out, s)
		}
	}
	return out
}

// waitLeader waits until exactly one of nodes leads and returns it.
func (w *world) waitLeader(nodes ...*node) *node {
	w.t.Helper()
	deadline := time.Now().Add(2 * failover)
	for time.Now().Before(deadline) {
		var leading []*node
		for _, n := range nodes {
			if n.e.Leading() {
				leading = append(leading, n)
			}
		}
		if len(leading) > 1 {
			w.t.Fatalf("%d nodes lead at once", len(leading))
		}
		if len(leading) == 1 {
			return leading[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Fatalf("no leader within %v", 2*failover)
	return nil
}

// stored is the identities of the stored events (rows per identity) and
// the row count.
func (w *world) stored() (map[githubtest.Identity]int, int) {
	w.t.Helper()
	return githubtest.StoredIdentities(w.t, w.pool)
}

// serve makes the fake GitHub serve pages (as its sliding window moves on)
// and waits until every event on them is stored, by whichever poller.
func (w *world) serve(pages [][]byte) {
	w.t.Helper()
	want, _ := githubtest.Identities(w.t, pages...)
	w.srv.SetPages(pages...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := w.stored()
		missing := 0
		for id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d of %d events served were not stored within 10 s", missing, len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockSessionPID is the server process of the lock session of poller id.
func (w *world) lockSessionPID(id string) int32 {
	w.t.Helper()
	var pid int32
	if err := w.pool.QueryRow(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
		"ghevents poller "+id).Scan(&pid); err != nil {
		w.t.Fatalf("lock session of %s: %v", id, err)
	}
	return pid
}

// TestFailover runs two pollers against one fake GitHub and one database.
// The leader is killed (its context cancelled: its poller drains and its
// connections close); the standby takes over within the failover time. A
// restarted poller stands by; then the new leader loses its lock session
// (pg_terminate_backend) while its process runs on: it stops polling and
// a poller takes over. Throughout, the fake GitHub's window moves on only
// once what it serves is stored, so every event served must be stored
// once, and no two rounds may overlap.
func TestFailover(t *testing.T) {
	w := setup(t)
	all := githubtest.AllPages(t)
	want, _ := githubtest.Identities(t, all...)
	if len(want) != 382 {
		t.Fatalf("the recorded pages hold %d distinct events, want 382", len(want))
	}
	window := func(k int) [][]byte { return all[k : k+3] } // 16 windows of 3 pages

	a, b := w.start("a"), w.start("b")
	first := w.waitLeader(a, b)
	second := map[*node]*node{a: b, b: a}[first]
	if second.e.Leading() || second.e.Role() != "standby" || first.e.Role() != "leader" {
		t.Fatalf("roles: %s %s, %s %s", first.id, first.e.Role(), second.id, second.e.Role())
	}
	if err := second.e.Ready(context.Background()); err != nil {
		t.Errorf("standby not ready: %v", err)
	}
	if err := second.e.Check(context.Background()); !errors.Is(err, leader.ErrNotLeader) {
		t.Errorf("standby Check = %v, want ErrNotLeader", err)
	}
	k := 0
	for ; k < 4; k++ {
		w.serve(window(k))
	}

	// Kill the leader.
	killedAt := time.Now()
	first.stop(t)
	for ; k < 8; k++ {
		w.serve(window(k))
	}
	rs := githubtest.Rounds(w.srv.Requests())
	r, ok := githubtest.FirstRoundAfter(rs, second.id, killedAt)
	if !ok {
		t.Fatalf("%s never polled after %s was killed", second.id, first.id)
	}
	if d := r.Start.Sub(killedAt); d > failover {
		t.Errorf("%s polled %v after %s was killed, want within %v", second.id, d, first.id, failover)
	} else {
		t.Logf("killed %s: %s polled %v later", first.id, second.id, d.Round(time.Millisecond))
	}

	// The killed process comes back: it stands by.
	restarted := w.start(first.id + "2")
	if got := w.waitLeader(second, restarted); got != second {
		t.Fatalf("leader after the restart: %s, want %s", got.id, second.id)
	}
	time.Sleep(failover / 2) // restarted has tried the lock by now
	if restarted.e.Leading() || testutil.ToFloat64(leader.MetricsOf(restarted.e).Acquired) != 0 {
		t.Fatalf("the restarted poller leads while %s holds the lock", second.id)
	}

	// The leader's lock session dies under it (a server restart, a
	// network cut, an administrator): it must stop polling.
	var ok2 bool
	if err := w.pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1)`, w.lockSessionPID(second.id)).Scan(&ok2); err != nil || !ok2 {
		t.Fatalf("terminate the lock session: %v %v", ok2, err)
	}
	cutAt := time.Now()
	for ; k < 16; k++ {
		w.serve(window(k))
	}
	// Whoever took over (the restarted poller, or the old leader on a new
	// session) began a new term and polled within the failover time.
	var next githubtest.Round
	var nextNode *node
	for _, n := range []*node{second, restarted} {
		starts := n.leadStartsAfter(cutAt)
		if len(starts) == 0 {
			continue
		}
		if r, ok := githubtest.FirstRoundAfter(githubtest.Rounds(w.srv.Requests()), n.id, starts[0]); ok && (nextNode == nil || r.Start.Before(next.Start)) {
			next, nextNode = r, n
		}
	}
	switch {
	case nextNode == nil:
		t.Errorf("no poller began a new term after the lock session of %s died", second.id)
	case next.Start.Sub(cutAt) > failover:
		t.Errorf("%s polled %v after the lock session of %s died, want within %v", nextNode.id, next.Start.Sub(cutAt), second.id, failover)
	default:
		t.Logf("lock session of %s cut: %s polled in a new term %v later", second.id, nextNode.id, next.Start.Sub(cutAt).Round(time.Millisecond))
	}
	if !strings.Contains(w.logs.String(), `msg="poller leadership lost: stopping polling" node=`+second.id) {
		t.Errorf("%s did not log the loss of its leadership", second.id)
	}

	second.stop(t)
	restarted.stop(t)

	// Every distinct event served is stored, once.
	got, rows := w.stored()
	missing, extra := githubtest.Compare(want, got)
	if rows != len(want) || missing != 0 || extra != 0 {
		t.Errorf("events: %d rows, %d missing, %d not served; want %d rows", rows, missing, extra, len(want))
	}
	var stored int64
	for _, n := range []*node{a, b, restarted} {
		stored += int64(testutil.ToFloat64(n.metrics.EventsStored))
	}
	var counted int64
	if err := w.pool.QueryRow(context.Background(), `SELECT coalesce(sum(events), 0)::bigint FROM event_type_counts`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if stored != int64(len(want)) || counted != int64(len(want)) {
		t.Errorf("the pollers counted %d events stored and the summary %d, want %d", stored, counted, len(want))
	}

	// No two rounds overlapped, and each poller polled only in its terms.
	rs = githubtest.Rounds(w.srv.Requests())
	githubtest.AssertNoParallelRounds(t, rs)
	pollers := map[string]bool{}
	for _, r := range rs {
		pollers[r.Poller] = true
	}
	if !pollers[first.id] || !pollers[second.id] {
		t.Errorf("pollers seen by GitHub: %v; want both %s and %s", pollers, first.id, second.id)
	}
	t.Logf("%d rounds: %v", len(rs), pollers)
}

// TestElection checks one election in detail: a standby with another key
// leads at once, Check fails outside a term, a lead that fails releases the
// lock for the standby, and the session's TCP settings reach the server.
func TestElection(t *testing.T) {
	w := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := store.New(w.pool)

	type result struct {
		id  string
		err error
	}
	results := make(chan result, 3)
	leads := make(chan string, 10)
	failLead := errors.New("lead failed")
	run := func(id string, key int64, lead func(ctx context.Context) error) *leader.Elector {
		e, err := leader.New(leader.Config{Store: s, Key: key, Failover: failover, ID: id, Log: w.log.With(slog.String("node", id))})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			results <- result{id, e.Run(ctx, func(ctx context.Context) error { leads <- id; return lead(ctx) })}
		}()
		return e
	}
	if got := leader.Key("https://api.github.com/events"); got == leader.Key("https://ghe.example/api/v3/events") || got == 0 {
		t.Fatalf("two feeds share the key %d", got)
	}

	// x leads, then fails once y stands by; y takes over.
	stopX := make(chan struct{})
	x := run("x", w.key, func(ctx context.Context) error {
		select {
		case <-stopX:
			return failLead
		case <-ctx.Done():
			return nil
		}
	})
	if id := <-leads; id != "x" {
		t.Fatalf("first leader %s", id)
	}
	if err := x.Check(ctx); err != nil {
		t.Fatalf("leader Check = %v", err)
	}
	since, ok := x.LeadingSince()
	if !ok || time.Since(since) > failover {
		t.Fatalf("LeadingSince = %v %v", since, ok)
	}
	y := run("y", w.key, func(ctx context.Context) error { <-ctx.Done(); return nil })
	z := run("z", leader.Key("another feed"), func(ctx context.Context) error { <-ctx.Done(); return nil })
	if id := <-leads; id != "z" {
		t.Fatalf("the poller of another feed did not lead at once (got %s)", id)
	}
	time.Sleep(failover / 2)
	if y.Leading() || !z.Leading() {
		t.Fatalf("y leads %v, z leads %v", y.Leading(), z.Leading())
	}
	if !strings.Contains(w.logs.String(), `msg="poller standby: another poller holds the leader lock" node=y poller_id=y lock_key=`+fmt.Sprint(w.key)) ||
		!strings.Contains(w.logs.String(), `leader="ghevents poller x"`) {
		t.Errorf("the standby did not log who leads")
	}

	// x holds its lock on one session of its own.
	var sessions int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ghevents poller x' AND datname = current_database()`).Scan(&sessions); err != nil || sessions != 1 {
		t.Fatalf("lock sessions of x: %d %v", sessions, err)
	}

	failedAt := time.Now()
	close(stopX)
	r := <-results
	if r.id != "x" || !errors.Is(r.err, failLead) {
		t.Fatalf("Run of %s = %v, want the lead's error", r.id, r.err)
	}
	if x.Leading() {
		t.Error("x still leads after its Run returned")
	}
	if err := x.Check(ctx); !errors.Is(err, leader.ErrNotLeader) {
		t.Errorf("Check after the term = %v, want ErrNotLeader", err)
	}
	if id := <-leads; id != "y" {
		t.Fatalf("next leader %s, want y", id)
	}
	// x released its lock when its lead failed: y leads after one attempt
	// (at most failover/5) and the settle wait (failover*2/5).
	if d := time.Since(failedAt); d > 3*failover/5+failover/5 {
		t.Errorf("y led %v after x failed, want within %v", d, 4*failover/5)
	}
	acquired := func(e *leader.Elector) float64 { return testutil.ToFloat64(leader.MetricsOf(e).Acquired) }
	if acquired(y) != 1 || acquired(x) != 1 || acquired(z) != 1 {
		t.Errorf("acquisitions x %v y %v z %v, want 1 each", acquired(x), acquired(y), acquired(z))
	}
	logs := w.logs.String()
	for _, want := range []string{
		`msg="poller leadership acquired: this process polls (after the settle wait)" node=x`,
		`msg="poller leadership released" node=x`,
		`msg="poller leadership acquired: this process polls (after the settle wait)" node=y`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	cancel()
	var ids []string
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Errorf("Run of %s = %v", r.id, r.err)
		}
		ids = append(ids, r.id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"y", "z"}) {
		t.Errorf("ended: %v", ids)
	}
	// Every lock session is closed (the server ends a session a moment
	// after its client left).
	var left int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ghevents poller %' AND datname = current_database()`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 || time.Now().After(deadline) {
			break
		}
	}
	if left != 0 {
		t.Errorf("%d lock sessions left 5 s after the end", left)
	}
}

// freezer is a TCP proxy to PostgreSQL that can stop delivering bytes
// while keeping every socket open: a half-dead connection, as a network
// cut or a frozen host leaves it.
type freezer struct {
	l      net.Listener
	target string
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l, target: target}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go f.pipe(c, s)
			go f.pipe(s, c)
		}
	}()
	return f
}

// pipe copies from src to dst, holding the bytes while frozen.
func (f *freezer) pipe(src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestHalfDeadConnection: the leader's lock connection stops answering
// without closing. The leader gives up within failover*2/5 (a check every
// failover/5, each bounded by failover/5) and its lead ends; the server,
// which still sees a live session behind the proxy, frees the lock only
// when that session ends (in production its TCP keepalives end it; here
// the test terminates it), and the standby takes over.
func TestHalfDeadConnection(t *testing.T) {
	w := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(w.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, u.Host)
	u.Host = proxy.l.Addr().String()
	viaProxy, err := store.Open(ctx, u.String(), store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer viaProxy.Close()

	leadEnded := make(chan time.Time, 1)
	x, err := leader.New(leader.Config{Store: viaProxy, Key: w.key, Failover: failover, ID: "x", Log: w.log.With(slog.String("node", "x"))})
	if err != nil {
		t.Fatal(err)
	}
	xDone := make(chan error, 1)
	go func() {
		xDone <- x.Run(ctx, func(ctx context.Context) error { <-ctx.Done(); leadEnded <- time.Now(); return nil })
	}()
	waitUntil := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, d)
			}
		}
	}
	waitUntil("x leads", failover, x.Leading)
	time.Sleep(failover / 2) // past the settle wait: x is in its lead
	pid := w.lockSessionPID("x")

	y, err := leader.New(leader.Config{Store: store.New(w.pool), Key: w.key, Failover: failover, ID: "y", Log: w.log.With(slog.String("node", "y"))})
	if err != nil {
		t.Fatal(err)
	}
	yLeads := make(chan time.Time, 1)
	yDone := make(chan error, 1)
	go func() {
		yDone <- y.Run(ctx, func(ctx context.Context) error { yLeads <- time.Now(); <-ctx.Done(); return nil })
	}()

	frozeAt := time.Now()
	proxy.frozen.Store(true)
	var ended time.Time
	select {
	case ended = <-leadEnded:
	case <-time.After(2 * failover):
		t.Fatalf("x still leads %v after its connection froze", 2*failover)
	}
	if d := ended.Sub(frozeAt); d > 2*failover/5+failover/10 {
		t.Errorf("x stopped leading %v after its connection froze, want within %v", d, 2*failover/5)
	} else {
		t.Logf("x stopped leading %v after its connection froze", d.Round(time.Millisecond))
	}
	if x.Leading() {
		t.Error("x still says it leads")
	}
	// The server still holds the lock for the frozen session: y waits.
	time.Sleep(failover / 2)
	select {
	case <-yLeads:
		t.Fatal("y led while the frozen session still held the lock")
	default:
	}
	// The server gives the silent session up (its keepalives would).
	var ok bool
	if err := w.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate: %v %v", ok, err)
	}
	cutAt := time.Now()
	select {
	case at := <-yLeads:
		if d := at.Sub(cutAt); d > failover {
			t.Errorf("y led %v after the session ended, want within %v", d, failover)
		}
	case <-time.After(2 * failover):
		t.Fatal("y never led")
	}
	if !strings.Contains(w.logs.String(), `msg="poller leadership lost: stopping polling" node=x`) {
		t.Error("x did not log the loss")
	}
	proxy.frozen.Store(false)
	cancel()
	for _, c := range []chan error{xDone, yDone} {
		if err := <-c; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}
