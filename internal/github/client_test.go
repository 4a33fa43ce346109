package github_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
)

const token = "ghp_TESTTOKEN0123456789abcdefghijklmnop"

func newClient(t *testing.T, u *url.URL, tok string, mod ...func(*github.ClientConfig)) *github.Client {
	t.Helper()
	cfg := github.ClientConfig{EventsURL: *u, Token: tok, Version: "1.2.3", Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := github.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientSendsGitHubsHeadersAndReadsTheAnswer(t *testing.T) {
	t.Parallel()
	pages := githubtest.EventsPages(t)
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages[:3]})
	c := newClient(t, srv.EventsURL(), token)
	ctx := context.Background()

	first := c.FirstPageURL()
	if want := srv.URL() + "/events?per_page=100"; first != want {
		t.Fatalf("FirstPageURL = %q, want %q", first, want)
	}
	p, err := c.Fetch(ctx, first, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.StatusCode != 200 || p.NotModified || !bytes.Equal(p.Body, pages[0]) || p.ETag != githubtest.ETag(pages[0]) {
		t.Fatalf("page 1: status %d, not modified %v, body equal %v, ETag %q (want %q)", p.StatusCode, p.NotModified, bytes.Equal(p.Body, pages[0]), p.ETag, githubtest.ETag(pages[0]))
	}
	if want := srv.URL() + "/events?page=2&per_page=100"; p.Next != want || p.LinkErr != nil {
		t.Fatalf("Next = %q (%v), want %q", p.Next, p.LinkErr, want)
	}
	if p.PollInterval != time.Minute || p.Rate.Limit != 5000 || p.Rate.Remaining != 4999 || p.Rate.Resource != "core" {
		t.Fatalf("poll interval %v, rate %+v; want 1m, 5000/4999 core", p.PollInterval, p.Rate)
	}

	p2, err := c.Fetch(ctx, p.Next, "")
	if err != nil {
		t.Fatal(err)
	}
	p3, err := c.Fetch(ctx, p2.Next, "")
	if err != nil {
		t.Fatal(err)
	}
	if p3.Next != "" || p3.Rate.Remaining != 4997 || !bytes.Equal(p3.Body, pages[2]) {
		t.Fatalf("page 3: next %q, remaining %d; want no next, 4997", p3.Next, p3.Rate.Remaining)
	}

	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("server got %d requests, want 3", len(reqs))
	}
	wantURLs := []string{"/events?per_page=100", "/events?page=2&per_page=100", "/events?page=3&per_page=100"}
	for i, r := range reqs {
		if r.URL != wantURLs[i] {
			t.Errorf("request %d: URL %q, want %q", i+1, r.URL, wantURLs[i])
		}
		for k, want := range map[string]string{
			"User-Agent":           "ghevents/1.2.3",
			"Accept":               "application/vnd.github+json",
			"X-Github-Api-Version": "2022-11-28",
			"Authorization":        "Bearer " + token,
			"If-None-Match":        "",
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("request %d: %s = %q, want %q", i+1, k, got, want)
			}
		}
	}

	// The token stays out of every printed form of the client.
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c)} {
		if strings.Contains(s, token) || strings.Contains(s, "TESTTOKEN") {
			t.Fatalf("client printed with its token: %s", s)
		}
	}
}

func TestClientWithoutTokenSendsNoAuthorization(t *testing.T) {
	t.Parallel()
	srv := githubtest.NewServer(t, githubtest.Options{Pages: githubtest.EventsPages(t)[:1]})
	c := newClient(t, srv.EventsURL(), "", func(cfg *github.ClientConfig) { cfg.Version = "" })
	p, err := c.Fetch(context.Background(), c.FirstPageURL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate.Limit != 60 || p.Rate.Remaining != 59 {
		t.Fatalf("rate %+v, want the unauthenticated 60/59", p.Rate)
	}
	r := srv.Requests()[0]
	if _, ok := r.Header["Authorization"]; ok || r.Header.Get("User-Agent") != "ghevents/dev" {
		t.Fatalf("headers %v: want no Authorization and User-Agent ghevents/dev", r.Header)
	}
}

func TestClientConditionalRequest(t *testing.T) {
	t.Parallel()
	pages := githubtest.EventsPages(t)[:1]
	srv := githubtest.NewServer(t, githubtest.Options{Pages: pages})
	c := newClient(t, srv.EventsURL(), token)
	ctx := context.Background()
	p, err := c.Fetch(ctx, c.FirstPageURL(), "")
	if err != nil {
		t.Fatal(err)
	}
	nm, err := c.Fetch(ctx, c.FirstPageURL(), p.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if !nm.NotModified || nm.StatusCode != 304 || nm.Body != nil || nm.ETag != p.ETag {
		t.Fatalf("second fetch: %+v; want a 304 with the same ETag and no body", nm)
	}
	// A 304 costs nothing.
	if nm.Rate.Remaining != p.Rate.Remaining {
		t.Fatalf("remaining %d after the 304, want %d", nm.Rate.Remaining, p.Rate.Remaining)
	}
	if got := srv.Requests()[1].Header.Get("If-None-Match"); got != p.ETag {
		t.Fatalf("If-None-Match = %q, want %q", got, p.ETag)
	}
	// Another ETag: the page is served.
	again, err := c.Fetch(ctx, c.FirstPageURL(), `W/"something-else"`)
	if err != nil || again.NotModified {
		t.Fatalf("fetch with a stale ETag: %+v, %v; want the page", again, err)
	}
}

func TestClientErrorAnswers(t *testing.T) {
	t.Parallel()
	srv := githubtest.NewServer(t, githubtest.Options{Pages: githubtest.EventsPages(t), MaxPages: 3})
	c := newClient(t, srv.EventsURL(), token)
	ctx := context.Background()
	page := func(n int) string { return fmt.Sprintf("%s?page=%d&per_page=100", srv.EventsURL(), n) }

	// 422 past the pagination limit.
	_, err := c.Fetch(ctx, page(4), "")
	var se *github.StatusError
	if !errors.As(err, &se) || se.StatusCode != 422 || !github.IsPaginationLimit(err) ||
		se.Message != "In order to keep the API fast for everyone, pagination is limited for this resource." {
		t.Fatalf("page 4: %v; want the 422 pagination limit", err)
	}

	srv.Push(githubtest.ServerError(1))
	_, err = c.Fetch(ctx, page(1), "")
	if !errors.As(err, &se) || se.Kind() != github.KindServer || se.Message != "Server Error" {
		t.Fatalf("500: %v", err)
	}
	if want := "GET " + page(1) + ": 500 Internal Server Error: Server Error"; err.Error() != want {
		t.Fatalf("error text %q, want %q", err.Error(), want)
	}

	srv.Push(githubtest.RetryAfter(1, 429, "42"))
	_, err = c.Fetch(ctx, page(1), "")
	if !errors.As(err, &se) || se.Kind() != github.KindRetryAfter || se.RetryAfter != 42*time.Second {
		t.Fatalf("429: %v (%+v)", err, se)
	}

	srv.Push(githubtest.SecondaryLimit(0))
	_, err = c.Fetch(ctx, page(2), "")
	if !errors.As(err, &se) || se.Kind() != github.KindSecondary || se.HasRetryAfter {
		t.Fatalf("secondary: %v (%+v)", err, se)
	}

	// A 200 that is not JSON is the caller's to judge: the client returns it.
	srv.Push(githubtest.NotJSON(1))
	p, err := c.Fetch(ctx, page(1), "")
	if err != nil || !strings.HasPrefix(string(p.Body), "<html>") {
		t.Fatalf("HTML page: %v", err)
	}
}

func TestClientPrimaryRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Now()
	srv := githubtest.NewServer(t, githubtest.Options{Pages: githubtest.EventsPages(t)})
	srv.SetRateLimit(1, now.Add(time.Hour))
	c := newClient(t, srv.EventsURL(), token)
	p, err := c.Fetch(context.Background(), c.FirstPageURL(), "")
	if err != nil || p.Rate.Remaining != 0 || !p.Rate.Exhausted() {
		t.Fatalf("last request of the window: %+v, %v", p, err)
	}
	_, err = c.Fetch(context.Background(), p.Next, "")
	var se *github.StatusError
	if !errors.As(err, &se) || se.StatusCode != 403 || se.Kind() != github.KindRateLimit ||
		!se.Rate.Reset.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("past the limit: %v (%+v)", err, se)
	}
}

func TestClientTimeoutAndBodyLimit(t *testing.T) {
	t.Parallel()
	srv := githubtest.NewServer(t, githubtest.Options{Pages: githubtest.EventsPages(t)[:1]})
	c := newClient(t, srv.EventsURL(), token, func(cfg *github.ClientConfig) { cfg.Timeout = 100 * time.Millisecond })
	srv.Push(githubtest.Slow(1, 3*time.Second))
	start := time.Now()
	_, err := c.Fetch(context.Background(), c.FirstPageURL(), "")
	var re *github.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("slow answer: %v, want a RequestError", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("timed out after %v, want about 100ms", el)
	}

	small := newClient(t, srv.EventsURL(), token, func(cfg *github.ClientConfig) { cfg.MaxBodyBytes = 1000 })
	if _, err := small.Fetch(context.Background(), small.FirstPageURL(), ""); !errors.Is(err, github.ErrBodyTooLarge) {
		t.Fatalf("big body: %v, want ErrBodyTooLarge", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Fetch(ctx, c.FirstPageURL(), ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v, want context.Canceled", err)
	}
}

// The token is only ever sent to the events URL's origin.
func TestClientStaysOnItsOrigin(t *testing.T) {
	t.Parallel()
	var elsewhere []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = append(elsewhere, r.Header.Clone())
		_, _ = w.Write([]byte("[]"))
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "":
			w.Header().Set("Link", fmt.Sprintf(`<%s/events?page=2>; rel="next"`, other.URL))
			_, _ = w.Write([]byte("[]"))
		case "redirect":
			http.Redirect(w, r, other.URL+"/events", http.StatusFound)
		}
	}))
	defer home.Close()
	u, _ := url.Parse(home.URL + "/events")
	c := newClient(t, u, token)
	ctx := context.Background()

	p, err := c.Fetch(ctx, c.FirstPageURL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Next != "" || !errors.Is(p.LinkErr, github.ErrForeignURL) {
		t.Fatalf("foreign next link: Next %q, LinkErr %v; want none and ErrForeignURL", p.Next, p.LinkErr)
	}
	if _, err := c.Fetch(ctx, other.URL+"/events?page=2", ""); !errors.Is(err, github.ErrForeignURL) {
		t.Fatalf("fetch elsewhere: %v, want ErrForeignURL", err)
	}
	if _, err := c.Fetch(ctx, home.URL+"/events?page=redirect", ""); !errors.Is(err, github.ErrForeignURL) {
		t.Fatalf("redirect elsewhere: %v, want ErrForeignURL", err)
	}
	if len(elsewhere) != 0 {
		t.Fatalf("the other server got %d requests, want none", len(elsewhere))
	}
}

func TestNewClientRefusesBadURL(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"ftp://x/events", "/events", "https:///events"} {
		u, _ := url.Parse(s)
		if _, err := github.NewClient(github.ClientConfig{EventsURL: *u}); err == nil {
			t.Errorf("NewClient(%q) accepted it", s)
		}
	}
}
