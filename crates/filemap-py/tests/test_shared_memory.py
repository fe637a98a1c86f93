"""filemap.SharedMemory as a drop-in for multiprocessing.shared_memory.SharedMemory, with
Windows' lifetime: across subprocess and multiprocessing (spawn) partners, SIGKILLed creators,
numpy arrays, and the standard library documentation's own examples."""

import array
import multiprocessing
import os
import pickle
import signal

import numpy as np
import pytest

import filemap
from filemap import SharedMemory
from conftest import WATCHDOG, objects_in


# --- the Python documentation's examples for multiprocessing.shared_memory.SharedMemory -----
# Written out as the docs show them, with `shared_memory.SharedMemory` replaced by the drop-in.


def test_docs_example_basic_use():
    shm_a = SharedMemory(create=True, size=10)
    assert type(shm_a.buf) is memoryview
    buffer = shm_a.buf
    assert len(buffer) == 10
    buffer[:4] = bytearray([22, 33, 44, 55])  # Modify multiple at once
    buffer[4] = 100  # Modify single byte at a time
    # Attach to an existing shared memory block
    shm_b = SharedMemory(shm_a.name)
    assert array.array("b", shm_b.buf[:5]) == array.array("b", [22, 33, 44, 55, 100])  # Copy the data into a new array.array
    shm_b.buf[:5] = b"howdy"  # Modify via shm_b using bytes
    assert bytes(shm_a.buf[:5]) == b"howdy"  # Access via shm_a
    shm_b.close()  # Close each SharedMemory instance
    shm_a.close()
    shm_a.unlink()  # Call unlink only once to release the shared memory
    with pytest.raises(FileNotFoundError):
        SharedMemory(shm_a.name)


def test_docs_example_numpy_across_two_interpreters(child):
    # In the first Python interactive shell
    a = np.array([1, 1, 2, 3, 5, 8])  # Start with an existing NumPy array
    shm = SharedMemory(create=True, size=a.nbytes)
    # Now create a NumPy array backed by shared memory
    b = np.ndarray(a.shape, dtype=a.dtype, buffer=shm.buf)
    b[:] = a[:]  # Copy the original data into shared memory
    assert b.tolist() == [1, 1, 2, 3, 5, 8]
    assert type(b) is np.ndarray and type(a) is np.ndarray
    assert shm.name.startswith("psm_")  # We did not specify a name so one was chosen for us

    # In either the same shell or a new Python shell on the same machine
    second = child(
        """
        import sys
        import numpy as np
        from filemap import SharedMemory
        # Attach to the existing shared memory block
        existing_shm = SharedMemory(name=sys.argv[1])
        # Note that a.shape is (6,) and a.dtype is np.int64 in this example
        c = np.ndarray((6,), dtype=np.int64, buffer=existing_shm.buf)
        print(c.tolist(), flush=True)
        c[-1] = 888
        print(c.tolist(), flush=True)
        sys.stdin.readline()
        # Clean up from within the second Python shell
        del c  # Unnecessary; merely emphasizing the array is no longer used
        existing_shm.close()
        """,
        shm.name,
    )
    second.expect("[1, 1, 2, 3, 5, 8]")
    second.expect("[1, 1, 2, 3, 5, 888]")
    # Back in the first Python interactive shell, b reflects this change
    assert b.tolist() == [1, 1, 2, 3, 5, 888]
    second.send("clean up")
    second.finish()
    # Clean up from within the first Python shell
    del b  # Unnecessary; merely emphasizing the array is no longer used
    shm.close()
    shm.unlink()  # Free and release the shared memory block at the very end
    with pytest.raises(FileNotFoundError):
        SharedMemory(shm.name)


# --- the constructor, as the standard class checks it ---------------------------------------


def test_constructor_checks_match_the_standard_class(name):
    with pytest.raises(ValueError):
        SharedMemory(name, create=True, size=0)
    with pytest.raises(ValueError):
        SharedMemory(name, create=True, size=-1)
    with pytest.raises(ValueError):
        SharedMemory(None, create=False)
    with pytest.raises(FileNotFoundError) as e:
        SharedMemory(name)
    assert e.value.winerror == 2
    shm = SharedMemory(name, create=True, size=100)
    assert (shm.name, shm.size, len(shm.buf)) == (name, 100, 100)
    with pytest.raises(FileExistsError) as e:
        SharedMemory(name, create=True, size=100)
    assert e.value.winerror == 183
    attached = SharedMemory(name, size=5)  # size is ignored when attaching
    assert attached.size == 100
    assert repr(attached) == f"SharedMemory({name!r}, size=100)"
    attached.close()
    shm.close()


def test_close_keeps_memory_mapped_for_a_numpy_array_over_buf_and_frees_the_name(name):
    shm = SharedMemory(name, create=True, size=64)
    arr = np.ndarray((8,), dtype=np.int64, buffer=shm.buf)  # numpy keeps buf, not an export
    arr[:] = 5
    shm.close()  # the standard class would unmap under arr here
    shm.close()
    with pytest.raises(FileNotFoundError):
        SharedMemory(name)  # our handle was the only one
    arr += 1  # still mapped: no crash, same memory
    assert arr.sum() == 48
    view = np.frombuffer(memoryview(arr), dtype=np.int64)  # an export held over the old buffer
    del arr
    assert view.sum() == 48


def test_unlink_gives_up_our_hold_but_never_frees_under_another_holder(name, child):
    shm = SharedMemory(name, create=True, size=16)
    other = child(
        """
        import sys
        from filemap import SharedMemory
        s = SharedMemory(sys.argv[1])
        print("attached", flush=True)
        sys.stdin.readline()
        print(bytes(s.buf[:4]).decode(), flush=True)
        sys.stdin.readline()
        s.close()
        """,
        name,
    )
    other.expect("attached")
    shm.buf[:4] = b"live"
    shm.unlink()  # the other process still holds the name: it stays
    shm.unlink()  # twice is fine
    assert bytes(shm.buf[:4]) == b"live"  # buf stays usable until close()
    again = SharedMemory(name)
    assert bytes(again.buf[:4]) == b"live"
    again.close()
    other.send("read")
    other.expect("live")
    other.send("close")
    other.finish()
    # Every holder let go: the name is gone, though our buf is still mapped.
    with pytest.raises(FileNotFoundError):
        SharedMemory(name)
    assert bytes(shm.buf[:4]) == b"live"
    shm.close()


def test_pickles_to_its_name():
    shm = SharedMemory(create=True, size=32)
    shm.buf[:3] = b"abc"
    clone = pickle.loads(pickle.dumps(shm))
    assert (clone.name, clone.size, bytes(clone.buf[:3])) == (shm.name, 32, b"abc")
    clone.close()
    shm.close()


# --- multiprocessing (spawn) partners ----------------------------------------------------------


def _spawn_child_adds_one(shm, n):
    arr = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    arr += 1.0
    del arr
    shm.close()


def _spawn_child_creates_and_exits(name, queue):
    shm = SharedMemory(name, create=True, size=1 << 20)
    shm.buf[:6] = b"orphan"
    queue.put("created")
    queue.get()  # wait until the parent has attached, then exit without closing


def test_numpy_array_shared_with_a_spawned_process():
    n = 100_000
    shm = SharedMemory(create=True, size=n * 8)
    arr = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    arr[:] = np.arange(n)
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_spawn_child_adds_one, args=(shm, n))
    p.start()
    p.join(WATCHDOG)
    assert p.exitcode == 0
    assert np.array_equal(arr, np.arange(n) + 1.0)
    del arr
    shm.close()


def test_a_creator_that_exits_frees_nothing_under_an_attached_process(name):
    # The standard class on Linux unlinks the block when its creator's resource tracker
    # cleans up (CPython gh-82300); here the attached process keeps the name and the memory.
    ctx = multiprocessing.get_context("spawn")
    q_in, q_out = ctx.Queue(), ctx.Queue()

    p = ctx.Process(target=_spawn_child_creates_and_exits, args=(name, q_out))
    p.start()
    assert q_out.get(timeout=WATCHDOG) == "created"
    mine = SharedMemory(name)
    q_out.put("attached")
    p.join(WATCHDOG)
    assert p.exitcode == 0
    assert bytes(mine.buf[:6]) == b"orphan"
    third = SharedMemory(name)  # the name lives while we hold it
    assert bytes(third.buf[:6]) == b"orphan"
    third.close()
    mine.close()
    with pytest.raises(FileNotFoundError):
        SharedMemory(name)
    del q_in


# --- crashes -----------------------------------------------------------------------------------

_CREATOR = """
import sys
from filemap import SharedMemory
shm = SharedMemory(sys.argv[1], create=True, size=int(sys.argv[2]))
shm.buf[:] = bytes([7]) * shm.size
print("created", flush=True)
sys.stdin.readline()
"""


def test_sigkilled_creator_frees_nothing_under_a_holder_and_nothing_outlives_the_last_one(
    name, child, private_root
):
    env = {"FILEMAP_ROOT": private_root}
    size = 8 << 20
    creator = child(_CREATOR, name, size, env=env)
    creator.expect("created")
    holder = child(
        """
        import sys
        from filemap import SharedMemory
        shm = SharedMemory(sys.argv[1])
        print("attached", flush=True)
        sys.stdin.readline()
        print(sum(shm.buf) == 7 * shm.size, flush=True)
        sys.stdin.readline()
        shm.close()
        print("closed", flush=True)
        sys.stdin.readline()
        """,
        name,
        env=env,
    )
    holder.expect("attached")
    assert len(objects_in(private_root)) == 1
    with open(f"/proc/{holder.pid}/maps") as f:
        assert any(private_root in line for line in f)  # what the check at the end looks for
    creator.kill(signal.SIGKILL)

    holder.send("check")
    holder.expect("True")  # the memory is intact after the creator's death
    late = child(  # and the name still resolves while the holder lives
        """
        import sys
        from filemap import SharedMemory
        s = SharedMemory(sys.argv[1])
        print(s.size, bytes(s.buf[:2]).hex(), flush=True)
        s.close()
        """,
        name,
        env=env,
    )
    late.expect(f"{size} 0707")
    late.finish()

    holder.send("close")
    holder.expect("closed")
    # The last holder closed (and still lives): nothing is left, name or memory. The object
    # file is unlinked and no live process maps it, so tmpfs has freed its pages.
    assert objects_in(private_root) == []
    with open(f"/proc/{holder.pid}/maps") as f:
        assert [line for line in f if private_root in line] == []
    probe = child(
        """
        import sys
        from filemap import SharedMemory
        try:
            SharedMemory(sys.argv[1])
        except FileNotFoundError as e:
            print("gone", e.winerror, flush=True)
        """,
        name,
        env=env,
    )
    probe.expect("gone 2")
    probe.finish()
    holder.send("exit")
    holder.finish()


def test_sigkilled_sole_holder_leaves_no_name_and_its_file_is_reclaimed(name, child, private_root):
    env = {"FILEMAP_ROOT": private_root}
    creator = child(_CREATOR, name, 1 << 20, env=env)
    creator.expect("created")
    creator.kill(signal.SIGKILL)
    probe = child(
        """
        import sys
        from filemap import SharedMemory
        try:
            SharedMemory(sys.argv[1])
        except FileNotFoundError as e:
            print("gone", e.winerror, flush=True)
        s = SharedMemory(sys.argv[1], create=True, size=10)  # the name is free again
        print("fresh", bytes(s.buf[:2]).hex(), flush=True)
        s.close()
        """,
        name,
        env=env,
    )
    probe.expect("gone 2")
    probe.expect("fresh 0000")
    probe.finish()
    assert objects_in(private_root) == []
