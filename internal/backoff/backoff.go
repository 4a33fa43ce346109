// Package backoff is ghevents' one exponential backoff: the waits before
// retrying a GitHub request, a page the database refused to store for a
// while, and a batch of an import; and the one way its loops wait (Sleep).
package backoff

import (
	"context"
	"math"
	"time"
)

// Sleep waits d, or until ctx ends: it returns ctx.Err() then (and at once
// when ctx has ended or d is not positive), nil after a full wait.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Step is the wait before retry number attempt (1 for the first): base
// doubling per attempt, capped at limit.
func Step(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Jitter spreads d between half and all of it, so that clients failing
// together do not retry together: rnd, in [0, 1], says where (a value
// outside is clamped; NaN counts as 1).
func Jitter(d time.Duration, rnd float64) time.Duration {
	if math.IsNaN(rnd) || rnd > 1 {
		rnd = 1
	}
	rnd = max(rnd, 0)
	return d/2 + time.Duration(rnd*float64(d/2))
}
