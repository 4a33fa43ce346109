-- The partitioning plan of docs/scaling.md, tried on a throwaway database
-- that `ghevents migrate up` created (scripts/partition-check.sh runs it).
-- NOT a migration. It converts events into a table partitioned by month
-- (the current table becomes the partition of everything older), then
-- checks that the statement-level triggers with transition tables keep the
-- summary tables exact for every way ghevents writes, and shows what does
-- not fire them. Every check raises an error when it fails.
\set ON_ERROR_STOP 1
\timing on
SET client_min_messages = notice;

-- exact() fails unless every summary table equals what events holds.
CREATE FUNCTION pg_temp.exact(what text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE bad bigint;
BEGIN
    SELECT count(*) INTO bad FROM (
        (SELECT type, action, events FROM event_type_counts
         EXCEPT SELECT type, coalesce(lower(action), ''), count(*) FROM events GROUP BY 1, 2)
        UNION ALL
        (SELECT type, coalesce(lower(action), ''), count(*) FROM events GROUP BY 1, 2
         EXCEPT SELECT type, action, events FROM event_type_counts)) d;
    IF bad > 0 THEN RAISE EXCEPTION '%: event_type_counts differs from events in % rows', what, bad; END IF;
    SELECT count(*) INTO bad FROM (
        (SELECT hour, type, action, events FROM event_hourly_counts
         EXCEPT SELECT date_trunc('hour', created_at, 'UTC'), type, coalesce(lower(action), ''), count(*) FROM events GROUP BY 1, 2, 3)
        UNION ALL
        (SELECT date_trunc('hour', created_at, 'UTC'), type, coalesce(lower(action), ''), count(*) FROM events GROUP BY 1, 2, 3
         EXCEPT SELECT hour, type, action, events FROM event_hourly_counts)) d;
    IF bad > 0 THEN RAISE EXCEPTION '%: event_hourly_counts differs from events in % rows', what, bad; END IF;
    SELECT count(*) INTO bad FROM (
        (SELECT type, repo_key, events FROM repo_type_counts
         EXCEPT SELECT type, repo_key, count(*) FROM events GROUP BY 1, 2)
        UNION ALL
        (SELECT type, repo_key, count(*) FROM events GROUP BY 1, 2
         EXCEPT SELECT type, repo_key, events FROM repo_type_counts)) d;
    IF bad > 0 THEN RAISE EXCEPTION '%: repo_type_counts differs from events in % rows', what, bad; END IF;
    SELECT count(*) INTO bad FROM (
        (SELECT type, events, repos FROM repo_count_histogram
         EXCEPT SELECT type, events, count(*) FROM repo_type_counts GROUP BY 1, 2)
        UNION ALL
        (SELECT type, events, count(*) FROM repo_type_counts GROUP BY 1, 2
         EXCEPT SELECT type, events, repos FROM repo_count_histogram)) d;
    IF bad > 0 THEN RAISE EXCEPTION '%: repo_count_histogram differs from repo_type_counts in % rows', what, bad; END IF;
    RAISE NOTICE 'exact: % (% events)', what, (SELECT count(*) FROM events);
END
$fn$;

-- rows() is :rows generated events from id first, every 2.6 s from start.
CREATE FUNCTION pg_temp.gen(first bigint, n bigint, start timestamptz)
RETURNS TABLE (id bigint, type text, actor_id bigint, actor_login text, repo_id bigint, repo_name text, action text, created_at timestamptz)
LANGUAGE sql AS $fn$
    SELECT g, (ARRAY['PushEvent','PushEvent','PushEvent','CreateEvent','WatchEvent','PullRequestEvent','IssuesEvent','ForkEvent'])[1 + (g % 8)],
           g % 100000, 'u' || (g % 100000), g % 5000, 'Owner' || (g % 500) || '/repo' || (g % 5000),
           CASE g % 8 WHEN 4 THEN 'started' WHEN 5 THEN 'opened' WHEN 6 THEN 'Closed' END,
           start + ((g - first) * interval '2.6 second')
    FROM generate_series(first, first + n - 1) g
$fn$;

\echo '== 1. the unpartitioned table, filled through the triggers (January to March 2024)'
INSERT INTO events (id, type, actor_id, actor_login, repo_id, repo_name, action, created_at)
SELECT * FROM pg_temp.gen(1, :rows, '2024-01-01');
SELECT pg_temp.exact('before the conversion');

\echo '== 2. the conversion (the sketch of migration 004), in one transaction'
BEGIN;
ALTER TABLE events RENAME TO events_before_2024_04;
ALTER INDEX events_pkey RENAME TO events_before_2024_04_pkey;
ALTER INDEX events_type_created_idx RENAME TO events_before_2024_04_type_created_idx;
ALTER INDEX events_repo_type_created_idx RENAME TO events_before_2024_04_repo_type_created_idx;
ALTER INDEX events_created_idx RENAME TO events_before_2024_04_created_idx;
DROP TRIGGER events_summaries_insert ON events_before_2024_04;
DROP TRIGGER events_summaries_delete ON events_before_2024_04;
CREATE TABLE events (
    LIKE events_before_2024_04 INCLUDING DEFAULTS INCLUDING GENERATED,
    CONSTRAINT events_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
-- The old table becomes the partition of everything before April: a
-- validated CHECK lets ATTACH skip its own scan of the rows.
ALTER TABLE events_before_2024_04 ADD CONSTRAINT events_before_2024_04_range CHECK (created_at < '2024-04-01') NOT VALID;
ALTER TABLE events_before_2024_04 VALIDATE CONSTRAINT events_before_2024_04_range;
ALTER TABLE events ATTACH PARTITION events_before_2024_04 FOR VALUES FROM (MINVALUE) TO ('2024-04-01');
CREATE TABLE events_2024_04 PARTITION OF events FOR VALUES FROM ('2024-04-01') TO ('2024-05-01');
CREATE TABLE events_2024_05 PARTITION OF events FOR VALUES FROM ('2024-05-01') TO ('2024-06-01');
CREATE TABLE events_2024_06 PARTITION OF events FOR VALUES FROM ('2024-06-01') TO ('2024-07-01');
-- The indexes on the parent: the old table's equal indexes are attached,
-- not rebuilt; the new partitions get theirs.
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action);
CREATE INDEX events_repo_type_created_idx ON events (repo_key, type, created_at) INCLUDE (action);
CREATE INDEX events_created_idx ON events (created_at) INCLUDE (type, action);
CREATE TRIGGER events_summaries_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_insert();
CREATE TRIGGER events_summaries_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_delete();
COMMIT;
ANALYZE events;
SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound,
       (SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indexrelid WHERE i.indrelid = c.oid) AS attached_indexes
FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
WHERE h.inhparent = 'events'::regclass ORDER BY 1;
SELECT pg_temp.exact('after the conversion');

\echo '== 3. the poller''s insert (unnest, ON CONFLICT DO NOTHING) across partitions, with duplicates'
-- 100 rows already stored (March), 200 new rows over March and April, and
-- the new rows twice in the same statement.
INSERT INTO events (id, type, actor_id, actor_login, repo_id, repo_name, action, created_at)
SELECT u.* FROM (
    SELECT * FROM pg_temp.gen(:rows - 99, 100, '2024-01-01'::timestamptz + (:rows - 100) * interval '2.6 second')
    UNION ALL SELECT * FROM pg_temp.gen(:rows + 1, 200, '2024-03-31T23:55:00Z')
    UNION ALL SELECT * FROM pg_temp.gen(:rows + 1, 200, '2024-03-31T23:55:00Z')
) u
ORDER BY u.id, u.created_at
ON CONFLICT (id, created_at) DO NOTHING;
SELECT pg_temp.exact('poller insert with duplicates, across two partitions');

\echo '== 4. the import (COPY into a temporary staging table, INSERT ... SELECT ... ON CONFLICT)'
CREATE TEMP TABLE import_staging (id bigint, type text, actor_id bigint, actor_login text, repo_id bigint,
    repo_name text, action text, created_at timestamptz);
INSERT INTO import_staging (id, type, actor_id, actor_login, repo_id, repo_name, action, created_at)
SELECT * FROM pg_temp.gen(:rows + 1, 50000, '2024-03-31T23:55:00Z');
INSERT INTO events (id, type, actor_id, actor_login, repo_id, repo_name, action, created_at)
SELECT id, type, actor_id, actor_login, repo_id, repo_name, action, created_at FROM import_staging
ORDER BY id, created_at ON CONFLICT (id, created_at) DO NOTHING;
SELECT pg_temp.exact('import across March and April');

\echo '== 5. retention (DELETE through the parent, oldest first, in a batch)'
DELETE FROM events WHERE (id, created_at) IN (
    SELECT e.id, e.created_at FROM events e WHERE e.created_at < '2024-02-01' ORDER BY e.created_at LIMIT 5000);
SELECT pg_temp.exact('retention batch');
EXPLAIN (COSTS OFF) DELETE FROM events WHERE (id, created_at) IN (
    SELECT e.id, e.created_at FROM events e WHERE e.created_at < '2024-02-01' ORDER BY e.created_at LIMIT 5000);
-- The same batch with the cutoff repeated on the outer DELETE: the
-- partitions that cannot hold old rows are pruned from the plan.
EXPLAIN (COSTS OFF) DELETE FROM events WHERE created_at < '2024-02-01' AND (id, created_at) IN (
    SELECT e.id, e.created_at FROM events e WHERE e.created_at < '2024-02-01' ORDER BY e.created_at LIMIT 5000);

\echo '== 6. what does NOT fire the parent''s triggers'
-- A row trigger with a transition table cannot go on a partition at all.
DO $$
BEGIN
    EXECUTE 'CREATE TRIGGER t AFTER INSERT ON events_2024_04 REFERENCING NEW TABLE AS n FOR EACH ROW EXECUTE FUNCTION events_summaries_insert()';
    RAISE EXCEPTION 'a row trigger with a transition table was accepted on a partition';
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'refused, as documented: %', SQLERRM;
END
$$;
-- A DELETE aimed at a partition itself fires no trigger of the parent.
BEGIN;
DELETE FROM events_2024_04;
DO $$
BEGIN
    PERFORM pg_temp.exact('direct DELETE on a partition');
    RAISE EXCEPTION 'the summaries followed a DELETE on a partition';
EXCEPTION WHEN raise_exception THEN
    IF SQLERRM LIKE '%differs%' THEN RAISE NOTICE 'summaries NOT updated by a DELETE on the partition itself: %', SQLERRM;
    ELSE RAISE; END IF;
END
$$;
ROLLBACK;
-- Neither does dropping (or detaching) a partition: its counts must be
-- taken out of the summaries in the same transaction, through the parent.
BEGIN;
DROP TABLE events_2024_04;
DO $$
BEGIN
    PERFORM pg_temp.exact('DROP of a partition');
    RAISE EXCEPTION 'the summaries followed a DROP of a partition';
EXCEPTION WHEN raise_exception THEN
    IF SQLERRM LIKE '%differs%' THEN RAISE NOTICE 'summaries NOT updated by DROP TABLE of a partition: %', SQLERRM;
    ELSE RAISE; END IF;
END
$$;
ROLLBACK;
-- Dropping a month the exact way: delete its rows through the parent (the
-- trigger subtracts them), then drop the emptied partition.
BEGIN;
DELETE FROM events WHERE created_at >= '2024-04-01' AND created_at < '2024-05-01';
DROP TABLE events_2024_04;
COMMIT;
SELECT pg_temp.exact('month deleted through the parent, then dropped');

\echo '== 7. a row outside every partition'
DO $$
BEGIN
    INSERT INTO events (id, type, repo_id, repo_name, created_at) VALUES (1, 'PushEvent', 1, 'a/b', '2030-01-01');
    RAISE EXCEPTION 'a row with no partition was accepted';
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'refused without a DEFAULT partition: %', SQLERRM;
END
$$;
SELECT pg_temp.exact('the end');
