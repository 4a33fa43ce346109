-- NOT a migration: this file is only read by sqlc (see sqlc.yaml), never
-- applied to a database.
--
-- It declares, for sqlc, the temporary table `import_staging` that every
-- `ghevents import` session creates for itself (ImportStagingCreate in
-- sql/queries/import.sql: CREATE TEMP TABLE ... ON COMMIT DELETE ROWS).
-- Each batch is COPYed there, then moved into events by one
-- INSERT ... SELECT ... ON CONFLICT DO NOTHING in the same transaction.
-- A temporary table is private to its session (concurrent imports never see
-- each other's rows), writes no WAL, and empties itself at each commit; no
-- permanent table exists, so nothing can be left behind in one.
--
-- Keep the columns identical to ImportStagingCreate: the store test
-- TestImportStagingDeclaration compares the two.
--
-- Optional values travel as 0 and the empty string (no pointer to fill per
-- row on the Go side) and become NULL on the way into events.
CREATE TABLE import_staging (
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
);
