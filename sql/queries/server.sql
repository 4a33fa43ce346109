-- name: ServerAutovacuum :one
-- ServerAutovacuum says whether the server runs autovacuum. Without it the
-- summary tables, updated by every write, keep each dead row version until
-- a manual VACUUM: the store grows and its upkeep slows month after month.
SELECT current_setting('autovacuum')::bool AS autovacuum;
