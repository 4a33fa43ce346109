package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// InsertEvents is the one way every writer (the poller, `ghevents import`)
// stores a batch. It returns how many events were newly stored; the others
// were already stored (same id and created_at) or repeated in the batch.
// Either the whole batch is stored or nothing is: a failed batch can be
// sent again as it is. An empty batch stores nothing and touches no
// connection; an event whose Raw is nil is stored with a NULL raw column.
//
// First the months of the batch get their partitions (EnsureMonths). Then,
// in one transaction, it asks which identities are already stored (a
// primary-key probe each, skipped when no stored event has its id and time
// within the batch's ranges) and COPYs the others straight into events. Should
// another writer store one of them in between, that COPY fails with a unique
// violation and the batch is sent again as one INSERT ... ON CONFLICT (id,
// created_at) DO NOTHING, which skips whatever is stored by then. Either
// way an event's action is stored as its key (model.ActionKey).
func (s *Store) InsertEvents(ctx context.Context, events []model.Event) (int64, error) {
	if len(events) == 0 {
		return 0, nil
	}
	return s.withMonths(ctx, events, func() (int64, error) {
		n, err := s.copyNew(ctx, events)
		if isUniqueViolation(err) {
			return s.insertOnConflict(ctx, events)
		}
		return n, err
	})
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation
}

// copyNew COPYs the events of the batch not stored yet.
func (s *Store) copyNew(ctx context.Context, events []model.Event) (int64, error) {
	type key struct {
		id int64
		at int64
	}
	ids := make([]int64, len(events))
	ats := make([]time.Time, len(events))
	box := dbgen.EventsAnyStoredInParams{MinID: events[0].ID, MaxID: events[0].ID,
		MinCreatedAt: events[0].CreatedAt, MaxCreatedAt: events[0].CreatedAt}
	for i, e := range events {
		ids[i], ats[i] = e.ID, e.CreatedAt
		box.MinID, box.MaxID = min(box.MinID, e.ID), max(box.MaxID, e.ID)
		if e.CreatedAt.Before(box.MinCreatedAt) {
			box.MinCreatedAt = e.CreatedAt
		}
		if e.CreatedAt.After(box.MaxCreatedAt) {
			box.MaxCreatedAt = e.CreatedAt
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin a batch: %w", mapErr(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := s.q.WithTx(tx)
	// When no stored event lies within the batch's range of ids and times
	// (new data, an empty store), none of its identities is stored: one
	// range probe instead of one primary-key probe per event.
	anyStored, err := q.EventsAnyStoredIn(ctx, box)
	if err != nil {
		return 0, fmt.Errorf("look up the range of %d identities: %w", len(events), mapErr(err))
	}
	var stored []dbgen.EventsStoredIdentitiesRow
	if anyStored {
		stored, err = q.EventsStoredIdentities(ctx, dbgen.EventsStoredIdentitiesParams{Ids: ids, CreatedAts: ats})
		if err != nil {
			return 0, fmt.Errorf("look up %d identities: %w", len(events), mapErr(err))
		}
	}
	seen := make(map[key]bool, len(events)+len(stored))
	for _, r := range stored {
		seen[key{r.ID, r.CreatedAt.UnixMicro()}] = true
	}
	rows := make([]dbgen.EventsCopyParams, 0, len(events))
	for _, e := range events {
		k := key{e.ID, e.CreatedAt.UnixMicro()}
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, dbgen.EventsCopyParams{
			ID:         e.ID,
			Type:       e.Type,
			ActorID:    nonZero(e.ActorID),
			ActorLogin: nonZero(e.ActorLogin),
			RepoID:     e.RepoID,
			RepoName:   e.RepoName,
			OrgID:      nonZero(e.OrgID),
			OrgLogin:   nonZero(e.OrgLogin),
			Action:     nonZero(model.ActionKey(e.Action)),
			CreatedAt:  e.CreatedAt,
			Raw:        e.Raw,
			Source:     sourceOf(e),
		})
	}
	if len(rows) == 0 {
		return 0, nil
	}
	// Identity order, as everywhere: two writers take their locks in the
	// same order.
	slices.SortFunc(rows, func(a, b dbgen.EventsCopyParams) int {
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	n, err := q.EventsCopy(ctx, rows)
	if err != nil {
		return 0, fmt.Errorf("copy %d events: %w", len(rows), mapErr(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit a batch: %w", mapErr(err))
	}
	return n, nil
}

// sourceOf is e's source as the enum column takes it (nil: NULL).
func sourceOf(e model.Event) *dbgen.EventSource {
	if e.Source == "" {
		return nil
	}
	src := dbgen.EventSource(e.Source)
	return &src
}

// nonZero is nil for the zero value (stored as NULL), else a pointer to v.
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// insertOnConflict stores the batch in one INSERT ... ON CONFLICT DO
// NOTHING: the path of a batch some of which another writer stored
// concurrently.
func (s *Store) insertOnConflict(ctx context.Context, events []model.Event) (int64, error) {
	p := dbgen.EventsInsertBatchParams{
		Ids:         make([]int64, len(events)),
		Types:       make([]string, len(events)),
		ActorIds:    make([]int64, len(events)),
		ActorLogins: make([]string, len(events)),
		RepoIds:     make([]int64, len(events)),
		RepoNames:   make([]string, len(events)),
		OrgIds:      make([]int64, len(events)),
		OrgLogins:   make([]string, len(events)),
		Actions:     make([]string, len(events)),
		CreatedAts:  make([]time.Time, len(events)),
		Raws:        make([][]byte, len(events)),
		Sources:     make([]string, len(events)),
	}
	for i, e := range events {
		p.Ids[i] = e.ID
		p.Types[i] = e.Type
		p.ActorIds[i] = e.ActorID
		p.ActorLogins[i] = e.ActorLogin
		p.RepoIds[i] = e.RepoID
		p.RepoNames[i] = e.RepoName
		p.OrgIds[i] = e.OrgID
		p.OrgLogins[i] = e.OrgLogin
		p.Actions[i] = model.ActionKey(e.Action)
		p.CreatedAts[i] = e.CreatedAt
		p.Raws[i] = e.Raw
		p.Sources[i] = string(e.Source)
	}
	n, err := s.q.EventsInsertBatch(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("insert %d events: %w", len(events), mapErr(err))
	}
	return n, nil
}

// Refused is an event of a batch that PostgreSQL refused because of its own
// data.
type Refused struct {
	// Index is the event's place in the batch.
	Index int
	// Err is the database's error (IsDataError holds for it).
	Err error
}

// SplitRefused stores events with write, in one call when it can. When
// write fails because of the data of some rows (IsDataError), it splits the
// batch in halves and stores each on its own, down to the single rows
// refused, which it returns instead of failing, so one bad event never
// blocks the rest. Any other error is returned with how many events were
// stored before it; sending the whole batch again is then safe (stored
// events are skipped as duplicates). Every writer isolates refused rows
// this way, with this one rule.
func SplitRefused(events []model.Event, write func([]model.Event) (int64, error)) (stored int64, refused []Refused, err error) {
	var split func(lo, hi int) error
	split = func(lo, hi int) error {
		if lo == hi {
			return nil
		}
		n, err := write(events[lo:hi])
		if err == nil {
			stored += n
			return nil
		}
		if !IsDataError(err) {
			return err
		}
		if hi-lo == 1 {
			refused = append(refused, Refused{Index: lo, Err: err})
			return nil
		}
		mid := lo + (hi-lo)/2
		if err := split(lo, mid); err != nil {
			return err
		}
		return split(mid, hi)
	}
	err = split(0, len(events))
	return stored, refused, err
}

// RejectedEvent is an event the database refused because of its own data.
type RejectedEvent struct {
	Event model.Event
	// Err is the database's error (IsDataError holds for it).
	Err error
}

// InsertResult is what InsertEventsSkippingBad did.
type InsertResult struct {
	// Stored is how many events this call stored (new identities).
	Stored int64
	// Rejected are the events refused because of their own data.
	Rejected []RejectedEvent
}

// InsertEventsSkippingBad stores events with InsertEvents, isolating the
// events the database refuses (SplitRefused): they are returned in Rejected.
// Any other error (the database is unavailable, ctx ended) is returned with
// what was stored before it in Stored.
func (s *Store) InsertEventsSkippingBad(ctx context.Context, events []model.Event) (InsertResult, error) {
	stored, refused, err := SplitRefused(events, func(b []model.Event) (int64, error) { return s.InsertEvents(ctx, b) })
	res := InsertResult{Stored: stored}
	for _, r := range refused {
		res.Rejected = append(res.Rejected, RejectedEvent{Event: events[r.Index], Err: r.Err})
	}
	return res, err
}

// IsDataError reports whether err is the database refusing the data itself,
// so that retrying the same rows can never succeed: SQLSTATE class 22 (data
// exception: invalid JSON for jsonb, a value out of range, bad encoding),
// class 23 (integrity constraint violation: the write path handles a
// duplicate identity itself, so one reaching here is the row's own) or 54000
// (a value too large for an index or a row). The one rule of every writer.
func IsDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgerrcode.IsDataException(pgErr.Code) || pgerrcode.IsIntegrityConstraintViolation(pgErr.Code) ||
		pgErr.Code == pgerrcode.ProgramLimitExceeded
}

// IsRetryable reports whether the same statement may succeed if sent again
// later: the database was unreachable (IsUnavailable), or the transaction
// lost a deadlock (40P01) or a serialization conflict (40001) against
// another writer.
func IsRetryable(err error) bool {
	if IsUnavailable(err) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.DeadlockDetected || pgErr.Code == pgerrcode.SerializationFailure)
}

// RowErrorMessage is PostgreSQL's message for a refused row (with its
// detail when there is one), for reports; empty when err is not from
// PostgreSQL.
func RowErrorMessage(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	msg := pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	if pgErr.Detail != "" {
		msg += ": " + pgErr.Detail
	}
	return msg
}
