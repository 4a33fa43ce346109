package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

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

// RankIndexRule is when MaintainRankIndex rebuilds: the ranking index
// (repo_type_counts_rank_idx) holds at least MinPages pages and more than
// MaxBloat times the pages its entries fill when packed.
type RankIndexRule struct {
	MaxBloat float64
	MinPages int64
}

// DefaultRankIndexRule rebuilds a ranking index of 8 MiB or more holding
// more than twice the pages it needs.
var DefaultRankIndexRule = RankIndexRule{MaxBloat: 2, MinPages: 1024}

// RankIndexReport is what one MaintainRankIndex did.
type RankIndexReport struct {
	// Skipped is set when another session was running the job: nothing
	// was looked at.
	Skipped bool
	// Dropped names the leftovers of an interrupted rebuild it dropped.
	Dropped []string
	// Pages is the ranking index's size before, Packed the pages its
	// Entries would fill packed (an estimate from the table's statistics),
	// PagesAfter its size after a rebuild.
	Pages, Packed, Entries, PagesAfter int64
	// Rebuilt is set when it rebuilt the indexes; Took is how long that
	// took.
	Rebuilt bool
	Took    time.Duration
}

// rankIndexLockKey is the advisory lock of the job: one session at a time.
const rankIndexLockKey int64 = 0x67686576_72616e6b // "ghevrank"

// Leaf pages of 8 kB, less their header and B-tree trailer, filled to the
// 90 % that a B-tree build leaves; an entry is its three text columns, the
// count (8 bytes), the tuple header (8), alignment (about 8) and its line
// pointer (4).
const (
	btreeLeafBytes    = (8192 - 24 - 16) * 0.9
	rankEntryOverhead = 28
	// rankEntryGuess is an entry's size when the table has no statistics.
	rankEntryGuess = 64
)

// packedPages is how many pages entries of entryBytes fill in a packed
// B-tree: its leaves, about 1 % more for the inner pages, and the meta page.
func packedPages(entries, entryBytes int64) int64 {
	leaves := math.Ceil(float64(entries*entryBytes) / btreeLeafBytes)
	return int64(math.Ceil(leaves*1.01)) + 1
}

// MaintainRankIndex keeps the ranking index of the export and of
// /metrics/multiple-events-repos packed. The index has a pair's count in
// its key, so every event stored moves its pair's entry, and VACUUM frees
// the dead entries without merging the pages they leave half empty: a
// store loaded through the triggers ends up with a tenth of what its pages
// hold (docs/scaling.md, "The ranking index churns"), and the export reads
// ten times the pages it needs. When rule says the index is bloated it is
// rebuilt with REINDEX TABLE CONCURRENTLY repo_type_counts (its other two
// indexes with it), beside the queries and writes, which go on.
//
// It first drops what an interrupted rebuild left (INVALID indexes named
// <index>_ccnew, or <index>_ccold), and drops them again when its own
// rebuild fails or is cancelled. It runs on a connection of its own,
// without the pool's statement timeout (ctx bounds it), and holds an
// advisory lock meanwhile: a second caller while one runs is Skipped.
func (s *Store) MaintainRankIndex(ctx context.Context, rule RankIndexRule) (RankIndexReport, error) {
	var rep RankIndexReport
	cc := s.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["application_name"] = "ghevents maintenance"
	cc.RuntimeParams["statement_timeout"] = "0"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return rep, fmt.Errorf("open the maintenance connection: %w", mapErr(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := dbgen.New(conn)
	locked, err := q.MaintenanceTryLock(ctx, rankIndexLockKey)
	if err != nil {
		return rep, fmt.Errorf("take the lock of the ranking index's upkeep: %w", mapErr(err))
	}
	if !locked {
		rep.Skipped = true
		return rep, nil
	}
	// The lock goes with the session, closed above.
	if rep.Dropped, err = q.RepoTypeCountsDropLeftovers(ctx); err != nil {
		return rep, fmt.Errorf("drop the leftovers of an interrupted REINDEX of repo_type_counts: %w", mapErr(err))
	}
	size, err := q.RankIndexSize(ctx)
	if err != nil {
		return rep, fmt.Errorf("read the size of the ranking index: %w", mapErr(err))
	}
	entry := size.TextBytes + rankEntryOverhead
	if size.TextBytes == 0 {
		entry = rankEntryGuess
	}
	rep.Pages, rep.Entries, rep.Packed = size.Pages, size.Entries, packedPages(size.Entries, entry)
	if rep.Pages < rule.MinPages || float64(rep.Pages) <= rule.MaxBloat*float64(rep.Packed) {
		return rep, nil
	}
	start := time.Now()
	if err := q.ReindexRepoTypeCounts(ctx); err != nil {
		// A REINDEX that fails or is cancelled leaves its new indexes
		// behind; take them out now, on a connection of the pool (this
		// one may have been closed by the cancel).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if dropped, derr := s.q.RepoTypeCountsDropLeftovers(cctx); derr == nil {
			rep.Dropped = append(rep.Dropped, dropped...)
		} else {
			err = errors.Join(err, fmt.Errorf("drop its leftovers: %w", mapErr(derr)))
		}
		return rep, fmt.Errorf("rebuild the indexes of repo_type_counts: %w", mapErr(err))
	}
	rep.Rebuilt, rep.Took = true, time.Since(start)
	after, err := q.RankIndexSize(ctx)
	if err != nil {
		return rep, fmt.Errorf("read the size of the ranking index: %w", mapErr(err))
	}
	rep.PagesAfter = after.Pages
	return rep, nil
}
