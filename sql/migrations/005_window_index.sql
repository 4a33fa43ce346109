-- The repositories of a window (/metrics/multiple-events-repos with offset:
-- "trending") count the events of one type created in a time range per
-- repository. events_type_created_idx already orders a type's events by
-- time; it now also carries repo_key, so that count is an index-only scan
-- of the window's entries instead of a visit to every row in the table.
-- One wider index rather than a second one: every insert still updates the
-- same number of indexes (BENCHMARKS.md has what it costs the import).
DROP INDEX events_type_created_idx;
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action, repo_key);

---- create above / drop below ----

DROP INDEX events_type_created_idx;
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action);
