#!/usr/bin/env bash
# Runs every fuzz target for a set time: fuzz/run.sh [seconds per target] [targets...]
# (default 60 s, all targets). Needs the nightly toolchain (`rustup toolchain install nightly`);
# uses `cargo fuzz` when installed (`cargo install cargo-fuzz`), otherwise builds the libFuzzer
# binaries itself with the same instrumentation (libfuzzer-sys brings libFuzzer). Each target
# starts from its checked-in seeds (fuzz/seeds/<target>) plus a working corpus (fuzz/corpus/,
# not versioned); crashes land in fuzz/artifacts/<target>/. Prints runs and execs per target.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"; shift || true
all=(header_decode name_parse acl_xattr sync_words c_abi)
[ "$#" -gt 0 ] && targets=("$@") || targets=("${all[@]}")
rustup toolchain list | grep -q nightly || { echo "fuzz/run.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
    # --target: the flags go to the targets only, not to build scripts (as cargo fuzz does)
    cargo +nightly build --release --bins --target x86_64-unknown-linux-gnu
    bin() { echo "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$1"; }
else
    cargo +nightly fuzz build
    bin() { echo "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$1"; }
fi
fail=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t"
    log="$(mktemp)"
    if "$(bin "$t")" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -artifact_prefix="artifacts/$t/" \
        "corpus/$t" "seeds/$t" >"$log" 2>&1; then
        runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 execs in \2 s/p' "$log" | tail -1)"
        [ -n "$runs" ] || runs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#') execs in ${secs} s"
        cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1)"
        echo "ok   $t: $runs, $cov, corpus $(ls "corpus/$t" | wc -l) inputs"
    else
        echo "FAIL $t: see the crash input in fuzz/artifacts/$t/"; tail -30 "$log"; fail=1
    fi
    rm -f "$log"
    # the targets' namespaces (FILEMAP_ROOT per fuzzing process), once their process is gone
    for d in /dev/shm/filemap-fuzz-*; do
        [ -d "$d" ] && ! [ -d "/proc/${d##*-}" ] && rm -rf "$d"
    done
done
exit $fail
