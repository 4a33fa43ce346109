package cli

import (
	"context"
	"flag"
	"log/slog"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/store"
)

func pollCommand() command {
	return command{name: "poll",
		summary: "Poll the GitHub Events API and store every event exactly once.\n" +
			"Reads GITHUB_EVENTS_URL (with GITHUB_TOKEN when set) page by page, round after round, waiting\n" +
			"what POLL_INTERVAL, X-Poll-Interval and the rate limit ask. On SIGINT/SIGTERM it stops fetching\n" +
			"and stores the pages already fetched (for at most SHUTDOWN_GRACE), then exits 0.\n" +
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
				p, err := a.newPoller(s)
				if err != nil {
					return err
				}
				return runAll(ctx, a.log,
					named{"poller", p.Run},
					named{"retention", func(ctx context.Context) error { return a.runRetention(ctx, s) }},
				)
			}
		}}
}

// newPoller builds the poller of the configuration over s (also for `run`).
func (a *app) newPoller(s *store.Store) (*poller.Poller, error) {
	client, err := github.NewClient(github.ClientConfig{
		EventsURL: a.cfg.GitHubEventsURL,
		Token:     a.cfg.GitHubToken.Reveal(),
		Version:   Version,
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("polling", slog.String("url", client.EventsURL()), slog.Bool("token", a.cfg.GitHubToken != ""))
	return poller.New(poller.Config{
		Client:        client,
		Store:         s,
		Logger:        a.log.With(slog.String("component", "poller")),
		Workers:       a.cfg.PollWorkers,
		QueueSize:     a.cfg.PollQueueSize,
		Interval:      a.cfg.PollInterval,
		ShutdownGrace: a.cfg.ShutdownGrace,
	})
}
