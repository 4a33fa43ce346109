#!/usr/bin/env bash
# Builds the Go vulnerability database for govulncheck without the network
# it normally needs (vuln.go.dev cannot be reached here), and prints its
# file:// URL for `govulncheck -db`:
#   scripts/vulndb.sh VERSION [DIR]
# VERSION is a version of the module golang.org/x/vulndb, which the Go
# module proxy serves: its data/osv/ holds every report as OSV JSON. Its own
# tool cmd/indexdb writes them out in the layout govulncheck reads
# (index/db.json, index/modules.json, index/vulns.json, ID/GO-*.json).
# The result is kept in DIR/VERSION (default .cache/vulndb) and reused.
set -euo pipefail
version="$1"
root="${2:-.cache/vulndb}"
mkdir -p "$root"
out="$(cd "$root" && pwd)/$version"
if [ ! -f "$out/index/db.json" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Outside this module, so that neither go.mod nor go.sum changes.
  dir=$(cd "$work" && go mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ ! -d "$dir/data/osv" ]; then
    echo "vulndb: golang.org/x/vulndb@$version has no data/osv" >&2
    exit 1
  fi
  echo "vulndb: indexing $(ls "$dir/data/osv" | wc -l) reports of golang.org/x/vulndb@$version into $out" >&2
  (cd "$work" && go run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$dir/data/osv" -out "$work/db")
  rm -rf "$out"
  mv "$work/db" "$out"
fi
echo "file://$out"
