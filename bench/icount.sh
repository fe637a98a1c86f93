#!/usr/bin/env bash
# Instructions per operation pair, exact (valgrind's callgrind counts every instruction; timing
# on a shared VM is noise, this is not): runs each program at N and at 0 iterations of a
# figure (BENCH_ITERS) and prints (Ir(N) - Ir(0)) / N. Needs valgrind (Debian `valgrind`) and a
# release build of filemap-win32 (bench/run.sh or `cargo build --release -p filemap-win32`).
#   bench/icount.sh                      # mutex semaphore event wait_any_64: C ABI, Rust API, raw
#   bench/icount.sh mutex event          # some figures
#   N=2000 bench/icount.sh wait_any_64
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
lib="$target/release"
[ -e "$lib/libfilemap_win32.so" ] || { echo "icount.sh: build $lib/libfilemap_win32.so first" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -Wall -I crates/filemap-win32/include -x c bench/programs/win32_bench.c -x none -L "$lib" \
    -lfilemap_win32 -Wl,-rpath,"$(cd "$lib" && pwd)" -o "$out/win32_bench"
cc -O2 -Wall bench/programs/posix_bench.c -o "$out/posix_bench" -lpthread
export FILEMAP_ROOT="$out/root"
mkdir -p "$FILEMAP_ROOT"
n=${N:-10000}
figs=("$@")
[ ${#figs[@]} -gt 0 ] || figs=(mutex semaphore event wait_any_64)
ir() { # ITERS PROGRAM...
    BENCH_ITERS=$1 valgrind --tool=callgrind --callgrind-out-file="$out/cg" "${@:2}" >/dev/null 2>"$out/log" \
        || { cat "$out/log" >&2; return 1; }
    sed -n 's/^==[0-9]*== Collected : //p' "$out/log"
}
rust="$lib/filemap-bench" # the Rust API column, if the harness is built (bench/run.sh)
printf '%-14s %12s %12s %12s\n' figure filemap-c filemap-rust raw
for f in "${figs[@]}"; do
    a=$(( ($(ir "$n" "$out/win32_bench" "$f") - $(ir 0 "$out/win32_bench" "$f")) / n ))
    r=-
    if [ -x "$rust" ]; then
        r=$(( ($(ir "$n" "$rust" --contender filemap-rust "$f") - $(ir 0 "$rust" --contender filemap-rust "$f")) / n ))
    fi
    b=$(( ($(ir "$n" "$out/posix_bench" raw "$f") - $(ir 0 "$out/posix_bench" raw "$f")) / n ))
    printf '%-14s %12s %12s %12s\n' "$f" "$a" "$r" "$b"
done
