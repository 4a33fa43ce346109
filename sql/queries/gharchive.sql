-- name: GHArchiveNewestHour :one
-- GHArchiveNewestHour is the newest hour settled from one base URL, of
-- one status when status is given (no row when there is none). The newest
-- of either status is where the follower goes on.
SELECT hour FROM gharchive_hours
WHERE base_url = @base_url::text AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
ORDER BY hour DESC
LIMIT 1;

-- name: GHArchiveGapsDue :many
-- GHArchiveGapsDue lists the gaps of one base URL due for their daily
-- retry, oldest first.
SELECT hour FROM gharchive_hours
WHERE base_url = @base_url::text AND status = 'gap' AND retry_at <= @now::timestamptz
ORDER BY hour
LIMIT @max_rows::bigint;

-- name: GHArchiveHourDone :execrows
-- GHArchiveHourDone records an hour whose every line is stored, with its
-- counts. An hour already done is left as it is (0 rows): an hour is done
-- once.
INSERT INTO gharchive_hours AS g (base_url, hour, status, archive_events, seen_before_archive, updated_at)
VALUES (@base_url::text, @hour::timestamptz, 'done', @archive_events::bigint, @seen_before_archive::bigint, now())
ON CONFLICT (base_url, hour) DO UPDATE
SET status = 'done', archive_events = EXCLUDED.archive_events, seen_before_archive = EXCLUDED.seen_before_archive,
    reason = NULL, retry_at = NULL, updated_at = now()
WHERE g.status <> 'done';

-- name: GHArchiveHourGap :execrows
-- GHArchiveHourGap records (or, after a failed retry, postpones) a gap. An
-- hour done is never turned into a gap (0 rows).
INSERT INTO gharchive_hours AS g (base_url, hour, status, reason, retry_at, updated_at)
VALUES (@base_url::text, @hour::timestamptz, 'gap', @reason::text, @retry_at::timestamptz, now())
ON CONFLICT (base_url, hour) DO UPDATE
SET reason = EXCLUDED.reason, retry_at = EXCLUDED.retry_at, updated_at = now()
WHERE g.status = 'gap';

-- name: GHArchiveSummary :one
-- GHArchiveSummary counts one base URL's done hours and gaps, for the
-- metrics and /readyz.
SELECT count(*) FILTER (WHERE status = 'done')::bigint AS done,
       count(*) FILTER (WHERE status = 'gap')::bigint AS gaps
FROM gharchive_hours WHERE base_url = @base_url::text;

-- name: EventsSeenBeforeArchive :one
-- EventsSeenBeforeArchive counts, of the given identities (parallel arrays,
-- distinct), the stored events whose source is not 'archive': another
-- source stored them first (NULL: before sources were recorded). One
-- primary-key probe each.
SELECT count(*)::bigint
FROM events e
JOIN (
    SELECT unnest(@ids::bigint[]) AS id, unnest(@created_ats::timestamptz[]) AS created_at
) AS u ON e.id = u.id AND e.created_at = u.created_at
WHERE e.source IS DISTINCT FROM 'archive';
