package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/devdb"
	"github.com/ghevents/ghevents/internal/testkit"
)

// TestQuickStartFromAFreshFolder does what the README's quick start says,
// the way a new user does it, and the way it used to fail: the project
// copied into a fresh folder of mode 0700 (a `mktemp -d` folder, or a home
// folder), then `make run` there (as root when the tests run as root),
// then Ctrl-C; twice. Each run must serve, say where to look and how to
// fill the empty store; Ctrl-C must leave no PostgreSQL running; the
// second run must reuse the first one's cluster; and nothing of the user's
// folder may be changed.
func TestQuickStartFromAFreshFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the project in a copy (-short)")
	}
	for _, tool := range []string{"make", "git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on PATH", tool)
		}
	}
	if _, err := devdb.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	t.Parallel()

	fresh, err := os.MkdirTemp("", "ghevents-quickstart-") // mode 0700, as mktemp -d makes it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(fresh) })
	clone := filepath.Join(fresh, "ghevents")
	copyWorkTree(t, clone)

	// GitHub is out of reach here: a stand-in that has no events.
	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	}))
	defer github.Close()

	var clusterDir string
	for run := 1; run <= 2; run++ {
		logs := makeRun(t, clone, github.URL+"/events")
		t.Logf("make run #%d:\n%s", run, logs)
		m := regexp.MustCompile(`msg="using private PostgreSQL cluster" dir=(\S+)`).FindStringSubmatch(logs)
		if m == nil {
			t.Fatalf("run %d: no line says where the cluster is:\n%s", run, logs)
		}
		if run == 1 {
			clusterDir = m[1]
			if os.Geteuid() == 0 {
				// The postgres user cannot enter the 0700 folder: the cluster
				// is in a folder of ghevents' own, and the log says why.
				if !strings.HasPrefix(clusterDir, "/var/lib/ghevents/") && !strings.HasPrefix(clusterDir, "/var/tmp/ghevents/") {
					t.Fatalf("as root in a 0700 folder the cluster is in %s, want a folder of ghevents' own", clusterDir)
				}
				t.Cleanup(func() { os.RemoveAll(filepath.Dir(clusterDir)) })
				want := `why="the user PostgreSQL runs as (postgres) cannot enter ` + fresh + `"`
				if !strings.Contains(logs, want) {
					t.Errorf("run 1: logs lack %s", want)
				}
			} else if want := filepath.Join(clone, ".data", "postgres"); clusterDir != want {
				t.Fatalf("cluster in %s, want %s", clusterDir, want)
			}
			if !strings.Contains(logs, "creating private PostgreSQL cluster (first start)") {
				t.Errorf("run 1 made no cluster:\n%s", logs)
			}
		} else {
			if m[1] != clusterDir {
				t.Fatalf("run 2 used the cluster in %s, run 1 the one in %s", m[1], clusterDir)
			}
			if strings.Contains(logs, "creating private PostgreSQL cluster") {
				t.Errorf("run 2 made a new cluster instead of reusing run 1's:\n%s", logs)
			}
		}
		if !strings.Contains(logs, "stopped private PostgreSQL cluster") {
			t.Errorf("run %d: the cluster was not stopped:\n%s", run, logs)
		}
		if pids := postgresProcesses(t, clusterDir); len(pids) > 0 {
			t.Fatalf("run %d: PostgreSQL still runs after Ctrl-C: pids %v", run, pids)
		}
		if _, err := os.Stat(filepath.Join(clusterDir, "data", "postmaster.pid")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("run %d: postmaster.pid left (err=%v)", run, err)
		}
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the fresh folder's mode is %v (err=%v): it must stay 0700", st.Mode(), err)
	}
}

// makeRun runs `make run` in dir until it serves, checks the pages answer
// and what it says, then sends Ctrl-C (SIGINT to its process group, as a
// terminal does) and returns its output once it has exited.
func makeRun(t *testing.T, dir, eventsURL string) string {
	t.Helper()
	addr := testkit.FreeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "run")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HTTP_ADDR="+addr, "GITHUB_EVENTS_URL="+eventsURL, "POLL_INTERVAL=1h",
		"LOG_FORMAT=text", "DATABASE_URL=", "DATA_DIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out testkit.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	interrupt := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }

	base := "http://" + addr
	for !strings.Contains(out.String(), "ghevents is serving") {
		select {
		case err := <-exited:
			t.Fatalf("make run ended before serving (%v):\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("make run did not serve in time:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, p := range []struct{ path, want string }{
		{"/visualization", "<h1>Charts</h1>"},
		{"/metrics/events-total-count?offset=3600", `"total":0`},
	} {
		resp, err := http.Get(base + p.path)
		if err != nil {
			interrupt()
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), p.want) {
			interrupt()
			t.Fatalf("GET %s: %d %.300s; want 200 with %s", p.path, resp.StatusCode, b, p.want)
		}
	}
	interrupt()
	select {
	case <-exited:
	case <-ctx.Done():
		t.Fatalf("make run did not end after Ctrl-C:\n%s", out.String())
	}
	logs := out.String()
	for _, want := range []string{
		"ghevents is serving: open the charts at http://" + addr + "/visualization and the API docs at http://" + addr + "/docs",
		"no events are stored yet", "ghevents import https://data.gharchive.org/",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("make run did not say %q:\n%s", want, logs)
		}
	}
	return logs
}

// copyWorkTree copies the project's files (tracked, and new ones not
// ignored: what a clone of this work would hold) into dir.
func copyWorkTree(t *testing.T, dir string) {
	t.Helper()
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git work tree: %v", err)
	}
	src := strings.TrimSpace(string(root))
	list, err := exec.Command("git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	for name := range strings.SplitSeq(strings.TrimRight(string(list), "\x00"), "\x00") {
		from := filepath.Join(src, name)
		st, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// postgresProcesses lists the PostgreSQL processes serving the cluster in
// dir (their command line names its data folder).
func postgresProcesses(t *testing.T, dir string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmdline, "postgres") && strings.Contains(cmdline, filepath.Join(dir, "data")) {
			pids = append(pids, fmt.Sprintf("%s (%s)", filepath.Base(filepath.Dir(p)), strings.TrimSpace(cmdline)))
		}
	}
	return pids
}
