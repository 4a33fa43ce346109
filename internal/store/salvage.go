package store

import (
	"context"
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghevents/ghevents/internal/model"
)

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

// InsertEventsSkippingBad stores events like InsertEvents, in one statement
// when it can. When the database refuses the batch because of the data of
// some rows (IsDataError: a value jsonb or a column type will not take), it
// bisects the batch, stores every event it will take, and returns the
// refused ones in Rejected instead of failing, so that one bad event never
// blocks the rest. Any other error (the database is unavailable, ctx ended)
// is returned with what was stored before it in Stored; retrying the whole
// batch is then safe, already stored events being skipped as duplicates.
func (s *Store) InsertEventsSkippingBad(ctx context.Context, events []model.Event) (InsertResult, error) {
	var res InsertResult
	err := s.insertBisect(ctx, events, &res)
	return res, err
}

func (s *Store) insertBisect(ctx context.Context, events []model.Event, res *InsertResult) error {
	if len(events) == 0 {
		return nil
	}
	n, err := s.InsertEvents(ctx, events)
	if err == nil {
		res.Stored += n
		return nil
	}
	if !IsDataError(err) {
		return err
	}
	if len(events) == 1 {
		res.Rejected = append(res.Rejected, RejectedEvent{Event: events[0], Err: err})
		return nil
	}
	half := len(events) / 2
	if err := s.insertBisect(ctx, events[:half], res); err != nil {
		return err
	}
	return s.insertBisect(ctx, events[half:], res)
}

// IsDataError reports whether err is the database refusing the data itself,
// so that retrying the same rows can never succeed: SQLSTATE class 22 (data
// exception: invalid JSON for jsonb, a value out of range, bad encoding),
// class 23 (integrity constraint violation) or 54000 (a value too large for
// an index or a row).
func IsDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgerrcode.IsDataException(pgErr.Code) || pgerrcode.IsIntegrityConstraintViolation(pgErr.Code) ||
		pgErr.Code == pgerrcode.ProgramLimitExceeded
}
