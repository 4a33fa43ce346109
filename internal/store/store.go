// Package store is ghevents' only door to PostgreSQL: the connection pool, the
// migrations, and every query, through the sqlc-generated code in dbgen. It
// returns the domain types of internal/model and maps driver errors to its
// own (ErrNotFound, ErrUnavailable) in one place.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

var (
	// ErrNotFound is returned when the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable wraps errors that mean the database cannot be reached
	// (refused, reset, shutting down, starting up); retrying later may work.
	ErrUnavailable = errors.New("database unavailable")
	// ErrConflict wraps errors that mean the server cancelled the query
	// because it conflicted with another change: on a read replica, with
	// the replay of the primary's changes (a recovery conflict, SQLSTATE
	// 40001, or 40P01 for a deadlock with replay). Retrying may work.
	ErrConflict = errors.New("query cancelled by a conflict")
)

// Options tune the connection pool.
type Options struct {
	// MaxConns is the most connections the pool opens (0: pgx's default).
	MaxConns int32
	// MaxConnLifetime closes and replaces connections older than this (0: pgx's default).
	MaxConnLifetime time.Duration
	// ApplicationName is shown in pg_stat_activity.
	ApplicationName string
	// StatementTimeout makes the server cancel any statement running longer
	// (0: none). Callers also bound each call with a context.
	StatementTimeout time.Duration
	// ReadURL, when set, is a read replica for the metric queries.
	ReadURL string
}

// Store runs ghevents' queries over a pgx pool, and the metric queries over
// a second pool when a read replica is configured.
type Store struct {
	pool     *pgxpool.Pool
	q        *dbgen.Queries
	readPool *pgxpool.Pool
	readQ    *dbgen.Queries
	// months are the months known to have their partition of events.
	months *monthCache
	// snapshot is set on the store ReadSnapshot gives: readQ is then one
	// read-only REPEATABLE READ transaction.
	snapshot bool
	// aggregateEvents replaces the constant of the same name when set (the
	// tests' small data sets).
	aggregateEvents int64
}

// Open connects a pool to url (and to opts.ReadURL when set) and checks that
// the database answers.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	pool, err := openPool(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	s := New(pool)
	if opts.ReadURL != "" {
		readPool, err := openPool(ctx, opts.ReadURL, opts)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("read replica: %w", err)
		}
		s.readPool, s.readQ = readPool, dbgen.New(readPool)
	}
	return s, nil
}

// PoolConfig parses url into a pool configuration with ghevents' settings.
func PoolConfig(url string, opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the string, password included: keep it out.
		return nil, errors.New("parse database URL: not a valid PostgreSQL connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = opts.MaxConnLifetime
	}
	params := cfg.ConnConfig.RuntimeParams
	if opts.ApplicationName != "" {
		params["application_name"] = opts.ApplicationName
	}
	if opts.StatementTimeout > 0 {
		params["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	// The metric queries have optional filters (`$1 IS NULL OR col = $1`):
	// planning each execution with its values lets PostgreSQL drop the
	// filters not given and pick the index that fits the others. A generic
	// plan, cached after five runs, could not.
	params["plan_cache_mode"] = "force_custom_plan"
	return cfg, nil
}

func openPool(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", mapErr(err))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", mapErr(err))
	}
	return pool, nil
}

// Connect opens one connection to url (for migrations). The URL may carry
// pgxpool's settings (pool_max_conns, pool_max_conn_idle_time, ...), which
// DATABASE_URL shares with the pools: they are read and left out, where
// pgx.Connect would send them to the server as parameters it refuses.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("parse database URL: not a valid PostgreSQL connection string")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", mapErr(err))
	}
	return conn, nil
}

// New wraps an existing pool (used for writes and reads alike).
func New(pool *pgxpool.Pool) *Store {
	q := dbgen.New(pool)
	return &Store{pool: pool, q: q, readPool: pool, readQ: q, months: &monthCache{}}
}

// Pool returns the underlying (primary) pool, for pool statistics and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// ReadPool returns the pool of the read replica, or nil without one.
func (s *Store) ReadPool() *pgxpool.Pool {
	if s.readPool == s.pool {
		return nil
	}
	return s.readPool
}

// Close closes every connection of the pools.
func (s *Store) Close() {
	if s.readPool != s.pool {
		s.readPool.Close()
	}
	s.pool.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr(s.pool.Ping(ctx))
}

// mapErr turns driver errors into the store's own: pgx.ErrNoRows becomes
// ErrNotFound, errors that mean the server cannot be reached are wrapped so
// that errors.Is(err, ErrUnavailable) holds, and conflicts (isConflict) so
// that errors.Is(err, ErrConflict) does. Others pass unchanged.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNotFound
	case IsUnavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case isConflict(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	default:
		return err
	}
}

// IsUnavailable reports whether err means the database could not be reached
// or went away, as opposed to a query that failed on its own.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgerrcode.AdminShutdown, pgerrcode.CrashShutdown, pgerrcode.CannotConnectNow, pgerrcode.TooManyConnections:
			return true
		}
		return pgerrcode.IsConnectionException(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// A connection that died mid-query surfaces as an unexpected EOF; pgconn
	// marks the errors that happened before anything was sent.
	return pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// isConflict reports whether err is the server cancelling a statement (or
// ending a session idle in its transaction) for a conflict: a serialization
// failure (40001), which is what a standby sends when replay needs what a
// query holds (a snapshot, a lock), or a deadlock (40P01), its answer to a
// query that holds a buffer replay waits for. The metric queries are
// read-only REPEATABLE READ: on a primary they meet neither.
func isConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.SerializationFailure || pgErr.Code == pgerrcode.DeadlockDetected)
}

// IsTimeout reports whether err means a statement ran out of time: the
// server's statement_timeout (SQLSTATE 57014) or the caller's deadline.
func IsTimeout(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.QueryCanceled {
		return true
	}
	return pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)
}
