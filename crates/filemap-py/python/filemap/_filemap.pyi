"""Type stubs for the native part of the ``filemap`` package."""

import datetime
from collections.abc import Iterable
from types import TracebackType
from typing import Final, Optional, SupportsIndex, Union, final, overload

from typing_extensions import Buffer, Self

ALLOCATION_GRANULARITY: Final[int]
FILE_MAP_COPY: Final[int]
FILE_MAP_WRITE: Final[int]
FILE_MAP_READ: Final[int]
FILE_MAP_EXECUTE: Final[int]
FILE_MAP_ALL_ACCESS: Final[int]
PAGE_READONLY: Final[int]
PAGE_READWRITE: Final[int]
PAGE_WRITECOPY: Final[int]
SEC_COMMIT: Final[int]
SEC_RESERVE: Final[int]
MUTEX_ALL_ACCESS: Final[int]
SEMAPHORE_ALL_ACCESS: Final[int]
SEMAPHORE_MODIFY_STATE: Final[int]
EVENT_ALL_ACCESS: Final[int]
EVENT_MODIFY_STATE: Final[int]
TIMER_ALL_ACCESS: Final[int]
TIMER_MODIFY_STATE: Final[int]
SYNCHRONIZE: Final[int]

# An access argument: FILE_MAP_* bits, or "r", "w"/"rw" (read-write), "c" (copy-on-write).
_Access = Union[int, str]

class Error(OSError):
    """Base class of every filemap failure: an OSError whose ``winerror`` is the Win32 code."""

    winerror: Optional[int]

class NotFoundError(Error, FileNotFoundError):
    """No live object has that name (ERROR_FILE_NOT_FOUND, 2)."""

class AccessDeniedError(Error, PermissionError):
    """Permissions, protection or handle access forbid the operation (ERROR_ACCESS_DENIED, 5)."""

class AlreadyExistsError(Error, FileExistsError):
    """The name is already in use (ERROR_ALREADY_EXISTS, 183)."""

class WrongTypeError(Error):
    """The name is held by an object of another type (ERROR_INVALID_HANDLE, 6)."""

class InvalidParameterError(Error, ValueError):
    """A parameter or name is invalid (ERROR_INVALID_PARAMETER, ERROR_INVALID_NAME, ...)."""

class NotOwnerError(Error, RuntimeError):
    """A mutex was released by a thread that does not own it (ERROR_NOT_OWNER, 288)."""

class TooManyPostsError(Error, ValueError):
    """A semaphore release would exceed its maximum (ERROR_TOO_MANY_POSTS, 298)."""

class OutOfMemoryError(Error, MemoryError):
    """Memory or tmpfs space ran out (ERROR_NOT_ENOUGH_MEMORY, ERROR_COMMITMENT_LIMIT, ...)."""

@final
class Mapping:
    """A handle to a named (or unnamed) file mapping object backed by memory.

    The name lives exactly as long as some process holds a handle; views keep their memory
    after every handle is closed. A context manager that closes the handle."""

    @classmethod
    def create(
        cls,
        name: Optional[str],
        size: int,
        *,
        protection: int = ...,
        exclusive: bool = False,
        mode: Optional[int] = None,
    ) -> Mapping:
        """Creates the mapping, or opens it if the name is held (then ``existed`` is True);
        ``exclusive=True`` raises AlreadyExistsError instead."""
    @staticmethod
    def open(name: str, access: Optional[_Access] = None) -> Mapping:
        """Opens an existing mapping (OpenFileMapping); NotFoundError if no live object has the name."""
    def view(self, offset: int = 0, length: int = 0, access: Optional[_Access] = None) -> View:
        """Maps a view (MapViewOfFile): ``length`` bytes (0: to the end) from ``offset``."""
    def close(self) -> None:
        """Closes the handle (CloseHandle); views stay valid."""
    @property
    def closed(self) -> bool: ...
    def __reduce__(self) -> tuple[object, tuple[str, int]]: ...
    @property
    def existed(self) -> bool:
        """True if ``create`` opened an existing object; always True for ``open``."""
    @property
    def name(self) -> Optional[str]: ...
    @property
    def size(self) -> int: ...
    @property
    def access(self) -> int: ...
    @property
    def protection(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

class _ViewBase:
    """The base of ``View``; use ``Mapping.view()``."""

    def __new__(
        cls, mapping: Mapping, offset: int = 0, length: int = 0, access: Optional[_Access] = None
    ) -> Self: ...
    def close(self) -> None:
        """Unmaps the view; BufferError while buffers exported from it exist."""
    @property
    def closed(self) -> bool: ...
    def flush(self, offset: int = 0, size: int = 0) -> None:
        """Writes modified pages back (FlushViewOfFile)."""
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, key: SupportsIndex, /) -> int: ...
    @overload
    def __getitem__(self, key: slice, /) -> memoryview: ...
    @overload
    def __setitem__(self, key: SupportsIndex, value: int, /) -> None: ...
    @overload
    def __setitem__(self, key: slice, value: Buffer, /) -> None: ...
    @property
    def offset(self) -> int: ...
    @property
    def readonly(self) -> bool: ...
    @property
    def address(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class View(_ViewBase):
    """A mapped view; supports the buffer protocol with no copy (memoryview, numpy.frombuffer)."""

    # The buffer protocol (typeshed's spelling; a slot at runtime, __buffer__ from 3.12).
    def __buffer__(self, flags: int, /) -> memoryview: ...

@final
class _ViewExport:
    """The owner of one buffer exported by a View: keeps its memory mapped."""

@final
class Mutex:
    """A mutex (CreateMutex): thread-owned, recursive, abandoned when its owner dies."""

    def __new__(cls, name: Optional[str] = None, initial_owner: bool = False) -> Self: ...
    @staticmethod
    def open(name: str, rights: Optional[int] = None) -> Mutex: ...
    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """True when owned (see ``abandoned``), False on timeout. Releases the GIL; Ctrl-C interrupts."""
    def release(self) -> None:
        """ReleaseMutex; NotOwnerError if the calling thread does not own it."""
    @property
    def abandoned(self) -> bool:
        """True if the last successful acquire on this handle found the mutex abandoned."""
    @property
    def owned(self) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def existed(self) -> bool: ...
    def __reduce__(self) -> tuple[object, tuple[str]]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class Semaphore:
    """A semaphore (CreateSemaphore): a count in 0..maximum."""

    def __new__(cls, name: Optional[str] = None, initial: int = 1, maximum: Optional[int] = None) -> Self: ...
    @staticmethod
    def open(name: str, rights: Optional[int] = None) -> Semaphore: ...
    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool: ...
    def release(self, n: int = 1) -> int:
        """Adds ``n`` units; returns the previous count. TooManyPostsError past the maximum."""
    @property
    def value(self) -> int: ...
    @property
    def maximum(self) -> int: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def existed(self) -> bool: ...
    def __reduce__(self) -> tuple[object, tuple[str]]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class Event:
    """An event (CreateEvent): manual-reset (the default) or auto-reset."""

    def __new__(cls, name: Optional[str] = None, manual_reset: bool = True, initial_state: bool = False) -> Self: ...
    @staticmethod
    def open(name: str, rights: Optional[int] = None) -> Event: ...
    def set(self) -> None: ...
    def reset(self) -> None: ...
    def clear(self) -> None: ...
    def pulse(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool: ...
    @property
    def manual_reset(self) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def existed(self) -> bool: ...
    def __reduce__(self) -> tuple[object, tuple[str]]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class Timer:
    """A waitable timer (CreateWaitableTimer)."""

    def __new__(cls, name: Optional[str] = None, manual_reset: bool = False) -> Self: ...
    @staticmethod
    def open(name: str, rights: Optional[int] = None) -> Timer: ...
    def set(self, due: Union[float, datetime.datetime], period: float = 0.0) -> None:
        """Signaled at ``due`` (seconds from now, or a datetime), then every ``period`` seconds."""
    def cancel(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool: ...
    @property
    def manual_reset(self) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def existed(self) -> bool: ...
    def __reduce__(self) -> tuple[object, tuple[str]]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

_Waitable = Union[Mutex, Semaphore, Event, Timer]

def wait_any(objects: Iterable[_Waitable], timeout: Optional[float] = None) -> Optional[int]:
    """Waits until one object is signaled and consumes it; its index, or None on timeout."""

def wait_all(objects: Iterable[_Waitable], timeout: Optional[float] = None) -> bool:
    """Waits until all objects are signaled at once and consumes them all; False on timeout."""
