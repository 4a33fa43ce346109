// Package sql holds the database schema (tern migrations) and the annotated
// queries that sqlc compiles into internal/store/dbgen. The migrations are
// embedded so the binary needs no files beside it.
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
