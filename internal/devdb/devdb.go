// Package devdb runs private PostgreSQL clusters from the server binaries
// installed on the machine: the one ghevents uses when DATABASE_URL is not
// set (StartPrivate), so a fresh clone runs with no set-up, and any number
// more for tests that need servers of their own, such as a primary and its
// streaming standby (StartCluster).
//
// A cluster lives in one folder: data/ (made by initdb, or copied from a
// primary by pg_basebackup -R), server.log and password (the superuser's,
// made at random). It listens on loopback TCP only, on a free port picked
// at each start, with no Unix socket, so it collides with nothing else on
// the machine. A cluster already running when StartCluster is called (a
// second ghevents process, say) is used as it is and left running by Stop.
//
// PostgreSQL refuses to run as root. Run as root, the cluster runs as the
// unprivileged system user "postgres" (Debian and most packages create it),
// which must be able to enter every folder above the cluster's: see
// Reachable, and StartPrivate for what ghevents does when it cannot.
package devdb

import (
	"bufio"
	"bytes"
	"cmp"
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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the cluster's superuser, created by initdb.
const superuser = "postgres"

// Config says where a cluster lives and how it starts.
type Config struct {
	// Dir is the cluster's folder (created when missing): it holds data/,
	// server.log and password. Required.
	Dir string
	// Port is the loopback TCP port the server listens on; 0 picks a free
	// one each time the server starts.
	Port int
	// StandbyOf, when set, makes a cluster that does not exist yet a
	// streaming standby of that running cluster: its data folder is copied
	// with `pg_basebackup -R` instead of made by initdb, and it starts
	// read-only, replaying what the primary writes. It shares the
	// primary's superuser password.
	StandbyOf *Cluster
	// Settings are server settings ("name=value") given on the command
	// line of every start this process makes (`postgres -c name=value`),
	// so they hold whatever postgresql.conf says; a server already running
	// keeps its own. nil: PostgreSQL's defaults.
	Settings []string
	// Log receives a line for each thing done (nil: discarded).
	Log *slog.Logger
}

// Cluster is a running PostgreSQL cluster.
type Cluster struct {
	dir      string // the cluster folder: data/, server.log, password
	binDir   string
	port     int
	password string
	cred     *syscall.Credential // the user PostgreSQL runs as; nil: ourselves
	started  bool                // this process started the server, so it stops it
	log      *slog.Logger
}

// StartCluster makes sure the cluster in cfg.Dir exists and runs: it runs
// initdb (or pg_basebackup, with StandbyOf) the first time, and starts the
// server unless it already runs. Stop stops it again.
func StartCluster(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("private PostgreSQL: no folder given for the cluster")
	}
	opts, err := serverOptions(cfg.Settings)
	if err != nil {
		return nil, err
	}
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	c := &Cluster{dir: abs, binDir: binDir, log: cfg.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cred, err = serverUser(); err != nil {
		return nil, err
	}
	if err := c.ensureCluster(ctx, cfg.StandbyOf); err != nil {
		return nil, err
	}
	if err := c.ensureRunning(ctx, cfg.Port, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// Dir is the cluster's folder.
func (c *Cluster) Dir() string { return c.dir }

// Port is the loopback TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// URL is the connection string of database in the cluster, as its
// superuser ("" is the database postgres).
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + cmp.Or(database, "postgres"),
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates database name unless it exists. On a standby it
// fails (a standby is read-only): create it on the primary.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(""))
	if err != nil {
		return fmt.Errorf("private PostgreSQL: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("private PostgreSQL: look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("private PostgreSQL: create database %s: %w", name, err)
	}
	return nil
}

// Stop stops the server if this process started it (fast shutdown: open
// sessions are ended) and waits until it has exited.
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

// exists says whether the cluster in dir has been made.
func exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION"))
	return err == nil
}

// ensureCluster makes the cluster when it does not exist yet: initdb, or a
// base backup of primary.
func (c *Cluster) ensureCluster(ctx context.Context, primary *Cluster) error {
	if exists(c.dir) {
		pw, err := os.ReadFile(c.passwordFile())
		if err != nil {
			return fmt.Errorf("private PostgreSQL: read its password: %w (remove %s to start afresh)", err, c.dir)
		}
		c.password = strings.TrimSpace(string(pw))
		return nil
	}
	if err := Reachable(c.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	if primary != nil {
		c.password = primary.password
	} else {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("private PostgreSQL: make a password: %w", err)
		}
		c.password = hex.EncodeToString(b)
	}
	if err := os.WriteFile(c.passwordFile(), []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	if err := c.chown(c.dir, c.passwordFile()); err != nil {
		return err
	}
	if primary != nil {
		c.log.Info("creating private PostgreSQL standby (pg_basebackup -R)", slog.String("dir", c.dir),
			slog.String("primary", primary.dir), slog.Int("primary_port", primary.port))
		if _, err := c.run(ctx, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", superuser,
			"-D", c.dataDir(), "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
			return fmt.Errorf("private PostgreSQL: pg_basebackup: %w", err)
		}
		return nil
	}
	c.log.Info("creating private PostgreSQL cluster (first start)", slog.String("dir", c.dir), slog.String("bin", c.binDir))
	if _, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", superuser, "--pwfile", c.passwordFile(),
		"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return fmt.Errorf("private PostgreSQL: initdb: %w", err)
	}
	// Loopback TCP only: no Unix socket, so no directory of the system's is
	// needed and nothing collides with another server on this machine. A
	// standby copies this file from its primary.
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

// ensureRunning starts the server on port (0: a free one) unless it
// already runs.
func (c *Cluster) ensureRunning(ctx context.Context, port int, opts string) error {
	if p, ok := c.runningPort(); ok {
		c.port = p
		return nil
	}
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return fmt.Errorf("private PostgreSQL: find a free port: %w", err)
		}
	}
	c.port = port
	logFile := filepath.Join(c.dir, "server.log")
	// pg_ctl runs to its end even when ctx ends meanwhile (at most its own
	// 60 s): killed half-way it would leave a server nobody stops.
	if _, err := c.run(context.WithoutCancel(ctx), "pg_ctl", "start", "-D", c.dataDir(), "-l", logFile, "-w", "-t", "60",
		"-o", "-p "+strconv.Itoa(port)+opts); err != nil {
		if _, running := c.runningPort(); running {
			c.started = true
			_ = c.Stop(context.WithoutCancel(ctx))
		}
		return fmt.Errorf("private PostgreSQL: start (see %s): %w", logFile, err)
	}
	c.started = true
	if err := ctx.Err(); err != nil {
		_ = c.Stop(context.WithoutCancel(ctx))
		return err
	}
	return nil
}

// settingRE is what a setting may look like: pg_ctl hands -o to a shell,
// so nothing that a shell would read as more than one word.
var settingRE = regexp.MustCompile(`^[a-z_]+=[A-Za-z0-9_.]+$`)

// serverOptions turns settings into the options pg_ctl passes to postgres.
func serverOptions(settings []string) (string, error) {
	var b strings.Builder
	for _, s := range settings {
		if !settingRE.MatchString(s) {
			return "", fmt.Errorf("private PostgreSQL: setting %q: want name=value, the value letters, digits, '_' or '.'", s)
		}
		b.WriteString(" -c " + s)
	}
	return b.String(), nil
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

// UnreachableError says that the user PostgreSQL runs as cannot enter a
// folder above a cluster's.
type UnreachableError struct {
	// Dir is the cluster's folder; Blocked the folder above it that the
	// user cannot enter.
	Dir, Blocked string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("private PostgreSQL: the folder %s cannot be entered by the unprivileged user PostgreSQL runs as "+
		"(running as root); allow it (chmod o+x %s), choose another DATA_DIR, or set DATABASE_URL", e.Blocked, e.Blocked)
}

// Reachable returns nil when the user the cluster runs as can enter every
// existing folder above dir (or an *UnreachableError naming the first that
// it cannot): otherwise initdb and the server fail with cryptic messages.
// It judges by owner, group and mode bits. Not run as root, the cluster
// runs as ourselves, and every folder we can name is ours to reach.
func Reachable(dir string) error {
	cred, err := serverUser()
	if err != nil || cred == nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			// Made by MkdirAll, mode 0755 and ours: reachable.
		case err != nil:
			return fmt.Errorf("private PostgreSQL: %w", err)
		case !canEnter(st, cred):
			return &UnreachableError{Dir: abs, Blocked: d}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// canEnter says whether cred may search the folder st describes.
func canEnter(st os.FileInfo, cred *syscall.Credential) bool {
	perm := st.Mode().Perm()
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return perm&0o001 != 0
	case sys.Uid == cred.Uid:
		return perm&0o100 != 0
	case sys.Gid == cred.Gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// serverUser is the user the cluster runs as: nil (ourselves) unless we
// are root, then the system user postgres.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
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

// FindBinDir finds the folder holding initdb, pg_ctl, postgres and
// pg_basebackup: `pg_config --bindir`, then PATH, then Debian's
// /usr/lib/postgresql/*/bin (the newest version first).
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
	for _, name := range []string{"initdb", "pg_ctl", "postgres", "pg_basebackup"} {
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
