//! `fork()`: after it, the parent and the child each hold every handle the parent held, and each
//! handle's name lives until the last of them closes it or exits (GUIDE §5b).
//!
//! A forked child shares the parent's open file descriptions (OFDs), and a lock belongs to the
//! OFD, not the process: left alone, the close protocol of either side would decide "last
//! holder" for both, and a view mapped before the fork (which keeps its OFD alive in both
//! processes) would keep the other side's lock, and so the name, alive after every handle is
//! closed. So every named handle whose OFD is private to this process is registered here, and
//! `pthread_atfork` handlers give each side an OFD of its own:
//!
//! - *prepare* (parent, before the fork): for each registered handle open two fresh OFDs of the
//!   same inode and read-lock them like any handle;
//!   then, still before the fork, put the first fresh OFD behind the handle's descriptor number
//!   (`dup3`, atomic for other threads) and drop the old OFD's lock;
//! - *parent* (after the fork): close its descriptors of the child's OFD and of the old one;
//! - *child*: put the second fresh OFD behind the same number.
//!
//! Both fresh OFDs are locked before the old lock goes, so at no moment does either side's handle
//! go without a lock; afterwards the old OFD holds no lock and is kept only by views (memory, not
//! the name). The old lock is dropped *before* the fork, not after it in *parent*: a parent
//! SIGKILLed between `fork()` and its *parent* handler would otherwise leave the old OFD locked,
//! kept alive by the child's inherited views, and the name with it after every handle closed
//! (found by the Spin model, docs/model/README.md). Each side's close protocol then works on an OFD nobody else has.
//!
//! When *prepare* runs out of descriptors (`EMFILE`) it raises the soft `RLIMIT_NOFILE` to the
//! hard limit for the fork and puts it back in *parent* and *child* (the descriptors it needs
//! are temporary). If the fresh OFDs still cannot be made (no descriptor left below the hard
//! limit, or the object's mode forbids reopening it with the handle's access: a `0400` object
//! of a non-root creator), the handle is marked shared, and both sides close it with the
//! protocol for shared OFDs. Views mapped before the fork pin the handle's own OFD in both
//! processes, so that OFD must not keep the handle lock (model finding 2: it would keep the name
//! alive while any view lives): the *rescue* opens one fresh OFD (the handle's access if the
//! mode allows, else read-only: a read lock needs no more), read-locks it, drops the lock of the
//! handle's own OFD (through the handle's own number: one descriptor is enough), and keeps it in
//! the registry as the handle's lock OFD, shared by both sides. Each side's close drops its
//! reference to it, then decides through a fresh OFD by name; if nobody may open the object for
//! writing any more, through the handle's own (now lock-free) writable OFD, the processes that
//! share it taking turns under a classic per-process lock (`object/protocol.rs`,
//! `decide_through_own_ofd`). Only with no descriptor at all left below the hard limit does the
//! handle lock stay on its own OFD (the views then keep the name until they are unmapped).
//! Handles whose OFD is already shared (inheritable or inherited ones) need nothing: they are
//! closed with the shared protocol anyway.
//!
//! Only `fork()` runs the handlers; `posix_spawn`/`vfork` children run nothing before `exec`,
//! and `exec` closes every descriptor that is not inheritable.

#![allow(unsafe_code)] // pthread_atfork, and naming registered descriptors by number; argued below

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Resource, Rlimit};

use crate::sys::lock::{self, Kind};

/// One registered handle.
struct Tracked {
    writable: bool,
    /// The handle's "OFD may be shared" flag (`ObjectFile::shared_ofd`).
    shared: Arc<AtomicBool>,
    /// Made by *prepare*: a fresh OFD for the parent, one for the child, and a second
    /// descriptor of the old OFD (to drop its lock once the parent's number has moved).
    fresh: Option<(OwnedFd, OwnedFd, OwnedFd)>,
    /// Made by *prepare* when `fresh` could not be: the handle's lock OFD from then on, shared
    /// with the child (the *rescue*, see the module docs). Taken back by [`untrack`] when the
    /// handle closes.
    lock: Option<OwnedFd>,
}

/// Registered handles by descriptor number (`None` until the first registration).
type Registry = Option<HashMap<RawFd, Tracked, BuildHasherDefault<FdHasher>>>;

/// Descriptor numbers are small, distinct integers: they hash to themselves.
#[derive(Default)]
struct FdHasher(u64);

impl Hasher for FdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_i32(&mut self, n: i32) {
        self.0 = n as u32 as u64;
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(None);
static HOOKS: Once = Once::new();

thread_local! {
    /// The registry, held by the forking thread from *prepare* to *parent*/*child*.
    static HELD: RefCell<Option<MutexGuard<'static, Registry>>> = const { RefCell::new(None) };
}

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the fork handlers (once per process).
pub(crate) fn install() {
    HOOKS.call_once(|| {
        // SAFETY: the three handlers are plain `extern "C"` functions that never unwind (they
        // catch nothing because nothing in them panics: every fallible call's error is handled);
        // registering them has no other precondition.
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}

/// Registers a named handle whose OFD is private to this process, under its descriptor number.
pub(crate) fn track(fd: RawFd, writable: bool, shared: &Arc<AtomicBool>) {
    install();
    registry()
        .get_or_insert_with(HashMap::default)
        .insert(fd, Tracked { writable, shared: shared.clone(), fresh: None, lock: None });
}

/// Forgets a handle (its close protocol is about to run, or its OFD became shared). Returns
/// the lock OFD a *rescue* gave it, if any: from then on it, not the handle's descriptor, holds
/// the handle lock (shared with the processes forked since), and the caller owns it.
pub(crate) fn untrack(fd: RawFd) -> Option<OwnedFd> {
    registry().as_mut().and_then(|map| map.remove(&fd)).and_then(|tracked| tracked.lock)
}

/// Whether the handle registered under `fd` holds its lock through a rescue's lock OFD.
pub(crate) fn rescued(fd: RawFd) -> bool {
    registry().as_ref().and_then(|map| map.get(&fd)).is_some_and(|tracked| tracked.lock.is_some())
}

/// Runs `f` while no fork can start (for code that moves a handle to another OFD).
pub(crate) fn excluded<T>(f: impl FnOnce() -> T) -> T {
    let _guard = registry();
    f()
}

/// A new OFD of the file behind `fd`, opened with `access`, read-locked like a handle.
fn fresh_locked(fd: RawFd, access: OFlags) -> Result<OwnedFd, Errno> {
    let path = format!("/proc/self/fd/{fd}");
    let new = rustix::fs::open(path.as_str(), access | OFlags::CLOEXEC | OFlags::NONBLOCK, Mode::empty())?;
    lock::set(new.as_fd(), Kind::Read)?;
    Ok(new)
}

/// The normal path: two fresh OFDs with the handle's access and a second descriptor of the old
/// one; the parent's number already moved to the first.
fn give_each_side_its_own(fd: RawFd, writable: bool) -> Result<(OwnedFd, OwnedFd, OwnedFd), Errno> {
    let access = if writable { OFlags::RDWR } else { OFlags::RDONLY };
    let a = fresh_locked(fd, access)?;
    let b = fresh_locked(fd, access)?;
    // SAFETY: `fd` is open while registered: it is removed before its handle closes it.
    let old = rustix::io::fcntl_dupfd_cloexec(unsafe { BorrowedFd::borrow_raw(fd) }, 0)?;
    if !move_to(fd, &a) {
        return Err(Errno::BADF);
    }
    // Both sides' handles are locked through their own fresh OFDs now (the child's from the
    // moment it exists): the old OFD, kept only by views, must not hold the name, even if this
    // process dies right after the fork.
    let _ = lock::set(old.as_fd(), Kind::Unlock);
    Ok((a, b, old))
}

/// The rescue, when the normal path failed: one fresh OFD, with the handle's access if the mode
/// allows it, else read-only (a read lock needs no more), takes over the handle lock from the
/// handle's own OFD, which views may pin. It is locked before the old lock goes (through the
/// handle's own number, so no second descriptor is needed), and both sides then share it.
fn rescue(fd: RawFd, writable: bool) -> Result<OwnedFd, Errno> {
    let lock_ofd = match fresh_locked(fd, if writable { OFlags::RDWR } else { OFlags::RDONLY }) {
        Err(Errno::ACCESS) | Err(Errno::PERM) if writable => fresh_locked(fd, OFlags::RDONLY)?,
        other => other?,
    };
    // SAFETY: `fd` is open while registered: it is removed before its handle closes it.
    lock::set(unsafe { BorrowedFd::borrow_raw(fd) }, Kind::Unlock)?;
    Ok(lock_ofd)
}

/// The soft descriptor limit *prepare* raised (to the hard one) to find room for the fresh
/// OFDs, restored after the fork on both sides; `u64::MAX` when untouched.
static RAISED_FROM: AtomicU64 = AtomicU64::new(u64::MAX);

/// Lets *prepare* use descriptors up to the hard limit (once per fork); false if it cannot.
fn raise_soft_limit() -> bool {
    if RAISED_FROM.load(Ordering::Relaxed) != u64::MAX {
        return false;
    }
    let limit = rustix::process::getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else { return false };
    if hard.is_some_and(|hard| hard <= soft) {
        return false;
    }
    let raised = Rlimit { current: hard, maximum: hard };
    if rustix::process::setrlimit(Resource::Nofile, raised).is_err() {
        return false;
    }
    RAISED_FROM.store(soft, Ordering::Relaxed);
    true
}

/// Puts back the soft limit [`raise_soft_limit`] raised.
fn restore_soft_limit() {
    let soft = RAISED_FROM.swap(u64::MAX, Ordering::Relaxed);
    if soft != u64::MAX {
        let hard = rustix::process::getrlimit(Resource::Nofile).maximum;
        let _ = rustix::process::setrlimit(Resource::Nofile, Rlimit { current: Some(soft), maximum: hard });
    }
}

extern "C" fn prepare() {
    let mut guard = registry();
    if let Some(map) = guard.as_mut() {
        for (&fd, tracked) in map.iter_mut() {
            if tracked.shared.load(Ordering::Relaxed) {
                continue;
            }
            let mut made = give_each_side_its_own(fd, tracked.writable);
            if matches!(made, Err(Errno::MFILE)) && raise_soft_limit() {
                made = give_each_side_its_own(fd, tracked.writable);
            }
            match made {
                Ok(fresh) => tracked.fresh = Some(fresh),
                // Cannot give each side its own OFD: both close it as a shared one, its lock on
                // an OFD no view pins (the rescue), or, with no descriptor at all left below the
                // hard limit, on the handle's own.
                Err(_) => {
                    tracked.lock = rescue(fd, tracked.writable).ok();
                    tracked.shared.store(true, Ordering::Relaxed);
                }
            }
        }
    }
    HELD.with(|held| *held.borrow_mut() = Some(guard));
}

/// Moves descriptor number `fd` to `to` (close-on-exec, as private handles are).
fn move_to(fd: RawFd, to: &OwnedFd) -> bool {
    // SAFETY:
    // - `fd` is a registered handle's descriptor, open for as long as it is registered; the
    //   `ManuallyDrop` wrapper only lets `dup3` name it and never closes it;
    // - `dup3` atomically points the number at `to`'s OFD (same inode), so a thread using the
    //   number meanwhile sees one valid OFD of the object or the other.
    let mut target = std::mem::ManuallyDrop::new(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    rustix::io::dup3(to, &mut target, rustix::io::DupFlags::CLOEXEC).is_ok()
}

extern "C" fn parent() {
    let Some(mut guard) = HELD.with(|held| held.borrow_mut().take()) else { return };
    if let Some(map) = guard.as_mut() {
        for tracked in map.values_mut() {
            // The number already refers to the parent's fresh OFD (moved in *prepare*); the
            // descriptors of the child's OFD and of the old one are closed here.
            drop(tracked.fresh.take());
        }
    }
    restore_soft_limit();
    drop(guard);
}

extern "C" fn child() {
    let Some(mut guard) = HELD.with(|held| held.borrow_mut().take()) else { return };
    if let Some(map) = guard.as_mut() {
        for (&fd, tracked) in map.iter_mut() {
            let Some((_parents, mine, _old)) = tracked.fresh.take() else { continue };
            if !move_to(fd, &mine) {
                tracked.shared.store(true, Ordering::Relaxed);
            }
        }
    }
    restore_soft_limit();
    drop(guard);
}
