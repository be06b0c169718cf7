#!/usr/bin/env bash
# `make run`: builds the console and the server, then serves on the embedded defaults
# (SQLite, in-process store, emails in ./data/outbox, http://localhost:8080). A first build
# takes minutes (README: Quick start); each stage says what it does and how long it took.
# Arguments go to `rosetta serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
stage() { echo "==> make run [$(($(date +%s) - started)) s]: $*"; }

stage "1/3 the admin console (WebAssembly; the first time also the wasm32 target and wasm-bindgen-cli)"
scripts/build-console.sh
stage "2/3 the server (cargo build -p rosetta-server; the first time every dependency too)"
cargo build -p rosetta-server --bin rosetta
stage "3/3 starting Rosetta: console at http://localhost:8080, data in ./data (Ctrl-C stops it)"
exec cargo run -q -p rosetta-server --bin rosetta -- serve "$@"
