#!/usr/bin/env bash
# Runs every test of the project: go vet, cfn-lint, the builds, the Go
# tests and short fuzz runs. The Go tests cover the store contract on the
# embedded store, moto and dynalite, KMS and Secrets Manager on moto and
# local-kms, the built functions under the runtime interface emulator, and
# the browser journeys in headless Chromium. `make test` runs this script;
# .ci/run installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests that need a local server fail, rather than skip, when it is missing.
export REQUIRE_TEST_SERVERS=1

# Screenshots of the browser journeys are kept here as test artefacts.
export BROWSER_ARTIFACTS="${BROWSER_ARTIFACTS:-$PWD/build/test-artifacts}"
mkdir -p "$BROWSER_ARTIFACTS"

step() { printf '\n== %s\n' "$*"; }

step "checking tools"
missing=0
for tool in go node moto_server cfn-lint; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "missing: $tool (run bash .ci/run once, or see README.md, Tests)" >&2
    missing=1
  fi
done
if [ ! -f node_modules/dynalite/cli.js ]; then
  echo "missing: node_modules/dynalite (run npm ci)" >&2
  missing=1
fi
[ "$missing" = 0 ] || exit 1

step "go vet"
go vet ./...

step "template lint (cfn-lint)"
cfn-lint template.yaml

step "build the functions: arm64 (deployed) and the host architecture (emulator tests)"
make --no-print-directory build

step "go test"
go test -count=1 -timeout 30m ./...

if [ -x scripts/fuzz.sh ]; then
  step "short fuzz runs"
  bash scripts/fuzz.sh "${FUZZ_TIME:-10s}"
fi
