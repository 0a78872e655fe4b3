#!/usr/bin/env bash
# Fails when the release's brotli WASM grew more than 5% over the committed baseline
# (end2end/bench/wasm-baseline.txt): what `/` loads, what `/s/<id>` loads, and every
# module; so growth of the first load is a decision, not an accident. After a growth you
# mean, write the new sizes there and say why in the commit.
# Run after scripts/build-release.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
ls target/site/pkg/*.wasm.br >/dev/null 2>&1 \
  || { echo "no target/site/pkg/*.wasm.br: build with --release --precompress --split first" >&2; exit 1; }
exec node end2end/bench/wasm-size.mjs target/site/pkg "$CARGO_TARGET_DIR/release/hash.txt"
