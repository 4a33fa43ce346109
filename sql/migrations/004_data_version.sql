-- The version of the stored events, for the ETags of the API (/metrics/*):
-- one row whose version grows in the same transaction as every statement
-- that inserts, deletes or updates rows of events, or truncates it. Reading
-- it is one row, whatever the size of events, and a read replica has it
-- exactly as it has the events (it is an ordinary table, replicated with
-- them): an answer computed in the snapshot that read version N is the
-- answer for as long as the version is N.
--
-- epoch is made at random with the row, so two databases (or one dropped
-- and made again) never share a version.
CREATE TABLE data_version (
    singleton boolean     NOT NULL DEFAULT true,
    epoch     uuid        NOT NULL DEFAULT gen_random_uuid(),
    version   bigint      NOT NULL DEFAULT 0,
    CONSTRAINT data_version_pkey PRIMARY KEY (singleton),
    CONSTRAINT data_version_one_row CHECK (singleton)
);
INSERT INTO data_version DEFAULT VALUES;

-- A statement that changed no row (an INSERT ... ON CONFLICT DO NOTHING of
-- events already stored, as the poller's every round holds) leaves the
-- version alone, so the ETags of unchanged answers stay valid.
CREATE FUNCTION events_version_bump() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT FROM changed_events) THEN
        UPDATE data_version SET version = version + 1;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION events_version_bump_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE data_version SET version = version + 1;
    RETURN NULL;
END
$fn$;

-- A trigger with a transition table serves one kind of statement, so there
-- is one per kind. The names sort after events_summaries_*: triggers of one
-- event fire in name order, so a statement locks the summary rows first and
-- the version row last, always in that order (no deadlock between writers).
CREATE TRIGGER events_version_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_update AFTER UPDATE ON events
    REFERENCING NEW TABLE AS changed_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump_truncate();

---- create above / drop below ----

DROP TRIGGER events_version_truncate ON events;
DROP TRIGGER events_version_update ON events;
DROP TRIGGER events_version_delete ON events;
DROP TRIGGER events_version_insert ON events;
DROP FUNCTION events_version_bump_truncate();
DROP FUNCTION events_version_bump();
DROP TABLE data_version;
