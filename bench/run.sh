#!/usr/bin/env bash
# The comparison harness in one command (BENCHMARKS.md): installs what the contenders need,
# builds filemap's C library and the harness in release mode, and runs every figure
# interleaved against every contender. Arguments go to filemap-bench, e.g.
#   bench/run.sh --rounds 5 --budget-ms 150
#   bench/run.sh --only mutex,semaphore,event,wait_any_64 --no-wine
# Results: target/bench-harness/{results.md,results.csv,chart.svg}. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cc >/dev/null && command -v c++ >/dev/null || need+=(build-essential)
[ -d /usr/include/boost/interprocess ] || need+=(libboost-dev)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v wine >/dev/null || need+=(wine64 wine)
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q && apt-get install -y -q "${need[@]}"
    else
        echo "bench/run.sh: missing ${need[*]} (run as root to install them with apt-get)" >&2
    fi
fi

cargo build --release -p filemap-win32 -p filemap-bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/filemap-bench" --out "${BENCH_OUT:-$target/bench-harness}" "$@"
