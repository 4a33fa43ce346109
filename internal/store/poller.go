package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// PollerState is what the poller remembers about one feed across restarts:
// the newest round whose pages are all stored.
type PollerState struct {
	// Feed names the feed: the Events API URL (without any password).
	Feed string
	// ETag is the ETag of that round's first page, sent as If-None-Match by
	// the next round; empty when none is to be trusted.
	ETag string
	// RoundAt is when that round started; NextRoundAt when the next is due.
	RoundAt, NextRoundAt time.Time
	// NewestEventAt is the created_at of the newest event fetched from the
	// feed; zero when unknown.
	NewestEventAt time.Time
}

// PollerState reads the state of feed; ok is false when none is stored.
func (s *Store) PollerState(ctx context.Context, feed string) (st PollerState, ok bool, err error) {
	r, err := s.q.PollerStateGet(ctx, feed)
	switch err = mapErr(err); err {
	case nil:
	case ErrNotFound:
		return PollerState{}, false, nil
	default:
		return PollerState{}, false, fmt.Errorf("read poller state: %w", err)
	}
	st = PollerState{Feed: r.Feed, ETag: r.Etag, RoundAt: r.RoundAt.UTC(), NextRoundAt: r.NextRoundAt.UTC()}
	if r.NewestEventAt != nil {
		st.NewestEventAt = r.NewestEventAt.UTC()
	}
	return st, true, nil
}

// SavePollerState records st unless a round as new or newer than
// st.RoundAt is already recorded for its feed (saved is false then). The
// newest event time never moves back.
func (s *Store) SavePollerState(ctx context.Context, st PollerState) (saved bool, err error) {
	p := dbgen.PollerStateSaveParams{Feed: st.Feed, Etag: st.ETag, RoundAt: st.RoundAt, NextRoundAt: st.NextRoundAt}
	if !st.NewestEventAt.IsZero() {
		p.NewestEventAt = &st.NewestEventAt
	}
	n, err := s.q.PollerStateSave(ctx, p)
	if err != nil {
		return false, fmt.Errorf("save poller state: %w", mapErr(err))
	}
	return n == 1, nil
}
