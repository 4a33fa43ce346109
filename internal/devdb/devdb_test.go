package devdb_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghevents/ghevents/internal/devdb"
	"github.com/ghevents/ghevents/internal/store"
)

// needServer skips without PostgreSQL's server binaries.
func needServer(t *testing.T) {
	t.Helper()
	if _, err := devdb.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
}

// needRoot skips unless the test runs as root: only then does the cluster
// run as another user (postgres), who may not reach a folder.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: the cluster runs as ourselves, who reach every folder we name")
	}
}

// openDir is a fresh folder every user can enter (t.TempDir makes it and
// its parent 0700).
func openDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// privateDir is a fresh folder of mode 0700, like a home folder or the one
// mktemp -d makes.
func privateDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// logBuffer collects log lines and passes them to t.Log.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLog(t *testing.T) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{t: t}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

func stopAtEnd(t *testing.T, c *devdb.Cluster) {
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

// TestStartServeStop creates the private cluster in a chosen folder,
// migrates and queries it, stops it, then starts the same cluster again
// (no second initdb).
func TestStartServeStop(t *testing.T) {
	needServer(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := openDir(t)
	log, logs := newLog(t)
	cfg := devdb.PrivateConfig{DataDir: dir, Chosen: true, Log: log}

	c, err := devdb.StartPrivate(ctx, cfg)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if want := filepath.Join(dir, "postgres"); c.Dir() != want {
		t.Fatalf("cluster in %s, want %s", c.Dir(), want)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop(context.Background()) //nolint:errcheck
		}
	})
	conn, err := pgx.Connect(ctx, c.URL(devdb.Database))
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
	// The server runs with the big-store settings (worked out here from
	// /proc/meminfo, not by BigStoreSettings).
	var buffers, walSize int64
	var timeout, compression string
	if err := conn.QueryRow(ctx, `SELECT pg_size_bytes(current_setting('shared_buffers')), pg_size_bytes(current_setting('max_wal_size')),
		current_setting('checkpoint_timeout'), current_setting('wal_compression')`).Scan(&buffers, &walSize, &timeout, &compression); err != nil {
		t.Fatalf("settings: %v", err)
	}
	if want := quarterOfMemory(t); buffers != want || walSize != 8<<30 || timeout != "15min" || compression != "lz4" {
		t.Fatalf("shared_buffers %d, max_wal_size %d, checkpoint_timeout %s, wal_compression %s; want %d, %d, 15min, lz4",
			buffers, walSize, timeout, compression, want, int64(8<<30))
	}
	conn.Close(ctx)

	// A second start while it runs adopts the server and does not stop it.
	c2, err := devdb.StartPrivate(ctx, cfg)
	if err != nil {
		t.Fatalf("adopting start: %v", err)
	}
	if c2.URL(devdb.Database) != c.URL(devdb.Database) {
		t.Fatalf("adopted URL %q differs from %q", c2.URL(devdb.Database), c.URL(devdb.Database))
	}
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(ctx, c.URL(devdb.Database)); err != nil {
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
	c3, err := devdb.StartPrivate(ctx, cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	stopAtEnd(t, c3)
	if n := strings.Count(logs.String(), "creating private PostgreSQL cluster"); n != 1 {
		t.Fatalf("initdb ran %d times, want once", n)
	}
	conn, err = pgx.Connect(ctx, c3.URL(devdb.Database))
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

// TestUnreachableDefaultIsKeptElsewhere: as root, in a folder of mode 0700
// (a home folder, mktemp -d), the postgres user cannot reach the default
// DATA_DIR: the cluster is made in a folder of ghevents' own instead, that
// is logged, nothing of the user's is changed, and the next start finds it
// again with its data.
func TestUnreachableDefaultIsKeptElsewhere(t *testing.T) {
	needServer(t)
	needRoot(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	private := privateDir(t)
	project := filepath.Join(private, "ghevents")
	if err := os.Mkdir(project, 0o755); err != nil {
		t.Fatal(err)
	}
	homes := filepath.Join(openDir(t), "ghevents")
	dataDir := filepath.Join(project, ".data")
	log, logs := newLog(t)
	cfg := devdb.PrivateConfig{DataDir: dataDir, Homes: []string{homes}, Log: log}

	c, err := devdb.StartPrivate(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop(context.Background()) //nolint:errcheck
		}
	})
	rel, err := filepath.Rel(homes, c.Dir())
	if err != nil || len(strings.Split(rel, string(filepath.Separator))) != 2 || filepath.Base(rel) != "postgres" {
		t.Fatalf("cluster in %s, want %s/<key>/postgres", c.Dir(), homes)
	}
	origin, err := os.ReadFile(filepath.Join(filepath.Dir(c.Dir()), "origin"))
	if err != nil || !strings.Contains(string(origin), dataDir) {
		t.Fatalf("origin file: %q, %v; want it to name %s", origin, err, dataDir)
	}
	for _, want := range []string{
		"the private PostgreSQL cluster of this folder is kept in a folder of ghevents' own instead (reused on the next start",
		"dir=" + c.Dir(), "data_dir=" + dataDir, `why="the user PostgreSQL runs as (postgres) cannot enter ` + private + `"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
	// Nothing of the user's changed: no .data made, modes as they were.
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was made (err=%v)", dataDir, err)
	}
	if st, err := os.Stat(private); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v (err=%v), want 0700 still", private, st.Mode(), err)
	}
	conn, err := pgx.Connect(ctx, c.URL(devdb.Database))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept AS SELECT 42 AS answer"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true

	c2, err := devdb.StartPrivate(ctx, cfg)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	stopAtEnd(t, c2)
	if c2.Dir() != c.Dir() {
		t.Fatalf("second start used %s, first %s", c2.Dir(), c.Dir())
	}
	if n := strings.Count(logs.String(), "creating private PostgreSQL cluster"); n != 1 {
		t.Fatalf("initdb ran %d times, want once", n)
	}
	if n := strings.Count(logs.String(), "is kept in a folder of ghevents' own"); n != 2 {
		t.Fatalf("where the cluster is was logged %d times, want at each of the 2 starts", n)
	}
	conn, err = pgx.Connect(ctx, c2.URL(devdb.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var answer int
	if err := conn.QueryRow(ctx, "SELECT answer FROM kept").Scan(&answer); err != nil || answer != 42 {
		t.Fatalf("data of the first start: %d, %v", answer, err)
	}
}

// TestChosenDataDirIsNeverMoved: a DATA_DIR the user set that the postgres
// user cannot reach is reported, naming the folder, and nothing is made.
func TestChosenDataDirIsNeverMoved(t *testing.T) {
	needServer(t)
	needRoot(t)
	t.Parallel()
	private := privateDir(t)
	homes := filepath.Join(openDir(t), "ghevents")
	dataDir := filepath.Join(private, "db")
	_, err := devdb.StartPrivate(context.Background(), devdb.PrivateConfig{DataDir: dataDir, Chosen: true, Homes: []string{homes}})
	var unreachable *devdb.UnreachableError
	if !errors.As(err, &unreachable) || unreachable.Blocked != private {
		t.Fatalf("err = %v; want an UnreachableError blocked at %s", err, private)
	}
	want := "private PostgreSQL: the folder " + private + " cannot be entered by the unprivileged user PostgreSQL runs as " +
		"(running as root); allow it (chmod o+x " + private + "), choose another DATA_DIR, or set DATABASE_URL"
	if err.Error() != want {
		t.Fatalf("error:\n %s\nwant\n %s", err, want)
	}
	for _, p := range []string{dataDir, homes} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was made (err=%v)", p, err)
		}
	}
}

// TestReachable judges folders by owner, group and mode, as the kernel
// would for the user postgres.
func TestReachable(t *testing.T) {
	needRoot(t)
	t.Parallel()
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user")
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	base := openDir(t)
	cases := []struct {
		name     string
		mode     os.FileMode
		uid, gid int
		ok       bool
	}{
		{"root 0700", 0o700, 0, 0, false},
		{"root 0750", 0o750, 0, 0, false},
		{"root 0701", 0o701, 0, 0, true},
		{"root 0755", 0o755, 0, 0, true},
		{"postgres 0700", 0o700, uid, 0, true},
		{"postgres 0007", 0o007, uid, 0, false},
		{"group postgres 0710", 0o710, 0, gid, true},
		{"group postgres 0701", 0o701, 0, gid, false},
	}
	for _, c := range cases {
		d := filepath.Join(base, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, c.mode); err != nil {
			t.Fatal(err)
		}
		err := devdb.Reachable(filepath.Join(d, "a", "postgres"))
		var u *devdb.UnreachableError
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v, want reachable", c.name, err)
		case !c.ok && (!errors.As(err, &u) || u.Blocked != d):
			t.Errorf("%s: %v, want blocked at %s", c.name, err, d)
		}
	}
}

// TestStandby starts a primary and a streaming standby of it (two
// clusters, each on a free port): what the primary writes is read on the
// standby, which refuses writes, and both stop.
func TestStandby(t *testing.T) {
	needServer(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := openDir(t)
	log, _ := newLog(t)
	primary, err := devdb.StartCluster(ctx, devdb.Config{Dir: filepath.Join(base, "primary"), Log: log})
	if err != nil {
		t.Fatalf("primary: %v", err)
	}
	stopAtEnd(t, primary)
	if err := primary.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	standby, err := devdb.StartCluster(ctx, devdb.Config{Dir: filepath.Join(base, "standby"), StandbyOf: primary, Log: log})
	if err != nil {
		t.Fatalf("standby: %v", err)
	}
	stopAtEnd(t, standby)
	if standby.Port() == primary.Port() || standby.Port() == 0 {
		t.Fatalf("ports: primary %d, standby %d", primary.Port(), standby.Port())
	}

	pc, err := pgx.Connect(ctx, primary.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	if _, err := pc.Exec(ctx, "CREATE TABLE t AS SELECT g AS n FROM generate_series(1, 100) g"); err != nil {
		t.Fatal(err)
	}
	sc, err := pgx.Connect(ctx, standby.URL("app"))
	if err != nil {
		t.Fatalf("connect to the standby: %v", err)
	}
	defer sc.Close(ctx)
	var recovery bool
	if err := sc.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovery); err != nil || !recovery {
		t.Fatalf("standby pg_is_in_recovery = %v, %v; want true", recovery, err)
	}
	var sum int
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := sc.QueryRow(ctx, "SELECT sum(n) FROM t").Scan(&sum)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the primary's table never reached the standby: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sum != 5050 {
		t.Fatalf("sum on the standby = %d, want 5050", sum)
	}
	_, err = sc.Exec(ctx, "INSERT INTO t VALUES (1)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" { // read_only_sql_transaction
		t.Fatalf("write on the standby: %v, want SQLSTATE 25006", err)
	}
	sc.Close(ctx)
	if err := standby.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*devdb.Cluster{primary, standby} {
		if _, err := os.Stat(filepath.Join(c.Dir(), "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: postmaster.pid left after Stop (err=%v)", c.Dir(), err)
		}
	}
}

// quarterOfMemory is a quarter of MemTotal in /proc/meminfo, in whole MB,
// within 128 MB and 8 GB.
func quarterOfMemory(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			kb, err = strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	mb := min(max(kb/4/1024, 128), 8192)
	return mb << 20
}

func TestBigStoreSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mem  int64
		want string
	}{
		{0, "shared_buffers=128MB"},             // unknown: the floor
		{256 << 20, "shared_buffers=128MB"},     // a quarter is 64 MB: the floor
		{2 << 30, "shared_buffers=512MB"},       // a quarter
		{24 << 30, "shared_buffers=6144MB"},     // this machine's kind
		{64 << 30, "shared_buffers=8192MB"},     // the ceiling
		{(3 << 30) + 5, "shared_buffers=768MB"}, // whole MB
	} {
		got := devdb.BigStoreSettings(c.mem)
		want := []string{c.want, "max_wal_size=8GB", "checkpoint_timeout=15min", "wal_compression=lz4"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("BigStoreSettings(%d) = %q, want %q", c.mem, got, want)
		}
	}
}

// TestSettingThatIsNotOne: a setting a shell would split, or without a
// value, is refused before anything is made.
func TestSettingThatIsNotOne(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"work_mem", "work_mem=4MB; rm -rf /", "work_mem='4MB'", "Work_Mem=4MB", "work_mem="} {
		dir := filepath.Join(t.TempDir(), "c")
		_, err := devdb.StartCluster(context.Background(), devdb.Config{Dir: dir, Settings: []string{s}})
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("setting %q: err = %v, want one naming it", s, err)
		}
		if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
			t.Errorf("setting %q: the folder was made (%v)", s, statErr)
		}
	}
}
