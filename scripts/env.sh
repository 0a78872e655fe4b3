# Sourced by the scripts: one build cache outside the clone, so a fresh clone on a warm
# machine rebuilds only this crate, and the cargo bin dir on PATH.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
