#!/usr/bin/env bash
# ThreadSanitizer over the library (not part of CI: it rebuilds the standard library).
#
#   scripts/tsan.sh
#
# 1. The Rust tests of concurrent sessions on one shared config and store
#    (tests/concurrency.rs) and the store's concurrent readers and writers, built with
#    -Zsanitizer=thread and an instrumented standard library (-Zbuild-std).
# 2. The C library built the same way, linked as libsasl2.so.2, under the C programs that
#    use it from several threads at once (ffi/tests/c/threads.c: one connection per thread,
#    every mechanism; ffi/tests/c/reentry.c: callbacks that re-enter the library) with the
#    TSan runtime.
# Prints "TSan: clean" and exits 0 when no report was made. Needs the nightly toolchain
# with rust-src (installed here if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rustup component list --installed --toolchain nightly | grep -q rust-src ||
  rustup component add rust-src --toolchain nightly
target=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR="$root/target/tsan"
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
# Rust's futex-based locks are understood by TSan once std itself is instrumented.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
build_std=(-Zbuild-std --target "$target")

echo "== Rust: concurrent sessions and stores"
cargo +nightly test "${build_std[@]}" --quiet --test integration -- \
  concurrency sasldb::readers_never_fail_during_writes pwcheck::

echo "== C: libsasl2.so.2 under threads.c and reentry.c"
cargo +nightly build "${build_std[@]}" --quiet -p puresasl-ffi
out="$CARGO_TARGET_DIR/tsan-c"
mkdir -p "$out"
"$root/ffi/build.sh" --link-only "$CARGO_TARGET_DIR/$target/debug/libpuresasl_ffi.a" "$out"
# The C programs run under the TSan runtime rustc instruments for (GCC's -fsanitize=thread
# runtime lacks LLVM's entry points such as __tsan_memcpy): linked whole into each program.
runtime="$(rustc +nightly --print sysroot)/lib/rustlib/$target/lib/librustc-nightly_rt.tsan.a"
for program in threads reentry; do
  cc -std=c11 -g -O1 -pthread -Wno-cast-function-type \
    -I"$root/include" -o "$out/$program" "$root/ffi/tests/c/$program.c" \
    -L"$out" -l:libsasl2.so.2 -Wl,--whole-archive "$runtime" -Wl,--no-whole-archive \
    -ldl -lm -lrt -lstdc++
done
export LD_LIBRARY_PATH="$out" SASL_PATH="$out/no-modules"
mkdir -p "$SASL_PATH"
rm -f "$out/sasldb2"
"$out/threads" "$out/sasldb2"
rm -f "$out/sasldb2"
TEST_SASLDB="$out/sasldb2" "$out/reentry"
echo "TSan: clean"
