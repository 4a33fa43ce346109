package github

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ghevents/ghevents/internal/backoff"
)

// Bounds of every wait derived from GitHub's headers. A header with an
// absurd value (negative, huge, not a number, a reset in the past) never
// gives a wait outside them.
const (
	// MinRetryWait is the least wait before retrying after a rate-limit
	// answer, so that "Retry-After: 0" cannot make a busy loop.
	MinRetryWait = time.Second
	// MaxRetryAfter caps Retry-After.
	MaxRetryAfter = time.Hour
	// MaxRateLimitWait caps the wait until x-ratelimit-reset: GitHub's
	// window is one hour.
	MaxRateLimitWait = time.Hour + time.Minute
	// RateLimitMargin is added to the wait until x-ratelimit-reset, which is
	// rounded to the second, so the first request after it is not refused.
	RateLimitMargin = time.Second
	// SecondaryBase and SecondaryMax bound the waits after a secondary rate
	// limit without Retry-After: at least a minute, doubling, capped.
	SecondaryBase = time.Minute
	SecondaryMax  = 15 * time.Minute
	// BackoffBase and BackoffMax bound the exponential backoff after server
	// errors, timeouts and connection errors.
	BackoffBase = time.Second
	BackoffMax  = 5 * time.Minute
	// MaxPollInterval caps X-Poll-Interval.
	MaxPollInterval = time.Hour
)

// WaitReason says why a wait was chosen; it appears in log lines.
type WaitReason string

// Why the client asks to wait before retrying.
const (
	// WaitRetryAfter: the response carried Retry-After.
	WaitRetryAfter WaitReason = "retry-after"
	// WaitRateLimit: x-ratelimit-remaining is 0; wait until x-ratelimit-reset.
	WaitRateLimit WaitReason = "rate-limit"
	// WaitSecondary: a secondary rate limit without Retry-After.
	WaitSecondary WaitReason = "secondary-rate-limit"
	// WaitBackoff: a server error, a timeout, a connection error or a bad body.
	WaitBackoff WaitReason = "backoff"
)

// RateLimit is what the x-ratelimit-* headers of one response said.
type RateLimit struct {
	// Limit, Remaining and Used are -1 when the header is absent or malformed.
	Limit, Remaining, Used int64
	// Reset is when the window renews; zero when absent or malformed.
	Reset time.Time
	// Resource is the rate-limit bucket ("core"), empty when absent.
	Resource string
}

// Known reports whether the remaining count was sent.
func (r RateLimit) Known() bool { return r.Remaining >= 0 }

// Exhausted reports whether no request is left in the current window.
func (r RateLimit) Exhausted() bool { return r.Remaining == 0 }

// UntilReset is how long to wait, from now, for the window to renew, plus
// RateLimitMargin, capped at MaxRateLimitWait. ok is false when the reset
// time is unknown or already past.
func (r RateLimit) UntilReset(now time.Time) (d time.Duration, ok bool) {
	if r.Reset.IsZero() || !r.Reset.After(now) {
		return 0, false
	}
	// Compared before subtracting: Sub saturates at about 292 years, and
	// the margin added to that wrapped around to a negative wait.
	if r.Reset.After(now.Add(MaxRateLimitWait - RateLimitMargin)) {
		return MaxRateLimitWait, true
	}
	return r.Reset.Sub(now) + RateLimitMargin, true
}

// ParseRateLimit reads the x-ratelimit-* headers. Malformed values are
// reported as unknown, never as an error.
func ParseRateLimit(h http.Header) RateLimit {
	r := RateLimit{
		Limit:     parseCount(h.Get("X-RateLimit-Limit")),
		Remaining: parseCount(h.Get("X-RateLimit-Remaining")),
		Used:      parseCount(h.Get("X-RateLimit-Used")),
		Resource:  truncate(strings.TrimSpace(h.Get("X-RateLimit-Resource")), 40),
	}
	// An epoch second; anything outside 1970..9999 is nonsense.
	if s, err := strconv.ParseUint(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 63); err == nil && s > 0 && s < 253402300800 {
		r.Reset = time.Unix(int64(s), 0).UTC()
	}
	return r
}

// parseCount reads a non-negative count of at most MaxInt32 (ASCII digits,
// surrounding spaces allowed), -1 when absent or malformed.
func parseCount(v string) int64 {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 31)
	if err != nil {
		return -1
	}
	return int64(n)
}

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 10.2.3). ok is false when it is absent or malformed (negative,
// not a number, not a date). A date in the past gives 0; a huge value is
// capped at MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
			return MaxRetryAfter, true // more digits than an hour of seconds needs
		case err != nil:
			return 0, false
		}
		return time.Duration(min(n, uint64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	return max(0, min(d, MaxRetryAfter)), true
}

// ParsePollInterval reads X-Poll-Interval (seconds); 0 when absent or
// malformed, capped at MaxPollInterval.
func ParsePollInterval(v string) time.Duration {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63)
	if err != nil || n == 0 {
		return 0
	}
	return time.Duration(min(n, uint64(MaxPollInterval/time.Second))) * time.Second
}

// RetryDelay says how long to wait before retrying a request that failed
// with err, and why. attempt counts the consecutive failures (1 for the
// first); rnd, in [0, 1], spreads the exponential backoff (jitter: the wait
// is between half and all of the backoff step). The result is always
// between BackoffBase/2 and MaxRateLimitWait.
//
//   - Retry-After present (any status): wait that long (at least MinRetryWait).
//   - 403/429 with x-ratelimit-remaining 0: wait until x-ratelimit-reset;
//     when the reset is missing or past, as for a secondary limit.
//   - 403/429 otherwise (secondary rate limit): SecondaryBase doubling per
//     attempt, capped at SecondaryMax.
//   - anything else (5xx, other 4xx, timeouts, connection errors, a body
//     that is not JSON): BackoffBase doubling, capped at BackoffMax, jittered.
func RetryDelay(err error, attempt int, now time.Time, rnd float64) (time.Duration, WaitReason) {
	attempt = max(attempt, 1)
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Kind() {
		case KindRetryAfter:
			return max(se.RetryAfter, MinRetryWait), WaitRetryAfter
		case KindRateLimit:
			if d, ok := se.Rate.UntilReset(now); ok {
				return max(d, MinRetryWait), WaitRateLimit
			}
			return backoff.Step(SecondaryBase, SecondaryMax, attempt), WaitRateLimit
		case KindSecondary:
			return backoff.Step(SecondaryBase, SecondaryMax, attempt), WaitSecondary
		}
	}
	return backoff.Jitter(backoff.Step(BackoffBase, BackoffMax, attempt), rnd), WaitBackoff
}
