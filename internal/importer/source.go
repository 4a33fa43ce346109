package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// source is one input to read: a file, standard input or a URL.
type source struct {
	// name is how reports call it (the path, "-" or the URL).
	name string
	// err, when set, is why the source cannot be read at all (a directory
	// that cannot be listed); it is reported like a file that fails to open.
	err error
	// body, when set, is what is read (RunReader), with its size (-1:
	// unknown).
	body io.ReadCloser
	size int64
}

// rangePattern is a numeric range such as {0..23} in a source.
var rangePattern = regexp.MustCompile(`\{(\d+)\.\.(\d+)\}`)

// ExpandRanges expands every {A..B} in s (A ≤ B, whole numbers) into one
// string per value, in order: "2024-01-01-{0..2}.json.gz" gives the files
// of hours 0, 1 and 2. A bound written with leading zeros ({00..23}) pads
// the values to its width. Strings without a range come back alone.
func ExpandRanges(s string) ([]string, error) {
	loc := rangePattern.FindStringSubmatchIndex(s)
	if loc == nil {
		return []string{s}, nil
	}
	from, to := s[loc[2]:loc[3]], s[loc[4]:loc[5]]
	a, errA := strconv.Atoi(from)
	b, errB := strconv.Atoi(to)
	if errA != nil || errB != nil || a > b || b-a >= 100_000 {
		return nil, fmt.Errorf("range {%s..%s} in %q: want {A..B} with A ≤ B and at most 100,000 values", from, to, s)
	}
	width := 0
	if len(from) > 1 && from[0] == '0' {
		width = len(from)
	}
	var out []string
	for v := a; v <= b; v++ {
		rest, err := ExpandRanges(s[loc[1]:])
		if err != nil {
			return nil, err
		}
		for _, r := range rest {
			out = append(out, s[:loc[0]]+fmt.Sprintf("%0*d", width, v)+r)
		}
	}
	return out, nil
}

// isURL reports whether s names an http(s) source.
func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// dumpFile reports whether a file in a directory is one to import.
func dumpFile(name string) bool {
	for _, ext := range []string{".json.gz", ".jsonl.gz", ".json", ".jsonl"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// expand turns the command-line sources into the inputs to read, in order:
// ranges expanded, directories replaced by their dump files in name order.
// A path that does not exist stays in the list and fails when opened, so
// it is reported in its place.
func expand(args []string) ([]source, error) {
	var out []source
	for _, arg := range args {
		names, err := ExpandRanges(arg)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if name == "-" || isURL(name) {
				out = append(out, source{name: name})
				continue
			}
			st, err := os.Stat(name)
			if err != nil || !st.IsDir() {
				out = append(out, source{name: name})
				continue
			}
			entries, err := os.ReadDir(name)
			if err != nil {
				out = append(out, source{name: name, err: fmt.Errorf("list directory: %w", err)})
				continue
			}
			var files []string
			for _, e := range entries {
				if !e.IsDir() && dumpFile(e.Name()) {
					files = append(files, filepath.Join(name, e.Name()))
				}
			}
			slices.Sort(files)
			if len(files) == 0 {
				out = append(out, source{name: name, err: errors.New("directory holds no .json.gz, .json or .jsonl file")})
			}
			for _, f := range files {
				out = append(out, source{name: f})
			}
		}
	}
	return out, nil
}

// open opens src for reading and returns its size in bytes as stored (the
// compressed size for a gzip file; -1 when unknown).
func (im *Importer) open(ctx context.Context, src source) (io.ReadCloser, int64, error) {
	switch {
	case src.err != nil:
		return nil, 0, src.err
	case src.body != nil:
		return src.body, src.size, nil
	case src.name == "-":
		return io.NopCloser(im.o.Stdin), -1, nil
	case isURL(src.name):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.name, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("bad URL: %w", err)
		}
		resp, err := im.o.HTTPClient.Do(req)
		if err != nil {
			return nil, 0, fmt.Errorf("download: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("download: HTTP %s", resp.Status)
		}
		return resp.Body, resp.ContentLength, nil
	default:
		f, err := os.Open(src.name)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		if st.IsDir() {
			f.Close()
			return nil, 0, errors.New("is a directory")
		}
		return f, st.Size(), nil
	}
}
