-- Which part of ghevents stored each event first, and per hour how many of
-- the stored events the pollers brought: what /metrics/coverage reads.
--
-- An enum, not text with a CHECK: adding a nullable column without a
-- default, of any type, changes only the catalogue (no rewrite, and no scan
-- to validate a constraint), so this migration is instant whatever the size
-- of events; on the partitioned events (007) the column reaches every
-- partition, and the statement triggers below, on the parent, see the rows
-- of every partition.
-- NULL is "stored before this column existed".
--   firehose: the poller, from the public feed (GITHUB_EVENTS_URL)
--   watch:    the poller, from a watched repository, organisation or user
--   archive:  the GH Archive follower (GHARCHIVE_FOLLOW)
--   import:   `ghevents import`
CREATE TYPE event_source AS ENUM ('firehose', 'watch', 'archive', 'import');

ALTER TABLE events ADD COLUMN source event_source;

-- Per UTC hour of created_at: the stored events, and those of them stored
-- first by a poller (firehose or watch). Kept exact by statement triggers,
-- like the summaries of 002: /metrics/coverage reads one row per hour
-- instead of counting events.
CREATE TABLE hourly_source_counts (
    hour   timestamptz NOT NULL PRIMARY KEY,
    events bigint      NOT NULL,
    polled bigint      NOT NULL
);

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

-- Existing rows: all stored before sources were recorded (polled 0). Their
-- count per hour is already exact in event_hourly_counts (002): read there,
-- not by scanning events.
INSERT INTO hourly_source_counts (hour, events, polled)
SELECT hour, sum(events), 0 FROM event_hourly_counts GROUP BY hour;

-- A retention drop of a whole month (events_drop_partition, 007) fires no
-- delete trigger: the month's hours leave hourly_source_counts in the same
-- transaction, as they leave event_hourly_counts. The function of 007 again,
-- with that one DELETE more.
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

---- create above / drop below ----

-- events_drop_partition as 007 made it.
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

DROP TRIGGER events_summaries_sources_delete ON events;
DROP TRIGGER events_summaries_sources_insert ON events;
DROP FUNCTION events_sources_delete();
DROP FUNCTION events_sources_insert();
DROP TABLE hourly_source_counts;
ALTER TABLE events DROP COLUMN source;
DROP TYPE event_source;
