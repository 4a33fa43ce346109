-- Every statement that writes events ends its histogram upkeep (the
-- triggers of 002, redefined since, and events_drop_partition) with
-- DELETE FROM repo_count_histogram WHERE repos = 0. Without an index that
-- DELETE read the whole table: a few hundred rows, but every import batch
-- updates hundreds of them, and between two autovacuum runs the dead
-- versions pile up (121 MB for 3,698 rows after 10M events were imported
-- into the 10M data set), so the DELETE read 14,091 pages, 125 ms, for
-- every batch of 5,000 events, and the import slowed as the store grew.
-- With this partial index it reads the few rows that reached zero
-- (0.06 ms on the same table). The index makes the histogram's updates
-- non-HOT (repos is in its predicate); BENCHMARKS.md has both costs.
--
-- The histogram has a few thousand rows: building the index takes a moment
-- and holds a SHARE lock on it meanwhile (writers wait, readers do not).
CREATE INDEX repo_count_histogram_empty_idx ON repo_count_histogram (type, events) WHERE repos = 0;

---- create above / drop below ----

DROP INDEX repo_count_histogram_empty_idx;
