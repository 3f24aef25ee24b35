#!/usr/bin/env bash
# Authentications per second, Cyrus's libsasl2 vs puresasl's libsasl2.so.2, through the same
# C program (benches/c/sasl_bench.c): client and server in one process, the user in a sasldb2
# file written by Cyrus's saslpasswd2. Every mechanism both libraries offer is measured.
#   benches/c_bench.sh [ITERATIONS]      (default 2000; SCRAM uses a tenth: 4096 PBKDF2 rounds)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
iterations="${1:-2000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lib_dir="$(dirname "$("$root/ffi/build.sh" --release)")"
cc -O2 -Wall -Wno-cast-function-type -o "$work/bench-cyrus" "$root/benches/c/sasl_bench.c" -lsasl2
cc -O2 -Wall -Wno-cast-function-type -I"$root/include" -o "$work/bench-puresasl" \
  "$root/benches/c/sasl_bench.c" -L"$lib_dir" -l:libsasl2.so.2
printf 'pw2' | saslpasswd2 -f "$work/sasldb2" -p -c -u bench.example.org bob

for mech in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-512; do
  n="$iterations"
  case "$mech" in SCRAM-*) n=$((iterations / 10)) ;; esac
  if ! LD_LIBRARY_PATH="$lib_dir" "$work/bench-puresasl" "$work/sasldb2" bob pw2 1 "$mech" >/dev/null 2>&1; then
    echo "$mech: not in puresasl yet, skipped"
    continue
  fi
  printf 'cyrus    '; "$work/bench-cyrus" "$work/sasldb2" bob pw2 "$n" "$mech"
  printf 'puresasl '; LD_LIBRARY_PATH="$lib_dir" "$work/bench-puresasl" "$work/sasldb2" bob pw2 "$n" "$mech"
done
