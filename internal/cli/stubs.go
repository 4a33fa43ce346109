package cli

import (
	"context"
	"errors"
	"flag"
)

var errNotBuilt = errors.New("not built yet")

func stub(name, args, summary string) command {
	return command{name: name, args: args, summary: summary,
		flags: func(*flag.FlagSet) func(context.Context, *app, []string) error {
			return func(context.Context, *app, []string) error { return errNotBuilt }
		}}
}

func runCommand() command {
	return stub("run", "", "Migrate up, then poll and serve in one process until SIGINT/SIGTERM.")
}
