#!/usr/bin/env bash
# A fuzzing campaign: runs every fuzz target (or the ones named) for SECONDS each (or until
# RUNS executions, whichever comes first), minimizes the grown corpus into
# fuzz/corpus/<target>/ (replayed by `cargo test`), and prints a table: target, executions,
# coverage, corpus size, findings.
#
#   fuzz/campaign.sh SECONDS [TARGET...]     e.g. fuzz/campaign.sh 600
#   RUNS=10000000 fuzz/campaign.sh 36000     10 million executions per target, 10 h at most
#
# The C-boundary targets (ffi_*) run with AddressSanitizer: they drive unsafe code. The core
# crate forbids unsafe code, so its targets run without a sanitizer (several times faster;
# SANITIZER=address runs them with it too), built in fuzz/target-none.
#
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). Findings (crash
# inputs) land in fuzz/artifacts/<target>/; reproduce one with
# `cargo +nightly fuzz run <target> <file>`. JOBS=N runs N targets at once (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/campaign.sh SECONDS [TARGET...]}
shift
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
# The sanitizer of a target: address for the C boundary, none (or $SANITIZER) for the core.
sanitizer_of() {
  case $1 in
    ffi_*) echo address ;;
    *) echo "${SANITIZER:-none}" ;;
  esac
}
build_dir_of() {
  if [ "$(sanitizer_of "$1")" = address ]; then echo fuzz/target; else echo fuzz/target-none; fi
}
cargo +nightly fuzz build
if [ "${SANITIZER:-none}" = none ]; then
  cargo +nightly fuzz build -s none --target-dir fuzz/target-none
fi
logs=$(mktemp -d)
run_one() {
  local target=$1 log="$logs/$1.log"
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  local grown
  grown=$(mktemp -d)
  # Grow into a scratch directory seeded from the committed corpus, then merge back
  # minimized, so the committed corpus only gains inputs that add coverage.
  local run=(cargo +nightly fuzz run -s "$(sanitizer_of "$target")"
    --target-dir "$(build_dir_of "$target")" "$target")
  "${run[@]}" "$grown" "fuzz/corpus/$target" -- -max_total_time="$seconds" \
    -runs="${RUNS:--1}" -print_final_stats=1 -close_fd_mask=3 >"$log" 2>&1 || true
  "${run[@]}" "fuzz/corpus/$target" "$grown" -- -merge=1 >"$log.merge" 2>&1 || true
  rm -rf "$grown"
}
export -f run_one sanitizer_of build_dir_of
export seconds logs
printf '%s\n' "${targets[@]}" | xargs -P "${JOBS:-1}" -I{} bash -c 'run_one {}'
printf '%-26s %14s %8s %8s %8s\n' target executions coverage corpus findings
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  # (A target that did not build or start has no figures: "?".)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  findings=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
  printf '%-26s %14s %8s %8s %8s\n' "$target" "${execs:-?}" "${cov:-?}" "$corpus" "$findings"
done
echo "logs: $logs"
