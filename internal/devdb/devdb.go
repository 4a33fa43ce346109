// Package devdb runs the private PostgreSQL cluster that ghevents uses when
// DATABASE_URL is not set, so a fresh clone runs with no set-up: it finds the
// server binaries, creates a cluster on first start, starts it on a port of
// its own (loopback only, no Unix socket), creates the database, and stops the
// cluster again when the process that started it ends.
//
// PostgreSQL refuses to run as root. When ghevents runs as root, the cluster
// runs as the unprivileged system user "postgres" (Debian and most packages
// create it); without one, Start says how to fix it.
package devdb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Database is the name of the database ghevents creates in its cluster.
const Database = "ghevents"

// superuser is the cluster's superuser, created by initdb.
const superuser = "postgres"

// Cluster is a running private PostgreSQL cluster.
type Cluster struct {
	dir      string // the cluster folder: data/, server.log, password
	binDir   string
	port     int
	password string
	cred     *syscall.Credential // the user PostgreSQL runs as; nil: ourselves
	started  bool                // this process started the server, so it stops it
	log      *slog.Logger
}

// Start makes sure the cluster under dir/postgres exists and runs, and that it
// holds the ghevents database. A cluster already running (started by another
// ghevents process) is used as it is and left running by Stop.
func Start(ctx context.Context, dir string, log *slog.Logger) (*Cluster, error) {
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Join(dir, "postgres"))
	if err != nil {
		return nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	c := &Cluster{dir: abs, binDir: binDir, log: log}
	if os.Geteuid() == 0 {
		if c.cred, err = unprivilegedUser(); err != nil {
			return nil, err
		}
	}
	if err := c.ensureCluster(ctx); err != nil {
		return nil, err
	}
	if err := c.ensureRunning(ctx); err != nil {
		return nil, err
	}
	if err := c.ensureDatabase(ctx); err != nil {
		c.Stop(context.WithoutCancel(ctx)) //nolint:errcheck // the first error is the one to report
		return nil, err
	}
	log.Info("using private PostgreSQL cluster", slog.String("dir", c.dir), slog.Int("port", c.port),
		slog.String("database", Database), slog.Bool("started_here", c.started))
	return c, nil
}

// URL is the connection string of the ghevents database in the cluster.
func (c *Cluster) URL() string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + Database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server if this process started it.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.started {
		return nil
	}
	if _, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w", "-t", "60"); err != nil {
		return fmt.Errorf("stop private PostgreSQL: %w", err)
	}
	c.started = false
	c.log.Info("stopped private PostgreSQL cluster", slog.String("dir", c.dir))
	return nil
}

func (c *Cluster) dataDir() string      { return filepath.Join(c.dir, "data") }
func (c *Cluster) passwordFile() string { return filepath.Join(c.dir, "password") }

// ensureCluster runs initdb when the cluster does not exist yet.
func (c *Cluster) ensureCluster(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); err == nil {
		pw, err := os.ReadFile(c.passwordFile())
		if err != nil {
			return fmt.Errorf("private PostgreSQL: read its password: %w (remove %s to start afresh)", err, c.dir)
		}
		c.password = strings.TrimSpace(string(pw))
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	if err := c.checkReachable(); err != nil {
		return err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("private PostgreSQL: make a password: %w", err)
	}
	c.password = hex.EncodeToString(b)
	if err := os.WriteFile(c.passwordFile(), []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	if err := c.chown(c.dir, c.passwordFile()); err != nil {
		return err
	}
	c.log.Info("creating private PostgreSQL cluster (first start)", slog.String("dir", c.dir), slog.String("bin", c.binDir))
	if _, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", superuser, "--pwfile", c.passwordFile(),
		"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return fmt.Errorf("private PostgreSQL: initdb: %w", err)
	}
	// Loopback TCP only: no Unix socket, so no directory of the system's is
	// needed and nothing collides with another server on this machine.
	conf := "\n# added by ghevents\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("private PostgreSQL: write postgresql.conf: %w", err)
	}
	return nil
}

// ensureRunning starts the server on a free port unless it already runs.
func (c *Cluster) ensureRunning(ctx context.Context) error {
	if port, ok := c.runningPort(); ok {
		c.port = port
		return nil
	}
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("private PostgreSQL: find a free port: %w", err)
	}
	c.port = port
	logFile := filepath.Join(c.dir, "server.log")
	if _, err := c.run(ctx, "pg_ctl", "start", "-D", c.dataDir(), "-l", logFile, "-w", "-t", "60",
		"-o", "-p "+strconv.Itoa(port)); err != nil {
		return fmt.Errorf("private PostgreSQL: start (see %s): %w", logFile, err)
	}
	c.started = true
	return nil
}

// runningPort reads the port of a running server from postmaster.pid.
func (c *Cluster) runningPort() (int, bool) {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err1 != nil || err2 != nil || pid <= 0 {
		return 0, false
	}
	// Signal 0 checks the process exists. As an unprivileged user we may get
	// EPERM for a live process of another user, which still means "running".
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false
	}
	return port, true
}

// ensureDatabase creates the ghevents database unless it exists.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL())
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgerrcode.InvalidCatalogName { // the database does not exist
		return fmt.Errorf("private PostgreSQL: connect: %w", err)
	}
	if _, err := c.run(ctx, "createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", superuser, Database); err != nil {
		return fmt.Errorf("private PostgreSQL: createdb: %w", err)
	}
	return nil
}

// run runs a server program as the cluster's user and returns its output;
// on failure the error carries the last lines it printed.
func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+c.password, "LC_ALL=C")
	// Its own process group: a Ctrl-C meant for ghevents must not reach the
	// server directly; ghevents stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// pg_ctl start leaves the server holding our pipe; do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return out.String(), fmt.Errorf("%s: %w: %s", name, err, lastLines(out.String(), 5))
	}
	return out.String(), nil
}

// chown gives paths to the cluster's user when it is not us.
func (c *Cluster) chown(paths ...string) error {
	if c.cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("private PostgreSQL: give %s to the postgres user: %w", p, err)
		}
	}
	return nil
}

// checkReachable makes sure the cluster's user can reach its folder: every
// parent must let others through, or initdb fails with a cryptic message.
func (c *Cluster) checkReachable() error {
	if c.cred == nil {
		return nil
	}
	for d := filepath.Dir(c.dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("private PostgreSQL: the folder %s cannot be entered by the unprivileged user PostgreSQL runs as "+
				"(running as root); allow it (chmod o+x %s), choose another DATA_DIR, or set DATABASE_URL", d, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// unprivilegedUser is the user the cluster runs as when we are root.
func unprivilegedUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("private PostgreSQL: PostgreSQL refuses to run as root and there is no 'postgres' user " +
			"to run it as; create one (useradd --system postgres), run ghevents as another user, or set DATABASE_URL")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("private PostgreSQL: user postgres has a non-numeric uid/gid %q/%q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FindBinDir finds the folder holding initdb, pg_ctl, postgres and createdb:
// `pg_config --bindir`, then PATH, then Debian's /usr/lib/postgresql/*/bin
// (the newest version first).
func FindBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return versionOf(b) - versionOf(a) })
	candidates = append(candidates, debian...)
	for _, dir := range candidates {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", errors.New("private PostgreSQL: no PostgreSQL server binaries found (looked at `pg_config --bindir`, " +
		"initdb on PATH and /usr/lib/postgresql/*/bin); install the PostgreSQL server or set DATABASE_URL")
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres", "createdb"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// versionOf extracts the major version from /usr/lib/postgresql/15/bin.
func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
