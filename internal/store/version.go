package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// DataVersion identifies a state of the stored events: it changes in the
// same transaction as every statement that changes events (migration 004),
// and differs between databases. Equal versions mean equal events, so an
// answer computed at a version holds for as long as the version stays.
type DataVersion struct {
	// Database names the database: its cluster's system identifier and its
	// oid (a physical replica has those of its primary).
	Database string
	// Epoch is made at random with the database's schema.
	Epoch string
	// N counts the statements that changed events.
	N int64
}

// String is the version as text, such as "7319.../16384:2b0f...:42".
func (v DataVersion) String() string {
	return v.Database + ":" + v.Epoch + ":" + strconv.FormatInt(v.N, 10)
}

// DataVersion reads the version of the events in the database the metric
// queries read (the read replica, when there is one): one row.
func (s *Store) DataVersion(ctx context.Context) (DataVersion, error) {
	r, err := s.read().DataVersion(ctx)
	if err != nil {
		return DataVersion{}, fmt.Errorf("read the data version: %w", mapErr(err))
	}
	return DataVersion{Database: r.Database, Epoch: r.Epoch, N: r.Version}, nil
}

// ReadSnapshot runs fn with a store whose metric queries all read one
// snapshot of the read database (a read-only REPEATABLE READ transaction,
// which a replica serves too), and returns the data version of that
// snapshot: what fn computed is exactly the answer at that version. The
// store fn gets must not be used concurrently or after fn returns.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(*Store) error) (DataVersion, error) {
	tx, err := s.readPool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return DataVersion{}, fmt.Errorf("begin a read snapshot: %w", mapErr(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	snap := &Store{pool: s.pool, q: s.q, readPool: s.readPool, readQ: s.readQ.WithTx(tx), months: s.months, snapshot: true, aggregateEvents: s.aggregateEvents}
	v, err := snap.DataVersion(ctx)
	if err != nil {
		return DataVersion{}, err
	}
	if err := fn(snap); err != nil {
		return DataVersion{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return DataVersion{}, fmt.Errorf("end a read snapshot: %w", mapErr(err))
	}
	return v, nil
}

// StoredSpan is how many events are stored and when the oldest and newest
// of them were created (nil when none are).
type StoredSpan struct {
	Events         int64
	Oldest, Newest *time.Time
}

// StoredSpan reads how many events the read database holds and their time
// span: the summary count and two index probes.
func (s *Store) StoredSpan(ctx context.Context) (StoredSpan, error) {
	r, err := s.read().StoredSpan(ctx)
	if err != nil {
		return StoredSpan{}, fmt.Errorf("read the stored span: %w", mapErr(err))
	}
	return StoredSpan{Events: r.Events, Oldest: utcPtr(r.Oldest), Newest: utcPtr(r.Newest)}, nil
}
