// Package testdb gives each test a freshly migrated PostgreSQL database of
// its own, cloned from a template that pgtestdb builds once per schema. Tests
// therefore run in parallel and never see each other's rows.
//
// The server is TEST_DATABASE_URL (default: the local PostgreSQL at
// 127.0.0.1:5432 as user postgres). A database is dropped when its test passes
// and kept, with its name logged, when it fails.
package testdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"github.com/ghevents/ghevents/internal/store"
	schema "github.com/ghevents/ghevents/sql"
)

// DefaultServerURL is used when TEST_DATABASE_URL is not set.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the PostgreSQL server the tests use.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

// URL creates a fresh migrated database and returns its connection string.
func URL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, serverConfig(t), migrator{}).URL()
}

// New creates a fresh migrated database and returns a pool connected to it,
// closed when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, URL(t))
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Empty creates a fresh database with no migrations applied and returns its
// connection string, for tests of the migrations themselves.
func Empty(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, serverConfig(t), pgtestdb.NoopMigrator{}).URL()
}

func serverConfig(t testing.TB) pgtestdb.Config {
	t.Helper()
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL is not a URL: %v", err)
	}
	password, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	db := u.Path
	if len(db) > 0 && db[0] == '/' {
		db = db[1:]
	}
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       u.Hostname(),
		Port:       port,
		User:       u.User.Username(),
		Password:   password,
		Database:   db,
		Options:    u.RawQuery,
		// Tests that cut connections (fault injection) may leave some behind.
		ForceTerminateConnections: true,
	}
}

// migrator builds the template database with ghevents' own migrations.
type migrator struct{}

// Hash identifies the schema: a digest of every migration's name and text.
func (migrator) Hash() (string, error) { return SchemaDigest(), nil }

// SchemaDigest is a hex digest of every migration's name and text: it
// names the schema a database was made with (the template here, the
// benchmark's data sets).
func SchemaDigest() string {
	h := sha256.New()
	err := fs.WalkDir(schema.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.Migrations(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		// The migrations are embedded in the binary: reading them cannot fail.
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Migrate applies every migration to the new template database.
func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	conn, err := pgx.Connect(ctx, conf.URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return store.MigrateTo(ctx, conn, -1, nil)
}
