package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/model"
	"github.com/ghevents/ghevents/internal/store"
)

func TestPollerStateSavedInRoundOrder(t *testing.T) {
	s, ctx := setup(t)
	const feed = "https://api.github.com/events"
	if _, ok, err := s.PollerState(ctx, feed); err != nil || ok {
		t.Fatalf("fresh database: ok=%v err=%v; want no state", ok, err)
	}
	r1 := store.PollerState{Feed: feed, ETag: `W/"one"`, RoundAt: ts("2024-06-01T12:00:00Z"), NextRoundAt: ts("2024-06-01T12:01:00Z"), NewestEventAt: ts("2024-06-01T11:59:00Z")}
	r2 := store.PollerState{Feed: feed, ETag: `W/"two"`, RoundAt: ts("2024-06-01T12:01:00Z"), NextRoundAt: ts("2024-06-01T12:02:30Z"), NewestEventAt: ts("2024-06-01T11:58:00Z")}

	if saved, err := s.SavePollerState(ctx, r1); err != nil || !saved {
		t.Fatalf("save round 1: %v, %v", saved, err)
	}
	if saved, err := s.SavePollerState(ctx, r2); err != nil || !saved {
		t.Fatalf("save round 2: %v, %v", saved, err)
	}
	// Round 1 again (a late worker): ignored.
	if saved, err := s.SavePollerState(ctx, r1); err != nil || saved {
		t.Fatalf("save round 1 after round 2: saved=%v err=%v; want ignored", saved, err)
	}
	got, ok, err := s.PollerState(ctx, feed)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// Round 2's values, but the newest event time never moves back.
	want := r2
	want.NewestEventAt = r1.NewestEventAt
	if got != want {
		t.Fatalf("state = %+v\nwant %+v", got, want)
	}
	// Another feed has a state of its own; no newest event is stored as unknown.
	other := store.PollerState{Feed: "https://ghe.example/api/v3/events", RoundAt: r1.RoundAt, NextRoundAt: r1.NextRoundAt}
	if _, err := s.SavePollerState(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.PollerState(ctx, other.Feed); err != nil || !ok || got != other {
		t.Fatalf("other feed: %+v, %v, %v; want %+v", got, ok, err, other)
	}
}

func TestInsertEventsSkippingBadIsolatesRefusedRows(t *testing.T) {
	s, ctx := setup(t)
	events := make([]model.Event, 10)
	for i := range events {
		events[i] = model.Event{
			ID: int64(1000 + i), Type: "WatchEvent", RepoID: 1, RepoName: "o/r",
			CreatedAt: ts("2024-05-01T10:00:00Z").Add(time.Duration(i) * time.Second),
			Raw:       json.RawMessage(fmt.Sprintf(`{"id":"%d"}`, 1000+i)),
		}
	}
	// jsonb refuses a lone surrogate escape (SQLSTATE 22P02): the decoder
	// lets it through, the database does not.
	events[3].Raw = json.RawMessage(`{"id":"1003","payload":{"s":"\ud800"}}`)
	events[8].Raw = json.RawMessage(`{"id":"1008","payload":{"s":"\udc00 x"}}`)

	if _, err := s.InsertEvents(ctx, events); !store.IsDataError(err) {
		t.Fatalf("one statement for the batch: %v; want a data error", err)
	}
	res, err := s.InsertEventsSkippingBad(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	var refused []int64
	for _, r := range res.Rejected {
		refused = append(refused, r.Event.ID)
		if !store.IsDataError(r.Err) {
			t.Errorf("event %d refused with %v, not a data error", r.Event.ID, r.Err)
		}
	}
	if res.Stored != 8 || !slices.Equal(refused, []int64{1003, 1008}) {
		t.Fatalf("stored %d, refused %v; want 8 and [1003 1008]", res.Stored, refused)
	}
	var ids []int64
	rows, err := s.Pool().Query(ctx, `SELECT id FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if want := []int64{1000, 1001, 1002, 1004, 1005, 1006, 1007, 1009}; !slices.Equal(ids, want) {
		t.Fatalf("stored ids %v, want %v", ids, want)
	}
	// Again: all duplicates, the same two refused.
	res, err = s.InsertEventsSkippingBad(ctx, events)
	if err != nil || res.Stored != 0 || len(res.Rejected) != 2 {
		t.Fatalf("second time: %+v, %v; want 0 stored and 2 refused", res, err)
	}
	if res, err := s.InsertEventsSkippingBad(ctx, nil); err != nil || res.Stored != 0 || res.Rejected != nil {
		t.Fatalf("empty batch: %+v, %v", res, err)
	}
}
