#!/usr/bin/env bash
# Runs every test of the workspace, after scripts/setup.sh has put in place what the suites
# need (so a fresh clone needs nothing else). PostgreSQL and Redis variants run when
# TEST_DATABASE_URL / TEST_REDIS_URL are set, and are named here when they are skipped;
# with TEST_REQUIRE_EXTERNAL=1 a missing service fails the run instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

skipped=()
[ -n "${TEST_DATABASE_URL:-}" ] || skipped+=("PostgreSQL (set TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test)")
[ -n "${TEST_REDIS_URL:-}" ] || skipped+=("Redis (set TEST_REDIS_URL, e.g. redis://127.0.0.1:6379)")
if [ ${#skipped[@]} -gt 0 ]; then
  if [ "${TEST_REQUIRE_EXTERNAL:-}" = 1 ]; then
    printf 'error: TEST_REQUIRE_EXTERNAL=1 but these variants cannot run: %s\n' "${skipped[@]}" >&2
    exit 1
  fi
  echo "================================================================"
  for s in "${skipped[@]}"; do echo "SKIPPING the $s variants"; done
  echo "================================================================"
fi
# Everything the suites need (Debian packages, the Python and Node.js peers, the console's
# tools), installed when missing; quick and silent when it is all there.
scripts/setup.sh test

# The end-to-end tests run the real binary, and the console tests its built pages.
cargo build -p rosetta-server --bin rosetta
scripts/build-console.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace "$@" 2>&1 | tee "$log" || status=$?
# One plain closing line over every test binary (cargo prints one summary per binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
[ "$status" = 0 ] || exit "$status"

if [ ${#skipped[@]} -gt 0 ]; then
  for s in "${skipped[@]}"; do echo "NOTE: the $s variants were skipped"; done
fi
