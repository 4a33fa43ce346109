package apiclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/api"
	"github.com/ghevents/ghevents/internal/api/apiclient"
	"github.com/ghevents/ghevents/internal/importer"
	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// tsClient is the TypeScript client's folder (its node_modules come from
// `make node-deps`: npm ci of its package-lock.json).
const tsClient = "../../../clients/typescript"

// needTypeScript returns node and the folder's tools, or skips (fails when
// GHEVENTS_REQUIRE_NODE is set, as `make test` does).
func needTypeScript(t *testing.T) (node string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		if _, err = os.Stat(filepath.Join(tsClient, "node_modules", "openapi-fetch")); err == nil {
			return node
		}
	}
	if os.Getenv("GHEVENTS_REQUIRE_NODE") != "" {
		t.Fatalf("node or the TypeScript client's packages are missing (make node-deps installs them): %v", err)
	}
	t.Skipf("node or the TypeScript client's packages are missing (make node-deps): %v", err)
	return ""
}

// npmBin runs a tool of the client's node_modules in its folder.
func npmBin(t *testing.T, node, tool string, args ...string) (string, error) {
	t.Helper()
	scripts := map[string]string{
		"tsc":                "node_modules/typescript/bin/tsc",
		"openapi-typescript": "node_modules/openapi-typescript/bin/cli.js",
	}
	cmd := exec.Command(node, append([]string{scripts[tool]}, args...)...)
	cmd.Dir = tsClient
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTypeScriptTypesUpToDate: src/schema.d.ts is what openapi-typescript
// makes of the live OpenAPI 3.1 document (`make api-client` remakes it).
func TestTypeScriptTypesUpToDate(t *testing.T) {
	node := needTypeScript(t)
	t.Parallel()
	doc, err := json.Marshal(api.OpenAPI("dev"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	docPath, outPath := filepath.Join(dir, "openapi.json"), filepath.Join(dir, "schema.d.ts")
	if err := os.WriteFile(docPath, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := npmBin(t, node, "openapi-typescript", docPath, "-o", outPath); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, out)
	}
	live, _ := os.ReadFile(outPath)
	committed, err := os.ReadFile(filepath.Join(tsClient, "src", "schema.d.ts"))
	if err != nil || !bytes.Equal(live, committed) {
		t.Fatalf("clients/typescript/src/schema.d.ts differs from what the live document gives (%v): run `make api-client`", err)
	}
}

// TestTypeScriptTypesRefuseInvalidCalls: the client compiles with tsc
// --strict, and each invalid call of type-tests/invalid.ts is refused
// with the error its line announces.
func TestTypeScriptTypesRefuseInvalidCalls(t *testing.T) {
	node := needTypeScript(t)
	t.Parallel()
	if out, err := npmBin(t, node, "tsc", "--noEmit", "--strict", "-p", "tsconfig.json"); err != nil {
		t.Fatalf("tsc --noEmit --strict: %v\n%s", err, out)
	}
	src, err := os.ReadFile(filepath.Join(tsClient, "type-tests", "invalid.ts"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, line := range strings.Split(string(src), "\n") {
		if m := regexp.MustCompile(`// ERROR (TS\d+)$`).FindStringSubmatch(line); m != nil {
			want = append(want, "("+strconv.Itoa(i+1)+",")
			want = append(want, m[1])
		}
	}
	out, err := npmBin(t, node, "tsc", "-p", "type-tests/tsconfig.json")
	if err == nil {
		t.Fatalf("type-tests/invalid.ts compiled: the types refuse nothing\n%s", out)
	}
	var got []string
	for _, m := range regexp.MustCompile(`invalid\.ts(\(\d+,)\d+\): error (TS\d+)`).FindAllStringSubmatch(out, -1) {
		got = append(got, m[1], m[2])
	}
	if len(want) != 8 || !reflect.DeepEqual(got, want) {
		t.Fatalf("errors (line, code) %v, want %v:\n%s", got, want, out)
	}
	if !strings.Contains(out, `Type '"NoSuchEvent"' is not assignable`) || !strings.Contains(out, "Property 'offset' is missing") {
		t.Fatalf("tsc did not refuse for the reasons expected:\n%s", out)
	}
}

// TestTypeScriptClientAgainstARealServer: the TypeScript client, compiled
// and run with node, calls every endpoint of a real server holding the
// real GH Archive hour, and gets exactly what the Go client gets.
func TestTypeScriptClientAgainstARealServer(t *testing.T) {
	node := needTypeScript(t)
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.New(t))
	if _, err := importer.New(s, importer.Options{}).Run(ctx, []string{"../../../testdata/github/gharchive-2015-01-01-0.json.gz"}); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2015, 1, 1, 1, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(api.New(api.Config{Store: s, Now: func() time.Time { return clock }, Version: "test"}))
	defer srv.Close()

	build, err := os.MkdirTemp(tsClient, ".build-") // inside, so that node finds openapi-fetch
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(build)
	if out, err := npmBin(t, node, "tsc", "-p", "tsconfig.json", "--outDir", filepath.Base(build)); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
	cmd := exec.Command(node, filepath.Join(build, "calls.js"), srv.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node calls.js: %v\n%s", err, stderr.String())
	}
	var ts map[string]struct {
		Status int             `json:"status"`
		ETag   *string         `json:"etag"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(out, &ts); err != nil {
		t.Fatalf("calls.js printed no JSON: %v\n%s", err, out)
	}

	c, err := apiclient.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		etag   string
		body   []byte
	}
	str := func(s string) *string { return &s }
	n := func(v int64) *int64 { return &v }
	goAnswers := map[string]func() (answer, error){
		"event-avg-time": func() (answer, error) {
			r, err := c.GetEventAvgTimeWithResponse(ctx, &apiclient.GetEventAvgTimeParams{EventType: "PushEvent"})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
		"event-avg-time-filtered": func() (answer, error) {
			r, err := c.GetEventAvgTimeWithResponse(ctx, &apiclient.GetEventAvgTimeParams{EventType: "PullRequestEvent",
				Action: str("opened"), RepositoryName: str("pbatard/rufus")})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
		"events-total-count": func() (answer, error) {
			r, err := c.GetEventsTotalCountWithResponse(ctx, &apiclient.GetEventsTotalCountParams{Offset: 7200})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
		"multiple-events-repos": func() (answer, error) {
			r, err := c.GetMultipleEventsReposWithResponse(ctx, &apiclient.GetMultipleEventsReposParams{EventType: "PushEvent",
				MinimalEventsCount: n(5), Limit: n(20)})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
		"events-timeline": func() (answer, error) {
			bucket, typ := apiclient.GetEventsTimelineParamsBucket("minute"), apiclient.GetEventsTimelineParamsEventType("WatchEvent")
			r, err := c.GetEventsTimelineWithResponse(ctx, &apiclient.GetEventsTimelineParams{Offset: 3600, Until: &clock, Bucket: &bucket, EventType: &typ})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
		"multiple-events-repos-window": func() (answer, error) {
			r, err := c.GetMultipleEventsReposWithResponse(ctx, &apiclient.GetMultipleEventsReposParams{EventType: "WatchEvent",
				MinimalEventsCount: n(1), Offset: n(3600), Until: &clock})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
		"events-total-count-422": func() (answer, error) {
			r, err := c.GetEventsTotalCountWithResponse(ctx, &apiclient.GetEventsTotalCountParams{Offset: 0})
			return answer{r.StatusCode(), r.HTTPResponse.Header.Get("ETag"), r.Body}, err
		},
	}
	html := map[string]func() (answer, error){
		"visualization": func() (answer, error) {
			r, err := c.VisualizationIndexWithResponse(ctx)
			return answer{r.StatusCode(), "", r.Body}, err
		},
		"visualization-event-avg-time": func() (answer, error) {
			typ := apiclient.VisualizationEventAvgTimeParamsEventType("WatchEvent")
			scale := apiclient.VisualizationEventAvgTimeParamsScale("linear")
			r, err := c.VisualizationEventAvgTimeWithResponse(ctx, &apiclient.VisualizationEventAvgTimeParams{EventType: &typ, Scale: &scale})
			return answer{r.StatusCode(), "", r.Body}, err
		},
		"visualization-events-total-count": func() (answer, error) {
			r, err := c.VisualizationEventsTotalCountWithResponse(ctx, &apiclient.VisualizationEventsTotalCountParams{Offset: 7200})
			return answer{r.StatusCode(), "", r.Body}, err
		},
		"visualization-events-timeline": func() (answer, error) {
			bucket, cumulative := apiclient.VisualizationEventsTimelineParamsBucket("minute"), true
			r, err := c.VisualizationEventsTimelineWithResponse(ctx, &apiclient.VisualizationEventsTimelineParams{Offset: 3600, Bucket: &bucket, Cumulative: &cumulative})
			return answer{r.StatusCode(), "", r.Body}, err
		},
		"visualization-multiple-events-repos": func() (answer, error) {
			r, err := c.VisualizationMultipleEventsReposWithResponse(ctx, &apiclient.VisualizationMultipleEventsReposParams{EventType: "ForkEvent"})
			return answer{r.StatusCode(), "", r.Body}, err
		},
	}
	if len(ts) != len(goAnswers)+len(html)+1 {
		t.Fatalf("the TypeScript client made %d calls, want %d", len(ts), len(goAnswers)+len(html)+1)
	}
	for name, call := range goAnswers {
		want, err := call()
		if err != nil {
			t.Fatal(err)
		}
		got := ts[name]
		var a, b any
		if json.Unmarshal(got.Body, &a) != nil || json.Unmarshal(want.body, &b) != nil || !reflect.DeepEqual(a, b) ||
			got.Status != want.status || (got.ETag == nil) != (want.etag == "") || (got.ETag != nil && *got.ETag != want.etag) {
			t.Errorf("%s: TypeScript %d %v %s\nGo %d %q %s", name, got.Status, got.ETag, got.Body, want.status, want.etag, want.body)
		}
	}
	for name, call := range html {
		want, err := call()
		if err != nil {
			t.Fatal(err)
		}
		var page string
		if err := json.Unmarshal(ts[name].Body, &page); err != nil || ts[name].Status != 200 || page != string(want.body) || want.status != 200 {
			t.Errorf("%s: TypeScript %d, %d bytes; Go %d, %d bytes", name, ts[name].Status, len(page), want.status, len(want.body))
		}
	}
	if nm := ts["event-avg-time-304"]; nm.Status != http.StatusNotModified || nm.ETag == nil || *nm.ETag != *ts["event-avg-time"].ETag {
		t.Errorf("If-None-Match from TypeScript: %d %v, want 304 with the same ETag", nm.Status, nm.ETag)
	}
	// The numbers, worked out apart from the server: the hour holds 7,702
	// events, all within the 2-hour window.
	var total struct{ Total int64 }
	if err := json.Unmarshal(ts["events-total-count"].Body, &total); err != nil || total.Total != 7702 {
		t.Errorf("events-total-count total %d (%v), want 7702", total.Total, err)
	}
}
