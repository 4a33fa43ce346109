package main

// These machines cannot run Docker, so the container files are checked by
// what can run here: the compose file is parsed and its wiring asserted, and
// the binary is built with exactly the command the Dockerfile runs, then
// checked to be static and to run.

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ghevents/ghevents/internal/devdb"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestComposeFile(t *testing.T) {
	t.Parallel()
	var compose struct {
		Services map[string]struct {
			Image       string                       `yaml:"image"`
			Build       any                          `yaml:"build"`
			Command     []string                     `yaml:"command"`
			Ports       []string                     `yaml:"ports"`
			DependsOn   map[string]map[string]string `yaml:"depends_on"`
			Healthcheck map[string]any               `yaml:"healthcheck"`
			Environment map[string]string            `yaml:"environment"`
			Volumes     []string                     `yaml:"volumes"`
			Restart     string                       `yaml:"restart"`
			StopGrace   string                       `yaml:"stop_grace_period"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "docker-compose.yml")), &compose); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	s := compose.Services
	for _, name := range []string{"db", "migrate", "poller", "api"} {
		if _, ok := s[name]; !ok {
			t.Fatalf("no service %q", name)
		}
	}
	if s["db"].Image != "postgres:15" || s["db"].Healthcheck == nil || len(s["db"].Volumes) != 1 ||
		!strings.HasPrefix(s["db"].Volumes[0], "pgdata:") || compose.Volumes["pgdata"] == nil && !hasKey(compose.Volumes, "pgdata") {
		t.Errorf("db: want postgres:15 with a healthcheck and the named volume pgdata: %+v", s["db"])
	}
	// The server is sized for a big store as the private cluster is
	// (devdb.BigStoreSettings), with 1 GB of buffers.
	want := []string{"postgres"}
	for _, set := range devdb.BigStoreSettings(4 << 30) {
		want = append(want, "-c", set)
	}
	if got := strings.Join(s["db"].Command, " "); got != strings.Join(want, " ") {
		t.Errorf("db command %q, want %q", got, strings.Join(want, " "))
	}
	if strings.Join(s["migrate"].Command, " ") != "migrate up" || s["migrate"].DependsOn["db"]["condition"] != "service_healthy" ||
		s["migrate"].Restart != "no" {
		t.Errorf("migrate: want `migrate up` once, after db is healthy: %+v", s["migrate"])
	}
	for _, name := range []string{"poller", "api"} {
		if s[name].DependsOn["migrate"]["condition"] != "service_completed_successfully" {
			t.Errorf("%s does not wait for migrate to complete", name)
		}
		if !strings.HasPrefix(s[name].Environment["DATABASE_URL"], "postgres://ghevents:ghevents@db:5432/ghevents") {
			t.Errorf("%s: DATABASE_URL %q", name, s[name].Environment["DATABASE_URL"])
		}
		// Docker kills a container 10 s after SIGTERM unless told otherwise:
		// give the poller's drain and the API's requests SHUTDOWN_GRACE (15 s).
		if d, err := time.ParseDuration(s[name].StopGrace); err != nil || d <= 15*time.Second {
			t.Errorf("%s: stop_grace_period %q, want more than SHUTDOWN_GRACE (15s)", name, s[name].StopGrace)
		}
	}
	if s["poller"].Environment["POLL_METRICS_ADDR"] != ":9100" {
		t.Errorf("poller: POLL_METRICS_ADDR %q, want :9100 (its healthcheck asks there)", s["poller"].Environment["POLL_METRICS_ADDR"])
	}
	if strings.Join(s["poller"].Command, " ") != "poll" || strings.Join(s["api"].Command, " ") != "serve" {
		t.Errorf("commands: poller %v, api %v", s["poller"].Command, s["api"].Command)
	}
	if len(s["api"].Ports) != 1 || s["api"].Ports[0] != "8000:8000" {
		t.Errorf("api ports %v, want 8000:8000", s["api"].Ports)
	}
	// Every command the compose file runs exists.
	bin := filepath.Join(t.TempDir(), "ghevents")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	for name, svc := range s {
		if name == "db" || len(svc.Command) == 0 {
			continue
		}
		out, err := exec.Command(bin, svc.Command[0], "--help").CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Usage: ghevents "+svc.Command[0])) {
			t.Errorf("%s runs %q, which `ghevents %s --help` does not know: %v", name, svc.Command[0], svc.Command[0], err)
		}
	}
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// TestDockerfileBuild builds the binary with the Dockerfile's own build
// command and checks it is static, runs as the image runs it, and that the
// Makefile builds with the same flags.
func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	dockerfile := readFile(t, "Dockerfile")
	for _, want := range []string{"FROM gcr.io/distroless/static-debian12:nonroot", "USER nonroot:nonroot", "HEALTHCHECK",
		`CMD ["/usr/local/bin/ghevents", "healthcheck"]`} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	m := regexp.MustCompile(`RUN (CGO_ENABLED=0 go build .*)`).FindStringSubmatch(dockerfile)
	if m == nil {
		t.Fatal("no `RUN CGO_ENABLED=0 go build` line in the Dockerfile")
	}
	build := strings.ReplaceAll(m[1], "${VERSION}", "test")
	makefile := readFile(t, "Makefile")
	if !strings.Contains(makefile, `LDFLAGS := -s -w -X github.com/ghevents/ghevents/internal/cli.Version=$(VERSION)`) ||
		!strings.Contains(makefile, `CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"`) ||
		!strings.Contains(build, `-trimpath -ldflags "-s -w -X github.com/ghevents/ghevents/internal/cli.Version=test"`) {
		t.Errorf("the Dockerfile and the Makefile build with different flags:\n%s", build)
	}

	out := t.TempDir()
	build = strings.Replace(build, "-o /out/ghevents", "-o "+filepath.Join(out, "ghevents"), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", build)
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	bin := filepath.Join(out, "ghevents")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary is dynamically linked (has an interpreter); distroless/static needs a static one")
		}
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil || string(v) != "ghevents test\n" {
		t.Fatalf("built binary: %q %v", v, err)
	}
	// The migrations are embedded: `migrate --help` needs no files beside it.
	if b, err := exec.Command(bin, "migrate", "--help").CombinedOutput(); err != nil {
		t.Fatalf("migrate --help: %v %s", err, b)
	}
}
