#!/usr/bin/env bash
# Builds target/<profile>/libsasl2/libsasl2.so.2: the Rust static library (with its C shims)
# linked as SONAME libsasl2.so.2, every export bound to the version node SASL2.
#   ffi/build.sh            debug build  -> target/debug/libsasl2/libsasl2.so.2
#   ffi/build.sh --release  release build -> target/release/libsasl2/libsasl2.so.2
# (A folder of its own: cargo puts target/<profile> on the library path of the tests it runs,
# where this file would replace Cyrus's library under the Cyrus interop peers.)
#   ffi/build.sh --link-only ARCHIVE DIR   only link ARCHIVE (libpuresasl_ffi*.a) into
#                                  DIR/libsasl2.so.2 (used by the tests, which run after cargo
#                                  has built the static library)
# Extra CFLAGS (e.g. -fsanitize=address) are not needed: sanitizers go on the C programs.
# The system OpenSSL (libssl3) is linked for sql_usessl, TLS to the SQL servers, as Cyrus's
# sql plug-in gets it through libpq and libmariadb.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
profile=debug
cargo_args=()
archive=
if [ "${1:-}" = "--release" ]; then
  profile=release
  cargo_args+=(--release)
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/$profile"
if [ "${1:-}" = "--link-only" ]; then
  archive="$2"
  out="$3"
else
  cargo build --quiet -p puresasl-ffi "${cargo_args[@]}" --manifest-path "$root/Cargo.toml"
  archive="$out/libpuresasl_ffi.a"
  out="$out/libsasl2"
  mkdir -p "$out"
fi
trap 'rm -f "$out/libsasl2.so.2.tmp.$$"' EXIT
cc=${CC:-cc}
# The archive holds the C shims too (ffi/build.rs compiles ffi/c/*.c into it).
"$cc" -shared -o "$out/libsasl2.so.2.tmp.$$" \
  -Wl,--whole-archive "$archive" -Wl,--no-whole-archive \
  -Wl,--version-script="$here/sasl2.map" -Wl,-soname,libsasl2.so.2 \
  -Wl,-z,now -Wl,-z,relro -Wl,--gc-sections \
  -lssl -lcrypto -lc -lgcc_s -lpthread -ldl -lm
mv -f "$out/libsasl2.so.2.tmp.$$" "$out/libsasl2.so.2"
ln -sf libsasl2.so.2 "$out/libsasl2.so"
echo "$out/libsasl2.so.2"
