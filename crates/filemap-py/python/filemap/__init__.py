"""Named shared memory and synchronization objects with Windows' lifetimes, on Linux.

``filemap`` gives Python what ``mmap.mmap(-1, n, tagname=...)``, ``CreateMutex`` and friends
give it on Windows, with the same rules everywhere:

* a name lives exactly as long as some process holds a handle to it; when the last holder
  closes (or dies, even by SIGKILL) the name is gone at once, and nothing is left behind;
* memory is never freed under a user: a view stays valid as long as it is mapped, whatever
  other processes do;
* every failure is a :class:`filemap.Error` (an ``OSError``) carrying the Win32 code in
  ``winerror``; missing names are also ``FileNotFoundError``, denied access
  ``PermissionError``, names in use ``FileExistsError``.

Classes: :class:`Mapping` and :class:`View` (the buffer protocol: ``memoryview``,
``numpy.frombuffer``, slices, with no copy), :class:`SharedMemory` (a drop-in for
``multiprocessing.shared_memory.SharedMemory``), :class:`Mutex`, :class:`Semaphore`,
:class:`Event`, :class:`Timer`, and :func:`wait_any` / :func:`wait_all`.

Objects live in the namespace ``FILEMAP_ROOT`` points to (default: a per-user directory on
``/dev/shm``); names without a ``Local\\`` or ``Global\\`` prefix are per-user (``Local\\``).
"""

from ._filemap import (
    ALLOCATION_GRANULARITY,
    EVENT_ALL_ACCESS,
    EVENT_MODIFY_STATE,
    FILE_MAP_ALL_ACCESS,
    FILE_MAP_COPY,
    FILE_MAP_EXECUTE,
    FILE_MAP_READ,
    FILE_MAP_WRITE,
    MUTEX_ALL_ACCESS,
    PAGE_READONLY,
    PAGE_READWRITE,
    PAGE_WRITECOPY,
    SEC_COMMIT,
    SEC_RESERVE,
    SEMAPHORE_ALL_ACCESS,
    SEMAPHORE_MODIFY_STATE,
    SYNCHRONIZE,
    TIMER_ALL_ACCESS,
    TIMER_MODIFY_STATE,
    AccessDeniedError,
    AlreadyExistsError,
    Error,
    Event,
    InvalidParameterError,
    Mapping,
    Mutex,
    NotFoundError,
    NotOwnerError,
    OutOfMemoryError,
    Semaphore,
    Timer,
    TooManyPostsError,
    View,
    WrongTypeError,
    wait_all,
    wait_any,
)
from ._shared_memory import SharedMemory

__all__ = [
    "ALLOCATION_GRANULARITY",
    "EVENT_ALL_ACCESS",
    "EVENT_MODIFY_STATE",
    "FILE_MAP_ALL_ACCESS",
    "FILE_MAP_COPY",
    "FILE_MAP_EXECUTE",
    "FILE_MAP_READ",
    "FILE_MAP_WRITE",
    "MUTEX_ALL_ACCESS",
    "PAGE_READONLY",
    "PAGE_READWRITE",
    "PAGE_WRITECOPY",
    "SEC_COMMIT",
    "SEC_RESERVE",
    "SEMAPHORE_ALL_ACCESS",
    "SEMAPHORE_MODIFY_STATE",
    "SYNCHRONIZE",
    "TIMER_ALL_ACCESS",
    "TIMER_MODIFY_STATE",
    "AccessDeniedError",
    "AlreadyExistsError",
    "Error",
    "Event",
    "InvalidParameterError",
    "Mapping",
    "Mutex",
    "NotFoundError",
    "NotOwnerError",
    "OutOfMemoryError",
    "Semaphore",
    "SharedMemory",
    "Timer",
    "TooManyPostsError",
    "View",
    "WrongTypeError",
    "wait_all",
    "wait_any",
]
