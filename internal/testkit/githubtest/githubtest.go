// Package githubtest is a fake GitHub Events API for tests: it serves pages
// of events (the real recorded ones, by default) with GitHub's headers (Link,
// ETag, X-Poll-Interval, X-RateLimit-*), answers If-None-Match with 304,
// refuses pages past its pagination limit with 422, enforces a rate limit,
// and can be scripted request by request (errors, Retry-After, secondary
// limits, bodies that are not JSON, slow answers). It records every request
// it receives.
package githubtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server. The zero value serves no pages.
type Options struct {
	// Pages are the bodies of pages 1, 2, ... (JSON arrays of events).
	Pages [][]byte
	// MaxPages is the pagination limit: a request for a deeper page gets
	// 422, while the last allowed page still links to the next one (as
	// GitHub does). 0 means len(Pages), and the last page has no next link.
	MaxPages int
	// PollInterval is sent as X-Poll-Interval, in seconds; 0 sends 60 (as
	// GitHub does) and -1 sends none.
	PollInterval int
	// RateLimit is the number of requests per window (0: 5000 with an
	// Authorization header, 60 without, as GitHub gives).
	RateLimit int
	// Now is the clock of the rate-limit window (default time.Now).
	Now func() time.Time
	// Feeds are the pages of other feeds by path, such as
	// "/repos/owner/name/events" or "/orgs/login/events" (a watched
	// repository, organisation or user); Pages serve every other path.
	// All feeds share the server's rate limit, as they share a token.
	Feeds map[string][][]byte
}

// Reply is a scripted answer to one request, used instead of the normal one.
type Reply struct {
	// Page restricts the reply to a request for this page (0: any page).
	Page int
	// Status is the status to answer; 0 serves the normal answer (after
	// Delay, with Header applied).
	Status int
	// Header fields are set on the answer; an empty value removes the field.
	Header map[string]string
	// Body is the body of a Status answer.
	Body string
	// Delay holds the answer back this long (real time), for timeouts.
	Delay time.Duration
	// Write, when set, sends the answer instead of the server: it gets the
	// status, header and body the server would send (Status, Header and
	// Body applied) and may send them any way: slowly, cut short, with a
	// lying Content-Length or encoding. See ResetMidBody, Gzip, SlowBody.
	Write func(w http.ResponseWriter, r *http.Request, status int, header http.Header, body []byte)
}

// Request is what the server received.
type Request struct {
	Method string
	// URL is the path and query.
	URL string
	// Page is the page asked for (1 when there is no page parameter).
	Page   int
	Header http.Header
	// Status is what the server answered.
	Status int
	// Received is when the request arrived; Answered when its answer was
	// written (zero when none was). Real time, whatever Options.Now is.
	Received, Answered time.Time
	// At is Options.Now when the request arrived (the fake clock's time).
	At time.Time
}

// Server is the fake Events API; its EventsURL ends in /events.
type Server struct {
	srv *httptest.Server

	mu           sync.Mutex
	pages        [][]byte
	etags        []string
	feeds        map[string]feedPages
	maxPages     int
	pollInterval int
	limit        int
	remaining    int
	reset        time.Time
	now          func() time.Time
	replies      []Reply
	requests     []Request
}

// NewServer starts a fake Events API, closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		maxPages:     opts.MaxPages,
		pollInterval: opts.PollInterval,
		limit:        opts.RateLimit,
		remaining:    -1, // set on the first request
		now:          opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.setPages(opts.Pages)
	s.feeds = map[string]feedPages{}
	for path, pages := range opts.Feeds {
		s.feeds[path] = newFeedPages(pages)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// EventsURL is the URL of the Events API.
func (s *Server) EventsURL() *url.URL {
	u, _ := url.Parse(s.srv.URL + "/events")
	return u
}

// SetPages replaces the feed: the next requests see these pages.
func (s *Server) SetPages(pages ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPages(pages)
}

func (s *Server) setPages(pages [][]byte) {
	s.pages = pages
	s.etags = make([]string, len(pages))
	for i, p := range pages {
		s.etags[i] = ETag(p)
	}
}

// feedPages are the pages of one feed and their ETags.
type feedPages struct {
	pages [][]byte
	etags []string
}

func newFeedPages(pages [][]byte) feedPages {
	f := feedPages{pages: pages, etags: make([]string, len(pages))}
	for i, p := range pages {
		f.etags[i] = ETag(p)
	}
	return f
}

// SetFeedPages replaces the pages of the feed at path (see Options.Feeds).
func (s *Server) SetFeedPages(path string, pages ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feeds[path] = newFeedPages(pages)
}

// pagesFor are the pages and ETags served at path. s.mu is held.
func (s *Server) pagesFor(path string) ([][]byte, []string) {
	if f, ok := s.feeds[path]; ok {
		return f.pages, f.etags
	}
	return s.pages, s.etags
}

// ETag is the weak ETag the server gives a page body.
func ETag(body []byte) string {
	sum := md5.Sum(body)
	return `W/"` + hex.EncodeToString(sum[:]) + `"`
}

// SetRateLimit sets what is left of the current window and when it renews.
func (s *Server) SetRateLimit(remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == 0 {
		s.limit = max(remaining, 60)
	}
	s.remaining, s.reset = remaining, reset
}

// Push queues scripted replies; each is used once, by the first request
// it matches, in order.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// PendingReplies is how many scripted replies are still unused.
func (s *Server) PendingReplies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.replies)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	page := 1
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			http.Error(w, `{"message":"bad page"}`, http.StatusBadRequest)
			return
		}
		page = n
	}

	s.mu.Lock()
	now := s.now()
	authorized := r.Header.Get("Authorization") != ""
	if s.limit == 0 {
		s.limit = 60
		if authorized {
			s.limit = 5000
		}
	}
	if s.remaining < 0 || !now.Before(s.reset) {
		s.remaining, s.reset = s.limit, now.Add(time.Hour).Truncate(time.Second)
	}
	var reply *Reply
	for i, rep := range s.replies {
		if rep.Page == 0 || rep.Page == page {
			reply = &rep
			s.replies = append(s.replies[:i:i], s.replies[i+1:]...)
			break
		}
	}
	rec := Request{Method: r.Method, URL: r.URL.RequestURI(), Page: page, Header: r.Header.Clone(), Received: time.Now(), At: now}
	idx := len(s.requests)
	s.requests = append(s.requests, rec)
	s.mu.Unlock()

	if reply != nil && reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			s.setStatus(idx, 0)
			return
		}
	}

	s.mu.Lock()
	status, header, body := s.answer(r, page, reply)
	s.requests[idx].Status = status
	s.mu.Unlock()

	for k, v := range header {
		w.Header()[k] = v
	}
	if reply != nil {
		for k, v := range reply.Header {
			if v == "" {
				w.Header().Del(k)
			} else {
				w.Header().Set(k, v)
			}
		}
		if reply.Write != nil {
			reply.Write(w, r, status, w.Header(), body)
			return
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	s.mu.Lock()
	s.requests[idx].Answered = time.Now()
	s.mu.Unlock()
}

func (s *Server) setStatus(idx, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[idx].Status = status
}

// answer builds the normal answer, or the scripted one. s.mu is held.
func (s *Server) answer(r *http.Request, page int, reply *Reply) (int, http.Header, []byte) {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	switch {
	case s.pollInterval == 0:
		h.Set("X-Poll-Interval", "60")
	case s.pollInterval > 0:
		h.Set("X-Poll-Interval", strconv.Itoa(s.pollInterval))
	}
	rate := func() {
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
		h.Set("X-RateLimit-Used", strconv.Itoa(s.limit-s.remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}

	if reply != nil && reply.Status != 0 {
		rate()
		if reply.Status >= 300 && reply.Status != http.StatusNotModified {
			// Error answers carry no X-Poll-Interval in GitHub's answers.
			h.Del("X-Poll-Interval")
		}
		return reply.Status, h, []byte(reply.Body)
	}

	if s.remaining <= 0 {
		rate()
		h.Del("X-Poll-Interval")
		return http.StatusForbidden, h, []byte(`{"message":"API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
	}

	pages, etags := s.pagesFor(r.URL.Path)
	maxPages := s.maxPages
	if maxPages == 0 {
		maxPages = len(pages)
	}
	if page > maxPages || page > len(pages) {
		s.remaining--
		rate()
		h.Del("X-Poll-Interval")
		return http.StatusUnprocessableEntity, h, []byte(`{"message":"In order to keep the API fast for everyone, pagination is limited for this resource.","documentation_url":"https://docs.github.com/v3/#pagination"}`)
	}

	etag := etags[page-1]
	h.Set("ETag", etag)
	if page == 1 && etagMatches(r.Header.Get("If-None-Match"), etag) {
		// A 304 does not count against the rate limit.
		rate()
		h.Del("Content-Type")
		return http.StatusNotModified, h, nil
	}
	s.remaining--
	rate()
	last := maxPages
	if s.maxPages == 0 {
		last = len(pages)
	}
	if link := s.link(r.URL, page, last); link != "" {
		h.Set("Link", link)
	}
	return http.StatusOK, h, pages[page-1]
}

// link is GitHub's Link header: prev, next, last, first, in that order.
// The page at the pagination limit still links to the next one.
func (s *Server) link(u *url.URL, page, last int) string {
	at := func(n int) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		return s.srv.URL + u.Path + "?" + q.Encode()
	}
	var parts []string
	if page > 1 {
		parts = append(parts, fmt.Sprintf(`<%s>; rel="prev"`, at(page-1)))
	}
	hasNext := page < last || (s.maxPages > 0 && page == s.maxPages)
	if hasNext {
		parts = append(parts, fmt.Sprintf(`<%s>; rel="next"`, at(page+1)), fmt.Sprintf(`<%s>; rel="last"`, at(max(last, page+1))))
	}
	if page > 1 {
		parts = append(parts, fmt.Sprintf(`<%s>; rel="first"`, at(1)))
	}
	return strings.Join(parts, ", ")
}

// etagMatches is the weak comparison of If-None-Match (RFC 9110 13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	weak := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for c := range strings.SplitSeq(header, ",") {
		if strings.TrimSpace(c) == "*" || weak(c) == weak(etag) {
			return true
		}
	}
	return false
}

// Scripted replies for the usual faults.

// ServerError answers 500 to a request for page (0: any).
func ServerError(page int) Reply {
	return Reply{Page: page, Status: http.StatusInternalServerError, Body: `{"message":"Server Error"}`}
}

// RetryAfter answers status (403 or 429) with Retry-After: value.
func RetryAfter(page, status int, value string) Reply {
	return Reply{Page: page, Status: status, Header: map[string]string{"Retry-After": value},
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
}

// SecondaryLimit answers 403 for a secondary rate limit, without Retry-After.
func SecondaryLimit(page int) Reply {
	return Reply{Page: page, Status: http.StatusForbidden,
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
}

// NotJSON answers 200 with an HTML error page, as proxies do.
func NotJSON(page int) Reply {
	return Reply{Page: page, Status: http.StatusOK, Header: map[string]string{"Content-Type": "text/html"},
		Body: "<html><body><h1>Unicorn!</h1>This page is taking too long to load.</body></html>"}
}

// Slow holds the normal answer to page back for d (real time).
func Slow(page int, d time.Duration) Reply { return Reply{Page: page, Delay: d} }

// ResetMidBody sends the normal answer's status and headers (with the
// whole body's Content-Length), half of the body, then resets the
// connection (TCP RST), as a crashed proxy or a broken network does.
func ResetMidBody(page int) Reply {
	return Reply{Page: page, Write: func(w http.ResponseWriter, _ *http.Request, status int, h http.Header, body []byte) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(fmt.Sprintf("githubtest: hijack: %v", err))
		}
		defer func() {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
		}()
		h.Set("Content-Length", strconv.Itoa(len(body)))
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		_ = h.Write(buf)
		_, _ = buf.WriteString("\r\n")
		_, _ = buf.Write(body[:len(body)/2])
		_ = buf.Flush()
	}}
}

// GzipLie says how Gzip misrepresents a page.
type GzipLie int

// The lies Gzip can tell.
const (
	// GzipHonest tells no lie: a well-formed gzip answer.
	GzipHonest GzipLie = iota
	// GzipLongerThanSaid: Content-Length is half the gzip stream; only
	// that much is sent.
	GzipLongerThanSaid
	// GzipShorterThanSaid: Content-Length is twice the gzip stream; the
	// connection closes after the stream.
	GzipShorterThanSaid
	// GzipBadChecksum: the stream's CRC-32 trailer is wrong.
	GzipBadChecksum
	// GzipBadLength: the stream's ISIZE trailer (the length of the
	// uncompressed body) is wrong.
	GzipBadLength
	// GzipTruncated: the stream stops half way, and Content-Length says so.
	GzipTruncated
)

// Gzip sends the normal answer gzip-compressed (Content-Encoding: gzip),
// with the lie told (GzipHonest: none).
func Gzip(page int, lie GzipLie) Reply {
	return Reply{Page: page, Write: func(w http.ResponseWriter, _ *http.Request, status int, h http.Header, body []byte) {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(body)
		_ = zw.Close()
		gz := z.Bytes()
		length := len(gz)
		switch lie {
		case GzipLongerThanSaid:
			length = len(gz) / 2
		case GzipShorterThanSaid:
			length = 2 * len(gz)
		case GzipBadChecksum:
			gz[len(gz)-8] ^= 0xff
		case GzipBadLength:
			gz[len(gz)-4] ^= 0xff
		case GzipTruncated:
			gz = gz[:len(gz)/2]
			length = len(gz)
		}
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(length))
		w.WriteHeader(status)
		// With GzipLongerThanSaid the server refuses the bytes past
		// Content-Length; with GzipShorterThanSaid it closes the
		// connection when the handler returns.
		if length < len(gz) {
			_, _ = w.Write(gz[:length])
			_, _ = w.Write(gz[length:])
			return
		}
		_, _ = w.Write(gz)
	}}
}

// SlowBody sends the normal answer's status and headers at once, then the
// body one byte every interval (real time), until it is sent or the
// client goes away.
func SlowBody(page int, interval time.Duration) Reply {
	return Reply{Page: page, Write: func(w http.ResponseWriter, r *http.Request, status int, h http.Header, body []byte) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := range body {
			if _, err := w.Write(body[i : i+1]); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		}
	}}
}

// Recorded data.

// RecordedResponse is one line of testdata/github/api-responses-recorded.jsonl.
type RecordedResponse struct {
	Source     string          `json:"source"`
	Method     string          `json:"method"`
	URL        string          `json:"url"`
	Status     int             `json:"status"`
	RecordedAt string          `json:"recorded_at"`
	Headers    [][2]string     `json:"headers"`
	Body       json.RawMessage `json:"body"`
}

// RecordedFile is the path of the recorded responses.
func RecordedFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "github", "api-responses-recorded.jsonl")
}

var recorded struct {
	once      sync.Once
	responses []RecordedResponse
	err       error
}

// LoadRecorded reads every recorded response, in file order (the file is
// read once per test binary; each caller gets its own copy).
func LoadRecorded(t testing.TB) []RecordedResponse {
	t.Helper()
	recorded.once.Do(func() { recorded.responses, recorded.err = readRecorded(RecordedFile()) })
	if recorded.err != nil {
		t.Fatalf("recorded responses: %v", recorded.err)
	}
	out := make([]RecordedResponse, len(recorded.responses))
	for i, r := range recorded.responses {
		r.Headers = append([][2]string(nil), r.Headers...)
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

func readRecorded(path string) ([]RecordedResponse, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []RecordedResponse
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var r RecordedResponse
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(out)+1, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// EventsPages are the bodies of the recorded 10-page walk of GET /events
// (2019), in page order: 281 events, 155 distinct (pages 2 and 3 are the
// same page).
func EventsPages(t testing.TB) [][]byte { return pagesOf(t, "/events") }

// UserPages are the bodies of the recorded 8-page walk of a user's public
// events (2023), in page order: 227 events, all distinct.
func UserPages(t testing.TB) [][]byte { return pagesOf(t, "/events/public") }

// AllPages are EventsPages then UserPages: 18 pages, 508 events, 382 distinct.
func AllPages(t testing.TB) [][]byte { return append(EventsPages(t), UserPages(t)...) }

func pagesOf(t testing.TB, suffix string) [][]byte {
	t.Helper()
	type numbered struct {
		n    int
		body []byte
	}
	var pages []numbered
	for _, r := range LoadRecorded(t) {
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Fatalf("recorded URL %q: %v", r.URL, err)
		}
		if !strings.HasSuffix(u.Path, suffix) || (suffix == "/events" && strings.HasSuffix(u.Path, "/public")) {
			continue
		}
		n := 1
		if v := u.Query().Get("page"); v != "" {
			n, _ = strconv.Atoi(v)
		}
		pages = append(pages, numbered{n, bytes.Clone(r.Body)})
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i].n < pages[j].n })
	out := make([][]byte, len(pages))
	for i, p := range pages {
		out[i] = p.body
	}
	return out
}

// Identity is an event's identity: its id and created_at, as sent.
type Identity struct {
	ID        string
	CreatedAt string
}

// Identities lists the identities of the events in pages, read with
// encoding/json (independently of the decoder under test), each once, and
// the total number of events.
func Identities(t testing.TB, pages ...[]byte) (distinct map[Identity]bool, total int) {
	t.Helper()
	distinct = map[Identity]bool{}
	for i, p := range pages {
		var events []struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
		}
		if err := json.Unmarshal(p, &events); err != nil {
			t.Fatalf("page %d is not a JSON array of events: %v", i+1, err)
		}
		for _, e := range events {
			distinct[Identity{e.ID, e.CreatedAt}] = true
		}
		total += len(events)
	}
	return distinct, total
}
