-- name: EventsInsertBatch :execrows
-- EventsInsertBatch stores a batch of events in one statement, the path of a
-- batch another writer stored some of concurrently. An event whose
-- identity (id, created_at) is already stored, or repeated inside the batch,
-- is skipped; the affected-row count is the number of events newly stored.
-- The arrays are parallel (element i of each describes event i). Optional
-- values travel as 0 or the empty string and are stored as NULL, so the arrays stay plain.
-- sources names which part of ghevents stored each event (an event_source).
INSERT INTO events (
    id, type, actor_id, actor_login, repo_id, repo_name,
    org_id, org_login, action, created_at, raw, source
)
SELECT
    u.id, u.type, NULLIF(u.actor_id, 0), NULLIF(u.actor_login, ''), u.repo_id, u.repo_name,
    NULLIF(u.org_id, 0), NULLIF(u.org_login, ''), NULLIF(u.action, ''), u.created_at, u.raw,
    NULLIF(u.source, '')::event_source
FROM (
    -- Several set-returning functions in one select list advance together,
    -- row i taking element i of every array (sqlc cannot type the
    -- multi-argument form of unnest).
    SELECT
        unnest(@ids::bigint[]) AS id,
        unnest(@types::text[]) AS type,
        unnest(@actor_ids::bigint[]) AS actor_id,
        unnest(@actor_logins::text[]) AS actor_login,
        unnest(@repo_ids::bigint[]) AS repo_id,
        unnest(@repo_names::text[]) AS repo_name,
        unnest(@org_ids::bigint[]) AS org_id,
        unnest(@org_logins::text[]) AS org_login,
        unnest(@actions::text[]) AS action,
        unnest(@created_ats::timestamptz[]) AS created_at,
        unnest(@raws::jsonb[]) AS raw,
        unnest(@sources::text[]) AS source
) AS u
-- Key order: two writers inserting overlapping events (the poller's workers,
-- an import) take their locks in the same order, so they cannot deadlock.
ORDER BY u.id, u.created_at
ON CONFLICT (id, created_at) DO NOTHING;

-- name: EventsAnyStoredIn :one
-- EventsAnyStoredIn reports whether any stored event has its id and its
-- created_at within the given bounds (both inclusive): a batch all of whose
-- identities lie within them, when none does, holds none stored, and its
-- per-identity look-up (EventsStoredIdentities) can be skipped. One short
-- range scan of the primary keys of the partitions of those months; new
-- data (higher ids, later times) finds nothing at once.
SELECT EXISTS (
    SELECT 1 FROM events e
    WHERE e.id BETWEEN @min_id::bigint AND @max_id::bigint
      AND e.created_at BETWEEN @min_created_at::timestamptz AND @max_created_at::timestamptz
)::boolean AS any_stored;

-- name: EventsStoredIdentities :many
-- EventsStoredIdentities returns which of a batch's identities (parallel
-- arrays of ids and created_at) are already stored: one primary-key probe
-- each, into the partition of its month. LATERAL ... LIMIT 1 makes it a
-- nested loop of probes whatever the statistics: a partition filling up
-- before autovacuum has analyzed it was otherwise planned as a hash join
-- over a sequential scan of the whole partition, every batch.
SELECT u.id::bigint AS id, u.created_at::timestamptz AS created_at
FROM (
    SELECT unnest(@ids::bigint[]) AS id, unnest(@created_ats::timestamptz[]) AS created_at
) AS u
CROSS JOIN LATERAL (
    SELECT 1 FROM events e WHERE e.id = u.id AND e.created_at = u.created_at LIMIT 1
) AS stored;

-- name: EventsCopy :copyfrom
-- EventsCopy COPYs events straight into the table: the caller has left out
-- every identity already stored (and repeated ones). Should another writer
-- store one of them meanwhile, the COPY fails with a unique violation and
-- the caller sends the batch through EventsInsertBatch instead.
INSERT INTO events (
    id, type, actor_id, actor_login, repo_id, repo_name,
    org_id, org_login, action, created_at, raw, source
) VALUES (
    @id, @type, @actor_id, @actor_login, @repo_id, @repo_name,
    @org_id, @org_login, @action, @created_at, @raw, @source
);

-- name: EventGet :one
-- EventGet returns one stored event by its identity.
SELECT id, type, actor_id, actor_login, repo_id, repo_name, org_id, org_login,
       action, created_at, inserted_at, raw, source
FROM events
WHERE id = @id::bigint AND created_at = @created_at::timestamptz;

-- name: EventsNewestCreatedAt :one
-- EventsNewestCreatedAt is the created_at of the newest stored event (no row
-- for an empty table). The poller compares it with each round's oldest event
-- to spot rounds that did not overlap what was already stored.
SELECT created_at FROM events ORDER BY created_at DESC LIMIT 1;

-- name: EventsDeleteOlderThan :execrows
-- EventsDeleteOlderThan deletes at most max_rows of the oldest events created
-- before cutoff (retention). Small batches keep each transaction, and the
-- locks the summary triggers take, short. The cutoff is repeated on the
-- outer DELETE so that it reads only the partitions that can hold such rows.
DELETE FROM events
WHERE created_at < @cutoff::timestamptz AND (id, created_at) IN (
    SELECT e.id, e.created_at FROM events e
    WHERE e.created_at < @cutoff::timestamptz
    ORDER BY e.created_at
    LIMIT @max_rows::bigint
);
