// Package cli is the ghevents command line: subcommands, their flags, signal
// handling and the wiring of the internal packages. cmd/ghevents only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ghevents/ghevents/internal/config"
)

// Version is the build's version, set with -ldflags "-X github.com/ghevents/ghevents/internal/cli.Version=...".
var Version = "dev"

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad flags, arguments or configuration: nothing was done
)

// command is one subcommand.
type command struct {
	name    string
	args    string // the arguments after the flags, for the usage line
	summary string
	// flags registers the command's flags on fs and returns the function
	// that runs it with the remaining arguments.
	flags func(fs *flag.FlagSet) func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		migrateCommand(),
		pollCommand(),
		serveCommand(),
		importCommand(),
		runCommand(),
		statsCommand(),
		openapiCommand(),
		healthcheckCommand(),
		versionCommand(),
	}
}

// usageError is a mistake in the command line: reported with exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Main runs the command line args (without the program name) with the
// environment environ, and returns the exit status.
func Main(args []string, environ []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, environ, stdout, stderr)
}

func run(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "ghevents: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return exitUsage
	}

	fs := flag.NewFlagSet("ghevents "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	runFn := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ghevents %s [flags] %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
		fmt.Fprintln(fs.Output(), "\nConfiguration comes from the environment; see `ghevents help` or .env.example.")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK
		}
		return exitUsage
	}

	cfg, err := config.Load(environ)
	if err != nil {
		// One line per bad variable, each naming it, its value and what is expected.
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintf(stderr, "ghevents: %s\n", line)
		}
		return exitUsage
	}
	a := &app{cfg: cfg, log: newLogger(cfg, stderr), stdout: stdout, environ: environ}
	if err := runFn(ctx, a, fs.Args()); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "ghevents %s: %v\n", cmd.name, err)
			return exitUsage
		}
		a.log.Error("ghevents "+cmd.name+" failed", slog.String("error", err.Error()))
		return exitFailure
	}
	return exitOK
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "ghevents %s: polls GitHub's public events into PostgreSQL and serves metrics and charts over them.\n\n", Version)
	fmt.Fprintln(w, "Usage: ghevents COMMAND [flags] [arguments]   (ghevents COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, firstLine(c.summary))
	}
	fmt.Fprintln(w, "\nConfiguration (environment variables, or a .env file read by `make run`):")
	for _, v := range config.Vars() {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(w, "  %-22s default %-32s %s\n", v.Name, def, v.Description)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
