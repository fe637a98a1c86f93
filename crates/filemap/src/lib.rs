//! # filemap: Win32 file mappings and named objects on Linux
//!
//! `filemap` gives Linux programs the semantics of Windows' `CreateFileMapping`,
//! `OpenFileMapping`, `MapViewOfFile` and the named synchronization objects, with no daemon:
//!
//! - **One namespace** of named objects per scope (`Local\`, per user; `Global\`, machine-wide),
//!   shared by every object type: a name held by another type fails with
//!   `ERROR_INVALID_HANDLE`; creating an existing name returns the existing object.
//! - **Windows lifetimes**: a name lives exactly as long as some process holds a handle (the
//!   last close, or the death of the last holder, even by `SIGKILL`, frees it at once); the
//!   memory lives while any handle or view remains.
//! - **Views** at 64 KiB-aligned addresses, coherent across all processes.
//! - Every error carries the Win32 code Windows returns ([`Error::code`]).
//! - **Who may open an object**: a Windows-style DACL ([`security::Permissions`]) on any
//!   object's options becomes its file's mode and POSIX ACL, enforced by the kernel at open.
//! - **The memory API around views** in [`memory`]: reserve and commit (`SEC_RESERVE` sections
//!   commit per section, for every view in every process), protection, locking, exact
//!   `VirtualQuery` regions, placeholders; [`Mapping::double_view`] maps a section twice back to
//!   back for ring buffers; [`MappingOptions::large_pages`] backs a section with huge pages.
//! - **Named synchronization objects** in [`sync`]: mutexes (thread-owned, recursive,
//!   abandoned when their owner dies), semaphores, events, waitable timers, and waits on up to
//!   64 of them at once, all futex-based with no system call on uncontended paths.
//!
//! - **Namespaces** ([`namespace::Namespace`]): where names resolve. Every constructor uses
//!   [`Namespace::default`](namespace::Namespace::default) (`$FILEMAP_ROOT`, or the standard
//!   per-user and machine-wide locations) unless given another with `.namespace(&ns)`;
//!   [`Namespace::at`](namespace::Namespace::at) roots one at any directory (tests, containers
//!   sharing a bind mount, an application's private set of names).
//! - **Builders** for every object (`Mapping::options()`, `Event::options()`, ...), returning
//!   whether the object was [`Created::New`] or already existed; `open_wait` on every type waits
//!   for a name to appear, for processes started independently.
//!
//! ```
//! use filemap::{Access, Created, Mapping, Protection, namespace::Namespace};
//! # let root = std::env::temp_dir().join(format!("filemap-doc-{}", std::process::id()));
//! // A namespace of this program's own; without `.namespace(..)` objects go to the default
//! // one ($FILEMAP_ROOT, or the standard per-user location for Local\ names).
//! let ns = Namespace::at(&root);
//!
//! // First process: the seeds' "Creating Named Shared Memory".
//! let (map, created) = Mapping::options()
//!     .name(r"Local\MyFileMappingObject")
//!     .size(256)
//!     .protection(Protection::ReadWrite)
//!     .namespace(&ns)
//!     .create()?;
//! assert_eq!(created, Created::New);
//! let view = map.view(Access::ALL)?;
//! view.write_at(0, b"Message from first process.")?;
//!
//! // Second process (here, the same one): open by name and read.
//! let other = ns.open_mapping(r"Local\MyFileMappingObject", Access::READ)?;
//! let msg = other.view(Access::READ)?.read_vec(0, 27)?;
//! assert_eq!(msg, b"Message from first process.");
//! # drop((view, map, other)); std::fs::remove_dir_all(&root).ok();
//! # Ok::<(), filemap::Error>(())
//! ```
//!
//! The layout of the crate follows the design in `docs/ARCHITECTURE.md`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "filemap supports Linux only: it is built on tmpfs, file locks, futexes and robust futex lists. \
     (A native Windows backend over CreateFileMappingW could slot in behind `sys`; none exists yet.)"
);

mod backing;
pub mod error;
mod fork;
pub mod handle;
mod large;
mod mapping;
pub mod memory;
pub mod name;
pub mod namespace;
mod object;
pub mod security;
pub mod sweep;
pub mod sync;
mod sys;

pub use error::{Error, ErrorKind, Result, Win32Error};
pub use handle::Handle;
pub use mapping::{
    Access, DoubleView, Mapping, MappingOptions, Protection, SectionFlags, View, ViewBuilder, flush_raw, page,
    unmap_raw, unmap_raw_preserving_placeholder,
};
pub use name::{ObjectName, Scope};
pub use namespace::Namespace;
pub use object::{
    Backing, CONTENTION_BOUND, Created, Entry, Header, ObjectType, SYNC_LEN, scan, sync_area_offset, take_handle_lock,
};
pub use sync::{Event, Mutex, MutexGuard, Process, Rights, Semaphore, Timer, WaitOutcome, wait_all, wait_any};
/// The library's per-thread words (initial-exec TLS on x86-64), shared with `filemap-win32`
/// so that its C entry points reach their thread state without `__tls_get_addr`. Not a stable
/// API.
#[doc(hidden)]
pub use sys::tls as fast_tls;
/// The `zerocopy` this crate's typed view access ([`View::read_as`], [`View::write_as`]) is
/// written against, so `#[derive(zerocopy::FromBytes, ...)]` in your code matches it.
pub use zerocopy;

/// Installs the core's `fork` handlers now (otherwise they are installed with the first named
/// handle). POSIX runs `pthread_atfork` *prepare* handlers in the reverse order of their
/// registration: a layer that calls this and then registers its own handlers knows its
/// *prepare* runs before the core's, so it may hold one of its locks across the fork even if it
/// calls into the core under that lock (the core's *prepare* takes the core's fork registry).
pub fn install_fork_handlers() {
    fork::install();
}

/// The Win32 allocation granularity: view offsets and addresses are multiples of it (64 KiB).
pub const ALLOCATION_GRANULARITY: usize = sys::GRANULARITY;

/// Where a paging-file-backed mapping's data starts in its object file: after the header page.
/// (Tools that read `/proc/<pid>/maps` use it to tell data views from header mappings.)
pub const DATA_OFFSET: u64 = object::HEADER_SIZE as u64;

/// The page size (4 KiB).
pub const PAGE_SIZE: usize = sys::PAGE;

/// The crate README's examples, compiled as doc-tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
