package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// TestLockConnSettings checks that the lock connection asks the server to
// give a silent client up within DeadPeer, and is a session of its own.
func TestLockConnSettings(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := store.New(pool)
	c, err := s.ConnectLock(ctx, store.LockConnOptions{ApplicationName: "lock test", DeadPeer: 6 * time.Second, StatementTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// 6 s: keepalive after 3 s of silence, then every 1 s, 3 probes;
	// unacknowledged data given up after 6 s.
	for name, want := range map[string]string{
		"tcp_keepalives_idle": "3", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "3",
		"tcp_user_timeout": "6000", "statement_timeout": "3s", "application_name": "lock test",
	} {
		var got string
		if err := c.ConnForTest().QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	const key = 42
	other, err := s.ConnectLock(ctx, store.LockConnOptions{ApplicationName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	step := func(what string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
		}
	}
	ok, err := c.Holds(ctx, key)
	step("Holds before", ok, err, false)
	ok, err = c.TryLock(ctx, key)
	step("TryLock", ok, err, true)
	ok, err = other.TryLock(ctx, key)
	step("TryLock by another session", ok, err, false)
	ok, err = c.Holds(ctx, key)
	step("Holds", ok, err, true)
	ok, err = other.Holds(ctx, key)
	step("Holds by another session", ok, err, false)
	h, err := other.Holder(ctx, key)
	if err != nil || h.PID != c.PID() || h.ApplicationName != "lock test" {
		t.Fatalf("Holder = %+v, %v; want pid %d, lock test", h, err, c.PID())
	}
	// A key whose high half is set, and a negative one, are told apart.
	for _, k := range []int64{1 << 40, -5} {
		ok, err = c.Holds(ctx, k)
		step("Holds another key", ok, err, false)
		ok, err = c.TryLock(ctx, k)
		step("TryLock another key", ok, err, true)
		ok, err = c.Holds(ctx, k)
		step("Holds another key", ok, err, true)
	}
	ok, err = c.Unlock(ctx, key)
	step("Unlock", ok, err, true)
	ok, err = c.Unlock(ctx, key)
	step("Unlock again", ok, err, false)
	if _, err := other.Holder(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Holder after Unlock: %v, want ErrNotFound", err)
	}
	// Closing the session frees its locks.
	ok, err = other.TryLock(ctx, -5)
	step("TryLock of a held key", ok, err, false)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The server ends the session a moment after the client left.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ok, err = other.TryLock(ctx, -5)
		if err != nil || ok || time.Now().After(deadline) {
			break
		}
	}
	step("TryLock after the holder closed", ok, err, true)
	if _, err := c.Holds(ctx, key); err == nil || !store.IsUnavailable(err) {
		t.Fatalf("Holds on a closed connection: %v, want an unavailable error", err)
	}
}

// TestCheckReadyReplica: /readyz's database check fails when the read
// replica stops answering, though the primary answers.
func TestCheckReadyReplica(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	primary, replica := testdb.URL(t), testdb.URL(t)
	s, err := store.Open(ctx, primary, store.Options{ReadURL: replica})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckReady(ctx); err != nil {
		t.Fatalf("CheckReady = %v", err)
	}
	// The "replica" goes away: no new connection, the open ones cut.
	admin, err := pgxpool.New(context.Background(), primary)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close) // after the cleanup below, which needs it
	var name string
	if err := s.ReadPool().QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS true`)
	})
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckReady(ctx); err == nil || err.Error() != "read replica unreachable" {
		t.Fatalf("CheckReady without the replica = %v, want read replica unreachable", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("the primary stopped answering too: %v", err)
	}
}
