#!/usr/bin/env bash
# Puts in place what building and testing Rosetta needs, and nothing when it is all there.
# One path for everyone: `make run` (scripts/run.sh, scripts/build-console.sh) asks for `run`,
# `make test` (scripts/test.sh) for `test`, CI (.ci/run) for `ci`.
#
#   scripts/setup.sh run    what the build needs: Debian's -dev packages of the -sys crates
#                           (samael's xmlsec signing), the wasm32 target, and wasm-bindgen-cli
#                           at Cargo.lock's version (the console)
#   scripts/setup.sh test   run + the test peers: Debian's xmlsec1, redis-server, chromium and
#                           chromium-driver, the Python peers in e2e/.venv (pinned in
#                           e2e/requirements.txt), the Node.js peers (npm ci when the lock changed)
#   scripts/setup.sh ci     test + rustfmt, clippy and the PostgreSQL client
#
# Debian packages are installed when running as root or with passwordless sudo; otherwise the
# script prints the one `apt-get install` line to run and stops (exit 1) before any compile.
# Prerequisites it does not install: Rust (rustup), make, Node.js 20+ with npm, Python 3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

what="${1:-test}"
case "$what" in
  run | test | ci) ;;
  *)
    echo "usage: $0 [run|test|ci]" >&2
    exit 2
    ;;
esac

say() { echo "setup: $*" >&2; }
fail() {
  echo "setup: $*" >&2
  exit 1
}
did=0

# --- Debian packages -------------------------------------------------------------------------
debian_packages() {
  # -sys crates (samael's xmlsec signing: bindgen needs libclang); then the test peers:
  # xmlsec1 (independent signature checks), redis-server (tests start and kill their own),
  # Chromium and its WebDriver (console tests).
  local packages=(pkg-config libclang-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl)
  [ "$what" = run ] || packages+=(xmlsec1 redis-server chromium chromium-driver)
  [ "$what" = ci ] && packages+=(postgresql-client)
  # Debian's own python3 makes virtual environments only with python3-venv.
  if [ "$what" != run ] && command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
  fi
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      fail "missing Debian packages; run this, then again: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  did=1
}

# --- prerequisites ---------------------------------------------------------------------------
prerequisites() {
  command -v cargo >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1 ||
    fail "Rust is needed (https://rustup.rs): cargo and rustup on PATH"
  [ "$what" = run ] && return 0
  command -v python3 >/dev/null 2>&1 || fail "Python 3 is needed (python3 on PATH) for the SMTP and API-fuzzing test peers"
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    fail "Node.js 20 or later with npm is needed for the OpenID provider and SAML SP test peers"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || fail "Node.js 20 or later is needed (found $(node --version))"
}

# --- Rust toolchain parts and cargo-installed tools ------------------------------------------
rust_tools() {
  if [ "$what" = ci ]; then
    local c
    for c in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$c" || {
        say "adding the $c component"
        rustup component add "$c" >&2
        did=1
      }
    done
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target (the console)"
    rustup target add wasm32-unknown-unknown >&2
    did=1
  fi
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    # Not --locked: that fails with this registry; the version itself is exact.
    say "installing wasm-bindgen-cli $want (found: ${have:-none}; a few minutes, once)"
    cargo install -q wasm-bindgen-cli --version "=$want" >&2
    did=1
  fi
}

# --- Python peers ----------------------------------------------------------------------------
python_peers() {
  local venv=e2e/.venv stamp=e2e/.venv/.rosetta-requirements-sha256 want
  want=$(sha256sum e2e/requirements.txt | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
    return 0
  fi
  say "installing the Python test peers (aiosmtpd, schemathesis, dnslib, scim2-server) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r e2e/requirements.txt >&2
  echo "$want" >"$stamp"
  did=1
}

started=$(date +%s)
prerequisites
debian_packages
rust_tools
if [ "$what" != run ]; then
  python_peers
  # Prints a line only when it installs (npm ci when package-lock.json changed).
  e2e/peers/install.sh
fi
if [ "$did" = 1 ]; then
  say "$what set-up done in $(($(date +%s) - started)) s"
fi
