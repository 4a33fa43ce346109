-- Summary tables for the metrics, kept exact by statement-level triggers on
-- events. A trigger sees, through its transition table, only the rows a
-- statement really inserted (INSERT ... ON CONFLICT DO NOTHING skips
-- duplicates before they get there) or deleted, so the counts stay equal to
-- what events holds whatever path writes: the poller, the import, retention,
-- a hand-run COPY. Counts are maintained at insert time, never approximated.
--
-- action is lower(payload.action), or the empty string for types without one.
--
-- What each summary costs: every inserted row feeds three aggregates of the
-- statement's rows; measured on 500,000 generated events copied in one
-- statement, the triggers take the load from 93k to about 60k rows/s (see
-- BENCHMARKS.md). Filters rarer than these (a repository and an action
-- together) count in events through an index instead of a fourth summary.

-- All-time count per (type, action): the events_count of
-- /metrics/event-avg-time without a repository filter (a handful of rows).
CREATE TABLE event_type_counts (
    type   text   NOT NULL,
    action text   NOT NULL,
    events bigint NOT NULL,
    CONSTRAINT event_type_counts_pkey PRIMARY KEY (type, action)
);

-- Count per UTC hour, type and action: /metrics/events-total-count adds up
-- the whole hours of its window here and counts only the partial first hour
-- in events (through events_created_idx).
CREATE TABLE event_hourly_counts (
    hour   timestamptz NOT NULL,
    type   text        NOT NULL,
    action text        NOT NULL,
    events bigint      NOT NULL,
    CONSTRAINT event_hourly_counts_pkey PRIMARY KEY (hour, type, action)
);

-- Count per (type, repository): /metrics/multiple-events-repos reads its top
-- rows through repo_type_counts_rank_idx (ties ordered by the lower-cased
-- name, bytewise, so the order is the same on every server), and
-- event-avg-time filtered by a repository reads its count by primary key.
-- repo_name is the spelling of the repository's newest event (names are
-- compared case-insensitively).
CREATE TABLE repo_type_counts (
    type         text        NOT NULL,
    repo_key     text        NOT NULL,
    repo_name    text        NOT NULL,
    name_seen_at timestamptz NOT NULL,
    events       bigint      NOT NULL,
    CONSTRAINT repo_type_counts_pkey PRIMARY KEY (type, repo_key)
);
-- Only repositories with two events or more: the metric asks for "more than
-- N" with N >= 1, so the long tail of single-event repositories (most of
-- them) never needs ranking, and their rows are inserted without touching
-- this index.
CREATE INDEX repo_type_counts_rank_idx ON repo_type_counts (type, events DESC, repo_key COLLATE "C") INCLUDE (repo_name)
    WHERE events > 1;

-- How many repositories have exactly `events` events of a type: the
-- total_repositories of /metrics/multiple-events-repos is then a sum over the
-- few distinct counts above N, not a count over every repository.
CREATE TABLE repo_count_histogram (
    type   text   NOT NULL,
    events bigint NOT NULL,
    repos  bigint NOT NULL,
    CONSTRAINT repo_count_histogram_pkey PRIMARY KEY (type, events)
);

-- Each upsert aggregates the statement's rows and applies them in key order,
-- so concurrent writers lock summary rows in the same order (no deadlock).
CREATE FUNCTION events_summaries_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO event_type_counts AS c (type, action, events)
    SELECT n.type, coalesce(lower(n.action), ''), count(*)
    FROM new_events n GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, action) DO UPDATE SET events = c.events + excluded.events;

    INSERT INTO event_hourly_counts AS c (hour, type, action, events)
    SELECT date_trunc('hour', n.created_at, 'UTC'), n.type, coalesce(lower(n.action), ''), count(*)
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

CREATE FUNCTION events_summaries_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE event_type_counts c SET events = c.events - d.events
    FROM (SELECT o.type, coalesce(lower(o.action), '') AS action, count(*) AS events
          FROM old_events o GROUP BY 1, 2 ORDER BY 1, 2) d
    WHERE c.type = d.type AND c.action = d.action;
    DELETE FROM event_type_counts WHERE events <= 0;

    UPDATE event_hourly_counts c SET events = c.events - d.events
    FROM (SELECT date_trunc('hour', o.created_at, 'UTC') AS hour, o.type, coalesce(lower(o.action), '') AS action,
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

-- repo_events_since counts the events of one (repository, type) created at
-- or after since, optionally of one action, for /metrics/events-total-count
-- with a repository filter. Through events_repo_type_created_idx it reads at
-- most about half of the pair's events: without an action, a window holding
-- the pair's whole history is its summary count, one holding most of it is
-- the summary count minus the events before it (which side is smaller is
-- judged from the first and last event's times, two index probes), and only
-- a window holding less is counted itself. STABLE: it reads the calling
-- statement's snapshot, so the total it is given and its counts agree.
CREATE FUNCTION repo_events_since(p_repo_key text, p_type text, p_total bigint, p_since timestamptz, p_action text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    first_at timestamptz;
    last_at  timestamptz;
    n        bigint;
BEGIN
    IF p_action IS NOT NULL THEN
        SELECT count(*) INTO n FROM events e
        WHERE e.repo_key = p_repo_key AND e.type = p_type AND e.created_at >= p_since
          AND lower(e.action) = lower(p_action);
        RETURN n;
    END IF;
    SELECT min(e.created_at), max(e.created_at) INTO first_at, last_at
    FROM events e WHERE e.repo_key = p_repo_key AND e.type = p_type;
    IF first_at IS NULL OR last_at < p_since THEN
        RETURN 0;
    END IF;
    IF first_at >= p_since THEN
        RETURN p_total;
    END IF;
    IF p_since - first_at < last_at - p_since THEN
        SELECT count(*) INTO n FROM events e
        WHERE e.repo_key = p_repo_key AND e.type = p_type AND e.created_at < p_since;
        RETURN p_total - n;
    END IF;
    SELECT count(*) INTO n FROM events e
    WHERE e.repo_key = p_repo_key AND e.type = p_type AND e.created_at >= p_since;
    RETURN n;
END
$fn$;

CREATE TRIGGER events_summaries_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_insert();

CREATE TRIGGER events_summaries_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_delete();

-- Existing rows (a database migrated after events were stored).
INSERT INTO event_type_counts (type, action, events)
SELECT type, coalesce(lower(action), ''), count(*) FROM events GROUP BY 1, 2;

INSERT INTO event_hourly_counts (hour, type, action, events)
SELECT date_trunc('hour', created_at, 'UTC'), type, coalesce(lower(action), ''), count(*) FROM events GROUP BY 1, 2, 3;

INSERT INTO repo_type_counts (type, repo_key, repo_name, name_seen_at, events)
SELECT type, repo_key, (array_agg(repo_name ORDER BY created_at DESC, repo_name))[1], max(created_at), count(*)
FROM events GROUP BY 1, 2;

INSERT INTO repo_count_histogram (type, events, repos)
SELECT type, events, count(*) FROM repo_type_counts GROUP BY 1, 2;

---- create above / drop below ----

DROP TRIGGER events_summaries_delete ON events;
DROP TRIGGER events_summaries_insert ON events;
DROP FUNCTION events_summaries_delete();
DROP FUNCTION events_summaries_insert();
DROP FUNCTION repo_events_since(text, text, bigint, timestamptz, text);
DROP TABLE repo_count_histogram;
DROP TABLE repo_type_counts;
DROP TABLE event_hourly_counts;
DROP TABLE event_type_counts;
