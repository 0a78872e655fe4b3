#!/usr/bin/env bash
# The developer's loop: installs what is missing (what running needs, and cargo-leptos,
# built from crates.io: about 11 minutes the first time on 2 cores), then
# `cargo leptos watch`: rebuilds the server and the (unsplit) WASM on change and serves
# on http://127.0.0.1:3000. Extra arguments go to cargo leptos watch.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh dev
. scripts/env.sh
exec cargo leptos watch "$@"
