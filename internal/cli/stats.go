package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"
)

func statsCommand() command {
	return command{name: "stats", summary: "Show what is stored: rows, size on disk, oldest and newest event, per type; and the monthly\n" +
		"partitions of events with their rows and size on disk.\n" +
		"The counts come from the summary tables and the oldest/newest from one index probe each: it answers\n" +
		"at once on any size of table.",
		flags: func(*flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("takes no arguments, got %q", args)
				}
				s, closeStore, err := a.openStore(ctx, false, a.storeOptions("ghevents stats", false))
				if err != nil {
					return err
				}
				defer closeStore()
				sctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				st, err := s.Stats(sctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "TYPE\tEVENTS\tOLDEST\tNEWEST\t")
				for _, t := range st.Types {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", t.Type, t.Events, rfc3339(t.Oldest), rfc3339(t.Newest))
				}
				fmt.Fprintf(tw, "total\t%d\t\t\t\n", st.Events)
				if err := tw.Flush(); err != nil {
					return err
				}
				if _, err := fmt.Fprintf(a.stdout, "events table %s, with indexes %s; database %s\n",
					humanBytes(st.TableBytes), humanBytes(st.TotalBytes), humanBytes(st.DatabaseBytes)); err != nil {
					return err
				}
				fmt.Fprintln(tw, "PARTITION\tFROM\tTO\tEVENTS\tSIZE\t")
				for _, p := range st.Partitions {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t\n", p.Name, p.From.Format("2006-01-02"), p.To.Format("2006-01-02"), p.Events, humanBytes(p.Bytes))
				}
				return tw.Flush()
			}
		}}
}

// rfc3339 formats t, or "-" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
