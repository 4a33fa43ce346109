package poller_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/poller"
	"github.com/ghevents/ghevents/internal/testkit/githubtest"
)

// GitHub misbehaving beyond what TestWaitsAndFaults covers: answers cut or
// broken on the wire, a body slower than the client timeout, an HTML page
// as the first page, and header values that are absurd in ways the other
// test does not try. Each time the poller keeps going, waits what the
// README's rules give (worked out in the comments), and stores every event
// of the three pages served.
func TestGitHubMisbehaves(t *testing.T) {
	t.Parallel()
	three := githubtest.EventsPages(t)[:3]
	backoff := poller.Wait{D: time.Second, Why: "backoff"} // first failure: 1 s (Rand = 1: the whole step)
	interval := poller.Wait{D: time.Minute, Why: poller.WhyPollInterval}
	statuses200 := []int{200, 200, 200, 200} // the broken answer is recorded with the status it started with
	type scenario struct {
		name     string
		opts     githubtest.Options
		mod      func(*poller.Config, *github.ClientConfig)
		replies  []githubtest.Reply
		waits    []poller.Wait
		statuses []int
		// within bounds the wall time of the run (real seconds).
		within time.Duration
		check  func(t *testing.T, e *env, m snapshot)
	}
	failedOnce := func(t *testing.T, _ *env, m snapshot) {
		if m.RoundsFailed != 1 || m.Rounds != 1 || m.Requests[0] != 1 || m.Requests[200] != 3 {
			t.Errorf("metrics %+v: want one failed round and one request without a status", m)
		}
	}
	retriedPage2 := func(t *testing.T, _ *env, m snapshot) {
		if m.RoundsFailed != 0 || m.Rounds != 1 || m.Requests[0] != 1 || m.PagesFetched != 3 {
			t.Errorf("metrics %+v: want page 2 retried within one round", m)
		}
	}
	cases := []scenario{
		{
			name:    "connection reset in the middle of page 1",
			replies: []githubtest.Reply{githubtest.ResetMidBody(1)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: failedOnce,
		},
		{
			name:    "connection reset in the middle of page 2",
			replies: []githubtest.Reply{githubtest.ResetMidBody(2)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: retriedPage2,
		},
		{
			name:    "an honest gzip answer is read",
			replies: []githubtest.Reply{githubtest.Gzip(1, githubtest.GzipHonest)},
			waits:   []poller.Wait{interval}, statuses: []int{200, 200, 200},
		},
		{
			name:    "gzip longer than its Content-Length",
			replies: []githubtest.Reply{githubtest.Gzip(2, githubtest.GzipLongerThanSaid)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: retriedPage2,
		},
		{
			name:    "gzip shorter than its Content-Length",
			replies: []githubtest.Reply{githubtest.Gzip(2, githubtest.GzipShorterThanSaid)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: retriedPage2,
		},
		{
			name:    "gzip whose CRC-32 is wrong",
			replies: []githubtest.Reply{githubtest.Gzip(2, githubtest.GzipBadChecksum)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: retriedPage2,
		},
		{
			name:    "gzip whose length trailer is wrong",
			replies: []githubtest.Reply{githubtest.Gzip(1, githubtest.GzipBadLength)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: failedOnce,
		},
		{
			name:    "gzip cut half way, with a Content-Length that agrees",
			replies: []githubtest.Reply{githubtest.Gzip(1, githubtest.GzipTruncated)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: failedOnce,
		},
		{
			// Headers at once, then a byte every 50 ms: the 300 ms client
			// timeout covers the body too, so the request gives up.
			name:    "a body slower than the client timeout",
			mod:     func(_ *poller.Config, cc *github.ClientConfig) { cc.Timeout = 300 * time.Millisecond },
			replies: []githubtest.Reply{githubtest.SlowBody(1, 50*time.Millisecond)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200, check: failedOnce,
			within: 5 * time.Second,
		},
		{
			name:    "a 200 with an HTML error page as page 1",
			replies: []githubtest.Reply{githubtest.NotJSON(1)},
			waits:   []poller.Wait{backoff, interval}, statuses: statuses200,
			check: func(t *testing.T, e *env, m snapshot) {
				if m.BadPages != 1 || m.RoundsFailed != 1 || m.PagesFetched != 3 {
					t.Errorf("metrics %+v", m)
				}
				if l := e.logs.Lines("poll round failed"); len(l) != 1 || !strings.Contains(l[0], "page body is not JSON") {
					t.Errorf("failure lines %q", l)
				}
			},
		},
		{
			// Retry-After 0 would retry at once, for ever: at least MinRetryWait.
			name:     "Retry-After: 0",
			replies:  []githubtest.Reply{githubtest.RetryAfter(1, 429, "0")},
			waits:    []poller.Wait{{D: github.MinRetryWait, Why: "retry-after"}, interval},
			statuses: []int{429, 200, 200, 200},
		},
		{
			name:     "Retry-After as a date in the past",
			replies:  []githubtest.Reply{githubtest.RetryAfter(1, 403, "Mon, 01 Jan 2001 00:00:00 GMT")},
			waits:    []poller.Wait{{D: github.MinRetryWait, Why: "retry-after"}, interval},
			statuses: []int{403, 200, 200, 200},
		},
		{
			name:     "Retry-After as a date in the year 9999",
			replies:  []githubtest.Reply{githubtest.RetryAfter(1, 403, "Fri, 31 Dec 9999 23:59:59 GMT")},
			waits:    []poller.Wait{{D: github.MaxRetryAfter, Why: "retry-after"}, interval},
			statuses: []int{403, 200, 200, 200},
		},
		{
			// Nothing left until 9999-12-31: the wait is capped at GitHub's
			// window plus a minute, and then the poller asks again (an
			// answer that says otherwise is the only way to know).
			name: "x-ratelimit-remaining 0 with a reset in the year 9999",
			replies: []githubtest.Reply{{Page: 1, Status: 403, Header: map[string]string{
				"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "253402300799"}}},
			waits:    []poller.Wait{{D: github.MaxRateLimitWait, Why: poller.WhyRateLimit}, interval},
			statuses: []int{403, 200, 200, 200},
		},
		{
			// Page 1 says nothing is left, but the reset is long past: the
			// window has renewed, so the round goes on.
			name: "x-ratelimit-remaining 0 with a reset in the past, on a 200",
			replies: []githubtest.Reply{{Page: 1, Header: map[string]string{
				"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}}},
			waits:    []poller.Wait{interval},
			statuses: []int{200, 200, 200},
		},
		{
			name:     "X-Poll-Interval of 31,709 years",
			opts:     githubtest.Options{PollInterval: 999999999999},
			waits:    []poller.Wait{{D: github.MaxPollInterval, Why: poller.WhyXPollInterval}},
			statuses: []int{200, 200, 200},
		},
		{
			// No X-Poll-Interval that counts: POLL_INTERVAL (60 s) is above
			// what the rate limit needs (3,601 s shared by 1,665 rounds).
			name: "X-Poll-Interval negative",
			opts: githubtest.Options{PollInterval: -1},
			replies: []githubtest.Reply{
				{Page: 1, Header: map[string]string{"X-Poll-Interval": "-60"}},
				{Page: 2, Header: map[string]string{"X-Poll-Interval": "-60"}},
				{Page: 3, Header: map[string]string{"X-Poll-Interval": "-60"}},
			},
			waits:    []poller.Wait{interval},
			statuses: []int{200, 200, 200},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.Pages == nil {
				c.opts.Pages = three
			}
			e := setup(t, c.opts)
			e.srv.Push(c.replies...)
			start := time.Now()
			p, err := e.run(e.config(func(cfg *poller.Config, cc *github.ClientConfig) {
				if c.mod != nil {
					c.mod(cfg, cc)
				}
			}), len(c.waits), nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if c.within > 0 && time.Since(start) > c.within {
				t.Errorf("the run took %v, want under %v", time.Since(start), c.within)
			}
			assertWaits(t, e.clock.Waits(), c.waits)
			e.assertStored(distinct(t, three...))
			var got []int
			for _, r := range e.srv.Requests() {
				got = append(got, r.Status)
			}
			if !slices.Equal(got, c.statuses) {
				t.Errorf("statuses %v, want %v", got, c.statuses)
			}
			if e.srv.PendingReplies() != 0 {
				t.Errorf("%d scripted replies unused", e.srv.PendingReplies())
			}
			e.assertNoToken()
			if c.check != nil {
				c.check(t, e, read(poller.MetricsOf(p)))
			}
		})
	}
}
