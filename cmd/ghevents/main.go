// Command ghevents polls GitHub's public events into PostgreSQL and serves
// metrics and charts over them. See `ghevents help`.
package main

import (
	"os"

	"github.com/ghevents/ghevents/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
