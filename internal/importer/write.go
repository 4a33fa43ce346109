package importer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ghevents/ghevents/internal/backoff"
	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

// attemptTimeout bounds one attempt at storing a batch, so a connection
// that hangs without an error counts as the database being unreachable.
const attemptTimeout = 2 * time.Minute

// A batch is retried after retryBase, doubling per attempt up to retryMax.
const (
	retryBase = 100 * time.Millisecond
	retryMax  = 5 * time.Second
)

// write stores one batch and records the outcome in its file.
func (r *run) write(b *batch) {
	defer r.recycle(b)
	if r.aborted() {
		r.settle(b, false, 0, nil)
		return
	}
	// Batches already read are stored even when the import is interrupted:
	// that is what an interruption promises.
	ctx := context.WithoutCancel(r.ctx)
	stored, rejected, err := r.storeRows(ctx, b.events, b.lines)
	if err != nil {
		r.stop(fmt.Errorf("storing lines %d to %d of %s: %w", b.lines[0], b.lines[len(b.lines)-1], b.file.src.name, err))
		// Part of the batch may be stored (the halves before the failure):
		// count it; the file's Done line stays before this batch.
		r.settle(b, false, stored, rejected)
		return
	}
	r.settle(b, true, stored, rejected)
}

// settle records a batch's outcome.
func (r *run) settle(b *batch, ok bool, stored int64, rejected []BadLine) {
	f := b.file
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok[b.seq] = ok
	f.res.Stored += stored
	f.stored.Add(stored)
	r.vacuum.stored(r.storedTotal.Add(stored), stored)
	f.metrics.EventsStored.Add(float64(stored))
	for _, bl := range rejected {
		f.addBad(r.im.o.Log, bl.Line, bl.Reason)
	}
	if ok {
		dups := max(int64(len(b.events))-stored-int64(len(rejected)), 0)
		f.res.Duplicates += dups
		f.dups.Add(dups)
		f.metrics.Duplicates.Add(float64(dups))
	}
	f.pending--
	f.finishLocked(r)
}

// storeRows stores events, isolating the rows PostgreSQL refuses
// (store.SplitRefused, the one rule every writer follows), which are
// returned with their line numbers. Each statement is retried while the
// database is unreachable.
func (r *run) storeRows(ctx context.Context, events []model.Event, lines []int64) (int64, []BadLine, error) {
	stored, refused, err := store.SplitRefused(events, func(b []model.Event) (int64, error) { return r.retry(ctx, b) })
	var bad []BadLine
	for _, rf := range refused {
		bad = append(bad, BadLine{Line: lines[rf.Index], Reason: "PostgreSQL refused the event: " + store.RowErrorMessage(rf.Err)})
	}
	// On an error, what was stored before it is counted, or a rerun would
	// call its rows duplicates that this run never reported.
	return stored, bad, err
}

// retry sends one statement's worth of events, again and again with a
// growing pause while the database is unreachable (or a deadlock with
// another writer was lost), for at most RetryFor.
func (r *run) retry(ctx context.Context, events []model.Event) (int64, error) {
	deadline := time.Now().Add(r.im.o.RetryFor)
	for attempt := 1; ; attempt++ {
		delay := backoff.Step(retryBase, retryMax, attempt)
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		n, err := r.im.sink.InsertEvents(actx, events)
		cancel()
		if err == nil || !store.IsRetryable(err) {
			return n, err
		}
		if time.Now().Add(delay).After(deadline) {
			return 0, fmt.Errorf("database unavailable: gave up after %d attempts in %v: %w", attempt, r.im.o.RetryFor, err)
		}
		r.im.o.Log.Warn("storing a batch failed; retrying", slog.Int("attempt", attempt),
			slog.Duration("pause", delay), slog.String("error", err.Error()))
		select {
		case <-time.After(delay):
		case <-r.abort:
			return 0, fmt.Errorf("import stopped while retrying: %w", err)
		}
	}
}
