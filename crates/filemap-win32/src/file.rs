//! Files: `CreateFileA/W` with Windows access, share modes and creation dispositions,
//! `GetFileSize(Ex)`, `ReadFile`, `WriteFile`, `SetFilePointer(Ex)`, `SetEndOfFile`,
//! `FlushFileBuffers`, `DeleteFileA/W`, `GetFileAttributesA/W`, `GetTempPathA/W`.
//!
//! # Share modes across processes
//!
//! Windows refuses an open whose access conflicts with the share mode of another open of the
//! same file, or whose share mode denies an access another open already has
//! (`ERROR_SHARING_VIOLATION`, docs/WIN32-FACTS.md §23). Among processes using this library the
//! same rule holds: every handle's open file description carries *open file description locks*
//! (`F_OFD_SETLK`, shared) on marker bytes far past any real data: one byte per data access it
//! has (read/execute, write/append, delete) and one per access it denies (the complement of
//! its share mode). An open takes its own markers first, then looks for a conflicting marker
//! held by any other description (`F_OFD_GETLK`); on conflict it drops its markers and fails.
//! Two racing conflicting opens can therefore both fail, but never both succeed. The locks
//! belong to the description, so they follow duplicated and inherited handles and vanish when
//! the last descriptor closes, even when a process is killed. Programs that do not use this
//! library are not constrained (Linux has no mandatory share modes). A descriptor that can only
//! be opened write-only (no read permission) cannot hold read locks and takes part in no share
//! check.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::{c_char, c_void};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use filemap::Win32Error;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Fail, Res, boundary, fail, set_last_error};
use crate::handles::{self, Object};
use crate::objects::*;
use crate::strings::{WChar, a_str, to_wide_z, w_str};
use crate::{BOOL, DWORD, FALSE, HANDLE, INVALID_HANDLE_VALUE, SECURITY_ATTRIBUTES, TRUE, inherit_from};

const FILE_READ_DATA: u32 = 0x1;
const FILE_WRITE_DATA: u32 = 0x2;
const FILE_APPEND_DATA: u32 = 0x4;
const FILE_EXECUTE: u32 = 0x20;
const DELETE: u32 = 0x1_0000;
const FILE_SHARE_READ: u32 = 1;
const FILE_SHARE_WRITE: u32 = 2;
const FILE_SHARE_DELETE: u32 = 4;
const CREATE_NEW: u32 = 1;
const CREATE_ALWAYS: u32 = 2;
const OPEN_EXISTING: u32 = 3;
const OPEN_ALWAYS: u32 = 4;
const TRUNCATE_EXISTING: u32 = 5;
const FILE_ATTRIBUTE_READONLY: u32 = 0x1;
const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x10;
const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;
const FILE_FLAG_DELETE_ON_CLOSE: u32 = 0x0400_0000;
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
const INVALID_FILE_SIZE: u32 = 0xFFFF_FFFF;

/// Offset of the share-mode marker bytes (far past any real data).
const MARK_BASE: i64 = i64::MAX - 64;
/// Marker bytes at `MARK_BASE + i` for the access held (i = 0 read/execute, 1 write/append,
/// 2 delete) and at `MARK_BASE + MARK_DENY + i` for the access denied to others.
const MARK_DENY: i64 = 3;

fn ofd_lock(fd: BorrowedFd<'_>, cmd: i32, kind: i16, at: i64) -> std::io::Result<libc::flock> {
    let mut fl =
        libc::flock { l_type: kind, l_whence: libc::SEEK_SET as i16, l_start: MARK_BASE + at, l_len: 1, l_pid: 0 };
    // SAFETY: `fd` is open; `fl` is a valid flock for the F_OFD_* commands, which only read
    // and (GETLK) write it.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(fl) }
}

/// Applies the Windows share-mode rule (module docs). Returns `ERROR_SHARING_VIOLATION` on a
/// conflict, leaving no markers behind.
fn share_check(fd: BorrowedFd<'_>, access: u32, share: u32) -> Res<()> {
    let read = access & (GENERIC_READ | GENERIC_EXECUTE | GENERIC_ALL | FILE_READ_DATA | FILE_EXECUTE) != 0;
    let write = access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA | FILE_APPEND_DATA) != 0;
    let delete = access & (GENERIC_ALL | DELETE) != 0;
    if !(read || write || delete) {
        return Ok(()); // an open without data access shares everything
    }
    let has = [read, write, delete];
    let denies = [share & FILE_SHARE_READ == 0, share & FILE_SHARE_WRITE == 0, share & FILE_SHARE_DELETE == 0];
    let mut taken = Vec::new();
    for i in 0..3 {
        for (held, at) in [(has[i], i as i64), (denies[i], MARK_DENY + i as i64)] {
            if held {
                match ofd_lock(fd, libc::F_OFD_SETLK, libc::F_RDLCK as i16, at) {
                    Ok(_) => taken.push(at),
                    Err(e) if e.raw_os_error() == Some(libc::EBADF) => return Ok(()), // write-only fd
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let held_by_other = |at: i64| {
        ofd_lock(fd, libc::F_OFD_GETLK, libc::F_WRLCK as i16, at).is_ok_and(|fl| fl.l_type != libc::F_UNLCK as i16)
    };
    let conflict =
        (0..3).any(|i| (has[i] && held_by_other(MARK_DENY + i as i64)) || (denies[i] && held_by_other(i as i64)));
    if conflict {
        for at in taken {
            let _ = ofd_lock(fd, libc::F_OFD_SETLK, libc::F_UNLCK as i16, at);
        }
        return fail(Win32Error::SHARING_VIOLATION);
    }
    Ok(())
}

fn errno_code(e: Errno, path: &Path) -> Fail {
    match e {
        Errno::NOENT => {
            let parent_ok = path.parent().is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
            Fail(if parent_ok { Win32Error::FILE_NOT_FOUND.0 } else { Win32Error::PATH_NOT_FOUND.0 })
        }
        Errno::NOTDIR => Fail(Win32Error::PATH_NOT_FOUND.0),
        Errno::EXIST => Fail(Win32Error::FILE_EXISTS.0),
        Errno::ISDIR => Fail(Win32Error::ACCESS_DENIED.0),
        e => Fail::from(std::io::Error::from(e)),
    }
}

/// Windows path spelling to Linux: backslashes become slashes.
fn linux_path(name: &str) -> PathBuf {
    PathBuf::from(name.replace('\\', "/"))
}

fn open_with_fallback(
    path: &Path,
    flags: OFlags,
    want_read: bool,
    want_write: bool,
    mode: Mode,
) -> Result<OwnedFd, Errno> {
    // Prefer read-write (share markers need a readable descriptor, mappings may want to write);
    // the handle's own access mask is what this library enforces.
    let first = rustix::fs::open(path, flags | OFlags::RDWR, mode);
    match first {
        Err(Errno::ACCESS | Errno::ROFS | Errno::ISDIR | Errno::PERM | Errno::TXTBSY) => {
            let rw = match (want_read, want_write) {
                (_, false) => OFlags::RDONLY,
                (false, true) => OFlags::WRONLY,
                (true, true) => return first,
            };
            rustix::fs::open(path, flags | rw, mode)
        }
        other => other,
    }
}

fn create_file(
    name: Option<String>,
    access: u32,
    share: u32,
    sa: *const SECURITY_ATTRIBUTES,
    disposition: u32,
    flags_attrs: u32,
) -> Res<HANDLE> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return fail(Win32Error::PATH_NOT_FOUND);
    };
    if !(CREATE_NEW..=TRUNCATE_EXISTING).contains(&disposition) {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    let want_read = access & (GENERIC_READ | GENERIC_ALL | FILE_READ_DATA | GENERIC_EXECUTE | FILE_EXECUTE) != 0;
    let want_write = access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA | FILE_APPEND_DATA) != 0;
    if disposition == TRUNCATE_EXISTING && !want_write {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    let path = linux_path(&name);
    let mode = Mode::from_raw_mode(if flags_attrs & FILE_ATTRIBUTE_READONLY != 0 { 0o444 } else { 0o666 });
    let base = OFlags::CLOEXEC | OFlags::NOCTTY;
    if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
        if flags_attrs & FILE_FLAG_BACKUP_SEMANTICS == 0 || disposition != OPEN_EXISTING && disposition != OPEN_ALWAYS {
            return fail(Win32Error::ACCESS_DENIED);
        }
        let fd = rustix::fs::open(&path, base | OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
            .map_err(|e| errno_code(e, &path))?;
        return finish(fd, &path, access, sa, flags_attrs);
    }
    let (fd, existed) = loop {
        match disposition {
            CREATE_NEW => {
                let fd = open_with_fallback(&path, base | OFlags::CREATE | OFlags::EXCL, want_read, want_write, mode)
                    .map_err(|e| errno_code(e, &path))?;
                break (fd, false);
            }
            OPEN_EXISTING | TRUNCATE_EXISTING => {
                let fd =
                    open_with_fallback(&path, base, want_read, want_write, mode).map_err(|e| errno_code(e, &path))?;
                break (fd, true);
            }
            _ => {
                // CREATE_ALWAYS / OPEN_ALWAYS: learn whether the file existed.
                match open_with_fallback(&path, base | OFlags::CREATE | OFlags::EXCL, want_read, want_write, mode) {
                    Ok(fd) => break (fd, false),
                    Err(Errno::EXIST) => match open_with_fallback(&path, base, want_read, want_write, mode) {
                        Ok(fd) => break (fd, true),
                        Err(Errno::NOENT) => continue, // removed meanwhile: try again
                        Err(e) => return Err(errno_code(e, &path)),
                    },
                    Err(e) => return Err(errno_code(e, &path)),
                }
            }
        }
    };
    share_check(fd.as_fd(), access, share)?;
    if (disposition == CREATE_ALWAYS && existed) || disposition == TRUNCATE_EXISTING {
        rustix::fs::ftruncate(&fd, 0).map_err(|e| errno_code(e, &path))?;
    }
    let h = finish(fd, &path, access, sa, flags_attrs)?;
    let already = existed && (disposition == CREATE_ALWAYS || disposition == OPEN_ALWAYS);
    set_last_error(if already { Win32Error::ALREADY_EXISTS.0 } else { 0 });
    Ok(h)
}

/// Registers an opened file as a handle (last error 0; the caller may set 183 after).
fn finish(fd: OwnedFd, path: &Path, access: u32, sa: *const SECURITY_ATTRIBUTES, flags_attrs: u32) -> Res<HANDLE> {
    let st = rustix::fs::fstat(&fd)?;
    let delete_on_close = (flags_attrs & FILE_FLAG_DELETE_ON_CLOSE != 0)
        .then(|| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    if let Some(p) = &delete_on_close {
        register_delete_at_exit(p, st.st_dev, st.st_ino);
    }
    let object = FileObject { dev: st.st_dev, ino: st.st_ino, delete_on_close };
    // SAFETY: `sa` is NULL or valid (the exports' caller promise).
    let inherit = unsafe { inherit_from(sa) };
    let h = handles::insert(Object::File(Arc::new(object)), access, inherit, fd)?;
    set_last_error(0);
    Ok(h)
}

/// `CreateFileA`: opens or creates a file. Access (`GENERIC_*`, `FILE_*_DATA`), share modes
/// (enforced among processes using this library, `ERROR_SHARING_VIOLATION`, see the module
/// docs) and creation dispositions behave as on Windows: `CREATE_NEW` on an existing file fails
/// with `ERROR_FILE_EXISTS`; `CREATE_ALWAYS`/`OPEN_ALWAYS` on an existing file succeed with
/// `ERROR_ALREADY_EXISTS`; `OPEN_EXISTING` on a missing file fails with `ERROR_FILE_NOT_FOUND`
/// (`ERROR_PATH_NOT_FOUND` if a directory is missing). Backslashes in the path are taken as
/// directory separators. `FILE_ATTRIBUTE_READONLY` creates a mode 0444 file,
/// `FILE_FLAG_DELETE_ON_CLOSE` removes it when its last handle closes; other flags are
/// accepted and have no effect. Returns `INVALID_HANDLE_VALUE` on failure.
///
/// # Safety
/// `lpFileName` must be NULL or NUL-terminated; `lpSecurityAttributes` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateFileA(
    lpFileName: *const c_char,
    dwDesiredAccess: DWORD,
    dwShareMode: DWORD,
    lpSecurityAttributes: *const SECURITY_ATTRIBUTES,
    dwCreationDisposition: DWORD,
    dwFlagsAndAttributes: DWORD,
    _hTemplateFile: HANDLE,
) -> HANDLE {
    boundary(INVALID_HANDLE_VALUE, || {
        // SAFETY: forwarded caller promise.
        let name = unsafe { a_str(lpFileName) }?;
        create_file(
            name,
            dwDesiredAccess,
            dwShareMode,
            lpSecurityAttributes,
            dwCreationDisposition,
            dwFlagsAndAttributes,
        )
    })
}

/// `CreateFileW`: [`CreateFileA`] with a wide (`wchar_t`) path.
///
/// # Safety
/// `lpFileName` must be NULL or NUL-terminated; `lpSecurityAttributes` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateFileW(
    lpFileName: *const WChar,
    dwDesiredAccess: DWORD,
    dwShareMode: DWORD,
    lpSecurityAttributes: *const SECURITY_ATTRIBUTES,
    dwCreationDisposition: DWORD,
    dwFlagsAndAttributes: DWORD,
    _hTemplateFile: HANDLE,
) -> HANDLE {
    boundary(INVALID_HANDLE_VALUE, || {
        // SAFETY: forwarded caller promise.
        let name = unsafe { w_str(lpFileName) }?;
        create_file(
            name,
            dwDesiredAccess,
            dwShareMode,
            lpSecurityAttributes,
            dwCreationDisposition,
            dwFlagsAndAttributes,
        )
    })
}

/// A file handle's descriptor and access.
fn file_fd(h: HANDLE) -> Res<(i32, u32)> {
    let info = handles::get(h)?;
    match info.object {
        Object::File(_) => Ok((info.fd, info.access)),
        _ => fail(Win32Error::INVALID_HANDLE),
    }
}

fn borrow<'a>(fd: i32) -> BorrowedFd<'a> {
    // SAFETY: `fd` is the slot of a live file handle; it is only used for the duration of one
    // call (a concurrent CloseHandle of the same handle is a program bug, as on Windows).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

fn file_size(h: HANDLE) -> Res<u64> {
    let (fd, _) = file_fd(h)?;
    Ok(rustix::fs::fstat(borrow(fd))?.st_size as u64)
}

/// `GetFileSize`: the low 32 bits of the file's size (the high 32 bits in `*lpFileSizeHigh`
/// if not NULL). On failure `INVALID_FILE_SIZE` with the error; a size whose low part is
/// `0xFFFFFFFF` sets the last error to 0 so callers can tell.
///
/// # Safety
/// `lpFileSizeHigh` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetFileSize(hFile: HANDLE, lpFileSizeHigh: *mut DWORD) -> DWORD {
    boundary(INVALID_FILE_SIZE, || {
        let size = file_size(hFile)?;
        if !lpFileSizeHigh.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpFileSizeHigh.write((size >> 32) as u32) };
        }
        if size as u32 == INVALID_FILE_SIZE {
            set_last_error(0);
        }
        Ok(size as u32)
    })
}

/// `GetFileSizeEx`: the file's size in `*lpFileSize` (`ERROR_INVALID_PARAMETER` if NULL).
///
/// # Safety
/// `lpFileSize` must be NULL or point to a writable `LARGE_INTEGER`.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetFileSizeEx(hFile: HANDLE, lpFileSize: *mut i64) -> BOOL {
    boundary(FALSE, || {
        let size = file_size(hFile)?;
        if lpFileSize.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { lpFileSize.write(size as i64) };
        Ok(TRUE)
    })
}

/// The `Offset`/`OffsetHigh` of an `OVERLAPPED`, which we honour synchronously.
#[repr(C)]
struct Overlapped {
    internal: usize,
    internal_high: usize,
    offset: u32,
    offset_high: u32,
    h_event: HANDLE,
}

/// `ReadFile`: reads up to `nNumberOfBytesToRead` bytes. Needs read access
/// (`ERROR_ACCESS_DENIED`). With an `OVERLAPPED`, reads at its offset (synchronously; the
/// file pointer does not move). At end of file it succeeds with 0 bytes read.
///
/// # Safety
/// `lpBuffer` must be writable for the count; `lpNumberOfBytesRead` NULL or writable;
/// `lpOverlapped` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ReadFile(
    hFile: HANDLE,
    lpBuffer: *mut c_void,
    nNumberOfBytesToRead: DWORD,
    lpNumberOfBytesRead: *mut DWORD,
    lpOverlapped: *mut c_void,
) -> BOOL {
    boundary(FALSE, || {
        let (fd, access) = file_fd(hFile)?;
        if access & (GENERIC_READ | GENERIC_ALL | FILE_READ_DATA) == 0 {
            return fail(Win32Error::ACCESS_DENIED);
        }
        if lpBuffer.is_null() && nNumberOfBytesToRead > 0 {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        let buf: &mut [u8] = if nNumberOfBytesToRead == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL and writable for the count (caller's promise).
            unsafe { std::slice::from_raw_parts_mut(lpBuffer.cast(), nNumberOfBytesToRead as usize) }
        };
        let n = loop {
            let r = if lpOverlapped.is_null() {
                rustix::io::read(borrow(fd), &mut *buf)
            } else {
                // SAFETY: valid OVERLAPPED (caller's promise).
                let ov = unsafe { &*(lpOverlapped as *const Overlapped) };
                let off = (u64::from(ov.offset_high) << 32) | u64::from(ov.offset);
                rustix::io::pread(borrow(fd), &mut *buf, off)
            };
            match r {
                Err(Errno::INTR) => continue,
                r => break r?,
            }
        };
        if !lpNumberOfBytesRead.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpNumberOfBytesRead.write(n as u32) };
        }
        Ok(TRUE)
    })
}

/// `WriteFile`: writes `nNumberOfBytesToWrite` bytes. Needs write access
/// (`ERROR_ACCESS_DENIED`). With an `OVERLAPPED`, writes at its offset (synchronously).
///
/// # Safety
/// `lpBuffer` must be readable for the count; `lpNumberOfBytesWritten` NULL or writable;
/// `lpOverlapped` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn WriteFile(
    hFile: HANDLE,
    lpBuffer: *const c_void,
    nNumberOfBytesToWrite: DWORD,
    lpNumberOfBytesWritten: *mut DWORD,
    lpOverlapped: *mut c_void,
) -> BOOL {
    boundary(FALSE, || {
        let (fd, access) = file_fd(hFile)?;
        if access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA | FILE_APPEND_DATA) == 0 {
            return fail(Win32Error::ACCESS_DENIED);
        }
        if lpBuffer.is_null() && nNumberOfBytesToWrite > 0 {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        let buf: &[u8] = if nNumberOfBytesToWrite == 0 {
            &[]
        } else {
            // SAFETY: non-NULL and readable for the count (caller's promise).
            unsafe { std::slice::from_raw_parts(lpBuffer.cast(), nNumberOfBytesToWrite as usize) }
        };
        let mut done = 0usize;
        let mut off = if lpOverlapped.is_null() {
            None
        } else {
            // SAFETY: valid OVERLAPPED (caller's promise).
            let ov = unsafe { &*(lpOverlapped as *const Overlapped) };
            Some((u64::from(ov.offset_high) << 32) | u64::from(ov.offset))
        };
        while done < buf.len() {
            let r = match off {
                None => rustix::io::write(borrow(fd), &buf[done..]),
                Some(o) => rustix::io::pwrite(borrow(fd), &buf[done..], o),
            };
            match r {
                Err(Errno::INTR) => continue,
                Err(Errno::NOSPC) => return fail(Win32Error::DISK_FULL),
                Err(e) => return Err(std::io::Error::from(e).into()),
                Ok(n) => {
                    done += n;
                    off = off.map(|o| o + n as u64);
                }
            }
        }
        if !lpNumberOfBytesWritten.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpNumberOfBytesWritten.write(done as u32) };
        }
        Ok(TRUE)
    })
}

fn seek(h: HANDLE, distance: i64, method: u32) -> Res<u64> {
    let (fd, _) = file_fd(h)?;
    let pos = match method {
        0 => rustix::fs::SeekFrom::Start(u64::try_from(distance).map_err(|_| Fail(131))?),
        1 => rustix::fs::SeekFrom::Current(distance),
        2 => rustix::fs::SeekFrom::End(distance),
        _ => return fail(Win32Error::INVALID_PARAMETER),
    };
    rustix::fs::seek(borrow(fd), pos)
        .map_err(|e| if e == Errno::INVAL { Fail(131) } else { Fail::from(std::io::Error::from(e)) })
}

/// `SetFilePointer`: moves the file pointer (`FILE_BEGIN`/`FILE_CURRENT`/`FILE_END`) and
/// returns the low 32 bits of the new position (`INVALID_SET_FILE_POINTER` on failure; a
/// negative result fails with `ERROR_NEGATIVE_SEEK` (131)).
///
/// # Safety
/// `lpDistanceToMoveHigh` must be NULL or readable and writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetFilePointer(
    hFile: HANDLE,
    lDistanceToMove: i32,
    lpDistanceToMoveHigh: *mut i32,
    dwMoveMethod: DWORD,
) -> DWORD {
    boundary(u32::MAX, || {
        let distance = if lpDistanceToMoveHigh.is_null() {
            i64::from(lDistanceToMove)
        } else {
            // SAFETY: non-NULL and readable (caller's promise).
            let high = unsafe { lpDistanceToMoveHigh.read() };
            (i64::from(high) << 32) | i64::from(lDistanceToMove as u32)
        };
        let pos = seek(hFile, distance, dwMoveMethod)?;
        if !lpDistanceToMoveHigh.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpDistanceToMoveHigh.write((pos >> 32) as i32) };
        }
        if pos as u32 == u32::MAX {
            set_last_error(0);
        }
        Ok(pos as u32)
    })
}

/// `SetFilePointerEx`: moves the file pointer; the new position goes to `*lpNewFilePointer`
/// if not NULL.
///
/// # Safety
/// `lpNewFilePointer` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetFilePointerEx(
    hFile: HANDLE,
    liDistanceToMove: i64,
    lpNewFilePointer: *mut i64,
    dwMoveMethod: DWORD,
) -> BOOL {
    boundary(FALSE, || {
        let pos = seek(hFile, liDistanceToMove, dwMoveMethod)?;
        if !lpNewFilePointer.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpNewFilePointer.write(pos as i64) };
        }
        Ok(TRUE)
    })
}

/// `SetEndOfFile`: truncates or extends the file to the current file pointer. Needs write
/// access.
#[unsafe(no_mangle)]
pub extern "system" fn SetEndOfFile(hFile: HANDLE) -> BOOL {
    boundary(FALSE, || {
        let (fd, access) = file_fd(hFile)?;
        if access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA) == 0 {
            return fail(Win32Error::ACCESS_DENIED);
        }
        let pos = rustix::fs::seek(borrow(fd), rustix::fs::SeekFrom::Current(0))?;
        rustix::fs::ftruncate(borrow(fd), pos)?;
        Ok(TRUE)
    })
}

/// `FlushFileBuffers`: `fsync`s the file.
#[unsafe(no_mangle)]
pub extern "system" fn FlushFileBuffers(hFile: HANDLE) -> BOOL {
    boundary(FALSE, || {
        let (fd, _) = file_fd(hFile)?;
        rustix::fs::fsync(borrow(fd))?;
        Ok(TRUE)
    })
}

fn delete_file(name: Option<String>) -> Res<BOOL> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return fail(Win32Error::PATH_NOT_FOUND);
    };
    let path = linux_path(&name);
    if path.is_dir() {
        return fail(Win32Error::ACCESS_DENIED);
    }
    rustix::fs::unlink(&path).map_err(|e| errno_code(e, &path))?;
    Ok(TRUE)
}

/// `DeleteFileA`: removes a file (`ERROR_FILE_NOT_FOUND` if missing, `ERROR_ACCESS_DENIED`
/// for a directory). Open handles keep working, as with `FILE_SHARE_DELETE` on Windows.
///
/// # Safety
/// `lpFileName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DeleteFileA(lpFileName: *const c_char) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(FALSE, || delete_file(unsafe { a_str(lpFileName) }?))
}

/// `DeleteFileW`: [`DeleteFileA`] with a wide (`wchar_t`) path.
///
/// # Safety
/// `lpFileName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DeleteFileW(lpFileName: *const WChar) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(FALSE, || delete_file(unsafe { w_str(lpFileName) }?))
}

fn attributes(name: Option<String>) -> Res<DWORD> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return fail(Win32Error::PATH_NOT_FOUND);
    };
    let path = linux_path(&name);
    let st = rustix::fs::stat(&path).map_err(|e| errno_code(e, &path))?;
    let mut attrs = 0;
    if st.st_mode & 0o170000 == 0o040000 {
        attrs |= FILE_ATTRIBUTE_DIRECTORY;
    }
    if rustix::fs::access(&path, rustix::fs::Access::WRITE_OK).is_err() {
        attrs |= FILE_ATTRIBUTE_READONLY;
    }
    Ok(if attrs == 0 { FILE_ATTRIBUTE_NORMAL } else { attrs })
}

/// `GetFileAttributesA`: `FILE_ATTRIBUTE_DIRECTORY`, `FILE_ATTRIBUTE_READONLY` (not writable
/// by the caller) or `FILE_ATTRIBUTE_NORMAL`; `INVALID_FILE_ATTRIBUTES` with
/// `ERROR_FILE_NOT_FOUND` if the path does not exist.
///
/// # Safety
/// `lpFileName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetFileAttributesA(lpFileName: *const c_char) -> DWORD {
    // SAFETY: forwarded caller promise.
    boundary(u32::MAX, || attributes(unsafe { a_str(lpFileName) }?))
}

/// `GetFileAttributesW`: [`GetFileAttributesA`] with a wide (`wchar_t`) path.
///
/// # Safety
/// `lpFileName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetFileAttributesW(lpFileName: *const WChar) -> DWORD {
    // SAFETY: forwarded caller promise.
    boundary(u32::MAX, || attributes(unsafe { w_str(lpFileName) }?))
}

fn temp_path() -> String {
    let mut dir = std::env::temp_dir().to_string_lossy().into_owned();
    if !dir.ends_with('/') {
        dir.push('/');
    }
    dir
}

/// `GetTempPathA`: the temporary directory (`$TMPDIR` or `/tmp`) with a trailing slash.
/// Returns the length copied (without the NUL), or the size needed (with the NUL) if the buffer
/// is too small.
///
/// # Safety
/// `lpBuffer` must be writable for `nBufferLength` bytes (or NULL with length 0).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetTempPathA(nBufferLength: DWORD, lpBuffer: *mut c_char) -> DWORD {
    boundary(0, || {
        let path = temp_path();
        let bytes = path.as_bytes();
        if (nBufferLength as usize) < bytes.len() + 1 || lpBuffer.is_null() {
            return Ok(bytes.len() as u32 + 1);
        }
        // SAFETY: the buffer holds at least len + 1 bytes (checked above; caller's promise).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), lpBuffer.cast(), bytes.len());
            lpBuffer.add(bytes.len()).write(0);
        }
        Ok(bytes.len() as u32)
    })
}

/// `GetTempPathW`: [`GetTempPathA`] in wide characters.
///
/// # Safety
/// `lpBuffer` must be writable for `nBufferLength` units (or NULL with length 0).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetTempPathW(nBufferLength: DWORD, lpBuffer: *mut WChar) -> DWORD {
    boundary(0, || {
        let wide = to_wide_z(&temp_path());
        if (nBufferLength as usize) < wide.len() || lpBuffer.is_null() {
            return Ok(wide.len() as u32);
        }
        // SAFETY: the buffer holds at least wide.len() units (checked above; caller's promise).
        unsafe { std::ptr::copy_nonoverlapping(wide.as_ptr(), lpBuffer, wide.len()) };
        Ok(wide.len() as u32 - 1)
    })
}

/// Identity helper used by tests of inherited file handles.
pub fn same_file(a: &FileObject, b: &FileObject) -> bool {
    a.id() == b.id()
}
