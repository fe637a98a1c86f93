"""The type stubs (filemap/_filemap.pyi, py.typed) describe the installed module."""

import os
import subprocess
import sys

import filemap

HERE = os.path.dirname(os.path.abspath(__file__))


def test_package_ships_stubs_and_py_typed():
    pkg = os.path.dirname(filemap.__file__)
    assert os.path.isfile(os.path.join(pkg, "py.typed"))
    assert os.path.isfile(os.path.join(pkg, "_filemap.pyi"))


def test_type_stubs_match_the_runtime_module(tmp_path):
    # mypy's stubtest imports the installed package and compares every name, signature and
    # class with the stubs. (ci.sh installs mypy; without it this fails, it does not skip.)
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / "mypy-cache"))
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "filemap", "--allowlist", os.path.join(HERE, "stubtest-allowlist.txt")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_public_objects_have_docstrings():
    for name in filemap.__all__:
        obj = getattr(filemap, name)
        if isinstance(obj, int):
            continue
        assert obj.__doc__, f"filemap.{name} has no docstring"
    for cls in (filemap.Mapping, filemap.View, filemap.Mutex, filemap.Semaphore, filemap.Event, filemap.Timer):
        for attr, member in vars(cls).items():
            if attr.startswith("_") or not callable(member):
                continue
            assert member.__doc__, f"filemap.{cls.__name__}.{attr} has no docstring"
