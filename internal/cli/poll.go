package cli

import (
	"context"
	"flag"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/gharchive"
	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/leader"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
)

func pollCommand() command {
	return command{name: "poll",
		summary: "Poll the GitHub Events API and store every event exactly once.\n" +
			"Reads GITHUB_EVENTS_URL (with GITHUB_TOKEN when set) page by page, round after round, waiting\n" +
			"what POLL_INTERVAL, X-Poll-Interval and the rate limit ask. Several pollers may run on one\n" +
			"database: one polls (the leader, elected through a PostgreSQL advisory lock), the others stand\n" +
			"by and take over within POLL_FAILOVER when it dies. With POLL_METRICS_ADDR set, it serves\n" +
			"/healthz, /readyz and /internal/metrics there. On SIGINT/SIGTERM it stops fetching and stores\n" +
			"the pages already fetched (for at most SHUTDOWN_GRACE), then exits 0.\n" +
			"The database schema must be current (`ghevents migrate up`).",
		flags: func(*flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("takes no arguments, got %q", args)
				}
				s, closeStore, err := a.openStore(ctx, false, a.storeOptions("ghevents poll", false))
				if err != nil {
					return err
				}
				defer closeStore()
				reg := storeRegistry(s)
				pl, err := a.newPolling(s, reg)
				if err != nil {
					return err
				}
				parts := []named{{"poller", pl.run}}
				if addr := a.cfg.PollMetricsAddr; addr != "" {
					mux := http.NewServeMux()
					telemetry.Register(mux, reg, append([]telemetry.Check{{Name: "database", Fn: s.CheckReady}}, pl.checks()...))
					parts = append(parts, named{"metrics", func(ctx context.Context) error {
						return api.ListenAndServe(ctx, api.NewHTTPServer(addr, mux, a.log), a.cfg.ShutdownGrace, a.log, nil)
					}})
				}
				return runAll(ctx, a.log, parts...)
			}
		}}
}

// polling is the polling half of `poll` and `run`: the election, and on
// the leader a poller and the retention sweeper.
type polling struct {
	a       *app
	s       *store.Store
	client  *github.Client
	elector *leader.Elector
	// metrics are shared by the pollers of the successive terms, and
	// archive by the GH Archive followers (nil when GHARCHIVE_FOLLOW is off).
	metrics *poller.Metrics
	archive *gharchive.Metrics
}

// newPolling prepares the polling half over s; its metrics go to reg.
func (a *app) newPolling(s *store.Store, reg prometheus.Registerer) (*polling, error) {
	client, err := github.NewClient(github.ClientConfig{
		EventsURL: a.cfg.GitHubEventsURL,
		Token:     a.cfg.GitHubToken.Reveal(),
		Version:   Version,
	})
	if err != nil {
		return nil, err
	}
	e, err := leader.New(leader.Config{
		Store:    s,
		Key:      leader.Key(client.EventsURL()),
		Failover: a.cfg.PollFailover,
		Log:      a.log.With(slog.String("component", "leader")),
		Metrics:  leader.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}
	pl := &polling{a: a, s: s, client: client, elector: e, metrics: poller.NewMetrics(reg)}
	if a.cfg.GHArchiveFollow {
		pl.archive = gharchive.NewMetrics(reg)
	}
	return pl, nil
}

// run takes part in the election until ctx ends, polling while leader.
// Retention runs on the leader only, so one process sweeps at a time.
func (pl *polling) run(ctx context.Context) error {
	a := pl.a
	return pl.elector.Run(ctx, func(ctx context.Context) error {
		a.log.Info("polling", slog.String("url", pl.client.EventsURL()), slog.Bool("token", a.cfg.GitHubToken != ""))
		p, err := poller.New(poller.Config{
			Client:        pl.client,
			Store:         pl.s,
			Logger:        a.log.With(slog.String("component", "poller")),
			Workers:       a.cfg.PollWorkers,
			QueueSize:     a.cfg.PollQueueSize,
			Interval:      a.cfg.PollInterval,
			ShutdownGrace: a.cfg.ShutdownGrace,
			BeforeRound:   pl.elector.Check,
			Metrics:       pl.metrics,
		})
		if err != nil {
			return err
		}
		parts := []named{
			{"poller", p.Run},
			{"retention", func(ctx context.Context) error { return a.runRetention(ctx, pl.s) }},
		}
		if pl.archive != nil {
			f, err := pl.newFollower()
			if err != nil {
				return err
			}
			parts = append(parts, named{"gharchive", f.Run})
		}
		return runAll(ctx, a.log, parts...)
	})
}

// newFollower makes the GH Archive follower of one term.
func (pl *polling) newFollower() (*gharchive.Follower, error) {
	a := pl.a
	return gharchive.New(gharchive.Config{
		BaseURL:   a.cfg.GHArchiveURL.String(),
		Since:     a.cfg.GHArchiveSince.Time(),
		GapAfter:  a.cfg.GHArchiveGapAfter,
		Retention: a.cfg.Retention.Duration(),
		Payload:   a.cfg.GHArchivePayload,
		Store:     pl.s,
		UserAgent: "ghevents/" + Version,
		Log:       a.log.With(slog.String("component", "gharchive")),
		Metrics:   pl.archive,
	})
}

// checks are the readiness conditions of the polling half: the election
// works (the role is shown), and the leader's rounds succeed.
func (pl *polling) checks() []telemetry.Check {
	checks := []telemetry.Check{
		{Name: "leadership", Fn: pl.elector.Ready, Detail: pl.elector.Role},
		{Name: "poller", Fn: pollerCheck(pl.metrics.LastRound, pl.metrics.LastWait, pl.a.cfg.PollInterval, pl.elector.LeadingSince)},
	}
	if pl.archive != nil {
		// The follower's state is shown; catching up (hours or days
		// behind) is no reason to take the process out of service.
		checks = append(checks, telemetry.Check{Name: "gharchive", Fn: func(context.Context) error { return nil },
			Detail: func() string {
				if _, leading := pl.elector.LeadingSince(); !leading {
					return "standby (the leader follows GH Archive)"
				}
				return pl.archive.Status()
			}})
	}
	return checks
}
