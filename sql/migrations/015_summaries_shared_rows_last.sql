-- The per-repository summary first, the rows every writer shares last
-- (issue 14 §4). Until 014 the insert and delete triggers updated the
-- counts per type and action, then per hour, then the per-repository
-- counts with the histogram, then the sources and minutes: the first
-- statement of every batch locked rows that every other batch updates too
-- (a type's count, the hour's), so a second writer waited at its first
-- statement for the first writer's commit, through the whole of the first
-- writer's per-repository upsert, the dear part of the trigger; two
-- writers took turns (BENCHMARKS.md, "What bounds the default server").
--
-- Now each trigger does the per-repository counts (and the histogram,
-- computed from them in the same statement) first, then the counts per
-- type, per hour, the sources and the minutes; events_version_* still
-- fires after it (name order), the data_version row last. Writers whose
-- batches touch different repositories (the importer's writers: each
-- stores the repositories of its share of a hash, internal/importer) lock
-- the shared rows only for the last, short statements of each batch and
-- their commit.
--
-- No new deadlock: every writer (poller, importer, retention's deletes)
-- goes through these two functions, which take the summary tables in one
-- order (repo_type_counts, repo_count_histogram, event_type_counts,
-- event_hourly_counts, hourly_source_counts, event_minute_counts,
-- data_version) and each table's rows in key order; no transaction of
-- ghevents fires them twice (store.InsertEvents is one COPY or one INSERT
-- per transaction; store.SplitRefused stores each half in a transaction
-- of its own). events_drop_partition holds SHARE on events, so no writer
-- runs beside it; it is not changed. A deadlock lost anyway (40P01) is
-- retried by every writer (store.IsRetryable).
--
-- A change of the two functions only: no lock beyond a moment's on their
-- definitions, no rewrite.
CREATE OR REPLACE FUNCTION events_summaries_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
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

    INSERT INTO event_type_counts AS c (type, action, events)
    SELECT n.type, coalesce(n.action, ''), count(*)
    FROM new_events n GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, action) DO UPDATE SET events = c.events + excluded.events;

    INSERT INTO event_hourly_counts AS c (hour, type, action, events)
    SELECT date_trunc('hour', n.created_at, 'UTC'), n.type, coalesce(n.action, ''), count(*)
    FROM new_events n GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, type, action) DO UPDATE SET events = c.events + excluded.events;

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

CREATE OR REPLACE FUNCTION events_summaries_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
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

---- create above / drop below ----

-- Back to the order of 014.
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
