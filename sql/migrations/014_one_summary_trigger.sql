-- One statement trigger for every summary, and the recency of each
-- (type, repository) kept in repo_type_counts itself (issue 14 §4, issue
-- 16). Before this, an insert statement fired five AFTER ... FOR EACH
-- STATEMENT triggers (the summaries of 002, the sources of 009, the minutes
-- and the recency of 012, the version of 004), and the recency of 012 was a
-- second table of one row per (type, repository), repo_recent_events,
-- upserted for every pair of every batch beside repo_type_counts: a second
-- B-tree probe, heap row and index entry per pair, about a third of the
-- import's time (BENCHMARKS.md, "Migration 014").
--
-- Now:
-- - repo_type_counts.name_seen_at is the created_at of the pair's newest
--   event (it already was, on insert; a delete now reads it again), and
--   the new prev_at that of the one before it (NULL while the pair has one
--   event): the upsert that counts the pair keeps both, so a batch writes
--   each pair once. "How many repositories had two events or more of a type
--   since t" is a count over repo_type_counts_prev_idx (prev_at >= t), as it
--   was over repo_recent_prev_idx. repo_recent_events goes.
-- - events_summaries_insert and events_summaries_delete do all the summary
--   work (counts per type and action, per hour, per repository and the
--   histogram, sources per hour, minutes) in one trigger each, in that
--   order, the order in which the five triggers locked the summaries (name
--   order). events_version_* (004) still fires after them, the data_version
--   row last.
-- - A repository's two newest times are taken with one sort of the
--   statement's rows (row_number over the pair), not with an ordered
--   aggregate per pair.
--
-- Locks: SHARE on events for the whole migration (writers wait; queries
-- go on), ACCESS EXCLUSIVE on repo_type_counts from the ADD COLUMN to the
-- end (the queries that read it wait), and ACCESS EXCLUSIVE on events for
-- the moment of the trigger changes at the end. README.md (upgrade notes)
-- has how long it took on the 10M store.
LOCK TABLE events IN SHARE MODE;

-- The join below pairs millions of rows on a large store.
SET LOCAL work_mem = '256MB';

-- Nullable, no default: a change of the catalogue only, no rewrite.
ALTER TABLE repo_type_counts ADD COLUMN prev_at timestamptz;

-- From repo_recent_events, exact for every pair: prev_at where the pair has
-- two events or more, and name_seen_at where a delete had left it on an
-- event that is gone (before 014 a delete did not read it again). Only
-- those rows are written; the long tail of one event keeps its row.
UPDATE repo_type_counts c SET name_seen_at = r.last_at, prev_at = r.prev_at
FROM repo_recent_events r
WHERE r.type = c.type AND r.repo_key = c.repo_key
  AND (r.prev_at IS NOT NULL OR r.last_at <> c.name_seen_at);

-- Only the pairs with two events or more (prev_at NULL: never in it), as
-- repo_recent_prev_idx.
CREATE INDEX repo_type_counts_prev_idx ON repo_type_counts (type, prev_at) WHERE prev_at IS NOT NULL;

-- Each upsert aggregates the statement's rows and applies them in key
-- order, so concurrent writers lock summary rows in the same order (no
-- deadlock); the tables in the order of the triggers this replaces.
CREATE OR REPLACE FUNCTION events_summaries_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO event_type_counts AS c (type, action, events)
    SELECT n.type, coalesce(n.action, ''), count(*)
    FROM new_events n GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, action) DO UPDATE SET events = c.events + excluded.events;

    INSERT INTO event_hourly_counts AS c (hour, type, action, events)
    SELECT date_trunc('hour', n.created_at, 'UTC'), n.type, coalesce(n.action, ''), count(*)
    FROM new_events n GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, type, action) DO UPDATE SET events = c.events + excluded.events;

    -- Per pair of the statement: its count, its newest event's time and
    -- spelling (the first name among ties), and the time of the one before
    -- (NULL for one event). The pair's count moves from old (0 when new) to
    -- new, and the histogram loses one repository at old and gains one at
    -- new. The new second newest of {stored newest, stored prev, batch
    -- newest, batch prev}: the newest side's prev or the other side's
    -- newest, whichever is greater (greatest() skips a NULL).
    WITH ranked AS (
        SELECT n.type, n.repo_key, n.repo_name, n.created_at,
               row_number() OVER (PARTITION BY n.type, n.repo_key ORDER BY n.created_at DESC, n.repo_name) AS rn
        FROM new_events n
    ), batch AS (
        SELECT r.type, r.repo_key, min(r.repo_name) FILTER (WHERE r.rn = 1) AS repo_name,
               max(r.created_at) AS last_at, max(r.created_at) FILTER (WHERE r.rn = 2) AS prev_at,
               count(*) AS events
        FROM ranked r GROUP BY 1, 2
    ), up AS (
        INSERT INTO repo_type_counts AS c (type, repo_key, repo_name, name_seen_at, prev_at, events)
        SELECT b.type, b.repo_key, b.repo_name, b.last_at, b.prev_at, b.events FROM batch b ORDER BY 1, 2
        ON CONFLICT (type, repo_key) DO UPDATE SET
            events       = c.events + excluded.events,
            repo_name    = CASE WHEN excluded.name_seen_at >= c.name_seen_at THEN excluded.repo_name ELSE c.repo_name END,
            name_seen_at = greatest(c.name_seen_at, excluded.name_seen_at),
            prev_at      = CASE WHEN c.name_seen_at >= excluded.name_seen_at THEN greatest(c.prev_at, excluded.name_seen_at)
                                ELSE greatest(c.name_seen_at, excluded.prev_at) END
        RETURNING c.type, c.repo_key, c.events
    ), moves AS (
        SELECT up.type, up.events - b.events AS old_count, up.events AS new_count
        FROM up JOIN batch b ON b.type = up.type AND b.repo_key = up.repo_key
    )
    INSERT INTO repo_count_histogram AS h (type, events, repos)
    SELECT d.type, d.events, sum(d.delta)
    FROM (
        SELECT m.type, m.new_count AS events, 1 AS delta FROM moves m
        UNION ALL
        SELECT m.type, m.old_count, -1 FROM moves m WHERE m.old_count > 0
    ) d
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, events) DO UPDATE SET repos = h.repos + excluded.repos;
    DELETE FROM repo_count_histogram WHERE repos = 0;

    INSERT INTO hourly_source_counts AS c (hour, events, polled)
    SELECT date_trunc('hour', n.created_at, 'UTC'), count(*),
           count(*) FILTER (WHERE n.source IN ('firehose', 'watch'))
    FROM new_events n GROUP BY 1 ORDER BY 1
    ON CONFLICT (hour) DO UPDATE SET events = c.events + excluded.events, polled = c.polled + excluded.polled;

    INSERT INTO event_minute_counts AS c (minute, type, events)
    SELECT date_trunc('minute', n.created_at, 'UTC'), n.type, count(*)
    FROM new_events n GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (minute, type) DO UPDATE SET events = c.events + excluded.events;

    RETURN NULL;
END
$fn$;

-- A pair whose newest or second newest event went, and which keeps some,
-- has its two newest times and its name read again from events (one
-- backward probe of events_repo_type_created_idx), in the same UPDATE that
-- lowers its count; an event older than the pair's prev_at changes
-- neither. A pair with none left goes.
CREATE OR REPLACE FUNCTION events_summaries_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE event_type_counts c SET events = c.events - d.events
    FROM (SELECT o.type, coalesce(o.action, '') AS action, count(*) AS events
          FROM old_events o GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.type = d.type AND c.action = d.action;
    DELETE FROM event_type_counts WHERE events <= 0;

    UPDATE event_hourly_counts c SET events = c.events - d.events
    FROM (SELECT date_trunc('hour', o.created_at, 'UTC') AS hour, o.type, coalesce(o.action, '') AS action,
                 count(*) AS events
          FROM old_events o GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) d
    WHERE c.hour = d.hour AND c.type = d.type AND c.action = d.action;
    DELETE FROM event_hourly_counts c
    USING (SELECT DISTINCT date_trunc('hour', o.created_at, 'UTC') AS hour FROM old_events o) d
    WHERE c.hour = d.hour AND c.events <= 0;

    WITH d AS (
        SELECT o.type, o.repo_key, count(*) AS events, max(o.created_at) AS newest
        FROM old_events o GROUP BY 1, 2
    ), n AS (
        SELECT d.type, d.repo_key, d.events, c.events > d.events AND d.newest >= coalesce(c.prev_at, c.name_seen_at) AS reread
        FROM d JOIN repo_type_counts c ON c.type = d.type AND c.repo_key = d.repo_key
    ), r AS (
        SELECT n.type, n.repo_key, n.events, n.reread, t.last_at, t.prev_at, t.repo_name
        FROM n LEFT JOIN LATERAL (
            SELECT max(x.created_at) AS last_at, min(x.created_at) FILTER (WHERE x.rn = 2) AS prev_at,
                   min(x.repo_name) FILTER (WHERE x.rn = 1) AS repo_name
            FROM (SELECT e.created_at, e.repo_name, row_number() OVER (ORDER BY e.created_at DESC, e.repo_name) AS rn
                  FROM (SELECT e.created_at, e.repo_name FROM events e
                        WHERE n.reread AND e.repo_key = n.repo_key AND e.type = n.type
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
    DELETE FROM repo_type_counts c
    USING (SELECT DISTINCT o.type, o.repo_key FROM old_events o) d
    WHERE c.type = d.type AND c.repo_key = d.repo_key AND c.events <= 0;

    UPDATE hourly_source_counts c SET events = c.events - d.events, polled = c.polled - d.polled
    FROM (SELECT date_trunc('hour', o.created_at, 'UTC') AS hour, count(*) AS events,
                 count(*) FILTER (WHERE o.source IN ('firehose', 'watch')) AS polled
          FROM old_events o GROUP BY 1 ORDER BY 1) d
    WHERE c.hour = d.hour;
    DELETE FROM hourly_source_counts c
    USING (SELECT DISTINCT date_trunc('hour', o.created_at, 'UTC') AS hour FROM old_events o) d
    WHERE c.hour = d.hour AND c.events <= 0;

    UPDATE event_minute_counts c SET events = c.events - d.events
    FROM (SELECT date_trunc('minute', o.created_at, 'UTC') AS minute, o.type, count(*) AS events
          FROM old_events o GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.minute = d.minute AND c.type = d.type;
    DELETE FROM event_minute_counts c
    USING (SELECT DISTINCT date_trunc('minute', o.created_at, 'UTC') AS minute FROM old_events o) d
    WHERE c.minute = d.minute AND c.events <= 0;

    RETURN NULL;
END
$fn$;

-- A retention drop of a whole month (events_drop_partition) fires no
-- delete trigger: the month's share leaves every summary in the same
-- transaction, and the pairs whose newest or second newest event is in the
-- month have their recency read again from the other months, in the
-- UPDATE that lowers their count. The function of 012 again, without
-- repo_recent_events.
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

-- The triggers the two functions replace, last (DROP TRIGGER takes ACCESS
-- EXCLUSIVE on events: held from here to the commit, a moment).
DROP TRIGGER events_summaries_sources_insert ON events;
DROP TRIGGER events_summaries_sources_delete ON events;
DROP TRIGGER events_summaries_timeline_insert ON events;
DROP TRIGGER events_summaries_timeline_delete ON events;
DROP TRIGGER events_summaries_timeline_recent_insert ON events;
DROP TRIGGER events_summaries_timeline_recent_delete ON events;
DROP FUNCTION events_sources_insert();
DROP FUNCTION events_sources_delete();
DROP FUNCTION events_minutes_insert();
DROP FUNCTION events_minutes_delete();
DROP FUNCTION events_recent_insert();
DROP FUNCTION events_recent_delete();
DROP TABLE repo_recent_events;

---- create above / drop below ----

-- Back to 013: repo_recent_events, filled from repo_type_counts (its
-- name_seen_at and prev_at are the pair's two newest times), the triggers
-- and functions of 009, 011 and 012, and events_drop_partition of 012.
LOCK TABLE events IN SHARE MODE;

CREATE TABLE repo_recent_events (
    type     text        NOT NULL,
    repo_key text        NOT NULL,
    last_at  timestamptz NOT NULL,
    prev_at  timestamptz,
    CONSTRAINT repo_recent_events_pkey PRIMARY KEY (type, repo_key)
);
INSERT INTO repo_recent_events (type, repo_key, last_at, prev_at)
SELECT type, repo_key, name_seen_at, prev_at FROM repo_type_counts;
CREATE INDEX repo_recent_prev_idx ON repo_recent_events (type, prev_at) INCLUDE (repo_key) WHERE prev_at IS NOT NULL;

-- The summaries as 011 made them.
CREATE OR REPLACE FUNCTION events_summaries_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO event_type_counts AS c (type, action, events)
    SELECT n.type, coalesce(n.action, ''), count(*)
    FROM new_events n GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, action) DO UPDATE SET events = c.events + excluded.events;

    INSERT INTO event_hourly_counts AS c (hour, type, action, events)
    SELECT date_trunc('hour', n.created_at, 'UTC'), n.type, coalesce(n.action, ''), count(*)
    FROM new_events n GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, type, action) DO UPDATE SET events = c.events + excluded.events;

    -- Each repository's count moves from old (0 when new) to new; the
    -- histogram loses one repository at old and gains one at new.
    WITH batch AS (
        SELECT n.type, n.repo_key, (array_agg(n.repo_name ORDER BY n.created_at DESC, n.repo_name))[1] AS repo_name,
               max(n.created_at) AS seen, count(*) AS events
        FROM new_events n GROUP BY 1, 2
    ), up AS (
        INSERT INTO repo_type_counts AS c (type, repo_key, repo_name, name_seen_at, events)
        SELECT b.type, b.repo_key, b.repo_name, b.seen, b.events FROM batch b ORDER BY 1, 2
        ON CONFLICT (type, repo_key) DO UPDATE SET
            events       = c.events + excluded.events,
            repo_name    = CASE WHEN excluded.name_seen_at >= c.name_seen_at THEN excluded.repo_name ELSE c.repo_name END,
            name_seen_at = greatest(c.name_seen_at, excluded.name_seen_at)
        RETURNING c.type, c.repo_key, c.events
    ), moves AS (
        SELECT up.type, up.events - b.events AS old_count, up.events AS new_count
        FROM up JOIN batch b ON b.type = up.type AND b.repo_key = up.repo_key
    )
    INSERT INTO repo_count_histogram AS h (type, events, repos)
    SELECT d.type, d.events, sum(d.delta)
    FROM (
        SELECT m.type, m.new_count AS events, 1 AS delta FROM moves m
        UNION ALL
        SELECT m.type, m.old_count, -1 FROM moves m WHERE m.old_count > 0
    ) d
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, events) DO UPDATE SET repos = h.repos + excluded.repos;
    DELETE FROM repo_count_histogram WHERE repos = 0;

    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION events_summaries_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE event_type_counts c SET events = c.events - d.events
    FROM (SELECT o.type, coalesce(o.action, '') AS action, count(*) AS events
          FROM old_events o GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.type = d.type AND c.action = d.action;
    DELETE FROM event_type_counts WHERE events <= 0;

    UPDATE event_hourly_counts c SET events = c.events - d.events
    FROM (SELECT date_trunc('hour', o.created_at, 'UTC') AS hour, o.type, coalesce(o.action, '') AS action,
                 count(*) AS events
          FROM old_events o GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) d
    WHERE c.hour = d.hour AND c.type = d.type AND c.action = d.action;
    DELETE FROM event_hourly_counts c
    USING (SELECT DISTINCT date_trunc('hour', o.created_at, 'UTC') AS hour FROM old_events o) d
    WHERE c.hour = d.hour AND c.events <= 0;

    WITH up AS (
        UPDATE repo_type_counts c SET events = c.events - d.events
        FROM (SELECT o.type, o.repo_key, count(*) AS events FROM old_events o GROUP BY 1, 2 ORDER BY 1, 2) d
        WHERE c.type = d.type AND c.repo_key = d.repo_key
        RETURNING c.type, c.events AS new_count, c.events + d.events AS old_count
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
    DELETE FROM repo_type_counts c
    USING (SELECT DISTINCT o.type, o.repo_key FROM old_events o) d
    WHERE c.type = d.type AND c.repo_key = d.repo_key AND c.events <= 0;

    RETURN NULL;
END
$fn$;


-- The sources of 009, the minutes and the recency of 012.
CREATE FUNCTION events_sources_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO hourly_source_counts AS c (hour, events, polled)
    SELECT date_trunc('hour', n.created_at, 'UTC'), count(*),
           count(*) FILTER (WHERE n.source IN ('firehose', 'watch'))
    FROM new_events n GROUP BY 1 ORDER BY 1
    ON CONFLICT (hour) DO UPDATE SET events = c.events + excluded.events, polled = c.polled + excluded.polled;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION events_sources_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE hourly_source_counts c SET events = c.events - d.events, polled = c.polled - d.polled
    FROM (SELECT date_trunc('hour', o.created_at, 'UTC') AS hour, count(*) AS events,
                 count(*) FILTER (WHERE o.source IN ('firehose', 'watch')) AS polled
          FROM old_events o GROUP BY 1 ORDER BY 1) d
    WHERE c.hour = d.hour;
    DELETE FROM hourly_source_counts c
    USING (SELECT DISTINCT date_trunc('hour', o.created_at, 'UTC') AS hour FROM old_events o) d
    WHERE c.hour = d.hour AND c.events <= 0;
    RETURN NULL;
END
$fn$;

-- The names sort after events_summaries_insert and before events_version_*: triggers
-- of one event fire in name order, so every writer locks the summaries in
-- the same order, the version row last (see 004).
CREATE TRIGGER events_summaries_sources_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_sources_insert();
CREATE TRIGGER events_summaries_sources_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_sources_delete();

CREATE FUNCTION events_minutes_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO event_minute_counts AS c (minute, type, events)
    SELECT date_trunc('minute', n.created_at, 'UTC'), n.type, count(*)
    FROM new_events n GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (minute, type) DO UPDATE SET events = c.events + excluded.events;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION events_minutes_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE event_minute_counts c SET events = c.events - d.events
    FROM (SELECT date_trunc('minute', o.created_at, 'UTC') AS minute, o.type, count(*) AS events
          FROM old_events o GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.minute = d.minute AND c.type = d.type;
    DELETE FROM event_minute_counts c
    USING (SELECT DISTINCT date_trunc('minute', o.created_at, 'UTC') AS minute FROM old_events o) d
    WHERE c.minute = d.minute AND c.events <= 0;
    RETURN NULL;
END
$fn$;

-- The names sort after events_summaries_sources_* and before
-- events_version_*: triggers of one event fire in name order, so every
-- writer locks the summaries in the same order, the version row last (see
-- 004 and 009).
CREATE TRIGGER events_summaries_timeline_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_minutes_insert();
CREATE TRIGGER events_summaries_timeline_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_minutes_delete();

CREATE FUNCTION events_recent_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- The second newest of {old last, old prev, batch last, batch prev}:
    -- the greater of the two lasts is the newest; the second is the
    -- greater of the other last and the newest side's prev.
    INSERT INTO repo_recent_events AS r (type, repo_key, last_at, prev_at)
    SELECT b.type, b.repo_key, b.two[1], b.two[2]
    FROM (SELECT n.type, n.repo_key, (array_agg(n.created_at ORDER BY n.created_at DESC))[1:2] AS two
          FROM new_events n GROUP BY 1, 2) b
    ORDER BY 1, 2
    ON CONFLICT (type, repo_key) DO UPDATE SET
        last_at = greatest(r.last_at, excluded.last_at),
        prev_at = CASE WHEN r.last_at >= excluded.last_at THEN greatest(r.prev_at, excluded.last_at)
                       ELSE greatest(r.last_at, excluded.prev_at) END;
    RETURN NULL;
END
$fn$;

-- After a delete, the pairs it touched are read again from events (their
-- two newest remaining events, one backward probe of
-- events_repo_type_created_idx each); a pair with none left goes.
CREATE FUNCTION events_recent_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    WITH touched AS (
        SELECT DISTINCT o.type, o.repo_key FROM old_events o
    ), now_ AS (
        SELECT t.type, t.repo_key,
               (SELECT array_agg(x.created_at ORDER BY x.created_at DESC) FROM (
                    SELECT e.created_at FROM events e
                    WHERE e.repo_key = t.repo_key AND e.type = t.type
                    ORDER BY e.created_at DESC LIMIT 2) x) AS two
        FROM touched t
    ), gone AS (
        DELETE FROM repo_recent_events r USING now_ n
        WHERE r.type = n.type AND r.repo_key = n.repo_key AND n.two IS NULL
    )
    UPDATE repo_recent_events r SET last_at = n.two[1], prev_at = n.two[2]
    FROM now_ n
    WHERE r.type = n.type AND r.repo_key = n.repo_key AND n.two IS NOT NULL;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER events_summaries_timeline_recent_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_recent_insert();
CREATE TRIGGER events_summaries_timeline_recent_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_recent_delete();

-- events_drop_partition as 012 made it.
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
                    SELECT type, repo_key, count(*) AS events FROM %I GROUP BY 1, 2', p_name);
    WITH up AS (
        UPDATE repo_type_counts c SET events = c.events - d.events
        FROM (SELECT * FROM events_dropped_repos ORDER BY 1, 2) d
        WHERE c.type = d.type AND c.repo_key = d.repo_key
        RETURNING c.type, c.events AS new_count, c.events + d.events AS old_count
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
    WITH now_ AS (
        SELECT r.type, r.repo_key,
               (SELECT array_agg(x.created_at ORDER BY x.created_at DESC) FROM (
                    SELECT e.created_at FROM events e
                    WHERE e.repo_key = r.repo_key AND e.type = r.type
                      AND NOT (e.created_at >= b.from_at AND e.created_at < b.to_at)
                    ORDER BY e.created_at DESC LIMIT 2) x) AS two
        FROM repo_recent_events r JOIN events_dropped_repos d ON d.type = r.type AND d.repo_key = r.repo_key
        WHERE (r.last_at >= b.from_at AND r.last_at < b.to_at) OR (r.prev_at >= b.from_at AND r.prev_at < b.to_at)
    ), gone AS (
        DELETE FROM repo_recent_events r USING now_ n
        WHERE r.type = n.type AND r.repo_key = n.repo_key AND n.two IS NULL
    )
    UPDATE repo_recent_events r SET last_at = n.two[1], prev_at = n.two[2]
    FROM now_ n
    WHERE r.type = n.type AND r.repo_key = n.repo_key AND n.two IS NOT NULL;
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

DROP INDEX repo_type_counts_prev_idx;
ALTER TABLE repo_type_counts DROP COLUMN prev_at;
