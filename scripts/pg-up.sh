#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use (TEST_DATABASE_URL, default
# 127.0.0.1:5432) answers; starts the machine's cluster when it is down.
set -euo pipefail
url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
if pg_isready -q -d "$url" 2>/dev/null; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in $(ls /etc/postgresql 2>/dev/null); do
    echo "PostgreSQL is down: starting cluster $v/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
fi
for _ in $(seq 1 30); do
  if pg_isready -q -d "$url" 2>/dev/null; then exit 0; fi
  sleep 1
done
echo "PostgreSQL at ${url%%\?*} does not answer; start it or set TEST_DATABASE_URL" >&2
exit 1
