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
# Two more passes over tests already built, run beside Playwright (all three mostly wait on
# agents, sockets, the browser and the database: side by side on 2 cores they took ~70 s
# less than one after another):
# - the session tests with agents embedded in the server (runner.mode = "embedded");
# - every integration test with its server storing in PostgreSQL, four at a time (49 s
#   against 79 s at nextest's default of one per core).
again_passes() {
  local failed=0
  echo "-- session tests with agents embedded in the server (runner.mode = \"embedded\")"
  SWITCHBOARD_RUNNER=embedded cargo test --quiet --features ssr --test server --test session_core \
    --test agent_failures --test ordering || failed=1
  echo "-- every integration test with its server storing in PostgreSQL"
  if cargo nextest --version >/dev/null 2>&1; then
    SWITCHBOARD_TEST_ENGINE=postgres cargo nextest run --features ssr --test '*' --test-threads 4 \
      --no-fail-fast --status-level fail --final-status-level fail || failed=1
  else
    SWITCHBOARD_TEST_ENGINE=postgres cargo test --quiet --features ssr --tests || failed=1
  fi
  return "$failed"
}
step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path xtask/Cargo.toml -- --check
step "clippy (server, tests)"
cargo clippy --quiet --features ssr --all-targets -- -D warnings
step "clippy (browser)"
cargo clippy --quiet --lib --features hydrate,split --target wasm32-unknown-unknown -- -D warnings
step "a throwaway PostgreSQL cluster (storage tests run on SQLite and PostgreSQL)"
eval "$(scripts/test-postgres.sh start)"
trap 'scripts/test-postgres.sh stop "$SWITCHBOARD_TEST_POSTGRES_DIR"' EXIT
step "unit and integration tests"
# cargo-nextest (on this machine kind already) runs the 26 test binaries side by side, where
# cargo test runs them one after another (85 s against about 2.5 minutes here); without it,
# cargo test does the same job.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --features ssr --no-fail-fast --status-level fail --final-status-level fail
else
  echo "(cargo-nextest not installed: cargo test runs the test binaries one at a time)" >&2
  cargo test --quiet --features ssr
fi
step "the release build's tool (xtask): clippy and tests"
cargo clippy --quiet --release --manifest-path xtask/Cargo.toml --all-targets -- -D warnings
cargo test --quiet --release --manifest-path xtask/Cargo.toml
step "release build (scripts/build-release.sh, as scripts/run.sh builds it)"
build_log=$(mktemp)
if ! scripts/build-release.sh 2>&1 | tee "$build_log" | grep --line-buffered '^\[build' >&2; then
  tail -60 "$build_log" >&2
  echo "release build failed" >&2
  exit 1
fi
rm -f "$build_log"
step "the same site as cargo-leptos builds (skipped without cargo-leptos)"
scripts/check-build-parity.sh
step "first-load size (WASM against its baseline)"
scripts/check-wasm-size.sh
step "end-to-end (Playwright, Chromium); beside it, the session tests with agents embedded and the integration tests on PostgreSQL"
again_log=$(mktemp)
again_passes >"$again_log" 2>&1 &
again_pid=$!
# fake-model is the debug build `cargo test` made: it only serves the tests.
e2e=0
SWITCHBOARD_BIN="$CARGO_TARGET_DIR/release/switchboard" FAKE_MODEL_BIN="$CARGO_TARGET_DIR/debug/fake-model" \
  npx playwright test --config end2end/playwright.config.ts || e2e=$?
again=0
wait "$again_pid" || again=$?
step "the passes beside Playwright (embedded agents, PostgreSQL)"
cat "$again_log" >&2
rm -f "$again_log"
[ "$e2e" -eq 0 ] || { echo "end-to-end tests failed" >&2; exit 1; }
[ "$again" -eq 0 ] || { echo "the embedded-agent or PostgreSQL pass failed" >&2; exit 1; }
step "all passed"
