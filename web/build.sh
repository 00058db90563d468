#!/usr/bin/env bash
# Builds the app for the browser into web/dist/, which any static server can serve, e.g.
#   python3 -m http.server --directory web/dist 8080
# Needs only the package registries: the wasm32 target (rustup) and wasm-bindgen-cli (cargo), at
# exactly the version of the wasm-bindgen crate in Cargo.lock, installed under a cache folder.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
tools="${STEPWISE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/stepwise-tools}"
dist=web/dist

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
if [ -z "$version" ]; then
  echo "error: no wasm-bindgen crate in Cargo.lock" >&2
  exit 1
fi
bindgen="$tools/bin/wasm-bindgen"
if [ "$("$bindgen" --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
  echo "== installing wasm-bindgen-cli $version into $tools"
  cargo install wasm-bindgen-cli --version "=$version" --root "$tools"
fi

echo "== building the app for wasm32 (profile web)"
# The library as a cdylib for this build only: native builds keep it an rlib (no extra link).
cargo rustc -p stepwise-app --lib --crate-type cdylib --target wasm32-unknown-unknown \
  --profile web --locked

echo "== binding and assembling $dist"
rm -rf "$dist"
mkdir -p "$dist/data"
"$bindgen" --target web --no-typescript --remove-name-section --out-dir "$dist" \
  "$target_dir/wasm32-unknown-unknown/web/stepwise_app.wasm"
cp web/index.html "$dist/"
# The shipped CIFAR-10 sample, fetched by the page (native builds carry it inside the binary).
cp crates/data/sample/train.bin crates/data/sample/test.bin "$dist/data/"

wasm="$dist/stepwise_app_bg.wasm"
raw=$(stat -c %s "$wasm")
gzipped=$(gzip -9 -c "$wasm" | wc -c)
echo "wasm: $raw bytes, $gzipped bytes gzipped (gzip -9)"
