#!/usr/bin/env bash
# Runs each fuzz target (go test -fuzz) for a while, one after another:
#   scripts/fuzz.sh DURATION PACKAGE:Target...
# Prints one line per target with the executions run; on a failure, the
# whole output (the crasher is written under the package's testdata/fuzz/).
set -euo pipefail
time="$1"
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
  pkg="${t%%:*}"
  name="${t##*:}"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" "$pkg" >"$out" 2>&1; then
    cat "$out"
    echo "fuzz $name ($pkg): FAILED" >&2
    exit 1
  fi
  # The last progress line holds the total executions. A run shorter than
  # the baseline (every seed and cached input run once) has none.
  execs=$(grep -o 'execs: [0-9]*' "$out" | tail -n 1 | cut -d' ' -f2 || true)
  corpus=$(grep -o 'total: [0-9]*' "$out" | tail -n 1 | cut -d' ' -f2 || true)
  if [ -z "$execs" ]; then
    base=$(grep -o 'baseline coverage: [0-9]*/[0-9]*' "$out" | tail -n 1 | cut -d' ' -f3 || true)
    echo "fuzz $name ($pkg): $time ran the baseline only (${base:-?} corpus inputs), no failure"
  else
    echo "fuzz $name ($pkg): $execs executions in $time, corpus ${corpus:-?}, no failure"
  fi
done
