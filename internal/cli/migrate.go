package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/store"
)

func migrateCommand() command {
	return command{
		name: "migrate",
		args: "[up|down|status]",
		summary: "Apply (up, the default), roll back (down: one step, or to --to) or list (status) the schema migrations.\n" +
			"The migrations are embedded in the binary.",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			to := fs.Int("to", -1, "target version for up or down (0 removes every table; default: newest for up, one step back for down)")
			return func(ctx context.Context, a *app, args []string) error {
				action := "up"
				if len(args) > 1 {
					return usagef("expected one action (up, down or status), got %q", args)
				}
				if len(args) == 1 {
					action = args[0]
				}
				db, err := a.database(ctx)
				if err != nil {
					return err
				}
				defer db.close()
				conn, err := store.Connect(ctx, db.url)
				if err != nil {
					return err
				}
				defer conn.Close(context.WithoutCancel(ctx))

				switch action {
				case "up":
					if err := a.migrate(ctx, db.url, int32(*to)); err != nil {
						return err
					}
				case "down":
					target := int32(*to)
					if target < 0 {
						_, current, err := store.MigrationStatus(ctx, conn)
						if err != nil {
							return err
						}
						target = max(current-1, 0)
					}
					if err := a.migrate(ctx, db.url, target); err != nil {
						return err
					}
				case "status":
				default:
					return usagef("unknown action %q: expected up, down or status", action)
				}
				return printStatus(ctx, a, conn)
			}
		},
	}
}

func printStatus(ctx context.Context, a *app, conn *pgx.Conn) error {
	migs, current, err := store.MigrationStatus(ctx, conn)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tSTATUS")
	for _, m := range migs {
		st := "pending"
		if m.Applied {
			st = "applied"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, st)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "schema version %d of %d\n", current, len(migs))
	return nil
}
