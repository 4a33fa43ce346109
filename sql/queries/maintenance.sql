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

-- The ranking index, repo_type_counts_rank_idx, has a pair's count in its
-- key: every event stored moves its pair's entry to another place of the
-- B-tree, and VACUUM removes the dead entries but never merges the pages
-- they leave half empty. The queries below let the store rebuild the
-- indexes of repo_type_counts with REINDEX ... CONCURRENTLY when the
-- ranking index holds far more pages than its entries need
-- (docs/scaling.md, "The ranking index churns").

-- name: RankIndexSize :one
-- RankIndexSize is the ranking index's pages, its entries (the pairs with
-- more than one event: the histogram's repositories above 1, exact) and
-- the average width of its three text columns in the table's statistics
-- (pg_stats, from the last ANALYZE; 0 when there are none).
SELECT (pg_relation_size('repo_type_counts_rank_idx'::regclass) / current_setting('block_size')::bigint)::bigint AS pages,
       (SELECT coalesce(sum(h.repos), 0) FROM repo_count_histogram h WHERE h.events > 1)::bigint AS entries,
       (SELECT coalesce(sum(s.avg_width), 0) FROM pg_catalog.pg_stats s
        WHERE s.schemaname = current_schema() AND s.tablename = 'repo_type_counts'
          AND s.attname IN ('type', 'repo_key', 'repo_name'))::bigint AS text_bytes;

-- name: RepoTypeCountsDropLeftovers :many
-- RepoTypeCountsDropLeftovers drops what an interrupted REINDEX ...
-- CONCURRENTLY of repo_type_counts left behind (repo_type_counts_drop_leftovers,
-- migration 015) and names each index dropped.
SELECT repo_type_counts_drop_leftovers()::text AS dropped;

-- name: ReindexRepoTypeCounts :exec
-- ReindexRepoTypeCounts builds the indexes of repo_type_counts again,
-- packed, beside the old ones, and swaps them: reads and writes go on
-- meanwhile (it holds SHARE UPDATE EXCLUSIVE on the table, which neither
-- waits for), and it waits for the transactions older than each of its
-- steps. The whole table, not the ranking index alone: sqlc's catalogue
-- knows no index, so REINDEX INDEX does not compile; the primary key,
-- which every pair's non-HOT update also adds an entry to, is packed too.
-- Not in a transaction block.
REINDEX TABLE CONCURRENTLY repo_type_counts;

-- name: MaintenanceTryLock :one
-- MaintenanceTryLock takes the session advisory lock of a maintenance job
-- (one process runs it at a time) without waiting; false when another
-- session holds it. It is released with the session.
SELECT pg_try_advisory_lock(@lock_key::bigint)::boolean AS locked;
