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
cargo fmt --manifest-path xtask/Cargo.toml -- --check
# The release build (scripts/build-release.sh, as scripts/run.sh builds it) runs beside the
# lints and tests at the lowest priority: the tests wait on agents, sockets and timers much
# of the time, and the build takes the cores they leave idle (it gets ~1.5% of a core the
# tests want, so their timing is not its). Its log is shown where its step is.
step "release build started beside the lints and tests (nice 19)"
release_log=$(mktemp)
nice -n 19 scripts/build-release.sh >"$release_log" 2>&1 &
release_pid=$!
trap 'kill "$release_pid" 2>/dev/null || true' EXIT
step "clippy (server, tests)"
cargo clippy --quiet --features ssr --all-targets -- -D warnings
step "clippy (browser)"
cargo clippy --quiet --lib --features hydrate,split --target wasm32-unknown-unknown -- -D warnings
step "a throwaway PostgreSQL cluster (storage tests run on SQLite and PostgreSQL)"
eval "$(scripts/test-postgres.sh start)"
trap 'kill "$release_pid" 2>/dev/null || true; scripts/test-postgres.sh stop "$SWITCHBOARD_TEST_POSTGRES_DIR"' EXIT
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
step "session tests again with agents embedded in the server (runner.mode = \"embedded\")"
SWITCHBOARD_RUNNER=embedded cargo test --quiet --features ssr --test server --test session_core --test agent_failures --test ordering
step "the integration tests again with every server storing in PostgreSQL"
# Four at a time on 2 cores: these tests mostly wait (on agents, sockets, the database);
# measured 49 s against 79 s at nextest's default of one per core.
if cargo nextest --version >/dev/null 2>&1; then
  SWITCHBOARD_TEST_ENGINE=postgres cargo nextest run --features ssr --test '*' --test-threads 4 \
    --no-fail-fast --status-level fail --final-status-level fail
else
  SWITCHBOARD_TEST_ENGINE=postgres cargo test --quiet --features ssr --tests
fi
step "the release build's tool (xtask): clippy and tests"
cargo clippy --quiet --release --manifest-path xtask/Cargo.toml --all-targets -- -D warnings
cargo test --quiet --release --manifest-path xtask/Cargo.toml
step "release build (scripts/build-release.sh, as scripts/run.sh builds it): waiting for it"
if ! wait "$release_pid"; then
  tail -60 "$release_log" >&2
  echo "release build failed" >&2
  exit 1
fi
grep '^\[build' "$release_log" >&2 || true
rm -f "$release_log"
step "the same site as cargo-leptos builds (skipped without cargo-leptos)"
scripts/check-build-parity.sh
step "first-load size (WASM against its baseline)"
scripts/check-wasm-size.sh
step "end-to-end (Playwright, Chromium)"
# fake-model is the debug build `cargo test` made: it only serves the tests.
SWITCHBOARD_BIN="$CARGO_TARGET_DIR/release/switchboard" FAKE_MODEL_BIN="$CARGO_TARGET_DIR/debug/fake-model" \
  npx playwright test --config end2end/playwright.config.ts
step "all passed"
