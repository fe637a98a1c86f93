"""``filemap.SharedMemory``: ``multiprocessing.shared_memory.SharedMemory`` with Windows' lifetime."""

import secrets
from typing import Optional

from ._filemap import Mapping, View

__all__ = ["SharedMemory"]

_NAME_PREFIX = "psm_"
# Same length as the standard library's generated names.
_NAME_TOKEN_BYTES = 4


def _make_name() -> str:
    return _NAME_PREFIX + secrets.token_hex(_NAME_TOKEN_BYTES)


class SharedMemory:
    """A drop-in for :class:`multiprocessing.shared_memory.SharedMemory` with Windows' lifetime.

    ``SharedMemory(name=None, create=False, size=0)`` creates a new block (``create=True``; a
    name is generated when ``name`` is None) or attaches to an existing one, exactly as the
    standard class does; ``name``, ``size``, ``buf`` (a ``memoryview``), ``close()`` and
    ``unlink()`` are there too, and instances pickle to their name, so they can be passed to
    ``multiprocessing`` children.

    What differs, on purpose (the standard class on Linux is POSIX ``shm_open``):

    * **Lifetime.** The block's name lives exactly as long as some process holds it (an
      instance that is not closed), as on Windows. When the last holder closes it, or dies,
      even by SIGKILL, the name is gone and its memory is freed once no view remains. There is
      no resource tracker: nothing unlinks a block under another process when its creator
      exits (CPython gh-82300), and a crashed creator leaves nothing in ``/dev/shm``.
    * **unlink()** cannot remove a name other processes still hold (Windows has no unlink).
      It gives up *this* instance's hold on the name at once (``buf`` stays usable until
      ``close()``); the name disappears when every holder has closed or unlinked. Calling it
      after ``close()`` or twice does nothing, and it never raises FileNotFoundError.
    * ``create=True`` on a name some process holds raises :class:`filemap.AlreadyExistsError`
      (a ``FileExistsError``), as the standard class does; a name nobody holds any more is
      free, even if its creator crashed.
    * ``size`` is the size asked for at creation (the standard class on Windows rounds it up
      to a page); ``buf`` has exactly ``size`` bytes.
    * Names are filemap object names: without a prefix they are per-user (``Local\\``), and
      ``Global\\name`` is machine-wide. Names may hold any character but a backslash after
      the prefix, ``/`` included.
    * ``close()`` never raises BufferError and never unmaps memory a buffer still points to
      (see its docstring); a ``buf`` kept in a variable stays usable after ``close()``.
    * ``track`` (Python 3.13) is accepted and ignored: there is nothing to track.
    * Errors are :class:`filemap.Error` subclasses of the same built-in classes the standard
      class raises (``FileNotFoundError``, ``FileExistsError``, ``PermissionError``), with
      ``winerror`` set.
    """

    # Defined here so that __del__/close are safe on a half-made instance.
    _mapping: Optional[Mapping] = None
    _view: Optional[View] = None
    _buf: Optional[memoryview] = None
    _name: str = ""
    _size: int = 0

    def __init__(self, name: Optional[str] = None, create: bool = False, size: int = 0, *, track: bool = True) -> None:
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
            if name is None:
                while True:
                    candidate = _make_name()
                    mapping = Mapping.create(candidate, size)
                    if not mapping.existed:
                        break
                    mapping.close()
                name = candidate
            else:
                mapping = Mapping.create(name, size, exclusive=True)
        else:
            if name is None:
                raise ValueError("'name' can only be None if create=True")
            mapping = Mapping.open(name)
        self._mapping = mapping
        self._name = name
        self._size = mapping.size
        self._view = mapping.view()
        self._buf = memoryview(self._view)

    def __reduce__(self):
        return (self.__class__, (self.name, False, self.size))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"

    @property
    def buf(self) -> memoryview:
        """A memoryview of the block's contents (exactly ``size`` bytes); None after
        ``close()``, as with the standard class."""
        return self._buf  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """The block's name."""
        return self._name

    @property
    def size(self) -> int:
        """The block's size in bytes."""
        return self._size

    def close(self) -> None:
        """Closes this instance's access to the block and gives up its hold on the name.

        Unlike the standard class, it never raises BufferError and never unmaps memory that
        something still uses: ``buf`` is dropped, and the view is unmapped at once if nothing
        else holds a buffer over it (a numpy array made from ``buf``, a slice of it, a
        ``memoryview`` kept in a variable), or else when the last such buffer goes away, which
        until then stays valid. (The standard class releases ``buf``, which raises BufferError
        while it has exports, and leaves a numpy array made with ``buffer=shm.buf`` pointing to
        unmapped memory.)"""
        self._buf = None
        view, self._view = self._view, None
        if view is not None:
            try:
                view.close()
            except BufferError:
                pass  # still in use: unmapped when its last buffer is released
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None

    def unlink(self) -> None:
        """Gives up this instance's hold on the name, at once (Windows has no unlink: a name
        other processes hold stays theirs until they close). ``buf`` stays usable until
        ``close()``. Never raises for a name already released."""
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None
