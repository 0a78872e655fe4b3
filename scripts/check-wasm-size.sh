#!/usr/bin/env bash
# Fails when the release's brotli WASM grew more than 5% over the committed baseline
# (end2end/bench/wasm-baseline.txt), so growth of the first load is a decision, not an
# accident. After a growth you mean, write the new size there and say why in the commit.
# Run after `cargo leptos build --release --precompress`.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline_file=end2end/bench/wasm-baseline.txt
wasm_br=$(ls -t target/site/pkg/*.wasm.br 2>/dev/null | head -1 || true)
[ -n "$wasm_br" ] || { echo "no target/site/pkg/*.wasm.br: build with --release --precompress first" >&2; exit 1; }
size=$(stat -c %s "$wasm_br")
baseline=$(grep -Eo '^[0-9]+' "$baseline_file" | head -1)
limit=$(( baseline + baseline / 20 ))
echo "WASM (brotli): $size bytes; baseline $baseline, limit $limit (+5%)"
if [ "$size" -gt "$limit" ]; then
  echo "the release WASM grew $(( (size - baseline) * 100 / baseline ))% over $baseline_file: shrink it, or raise the baseline on purpose" >&2
  exit 1
fi
