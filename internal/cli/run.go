package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ghevents/ghevents/internal/retention"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
)

func runCommand() command {
	return command{name: "run",
		summary: "Migrate up, then poll and serve in one process until SIGINT/SIGTERM (what `make run` starts).\n" +
			"The polling half takes part in the election of `ghevents poll` (one poller polls at a time).\n" +
			"On SIGINT/SIGTERM the server stops accepting and finishes its requests, and the poller stores\n" +
			"the pages it fetched, each within SHUTDOWN_GRACE.",
		flags: func(*flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("takes no arguments, got %q", args)
				}
				s, closeStore, err := a.openStore(ctx, true, a.storeOptions("ghevents run", true))
				if err != nil {
					return err
				}
				defer closeStore()
				reg := storeRegistry(s)
				pl, err := a.newPolling(s, reg)
				if err != nil {
					return err
				}
				if !a.cfg.GHArchiveFollow {
					a.log.Info("the Events API shows a sample of the public events: set GHARCHIVE_FOLLOW=true (in .env) to store every one from GH Archive, and see /metrics/coverage",
						slog.String("readme", "How complete is the data"))
				}
				checks := append([]telemetry.Check{{Name: "database", Fn: s.CheckReady}}, pl.checks()...)
				return runAll(ctx, a.log,
					named{"poller", pl.run},
					named{"api", func(ctx context.Context) error { return a.serveAPI(ctx, s, reg, checks) }},
				)
			}
		}}
}

// named is a long-running part of a process.
type named struct {
	name string
	run  func(ctx context.Context) error
}

// runAll runs the parts until ctx ends or one of them fails; a failure
// (logged, and returned) cancels the others' context. Each part ends
// cleanly on its own (drains, finishes requests); context.Canceled is a
// normal end.
func runAll(ctx context.Context, log *slog.Logger, parts ...named) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range parts {
		g.Go(func() error {
			err := p.run(ctx)
			if err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			log.Error("stopping: "+p.name+" failed", slog.String("error", err.Error()))
			return fmt.Errorf("%s: %w", p.name, err)
		})
	}
	return g.Wait()
}

// runRetention sweeps old events when RETENTION is set.
func (a *app) runRetention(ctx context.Context, s *store.Store) error {
	keep := a.cfg.Retention.Duration()
	if keep <= 0 {
		return nil
	}
	a.log.Info("retention on", slog.Duration("keep", keep))
	return retention.Run(ctx, s, retention.Config{Keep: keep, Log: a.log.With(slog.String("component", "retention"))})
}

// pollerCheck is ready while the leader's polling rounds succeed: the last
// one of its term finished recently (a few waits ago), or the term began
// only a little while ago. A standby does not poll: it is ready.
func pollerCheck(lastRound func() time.Time, lastWait func() time.Duration, interval time.Duration, leadingSince func() (time.Time, bool)) func(context.Context) error {
	return func(context.Context) error {
		started, leading := leadingSince()
		if !leading {
			return nil
		}
		allowed := max(3*interval, 3*lastWait(), 10*time.Minute)
		last := lastRound()
		if last.Before(started) {
			last = time.Time{} // a round of an earlier term
		}
		if last.IsZero() {
			if time.Since(started) < allowed {
				return nil // starting
			}
			return fmt.Errorf("no polling round has succeeded since this process became leader %s ago", time.Since(started).Round(time.Second))
		}
		if age := time.Since(last); age > allowed {
			return fmt.Errorf("the last successful polling round was %s ago", age.Round(time.Second))
		}
		return nil
	}
}
