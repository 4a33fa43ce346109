// Package bench holds ghevents' end-to-end benchmarks and the soak (make
// bench, make soak; results in BENCHMARKS.md and docs/reliability.md). All
// of it is in _test.go files: the harness (a generated data set kept in a
// database of its own, the real binary as a server, a load generator), the
// benchmarks, and the old service's fetch-everything approach measured
// beside ours through legacydb, the sqlc package of sql/legacy that only
// this benchmark imports.
package bench
