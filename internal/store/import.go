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

// ImportEvents stores a batch the bulk way, for `ghevents import`, and
// returns how many events were newly stored; the others were already stored
// or repeated in the batch. Either the whole batch is stored or nothing is:
// a failed batch can be sent again as it is. An event whose Raw is nil is
// stored with a NULL raw column.
//
// The fast path, in one transaction: ask which identities are already
// stored (a primary-key probe each), then COPY the others straight into
// events. Should another writer (the poller) store one of them in between,
// that COPY fails with a unique violation and the batch takes the staged
// path: COPY into the session's temporary staging table, then one INSERT ...
// SELECT ... ON CONFLICT (id, created_at) DO NOTHING. Measured on 500,000
// events in one statement, the straight COPY is about 1.4 times as fast.
func (s *Store) ImportEvents(ctx context.Context, events []model.Event) (int64, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n, err := s.importDirect(ctx, events)
	var pgErr *pgconn.PgError
	if err != nil && errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation {
		return s.importStaged(ctx, events)
	}
	return n, err
}

// importDirect is the fast path of ImportEvents.
func (s *Store) importDirect(ctx context.Context, events []model.Event) (int64, error) {
	type key struct {
		id int64
		at int64
	}
	ids := make([]int64, len(events))
	ats := make([]time.Time, len(events))
	for i, e := range events {
		ids[i], ats[i] = e.ID, e.CreatedAt
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin import batch: %w", mapErr(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := s.q.WithTx(tx)
	stored, err := q.ImportStoredIdentities(ctx, dbgen.ImportStoredIdentitiesParams{Ids: ids, CreatedAts: ats})
	if err != nil {
		return 0, fmt.Errorf("look up %d identities: %w", len(events), mapErr(err))
	}
	seen := make(map[key]bool, len(events)+len(stored))
	for _, r := range stored {
		seen[key{r.ID, r.CreatedAt.UnixMicro()}] = true
	}
	rows := make([]dbgen.ImportEventsCopyParams, 0, len(events))
	for _, e := range events {
		k := key{e.ID, e.CreatedAt.UnixMicro()}
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, dbgen.ImportEventsCopyParams{
			ID:         e.ID,
			Type:       e.Type,
			ActorID:    nonZero(e.ActorID),
			ActorLogin: nonZero(e.ActorLogin),
			RepoID:     e.RepoID,
			RepoName:   e.RepoName,
			OrgID:      nonZero(e.OrgID),
			OrgLogin:   nonZero(e.OrgLogin),
			Action:     nonZero(e.Action),
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
	slices.SortFunc(rows, func(a, b dbgen.ImportEventsCopyParams) int {
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	n, err := q.ImportEventsCopy(ctx, rows)
	if err != nil {
		return 0, fmt.Errorf("copy %d events: %w", len(rows), mapErr(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit import batch: %w", mapErr(err))
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

// importStaged is the path of ImportEvents that tolerates identities stored
// concurrently: staging table, then INSERT ... ON CONFLICT DO NOTHING.
func (s *Store) importStaged(ctx context.Context, events []model.Event) (int64, error) {
	rows := make([]dbgen.ImportStagingCopyParams, len(events))
	for i, e := range events {
		rows[i] = dbgen.ImportStagingCopyParams{
			ID:         e.ID,
			Type:       e.Type,
			ActorID:    e.ActorID,
			ActorLogin: e.ActorLogin,
			RepoID:     e.RepoID,
			RepoName:   e.RepoName,
			OrgID:      e.OrgID,
			OrgLogin:   e.OrgLogin,
			Action:     e.Action,
			CreatedAt:  e.CreatedAt,
			Raw:        e.Raw,
			Source:     string(e.Source),
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin import batch: %w", mapErr(err))
	}
	// After a commit, Rollback does nothing; after a failure it ends the
	// transaction (and empties the staging table with it).
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := s.q.WithTx(tx)
	if err := q.ImportStagingCreate(ctx); err != nil {
		return 0, fmt.Errorf("create staging table: %w", mapErr(err))
	}
	if _, err := q.ImportStagingCopy(ctx, rows); err != nil {
		return 0, fmt.Errorf("copy %d events into staging: %w", len(rows), mapErr(err))
	}
	n, err := q.ImportStagingMove(ctx)
	if err != nil {
		return 0, fmt.Errorf("move %d staged events into events: %w", len(rows), mapErr(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit import batch: %w", mapErr(err))
	}
	return n, nil
}

// IsRowDataError reports whether err is PostgreSQL refusing a value that
// some row of the statement carried: SQLSTATE class 22 (data exception,
// such as a JSON escape jsonb refuses) or 54000 (program limit exceeded,
// such as a value too large for an index row). Sending the same rows again
// fails again; the other rows of the batch can be stored without them.
func IsRowDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgerrcode.IsDataException(pgErr.Code) || pgErr.Code == pgerrcode.ProgramLimitExceeded
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
