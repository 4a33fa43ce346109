package store

import "github.com/jackc/pgx/v5"

// ConnForTest exposes the lock connection to the tests of store_test.
func (c *LockConn) ConnForTest() *pgx.Conn { return c.conn }
