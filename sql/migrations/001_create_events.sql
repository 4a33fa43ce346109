-- Every event GitHub sends, of every type, with the complete JSON as received.
--
-- Identity: an event is the pair (id, created_at), not the id alone. GitHub is
-- reported to have reset its event id sequence on 2025-10-08, so a new id can
-- repeat one from 2016-2020 that a GH Archive backfill stored; the pair also is
-- what a table partitioned by created_at needs as its key. The same event served
-- twice has the same pair and is stored once (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE events (
    id          bigint      NOT NULL,
    type        text        NOT NULL,
    actor_id    bigint,
    actor_login text,
    repo_id     bigint      NOT NULL,
    repo_name   text        NOT NULL,
    -- GitHub compares owner/name case-insensitively; every filter on the
    -- repository goes through this key, so it is computed once, here.
    repo_key    text        NOT NULL GENERATED ALWAYS AS (lower(repo_name)) STORED,
    org_id      bigint,
    org_login   text,
    -- payload.action; NULL for the types that have none (PushEvent, ...).
    action      text,
    created_at  timestamptz NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    -- The event JSON exactly as received; NULL only when an import was run
    -- with --no-payload.
    raw         jsonb,
    CONSTRAINT events_pkey PRIMARY KEY (id, created_at)
);

-- Indexes, one per access path of the metrics (see sql/queries/metrics.sql):
--
-- events_type_created_idx: "events of type T [and action A] in time order".
--   Serves the oldest/newest probes of /metrics/event-avg-time by type, the
--   most recent N gaps drawn by the charts (ORDER BY created_at DESC LIMIT N),
--   and per-type counts over a time range. action is INCLUDEd so an action
--   filter is checked in the index without visiting the table.
CREATE INDEX events_type_created_idx ON events (type, created_at) INCLUDE (action);

-- events_repo_type_created_idx: "events of repository R [of type T] in time
--   order". Serves every metric filtered by repository_name (case-insensitive
--   through repo_key) with an index-only scan: the oldest/newest probes of one
--   (repository, type), and the per-type counts of one repository in a window.
CREATE INDEX events_repo_type_created_idx ON events (repo_key, type, created_at) INCLUDE (action);

-- events_created_idx: "events in a time range, whatever their type". Serves the
--   partial first hour of /metrics/events-total-count (whole hours come from
--   the hourly summary) and retention, which deletes the oldest events first.
CREATE INDEX events_created_idx ON events (created_at) INCLUDE (type, action);

---- create above / drop below ----

DROP TABLE events;
