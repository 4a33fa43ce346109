-- The Python service's approach, kept only so the benchmarks can measure it
-- beside ours on the same data: fetch every matching row into the
-- application and compute there. Nothing in ghevents serves these: sqlc
-- compiles them into internal/testkit/bench/legacydb, which only the
-- benchmark imports.

-- name: LegacyEventTimes :many
-- LegacyEventTimes is every matching event's created_at, oldest first (the
-- application then averages the gaps).
SELECT e.created_at FROM events e
WHERE e.type = @event_type::text
  AND (sqlc.narg(repo_name)::text IS NULL OR lower(e.repo_name) = lower(sqlc.narg(repo_name)::text))
  AND (sqlc.narg(action)::text IS NULL OR lower(e.action) = lower(sqlc.narg(action)::text))
ORDER BY e.created_at;

-- name: LegacyTypesSince :many
-- LegacyTypesSince is the type of every event created at or after since (the
-- application then counts them).
SELECT e.type FROM events e
WHERE e.created_at >= @since::timestamptz
  AND (sqlc.narg(repo_name)::text IS NULL OR lower(e.repo_name) = lower(sqlc.narg(repo_name)::text))
  AND (sqlc.narg(action)::text IS NULL OR lower(e.action) = lower(sqlc.narg(action)::text));

-- name: LegacyRepoNames :many
-- LegacyRepoNames is the repository of every event of one type (the
-- application then counts per repository and sorts).
SELECT e.repo_name FROM events e WHERE e.type = @event_type::text;
