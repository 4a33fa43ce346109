package store

import (
	"context"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/model"
)

// ConnForTest exposes the lock connection to the tests of store_test.
func (c *LockConn) ConnForTest() *pgx.Conn { return c.conn }

// InsertOnConflictForTest runs the INSERT ... ON CONFLICT path of
// InsertEvents on its own (its months must exist).
func (s *Store) InsertOnConflictForTest(ctx context.Context, events []model.Event) (int64, error) {
	return s.insertOnConflict(ctx, events)
}

// SetAggregateEventsForTest sets the window size (events of the type) up
// to which TopReposIn counts the window's events per repository instead of
// reading the recency summary; -1: always the summary when it applies.
func (s *Store) SetAggregateEventsForTest(n int64) { s.aggregateEvents = n }

// SummaryTablesForTest are the tables VacuumSummaries knows how to vacuum.
func (s *Store) SummaryTablesForTest() []string {
	return slices.Sorted(maps.Keys(s.summaryVacuums()))
}
