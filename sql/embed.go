// Package sql holds the database schema (tern migrations) and the annotated
// queries that sqlc compiles: sql/queries into internal/store/dbgen (the
// service's), sql/legacy into internal/testkit/bench/legacydb (the old
// service's approach, for the benchmark only). The migrations are embedded
// so the binary needs no files beside it.
package sql

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the tern migration files, rooted at the migrations folder.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		// fs.Sub only fails on an invalid path, and ours is a constant.
		panic(err)
	}
	return sub
}
