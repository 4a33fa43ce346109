package gharchive

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the follower's Prometheus metrics (ghevents_gharchive_*),
// updated where the work happens; one set serves the followers of the
// successive terms of a process.
type Metrics struct {
	// HoursImported counts the hours imported (recorded done); Gaps the
	// hours recorded as gaps; EventsStored the events the follower stored
	// first.
	HoursImported, Gaps, EventsStored prometheus.Counter
	// Retries counts the requests asked again, by reason: not_published
	// (404 before GHARCHIVE_GAP_AFTER), bad_download (cut short or
	// corrupt), error (server or network error, the database), gap (the
	// daily retry of a gap).
	Retries *prometheus.CounterVec
	// Lag is how far the newest imported hour is behind the newest hour
	// that has ended (what should be published), in seconds.
	Lag prometheus.Gauge

	baseURL atomic.Pointer[string]
	mu      sync.Mutex
	state   string
	newest  time.Time
	done    int64
	gaps    int64
	lag     time.Duration
}

// NewMetrics makes the follower's metrics and registers them on reg (nil:
// nowhere).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "ghevents_gharchive_" + name, Help: help})
	}
	m := &Metrics{
		HoursImported: counter("hours_imported_total", "GH Archive hours imported (every line stored)."),
		Gaps:          counter("gaps_total", "GH Archive hours recorded as gaps (missing after GHARCHIVE_GAP_AFTER, or cut short or corrupt after a few downloads)."),
		EventsStored:  counter("events_stored_total", "Events the GH Archive follower stored first."),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ghevents_gharchive_retries_total",
			Help: "GH Archive files asked again, by reason: not_published (404), bad_download (cut short or corrupt), error (server, network or database), gap (daily retry of a gap)."},
			[]string{"reason"}),
		Lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ghevents_gharchive_lag_seconds",
			Help: "How far the newest imported GH Archive hour is behind the newest hour that has ended."}),
		state: "not started",
	}
	for _, r := range []string{"not_published", "bad_download", "error", "gap"} {
		m.Retries.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.HoursImported, m.Gaps, m.EventsStored, m.Retries, m.Lag)
	}
	return m
}

func (m *Metrics) setState(s string) {
	m.mu.Lock()
	m.state = s
	m.mu.Unlock()
}

// observe records the state read from the database at now.
func (m *Metrics) observe(now, newest time.Time, ok bool, done, gaps int64) {
	latest := now.UTC().Truncate(time.Hour).Add(-time.Hour)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done, m.gaps = done, gaps
	if ok {
		m.newest = newest
		m.lag = max(latest.Sub(newest), 0)
		m.Lag.Set(m.lag.Seconds())
	}
}

// Status is the follower's state in words, for /readyz: what it is doing,
// the newest hour imported, the lag and the counts.
func (m *Metrics) Status() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state
	if u := m.baseURL.Load(); u != nil {
		s = *u + ": " + s
	}
	if !m.newest.IsZero() {
		s += "; newest hour imported " + m.newest.Format(time.RFC3339) + ", lag " + m.lag.String()
	}
	return s + "; " + plural(m.done, "hour") + " imported, " + plural(m.gaps, "gap")
}

func plural(n int64, word string) string {
	s := word
	if n != 1 {
		s += "s"
	}
	return strconv.FormatInt(n, 10) + " " + s
}
