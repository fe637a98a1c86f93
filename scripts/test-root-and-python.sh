#!/usr/bin/env bash
# The tests that `cargo test --workspace` does not run: those that need root (and one that needs
# valgrind, which CI installs), then the Python
# package. README's test command is `cargo test --workspace && bash scripts/test-root-and-python.sh`.
#
# Tests that need root (they switch users, mount filesystems or attack root's objects) are
# marked #[ignore = "needs root ..."], so a plain `cargo test` lists them as ignored instead of
# passing them silently. As root this script runs them; otherwise it says how many it left out.
# The entry points of child processes (child_main, helper, forge_helper) and the soak test are
# ignored for other reasons and are skipped here.
set -euo pipefail
cd "$(dirname "$0")/.."

skips=(--skip child_main --skip helper --skip soak)
if [ "$(id -u)" -eq 0 ]; then
    # (one ignored test runs C programs under valgrind's memcheck)
    if ! command -v valgrind >/dev/null && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null; }
    fi
    echo "=== tests that need root ==="
    cargo test --workspace --tests -- --ignored "${skips[@]}"
else
    n=$(cargo test --workspace --tests -q -- --ignored --list "${skips[@]}" 2>/dev/null | grep -c ': test$' || true)
    echo "NOTE: $n tests need root and were not run; run scripts/test-root-and-python.sh as root to run them" >&2
fi

bash crates/filemap-py/ci.sh
