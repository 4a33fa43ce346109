// Package opsmetrics exposes the counters of the poller, of the poller
// election and of an import as Prometheus metrics. The poller and the
// importer keep their counters without knowing Prometheus; these
// collectors read them at each scrape.
package opsmetrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/poller"
)

// PollerCollector reads a poller.Metrics at each scrape.
type PollerCollector struct {
	m *poller.Metrics

	rounds, requests                           *prometheus.Desc
	pagesFetched, pagesStored, badPages        *prometheus.Desc
	eventsReceived, eventsStored, duplicates   *prometheus.Desc
	badEvents, refusedEvents, probableGaps     *prometheus.Desc
	rateRemaining, rateLimit, rateReset, queue *prometheus.Desc
	lastRound, lastWait                        *prometheus.Desc
}

// NewPollerCollector exposes m. Give it the Metrics the successive pollers
// of the process share (poller.Config.Metrics).
func NewPollerCollector(m *poller.Metrics) *PollerCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ghevents_poller_"+name, help, labels, nil)
	}
	return &PollerCollector{
		m:              m,
		rounds:         d("rounds_total", "Polling rounds by outcome: ok (first page 200), not_modified (304), failed (first page failed; retried after a wait).", "outcome"),
		requests:       d("github_requests_total", "Requests to the GitHub Events API by HTTP status (\"none\": no answer, such as a timeout or a connection error).", "status"),
		pagesFetched:   d("pages_fetched_total", "Pages received with a JSON body."),
		pagesStored:    d("pages_stored_total", "Pages whose events are all stored."),
		badPages:       d("bad_pages_total", "Answers 200 whose body was not a JSON array of events (retried)."),
		eventsReceived: d("events_received_total", "Events decoded from the pages fetched."),
		eventsStored:   d("events_stored_total", "Events newly stored."),
		duplicates:     d("duplicate_events_total", "Events fetched that were already stored (or repeated)."),
		badEvents:      d("bad_events_total", "Events the decoder refused (no id, bad timestamp...)."),
		refusedEvents:  d("refused_events_total", "Events the database refused (data jsonb rejects...)."),
		probableGaps:   d("probable_gaps_total", "Rounds that did not overlap the events already stored: events were probably missed."),
		rateRemaining:  d("rate_limit_remaining", "The last x-ratelimit-remaining GitHub sent (absent before any)."),
		rateLimit:      d("rate_limit_limit", "The last x-ratelimit-limit GitHub sent (absent before any)."),
		rateReset:      d("rate_limit_reset_timestamp_seconds", "When the rate-limit window renews, Unix time (absent before any)."),
		queue:          d("queue_depth", "Pages fetched waiting for an insert worker."),
		lastRound:      d("last_round_timestamp_seconds", "When the last round whose pages are all stored ended, Unix time (0: none yet in this process)."),
		lastWait:       d("last_wait_seconds", "The last wait chosen between two rounds."),
	}
}

// Describe implements prometheus.Collector.
func (c *PollerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rounds, c.requests, c.pagesFetched, c.pagesStored, c.badPages,
		c.eventsReceived, c.eventsStored, c.duplicates, c.badEvents, c.refusedEvents, c.probableGaps,
		c.rateRemaining, c.rateLimit, c.rateReset, c.queue, c.lastRound, c.lastWait} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PollerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Snapshot()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.rounds, s.Rounds-s.RoundsNotModified, "ok")
	counter(c.rounds, s.RoundsNotModified, "not_modified")
	counter(c.rounds, s.RoundsFailed, "failed")
	for status, n := range s.Requests {
		label := strconv.Itoa(status)
		if status == 0 {
			label = "none"
		}
		counter(c.requests, n, label)
	}
	counter(c.pagesFetched, s.PagesFetched)
	counter(c.pagesStored, s.PagesStored)
	counter(c.badPages, s.BadPages)
	counter(c.eventsReceived, s.EventsReceived)
	counter(c.eventsStored, s.EventsStored)
	counter(c.duplicates, s.Duplicates)
	counter(c.badEvents, s.BadEvents)
	counter(c.refusedEvents, s.RefusedEvents)
	counter(c.probableGaps, s.ProbableGaps)
	if s.RateRemaining >= 0 {
		gauge(c.rateRemaining, float64(s.RateRemaining))
	}
	if s.RateLimit >= 0 {
		gauge(c.rateLimit, float64(s.RateLimit))
	}
	if !s.RateReset.IsZero() {
		gauge(c.rateReset, float64(s.RateReset.Unix()))
	}
	gauge(c.queue, float64(s.QueueDepth))
	last := 0.0
	if !s.LastRound.IsZero() {
		last = float64(s.LastRound.UnixNano()) / 1e9
	}
	gauge(c.lastRound, last)
	gauge(c.lastWait, s.LastWait.Seconds())
}

// Leadership is what LeaderCollector reads; *leader.Elector has it.
type Leadership interface {
	Leading() bool
	Acquisitions() int64
}

// LeaderCollector exposes the poller election.
type LeaderCollector struct {
	l                Leadership
	leader, acquired *prometheus.Desc
}

// NewLeaderCollector exposes l.
func NewLeaderCollector(l Leadership) *LeaderCollector {
	return &LeaderCollector{
		l:        l,
		leader:   prometheus.NewDesc("ghevents_poller_leader", "1 while this process is the poller leader (it polls), 0 on a standby.", nil, nil),
		acquired: prometheus.NewDesc("ghevents_poller_leadership_acquired_total", "Times this process became the poller leader.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *LeaderCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.leader
	ch <- c.acquired
}

// Collect implements prometheus.Collector.
func (c *LeaderCollector) Collect(ch chan<- prometheus.Metric) {
	v := 0.0
	if c.l.Leading() {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(c.leader, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.CounterValue, float64(c.l.Acquisitions()))
}
