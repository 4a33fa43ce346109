package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// GHArchiveNewestHour is the newest hour the follower settled (imported or
// recorded as a gap) from baseURL; ok is false when it settled none.
func (s *Store) GHArchiveNewestHour(ctx context.Context, baseURL string) (hour time.Time, ok bool, err error) {
	return s.ghArchiveNewest(ctx, baseURL, nil)
}

// GHArchiveNewestDone is the newest hour imported from baseURL; ok is false
// when none was.
func (s *Store) GHArchiveNewestDone(ctx context.Context, baseURL string) (hour time.Time, ok bool, err error) {
	done := "done"
	return s.ghArchiveNewest(ctx, baseURL, &done)
}

func (s *Store) ghArchiveNewest(ctx context.Context, baseURL string, status *string) (time.Time, bool, error) {
	h, err := s.q.GHArchiveNewestHour(ctx, dbgen.GHArchiveNewestHourParams{BaseUrl: baseURL, Status: status})
	switch err = mapErr(err); err {
	case nil:
		return h.UTC(), true, nil
	case ErrNotFound:
		return time.Time{}, false, nil
	default:
		return time.Time{}, false, fmt.Errorf("read the newest GH Archive hour: %w", err)
	}
}

// GHArchiveGapsDue lists at most limit gaps of baseURL whose retry is due
// at now, oldest first.
func (s *Store) GHArchiveGapsDue(ctx context.Context, baseURL string, now time.Time, limit int) ([]time.Time, error) {
	hours, err := s.q.GHArchiveGapsDue(ctx, dbgen.GHArchiveGapsDueParams{BaseUrl: baseURL, Now: now, MaxRows: int64(limit)})
	if err != nil {
		return nil, fmt.Errorf("list GH Archive gaps due: %w", mapErr(err))
	}
	for i := range hours {
		hours[i] = hours[i].UTC()
	}
	return hours, nil
}

// GHArchiveHourDone records hour of baseURL as imported, with the file's
// distinct events and those another source had stored first. It returns
// false when the hour was already recorded as done (it stays as it was).
func (s *Store) GHArchiveHourDone(ctx context.Context, baseURL string, hour time.Time, archiveEvents, seenBefore int64) (bool, error) {
	n, err := s.q.GHArchiveHourDone(ctx, dbgen.GHArchiveHourDoneParams{BaseUrl: baseURL, Hour: hour,
		ArchiveEvents: archiveEvents, SeenBeforeArchive: seenBefore})
	if err != nil {
		return false, fmt.Errorf("record GH Archive hour %s done: %w", hour.Format(time.RFC3339), mapErr(err))
	}
	return n == 1, nil
}

// GHArchiveHourGap records hour of baseURL as a gap (or postpones the
// retry of one) with why, to be tried again at retryAt. An hour already
// done is left alone (false).
func (s *Store) GHArchiveHourGap(ctx context.Context, baseURL string, hour time.Time, reason string, retryAt time.Time) (bool, error) {
	n, err := s.q.GHArchiveHourGap(ctx, dbgen.GHArchiveHourGapParams{BaseUrl: baseURL, Hour: hour, Reason: reason, RetryAt: retryAt})
	if err != nil {
		return false, fmt.Errorf("record GH Archive hour %s as a gap: %w", hour.Format(time.RFC3339), mapErr(err))
	}
	return n == 1, nil
}

// GHArchiveCounts counts the hours imported and the gaps of baseURL.
func (s *Store) GHArchiveCounts(ctx context.Context, baseURL string) (done, gaps int64, err error) {
	r, err := s.q.GHArchiveSummary(ctx, baseURL)
	if err != nil {
		return 0, 0, fmt.Errorf("count GH Archive hours: %w", mapErr(err))
	}
	return r.Done, r.Gaps, nil
}

// seenBeforeChunk bounds the identities sent in one statement.
const seenBeforeChunk = 20_000

// EventsSeenBeforeArchive counts, of the given distinct identities
// (parallel slices), the stored events whose source is not the archive:
// another source (or a row older than sources) had stored them first.
func (s *Store) EventsSeenBeforeArchive(ctx context.Context, ids []int64, createdAts []time.Time) (int64, error) {
	var total int64
	for lo := 0; lo < len(ids); lo += seenBeforeChunk {
		hi := min(lo+seenBeforeChunk, len(ids))
		n, err := s.q.EventsSeenBeforeArchive(ctx, dbgen.EventsSeenBeforeArchiveParams{Ids: ids[lo:hi], CreatedAts: createdAts[lo:hi]})
		if err != nil {
			return 0, fmt.Errorf("count events seen before the archive: %w", mapErr(err))
		}
		total += n
	}
	return total, nil
}
