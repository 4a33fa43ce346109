-- Queries of the windows that are counted bucket by bucket: the events
-- timeline (/metrics/events-timeline), the windowed totals (events-total-count
-- with until) and the repositories of a window (multiple-events-repos with
-- offset). Each is one plan; internal/store/timeline.go picks the plan in Go.
--
-- A window is [since, until), or [since, ...) when until is NULL: the
-- window ending now also counts the events dated later (clock skew). An
-- event counts in the bucket date_bin(bucket) of its created_at, aligned to
-- UTC (the origin 2001-01-01 00:00 UTC is a whole minute, hour and day),
-- and the events after the last bucket's start count in the last bucket.

-- name: TimelineFromSummaries :many
-- TimelineFromSummaries counts the events of a window per bucket (a whole
-- number of minutes) and type, optionally of one type and one action, from
-- the summaries: the whole hours [hours_from, hours_to) from the hourly
-- summary (hours_to NULL: every hour from hours_from on; buckets of whole
-- hours only), the whole minutes around them, [minutes_from, minutes_to)
-- and [later_minutes_from, later_minutes_to) (NULL: every minute from
-- later_minutes_from on), from the minute summary (no action filter: it
-- keeps no action), and the partial minutes (or, with an action, hours) at
-- either end, [head_from, head_to) and [tail_from, tail_to), from events
-- through events_created_idx or events_type_created_idx (index-only: one
-- range scan each, which an OR of the two would turn into a bitmap scan of
-- the table). An empty range reads nothing; internal/store/timeline.go
-- splits the window. No ORDER BY: the store places each row in its bucket
-- (sorting by type in the database's collation cost more than the rest of
-- the query).
SELECT s.bucket::timestamptz AS bucket, s.type, sum(s.events)::bigint AS events
FROM (
    SELECT least(date_bin(make_interval(secs => @bucket_seconds::float8), h.hour, '2001-01-01 00:00:00+00'::timestamptz),
                 @last_bucket::timestamptz) AS bucket,
           h.type, h.events
    FROM event_hourly_counts h
    WHERE h.hour >= @hours_from::timestamptz
      AND (sqlc.narg(hours_to)::timestamptz IS NULL OR h.hour < sqlc.narg(hours_to)::timestamptz)
      AND (sqlc.narg(event_type)::text IS NULL OR h.type = sqlc.narg(event_type)::text)
      AND (sqlc.narg(action)::text IS NULL OR h.action = sqlc.narg(action)::text)
    UNION ALL
    SELECT least(date_bin(make_interval(secs => @bucket_seconds::float8), m.minute, '2001-01-01 00:00:00+00'::timestamptz),
                 @last_bucket::timestamptz),
           m.type, m.events
    FROM event_minute_counts m
    WHERE m.minute >= @minutes_from::timestamptz AND m.minute < @minutes_to::timestamptz
      AND sqlc.narg(action)::text IS NULL
      AND (sqlc.narg(event_type)::text IS NULL OR m.type = sqlc.narg(event_type)::text)
    UNION ALL
    SELECT least(date_bin(make_interval(secs => @bucket_seconds::float8), m.minute, '2001-01-01 00:00:00+00'::timestamptz),
                 @last_bucket::timestamptz),
           m.type, m.events
    FROM event_minute_counts m
    WHERE m.minute >= @later_minutes_from::timestamptz
      AND (sqlc.narg(later_minutes_to)::timestamptz IS NULL OR m.minute < sqlc.narg(later_minutes_to)::timestamptz)
      AND sqlc.narg(action)::text IS NULL
      AND (sqlc.narg(event_type)::text IS NULL OR m.type = sqlc.narg(event_type)::text)
    UNION ALL
    SELECT least(date_bin(make_interval(secs => @bucket_seconds::float8), e.created_at, '2001-01-01 00:00:00+00'::timestamptz),
                 @last_bucket::timestamptz),
           e.type, 1
    FROM events e
    WHERE e.created_at >= @head_from::timestamptz AND e.created_at < @head_to::timestamptz
      AND (sqlc.narg(event_type)::text IS NULL OR e.type = sqlc.narg(event_type)::text)
      AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
    UNION ALL
    SELECT least(date_bin(make_interval(secs => @bucket_seconds::float8), e.created_at, '2001-01-01 00:00:00+00'::timestamptz),
                 @last_bucket::timestamptz),
           e.type, 1
    FROM events e
    WHERE e.created_at >= @tail_from::timestamptz AND e.created_at < @tail_to::timestamptz
      AND (sqlc.narg(event_type)::text IS NULL OR e.type = sqlc.narg(event_type)::text)
      AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
) s
GROUP BY 1, 2;

-- name: TimelineFromEvents :many
-- TimelineFromEvents counts the events of a window per bucket and type in
-- events, optionally of one type, one repository (case-insensitive, through
-- events_repo_type_created_idx) and one action: for minute buckets of one
-- action, and for every bucket of one repository (the summaries do not
-- keep repositories by time). No ORDER BY, as in TimelineFromSummary.
SELECT least(date_bin(make_interval(secs => @bucket_seconds::float8), e.created_at, '2001-01-01 00:00:00+00'::timestamptz),
             @last_bucket::timestamptz)::timestamptz AS bucket,
       e.type, count(*)::bigint AS events
FROM events e
WHERE e.created_at >= @since::timestamptz
  AND (sqlc.narg(until)::timestamptz IS NULL OR e.created_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(event_type)::text IS NULL OR e.type = sqlc.narg(event_type)::text)
  AND (sqlc.narg(repo_name)::text IS NULL OR e.repo_key = lower(sqlc.narg(repo_name)::text))
  AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
GROUP BY 1, 2;

-- name: WindowOldest :one
-- WindowOldest is the created_at of the oldest event of a window, optionally
-- of one action; NULL when none. The event is joined back by primary key, as
-- in MetricsEventSpan: the LEFT JOIN tells sqlc its time may be NULL.
SELECT o.created_at AS oldest
FROM (SELECT 1) AS one
LEFT JOIN events o ON (o.id, o.created_at) = (
    SELECT e.id, e.created_at FROM events e
    WHERE e.created_at >= @since::timestamptz
      AND (sqlc.narg(until)::timestamptz IS NULL OR e.created_at < sqlc.narg(until)::timestamptz)
      AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
    ORDER BY e.created_at
    LIMIT 1
);

-- name: WindowOldestOfRepo :one
-- WindowOldestOfRepo is WindowOldest for one repository (case-insensitive):
-- the oldest of one index probe per type the repository has events of
-- (events_repo_type_created_idx), so a repository with few events is not
-- looked for along the whole time index.
SELECT o.created_at AS oldest
FROM (SELECT 1) AS one
LEFT JOIN events o ON (o.id, o.created_at) = (
    SELECT f.id, f.created_at
    FROM (SELECT DISTINCT t.type FROM event_type_counts t) ty
    JOIN repo_type_counts r ON r.type = ty.type AND r.repo_key = lower(@repo_name::text)
    CROSS JOIN LATERAL (
        SELECT e.id, e.created_at FROM events e
        WHERE e.repo_key = r.repo_key AND e.type = r.type AND e.created_at >= @since::timestamptz
          AND (sqlc.narg(until)::timestamptz IS NULL OR e.created_at < sqlc.narg(until)::timestamptz)
          AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action)::text)
        ORDER BY e.created_at
        LIMIT 1
    ) f
    ORDER BY f.created_at
    LIMIT 1
);

-- name: WindowTopRepos :many
-- WindowTopRepos lists the repositories with more than min_events events of
-- one type created in a window, most first, then by name (case-insensitive,
-- bytewise, as MetricsTopRepos), at most max_rows, each row carrying how many
-- repositories qualify in all (no row: none). The window's events of the
-- type are read from events_type_created_idx alone (it includes repo_key,
-- migration 008); the names, the spelling of each repository's newest event,
-- are joined for the rows returned only.
WITH w AS (
    SELECT e.repo_key, count(*) AS events
    FROM events e
    WHERE e.type = @event_type::text AND e.created_at >= @since::timestamptz
      AND (sqlc.narg(until)::timestamptz IS NULL OR e.created_at < sqlc.narg(until)::timestamptz)
    GROUP BY e.repo_key
    HAVING count(*) > @min_events::bigint
), top AS (
    SELECT w.repo_key, w.events, count(*) OVER () AS total
    FROM w
    ORDER BY w.events DESC, w.repo_key COLLATE "C"
    LIMIT @max_rows::bigint
)
SELECT r.repo_name, top.events::bigint AS events, top.total::bigint AS total
FROM top
JOIN repo_type_counts r ON r.type = @event_type::text AND r.repo_key = top.repo_key
ORDER BY top.events DESC, top.repo_key COLLATE "C";

-- name: NewestOfType :one
-- NewestOfType is the created_at of the newest event of a type (NULL when
-- none): one backward probe of events_type_created_idx per partition; the
-- LEFT JOIN, as in WindowOldest, tells sqlc the time may be NULL.
SELECT o.created_at AS newest
FROM (SELECT 1) AS one
LEFT JOIN events o ON (o.id, o.created_at) = (
    SELECT e.id, e.created_at FROM events e WHERE e.type = @event_type::text ORDER BY e.created_at DESC LIMIT 1
);

-- name: RecentRepeatCount :one
-- RecentRepeatCount is how many repositories have two events or more of a
-- type created at or after since (the window reaching the newest stored
-- event): the pairs whose second newest event is that recent, counted in
-- repo_type_counts_prev_idx alone.
SELECT count(*)::bigint AS repos
FROM repo_type_counts r
WHERE r.type = @event_type::text AND r.prev_at >= @since::timestamptz;

-- name: WindowTopCandidates :many
-- WindowTopCandidates pages through the repositories of a type with two
-- events or more of all time, most first, then by name (bytewise), through
-- repo_type_counts_rank_idx, from just after (after_events, after_key) on
-- (events <= after_events is the range of the index to scan), at most
-- max_rows of them, each with its count in the window [since, until)
-- (until NULL: no end) through events_repo_type_created_idx. The count of
-- all time bounds the count in the window: the store stops paging once no
-- later repository can reach its top rows.
SELECT r.repo_key, r.repo_name, r.events AS all_events, w.events::bigint AS window_events
FROM repo_type_counts r
CROSS JOIN LATERAL (
    SELECT count(*) AS events FROM events e
    WHERE e.repo_key = r.repo_key AND e.type = r.type AND e.created_at >= @since::timestamptz
      AND (sqlc.narg(until)::timestamptz IS NULL OR e.created_at < sqlc.narg(until)::timestamptz)
) w
WHERE r.type = @event_type::text AND r.events > 1 AND r.events <= @after_events::bigint
  AND (r.events < @after_events::bigint OR r.repo_key COLLATE "C" > @after_key::text)
ORDER BY r.events DESC, r.repo_key COLLATE "C"
LIMIT @max_rows::bigint;

-- name: WindowTypeEventsAbout :one
-- WindowTypeEventsAbout is about how many events of a type a window holds:
-- the hourly summary's hours from the one holding since to the one before
-- until (or on), which is exact to an hour at either end; enough to choose
-- a plan.
SELECT coalesce(sum(h.events), 0)::bigint AS events
FROM event_hourly_counts h
WHERE h.type = @event_type::text AND h.hour >= date_trunc('hour', @since::timestamptz, 'UTC')
  AND (sqlc.narg(until)::timestamptz IS NULL OR h.hour < sqlc.narg(until)::timestamptz);
