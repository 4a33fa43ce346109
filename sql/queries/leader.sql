-- Leader election of the pollers: a session-level advisory lock held on a
-- dedicated connection (not from the pool). The session holds the lock
-- until it unlocks it or ends, so a poller whose process or connection
-- dies frees it by itself. pg_locks shows a bigint key as classid (the
-- high 32 bits) and objid (the low 32 bits) with objsubid 1.

-- name: LeaderTryLock :one
-- LeaderTryLock takes the lock without waiting; false when another session
-- holds it.
SELECT pg_try_advisory_lock(@lock_key::bigint)::boolean AS locked;

-- name: LeaderHoldsLock :one
-- LeaderHoldsLock tells whether this session holds the lock.
SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_locks l
    WHERE l.locktype = 'advisory'
      AND l.pid = pg_backend_pid()
      AND l.granted
      AND l.classid = ((@lock_key::bigint >> 32) & 4294967295)::oid
      AND l.objid = (@lock_key::bigint & 4294967295)::oid
      AND l.objsubid = 1
)::boolean AS held;

-- name: LeaderUnlock :one
-- LeaderUnlock releases the lock; false when this session did not hold it.
SELECT pg_advisory_unlock(@lock_key::bigint)::boolean AS unlocked;

-- name: LeaderHolder :many
-- LeaderHolder is the session holding the lock, if any: its process id and
-- application_name (ghevents puts the poller's identity there).
SELECT l.pid::integer AS pid, coalesce(a.application_name, '')::text AS application_name
FROM pg_catalog.pg_locks l
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.classid = ((@lock_key::bigint >> 32) & 4294967295)::oid
  AND l.objid = (@lock_key::bigint & 4294967295)::oid
  AND l.objsubid = 1;
