"""Test setup: this pytest process and every child it starts share one private namespace.

filemap reads FILEMAP_ROOT once per process, so it is set here, before any test imports
filemap, to a directory of its own under /dev/shm/filemap-tests/. Children started with
subprocess or multiprocessing (spawn) inherit it. Each test uses unique object names.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

_BASE = "/dev/shm/filemap-tests"
# multiprocessing (spawn) children import the test modules, and so this file, again: they
# must keep the namespace of the pytest process that started them.
if "FILEMAP_PYTEST_ROOT" in os.environ:
    ROOT = os.environ["FILEMAP_PYTEST_ROOT"]
else:
    os.makedirs(_BASE, exist_ok=True)
    ROOT = os.path.join(_BASE, f"pytest-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.makedirs(ROOT)
    os.environ["FILEMAP_PYTEST_ROOT"] = ROOT
os.environ["FILEMAP_ROOT"] = ROOT

# Generous bound on anything a test waits for: a hang becomes a failure, not a stuck CI run.
WATCHDOG = 60.0


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(ROOT, ignore_errors=True)


def local_dir(root=ROOT):
    """The per-user namespace directory under ``root``."""
    return os.path.join(root, f"filemap-{os.getuid()}")


def objects_in(root=ROOT):
    """The object files currently in the per-user namespace under ``root``."""
    d = local_dir(root)
    if not os.path.isdir(d):
        return []
    return sorted(os.listdir(d))


@pytest.fixture
def name():
    """A unique object name for one test."""
    return f"pytest-{uuid.uuid4().hex}"


@pytest.fixture
def private_root(tmp_path_factory):
    """A namespace of its own (for tests that look at what is left on disk)."""
    root = os.path.join(_BASE, f"private-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.makedirs(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


class Child:
    """A Python child process running ``code``, talking by lines on stdin/stdout."""

    def __init__(self, code, *args, env=None):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )

    @property
    def pid(self):
        return self.proc.pid

    def expect(self, want):
        """Reads one line from the child and checks it is ``want``."""
        line = self.proc.stdout.readline().strip()
        if line != want:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=WATCHDOG)
            raise AssertionError(f"child said {line!r}, expected {want!r}; stderr:\n{err}")

    def readline(self):
        return self.proc.stdout.readline().strip()

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, expect_rc=0):
        """Waits for the child to exit and checks its exit status; returns its stdout rest."""
        try:
            out, err = self.proc.communicate(timeout=WATCHDOG)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"child hung; stderr:\n{err}")
        assert self.proc.returncode == expect_rc, f"child exited {self.proc.returncode}; stderr:\n{err}"
        return out

    def kill(self, sig=9):
        os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=WATCHDOG)


@pytest.fixture
def child():
    """Starts children; kills any still running at the end of the test."""
    started = []

    def start(code, *args, env=None):
        c = Child(code, *args, env=env)
        started.append(c)
        return c

    yield start
    for c in started:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
        for f in (c.proc.stdin, c.proc.stdout, c.proc.stderr):
            if f:
                f.close()
