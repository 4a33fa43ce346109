-- A month's retention drop made cheaper, and the leftovers of an
-- interrupted rebuild of repo_type_counts' indexes dropped (issue 14 §4).
--
-- events_drop_partition (014) lowered the count of every pair of the
-- dropped month in repo_type_counts and then deleted the pairs left at 0:
-- at ten million events, millions of non-HOT updates (a new row version
-- and an entry in each of the three indexes each) followed by as many
-- deletes. Now the pairs whose every event is in the month are deleted
-- at once, and only the pairs that keep events are updated; their
-- recency is read again from the other months only (BENCHMARKS.md,
-- "Session of 2026-12-01 21:16–00:16 UTC").
--
-- Functions only: the migration takes no lock beyond a moment's.

-- work_mem: the joins below pair millions of rows on a large store (as
-- migration 014's did); the SET holds for the function's run only.
CREATE OR REPLACE FUNCTION events_drop_partition(p_name text) RETURNS bigint
LANGUAGE plpgsql SET TimeZone = 'UTC' SET work_mem = '256MB' AS $fn$
DECLARE
    b record;
    n bigint;
BEGIN
    SELECT * INTO b FROM event_partitions p WHERE p.name = p_name;
    IF NOT FOUND OR b.from_at IS NULL OR b.to_at IS NULL THEN
        RAISE EXCEPTION 'events_drop_partition: % is not a partition of events with bounds', p_name
            USING ERRCODE = 'undefined_table';
    END IF;
    PERFORM set_config('lock_timeout', '5s', true);
    LOCK TABLE ONLY events IN SHARE MODE;

    SELECT coalesce(sum(h.events), 0) INTO n FROM event_hourly_counts h
    WHERE h.hour >= b.from_at AND h.hour < b.to_at;

    UPDATE event_type_counts c SET events = c.events - d.events
    FROM (SELECT h.type, h.action, sum(h.events) AS events FROM event_hourly_counts h
          WHERE h.hour >= b.from_at AND h.hour < b.to_at GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.type = d.type AND c.action = d.action;
    DELETE FROM event_type_counts WHERE events <= 0;
    DELETE FROM event_hourly_counts h WHERE h.hour >= b.from_at AND h.hour < b.to_at;
    DELETE FROM hourly_source_counts h WHERE h.hour >= b.from_at AND h.hour < b.to_at;
    DELETE FROM event_minute_counts m WHERE m.minute >= b.from_at AND m.minute < b.to_at;

    -- The month's pairs, one aggregate of the partition (grouped in the
    -- order of its (repo_key, type, created_at) index, which an index-only
    -- scan reads without the rows), analyzed so that the joins below are
    -- planned for its real size.
    EXECUTE format('CREATE TEMP TABLE events_dropped_repos ON COMMIT DROP AS
                    SELECT type, repo_key, count(*) AS events, max(created_at) AS newest FROM %I GROUP BY repo_key, type', p_name);
    ANALYZE events_dropped_repos;

    -- The pairs with every event in the month (most of them: the long tail
    -- of one or two events) are deleted, not lowered to 0 and then
    -- deleted: a delete leaves one dead row version and adds no index
    -- entry, where an update writes a new version and an entry in each of
    -- the table's indexes. Each leaves the histogram at its count.
    WITH gone AS (
        DELETE FROM repo_type_counts c USING events_dropped_repos d
        WHERE c.type = d.type AND c.repo_key = d.repo_key AND c.events <= d.events
        RETURNING c.type, c.events
    )
    INSERT INTO repo_count_histogram AS h (type, events, repos)
    SELECT g.type, g.events, -count(*) FROM gone g GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, events) DO UPDATE SET repos = h.repos + excluded.repos;

    -- The pairs that keep events: their count is lowered, and when their
    -- newest or second newest event was in the month, their two newest
    -- times and their name are read again from the other months (the
    -- bounds written as two ranges, so that the month's own partition is
    -- pruned from each probe instead of read and filtered).
    WITH n AS (
        SELECT d.type, d.repo_key, d.events, d.newest >= coalesce(c.prev_at, c.name_seen_at) AS reread
        FROM events_dropped_repos d JOIN repo_type_counts c ON c.type = d.type AND c.repo_key = d.repo_key
        WHERE c.events > d.events
    ), r AS (
        SELECT n.type, n.repo_key, n.events, n.reread, t.last_at, t.prev_at, t.repo_name
        FROM n LEFT JOIN LATERAL (
            SELECT max(x.created_at) AS last_at, min(x.created_at) FILTER (WHERE x.rn = 2) AS prev_at,
                   min(x.repo_name) FILTER (WHERE x.rn = 1) AS repo_name
            FROM (SELECT e.created_at, e.repo_name, row_number() OVER (ORDER BY e.created_at DESC, e.repo_name) AS rn
                  FROM (SELECT e.created_at, e.repo_name FROM events e
                        WHERE n.reread AND e.repo_key = n.repo_key AND e.type = n.type
                          AND (e.created_at < b.from_at OR e.created_at >= b.to_at)
                        ORDER BY e.created_at DESC LIMIT 2) e) x
        ) t ON true
        ORDER BY 1, 2
    ), up AS (
        UPDATE repo_type_counts c SET
            events       = c.events - r.events,
            repo_name    = CASE WHEN r.reread THEN r.repo_name ELSE c.repo_name END,
            name_seen_at = CASE WHEN r.reread THEN r.last_at ELSE c.name_seen_at END,
            prev_at      = CASE WHEN r.reread THEN r.prev_at ELSE c.prev_at END
        FROM r
        WHERE c.type = r.type AND c.repo_key = r.repo_key
        RETURNING c.type, c.events AS new_count, c.events + r.events AS old_count
    )
    INSERT INTO repo_count_histogram AS h (type, events, repos)
    SELECT x.type, x.events, sum(x.delta)
    FROM (
        SELECT up.type, up.new_count AS events, 1 AS delta FROM up
        UNION ALL
        SELECT up.type, up.old_count, -1 FROM up
    ) x
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, events) DO UPDATE SET repos = h.repos + excluded.repos;
    DELETE FROM repo_count_histogram WHERE repos = 0;
    DROP TABLE events_dropped_repos;

    PERFORM set_config('lock_timeout', '50ms', true);
    FOR attempt IN 1..20 LOOP
        BEGIN
            EXECUTE format('DROP TABLE %I', p_name);
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            IF attempt = 20 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(0.1);
        END;
    END LOOP;
    IF n > 0 THEN
        UPDATE data_version SET version = version + 1;
    END IF;
    RETURN n;
END
$fn$;

-- The store rebuilds the indexes of repo_type_counts with REINDEX TABLE
-- CONCURRENTLY when the ranking index is bloated (store.MaintainRankIndex).
-- Interrupted (its connection lost, cancelled, the server stopped), it
-- leaves the index it was building, <index>_ccnew, INVALID and still
-- written to by every insert, or, after the swap, the old one,
-- <index>_ccold. This drops them and returns their names. DROP INDEX
-- CONCURRENTLY cannot run in a function (a transaction block), so it is a
-- plain DROP INDEX, which takes ACCESS EXCLUSIVE on repo_type_counts until
-- the commit (a moment: an index drop removes catalogue rows): it waits for
-- that lock 50 ms at a time, so no query waits on it longer, and gives up
-- after 20 tries (a REINDEX still running holds a lock it needs).
CREATE FUNCTION repo_type_counts_drop_leftovers() RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
    ix text;
BEGIN
    PERFORM set_config('lock_timeout', '50ms', true);
    FOR ix IN
        SELECT c.relname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'repo_type_counts'::regclass AND c.relname ~ '_cc(new|old)[0-9]*$'
        ORDER BY 1
    LOOP
        FOR attempt IN 1..20 LOOP
            BEGIN
                EXECUTE format('DROP INDEX %I', ix);
                EXIT;
            EXCEPTION WHEN lock_not_available THEN
                IF attempt = 20 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.1);
            END;
        END LOOP;
        RETURN NEXT ix;
    END LOOP;
END
$fn$;

---- create above / drop below ----

DROP FUNCTION repo_type_counts_drop_leftovers();

-- events_drop_partition as 014 made it.
CREATE OR REPLACE FUNCTION events_drop_partition(p_name text) RETURNS bigint
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $fn$
DECLARE
    b record;
    n bigint;
BEGIN
    SELECT * INTO b FROM event_partitions p WHERE p.name = p_name;
    IF NOT FOUND OR b.from_at IS NULL OR b.to_at IS NULL THEN
        RAISE EXCEPTION 'events_drop_partition: % is not a partition of events with bounds', p_name
            USING ERRCODE = 'undefined_table';
    END IF;
    PERFORM set_config('lock_timeout', '5s', true);
    LOCK TABLE ONLY events IN SHARE MODE;

    SELECT coalesce(sum(h.events), 0) INTO n FROM event_hourly_counts h
    WHERE h.hour >= b.from_at AND h.hour < b.to_at;

    UPDATE event_type_counts c SET events = c.events - d.events
    FROM (SELECT h.type, h.action, sum(h.events) AS events FROM event_hourly_counts h
          WHERE h.hour >= b.from_at AND h.hour < b.to_at GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.type = d.type AND c.action = d.action;
    DELETE FROM event_type_counts WHERE events <= 0;
    DELETE FROM event_hourly_counts h WHERE h.hour >= b.from_at AND h.hour < b.to_at;
    DELETE FROM hourly_source_counts h WHERE h.hour >= b.from_at AND h.hour < b.to_at;
    DELETE FROM event_minute_counts m WHERE m.minute >= b.from_at AND m.minute < b.to_at;

    EXECUTE format('CREATE TEMP TABLE events_dropped_repos ON COMMIT DROP AS
                    SELECT type, repo_key, count(*) AS events, max(created_at) AS newest FROM %I GROUP BY 1, 2', p_name);
    WITH n AS (
        SELECT d.type, d.repo_key, d.events, c.events > d.events AND d.newest >= coalesce(c.prev_at, c.name_seen_at) AS reread
        FROM events_dropped_repos d JOIN repo_type_counts c ON c.type = d.type AND c.repo_key = d.repo_key
    ), r AS (
        SELECT n.type, n.repo_key, n.events, n.reread, t.last_at, t.prev_at, t.repo_name
        FROM n LEFT JOIN LATERAL (
            SELECT max(x.created_at) AS last_at, min(x.created_at) FILTER (WHERE x.rn = 2) AS prev_at,
                   min(x.repo_name) FILTER (WHERE x.rn = 1) AS repo_name
            FROM (SELECT e.created_at, e.repo_name, row_number() OVER (ORDER BY e.created_at DESC, e.repo_name) AS rn
                  FROM (SELECT e.created_at, e.repo_name FROM events e
                        WHERE n.reread AND e.repo_key = n.repo_key AND e.type = n.type
                          AND NOT (e.created_at >= b.from_at AND e.created_at < b.to_at)
                        ORDER BY e.created_at DESC LIMIT 2) e) x
        ) t ON true
        ORDER BY 1, 2
    ), up AS (
        UPDATE repo_type_counts c SET
            events       = c.events - r.events,
            repo_name    = CASE WHEN r.reread THEN r.repo_name ELSE c.repo_name END,
            name_seen_at = CASE WHEN r.reread THEN r.last_at ELSE c.name_seen_at END,
            prev_at      = CASE WHEN r.reread THEN r.prev_at ELSE c.prev_at END
        FROM r
        WHERE c.type = r.type AND c.repo_key = r.repo_key
        RETURNING c.type, c.events AS new_count, c.events + r.events AS old_count
    )
    INSERT INTO repo_count_histogram AS h (type, events, repos)
    SELECT x.type, x.events, sum(x.delta)
    FROM (
        SELECT up.type, up.new_count AS events, 1 AS delta FROM up WHERE up.new_count > 0
        UNION ALL
        SELECT up.type, up.old_count, -1 FROM up
    ) x
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, events) DO UPDATE SET repos = h.repos + excluded.repos;
    DELETE FROM repo_count_histogram WHERE repos = 0;
    DELETE FROM repo_type_counts c USING events_dropped_repos d
    WHERE c.type = d.type AND c.repo_key = d.repo_key AND c.events <= 0;
    DROP TABLE events_dropped_repos;

    PERFORM set_config('lock_timeout', '50ms', true);
    FOR attempt IN 1..20 LOOP
        BEGIN
            EXECUTE format('DROP TABLE %I', p_name);
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            IF attempt = 20 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(0.1);
        END;
    END LOOP;
    IF n > 0 THEN
        UPDATE data_version SET version = version + 1;
    END IF;
    RETURN n;
END
$fn$;
