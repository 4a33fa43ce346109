package cli

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/config"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
)

func serveCommand() command {
	return command{name: "serve", summary: "Serve the metrics API, the charts and the docs on HTTP_ADDR.",
		flags: func(*flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("takes no arguments, got %q", args)
				}
				s, closeStore, err := a.openStore(ctx, false, a.storeOptions("ghevents serve", true))
				if err != nil {
					return err
				}
				defer closeStore()
				reg := storeRegistry(s)
				return a.serveAPI(ctx, s, reg, nil)
			}
		}}
}

// storeRegistry is a Prometheus registry with the store's pool statistics.
func storeRegistry(s *store.Store) *prometheus.Registry {
	reg := telemetry.NewRegistry()
	reg.MustRegister(telemetry.NewPoolCollector("primary", s.Pool()))
	if rp := s.ReadPool(); rp != nil {
		reg.MustRegister(telemetry.NewPoolCollector("replica", rp))
	}
	return reg
}

// apiGCPercent is the Go collector's target (GOGC) of the processes that
// serve the API, unless GOGC is set. A big answer (the 10,000-row export, a
// long timeline) allocates megabytes against a live heap of a few tens:
// at Go's default of 100 the collector (marking, assists, scavenging,
// sweeping) took a quarter to a third of the server's CPU time on them; at
// 400 they took a sixth to a quarter less time, for about 15 MiB more
// memory under the mixed load (BENCHMARKS.md, "The big answers").
const apiGCPercent = 400

// serveAPI serves the API on HTTP_ADDR until ctx ends. checks nil: /readyz
// checks the database alone.
func (a *app) serveAPI(ctx context.Context, s *store.Store, reg *prometheus.Registry, checks []telemetry.Check) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(apiGCPercent)
	}
	handler := api.New(api.Config{
		Store:            s,
		Log:              a.log,
		QueryTimeout:     a.cfg.QueryTimeout,
		Version:          Version,
		ChartMaxPoints:   a.cfg.ChartMaxPoints,
		Registry:         reg,
		ReadyChecks:      checks,
		RateLimit:        a.cfg.HTTPRateLimit,
		RateBurst:        a.cfg.HTTPRateBurst,
		CORSOrigins:      corsOrigins(a.cfg.CORSOrigins),
		AnswerCacheBytes: a.cfg.AnswerCacheMB << 20,
	})
	return api.ListenAndServe(ctx, api.NewHTTPServer(a.cfg.HTTPAddr, handler, a.log), a.cfg.ShutdownGrace, a.log,
		func(addr net.Addr) { a.tellWhereToLook(ctx, s, addr) })
}

// corsOrigins is CORS_ORIGINS as the API takes it.
func corsOrigins(o config.Origins) []string {
	if o.Any {
		return []string{"*"}
	}
	return o.List
}

// tellWhereToLook says, once the server listens, where its pages are and,
// while nothing is stored yet, how to fill the store.
func (a *app) tellWhereToLook(ctx context.Context, s *store.Store, addr net.Addr) {
	base := "http://" + browsable(addr)
	a.log.Info("ghevents is serving: open the charts at "+base+"/visualization and the API docs at "+base+"/docs",
		slog.String("charts", base+"/visualization"), slog.String("docs", base+"/docs"))
	qctx, cancel := context.WithTimeout(ctx, a.cfg.QueryTimeout)
	defer cancel()
	span, err := s.StoredSpan(qctx)
	if err != nil || span.Events > 0 {
		return
	}
	a.log.Info("no events are stored yet: the poller adds the newest as it polls GitHub; for an hour of history now, " +
		"import one from GH Archive, e.g. `ghevents import https://data.gharchive.org/2015-01-01-15.json.gz` " +
		"(a clone of ghevents has one offline: `ghevents import testdata/github/gharchive-2015-01-01-0.json.gz`); " +
		"run it with the same settings (DATABASE_URL, or DATA_DIR) in the same folder")
}

// browsable is addr as a browser on this machine reaches it: localhost for
// a wildcard address.
func browsable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
