package cli

import (
	"context"
	"flag"

	"github.com/ghevents/ghevents/internal/api"
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
				handler := api.New(api.Config{Store: s, Log: a.log, QueryTimeout: a.cfg.QueryTimeout, Version: Version})
				return api.ListenAndServe(ctx, api.NewHTTPServer(a.cfg.HTTPAddr, handler, a.log), a.cfg.ShutdownGrace, a.log, nil)
			}
		}}
}
