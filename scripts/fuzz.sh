#!/usr/bin/env bash
# Fuzzes the parsers of untrusted text for a bounded time (not part of CI): the browser's
# WebSocket frames (client_frame), ACP agent stdout lines (acp_line: the demo agent,
# Gemini, Claude ACP), `codex app-server` lines (codex_line) and Claude Code
# stream-json lines (claude_line). Installs cargo-fuzz if missing, writes seeds from
# tests/fixtures (fuzz/seeds/, not committed), builds the targets once, runs each in turn
# on its committed corpus (fuzz/corpus/<target>/) plus the seeds, then shrinks the corpus
# to the inputs that keep its coverage, and prints a summary. Exits 1 if any target crashed.
#
# The corpus is committed so that `tests/fuzz_corpus.rs` runs every input fuzzing kept
# through the same code (`switchboard::server::fuzzing`) in the ordinary test suite: after
# a run, commit what changed in fuzz/corpus/. A crash's input, once fixed, goes in
# fuzz/regressions/<target>/ (committed, run by that test too, never shrunk away).
#
#   scripts/fuzz.sh [target...]      default: all four
#   FUZZ_SECONDS=120                 time per target
#   FUZZ_SANITIZER=address           or none (no AddressSanitizer; faster)
#   FUZZ_MAX_LEN=16384               longest input tried, in bytes
#   FUZZ_MINIMIZE=1                  0: keep every input the run added (no shrinking)
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
minimize="${FUZZ_MINIMIZE:-1}"
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
  # 0.13.2 is the version this was made with (it builds with Rust 1.95).
  cargo install --locked cargo-fuzz --version 0.13.2
fi

echo "== seeds from tests/fixtures" >&2
python3 fuzz/seeds.py

logs="fuzz/artifacts/logs"
mkdir -p "$logs"

echo "== build (sanitizer: $sanitizer; log in $logs/build.log; the first takes a while)" >&2
# Once, up front: `cargo fuzz run` builds again before each target, which on a tree
# someone is editing means a rebuild inside every target's time.
if ! cargo "+$toolchain" fuzz build --sanitizer "$sanitizer" --target-dir "$target_dir" \
  >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  exit 2
fi
bin_dir="$target_dir/$(rustc "+$toolchain" -vV | sed -n 's/^host: //p')/release"
for target in "${targets[@]}"; do
  [ -x "$bin_dir/$target" ] || { echo "no fuzz target $target" >&2; exit 2; }
done

# "<files> files, <size>" of a corpus directory.
corpus_size() {
  printf '%s files, %s' "$(find "$1" -type f | wc -l)" "$(du -sh "$1" | cut -f1)"
}

summary=()
sizes=()
crashes=()
failed=0
for target in "${targets[@]}"; do
  echo "== $target for ${seconds}s" >&2
  corpus="fuzz/corpus/$target"
  # libFuzzer adds new inputs to the first directory only: the seeds and regression
  # inputs are read, never written.
  inputs=("$corpus" "fuzz/seeds/$target")
  [ -d "fuzz/regressions/$target" ] && inputs+=("fuzz/regressions/$target")
  mkdir -p "fuzz/artifacts/$target" "$corpus"
  corpus_before=$(corpus_size "$corpus")
  before=$(find "fuzz/artifacts/$target" -type f | wc -l)
  log="$logs/$target.log"
  : >"$log"
  # libFuzzer stops at the first crash (saving its input); it is started again on the same
  # corpus for the time left, so every target gets its whole time and every crash in it is
  # reported, not only the first. (-fork=1 would do that too, at half the speed.)
  deadline=$((SECONDS + seconds))
  stuck=""
  while left=$((deadline - SECONDS)); [ "$left" -gt 0 ]; do
    status=0
    "$bin_dir/$target" "${inputs[@]}" -artifact_prefix="fuzz/artifacts/$target/" \
      -dict="fuzz/seeds/$target.dict" -max_total_time="$left" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log.run" 2>&1 || status=$?
    cat "$log.run" >>"$log"
    [ "$status" -eq 0 ] && break
    # A crash while loading the corpus would recur at once on every restart.
    if ! grep -q 'INITED' "$log.run"; then
      stuck="a corpus input crashes it; "
      break
    fi
  done
  rm -f "$log.run"
  # Shrink the corpus to a small set of inputs that still reaches every edge reached by
  # what the run added, the seeds and what was committed before, so the committed corpus
  # stays small (a few hundred files) and the test that runs it fast. Edges only
  # (-use_counters=0): keeping each edge's hit counts too keeps ~4x the files. Into a
  # fresh directory first: the old corpus is replaced only if the merge finished.
  if [ "$minimize" = 1 ]; then
    merged=$(mktemp -d)
    if "$bin_dir/$target" -set_cover_merge=1 -use_counters=0 "$merged" "${inputs[@]}" -max_len="$max_len" \
      -timeout=10 -rss_limit_mb=2048 >"$logs/$target.merge.log" 2>&1; then
      find "$corpus" -type f -delete
      mv "$merged"/* "$corpus"/ 2>/dev/null || true
    else
      echo "merge failed (corpus kept as the run left it), see $logs/$target.merge.log" >&2
    fi
    rm -rf "$merged"
  fi
  sizes+=("$(printf '%-13s corpus before: %s; after: %s' "$target" "$corpus_before" "$(corpus_size "$corpus")")")
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" |
    awk '{ n += $1 } END { print n + 0 }')
  after=$(find "fuzz/artifacts/$target" -type f | wc -l)
  found=$((after - before))
  # The last status line: "#<n> <event> cov: <edges> ft: <features> corp: <inputs>/<size> ... exec/s: <n>".
  last=$(grep -E '^#[0-9]+\s.*cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
  rate=$((execs / (seconds > 0 ? seconds : 1)))
  verdict="ok"
  if [ "$found" -gt 0 ]; then
    verdict="CRASH: ${stuck}$found new input(s) in fuzz/artifacts/$target/"
    failed=1
  elif [ -z "$last" ] || [ "$status" -ne 0 ]; then
    verdict="FAILED TO RUN (exit $status), see $log"
    failed=1
  fi
  if [ "$found" -gt 0 ]; then
    # What failed: the panic (its location and message) or the sanitizer's report.
    while IFS= read -r line; do crashes+=("$target: $line"); done < <(
      grep -A1 -E "panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer: (timeout|out-of-memory))" "$log" |
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
printf '%s\n' "${sizes[@]}"
if [ ${#crashes[@]} -gt 0 ]; then
  echo
  echo "== crashes (count, what)"
  printf '%s\n' "${crashes[@]}"
fi
exit "$failed"
