package store

import (
	"context"
	"errors"
	"fmt"
)

// ReplicaLag is how far the read replica is behind its primary, in seconds:
// 0 when it has replayed all the WAL it received, else the age of the last
// transaction it replayed (sql/queries/replica.sql). known is false when the
// replica cannot tell yet (it has neither streamed nor replayed anything
// since it started). Without a read replica it fails.
func (s *Store) ReplicaLag(ctx context.Context) (seconds float64, known bool, err error) {
	if s.ReadPool() == nil {
		return 0, false, errors.New("replica lag: no read replica (DATABASE_READ_URL) is configured")
	}
	r, err := s.readQ.ReplicaLag(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("read the replica lag: %w", mapErr(err))
	}
	return r.LagSeconds, r.Known, nil
}
