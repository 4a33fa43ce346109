-- One key for the action (and, with it, the repository windows counted by
-- plain queries: repo_events_since goes). events.action is stored as its
-- key, payload.action with the ASCII letters lower-cased (lower(action
-- COLLATE "C"), which
-- changes A-Z only, whatever the database's locale; the writers apply the
-- same rule in Go, model.ActionKey). The summaries, the triggers and the
-- queries then compare the column as it is: no lower() on either side, and
-- the API lower-cases its action filter once. NULL is still "no action",
-- the empty string in the summaries.
--
-- Why a column kept as the key rather than a generated column or an
-- expression index: adding a GENERATED ... STORED column rewrites every
-- row of every partition (hours at a hundred million events, under an
-- ACCESS EXCLUSIVE lock), and an expression index is one more B-tree for
-- every insert to update. Here only the rows whose action is not its key
-- are written, and GitHub sends its actions in lower case, so those are few
-- or none.
--
-- Locks: SHARE on events for the whole migration, so no writer stores a row
-- under the old rule between the look-up and the constraint (writers wait;
-- queries go on), while one scan finds the rows to change; then, for the
-- catalogue changes at the end, ACCESS EXCLUSIVE for a moment.
-- README.md (upgrade notes) has how long it took on the 10M store.
LOCK TABLE events IN SHARE MODE;

-- The rows whose stored action is not its key, or whose old summary key
-- (lower(action) under the database's locale, as 002 counted it) is not
-- its new one: 'Closed' (stored changes), 'É' (lower() made it 'é', the key
-- keeps it). An index-only scan of events_created_idx, which carries the
-- type and the action, rather than a read of every row.
DO $do$
BEGIN
    SET LOCAL enable_seqscan = off;
    CREATE TEMP TABLE events_action_fix ON COMMIT DROP AS
    SELECT e.created_at, e.type, e.action, lower(e.action) AS old_key, lower(e.action COLLATE "C") AS new_key
    FROM events e
    WHERE e.action <> lower(e.action COLLATE "C") OR e.action <> lower(e.action);
    SET LOCAL enable_seqscan = on;
    ANALYZE events_action_fix;

    -- Their counts move from the old key to the new one.
    UPDATE event_type_counts c SET events = c.events - m.events
    FROM (SELECT f.type, f.old_key, count(*) AS events FROM events_action_fix f
          WHERE f.old_key <> f.new_key GROUP BY 1, 2 ORDER BY 1, 2) m
    WHERE c.type = m.type AND c.action = m.old_key;
    INSERT INTO event_type_counts AS c (type, action, events)
    SELECT f.type, f.new_key, count(*) FROM events_action_fix f
    WHERE f.old_key <> f.new_key GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, action) DO UPDATE SET events = c.events + excluded.events;
    DELETE FROM event_type_counts WHERE events <= 0;

    UPDATE event_hourly_counts c SET events = c.events - m.events
    FROM (SELECT date_trunc('hour', f.created_at, 'UTC') AS hour, f.type, f.old_key, count(*) AS events
          FROM events_action_fix f WHERE f.old_key <> f.new_key GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) m
    WHERE c.hour = m.hour AND c.type = m.type AND c.action = m.old_key;
    INSERT INTO event_hourly_counts AS c (hour, type, action, events)
    SELECT date_trunc('hour', f.created_at, 'UTC'), f.type, f.new_key, count(*) FROM events_action_fix f
    WHERE f.old_key <> f.new_key GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, type, action) DO UPDATE SET events = c.events + excluded.events;
    DELETE FROM event_hourly_counts WHERE events <= 0;

    -- The rows themselves, found again by created_at (events_created_idx):
    -- every row of that time with that action gets the same key. No
    -- trigger of events counts an UPDATE; the data version grows.
    UPDATE events e SET action = f.new_key
    FROM (SELECT DISTINCT created_at, action, new_key FROM events_action_fix WHERE action <> new_key) f
    WHERE e.created_at = f.created_at AND e.action = f.action;
    DROP TABLE events_action_fix;
END
$do$;

-- The summaries of 002 without lower(): the stored action is the key.
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

-- repo_events_since of 002 goes: the store decides in Go which side of
-- the window to count (sql/queries/metrics.sql, MetricsRepoTypeSpans).
DROP FUNCTION repo_events_since(text, text, bigint, timestamptz, text);

-- A new month's table must carry the parent's CHECK constraints before it
-- is attached: events_ensure_month of 007 copies them now (INCLUDING
-- CONSTRAINTS).
CREATE OR REPLACE FUNCTION events_ensure_month(p_at timestamptz) RETURNS text
LANGUAGE plpgsql SET TimeZone = 'UTC' SET lock_timeout = '50ms' AS $fn$
DECLARE
    m_from timestamptz := date_trunc('month', p_at);
    m_to   timestamptz := date_trunc('month', p_at) + interval '1 month';
    part   text;
BEGIN
    SELECT p.name INTO part FROM event_partitions p WHERE p.from_at <= m_from AND m_from < p.to_at;
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ghevents events partitions'));
    SELECT p.name INTO part FROM event_partitions p WHERE p.from_at <= m_from AND m_from < p.to_at;
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    part := 'events_' || to_char(m_from, 'YYYY_MM');
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)', part);
    -- Owned by the owner of events, like the partitions the migration made
    -- (only a member of that role may attach it).
    EXECUTE format('ALTER TABLE %I OWNER TO %I', part,
                   (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = 'public.events'::regclass));
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, m_from, m_to);
    RETURN part;
END
$fn$;

-- Every row written from now on is checked. NOT VALID: the rows already
-- stored are not scanned a second time to prove it; the statements above,
-- under the SHARE lock, made each of them its key. (VALIDATE CONSTRAINT
-- events_action_key would prove it with one more read of every row, under
-- a SHARE UPDATE EXCLUSIVE lock.) A partition made later gets the
-- constraint validated, since it starts empty.
ALTER TABLE events ADD CONSTRAINT events_action_key CHECK (action = lower(action COLLATE "C")) NOT VALID;

---- create above / drop below ----

-- Back to lower() on both sides. The stored actions stay their keys (002's
-- lower() gives the same for them, but for a non-ASCII capital such as
-- 'É', which the key keeps and lower() changes): the counts of those move
-- back to the key 002 counts them under.
LOCK TABLE events IN SHARE MODE;

DO $do$
BEGIN
    SET LOCAL enable_seqscan = off;
    CREATE TEMP TABLE events_action_fix ON COMMIT DROP AS
    SELECT e.created_at, e.type, e.action AS old_key, lower(e.action) AS new_key
    FROM events e
    WHERE e.action <> lower(e.action);
    SET LOCAL enable_seqscan = on;

    UPDATE event_type_counts c SET events = c.events - m.events
    FROM (SELECT f.type, f.old_key, count(*) AS events FROM events_action_fix f GROUP BY 1, 2 ORDER BY 1, 2) m
    WHERE c.type = m.type AND c.action = m.old_key;
    INSERT INTO event_type_counts AS c (type, action, events)
    SELECT f.type, f.new_key, count(*) FROM events_action_fix f GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (type, action) DO UPDATE SET events = c.events + excluded.events;
    DELETE FROM event_type_counts WHERE events <= 0;

    UPDATE event_hourly_counts c SET events = c.events - m.events
    FROM (SELECT date_trunc('hour', f.created_at, 'UTC') AS hour, f.type, f.old_key, count(*) AS events
          FROM events_action_fix f GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) m
    WHERE c.hour = m.hour AND c.type = m.type AND c.action = m.old_key;
    INSERT INTO event_hourly_counts AS c (hour, type, action, events)
    SELECT date_trunc('hour', f.created_at, 'UTC'), f.type, f.new_key, count(*) FROM events_action_fix f
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, type, action) DO UPDATE SET events = c.events + excluded.events;
    DELETE FROM event_hourly_counts WHERE events <= 0;
    DROP TABLE events_action_fix;
END
$do$;

-- events_ensure_month as 007 made it.
CREATE OR REPLACE FUNCTION events_ensure_month(p_at timestamptz) RETURNS text
LANGUAGE plpgsql SET TimeZone = 'UTC' SET lock_timeout = '50ms' AS $fn$
DECLARE
    m_from timestamptz := date_trunc('month', p_at);
    m_to   timestamptz := date_trunc('month', p_at) + interval '1 month';
    part   text;
BEGIN
    SELECT p.name INTO part FROM event_partitions p WHERE p.from_at <= m_from AND m_from < p.to_at;
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ghevents events partitions'));
    SELECT p.name INTO part FROM event_partitions p WHERE p.from_at <= m_from AND m_from < p.to_at;
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    part := 'events_' || to_char(m_from, 'YYYY_MM');
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING GENERATED)', part);
    -- Owned by the owner of events, like the partitions the migration made
    -- (only a member of that role may attach it).
    EXECUTE format('ALTER TABLE %I OWNER TO %I', part,
                   (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = 'public.events'::regclass));
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, m_from, m_to);
    RETURN part;
END
$fn$;

-- repo_events_since as 002 made it.
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

-- The summaries as 002 made them.
CREATE OR REPLACE FUNCTION events_summaries_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
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

CREATE OR REPLACE FUNCTION events_summaries_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
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

ALTER TABLE events DROP CONSTRAINT events_action_key;
