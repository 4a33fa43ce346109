package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// Vacuumed is one table VacuumSummaries vacuumed.
type Vacuumed struct {
	// Table is the table's name.
	Table string
	// Live and Dead are its live rows and dead row versions before, as the
	// server's statistics counted them.
	Live, Dead int64
	// Took is how long its VACUUM ran.
	Took time.Duration
}

// VacuumRule is when a summary table is due for VACUUM: when it holds more
// than MinDead + Scale × live rows dead row versions (autovacuum's rule,
// whose defaults are 50 and 0.2).
type VacuumRule struct {
	MinDead int64
	Scale   float64
}

// summaryVacuums are the tables every write of events updates in place
// (the summaries the triggers of events keep, and the data version), each
// with its VACUUM.
func (s *Store) summaryVacuums() map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"event_type_counts":    s.q.VacuumEventTypeCounts,
		"event_hourly_counts":  s.q.VacuumEventHourlyCounts,
		"repo_type_counts":     s.q.VacuumRepoTypeCounts,
		"repo_count_histogram": s.q.VacuumRepoCountHistogram,
		"hourly_source_counts": s.q.VacuumHourlySourceCounts,
		"event_minute_counts":  s.q.VacuumEventMinuteCounts,
		"data_version":         s.q.VacuumDataVersion,
	}
}

// VacuumSummaries vacuums, one after the other, the summary tables that
// rule says are due, and returns those it vacuumed.
//
// Every statement that stores events updates rows of the summary tables in
// place, and each update leaves a dead row version behind until a VACUUM
// removes it. Autovacuum does that on its own; on a server where it is off
// (or behind a fast import) the dead versions pile up, the tables and their
// B-trees grow, and every later upsert pays for them (BENCHMARKS.md).
// VACUUM runs beside the writers (it takes no lock they wait for) on its
// own connection, outside any transaction, which it cannot run in. A table
// another VACUUM is working on is skipped. On an error the tables vacuumed
// before it are returned with it.
//
// The dead rows are the server's statistics, which a session publishes at
// most once a second: first the pool's idle sessions (the writers' between
// their batches; all of them once an import is done) are made to publish
// theirs, so that the last writes count.
func (s *Store) VacuumSummaries(ctx context.Context, rule VacuumRule) ([]Vacuumed, error) {
	for _, c := range s.pool.AcquireAllIdle(ctx) {
		err := dbgen.New(c).StatsFlushNext(ctx)
		c.Release()
		if err != nil {
			return nil, fmt.Errorf("publish the sessions' statistics: %w", mapErr(err))
		}
	}
	due, err := s.q.SummaryTablesDeadRows(ctx, dbgen.SummaryTablesDeadRowsParams{MinDead: rule.MinDead, Scale: rule.Scale})
	if err != nil {
		return nil, fmt.Errorf("read the summary tables' dead rows: %w", mapErr(err))
	}
	vacuums := s.summaryVacuums()
	var done []Vacuumed
	for _, t := range due {
		vacuum, ok := vacuums[t.Name]
		if !ok {
			continue // not a summary table (poller state, the archive hours...)
		}
		start := time.Now()
		if err := vacuum(ctx); err != nil {
			return done, fmt.Errorf("vacuum %s: %w", t.Name, mapErr(err))
		}
		done = append(done, Vacuumed{Table: t.Name, Live: t.Live, Dead: t.Dead, Took: time.Since(start)})
	}
	return done, nil
}
