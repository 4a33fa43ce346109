-- The repositories of a window (/metrics/multiple-events-repos with offset:
-- "trending") count the events of one type created in a time range per
-- repository. events_type_created_idx already orders a type's events by
-- time; it now also carries repo_key, so that count is an index-only scan
-- of the window's entries instead of a visit to each event's row. One wider
-- index rather than a second one: every insert still updates as many
-- indexes as before (BENCHMARKS.md has what it costs the import).
--
-- On the partitioned events, the index of the parent is dropped with its
-- partitions' indexes, and made again on every partition. It is built
-- within the migration's transaction, not CONCURRENTLY (which a partitioned
-- parent refuses): events is locked against writes while it is built
-- (minutes at ten million events; BENCHMARKS.md).
DROP INDEX events_type_created_idx;
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action, repo_key);

---- create above / drop below ----

DROP INDEX events_type_created_idx;
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action);
