package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghevents/ghevents/internal/model"
)

// events is partitioned by UTC month (migration 007). A write never fails for
// want of a partition: before storing a batch, the writers make sure every
// month it holds has one (EnsureMonths), and the leader makes the coming
// months ahead of need. A month is made when first needed, whatever its
// date: an event dated in 2031 gets events_2031_01.

// Partition is one partition of events: the months [From, To).
type Partition struct {
	Name     string
	From, To time.Time
	// Events is how many events it holds (from the hourly summary).
	Events int64
	// Bytes is its size on disk with its indexes and TOAST.
	Bytes int64
}

// Partitions lists the partitions of events, oldest first.
func (s *Store) Partitions(ctx context.Context) ([]Partition, error) {
	rows, err := s.q.PartitionsList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the partitions of events: %w", mapErr(err))
	}
	out := make([]Partition, len(rows))
	for i, r := range rows {
		out[i] = Partition{Name: r.Name, From: r.FromAt.UTC(), To: r.ToAt.UTC(), Events: r.Events, Bytes: r.TotalBytes}
	}
	return out, nil
}

// monthCache remembers the months known to have a partition, so a batch
// asks the database only for months it has not seen.
type monthCache struct {
	mu     sync.Mutex
	months map[time.Time]bool
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (c *monthCache) has(m time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.months[m]
}

func (c *monthCache) add(m time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.months == nil {
		c.months = map[time.Time]bool{}
	}
	c.months[m] = true
}

func (c *monthCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.months = nil
}

// How EnsureMonths waits for its lock: the database gives up after its
// lock_timeout (50 ms: queries never queue behind the partition's creation,
// which takes a lock that lets them run, but it may wait behind another
// schema change or a retention drop), then EnsureMonths tries again.
const (
	ensureAttempts = 40
	ensurePause    = 50 * time.Millisecond
)

// EnsureMonths makes sure the UTC month of every time given has its
// partition, creating the missing ones.
func (s *Store) EnsureMonths(ctx context.Context, times ...time.Time) error {
	var todo []time.Time
	for _, t := range times {
		m := monthOf(t)
		if !s.months.has(m) && !containsTime(todo, m) {
			todo = append(todo, m)
		}
	}
	for _, m := range todo {
		if err := s.ensureMonth(ctx, m); err != nil {
			return err
		}
		s.months.add(m)
	}
	return nil
}

func containsTime(ts []time.Time, t time.Time) bool {
	for _, u := range ts {
		if u.Equal(t) {
			return true
		}
	}
	return false
}

func (s *Store) ensureMonth(ctx context.Context, m time.Time) error {
	for attempt := 1; ; attempt++ {
		_, err := s.q.PartitionEnsureMonth(ctx, m)
		if err == nil {
			return nil
		}
		if !isLockTimeout(err) || attempt == ensureAttempts {
			return fmt.Errorf("make the partition of %s: %w", m.Format("2006-01"), mapErr(err))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("make the partition of %s: %w", m.Format("2006-01"), ctx.Err())
		case <-time.After(ensurePause):
		}
	}
}

func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.LockNotAvailable
}

// isNoPartition reports whether err is PostgreSQL finding no partition for
// a row: the month was dropped (by retention) since this process saw it.
func isNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.CheckViolation &&
		strings.HasPrefix(pgErr.Message, "no partition of relation")
}

// withMonths runs write after making sure the months of events have their
// partitions. Should a month have been dropped since it was cached, the
// cache is emptied, the months made again, and write tried once more.
func (s *Store) withMonths(ctx context.Context, events []model.Event, write func() (int64, error)) (int64, error) {
	times := make([]time.Time, len(events))
	for i, e := range events {
		times[i] = e.CreatedAt
	}
	if err := s.EnsureMonths(ctx, times...); err != nil {
		return 0, err
	}
	n, err := write()
	if err == nil || !isNoPartition(err) {
		return n, err
	}
	s.months.forget()
	if err := s.EnsureMonths(ctx, times...); err != nil {
		return 0, err
	}
	return write()
}

// DropPartition drops a partition of events and takes its events out of
// the summary tables in the same transaction; it returns how many events
// went. It waits for the writers in flight (at most 5 s) and then for the
// DROP's lock, 50 ms at a time, so no query waits on it longer.
func (s *Store) DropPartition(ctx context.Context, name string) (int64, error) {
	n, err := s.q.PartitionDrop(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("drop partition %s: %w", name, mapErr(err))
	}
	s.months.forget()
	return n, nil
}
