"""Benchmark: a 100 MiB numpy array shared with a second process, which sums it.

filemap.SharedMemory against multiprocessing.shared_memory.SharedMemory, interleaved round by
round in the same two processes. Each round, for each implementation:

  parent: create the block, fill it with a float64 array           -> "create+fill"
  child:  attach by name, wrap in numpy, sum, close                -> "attach", "sum"
  parent: the whole round trip as the parent sees it (pipe included) -> "round trip"

Run: python bench/numpy_share_sum.py [--rounds N] [--mib M]
Prints medians per step and the filemap/stdlib ratio (below 1: filemap is faster).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from multiprocessing import shared_memory

import numpy as np

import filemap

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import filemap
    from multiprocessing import resource_tracker, shared_memory

    for line in sys.stdin:
        kind, name, n = line.split()
        n = int(n)
        t0 = time.perf_counter()
        if kind == "filemap":
            shm = filemap.SharedMemory(name)
        else:
            shm = shared_memory.SharedMemory(name)
            if sys.version_info < (3, 13):
                # Attaching registered the block with this process's resource tracker, which
                # would unlink it under the parent when we exit (CPython gh-82300).
                resource_tracker.unregister(shm._name, "shared_memory")
        arr = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
        t1 = time.perf_counter()
        total = float(arr.sum())
        t2 = time.perf_counter()
        del arr
        shm.close()
        print(json.dumps({"attach": t1 - t0, "sum": t2 - t1, "total": total}), flush=True)
    """
)


def one_round(kind, child, n, expected):
    data = np.arange(n, dtype=np.float64)
    t0 = time.perf_counter()
    if kind == "filemap":
        shm = filemap.SharedMemory(create=True, size=n * 8)
    else:
        shm = shared_memory.SharedMemory(create=True, size=n * 8)
    arr = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    arr[:] = data
    t1 = time.perf_counter()
    child.stdin.write(f"{kind} {shm.name} {n}\n")
    child.stdin.flush()
    reply = json.loads(child.stdout.readline())
    t2 = time.perf_counter()
    assert reply["total"] == expected, (kind, reply["total"], expected)
    del arr
    shm.close()
    if kind == "stdlib":
        shm.unlink()
    return {"create+fill": t1 - t0, "attach": reply["attach"], "sum": reply["sum"], "round trip": t2 - t1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--mib", type=int, default=100)
    args = ap.parse_args()
    n = args.mib * 1024 * 1024 // 8
    expected = float(np.arange(n, dtype=np.float64).sum())
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    results = {"filemap": [], "stdlib": []}
    try:
        one_round("filemap", child, n, expected)  # warm-up: imports, first faults
        one_round("stdlib", child, n, expected)
        for i in range(args.rounds):
            order = ("filemap", "stdlib") if i % 2 == 0 else ("stdlib", "filemap")
            for kind in order:
                results[kind].append(one_round(kind, child, n, expected))
    finally:
        child.stdin.close()
        child.wait()
    print(f"{args.mib} MiB float64 array, {args.rounds} rounds, Python {sys.version.split()[0]}, pid {os.getpid()}")
    print(f"{'step':<12} {'filemap ms':>11} {'stdlib ms':>10} {'ratio':>6}")
    for step in ("create+fill", "attach", "sum", "round trip"):
        f = statistics.median(r[step] for r in results["filemap"]) * 1e3
        s = statistics.median(r[step] for r in results["stdlib"]) * 1e3
        print(f"{step:<12} {f:>11.2f} {s:>10.2f} {f / s:>6.2f}")


if __name__ == "__main__":
    main()
