package poller

import (
	"math/big"
	"sync"
	"time"

	"github.com/ghevents/ghevents/internal/github"
)

// FeedWindow is how many events a feed of the Events API shows: a round
// that finds this many new events (none of them fetched by the previous
// round) has probably missed some.
const FeedWindow = 300

// Budget is the rate limit of one token, shared by the pollers of one
// process (the public feed and the watched ones): the x-ratelimit-*
// headers of every answer count the requests of all of them, so each
// answer updates the budget, and each poller plans its next round on it.
//
// The rule, after each round of a feed: the feed wants the wait its own
// pace gives (never less than POLL_INTERVAL and its X-Poll-Interval:
// shorter after rounds that brought many new events, longer after 304s
// and rounds that brought little, see pacer) and costs the requests its
// last round spent (a 304 costs none). With R requests left until the
// reset in T, the feeds would spend, at the waits they want, the sum over
// the feeds of cost × T / wanted wait. When that is more than R, every
// wanted wait is stretched by the same factor (that sum divided by R), so
// that together they spend R by the reset, and a feed that brings events
// (a short wanted wait, several pages a round) keeps its larger share. A
// feed whose round costs more than the requests left waits for the reset.
// Nothing here is random or depends on timing: the same rounds give the
// same waits.
type Budget struct {
	mu    sync.Mutex
	rate  github.RateLimit
	feeds map[string]demand
}

// demand is what one feed asked for at its last round.
type demand struct {
	want time.Duration // the wait it wants on its own
	cost int           // requests its last round spent
}

// NewBudget returns an empty budget; pass it to every poller of one token
// (Config.Budget).
func NewBudget() *Budget {
	return &Budget{rate: github.RateLimit{Limit: -1, Remaining: -1, Used: -1}, feeds: map[string]demand{}}
}

// observe keeps the freshest rate-limit headers: those of a later window,
// or, in the same window, those with fewer requests left (answers to
// several feeds may arrive in any order); without a reset time to compare,
// the last answer. Headers that say nothing are ignored.
func (b *Budget) observe(r github.RateLimit) {
	if !r.Known() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.rate
	switch {
	case !cur.Known(), r.Reset.IsZero(), cur.Reset.IsZero(), r.Reset.After(cur.Reset):
		b.rate = r
	case r.Reset.Equal(cur.Reset) && r.Remaining <= cur.Remaining:
		b.rate = r
	}
}

// current is the freshest rate-limit headers.
func (b *Budget) current() github.RateLimit {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate
}

// forgetExhausted drops headers saying no request is left, once a wait
// for the window to renew is served: the next answer says what is left
// (a reset time beyond github.MaxRateLimitWait, in the year 9999 say,
// would otherwise keep every feed waiting without a request).
func (b *Budget) forgetExhausted() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate.Exhausted() {
		b.rate.Remaining = -1
	}
}

// leave removes a feed that stopped polling.
func (b *Budget) leave(feed string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.feeds, feed)
}

// plan records what feed wants (the wait want, a round of cost requests)
// and returns the wait the shared budget needs before its next round; ok
// is false when the budget asks for nothing (the headers did not say, the
// window has renewed, or the feeds' wishes fit).
func (b *Budget) plan(feed string, want time.Duration, cost int, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.feeds[feed] = demand{want: want, cost: cost}
	if !b.rate.Known() {
		return 0, false
	}
	untilReset, ok := b.rate.UntilReset(now)
	if !ok {
		return 0, false
	}
	left := b.rate.Remaining
	if left == 0 || left < int64(cost) {
		return untilReset, true
	}
	// spend = Σ cost × untilReset / want, exactly (no rounding between
	// feeds).
	spend := new(big.Rat)
	for _, d := range b.feeds {
		if d.cost > 0 && d.want > 0 {
			r := new(big.Rat).SetFrac(big.NewInt(int64(d.cost)), big.NewInt(int64(d.want)))
			spend.Add(spend, r.Mul(r, new(big.Rat).SetInt64(int64(untilReset))))
		}
	}
	if spend.Cmp(new(big.Rat).SetInt64(left)) <= 0 {
		return 0, false
	}
	// want × spend / left, in whole nanoseconds (rounded down); never
	// past the reset, when the window renews.
	need := spend.Mul(spend, new(big.Rat).SetFrac(big.NewInt(int64(want)), big.NewInt(left)))
	ns := new(big.Int).Quo(need.Num(), need.Denom())
	if !ns.IsInt64() || ns.Int64() > int64(untilReset) {
		return untilReset, true
	}
	return time.Duration(ns.Int64()), true
}
