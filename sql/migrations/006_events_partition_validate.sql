-- Step 2 of 3 of partitioning events by month: validate the CHECK of 005.
-- VALIDATE CONSTRAINT scans the table under a SHARE UPDATE EXCLUSIVE lock:
-- reads and writes go on meanwhile; only other schema changes (and vacuum)
-- wait for it.
DO $do$
BEGIN
    IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = 'events'::regclass AND conname = 'events_partition_range') THEN
        ALTER TABLE events VALIDATE CONSTRAINT events_partition_range;
    END IF;
END
$do$;

---- create above / drop below ----

-- Nothing: a validated constraint is still the constraint 005 made.
SELECT 1;
