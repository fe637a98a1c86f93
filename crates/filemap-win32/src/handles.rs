//! The process's handle table: `HANDLE` values, what they refer to, their access and flags.
//!
//! # Handle values
//!
//! Every handle owns one file descriptor, its *slot*, and its value is `(slot + 1) * 4`
//! (Windows handle values are multiples of 4 and ignore their low two bits, so `h | 1`,
//! `h | 2` and `h | 3` name the same handle). The value is never 0 (NULL) or -1
//! (`INVALID_HANDLE_VALUE`, which is also the `GetCurrentProcess()` pseudo-handle; -2 is
//! `GetCurrentThread()`).
//!
//! - For a file mapping the slot is a `dup` of the core object's descriptor: it shares the open
//!   file description (and so the object's `flock` reference) with the core handle.
//! - For a file (`CreateFile`) the slot *is* the file's descriptor.
//! - For a process or thread handle it is a pidfd.
//!
//! # Inheritance across `exec`
//!
//! `HANDLE_FLAG_INHERIT` is exactly "the slot has no `FD_CLOEXEC`". A child started by
//! `CreateProcess(bInheritHandles = TRUE)`, or by any fork + exec, therefore finds the slot open
//! at the same number and the handle value the parent gave it (say on its command line) works.
//! The child's table starts empty: the first time a value is used that is not in the table, the
//! library *adopts* it if its descriptor is open, is not `FD_CLOEXEC` (so it came through
//! `exec`, or was made inheritable here) and is either a namespace object whose header
//! validates (via the core's `from_inherited_fd`) or a regular file. A non-inheritable handle's
//! slot was closed by `exec`, so its value is invalid in the child (`ERROR_INVALID_HANDLE`), as
//! on Windows. `CreateProcess(bInheritHandles = FALSE)` closes every inheritable slot in the
//! child before `exec`.
//!
//! # The access mask across `exec`
//!
//! Windows keeps a handle's granted access in the kernel's handle table; Linux descriptors only
//! carry their open mode. Two sources are combined:
//! 1. `CreateProcess` passes the exact access mask of every inherited handle to the child in the
//!    environment variable `FILEMAP_WIN32_HANDLES` (`value:kind:access,...`; the kind must match the adopted descriptor). The child uses it
//!    when it adopts the value.
//! 2. Without it (a plain fork + exec), the access is derived from the descriptor's open mode:
//!    a read-write mapping descriptor grants `FILE_MAP_ALL_ACCESS`, a read-only one
//!    `FILE_MAP_READ | FILE_MAP_COPY`; a file grants `GENERIC_READ` and/or `GENERIC_WRITE` by
//!    its mode.
//!
//! Either way the adopted access never exceeds what the descriptor allows.

#![allow(unsafe_code)] // raw descriptors of inherited handles

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use filemap::sync::{Event, Mutex as SyncMutex, Rights, Semaphore, Timer};
use filemap::{Access, Mapping, ObjectType, Win32Error};

use crate::HANDLE;
use crate::error::{Fail, Res};
use crate::file::FileObject;
use crate::process::ProcessObject;

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
    Mapping(Arc<crate::mapping::MappingHandle>),
    /// A file (`CreateFile`).
    File(Arc<FileObject>),
    /// A process (`CreateProcess`, `DuplicateHandle` of `GetCurrentProcess()`).
    Process(Arc<ProcessObject>),
    /// The main thread of a process started by `CreateProcess` (waitable until the process
    /// exits).
    Thread(Arc<ProcessObject>),
    /// A thread started by `CreateThread`.
    UserThread(Arc<crate::thread::ThreadObject>),
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

    /// The handle's access mask as the core object records it (sync objects), if any.
    fn core_rights(&self) -> Option<u32> {
        match self {
            Object::Mutex(m) => Some(m.rights().0),
            Object::Semaphore(s) => Some(s.rights().0),
            Object::Event(e) => Some(e.rights().0),
            Object::Timer(t) => Some(t.rights().0),
            _ => None,
        }
    }

    /// Another handle to the same object with `access` (sync objects and mappings can only
    /// lose rights: `ERROR_ACCESS_DENIED` otherwise).
    pub fn with_access(&self, access: u32) -> Res<Object> {
        Ok(match self {
            Object::Mapping(m) => {
                Object::Mapping(crate::mapping::MappingHandle::new(m.duplicate(Access(access), true)?))
            }
            Object::Mutex(m) => Object::Mutex(Arc::new(m.duplicate(Rights(access), m.is_inheritable())?)),
            Object::Semaphore(s) => Object::Semaphore(Arc::new(s.duplicate(Rights(access), s.is_inheritable())?)),
            Object::Event(e) => Object::Event(Arc::new(e.duplicate(Rights(access), e.is_inheritable())?)),
            Object::Timer(t) => Object::Timer(Arc::new(t.duplicate(Rights(access), t.is_inheritable())?)),
            other => other.clone(),
        })
    }
}

/// One handle. Field order matters: the slot closes before the object is dropped, so the core's
/// close protocol never sees our own extra descriptor as another holder.
#[derive(Debug)]
struct Entry {
    slot: OwnedFd,
    object: Object,
    access: u32,
    flags: u32,
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
}

static TABLE: RwLock<BTreeMap<RawFd, Entry>> = RwLock::new(BTreeMap::new());

/// The table for changes.
fn table() -> RwLockWriteGuard<'static, BTreeMap<RawFd, Entry>> {
    TABLE.write().unwrap_or_else(|e| e.into_inner())
}

/// The table for lookups (many threads at once).
fn table_read() -> RwLockReadGuard<'static, BTreeMap<RawFd, Entry>> {
    TABLE.read().unwrap_or_else(|e| e.into_inner())
}

/// The handle value of slot `fd`.
pub fn value_of(fd: RawFd) -> HANDLE {
    ((fd as usize + 1) * 4) as HANDLE
}

/// The slot a handle value names, if it can name one (low two bits ignored).
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

fn set_cloexec(fd: BorrowedFd<'_>, cloexec: bool) -> Res<()> {
    let flags = if cloexec { rustix::io::FdFlags::CLOEXEC } else { rustix::io::FdFlags::empty() };
    rustix::io::fcntl_setfd(fd, flags).map_err(|e| Fail::from(std::io::Error::from(e)))
}

/// Adds a handle owning `slot` and returns its value. `inherit` sets `HANDLE_FLAG_INHERIT`
/// (and clears `FD_CLOEXEC` on the slot).
pub fn insert(object: Object, access: u32, inherit: bool, slot: OwnedFd) -> Res<HANDLE> {
    set_cloexec(slot.as_fd(), !inherit)?;
    let fd = slot.as_raw_fd();
    let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
    let old = table().insert(fd, Entry { slot, object, access, flags });
    if let Some(old) = old {
        // A descriptor number can only be reused after its slot was closed, so a stale entry
        // means someone closed our descriptor behind our back (e.g. `close(3)` in C). The old
        // slot number now belongs to the new descriptor: forget the old one without closing it.
        std::mem::forget(old.slot);
        drop(old.object);
    }
    Ok(value_of(fd))
}

/// Adds a handle whose slot is a new duplicate of `src`.
pub fn insert_dup(object: Object, access: u32, inherit: bool, src: BorrowedFd<'_>) -> Res<HANDLE> {
    let slot = rustix::io::fcntl_dupfd_cloexec(src, 0).map_err(|e| Fail::from(std::io::Error::from(e)))?;
    insert(object, access, inherit, slot)
}

/// Adds a handle for a core mapping. The core's own descriptor is made `FD_CLOEXEC` (the
/// handle's inheritability lives in its slot).
pub fn insert_mapping(mapping: Mapping, inherit: bool) -> Res<HANDLE> {
    let access = mapping.access().0;
    let Some(fd) = mapping.inheritable_fd() else {
        return Err(Fail(Win32Error::INVALID_HANDLE.0));
    };
    // SAFETY: `fd` is the mapping's own open descriptor, borrowed only for these calls while
    // `mapping` (its owner) is alive.
    let core_fd = unsafe { BorrowedFd::borrow_raw(fd) };
    set_cloexec(core_fd, true)?;
    insert_dup(Object::Mapping(crate::mapping::MappingHandle::new(mapping)), access, inherit, core_fd)
}

/// Adds a handle for a core sync object created or opened inheritable (`fd` is its
/// descriptor, from `inheritable_fd`), which is made `FD_CLOEXEC` (the handle's
/// inheritability lives in its slot).
pub fn insert_core(object: Object, fd: Option<RawFd>, inherit: bool) -> Res<HANDLE> {
    let access = object.core_rights().unwrap_or(0);
    let fd = fd.ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    // SAFETY: `fd` is the object's own open descriptor, borrowed only for these calls while
    // `object` (its owner) is alive.
    let core_fd = unsafe { BorrowedFd::borrow_raw(fd) };
    set_cloexec(core_fd, true)?;
    insert_dup(object, access, inherit, core_fd)
}

/// Looks a handle up (adopting an inherited one on first use). Pseudo-handles and unknown
/// values fail with `ERROR_INVALID_HANDLE`.
pub fn get(h: HANDLE) -> Res<HandleInfo> {
    let fd = fd_of(h).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    if let Some(e) = table_read().get(&fd) {
        return Ok(HandleInfo { object: e.object.clone(), access: e.access, flags: e.flags, fd });
    }
    let mut table = table();
    if let std::collections::btree_map::Entry::Vacant(slot) = table.entry(fd) {
        slot.insert(adopt(fd).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?);
    }
    let e = &table[&fd];
    Ok(HandleInfo { object: e.object.clone(), access: e.access, flags: e.flags, fd })
}

/// Closes a handle (`CloseHandle`). A protected handle is not closed:
/// `ERROR_INVALID_HANDLE`.
pub fn close(h: HANDLE) -> Res<()> {
    let fd = fd_of(h).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    let entry = {
        let mut table = table();
        if let std::collections::btree_map::Entry::Vacant(slot) = table.entry(fd) {
            slot.insert(adopt(fd).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?);
        }
        if table[&fd].flags & HANDLE_FLAG_PROTECT_FROM_CLOSE != 0 {
            return Err(Fail(Win32Error::INVALID_HANDLE.0));
        }
        table.remove(&fd)
    };
    drop(entry); // outside the lock: the core's close protocol makes system calls
    Ok(())
}

/// Changes a handle's flags (`SetHandleInformation`).
pub fn set_flags(h: HANDLE, mask: u32, flags: u32) -> Res<()> {
    let info = get(h)?;
    let mut table = table();
    let e = table.get_mut(&info.fd).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
    let known = HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE;
    let new = (e.flags & !(mask & known)) | (flags & mask & known);
    set_cloexec(e.slot.as_fd(), new & HANDLE_FLAG_INHERIT == 0)?;
    e.flags = new;
    Ok(())
}

/// Changes the object and access of an existing handle in place, keeping its value
/// (`DuplicateHandle` with `DUPLICATE_CLOSE_SOURCE`).
pub fn replace(fd: RawFd, object: Object, access: u32, inherit: bool) -> Res<HANDLE> {
    let old = {
        let mut table = table();
        let e = table.get_mut(&fd).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?;
        set_cloexec(e.slot.as_fd(), !inherit)?;
        e.flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        e.access = access;
        std::mem::replace(&mut e.object, object)
    };
    drop(old);
    Ok(value_of(fd))
}

/// The slots of every inheritable handle, with their access and kind, for `CreateProcess`.
pub fn inheritable() -> Vec<(RawFd, u32, &'static str)> {
    table_read()
        .iter()
        .filter(|(_, e)| e.flags & HANDLE_FLAG_INHERIT != 0)
        .map(|(&fd, e)| (fd, e.access, e.object.kind()))
        .collect()
}

/// The kind name [`Object::kind`] gives an object of this type.
fn kind_name(kind: ObjectType) -> &'static str {
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
fn passed_access(fd: RawFd, kind: &str) -> Option<u32> {
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

/// The core object behind an inherited namespace-object descriptor.
fn adopt_object(slot: &OwnedFd, kind: ObjectType, passed: Option<u32>) -> Option<Object> {
    let dup = rustix::io::fcntl_dupfd_cloexec(slot, 0).ok()?;
    let raw = dup.as_raw_fd();
    std::mem::forget(dup); // ownership passes to the core below
    // The parent's access mask if CreateProcess passed it, else the type's full access.
    let rights = |all: u32| Rights(passed.map_or(all, |p| p & all));
    // SAFETY: in every arm `raw` is a fresh descriptor owned by nobody else; the core takes it
    // (and closes it on failure), or the last arm closes it.
    let object = unsafe {
        match kind {
            ObjectType::Mapping => {
                let m = Mapping::from_inherited_fd(raw).ok()?;
                let access = m.access().0;
                match passed {
                    Some(p) if p & access != access => {
                        Object::Mapping(crate::mapping::MappingHandle::new(m.duplicate(Access(p & access), true).ok()?))
                    }
                    _ => Object::Mapping(crate::mapping::MappingHandle::new(m)),
                }
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
fn by_mode_mask(by_mode: u32) -> u32 {
    let mut mask = 0xFFFF_FFFF;
    if by_mode & crate::file::GENERIC_READ == 0 {
        mask &= !(crate::file::GENERIC_READ | 0x1 | 0x20 | crate::file::GENERIC_EXECUTE | crate::file::GENERIC_ALL);
    }
    if by_mode & crate::file::GENERIC_WRITE == 0 {
        mask &= !(crate::file::GENERIC_WRITE | 0x2 | 0x4 | crate::file::GENERIC_ALL);
    }
    mask
}

/// Adopts an inherited descriptor as a handle (see the module docs), or `None`.
fn adopt(fd: RawFd) -> Option<Entry> {
    if fd < 0 {
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
        let object = match adopt_object(&slot, header.kind, passed) {
            Some(object) => object,
            None => {
                std::mem::forget(slot); // not adopted: leave the descriptor to its owner
                return None;
            }
        };
        let access = match &object {
            Object::Mapping(m) => m.access().0,
            other => other.core_rights().unwrap_or(0),
        };
        return Some(Entry { slot, object, access, flags: HANDLE_FLAG_INHERIT });
    }
    let by_mode = match mode & rustix::fs::OFlags::RWMODE {
        m if m == rustix::fs::OFlags::RDONLY => crate::file::GENERIC_READ,
        m if m == rustix::fs::OFlags::WRONLY => crate::file::GENERIC_WRITE,
        _ => crate::file::GENERIC_READ | crate::file::GENERIC_WRITE,
    };
    let access = passed_access(fd, "file").map_or(by_mode, |p| p & by_mode_mask(by_mode));
    let object = Object::File(Arc::new(FileObject::adopted(st.st_dev, st.st_ino)));
    Some(Entry { slot, object, access, flags: HANDLE_FLAG_INHERIT })
}

// ---------------------------------------------------------------------------------------------
// Exports: handleapi.h
// ---------------------------------------------------------------------------------------------

use crate::error::{boundary, fail};
use crate::process::{PROCESS_ALL_ACCESS, THREAD_ALL_ACCESS};
use crate::{BOOL, DWORD, FALSE, TRUE};

/// `DUPLICATE_CLOSE_SOURCE`.
pub const DUPLICATE_CLOSE_SOURCE: u32 = 1;
/// `DUPLICATE_SAME_ACCESS`.
pub const DUPLICATE_SAME_ACCESS: u32 = 2;

/// `CloseHandle`: closes a handle. `ERROR_INVALID_HANDLE` for NULL, unknown, already closed or
/// protected (`HANDLE_FLAG_PROTECT_FROM_CLOSE`) handles. Closing a pseudo-handle succeeds and
/// does nothing, as on Windows.
#[unsafe(no_mangle)]
pub extern "system" fn CloseHandle(hObject: HANDLE) -> BOOL {
    boundary(FALSE, || {
        if is_pseudo(hObject) {
            return Ok(TRUE);
        }
        close(hObject)?;
        Ok(TRUE)
    })
}

/// `GetHandleInformation`: the handle's `HANDLE_FLAG_*` flags.
///
/// # Safety
/// `lpdwFlags` must be NULL (fails with `ERROR_INVALID_PARAMETER`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetHandleInformation(hObject: HANDLE, lpdwFlags: *mut DWORD) -> BOOL {
    boundary(FALSE, || {
        let info = get(hObject)?;
        if lpdwFlags.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { lpdwFlags.write(info.flags) };
        Ok(TRUE)
    })
}

/// `SetHandleInformation`: sets the `HANDLE_FLAG_*` bits of `dwMask` to those of `dwFlags`.
/// `HANDLE_FLAG_INHERIT` toggles `FD_CLOEXEC` on the handle's descriptor.
#[unsafe(no_mangle)]
pub extern "system" fn SetHandleInformation(hObject: HANDLE, dwMask: DWORD, dwFlags: DWORD) -> BOOL {
    boundary(FALSE, || {
        set_flags(hObject, dwMask, dwFlags)?;
        Ok(TRUE)
    })
}

/// Whether a process handle refers to this process (pseudo-handle or a real handle to it).
fn is_current_process(h: HANDLE) -> Res<bool> {
    if h as usize == CURRENT_PROCESS {
        return Ok(true);
    }
    match get(h)?.object {
        Object::Process(p) => Ok(p.pid() == std::process::id() as i32),
        _ => fail(Win32Error::INVALID_HANDLE),
    }
}

/// # Safety
/// `target` NULL or writable.
unsafe fn duplicate(
    src_process: HANDLE,
    src: HANDLE,
    dst_process: HANDLE,
    target: *mut HANDLE,
    access: u32,
    inherit: bool,
    options: u32,
) -> Res<()> {
    if !is_current_process(src_process)? || !is_current_process(dst_process)? {
        // Handles live in this process's table; other processes get them by inheritance.
        return fail(Win32Error::NOT_SUPPORTED);
    }
    let same = options & DUPLICATE_SAME_ACCESS != 0;
    let close_source = options & DUPLICATE_CLOSE_SOURCE != 0;
    if is_pseudo(src) {
        let process = Arc::new(ProcessObject::current()?);
        let (object, full) = if src as usize == CURRENT_PROCESS {
            (Object::Process(process.clone()), PROCESS_ALL_ACCESS)
        } else {
            (Object::Thread(process.clone()), THREAD_ALL_ACCESS)
        };
        let h = insert_dup(object, if same { full } else { access }, inherit, process.pidfd())?;
        if !target.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { target.write(h) };
        }
        return Ok(());
    }
    let info = get(src)?;
    let new_access = if same { info.access } else { access };
    let object = if same { info.object.clone() } else { info.object.with_access(access)? };
    if target.is_null() {
        if close_source {
            close(src)?;
        }
        return Ok(());
    }
    let h = if close_source && info.flags & HANDLE_FLAG_PROTECT_FROM_CLOSE == 0 {
        // The source slot is reused: the same value comes back, as on Windows.
        replace(info.fd, object, new_access, inherit)?
    } else {
        // SAFETY: `info.fd` is the source handle's open slot, borrowed for the dup only.
        insert_dup(object, new_access, inherit, unsafe { BorrowedFd::borrow_raw(info.fd) })?
    };
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { target.write(h) };
    Ok(())
}

/// `DuplicateHandle`: another handle to the same object, within this process (source and
/// target process must be `GetCurrentProcess()` or a handle to this process; other processes
/// receive handles by inheritance: `ERROR_NOT_SUPPORTED`). `DUPLICATE_SAME_ACCESS` keeps the
/// access, otherwise `dwDesiredAccess` is granted (a mapping handle can only lose rights:
/// asking for more fails with `ERROR_ACCESS_DENIED`). `DUPLICATE_CLOSE_SOURCE` closes the source
/// and returns the same value. Duplicating `GetCurrentProcess()` gives a real process handle.
///
/// # Safety
/// `lpTargetHandle` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DuplicateHandle(
    hSourceProcessHandle: HANDLE,
    hSourceHandle: HANDLE,
    hTargetProcessHandle: HANDLE,
    lpTargetHandle: *mut HANDLE,
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    dwOptions: DWORD,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        unsafe {
            duplicate(
                hSourceProcessHandle,
                hSourceHandle,
                hTargetProcessHandle,
                lpTargetHandle,
                dwDesiredAccess,
                bInheritHandle != 0,
                dwOptions,
            )
        }?;
        Ok(TRUE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_values_are_multiples_of_four_that_ignore_their_low_bits() {
        assert_eq!(value_of(0) as usize, 4);
        assert_eq!(value_of(7) as usize, 32);
        for fd in [0, 1, 5, 1000, i32::MAX - 1] {
            let h = value_of(fd) as usize;
            assert_eq!(h % 4, 0);
            for low in 0..4 {
                assert_eq!(fd_of((h | low) as HANDLE), Some(fd));
            }
        }
    }

    #[test]
    fn null_pseudo_and_wild_values_name_no_slot() {
        assert_eq!(fd_of(std::ptr::null_mut()), None);
        assert_eq!(fd_of(3 as HANDLE), None);
        assert_eq!(fd_of(CURRENT_PROCESS as HANDLE), None);
        assert_eq!(fd_of(CURRENT_THREAD as HANDLE), None);
        assert!(is_pseudo(usize::MAX as HANDLE) && is_pseudo((usize::MAX - 1) as HANDLE));
        assert!(get(0xdead_bee0usize as HANDLE).is_err());
    }
}
