package opsmetrics_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/opsmetrics"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/telemetry"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

const hour = "../../testdata/github/gharchive-2015-01-01-0.json.gz"

// archiveFacts reads a GH Archive file with encoding/json, independently
// of the importer: its lines, and the distinct identities of its events of
// type typ.
func archiveFacts(t *testing.T, path, typ string) (lines int64, events int64, distinct map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	distinct = map[string]bool{}
	for sc.Scan() {
		lines++
		var e struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			CreatedAt string `json:"created_at"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		events++
		if e.Type == typ {
			distinct[e.ID+" "+e.CreatedAt] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines, events, distinct
}

// scrape serves reg as the commands do and returns /internal/metrics.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mux := http.NewServeMux()
	telemetry.Register(mux, reg, nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + telemetry.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", telemetry.MetricsPath, resp.StatusCode, err)
	}
	return string(b)
}

// num formats v as the exposition does (large values in exponent form).
func num(v int64) string { return strconv.FormatFloat(float64(v), 'g', -1, 64) }

func assertLines(t *testing.T, text string, want ...string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("exposition lacks %q:\n%s", w, text)
		}
	}
}

// TestImportCounters runs two imports into one collector and checks the
// exposition holds exactly what was read, stored, skipped and refused.
func TestImportCounters(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := store.New(testdb.New(t))

	hourLines, hourEvents, watches := archiveFacts(t, hour, "WatchEvent")
	hourInfo, err := os.Stat(hour)
	if err != nil {
		t.Fatal(err)
	}
	// A small file: a line that is not JSON, a WatchEvent of the hour
	// (already stored by the first import), a new event twice.
	var known string
	for id := range watches {
		known = id
		break
	}
	id, created, _ := strings.Cut(known, " ")
	small := strings.Join([]string{
		`not json`,
		fmt.Sprintf(`{"id":%q,"type":"WatchEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/r"},"payload":{"action":"started"},"public":true,"created_at":%q}`, id, created),
		`{"id":"99000000001","type":"PushEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/r"},"payload":{},"public":true,"created_at":"2024-01-01T00:00:00Z"}`,
		`{"id":"99000000001","type":"PushEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/r"},"payload":{},"public":true,"created_at":"2024-01-01T00:00:00Z"}`,
	}, "\n") + "\n"
	smallPath := filepath.Join(t.TempDir(), "small.jsonl")
	if err := os.WriteFile(smallPath, []byte(small), 0o600); err != nil {
		t.Fatal(err)
	}

	progress := opsmetrics.NewImportProgress(nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(progress)
	sum, err := importer.New(s, importer.Options{Types: []string{"WatchEvent"}, Progress: progress}).Run(ctx, []string{hour})
	if err != nil || sum.Stored != int64(len(watches)) {
		t.Fatalf("first import: stored %d (want %d), %v", sum.Stored, len(watches), err)
	}
	assertLines(t, scrape(t, reg),
		`ghevents_import_files_total{outcome="imported"} 1`,
		`ghevents_import_files_total{outcome="bad"} 0`,
		fmt.Sprintf("ghevents_import_lines_total %d", hourLines),
		fmt.Sprintf("ghevents_import_events_read_total %d", hourEvents),
		fmt.Sprintf("ghevents_import_events_stored_total %d", len(watches)),
		fmt.Sprintf("ghevents_import_filtered_events_total %d", hourEvents-int64(len(watches))),
		"ghevents_import_duplicate_events_total 0",
		"ghevents_import_bytes_read_total "+num(hourInfo.Size()),
	)

	_, err = importer.New(s, importer.Options{Progress: progress}).Run(ctx, []string{smallPath, filepath.Join(t.TempDir(), "missing.json.gz")})
	if err != nil {
		t.Fatal(err)
	}
	assertLines(t, scrape(t, reg),
		`ghevents_import_files_total{outcome="imported"} 2`,
		`ghevents_import_files_total{outcome="bad"} 1`,
		`ghevents_import_files_total{outcome="interrupted"} 0`,
		"ghevents_import_files_in_progress 0",
		fmt.Sprintf("ghevents_import_lines_total %d", hourLines+4),
		fmt.Sprintf("ghevents_import_events_read_total %d", hourEvents+3),
		fmt.Sprintf("ghevents_import_events_stored_total %d", len(watches)+1),
		fmt.Sprintf("ghevents_import_filtered_events_total %d", hourEvents-int64(len(watches))),
		"ghevents_import_duplicate_events_total 2",
		"ghevents_import_bad_lines_total 1",
		"ghevents_import_bytes_read_total "+num(hourInfo.Size()+int64(len(small))),
	)
}

// TestImportProgressNeverGoesBack: an update racing with the end of its
// file is ignored, and counters never decrease.
func TestImportProgressNeverGoesBack(t *testing.T) {
	t.Parallel()
	p := opsmetrics.NewImportProgress(nil)
	p.FileStarted("f", 100)
	p.Update(importer.Snapshot{Name: "f", Size: 100, Bytes: 50, Events: 10, Stored: 8, Duplicates: 1, BadLines: 1})
	const head = `# HELP ghevents_import_events_read_total Events decoded.
# TYPE ghevents_import_events_read_total counter
`
	if err := testutil.CollectAndCompare(p, strings.NewReader(head+"ghevents_import_events_read_total 10\n"), "ghevents_import_events_read_total"); err != nil {
		t.Error(err)
	}
	p.FileDone(importer.FileResult{Name: "f", Lines: 12, Events: 9, Stored: 8, Duplicates: 1, BadLines: 1, Bytes: 100})
	p.Update(importer.Snapshot{Name: "f", Events: 10}) // late: ignored
	if err := testutil.CollectAndCompare(p, strings.NewReader(head+"ghevents_import_events_read_total 10\n"), "ghevents_import_events_read_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(p, "ghevents_import_files_in_progress"); n != 1 {
		t.Errorf("files_in_progress series: %d", n)
	}
	p.FileStarted("g", -1)
	p.Update(importer.Snapshot{Name: "g", Events: 5})
	if err := testutil.CollectAndCompare(p, strings.NewReader(head+"ghevents_import_events_read_total 14\n"), "ghevents_import_events_read_total"); err != nil {
		t.Error(err)
	}
}
