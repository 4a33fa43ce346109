package charts_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/charts"
	"github.com/ghevents/ghevents/internal/model"
)

// option extracts and parses the page's embedded echarts option.
func option(t *testing.T, page []byte) map[string]any {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-option">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no embedded option in page:\n%s", page)
	}
	var opt map[string]any
	if err := json.Unmarshal(m[1], &opt); err != nil {
		t.Fatalf("embedded option is not JSON: %v", err)
	}
	return opt
}

// TestPageSizeAtCap: every known type with the full point cap stays well
// under 1 MB (echarts itself is a separate, cached file).
func TestPageSizeAtCap(t *testing.T) {
	t.Parallel()
	const points = 2000
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var series []charts.GapSeries
	for _, typ := range model.EventTypes {
		s := charts.GapSeries{Name: typ, Events: 1_234_567}
		avg := 12.345
		s.AvgSeconds = &avg
		for i := range points {
			s.Times = append(s.Times, start.Add(time.Duration(i)*time.Second))
			s.Seconds = append(s.Seconds, float64(i%97))
		}
		series = append(series, s)
	}
	page, err := charts.Render(charts.Page{Title: "t", Subtitle: "s", Option: charts.GapsOption(series, false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) >= 1<<20 {
		t.Fatalf("page with %d series of %d points is %d bytes, want < 1 MiB", len(series), points, len(page))
	}
	opt := option(t, page)
	got := opt["series"].([]any)
	if len(got) != len(model.EventTypes) || len(got[0].(map[string]any)["data"].([]any)) != points {
		t.Fatalf("series/points not all drawn")
	}
	t.Logf("%d series x %d points: %d bytes", len(series), points, len(page))
}

// TestEscaping: text from the data can neither close the JSON script nor
// inject markup; it arrives intact in the parsed option.
func TestEscaping(t *testing.T) {
	t.Parallel()
	hostile := `<script>alert(1)</script>`
	items := []charts.CountItem{{Name: hostile + "/x", Count: 3}, {Name: `"quoted' & </script><img src=x onerror=alert(2)>`, Count: 2}}
	page, err := charts.Render(charts.Page{
		Title:    "Repos " + hostile,
		Subtitle: "sub " + hostile,
		Notice:   hostile,
		Links:    []charts.Link{{Text: hostile, URL: "javascript:alert(3)"}},
		Option:   charts.HorizontalBarsOption(hostile, "events", items),
	})
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, bad := range []string{"<script>alert", "<img src=x", "javascript:alert", "</script><img"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	if n := strings.Count(html, "<script"); n != 3 { // echarts, charts.js, the JSON block
		t.Errorf("page has %d <script elements, want 3", n)
	}
	opt := option(t, page)
	cats := opt["yAxis"].([]any)[0].(map[string]any)["data"].([]any)
	if cats[1] != hostile+"/x" || cats[0] != items[1].Name {
		t.Errorf("names not intact in the option: %v", cats)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := charts.Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkRenderGaps is the Go side of the biggest chart page: 18 series
// of 2,000 gaps to an echarts option and HTML.
func BenchmarkRenderGaps(b *testing.B) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var series []charts.GapSeries
	for _, typ := range model.EventTypes {
		s := charts.GapSeries{Name: typ, Events: 1_234_567}
		avg := 12.345
		s.AvgSeconds = &avg
		for i := range 2000 {
			s.Times = append(s.Times, start.Add(time.Duration(i)*time.Second))
			s.Seconds = append(s.Seconds, float64(i%97))
		}
		series = append(series, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := charts.Render(charts.Page{Title: "t", Option: charts.GapsOption(series, false)}); err != nil {
			b.Fatal(err)
		}
	}
}
