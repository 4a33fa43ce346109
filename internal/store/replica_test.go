package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ghevents/ghevents/internal/store"
	"github.com/ghevents/ghevents/internal/testkit/testdb"
)

// TestReplicaLagWithoutAStandby: a "replica" that is not in recovery (a
// primary, or a promoted standby) is never behind; without a replica the
// lag is an error, not a 0 that would look like a healthy replica. The lag
// of a real standby is tested in internal/cli (TestServeFromAStreamingReplica).
func TestReplicaLagWithoutAStandby(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	primary, notStandby := testdb.URL(t), testdb.URL(t)
	s, err := store.Open(ctx, primary, store.Options{ReadURL: notStandby})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if seconds, known, err := s.ReplicaLag(ctx); err != nil || !known || seconds != 0 {
		t.Fatalf("ReplicaLag of a database not in recovery = %v, %v, %v; want 0, true, nil", seconds, known, err)
	}
	alone, err := store.Open(ctx, primary, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	if _, _, err := alone.ReplicaLag(ctx); err == nil || err.Error() != "replica lag: no read replica (DATABASE_READ_URL) is configured" {
		t.Fatalf("ReplicaLag without a replica: %v", err)
	}
}
