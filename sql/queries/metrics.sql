-- Metric queries. Optional filters are written `sqlc.narg(x)::text IS NULL
-- OR ...`; the pool plans every statement with its actual values
-- (plan_cache_mode = force_custom_plan), so PostgreSQL folds away the filters
-- not given and uses the index that fits the ones that are.
--
-- A repository is compared through repo_key (lower(repo_name), a generated
-- column), the name given lower-cased here. An action is compared as it is:
-- events.action and the summaries hold its key (migration 011), and the
-- store passes the filter's key (model.ActionKey).

-- name: MetricsEventSpan :one
-- MetricsEventSpan is the count, oldest and newest created_at of the events
-- of one type, optionally of one repository and one action. The count comes
-- from the summary tables (or the repository's index entries when both
-- filters are given); oldest and
-- newest are one index probe each (NULL when nothing matches). The average
-- gap between adjacent events is then (newest - oldest) / (count - 1): the
-- gaps telescope, so their sum is newest - oldest whatever the ties (see
-- MetricsEventGaps for the LAG form).
SELECT c.events_count, o.created_at AS oldest, n.created_at AS newest
FROM (
    SELECT coalesce(CASE
        WHEN sqlc.narg(repo_name)::text IS NULL AND sqlc.narg(action)::text IS NULL THEN
            (SELECT sum(t.events) FROM event_type_counts t WHERE t.type = @event_type::text)
        WHEN sqlc.narg(repo_name)::text IS NULL THEN
            (SELECT t.events FROM event_type_counts t
             WHERE t.type = @event_type::text AND t.action = sqlc.narg(action)::text)
        WHEN sqlc.narg(action)::text IS NULL THEN
            (SELECT r.events FROM repo_type_counts r
             WHERE r.type = @event_type::text AND r.repo_key = lower(sqlc.narg(repo_name)::text))
        ELSE
            -- Both filters: counted in events_repo_type_created_idx (one
            -- repository's events of one type, the action checked in the index).
            (SELECT count(*) FROM events e
             WHERE e.repo_key = lower(sqlc.narg(repo_name)::text) AND e.type = @event_type::text
               AND e.action = sqlc.narg(action)::text)
    END, 0)::bigint AS events_count
) c
-- The oldest and newest matching events are joined back by primary key: one
-- index probe each, and a LEFT JOIN tells sqlc their times may be NULL.
LEFT JOIN events o ON (o.id, o.created_at) = (
    SELECT e.id, e.created_at FROM events e
    WHERE e.type = @event_type::text
      AND (sqlc.narg(repo_name)::text IS NULL OR e.repo_key = lower(sqlc.narg(repo_name)::text))
      AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
    ORDER BY e.created_at LIMIT 1
)
LEFT JOIN events n ON (n.id, n.created_at) = (
    SELECT e.id, e.created_at FROM events e
    WHERE e.type = @event_type::text
      AND (sqlc.narg(repo_name)::text IS NULL OR e.repo_key = lower(sqlc.narg(repo_name)::text))
      AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
    ORDER BY e.created_at DESC LIMIT 1
);

-- name: MetricsEventGaps :many
-- MetricsEventGaps is the reference definition of the average: each matching
-- event's created_at and its gap to the previous one (LAG over created_at),
-- for the newest max_rows events (the oldest of them has no gap and is left
-- out, so pass one more than the gaps wanted). The charts draw these gaps; a test checks their average over
-- all events equals MetricsEventSpan's.
SELECT g.created_at, g.gap_seconds::float8 AS gap_seconds
FROM (
    SELECT r.created_at,
           extract(epoch FROM r.created_at - lag(r.created_at) OVER (ORDER BY r.created_at)) AS gap_seconds
    FROM (
        SELECT e.created_at FROM events e
        WHERE e.type = @event_type::text
          AND (sqlc.narg(repo_name)::text IS NULL OR e.repo_key = lower(sqlc.narg(repo_name)::text))
          AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
        ORDER BY e.created_at DESC
        LIMIT @max_rows::bigint
    ) r
) g
WHERE g.gap_seconds IS NOT NULL
ORDER BY g.created_at;

-- The counts per type since a time (/metrics/events-total-count without a
-- repository) read at most about half of the hourly summary and half an
-- hour of events. The store first reads the oldest and newest stored events
-- (StoredSpan), decides in Go which side of since holds fewer
-- events, and then runs plain queries, all in one snapshot:
--   since at or before the oldest event: the all-time counts;
--   older side: the all-time counts minus the whole hours before boundary;
--   newer side: the whole hours from boundary on;
-- and, for either side, the events between since and boundary (the hour
-- boundary nearest to since) counted in events, taken away or added.

-- name: MetricsTypeCountsAll :many
-- MetricsTypeCountsAll is the all-time count per type, optionally of one
-- action.
SELECT t.type, sum(t.events)::bigint AS events
FROM event_type_counts t
WHERE sqlc.narg(action)::text IS NULL OR t.action = sqlc.narg(action)::text
GROUP BY t.type;

-- name: MetricsTypeCountsHoursBefore :many
-- MetricsTypeCountsHoursBefore is the count per type of the whole hours
-- before boundary, optionally of one action.
SELECT h.type, sum(h.events)::bigint AS events
FROM event_hourly_counts h
WHERE h.hour < @boundary::timestamptz
  AND (sqlc.narg(action)::text IS NULL OR h.action = sqlc.narg(action)::text)
GROUP BY h.type;

-- name: MetricsTypeCountsHoursFrom :many
-- MetricsTypeCountsHoursFrom is the count per type of the whole hours from
-- boundary on, optionally of one action.
SELECT h.type, sum(h.events)::bigint AS events
FROM event_hourly_counts h
WHERE h.hour >= @boundary::timestamptz
  AND (sqlc.narg(action)::text IS NULL OR h.action = sqlc.narg(action)::text)
GROUP BY h.type;

-- name: MetricsTypeCountsBetween :many
-- MetricsTypeCountsBetween counts the events per type created in [from_at,
-- to_at) (at most half an hour), optionally of one action, through
-- events_created_idx.
SELECT e.type, count(*)::bigint AS events
FROM events e
WHERE e.created_at >= @from_at::timestamptz AND e.created_at < @to_at::timestamptz
  AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
GROUP BY e.type;

-- name: MetricsOldestSince :many
-- MetricsOldestSince is the created_at of the oldest event at or after
-- since, optionally of one action (no row when none).
SELECT e.created_at
FROM events e
WHERE e.created_at >= @since::timestamptz
  AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
ORDER BY e.created_at
LIMIT 1;

-- The counts per type of one repository since a time (events-total-count
-- with repository_name) read at most about half of each (repository,
-- type)'s events. The store reads each type's span (MetricsRepoTypeSpans),
-- decides in Go per type which side of since to count, and counts both
-- sides' types in one plain query each, all in one snapshot:
--   no event at or after since: 0;
--   the first event at or after since (no action): the summary count;
--   since nearer the first event than the last (no action): the summary
--     count minus the events before since (MetricsRepoTypeCountsBefore);
--   else, and always with an action: the events from since on
--     (MetricsRepoTypeCountsFrom).

-- name: MetricsRepoTypeSpans :many
-- MetricsRepoTypeSpans is, per type of one repository with an event at or
-- after since (optionally of one action), its count (repo_type_counts), its
-- first and last event's created_at, and the oldest at or after since: one
-- index probe each in events_repo_type_created_idx (no row for a type
-- without such an event: it counts 0). The types come from
-- event_type_counts so that each is one primary-key probe of
-- repo_type_counts (keyed by type first).
SELECT r.type, r.events, f.created_at AS first_at, l.created_at AS last_at, o.created_at AS oldest
FROM (SELECT DISTINCT t.type FROM event_type_counts t) ty
JOIN repo_type_counts r ON r.type = ty.type AND r.repo_key = lower(@repo_name::text)
CROSS JOIN LATERAL (
    SELECT e.created_at FROM events e
    WHERE e.repo_key = r.repo_key AND e.type = r.type AND e.created_at >= @since::timestamptz
      AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
    ORDER BY e.created_at LIMIT 1
) o
CROSS JOIN LATERAL (
    SELECT e.created_at FROM events e WHERE e.repo_key = r.repo_key AND e.type = r.type
    ORDER BY e.created_at LIMIT 1
) f
CROSS JOIN LATERAL (
    SELECT e.created_at FROM events e WHERE e.repo_key = r.repo_key AND e.type = r.type
    ORDER BY e.created_at DESC LIMIT 1
) l
ORDER BY r.type;

-- name: MetricsRepoTypeCountsFrom :many
-- MetricsRepoTypeCountsFrom counts the events of one repository of each of
-- types created at or after since, optionally of one action: one range of
-- events_repo_type_created_idx per type (the action checked in the index).
SELECT e.type, count(*)::bigint AS events
FROM events e
WHERE e.repo_key = lower(@repo_name::text) AND e.type = ANY(@types::text[])
  AND e.created_at >= @since::timestamptz
  AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
GROUP BY e.type;

-- name: MetricsRepoTypeCountsBefore :many
-- MetricsRepoTypeCountsBefore counts the events of one repository of each
-- of types created before since.
SELECT e.type, count(*)::bigint AS events
FROM events e
WHERE e.repo_key = lower(@repo_name::text) AND e.type = ANY(@types::text[])
  AND e.created_at < @since::timestamptz
GROUP BY e.type;

-- name: MetricsTopRepos :many
-- MetricsTopRepos lists the repositories with more than min_events events of
-- one type, most events first, then by name (case-insensitive), at most
-- max_rows of them, each row carrying how many repositories qualify in all
-- (from the histogram of counts; no row means none). min_events must be at
-- least 1: the rank index holds the repositories with more than one event.
SELECT r.repo_name, r.events,
       (SELECT coalesce(sum(h.repos), 0) FROM repo_count_histogram h
        WHERE h.type = @event_type::text AND h.events > @min_events::bigint)::bigint AS total
FROM repo_type_counts r
WHERE r.type = @event_type::text AND r.events > @min_events::bigint
ORDER BY r.events DESC, r.repo_key COLLATE "C"
LIMIT @max_rows::bigint;
