-- name: PollerStateGet :one
-- PollerStateGet reads the polling state of one feed (no row before its
-- first complete round).
SELECT feed, etag, round_at, next_round_at, newest_event_at
FROM poller_state
WHERE feed = @feed::text;

-- name: PollerStateSave :execrows
-- PollerStateSave records a completed round. A round older than the one
-- already recorded changes nothing (rounds may complete out of order when
-- several insert workers, or two pollers, save at once), and
-- newest_event_at never moves back (GREATEST ignores NULL). Returns 1 when
-- saved, 0 when an as new or newer round was already recorded.
INSERT INTO poller_state AS s (feed, etag, round_at, next_round_at, newest_event_at, updated_at)
VALUES (@feed::text, @etag::text, @round_at::timestamptz, @next_round_at::timestamptz,
        sqlc.narg(newest_event_at)::timestamptz, now())
ON CONFLICT (feed) DO UPDATE
SET etag            = EXCLUDED.etag,
    round_at        = EXCLUDED.round_at,
    next_round_at   = EXCLUDED.next_round_at,
    newest_event_at = GREATEST(s.newest_event_at, EXCLUDED.newest_event_at),
    updated_at      = now()
WHERE s.round_at < EXCLUDED.round_at;
