-- Which part of ghevents stored each event first, and per hour how many of
-- the stored events the pollers brought: what /metrics/coverage reads.
--
-- An enum, not text with a CHECK: adding a nullable column without a
-- default, of any type, changes only the catalogue (no rewrite, and no scan
-- to validate a constraint), so this migration is instant whatever the size
-- of events; on a partitioned events the column reaches every partition.
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

-- Existing rows: all stored before sources were recorded (polled 0).
INSERT INTO hourly_source_counts (hour, events, polled)
SELECT date_trunc('hour', created_at, 'UTC'), count(*), 0 FROM events GROUP BY 1;

---- create above / drop below ----

DROP TRIGGER events_summaries_sources_delete ON events;
DROP TRIGGER events_summaries_sources_insert ON events;
DROP FUNCTION events_sources_delete();
DROP FUNCTION events_sources_insert();
DROP TABLE hourly_source_counts;
ALTER TABLE events DROP COLUMN source;
DROP TYPE event_source;
