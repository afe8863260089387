#!/usr/bin/env bash
# Runs every Go fuzz target of the project, one after the other, for the
# time given as $1 (a go test -fuzztime value such as 10s or 500x; default
# 10s). Targets are found by their "func FuzzXxx(f *testing.F)" lines, so a
# new target runs without a change here. A crash fails the script; go test
# then writes the failing input to the package's testdata/fuzz/FuzzXxx/,
# where it stays as a regression seed once committed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${1:-10s}"

# "dir name" pairs, such as "shared/origin FuzzCheckReturnTo".
targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' \
  shared internal cmd functions 2>/dev/null \
  | sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\(.*#\1 \2#' \
  | sort -u)

if [ -z "$targets" ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

count=0
while read -r dir name; do
  printf '\n== %s in ./%s for %s\n' "$name" "$dir" "$fuzztime"
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "./$dir" </dev/null
  count=$((count + 1))
done <<< "$targets"

printf '\n== %d fuzz targets passed\n' "$count"
