package poller_test

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/ghevents/ghevents/internal/poller"
)

// snapshot is the value of every poller metric at one moment, read with
// prometheus/testutil, by the names the tests check.
type snapshot struct {
	// Rounds counts rounds whose first page was answered (200 or 304).
	Rounds, RoundsNotModified, RoundsFailed int64
	// Requests by HTTP status; 0 for "none".
	Requests                                 map[int]int64
	PagesFetched, PagesStored, BadPages      int64
	EventsReceived, EventsStored, Duplicates int64
	BadEvents, RefusedEvents, ProbableGaps   int64
	// RateLimit and RateRemaining are -1, RateReset zero, before any.
	RateLimit, RateRemaining int64
	RateReset                time.Time
	QueueDepth               int64
	LastRound                time.Time
	LastWait                 time.Duration
}

func read(m *poller.Metrics) snapshot {
	n := func(c prometheus.Collector) int64 { return int64(testutil.ToFloat64(c)) }
	optional := func(v *prometheus.GaugeVec) int64 {
		if testutil.CollectAndCount(v) == 0 {
			return -1
		}
		return n(v)
	}
	s := snapshot{
		Rounds:            n(m.Rounds.WithLabelValues("ok")) + n(m.Rounds.WithLabelValues("not_modified")),
		RoundsNotModified: n(m.Rounds.WithLabelValues("not_modified")),
		RoundsFailed:      n(m.Rounds.WithLabelValues("failed")),
		Requests:          map[int]int64{},
		PagesFetched:      n(m.PagesFetched),
		PagesStored:       n(m.PagesStored),
		BadPages:          n(m.BadPages),
		EventsReceived:    n(m.EventsReceived),
		EventsStored:      n(m.EventsStored),
		Duplicates:        n(m.Duplicates),
		BadEvents:         n(m.BadEvents),
		RefusedEvents:     n(m.RefusedEvents),
		ProbableGaps:      n(m.ProbableGaps),
		RateLimit:         optional(m.RateLimit),
		RateRemaining:     optional(m.RateRemaining),
		QueueDepth:        int64(m.QueueDepth()),
		LastRound:         m.LastRound(),
		LastWait:          m.LastWait(),
	}
	if reset := optional(m.RateReset); reset >= 0 {
		s.RateReset = time.Unix(reset, 0).UTC()
	}
	ch := make(chan prometheus.Metric)
	go func() { m.Requests.Collect(ch); close(ch) }()
	for c := range ch {
		var d dto.Metric
		if err := c.Write(&d); err != nil {
			panic(err)
		}
		status, _ := strconv.Atoi(d.GetLabel()[0].GetValue()) // "none" gives 0
		s.Requests[status] = int64(d.GetCounter().GetValue())
	}
	return s
}
