-- name: StatsByType :many
-- StatsByType counts the stored events of each type with the oldest and
-- newest, for `ghevents stats` (reads the whole table: an operator's command).
SELECT type,
       count(*)::bigint             AS events,
       min(created_at)::timestamptz AS oldest,
       max(created_at)::timestamptz AS newest
FROM events
GROUP BY type
ORDER BY count(*) DESC, type;

-- name: StatsSizes :one
-- StatsSizes is the disk space of the events table: rows alone, and with
-- its indexes and TOAST.
SELECT pg_relation_size('events')::bigint       AS table_bytes,
       pg_total_relation_size('events')::bigint AS total_bytes,
       pg_database_size(current_database())::bigint AS database_bytes;
