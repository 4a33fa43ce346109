// Package leader elects one poller among several, so that two or more can
// run for availability while exactly one polls GitHub at a time.
//
// The leader is the process whose session holds a PostgreSQL session-level
// advisory lock, taken on a dedicated connection (not one of the pool's):
// the lock lives exactly as long as that session, so it is freed by the
// server when the process dies or its connection drops. Standbys try to
// take it every Failover/5. The leader checks that its session still holds
// the lock every Failover/5 and before every polling round (Check, for
// poller.Config.BeforeRound); a check that fails or takes longer than
// Failover/5 ends the term: the poller stops fetching, stores what it
// fetched, and the process goes back to standby.
//
// A new leader waits Failover*2/5 (the longest an old leader can take to
// notice it lost the lock) before its first round, so two rounds never run
// at once even when a leader lost its connection without dying. TCP
// keepalives and tcp_user_timeout on both sides give a half-dead
// connection up at most Failover*2/5 after its last sign of life. A
// standby therefore polls within Failover of the leader's death: at once
// plus Failover/5 plus the settle wait when the process or its connection
// died (the server sees the socket close), Failover*2/5 more when its host
// or network vanished.
package leader

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/backoff"
	"github.com/ghevents/ghevents/internal/store"
)

// DefaultFailover is POLL_FAILOVER's default.
const DefaultFailover = 15 * time.Second

var (
	// ErrLost is returned by Check when the lock is no longer held.
	ErrLost = errors.New("poller leadership lost")
	// ErrNotLeader is returned by Check outside a term.
	ErrNotLeader = errors.New("not the poller leader")
)

// Key is the advisory lock key of the pollers of feed: the pollers of one
// feed elect one leader; pollers of different feeds (GitHub and a GitHub
// Enterprise, say) sharing a database do not exclude each other.
func Key(feed string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ghevents poller\x00" + feed))
	return int64(h.Sum64())
}

// Config configures an Elector. Store and Key are required.
type Config struct {
	// Store opens the dedicated lock connection (with its pool's settings).
	Store *store.Store
	// Key is the advisory lock key (see Key).
	Key int64
	// Failover bounds how long pollers go without a leader after the
	// leader dies (POLL_FAILOVER; default 15 s).
	Failover time.Duration
	// ID names this process in the logs and in pg_stat_activity, where
	// standbys read who leads (default host:pid).
	ID string
	// Log receives the changes of leadership (nil: discard).
	Log *slog.Logger
	// Metrics receives the election's metrics (nil: a new set, registered
	// nowhere).
	Metrics *Metrics
}

// Metrics are the election's Prometheus metrics, updated as leadership
// changes.
type Metrics struct {
	// Leader is 1 while this process is the poller leader, 0 on a standby.
	Leader prometheus.Gauge
	// Acquired counts the terms this process began.
	Acquired prometheus.Counter
}

// NewMetrics makes the election's metrics and registers them on reg (nil:
// nowhere).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ghevents_poller_leader",
			Help: "1 while this process is the poller leader (it polls), 0 on a standby."}),
		Acquired: prometheus.NewCounter(prometheus.CounterOpts{Name: "ghevents_poller_leadership_acquired_total",
			Help: "Times this process became the poller leader."}),
	}
	if reg != nil {
		reg.MustRegister(m.Leader, m.Acquired)
	}
	return m
}

// Elector takes part in the election. Run it once.
type Elector struct {
	cfg    Config
	log    *slog.Logger
	tick   time.Duration // between two attempts, and two checks of a leader
	probe  time.Duration // bound of one lock check
	settle time.Duration // a new leader's wait before its first round
	dead   time.Duration // a silent connection is given up after this

	connMu sync.Mutex
	conn   *store.LockConn

	leading atomic.Bool
	started atomic.Bool
	metrics *Metrics

	mu         sync.Mutex
	since      time.Time // start of the current term (leading only)
	connErr    error     // last failure of the lock connection; nil when it works
	termCancel context.CancelCauseFunc
	lostErr    error
}

// New checks cfg and returns an Elector.
func New(cfg Config) (*Elector, error) {
	if cfg.Store == nil {
		return nil, errors.New("leader: Store is required")
	}
	if cfg.Failover == 0 {
		cfg.Failover = DefaultFailover
	}
	if cfg.Failover < 0 {
		return nil, errors.New("leader: negative Failover")
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = host + ":" + strconv.Itoa(os.Getpid())
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	f := cfg.Failover
	return &Elector{
		cfg:     cfg,
		log:     cfg.Log.With(slog.String("poller_id", cfg.ID)),
		tick:    f / 5,
		probe:   f / 5,
		settle:  2 * f / 5,
		dead:    2 * f / 5,
		metrics: cfg.Metrics,
	}, nil
}

// Leading tells whether this process leads now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// LeadingSince is when the current term began; ok is false on a standby.
func (e *Elector) LeadingSince() (since time.Time, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading.Load() {
		return time.Time{}, false
	}
	return e.since, true
}

// setLeading records whether this process leads, for Leading and the
// ghevents_poller_leader gauge.
func (e *Elector) setLeading(v bool) {
	e.leading.Store(v)
	if v {
		e.metrics.Leader.Set(1)
	} else {
		e.metrics.Leader.Set(0)
	}
}

// Role is "leader" or "standby".
func (e *Elector) Role() string {
	if e.Leading() {
		return "leader"
	}
	return "standby"
}

// Ready is nil while the election works here: leading, or standing by on
// a lock connection that answers. It is the last connection error when
// this process could not take over.
func (e *Elector) Ready(context.Context) error {
	if e.Leading() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.connErr != nil {
		return fmt.Errorf("standby without a working lock connection: %w", e.connErr)
	}
	return nil
}

// Run takes part in the election until ctx ends. Whenever this process
// becomes leader it calls lead with a context that ends with the term (lost
// lock, or ctx); lead must return soon after (the poller drains and
// returns). When the term ends because ctx ended or lead failed, the lock
// is released at once for a standby to take. Run returns nil when ctx ends,
// or lead's error when it failed for another reason than the end of its
// term.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	if e.started.Swap(true) {
		return errors.New("leader: Run called twice")
	}
	defer e.dropConn()
	e.log.Info("poller election: standing by until this process holds the leader lock",
		slog.Int64("lock_key", e.cfg.Key), slog.Duration("failover", e.cfg.Failover))
	for {
		if err := e.acquire(ctx); err != nil {
			return nil // ctx ended
		}
		if err := e.term(ctx, lead); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// acquire tries to take the lock every tick until it has it or ctx ends.
func (e *Elector) acquire(ctx context.Context) error {
	announced := false
	for {
		got, err := e.tryLock(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.setConnErr(err)
		if got {
			return nil
		}
		if err == nil && !announced {
			announced = true
			attrs := []any{slog.Int64("lock_key", e.cfg.Key)}
			if h, err := e.holder(ctx); err == nil {
				attrs = append(attrs, slog.Int("leader_pid", int(h.PID)), slog.String("leader", h.ApplicationName))
			}
			e.log.Info("poller standby: another poller holds the leader lock", attrs...)
		}
		if err := backoff.Sleep(ctx, e.tick); err != nil {
			return err
		}
	}
}

// setConnErr records whether the lock connection works and logs changes.
func (e *Elector) setConnErr(err error) {
	e.mu.Lock()
	prev := e.connErr
	e.connErr = err
	e.mu.Unlock()
	switch {
	case err != nil && prev == nil:
		e.log.Warn("poller election: the lock connection failed; retrying", slog.String("error", err.Error()),
			slog.Duration("every", e.tick))
	case err == nil && prev != nil:
		e.log.Info("poller election: the lock connection works again")
	}
}

// tryLock connects when needed and tries the lock once.
func (e *Elector) tryLock(ctx context.Context) (bool, error) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.conn == nil {
		cctx, cancel := context.WithTimeout(ctx, e.dead)
		c, err := e.cfg.Store.ConnectLock(cctx, store.LockConnOptions{
			ApplicationName:  "ghevents poller " + e.cfg.ID,
			DeadPeer:         e.dead,
			StatementTimeout: e.probe,
		})
		cancel()
		if err != nil {
			return false, err
		}
		e.conn = c
	}
	cctx, cancel := context.WithTimeout(ctx, e.probe)
	defer cancel()
	got, err := e.conn.TryLock(cctx, e.cfg.Key)
	if err != nil {
		e.dropConnLocked()
		return false, err
	}
	return got, nil
}

// holder is the session holding the lock, for the standby's log line.
func (e *Elector) holder(ctx context.Context) (store.LockHolder, error) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.conn == nil {
		return store.LockHolder{}, ErrNotLeader
	}
	cctx, cancel := context.WithTimeout(ctx, e.probe)
	defer cancel()
	return e.conn.Holder(cctx, e.cfg.Key)
}

// term is one term as leader: settle, then lead until the lock is lost or
// ctx ends. It returns lead's error when lead failed on its own.
func (e *Elector) term(ctx context.Context, lead func(ctx context.Context) error) error {
	termCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	now := time.Now()
	e.mu.Lock()
	e.since, e.termCancel, e.lostErr = now, cancel, nil
	e.mu.Unlock()
	e.setLeading(true)
	e.metrics.Acquired.Inc()
	e.log.Info("poller leadership acquired: this process polls (after the settle wait)",
		slog.Int64("lock_key", e.cfg.Key), slog.Int("session_pid", int(e.pid())), slog.Duration("settle", e.settle))

	var watch sync.WaitGroup
	watch.Go(func() { e.watch(termCtx) })
	var err error
	if backoff.Sleep(termCtx, e.settle) == nil {
		err = lead(termCtx)
	}
	cancel(nil)
	watch.Wait()
	e.setLeading(false)
	e.mu.Lock()
	lost := e.lostErr
	e.termCancel = nil
	e.mu.Unlock()

	if lost != nil {
		e.dropConn()
		e.log.Info("poller standby again: the poller stopped after losing the leader lock",
			slog.Duration("term", time.Since(now).Round(time.Millisecond)))
		return nil
	}
	e.release()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// watch checks the lock every tick during a term and ends the term when
// the check fails.
func (e *Elector) watch(ctx context.Context) {
	t := time.NewTicker(e.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.check(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.lose(err)
			return
		}
	}
}

// Check verifies, on the lock connection, that this process still holds
// the lock: nil when it does; otherwise the term ends (the context given
// to lead is cancelled) and Check returns an error wrapping ErrLost (or
// ErrNotLeader outside a term). Use it as poller.Config.BeforeRound.
func (e *Elector) Check(ctx context.Context) error {
	if !e.Leading() {
		return ErrNotLeader
	}
	if err := e.check(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.lose(err)
		return fmt.Errorf("%w: %w", ErrLost, err)
	}
	return nil
}

func (e *Elector) check(ctx context.Context) error {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.conn == nil {
		return ErrNotLeader
	}
	cctx, cancel := context.WithTimeout(ctx, e.probe)
	defer cancel()
	held, err := e.conn.Holds(cctx, e.cfg.Key)
	switch {
	case err != nil:
		return err
	case !held:
		return errors.New("the session no longer holds the lock")
	}
	return nil
}

// lose ends the current term because the lock is gone.
func (e *Elector) lose(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.termCancel == nil || e.lostErr != nil {
		return
	}
	e.lostErr = err
	e.setLeading(false)
	e.termCancel(ErrLost)
	e.log.Warn("poller leadership lost: stopping polling", slog.String("error", err.Error()),
		slog.Duration("term", time.Since(e.since).Round(time.Millisecond)))
}

// release hands the lock over at the end of a term that was not lost.
func (e *Elector) release() {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.probe)
	defer cancel()
	if _, err := e.conn.Unlock(ctx, e.cfg.Key); err != nil {
		// Closing the session frees the lock all the same.
		e.dropConnLocked()
	}
	e.log.Info("poller leadership released")
}

func (e *Elector) pid() int32 {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.conn == nil {
		return 0
	}
	return e.conn.PID()
}

func (e *Elector) dropConn() {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	e.dropConnLocked()
}

func (e *Elector) dropConnLocked() {
	if e.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.probe)
	defer cancel()
	_ = e.conn.Close(ctx)
	e.conn = nil
}
