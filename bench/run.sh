#!/usr/bin/env bash
# Runs every performance and reliability measurement of the project and
# writes the results to build/bench/<UTC time>/; `make bench` runs it.
# docs/performance.md explains each figure and how to read it.
#
# Steps: the machine's description, binary sizes (stripped, linux/arm64),
# warm handler benchmarks, cold starts under aws-lambda-rie against a
# hello-world floor, backend calls per operation and the cost model, a
# bounded load run on 127.0.0.1, and the concurrency and fault tests.
#
# Sizes can be changed with environment variables: BENCH_COUNT (runs of each
# handler benchmark, 5), BENCH_TIME (go test -benchtime, 2s), COLD_STARTS
# (starts per function, 30), LOAD_VISITORS (16), LOAD_LOGINS (3000),
# LOAD_DURATION (60s). Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_COUNT="${BENCH_COUNT:-5}"
BENCH_TIME="${BENCH_TIME:-2s}"
COLD_STARTS="${COLD_STARTS:-30}"
LOAD_VISITORS="${LOAD_VISITORS:-16}"
LOAD_LOGINS="${LOAD_LOGINS:-3000}"
LOAD_DURATION="${LOAD_DURATION:-60s}"

# Tests that need moto fail, rather than skip, when it is missing.
export REQUIRE_TEST_SERVERS=1

# absolute, because go test runs each package in its own folder
out="$PWD/build/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "checking tools"
for tool in go moto_server; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool (run bash .ci/run once, or see README.md, Tests)" >&2; exit 1; }
done

step "machine"
{
  echo "date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "go: $(go version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$out/machine.txt"

step "binary sizes (stripped, linux/arm64)"
make --no-print-directory build-arm64 >/dev/null
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w" \
  -o build/arm64/hello/bootstrap ./bench/hello
{
  echo "| function | bytes | MB (10^6 bytes) |"
  echo "|---|---|---|"
  for fn in hello authorize callback account logout session; do
    bytes=$(stat -c %s "build/arm64/$fn/bootstrap")
    awk -v fn="$fn" -v b="$bytes" 'BEGIN { printf "| %s | %d | %.2f |\n", fn, b, b / 1e6 }'
  done
} | tee "$out/sizes.md"

step "warm handler benchmarks (go test -bench, $BENCH_COUNT runs of $BENCH_TIME)"
go test -run '^$' -bench . -benchtime "$BENCH_TIME" -count "$BENCH_COUNT" -timeout 20m ./shared/handler \
  | tee "$out/handler-bench.txt"
bash bench/medians.sh "$out/handler-bench.txt" | tee "$out/handler-bench.md"

step "cold starts under aws-lambda-rie ($COLD_STARTS starts each)"
go run ./bench/coldstart -starts "$COLD_STARTS" -json "$out/coldstart.json" | tee "$out/coldstart.md"

step "backend calls per operation (SDK middleware, moto)"
COST_CALLS_OUT="$out/calls.json" go test -count=1 -run TestBackendCallsPerOperation -v ./bench/costmodel \
  | tee "$out/calls-test.txt"

step "cost model"
go run ./bench/costmodel -calls "$out/calls.json" -bench "$out/handler-bench.txt" -coldstart "$out/coldstart.json" \
  | tee "$out/cost.md"

step "load run ($LOAD_VISITORS visitors, up to $LOAD_LOGINS logins or $LOAD_DURATION)"
go run ./bench/load -visitors "$LOAD_VISITORS" -logins "$LOAD_LOGINS" -duration "$LOAD_DURATION" -json "$out/load.json" \
  | tee "$out/load.md"

step "concurrency and fault tests (moto behind the fault proxy)"
go test -count=1 -timeout 10m -v ./internal/reliability | tee "$out/reliability.txt" \
  | grep -E '^(--- |ok|FAIL|PASS)' || true
grep -qE '^ok ' "$out/reliability.txt" || { echo "reliability tests failed; see $out/reliability.txt" >&2; exit 1; }

step "done"
echo "results in $out"
