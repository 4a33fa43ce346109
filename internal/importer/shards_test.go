package importer_test

import (
	"errors"
	"math/rand"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/gen"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// genEvents are the events gen writes for o, as the decoder reads them
// back (the action as its key, no payload).
func genEvents(o gen.Options) []model.Event {
	g := gen.New(o)
	out := make([]model.Event, o.Events)
	for i := range out {
		e := g.Next()
		e.Raw = nil
		out[i] = e
	}
	return out
}

// Three importer writers, each on its share of the repositories, while two
// "pollers" store the same events (shuffled pages of 100, as overlapping
// API pages come) and a third writer deletes some: the same (type,
// repository) pairs are written by all of them at once, hot repositories in
// every batch. Every event is stored once, the writers' counts add up, no
// error reaches the import's caller, and every summary equals a recount
// from events.
func TestImportSharesWhilePollersStore(t *testing.T) {
	s, ctx := setup(t)
	o := gen.Options{Seed: 5, Events: 30_000, FirstID: 1_000}
	events := genEvents(o)
	var pollerStored atomic.Int64
	var wg sync.WaitGroup
	for p := range 2 {
		page := slices.Clone(events)
		r := rand.New(rand.NewSource(int64(p)))
		r.Shuffle(len(page), func(i, j int) { page[i], page[j] = page[j], page[i] })
		wg.Go(func() {
			for i := 0; i < len(page); i += 100 {
				for {
					res, err := s.InsertEventsSkippingBad(ctx, page[i:min(i+100, len(page))])
					pollerStored.Add(res.Stored)
					var pgErr *pgconn.PgError
					if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.DeadlockDetected {
						continue // the poller retries every failed page
					}
					if err != nil || len(res.Rejected) > 0 {
						t.Errorf("poller: %v, %d rejected", err, len(res.Rejected))
						return
					}
					break
				}
			}
		})
	}
	sum := run(t, ctx, s, importer.Options{NoPayload: true, BatchSize: 3000, Jobs: 3, Stdin: generated(o)}, "-")
	wg.Wait()
	if !sum.Clean() || sum.Stored+pollerStored.Load() != o.Events || sum.Stored+sum.Duplicates != o.Events {
		t.Fatalf("import stored %d (duplicates %d, clean %v), pollers %d; want a total of %d",
			sum.Stored, sum.Duplicates, sum.Clean(), pollerStored.Load(), o.Events)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != o.Events {
		t.Fatalf("table holds %d, want %d", got, o.Events)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
	t.Logf("import stored %d, pollers %d", sum.Stored, pollerStored.Load())

	// The same once more with a delete of the hot repositories' events
	// beside it, then every summary again.
	o2 := gen.Options{Seed: 6, Events: 9_000, FirstID: 900_000_000}
	wg.Go(func() {
		for range 5 {
			if _, err := s.Pool().Exec(ctx, `DELETE FROM events WHERE id % 7 = 0 AND id < 900000000`); err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.DeadlockDetected {
					continue
				}
				t.Error(err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	sum2 := run(t, ctx, s, importer.Options{NoPayload: true, BatchSize: 1000, Jobs: 2, Stdin: generated(o2)}, "-")
	wg.Wait()
	if !sum2.Clean() || sum2.Stored != o2.Events {
		t.Fatalf("second import stored %d of %d, clean %v", sum2.Stored, o2.Events, sum2.Clean())
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}

// The database goes away for good in the middle of an import with three
// writers: the file's Done line is the end of a batch, every event up to
// it is stored, what is counted stored is what the table holds (parts of
// the batch that failed may be in, never counted twice), and the import
// run again stores the rest: each event once, every summary exact.
func TestImportSharesInterruptedThenResumed(t *testing.T) {
	s, ctx := setup(t)
	o := gen.Options{Seed: 7, Events: 12_000, FirstID: 1_000}
	events := genEvents(o)
	// Calls from the 8th on fail: the writers have stored a few parts of
	// the first batches, the rest is refused.
	sink := &flaky{Sink: s, fail: func(c int32) bool { return c >= 8 }}
	sum, err := importer.New(sink, importer.Options{NoPayload: true, BatchSize: 1000, Jobs: 3, RetryFor: 300 * time.Millisecond,
		Stdin: generated(o), Log: testLog(t)}).Run(ctx, []string{"-"})
	if !errors.Is(err, importer.ErrStopped) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v; want ErrStopped wrapping ErrUnavailable", err)
	}
	f := sum.Files[0]
	if !sum.Interrupted || f.Done%1000 != 0 || f.Done >= o.Events {
		t.Fatalf("file: done %d, interrupted %v; want a batch's end before %d", f.Done, f.Interrupted, o.Events)
	}
	ids := make([]int64, f.Done)
	for i := range ids {
		ids[i] = events[i].ID
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events WHERE id = ANY($1)`, ids); got != f.Done {
		t.Fatalf("%d of the events up to line %d (Done) stored, want all", got, f.Done)
	}
	held := count(t, ctx, s, `SELECT count(*) FROM events`)
	if held != f.Stored || held < f.Done {
		t.Fatalf("table holds %d, file stored %d, done %d: want stored = held >= done", held, f.Stored, f.Done)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
	t.Logf("done %d, stored %d before the database went", f.Done, f.Stored)

	sum2 := run(t, ctx, s, importer.Options{NoPayload: true, BatchSize: 1000, Jobs: 3, Stdin: generated(o)}, "-")
	if !sum2.Clean() || sum2.Stored != o.Events-f.Stored || sum2.Duplicates != f.Stored {
		t.Fatalf("resumed: stored %d, duplicates %d; want %d, %d", sum2.Stored, sum2.Duplicates, o.Events-f.Stored, f.Stored)
	}
	if got := count(t, ctx, s, `SELECT count(*) FROM events`); got != o.Events {
		t.Fatalf("table holds %d, want %d", got, o.Events)
	}
	testdb.SummariesMatch(t, ctx, s.Pool())
}
