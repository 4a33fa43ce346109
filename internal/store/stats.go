package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TypeStats is how many events of one type are stored, and their time span.
type TypeStats struct {
	Type   string
	Events int64
	// Oldest and Newest are zero when the summary counts events that are
	// not there (after a TRUNCATE, which fires no trigger).
	Oldest, Newest time.Time
}

// Stats is what is stored, for operators.
type Stats struct {
	Types []TypeStats
	// Events is the total over Types.
	Events int64
	// TableBytes is the events table alone; TotalBytes adds its indexes and
	// TOAST, summed over the partitions; DatabaseBytes is the whole database.
	TableBytes, TotalBytes, DatabaseBytes int64
	// Partitions are the monthly partitions of events, oldest first.
	Partitions []Partition
}

// Stats reads the per-type counts (from the summary table), the oldest
// and newest event of each type (one index probe each), all in one
// snapshot, and the sizes on disk and the partitions.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Stats{}, fmt.Errorf("begin the stats snapshot: %w", mapErr(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := s.q.WithTx(tx)
	rows, err := q.StatsTypeCounts(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("count events by type: %w", mapErr(err))
	}
	var st Stats
	for _, r := range rows {
		ts := TypeStats{Type: r.Type, Events: r.Events}
		span, err := q.StatsTypeSpan(ctx, r.Type)
		if err != nil {
			return Stats{}, fmt.Errorf("oldest and newest %s: %w", r.Type, mapErr(err))
		}
		if span.Oldest != nil && span.Newest != nil {
			ts.Oldest, ts.Newest = span.Oldest.UTC(), span.Newest.UTC()
		}
		st.Types = append(st.Types, ts)
		st.Events += r.Events
	}
	sizes, err := s.q.StatsSizes(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("read table sizes: %w", mapErr(err))
	}
	st.TableBytes, st.TotalBytes, st.DatabaseBytes = sizes.TableBytes, sizes.TotalBytes, sizes.DatabaseBytes
	if st.Partitions, err = s.Partitions(ctx); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// Autovacuum says whether the server runs autovacuum (see ServerAutovacuum).
func (s *Store) Autovacuum(ctx context.Context) (bool, error) {
	on, err := s.q.ServerAutovacuum(ctx)
	if err != nil {
		return false, fmt.Errorf("read the server's autovacuum setting: %w", mapErr(err))
	}
	return on, nil
}
