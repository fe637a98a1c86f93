//! Open-file-description record locks (`F_OFD_SETLK` / `F_OFD_GETLK`) on an object file's first
//! two bytes: the lifetime protocol's only kernel primitive (see `object.rs` and
//! `docs/ARCHITECTURE.md` §4).
//!
//! - byte 0, [`Range::Hold`]: every open file description (OFD) that stands for live handles
//!   holds a read lock on it (with [`Range::Open`]: holders lock [`Range::Both`]);
//! - byte 1, [`Range::Open`]: an open in progress holds a read lock on it alone, so that it never
//!   looks like a holder to others;
//! - a write lock on [`Range::Both`] is the right to decide that nobody holds the object and to
//!   remove its name. Linux grants a write lock only on a descriptor opened for writing, so a
//!   process that may only read an object can never take it.
//!
//! Locks belong to the OFD (not the process, unlike classic `F_SETLK` locks): closing another
//! descriptor of the same file never drops them, and they are released when the last reference
//! to the OFD goes, however the process ends. Only non-blocking calls are offered: the protocol
//! never waits on another process inside the kernel.

#![allow(unsafe_code)]

use rustix::fd::{AsRawFd, BorrowedFd};
use rustix::io::Errno;

/// Which bytes of the object file a lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Byte 0: held (read) by every OFD that stands for live handles.
    Hold,
    /// Byte 1: held (read) by an open in progress.
    Open,
    /// Bytes 0 and 1.
    Both,
}

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

fn request(kind: Kind, range: Range) -> libc::flock {
    let (start, len) = match range {
        Range::Hold => (0, 1),
        Range::Open => (1, 1),
        Range::Both => (0, 2),
    };
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
    req.l_start = start;
    req.l_len = len;
    req
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
        match Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)) {
            Errno::INTR => continue,
            e => return Err(e),
        }
    }
}

/// Takes, converts or releases a lock without waiting. A conflicting lock held through another
/// OFD fails with `EAGAIN` and leaves this OFD's locks as they were (conversions are atomic);
/// a write lock on a read-only descriptor fails with `EBADF`.
pub fn set(fd: BorrowedFd<'_>, kind: Kind, range: Range) -> Result<(), Errno> {
    let mut req = request(kind, range);
    match fcntl(fd, libc::F_OFD_SETLK, &mut req) {
        // Some kernels report a conflict as EACCES, as POSIX allows.
        Err(Errno::ACCESS) => Err(Errno::AGAIN),
        other => other,
    }
}

/// Whether a lock held through *another* OFD would conflict with a `kind` lock on `range`, and
/// if so its kind. Takes no lock, so it can never make anything look held; works on any
/// descriptor, read-only included.
pub fn conflicting(fd: BorrowedFd<'_>, kind: Kind, range: Range) -> Result<Option<Kind>, Errno> {
    let mut req = request(kind, range);
    fcntl(fd, libc::F_OFD_GETLK, &mut req)?;
    Ok(match i32::from(req.l_type) {
        t if t == libc::F_RDLCK => Some(Kind::Read),
        t if t == libc::F_WRLCK => Some(Kind::Write),
        _ => None,
    })
}
