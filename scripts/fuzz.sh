#!/usr/bin/env bash
# Fuzzes the parsers of untrusted text for a bounded time (not part of CI): the browser's
# WebSocket frames (client_frame), ACP agent stdout lines (acp_line: the demo agent,
# Gemini, Claude ACP), `codex app-server` lines (codex_line) and Claude Code
# stream-json lines (claude_line). Installs cargo-fuzz if missing, seeds the corpora from
# tests/fixtures, builds the targets once, runs each in turn and prints a summary. Exits 1
# if any target crashed.
#
#   scripts/fuzz.sh [target...]      default: all four
#   FUZZ_SECONDS=120                 time per target
#   FUZZ_SANITIZER=address           or none (no AddressSanitizer; faster)
#   FUZZ_MAX_LEN=16384               longest input tried, in bytes
#   FUZZ_TARGET_DIR=~/.cache/switchboard-fuzz-target
#   FUZZ_TOOLCHAIN=stable            cargo-fuzz needs nightly flags: on a stable toolchain
#                                    RUSTC_BOOTSTRAP=1 allows them
#
# A crash's input is kept in fuzz/artifacts/<target>/; with B=$FUZZ_TARGET_DIR/<host>/release
#   reproduce it:  $B/<target> fuzz/artifacts/<target>/<file>
#   shrink it:     $B/<target> -minimize_crash=1 -max_total_time=60 fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

seconds="${FUZZ_SECONDS:-120}"
sanitizer="${FUZZ_SANITIZER:-address}"
max_len="${FUZZ_MAX_LEN:-16384}"
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/switchboard-fuzz-target}"
toolchain="${FUZZ_TOOLCHAIN:-stable}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client_frame acp_line codex_line claude_line)

# Not the shared build cache: fuzz builds use other flags and would evict it.
unset CARGO_TARGET_DIR
case "$toolchain" in nightly*) ;; *) export RUSTC_BOOTSTRAP=1 ;; esac
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

echo "== seed corpora" >&2
python3 fuzz/seeds.py

logs="fuzz/artifacts/logs"
mkdir -p "$logs"

echo "== build (sanitizer: $sanitizer)" >&2
# Once, up front: `cargo fuzz run` builds again before each target, which on a tree
# someone is editing means a rebuild inside every target's time.
if ! cargo "+$toolchain" fuzz build --sanitizer "$sanitizer" --target-dir "$target_dir" \
  >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  exit 2
fi
bin_dir="$target_dir/$(rustc "+$toolchain" -vV | sed -n 's/^host: //p')/release"
summary=()
crashes=()
failed=0
for target in "${targets[@]}"; do
  echo "== $target for ${seconds}s" >&2
  mkdir -p "fuzz/artifacts/$target"
  before=$(find "fuzz/artifacts/$target" -type f | wc -l)
  log="$logs/$target.log"
  # -fork=1 -ignore_crashes=1: a crash is saved and fuzzing goes on, so every target gets
  # its whole time and every distinct crash in it is reported, not only the first.
  status=0
  "$bin_dir/$target" "fuzz/corpus/$target" -artifact_prefix="fuzz/artifacts/$target/" \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  after=$(find "fuzz/artifacts/$target" -type f | wc -l)
  found=$((after - before))
  # The last status line of the fork-mode parent: "#<execs>: cov: .. ft: .. corp: .. exec/s ..".
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
  rate=$(sed -nE 's/.* exec\/s: ([0-9]+).*/\1/p' <<<"$last")
  verdict="ok"
  if [ "$found" -gt 0 ]; then
    verdict="CRASH: $found new input(s) in fuzz/artifacts/$target/"
    failed=1
  elif [ -z "$last" ] || [ "$status" -ne 0 ]; then
    verdict="FAILED TO RUN (exit $status), see $log"
    failed=1
  fi
  if [ "$found" -gt 0 ]; then
    # What failed: the panic (its location and message) or the sanitizer's report.
    while IFS= read -r line; do crashes+=("$target: $line"); done < <(
      grep -A1 -E "panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)" "$log" |
        grep -vE '^(--|stack backtrace:)$' | sed -E 's/^thread .* panicked at/panicked at/' |
        paste -d' ' - - | sort | uniq -c | sort -rn
    )
  fi
  summary+=("$(printf '%-13s %10s execs %7s exec/s  cov %5s  ft %6s  corpus %5s  %s' \
    "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")")
done

echo
echo "== fuzz summary (${seconds}s per target, sanitizer: $sanitizer; logs in $logs/)"
printf '%s\n' "${summary[@]}"
if [ ${#crashes[@]} -gt 0 ]; then
  echo
  echo "== crashes (count, what)"
  printf '%s\n' "${crashes[@]}"
fi
exit "$failed"
