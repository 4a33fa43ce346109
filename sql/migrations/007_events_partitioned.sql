-- Step 3 of 3: events becomes PARTITION BY RANGE (created_at), one partition
-- per UTC month named for it (events_2015_01 holds [2015-01-01, 2015-02-01)).
--
-- No row is copied: the table as it is becomes the partition of the whole
-- months its rows cover (the range 005 checked and 006 validated), named for
-- its first and last month (events_2024_03 alone, or
-- events_2024_03_through_2024_05). ATTACH trusts the validated CHECK, and
-- the parent's indexes adopt the old table's equal indexes, so nothing is
-- scanned or built: the transaction holds an ACCESS EXCLUSIVE lock on events
-- for a few catalog changes only. An empty table is simply replaced.
--
-- The primary key (id, created_at) already holds the partition key, as a
-- partitioned table's must. The statement triggers of 002 and 004 move to
-- the parent: they fire for every statement run on events, whichever
-- partitions its rows go to, and see all its rows in their transition
-- tables. (A statement run on a partition itself fires none of them:
-- ghevents never writes a partition directly.)
--
-- Months are added by events_ensure_month (below), which every writer calls
-- for the months of a batch before storing it, and which the leader calls
-- for the coming months ahead of need. There is no DEFAULT partition: a
-- month is made when it is first needed, whatever its date.
DROP TRIGGER events_summaries_insert ON events;
DROP TRIGGER events_summaries_delete ON events;
DROP TRIGGER events_version_insert ON events;
DROP TRIGGER events_version_delete ON events;
DROP TRIGGER events_version_update ON events;
DROP TRIGGER events_version_truncate ON events;

DO $do$
DECLARE
    bounds text;
    lo timestamptz;
    hi timestamptz;
    part text;
BEGIN
    SET LOCAL TimeZone = 'UTC';
    SELECT obj_description(oid, 'pg_constraint') INTO bounds
    FROM pg_constraint WHERE conrelid = 'events'::regclass AND conname = 'events_partition_range';
    IF bounds IS NULL THEN
        -- 005 found the table empty. Rows written since (a poller running
        -- through the migration) are few: check them here.
        SELECT min(created_at), max(created_at) INTO lo, hi FROM events;
        IF lo IS NOT NULL THEN
            lo := date_trunc('month', lo);
            hi := date_trunc('month', hi) + interval '1 month';
            EXECUTE format('ALTER TABLE events ADD CONSTRAINT events_partition_range CHECK (created_at >= %L AND created_at < %L)', lo, hi);
        END IF;
    ELSE
        lo := split_part(bounds, '|', 1)::timestamptz;
        hi := split_part(bounds, '|', 2)::timestamptz;
    END IF;

    IF lo IS NULL THEN
        DROP TABLE events;
    ELSE
        part := 'events_' || to_char(lo, 'YYYY_MM');
        IF hi > lo + interval '1 month' THEN
            part := part || '_through_' || to_char(hi - interval '1 month', 'YYYY_MM');
        END IF;
        EXECUTE format('ALTER TABLE events RENAME TO %I', part);
        EXECUTE format('ALTER INDEX events_pkey RENAME TO %I', part || '_pkey');
        EXECUTE format('ALTER INDEX events_type_created_idx RENAME TO %I', part || '_type_created_idx');
        EXECUTE format('ALTER INDEX events_repo_type_created_idx RENAME TO %I', part || '_repo_type_created_idx');
        EXECUTE format('ALTER INDEX events_created_idx RENAME TO %I', part || '_created_idx');
    END IF;

    -- The same columns (repo_key still generated), NOT NULLs and defaults.
    CREATE TABLE events (
        id          bigint      NOT NULL,
        type        text        NOT NULL,
        actor_id    bigint,
        actor_login text,
        repo_id     bigint      NOT NULL,
        repo_name   text        NOT NULL,
        repo_key    text        NOT NULL GENERATED ALWAYS AS (lower(repo_name)) STORED,
        org_id      bigint,
        org_login   text,
        action      text,
        created_at  timestamptz NOT NULL,
        inserted_at timestamptz NOT NULL DEFAULT now(),
        raw         jsonb,
        CONSTRAINT events_pkey PRIMARY KEY (id, created_at)
    ) PARTITION BY RANGE (created_at);

    IF part IS NOT NULL THEN
        EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        -- The partition's bounds say it all now.
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT events_partition_range', part);
    END IF;
END
$do$;

-- The months a partition covers, read from the catalog (for retention, the
-- writers and `ghevents stats`). Bounds are NULL for MINVALUE/MAXVALUE,
-- which ghevents never uses.
CREATE VIEW event_partitions AS
SELECT c.relname::text AS name,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$FROM \('([^']+)'\)$re$)::timestamptz AS from_at,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$TO \('([^']+)'\)$re$)::timestamptz AS to_at
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'public.events'::regclass;

-- The indexes of 001, now on the parent: each partition has its own, and an
-- attached partition's equal index is adopted rather than built.
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action);
CREATE INDEX events_repo_type_created_idx ON events (repo_key, type, created_at) INCLUDE (action);
CREATE INDEX events_created_idx ON events (created_at) INCLUDE (type, action);

CREATE TRIGGER events_summaries_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_insert();
CREATE TRIGGER events_summaries_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_delete();
CREATE TRIGGER events_version_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_update AFTER UPDATE ON events
    REFERENCING NEW TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump_truncate();

-- events_ensure_month makes sure the month of at holds a partition, making
-- it when missing, and returns the partition's name. It creates the table
-- on its own and then ATTACHes it, which takes a SHARE UPDATE EXCLUSIVE lock
-- on events (reads and writes go on; CREATE TABLE ... PARTITION OF would
-- take an ACCESS EXCLUSIVE one, queueing every query behind it). It waits
-- at most lock_timeout for that lock (behind another schema change or a
-- retention drop) and then fails with SQLSTATE 55P03: the caller retries.
-- An advisory lock serializes the writers that make the same month.
CREATE FUNCTION events_ensure_month(p_at timestamptz) RETURNS text
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

-- events_drop_partition drops one partition (a month retention no longer
-- keeps) and takes its rows out of the summaries in the same transaction:
-- a DROP fires no delete trigger. It returns how many events went.
--
-- Locks, in order: SHARE on events (writers wait, readers do not; waited
-- for at most 5 s, behind the writers' transactions in flight), so that no
-- summary row moves while its share is taken out; then, for the DROP
-- itself, ACCESS EXCLUSIVE on events, tried for 50 ms at a time, up to 20
-- times, so that queries queue behind it for 50 ms at most (the DROP waits
-- for the queries in flight; the next ones wait for it). 55P03 when it
-- gives up: the whole drop rolls back and is tried again later.
--
-- The partition holds whole hours, so its share of event_hourly_counts is
-- those hours' rows, and its share of event_type_counts their sum; its
-- share of repo_type_counts (and the histogram) is counted in the
-- partition, as the delete trigger counts the deleted rows.
CREATE FUNCTION events_drop_partition(p_name text) RETURNS bigint
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

---- create above / drop below ----

-- Back to one table. Unlike the way up this copies every row (partitions
-- cannot be merged in place); the summaries stay as they are, since the
-- rows do.
DROP FUNCTION events_drop_partition(text);
DROP FUNCTION events_ensure_month(timestamptz);
DROP VIEW event_partitions;
DROP TRIGGER events_summaries_insert ON events;
DROP TRIGGER events_summaries_delete ON events;
DROP TRIGGER events_version_insert ON events;
DROP TRIGGER events_version_delete ON events;
DROP TRIGGER events_version_update ON events;
DROP TRIGGER events_version_truncate ON events;
ALTER TABLE events RENAME TO events_partitioned;
ALTER INDEX events_pkey RENAME TO events_partitioned_pkey;
CREATE TABLE events (
    LIKE events_partitioned INCLUDING DEFAULTS INCLUDING GENERATED,
    CONSTRAINT events_pkey PRIMARY KEY (id, created_at)
);
INSERT INTO events (id, type, actor_id, actor_login, repo_id, repo_name, org_id, org_login, action, created_at, inserted_at, raw)
SELECT id, type, actor_id, actor_login, repo_id, repo_name, org_id, org_login, action, created_at, inserted_at, raw
FROM events_partitioned;
DROP TABLE events_partitioned;
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action);
CREATE INDEX events_repo_type_created_idx ON events (repo_key, type, created_at) INCLUDE (action);
CREATE INDEX events_created_idx ON events (created_at) INCLUDE (type, action);
CREATE TRIGGER events_summaries_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_insert();
CREATE TRIGGER events_summaries_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_summaries_delete();
CREATE TRIGGER events_version_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_update AFTER UPDATE ON events
    REFERENCING NEW TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump_truncate();
