package poller

import (
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/github"
)

func TestBudgetPlan(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	reset := now.Add(time.Hour) // UntilReset adds github.RateLimitMargin: 3,601 s
	rate := func(left int64, reset time.Time) github.RateLimit {
		return github.RateLimit{Limit: 5000, Remaining: left, Used: 5000 - left, Reset: reset}
	}
	type plan struct {
		feed string
		want time.Duration
		cost int
		// need is the wait the budget asks for (0: none).
		need time.Duration
	}
	cases := []struct {
		name  string
		seen  []github.RateLimit
		plans []plan
	}{
		{"headers unknown: nothing asked", nil, []plan{{"a", time.Minute, 3, 0}}},
		{"the feeds fit: nothing asked", []github.RateLimit{rate(360, reset)},
			// 3 × 3,601/60 + 2 × 3,601/120 = 240.07 requests wanted, 360 left.
			[]plan{{"a", time.Minute, 3, 0}, {"b", 2 * time.Minute, 2, 0}}},
		{"too many wanted: every wait stretched by the same factor", []github.RateLimit{rate(120, reset)},
			// a alone: 180.05 wanted, 120 left: 60 s × 180.05/120. Then b
			// joins: 240.07 wanted: b waits 120 s × 240.07/120 = 2 × 3,601/60 × 2 s.
			[]plan{{"a", time.Minute, 3, 3 * 3601 * time.Second / 120}, {"b", 2 * time.Minute, 2, 4 * 3601 * time.Second / 60}}},
		{"a 304 costs nothing but its wait is stretched too", []github.RateLimit{rate(90, reset)},
			[]plan{{"a", time.Minute, 3, 3 * 3601 * time.Second / 90}, {"b", 5 * time.Minute, 0, 5 * 3 * 3601 * time.Second / 90}}},
		{"fewer left than a round costs: until the reset", []github.RateLimit{rate(2, reset)},
			// b: 60 s × 180.05/2 is past the reset: capped there.
			[]plan{{"a", time.Minute, 3, 3601 * time.Second}, {"b", time.Minute, 0, 3601 * time.Second}}},
		{"none left: until the reset", []github.RateLimit{rate(0, reset)}, []plan{{"b", time.Minute, 0, 3601 * time.Second}}},
		{"never past the reset", []github.RateLimit{rate(10, reset)},
			// a alone wants 3,601/3,600 requests: it fits. With b, 181.07
			// are wanted: b waits 60 s × 181.07/10; a, 3,600 s × 181.07/10,
			// is capped at the reset.
			[]plan{{"a", time.Hour, 1, 0}, {"b", time.Minute, 3, 6*3601*time.Second/3600 + 18*3601*time.Second/60}, {"a", time.Hour, 1, 3601 * time.Second}}},
		{"the window has renewed: nothing asked", []github.RateLimit{rate(0, now)}, []plan{{"a", time.Minute, 3, 0}}},
		{"a stale answer of the previous window is ignored", []github.RateLimit{rate(120, reset), rate(1, now.Add(-time.Minute))},
			[]plan{{"a", time.Minute, 3, 3 * 3601 * time.Second / 120}}},
		{"in one window, the answer with fewer left wins", []github.RateLimit{rate(120, reset), rate(4000, reset)},
			[]plan{{"a", time.Minute, 3, 3 * 3601 * time.Second / 120}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBudget()
			for _, r := range c.seen {
				b.observe(r)
			}
			for _, p := range c.plans {
				need, ok := b.plan(p.feed, p.want, p.cost, now)
				if ok != (p.need != 0) || need != p.need {
					t.Errorf("plan(%s, %v, %d) = %v, %v; want %v", p.feed, p.want, p.cost, need, ok, p.need)
				}
			}
		})
	}
}
