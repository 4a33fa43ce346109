-- Monthly partitions of events (migration 007).

-- name: PartitionEnsureMonth :one
-- PartitionEnsureMonth makes sure the UTC month of at has its partition
-- (creating and attaching it when missing) and returns its name. It fails
-- with 55P03 when it waited lock_timeout (50 ms) for its lock: retry.
SELECT events_ensure_month(@at::timestamptz)::text AS name;

-- name: PartitionDrop :one
-- PartitionDrop drops a partition and takes its rows out of the summary
-- tables in the same transaction; the number of events dropped.
SELECT events_drop_partition(@name::text)::bigint AS events;

-- name: PartitionsList :many
-- PartitionsList is every partition of events, oldest first, with its
-- bounds, how many events it holds (from the hourly summary: a partition
-- holds whole hours, so this reads no partition) and its size on disk
-- with its indexes and TOAST.
SELECT p.name, p.from_at::timestamptz AS from_at, p.to_at::timestamptz AS to_at,
       (SELECT coalesce(sum(h.events), 0) FROM event_hourly_counts h
        WHERE h.hour >= p.from_at AND h.hour < p.to_at)::bigint AS events,
       pg_total_relation_size(p.name::regclass)::bigint AS total_bytes
FROM event_partitions p
ORDER BY p.from_at, p.name;
