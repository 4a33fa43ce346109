package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	schema "github.com/ghevents/ghevents/sql"
)

// VersionTable is where tern records the schema version.
const VersionTable = "public.schema_version"

// Migration is one schema migration and whether it is applied.
type Migration struct {
	Version int32
	Name    string
	Applied bool
}

// newMigrator loads the embedded migrations for conn.
func newMigrator(ctx context.Context, conn *pgx.Conn) (*migrate.Migrator, error) {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return nil, fmt.Errorf("prepare migrations: %w", mapErr(err))
	}
	if err := m.LoadMigrations(schema.Migrations()); err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return m, nil
}

// LatestVersion is the version of the newest embedded migration.
func LatestVersion() (int32, error) {
	m, err := migrate.NewMigrator(context.Background(), nil, VersionTable)
	if err != nil {
		return 0, err
	}
	if err := m.LoadMigrations(schema.Migrations()); err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	return int32(len(m.Migrations)), nil
}

// MigrateTo moves the schema to version (0 drops everything; -1 means the
// newest). Tern holds an advisory lock meanwhile, so two processes migrating
// at once do not collide. log, when not nil, is told each step.
func MigrateTo(ctx context.Context, conn *pgx.Conn, version int32, log func(version int32, name, direction string)) error {
	m, err := newMigrator(ctx, conn)
	if err != nil {
		return err
	}
	if log != nil {
		m.OnStart = func(seq int32, name, direction, _ string) { log(seq, name, direction) }
	}
	if version < 0 {
		version = int32(len(m.Migrations))
	}
	if err := m.MigrateTo(ctx, version); err != nil {
		return fmt.Errorf("migrate to version %d: %w", version, mapErr(err))
	}
	return nil
}

// MigrationStatus lists every embedded migration and the current version.
func MigrationStatus(ctx context.Context, conn *pgx.Conn) ([]Migration, int32, error) {
	m, err := newMigrator(ctx, conn)
	if err != nil {
		return nil, 0, err
	}
	current, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read schema version: %w", mapErr(err))
	}
	out := make([]Migration, len(m.Migrations))
	for i, mig := range m.Migrations {
		out[i] = Migration{Version: mig.Sequence, Name: mig.Name, Applied: mig.Sequence <= current}
	}
	return out, current, nil
}

// SchemaVersion reads the applied schema version through the pool.
func (s *Store) SchemaVersion(ctx context.Context) (int32, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("acquire connection: %w", mapErr(err))
	}
	defer conn.Release()
	_, current, err := MigrationStatus(ctx, conn.Conn())
	return current, err
}

// CheckReady reports whether the database answers and its schema is the
// one this binary needs, and whether the read replica (when there is one)
// answers too: the metric queries run there (for /readyz).
func (s *Store) CheckReady(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return errors.New("database unreachable")
	}
	if rp := s.ReadPool(); rp != nil {
		if err := rp.Ping(ctx); err != nil {
			return errors.New("read replica unreachable")
		}
	}
	want, err := LatestVersion()
	if err != nil {
		return err
	}
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return errors.New("cannot read the schema version")
	}
	if have != want {
		return fmt.Errorf("schema at version %d, this binary needs %d", have, want)
	}
	return nil
}
