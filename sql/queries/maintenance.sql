-- name: SummaryTablesDeadRows :many
-- SummaryTablesDeadRows lists the store's tables (not the partitions of
-- events, which writers only append to) holding more dead row versions
-- than min_dead + scale × their live rows, most dead first, as the
-- server's statistics count them (pg_stat_user_tables.n_dead_tup and
-- n_live_tup, which lag the writes by a second or so). Autovacuum's rule is
-- the same with its threshold 50 and scale factor 0.2.
SELECT c.relname::text AS name, pg_stat_get_live_tuples(c.oid) AS live, pg_stat_get_dead_tuples(c.oid) AS dead
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = current_schema()
  AND pg_stat_get_dead_tuples(c.oid) > sqlc.arg(min_dead)::bigint + sqlc.arg(scale)::float8 * pg_stat_get_live_tuples(c.oid)
ORDER BY 3 DESC, 1;

-- name: VacuumEventTypeCounts :exec
-- VacuumEventTypeCounts and the Vacuum queries below vacuum the tables
-- every write of events updates in place (through the triggers of events),
-- one query each: VACUUM takes no parameter for its table. SKIP_LOCKED: a
-- table another VACUUM (autovacuum's) is working on is skipped, not waited
-- for. TRUNCATE false: giving back the empty pages at the end would take an
-- ACCESS EXCLUSIVE lock that queues readers, for pages the next writes
-- fill again. VACUUM cannot run inside a transaction block.
VACUUM (SKIP_LOCKED, TRUNCATE false) event_type_counts;

-- name: VacuumEventHourlyCounts :exec
VACUUM (SKIP_LOCKED, TRUNCATE false) event_hourly_counts;

-- name: VacuumRepoTypeCounts :exec
VACUUM (SKIP_LOCKED, TRUNCATE false) repo_type_counts;

-- name: VacuumRepoCountHistogram :exec
VACUUM (SKIP_LOCKED, TRUNCATE false) repo_count_histogram;

-- name: VacuumHourlySourceCounts :exec
VACUUM (SKIP_LOCKED, TRUNCATE false) hourly_source_counts;

-- name: VacuumEventMinuteCounts :exec
VACUUM (SKIP_LOCKED, TRUNCATE false) event_minute_counts;

-- name: VacuumDataVersion :exec
VACUUM (SKIP_LOCKED, TRUNCATE false) data_version;

-- name: StatsFlushNext :exec
-- StatsFlushNext makes this session publish the statistics it has counted
-- (its dead rows among them) when the statement ends, instead of up to
-- ten seconds later, as a session that published less than a second ago
-- otherwise does.
SELECT pg_stat_force_next_flush();
