#!/usr/bin/env bash
# pg-waits.sh DATABASE [SECONDS] [INTERVAL] samples pg_stat_activity every
# INTERVAL seconds (default 0.2) for SECONDS (default 60): the active client
# backends of DATABASE, what each waits on ("CPU" when it waits on nothing:
# running, or in a wait PostgreSQL does not name) and its statement: the
# name of a sqlc query ("-- name: X"), else the statement's first word.
# It prints two tables: the samples per wait, and per statement and wait
# (RAW=file keeps the samples, one line per backend: sample, wait, statement).
#
# It connects to the server's postgres database (PGURL, default
# postgres://postgres@127.0.0.1:5432/postgres), never to DATABASE, so that
# DATABASE can be dropped or copied meanwhile.
set -euo pipefail
db=${1:?usage: pg-waits.sh DATABASE [SECONDS] [INTERVAL]}
secs=${2:-60}
step=${3:-0.2}
url=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres}
n=$(awk -v s="$secs" -v i="$step" 'BEGIN { printf "%d", s / i }')
raw=${RAW:-$(mktemp)}
for ((k = 0; k < n; k++)); do
	echo "SELECT $k, coalesce(wait_event_type || ':' || wait_event, 'CPU'), CASE WHEN query LIKE '-- name: %' THEN split_part(split_part(query, ' ', 3), E'\\n', 1) ELSE coalesce(nullif(split_part(ltrim(query), ' ', 1), ''), '?') END FROM pg_stat_activity WHERE datname = :'db' AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid();"
	echo "SELECT pg_sleep($step);"
done | psql "$url" -X -q -At -F ' ' -v db="$db" | awk 'NF == 3' >"$raw"
total=$(wc -l <"$raw")
echo "# $n samples of $db every ${step}s: $total backend samples"
echo "# per wait"
awk -v t="$total" '{ c[$2]++ } END { for (w in c) printf "%-28s %6d %5.1f %%\n", w, c[w], 100 * c[w] / t }' "$raw" | sort -k2 -nr
echo "# per statement and wait"
awk -v t="$total" '{ c[$3 " " $2]++ } END { for (w in c) printf "%-40s %6d %5.1f %%\n", w, c[w], 100 * c[w] / t }' "$raw" | sort -k3 -nr
