package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/store"
)

// BenchmarkRankIndexUpkeep runs the leader's upkeep of the ranking index
// (store.MaintainRankIndex with the default rule) on the data set and
// reports what the first run found: the index's pages before and after and
// the rebuild's seconds. It rebuilds the data set's indexes, so it runs only
// on a copy (GHEVENTS_BENCH_FROM set), never on a shared data set.
func BenchmarkRankIndexUpkeep(b *testing.B) {
	if os.Getenv("GHEVENTS_BENCH_FROM") == "" {
		b.Skip("rebuilds the data set's indexes: run it on a copy (GHEVENTS_BENCH_FROM)")
	}
	f := setup(b)
	ctx := context.Background()
	var first store.RankIndexReport
	start := time.Now()
	for i := range b.N {
		rep, err := f.store.MaintainRankIndex(ctx, store.DefaultRankIndexRule)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = rep
		}
		b.Logf("run %d: %+v", i, rep)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64(first.Pages), "pages-before")
	b.ReportMetric(float64(first.Packed), "pages-packed-estimate")
	b.ReportMetric(float64(first.PagesAfter), "pages-after")
	b.ReportMetric(first.Took.Seconds(), "rebuild-s")
}
