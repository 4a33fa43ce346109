package devdb_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/devdb"
	"github.com/ghevents/ghevents/internal/store"
)

// TestStartServeStop creates a private cluster, migrates and queries it,
// stops it, then starts the same cluster again (no second initdb).
func TestStartServeStop(t *testing.T) {
	if _, err := devdb.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dir := t.TempDir()
	// As root the cluster runs as user postgres, which must be able to enter
	// the folder; TempDir makes it and its parent 0700.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))

	c, err := devdb.Start(ctx, dir, log)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop(context.Background()) //nolint:errcheck
		}
	})
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := store.MigrateTo(ctx, conn, -1, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var db string
	var events int
	if err := conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM events)").Scan(&db, &events); err != nil {
		t.Fatalf("query: %v", err)
	}
	if db != devdb.Database || events != 0 {
		t.Fatalf("got database %q with %d events; want %q with 0", db, events, devdb.Database)
	}
	conn.Close(ctx)

	// A second Start while it runs adopts the server and does not stop it.
	c2, err := devdb.Start(ctx, dir, log)
	if err != nil {
		t.Fatalf("adopting start: %v", err)
	}
	if c2.URL() != c.URL() {
		t.Fatalf("adopted URL %q differs from %q", c2.URL(), c.URL())
	}
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(ctx, c.URL()); err != nil {
		t.Fatalf("server went away when the adopting process stopped: %v", err)
	} else {
		conn.Close(ctx)
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	if _, err := os.Stat(filepath.Join(dir, "postgres", "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid still there after Stop (err=%v)", err)
	}

	// Restart: the schema from the first run is still there.
	c3, err := devdb.Start(ctx, dir, log)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer c3.Stop(context.Background()) //nolint:errcheck
	conn, err = pgx.Connect(ctx, c3.URL())
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer conn.Close(ctx)
	migs, current, err := store.MigrationStatus(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if current != int32(len(migs)) {
		t.Fatalf("after restart schema version is %d, want %d", current, len(migs))
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
