package poller

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghevents/ghevents/internal/github"
)

// Metrics are the poller's counters and gauges, all in one place, safe for
// concurrent use. Read them with Snapshot (a Prometheus collector, say,
// without the poller knowing about Prometheus).
type Metrics struct {
	rounds            atomic.Int64
	roundsNotModified atomic.Int64
	roundsFailed      atomic.Int64

	mu       sync.Mutex
	requests map[int]int64

	pagesFetched atomic.Int64
	pagesStored  atomic.Int64
	badPages     atomic.Int64

	eventsReceived atomic.Int64
	eventsStored   atomic.Int64
	duplicates     atomic.Int64
	badEvents      atomic.Int64
	refusedEvents  atomic.Int64
	probableGaps   atomic.Int64

	rateLimit     atomic.Int64
	rateRemaining atomic.Int64
	rateReset     atomic.Int64 // unix seconds, 0 unknown

	queueLen  atomic.Pointer[func() int]
	lastRound atomic.Int64 // unix nanoseconds, 0 never
	lastWait  atomic.Int64 // nanoseconds
}

// NewMetrics returns a set of counters at zero (rate limit unknown).
func NewMetrics() *Metrics {
	m := &Metrics{requests: map[int]int64{}}
	m.rateLimit.Store(-1)
	m.rateRemaining.Store(-1)
	return m
}

// Snapshot is the value of every counter at one moment.
type Snapshot struct {
	// Rounds counts rounds whose first page was answered (200 or 304);
	// RoundsNotModified those answered 304; RoundsFailed the attempts whose
	// first page failed (each is retried after a wait).
	Rounds, RoundsNotModified, RoundsFailed int64
	// Requests counts the requests to GitHub by HTTP status; 0 counts those
	// that got no answer (timeouts, connection errors).
	Requests map[int]int64
	// PagesFetched counts pages received with a JSON body; PagesStored
	// those whose events are all stored; BadPages the 200 answers whose
	// body was not a JSON array (retried).
	PagesFetched, PagesStored, BadPages int64
	// EventsReceived counts the decoded events of the pages fetched.
	EventsReceived int64
	// EventsStored counts events newly stored; Duplicates those already
	// stored (or repeated); the three add up to EventsReceived once every
	// page is stored.
	EventsStored, Duplicates int64
	// BadEvents counts events the decoder refused (no id, bad timestamp...);
	// RefusedEvents those the database refused (invalid JSON for jsonb...).
	BadEvents, RefusedEvents int64
	// ProbableGaps counts rounds that did not overlap what was stored:
	// events were probably missed between two rounds.
	ProbableGaps int64
	// RateLimit, RateRemaining are the last x-ratelimit-limit and
	// -remaining seen (-1 before any); RateReset when the window renews.
	RateLimit, RateRemaining int64
	RateReset                time.Time
	// QueueDepth is the number of pages waiting for an insert worker.
	QueueDepth int64
	// LastRound is when the last round whose pages are all stored (or that
	// was answered 304) ended; zero before the first.
	LastRound time.Time
	// LastWait is the last wait chosen between two rounds.
	LastWait time.Duration
}

// Snapshot reads every counter.
func (m *Metrics) Snapshot() Snapshot {
	m.mu.Lock()
	reqs := maps.Clone(m.requests)
	m.mu.Unlock()
	s := Snapshot{
		Rounds:            m.rounds.Load(),
		RoundsNotModified: m.roundsNotModified.Load(),
		RoundsFailed:      m.roundsFailed.Load(),
		Requests:          reqs,
		PagesFetched:      m.pagesFetched.Load(),
		PagesStored:       m.pagesStored.Load(),
		BadPages:          m.badPages.Load(),
		EventsReceived:    m.eventsReceived.Load(),
		EventsStored:      m.eventsStored.Load(),
		Duplicates:        m.duplicates.Load(),
		BadEvents:         m.badEvents.Load(),
		RefusedEvents:     m.refusedEvents.Load(),
		ProbableGaps:      m.probableGaps.Load(),
		RateLimit:         m.rateLimit.Load(),
		RateRemaining:     m.rateRemaining.Load(),
		LastWait:          time.Duration(m.lastWait.Load()),
	}
	if f := m.queueLen.Load(); f != nil {
		s.QueueDepth = int64((*f)())
	}
	if r := m.rateReset.Load(); r > 0 {
		s.RateReset = time.Unix(r, 0).UTC()
	}
	if t := m.lastRound.Load(); t > 0 {
		s.LastRound = time.Unix(0, t).UTC()
	}
	return s
}

func (m *Metrics) request(status int) {
	m.mu.Lock()
	m.requests[status]++
	m.mu.Unlock()
}

func (m *Metrics) rate(r github.RateLimit) {
	if !r.Known() {
		return
	}
	m.rateRemaining.Store(r.Remaining)
	if r.Limit >= 0 {
		m.rateLimit.Store(r.Limit)
	}
	if !r.Reset.IsZero() {
		m.rateReset.Store(r.Reset.Unix())
	}
}
