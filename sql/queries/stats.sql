-- name: StatsTypeCounts :many
-- StatsTypeCounts is, for `ghevents stats`, the number of stored events of
-- each type, most first, from the summary table event_type_counts (kept
-- exact by the triggers on events; summed over actions): a few rows read,
-- whatever the size of events.
SELECT t.type, sum(t.events)::bigint AS events
FROM event_type_counts t
GROUP BY t.type
ORDER BY sum(t.events) DESC, t.type;

-- name: StatsTypeSpan :one
-- StatsTypeSpan is the oldest and newest created_at of the events of one
-- type: one index probe each, joined back by primary key (as in
-- MetricsEventSpan; the LEFT JOIN tells sqlc they are NULL when no event
-- has the type, as after a TRUNCATE, which fires no delete trigger). Run
-- once per type with its name as a value, so the planner picks, for each,
-- the index that reaches the first match soonest (events_type_created_idx
-- for a rare type). One query joining every type to LATERAL probes was
-- planned as a nested loop over all of events (minutes at 1M rows).
SELECT o.created_at AS oldest, n.created_at AS newest
FROM (SELECT 1) AS one
LEFT JOIN events o ON (o.id, o.created_at) = (
    SELECT e.id, e.created_at FROM events e WHERE e.type = @event_type::text ORDER BY e.created_at LIMIT 1
)
LEFT JOIN events n ON (n.id, n.created_at) = (
    SELECT e.id, e.created_at FROM events e WHERE e.type = @event_type::text ORDER BY e.created_at DESC LIMIT 1
);

-- name: StatsSizes :one
-- StatsSizes is the disk space of events, summed over its partitions: rows
-- alone, and with the indexes and TOAST; and the whole database's.
SELECT coalesce(sum(pg_relation_size(t.relid)), 0)::bigint       AS table_bytes,
       coalesce(sum(pg_total_relation_size(t.relid)), 0)::bigint AS total_bytes,
       pg_database_size(current_database())::bigint AS database_bytes
FROM pg_partition_tree('events') t
WHERE t.isleaf;
