//! The process's handle table: `HANDLE` values, what they refer to, their access and flags.
//!
//! # Handle values
//!
//! Every handle has one file descriptor, its *slot*, and its value is `(slot + 1) * 4`
//! (Windows handle values are multiples of 4 and ignore their low two bits, so `h | 1`,
//! `h | 2` and `h | 3` name the same handle). The value is never 0 (NULL) or -1
//! (`INVALID_HANDLE_VALUE`, which is also the `GetCurrentProcess()` pseudo-handle; -2 is
//! `GetCurrentThread()`).
//!
//! - For a namespace object (mapping, mutex, semaphore, event, timer) created or opened, the
//!   slot is the core handle's own descriptor: the core opened it without `FD_CLOEXEC` exactly
//!   when the handle is inheritable (`bInheritHandle`), owns and closes it. A non-inheritable
//!   one is private (the core's close takes the fast path). Making it inheritable later
//!   (`SetHandleInformation`, `DuplicateHandle` with `DUPLICATE_CLOSE_SOURCE`) goes through the
//!   core's `set_inheritable`, which first moves the descriptor, under the same number, to a
//!   new locked description and from then on closes it with the shared-description protocol:
//!   a child never shares a description that the core closes as private, and views (or a sync
//!   object's state page) already mapped from the private description do not keep a lock, and
//!   so the name, alive.
//! - A non-inheritable duplicate (`DuplicateHandle` in this process) and an adopted inherited
//!   descriptor have a slot of their own: an `FD_CLOEXEC` duplicate of the core handle's
//!   descriptor (same description), or the inherited descriptor. Making such a private named
//!   handle inheritable moves its slot to a new description held by a new, shared core handle
//!   (`share`), for the same two reasons.
//! - For a file (`CreateFile`) the slot *is* the file's descriptor.
//! - For a process or thread handle it is a pidfd (for `CreateThread`, a duplicate of the
//!   thread's unnamed completion event).
//!
//! No descriptor the library holds is inheritable except the slots of inheritable handles, at
//! any moment (nothing is opened inheritable and fixed up afterwards), so a concurrent fork +
//! exec elsewhere in the program never carries more than the handles meant to be inherited.
//! `DuplicateHandle` gives an inheritable duplicate a new description of its own, opened
//! inheritable by the core, and a non-inheritable one an own slot over a private description.
//!
//! # Inheritance across `exec`
//!
//! `HANDLE_FLAG_INHERIT` is exactly "the slot has no `FD_CLOEXEC`". A child started by
//! `CreateProcess(bInheritHandles = TRUE)`, or by any fork + exec, therefore finds the slot open
//! at the same number and the handle value the parent gave it (say on its command line) works.
//! The child's table starts empty: the first time a value is used that is not in the table, the
//! library *adopts* it if its descriptor was open without `FD_CLOEXEC` when the library was
//! loaded (so it came through `exec`; see `INHERITED`: not a descriptor made inheritable in
//! this process since), is still open, and is either a namespace object whose header
//! validates (via the core's `from_inherited_fd`, given an `FD_CLOEXEC` duplicate: the
//! inherited descriptor stays the slot, so a descriptor the core refuses is left open to its
//! owner) or a regular file. A non-inheritable handle's slot was closed by `exec`, so its value
//! is invalid in the child (`ERROR_INVALID_HANDLE`), as on Windows.
//! `CreateProcess(bInheritHandles = FALSE)` closes every inheritable slot in the child before
//! `exec`.
//!
//! # The access mask across `exec`
//!
//! Windows keeps a handle's granted access in the kernel's handle table; Linux descriptors only
//! carry their open mode. Two sources are combined:
//! 1. `CreateProcess` passes the exact access mask of every inherited handle to the child in the
//!    environment variable `FILEMAP_WIN32_HANDLES` (`value:kind:access,...`; the kind must
//!    match the adopted descriptor). The child uses it when it adopts the value (mappings via
//!    the core's `from_inherited_fd_with_access`, sync objects via `from_inherited_fd`'s rights).
//! 2. Without it (a plain fork + exec), the access is derived from the descriptor's open mode:
//!    a read-write mapping descriptor grants `FILE_MAP_ALL_ACCESS`, a read-only one
//!    `FILE_MAP_READ | FILE_MAP_COPY`; a file grants `GENERIC_READ` and/or `GENERIC_WRITE` by
//!    its mode.
//!
//! Either way the adopted access never exceeds what the descriptor allows.

#![allow(unsafe_code)] // raw descriptors of inherited handles

use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard, OnceLock};

use filemap::sync::{Event, Mutex as SyncMutex, Probe, Rights, Semaphore, Timer};
use filemap::{Access, Mapping, ObjectType, Win32Error};

use crate::HANDLE;
use crate::error::{Fail, Res};
use crate::objects::FileObject;
use crate::objects::ProcessObject;

/// `HANDLE_FLAG_INHERIT`.
pub const HANDLE_FLAG_INHERIT: u32 = 1;
/// `HANDLE_FLAG_PROTECT_FROM_CLOSE`.
pub const HANDLE_FLAG_PROTECT_FROM_CLOSE: u32 = 2;

/// The `GetCurrentProcess()` pseudo-handle value (-1).
pub const CURRENT_PROCESS: usize = usize::MAX;
/// The `GetCurrentThread()` pseudo-handle value (-2).
pub const CURRENT_THREAD: usize = usize::MAX - 1;

/// What a handle refers to.
#[derive(Debug, Clone)]
pub enum Object {
    /// A file mapping object (`CreateFileMapping`/`OpenFileMapping`).
    Mapping(Arc<Mapping>),
    /// A file (`CreateFile`).
    File(Arc<FileObject>),
    /// A process (`CreateProcess`, `DuplicateHandle` of `GetCurrentProcess()`).
    Process(Arc<ProcessObject>),
    /// The main thread of a process started by `CreateProcess` (waitable until the process
    /// exits).
    Thread(Arc<ProcessObject>),
    /// A thread started by `CreateThread`.
    UserThread(Arc<crate::objects::ThreadObject>),
    /// A mutex.
    Mutex(Arc<SyncMutex>),
    /// A semaphore.
    Semaphore(Arc<Semaphore>),
    /// An event.
    Event(Arc<Event>),
    /// A waitable timer.
    Timer(Arc<Timer>),
}

impl Object {
    /// True if both are the same reference (the same `Arc`), not merely equal objects.
    pub fn same(&self, other: &Object) -> bool {
        match (self, other) {
            (Object::Mapping(a), Object::Mapping(b)) => Arc::ptr_eq(a, b),
            (Object::File(a), Object::File(b)) => Arc::ptr_eq(a, b),
            (Object::Process(a), Object::Process(b)) | (Object::Thread(a), Object::Thread(b)) => Arc::ptr_eq(a, b),
            (Object::UserThread(a), Object::UserThread(b)) => Arc::ptr_eq(a, b),
            (Object::Mutex(a), Object::Mutex(b)) => Arc::ptr_eq(a, b),
            (Object::Semaphore(a), Object::Semaphore(b)) => Arc::ptr_eq(a, b),
            (Object::Event(a), Object::Event(b)) => Arc::ptr_eq(a, b),
            (Object::Timer(a), Object::Timer(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// A short name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Mapping(_) => "mapping",
            Object::File(_) => "file",
            Object::Process(_) => "process",
            Object::Thread(_) | Object::UserThread(_) => "thread",
            Object::Mutex(_) => "mutex",
            Object::Semaphore(_) => "semaphore",
            Object::Event(_) => "event",
            Object::Timer(_) => "timer",
        }
    }

    /// The core handle of a namespace object (mappings and sync objects), through the core's
    /// one handle trait; `None` for files, processes and threads.
    pub fn core(&self) -> Option<&dyn filemap::Handle> {
        match self {
            Object::Mapping(m) => Some(&**m),
            Object::Mutex(m) => Some(&**m),
            Object::Semaphore(s) => Some(&**s),
            Object::Event(e) => Some(&**e),
            Object::Timer(t) => Some(&**t),
            Object::File(_) | Object::Process(_) | Object::Thread(_) | Object::UserThread(_) => None,
        }
    }

    /// The handle's access mask as the core object records it (mappings and sync objects).
    fn core_access(&self) -> Option<u32> {
        self.core().map(|h| h.access_mask())
    }

    /// The core handle's own descriptor, for namespace objects (mappings and sync objects).
    pub(super) fn core_fd(&self) -> Option<BorrowedFd<'_>> {
        self.core().map(|h| h.as_fd())
    }

    /// Whether the core handle's own descriptor is inherited by children (no `FD_CLOEXEC`).
    fn core_inheritable(&self) -> bool {
        self.core().is_some_and(|h| h.is_inheritable())
    }

    /// Makes the core handle's own descriptor inheritable or not (the core's `set_inheritable`:
    /// once inheritable, the core closes it with the shared-description protocol).
    fn set_core_inheritable(&self, inheritable: bool) -> Res<()> {
        if let Some(h) = self.core() {
            h.set_inheritable(inheritable)?;
        }
        Ok(())
    }

    /// Whether the object is a named namespace object (its close follows the name protocol).
    fn is_named_core(&self) -> bool {
        self.core().is_some_and(|h| h.name().is_some())
    }

    /// Another core handle to the same object with the same access and the given
    /// inheritability: a new open file description of its own when the inheritability differs
    /// from this handle's, else this handle's description (the core's `duplicate`).
    fn core_duplicate(&self, inheritable: bool) -> Res<Object> {
        Ok(match self {
            Object::Mapping(m) => Object::Mapping(Arc::new(m.duplicate(m.access(), inheritable)?)),
            Object::Mutex(m) => Object::Mutex(Arc::new(m.duplicate(m.rights(), inheritable)?)),
            Object::Semaphore(s) => Object::Semaphore(Arc::new(s.duplicate(s.rights(), inheritable)?)),
            Object::Event(e) => Object::Event(Arc::new(e.duplicate(e.rights(), inheritable)?)),
            Object::Timer(t) => Object::Timer(Arc::new(t.duplicate(t.rights(), inheritable)?)),
            other => other.clone(),
        })
    }

    /// Another handle to the same object with `access` (sync objects and mappings can only
    /// lose rights: `ERROR_ACCESS_DENIED` otherwise). A core handle keeps this handle's
    /// descriptor (and so its value and inheritability).
    pub fn with_access(&self, access: u32) -> Res<Object> {
        Ok(match self {
            Object::Mapping(m) => Object::Mapping(Arc::new(m.duplicate(Access(access), m.is_inheritable())?)),
            Object::Mutex(m) => Object::Mutex(Arc::new(m.duplicate(Rights(access), m.is_inheritable())?)),
            Object::Semaphore(s) => Object::Semaphore(Arc::new(s.duplicate(Rights(access), s.is_inheritable())?)),
            Object::Event(e) => Object::Event(Arc::new(e.duplicate(Rights(access), e.is_inheritable())?)),
            Object::Timer(t) => Object::Timer(Arc::new(t.duplicate(Rights(access), t.is_inheritable())?)),
            other => other.clone(),
        })
    }
}

/// The descriptor a handle's value names.
#[derive(Debug)]
pub(crate) enum Slot {
    /// The core object's own descriptor (a namespace-object handle created or opened here): the
    /// handle's inheritability is the core's, and the core object closes it.
    Core,
    /// A descriptor of the handle's own: a file's or a pidfd, a duplicate of a non-inheritable
    /// core handle's descriptor (same open file description), or an inherited descriptor the
    /// library adopted. Closed when the entry is dropped, before the object.
    Own(OwnedFd),
}

/// One handle. Field order matters: an own slot closes before the object is dropped, so the
/// core's close protocol never sees our own extra descriptor as another holder.
///
/// Invariants for namespace objects (mappings, sync objects):
/// - `flags & HANDLE_FLAG_INHERIT` is exactly "the slot has no `FD_CLOEXEC`", and no other
///   descriptor of the object held by this library is inheritable;
/// - `shared` is false only if the description the slot names has never been inheritable
///   (false may be conservative: it only makes [`set_inherit`] move an own slot that needed no
///   move). Making an own slot of a named object inheritable while `shared` is false moves it
///   to a new description held by a shared core handle ([`share`]); a [`Slot::Core`] entry
///   leaves the move to the core's `set_inheritable`, which closes with the shared-description
///   protocol from then on. Either way views mapped earlier from the private description never
///   keep the name alive. (Unnamed objects have no name to protect: their slot is simply
///   toggled.)
/// - a [`Slot::Core`] entry's descriptor number is its own: no other entry's slot is that
///   descriptor (other entries may share the core object, each through an own slot), so the
///   core object may outlive the entry ([`close`] then makes its descriptor `FD_CLOEXEC`).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) slot: Slot,
    pub(crate) object: Object,
    pub(crate) access: u32,
    pub(crate) flags: u32,
    pub(crate) shared: bool,
    /// The "looks signaled" probe of a mutex, semaphore or event whose handle may wait
    /// (`SYNCHRONIZE`), for the wait functions' first pass: one load from the entry, then one
    /// from the object's shared word. It borrows the object's mapping, which `object` owns:
    /// only [`Entry::new`] and [`Entry::set_object`] set `object`, and they set this with it.
    pub(crate) probe: Option<Probe<'static>>,
}

/// The probe of `object` for [`Entry::probe`] (`None` for what the fast paths leave to the
/// core: timers, processes, threads, non-waitable objects, handles without `SYNCHRONIZE`).
pub(crate) fn probe_of(object: &Object) -> Option<Probe<'static>> {
    let probe = match object {
        Object::Mutex(m) if m.rights().contains(Rights::SYNCHRONIZE) => m.probe(),
        Object::Semaphore(s) if s.rights().contains(Rights::SYNCHRONIZE) => s.probe(),
        Object::Event(e) if e.rights().contains(Rights::SYNCHRONIZE) => e.probe(),
        _ => return None,
    };
    // SAFETY: the probe borrows the object's mapping of its shared page, which lives as long
    // as the core object behind the `Arc` in `object`. The result is stored only in the entry
    // that holds that `Arc` (`Entry::new`, `Entry::set_object`: `object` is never replaced
    // without replacing the probe), and read only through a borrow of that entry
    // ([`Entry::probe`] shortens the lifetime back to the borrow's).
    Some(unsafe { std::mem::transmute::<Probe<'_>, Probe<'static>>(probe) })
}

impl Entry {
    fn new(slot: Slot, object: Object, access: u32, flags: u32, shared: bool) -> Entry {
        let probe = probe_of(&object);
        Entry { slot, object, access, flags, shared, probe }
    }

    /// Replaces the object (and its probe); returns the old one.
    fn set_object(&mut self, object: Object) -> Object {
        self.probe = probe_of(&object);
        std::mem::replace(&mut self.object, object)
    }

    /// The object's probe, for as long as the entry is borrowed.
    #[inline(always)]
    pub(crate) fn probe(&self) -> Option<Probe<'_>> {
        self.probe
    }

    fn slot_fd(&self) -> BorrowedFd<'_> {
        match &self.slot {
            Slot::Own(fd) => fd.as_fd(),
            // A core slot is the object's own descriptor, alive as long as the object.
            Slot::Core => self.object.core_fd().expect("core slot of a namespace object"),
        }
    }

    fn info(&self, fd: RawFd) -> HandleInfo {
        HandleInfo { object: self.object.clone(), access: self.access, flags: self.flags, fd, shared: self.shared }
    }
}

/// A snapshot of a handle, returned by [`get`].
#[derive(Debug, Clone)]
pub struct HandleInfo {
    /// The object.
    pub object: Object,
    /// The access granted to this handle.
    pub access: u32,
    /// `HANDLE_FLAG_*`.
    pub flags: u32,
    /// The handle's descriptor number (its slot).
    pub fd: RawFd,
    /// The core handle's description may be shared with another process (see [`Entry`]).
    pub(crate) shared: bool,
}

// ---------------------------------------------------------------------------------------------
// The table: lock-free reads, serialized writes
// ---------------------------------------------------------------------------------------------
//
// Entries are indexed by slot number in a two-level array of atomic pointers (chunks of
// `CHUNK` slots, allocated on first use and never freed). Readers find an entry with two
// loads under an epoch pin (`epoch`: two plain stores to the thread's own record per call, one
// pin for any number of entries): no lock, no shared write, so `WaitForSingleObject` +
// `ReleaseMutex` cost what the core's operations cost. Writers (insert, close, flag changes,
// adoption) hold `WRITER`; a writer never changes an entry in place: it unpublishes it (swaps
// the slot to null), waits until every pin older than the swap is dropped (readers are pinned
// only across short calls that never block: a blocking wait first takes an `Arc` reference),
// then owns it and may change it and publish it again, or drop it.
// A reader that finds null takes `WRITER` and looks again, so an entry briefly unpublished
// for a change is never mistaken for a closed handle.

mod epoch;
#[cfg(test)]
mod probe_model;

pub(crate) const CHUNK_BITS: u32 = 12;
pub(crate) const CHUNK: usize = 1 << CHUNK_BITS;
/// Slots 0 .. CHUNK * CHUNK (16 Mi descriptors, well above any `RLIMIT_NOFILE` in practice).
pub(crate) const CHUNKS: usize = 1 << 12;

/// `CHUNK` slots: the published entries, and beside them the state words of their probes.
pub(crate) struct Chunk {
    entries: [AtomicPtr<Entry>; CHUNK],
    probes: [ProbeCell; CHUNK],
}

/// The probe of a published entry whose object is a semaphore or an event (with `SYNCHRONIZE`:
/// [`Entry::probe`], [`Probe::state_word`]), kept in the table so that a wait-any's first pass
/// reads the table and the objects' shared words and nothing else: the object looks signaled
/// while `word & mask != 0`. Every other slot (mutexes included: their probe is read from the
/// entry) holds [`NO_WORD`] and [`NO_PROBE`], which look signaled: a scan stops there, and asks
/// the entry. Written after the entry is published, cleared before it is unpublished: a reader
/// that finds a probed word under a pin may read through it until the pin is dropped, as the
/// entry that owns the probed mapping is freed only after every older pin is gone. A reader
/// never pairs a probed word with another object's mask: the next publication in the slot
/// comes after the writer's epoch wait, which outlasts the reader's pin. What it can see
/// besides a whole probe or none is a half-made one: a probed word with [`NO_PROBE`] (a
/// clear in progress: the word's own bits) or [`NO_WORD`] with the new probe's mask (a
/// publication in progress: looks signaled). Either way what a wait acts on is decided by the
/// entry it then looks up and tries. The loom model `handles::probe_model` checks all of this,
/// and that a clear moved after the epoch wait is caught.
pub(crate) struct ProbeCell {
    word: AtomicPtr<AtomicU64>,
    mask: AtomicU64,
}

/// The state word of probe cells without a probe: all ones, never written.
static NO_WORD: AtomicU64 = AtomicU64::new(u64::MAX);

/// The mask of probe cells without a probe (a probe's mask is never all ones).
pub(crate) const NO_PROBE: u64 = u64::MAX;

impl ProbeCell {
    /// The probed word (or [`NO_WORD`]) and the mask, valid while `_pin` lives.
    #[inline(always)]
    fn load<'p>(&self, _pin: &'p Pin) -> (&'p AtomicU64, u64) {
        let p = self.word.load(Ordering::Acquire);
        // The mask after the word: a probed word was stored after its mask (`publish`), and
        // `NO_WORD` after `NO_PROBE` (`unpublish`).
        let mask = self.mask.load(Ordering::Relaxed);
        // SAFETY: the word is never null (`new_chunk`, `publish` and `unpublish` store only
        // `NO_WORD`, a static, or a probed word). A probed word was stored by `publish` from
        // the probe of the entry published in the same slot, which owns the mapping of that
        // word; `unpublish` replaces it before the entry leaves the table and frees the entry
        // only after every pin older than that is dropped. It was read under `_pin`, which the
        // borrow does not outlive.
        (unsafe { &*p }, mask)
    }

    fn no_word() -> *mut AtomicU64 {
        std::ptr::from_ref(&NO_WORD).cast_mut()
    }
}

/// A slot: its entry cell and its probe cell.
#[derive(Clone, Copy)]
pub(crate) struct Cell {
    entry: &'static AtomicPtr<Entry>,
    probe: &'static ProbeCell,
}

impl Cell {
    /// The published entry (null for none).
    #[inline(always)]
    pub(crate) fn load(&self, order: Ordering) -> *mut Entry {
        self.entry.load(order)
    }
}

pub(crate) static SLOTS: [AtomicPtr<Chunk>; CHUNKS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS];
pub(crate) static WRITER: StdMutex<()> = StdMutex::new(());

/// The table for changes: holding the guard is the right to publish and unpublish entries.
/// `TerminateThread` is deferred while it lives ([`Deferred`]).
pub(crate) fn writer() -> Writer {
    FORK_HOOKS.call_once(install_fork_hooks);
    let deferred = Deferred::new(); // before the lock: a termination while waiting for it waits too
    Writer { _guard: lock_writer(), _deferred: deferred }
}

/// The guard of [`writer`]: the lock first, then the deferral (fields drop in order: the lock
/// is released before a deferred termination parks the thread).
pub(crate) struct Writer {
    _guard: MutexGuard<'static, ()>,
    _deferred: Deferred,
}

// `TerminateThread` parks its target in a signal handler wherever it is. Parked while it holds
// `WRITER`, it would make every later create, open, duplicate or close of the process hang
// (Windows' handle table is the kernel's and is never left locked). So a thread defers its
// termination while it holds `WRITER`, for the rest of a `CloseHandle` (which then completes:
// the object's close protocol runs and its name goes), and through every create, open and view
// mapping (which take the core's locks: the fork registry, the namespace cache, the view
// registry; none of them waits without a bound): the signal handler only marks it
// (`defer_termination`), and the thread parks itself when it leaves the outermost deferred
// section. Test: `terminating_a_thread_inside_close_handle_leaves_the_table_usable`.

/// Deferred sections the thread is in (low bits) and `TERMINATE` if a termination came
/// meanwhile: the thread's `aux_count` word of the core's initial-exec block (`fast_tls`), so
/// entering and leaving a section calls no `__tls_get_addr` (four calls per open, map, unmap
/// and close cycle before), and the signal handler reads it without one too.
///
/// Each change by the thread is a single instruction (`Words::aux_count_add`), which
/// `TerminateThread`'s signal handler (same thread) cannot split: with a load, add and store, a
/// handler that ran between the load and the store had its mark overwritten, the termination
/// was lost and the thread ran on. Not a locked instruction: no other thread touches the word.
fn deferring() -> &'static filemap::fast_tls::Words {
    filemap::fast_tls::words()
}

const TERMINATE: u32 = 1 << 31;

/// A section in which `TerminateThread` does not stop the thread: it stops when the outermost
/// section ends.
pub(crate) struct Deferred(());

impl Deferred {
    pub(crate) fn new() -> Deferred {
        deferring().aux_count_add(1);
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        Deferred(())
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        // The outermost section ends: a termination marked meanwhile leaves exactly `TERMINATE`
        // (a handler that runs after this finds no section and parks at once).
        let d = deferring();
        if d.aux_count_add(1u32.wrapping_neg()).wrapping_sub(1) == TERMINATE {
            d.set_aux_count(0);
            park_terminated();
        }
    }
}

/// For `TerminateThread`'s signal handler: if the thread is in a deferred section, marks it to
/// park when the section ends and returns true. Async-signal-safe (one thread-local word).
pub(crate) fn defer_termination() -> bool {
    // The interrupted code of this thread cannot run until the handler returns: a load and a
    // store are enough.
    let d = deferring();
    let count = d.aux_count();
    let inside = count & !TERMINATE != 0;
    if inside {
        d.set_aux_count(count | TERMINATE);
    }
    inside
}

fn lock_writer() -> MutexGuard<'static, ()> {
    WRITER.lock().unwrap_or_else(|e| e.into_inner())
}

// `fork` while another thread holds `WRITER` (a close in its epoch wait, the first writer's
// membarrier registration, an adoption) would leave the child, which has only the forking
// thread, with the lock held forever (and an entry unpublished mid-change): its next
// `CloseHandle`, `DuplicateHandle`, create or open would hang. So the forking thread takes
// `WRITER` before the fork and both sides release it after (installed before the first writer
// takes the lock; the core's handlers first, so that this *prepare* runs before the core's,
// which takes a lock the core takes under `WRITER`). Test:
// `a_child_forked_while_other_threads_close_handles_can_still_close_its_own`.

static FORK_HOOKS: std::sync::Once = std::sync::Once::new();

thread_local! {
    /// `WRITER`, held by the forking thread from *prepare* to *parent*/*child*.
    static HELD_OVER_FORK: std::cell::RefCell<Option<MutexGuard<'static, ()>>> =
        const { std::cell::RefCell::new(None) };
}

fn install_fork_hooks() {
    filemap::install_fork_handlers();
    // SAFETY: registering handlers has no precondition; both are plain functions that live
    // forever, never unwind (nothing in them panics) and only take or drop `WRITER`.
    unsafe { libc::pthread_atfork(Some(writer_before_fork), Some(writer_after_fork), Some(writer_after_fork)) };
}

extern "C" fn writer_before_fork() {
    let guard = lock_writer();
    // A thread whose thread-locals are gone (forking from a destructor) keeps no guard.
    let _ = HELD_OVER_FORK.try_with(|held| held.replace(Some(guard)));
}

extern "C" fn writer_after_fork() {
    let _ = HELD_OVER_FORK.try_with(|held| held.take());
}

/// The slot cell for descriptor `fd`, if its chunk exists.
#[inline(always)]
pub(crate) fn cell(fd: RawFd) -> Option<Cell> {
    cell_at(usize::try_from(fd).ok()?)
}

/// The cell of slot `i`, if its chunk exists.
#[inline(always)]
fn cell_at(i: usize) -> Option<Cell> {
    let chunk = SLOTS.get(i >> CHUNK_BITS)?.load(Ordering::Acquire);
    // SAFETY: a published chunk is leaked (never freed) and fully initialized before its
    // pointer is stored with `Release` (paired with the `Acquire` load above).
    let chunk: &'static Chunk = unsafe { chunk.as_ref()? };
    let j = i & (CHUNK - 1);
    Some(Cell { entry: &chunk.entries[j], probe: &chunk.probes[j] })
}

/// The slot cell for `fd`, making its chunk (writers only, under `WRITER`).
pub(crate) fn cell_for_insert(fd: RawFd, _w: &Writer) -> Res<Cell> {
    let i = usize::try_from(fd).map_err(|_| Fail(Win32Error::INVALID_HANDLE.0))?;
    let Some(chunk) = SLOTS.get(i >> CHUNK_BITS) else {
        // Not a descriptor the table can hold (no such handle was ever given out).
        return Err(Fail(Win32Error::INVALID_HANDLE.0));
    };
    if chunk.load(Ordering::Acquire).is_null() {
        chunk.store(Box::into_raw(new_chunk()), Ordering::Release);
    }
    cell(fd).ok_or(Fail(Win32Error::INVALID_HANDLE.0))
}

/// An empty chunk: no entries, every probe cell on [`NO_WORD`].
fn new_chunk() -> Box<Chunk> {
    // Made on the heap, not moved there (96 KiB: more than a small thread stack holds).
    let layout = std::alloc::Layout::new::<Chunk>();
    // SAFETY: `Chunk` is not zero-sized.
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Chunk>();
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY:
    // - `p` was allocated by the global allocator with `Chunk`'s layout, as `Box` requires;
    // - all-zero bytes are a valid `Chunk`: null `AtomicPtr`s and zero `AtomicU64`s.
    let fresh = unsafe { Box::from_raw(p) };
    for p in &fresh.probes {
        p.word.store(ProbeCell::no_word(), Ordering::Relaxed);
        p.mask.store(NO_PROBE, Ordering::Relaxed);
    }
    fresh
}

/// `ERROR_TOO_MANY_OPEN_FILES` (4).
pub(crate) const ERROR_TOO_MANY_OPEN_FILES: u32 = 4;

/// Takes the entry out of `cell` (under `WRITER`) and waits until no reader can still use it:
/// the entry is then the caller's alone.
pub(crate) fn unpublish(cell: Cell, _w: &Writer) -> Option<Box<Entry>> {
    // The probe first: whoever still finds it is pinned before the entry leaves, so the wait
    // below covers it too (`SeqCst`, as the swap: a thread that makes its first pin meanwhile
    // is covered by the same argument, `epoch`). Only writers change a probe, under `WRITER`:
    // one that is not set needs no clearing (most entries: mappings, files, processes).
    if cell.probe.word.load(Ordering::Relaxed) != ProbeCell::no_word() {
        cell.probe.mask.store(NO_PROBE, Ordering::SeqCst);
        cell.probe.word.store(ProbeCell::no_word(), Ordering::SeqCst);
    }
    let p = cell.entry.swap(std::ptr::null_mut(), Ordering::SeqCst);
    if p.is_null() {
        return None;
    }
    epoch::synchronize();
    // SAFETY: `p` came from `Box::into_raw` in `publish`; it is no longer reachable from the
    // table (swapped out under `WRITER`, so no other writer has it) and every reader that
    // could have loaded it has unpinned (`synchronize`), so we own it.
    Some(unsafe { Box::from_raw(p) })
}

/// Publishes `entry` in `cell`, which must be empty (under `WRITER`).
pub(crate) fn publish(cell: Cell, entry: Box<Entry>, _w: &Writer) {
    let state_word = entry.probe.and_then(|p| p.state_word());
    let old = cell.entry.swap(Box::into_raw(entry), Ordering::SeqCst);
    debug_assert!(old.is_null(), "publish over a live entry");
    if let Some((word, mask)) = state_word {
        // The mask before the word ([`ProbeCell::load`] reads them the other way round).
        cell.probe.mask.store(mask, Ordering::Relaxed);
        cell.probe.word.store(std::ptr::from_ref(word).cast_mut(), Ordering::Release);
    }
}

/// A pin for [`lookup`]: entries looked up while it lives stay valid until it is dropped.
pub(crate) use epoch::Pin;

/// Pins the calling thread for [`lookup`] (`None` while the thread exits: take the locked
/// path). Hold it only across short calls that never block and never change the table.
#[inline(always)]
pub(crate) fn pin() -> Option<Pin> {
    epoch::pin()
}

/// Parks a thread `TerminateThread` ended, for good (it waits for signals forever; handlers
/// still run). The thread may have been stopped inside a table read, which it never resumes: its
/// pin is dropped first, so it cannot hold up every `CloseHandle` of the process. Here rather
/// than in `thread` because the table's deferred sections park through it too.
pub(crate) fn park_terminated() -> ! {
    epoch::abandon();
    loop {
        // SAFETY: pause only suspends the calling thread.
        unsafe { libc::pause() };
    }
}

/// The published entry of handle `h`, valid while `pin` lives: the C entry points' fast path
/// (no lock, no reference count, no shared write). `None` if `h` is not published now (not a
/// handle, a pseudo-handle, an inherited handle not yet adopted, an entry being changed): the
/// caller then takes the locked path ([`with`], [`get`]), which decides.
#[inline(always)]
pub(crate) fn lookup(h: HANDLE, _pin: &Pin) -> Option<&Entry> {
    let p = cell_of_value(h)?.load(Ordering::Acquire);
    // SAFETY: loaded under `_pin`, which outlives the returned borrow: no writer frees or
    // changes the entry before the pin is dropped (module docs of `epoch`), and a non-null
    // slot holds a valid `Box<Entry>`.
    unsafe { p.as_ref() }
}

/// A lookup over many handles under one pin (wait-any's first pass): the table's first chunk
/// (the slots of descriptors below 4096, where nearly every program's handles are) is loaded
/// once, so a handle there costs one load of its slot; others go through [`lookup`].
pub(crate) struct Lookup<'p> {
    first: Option<&'static Chunk>,
    pin: &'p Pin,
}

impl<'p> Lookup<'p> {
    #[inline(always)]
    pub(crate) fn new(pin: &'p Pin) -> Lookup<'p> {
        let chunk = SLOTS[0].load(Ordering::Acquire);
        // SAFETY: a published chunk is leaked (never freed) and fully initialized before its
        // pointer is stored with `Release` (paired with the `Acquire` load above).
        Lookup { first: unsafe { chunk.as_ref() }, pin }
    }

    /// The probe cells of the first chunk ([`ProbeCell`]), `None` if there is no first chunk.
    #[inline(always)]
    pub(crate) fn first_probes(&self) -> Option<Probes<'p>> {
        Some(Probes { cells: &self.first?.probes, pin: self.pin })
    }

    /// [`lookup`] of `h`.
    #[inline(always)]
    pub(crate) fn get(&self, h: HANDLE) -> Option<&'p Entry> {
        let Some(cell) = self.first.and_then(|c| c.entries.get(slot_index(h))) else {
            return lookup(h, self.pin);
        };
        // SAFETY: as in `lookup`: loaded under the pin, which outlives the borrow.
        unsafe { cell.load(Ordering::Acquire).as_ref() }
    }
}

/// The probe cells of the table's first chunk, read under a pin (a wait-any's first pass).
#[derive(Clone, Copy)]
pub(crate) struct Probes<'p> {
    cells: &'static [ProbeCell; CHUNK],
    pin: &'p Pin,
}

impl<'p> Probes<'p> {
    /// The state word and mask of slot `i & (CHUNK - 1)` ([`ProbeCell`]): [`NO_WORD`] and
    /// [`NO_PROBE`] if that slot has no published semaphore or event with a probe.
    /// Indices past the chunk wrap (no branch): the caller checks them apart.
    #[inline(always)]
    pub(crate) fn state(&self, i: usize) -> (&'p AtomicU64, u64) {
        self.cells[i & (CHUNK - 1)].load(self.pin)
    }

    /// [`Probes::state`] of the slot handle value `h` names; `past` gets `h - 4` (wrapping),
    /// which is at least [`PAST_FIRST_CHUNK`] exactly when that slot is not in the first chunk
    /// (so an OR of it over many handles tells whether any is past). One subtraction and one
    /// mask to the cell, no shift (a cell is 16 bytes, a handle value 4 per slot).
    #[inline(always)]
    pub(crate) fn state_of_value(&self, h: HANDLE, past: &mut usize) -> (&'p AtomicU64, u64) {
        let v = (h as usize).wrapping_sub(4);
        *past |= v;
        // `v / 4` is the slot index (the low two bits of a value are ignored).
        self.state(v >> 2)
    }
}

/// [`Probes::state_of_value`]'s `past` is at least this when any handle is past the first chunk.
pub(crate) const PAST_FIRST_CHUNK: usize = CHUNK << 2;

/// Runs `f` on the entry of `fd`, protected against a concurrent close, without a lock;
/// `None` if the slot is empty (or this thread is exiting).
#[inline(always)]
pub(crate) fn with_published<R>(fd: RawFd, f: impl FnOnce(&Entry) -> R) -> Option<R> {
    let c = cell(fd)?;
    let pin = epoch::pin()?;
    let p = c.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: loaded under `pin`: no writer frees or changes the entry before the pin is
    // dropped (module docs of `epoch`), and it was a valid `Box<Entry>` when published.
    let r = f(unsafe { &*p });
    drop(pin);
    Some(r)
}

/// The cell of `fd` with its entry published (under `WRITER`), adopting an inherited
/// descriptor first; `ERROR_INVALID_HANDLE` if there is no such handle.
pub(crate) fn locked_cell(fd: RawFd, w: &Writer) -> Res<Cell> {
    if let Some(c) = cell(fd).filter(|c| !c.load(Ordering::Acquire).is_null()) {
        return Ok(c);
    }
    let entry = adopt(fd).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    let c = cell_for_insert(fd, w)?;
    publish(c, Box::new(entry), w);
    Ok(c)
}

/// Runs `f` on the entry of `fd` under `WRITER`, adopting an inherited descriptor first.
pub(crate) fn with_locked<R>(fd: RawFd, f: impl FnOnce(&Entry) -> R) -> Res<R> {
    let w = writer();
    let c = locked_cell(fd, &w)?;
    // SAFETY: under `WRITER` nobody unpublishes or frees the entry; it is a valid Box.
    Ok(f(unsafe { &*c.load(Ordering::Acquire) }))
}

/// A borrowed view of a handle for the fast paths: the object and the handle's access.
pub struct Borrowed<'a> {
    /// The object.
    pub object: &'a Object,
    /// The access granted to this handle.
    pub access: u32,
    /// The object's "looks signaled" probe, if the wait fast paths handle it (a mutex,
    /// semaphore or event, with `SYNCHRONIZE`).
    pub probe: Option<Probe<'a>>,
}

/// Runs `f` on handle `h` without taking a lock or a reference (under an epoch pin): for short
/// calls that never block and never change the handle table (`ReleaseMutex`, `SetEvent`, a
/// zero-timeout try). A blocking wait must take a reference ([`get`]) instead. Falls back to
/// the locked path (adopting an inherited handle on first use) when needed.
#[inline(always)]
pub fn with<R>(h: HANDLE, f: impl FnOnce(Borrowed<'_>) -> R) -> Res<R> {
    if let Some(c) = cell_of_value(h)
        && let Some(pin) = epoch::pin()
    {
        let p = c.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: loaded under `pin`: no writer frees or changes the entry before the pin
            // is dropped (module docs of `epoch`), and it was a valid `Box<Entry>`.
            let e = unsafe { &*p };
            let r = f(Borrowed { object: &e.object, access: e.access, probe: e.probe() });
            drop(pin);
            return Ok(r);
        }
    }
    with_slow(h, f)
}

/// [`with`] for a handle that is not published (or when this thread is exiting): under the
/// writer lock, adopting an inherited descriptor first.
#[inline(never)]
pub(crate) fn with_slow<R>(h: HANDLE, f: impl FnOnce(Borrowed<'_>) -> R) -> Res<R> {
    let fd = fd_of(h).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    with_locked(fd, |e| f(Borrowed { object: &e.object, access: e.access, probe: e.probe() }))
}

/// The objects of several handles, protected together by [`with_many`].
#[derive(Clone, Copy)]
pub struct Many<'a> {
    /// Entries loaded under the caller's epoch pin, which lives at least `'a`.
    pub(crate) entries: &'a [*const Entry],
}

impl<'a> Many<'a> {
    /// How many objects.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are none.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline(always)]
    fn entry(&self, i: usize) -> &'a Entry {
        // SAFETY: the entry was loaded under `with_many`'s pin, which lives as long as this
        // view (`'a` does not outlive the call of `f`), and was a valid `Box<Entry>` when
        // published (see `with_published`).
        unsafe { &*self.entries[i] }
    }

    /// The object of the `i`-th handle.
    #[inline(always)]
    pub fn get(&self, i: usize) -> &'a Object {
        &self.entry(i).object
    }

    /// The probe of the `i`-th handle's object ([`Borrowed::probe`]).
    #[inline(always)]
    pub fn probe(&self, i: usize) -> Option<Probe<'a>> {
        self.entry(i).probe()
    }

    /// The objects, in handle order.
    #[inline(always)]
    pub fn iter(&self) -> impl Iterator<Item = &'a Object> + 'a {
        let many = *self;
        (0..many.len()).map(move |i| many.get(i))
    }
}

/// Protects the entries of `hs` (at most 64) for a wait's cheap first pass and runs `f` on
/// them; `None` if any is not published now or cannot be protected (the caller then takes
/// references with [`get`]). Same rules as [`with`].
#[inline]
pub fn with_many<R>(hs: &[HANDLE], f: impl FnOnce(Many<'_>) -> R) -> Option<R> {
    let n = hs.len();
    if n > 64 {
        return None;
    }
    let pin = epoch::pin()?;
    // Uninitialized (no 512 bytes of zeroing per call): element i is written before it is read.
    let mut ptrs: [MaybeUninit<*const Entry>; 64] = [const { MaybeUninit::uninit() }; 64];
    for (&h, p) in hs.iter().zip(&mut ptrs[..n]) {
        let e = cell_of_value(h)?.load(Ordering::Acquire);
        if e.is_null() {
            return None;
        }
        p.write(e);
    }
    // SAFETY: the loop above wrote all `n` elements (it returns early otherwise), and
    // `MaybeUninit<T>` has the layout of `T`.
    let ptrs = unsafe { std::slice::from_raw_parts(ptrs.as_ptr().cast::<*const Entry>(), n) };
    let r = f(Many { entries: ptrs });
    drop(pin);
    Some(r)
}

/// The slot cell a handle value names, if its chunk exists: [`fd_of`] and [`cell`] in one
/// step (a value of 0 or -1/-2, or past the table, has none).
#[inline(always)]
pub(crate) fn cell_of_value(h: HANDLE) -> Option<Cell> {
    // (value & !3) / 4 - 1, wrapping: 0 (NULL) becomes usize::MAX, past every chunk.
    cell_at(slot_index(h))
}

/// The slot index a handle value names: `(value & !3) / 4 - 1`, wrapping (0, NULL, becomes
/// `usize::MAX`, past every chunk).
#[inline(always)]
pub(crate) fn slot_index(h: HANDLE) -> usize {
    ((h as usize) >> 2).wrapping_sub(1)
}

/// The handle value of slot `fd`.
pub fn value_of(fd: RawFd) -> HANDLE {
    ((fd as usize + 1) * 4) as HANDLE
}

/// The slot a handle value names, if it can name one (low two bits ignored).
#[inline(always)]
pub fn fd_of(h: HANDLE) -> Option<RawFd> {
    let v = (h as usize) & !3;
    if v == 0 || v > (i32::MAX as usize) * 4 {
        return None;
    }
    Some((v / 4 - 1) as RawFd)
}

/// True for the two pseudo-handles.
pub fn is_pseudo(h: HANDLE) -> bool {
    matches!(h as usize, CURRENT_PROCESS | CURRENT_THREAD)
}

pub(crate) fn set_cloexec(fd: BorrowedFd<'_>, cloexec: bool) -> Res<()> {
    let flags = if cloexec { rustix::io::FdFlags::CLOEXEC } else { rustix::io::FdFlags::empty() };
    rustix::io::fcntl_setfd(fd, flags).map_err(|e| Fail::from(std::io::Error::from(e)))
}

pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> Res<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Fail::from(std::io::Error::from(e)))
}

/// Puts `entry` in the table under its slot's number and returns the handle value.
pub(crate) fn insert_entry(entry: Entry) -> Res<HANDLE> {
    let fd = entry.slot_fd().as_raw_fd();
    if usize::try_from(fd).map_or(true, |i| i >= CHUNK * CHUNKS) {
        return Err(Fail(ERROR_TOO_MANY_OPEN_FILES));
    }
    let w = writer();
    let c = cell_for_insert(fd, &w)?;
    let old = unpublish(c, &w);
    publish(c, Box::new(entry), &w);
    drop(w);
    if let Some(old) = old {
        // A descriptor number can only be reused after its slot was closed, so a stale entry
        // means someone closed our descriptor behind our back (e.g. `close(3)` in C). The old
        // slot number now belongs to the new descriptor: forget the old one without closing it.
        let old = *old;
        match old.slot {
            Slot::Own(slot) => {
                std::mem::forget(slot);
                drop(old.object);
            }
            // The old core object owns that number: dropping it would close the new descriptor.
            Slot::Core => std::mem::forget(old.object),
        }
    }
    Ok(value_of(fd))
}

/// Adds a handle owning `slot` (a file, a process, a thread) and returns its value. `inherit`
/// sets `HANDLE_FLAG_INHERIT` (and clears `FD_CLOEXEC` on the slot).
pub fn insert(object: Object, access: u32, inherit: bool, slot: OwnedFd) -> Res<HANDLE> {
    set_cloexec(slot.as_fd(), !inherit)?;
    let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
    insert_entry(Entry::new(Slot::Own(slot), object, access, flags, false))
}

/// Adds a handle whose slot is a new duplicate of `src` (processes, threads).
pub fn insert_dup(object: Object, access: u32, inherit: bool, src: BorrowedFd<'_>) -> Res<HANDLE> {
    insert(object, access, inherit, dup_cloexec(src)?)
}

/// Adds a handle for a core mapping, created or opened inheritable exactly when the handle is
/// to be (`bInheritHandle`).
pub fn insert_mapping(mapping: Mapping) -> Res<HANDLE> {
    insert_core(Object::Mapping(Arc::new(mapping)))
}

/// Adds a handle for a core namespace object (mapping or sync object) created or opened
/// inheritable exactly when the handle is to be (`bInheritHandle`), with its access.
///
/// The slot is the core's own descriptor (no `FD_CLOEXEC` from the moment it was opened iff
/// asked). A non-inheritable handle's core object stays private, and its close takes the fast
/// path; making it inheritable later is the core's move (see `set_inherit`).
pub fn insert_core(object: Object) -> Res<HANDLE> {
    let inheritable = object.core_inheritable();
    insert_core_as(object, inheritable)
}

/// [`insert_core`] for an object the caller created or opened with `inheritable` as its
/// inheritability (saves asking the kernel, `F_GETFD`, on every create and open).
pub fn insert_core_as(object: Object, inheritable: bool) -> Res<HANDLE> {
    debug_assert_eq!(inheritable, object.core_inheritable());
    let access = object.core_access().ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    let flags = if inheritable { HANDLE_FLAG_INHERIT } else { 0 };
    insert_entry(Entry::new(Slot::Core, object, access, flags, inheritable))
}

/// A new handle entry for a namespace object `object` (already with the new handle's access,
/// sharing the source handle's core description) for `DuplicateHandle`; `src_shared` is the
/// source entry's `shared`.
pub(crate) fn duplicate_core(object: Object, inherit: bool, src_shared: bool) -> Res<Entry> {
    let access = object.core_access().ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    if inherit {
        // A description of its own (a new OFD holding the handle lock, as the core hands one
        // to another process), then inheritable. Not the core's `duplicate`: that shares the
        // source's descriptor when the source already has the inheritability asked for, and
        // another thread's `SetHandleInformation` can make it so at any moment; the new entry
        // then took over the source's number and slot, and two handles had one value (test
        // `handles_reused_across_kinds_while_flags_change_...`, one run in two under load).
        let core = object.core().ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
        let fresh = shared_object_like(&object, core.transfer(access)?, access)?;
        fresh.set_core_inheritable(true)?;
        return Ok(Entry::new(Slot::Core, fresh, access, HANDLE_FLAG_INHERIT, true));
    }
    // Non-inheritable: an own slot over a core handle whose descriptor is `FD_CLOEXEC` (the
    // source's, or a private reopening of an inheritable source).
    let src_fd = object.core_fd().map(|fd| fd.as_raw_fd());
    let copy = if object.core_inheritable() { object.core_duplicate(false)? } else { object.clone() };
    let slot = dup_cloexec(copy.core_fd().ok_or(Fail(Win32Error::INVALID_HANDLE.0))?)?;
    // Another thread's `SetHandleInformation` may change the source's inheritability at any
    // moment. A copy that is not the source's own core handle is a private reopening. One that
    // is may name a description that was, or has just become, inheritable: shared, unless the
    // source is still private after our `dup` (a later change moves the source to a new
    // description and leaves ours private).
    let shared = copy.core_fd().map(|fd| fd.as_raw_fd()) == src_fd && (src_shared || object.core_inheritable());
    Ok(Entry::new(Slot::Own(slot), copy, access, 0, shared))
}

/// Moves a non-inheritable handle of a private core object to a new open file description held
/// by a shared core handle, keeping the slot's number, and makes the slot inheritable.
///
/// A child shares the slot's description, so the core handle behind it must be closed with the
/// shared-description protocol; and views (or a sync object's state page) mapped from the old,
/// private description must not keep a lock, and so the name, alive: the old core handle is
/// dropped normally (fast path), which releases its lock whatever is still mapped. The new
/// description is opened `FD_CLOEXEC`, locked, adopted by the core as a shared handle, and then
/// `dup2`ed over the slot (which is atomic and leaves the slot without `FD_CLOEXEC`), so no
/// descriptor is ever inheritable by accident.
pub(crate) fn share(entry: &mut Entry) -> Res<Object> {
    let Slot::Own(slot) = &mut entry.slot else {
        return Err(Fail(Win32Error::INVALID_HANDLE.0));
    };
    let mode = rustix::fs::fcntl_getfl(&*slot)? & rustix::fs::OFlags::RWMODE;
    let path = format!("/proc/self/fd/{}", slot.as_raw_fd());
    let fresh = rustix::fs::open(path.as_str(), mode | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty())?;
    filemap::take_handle_lock(fresh.as_fd())?;
    let shared = shared_object_like(&entry.object, fresh, entry.access)?;
    let new_fd = shared.core_fd().ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    rustix::io::dup2(new_fd, slot)?;
    entry.shared = true;
    Ok(entry.set_object(shared))
}

/// A core object of the same type as `like`, with `access`, over `fd`: a new open file
/// description of the same object that holds the handle lock (it is taken as an inherited one:
/// a shared description, closed by the shared-description protocol).
fn shared_object_like(like: &Object, fd: OwnedFd, access: u32) -> Res<Object> {
    let raw = fd.into_raw_fd(); // ownership passes to the core below
    // SAFETY:
    // - `raw` is open: it came out of an `OwnedFd`;
    // - nothing else owns it: the core takes it (and closes it if it fails), or the last arm
    //   closes it.
    Ok(unsafe {
        match like {
            Object::Mapping(_) => {
                Object::Mapping(Arc::new(Mapping::from_inherited_fd_with_access(raw, Access(access))?))
            }
            Object::Mutex(_) => Object::Mutex(Arc::new(SyncMutex::from_inherited_fd(raw, Rights(access))?)),
            Object::Semaphore(_) => Object::Semaphore(Arc::new(Semaphore::from_inherited_fd(raw, Rights(access))?)),
            Object::Event(_) => Object::Event(Arc::new(Event::from_inherited_fd(raw, Rights(access))?)),
            Object::Timer(_) => Object::Timer(Arc::new(Timer::from_inherited_fd(raw, Rights(access))?)),
            _ => {
                drop(OwnedFd::from_raw_fd(raw));
                return Err(Fail(Win32Error::INVALID_HANDLE.0));
            }
        }
    })
}

/// Makes a handle inheritable or not, keeping every invariant of [`Entry`]. Returns the core
/// object the handle no longer refers to, if it changed, for the caller to drop outside the
/// table's lock.
pub(crate) fn set_inherit(entry: &mut Entry, inherit: bool) -> Res<Option<Object>> {
    let mut old = None;
    match &entry.slot {
        Slot::Core => {
            // The core moves a private named handle to a fresh, locked description first (see
            // the module docs), and closes it as shared from then on.
            entry.object.set_core_inheritable(inherit)?;
            entry.shared |= inherit;
        }
        Slot::Own(slot) => {
            if inherit && !entry.shared && entry.object.is_named_core() {
                old = Some(share(entry)?);
            } else {
                set_cloexec(slot.as_fd(), !inherit)?;
            }
        }
    }
    entry.flags = (entry.flags & !HANDLE_FLAG_INHERIT) | if inherit { HANDLE_FLAG_INHERIT } else { 0 };
    Ok(old)
}

/// Looks a handle up (adopting an inherited one on first use) and takes a reference to its
/// object. Pseudo-handles and unknown values fail with `ERROR_INVALID_HANDLE`.
pub fn get(h: HANDLE) -> Res<HandleInfo> {
    let fd = fd_of(h).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    if let Some(info) = with_published(fd, |e| e.info(fd)) {
        return Ok(info);
    }
    with_locked(fd, |e| e.info(fd))
}

/// Closes a handle (`CloseHandle`). A protected handle is not closed:
/// `ERROR_INVALID_HANDLE`.
pub fn close(h: HANDLE) -> Res<()> {
    let fd = fd_of(h).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    // A termination waits until the close is complete (see `Deferred`).
    let _deferred = Deferred::new();
    let entry = {
        let w = writer();
        let c = locked_cell(fd, &w)?;
        // SAFETY: under `WRITER` the published entry is not freed or changed by anyone else.
        let e = unsafe { &*c.load(Ordering::Acquire) };
        if e.flags & HANDLE_FLAG_PROTECT_FROM_CLOSE != 0 {
            return Err(Fail(Win32Error::INVALID_HANDLE.0));
        }
        let e = unpublish(c, &w).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
        if matches!(e.slot, Slot::Core) && e.flags & HANDLE_FLAG_INHERIT != 0 {
            // The core object may outlive the handle: another thread still uses it (a wait, a
            // view being made), or a duplicate shares it through its own slot (made while this
            // handle was private, which the core then moved in place). Its descriptor must not
            // be inherited by a child or adopted as an inherited handle meanwhile.
            e.object.set_core_inheritable(false).ok();
        }
        if let Slot::Own(slot) = &e.slot
            && e.flags & HANDLE_FLAG_INHERIT != 0
        {
            // The slot is closed only after the lock is released: until then a call that finds
            // the cell empty takes the locked path, which adopts an open descriptor without
            // `FD_CLOEXEC` as an inherited handle: the closed handle would come back to life
            // over a descriptor closed just after (test `closing_an_inheritable_own_slot_...`).
            set_cloexec(slot.as_fd(), true).ok();
        }
        e
    };
    // Outside the lock: the core's close protocol makes system calls. The last handle of this
    // process to a namespace object runs the reporting close, so a failed last close (no
    // descriptor left to test for other holders) makes CloseHandle fail with its code.
    let Entry { slot, object, .. } = *entry;
    drop(slot);
    object.close_reporting()
}

impl Object {
    /// Drops this reference to the object; if it was the process's last one to a mapping or
    /// sync object, runs the core's close protocol and reports its failure.
    fn close_reporting(self) -> Res<()> {
        fn last<T>(arc: Arc<T>, close: impl FnOnce(T) -> filemap::Result<()>) -> Res<()> {
            Arc::try_unwrap(arc).map_or(Ok(()), |object| close(object).map_err(Fail::from))
        }
        match self {
            Object::Mapping(m) => last(m, Mapping::close),
            Object::Mutex(m) => last(m, SyncMutex::close),
            Object::Semaphore(s) => last(s, Semaphore::close),
            Object::Event(e) => last(e, Event::close),
            Object::Timer(t) => last(t, Timer::close),
            other => {
                drop(other);
                Ok(())
            }
        }
    }
}

/// Takes the entry of slot `fd` out of the table (under `WRITER`), lets `f` change it, and
/// publishes it again whatever `f` returns; what `f` gives back is dropped outside the lock.
pub(crate) fn modify<T>(fd: RawFd, f: impl FnOnce(&mut Entry) -> Res<T>) -> Res<T> {
    let (r, _w) = {
        let w = writer();
        let c = locked_cell(fd, &w)?;
        let mut e = unpublish(c, &w).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
        let r = f(&mut e);
        publish(c, e, &w);
        (r, w)
    };
    r
}

/// Changes a handle's flags (`SetHandleInformation`).
pub fn set_flags(h: HANDLE, mask: u32, flags: u32) -> Res<()> {
    let info = get(h)?;
    drop(info.object);
    let old = modify(info.fd, |e| {
        let known = HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE;
        let new = (e.flags & !(mask & known)) | (flags & mask & known);
        let old = set_inherit(e, new & HANDLE_FLAG_INHERIT != 0)?;
        e.flags = new;
        Ok(old)
    })?;
    drop(old); // outside the lock: the core's close protocol makes system calls
    Ok(())
}

/// Changes the object and access of an existing handle in place, keeping its value
/// (`DuplicateHandle` with `DUPLICATE_CLOSE_SOURCE`). `object` must be the handle's own object
/// (`expected`, read by the caller) or one made from it by [`Object::with_access`] (same
/// descriptor). `ERROR_INVALID_HANDLE` if the slot no longer holds `expected`: another thread
/// closed the source meanwhile and the value may name a new handle, which must stay as it is.
pub fn replace(fd: RawFd, expected: &Object, object: Object, access: u32, inherit: bool) -> Res<HANDLE> {
    let (old, previous) = modify(fd, |e| {
        if !e.object.same(expected) {
            return Err(Fail(Win32Error::INVALID_HANDLE.0));
        }
        e.access = access;
        let old = e.set_object(object);
        let previous = set_inherit(e, inherit)?;
        e.flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        Ok((old, previous))
    })?;
    drop((old, previous));
    Ok(value_of(fd))
}

/// The slots of every inheritable handle, with their access and kind, for `CreateProcess`.
pub fn inheritable() -> Vec<(RawFd, u32, &'static str)> {
    let _w = writer();
    let mut out = Vec::new();
    for (ci, chunk) in SLOTS.iter().enumerate() {
        let chunk = chunk.load(Ordering::Acquire);
        if chunk.is_null() {
            continue;
        }
        // SAFETY: published chunks are leaked and initialized (see `cell`).
        for (i, c) in unsafe { &*chunk }.entries.iter().enumerate() {
            let p = c.load(Ordering::Acquire);
            if p.is_null() {
                continue;
            }
            // SAFETY: under `WRITER` published entries are not freed or changed.
            let e = unsafe { &*p };
            if e.flags & HANDLE_FLAG_INHERIT != 0 {
                out.push(((ci * CHUNK + i) as RawFd, e.access, e.object.kind()));
            }
        }
    }
    out
}

/// The kind name [`Object::kind`] gives an object of this type.
pub(crate) fn kind_name(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Mapping => "mapping",
        ObjectType::Mutex => "mutex",
        ObjectType::Semaphore => "semaphore",
        ObjectType::Event => "event",
        ObjectType::Timer => "timer",
        _ => "other",
    }
}

/// The environment variable `CreateProcess` uses to pass inherited handles' access masks.
pub const HANDLES_ENV: &str = "FILEMAP_WIN32_HANDLES";

/// Access masks passed by the parent (`value:kind:access`, value and access in hex), read
/// once. An entry only applies to a descriptor of the same kind (a grandchild started by a
/// plain fork + exec inherits the variable, not necessarily the same descriptors).
pub(crate) fn passed_access(fd: RawFd, kind: &str) -> Option<u32> {
    static PASSED: OnceLock<BTreeMap<RawFd, (String, u32)>> = OnceLock::new();
    let passed = PASSED.get_or_init(|| {
        let mut map = BTreeMap::new();
        if let Ok(list) = std::env::var(HANDLES_ENV) {
            for item in list.split(',') {
                let mut parts = item.splitn(3, ':');
                let (Some(v), Some(k), Some(a)) = (parts.next(), parts.next(), parts.next()) else { continue };
                let (Ok(v), Ok(a)) = (usize::from_str_radix(v, 16), u32::from_str_radix(a, 16)) else { continue };
                if let Some(fd) = fd_of(v as HANDLE) {
                    map.insert(fd, (k.to_owned(), a));
                }
            }
        }
        map
    });
    passed.get(&fd).filter(|(k, _)| k == kind).map(|&(_, a)| a)
}

/// The core object behind an inherited namespace-object descriptor (the core gets a
/// `FD_CLOEXEC` duplicate; the inherited descriptor stays the handle's slot, so nothing the
/// library does not own is closed if the core refuses it). `writable`: the descriptor's open
/// mode is read-write.
pub(crate) fn adopt_object(slot: &OwnedFd, kind: ObjectType, writable: bool, passed: Option<u32>) -> Option<Object> {
    if kind != ObjectType::Mapping && !writable {
        return None; // sync objects are always opened read-write
    }
    let raw = dup_cloexec(slot.as_fd()).ok()?.into_raw_fd(); // ownership passes to the core below
    // The parent's access mask if CreateProcess passed it, else the type's full access.
    let rights = |all: u32| Rights(passed.map_or(all, |p| p & all));
    // SAFETY: in every arm `raw` is a fresh descriptor owned by nobody else; the core takes it
    // (and closes it on failure), or the last arm closes it.
    let object = unsafe {
        match kind {
            ObjectType::Mapping => {
                let mapping = match passed {
                    // The parent's mask, within what the descriptor's open mode allows (write
                    // access needs a read-write descriptor; execute views are still checked
                    // against the object's protection by the core).
                    Some(p) => {
                        let mut allowed = (Access::READ | Access::COPY | Access::EXECUTE).0;
                        if writable {
                            allowed |= Access::ALL.0;
                        }
                        Mapping::from_inherited_fd_with_access(raw, Access(p & allowed))
                    }
                    None => Mapping::from_inherited_fd(raw),
                };
                Object::Mapping(Arc::new(mapping.ok()?))
            }
            ObjectType::Mutex => Object::Mutex(Arc::new(SyncMutex::from_inherited_fd(raw, rights(0x001F_0001)).ok()?)),
            ObjectType::Semaphore => {
                Object::Semaphore(Arc::new(Semaphore::from_inherited_fd(raw, rights(0x001F_0003)).ok()?))
            }
            ObjectType::Event => Object::Event(Arc::new(Event::from_inherited_fd(raw, rights(0x001F_0003)).ok()?)),
            ObjectType::Timer => Object::Timer(Arc::new(Timer::from_inherited_fd(raw, rights(0x001F_0003)).ok()?)),
            _ => {
                drop(OwnedFd::from_raw_fd(raw));
                return None;
            }
        }
    };
    Some(object)
}

/// The access bits a file descriptor's open mode can back (generic and specific rights).
pub(crate) fn by_mode_mask(by_mode: u32) -> u32 {
    let mut mask = 0xFFFF_FFFF;
    if by_mode & crate::objects::GENERIC_READ == 0 {
        mask &= !(crate::objects::GENERIC_READ
            | 0x1
            | 0x20
            | crate::objects::GENERIC_EXECUTE
            | crate::objects::GENERIC_ALL);
    }
    if by_mode & crate::objects::GENERIC_WRITE == 0 {
        mask &= !(crate::objects::GENERIC_WRITE | 0x2 | 0x4 | crate::objects::GENERIC_ALL);
    }
    mask
}

/// Adopts an inherited descriptor as a handle (see the module docs), or `None`.
pub(crate) fn adopt(fd: RawFd) -> Option<Entry> {
    if fd < 0 || (fd > 2 && !inherited_at_load(fd)) {
        return None;
    }
    // SAFETY: only used for the checks below; `fcntl_getfd` fails harmlessly on a closed
    // number, and nothing else is done with it unless it is open.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let fdflags = rustix::io::fcntl_getfd(borrowed).ok()?;
    if fdflags.contains(rustix::io::FdFlags::CLOEXEC) {
        return None; // not inherited, and not ours: some other part of the program owns it
    }
    let st = rustix::fs::fstat(borrowed).ok()?;
    // Regular files (objects and files); the standard descriptors whatever they are.
    if st.st_mode & 0o170000 != 0o100000 && fd > 2 {
        return None;
    }
    let mode = rustix::fs::fcntl_getfl(borrowed).ok()?;
    let mut page = vec![0u8; filemap::PAGE_SIZE];
    let is_object = matches!(rustix::io::pread(borrowed, &mut page, 0), Ok(n) if n == page.len())
        && filemap::Header::decode(&page).is_ok();
    // SAFETY: the descriptor is open, inherited (no CLOEXEC) and not in our table, so nothing
    // else in this library owns it; the handle takes ownership (a program that also closes it
    // itself breaks the handle, as closing a Windows handle's underlying object would).
    let slot = unsafe { OwnedFd::from_raw_fd(fd) };
    if is_object {
        let header = filemap::Header::decode(&page).ok()?;
        let passed = passed_access(fd, kind_name(header.kind));
        let writable = mode & rustix::fs::OFlags::RWMODE == rustix::fs::OFlags::RDWR;
        let object = match adopt_object(&slot, header.kind, writable, passed) {
            Some(object) => object,
            None => {
                std::mem::forget(slot); // not adopted: leave the descriptor to its owner
                return None;
            }
        };
        let access = object.core_access().unwrap_or(0);
        adopted(fd);
        // The description is shared with the parent: the core handle is a shared one.
        return Some(Entry::new(Slot::Own(slot), object, access, HANDLE_FLAG_INHERIT, true));
    }
    let by_mode = match mode & rustix::fs::OFlags::RWMODE {
        m if m == rustix::fs::OFlags::RDONLY => crate::objects::GENERIC_READ,
        m if m == rustix::fs::OFlags::WRONLY => crate::objects::GENERIC_WRITE,
        _ => crate::objects::GENERIC_READ | crate::objects::GENERIC_WRITE,
    };
    let access = passed_access(fd, "file").map_or(by_mode, |p| p & by_mode_mask(by_mode));
    let object = Object::File(Arc::new(FileObject::adopted(st.st_dev, st.st_ino)));
    adopted(fd);
    Some(Entry::new(Slot::Own(slot), object, access, HANDLE_FLAG_INHERIT, false))
}

/// The descriptors above 2 this process had open without `FD_CLOEXEC` when the library was
/// loaded, sorted: what `exec` passed (inherited handles, files), and the only ones besides the
/// standard descriptors that a lookup may adopt, once each. A descriptor that has no
/// `FD_CLOEXEC` for another reason is not a handle to adopt: above all one this library made
/// inheritable for a handle it is creating or duplicating (`CreateEvent` with an inheritable
/// `SECURITY_ATTRIBUTES`, `DuplicateHandle(bInheritHandle = TRUE)`), before that handle's entry
/// is published. Adopting such a number gave it two owners, and one of them later closed the
/// other's descriptor (test `handles_reused_across_kinds_...` in `tests/handle_table_attacks.rs`
/// failed one run in two under load).
static INHERITED: StdMutex<Vec<RawFd>> = StdMutex::new(Vec::new());

#[used]
#[unsafe(link_section = ".init_array")]
static SNAPSHOT_AT_LOAD: extern "C" fn() = snapshot_inherited;

/// Records [`INHERITED`] (`/proc/self/fd`; without it, the numbers below 1024). Runs once, when
/// the library is loaded: before `main`, or at `dlopen`.
extern "C" fn snapshot_inherited() {
    let inherited = |fd: RawFd| {
        // SAFETY: only queried; `fcntl_getfd` fails harmlessly on a number that is not open.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        fd > 2 && rustix::io::fcntl_getfd(borrowed).is_ok_and(|f| !f.contains(rustix::io::FdFlags::CLOEXEC))
    };
    let mut fds: Vec<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).filter(|&fd| inherited(fd)).collect(),
        Err(_) => (3..1024).filter(|&fd| inherited(fd)).collect(),
    };
    fds.sort_unstable();
    *INHERITED.lock().unwrap_or_else(|e| e.into_inner()) = fds;
}

fn inherited_at_load(fd: RawFd) -> bool {
    INHERITED.lock().unwrap_or_else(|e| e.into_inner()).binary_search(&fd).is_ok()
}

/// `fd` is a handle now: once closed, its number is ours to reuse and never adopted again.
fn adopted(fd: RawFd) {
    let mut fds = INHERITED.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(i) = fds.binary_search(&fd) {
        fds.remove(i);
    }
}
