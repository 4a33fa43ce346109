package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// What every request says about itself, as GitHub asks
// (https://docs.github.com/rest/using-the-rest-api/getting-started-with-the-rest-api).
const (
	// MediaType is sent as Accept.
	MediaType = "application/vnd.github+json"
	// APIVersion is sent as X-GitHub-Api-Version.
	APIVersion = "2022-11-28"
	// PerPage is asked for on the first page of a round (GitHub's maximum).
	PerPage = 100
	// DefaultTimeout bounds one request, body included.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBodyBytes bounds a page body (a page of 100 events is well
	// under 1 MiB).
	DefaultMaxBodyBytes = 32 << 20
	// maxErrorBodyBytes bounds what is read of an error response.
	maxErrorBodyBytes = 64 << 10
)

// ErrBodyTooLarge is returned when a response body exceeds the limit.
var ErrBodyTooLarge = errors.New("response body too large")

// ErrForeignURL is returned for a page URL on another origin than the
// events URL: the token is never sent elsewhere.
var ErrForeignURL = errors.New("URL is not on the events URL's origin (scheme, host and port)")

// ClientConfig configures a Client.
type ClientConfig struct {
	// EventsURL is the Events API endpoint (GITHUB_EVENTS_URL).
	EventsURL url.URL
	// Token, when not empty, is sent as "Authorization: Bearer <token>". It is
	// kept out of every log line, error and String form of the client.
	Token string
	// Version is this build's version, sent as "User-Agent: ghevents/<version>".
	Version string
	// HTTPClient sends the requests; nil means NewHTTPClient(Timeout).
	HTTPClient *http.Client
	// Timeout bounds one request, body included (default DefaultTimeout);
	// used only when HTTPClient is nil.
	Timeout time.Duration
	// MaxBodyBytes bounds a page body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Now is the clock used to read Retry-After dates (default time.Now).
	Now func() time.Time
}

// Client fetches pages of the Events API. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	events    *url.URL
	userAgent string
	// authorize sets the Authorization header; a function so that no field
	// holds the token (fmt prints unexported fields raw).
	authorize func(http.Header)
	maxBody   int64
	now       func() time.Time
}

// NewHTTPClient returns an HTTP client whose every phase has a timeout, and
// which refuses redirects to another origin.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: sameOriginRedirects}
}

// sameOriginRedirects follows at most 5 redirects, all on the first
// request's origin.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if !sameOrigin(req.URL, via[0].URL) {
		return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), ErrForeignURL)
	}
	return nil
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	u := cfg.EventsURL
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("events URL %q: expected an absolute http(s) URL", u.Redacted())
	}
	c := &Client{
		http:      cfg.HTTPClient,
		events:    &u,
		userAgent: "ghevents/" + cmp.Or(cfg.Version, "dev"),
		authorize: func(http.Header) {},
		maxBody:   cfg.MaxBodyBytes,
		now:       cfg.Now,
	}
	if c.http == nil {
		c.http = NewHTTPClient(cfg.Timeout)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	if token := strings.TrimSpace(cfg.Token); token != "" {
		c.authorize = func(h http.Header) { h.Set("Authorization", "Bearer "+token) }
	}
	return c, nil
}

// EventsURL returns the events URL with any password hidden, to name the
// feed in logs and in the stored polling state.
func (c *Client) EventsURL() string { return c.events.Redacted() }

// FirstPageURL is the first page of a round: the events URL with
// per_page=100 (other query parameters kept).
func (c *Client) FirstPageURL() string {
	u := *c.events
	q := u.Query()
	q.Set("per_page", strconv.Itoa(PerPage))
	q.Del("page")
	u.RawQuery = q.Encode()
	return u.String()
}

// Page is one successful answer of the Events API: 200 with a body, or 304.
type Page struct {
	// URL is the page's URL (any password hidden).
	URL string
	// StatusCode is 200 or 304.
	StatusCode int
	// NotModified is set for a 304 answer to If-None-Match: nothing new.
	NotModified bool
	// Body is the page body (nil for 304).
	Body []byte
	// ETag is the ETag header as sent (weak ones keep their W/ prefix).
	ETag string
	// Next is the absolute URL of the Link rel="next" target; empty when
	// there is none, or when LinkErr is set.
	Next string
	// LinkErr says why a Link header could not be used (malformed, or
	// pointing at another origin); the page itself is fine.
	LinkErr error
	// PollInterval is X-Poll-Interval; 0 when absent or malformed.
	PollInterval time.Duration
	// Rate is what the x-ratelimit-* headers said.
	Rate RateLimit
}

// Kind classifies a StatusError.
type Kind int

// The kinds of error answers.
const (
	// KindServer: 5xx; retry with backoff.
	KindServer Kind = iota
	// KindRetryAfter: any status with a usable Retry-After.
	KindRetryAfter
	// KindRateLimit: 403 or 429 with x-ratelimit-remaining 0 (primary limit).
	KindRateLimit
	// KindSecondary: 403 or 429 otherwise (secondary rate limit, abuse detection).
	KindSecondary
	// KindPaginationLimit: 422, "pagination is limited for this resource".
	KindPaginationLimit
	// KindClient: any other 4xx (bad credentials, not found...).
	KindClient
)

// StatusError is an answer other than 200 or 304.
type StatusError struct {
	// URL is the page's URL (any password hidden).
	URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is GitHub's "message" (or the start of the body), shortened.
	Message string
	// RetryAfter is the Retry-After header's wait, valid when HasRetryAfter.
	RetryAfter    time.Duration
	HasRetryAfter bool
	// Rate is what the x-ratelimit-* headers said.
	Rate RateLimit
	// PollInterval is X-Poll-Interval; 0 when absent or malformed.
	PollInterval time.Duration
}

// Kind classifies the answer; see the Kind constants.
func (e *StatusError) Kind() Kind {
	switch {
	case e.HasRetryAfter:
		return KindRetryAfter
	case (e.StatusCode == http.StatusForbidden || e.StatusCode == http.StatusTooManyRequests) && e.Rate.Exhausted():
		return KindRateLimit
	case e.StatusCode == http.StatusForbidden || e.StatusCode == http.StatusTooManyRequests:
		return KindSecondary
	case e.StatusCode == http.StatusUnprocessableEntity:
		return KindPaginationLimit
	case e.StatusCode >= 500:
		return KindServer
	default:
		return KindClient
	}
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// IsPaginationLimit reports whether err is GitHub's 422 refusal to serve a
// page this deep: the end of a round, not a failure.
func IsPaginationLimit(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Kind() == KindPaginationLimit
}

// RequestError is a request that got no usable answer: a connection error,
// a timeout, a body cut short or too large.
type RequestError struct {
	URL string
	Err error
}

func (e *RequestError) Error() string { return "GET " + e.URL + ": " + e.Err.Error() }

func (e *RequestError) Unwrap() error { return e.Err }

// Fetch gets one page. etag, when not empty, is sent as If-None-Match (use
// it on the first page only). pageURL must be on the events URL's origin.
//
// Errors: ctx's error when ctx ends; *StatusError for answers other than
// 200 and 304; *RequestError for everything else.
func (c *Client) Fetch(ctx context.Context, pageURL, etag string) (*Page, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, &RequestError{URL: "(unparsable URL)", Err: errors.New("bad page URL")}
	}
	shown := u.Redacted()
	if !sameOrigin(u, c.events) {
		return nil, &RequestError{URL: shown, Err: ErrForeignURL}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &RequestError{URL: shown, Err: errors.New("cannot build request")}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", MediaType)
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	c.authorize(req.Header)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s: %w", shown, ctx.Err())
		}
		return nil, &RequestError{URL: shown, Err: unwrapURLError(err)}
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		_ = resp.Body.Close()
	}()

	rate := ParseRateLimit(resp.Header)
	poll := ParsePollInterval(resp.Header.Get("X-Poll-Interval"))
	switch resp.StatusCode {
	case http.StatusOK:
		body, err := readLimited(resp.Body, c.maxBody)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("GET %s: %w", shown, ctx.Err())
			}
			return nil, &RequestError{URL: shown, Err: err}
		}
		p := &Page{URL: shown, StatusCode: resp.StatusCode, Body: body, ETag: resp.Header.Get("ETag"), PollInterval: poll, Rate: rate}
		p.Next, p.LinkErr = NextLink(resp.Header, u)
		if p.LinkErr == nil && p.Next != "" {
			if nu, err := url.Parse(p.Next); err != nil || !sameOrigin(nu, c.events) {
				p.LinkErr = fmt.Errorf("link rel=next %s: %w", truncate(p.Next, 120), ErrForeignURL)
				p.Next = ""
			}
		}
		return p, nil
	case http.StatusNotModified:
		return &Page{URL: shown, StatusCode: resp.StatusCode, NotModified: true, ETag: resp.Header.Get("ETag"), PollInterval: poll, Rate: rate}, nil
	}
	body, _ := readLimited(resp.Body, maxErrorBodyBytes)
	return nil, newStatusError(shown, resp.StatusCode, resp.Header, body, c.now())
}

// newStatusError reads an error answer's headers and body.
func newStatusError(shownURL string, status int, h http.Header, body []byte, now time.Time) *StatusError {
	se := &StatusError{
		URL:          shownURL,
		StatusCode:   status,
		Message:      errorMessage(body),
		Rate:         ParseRateLimit(h),
		PollInterval: ParsePollInterval(h.Get("X-Poll-Interval")),
	}
	se.RetryAfter, se.HasRetryAfter = ParseRetryAfter(h.Get("Retry-After"), now)
	return se
}

// errorMessage extracts GitHub's {"message": ...}, or the start of a body
// that is not JSON, on one line.
func errorMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	s := string(body)
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		s = m.Message
	}
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	return truncate(s, 200)
}

// readLimited reads all of r, failing with ErrBodyTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrBodyTooLarge, limit)
	}
	return b, nil
}

// unwrapURLError drops the *url.Error layer, whose message repeats the
// method and URL that RequestError already gives.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sameOrigin compares scheme, host and port (default ports made explicit).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
