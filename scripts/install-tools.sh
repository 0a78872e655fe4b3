#!/usr/bin/env bash
# Installs the tools Switchboard needs that this machine lacks, and nothing else:
#   scripts/install-tools.sh run     what building and running the app needs (scripts/run.sh)
#   scripts/install-tools.sh dev     that and cargo-leptos, for `cargo leptos watch` (scripts/dev.sh)
#   scripts/install-tools.sh agents  the pinned agent CLIs, into agents/ (the app finds them)
#   scripts/install-tools.sh test    run's and agents', plus rustfmt, clippy and Chromium (scripts/test.sh)
# Idempotent: a second run checks versions and returns in about a second.
# Offline recipe: only crates.io, npm and Debian are reachable,
# so cargo-leptos and wasm-bindgen-cli (developers' tools: the release build links wasm-bindgen's
# library instead) are built from crates.io with one pinned dependency each,
# wasm-opt comes from npm `binaryen` (Debian's wasm-opt 108 breaks hydration), Chromium from apt.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
case "$what" in
  run | dev | agents | test) ;;
  *) echo "usage: scripts/install-tools.sh [run|dev|agents|test]" >&2; exit 2 ;;
esac
wants() { # run | dev | agents | test: whether this invocation installs that group
  case "$1" in
    run) [ "$what" != agents ] ;;
    dev) [ "$what" = dev ] ;;
    *) [ "$what" = test ] || [ "$what" = "$1" ] ;;
  esac
}

CARGO_LEPTOS_VERSION=0.3.11
# Must equal the `wasm-bindgen = "=x.y.z"` pin in Cargo.toml.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
: "${WASM_BINDGEN_VERSION:?could not read the wasm-bindgen pin from Cargo.toml}"

started=$SECONDS
log() { printf '[install %dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*" >&2; }
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$CARGO_HOME/bin:$PATH"

# Chromium for the browser tests (Debian's package; Playwright's own download is unreachable).
if wants test && ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium from apt (about 1 minute)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# PostgreSQL for the storage tests on the second engine (Debian's package; the suite starts
# a throwaway cluster of its own, scripts/test-postgres.sh).
if wants test && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing postgresql from apt (about 1 minute)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

for component in rustfmt clippy; do
  if wants test && ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    log "adding rust component $component"
    rustup component add "$component" >/dev/null
  fi
done

if wants run && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown (about 30 seconds)"
  rustup target add wasm32-unknown-unknown >/dev/null
fi

# Builds a crate from its unpacked .crate with one dependency pinned back, because the
# crate's own lock file wants a version this rustc or registry cannot provide.
install_with_pin() { # crate version dep dep_version
  local crate=$1 version=$2 dep=$3 dep_version=$4 src
  src=$(mktemp -d)
  curl -sSfL "https://static.crates.io/crates/$crate/$crate-$version.crate" | tar -xz -C "$src"
  (cd "$src/$crate-$version" && cargo update -q -p "$dep" --precise "$dep_version" &&
    cargo install -q --locked --path . --root "$CARGO_HOME")
  rm -rf "$src"
}

if wants dev && [ "$(cargo-leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  log "building cargo-leptos $CARGO_LEPTOS_VERSION (about 11 minutes on 2 cores)"
  install_with_pin cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1
fi

# cargo-leptos runs the wasm-bindgen CLI it finds on PATH (else it tries a download that fails).
if wants dev && [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (2 to 5 minutes)"
  install_with_pin wasm-bindgen-cli "$WASM_BINDGEN_VERSION" webpki-roots 1.0.10
fi

# npm devDependencies: binaryen (wasm-opt), terser (the JS minifier) and playwright-core, exact
# versions from the lock.
if wants run && { [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/terser ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  log "installing npm packages: binaryen (wasm-opt), terser, playwright-core (seconds)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# Agent CLIs the tests drive, exact versions from agents/package-lock.json, installed into the
# project-local prefix agents/ (1.3 GB; npm's cache makes a reinstall take seconds). Not for
# running: the demo agent needs none, and the app finds the CLIs a user has on PATH.
if wants agents && { [ ! -x agents/node_modules/.bin/claude ] || [ ! -x agents/node_modules/.bin/codex ] \
  || [ ! -x agents/node_modules/.bin/gemini ] || [ ! -x agents/node_modules/.bin/claude-agent-acp ] \
  || [ agents/package-lock.json -nt agents/node_modules/.package-lock.json ]; }; then
  log "installing agent CLIs into agents/ (claude-code, codex, gemini-cli, claude-agent-acp; pinned in agents/package.json; about 1 minute)"
  npm ci --prefix agents --no-audit --no-fund --loglevel=error >/dev/null
fi
[ $((SECONDS - started)) -lt 2 ] || log "done"
