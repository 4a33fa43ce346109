-- Count per UTC minute and type: /metrics/events-timeline with minute
-- buckets and no repository or action filter adds up the whole minutes of
-- its window here and counts only the partial minutes at either end in
-- events, instead of binning every event of the window (a day holds a
-- day's events; this table 1,440 rows per type). Kept exact by statement
-- triggers, like the summaries of 002: each insert statement aggregates
-- its rows by minute and type and upserts the minutes it touches (a batch
-- of the importer spans a few minutes to a few hours). No action: a minute
-- timeline of one action is rare enough to count in events, and the
-- table stays one row per (minute, type). BENCHMARKS.md has what it costs
-- the import.
CREATE TABLE event_minute_counts (
    minute timestamptz NOT NULL,
    type   text        NOT NULL,
    events bigint      NOT NULL,
    CONSTRAINT event_minute_counts_pkey PRIMARY KEY (minute, type)
);

-- Functions of their own (not a part of 002's): the summaries of 002 keep
-- their definition, and each trigger can be disabled alone.
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

-- The two passes over events below sort and group millions of rows on a
-- large store: memory for them, for this migration's transaction only.
SET LOCAL work_mem = '256MB';

-- Existing rows: one pass over events_created_idx (index-only; BENCHMARKS.md
-- has how long it takes at ten million events), stored in time order, as
-- the trigger stores them (a window's minutes then lie on few pages).
INSERT INTO event_minute_counts (minute, type, events)
SELECT date_trunc('minute', created_at, 'UTC'), type, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2;

-- Per (type, repository): the created_at of its newest event and of the
-- one before it (NULL while it has one). A repository has two events or
-- more created at or after a time t exactly when prev_at >= t: so "how many
-- repositories had more than one event of a type since t" (the
-- total_repositories of trending, /metrics/multiple-events-repos with
-- offset and minimal_events_count=1, for a window reaching the newest
-- stored events) is a count over repo_recent_prev_idx, instead of
-- counting every event of the window per repository (most repositories
-- of a window have one event there). Kept exact by statement triggers of
-- their own; out-of-order inserts keep the two newest of both sides.
CREATE TABLE repo_recent_events (
    type     text        NOT NULL,
    repo_key text        NOT NULL,
    last_at  timestamptz NOT NULL,
    prev_at  timestamptz,
    CONSTRAINT repo_recent_events_pkey PRIMARY KEY (type, repo_key)
);
-- Only the repositories with two events or more (the long tail of one
-- event has prev_at NULL and never enters it).
CREATE INDEX repo_recent_prev_idx ON repo_recent_events (type, prev_at) INCLUDE (repo_key) WHERE prev_at IS NOT NULL;

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

-- Existing rows: the two newest events of every pair, in one pass (grouped
-- in the order of events_repo_type_created_idx, so no sort of the whole
-- table is needed).
INSERT INTO repo_recent_events (type, repo_key, last_at, prev_at)
SELECT type, repo_key, two[1], two[2]
FROM (SELECT repo_key, type, (array_agg(created_at ORDER BY created_at DESC))[1:2] AS two FROM events GROUP BY repo_key, type) p;

-- A retention drop of a whole month (events_drop_partition) fires no
-- delete trigger: the month's minutes leave event_minute_counts in the same
-- transaction, as its hours leave the hourly summaries, and the pairs
-- whose newest or second newest event is in the month are read again from
-- the other months. The function of 009 again, with those two steps more.
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

---- create above / drop below ----

-- events_drop_partition as 009 made it.
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

DROP TRIGGER events_summaries_timeline_recent_delete ON events;
DROP TRIGGER events_summaries_timeline_recent_insert ON events;
DROP FUNCTION events_recent_delete();
DROP FUNCTION events_recent_insert();
DROP TABLE repo_recent_events;
DROP TRIGGER events_summaries_timeline_delete ON events;
DROP TRIGGER events_summaries_timeline_insert ON events;
DROP FUNCTION events_minutes_delete();
DROP FUNCTION events_minutes_insert();
DROP TABLE event_minute_counts;
