// Package replica gives a test a primary PostgreSQL cluster and a streaming
// hot standby of it (internal/devdb: initdb, then pg_basebackup -R), each on
// a free loopback port, with the ghevents database migrated on the primary
// and so, by replication, on the standby. It waits on replay positions
// (LSNs), never on sleeps, and stops and restarts the standby on its port.
package replica

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/devdb"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit"
)

// Database is the database made on the primary.
const Database = "ghevents"

// Pair is a primary and its streaming standby.
type Pair struct {
	Primary, Standby *devdb.Cluster
	standbyDir       string
	standbyPort      int
}

// Start starts a primary, makes and migrates the ghevents database on it,
// then starts a standby of it; both stop when the test ends. It skips the
// test when the PostgreSQL server binaries are missing.
func Start(t testing.TB) *Pair {
	t.Helper()
	if _, err := devdb.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} { // the postgres user must reach it when we are root
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	primary, err := devdb.StartCluster(ctx, devdb.Config{Dir: filepath.Join(base, "primary")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.Background()) })
	if err := primary.CreateDatabase(ctx, Database); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, primary.URL(Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The primary keeps the WAL a stopped standby needs to catch up when
	// it comes back (no replication slot: pg_basebackup -R makes none).
	for _, q := range []string{"ALTER SYSTEM SET wal_keep_size = '256MB'", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatal(err)
	}
	p := &Pair{Primary: primary, standbyDir: filepath.Join(base, "standby")}
	p.StartStandby(t)
	p.standbyPort = p.Standby.Port()
	return p
}

// PrimaryURL and StandbyURL connect to the ghevents database.
func (p *Pair) PrimaryURL() string { return p.Primary.URL(Database) }

// StandbyURL connects to the ghevents database of the standby.
func (p *Pair) StandbyURL() string { return p.Standby.URL(Database) }

// StartStandby starts the standby: the first time, a base backup of the
// primary on a free port; later, the same standby again on the same port.
func (p *Pair) StartStandby(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := devdb.StartCluster(ctx, devdb.Config{Dir: p.standbyDir, Port: p.standbyPort, StandbyOf: p.Primary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	p.Standby = c
}

// StopStandby stops the standby (fast shutdown: its sessions are ended).
func (p *Pair) StopStandby(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Standby.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// PrimaryLSN is the primary's current WAL position: everything committed
// so far is before it.
func (p *Pair) PrimaryLSN(t testing.TB) string {
	t.Helper()
	return queryText(t, p.PrimaryURL(), "SELECT pg_current_wal_lsn()::text")
}

// WaitReplayed waits (at most d) until the standby has replayed the
// primary's WAL up to where it is now: from then on the standby holds
// everything the primary had committed.
func (p *Pair) WaitReplayed(t testing.TB, d time.Duration) {
	t.Helper()
	p.waitStandby(t, d, p.PrimaryLSN(t), "pg_last_wal_replay_lsn()", "replayed")
}

// WaitReceived waits (at most d) until the standby has received the
// primary's WAL up to where it is now (replayed or not: with replay
// paused, it is received only).
func (p *Pair) WaitReceived(t testing.TB, d time.Duration) {
	t.Helper()
	p.waitStandby(t, d, p.PrimaryLSN(t), "pg_last_wal_receive_lsn()", "received")
}

func (p *Pair) waitStandby(t testing.TB, d time.Duration, lsn, position, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.StandbyURL())
	if err != nil {
		t.Fatalf("connect to the standby: %v", err)
	}
	defer conn.Close(context.Background())
	testkit.WaitFor(t, d, "the standby to have "+what+" the primary's WAL up to "+lsn, func() bool {
		var done bool
		err := conn.QueryRow(ctx, "SELECT coalesce("+position+" >= $1::pg_lsn, false)", lsn).Scan(&done)
		return err == nil && done
	})
}

// Exec runs sql on the standby's ghevents database (to pause replay, say).
func (p *Pair) Exec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.StandbyURL())
	if err != nil {
		t.Fatalf("connect to the standby: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("on the standby, %s: %v", sql, err)
	}
}

// StandbyText runs a query of one text value on the standby.
func (p *Pair) StandbyText(t testing.TB, sql string) string {
	t.Helper()
	return queryText(t, p.StandbyURL(), sql)
}

func queryText(t testing.TB, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}
