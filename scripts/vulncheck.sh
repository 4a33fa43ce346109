#!/usr/bin/env bash
# Runs govulncheck on the module against the offline vulnerability database
# (scripts/vulndb.sh) and prints its whole report. Fails on every known
# vulnerability in code ghevents reaches, except those listed in
# .govulncheck-accepted (one ID per line, then why), which are printed as
# ACCEPTED on every run so they are not forgotten:
#   scripts/vulncheck.sh VULNDB_VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
db=$(./scripts/vulndb.sh "$1")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
go tool govulncheck -db "$db" ./... >"$out" 2>&1 || status=$?
cat "$out"
# 0: none found; 3: vulnerabilities found; anything else: govulncheck failed.
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
  echo "vulncheck: govulncheck failed (exit status $status)" >&2
  exit "$status"
fi
# The IDs of the symbol results: vulnerabilities in code that is reached.
found=$(awk '/^=== Symbol Results ===/{s=1; next} /^=== /{s=0} s && /^Vulnerability #[0-9]+: GO-/{print $3}' "$out" | sort -u)
accepted=$(grep -o '^GO-[0-9]*-[0-9]*' .govulncheck-accepted 2>/dev/null | sort -u || true)
unaccepted=$(comm -23 <(printf '%s\n' $found) <(printf '%s\n' $accepted) | grep . || true)
for id in $found; do
  if grep -q "^$id" <<<"$accepted"; then
    echo "vulncheck: ACCEPTED, NOT FIXED: $(grep "^$id" .govulncheck-accepted)"
  fi
done
for id in $accepted; do
  if ! grep -q "^$id\$" <<<"$found"; then
    echo "vulncheck: $id is no longer found: remove it from .govulncheck-accepted"
  fi
done
if [ -n "$unaccepted" ]; then
  echo "vulncheck: FAILED: reachable vulnerabilities not accepted:" $unaccepted >&2
  exit 1
fi
echo "vulncheck: $(printf '%s\n' $found | grep -c . || true) reachable vulnerabilities, all listed in .govulncheck-accepted"
