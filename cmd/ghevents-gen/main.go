// Command ghevents-gen writes generated GitHub events as a GH Archive-shaped
// file (one JSON event per line, gzip when the name ends in .gz), for the
// benchmarks:
//
//	go run ./cmd/ghevents-gen -events 1000000 -seed 1 -o /tmp/gen-1m.json.gz
//
// The same flags always give the same file. Streams meant to be imported
// side by side need id ranges that do not overlap (-first-id) if they are
// to be distinct events.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ghevents/ghevents/internal/testkit/gen"
)

func main() {
	var o gen.Options
	out := flag.String("o", "-", "output file (.gz: gzip); - for standard output")
	flag.Int64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same events")
	flag.Int64Var(&o.Events, "events", 1_000_000, "number of events")
	start := flag.String("start", "2024-01-01T00:00:00Z", "created_at of the first events (RFC 3339)")
	flag.DurationVar(&o.Span, "span", 24*time.Hour, "time the events cover")
	flag.Int64Var(&o.Repos, "repos", 0, "repositories drawn from (default 1.5 × events, at least 10,000)")
	flag.Int64Var(&o.Actors, "actors", 0, "users acting (default events/5, at least 1,000)")
	flag.Int64Var(&o.FirstID, "first-id", 30_000_000_000, "id of the first event")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "ghevents-gen: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ghevents-gen: invalid -start: %v\n", err)
		os.Exit(2)
	}
	o.Start = t
	if err := gen.WriteFile(*out, o); err != nil {
		fmt.Fprintf(os.Stderr, "ghevents-gen: %v\n", err)
		os.Exit(1)
	}
}
