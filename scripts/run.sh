#!/usr/bin/env bash
# Installs what running needs and is missing (no browser, no agent CLIs: the demo agent needs
# nothing, and the app finds the CLIs you have), builds the release app, and serves it on
# http://127.0.0.1:3000 (override with --addr or SWITCHBOARD_ADDR). Extra arguments go to
# `switchboard serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
say() { printf '[run %dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*" >&2; }
scripts/install-tools.sh run
. scripts/env.sh
binary="$CARGO_TARGET_DIR/release/switchboard"
# What the built app came from: every file of the checkout (committed or not, ignored ones
# aside) and the binary and asset hashes it left. Unchanged since the last build: no build.
fingerprint() {
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { date +%s%N; return; }
  { git ls-files -co --exclude-standard -z | xargs -0 sha256sum 2>/dev/null
    sha256sum "$binary" "$CARGO_TARGET_DIR/release/hash.txt" 2>/dev/null; } | sha256sum | cut -d' ' -f1
}
stamp=target/site/.built-from
if [ -x "$binary" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(fingerprint)" ]; then
  say "the release app is up to date"
else
  say "building the release app (about 10 minutes the first time on 2 cores, seconds after)"
  mkdir -p "$CARGO_TARGET_DIR"
  build_log="$CARGO_TARGET_DIR/run-build.log"
  # Its step lines show as they come; the rest (cargo's output) goes to the log.
  if ! scripts/build-release.sh 2>&1 | tee "$build_log" | grep --line-buffered '^\[build' >&2; then
    grep -E "^error|error\[|^xtask:" -A8 "$build_log" | head -60 >&2 || tail -40 "$build_log" >&2
    say "build failed (the whole output: $build_log)"
    exit 1
  fi
  fingerprint >"$stamp"
fi
say "starting the server"
exec "$binary" serve "$@"
