#!/usr/bin/env bash
# Builds and installs the `filemap` Python package the way a user does (`pip install
# ./crates/filemap-py`: maturin builds one abi3 wheel), then runs its pytest suite, in a fresh
# virtual environment. .ci/run calls it; it needs python3 (with venv), cargo, and PyPI.
#
#   PYTHON=python3.9 crates/filemap-py/ci.sh     # another interpreter (3.9+)
#
# Exits with pytest's status; "no tests collected" (pytest's 5) is a failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! "$python" -m venv "$work/venv"; then
    echo "ci.sh: '$python -m venv' failed: install the venv module (Debian: python3-venv)" >&2
    exit 1
fi
py="$work/venv/bin/python"

echo "=== filemap-py: installing maturin, pytest, numpy, mypy from PyPI ==="
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet maturin pytest numpy mypy

echo "=== filemap-py: pip install $here (builds the wheel) ==="
"$py" -m pip install --quiet "$here"
"$py" -c 'import filemap, sys; print("filemap imported from", filemap.__file__, "on Python", sys.version.split()[0])'

echo "=== filemap-py: pytest ==="
cd "$here"
set +e
"$py" -m pytest -p no:cacheprovider -v tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "ci.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
