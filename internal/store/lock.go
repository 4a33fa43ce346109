package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// LockConnOptions tune the dedicated connection of an advisory lock.
type LockConnOptions struct {
	// ApplicationName is shown in pg_stat_activity, where other sessions
	// read who holds the lock (at most 63 bytes are kept).
	ApplicationName string
	// DeadPeer is how soon a connection whose other end went silent (a
	// host that died, a network cut) must be given up, on both sides:
	// the client's dial timeout and TCP keepalives, and the server's
	// tcp_keepalives_* and tcp_user_timeout, so that the server ends the
	// session, and frees its locks, about DeadPeer after the last sign of
	// life. The server counts keepalives in whole seconds (at least 1 s).
	// 0 leaves the defaults (minutes to hours).
	DeadPeer time.Duration
	// StatementTimeout makes the server cancel any statement of the
	// session running longer (0: none). Callers also bound each call.
	StatementTimeout time.Duration
}

// LockConn is one connection of its own, outside the pool, that holds
// session-level advisory locks: the lock lives exactly as long as this
// session, so it is freed when the process or its connection dies. A
// LockConn is not safe for concurrent use.
type LockConn struct {
	conn *pgx.Conn
	q    *dbgen.Queries
}

// ConnectLock opens a dedicated connection to the primary database with the
// settings of the pool (host, user, TLS...) and those of opts.
func (s *Store) ConnectLock(ctx context.Context, opts LockConnOptions) (*LockConn, error) {
	cc := s.pool.Config().ConnConfig.Copy()
	params := cc.RuntimeParams
	if opts.ApplicationName != "" {
		params["application_name"] = truncate(opts.ApplicationName, 63)
	}
	if opts.StatementTimeout > 0 {
		params["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	if d := opts.DeadPeer; d > 0 {
		idle, interval := d/2, d/6
		cc.ConnectTimeout = d
		dialer := &net.Dialer{Timeout: d, KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: idle, Interval: max(interval, time.Second/10), Count: 3,
		}}
		cc.DialFunc = dialer.DialContext
		// The server side: ignored on Unix-domain sockets, which cannot
		// half-die anyway.
		params["tcp_keepalives_idle"] = strconv.Itoa(ceilSeconds(idle))
		params["tcp_keepalives_interval"] = strconv.Itoa(ceilSeconds(interval))
		params["tcp_keepalives_count"] = "3"
		params["tcp_user_timeout"] = strconv.FormatInt(d.Milliseconds(), 10)
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("open the lock connection: %w", mapErr(err))
	}
	return &LockConn{conn: conn, q: dbgen.New(conn)}, nil
}

func ceilSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// TryLock takes the advisory lock key without waiting; false when another
// session holds it. Taking a lock the session already holds stacks it (it
// must then be unlocked as many times).
func (c *LockConn) TryLock(ctx context.Context, key int64) (bool, error) {
	ok, err := c.q.LeaderTryLock(ctx, key)
	if err != nil {
		return false, fmt.Errorf("try the advisory lock: %w", mapErr(err))
	}
	return ok, nil
}

// Holds tells whether this session holds the advisory lock key; it fails
// when the connection is gone (then the lock is gone with it).
func (c *LockConn) Holds(ctx context.Context, key int64) (bool, error) {
	ok, err := c.q.LeaderHoldsLock(ctx, key)
	if err != nil {
		return false, fmt.Errorf("check the advisory lock: %w", mapErr(err))
	}
	return ok, nil
}

// Unlock releases the advisory lock key; false when the session did not
// hold it.
func (c *LockConn) Unlock(ctx context.Context, key int64) (bool, error) {
	ok, err := c.q.LeaderUnlock(ctx, key)
	if err != nil {
		return false, fmt.Errorf("release the advisory lock: %w", mapErr(err))
	}
	return ok, nil
}

// LockHolder is the session holding an advisory lock.
type LockHolder struct {
	// PID is the server process of the session.
	PID int32
	// ApplicationName is what the session called itself (empty when the
	// server does not show it to this user).
	ApplicationName string
}

// Holder returns the session holding the advisory lock key; ErrNotFound
// when none does.
func (c *LockConn) Holder(ctx context.Context, key int64) (LockHolder, error) {
	rows, err := c.q.LeaderHolder(ctx, key)
	if err != nil {
		return LockHolder{}, fmt.Errorf("find the holder of the advisory lock: %w", mapErr(err))
	}
	if len(rows) == 0 {
		return LockHolder{}, ErrNotFound
	}
	return LockHolder{PID: rows[0].Pid, ApplicationName: rows[0].ApplicationName}, nil
}

// PID is the server process of this session.
func (c *LockConn) PID() int32 { return int32(c.conn.PgConn().PID()) }

// Close ends the session, which frees every lock it holds.
func (c *LockConn) Close(ctx context.Context) error {
	if err := c.conn.Close(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close the lock connection: %w", mapErr(err))
	}
	return nil
}
