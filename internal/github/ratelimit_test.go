package github

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"
)

var now0 = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"30", 30 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"3600", time.Hour, true},
		{"3601", MaxRetryAfter, true},
		{"999999999", MaxRetryAfter, true},
		{"99999999999999999999999", MaxRetryAfter, true},
		{"-5", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"abc", 0, false},
		{now0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now0.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now0.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
		{"Mon, 32 Foo 2024 99:00:00 GMT", 0, false},
	}
	for _, c := range cases {
		d, ok := ParseRetryAfter(c.v, now0)
		if d != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.v, d, ok, c.want, c.ok)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4965")
	h.Set("X-RateLimit-Used", "35")
	h.Set("X-RateLimit-Reset", "1571698634")
	h.Set("X-RateLimit-Resource", "core")
	got := ParseRateLimit(h)
	want := RateLimit{Limit: 5000, Remaining: 4965, Used: 35, Reset: time.Unix(1571698634, 0).UTC(), Resource: "core"}
	if got != want {
		t.Fatalf("ParseRateLimit = %+v, want %+v", got, want)
	}
	if !got.Known() || got.Exhausted() {
		t.Fatalf("Known = %v, Exhausted = %v; want true, false", got.Known(), got.Exhausted())
	}

	if got := ParseRateLimit(http.Header{}); got != (RateLimit{Limit: -1, Remaining: -1, Used: -1}) || got.Known() || got.Exhausted() {
		t.Fatalf("no headers: %+v (known %v)", got, got.Known())
	}
	for _, bad := range []string{"-1", "abc", "1e3", "4.5", "0x10", "", "99999999999999999999"} {
		h := http.Header{}
		h.Set("X-RateLimit-Remaining", bad)
		h.Set("X-RateLimit-Reset", bad)
		if got := ParseRateLimit(h); got.Remaining != -1 || !got.Reset.IsZero() {
			t.Errorf("remaining and reset %q: %+v, want unknown", bad, got)
		}
	}
	h = http.Header{}
	h.Set("X-RateLimit-Remaining", "99999999999") // more than any limit
	if got := ParseRateLimit(h); got.Remaining != -1 {
		t.Errorf("absurd remaining gave %d, want unknown", got.Remaining)
	}
	h = http.Header{}
	h.Set("X-RateLimit-Reset", "999999999999999") // year 31 million
	if got := ParseRateLimit(h); !got.Reset.IsZero() {
		t.Errorf("absurd reset gave %v, want unknown", got.Reset)
	}
}

func TestUntilReset(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reset time.Time
		want  time.Duration
		ok    bool
	}{
		{time.Time{}, 0, false},
		{now0, 0, false},
		{now0.Add(-time.Minute), 0, false},
		{now0.Add(time.Second), 2 * time.Second, true},
		{now0.Add(30 * time.Minute), 30*time.Minute + time.Second, true},
		{now0.Add(10 * time.Hour), MaxRateLimitWait, true},
		{now0.Add(MaxRateLimitWait - RateLimitMargin), MaxRateLimitWait, true},
		{now0.Add(MaxRateLimitWait - RateLimitMargin + 1), MaxRateLimitWait, true},
		{now0.Add(MaxRateLimitWait - RateLimitMargin - 1), MaxRateLimitWait - 1, true},
		// Further than a time.Duration reaches (292 years): the wait used
		// to come out negative.
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), MaxRateLimitWait, true},
	}
	for _, c := range cases {
		d, ok := RateLimit{Remaining: 0, Reset: c.reset}.UntilReset(now0)
		if d != c.want || ok != c.ok {
			t.Errorf("UntilReset(reset %v) = %v, %v; want %v, %v", c.reset, d, ok, c.want, c.ok)
		}
	}
}

func TestParsePollInterval(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{
		"60": time.Minute, " 90 ": 90 * time.Second, "": 0, "0": 0, "-1": 0, "abc": 0, "1.5": 0,
		"3600": time.Hour, "999999": MaxPollInterval, "99999999999999999999999": 0,
	} {
		if got := ParsePollInterval(v); got != want {
			t.Errorf("ParsePollInterval(%q) = %v, want %v", v, got, want)
		}
	}
}

// statusErr builds the error the client returns for an answer with these headers.
func statusErr(status int, headers ...string) *StatusError {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return newStatusError("https://api.github.com/events?per_page=100", status, h, []byte(`{"message":"m"}`), now0)
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	reset := func(d time.Duration) string { return strconv.FormatInt(now0.Add(d).Unix(), 10) }
	cases := []struct {
		name    string
		err     error
		attempt int
		rnd     float64
		want    time.Duration
		why     WaitReason
	}{
		{"403 with Retry-After", statusErr(403, "Retry-After", "30"), 1, 1, 30 * time.Second, WaitRetryAfter},
		{"429 with Retry-After, later attempt", statusErr(429, "Retry-After", "30"), 5, 1, 30 * time.Second, WaitRetryAfter},
		{"503 with Retry-After", statusErr(503, "Retry-After", "7"), 1, 1, 7 * time.Second, WaitRetryAfter},
		{"Retry-After: 0 waits the minimum", statusErr(403, "Retry-After", "0"), 1, 1, MinRetryWait, WaitRetryAfter},
		{"huge Retry-After is capped", statusErr(403, "Retry-After", "99999999999999999999"), 1, 1, MaxRetryAfter, WaitRetryAfter},
		{"negative Retry-After ignored: secondary", statusErr(403, "Retry-After", "-5"), 1, 1, time.Minute, WaitSecondary},
		{"non-numeric Retry-After ignored: secondary", statusErr(429, "Retry-After", "soon"), 2, 1, 2 * time.Minute, WaitSecondary},
		{"primary limit: until reset", statusErr(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(100*time.Second)), 1, 1, 101 * time.Second, WaitRateLimit},
		{"primary limit, reset a second ahead", statusErr(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(time.Second)), 1, 1, 2 * time.Second, WaitRateLimit},
		{"primary limit, reset in the past", statusErr(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(-time.Hour)), 1, 1, time.Minute, WaitRateLimit},
		{"primary limit, reset in the past, third time", statusErr(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(-time.Hour)), 3, 1, 4 * time.Minute, WaitRateLimit},
		{"primary limit, reset far ahead", statusErr(429, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset(30*24*time.Hour)), 1, 1, MaxRateLimitWait, WaitRateLimit},
		{"primary limit, malformed reset", statusErr(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "tomorrow"), 2, 1, 2 * time.Minute, WaitRateLimit},
		{"secondary limit", statusErr(403, "X-RateLimit-Remaining", "4000"), 1, 1, time.Minute, WaitSecondary},
		{"secondary limit, 4th time", statusErr(403), 4, 0, 8 * time.Minute, WaitSecondary},
		{"secondary limit, capped", statusErr(429), 50, 1, SecondaryMax, WaitSecondary},
		{"500, first", statusErr(500), 1, 1, time.Second, WaitBackoff},
		{"500, second", statusErr(500), 2, 1, 2 * time.Second, WaitBackoff},
		{"500, third, least jitter", statusErr(500), 3, 0, 2 * time.Second, WaitBackoff},
		{"502, tenth (capped), half jitter", statusErr(502), 10, 0.5, 225 * time.Second, WaitBackoff},
		{"502, eighth, half jitter", statusErr(502), 8, 0.5, 96 * time.Second, WaitBackoff},
		{"500, capped", statusErr(500), 1000, 1, BackoffMax, WaitBackoff},
		{"500, capped, least jitter", statusErr(500), math.MaxInt, 0, BackoffMax / 2, WaitBackoff},
		{"jitter NaN counts as 1", statusErr(500), 2, math.NaN(), 2 * time.Second, WaitBackoff},
		{"jitter out of range", statusErr(500), 2, -3, time.Second, WaitBackoff},
		{"attempt 0 counts as 1", statusErr(500), 0, 1, time.Second, WaitBackoff},
		{"401 bad credentials backs off", statusErr(401), 1, 1, time.Second, WaitBackoff},
		{"connection error", &RequestError{URL: "u", Err: errors.New("connection refused")}, 3, 1, 4 * time.Second, WaitBackoff},
		{"body not JSON", fmt.Errorf("page 2: %w", errors.New("page body is not JSON")), 1, 1, time.Second, WaitBackoff},
	}
	for _, c := range cases {
		d, why := RetryDelay(c.err, c.attempt, now0, c.rnd)
		if d != c.want || why != c.why {
			t.Errorf("%s: RetryDelay = %v %s; want %v %s", c.name, d, why, c.want, c.why)
		}
	}
}

func TestStatusErrorKind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  *StatusError
		want Kind
	}{
		{statusErr(500), KindServer},
		{statusErr(503, "Retry-After", "5"), KindRetryAfter},
		{statusErr(403, "X-RateLimit-Remaining", "0"), KindRateLimit},
		{statusErr(429, "X-RateLimit-Remaining", "0"), KindRateLimit},
		{statusErr(403, "X-RateLimit-Remaining", "10"), KindSecondary},
		{statusErr(429), KindSecondary},
		{statusErr(422), KindPaginationLimit},
		{statusErr(401), KindClient},
		{statusErr(404, "X-RateLimit-Remaining", "0"), KindClient},
	}
	for _, c := range cases {
		if got := c.err.Kind(); got != c.want {
			t.Errorf("status %d %+v: Kind = %d, want %d", c.err.StatusCode, c.err.Rate, got, c.want)
		}
	}
	if !IsPaginationLimit(fmt.Errorf("wrapped: %w", statusErr(422))) || IsPaginationLimit(statusErr(500)) {
		t.Error("IsPaginationLimit does not see through wrapping, or sees a 500 as a 422")
	}
}

// FuzzRetryDelay: whatever GitHub's status and headers, reading them and
// choosing the wait never panics and gives a wait within the bounds, with
// a known reason.
func FuzzRetryDelay(f *testing.F) {
	f.Add(403, "30", "0", "1717243200", "60", 1, 0.5)
	f.Add(429, "", "0", "1", "", 3, 1.0)
	f.Add(403, "-5", "abc", "-1", "-60", 2, 0.0)
	f.Add(500, "99999999999999999999", "4999", "99999999999999", "9999999", 100, 0.9)
	f.Add(503, "Sat, 01 Jun 2024 12:01:30 GMT", "", "", "", 1, 0.1)
	f.Add(422, "", "10", "1717246800", "60", 1, 0.3)
	f.Add(0, "\x00", "\xff", " 12 ", "1e9", -7, math.Inf(1))
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining, reset, poll string, attempt int, rnd float64) {
		se := statusErr(status, "Retry-After", retryAfter, "X-RateLimit-Remaining", remaining, "X-RateLimit-Reset", reset, "X-Poll-Interval", poll)
		_ = se.Error()
		if se.PollInterval < 0 || se.PollInterval > MaxPollInterval {
			t.Fatalf("poll interval %v out of bounds", se.PollInterval)
		}
		if d, ok := se.Rate.UntilReset(now0); ok && (d < RateLimitMargin || d > MaxRateLimitWait) {
			t.Fatalf("UntilReset = %v, out of [%v, %v]", d, RateLimitMargin, MaxRateLimitWait)
		}
		d, why := RetryDelay(se, attempt, now0, rnd)
		if d < BackoffBase/2 || d > MaxRateLimitWait {
			t.Fatalf("RetryDelay = %v, out of [%v, %v]", d, BackoffBase/2, MaxRateLimitWait)
		}
		switch why {
		case WaitRetryAfter, WaitRateLimit, WaitSecondary:
			if d < MinRetryWait {
				t.Fatalf("%s wait %v below %v", why, d, MinRetryWait)
			}
		case WaitBackoff:
			if d > BackoffMax {
				t.Fatalf("backoff %v above %v", d, BackoffMax)
			}
		default:
			t.Fatalf("unknown reason %q", why)
		}
		if se.HasRetryAfter && why != WaitRetryAfter {
			t.Fatalf("Retry-After %q was read but the reason is %s", retryAfter, why)
		}
	})
}
