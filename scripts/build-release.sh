#!/usr/bin/env bash
# Builds the release app: the site under target/site (split WASM, hashed names, .br/.gz) and
# the server binary $CARGO_TARGET_DIR/release/switchboard, with this repo's xtask (xtask/):
# the same site `cargo leptos build --release --precompress --split --js-minify false
# --lib-features hydrate,split` makes (scripts/check-build-parity.sh compares them), without
# building cargo-leptos. Needs what `scripts/install-tools.sh run` installs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# The xtask's step times count from here.
export SWITCHBOARD_BUILD_STARTED=$(date +%s)
echo "[build 0m00s] the build tool (xtask/; about 2 minutes the first time, then seconds)" >&2
cargo build --quiet --release --manifest-path xtask/Cargo.toml
exec "$CARGO_TARGET_DIR/release/xtask" build-site
