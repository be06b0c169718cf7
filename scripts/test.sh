#!/usr/bin/env bash
# Runs every test of the workspace. PostgreSQL and Redis variants run when
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
if ! command -v redis-server >/dev/null 2>&1; then
  echo "error: redis-server is not on PATH; the store restart tests start their own (apt-get install redis-server)" >&2
  exit 1
fi

if ! "${PYTHON:-python3}" -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "error: the mail tests need a real SMTP server: pip install aiosmtpd" >&2
  exit 1
fi

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "error: the admin API is fuzzed against its OpenAPI document: pip install 'schemathesis>=4,<5'" >&2
  exit 1
fi

if [ ! -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "error: the browser tests need Chromium and its WebDriver: apt-get install chromium chromium-driver" >&2
  exit 1
fi

# The end-to-end tests drive real peers: an OpenID provider and a SAML SP (Node.js).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: the end-to-end peers need Node.js 20+ and npm" >&2
  exit 1
fi
e2e/peers/install.sh

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
