#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz / libFuzzer) of Rosetta's untrusted-input parsers.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 20; CI runs 20, a longer run 600)
#
# Installs cargo-fuzz (and the nightly toolchain) when missing, builds every target in fuzz/
# with nightly, then runs each one for SECONDS_PER_TARGET from its checked-in seeds
# (fuzz/corpus/<target>). New corpus entries go to a scratch directory, never into git.
# Prints one summary line per target; exits non-zero, naming the input that crashed, when any
# target finds a panic, a crash, a timeout or an out-of-memory. See fuzz/README.md.
#
# Environment: FUZZ_TARGETS (space-separated subset), FUZZ_TARGET_DIR (cargo target dir, default
# /var/cache/rosetta/fuzz-target), FUZZ_CORPUS_OUT (keep the grown corpus there instead of a
# temporary directory), ROSETTA_CARGO_LOCK (flock file serialising cargo on a shared machine,
# default /tmp/rosetta-cargo.lock; empty disables).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET]" >&2
  exit 2
fi

read -r -a targets <<<"${FUZZ_TARGETS:-saml_redirect_request saml_post_request sp_metadata id_token tenant_host}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/cache/rosetta/fuzz-target}"
mkdir -p "$CARGO_TARGET_DIR"

# One cargo at a time on a shared machine; each locked command is short.
lock_file="${ROSETTA_CARGO_LOCK-/tmp/rosetta-cargo.lock}"
locked() {
  if [ -n "$lock_file" ] && command -v flock >/dev/null 2>&1; then
    flock "$lock_file" "$@"
  else
    "$@"
  fi
}

# Largest input per target: room for real requests and metadata with certificates, small
# enough to keep executions fast.
max_len() {
  case "$1" in
    tenant_host) echo 512 ;;
    id_token) echo 4096 ;;
    *) echo 16384 ;;
  esac
}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  locked cargo install cargo-fuzz
fi

# -a: debug assertions and overflow checks on, so arithmetic overflow is a finding too. Build
# and run must use the same flags, or `cargo fuzz run` rebuilds.
build_flags=(--fuzz-dir fuzz -a)
started=$(date +%s)
locked cargo +nightly fuzz build "${build_flags[@]}"
echo "fuzz build: $(( $(date +%s) - started )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
corpus_out="${FUZZ_CORPUS_OUT:-$scratch/corpus}"

summary=()
failed=()
for target in "${targets[@]}"; do
  seeds="fuzz/corpus/$target"
  [ -d "$seeds" ] || { echo "FATAL: no seed corpus $seeds" >&2; exit 1; }
  out="$corpus_out/$target"
  mkdir -p "$out" "fuzz/artifacts/$target"
  log="$scratch/$target.log"
  echo "==> fuzzing $target for ${seconds}s"
  status=0
  # The scratch corpus comes first: libFuzzer writes new entries to the first directory only.
  locked cargo +nightly fuzz run "${build_flags[@]}" "$target" "$out" "$seeds" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
  if [ "$status" -ne 0 ] || grep -q 'Test unit written to' "$log"; then
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "---- last lines of the $target log ----"
    tail -n 60 "$log"
    echo "----"
    summary+=("FAIL $target: exit $status after ${execs:-?} executions; crashing input: ${artifact:-see log above}")
    failed+=("$target")
  else
    rate=$(( ${execs:-0} / seconds ))
    summary+=("ok   $target: ${execs:-?} executions in ${seconds}s (~${rate}/s), ${cov:-no coverage line}")
  fi
done

echo
echo "==> fuzz summary ($(( $(date +%s) - started )) s in all)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAIL: ${#failed[@]} target(s) found a crash: ${failed[*]}" >&2
  echo "Reproduce with: cargo +nightly fuzz run --fuzz-dir fuzz -a <target> <crashing input>;" \
    "minimize with: cargo +nightly fuzz tmin --fuzz-dir fuzz -a <target> <crashing input>" >&2
  exit 1
fi
