#!/usr/bin/env bash
# Checks that the release build (scripts/build-release.sh, what users run and the browser
# tests test) serves the same site as cargo-leptos' build of the same source: the same
# asset names, the same bytes (`xtask same-site` says what it masks and why). Run it after
# scripts/build-release.sh; it leaves that build in place (it builds it again with the JS
# unminified and the stylesheet whole, as cargo-leptos leaves them, to compare). Needs
# cargo-leptos, which only developers install (scripts/dev.sh); without it, it says so and
# skips.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
CARGO_LEPTOS_VERSION=$(sed -n 's/^CARGO_LEPTOS_VERSION=//p' scripts/install-tools.sh)
if [ "$(cargo-leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  echo "SKIPPED: cargo-leptos $CARGO_LEPTOS_VERSION is not installed (scripts/install-tools.sh dev installs it), so the release build was not compared with cargo-leptos' build" >&2
  exit 0
fi
hash_file="$CARGO_TARGET_DIR/release/hash.txt"
[ -f "$hash_file" ] && [ -d target/site/pkg ] || { echo "run scripts/build-release.sh first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/kept" "$work/xtask" "$work/cargo-leptos"
cp -r target/site "$work/kept/site" && cp "$hash_file" "$work/kept/hash.txt"
restore() { rm -rf target/site && cp -r "$work/kept/site" target/site && cp "$work/kept/hash.txt" "$hash_file"; }
# The release build minifies its JS with terser and splits its stylesheet, which
# cargo-leptos does not: the xtask build again without those steps, to compare.
if ! SWITCHBOARD_AS_CARGO_LEPTOS=1 scripts/build-release.sh >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  restore
  echo "the unminified release build failed" >&2
  exit 1
fi
cp -r target/site "$work/xtask/site" && cp "$hash_file" "$work/xtask/hash.txt"
if ! cargo leptos build --release --precompress --split --js-minify false --lib-features hydrate,split >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  restore
  echo "cargo-leptos' build failed" >&2
  exit 1
fi
cp -r target/site "$work/cargo-leptos/site" && cp "$hash_file" "$work/cargo-leptos/hash.txt"
restore
"$CARGO_TARGET_DIR/release/xtask" same-site "$work/cargo-leptos" "$work/xtask"
