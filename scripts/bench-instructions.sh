#!/usr/bin/env bash
# Instructions per login, counted by valgrind's callgrind: a figure that does not move with
# the VM's speed, for comparing two commits' user-space work per login exactly (a change of
# half a percent shows). Not a CPU time: kernel work (system calls, thread switches) is not
# counted, and instructions of RSA arithmetic run faster than those of parsing and copying.
# BENCHMARKS.md ("Instruction counts") has the method and figures. Compare runs of the same
# LOGINS: a short run spreads warm-up work (first statement preparations) over fewer logins.
#
#   scripts/bench-instructions.sh            # 200 logins, SQLite + in-process store
#   LOGINS=500 STACK=both scripts/bench-instructions.sh
#   PROFILE=/tmp/logins.callgrind scripts/bench-instructions.sh   # keep the profile of the logins
#   BENCH_ARGS=--mapping scripts/bench-instructions.sh            # ten mapping rules and a groups rule
#   callgrind_annotate --inclusive=yes /tmp/logins.callgrind.* | less
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
logins="${LOGINS:-200}"
stack="${STACK:-embedded}"
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
  || { echo "bench-instructions: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -q -p rosetta-server --bin rosetta -p rosetta-e2e --bin rosetta-bench
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$target/release/rosetta" "$work/rosetta"
# Only the server runs under callgrind; the driver's set-up commands run natively.
cat > "$work/rosetta-callgrind" <<WRAP
#!/bin/sh
if [ "\$1" = serve ]; then
  exec valgrind --quiet --tool=callgrind --callgrind-out-file="$work/serve.%p" "$work/rosetta" "\$@"
fi
exec "$work/rosetta" "\$@"
WRAP
chmod +x "$work/rosetta-callgrind"

# One RSA-2048 signature as Rosetta makes it, counted the same way.
n=50
valgrind --quiet --tool=callgrind --callgrind-out-file="$work/sign.out" \
  --toggle-collect='*rosetta_bench_sign_loop*' "$target/release/rosetta-bench" --sign-only "$n" >/dev/null
per_sign="$(awk -v n="$n" '/^(summary|totals):/ {print int($2 / n); exit}' "$work/sign.out")"
[ -n "$per_sign" ] && [ "$per_sign" -gt 0 ] || { echo "bench-instructions: no signature count" >&2; exit 1; }

ROSETTA_BIN="$work/rosetta-callgrind" "$target/release/rosetta-bench" --peers fast --callgrind ${BENCH_ARGS:-} \
  --logins "$logins" --concurrency 4 --stack "$stack" --json "$work/report.json" >/dev/null
if [ -n "${PROFILE:-}" ]; then
  # The dump the driver asked for after the last login (suffix .1, .2, ... per stack).
  for f in "$work"/serve.*.[0-9]*; do
    [ -e "$f" ] && cp "$f" "$PROFILE.${f##*/serve.}" && echo "profile of the logins: $PROFILE.${f##*/serve.}"
  done
fi
python3 - "$work/report.json" "$per_sign" <<'PY'
import json, sys
reports, per_sign = json.load(open(sys.argv[1])), int(sys.argv[2])
print(f"one RSA-2048 signature (as Rosetta signs): {per_sign:,} instructions")
for r in reports:
    n = r["rosetta_instructions_per_login"]
    print(f"{r['stack']}: {r['logins_ok']}/{r['logins_requested']} logins ok, "
          f"{n:,.0f} instructions per login = {n / per_sign:.2f} signatures' worth")
    if r["failures"]:
        sys.exit("some logins failed")
PY
