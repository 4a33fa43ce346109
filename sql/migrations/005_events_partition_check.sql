-- Step 1 of 3 of partitioning events by month (006 validates, 007 converts).
--
-- The table as it is becomes one partition of the partitioned events, holding
-- the whole months its rows cover, without copying a row. ATTACH PARTITION
-- trusts a validated CHECK that implies the partition's range instead of
-- scanning the table under its lock, so this migration adds that CHECK, NOT
-- VALID: a change of the catalog only (a moment's ACCESS EXCLUSIVE lock),
-- after which new rows are checked. 006 validates the old rows (a scan that
-- lets reads and writes go on).
--
-- The range: from the month of the oldest row to the end of the month after
-- the newest row or now, whichever is later, so the events a poller writes
-- while the three migrations run still fit. Its bounds are kept in the
-- constraint's comment for 007. An empty table gets no constraint: 007
-- replaces it.
DO $do$
DECLARE
    lo timestamptz;
    hi timestamptz;
BEGIN
    SET LOCAL TimeZone = 'UTC';
    SELECT min(created_at), max(created_at) INTO lo, hi FROM events;
    IF lo IS NULL THEN
        RETURN;
    END IF;
    lo := date_trunc('month', lo);
    hi := date_trunc('month', greatest(hi, now())) + interval '2 months';
    EXECUTE format('ALTER TABLE events ADD CONSTRAINT events_partition_range CHECK (created_at >= %L AND created_at < %L) NOT VALID', lo, hi);
    EXECUTE format('COMMENT ON CONSTRAINT events_partition_range ON events IS %L', lo || '|' || hi);
END
$do$;

---- create above / drop below ----

ALTER TABLE events DROP CONSTRAINT IF EXISTS events_partition_range;
