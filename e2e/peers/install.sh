#!/usr/bin/env bash
# Installs the peers' npm dependencies (e2e/peers/node_modules) exactly as locked, when
# they are missing or the lock file changed since the last install. Idempotent: a second
# run with nothing changed does nothing. Needs node and npm on PATH and the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Test binaries may call this at the same time: one installs, the others wait.
exec 9>.install.lock
flock 9

stamp=node_modules/.rosetta-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi
echo "e2e/peers: installing npm dependencies (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"
