package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/testdb"
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
