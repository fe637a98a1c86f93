//! The on-disk object: header layout and validation, and the lifetime protocol.
//!
//! Every object, whatever its type, is one file: a 4 KiB header page, then (paging-file-backed
//! mappings only) the data. Named objects live in their scope's namespace directory; unnamed ones
//! are memfds with the same layout, so an inherited descriptor can always be validated.
//!
//! # Lifetime protocol (see `docs/ARCHITECTURE.md`)
//! - Every open file description (OFD) that stands for live handles holds `LOCK_SH`.
//! - **Publish**: the object is built complete in an `O_TMPFILE` (header, size, reservation,
//!   exact mode, `LOCK_SH`), then `linkat`ed to its name, which fails with `EEXIST` if the name
//!   is taken. Nobody can see a half-built object (I4); a crash before the link leaves nothing.
//! - **Open**: `openat(O_NOFOLLOW)`; `LOCK_EX|LOCK_NB` succeeding means no live holder: the
//!   object is a crash leftover, so it is unlinked and the name is treated as free. Otherwise
//!   `LOCK_SH` (blocking only while a closer decides), then `st_nlink > 0` proves it is still the
//!   named object (else retry), then the header is validated.
//! - **Close** (last handle of this process's OFD): converting our own lock to
//!   `LOCK_EX|LOCK_NB` succeeds exactly when no other OFD holds a lock: then no handle is left
//!   anywhere and we unlink the name (if it still names our inode). An OFD that may be shared with
//!   another process (inheritable or inherited handles) cannot decide that for itself, so we first
//!   open a fresh OFD of the same inode, close ours, and test with the fresh one.
//! - Views are plain `mmap`s: they keep the memory, never the name.

#![allow(unsafe_code)] // the mapped header page (sync state); argued below

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Once};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FallocateFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result, Win32Error};
use crate::name::{ObjectName, Scope};
use crate::namespace::{self, Dir};
use crate::sys;

/// The types of named objects; they all share one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum ObjectType {
    /// A file mapping object (section).
    Mapping = 1,
    /// An event (manual- or auto-reset).
    Event = 2,
    /// A mutex.
    Mutex = 3,
    /// A semaphore.
    Semaphore = 4,
    /// A waitable timer.
    Timer = 5,
    /// A job object (the name is reserved; jobs themselves are not supported on Linux).
    Job = 6,
}

impl ObjectType {
    fn from_raw(raw: u32) -> Option<ObjectType> {
        Some(match raw {
            1 => ObjectType::Mapping,
            2 => ObjectType::Event,
            3 => ObjectType::Mutex,
            4 => ObjectType::Semaphore,
            5 => ObjectType::Timer,
            6 => ObjectType::Job,
            _ => return None,
        })
    }

    /// A lower-case word for messages and listings (`mapping`, `mutex`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Mapping => "mapping",
            ObjectType::Event => "event",
            ObjectType::Mutex => "mutex",
            ObjectType::Semaphore => "semaphore",
            ObjectType::Timer => "timer",
            ObjectType::Job => "job",
        }
    }
}

impl std::fmt::Display for ObjectType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Header layout. All integers little-endian at fixed offsets; parsed field by field, never cast.
// ---------------------------------------------------------------------------------------------

/// Size of the header page; the data of a paging-file-backed mapping starts here.
pub const HEADER_SIZE: usize = sys::PAGE;
const MAGIC: [u8; 8] = *b"FILEMAP\x01";
/// Version 2: the checksum covers only the meaningful bytes, word by word (version 1 hashed the
/// whole immutable part byte by byte).
const VERSION: u32 = 2;
const OFF_VERSION: usize = 8;
const OFF_KIND: usize = 12;
const OFF_HEADER_SIZE: usize = 16;
const OFF_PROTECTION: usize = 20;
const OFF_ATTRIBUTES: usize = 24;
const OFF_MODE: usize = 28;
const OFF_SIZE: usize = 32;
const OFF_CREATOR_UID: usize = 40;
const OFF_CREATOR_PID: usize = 44;
const OFF_CREATED_NS: usize = 48;
const OFF_BACKING_DEV: usize = 56;
const OFF_BACKING_INO: usize = 64;
const OFF_NAME_LEN: usize = 72;
const OFF_PATH_LEN: usize = 76;
const OFF_PARAMS: usize = 80; // 4 x u64 of type-specific creation parameters
const OFF_CHECKSUM: usize = 112;
const OFF_NAME: usize = 128;
const NAME_CAP: usize = 896; // 260 UTF-16 units are at most 780 bytes of UTF-8
const OFF_PATH: usize = 1024;
/// The longest backing-file path a named file-backed mapping can record.
pub const PATH_CAP: usize = 2048;
/// Committed objects up to this size are zero-filled by the header write instead of `fallocate`.
const SMALL_COMMIT: u64 = 60 * 1024;
/// Offset of the synchronization state area in the header page (64-byte aligned).
pub const SYNC_OFFSET: usize = 3072;
/// Size of the synchronization state area.
pub const SYNC_LEN: usize = HEADER_SIZE - SYNC_OFFSET;

/// A backing file's identity, recorded for file-backed mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backing {
    /// Device number of the file.
    pub dev: u64,
    /// Inode number of the file.
    pub ino: u64,
    /// The path it had when the mapping was created.
    pub path: PathBuf,
}

/// The immutable part of an object's header, parsed and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The object type.
    pub kind: ObjectType,
    /// Win32 `PAGE_*` protection (mappings), 0 otherwise.
    pub protection: u32,
    /// Win32 `SEC_*` attributes (mappings), 0 otherwise.
    pub attributes: u32,
    /// Permission bits the object was created with.
    pub mode: u32,
    /// Size in bytes (mappings), as requested at creation.
    pub size: u64,
    /// Effective uid of the creator.
    pub creator_uid: u32,
    /// Process id of the creator.
    pub creator_pid: u32,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_ns: u64,
    /// Backing file of a file-backed mapping.
    pub backing: Option<Backing>,
    /// Full name (`Local\x`, `Global\x`), or `None` for unnamed objects.
    pub name: Option<String>,
    /// Type-specific creation parameters (e.g. a semaphore's maximum count).
    pub params: [u64; 4],
}

fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
fn get_u32(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_le_bytes(b)
}
fn get_u64(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_le_bytes(b)
}

/// A checksum over the header's meaningful immutable bytes: the fixed fields (with the checksum
/// word taken as zero), the name and the backing path. FNV-1a-style mixing of 64-bit words,
/// so validating a header costs tens of nanoseconds, not microseconds. The lengths must have
/// been checked against their capacities first.
fn checksum(buf: &[u8], name_len: usize, path_len: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |bytes: &[u8]| {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
            h ^= h >> 29;
        }
    };
    mix(&buf[..OFF_CHECKSUM]);
    mix(&[0; 8]);
    mix(&buf[OFF_CHECKSUM + 8..OFF_NAME]);
    mix(&buf[OFF_NAME..OFF_NAME + name_len]);
    mix(&buf[OFF_PATH..OFF_PATH + path_len]);
    h
}

impl Header {
    /// Encodes the header into a full header page, with `sync_init` at [`SYNC_OFFSET`] and a
    /// valid checksum: what a create writes (and what tools, tests and fuzz seeds use to build
    /// object files; a header is only ever trusted as far as its file's writers are, S6).
    pub fn encode(&self, sync_init: &[u8]) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; HEADER_SIZE];
        buf[..8].copy_from_slice(&MAGIC);
        put_u32(&mut buf, OFF_VERSION, VERSION);
        put_u32(&mut buf, OFF_KIND, self.kind as u32);
        put_u32(&mut buf, OFF_HEADER_SIZE, HEADER_SIZE as u32);
        put_u32(&mut buf, OFF_PROTECTION, self.protection);
        put_u32(&mut buf, OFF_ATTRIBUTES, self.attributes);
        put_u32(&mut buf, OFF_MODE, self.mode);
        put_u64(&mut buf, OFF_SIZE, self.size);
        put_u32(&mut buf, OFF_CREATOR_UID, self.creator_uid);
        put_u32(&mut buf, OFF_CREATOR_PID, self.creator_pid);
        put_u64(&mut buf, OFF_CREATED_NS, self.created_ns);
        for (i, p) in self.params.iter().enumerate() {
            put_u64(&mut buf, OFF_PARAMS + 8 * i, *p);
        }
        if let Some(name) = &self.name {
            let bytes = name.as_bytes();
            if bytes.len() > NAME_CAP {
                return Err(Error::new(Win32Error::FILENAME_EXCED_RANGE, format!("object name {name:?} is too long")));
            }
            put_u32(&mut buf, OFF_NAME_LEN, bytes.len() as u32);
            buf[OFF_NAME..OFF_NAME + bytes.len()].copy_from_slice(bytes);
        }
        if let Some(backing) = &self.backing {
            let bytes = backing.path.as_os_str().as_bytes();
            if bytes.len() > PATH_CAP {
                return Err(Error::new(
                    Win32Error::FILENAME_EXCED_RANGE,
                    format!(
                        "backing file path {} is longer than {PATH_CAP} bytes; a named mapping cannot record it",
                        backing.path.display()
                    ),
                ));
            }
            put_u64(&mut buf, OFF_BACKING_DEV, backing.dev);
            put_u64(&mut buf, OFF_BACKING_INO, backing.ino);
            put_u32(&mut buf, OFF_PATH_LEN, bytes.len() as u32);
            buf[OFF_PATH..OFF_PATH + bytes.len()].copy_from_slice(bytes);
        }
        let n = sync_init.len().min(SYNC_LEN);
        buf[SYNC_OFFSET..SYNC_OFFSET + n].copy_from_slice(&sync_init[..n]);
        let sum = checksum(&buf, get_u32(&buf, OFF_NAME_LEN) as usize, get_u32(&buf, OFF_PATH_LEN) as usize);
        put_u64(&mut buf, OFF_CHECKSUM, sum);
        Ok(buf)
    }

    /// Parses and validates a header page read from disk. Everything is untrusted (S4): any
    /// inconsistency is an `ERROR_INVALID_DATA` error naming what is wrong.
    pub fn decode(buf: &[u8]) -> Result<Header> {
        let bad = |why: &str| Error::new(Win32Error::INVALID_DATA, format!("corrupt object header: {why}"));
        if buf.len() < HEADER_SIZE {
            return Err(bad("the file is shorter than a header"));
        }
        if buf[..8] != MAGIC {
            return Err(bad("bad magic (not a filemap object)"));
        }
        if get_u32(buf, OFF_VERSION) != VERSION {
            return Err(bad(&format!("unknown version {}", get_u32(buf, OFF_VERSION))));
        }
        let kind = ObjectType::from_raw(get_u32(buf, OFF_KIND)).ok_or_else(|| bad("unknown object type"))?;
        if get_u32(buf, OFF_HEADER_SIZE) as usize != HEADER_SIZE {
            return Err(bad("unexpected header size"));
        }
        let name_len = get_u32(buf, OFF_NAME_LEN) as usize;
        if name_len > NAME_CAP {
            return Err(bad("name length out of range"));
        }
        let path_len = get_u32(buf, OFF_PATH_LEN) as usize;
        if path_len > PATH_CAP {
            return Err(bad("backing path length out of range"));
        }
        if get_u64(buf, OFF_CHECKSUM) != checksum(buf, name_len, path_len) {
            return Err(bad("checksum mismatch"));
        }
        let name = if name_len == 0 {
            None
        } else {
            let s = std::str::from_utf8(&buf[OFF_NAME..OFF_NAME + name_len]).map_err(|_| bad("name is not UTF-8"))?;
            Some(s.to_owned())
        };
        let backing = if path_len == 0 {
            None
        } else {
            Some(Backing {
                dev: get_u64(buf, OFF_BACKING_DEV),
                ino: get_u64(buf, OFF_BACKING_INO),
                path: PathBuf::from(OsStr::from_bytes(&buf[OFF_PATH..OFF_PATH + path_len])),
            })
        };
        let size = get_u64(buf, OFF_SIZE);
        if kind == ObjectType::Mapping && size == 0 {
            return Err(bad("mapping of size 0"));
        }
        if size > i64::MAX as u64 - HEADER_SIZE as u64 {
            return Err(bad("size out of range"));
        }
        let mut params = [0u64; 4];
        for (i, p) in params.iter_mut().enumerate() {
            *p = get_u64(buf, OFF_PARAMS + 8 * i);
        }
        Ok(Header {
            kind,
            protection: get_u32(buf, OFF_PROTECTION),
            attributes: get_u32(buf, OFF_ATTRIBUTES),
            mode: get_u32(buf, OFF_MODE),
            size,
            creator_uid: get_u32(buf, OFF_CREATOR_UID),
            creator_pid: get_u32(buf, OFF_CREATOR_PID),
            created_ns: get_u64(buf, OFF_CREATED_NS),
            backing,
            name,
            params,
        })
    }

    /// Reads and validates the header of an open object file.
    pub(crate) fn read(fd: BorrowedFd<'_>) -> Result<Header> {
        let mut buf = vec![0u8; HEADER_SIZE];
        let mut got = 0;
        while got < HEADER_SIZE {
            match rustix::io::pread(fd, &mut buf[got..], got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::from_io("cannot read object header", e.into())),
            }
        }
        if got < HEADER_SIZE {
            return Err(Error::new(
                Win32Error::INVALID_DATA,
                "corrupt object header: the file is shorter than a header",
            ));
        }
        Header::decode(&buf)
    }
}

// ---------------------------------------------------------------------------------------------
// The object file and its lifetime protocol.
// ---------------------------------------------------------------------------------------------

/// Whether a create made a new object or returned an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Created {
    /// A new object was made.
    New,
    /// The name already existed; this is a handle to that object (`ERROR_ALREADY_EXISTS`).
    Existing,
}

impl Created {
    /// True for [`Created::Existing`].
    pub fn existed(self) -> bool {
        self == Created::Existing
    }
}

/// One open file description of an object, holding `LOCK_SH` while it lives. Dropping it runs
/// the close protocol. Handles of one process share it through an `Arc`.
#[derive(Debug)]
pub(crate) struct ObjectFile {
    fd: OwnedFd,
    dir: Option<Arc<Dir>>,
    name: Option<ObjectName>,
    header: Header,
    dev: u64,
    ino: u64,
    /// The OFD may be shared with another process (inheritable or inherited): close must not
    /// decide "last holder" by converting this OFD's own lock.
    shared_ofd: AtomicBool,
    writable: bool,
    /// The file's size when this handle was created or opened.
    file_size: u64,
    page: OnceLock<HeaderPage>,
    /// For a handle whose OFD may be shared with another process: a private OFD without a lock
    /// that views and the header page are mapped from. A mapping keeps its OFD (and so that
    /// OFD's `flock`) alive after the descriptor is closed; mapping from the locked, shared OFD
    /// would let a view keep the name alive after the last handle closed (I2).
    map_ofd: OnceLock<OwnedFd>,
    /// Held (read) while a mapping is made from [`ObjectFile::map_fd`], and (write) while
    /// `set_inheritable` moves the descriptor to another OFD, so no mapping can pin the OFD
    /// that is about to carry the shared handle's lock.
    switch: std::sync::RwLock<()>,
    /// One extra reference per live mapping made from `fd` itself ([`MapPin`]).
    own_maps: Arc<()>,
}

/// Held by every mapping made from a handle's own OFD: while one exists, that OFD (and any
/// lock on it) outlives the handle's descriptor, so the close protocol must release its lock
/// explicitly.
#[derive(Debug, Clone)]
pub(crate) struct MapPin(#[allow(dead_code)] Arc<()>);

/// The header page mapped shared, for sync objects' state words.
#[derive(Debug)]
pub(crate) struct HeaderPage(NonNull<u8>);

// SAFETY: the page is a shared mapping owned by the ObjectFile; it is only accessed through
// atomics (sync state) by whoever holds the ObjectFile, which is itself Send + Sync.
unsafe impl Send for HeaderPage {}
// SAFETY: as above; all access to the page's memory is atomic.
unsafe impl Sync for HeaderPage {}

impl Drop for HeaderPage {
    fn drop(&mut self) {
        // SAFETY: the page was mapped by `sys::map_page` and nothing borrows it once the owning
        // ObjectFile is being dropped (borrows are tied to `&ObjectFile`).
        unsafe { sys::unmap_page(self.0) }
    }
}

/// A hook run on an object file just before it is published (see [`NewObject::before_link`]).
pub(crate) type BeforeLink<'a> = &'a mut dyn FnMut(BorrowedFd<'_>) -> Result<()>;

/// Everything needed to create an object.
pub(crate) struct NewObject<'a> {
    pub name: Option<&'a ObjectName>,
    pub header: Header,
    pub sync_init: &'a [u8],
    /// Bytes of data after the header page (paging-file-backed mappings).
    pub data_len: u64,
    /// Reserve the data now (`SEC_COMMIT`).
    pub commit: bool,
    pub inheritable: bool,
    /// Called with the complete, still unnamed object file just before it is published (named
    /// objects only): the last moment to prepare anything that must be in place the instant
    /// other processes can see the object.
    pub before_link: Option<BeforeLink<'a>>,
}

fn cloexec(inheritable: bool) -> OFlags {
    if inheritable { OFlags::empty() } else { OFlags::CLOEXEC }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// Fills in the creator fields of a header (the creator's uid is the object file's owner,
/// filled in when the file is made).
pub(crate) fn stamp(header: &mut Header) {
    header.creator_pid = current_pid();
    header.created_ns = now_ns();
}

/// This process's pid without a syscall per call: cached, and forgotten in a forked child.
fn current_pid() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    static HOOK: Once = Once::new();
    extern "C" fn forget_pid() {
        PID.store(0, Ordering::Relaxed);
    }
    HOOK.call_once(|| {
        // SAFETY: `forget_pid` is a plain function that only stores to an atomic, which is
        // async-signal-safe and valid in the child right after fork; the other hooks are null.
        unsafe { libc::pthread_atfork(None, None, Some(forget_pid)) };
    });
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

impl ObjectFile {
    /// Creates the object, or opens the existing one of the same name and type.
    pub(crate) fn create(mut new: NewObject<'_>) -> Result<(ObjectFile, Created)> {
        let Some(name) = new.name else {
            return Ok((ObjectFile::create_unnamed(&mut new)?, Created::New));
        };
        let kind = new.header.kind;
        let what = || format!("cannot create {kind} \"{name}\"");
        let dir = namespace::dir(name.scope(), true)?.ok_or_else(|| Error::new(Win32Error::PATH_NOT_FOUND, what()))?;
        let file = name.file_name();
        let (tmp, st) = build_tmpfile(&dir, &mut new).map_err(|e| prefix(e, &what()))?;
        if let Some(hook) = new.before_link.as_mut() {
            hook(tmp.as_fd()).map_err(|e| prefix(e, &what()))?;
        }
        loop {
            match link(&tmp, &dir, &file) {
                Ok(()) => {
                    return Ok((
                        ObjectFile {
                            fd: tmp,
                            dir: Some(dir),
                            name: Some(name.clone()),
                            header: new.header,
                            dev: st.st_dev,
                            ino: st.st_ino,
                            file_size: st.st_size as u64,
                            shared_ofd: AtomicBool::new(new.inheritable),
                            writable: true,
                            page: OnceLock::new(),
                            map_ofd: OnceLock::new(),
                            switch: std::sync::RwLock::new(()),
                            own_maps: Arc::new(()),
                        },
                        Created::New,
                    ));
                }
                Err(Errno::EXIST) => {
                    match ObjectFile::open_in(&dir, name, new.header.kind, true, new.inheritable)? {
                        Some(existing) => return Ok((existing, Created::Existing)),
                        None => continue, // a dead leftover was reclaimed: the name is free now
                    }
                }
                Err(e) => return Err(Error::from_io(what(), e.into())),
            }
        }
    }

    fn create_unnamed(new: &mut NewObject<'_>) -> Result<ObjectFile> {
        let flags = rustix::fs::MemfdFlags::ALLOW_SEALING
            | if new.inheritable { rustix::fs::MemfdFlags::empty() } else { rustix::fs::MemfdFlags::CLOEXEC };
        let fd = rustix::fs::memfd_create("filemap", flags)
            .map_err(|e| Error::from_io(format!("cannot create unnamed {}", new.header.kind), e.into()))?;
        let st = fill(&fd, new).map_err(|e| prefix(e, &format!("cannot create unnamed {}", new.header.kind)))?;
        Ok(ObjectFile {
            fd,
            dir: None,
            name: None,
            header: new.header.clone(),
            dev: st.st_dev,
            ino: st.st_ino,
            file_size: st.st_size as u64,
            shared_ofd: AtomicBool::new(new.inheritable),
            writable: true,
            page: OnceLock::new(),
            map_ofd: OnceLock::new(),
            switch: std::sync::RwLock::new(()),
            own_maps: Arc::new(()),
        })
    }

    /// Opens an existing named object of type `kind`.
    pub(crate) fn open(name: &ObjectName, kind: ObjectType, write: bool, inheritable: bool) -> Result<ObjectFile> {
        let not_found = || {
            Error::new(Win32Error::FILE_NOT_FOUND, format!("cannot open {kind} \"{name}\": no object has that name"))
        };
        let dir = namespace::dir(name.scope(), false)?.ok_or_else(not_found)?;
        ObjectFile::open_in(&dir, name, kind, write, inheritable)?.ok_or_else(not_found)
    }

    /// The open protocol. `Ok(None)`: no live object has the name (a dead leftover was removed).
    fn open_in(
        dir: &Arc<Dir>,
        name: &ObjectName,
        kind: ObjectType,
        write: bool,
        inheritable: bool,
    ) -> Result<Option<ObjectFile>> {
        let file = name.file_name();
        let what = || format!("cannot open {kind} \"{name}\"");
        let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
        loop {
            let fd = match rustix::fs::openat(
                &dir.fd,
                &*file,
                access | OFlags::NOFOLLOW | OFlags::NONBLOCK | cloexec(inheritable),
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::ACCESS) | Err(Errno::PERM) => {
                    return Err(Error::new(
                        Win32Error::ACCESS_DENIED,
                        format!(
                            "{}: its permissions do not allow {} access",
                            what(),
                            if write { "write" } else { "read" }
                        ),
                    ));
                }
                Err(Errno::LOOP) => {
                    return Err(Error::new(
                        Win32Error::ACCESS_DENIED,
                        format!("{}: it is a symlink; refusing to follow it", what()),
                    ));
                }
                Err(e) => return Err(Error::from_io(what(), e.into())),
            };
            // No live holder at all: a crash leftover. Reclaim it and report the name as free.
            if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
                let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
                if st.st_mode & 0o170000 != 0o100000 {
                    return Err(Error::new(Win32Error::ACCESS_DENIED, format!("{}: not a regular file", what())));
                }
                unlink_if_same(dir, &file, st.st_dev, st.st_ino);
                return Ok(None);
            }
            retry_on_intr(|| rustix::fs::flock(&fd, FlockOperation::LockShared))?;
            let st = rustix::fs::fstat(&fd)?;
            if st.st_nlink == 0 {
                continue; // its last holder closed between our lookup and our lock
            }
            if st.st_mode & 0o170000 != 0o100000 {
                return Err(Error::new(Win32Error::ACCESS_DENIED, format!("{}: not a regular file", what())));
            }
            let header = Header::read(fd.as_fd()).map_err(|e| prefix(e, &what()))?;
            if header.name.as_deref() != Some(&name.to_string()) {
                return Err(Error::new(
                    Win32Error::INVALID_DATA,
                    format!("{}: the file holds object {:?}, not this name", what(), header.name),
                ));
            }
            let object = ObjectFile {
                fd,
                dir: Some(dir.clone()),
                name: Some(name.clone()),
                header,
                dev: st.st_dev,
                ino: st.st_ino,
                file_size: st.st_size as u64,
                shared_ofd: AtomicBool::new(inheritable),
                writable: write,
                page: OnceLock::new(),
                map_ofd: OnceLock::new(),
                switch: std::sync::RwLock::new(()),
                own_maps: Arc::new(()),
            };
            if object.header.kind != kind {
                return Err(Error::new(
                    Win32Error::INVALID_HANDLE,
                    format!("{}: the name is held by a {}", what(), object.header.kind),
                ));
            }
            return Ok(Some(object));
        }
    }

    /// Adopts a descriptor inherited from a parent process (or passed by other means).
    pub(crate) fn from_inherited(fd: OwnedFd, kind: ObjectType) -> Result<ObjectFile> {
        let what =
            || format!("inherited descriptor {} is not a usable {kind} handle", rustix::fd::AsRawFd::as_raw_fd(&fd));
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(Error::new(Win32Error::INVALID_HANDLE, format!("{}: it is not a regular file", what())));
        }
        let mode = rustix::fs::fcntl_getfl(&fd)?;
        let writable = mode.contains(OFlags::RDWR);
        let header = Header::read(fd.as_fd())
            .map_err(|e| Error::new(Win32Error::INVALID_HANDLE, format!("{}: {}", what(), e.message())))?;
        if header.kind != kind {
            return Err(Error::new(Win32Error::INVALID_HANDLE, format!("{}: it is a {}", what(), header.kind)));
        }
        let (dir, name) = match &header.name {
            Some(full) => {
                let name = ObjectName::parse(full)?;
                (namespace::dir(name.scope(), false)?, Some(name))
            }
            None => (None, None),
        };
        Ok(ObjectFile {
            fd,
            dir,
            name,
            header,
            dev: st.st_dev,
            ino: st.st_ino,
            file_size: st.st_size as u64,
            shared_ofd: AtomicBool::new(true),
            writable,
            page: OnceLock::new(),
            map_ofd: OnceLock::new(),
            switch: std::sync::RwLock::new(()),
            own_maps: Arc::new(()),
        })
    }

    /// A new, independent OFD of the same object (for a handle with another inheritability).
    pub(crate) fn reopen(&self, inheritable: bool) -> Result<ObjectFile> {
        let fd =
            self.reopen_ofd(cloexec(inheritable)).map_err(|e| Error::from_io("cannot duplicate handle", e.into()))?;
        if self.name.is_some() {
            retry_on_intr(|| rustix::fs::flock(&fd, FlockOperation::LockShared))?;
        }
        Ok(ObjectFile {
            fd,
            dir: self.dir.clone(),
            name: self.name.clone(),
            header: self.header.clone(),
            dev: self.dev,
            ino: self.ino,
            shared_ofd: AtomicBool::new(inheritable),
            writable: self.writable,
            file_size: self.file_size,
            page: OnceLock::new(),
            map_ofd: OnceLock::new(),
            switch: std::sync::RwLock::new(()),
            own_maps: Arc::new(()),
        })
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn name(&self) -> Option<&ObjectName> {
        self.name.as_ref()
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The object's identity (device, inode): equal for two handles iff they refer to one object.
    pub(crate) fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    /// The object file's size when this handle was made (header page + data).
    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    /// Whether the handle's descriptor is inherited by child processes (no `FD_CLOEXEC`).
    pub(crate) fn inheritable(&self) -> bool {
        rustix::io::fcntl_getfd(&self.fd).is_ok_and(|flags| !flags.contains(rustix::io::FdFlags::CLOEXEC))
    }

    /// The synchronization state area of the header page, mapped shared on first use.
    /// 64-byte aligned, [`SYNC_LEN`] bytes, valid as long as `self` lives.
    pub(crate) fn sync_area(&self) -> Result<NonNull<u8>> {
        if let Some(page) = self.page.get() {
            // SAFETY: SYNC_OFFSET < PAGE, so the result stays inside the mapped page.
            return Ok(unsafe { page.0.add(SYNC_OFFSET) });
        }
        let ptr = self.with_map_fd(|fd, _pin| {
            // A file truncated below its header page since the open would SIGBUS the state words.
            let what = || format!("cannot map the state of {}", self.describe());
            crate::backing::ensure_covers(fd, HEADER_SIZE as u64, Win32Error::INVALID_DATA, &what, "its object file")?;
            sys::map_page(fd, self.writable)
                .map_err(|e| Error::from_io(format!("cannot map the state of {}", self.describe()), e.into()))
        })?;
        let page = self.page.get_or_init(|| HeaderPage(ptr));
        if page.0 != ptr {
            // Another thread won the race; drop our extra mapping.
            // SAFETY: `ptr` was mapped just above and never shared.
            unsafe { sys::unmap_page(ptr) };
        }
        // SAFETY: SYNC_OFFSET < PAGE, so the result stays inside the mapped page.
        Ok(unsafe { page.0.add(SYNC_OFFSET) })
    }

    /// Makes the handle's descriptor inherited by child processes, or not (`FD_CLOEXEC`).
    ///
    /// Once a descriptor has been inheritable a child may share its OFD, so from then on the
    /// handle is closed with the protocol for shared OFDs, even if made private again. The first
    /// time a named handle becomes inheritable its descriptor number is moved to a fresh OFD
    /// (see `move_to_fresh_ofd`), so views mapped while it was private never pin the name.
    pub(crate) fn set_inheritable(&self, inheritable: bool) -> Result<()> {
        let what = || format!("cannot change the inheritability of {}", self.describe());
        if inheritable && self.name.is_some() {
            let _switching = self.switch.write().unwrap_or_else(|e| e.into_inner());
            if !self.shared_ofd.load(Ordering::Relaxed) {
                match self.move_to_fresh_ofd() {
                    Ok(()) => {}
                    // The object's mode does not let us reopen it (see `with_map_fd`): keep the
                    // OFD; views mapped so far then keep the name alive until unmapped.
                    Err(e) if e.code() == Win32Error::ACCESS_DENIED => {}
                    Err(e) => return Err(prefix(e, &what())),
                }
                self.shared_ofd.store(true, Ordering::Relaxed);
            }
        }
        let flags = if inheritable { rustix::io::FdFlags::empty() } else { rustix::io::FdFlags::CLOEXEC };
        rustix::io::fcntl_setfd(&self.fd, flags).map_err(|e| Error::from_io(what(), e.into()))
    }

    /// Puts a new OFD of the same inode, holding `LOCK_SH`, behind this handle's descriptor
    /// number, and drops the lock of the old one. Views already mapped from the old, private
    /// OFD keep it alive; without this they would keep its lock, and so the name, alive once
    /// the handle's OFD is shared with a child (whose close protocol cannot release it).
    fn move_to_fresh_ofd(&self) -> Result<()> {
        let fresh = self.reopen_ofd(OFlags::CLOEXEC)?;
        retry_on_intr(|| rustix::fs::flock(&fresh, FlockOperation::LockShared))?;
        let old = rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)?;
        // SAFETY:
        // - the number is `self.fd`'s, open for as long as `self` lives; wrapping it in a
        //   `ManuallyDrop<OwnedFd>` only lets `dup3` name it, and it is never closed here;
        // - `dup3` atomically points that number at the fresh OFD of the same inode (keeping
        //   it close-on-exec until the caller decides), so any thread using `self.fd`
        //   meanwhile sees one valid OFD of this object or the other.
        let mut target = std::mem::ManuallyDrop::new(unsafe {
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(rustix::fd::AsRawFd::as_raw_fd(&self.fd))
        });
        rustix::io::dup3(&fresh, &mut target, rustix::io::DupFlags::CLOEXEC)?;
        // The handle's lock now lives on the fresh OFD; release the old one's (best effort:
        // on failure the old OFD's lock lasts only as long as its views).
        rustix::fs::flock(&old, FlockOperation::Unlock).ok();
        Ok(())
    }

    /// Runs `map` with the descriptor to `mmap` this object from (views, the header page).
    ///
    /// Our own OFD when only this handle uses it: its lock is released (converted) by the close
    /// protocol whatever mappings remain. When the OFD may be shared with another process (an
    /// inheritable or inherited handle), the close protocol cannot touch its lock, and a mapping
    /// of it would keep the lock, and so the name, alive: such handles map from a second,
    /// private OFD of the same inode that holds no lock (reopened through `/proc/self/fd` on first use, a few µs).
    pub(crate) fn with_map_fd<T>(&self, map: impl FnOnce(BorrowedFd<'_>, Option<MapPin>) -> Result<T>) -> Result<T> {
        let _no_switch = self.switch.read().unwrap_or_else(|e| e.into_inner());
        let own = || Some(MapPin(self.own_maps.clone()));
        if !self.shared_ofd.load(Ordering::Relaxed) || self.name.is_none() {
            return map(self.fd.as_fd(), own());
        }
        if let Some(fd) = self.map_ofd.get() {
            return map(fd.as_fd(), None);
        }
        match self.reopen_ofd(OFlags::CLOEXEC) {
            // A racing thread may have set it first; ours is then dropped (it holds no lock).
            Ok(fd) => map(self.map_ofd.get_or_init(|| fd).as_fd(), None),
            // Reopening checks the file's mode again (an owner-read-only object opened for
            // writing by its creator): fall back to the handle's own OFD. Its views then keep
            // the name alive until they are unmapped (documented limit).
            Err(Errno::ACCESS) | Err(Errno::PERM) => map(self.fd.as_fd(), own()),
            Err(e) => Err(Error::from_io(format!("cannot map {}", self.describe()), e.into())),
        }
    }

    /// A new OFD of this handle's inode, with the handle's access (through `/proc/self/fd`,
    /// which works for unnamed objects and released names too; the file's mode is checked again).
    fn reopen_ofd(&self, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let access = if self.writable { OFlags::RDWR } else { OFlags::RDONLY };
        let path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&self.fd));
        rustix::fs::open(path.as_str(), access | flags, Mode::empty())
    }

    /// `mapping "Local\x"` or `unnamed mapping`, for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{} \"{name}\"", self.header.kind),
            None => format!("unnamed {}", self.header.kind),
        }
    }
}

impl Drop for ObjectFile {
    fn drop(&mut self) {
        let (Some(dir), Some(name)) = (&self.dir, &self.name) else {
            return;
        };
        let file = name.file_name();
        if !self.shared_ofd.load(Ordering::Relaxed) {
            // Our OFD is ours alone: converting its lock tells whether any other holder exists.
            if rustix::fs::flock(&self.fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
                let pinned = Arc::strong_count(&self.own_maps) > 1 || self.page.get().is_some();
                unlink_if_linked(dir, &file, &self.fd, pinned);
            }
            return;
        }
        // The OFD may be shared with another process: test with a fresh OFD of the same inode.
        let fresh = rustix::fs::openat(
            &dir.fd,
            &*file,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .or_else(|_| {
            rustix::fs::openat(
                &dir.fd,
                &*file,
                OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
        });
        let Ok(fresh) = fresh else { return };
        match rustix::fs::fstat(&fresh) {
            Ok(st) if st.st_dev == self.dev && st.st_ino == self.ino => {}
            _ => return, // the name already belongs to another object
        }
        // Close ours first (by replacing it with a dup of the fresh one, which we then drop).
        let ours = std::mem::replace(&mut self.fd, fresh);
        drop(ours);
        if rustix::fs::flock(&self.fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
            unlink_if_linked(dir, &file, &self.fd, false); // the fresh OFD is mapped by nobody
        }
    }
}

fn retry_on_intr(mut f: impl FnMut() -> rustix::io::Result<()>) -> Result<()> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other.map_err(Error::from),
        }
    }
}

fn prefix(e: Error, what: &str) -> Error {
    let code = e.code();
    Error::new(code, format!("{what}: {}", e.message()))
}

/// Unlinks `file` if it still names the inode `fd` refers to (we hold `LOCK_EX` on it, so no
/// other process of this protocol can have replaced it meanwhile).
fn unlink_if_same(dir: &Dir, file: &str, dev: u64, ino: u64) {
    let Ok(named) = rustix::fs::statat(&dir.fd, file, AtFlags::SYMLINK_NOFOLLOW) else {
        return;
    };
    if named.st_dev == dev && named.st_ino == ino {
        rustix::fs::unlinkat(&dir.fd, file, AtFlags::empty()).ok();
    }
}

/// Unlinks `file`, the name of the object open as `fd`, unless the object has no name any more.
///
/// The caller holds `LOCK_EX` on the object, so no process following the protocol can unlink
/// or replace the name meanwhile; an object file only ever has one name, so a link count above
/// zero means `file` still names it. (Cheaper than comparing `statat(file)` with our inode.)
fn unlink_if_linked(dir: &Dir, file: &str, fd: &OwnedFd, pinned: bool) {
    if rustix::fs::fstat(fd).is_ok_and(|st| st.st_nlink > 0) {
        rustix::fs::unlinkat(&dir.fd, file, AtFlags::empty()).ok();
    }
    // A mapping of this OFD (`pinned`) keeps it, and so its exclusive lock, alive after the
    // descriptor is closed: drop the lock now, or an opener that found the name just before the
    // unlink would wait in `LOCK_SH` until the mapping is gone (it then sees link count 0).
    if pinned {
        rustix::fs::flock(fd, FlockOperation::Unlock).ok();
    }
}

/// Builds the complete object in an unnamed file of the namespace directory, locked `LOCK_SH`.
fn build_tmpfile(dir: &Dir, new: &mut NewObject<'_>) -> Result<(OwnedFd, rustix::fs::Stat)> {
    let flags = OFlags::TMPFILE | OFlags::RDWR | cloexec(new.inheritable);
    // Unnamed until linked, the file can be made with its final mode: nobody can reach it yet.
    let mode = Mode::from_raw_mode(new.header.mode & 0o777);
    let fd = rustix::fs::openat(&dir.fd, ".", flags, mode).map_err(|e| match e {
        Errno::ACCESS | Errno::PERM if dir.scope == Scope::Global => Error::new(
            Win32Error::ACCESS_DENIED,
            "creating objects in the Global namespace is a privilege (SeCreateGlobalPrivilege): \
             run as root or as a member of the group set by `filemap init-global`",
        ),
        e => Error::from_io("cannot create the object file", e.into()),
    })?;
    let st = fill(&fd, new)?;
    rustix::fs::flock(&fd, FlockOperation::LockShared)?;
    Ok((fd, st))
}

/// Writes the header, sizes and reserves the data, and makes sure the file has exactly the
/// requested mode (S3: whatever the umask took away is put back). Returns the file's status.
fn fill(fd: &OwnedFd, new: &mut NewObject<'_>) -> Result<rustix::fs::Stat> {
    let mut st = rustix::fs::fstat(fd)?;
    new.header.creator_uid = st.st_uid;
    let mut page = new.header.encode(new.sync_init)?;
    let total = HEADER_SIZE as u64 + new.data_len;
    let commit_error = |e: Errno| match e {
        Errno::NOSPC | Errno::FBIG | Errno::NOMEM => Error::with_source(
            Win32Error::COMMITMENT_LIMIT,
            format!("cannot commit {} bytes: not enough memory in the namespace's filesystem", new.data_len),
            e.into(),
        ),
        e => Error::from_io("cannot reserve the object's memory", e.into()),
    };
    if new.commit && new.data_len > 0 && new.data_len <= SMALL_COMMIT {
        // Small objects: writing the zeroed data with the header commits it in the same call.
        page.resize(total as usize, 0);
    } else if new.commit && new.data_len > 0 {
        rustix::fs::fallocate(fd, FallocateFlags::empty(), 0, total).map_err(commit_error)?;
    } else if total > HEADER_SIZE as u64 {
        rustix::fs::ftruncate(fd, total).map_err(|e| match e {
            Errno::FBIG | Errno::INVAL => Error::with_source(
                Win32Error::NOT_ENOUGH_MEMORY,
                format!("cannot size the mapping to {} bytes", new.data_len),
                e.into(),
            ),
            e => Error::from_io("cannot size the object", e.into()),
        })?;
    }
    let mut done = 0;
    while done < page.len() {
        match rustix::io::pwrite(fd, &page[done..], done as u64) {
            Ok(n) => done += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(commit_error(e)),
        }
    }
    st.st_size = total as i64;
    let mode = new.header.mode & 0o777;
    if st.st_mode & 0o7777 != mode {
        rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))?;
        st.st_mode = (st.st_mode & !0o7777) | mode;
    }
    Ok(st)
}

/// Gives the unnamed file its name; `EEXIST` if the name is taken.
fn link(fd: &OwnedFd, dir: &Dir, file: &str) -> std::result::Result<(), Errno> {
    match rustix::fs::linkat(fd, "", &dir.fd, file, AtFlags::EMPTY_PATH) {
        Err(Errno::NOENT) | Err(Errno::PERM) => {
            // Kernels before 6.10 want CAP_DAC_READ_SEARCH for AT_EMPTY_PATH; go through /proc.
            let path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(fd));
            rustix::fs::linkat(rustix::fs::CWD, path.as_str(), &dir.fd, file, AtFlags::SYMLINK_FOLLOW)
        }
        other => other,
    }
}

/// What a namespace scan found at one directory entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file name in the namespace directory.
    pub file: String,
    /// The scope it was found in.
    pub scope: Scope,
    /// Its validated header, or the error that says why it is not valid.
    pub header: Result<Header, String>,
    /// True when no live process holds a handle to it (a crash leftover).
    pub stale: bool,
    /// Inode number, to match it against lock tables and memory maps.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Owner uid and permission bits of the file.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
}

/// Lists the objects of a scope. With `reclaim`, stale ones are unlinked (garbage collection).
pub fn scan(scope: Scope, reclaim: bool) -> Result<Vec<Entry>> {
    let Some(dir) = namespace::dir(scope, false)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for file in namespace::entries(&dir)? {
        let Some(file) = file.to_str().map(str::to_owned) else {
            continue;
        };
        let fd = match rustix::fs::openat(
            &dir.fd,
            &*file,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(_) => continue,
        };
        let Ok(st) = rustix::fs::fstat(&fd) else {
            continue;
        };
        let stale = rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok();
        if stale && reclaim {
            unlink_if_same(&dir, &file, st.st_dev, st.st_ino);
        }
        let header = Header::read(fd.as_fd()).map_err(|e| e.message().to_owned());
        out.push(Entry {
            file,
            scope,
            header,
            stale,
            ino: st.st_ino,
            dev: st.st_dev,
            file_size: st.st_size as u64,
            uid: st.st_uid,
            mode: st.st_mode & 0o7777,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            kind: ObjectType::Mapping,
            protection: 4,
            attributes: 0x800_0000,
            mode: 0o600,
            size: 256,
            creator_uid: 1000,
            creator_pid: 42,
            created_ns: 7,
            backing: Some(Backing { dev: 1, ino: 2, path: PathBuf::from("/tmp/x") }),
            name: Some("Local\\x".into()),
            params: [1, 2, 3, 4],
        }
    }

    #[test]
    fn header_round_trips() {
        let h = sample();
        let buf = h.encode(&[9; 8]).unwrap();
        assert_eq!(Header::decode(&buf).unwrap(), h);
        assert_eq!(buf[SYNC_OFFSET], 9);
    }

    #[test]
    fn any_flipped_meaningful_byte_is_detected_and_padding_is_ignored() {
        let h = sample();
        let buf = h.encode(&[]).unwrap();
        let name_len = h.name.as_ref().unwrap().len();
        let path_len = 6;
        let meaningful =
            (0..OFF_NAME).chain(OFF_NAME..OFF_NAME + name_len).chain(OFF_PATH..OFF_PATH + path_len).collect::<Vec<_>>();
        for &i in &meaningful {
            let mut bad = buf.clone();
            bad[i] ^= 0x5a;
            let err = Header::decode(&bad).unwrap_err();
            assert_eq!(err.code(), Win32Error::INVALID_DATA, "byte {i}");
        }
        for i in (0..SYNC_OFFSET).filter(|i| !meaningful.contains(i)).step_by(5) {
            let mut padded = buf.clone();
            padded[i] ^= 0x5a;
            assert_eq!(Header::decode(&padded).unwrap(), h, "padding byte {i}");
        }
    }

    #[test]
    fn sizes_that_would_overflow_offsets_are_refused() {
        let mut h = sample();
        h.size = u64::MAX - 10;
        let err = Header::decode(&h.encode(&[]).unwrap()).unwrap_err();
        assert_eq!(err.code(), Win32Error::INVALID_DATA);
    }

    #[test]
    fn the_sync_area_is_not_covered_by_the_checksum() {
        let mut buf = sample().encode(&[]).unwrap();
        buf[SYNC_OFFSET + 5] = 0xff;
        assert!(Header::decode(&buf).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)) {
            let _ = Header::decode(&bytes);
        }
    }
}
