-- name: ImportStagingCreate :exec
-- ImportStagingCreate gives the session its own staging table (declared for
-- sqlc in sql/sqlc/import_staging.sql, which says why). It empties itself at
-- each commit, so every batch starts from nothing.
CREATE TEMP TABLE IF NOT EXISTS import_staging (
    id          bigint      NOT NULL,
    type        text        NOT NULL,
    actor_id    bigint      NOT NULL,
    actor_login text        NOT NULL,
    repo_id     bigint      NOT NULL,
    repo_name   text        NOT NULL,
    org_id      bigint      NOT NULL,
    org_login   text        NOT NULL,
    action      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    raw         jsonb,
    source      text        NOT NULL
) ON COMMIT DELETE ROWS;

-- name: ImportStagingCopy :copyfrom
-- ImportStagingCopy loads a batch into the session's staging table with COPY.
INSERT INTO import_staging (
    id, type, actor_id, actor_login, repo_id, repo_name,
    org_id, org_login, action, created_at, raw, source
) VALUES (
    @id, @type, @actor_id, @actor_login, @repo_id, @repo_name,
    @org_id, @org_login, @action, @created_at, @raw, @source
);

-- name: ImportStagingMove :execrows
-- ImportStagingMove stores the staged batch in events. Rows whose identity
-- (id, created_at) is already stored, or repeated in the batch, are skipped,
-- so only newly stored rows reach the statement triggers on events; the
-- affected-row count is the number stored. Rows go in identity order, so two
-- writers storing overlapping batches take their locks in the same order.
INSERT INTO events (
    id, type, actor_id, actor_login, repo_id, repo_name,
    org_id, org_login, action, created_at, raw, source
)
SELECT s.id, s.type, NULLIF(s.actor_id, 0), NULLIF(s.actor_login, ''), s.repo_id, s.repo_name,
       NULLIF(s.org_id, 0), NULLIF(s.org_login, ''), NULLIF(s.action, ''), s.created_at, s.raw,
       NULLIF(s.source, '')::event_source
FROM import_staging AS s
ORDER BY s.id, s.created_at
ON CONFLICT (id, created_at) DO NOTHING;

-- name: ImportStoredIdentities :many
-- ImportStoredIdentities returns which of a batch's identities (parallel
-- arrays of ids and created_at) are already stored: one primary-key probe
-- each. The import then COPYs the others straight into events.
SELECT e.id, e.created_at
FROM events e
JOIN (
    SELECT unnest(@ids::bigint[]) AS id, unnest(@created_ats::timestamptz[]) AS created_at
) AS u ON e.id = u.id AND e.created_at = u.created_at;

-- name: ImportEventsCopy :copyfrom
-- ImportEventsCopy COPYs events straight into the table, the fast path of
-- the import: the caller has left out every identity already stored (and
-- repeated ones). Should another writer store one of them meanwhile, the
-- COPY fails with a unique violation and the caller takes the staged path.
INSERT INTO events (
    id, type, actor_id, actor_login, repo_id, repo_name,
    org_id, org_login, action, created_at, raw, source
) VALUES (
    @id, @type, @actor_id, @actor_login, @repo_id, @repo_name,
    @org_id, @org_login, @action, @created_at, @raw, @source
);
