package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ghevents/ghevents/internal/config"
	"github.com/ghevents/ghevents/internal/devdb"
	"github.com/ghevents/ghevents/internal/store"
)

// app is what every command gets: the configuration, the logger and where
// to print results.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	stdout  io.Writer
	environ []string
}

// database is a database to use and how to let go of it.
type database struct {
	url string
	// private is set when the database is ghevents' own cluster.
	private bool
	close   func()
}

// database resolves DATABASE_URL, or starts the private cluster when it is
// empty. The caller must call close.
func (a *app) database(ctx context.Context) (*database, error) {
	if a.cfg.DatabaseURL != "" {
		a.log.Info("using database", slog.String("url", config.Redacted(a.cfg.DatabaseURL)))
		return &database{url: a.cfg.DatabaseURL, close: func() {}}, nil
	}
	a.log.Info("DATABASE_URL is not set: using ghevents' private PostgreSQL cluster",
		slog.String("data_dir", cmp.Or(a.cfg.DataDir, devdb.DefaultDataDir)))
	c, err := devdb.StartPrivate(ctx, devdb.PrivateConfig{
		DataDir: cmp.Or(a.cfg.DataDir, devdb.DefaultDataDir), Chosen: a.cfg.DataDir != "", Log: a.log,
	})
	if err != nil {
		return nil, err
	}
	return &database{url: c.URL(devdb.Database), private: true, close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			a.log.Error("stop private PostgreSQL", slog.String("error", err.Error()))
		}
	}}, nil
}

// migrate moves the schema of url to version (-1: newest).
func (a *app) migrate(ctx context.Context, url string, version int32) error {
	conn, err := store.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return store.MigrateTo(ctx, conn, version, func(v int32, name, dir string) {
		a.log.Info("migration", slog.Int("version", int(v)), slog.String("name", name), slog.String("direction", dir))
	})
}

// storeOptions are the pool settings of a command called appName; serving
// adds the statement timeout and the read replica.
func (a *app) storeOptions(appName string, serving bool) store.Options {
	opts := store.Options{
		MaxConns:        a.cfg.DBMaxConns,
		MaxConnLifetime: a.cfg.DBMaxConnLifetime,
		ApplicationName: appName,
	}
	if serving {
		opts.StatementTimeout = a.cfg.QueryTimeout
		opts.ReadURL = a.cfg.DatabaseReadURL
	}
	return opts
}

// openStore gives a command its store. The private cluster is always
// migrated (it is ours); with migrate set, DATABASE_URL is migrated too;
// otherwise its schema must already be current. The caller must call close.
func (a *app) openStore(ctx context.Context, migrate bool, opts store.Options) (*store.Store, func(), error) {
	db, err := a.database(ctx)
	if err != nil {
		return nil, nil, err
	}
	if migrate || db.private {
		if err := a.migrate(ctx, db.url, -1); err != nil {
			db.close()
			return nil, nil, err
		}
	}
	s, err := store.Open(ctx, db.url, opts)
	if err != nil {
		db.close()
		return nil, nil, err
	}
	closeAll := func() { s.Close(); db.close() }
	if err := checkSchema(ctx, s); err != nil {
		closeAll()
		return nil, nil, err
	}
	a.warnAutovacuumOff(ctx, s)
	return s, closeAll, nil
}

// autovacuumOffWarning is logged by every command when the server does not
// run autovacuum.
const autovacuumOffWarning = "autovacuum is off on this PostgreSQL server: every write updates the summary tables, and without vacuum " +
	"their dead row versions are never reclaimed, so the store grows and writes and some metrics slow down month after month; " +
	"turn it on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();) or run VACUUM regularly"

// warnAutovacuumOff logs autovacuumOffWarning when the server's autovacuum
// is off (a setting read fails silently: it is only advice).
func (a *app) warnAutovacuumOff(ctx context.Context, s *store.Store) {
	if on, err := s.Autovacuum(ctx); err == nil && !on {
		a.log.Warn(autovacuumOffWarning)
	}
}

// checkSchema refuses to run on a schema other than the one this binary knows.
func checkSchema(ctx context.Context, s *store.Store) error {
	want, err := store.LatestVersion()
	if err != nil {
		return err
	}
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("the database schema is at version %d but this ghevents needs version %d: run `ghevents migrate up`", have, want)
	}
	return nil
}
