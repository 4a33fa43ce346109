package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// screenshotDir keeps one screenshot per page for a person to look at
// (git-ignored).
const screenshotDir = "../../artifacts/screenshots"

// findChromium returns the browser, or skips (fails when
// GHEVENTS_REQUIRE_BROWSER is set, as `make test` does).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GHEVENTS_REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found (make browser-deps installs Debian's chromium)")
	}
	t.Skip("no Chromium found; `make browser-deps` installs it")
	return ""
}

// newBrowser starts headless Chromium with the flags of the house (no
// network of its own, a fresh profile) and returns its context.
func newBrowser(t *testing.T, browser string) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helpers may still write there for a moment
	// after it exits, which would fail the test in its cleanup.
	profile, err := os.MkdirTemp("", "ghevents-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 10 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Run(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

// TestPagesInHeadlessChromium loads every page from a test server in
// headless Chromium with the network otherwise unused, waits for the chart
// (or the docs) to be drawn, and checks: no console error or exception, no
// request to any other host, and a canvas that is not blank.
func TestPagesInHeadlessChromium(t *testing.T) {
	browser := findChromium(t)
	f := setup(t, handWorked)
	srvURL, _ := url.Parse(f.srv.URL)

	bctx := newBrowser(t, browser)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		name, path, waitFor, shoot string
	}{
		{"event-avg-time", "/visualization/event-avg-time?event_type=PushEvent", `html[data-chart-finished="true"]`, "#chart"},
		{"event-avg-time-all-types", "/visualization/event-avg-time?scale=linear", `html[data-chart-finished="true"]`, "#chart"},
		{"events-total-count", "/visualization/events-total-count?offset=31536000", `html[data-chart-finished="true"]`, "#chart"},
		{"multiple-events-repos", "/visualization/multiple-events-repos?event_type=ForkEvent&minimal_events_count=1", `html[data-chart-finished="true"]`, "#chart"},
		{"events-timeline", "/visualization/events-timeline?offset=14400", `html[data-chart-finished="true"]`, "#chart"},
		{"events-timeline-star-history", "/visualization/events-timeline?offset=86400&event_type=WatchEvent&repository_name=octo/hello&cumulative=true", `html[data-chart-finished="true"]`, "#chart"},
		{"coverage", "/visualization/coverage?offset=31536000", `html[data-chart-finished="true"]`, "#chart"},
		{"index", "/visualization", `form.chart-form`, "main"},
		{"docs", "/docs", `.swagger-ui .opblock`, "#swagger-ui"},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
			defer cancelTimeout()

			var mu sync.Mutex
			var problems, requests []string
			chromedp.ListenTarget(ctx, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch e := ev.(type) {
				case *runtime.EventConsoleAPICalled:
					if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
						var args []string
						for _, a := range e.Args {
							args = append(args, string(a.Value)+a.Description)
						}
						problems = append(problems, "console."+string(e.Type)+": "+strings.Join(args, " "))
					}
				case *runtime.EventExceptionThrown:
					problems = append(problems, "exception: "+e.ExceptionDetails.Text+" "+exceptionText(e.ExceptionDetails))
				case *network.EventRequestWillBeSent:
					requests = append(requests, e.Request.URL)
				case *network.EventLoadingFailed:
					problems = append(problems, "loading failed: "+e.ErrorText)
				}
			})

			var shot []byte
			err := chromedp.Run(ctx,
				network.Enable(),
				runtime.Enable(),
				chromedp.Navigate(f.srv.URL+p.path),
				chromedp.WaitVisible(p.waitFor, chromedp.ByQuery),
				chromedp.Sleep(300*time.Millisecond), // let late errors surface
				chromedp.Screenshot(p.shoot, &shot, chromedp.NodeVisible, chromedp.ByQuery),
			)
			if err != nil {
				t.Fatalf("load %s: %v (problems so far: %v)", p.path, err, problems)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(problems) > 0 {
				t.Errorf("%s: %s", p.path, strings.Join(problems, "\n"))
			}
			for _, r := range requests {
				u, err := url.Parse(r)
				if err != nil || (u.Scheme != "data" && u.Host != srvURL.Host) {
					t.Errorf("%s requested %s: not the test server", p.path, r)
				}
			}
			if len(requests) < 2 {
				t.Errorf("%s: only %d requests seen: the listener is not working", p.path, len(requests))
			}
			drawn, total := nonBackgroundPixels(t, shot)
			if drawn*100 < total { // at least 1 % of the area drawn on
				t.Errorf("%s: screenshot nearly blank: %d of %d pixels differ from the background", p.path, drawn, total)
			}
			if err := os.WriteFile(filepath.Join(screenshotDir, p.name+".png"), shot, 0o644); err != nil {
				t.Error(err)
			}
			t.Logf("%s: %d requests, %d of %d pixels drawn", p.path, len(requests), drawn, total)
		})
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return fmt.Sprintf("line %d", d.LineNumber)
}

// nonBackgroundPixels counts pixels that differ from the top-left one.
func nonBackgroundPixels(t *testing.T, shot []byte) (drawn, total int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	bg := colorAt(img, b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if colorAt(img, x, y) != bg {
				drawn++
			}
		}
	}
	return drawn, b.Dx() * b.Dy()
}

func colorAt(img image.Image, x, y int) [4]uint32 {
	r, g, b, a := img.At(x, y).RGBA()
	return [4]uint32{r, g, b, a}
}
