package githubtest_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/testkit/githubtest"
)

func TestRecordedPages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		pages           [][]byte
		n, total, dists int
	}{
		{"events walk", githubtest.EventsPages(t), 10, 281, 155},
		{"user walk", githubtest.UserPages(t), 8, 227, 227},
		{"all", githubtest.AllPages(t), 18, 508, 382},
	}
	for _, c := range cases {
		ids, total := githubtest.Identities(t, c.pages...)
		if len(c.pages) != c.n || total != c.total || len(ids) != c.dists {
			t.Errorf("%s: %d pages, %d events, %d distinct; want %d, %d, %d", c.name, len(c.pages), total, len(ids), c.n, c.total, c.dists)
		}
	}
	ev := githubtest.EventsPages(t)
	if string(ev[1]) != string(ev[2]) {
		t.Error("recorded pages 2 and 3 of /events differ; the data says they are the same page")
	}
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServerBehavesLikeGitHub(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	pages := githubtest.EventsPages(t)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages, MaxPages: 3, Now: func() time.Time { return now }})
	base := srv.EventsURL().String()

	resp, body := get(t, base+"?per_page=100", "Authorization", "Bearer x")
	if resp.StatusCode != 200 || body != string(pages[0]) || resp.Header.Get("ETag") != githubtest.ETag(pages[0]) ||
		resp.Header.Get("X-Poll-Interval") != "60" || resp.Header.Get("X-RateLimit-Remaining") != "4999" ||
		resp.Header.Get("X-RateLimit-Reset") != "1717246800" ||
		resp.Header.Get("Link") != `<`+base+`?page=2&per_page=100>; rel="next", <`+base+`?page=3&per_page=100>; rel="last"` {
		t.Fatalf("page 1: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = get(t, base+"?per_page=100", "Authorization", "Bearer x", "If-None-Match", githubtest.ETag(pages[0]))
	if resp.StatusCode != 304 || resp.Header.Get("X-RateLimit-Remaining") != "4999" {
		t.Fatalf("conditional page 1: %d, remaining %s; want 304, 4999", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	// The page at the pagination limit still links to the next, which is refused.
	resp, _ = get(t, base+"?page=3&per_page=100", "Authorization", "Bearer x")
	if resp.StatusCode != 200 || resp.Header.Get("Link") != `<`+base+`?page=2&per_page=100>; rel="prev", <`+base+`?page=4&per_page=100>; rel="next", <`+base+`?page=4&per_page=100>; rel="last", <`+base+`?page=1&per_page=100>; rel="first"` {
		t.Fatalf("page 3: %d, Link %q", resp.StatusCode, resp.Header.Get("Link"))
	}
	resp, _ = get(t, base+"?page=4&per_page=100", "Authorization", "Bearer x")
	if resp.StatusCode != 422 {
		t.Fatalf("page 4: %d, want 422", resp.StatusCode)
	}
	srv.SetRateLimit(0, now.Add(time.Minute))
	resp, _ = get(t, base+"?per_page=100", "Authorization", "Bearer x")
	if resp.StatusCode != 403 || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("exhausted: %d, want 403 with remaining 0", resp.StatusCode)
	}
	srv.Push(githubtest.RetryAfter(2, 429, "5"), githubtest.ServerError(0))
	resp, _ = get(t, base+"?per_page=100") // not page 2: the 500 is used, the 429 kept
	if resp.StatusCode != 500 || srv.PendingReplies() != 1 {
		t.Fatalf("scripted: %d with %d replies left; want 500 and 1", resp.StatusCode, srv.PendingReplies())
	}
	reqs := srv.Requests()
	if len(reqs) != 6 || reqs[4].Status != 403 || reqs[5].Status != 500 || reqs[5].Page != 1 || reqs[2].Page != 3 {
		t.Fatalf("requests recorded: %+v", reqs)
	}
}

// Each scripted fault makes Go's HTTP client fail to read the body (the
// client asks for gzip and decompresses it itself, as ghevents' does),
// while an honest gzip answer reads back as the page.
func TestBrokenAnswers(t *testing.T) {
	t.Parallel()
	page := githubtest.EventsPages(t)[9] // the smallest page, 20 kB
	cases := []struct {
		name  string
		reply githubtest.Reply
		ok    bool
	}{
		{"honest gzip", githubtest.Gzip(1, githubtest.GzipHonest), true},
		{"gzip longer than its Content-Length", githubtest.Gzip(1, githubtest.GzipLongerThanSaid), false},
		{"gzip shorter than its Content-Length", githubtest.Gzip(1, githubtest.GzipShorterThanSaid), false},
		{"gzip with a bad CRC-32", githubtest.Gzip(1, githubtest.GzipBadChecksum), false},
		{"gzip with a bad length", githubtest.Gzip(1, githubtest.GzipBadLength), false},
		{"gzip cut half way", githubtest.Gzip(1, githubtest.GzipTruncated), false},
		{"reset mid-body", githubtest.ResetMidBody(1), false},
	}
	for _, c := range cases {
		srv := githubtest.NewServer(t, githubtest.Options{Pages: [][]byte{page}})
		srv.Push(c.reply)
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get(srv.EventsURL().String())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if c.ok != (err == nil) || (c.ok && string(body) != string(page)) {
			t.Errorf("%s: read %d bytes, error %v", c.name, len(body), err)
		}
	}

	// A body slower than the client's timeout: the client gives up in time.
	srv := githubtest.NewServer(t, githubtest.Options{Pages: [][]byte{page}})
	srv.Push(githubtest.SlowBody(1, 50*time.Millisecond))
	client := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	resp, err := client.Get(srv.EventsURL().String())
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("slow body: error %v after %v", err, time.Since(start))
	}
}
