package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
)

func importCommand() command {
	return command{
		name: "import",
		args: "SOURCE...",
		summary: "Backfill events from GH Archive hourly dumps (files, folders, URLs or - for stdin).\n" +
			"A SOURCE is a .json.gz, .json or .jsonl file, a directory (its such files in name order), - for\n" +
			"standard input, or an http(s):// URL (streamed). {A..B} ranges are expanded, e.g.\n" +
			"https://data.gharchive.org/2024-01-01-{0..23}.json.gz. Every event is stored once, whatever\n" +
			"is already stored. Bad lines and files are reported and skipped; the exit status is 1 if\n" +
			"anything was bad or the import was interrupted (rerun it to finish: nothing is stored twice).",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			var fl importFlags
			fl.register(fs)
			return func(ctx context.Context, a *app, args []string) error {
				o, err := fl.options(a, args)
				if err != nil {
					return err
				}
				// A bar on a terminal; otherwise one log line per file.
				if a.stdout == os.Stdout && term.IsTerminal(int(os.Stderr.Fd())) {
					o.Progress = importer.BarProgress(os.Stderr)
				}

				s, closeStore, err := a.openStore(ctx, false, a.storeOptions("ghevents import", false))
				if err != nil {
					return err
				}
				defer closeStore()
				if fl.metricsAddr != "" {
					stop, err := a.serveImportMetrics(s, &o, fl.metricsAddr)
					if err != nil {
						return err
					}
					defer stop()
				}
				sum, runErr := importer.New(s, o).Run(ctx, args)
				printImportSummary(a, sum)
				switch {
				case runErr != nil:
					return runErr
				case sum.Interrupted:
					return errors.New("interrupted: run the same command again to finish (what is stored is skipped)")
				case !sum.Clean():
					return fmt.Errorf("%d bad files, %d bad lines (see the messages above); what was good is stored", sum.BadFiles, sum.BadLines)
				}
				return nil
			}
		},
	}
}

// importFlags are the flags of `ghevents import`.
type importFlags struct {
	types, since, until string
	noPayload, noVacuum bool
	batchSize, jobs     int
	retryFor            time.Duration
	metricsAddr         string
	fs                  *flag.FlagSet // the flags were registered on, to tell a flag given from its default
}

func (fl *importFlags) register(fs *flag.FlagSet) {
	fl.fs = fs
	fs.StringVar(&fl.types, "types", "", "only these event types, comma-separated (e.g. PushEvent,WatchEvent)")
	fs.StringVar(&fl.since, "since", "", "only events created at or after this time (RFC 3339, or YYYY-MM-DD in UTC)")
	fs.StringVar(&fl.until, "until", "", "only events created before this time (RFC 3339, or YYYY-MM-DD in UTC)")
	fs.BoolVar(&fl.noPayload, "no-payload", false, "do not store the events' raw JSON (the raw column stays NULL; saves space and time)")
	fs.BoolVar(&fl.noVacuum, "no-vacuum", false, "do not VACUUM the summary tables as the import bloats them (by default those holding more dead rows than live ones are vacuumed every 200,000 events stored, and at the end), nor rebuild the ranking index at the end when bloated")
	fs.IntVar(&fl.batchSize, "batch-size", 0, "events stored per statement, 1 to 100000 (default 100000 with --no-payload, else 5000; a batch is also cut at 8 MiB of JSON)")
	fs.IntVar(&fl.jobs, "jobs", 0, "files read and batches written at once, one database connection each (default min(2, DB_MAX_CONNS); at most DB_MAX_CONNS)")
	fs.DurationVar(&fl.retryFor, "retry-for", time.Minute, "how long to retry a batch while the database is unreachable before giving up")
	fs.StringVar(&fl.metricsAddr, "metrics-addr", "", "while the import runs, serve /healthz and /internal/metrics (import counters) on this address, e.g. :9101")
}

// options checks the flags and the sources (before anything is opened) and
// turns them into the importer's options; a bad one is a usage error that
// names it.
func (fl *importFlags) options(a *app, args []string) (importer.Options, error) {
	if len(args) == 0 {
		return importer.Options{}, usagef("give at least one SOURCE (a file, a directory, - or a URL)")
	}
	o := importer.Options{NoPayload: fl.noPayload, NoVacuum: fl.noVacuum, BatchSize: fl.batchSize, Jobs: fl.jobs, RetryFor: fl.retryFor, Log: a.log}
	var err error
	if o.Types, err = parseTypes(fl.types); err != nil {
		return o, err
	}
	if o.Since, err = parseTimeFlag("since", fl.since); err != nil {
		return o, err
	}
	if o.Until, err = parseTimeFlag("until", fl.until); err != nil {
		return o, err
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		return o, usagef("--since %s is not before --until %s", o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}
	// Not given: the importer's default (0), which depends on --no-payload.
	batchSet := false
	fl.fs.Visit(func(f *flag.Flag) { batchSet = batchSet || f.Name == "batch-size" })
	if batchSet && (o.BatchSize < 1 || o.BatchSize > 100_000) {
		return o, usagef("--batch-size %d: want 1 to 100000", o.BatchSize)
	}
	if o.Jobs == 0 {
		o.Jobs = int(min(2, a.cfg.DBMaxConns))
	}
	if o.Jobs < 1 || o.Jobs > int(a.cfg.DBMaxConns) {
		return o, usagef("--jobs %d: want 1 to DB_MAX_CONNS (%d)", o.Jobs, a.cfg.DBMaxConns)
	}
	if o.RetryFor <= 0 {
		return o, usagef("--retry-for %v: want a positive duration", o.RetryFor)
	}
	if fl.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(fl.metricsAddr); err != nil {
			return o, usagef("--metrics-addr %q: want host:port, such as :9101", fl.metricsAddr)
		}
	}
	for _, s := range args {
		if _, err := importer.ExpandRanges(s); err != nil {
			return o, usageError{err.Error()}
		}
	}
	return o, nil
}

// parseTypes splits a --types list and checks each name.
func parseTypes(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if !model.IsKnownType(t) {
			return nil, usagef("--types: unknown event type %q; known: %s", t, strings.Join(model.EventTypes, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// parseTimeFlag reads an RFC 3339 time or a UTC date.
func parseTimeFlag(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("--%s %q: want an RFC 3339 time (2024-01-01T15:00:00Z) or a date (2024-01-01)", name, s)
}

// printImportSummary prints where each interrupted or bad file stopped and
// the totals.
func printImportSummary(a *app, sum importer.Summary) {
	w := a.stdout
	for _, f := range sum.Files {
		switch {
		case f.Err != nil:
			fmt.Fprintf(w, "bad file %s: %v\n", f.Name, f.Err)
		case f.Interrupted && f.Lines == 0 && f.Done == 0:
			fmt.Fprintf(w, "not imported: %s\n", f.Name)
		case f.Interrupted:
			fmt.Fprintf(w, "interrupted: %s stopped after line %d (every line up to it is stored)\n", f.Name, f.Done)
		}
	}
	fmt.Fprintf(w, "files %d (%d bad), events read %d, stored %d, duplicates %d, filtered out %d, bad lines %d, elapsed %v, %.0f events/s\n",
		len(sum.Files), sum.BadFiles, sum.Events, sum.Stored, sum.Duplicates, sum.Filtered, sum.BadLines,
		sum.Elapsed.Round(time.Millisecond), sum.EventsPerSecond())
	a.log.Info("import finished", slog.Int("files", len(sum.Files)), slog.Int("bad_files", sum.BadFiles),
		slog.Int64("events", sum.Events), slog.Int64("stored", sum.Stored), slog.Int64("duplicates", sum.Duplicates),
		slog.Int64("filtered", sum.Filtered), slog.Int64("bad_lines", sum.BadLines), slog.Bool("interrupted", sum.Interrupted))
}

// serveImportMetrics serves /healthz, /readyz and /internal/metrics with the
// import's counters (o.Metrics) on addr until stop is called.
func (a *app) serveImportMetrics(s *store.Store, o *importer.Options, addr string) (stop func(), err error) {
	reg := storeRegistry(s)
	o.Metrics = importer.NewMetrics(reg)
	mux := http.NewServeMux()
	telemetry.Register(mux, reg, []telemetry.Check{{Name: "database", Fn: s.CheckReady}})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: listen on %s: %w", addr, err)
	}
	srv := api.NewHTTPServer(addr, mux, a.log)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("import metrics server failed", slog.String("error", err.Error()))
		}
	}()
	a.log.Info("serving the import's metrics", slog.String("addr", l.Addr().String()), slog.String("path", telemetry.MetricsPath))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-served
	}, nil
}
