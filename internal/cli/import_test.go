package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/testkit"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

func TestImportCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	environ := []string{"DATABASE_URL=" + testdb.URL(t), "DB_MAX_CONNS=3"}
	importCmd := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"import"}, args...), environ, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	const hour = "../../testdata/github/gharchive-2015-01-01-0.json.gz"

	code, out, errOut := importCmd("--types", "WatchEvent", hour)
	if code != exitOK || !strings.Contains(out, "files 1 (0 bad), events read 7702, stored 642, duplicates 0, filtered out 7060, bad lines 0") {
		t.Fatalf("first import: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, _ = importCmd(hour, "../../testdata/github/no-such-file.json.gz")
	if code != exitFailure || !strings.Contains(out, "bad file ../../testdata/github/no-such-file.json.gz: cannot open: no such file or directory") ||
		!strings.Contains(out, "files 2 (1 bad), events read 7702, stored 7060, duplicates 642,") {
		t.Fatalf("second import: exit %d\nstdout: %s", code, out)
	}
	for _, bad := range [][]string{
		{},
		{"--types", "PushEvent,NoSuchEvent", hour},
		{"--jobs", "4", hour}, // DB_MAX_CONNS is 3
		{"--since", "yesterday", hour},
		{"--since", "2015-01-02", "--until", "2015-01-01", hour},
		{"--batch-size", "0", hour},
		{"x-{3..1}.json"},
	} {
		if code, _, errOut := importCmd(bad...); code != exitUsage {
			t.Errorf("import %q: exit %d, want %d (usage)\n%s", bad, code, exitUsage, errOut)
		}
	}
}

// TestImportMetricsAddr: `ghevents import --metrics-addr` serves the
// import's counters while it runs. The source is a URL that sends every
// line, then holds the response open: the counters are read mid-import.
func TestImportMetricsAddr(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	page := githubtest.EventsPages(t)[0]
	want, total := githubtest.Identities(t, page)
	var events []json.RawMessage
	if err := json.Unmarshal(page, &events); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.WriteString("not an event\n")
	for _, e := range events {
		body.Write(e)
		body.WriteByte('\n')
	}
	release := make(chan struct{})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body.Bytes())
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer src.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	addr := testkit.FreeAddr(t)
	var stdout, stderr testkit.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"import", "--metrics-addr", addr, "--batch-size", "1", src.URL + "/2024-01-01-0.json"},
			[]string{"DATABASE_URL=" + testdb.URL(t)}, &stdout, &stderr)
	}()
	// Every line is read and stored while the file is still open.
	metrics := scrapeUntil(t, "http://"+addr+"/internal/metrics",
		fmt.Sprintf("ghevents_import_events_stored_total %d", len(want)),
		fmt.Sprintf("ghevents_import_duplicate_events_total %d", total-len(want)),
		"ghevents_import_bad_lines_total 1")
	for _, line := range []string{
		fmt.Sprintf("ghevents_import_events_read_total %d", total),
		"ghevents_import_files_in_progress 1",
		`ghevents_import_files_total{outcome="imported"} 0`,
		"ghevents_import_lines_total 0", // counted when the file is finished
		fmt.Sprintf("ghevents_import_bytes_read_total %d", body.Len()),
	} {
		if !hasLine(metrics, line) {
			t.Errorf("/internal/metrics lacks %q:\n%s", line, metrics)
		}
	}
	if code, b := get("http://" + addr + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, b)
	}
	close(release)
	if code := <-done; code != exitFailure { // a bad line: exit 1
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFailure, stdout.String(), stderr.String())
	}
	wantSummary := fmt.Sprintf("files 1 (0 bad), events read %d, stored %d, duplicates %d, filtered out 0, bad lines 1,", total, len(want), total-len(want))
	if !strings.Contains(stdout.String(), wantSummary) {
		t.Errorf("summary: %s\nwant %s", stdout.String(), wantSummary)
	}
	// The server ends with the import.
	if code, _ := get("http://" + addr + "/healthz"); code != 0 {
		t.Errorf("the metrics server still answers after the import: %d", code)
	}
	if code, _, errOut := runCLI(t, nil, "import", "--metrics-addr", "9101", "x.json"); code != exitUsage || !strings.Contains(errOut, "--metrics-addr") {
		t.Errorf("bad --metrics-addr: %d %s", code, errOut)
	}
}
