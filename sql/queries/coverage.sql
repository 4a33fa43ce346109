-- name: CoverageHours :many
-- CoverageHours is, for each UTC hour from since on (and starting before
-- until, when until is given) that holds stored
-- events or a GH Archive hour the follower imported, the newest first and
-- at most max_rows of them: the stored events of the hour and how many a
-- poller stored first (hourly_source_counts), and for an imported hour its
-- file's distinct events and how many of them another source had stored
-- first (gharchive_hours; with several base URLs, the newest import of the
-- hour). total, the same on every row, counts every such hour from since
-- on, so the caller knows how many were left out. Both tables hold one row
-- per hour: a month is some 720 rows read by primary key or index.
WITH archive AS (
    SELECT DISTINCT ON (g.hour) g.hour, g.archive_events, g.seen_before_archive
    FROM gharchive_hours g
    WHERE g.status = 'done' AND g.hour >= @since::timestamptz
      AND (sqlc.narg(until)::timestamptz IS NULL OR g.hour < sqlc.narg(until)::timestamptz)
    ORDER BY g.hour, g.updated_at DESC
), stored AS (
    SELECT c.hour, c.events, c.polled FROM hourly_source_counts c
    WHERE c.hour >= @since::timestamptz
      AND (sqlc.narg(until)::timestamptz IS NULL OR c.hour < sqlc.narg(until)::timestamptz)
)
SELECT coalesce(s.hour, a.hour)::timestamptz AS hour,
       coalesce(s.events, 0)::bigint AS events,
       coalesce(s.polled, 0)::bigint AS polled,
       a.archive_events,
       a.seen_before_archive,
       count(*) OVER ()::bigint AS total
FROM stored s
FULL JOIN archive a ON a.hour = s.hour
ORDER BY 1 DESC
LIMIT @max_rows::bigint;
