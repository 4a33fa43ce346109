package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"
)

func healthcheckCommand() command {
	return command{name: "healthcheck",
		summary: "Exit 0 when the ghevents process at --url answers its /healthz, 1 otherwise (for container health checks;\n" +
			"distroless images have no curl).",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			target := fs.String("url", "", "the health URL (default: http://127.0.0.1:<port of HTTP_ADDR>/healthz)")
			timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("takes no arguments, got %q", args)
				}
				u := *target
				if u == "" {
					_, port, err := net.SplitHostPort(a.cfg.HTTPAddr)
					if err != nil {
						return usagef("cannot derive a URL from HTTP_ADDR %q: %v", a.cfg.HTTPAddr, err)
					}
					u = "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
				}
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				if err != nil {
					return usagef("bad --url: %v", err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return fmt.Errorf("health check %s: %w", u, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return errors.New("health check " + u + ": " + resp.Status)
				}
				return nil
			}
		}}
}
