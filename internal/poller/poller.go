// Package poller polls the GitHub Events API into the store.
//
// One fetch loop runs rounds: it reads the first page (per_page=100, with
// If-None-Match) and follows Link rel="next" to the last page, decodes each
// page and puts it in a bounded queue; Workers insert workers take pages from
// the queue and store each in one statement (duplicates are dropped by the
// database). When the queue is full the fetch loop waits; nothing is
// dropped. Between rounds it waits the largest of POLL_INTERVAL,
// X-Poll-Interval, the adaptive pace and what the rate limit needs; after
// errors it waits what GitHub's headers ask, or backs off.
package poller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghevents/ghevents/internal/backoff"
	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// Store is what the poller needs of the database; *store.Store has it.
type Store interface {
	InsertEventsSkippingBad(ctx context.Context, events []model.Event) (store.InsertResult, error)
	PollerState(ctx context.Context, feed string) (store.PollerState, bool, error)
	SavePollerState(ctx context.Context, st store.PollerState) (bool, error)
	NewestEventTime(ctx context.Context) (time.Time, bool, error)
}

// ErrSkipRound, returned by BeforeRound, skips one round: the poller waits
// POLL_INTERVAL and asks again.
var ErrSkipRound = errors.New("skip this round")

// Defaults of the Config fields left zero.
const (
	DefaultWorkers         = 2
	DefaultQueueSize       = 1000
	DefaultInterval        = time.Minute
	DefaultMaxPace         = 5 * time.Minute
	DefaultShutdownGrace   = 15 * time.Second
	DefaultDBTimeout       = 30 * time.Second
	DefaultMaxPageAttempts = 3
)

// Config configures a Poller. Client and Store are required.
type Config struct {
	// Client fetches the pages.
	Client *github.Client
	// Store keeps the events and the polling state.
	Store Store
	// Logger receives the round lines and warnings (nil: discard).
	Logger *slog.Logger
	// Workers is the number of insert workers (POLL_WORKERS).
	Workers int
	// QueueSize is the number of pages the queue holds (POLL_QUEUE_SIZE).
	QueueSize int
	// Interval is the least wait between rounds (POLL_INTERVAL).
	Interval time.Duration
	// MaxPace bounds how far the adaptive pace lengthens the wait (it never
	// goes below Interval or X-Poll-Interval).
	MaxPace time.Duration
	// ShutdownGrace bounds the draining of the queue once ctx ends.
	ShutdownGrace time.Duration
	// DBTimeout bounds each database call.
	DBTimeout time.Duration
	// MaxPageAttempts is how many times a page after the first is tried
	// before the round ends early (the first page is retried, round after
	// round, for ever).
	MaxPageAttempts int
	// BeforeRound, when set, is called before every round (a leader lock
	// check, say). ErrSkipRound skips the round; any other error stops the
	// poller, which drains its queue and returns the error from Run.
	BeforeRound func(ctx context.Context) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits w.D or until ctx ends, returning ctx.Err() then (default:
	// a timer). Tests record the waits and skip them.
	Sleep func(ctx context.Context, w Wait) error
	// Rand returns a number in [0, 1) for the jitter of backoffs (default
	// math/rand/v2).
	Rand func() float64
	// Source is recorded with the events this poller stores first
	// (default model.SourceFirehose). The firehose also takes the newest
	// stored event, whatever its source, as the start of its gap check;
	// another feed (a watched repository) only its own newest event.
	Source model.Source
	// Feed names the feed in the per-feed metrics ("firehose",
	// "repo:owner/name"...; default "firehose").
	Feed string
	// Budget is the token's rate limit shared with the other pollers of
	// the process (nil: a budget of this poller's own). See Budget for how
	// the waits are planned on it.
	Budget *Budget
	// Metrics receives the counters (nil: a new set, registered nowhere).
	// Pass the same set to the successive pollers of one process (a Poller
	// runs once) to keep the counters going.
	Metrics *Metrics
}

// Poller polls one feed. Run it once; to poll again after Run returned
// (a standby that becomes leader again, say), make a new Poller.
type Poller struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	feed    string
	started atomic.Bool

	// Pages handed to the queue and pages whose events are all stored.
	enqueued, finished atomic.Int64

	// State of the fetch loop (its goroutine only).
	dec          github.Decoder
	pacer        pacer
	etag         string
	newest       time.Time
	prevIDs      map[eventKey]struct{}
	pollInterval time.Duration
	failures     int
	roundNo      int64
	seq          int64

	// Rounds whose pages are stored, waiting for earlier ones to be saved.
	saveMu   sync.Mutex
	saveable map[int64]*round
	nextSave int64
}

// New checks cfg, fills in the defaults and returns a Poller.
func New(cfg Config) (*Poller, error) {
	if cfg.Client == nil || cfg.Store == nil {
		return nil, errors.New("poller: Client and Store are required")
	}
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.QueueSize = cmp.Or(cfg.QueueSize, DefaultQueueSize)
	cfg.Interval = cmp.Or(cfg.Interval, DefaultInterval)
	cfg.MaxPace = cmp.Or(cfg.MaxPace, DefaultMaxPace)
	cfg.ShutdownGrace = cmp.Or(cfg.ShutdownGrace, DefaultShutdownGrace)
	cfg.DBTimeout = cmp.Or(cfg.DBTimeout, DefaultDBTimeout)
	cfg.MaxPageAttempts = cmp.Or(cfg.MaxPageAttempts, DefaultMaxPageAttempts)
	if cfg.Workers < 0 || cfg.QueueSize < 0 || cfg.Interval < 0 || cfg.MaxPace < 0 || cfg.ShutdownGrace < 0 || cfg.DBTimeout < 0 || cfg.MaxPageAttempts < 0 {
		return nil, errors.New("poller: negative setting")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	cfg.Source = cmp.Or(cfg.Source, model.SourceFirehose)
	cfg.Feed = cmp.Or(cfg.Feed, "firehose")
	if cfg.Budget == nil {
		cfg.Budget = NewBudget()
	}
	return &Poller{
		cfg:      cfg,
		log:      cfg.Logger,
		metrics:  cfg.Metrics,
		feed:     cfg.Client.EventsURL(),
		pacer:    pacer{interval: cfg.Interval, maxPace: cfg.MaxPace},
		saveable: map[int64]*round{},
		nextSave: 1,
	}, nil
}

// sleep is the real Sleep.
func sleep(ctx context.Context, w Wait) error { return backoff.Sleep(ctx, w.D) }

// Run polls until ctx ends (then it returns nil) or BeforeRound fails (then
// it returns that error). Either way it stops fetching and lets the insert
// workers store the pages already fetched, for at most ShutdownGrace, and
// logs how many pages were left unstored.
func (p *Poller) Run(ctx context.Context) error {
	if p.started.Swap(true) {
		return errors.New("poller: Run called twice")
	}
	defer p.cfg.Budget.leave(p.cfg.Feed)
	queue := make(chan *page, p.cfg.QueueSize)
	queueLen := func() int { return len(queue) }
	p.metrics.queueLen.Store(&queueLen)
	// The workers outlive ctx: they drain the queue during the grace period.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Go(func() { p.work(workCtx, queue) })
	}
	p.log.Info("poller started", slog.String("feed", p.feed), slog.Int("workers", p.cfg.Workers),
		slog.Int("queue_size", p.cfg.QueueSize), slog.Duration("poll_interval", p.cfg.Interval))

	held, err := p.fetchLoop(ctx, queue)

	start := time.Now()
	grace, cancelGrace := context.WithTimeout(workCtx, p.cfg.ShutdownGrace)
	defer cancelGrace()
	heldLeft := 0
	if held != nil {
		select {
		case queue <- held:
			p.enqueued.Add(1)
		case <-grace.Done():
			heldLeft = 1
		}
	}
	close(queue)
	p.log.Info("poller stopping: storing the pages already fetched",
		slog.Int64("pages_queued", p.enqueued.Load()-p.finished.Load()), slog.Duration("grace", p.cfg.ShutdownGrace))
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-grace.Done():
		stopWork()
		<-drained
	}
	left := p.enqueued.Load() - p.finished.Load() + int64(heldLeft)
	attrs := []any{slog.Int64("pages_left", left), slog.Duration("drain", time.Since(start).Round(time.Millisecond))}
	if left > 0 {
		p.log.Warn("poller stopped before storing every page fetched: the shutdown grace period ran out", attrs...)
	} else {
		p.log.Info("poller stopped", attrs...)
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// fetchLoop runs rounds until ctx ends or BeforeRound fails. held is a
// page fetched but not yet queued when ctx ended.
func (p *Poller) fetchLoop(ctx context.Context, queue chan<- *page) (held *page, err error) {
	if err := p.resume(ctx); err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.cfg.BeforeRound != nil {
			if err := p.cfg.BeforeRound(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if !errors.Is(err, ErrSkipRound) {
					return nil, fmt.Errorf("before round: %w", err)
				}
				p.log.Info("poll round skipped", slog.String("why", err.Error()))
				if err := p.cfg.Sleep(ctx, Wait{D: max(p.cfg.Interval, p.pollInterval), Why: WhySkipped}); err != nil {
					return nil, err
				}
				continue
			}
		}
		w, held, err := p.round(ctx, queue)
		if err != nil {
			return held, err
		}
		p.metrics.waited(p.cfg.Feed, w)
		if err := p.cfg.Sleep(ctx, w); err != nil {
			return nil, err
		}
		if w.Why == WhyRateLimit {
			// The wait for the window to renew is served (capped at
			// github.MaxRateLimitWait): ask again, and let the answer say
			// what is left. Without this, a reset time beyond the cap
			// (x-ratelimit-reset in the year 9999) kept the poller waiting
			// round after round without a request.
			p.cfg.Budget.forgetExhausted()
		}
	}
}

// resume loads the saved state: the ETag, the newest event, and the round
// that was due when the poller stopped (it waits for it).
func (p *Poller) resume(ctx context.Context) error {
	dbctx, cancel := context.WithTimeout(ctx, p.cfg.DBTimeout)
	defer cancel()
	st, ok, err := p.cfg.Store.PollerState(dbctx, p.feed)
	if err != nil {
		p.log.Warn("cannot read the saved polling state: starting without it", slog.String("error", err.Error()))
	}
	if ok {
		p.etag, p.newest = st.ETag, st.NewestEventAt
	}
	if p.cfg.Source != model.SourceFirehose {
		// A watched feed's gap check starts from its own newest event
		// (saved with its state), not the newest of every source.
		if !ok {
			return nil
		}
		return p.waitDue(ctx, st)
	}
	newest, found, err := p.cfg.Store.NewestEventTime(dbctx)
	switch {
	case err != nil:
		p.log.Warn("cannot read the newest stored event: the first round will not be checked for a gap", slog.String("error", err.Error()))
	case found && newest.After(p.newest):
		p.newest = newest
	}
	if !ok {
		return nil
	}
	return p.waitDue(ctx, st)
}

// waitDue waits for the round that was due when the poller stopped.
func (p *Poller) waitDue(ctx context.Context, st store.PollerState) error {
	due := st.NextRoundAt.Sub(p.cfg.Now())
	if due <= 0 {
		return nil
	}
	w := Wait{D: min(due, github.MaxRateLimitWait), Why: WhyResume}
	p.log.Info("resuming: waiting for the round planned before the last stop",
		slog.Time("next_round_at", st.NextRoundAt), slog.Duration("wait", w.D))
	return p.cfg.Sleep(ctx, w)
}

// eventKey is an event's identity.
type eventKey struct {
	id, createdAt int64
}

// round is one round: its facts, then how its pages were stored.
type round struct {
	no, seq     int64
	start       time.Time
	etag        string
	pages       int
	requests    int // answered 200 or 422: what the round cost the rate limit
	received    int
	bad         int
	ids         map[eventKey]struct{}
	overlap     int
	oldest      time.Time
	newest      time.Time
	reachedLast bool
	notModified bool

	// Set when the round is sealed (all its pages fetched).
	wait     Wait
	paceNote string
	rate     github.RateLimit
	endedBy  string

	mu                    sync.Mutex
	pending               int
	sealed, completed     bool
	stored, dups, refused int64
}

// page is one decoded page on its way to an insert worker.
type page struct {
	round  *round
	n      int
	events []model.Event
}

// round runs one round and returns the wait before the next. err is set
// only when ctx ended; held is then a page not yet queued.
func (p *Poller) round(ctx context.Context, queue chan<- *page) (Wait, *page, error) {
	// Never spend a request the window does not have: an answer said
	// nothing is left before the reset.
	if rate := p.cfg.Budget.current(); rate.Exhausted() {
		if d, ok := rate.UntilReset(p.cfg.Now()); ok {
			p.log.Info("rate limit exhausted: waiting for its reset before the next round",
				slog.Duration("wait", d), rateAttr(rate))
			return Wait{D: d, Why: WhyRateLimit}, nil, nil
		}
	}
	r := &round{start: p.cfg.Now(), ids: map[eventKey]struct{}{}}
	newestBefore := p.newest
	known := !newestBefore.IsZero()
	url := p.cfg.Client.FirstPageURL()
	var cut *Wait
	for n := 1; ; n++ {
		if rate := p.cfg.Budget.current(); n > 1 && rate.Exhausted() {
			if _, ok := rate.UntilReset(p.cfg.Now()); ok {
				r.endedBy = "rate limit exhausted"
				break
			}
		}
		etag := ""
		if n == 1 {
			etag = p.etag
		}
		f, err := p.fetchPage(ctx, r, n, url, etag)
		pg, events, retry := f.page, f.events, f.retry
		if err != nil {
			if ctx.Err() != nil {
				return Wait{}, nil, ctx.Err()
			}
			if n == 1 {
				p.metrics.round(p.cfg.Feed, "failed")
				p.log.Warn("poll round failed", slog.String("error", err.Error()), slog.Int("attempt", p.failures),
					slog.Duration("wait", retry.D), slog.String("why", retry.Why), rateAttr(p.cfg.Budget.current()))
				return retry, nil, nil
			}
			r.endedBy = fmt.Sprintf("page %d failed %d times", n, p.cfg.MaxPageAttempts)
			cut = &retry
			p.log.Warn("poll round ended early", slog.Int("page", n), slog.String("error", err.Error()),
				slog.Duration("wait", retry.D), slog.String("why", retry.Why))
			break
		}
		if n == 1 {
			p.begin(r, pg)
		}
		if pg == nil { // 422: pagination limit
			r.requests++
			r.reachedLast = true
			r.endedBy = fmt.Sprintf("pagination limit at page %d", n)
			break
		}
		if pg.NotModified {
			r.notModified = true
			r.endedBy = "not modified"
			break
		}
		if n == 1 {
			r.etag = pg.ETag
		}
		r.add(events)
		if held, err := p.enqueue(ctx, queue, &page{round: r, n: n, events: events}); err != nil {
			return Wait{}, held, err
		}
		if pg.LinkErr != nil {
			r.endedBy = "unusable Link header"
			p.log.Warn("poll round ended early: unusable Link header", slog.Int("page", n), slog.String("error", pg.LinkErr.Error()))
			break
		}
		if pg.Next == "" {
			r.reachedLast = true
			r.endedBy = "last page"
			break
		}
		url = pg.Next
	}
	return p.seal(r, newestBefore, known, cut), nil, nil
}

// begin numbers a round whose first page was answered, and counts it by
// outcome (pg is nil for a 422).
func (p *Poller) begin(r *round, pg *github.Page) {
	p.roundNo++
	r.no = p.roundNo
	if pg != nil && pg.NotModified {
		p.metrics.round(p.cfg.Feed, "not_modified")
	} else {
		p.metrics.round(p.cfg.Feed, "ok")
	}
}

// add counts a page of events the round fetched.
func (r *round) add(events []model.Event) {
	r.pages++
	r.requests++
	r.received += len(events)
	for _, e := range events {
		r.ids[eventKey{e.ID, e.CreatedAt.Unix()}] = struct{}{}
		if r.oldest.IsZero() || e.CreatedAt.Before(r.oldest) {
			r.oldest = e.CreatedAt
		}
		if e.CreatedAt.After(r.newest) {
			r.newest = e.CreatedAt
		}
	}
}

// enqueue hands pg to the insert workers, waiting while the queue is full.
// When ctx ends first it returns ctx's error and pg, which is then held
// for the workers to store after the round.
func (p *Poller) enqueue(ctx context.Context, queue chan<- *page, pg *page) (*page, error) {
	pg.round.mu.Lock()
	pg.round.pending++
	pg.round.mu.Unlock()
	select {
	case queue <- pg:
		p.enqueued.Add(1)
		return nil, nil
	case <-ctx.Done():
		return pg, ctx.Err()
	}
}

// fetched is what fetchPage got.
type fetched struct {
	// page is nil for a 422 past the first page, which ends the round.
	page   *github.Page
	events []model.Event
	// retry is the wait GitHub's answer (or the backoff) asks for after an error.
	retry Wait
}

// fetchPage gets page n and decodes it, trying a page after the first up
// to MaxPageAttempts times (the first page is retried by the next round).
func (p *Poller) fetchPage(ctx context.Context, r *round, n int, url, etag string) (fetched, error) {
	for attempt := 1; ; attempt++ {
		pg, err := p.cfg.Client.Fetch(ctx, url, etag)
		if ctx.Err() != nil {
			return fetched{}, ctx.Err()
		}
		var se *github.StatusError
		switch {
		case err == nil:
			p.metrics.request(pg.StatusCode)
			p.observe(pg.Rate, pg.PollInterval)
		case errors.As(err, &se):
			p.metrics.request(se.StatusCode)
			p.observe(se.Rate, se.PollInterval)
		default:
			p.metrics.request(0)
		}
		var events []model.Event
		if err == nil && !pg.NotModified {
			var bad []*github.BadEventError
			events, bad, err = p.dec.Page(pg.Body)
			if err != nil {
				p.metrics.BadPages.Inc()
				err = fmt.Errorf("page %d (%s): %w", n, pg.URL, err)
			} else {
				for i := range events {
					events[i].Source = p.cfg.Source
				}
				p.metrics.PagesFetched.Inc()
				p.metrics.EventsReceived.Add(float64(len(events)))
				p.reportBad(n, bad)
				r.bad += len(bad)
			}
		}
		if err == nil {
			p.failures = 0
			return fetched{page: pg, events: events}, nil
		}
		if n > 1 && github.IsPaginationLimit(err) {
			p.failures = 0
			return fetched{}, nil
		}
		p.failures++
		d, why := github.RetryDelay(err, p.failures, p.cfg.Now(), p.cfg.Rand())
		retry := Wait{D: d, Why: string(why)}
		if n == 1 || attempt >= p.cfg.MaxPageAttempts {
			return fetched{retry: retry}, err
		}
		p.log.Warn("page failed: retrying", slog.Int("page", n), slog.Int("attempt", attempt),
			slog.String("error", err.Error()), slog.Duration("wait", retry.D), slog.String("why", retry.Why))
		if err := p.cfg.Sleep(ctx, retry); err != nil {
			return fetched{}, err
		}
	}
}

// observe keeps what the headers of an answer said.
func (p *Poller) observe(rate github.RateLimit, pollInterval time.Duration) {
	if rate.Known() {
		p.cfg.Budget.observe(rate)
		p.metrics.rate(rate)
	}
	if pollInterval > 0 {
		p.pollInterval = pollInterval
	}
}

// reportBad logs the events the decoder refused (at most 5 lines a page).
func (p *Poller) reportBad(n int, bad []*github.BadEventError) {
	if len(bad) == 0 {
		return
	}
	p.metrics.BadEvents.Add(float64(len(bad)))
	for i, b := range bad {
		if i == 5 {
			p.log.Warn("more bad events skipped on this page", slog.Int("page", n), slog.Int("count", len(bad)-i))
			break
		}
		p.log.Warn("bad event skipped", slog.Int("page", n), slog.Int("index", b.Index), slog.String("id", b.ID), slog.String("reason", b.Reason))
	}
}

// seal ends a round: gap check, pace, wait. The round's log line is
// written once its pages are stored (at once when it has none).
func (p *Poller) seal(r *round, newestBefore time.Time, known bool, cut *Wait) Wait {
	now := p.cfg.Now()
	if r.newest.After(p.newest) {
		p.newest = r.newest
	}
	switch {
	case r.notModified:
	case r.reachedLast:
		p.etag = r.etag
	default:
		// Pages were missed: the next round must not be answered 304.
		p.etag = ""
	}
	gap := known && r.reachedLast && r.received > 0 && r.oldest.After(newestBefore)
	if gap {
		p.metrics.ProbableGaps.Inc()
		p.metrics.FeedProbableGaps.WithLabelValues(p.cfg.Feed).Inc()
		p.log.Warn("probable gap: this round did not overlap the events already stored; events in between were probably missed (poll sooner, or set GITHUB_TOKEN)",
			slog.Int64("round", r.no), slog.Time("newest_stored", newestBefore), slog.Time("oldest_fetched", r.oldest),
			slog.Duration("gap", r.oldest.Sub(newestBefore)))
	}
	for k := range r.ids {
		if _, seen := p.prevIDs[k]; seen {
			r.overlap++
		}
	}
	r.paceNote = p.pacer.adjust(roundFacts{
		notModified: r.notModified, gap: gap, comparable: p.prevIDs != nil,
		distinct: len(r.ids), overlap: r.overlap,
	}, p.pollInterval)
	if !r.notModified {
		p.prevIDs = r.ids
	}
	w := chooseWait(p.cfg.Interval, p.pollInterval, p.pacer.pace)
	if need, ok := p.cfg.Budget.plan(p.cfg.Feed, w.D, r.requests, now); ok && need > w.D {
		w = Wait{D: need, Why: WhyRateLimit}
	}
	if cut != nil && cut.D > w.D {
		w = *cut
	}
	r.wait, r.rate = w, p.cfg.Budget.current()
	if r.pages > 0 {
		p.seq++
		r.seq = p.seq
	}

	r.mu.Lock()
	r.sealed = true
	done := r.pending == 0 && !r.completed
	r.completed = r.completed || done
	r.mu.Unlock()
	if done {
		p.complete(context.Background(), r)
	}
	return w
}

// complete logs a round whose pages are all stored and saves the polling
// state, in round order.
func (p *Poller) complete(ctx context.Context, r *round) {
	p.metrics.roundDone(p.cfg.Feed, p.cfg.Now())
	attrs := []any{
		slog.Int64("round", r.no),
		slog.Int("pages", r.pages),
		slog.Int("events", r.received),
		slog.Int64("stored", r.stored),
		slog.Int64("duplicates", r.dups),
		slog.Int("bad", r.bad+int(r.refused)),
		slog.Int("overlap", r.overlap),
		slog.Bool("not_modified", r.notModified),
		slog.String("ended_by", r.endedBy),
		slog.Duration("wait", r.wait.D),
		slog.String("why", r.wait.Why),
		slog.String("pace", r.paceNote),
		rateAttr(r.rate),
	}
	p.log.Info("poll round", attrs...)
	if r.seq == 0 {
		return
	}
	p.saveMu.Lock()
	p.saveable[r.seq] = r
	var last *round
	for {
		next, ok := p.saveable[p.nextSave]
		if !ok {
			break
		}
		delete(p.saveable, p.nextSave)
		p.nextSave++
		last = next
	}
	p.saveMu.Unlock()
	if last == nil {
		return
	}
	st := store.PollerState{Feed: p.feed, RoundAt: last.start, NextRoundAt: last.start.Add(last.wait.D), NewestEventAt: last.newest}
	if last.reachedLast {
		st.ETag = last.etag
	}
	dbctx, cancel := context.WithTimeout(ctx, p.cfg.DBTimeout)
	defer cancel()
	if _, err := p.cfg.Store.SavePollerState(dbctx, st); err != nil {
		p.log.Warn("cannot save the polling state", slog.Int64("round", last.no), slog.String("error", err.Error()))
	}
}

func rateAttr(r github.RateLimit) slog.Attr {
	if !r.Known() {
		return slog.Group("rate", slog.String("remaining", "unknown"))
	}
	return slog.Group("rate", slog.Int64("remaining", r.Remaining), slog.Int64("limit", r.Limit), slog.Time("reset", r.Reset))
}

// work is one insert worker: it stores pages until the queue is closed and
// empty. Once ctx ends (the grace period ran out) it only empties the queue.
func (p *Poller) work(ctx context.Context, queue <-chan *page) {
	for pg := range queue {
		if ctx.Err() != nil {
			continue
		}
		p.store(ctx, pg)
	}
}

// store writes one page, retrying with backoff while the database fails.
// Events the database refuses because of their own data are counted and
// skipped (store.InsertEventsSkippingBad isolates them).
func (p *Poller) store(ctx context.Context, pg *page) {
	var stored int64
	for attempt := 1; ; attempt++ {
		dbctx, cancel := context.WithTimeout(ctx, p.cfg.DBTimeout)
		res, err := p.cfg.Store.InsertEventsSkippingBad(dbctx, pg.events)
		cancel()
		stored += res.Stored
		if err == nil {
			for _, rj := range res.Rejected {
				p.log.Warn("event refused by the database: skipped", slog.Int64("id", rj.Event.ID),
					slog.Time("created_at", rj.Event.CreatedAt), slog.String("error", rj.Err.Error()))
			}
			p.pageStored(ctx, pg, stored, int64(len(res.Rejected)))
			return
		}
		if ctx.Err() != nil {
			return
		}
		w := Wait{D: backoff.Jitter(backoff.Step(dbRetryBase, dbRetryMax, attempt), p.cfg.Rand()), Why: WhyDBRetry}
		if attempt == 1 || attempt%10 == 0 {
			p.log.Warn("cannot store page: retrying", slog.Int64("round", pg.round.no), slog.Int("page", pg.n),
				slog.Int("attempt", attempt), slog.Bool("database_unavailable", store.IsUnavailable(err)),
				slog.String("error", err.Error()), slog.Duration("wait", w.D))
		}
		if err := p.cfg.Sleep(ctx, w); err != nil {
			return
		}
	}
}

// pageStored counts a stored page and completes its round when it was the
// last one.
func (p *Poller) pageStored(ctx context.Context, pg *page, stored, refused int64) {
	dups := max(int64(len(pg.events))-stored-refused, 0)
	p.metrics.EventsStored.Add(float64(stored))
	p.metrics.FeedEventsStored.WithLabelValues(p.cfg.Feed).Add(float64(stored))
	p.metrics.Duplicates.Add(float64(dups))
	p.metrics.RefusedEvents.Add(float64(refused))
	p.metrics.PagesStored.Inc()
	p.finished.Add(1)
	r := pg.round
	r.mu.Lock()
	r.stored += stored
	r.dups += dups
	r.refused += refused
	r.pending--
	done := r.sealed && r.pending == 0 && !r.completed
	r.completed = r.completed || done
	r.mu.Unlock()
	if done {
		p.complete(ctx, r)
	}
}
