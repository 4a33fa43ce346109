// Package api serves ghevents over HTTP: the metrics as JSON operations
// (Huma v2, OpenAPI 3.1), the charts as HTML operations, the interactive docs
// with their assets embedded, and the / redirect. It reads the database only
// through internal/store.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
)

// Config is what the API needs.
type Config struct {
	// Store answers the metric queries.
	Store *store.Store
	// Log receives one line per request and the errors.
	Log *slog.Logger
	// QueryTimeout bounds each request's database work (0: 5 s).
	QueryTimeout time.Duration
	// Version is shown in the OpenAPI document.
	Version string
	// Now is the clock (nil: time.Now); tests fix it.
	Now func() time.Time
	// ChartMaxPoints caps the points drawn per chart series (0: 2,000).
	ChartMaxPoints int
	// Registry, when set, receives the HTTP metrics and is served at
	// /internal/metrics.
	Registry *prometheus.Registry
	// ReadyChecks are what /readyz checks (nil: the database is reachable
	// and its schema current).
	ReadyChecks []telemetry.Check
	// RateLimit is how many requests a second one client (IP address) may
	// send, with RateBurst more at once; over it, 429 with Retry-After.
	// 0 turns the limit off. /healthz, /readyz and /internal/metrics are
	// not limited.
	RateLimit float64
	RateBurst int
	// CORSOrigins are the origins of the web pages that may call the API
	// (CORS): nil, none; ["*"], any; else each scheme://host[:port].
	CORSOrigins []string
	// AnswerCacheBytes bounds the answer cache (cache.go): the big metric
	// answers kept while the data version they were computed at is
	// current. 0 turns it off.
	AnswerCacheBytes int
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *telemetry.HTTPMetrics
	limits  *clientLimits // nil: no rate limit
	answers *answerCache  // nil: no answer cache
}

// New returns the whole HTTP handler: Huma operations, docs, assets, the
// redirects, /healthz, /readyz and /internal/metrics (outside the OpenAPI
// document), and the layers around them (http.go): request logging and
// metrics, panic recovery, CORS, compression, the rate limit, problem
// answers for every error and pages for people on the chart pages.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	api := humago.New(mux, HumaConfig(cfg.Version))
	s := Register(api, cfg)
	s.registerPages(mux)
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = telemetry.NewHTTPMetrics(reg)
	checks := cfg.ReadyChecks
	if checks == nil && cfg.Store != nil {
		checks = []telemetry.Check{{Name: "database", Fn: cfg.Store.CheckReady}}
	}
	var fields []telemetry.Field
	if cfg.Store != nil && cfg.Store.ReadPool() != nil {
		// The metrics are read from the replica: say how far behind it is.
		lag := replicaLag(cfg.Store)
		reg.MustRegister(telemetry.NewReplicaLagCollector(lag))
		fields = append(fields, telemetry.Field{Name: "replica_lag_seconds", Value: func(ctx context.Context) any {
			if seconds, ok := lag(ctx); ok {
				return seconds
			}
			return nil
		}})
	}
	telemetry.Register(mux, reg, checks, fields...)
	inner := s.limited(s.pageProblems(problems(mux)))
	return s.middleware(corsHandler(cfg.CORSOrigins, compressHandler(inner)), mux)
}

// replicaLag reads the read replica's lag (store.ReplicaLag); false when it
// cannot be read (the replica away) or the replica cannot tell yet.
func replicaLag(s *store.Store) func(ctx context.Context) (float64, bool) {
	return func(ctx context.Context) (float64, bool) {
		seconds, known, err := s.ReplicaLag(ctx)
		return seconds, err == nil && known
	}
}

// HumaConfig is the Huma configuration: OpenAPI 3.1 at /openapi.json and
// /openapi.yaml (3.0.3 at /openapi-3.0.json), Huma's CDN-based docs page off
// (ours is served from the binary), unknown query parameters refused.
func HumaConfig(version string) huma.Config {
	cfg := huma.DefaultConfig("ghevents API", version)
	cfg.Info.Description = "Metrics over the public GitHub events ghevents has stored: " +
		"the average time between events, the number of events per type in a time window, " +
		"and the repositories with the most events of a type. Charts of the same numbers are at /visualization.\n\n" +
		"The API is public and read-only: every operation is a GET without credentials. Errors are RFC 9457 " +
		"application/problem+json. Metric answers carry an ETag (send it back in If-None-Match for a 304 while " +
		"the answer is the same) and Cache-Control: no-cache."
	cfg.Info.License = &huma.License{Name: "MIT", URL: "https://opensource.org/licenses/MIT"}
	// Relative: a generated client calls the server it is pointed at, not
	// the host this document was fetched from.
	cfg.Servers = []*huma.Server{{URL: "/", Description: "The server that serves this document."}}
	cfg.Security = []map[string][]string{} // public: no credentials
	cfg.DocsPath = ""
	// Every problem says its type: about:blank, as RFC 9457 reads a
	// missing one, sent so that typed clients find the field they declare.
	cfg.Transformers = append(cfg.Transformers, func(_ huma.Context, _ string, v any) (any, error) {
		if e, ok := v.(*huma.ErrorModel); ok && e.Type == "" {
			e.Type = "about:blank"
		}
		return v, nil
	})
	// No `$schema` field or Link header in the answers: the bodies are
	// exactly the documented objects.
	cfg.CreateHooks = nil
	cfg.RejectUnknownQueryParameters = true
	// Huma's JSON, with the big answers writing their own (jsonenc.go).
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	cfg.Tags = []*huma.Tag{
		{Name: "metrics", Description: "JSON metrics over the stored events."},
		{Name: "visualization", Description: "HTML charts of the same metrics."},
	}
	return cfg
}

// Register adds every operation to api and returns the server behind them
// (tests use it with humatest).
func Register(api huma.API, cfg Config) *Server {
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ChartMaxPoints <= 0 {
		cfg.ChartMaxPoints = 2000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Log, answers: newAnswerCache(cfg.AnswerCacheBytes)}
	if cfg.RateLimit > 0 {
		s.limits = newClientLimits(cfg.RateLimit, cfg.RateBurst, cfg.Now)
	}
	api.UseMiddleware(refuseRepeatedParameters(api))
	s.registerMetrics(api)
	s.registerTimeline(api)
	s.registerCoverage(api)
	s.registerCharts(api)
	s.registerTimelineChart(api)
	describeErrors(api.OpenAPI())
	return s
}

// queryContext bounds a request's database work by QUERY_TIMEOUT; the
// request's own context already ends when the client goes away.
func (s *Server) queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.QueryTimeout)
}

// dbError turns a store error into the problem the client sees, without
// internals: 503 when the database cannot be reached, cancelled the query
// for a conflict with replication, or took too long; 500 otherwise (logged
// with its cause). A read replica that is away is never replaced by the
// primary: the client is told to retry, and gets the replica's answer once
// it is back.
func (s *Server) dbError(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		s.log.Warn("database unavailable", slog.String("operation", op), slog.String("error", err.Error()))
		return huma.Error503ServiceUnavailable("the database is unavailable; try again shortly")
	case errors.Is(err, store.ErrConflict):
		s.log.Warn("query cancelled by a conflict", slog.String("operation", op), slog.String("error", err.Error()))
		return huma.Error503ServiceUnavailable("the read replica cancelled the query to replay changes from the primary (a recovery conflict); try again")
	case errors.Is(err, context.DeadlineExceeded) || store.IsTimeout(err):
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The client went away; nobody reads this answer.
			return huma.Error503ServiceUnavailable("request cancelled")
		}
		s.log.Warn("query timed out", slog.String("operation", op), slog.Duration("timeout", s.cfg.QueryTimeout))
		return huma.Error503ServiceUnavailable("the query took longer than the server allows (QUERY_TIMEOUT); try a narrower filter")
	case errors.Is(err, context.Canceled):
		return huma.Error503ServiceUnavailable("request cancelled")
	default:
		s.log.Error("query failed", slog.String("operation", op), slog.String("error", err.Error()))
		return huma.Error500InternalServerError("internal error; it has been logged")
	}
}

// OpenAPI returns the API's document, built without a database (for
// `ghevents openapi` and client generation).
func OpenAPI(version string) *huma.OpenAPI {
	api := humago.New(http.NewServeMux(), HumaConfig(version))
	Register(api, Config{Version: version})
	return api.OpenAPI()
}
