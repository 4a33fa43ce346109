package poller

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/github"
)

// Metrics are the poller's Prometheus metrics (ghevents_poller_*), updated
// where the work happens. One set serves the successive pollers of a
// process (Config.Metrics), so the counters go on across terms.
type Metrics struct {
	// Rounds counts rounds by outcome: "ok" (first page 200), "not_modified"
	// (304), "failed" (first page failed; retried after a wait).
	Rounds *prometheus.CounterVec
	// Requests counts requests to GitHub by HTTP status ("none": no
	// answer, such as a timeout or a connection error).
	Requests *prometheus.CounterVec
	// PagesFetched counts pages received with a JSON body; PagesStored
	// those whose events are all stored; BadPages the 200 answers whose
	// body was not a JSON array (retried).
	PagesFetched, PagesStored, BadPages prometheus.Counter
	// EventsReceived counts the decoded events of the pages fetched; of
	// them EventsStored were newly stored, Duplicates already stored (or
	// repeated), RefusedEvents refused by the database. BadEvents counts
	// the events the decoder refused.
	EventsReceived, EventsStored, Duplicates, RefusedEvents, BadEvents prometheus.Counter
	// ProbableGaps counts rounds that did not overlap what was stored:
	// events were probably missed between two rounds.
	ProbableGaps prometheus.Counter
	// RateRemaining, RateLimit and RateReset (Unix seconds) are the last
	// x-ratelimit-* GitHub sent. Each has no label and no series until
	// GitHub first sends it.
	RateRemaining, RateLimit, RateReset *prometheus.GaugeVec
	// The same per feed (Config.Feed: "firehose", "repo:owner/name",
	// ...), beside the series above, which count every feed: rounds by
	// outcome, events newly stored, probable gaps, when the feed's last
	// complete round ended (Unix time), and the wait chosen after its last
	// round (its pace, stretched by the shared rate budget).
	FeedRounds                         *prometheus.CounterVec
	FeedEventsStored, FeedProbableGaps *prometheus.CounterVec
	FeedLastRound, FeedWait            *prometheus.GaugeVec
	feedLastRound                      sync.Map // feed -> time.Time
	feedWait                           sync.Map // feed -> Wait

	// Exposed as gauges read at each scrape; lastRound and lastWait are
	// also what readiness reads.
	queueLen  atomic.Pointer[func() int]
	lastRound atomic.Int64 // unix nanoseconds, 0 never
	lastWait  atomic.Int64 // nanoseconds
}

// NewMetrics makes the poller's metrics and registers them on reg (nil:
// nowhere, as in tests that read them with prometheus/testutil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "ghevents_poller_" + name, Help: help})
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ghevents_poller_" + name, Help: help}, nil)
	}
	m := &Metrics{
		Rounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_poller_rounds_total",
			Help: "Polling rounds by outcome: ok (first page 200), not_modified (304), failed (first page failed; retried after a wait)."}, []string{"outcome"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_poller_github_requests_total",
			Help: "Requests to the GitHub Events API by HTTP status (\"none\": no answer, such as a timeout or a connection error)."}, []string{"status"}),
		PagesFetched:   counter("pages_fetched_total", "Pages received with a JSON body."),
		PagesStored:    counter("pages_stored_total", "Pages whose events are all stored."),
		BadPages:       counter("bad_pages_total", "Answers 200 whose body was not a JSON array of events (retried)."),
		EventsReceived: counter("events_received_total", "Events decoded from the pages fetched."),
		EventsStored:   counter("events_stored_total", "Events newly stored."),
		Duplicates:     counter("duplicate_events_total", "Events fetched that were already stored (or repeated)."),
		BadEvents:      counter("bad_events_total", "Events the decoder refused (no id, bad timestamp...)."),
		RefusedEvents:  counter("refused_events_total", "Events the database refused (data jsonb rejects...)."),
		ProbableGaps:   counter("probable_gaps_total", "Rounds that did not overlap the events already stored: events were probably missed."),
		RateRemaining:  gauge("rate_limit_remaining", "The last x-ratelimit-remaining GitHub sent (absent before any)."),
		RateLimit:      gauge("rate_limit_limit", "The last x-ratelimit-limit GitHub sent (absent before any)."),
		RateReset:      gauge("rate_limit_reset_timestamp_seconds", "When the rate-limit window renews, Unix time (absent before any)."),
	}
	m.FeedRounds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_poller_feed_rounds_total",
		Help: "Polling rounds of each feed by outcome (ok, not_modified, failed)."}, []string{"feed", "outcome"})
	m.FeedEventsStored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_poller_feed_events_stored_total",
		Help: "Events newly stored from each feed."}, []string{"feed"})
	m.FeedProbableGaps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_poller_feed_probable_gaps_total",
		Help: "Rounds of each feed that did not overlap its previous events: events were probably missed."}, []string{"feed"})
	m.FeedLastRound = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ghevents_poller_feed_last_round_timestamp_seconds",
		Help: "When each feed's last complete round ended, Unix time."}, []string{"feed"})
	m.FeedWait = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ghevents_poller_feed_wait_seconds",
		Help: "The wait chosen after each feed's last round: its pace, stretched when the feeds would spend more than the rate limit leaves."}, []string{"feed"})
	// Every outcome is exposed from the start, at zero.
	for _, outcome := range []string{"ok", "not_modified", "failed"} {
		m.Rounds.WithLabelValues(outcome)
	}
	if reg != nil {
		reg.MustRegister(m.Rounds, m.Requests, m.PagesFetched, m.PagesStored, m.BadPages,
			m.EventsReceived, m.EventsStored, m.Duplicates, m.BadEvents, m.RefusedEvents, m.ProbableGaps,
			m.RateRemaining, m.RateLimit, m.RateReset,
			m.FeedRounds, m.FeedEventsStored, m.FeedProbableGaps, m.FeedLastRound, m.FeedWait,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ghevents_poller_queue_depth",
				Help: "Pages fetched waiting for an insert worker."}, func() float64 { return float64(m.QueueDepth()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ghevents_poller_last_round_timestamp_seconds",
				Help: "When the last round whose pages are all stored ended, Unix time (0: none yet in this process)."},
				func() float64 { return float64(m.lastRound.Load()) / 1e9 }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ghevents_poller_last_wait_seconds",
				Help: "The last wait chosen between two rounds."}, func() float64 { return m.LastWait().Seconds() }),
		)
	}
	return m
}

// QueueDepth is the number of pages waiting for an insert worker.
func (m *Metrics) QueueDepth() int {
	if f := m.queueLen.Load(); f != nil {
		return (*f)()
	}
	return 0
}

// LastRound is when the last round whose pages are all stored (or that was
// answered 304) ended; zero before the first.
func (m *Metrics) LastRound() time.Time {
	if t := m.lastRound.Load(); t > 0 {
		return time.Unix(0, t).UTC()
	}
	return time.Time{}
}

// LastWait is the last wait chosen between two rounds.
func (m *Metrics) LastWait() time.Duration { return time.Duration(m.lastWait.Load()) }

// round counts a round of feed by outcome.
func (m *Metrics) round(feed, outcome string) {
	m.Rounds.WithLabelValues(outcome).Inc()
	m.FeedRounds.WithLabelValues(feed, outcome).Inc()
}

// roundDone records the end of a complete round of feed.
func (m *Metrics) roundDone(feed string, at time.Time) {
	m.lastRound.Store(at.UnixNano())
	m.FeedLastRound.WithLabelValues(feed).Set(float64(at.UnixNano()) / 1e9)
	m.feedLastRound.Store(feed, at.UTC())
}

// waited records the wait chosen after a round of feed.
func (m *Metrics) waited(feed string, w Wait) {
	m.lastWait.Store(int64(w.D))
	m.FeedWait.WithLabelValues(feed).Set(w.D.Seconds())
	m.feedWait.Store(feed, w)
}

// FeedWaits is the wait chosen after each feed's last round.
func (m *Metrics) FeedWaits() map[string]Wait {
	out := map[string]Wait{}
	m.feedWait.Range(func(k, v any) bool {
		out[k.(string)] = v.(Wait)
		return true
	})
	return out
}

// FeedLastRounds is when each feed's last complete round ended.
func (m *Metrics) FeedLastRounds() map[string]time.Time {
	out := map[string]time.Time{}
	m.feedLastRound.Range(func(k, v any) bool {
		out[k.(string)] = v.(time.Time)
		return true
	})
	return out
}

// request counts a request by its answer's status (0: none came).
func (m *Metrics) request(status int) {
	label := "none"
	if status != 0 {
		label = strconv.Itoa(status)
	}
	m.Requests.WithLabelValues(label).Inc()
}

// rate keeps what the x-ratelimit-* headers said.
func (m *Metrics) rate(r github.RateLimit) {
	if !r.Known() {
		return
	}
	m.RateRemaining.WithLabelValues().Set(float64(r.Remaining))
	if r.Limit >= 0 {
		m.RateLimit.WithLabelValues().Set(float64(r.Limit))
	}
	if !r.Reset.IsZero() {
		m.RateReset.WithLabelValues().Set(float64(r.Reset.Unix()))
	}
}
