package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ghevents/ghevents/internal/model"
)

// ConnForTest exposes the lock connection to the tests of store_test.
func (c *LockConn) ConnForTest() *pgx.Conn { return c.conn }

// ImportStagedForTest runs the staged path of ImportEvents on its own.
func (s *Store) ImportStagedForTest(ctx context.Context, events []model.Event) (int64, error) {
	return s.importStaged(ctx, events)
}
