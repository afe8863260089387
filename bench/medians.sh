#!/usr/bin/env bash
# Prints a Markdown table of the median of every metric of each benchmark in
# a go test -bench output given as $1, over its -count runs. Units follow
# the metric names (ns/op, B/op, ...).
set -euo pipefail

awk '
/^Benchmark/ {
  name = $1
  sub(/-[0-9]+$/, "", name)
  if (!(name in seen)) { seen[name] = 1; names[++n] = name }
  for (i = 3; i + 1 <= NF; i += 2) {
    unit = $(i + 1)
    if (!(unit in useen)) { useen[unit] = 1; units[++u] = unit }
    key = name SUBSEP unit
    count[key]++
    value[key, count[key]] = $i + 0
  }
}
function median(key,    k, j, t, c, v) {
  c = count[key]
  for (k = 1; k <= c; k++) v[k] = value[key, k]
  for (k = 2; k <= c; k++) { t = v[k]; for (j = k - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
  return (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
}
END {
  header = "| benchmark | runs"
  line = "|---|---"
  for (j = 1; j <= u; j++) { header = header " | " units[j]; line = line "|---" }
  print header " |"
  print line "|"
  for (i = 1; i <= n; i++) {
    row = "| " names[i] " | " count[names[i] SUBSEP "ns/op"]
    for (j = 1; j <= u; j++) {
      key = names[i] SUBSEP units[j]
      row = row " | " (count[key] ? sprintf("%.0f", median(key)) : "")
    }
    print row " |"
  }
}
' "$1"
