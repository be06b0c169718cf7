#!/usr/bin/env bash
# Builds the Leptos console to console/dist with cargo + wasm-bindgen (no tool that
# downloads binaries at build time). scripts/setup.sh installs the wasm32 target and the
# wasm-bindgen CLI at exactly the version in Cargo.lock when they are missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
profile="${CONSOLE_PROFILE:-console-release}"
out="$root/console/dist"

scripts/setup.sh run

echo "==> building the console (profile $profile)"
cargo build -p rosetta-console --target wasm32-unknown-unknown --profile "$profile"

rm -rf "$out"
mkdir -p "$out"
# Content-hashed names: the server lets browsers keep them for a year (index.html is
# revalidated on every load and names the current ones).
wasm="$target_dir/wasm32-unknown-unknown/$profile/rosetta-console.wasm"
hash=$(cat "$wasm" console/console.css | sha256sum | cut -c1-16)
name="rosetta-console-$hash"
# No name or producers section: they are debugging aids, and half of the file.
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$out" --out-name "$name" "$wasm"
if command -v wasm-opt >/dev/null 2>&1; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    -o "$out/${name}_bg.wasm" "$out/${name}_bg.wasm"
fi
css="console-$(sha256sum console/console.css | cut -c1-16).css"
cp console/console.css "$out/$css"
sed -e "s|/rosetta-console.js|/$name.js|" -e "s|/console.css|/$css|" console/index.html > "$out/index.html"
echo "==> console built in $out ($(du -sh "$out" | cut -f1))"
