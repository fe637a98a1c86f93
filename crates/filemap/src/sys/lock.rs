//! Open-file-description record locks (`F_OFD_SETLK` / `F_OFD_GETLK`) on an object file's first
//! two bytes: the lifetime protocol's only kernel primitive (see `object/protocol.rs` and
//! `docs/ARCHITECTURE.md` §4).
//!
//! - every open file description (OFD) that stands for live handles holds a read lock on them;
//! - a write lock on them is the right to decide that nobody holds the object and to remove its
//!   name. Linux grants a write lock only on a descriptor opened for writing, so a process that
//!   may only read an object can never take it;
//! - [`conflicting`] asks whether another OFD holds a lock without taking one, so looking never
//!   makes anything look held.
//!
//! Locks belong to the OFD (not the process, unlike classic `F_SETLK` locks): closing another
//! descriptor of the same file never drops them, and they are released when the last reference
//! to the OFD goes, however the process ends. Only non-blocking calls are offered: the protocol
//! never waits on another process inside the kernel.

#![allow(unsafe_code)]

use rustix::fd::{AsRawFd, BorrowedFd};
use rustix::io::Errno;

/// The kind of lock to take, release or test for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A shared lock (needs a readable descriptor).
    Read,
    /// An exclusive lock (needs a writable descriptor).
    Write,
    /// Release (for [`set`] only).
    Unlock,
}

/// The bytes every lock of the protocol covers.
const START: i64 = 0;
const LEN: i64 = 2;

fn request(kind: Kind) -> libc::flock {
    let l_type = match kind {
        Kind::Read => libc::F_RDLCK,
        Kind::Write => libc::F_WRLCK,
        Kind::Unlock => libc::F_UNLCK,
    };
    // `l_pid` must be 0 for OFD locks; everything else is zeroed too.
    // SAFETY: `flock` is a plain C struct of integers, for which all-zero bytes are valid.
    let mut req: libc::flock = unsafe { std::mem::zeroed() };
    req.l_type = l_type as _;
    req.l_whence = libc::SEEK_SET as _;
    req.l_start = START;
    req.l_len = LEN;
    req
}

/// The calling thread's `errno`, read directly (not through a `std::io::Error`, which is built
/// and dropped out of line: a failed write-lock probe is on every non-last close).
fn last_errno() -> Errno {
    // SAFETY: `__errno_location` returns the calling thread's `errno`, always valid to read.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

fn fcntl(fd: BorrowedFd<'_>, cmd: libc::c_int, req: &mut libc::flock) -> Result<(), Errno> {
    loop {
        // SAFETY:
        // - `fd` is a descriptor borrowed for the duration of the call;
        // - `req` points to a valid, initialised `flock` that lives across the call, which the
        //   kernel reads (SETLK) or overwrites with another valid `flock` (GETLK);
        // - `F_OFD_SETLK` and `F_OFD_GETLK` never block.
        let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, req as *mut libc::flock) };
        if r == 0 {
            return Ok(());
        }
        match last_errno() {
            Errno::INTR => continue,
            e => return Err(e),
        }
    }
}

/// Takes, converts or releases a lock without waiting. A conflicting lock held through another
/// OFD fails with `EAGAIN` and leaves this OFD's locks as they were (conversions are atomic);
/// a write lock on a read-only descriptor fails with `EBADF`.
pub fn set(fd: BorrowedFd<'_>, kind: Kind) -> Result<(), Errno> {
    let mut req = request(kind);
    match fcntl(fd, libc::F_OFD_SETLK, &mut req) {
        // Some kernels report a conflict as EACCES, as POSIX allows.
        Err(Errno::ACCESS) => Err(Errno::AGAIN),
        other => other,
    }
}

/// Whether a lock held through *another* OFD would conflict with a `kind` lock, and
/// if so its kind. Takes no lock, so it can never make anything look held; works on any
/// descriptor, read-only included.
pub fn conflicting(fd: BorrowedFd<'_>, kind: Kind) -> Result<Option<Kind>, Errno> {
    let mut req = request(kind);
    fcntl(fd, libc::F_OFD_GETLK, &mut req)?;
    Ok(match i32::from(req.l_type) {
        t if t == libc::F_RDLCK => Some(Kind::Read),
        t if t == libc::F_WRLCK => Some(Kind::Write),
        _ => None,
    })
}

/// Takes (`on`) or drops a classic, process-owned write lock on byte 2 (`F_SETLK`), without
/// waiting: a turn among processes that share one OFD (OFD locks of one OFD never conflict with
/// each other). It conflicts with nothing the protocol's OFD locks cover. Like every classic
/// lock it goes when the process closes *any* descriptor of the file, so it is only held across
/// a few calls that close none. Needs a writable descriptor.
pub fn set_process_turn(fd: BorrowedFd<'_>, on: bool) -> Result<(), Errno> {
    let mut req = request(if on { Kind::Write } else { Kind::Unlock });
    req.l_start = LEN;
    req.l_len = 1;
    match fcntl(fd, libc::F_SETLK, &mut req) {
        Err(Errno::ACCESS) => Err(Errno::AGAIN),
        other => other,
    }
}
