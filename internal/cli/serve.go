package cli

import (
	"context"
	"flag"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/api"
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

// serveAPI serves the API on HTTP_ADDR until ctx ends. checks nil: /readyz
// checks the database alone.
func (a *app) serveAPI(ctx context.Context, s *store.Store, reg *prometheus.Registry, checks []telemetry.Check) error {
	handler := api.New(api.Config{
		Store:          s,
		Log:            a.log,
		QueryTimeout:   a.cfg.QueryTimeout,
		Version:        Version,
		ChartMaxPoints: a.cfg.ChartMaxPoints,
		Registry:       reg,
		ReadyChecks:    checks,
		RateLimit:      a.cfg.HTTPRateLimit,
		RateBurst:      a.cfg.HTTPRateBurst,
	})
	return api.ListenAndServe(ctx, api.NewHTTPServer(a.cfg.HTTPAddr, handler, a.log), a.cfg.ShutdownGrace, a.log, nil)
}
