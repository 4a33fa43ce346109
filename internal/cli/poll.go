package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/config"
	"github.com/ghevents/ghevents/internal/gharchive"
	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/leader"
	"github.com/ghevents/ghevents/internal/maintenance"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/retention"
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
	a *app
	s *store.Store
	// client is the public feed's (GITHUB_EVENTS_URL), which names the
	// election even when GITHUB_FIREHOSE is off; feeds are those polled.
	client  *github.Client
	feeds   []feed
	elector *leader.Elector
	// metrics are shared by the pollers of the successive terms, and
	// archive by the GH Archive followers (nil when GHARCHIVE_FOLLOW is off).
	metrics *poller.Metrics
	archive *gharchive.Metrics
}

// feed is one polled feed: the public one or a watched one.
type feed struct {
	name   string // "firehose", "repo:owner/name", ...
	source model.Source
	client *github.Client
}

// newPolling prepares the polling half over s; its metrics go to reg.
func (a *app) newPolling(s *store.Store, reg prometheus.Registerer) (*polling, error) {
	newClient := func(u url.URL) (*github.Client, error) {
		return github.NewClient(github.ClientConfig{EventsURL: u, Token: a.cfg.GitHubToken.Reveal(), Version: Version})
	}
	client, err := newClient(a.cfg.GitHubEventsURL)
	if err != nil {
		return nil, err
	}
	var feeds []feed
	if a.cfg.GitHubFirehose {
		feeds = append(feeds, feed{name: "firehose", source: model.SourceFirehose, client: client})
	}
	for _, w := range a.cfg.GitHubWatch.Entries {
		c, err := newClient(watchURL(a.cfg.GitHubEventsURL, w))
		if err != nil {
			return nil, fmt.Errorf("GITHUB_WATCH %s: %w", w, err)
		}
		feeds = append(feeds, feed{name: w.String(), source: model.SourceWatch, client: c})
	}
	a.warnTokenless(len(feeds))
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
	pl := &polling{a: a, s: s, client: client, feeds: feeds, elector: e, metrics: poller.NewMetrics(reg)}
	if a.cfg.GHArchiveFollow {
		pl.archive = gharchive.NewMetrics(reg)
	}
	return pl, nil
}

// warnTokenless warns, without GITHUB_TOKEN, when feeds feeds cannot all
// be polled within the 60 requests an hour GitHub allows: each needs at
// least one request a round, a round every POLL_INTERVAL or X-Poll-Interval
// (60 s), whichever is longer.
func (a *app) warnTokenless(feeds int) {
	need := int64(feeds) * int64(time.Hour/max(a.cfg.PollInterval, time.Minute))
	if a.cfg.GitHubToken != "" || need <= tokenlessRequests {
		return
	}
	a.log.Warn("without GITHUB_TOKEN the feeds cannot all be polled: GitHub allows 60 requests an hour, and the feeds need at least this many at POLL_INTERVAL; they will be polled less often (set GITHUB_TOKEN for 5,000)",
		slog.Int("feeds", feeds), slog.Int64("requests_per_hour", need), slog.Duration("poll_interval", a.cfg.PollInterval))
}

// tokenlessRequests is what GitHub allows an hour without a token.
const tokenlessRequests = 60

// run takes part in the election until ctx ends, polling while leader.
// Retention runs on the leader only, so one process sweeps at a time.
func (pl *polling) run(ctx context.Context) error {
	a := pl.a
	return pl.elector.Run(ctx, func(ctx context.Context) error {
		var parts []named
		// The feeds share the token's rate limit: one budget for them all.
		budget := poller.NewBudget()
		for _, f := range pl.feeds {
			a.log.Info("polling", slog.String("feed", f.name), slog.String("url", f.client.EventsURL()), slog.Bool("token", a.cfg.GitHubToken != ""))
			p, err := poller.New(poller.Config{
				Client:        f.client,
				Store:         pl.s,
				Logger:        a.log.With(slog.String("component", "poller"), slog.String("feed_name", f.name)),
				Workers:       a.cfg.PollWorkers,
				QueueSize:     a.cfg.PollQueueSize,
				Interval:      a.cfg.PollInterval,
				ShutdownGrace: a.cfg.ShutdownGrace,
				BeforeRound:   pl.elector.Check,
				Source:        f.source,
				Feed:          f.name,
				Budget:        budget,
				Metrics:       pl.metrics,
			})
			if err != nil {
				return err
			}
			parts = append(parts, named{"poller " + f.name, p.Run})
		}
		parts = append(parts,
			named{"retention", func(ctx context.Context) error { return a.runRetention(ctx, pl.s) }},
			named{"partitions", func(ctx context.Context) error {
				return retention.Ahead(ctx, pl.s, retention.AheadConfig{Log: a.log.With(slog.String("component", "partitions"))})
			}},
			named{"maintenance", func(ctx context.Context) error {
				return maintenance.Run(ctx, pl.s, maintenance.Config{Log: a.log.With(slog.String("component", "maintenance"))})
			}},
		)
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

// feedsDetail lists each feed with the end of its last complete round in
// this process and the wait chosen after it.
func (pl *polling) feedsDetail() string {
	last, waits := pl.metrics.FeedLastRounds(), pl.metrics.FeedWaits()
	parts := make([]string, len(pl.feeds))
	for i, f := range pl.feeds {
		if at, ok := last[f.name]; ok {
			parts[i] = f.name + " last round " + at.Format(time.RFC3339)
		} else {
			parts[i] = f.name + " no round yet"
		}
		if w, ok := waits[f.name]; ok {
			parts[i] += fmt.Sprintf(", then a wait of %s (%s)", w.D.Round(time.Second), w.Why)
		}
	}
	return strings.Join(parts, "; ")
}

// watchURL is a watched feed's URL: its path below GITHUB_EVENTS_URL
// without the final /events.
func watchURL(events url.URL, w config.WatchEntry) url.URL {
	u := events
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/events") + w.Path()
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u
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
	if len(pl.feeds) != 1 || pl.feeds[0].name != "firehose" {
		// Watched feeds: each one's last round (the public feed alone is
		// the poller check's).
		checks = append(checks, telemetry.Check{Name: "feeds", Fn: func(context.Context) error { return nil }, Detail: pl.feedsDetail})
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
