-- What the GH Archive follower (GHARCHIVE_FOLLOW) has done, per base URL
-- (GHARCHIVE_URL: GH Archive or a mirror) and hour file. It survives
-- restarts and fail-over: the next leader goes on after the newest hour
-- recorded for its base URL.
--
-- A row is written once the hour is settled, never before: 'done' after
-- every line of the file is stored (an hour interrupted midway has no row
-- and is imported again from its start; the import is idempotent), 'gap'
-- when the file was still missing GHARCHIVE_GAP_AFTER after the hour's end,
-- or stayed cut short or corrupt after a few downloads. A gap is tried
-- again once a day (retry_at) and becomes 'done' when the file appears.
CREATE TABLE gharchive_hours (
    base_url            text        NOT NULL,
    -- The hour the file is named for (YYYY-MM-DD-H.json.gz), UTC.
    hour                timestamptz NOT NULL,
    status              text        NOT NULL CHECK (status IN ('done', 'gap')),
    -- For 'done': the file's distinct events by (id, created_at), and of
    -- them those whose stored source is not 'archive' (another source had
    -- stored them first). NULL for a gap.
    archive_events      bigint,
    seen_before_archive bigint,
    -- For a gap: why, and when to try again.
    reason              text,
    retry_at            timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gharchive_hours_pkey PRIMARY KEY (base_url, hour),
    CONSTRAINT gharchive_hours_done_counts CHECK (status <> 'done' OR (archive_events IS NOT NULL AND seen_before_archive IS NOT NULL))
);

-- /metrics/coverage reads the imported hours of a window, whatever the base URL.
CREATE INDEX gharchive_hours_done_idx ON gharchive_hours (hour) INCLUDE (archive_events, seen_before_archive, updated_at)
    WHERE status = 'done';

-- /metrics/coverage reads this table: the data version (004), which names
-- the API's answers in their ETags, grows with every change of it too.
CREATE TRIGGER gharchive_hours_version AFTER INSERT OR UPDATE OR DELETE ON gharchive_hours
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump_truncate();

---- create above / drop below ----

DROP TABLE gharchive_hours;
