// Package telemetry is what operators watch, and the one place that serves
// it: /healthz, /readyz and the Prometheus exposition at /internal/metrics
// (the /metrics/... paths belong to the GitHub metrics). Each process builds
// one Registry: the API's HTTP metrics and the database pools' statistics
// are defined here; the poller, the election and the import register their
// own metrics on it and update them where the work happens.
package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where the Prometheus exposition is served.
const MetricsPath = "/internal/metrics"

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Check is one readiness condition: nil means ready.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Detail, when set, is shown instead of "ok" when the check passes
	// (a poller's role, "leader" or "standby", say).
	Detail func() string
}

// Field is a value /readyz shows beside its checks, such as the read
// replica's lag; it does not decide readiness.
type Field struct {
	Name string
	// Value is the field's value (nil is shown as null).
	Value func(ctx context.Context) any
}

// Register adds /healthz, /readyz and /internal/metrics to mux. /readyz
// answers {"checks":{...},"status":...} and the fields.
func Register(mux *http.ServeMux, reg *prometheus.Registry, checks []Check, fields ...Field) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, code := "ok", http.StatusOK
		results := map[string]string{}
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				results[c.Name] = err.Error()
				status, code = "unavailable", http.StatusServiceUnavailable
			} else if c.Detail != nil {
				results[c.Name] = c.Detail()
			} else {
				results[c.Name] = "ok"
			}
		}
		answer := map[string]any{"status": status, "checks": results}
		for _, f := range fields {
			answer[f.Name] = f.Value(ctx)
		}
		writeJSON(w, code, answer)
	})
	mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// HTTPMetrics counts requests by route and status and times them.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTPMetrics registers the HTTP metrics on reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghevents_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ghevents_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ghevents_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// Observe records one finished request. route is the ServeMux pattern that
// served it ("" for none: a 404), so the label set stays small whatever
// paths clients try.
func (m *HTTPMetrics) Observe(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Started and Finished track requests in flight.
func (m *HTTPMetrics) Started() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// Finished marks a request done.
func (m *HTTPMetrics) Finished() {
	if m != nil {
		m.inFlight.Dec()
	}
}

// poolCollector exposes a pgx pool's statistics.
type poolCollector struct {
	pool                                                *pgxpool.Pool
	total, idle, acquired, constructing, maxConns       *prometheus.Desc
	acquires, emptyAcquires, canceledAcquires, acquireS *prometheus.Desc
}

// NewPoolCollector exposes pool's statistics labelled pool=name.
func NewPoolCollector(name string, pool *pgxpool.Pool) prometheus.Collector {
	l := prometheus.Labels{"pool": name}
	d := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc("ghevents_db_pool_"+metric, help, nil, l)
	}
	return &poolCollector{
		pool:             pool,
		total:            d("connections", "Connections open in the pool."),
		idle:             d("idle_connections", "Idle connections."),
		acquired:         d("acquired_connections", "Connections in use."),
		constructing:     d("constructing_connections", "Connections being opened."),
		maxConns:         d("max_connections", "The pool's maximum size."),
		acquires:         d("acquires_total", "Successful acquires."),
		emptyAcquires:    d("empty_acquires_total", "Acquires that had to wait for a connection."),
		canceledAcquires: d("canceled_acquires_total", "Acquires cancelled by their context."),
		acquireS:         d("acquire_seconds_total", "Time spent acquiring connections."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.acquired, c.constructing, c.maxConns,
		c.acquires, c.emptyAcquires, c.canceledAcquires, c.acquireS} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	k := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.total, float64(s.TotalConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.constructing, float64(s.ConstructingConns()))
	g(c.maxConns, float64(s.MaxConns()))
	k(c.acquires, float64(s.AcquireCount()))
	k(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	k(c.canceledAcquires, float64(s.CanceledAcquireCount()))
	k(c.acquireS, s.AcquireDuration().Seconds())
}

// replicaLagCollector exposes the read replica's lag.
type replicaLagCollector struct {
	lag  func(ctx context.Context) (float64, bool)
	desc *prometheus.Desc
}

// NewReplicaLagCollector exposes ghevents_replica_lag_seconds, read from
// lag at each scrape: 0 while the replica has replayed all it received,
// else the age of the last transaction it replayed. While lag cannot say
// (the replica away), the gauge is absent rather than a made-up number.
func NewReplicaLagCollector(lag func(ctx context.Context) (float64, bool)) prometheus.Collector {
	return &replicaLagCollector{lag: lag, desc: prometheus.NewDesc("ghevents_replica_lag_seconds",
		"How far the read replica is behind: 0 when it has replayed all the WAL it received, else the age of the last transaction it replayed. Absent while the replica cannot be asked.",
		nil, nil)}
}

func (c *replicaLagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *replicaLagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if seconds, ok := c.lag(ctx); ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, seconds)
	}
}
