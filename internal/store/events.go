package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// Event returns the stored event with this identity, or ErrNotFound.
func (s *Store) Event(ctx context.Context, id int64, createdAt time.Time) (model.Event, error) {
	r, err := s.q.EventGet(ctx, dbgen.EventGetParams{ID: id, CreatedAt: createdAt})
	if err != nil {
		return model.Event{}, fmt.Errorf("get event %d: %w", id, mapErr(err))
	}
	return model.Event{
		ID:         r.ID,
		Type:       r.Type,
		ActorID:    deref(r.ActorID),
		ActorLogin: deref(r.ActorLogin),
		RepoID:     r.RepoID,
		RepoName:   r.RepoName,
		OrgID:      deref(r.OrgID),
		OrgLogin:   deref(r.OrgLogin),
		Action:     deref(r.Action),
		CreatedAt:  r.CreatedAt.UTC(),
		Raw:        r.Raw,
		Source:     model.Source(deref(r.Source)),
	}, nil
}

// NewestEventTime returns the created_at of the newest stored event; ok is
// false when nothing is stored.
func (s *Store) NewestEventTime(ctx context.Context) (newest time.Time, ok bool, err error) {
	t, err := s.q.EventsNewestCreatedAt(ctx)
	switch err = mapErr(err); err {
	case nil:
		return t.UTC(), true, nil
	case ErrNotFound:
		return time.Time{}, false, nil
	default:
		return time.Time{}, false, fmt.Errorf("read newest event time: %w", err)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// DeleteOlderThan deletes at most batch of the oldest events created before
// cutoff and returns how many it deleted. The summary tables follow in the
// same transaction.
func (s *Store) DeleteOlderThan(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	n, err := s.q.EventsDeleteOlderThan(ctx, dbgen.EventsDeleteOlderThanParams{Cutoff: cutoff, MaxRows: int64(batch)})
	if err != nil {
		return 0, fmt.Errorf("delete events older than %s: %w", cutoff.Format(time.RFC3339), mapErr(err))
	}
	return n, nil
}
