-- name: DataVersion :one
-- DataVersion is the version of the stored events (migration 004): one
-- row, for the ETags of the API's answers. The database is named too, by
-- its cluster's system identifier and its oid (a physical replica has both
-- of its primary): a copy (CREATE DATABASE ... TEMPLATE, or a restore
-- elsewhere) starts with the row of its original, then takes its own way.
SELECT d.epoch::text AS epoch, d.version,
       ((SELECT s.system_identifier FROM pg_catalog.pg_control_system() s)::text || '/' ||
        (SELECT db.oid FROM pg_catalog.pg_database db WHERE db.datname = current_database())::text)::text AS database
FROM data_version d;

-- name: StoredSpan :one
-- StoredSpan is how many events are stored (from the summary table) and
-- the created_at of the oldest and newest (one probe each of
-- events_created_idx, joined back by primary key so that sqlc knows they
-- are NULL when nothing is stored), for the charts' empty states and the
-- index form's window "everything stored".
SELECT c.events, o.created_at AS oldest, n.created_at AS newest
FROM (SELECT coalesce(sum(t.events), 0)::bigint AS events FROM event_type_counts t) c
LEFT JOIN events o ON (o.id, o.created_at) = (
    SELECT e.id, e.created_at FROM events e ORDER BY e.created_at LIMIT 1
)
LEFT JOIN events n ON (n.id, n.created_at) = (
    SELECT e.id, e.created_at FROM events e ORDER BY e.created_at DESC LIMIT 1
);
