package cli

import (
	"context"
	"flag"
	"fmt"
)

func versionCommand() command {
	return command{name: "version", summary: "Print the version.",
		flags: func(*flag.FlagSet) func(context.Context, *app, []string) error {
			return func(_ context.Context, a *app, _ []string) error {
				_, err := fmt.Fprintf(a.stdout, "ghevents %s\n", Version)
				return err
			}
		}}
}
