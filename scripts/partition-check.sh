#!/usr/bin/env bash
# Tries the partitioning plan of docs/scaling.md on a throwaway database:
# creates it on the server of TEST_DATABASE_URL, migrates it with ghevents,
# fills it with ROWS generated events (default 100000), runs
# scripts/partition-check.sql, and drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
server=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
rows=${ROWS:-100000}
db=ghevents_partition_check_$$
url=$(printf '%s' "$server" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")
psql "$server" -qc "CREATE DATABASE $db"
trap 'psql "$server" -qc "DROP DATABASE IF EXISTS $db"' EXIT
DATABASE_URL=$url go run ./cmd/ghevents migrate up >/dev/null 2>&1
psql "$url" -X -v rows="$rows" -f scripts/partition-check.sql
