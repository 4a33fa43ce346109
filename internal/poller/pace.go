package poller

import (
	"fmt"
	"time"

	"github.com/ghevents/ghevents/internal/github"
)

// Why a wait was chosen. The retry reasons of internal/github
// ("retry-after", "rate-limit", "secondary-rate-limit", "backoff") are used
// as they are.
const (
	// WhyPollInterval: POLL_INTERVAL, the least wait between rounds.
	WhyPollInterval = "poll-interval"
	// WhyXPollInterval: GitHub's X-Poll-Interval asks for longer.
	WhyXPollInterval = "x-poll-interval"
	// WhyPace: the adaptive pace, lengthened by rounds that overlapped heavily.
	WhyPace = "pace"
	// WhyRateLimit: the requests left before x-ratelimit-reset would not
	// last until then at a faster pace.
	WhyRateLimit = string(github.WaitRateLimit)
	// WhyResume: a restarted poller waits for the round planned before it stopped.
	WhyResume = "resume"
	// WhySkipped: BeforeRound asked to skip the round.
	WhySkipped = "skipped"
	// WhyDBRetry: an insert worker waits before retrying its page.
	WhyDBRetry = "db-retry"
)

// Wait is one pause the poller chose, and why.
type Wait struct {
	D   time.Duration
	Why string
}

// roundFacts are what a round tells the pacer.
type roundFacts struct {
	notModified bool
	// gap: the round reached its last page and its oldest event is newer
	// than the newest one stored before it.
	gap bool
	// comparable: a previous round's events are known, so overlap means
	// something.
	comparable bool
	// distinct counts the round's distinct events; overlap those already
	// fetched by the previous round.
	distinct, overlap int
}

// pacer keeps the adaptive pace: the wait between rounds that spends the
// rate limit where it buys events. It starts at the floor (the larger of
// POLL_INTERVAL and X-Poll-Interval); a round that did not overlap what was
// stored (a probable gap), or that brought at least two thirds of
// FeedWindow new events (events not fetched by the previous round: close
// to losing some), halves it: poll sooner; a round of which at least half
// was already fetched by the previous round, or a 304, lengthens it by
// half: polling sooner would only fetch the same events again. It never
// leaves [floor, max(maxPace, floor)].
type pacer struct {
	interval time.Duration // POLL_INTERVAL
	maxPace  time.Duration
	pace     time.Duration
}

// adjust updates the pace after a round and says what it did and why.
func (pc *pacer) adjust(f roundFacts, xPoll time.Duration) string {
	floor := max(pc.interval, xPoll)
	var note string
	switch {
	case f.notModified:
		pc.pace = pc.pace * 3 / 2
		note = "lengthened: nothing new (304)"
	case f.gap:
		pc.pace /= 2
		note = "shortened: no overlap with stored events"
	case !f.comparable:
		note = "kept: no previous round to compare with"
	case 3*(f.distinct-f.overlap) >= 2*FeedWindow:
		pc.pace /= 2
		note = fmt.Sprintf("shortened: %d new events, close to the %d a feed shows", f.distinct-f.overlap, FeedWindow)
	case f.distinct == 0:
		note = "kept: empty round"
	case 2*f.overlap >= f.distinct:
		pc.pace = pc.pace * 3 / 2
		note = fmt.Sprintf("lengthened: %d%% overlap with the previous round", 100*f.overlap/f.distinct)
	default:
		note = fmt.Sprintf("kept: %d%% overlap with the previous round", 100*f.overlap/f.distinct)
	}
	pc.pace = min(max(pc.pace, floor), max(pc.maxPace, floor))
	return note
}

// chooseWait is the wait a feed wants before its next round: the largest
// of POLL_INTERVAL, X-Poll-Interval and the pace. The shared rate budget
// may stretch it (Budget.plan).
func chooseWait(interval, xPoll, pace time.Duration) Wait {
	w := Wait{D: interval, Why: WhyPollInterval}
	if xPoll > w.D {
		w = Wait{D: xPoll, Why: WhyXPollInterval}
	}
	if pace > w.D {
		w = Wait{D: pace, Why: WhyPace}
	}
	return w
}

// An insert worker retries its page after dbRetryBase, doubling per
// attempt up to dbRetryMax, jittered between half and all of it.
const (
	dbRetryBase = 250 * time.Millisecond
	dbRetryMax  = 30 * time.Second
)
