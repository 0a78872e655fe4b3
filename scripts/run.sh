#!/usr/bin/env bash
# Installs what is missing, builds the release app, and serves it on http://127.0.0.1:3000
# (override with --addr or SWITCHBOARD_ADDR). Extra arguments go to `switchboard serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
. scripts/env.sh
echo "[run] building the release app (minutes the first time, seconds after)" >&2
cargo leptos build --release --precompress --split --lib-features hydrate,split 2>&1 | grep -E "^(error|warning: unused)|Finished|error\[" >&2 || true
[ -x "$CARGO_TARGET_DIR/release/switchboard" ] || { echo "[run] build failed; run: cargo leptos build --release --split --lib-features hydrate,split" >&2; exit 1; }
exec "$CARGO_TARGET_DIR/release/switchboard" serve "$@"
