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
//! (found by the Spin model, docs/model/README.md). Each side's close protocol then works on an OFD nobody else has. If the fresh
//! OFDs cannot be made (no descriptor left, or the object's mode forbids reopening it with the
//! handle's access), the handle is marked shared instead: both sides then close it with the
//! protocol for shared OFDs (correct, slower). Handles whose OFD is already shared (inheritable
//! or inherited ones) need nothing: they are closed with that protocol anyway.
//!
//! Only `fork()` runs the handlers; `posix_spawn`/`vfork` children run nothing before `exec`,
//! and `exec` closes every descriptor that is not inheritable.

#![allow(unsafe_code)] // pthread_atfork, and naming registered descriptors by number; argued below

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use rustix::fs::{Mode, OFlags};

use crate::sys::lock::{self, Kind};

/// One registered handle.
struct Tracked {
    writable: bool,
    /// The handle's "OFD may be shared" flag (`ObjectFile::shared_ofd`).
    shared: Arc<AtomicBool>,
    /// Made by *prepare*: a fresh OFD for the parent, one for the child, and a second
    /// descriptor of the old OFD (to drop its lock once the parent's number has moved).
    fresh: Option<(OwnedFd, OwnedFd, OwnedFd)>,
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
        .insert(fd, Tracked { writable, shared: shared.clone(), fresh: None });
}

/// Forgets a handle (its close protocol is about to run, or its OFD became shared).
pub(crate) fn untrack(fd: RawFd) {
    if let Some(map) = registry().as_mut() {
        map.remove(&fd);
    }
}

/// Runs `f` while no fork can start (for code that moves a handle to another OFD).
pub(crate) fn excluded<T>(f: impl FnOnce() -> T) -> T {
    let _guard = registry();
    f()
}

/// A new OFD of the file behind `fd`, opened with the handle's access, read-locked like a handle.
fn fresh_locked(fd: RawFd, writable: bool) -> Option<OwnedFd> {
    let access = if writable { OFlags::RDWR } else { OFlags::RDONLY };
    let path = format!("/proc/self/fd/{fd}");
    let new = rustix::fs::open(path.as_str(), access | OFlags::CLOEXEC | OFlags::NONBLOCK, Mode::empty()).ok()?;
    lock::set(new.as_fd(), Kind::Read).ok()?;
    Some(new)
}

extern "C" fn prepare() {
    let mut guard = registry();
    if let Some(map) = guard.as_mut() {
        for (&fd, tracked) in map.iter_mut() {
            if tracked.shared.load(Ordering::Relaxed) {
                continue;
            }
            // SAFETY: `fd` is open while registered: it is removed before its handle closes it.
            let old = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            let old = rustix::io::fcntl_dupfd_cloexec(old, 0).ok();
            match (fresh_locked(fd, tracked.writable), fresh_locked(fd, tracked.writable), old) {
                (Some(a), Some(b), Some(old)) if move_to(fd, &a) => {
                    // Both sides' handles are locked through their own fresh OFDs now (the
                    // child's from the moment it exists): the old OFD, kept only by views, must
                    // not hold the name, even if this process dies right after the fork.
                    let _ = lock::set(old.as_fd(), Kind::Unlock);
                    tracked.fresh = Some((a, b, old));
                }
                // Cannot give each side its own OFD: both close it as a shared one.
                _ => tracked.shared.store(true, Ordering::Relaxed),
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
    drop(guard);
}
