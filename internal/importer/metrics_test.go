package importer_test

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
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/model"
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

// TestImportCounters runs two imports into one set of metrics and checks
// the exposition holds exactly what was read, stored, skipped and refused.
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

	reg := prometheus.NewRegistry()
	metrics := importer.NewMetrics(reg)
	sum, err := importer.New(s, importer.Options{Types: []string{"WatchEvent"}, Metrics: metrics}).Run(ctx, []string{hour})
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

	_, err = importer.New(s, importer.Options{Metrics: metrics}).Run(ctx, []string{smallPath, filepath.Join(t.TempDir(), "missing.json.gz")})
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

// blockingSink stores every batch, but holds the first one until release
// is closed.
type blockingSink struct {
	held    chan struct{} // closed when the first batch arrived
	release chan struct{}
	once    sync.Once
}

func (b *blockingSink) InsertEvents(ctx context.Context, events []model.Event) (int64, error) {
	first := false
	b.once.Do(func() { first = true; close(b.held) })
	if first {
		<-b.release
	}
	return int64(len(events)), nil
}

// TestImportMetricsLive: while a file is read its events, stored events
// and bytes are counted as they happen and the file is in progress; its
// lines are counted when it is finished. (Counters never go back:
// Prometheus refuses to lower one.)
func TestImportMetricsLive(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lines []string
	for i := range 3 {
		lines = append(lines, fmt.Sprintf(`{"id":"%d","type":"PushEvent","actor":{"id":1,"login":"a"},"repo":{"id":2,"name":"o/r"},"payload":{},"public":true,"created_at":"2024-01-01T00:00:0%dZ"}`, 99000000100+i, i))
	}
	body := strings.Join(lines, "\n") + "\n"
	path := filepath.Join(t.TempDir(), "three.jsonl")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := importer.NewMetrics(nil)
	sink := &blockingSink{held: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := importer.New(sink, importer.Options{BatchSize: 1, Jobs: 1, Metrics: m}).Run(ctx, []string{path})
		done <- err
	}()
	<-sink.held
	// The first batch is held: the file is being read, its first event
	// decoded, and nothing stored yet.
	if got := testutil.ToFloat64(m.FilesInProgress); got != 1 {
		t.Errorf("files in progress while reading = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.EventsRead); got < 1 {
		t.Errorf("events read while reading = %v, want at least 1", got)
	}
	if got := testutil.ToFloat64(m.BytesRead); got != float64(len(body)) {
		t.Errorf("bytes read while reading = %v, want %d (the file is buffered whole)", got, len(body))
	}
	if got := testutil.ToFloat64(m.EventsStored); got != 0 {
		t.Errorf("events stored while the first batch is held = %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.Lines); got != 0 {
		t.Errorf("lines while reading = %v, want 0 (counted when the file is finished)", got)
	}
	close(sink.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"files in progress": 0, "events read": 3, "events stored": 3, "lines": 3, "imported files": 1} {
		c := map[string]prometheus.Collector{"files in progress": m.FilesInProgress, "events read": m.EventsRead,
			"events stored": m.EventsStored, "lines": m.Lines, "imported files": m.Files.WithLabelValues("imported")}[name]
		if got := testutil.ToFloat64(c); got != want {
			t.Errorf("%s after the import = %v, want %v", name, got, want)
		}
	}
}
