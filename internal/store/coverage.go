package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ghevents/ghevents/internal/store/dbgen"
)

// CoverageHour is how complete one UTC hour of stored events is.
type CoverageHour struct {
	// Hour is the hour's start (UTC).
	Hour time.Time
	// Events are the stored events created in the hour; Polled of them
	// were stored first by a poller (firehose or watch).
	Events, Polled int64
	// ArchiveEvents are the distinct events of the GH Archive file named
	// for the hour, whatever their created_at; SeenBeforeArchive of them
	// another source had stored first. Both nil when the follower has not
	// imported the hour.
	ArchiveEvents, SeenBeforeArchive *int64
}

// Coverage returns the hours from since on (and starting before until,
// when until is not nil) that hold stored events or a GH Archive hour the
// follower imported, the newest maxRows of them, oldest first, and how many
// such hours there are in all.
func (s *Store) Coverage(ctx context.Context, since time.Time, until *time.Time, maxRows int) (hours []CoverageHour, total int64, err error) {
	rows, err := s.read().CoverageHours(ctx, dbgen.CoverageHoursParams{Since: since, Until: until, MaxRows: int64(maxRows)})
	if err != nil {
		return nil, 0, fmt.Errorf("read coverage: %w", mapErr(err))
	}
	hours = make([]CoverageHour, len(rows))
	for i, r := range rows {
		// Newest first from the query (the LIMIT keeps the newest): turn
		// them around.
		hours[len(rows)-1-i] = CoverageHour{Hour: r.Hour.UTC(), Events: r.Events, Polled: r.Polled,
			ArchiveEvents: r.ArchiveEvents, SeenBeforeArchive: r.SeenBeforeArchive}
		total = r.Total
	}
	return hours, total, nil
}
