"""filemap.Mutex, Semaphore, Event, Timer, wait_any, wait_all across real processes; the GIL
is released while waiting and Ctrl-C interrupts a wait."""

import datetime
import multiprocessing
import signal
import threading
import time

import numpy as np
import pytest

import filemap
from filemap import Event, Mutex, Semaphore, SharedMemory, Timer, wait_all, wait_any
from conftest import WATCHDOG


def _increment_under_mutex(mutex_name, shm_name, rounds):
    lock = Mutex(mutex_name)
    shm = SharedMemory(shm_name)
    counter = np.ndarray((1,), dtype=np.int64, buffer=shm.buf)
    for _ in range(rounds):
        with lock:
            value = int(counter[0])  # a read-modify-write that races without the lock
            time.sleep(0)
            counter[0] = value + 1
    del counter
    shm.close()


def test_mutex_excludes_across_spawned_processes(name):
    rounds, procs = 300, 3
    lock = Mutex(name + "-lock")
    shm = SharedMemory(name + "-mem", create=True, size=8)
    ctx = multiprocessing.get_context("spawn")
    ps = [ctx.Process(target=_increment_under_mutex, args=(name + "-lock", name + "-mem", rounds)) for _ in range(procs)]
    for p in ps:
        p.start()
    for p in ps:
        p.join(WATCHDOG)
        assert p.exitcode == 0
    assert int(np.ndarray((1,), dtype=np.int64, buffer=shm.buf)[0]) == rounds * procs
    lock.close()


def test_mutex_is_owned_by_a_thread_and_recursive(name):
    m = Mutex(name)
    assert not m.existed
    assert m.acquire() and m.acquire(timeout=0)  # recursive
    assert m.owned
    got = []
    t = threading.Thread(target=lambda: got.append(m.acquire(timeout=0.05)))
    t.start()
    t.join(WATCHDOG)
    assert got == [False]
    err = []

    def release_elsewhere():
        try:
            m.release()
        except filemap.NotOwnerError as exc:
            err.append(exc)

    t = threading.Thread(target=release_elsewhere)
    t.start()
    t.join(WATCHDOG)
    assert len(err) == 1 and isinstance(err[0], RuntimeError) and err[0].winerror == 288
    m.release()
    m.release()  # both levels
    assert not m.owned
    with pytest.raises(RuntimeError):
        m.release()
    assert Mutex(name).existed


def test_abandoned_mutex_is_reported_by_the_flag(name, child):
    c = child(
        """
        import sys, filemap
        m = filemap.Mutex(sys.argv[1])
        m.acquire()
        print("owned", flush=True)
        sys.stdin.readline()
        """,
        name,
    )
    c.expect("owned")
    m = Mutex.open(name)
    assert not m.acquire(timeout=0.05)
    c.kill(signal.SIGKILL)
    assert m.acquire(timeout=WATCHDOG)
    assert m.abandoned and m.owned
    m.release()
    assert m.acquire(timeout=0) and not m.abandoned
    m.release()


def test_initial_owner_owns_at_once(name):
    m = Mutex(name, initial_owner=True)
    assert m.owned
    m.release()


def test_semaphore_counts_across_processes_and_respects_its_maximum(name, child):
    s = Semaphore(name, initial=0, maximum=2)
    assert (s.value, s.maximum) == (0, 2)
    c = child(
        """
        import sys, filemap
        s = filemap.Semaphore.open(sys.argv[1])
        print(s.release(2), flush=True)
        """,
        name,
    )
    c.expect("0")
    c.finish()
    assert s.acquire(timeout=WATCHDOG) and s.acquire(blocking=False)
    assert not s.acquire(blocking=False)
    assert s.release() == 0
    with pytest.raises(filemap.TooManyPostsError) as e:
        s.release(2)
    assert isinstance(e.value, ValueError) and e.value.winerror == 298
    assert s.value == 1
    with s:
        assert s.value == 0
    assert s.value == 1
    with pytest.raises(ValueError):
        s.acquire(blocking=False, timeout=1)


def test_event_wakes_a_waiter_in_another_process(name, child):
    ev = Event(name, manual_reset=False)
    back = Event(name + "-back")
    c = child(
        """
        import sys, filemap
        ev = filemap.Event.open(sys.argv[1])
        back = filemap.Event.open(sys.argv[1] + "-back")
        print("waiting", flush=True)
        print(ev.wait(60), flush=True)
        back.set()
        """,
        name,
    )
    c.expect("waiting")
    ev.set()
    c.expect("True")
    assert back.wait(WATCHDOG) and back.is_set()  # manual-reset: stays set
    c.finish()
    assert not ev.is_set()  # auto-reset: the child's wait consumed it
    ev.set()
    ev.reset()
    assert not ev.wait(0)
    ev.pulse()
    assert not ev.is_set()


def test_wait_any_and_wait_all(name):
    m = Mutex(name + "-m")
    s = Semaphore(name + "-s", initial=0, maximum=5)
    e = Event(name + "-e", manual_reset=True)
    assert wait_any([s, e], timeout=0.05) is None
    e.set()
    assert wait_any([s, e], timeout=0) == 1
    s.release()
    assert wait_any([s, e], timeout=0) == 0
    assert s.value == 0
    assert not wait_all([m, s, e], timeout=0.05)  # s is not signaled: nothing consumed
    assert not m.owned
    s.release()
    assert wait_all([m, s, e], timeout=0)
    assert m.owned and s.value == 0 and e.is_set()
    m.release()
    with pytest.raises(TypeError):
        wait_any([s, object()])
    with pytest.raises(filemap.InvalidParameterError):
        wait_all([s, s], timeout=0)


def test_wait_any_reports_an_abandoned_mutex(name, child):
    c = child(
        """
        import sys, filemap
        m = filemap.Mutex(sys.argv[1], initial_owner=True)
        print("owned", flush=True)
        sys.stdin.readline()
        """,
        name,
    )
    c.expect("owned")
    m = Mutex.open(name)
    e = Event()
    c.kill(signal.SIGKILL)
    assert wait_any([e, m], timeout=WATCHDOG) == 1
    assert m.abandoned and m.owned
    m.release()


def test_timer_fires_relative_absolute_and_periodic(name):
    t = Timer(name)
    assert not t.wait(0.01)
    start = time.monotonic()
    t.set(0.1)
    assert t.wait(WATCHDOG)
    assert time.monotonic() - start >= 0.09
    assert not t.wait(0)  # a synchronization timer's wait consumed it
    t.set(datetime.datetime.now() + datetime.timedelta(seconds=0.05))
    assert t.wait(WATCHDOG)
    t.set(0.02, period=0.02)
    assert t.wait(WATCHDOG) and t.wait(WATCHDOG)
    t.cancel()
    m = Timer(manual_reset=True)
    m.set(0)
    assert m.wait(WATCHDOG) and m.is_set() and m.wait(0)  # manual-reset stays signaled
    with pytest.raises(ValueError):
        t.set(-1)


def test_the_gil_is_released_while_waiting(name):
    ev = Event(name)
    done = []
    t = threading.Thread(target=lambda: done.append(ev.wait(WATCHDOG)))
    t.start()
    # The waiter holds no GIL: this thread keeps running Python code meanwhile.
    spins, deadline = 0, time.monotonic() + 0.3
    while time.monotonic() < deadline:
        spins += 1
    assert spins > 1000 and done == []
    ev.set()
    t.join(WATCHDOG)
    assert done == [True]


@pytest.mark.parametrize("kind", ["event", "mutex", "wait_any"])
def test_ctrl_c_interrupts_a_wait_on_the_main_thread(name, child, kind):
    c = child(
        """
        import signal, sys, filemap
        # Python leaves SIGINT ignored if it started ignored (a job a shell ran in the
        # background, as CI scripts may): Ctrl-C must raise here whatever the parent did.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        kind, name = sys.argv[1], sys.argv[2]
        ev = filemap.Event(name + "-ev")
        m = filemap.Mutex(name + "-m")
        print("waiting", flush=True)
        try:
            if kind == "event":
                ev.wait()
            elif kind == "mutex":
                m.acquire()
            else:
                filemap.wait_any([ev, m])
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        """,
        kind,
        name,
    )
    m = Mutex(name + "-m", initial_owner=True)  # so that the child's acquire blocks
    c.expect("waiting")
    time.sleep(0.2)  # let it block
    c.proc.send_signal(signal.SIGINT)
    c.expect("interrupted")
    c.finish()
    m.release()


def test_handles_close_and_refuse_use_after(name):
    for obj in (Mutex(name + "m"), Semaphore(name + "s"), Event(name + "e"), Timer(name + "t")):
        assert obj.name.endswith(name + obj.__class__.__name__[0].lower())
        obj.close()
        assert obj.closed
        with pytest.raises(ValueError):
            obj.acquire(timeout=0)
        obj.close()
    with Event(name + "ctx") as e:
        pass
    assert e.closed
    with pytest.raises(FileNotFoundError):
        Event.open(name + "ctx")


def test_open_rights_are_enforced(name):
    held = Semaphore(name, initial=1)
    s = Semaphore.open(name, rights=filemap.SYNCHRONIZE)
    assert s.acquire(timeout=0)
    with pytest.raises(PermissionError) as e:
        s.release()
    assert e.value.winerror == 5
    held.close()


def _child_sets_event_under_mutex(lock, ev, sem):
    with lock:
        ev.set()
    sem.release()


def test_named_objects_pickle_to_their_names_for_spawned_children(name):
    import pickle

    lock, ev, sem = Mutex(name + "-m"), Event(name + "-e"), Semaphore(name + "-s", initial=0)
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_child_sets_event_under_mutex, args=(lock, ev, sem))
    p.start()
    assert ev.wait(WATCHDOG) and sem.acquire(timeout=WATCHDOG)
    p.join(WATCHDOG)
    assert p.exitcode == 0
    copy = pickle.loads(pickle.dumps(ev))
    assert copy.name == ev.name and copy.is_set()
    with pytest.raises(TypeError):
        pickle.dumps(Event())
    m = filemap.Mapping.create(name + "-map", 4096)
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.name == m.name and m2.size == 4096
    with pytest.raises(TypeError):
        pickle.dumps(m.view())
