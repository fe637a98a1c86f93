//! What a header names, checked against the file system before it is touched (S6).
//!
//! An object file is a file others may write (its owner; group or others when its mode lets
//! them; any member of the Global group creates files there). So a header is the word of
//! *whoever could have written it*, and nothing it names may be used with more rights than
//! that writer had. Two things in a header lead outside it:
//!
//! - **The backing file of a named file-backed mapping** ([`open_recorded`]). An opener used to
//!   reopen the recorded path with its own rights: a forged header made root read or write any
//!   file, and a FIFO named there hung the opener. Now the path is walked one component at a
//!   time from `/` with `O_PATH|O_NOFOLLOW` (no symlink, no `.`/`..`; `O_PATH` opens have no side
//!   effects: no FIFO blocks, no device driver runs), the final inode must be a regular file
//!   with the recorded device and inode, and every directory (search) and the file (read, and
//!   write for a writable view) must be open to the header's possible writers: the object
//!   file's owner as the kernel records it (`fstat` `st_uid`, never a header field) when only
//!   the owner can write the object file, or *everyone* (owner, group and other permission
//!   classes) when its mode or an ACL lets others write it. POSIX ACLs on the path are honoured
//!   only for that owner's own files and directories; anywhere else they make the check fail
//!   (strict, never permissive). The file is then reopened through the walked descriptor
//!   (`/proc/self/fd`, no second path lookup), so the kernel also checks the opener's own rights.
//!   Skipped only when the header's writer is the opener itself (same non-root euid) or root.
//! - **Sizes** ([`ensure_covers`]): the object file or the backing file may be truncated at any
//!   time; every view is mapped only after `fstat` shows the file covers it (or, for a small
//!   view whose page tables are filled as it is mapped, after the fill did: it fails with
//!   `EFAULT` where an access would raise `SIGBUS`, see `sys::map_file`), so a reader is never
//!   handed a view that faults with `SIGBUS`. A file shrunk *after* the view was made is
//!   the one case no check can prevent (`docs/ARCHITECTURE.md`).

use std::os::unix::ffi::OsStrExt;

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::error::{Error, Result, Win32Error};
use crate::object::Backing;
use crate::sys::users::groups_of;

const READ: u32 = 4;
const WRITE: u32 = 2;
const SEARCH: u32 = 1;
const ACL_XATTR: &str = "system.posix_acl_access";

/// Whose rights bound what a recorded path may reach.
#[derive(Debug)]
enum Writer {
    /// Only root or the opener itself can have written the header: nothing to bound.
    Trusted,
    /// Only the object file's owner (and root) can have written it.
    User { uid: u32, groups: Option<Vec<u32>> },
    /// Others may write the object file: the header may come from anyone.
    Anyone,
}

impl Writer {
    fn of(object: BorrowedFd<'_>, st: &Stat) -> Writer {
        if st.st_mode & 0o022 != 0 || has_acl(|| rustix::fs::fgetxattr_query(object, ACL_XATTR)) {
            return Writer::Anyone;
        }
        let me = rustix::process::geteuid();
        if st.st_uid == 0 || (st.st_uid == me.as_raw() && !me.is_root()) {
            return Writer::Trusted;
        }
        Writer::User { uid: st.st_uid, groups: groups_of(st.st_uid) }
    }

    /// Whether this writer has every right in `want` (`READ|WRITE|SEARCH` bits) on the inode
    /// `st` open as `fd` (an `O_PATH` descriptor).
    fn may(&self, fd: BorrowedFd<'_>, st: &Stat, want: u32) -> bool {
        let class = |shift: u32| (st.st_mode >> shift) & want == want;
        let acl = || has_acl(|| rustix::fs::getxattr_query(proc_path(fd).as_str(), ACL_XATTR));
        match self {
            Writer::Trusted => true,
            // The owner class is exact even with an ACL (its ACL_USER_OBJ entry is the owner bits).
            Writer::User { uid, .. } if st.st_uid == *uid => class(6),
            Writer::User { .. } | Writer::Anyone if acl() => false,
            Writer::User { groups: Some(groups), .. } => {
                if groups.contains(&st.st_gid) {
                    class(3)
                } else {
                    class(0)
                }
            }
            // Membership unknown: it must not matter.
            Writer::User { groups: None, .. } => class(3) && class(0),
            Writer::Anyone => class(6) && class(3) && class(0),
        }
    }
}

/// True if the query found an ACL; an error other than "none" counts as one (strict).
fn has_acl(query: impl FnOnce() -> rustix::io::Result<usize>) -> bool {
    !matches!(query(), Err(Errno::NODATA) | Err(Errno::NOTSUP))
}

fn proc_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Opens the backing file a header records, for reading or (with `write`) reading and
/// writing, only as far as the header's writer could have (module docs). `object` is the
/// object file the header was read from; `what` names the object for messages.
pub(crate) fn open_recorded(object: BorrowedFd<'_>, backing: &Backing, write: bool, what: &str) -> Result<OwnedFd> {
    let path = &backing.path;
    let fail = |code: Win32Error, why: &str| {
        Error::new(code, format!("cannot open {what}: its backing file {}: {why}", path.display()))
    };
    let io = |e: Errno| Error::from_io(format!("cannot open {what}: its backing file {}", path.display()), e.into());
    if !path.is_absolute() {
        return Err(fail(Win32Error::INVALID_DATA, "the recorded path is not absolute"));
    }
    let object_st = rustix::fs::fstat(object).map_err(io)?;
    let writer = Writer::of(object, &object_st);
    let denied = |why: &str| fail(Win32Error::ACCESS_DENIED, why);
    let components: Vec<&[u8]> = path.as_os_str().as_bytes().split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    let Some((last, dirs)) = components.split_last() else {
        return Err(denied("the recorded path names a directory"));
    };
    if components.iter().any(|c| *c == b"." || *c == b"..") {
        return Err(denied("the recorded path is not canonical (it has . or .. components)"));
    }
    let walk = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open("/", walk | OFlags::DIRECTORY, Mode::empty()).map_err(io)?;
    let mut dir_st = rustix::fs::fstat(&dir).map_err(io)?;
    for component in dirs {
        if !writer.may(dir.as_fd(), &dir_st, SEARCH) {
            return Err(denied("the object's owner could not search its directories"));
        }
        let name = std::ffi::OsStr::from_bytes(component);
        dir = rustix::fs::openat(&dir, name, walk | OFlags::DIRECTORY, Mode::empty()).map_err(|e| match e {
            Errno::NOTDIR | Errno::LOOP => denied("a component of the recorded path is a symlink or not a directory"),
            e => io(e),
        })?;
        dir_st = rustix::fs::fstat(&dir).map_err(io)?;
    }
    if !writer.may(dir.as_fd(), &dir_st, SEARCH) {
        return Err(denied("the object's owner could not search its directory"));
    }
    let file = rustix::fs::openat(&dir, std::ffi::OsStr::from_bytes(last), walk, Mode::empty()).map_err(io)?;
    let st = rustix::fs::fstat(&file).map_err(io)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(denied("it is not a regular file (a symlink, FIFO or device is never opened)"));
    }
    if st.st_dev != backing.dev || st.st_ino != backing.ino {
        return Err(fail(Win32Error::FILE_INVALID, "it was replaced by another file"));
    }
    if !writer.may(file.as_fd(), &st, if write { READ | WRITE } else { READ }) {
        return Err(denied(if write {
            "the object's owner could not open it for reading and writing"
        } else {
            "the object's owner could not open it for reading"
        }));
    }
    // Reopen this very inode with the access needed; the kernel checks the opener's own rights.
    let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
    rustix::fs::open(
        proc_path(file.as_fd()).as_str(),
        access | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(io)
}

/// Fails unless the file open as `fd` is at least `end` bytes long, so that a view of its
/// bytes before `end` cannot fault with `SIGBUS`. `code` is the error to give
/// (`docs/ARCHITECTURE.md` §9: `ERROR_INVALID_DATA` for an object file, `ERROR_FILE_INVALID`
/// for a backing file), `what` describes the failing operation and `file` the file.
pub(crate) fn ensure_covers(
    fd: BorrowedFd<'_>,
    end: u64,
    code: Win32Error,
    what: &dyn Fn() -> String,
    file: &str,
) -> Result<()> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::from_io(what(), e.into()))?;
    let size = st.st_size.max(0) as u64;
    if size < end {
        return Err(Error::new(
            code,
            format!(
                "{}: {file} is {size} bytes long, shorter than the {end} bytes the view needs (truncated by another process?)",
                what()
            ),
        ));
    }
    Ok(())
}
