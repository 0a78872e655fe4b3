#!/usr/bin/env bash
# Installs what is missing and runs the whole suite: format, lints (server and browser
# builds), unit and integration tests, the release build, and Playwright in Chromium
# against it (which also proves the release WASM hydrates).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh test
. scripts/env.sh
started=$SECONDS
step() { printf '\n== [%dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*" >&2; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (server, tests)"
cargo clippy --quiet --features ssr --all-targets -- -D warnings
step "clippy (browser)"
cargo clippy --quiet --lib --features hydrate,split --target wasm32-unknown-unknown -- -D warnings
step "unit and integration tests"
cargo test --quiet --features ssr
step "session tests again with agents embedded in the server (runner.mode = \"embedded\")"
SWITCHBOARD_RUNNER=embedded cargo test --quiet --features ssr --test server --test session_core --test agent_failures --test ordering
step "release build"
cargo leptos build --release --precompress --split --lib-features hydrate,split 2>&1 | grep -E "error|warning|Finished" >&2 || true
[ -x "$CARGO_TARGET_DIR/release/switchboard" ] || { echo "release build failed" >&2; exit 1; }
step "first-load size (WASM against its baseline)"
scripts/check-wasm-size.sh
step "end-to-end (Playwright, Chromium)"
# fake-model is the debug build `cargo test` made: it only serves the tests.
SWITCHBOARD_BIN="$CARGO_TARGET_DIR/release/switchboard" FAKE_MODEL_BIN="$CARGO_TARGET_DIR/debug/fake-model" \
  npx playwright test --config end2end/playwright.config.ts
step "all passed"
