-- name: ReplicaLag :one
-- ReplicaLag is how far the database the metric queries read (the read
-- replica) is behind, in seconds, for /readyz and the
-- ghevents_replica_lag_seconds gauge. A standby that has replayed all the
-- WAL it received is 0 behind; one still replaying is as old as the last
-- transaction it replayed (its commit time on the primary). A database that
-- is not in recovery (a primary, a promoted standby) is never behind. known
-- is false when neither can be said: nothing streamed and nothing replayed
-- since the standby started. (Replay past the received position happens
-- after a restart, when the standby replays its own WAL before streaming
-- resumes: it has replayed all it received.)
SELECT (l.lag IS NOT NULL)::bool AS known, coalesce(l.lag, 0)::float8 AS lag_seconds
FROM (
    SELECT CASE
        WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0::float8
        WHEN pg_catalog.pg_last_wal_replay_lsn() >= pg_catalog.pg_last_wal_receive_lsn() THEN 0::float8
        ELSE extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())::float8
    END AS lag
) l;
