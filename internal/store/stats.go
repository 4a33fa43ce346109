package store

import (
	"context"
	"fmt"
	"time"
)

// TypeStats is how many events of one type are stored, and their time span.
type TypeStats struct {
	Type           string
	Events         int64
	Oldest, Newest time.Time
}

// Stats is what is stored, for operators.
type Stats struct {
	Types []TypeStats
	// Events is the total over Types.
	Events int64
	// TableBytes is the events table alone; TotalBytes adds its indexes and
	// TOAST; DatabaseBytes is the whole database.
	TableBytes, TotalBytes, DatabaseBytes int64
}

// Stats reads the per-type counts and the sizes on disk.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	rows, err := s.q.StatsByType(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("count events by type: %w", mapErr(err))
	}
	var st Stats
	for _, r := range rows {
		st.Types = append(st.Types, TypeStats{Type: r.Type, Events: r.Events, Oldest: r.Oldest.UTC(), Newest: r.Newest.UTC()})
		st.Events += r.Events
	}
	sizes, err := s.q.StatsSizes(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("read table sizes: %w", mapErr(err))
	}
	st.TableBytes, st.TotalBytes, st.DatabaseBytes = sizes.TableBytes, sizes.TotalBytes, sizes.DatabaseBytes
	return st, nil
}
