"""filemap.Mapping and filemap.View: named memory across processes, the buffer protocol, errors."""

import gc
import sys

import numpy as np
import pytest

import filemap
from conftest import WATCHDOG


def test_second_process_opens_by_name_and_both_see_each_others_writes(name, child):
    with filemap.Mapping.create(name, 4096) as m:
        assert not m.existed and m.size == 4096
        view = m.view()
        view[0:27] = b"Message from first process."
        c = child(
            """
            import sys, filemap
            m = filemap.Mapping.open(sys.argv[1])
            v = m.view()
            print(bytes(v[0:27]).decode(), flush=True)
            v[100:105] = b"reply"
            print("done", flush=True)
            sys.stdin.readline()
            """,
            name,
        )
        c.expect("Message from first process.")
        c.expect("done")
        assert bytes(view[100:105]) == b"reply"
        c.send("bye")
        c.finish()
        view.close()


def test_buffers_point_into_the_mapping_without_copies(name):
    m = filemap.Mapping.create(name, 1 << 16)
    a, b = m.view(), m.view()
    assert a.address != b.address
    mv = memoryview(a)
    assert (mv.format, mv.itemsize, mv.ndim, mv.shape, mv.readonly) == ("B", 1, 1, (1 << 16,), False)
    mv[10:15] = b"hello"  # through a memoryview of one view...
    assert bytes(b[10:15]) == b"hello"  # ...seen through another view of the same object
    arr = np.frombuffer(a, dtype=np.uint32)
    arr[100] = 0xDEADBEEF
    assert int.from_bytes(bytes(b[400:404]), sys.byteorder) == 0xDEADBEEF
    sl = a[8:16]  # a slice is a memoryview over the same memory
    assert isinstance(sl, memoryview)
    b[8] = 42
    assert sl[0] == 42
    del mv, arr, sl
    a.close()
    b.close()
    m.close()


def test_close_is_refused_while_buffers_are_exported(name):
    m = filemap.Mapping.create(name, 4096)
    v = m.view()
    mv = memoryview(v)
    arr = np.frombuffer(v, dtype=np.uint8)
    sl = v[0:4]
    for holder in ("mv", "arr", "sl"):
        with pytest.raises(BufferError):
            v.close()
        if holder == "mv":
            mv.release()
        elif holder == "arr":
            del arr
        else:
            del sl
        gc.collect()
    v.close()
    assert v.closed
    with pytest.raises(ValueError):
        memoryview(v)
    with pytest.raises(ValueError):
        v.flush()
    v.close()  # twice is fine
    m.close()


def test_buffer_keeps_the_view_mapped_after_the_view_object_is_dropped(name):
    m = filemap.Mapping.create(name, 4096)
    v = m.view()
    arr = np.frombuffer(v, dtype=np.uint8)
    del v
    gc.collect()
    m.close()
    arr[:] = 7  # would crash if the view had been unmapped
    assert arr.sum() == 7 * 4096


def test_view_outlives_the_handle_but_the_name_does_not(name):
    m = filemap.Mapping.create(name, 4096)
    v = m.view()
    v[0:3] = b"abc"
    m.close()
    assert m.closed
    with pytest.raises(FileNotFoundError):
        filemap.Mapping.open(name)
    assert bytes(v[0:3]) == b"abc"
    fresh = filemap.Mapping.create(name, 4096)
    assert not fresh.existed
    assert bytes(fresh.view()[0:3]) == b"\0\0\0"
    with pytest.raises(ValueError):
        m.view()


def test_read_only_views_export_read_only_buffers(name):
    m = filemap.Mapping.create(name, 4096)
    m.view()[0:2] = b"hi"
    r = filemap.Mapping.open(name, "r")
    rv = r.view()
    assert rv.readonly
    assert bytes(rv[0:2]) == b"hi"
    assert memoryview(rv).readonly
    with pytest.raises(TypeError):
        rv[0] = 1
    arr = np.frombuffer(rv, dtype=np.uint8)
    assert not arr.flags.writeable
    with pytest.raises(PermissionError) as e:
        r.view(access="w")
    assert e.value.winerror == 5


def test_copy_on_write_views_stay_private(name):
    m = filemap.Mapping.create(name, 4096)
    shared = m.view()
    private = m.view(access="c")
    private[0:4] = b"mine"
    assert bytes(shared[0:4]) == b"\0\0\0\0"


def test_context_managers_close(name):
    with filemap.Mapping.create(name, 4096) as m:
        with m.view() as v:
            v[0] = 1
        assert v.closed
    assert m.closed
    with pytest.raises(FileNotFoundError):
        filemap.Mapping.open(name)


def test_create_of_a_held_name_opens_it_or_raises_when_exclusive(name):
    m = filemap.Mapping.create(name, 8192)
    again = filemap.Mapping.create(name, 100)
    assert again.existed and again.size == 8192
    with pytest.raises(FileExistsError) as e:
        filemap.Mapping.create(name, 100, exclusive=True)
    assert isinstance(e.value, filemap.AlreadyExistsError)
    assert e.value.winerror == 183
    m.close()
    again.close()


def test_errors_are_oserrors_with_winerror(name):
    with pytest.raises(filemap.NotFoundError) as e:
        filemap.Mapping.open(name)
    err = e.value
    assert isinstance(err, FileNotFoundError) and isinstance(err, filemap.Error) and isinstance(err, OSError)
    assert err.winerror == 2 and err.errno == 2
    assert name in str(err)
    ev = filemap.Event(name)  # holds the name while the test runs
    with pytest.raises(filemap.WrongTypeError) as e:
        filemap.Mapping.open(name)
    assert e.value.winerror == 6
    with pytest.raises(filemap.InvalidParameterError) as e:
        filemap.Mapping.create(name + "x", 0)
    assert isinstance(e.value, ValueError) and e.value.winerror == 87
    with pytest.raises(ValueError):
        filemap.Mapping.open(name, "bogus")
    ev.close()


def test_views_at_an_offset_must_be_granularity_aligned(name):
    g = filemap.ALLOCATION_GRANULARITY
    m = filemap.Mapping.create(name, 2 * g)
    m.view()[g : g + 3] = b"xyz"
    v = m.view(offset=g, length=16)
    assert len(v) == 16 and v.offset == g
    assert bytes(v[0:3]) == b"xyz"
    with pytest.raises(filemap.InvalidParameterError) as e:
        m.view(offset=4096)
    assert e.value.winerror == 1132


def test_the_last_holder_anywhere_frees_the_name(name, child):
    c = child(
        """
        import sys, filemap
        m = filemap.Mapping.create(sys.argv[1], 4096)
        m.view()[0:4] = b"kept"
        print("created", flush=True)
        sys.stdin.readline()
        """,
        name,
    )
    c.expect("created")
    mine = filemap.Mapping.open(name)
    c.send("exit")
    c.finish()
    # The creator is gone; our handle keeps the name and the memory.
    other = filemap.Mapping.open(name)
    assert bytes(other.view()[0:4]) == b"kept"
    other.close()
    mine.close()
    with pytest.raises(FileNotFoundError):
        filemap.Mapping.open(name)


def test_flush_runs_on_views(name):
    m = filemap.Mapping.create(name, 8192)
    v = m.view()
    v[0:3] = b"abc"
    v.flush()
    v.flush(0, 4096)
    with pytest.raises(filemap.InvalidParameterError):
        v.flush(0, 1 << 20)


def test_numpy_arrays_that_keep_only_the_buffer_owner_keep_the_memory_mapped(name):
    m = filemap.Mapping.create(name, 4096)
    v = m.view()
    # numpy releases the export at once and keeps the buffer's owner as the array's base
    arr = np.ndarray((512,), dtype=np.int64, buffer=memoryview(v))
    v.close()  # no export is live, so close is allowed...
    m.close()
    arr[:] = 3  # ...and the memory stays mapped for the array
    assert arr.sum() == 3 * 512
    with pytest.raises(TypeError):
        type(arr.base)()  # export owners are only made by exporting
