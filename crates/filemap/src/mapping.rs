//! File mapping objects and their views.
//!
//! A [`Mapping`] is a handle to a file mapping object: paging-file-backed (memory in the
//! namespace's tmpfs) or backed by a file. A [`View`] maps part of it into this process. Dropping
//! the last `Mapping` handle anywhere frees the name at once; views keep the memory alive and
//! stay coherent with every other view of the same object until they are dropped.

#![allow(unsafe_code)] // views own raw mappings; every block is argued below

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::mm::ProtFlags;

use crate::error::{Error, Result, Win32Error};
use crate::large::DataFile;
use crate::name::ObjectName;
use crate::namespace::Namespace;
use crate::object::{Backing, Created, HEADER_SIZE, Header, MapPin, NewObject, ObjectFile, ObjectType, stamp};
use crate::sys::{self, GRANULARITY, Placement, Sharing};

/// The protection of a file mapping object (`flProtect`'s `PAGE_*` part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// `PAGE_READONLY`: views may read (or copy-on-write).
    ReadOnly,
    /// `PAGE_READWRITE`: views may read and write.
    ReadWrite,
    /// `PAGE_WRITECOPY`: views may read, and write to private copies.
    WriteCopy,
    /// `PAGE_EXECUTE_READ`.
    ExecuteRead,
    /// `PAGE_EXECUTE_READWRITE`.
    ExecuteReadWrite,
    /// `PAGE_EXECUTE_WRITECOPY`.
    ExecuteWriteCopy,
}

/// Win32 `PAGE_*` values.
pub mod page {
    /// `PAGE_NOACCESS`
    pub const NOACCESS: u32 = 0x01;
    /// `PAGE_READONLY`
    pub const READONLY: u32 = 0x02;
    /// `PAGE_READWRITE`
    pub const READWRITE: u32 = 0x04;
    /// `PAGE_WRITECOPY`
    pub const WRITECOPY: u32 = 0x08;
    /// `PAGE_EXECUTE`
    pub const EXECUTE: u32 = 0x10;
    /// `PAGE_EXECUTE_READ`
    pub const EXECUTE_READ: u32 = 0x20;
    /// `PAGE_EXECUTE_READWRITE`
    pub const EXECUTE_READWRITE: u32 = 0x40;
    /// `PAGE_EXECUTE_WRITECOPY`
    pub const EXECUTE_WRITECOPY: u32 = 0x80;
}

/// Win32 `SEC_*` section attributes (the high bits of `flProtect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SectionFlags(pub u32);

impl SectionFlags {
    /// `SEC_FILE`: ignored by Windows for mappings; accepted.
    pub const FILE: SectionFlags = SectionFlags(0x0080_0000);
    /// `SEC_IMAGE`: map an executable image.
    pub const IMAGE: SectionFlags = SectionFlags(0x0100_0000);
    /// `SEC_PROTECTED_IMAGE`.
    pub const PROTECTED_IMAGE: SectionFlags = SectionFlags(0x0200_0000);
    /// `SEC_RESERVE`: reserve address space only; memory is allocated on first touch.
    pub const RESERVE: SectionFlags = SectionFlags(0x0400_0000);
    /// `SEC_COMMIT` (the default): all memory is reserved when the object is created.
    pub const COMMIT: SectionFlags = SectionFlags(0x0800_0000);
    /// `SEC_NOCACHE`.
    pub const NOCACHE: SectionFlags = SectionFlags(0x1000_0000);
    /// `SEC_WRITECOMBINE`.
    pub const WRITECOMBINE: SectionFlags = SectionFlags(0x4000_0000);
    /// `SEC_LARGE_PAGES`.
    pub const LARGE_PAGES: SectionFlags = SectionFlags(0x8000_0000);
    /// `SEC_IMAGE_NO_EXECUTE`.
    pub const IMAGE_NO_EXECUTE: SectionFlags = SectionFlags(0x1100_0000);

    const KNOWN: u32 =
        0x0080_0000 | 0x0100_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x4000_0000 | 0x8000_0000;

    /// True if every bit of `other` is set.
    pub fn contains(self, other: SectionFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for SectionFlags {
    type Output = SectionFlags;
    fn bitor(self, rhs: SectionFlags) -> SectionFlags {
        SectionFlags(self.0 | rhs.0)
    }
}

impl Protection {
    /// The `PAGE_*` value.
    pub fn to_win32(self) -> u32 {
        match self {
            Protection::ReadOnly => page::READONLY,
            Protection::ReadWrite => page::READWRITE,
            Protection::WriteCopy => page::WRITECOPY,
            Protection::ExecuteRead => page::EXECUTE_READ,
            Protection::ExecuteReadWrite => page::EXECUTE_READWRITE,
            Protection::ExecuteWriteCopy => page::EXECUTE_WRITECOPY,
        }
    }

    /// Splits a Win32 `flProtect` into its protection and its `SEC_*` attributes, refusing what
    /// `CreateFileMapping` refuses: no protection, two at once, `PAGE_NOACCESS`, `PAGE_EXECUTE`
    /// alone, unknown bits (`ERROR_INVALID_PARAMETER`).
    pub fn from_win32(fl_protect: u32) -> Result<(Protection, SectionFlags)> {
        let prot = fl_protect & 0xff;
        let sec = fl_protect & !0xff;
        let invalid = |why: &str| {
            Error::new(Win32Error::INVALID_PARAMETER, format!("invalid mapping protection {fl_protect:#x}: {why}"))
        };
        let protection = match prot {
            page::READONLY => Protection::ReadOnly,
            page::READWRITE => Protection::ReadWrite,
            page::WRITECOPY => Protection::WriteCopy,
            page::EXECUTE_READ => Protection::ExecuteRead,
            page::EXECUTE_READWRITE => Protection::ExecuteReadWrite,
            page::EXECUTE_WRITECOPY => Protection::ExecuteWriteCopy,
            0 => return Err(invalid("no PAGE_* protection given")),
            page::NOACCESS | page::EXECUTE => {
                return Err(invalid("a file mapping cannot be PAGE_NOACCESS or PAGE_EXECUTE"));
            }
            _ => return Err(invalid("exactly one PAGE_* protection must be given")),
        };
        if sec & !SectionFlags::KNOWN != 0 {
            return Err(invalid("unknown SEC_* or PAGE_* modifier bits"));
        }
        Ok((protection, SectionFlags(sec)))
    }

    fn allows_write(self) -> bool {
        matches!(self, Protection::ReadWrite | Protection::ExecuteReadWrite)
    }

    fn allows_execute(self) -> bool {
        matches!(self, Protection::ExecuteRead | Protection::ExecuteReadWrite | Protection::ExecuteWriteCopy)
    }
}

/// Access rights of a mapping handle or a view (`FILE_MAP_*` bits, combinable with `|`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access(pub u32);

impl Access {
    /// `FILE_MAP_COPY`: copy-on-write views.
    pub const COPY: Access = Access(0x1);
    /// `FILE_MAP_WRITE`: read-write views.
    pub const WRITE: Access = Access(0x2);
    /// `FILE_MAP_READ`: read-only views.
    pub const READ: Access = Access(0x4);
    /// `FILE_MAP_EXECUTE`: executable views.
    pub const EXECUTE: Access = Access(0x20);
    /// `FILE_MAP_ALL_ACCESS`: everything but explicit execute.
    pub const ALL: Access = Access(0xF_001F);
    const SECTION_MAP_EXECUTE: u32 = 0x8;

    /// True if every right in `other` is present.
    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    fn can_read(self) -> bool {
        self.0 & Access::READ.0 != 0
    }
    fn can_write(self) -> bool {
        self.0 & Access::WRITE.0 != 0
    }
    fn can_execute(self) -> bool {
        self.0 & (Access::EXECUTE.0 | Access::SECTION_MAP_EXECUTE) != 0
    }
}

impl std::ops::BitOr for Access {
    type Output = Access;
    fn bitor(self, rhs: Access) -> Access {
        Access(self.0 | rhs.0)
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Access::ALL {
            return f.write_str("Access(ALL)");
        }
        let mut parts = Vec::new();
        for (bit, name) in
            [(Access::READ, "READ"), (Access::WRITE, "WRITE"), (Access::COPY, "COPY"), (Access::EXECUTE, "EXECUTE")]
        {
            if self.contains(bit) {
                parts.push(name);
            }
        }
        write!(f, "Access({})", if parts.is_empty() { "0".to_string() } else { parts.join("|") })
    }
}

/// What a view can do with its pages, derived from the requested access as Windows does:
/// exactly `FILE_MAP_COPY` (optionally with `FILE_MAP_EXECUTE`) is copy-on-write, otherwise the
/// WRITE bit gives read-write, the READ bit read-only, and anything else (0, EXECUTE alone) a
/// view with no access at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ViewKind {
    NoAccess,
    Read,
    Write,
    Copy,
}

/// Builder for creating (or opening) a file mapping object, like `std::fs::OpenOptions`.
///
/// ```no_run
/// use filemap::{Access, Mapping, Protection};
/// let (map, created) = Mapping::options()
///     .name(r"Local\MyFileMappingObject")
///     .size(256)
///     .protection(Protection::ReadWrite)
///     .create()?;
/// let view = map.view(Access::ALL)?;
/// view.write_at(0, b"Message from first process.")?;
/// # Ok::<(), filemap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MappingOptions<'f> {
    name: Option<String>,
    size: u64,
    protection: Protection,
    flags: SectionFlags,
    mode: u32,
    permissions: Option<crate::security::Permissions>,
    inheritable: bool,
    file: Option<&'f File>,
    access: Access,
    namespace: Option<Namespace>,
}

impl Default for MappingOptions<'_> {
    fn default() -> Self {
        MappingOptions {
            name: None,
            size: 0,
            protection: Protection::ReadWrite,
            flags: SectionFlags::default(),
            mode: 0o600,
            permissions: None,
            inheritable: false,
            file: None,
            access: Access::ALL,
            namespace: None,
        }
    }
}

impl<'f> MappingOptions<'f> {
    /// The object's name (`Local\x`, `Global\x` or `x`); an empty name means unnamed.
    pub fn name(mut self, name: &str) -> Self {
        self.name = if name.is_empty() { None } else { Some(name.to_owned()) };
        self
    }

    /// Maximum size in bytes. Required (> 0) for paging-file-backed mappings; for file-backed
    /// ones 0 means the file's size, and a larger size extends a writable file.
    pub fn size(mut self, size: u64) -> Self {
        self.size = size;
        self
    }

    /// Page protection of the object (default [`Protection::ReadWrite`]).
    pub fn protection(mut self, protection: Protection) -> Self {
        self.protection = protection;
        self
    }

    /// `SEC_*` attributes (default `SEC_COMMIT`).
    pub fn section_flags(mut self, flags: SectionFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Permission bits of a named object (default `0o600`: owner only), independent of umask.
    /// Other users can open the object only as these bits allow.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Who may open a named object, as a Windows DACL (replaces [`MappingOptions::mode`]):
    /// enforced by the kernel through the object file's mode and POSIX ACL (see
    /// [`crate::security`]). Ignored when the name already exists, as on Windows.
    pub fn permissions(mut self, permissions: crate::security::Permissions) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Whether the handle is inherited by child processes (default false).
    pub fn inheritable(mut self, inheritable: bool) -> Self {
        self.inheritable = inheritable;
        self
    }

    /// Back the section with large pages (`SEC_LARGE_PAGES | SEC_COMMIT`): huge pages from the
    /// kernel's hugetlb pool, through a hugetlbfs mount (see the crate's `large` module docs and
    /// docs/ARCHITECTURE.md). The size, view offsets and view lengths must be multiples of
    /// [`crate::memory::large_page_minimum`]. Fails with `ERROR_PRIVILEGE_NOT_HELD` without a
    /// usable hugetlbfs mount and `ERROR_NO_SYSTEM_RESOURCES` when the pool is too small.
    pub fn large_pages(mut self, large: bool) -> Self {
        if large {
            self.flags = self.flags | SectionFlags::LARGE_PAGES | SectionFlags::COMMIT;
        } else {
            self.flags = SectionFlags(self.flags.0 & !SectionFlags::LARGE_PAGES.0);
        }
        self
    }

    /// Back the mapping by this file instead of the paging file (memory).
    pub fn file(mut self, file: &'f File) -> Self {
        self.file = Some(file);
        self
    }

    /// Access requested by [`MappingOptions::open`] (default [`Access::ALL`]).
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// The namespace the name is created or opened in (default [`Namespace::default`]:
    /// `$FILEMAP_ROOT` or the standard locations). Unnamed mappings belong to no namespace.
    pub fn namespace(mut self, namespace: &Namespace) -> Self {
        self.namespace = Some(namespace.clone());
        self
    }

    fn ns(&self) -> &Namespace {
        self.namespace.as_ref().unwrap_or_else(|| Namespace::global())
    }

    /// Creates the object, or returns the existing object of that name (with its own size and
    /// protection) and [`Created::Existing`].
    pub fn create(self) -> Result<(Mapping, Created)> {
        let name = self.name.as_deref().map(ObjectName::parse).transpose()?;
        let shown = name.as_ref().map_or_else(|| "unnamed mapping".to_owned(), |n| format!("mapping \"{n}\""));
        let what = || format!("cannot create {shown}");
        self.check_flags(&what)?;
        let commit = !self.flags.contains(SectionFlags::RESERVE);
        let large = self.flags.contains(SectionFlags::LARGE_PAGES);
        let (data_len, backing, backing_fd, size) = match self.file {
            None if large => {
                let (data, backing) =
                    crate::large::create(self.size, self.mode, name.is_some()).map_err(|e| e.context(&what()))?;
                (0, Some(backing), Some(data), self.size)
            }
            None => {
                if self.size == 0 {
                    return Err(Error::new(
                        Win32Error::INVALID_PARAMETER,
                        format!("{}: a paging-file-backed mapping needs a size greater than zero", what()),
                    ));
                }
                if self.size > i64::MAX as u64 - HEADER_SIZE as u64 {
                    return Err(Error::new(
                        Win32Error::NOT_ENOUGH_MEMORY,
                        format!("{}: size {} is too large", what(), self.size),
                    ));
                }
                (self.size, None, None, self.size)
            }
            Some(file) => {
                let (backing, fd, size) = self.prepare_file(file, name.is_some(), &what)?;
                (0, Some(backing), Some(DataFile::plain(fd)), size)
            }
        };
        let mut header = Header {
            kind: ObjectType::Mapping,
            protection: self.protection.to_win32(),
            attributes: match (self.file.is_some(), commit) {
                (false, _) if large => self.flags.0 | SectionFlags::COMMIT.0,
                (true, _) => {
                    (self.flags.0 & !(SectionFlags::COMMIT.0 | SectionFlags::RESERVE.0)) | SectionFlags::FILE.0
                }
                (false, true) => self.flags.0 | SectionFlags::COMMIT.0,
                (false, false) => self.flags.0,
            },
            mode: self.mode & 0o777,
            size,
            creator_uid: 0,
            creator_pid: 0,
            created_ns: 0,
            backing,
            name: name.as_ref().map(ToString::to_string),
            params: [0; 4],
        };
        stamp(&mut header);
        let acl = self.permissions.as_ref().map(|p| crate::security::file_acl_for(p, ObjectType::Mapping, &mut header));
        let mut apply = |fd: rustix::fd::BorrowedFd<'_>| acl.as_ref().map_or(Ok(()), |acl| acl.apply(fd));
        let (object, created) = ObjectFile::create(NewObject {
            name: name.as_ref(),
            namespace: self.ns(),
            header,
            sync_init: &[],
            data_len,
            commit,
            inheritable: self.inheritable,
            before_link: Some(&mut apply),
        })?;
        let mapping = match created {
            Created::New => Mapping::from_object(object, Access::ALL, backing_fd)?,
            Created::Existing => Mapping::from_object_open(object, Access::ALL)?,
        };
        Ok((mapping, created))
    }

    /// Opens the existing object named by [`MappingOptions::name`] with
    /// [`MappingOptions::access`] and [`MappingOptions::inheritable`].
    pub fn open(self) -> Result<Mapping> {
        let Some(name) = self.name.as_deref() else {
            return Err(Error::new(Win32Error::INVALID_PARAMETER, "cannot open a mapping without a name"));
        };
        let name = ObjectName::parse(name)?;
        let write = self.access.can_write();
        let object = ObjectFile::open(self.ns(), &name, ObjectType::Mapping, write, self.inheritable)?;
        Mapping::from_object_open(object, self.access)
    }

    /// [`MappingOptions::open`], waiting up to `timeout` for the name to appear (see
    /// [`Mapping::open_wait`]).
    pub fn open_wait(self, timeout: std::time::Duration) -> Result<Mapping> {
        crate::namespace::wait_for_name(timeout, || self.clone().open())
    }

    /// Validates `SEC_*` attributes as `CreateFileMapping` does (docs/WIN32-FACTS.md §2).
    fn check_flags(&self, what: &dyn Fn() -> String) -> Result<()> {
        let f = self.flags;
        let refuse = |code, why: &str| Err(Error::new(code, format!("{}: {why}", what())));
        let commit = f.contains(SectionFlags::COMMIT);
        let reserve = f.contains(SectionFlags::RESERVE);
        let image = f.0 & (SectionFlags::IMAGE.0 | SectionFlags::PROTECTED_IMAGE.0) != 0;
        let modifiers = f.0 & (SectionFlags::NOCACHE.0 | SectionFlags::WRITECOMBINE.0 | SectionFlags::LARGE_PAGES.0);
        if f.contains(SectionFlags::FILE) {
            return refuse(Win32Error::INVALID_PARAMETER, "SEC_FILE is not a valid attribute for CreateFileMapping");
        }
        if commit && reserve {
            return refuse(Win32Error::INVALID_PARAMETER, "SEC_COMMIT and SEC_RESERVE exclude each other");
        }
        if image {
            if commit || reserve || f.0 & (SectionFlags::WRITECOMBINE.0 | SectionFlags::LARGE_PAGES.0) != 0 {
                return refuse(
                    Win32Error::INVALID_PARAMETER,
                    "SEC_IMAGE cannot be combined with SEC_COMMIT, SEC_RESERVE, SEC_WRITECOMBINE or SEC_LARGE_PAGES",
                );
            }
            return match self.file {
                None => refuse(Win32Error::BAD_EXE_FORMAT, "SEC_IMAGE needs a PE image file, not the paging file"),
                Some(file) if !is_pe_image(file) => {
                    refuse(Win32Error::BAD_EXE_FORMAT, "SEC_IMAGE: the file is not a PE image")
                }
                Some(_) => refuse(
                    Win32Error::NOT_SUPPORTED,
                    "SEC_IMAGE: loading Windows executables as images is not supported on Linux; map the file as data",
                ),
            };
        }
        if modifiers != 0 && !commit && !reserve {
            return refuse(
                Win32Error::INVALID_PARAMETER,
                "SEC_NOCACHE, SEC_WRITECOMBINE and SEC_LARGE_PAGES need SEC_COMMIT or SEC_RESERVE",
            );
        }
        if f.contains(SectionFlags::LARGE_PAGES) {
            if reserve || self.file.is_some() {
                return refuse(Win32Error::INVALID_PARAMETER, "SEC_LARGE_PAGES needs SEC_COMMIT on the paging file");
            }
            let lp = crate::memory::large_page_minimum() as u64;
            if lp == 0 {
                return refuse(Win32Error::PRIVILEGE_NOT_HELD, "SEC_LARGE_PAGES: the kernel has no huge page support");
            }
            if self.size == 0 || !self.size.is_multiple_of(lp) {
                return refuse(
                    Win32Error::INVALID_PARAMETER,
                    &format!("SEC_LARGE_PAGES: the size must be a multiple of the {lp}-byte large page"),
                );
            }
        }
        Ok(())
    }

    fn prepare_file(&self, file: &File, named: bool, what: &dyn Fn() -> String) -> Result<(Backing, OwnedFd, u64)> {
        let fd = rustix::io::fcntl_dupfd_cloexec(file, 0).map_err(|e| Error::from_io(what(), e.into()))?;
        let mode = rustix::fs::fcntl_getfl(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
        let file_writable = mode.contains(OFlags::RDWR);
        let file_readable = !mode.contains(OFlags::WRONLY);
        if !file_readable || (self.protection.allows_write() && !file_writable) {
            return Err(Error::new(
                Win32Error::ACCESS_DENIED,
                format!(
                    "{}: the file was opened {}, which does not allow {:?} protection",
                    what(),
                    if file_writable { "write-only" } else { "read-only" },
                    self.protection
                ),
            ));
        }
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
        if st.st_mode & 0o170000 != 0o100000 {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("{}: the file is not a regular file", what()),
            ));
        }
        let file_size = st.st_size as u64;
        let size = if self.size == 0 {
            if file_size == 0 {
                return Err(Error::new(
                    Win32Error::FILE_INVALID,
                    format!("{}: the file is empty and no size was given", what()),
                ));
            }
            file_size
        } else {
            self.size
        };
        if size > file_size {
            if !self.protection.allows_write() {
                return Err(Error::new(
                    Win32Error::NOT_ENOUGH_MEMORY,
                    format!(
                        "{}: size {size} exceeds the file's {file_size} bytes and {:?} cannot extend it",
                        what(),
                        self.protection
                    ),
                ));
            }
            rustix::fs::ftruncate(&fd, size)
                .map_err(|e| Error::from_io(format!("{}: cannot extend the file", what()), e.into()))?;
        }
        let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default();
        if named && !path.is_absolute() {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("{}: the file has no path that other processes could open", what()),
            ));
        }
        Ok((Backing { dev: st.st_dev, ino: st.st_ino, path }, fd, size))
    }
}

/// A handle to a file mapping object (`HANDLE` from `CreateFileMapping`/`OpenFileMapping`).
///
/// Dropping it closes the handle: when it is the last handle to the object in any process, the
/// name is released at once (views keep working on the memory they map). `Mapping` is `Send` and
/// `Sync`; clones made by [`Mapping::try_clone`] share this process's hold on the object.
#[derive(Debug)]
pub struct Mapping {
    object: Arc<ObjectFile>,
    access: Access,
    protection: Protection,
    backing: Option<Arc<DataFile>>,
}

impl Mapping {
    /// A builder to create or open a mapping.
    pub fn options<'f>() -> MappingOptions<'f> {
        MappingOptions::default()
    }

    /// Opens the existing mapping `name` with `access` (`OpenFileMapping`). Fails with
    /// `ERROR_FILE_NOT_FOUND` if no live object has the name, `ERROR_INVALID_HANDLE` if another
    /// type holds it, `ERROR_ACCESS_DENIED` if its permissions forbid `access`.
    pub fn open(name: &str, access: Access) -> Result<Mapping> {
        Mapping::options().name(name).access(access).open()
    }

    /// [`Mapping::open`], waiting up to `timeout` for the name to appear: for processes started
    /// independently, where the creator may not have run yet. It retries while the open fails
    /// with `ERROR_FILE_NOT_FOUND` (polling, from 1 ms backing off to 50 ms); any other error
    /// (wrong type, access denied, bad name) returns at once. When `timeout` passes without the
    /// name appearing it fails with `ERROR_FILE_NOT_FOUND` (what `OpenFileMapping` reports; not
    /// `ERROR_TIMEOUT`, so callers handle "not there" one way), its message saying how long it
    /// waited. A zero `timeout` is one attempt, as `open`.
    pub fn open_wait(name: &str, access: Access, timeout: std::time::Duration) -> Result<Mapping> {
        Mapping::options().name(name).access(access).open_wait(timeout)
    }

    fn from_object(object: ObjectFile, access: Access, mut backing: Option<DataFile>) -> Result<Mapping> {
        let (protection, _) = Protection::from_win32(object.header().protection)?;
        if let Some(data) = &mut backing {
            data.watch_object(object.fd());
        }
        Ok(Mapping { object: Arc::new(object), access, protection, backing: backing.map(Arc::new) })
    }

    /// Wraps an object opened by name (or found existing at create), opening its backing file.
    fn from_object_open(object: ObjectFile, access: Access) -> Result<Mapping> {
        let header = object.header();
        let (protection, _) = Protection::from_win32(header.protection).map_err(|e| {
            Error::new(
                Win32Error::INVALID_DATA,
                format!("{}: corrupt protection in header: {}", object.describe(), e.message()),
            )
        })?;
        let large = header.attributes & SectionFlags::LARGE_PAGES.0 != 0;
        let backing = match &header.backing {
            None => None,
            Some(backing) if large => {
                let write = protection.allows_write() && access.can_write();
                // The path is hostile input (S6): it is only followed inside the directory of the
                // object file's kernel-recorded owner, never the uid the header claims.
                let owner = rustix::fs::fstat(object.fd())
                    .map_err(|e| Error::from_io(format!("cannot open {}", object.describe()), e.into()))?
                    .st_uid;
                let mut data = crate::large::open(backing, owner, write, &object.describe())?;
                data.watch_object(object.fd());
                Some(Arc::new(data))
            }
            Some(backing) => {
                let write = protection.allows_write() && access.can_write();
                Some(Arc::new(DataFile::plain(crate::backing::open_recorded(
                    object.fd(),
                    backing,
                    write,
                    &object.describe(),
                )?)))
            }
        };
        if backing.is_none() && object.file_size() < HEADER_SIZE as u64 + header.size {
            return Err(Error::new(
                Win32Error::INVALID_DATA,
                format!("{}: the object file is shorter than its recorded size", object.describe()),
            ));
        }
        Ok(Mapping { object: Arc::new(object), access, protection, backing })
    }

    /// Closes the handle now (`CloseHandle`), reporting what dropping it hides: if this was
    /// the process's last handle to the object and the close protocol could not run to its end
    /// (an inheritable or inherited handle with no descriptor left to test for other holders),
    /// it fails with the Win32 code, and the object, if no other holder remains, is left dead
    /// for the next sweep or `filemap gc`. Closing one of several clones made by
    /// [`Mapping::try_clone`] only drops that clone.
    pub fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.object) {
            Ok(object) => object.close(),
            Err(_) => Ok(()),
        }
    }

    /// Size of the object in bytes, as it was created (not rounded to pages).
    pub fn size(&self) -> u64 {
        self.object.header().size
    }

    /// The object's protection.
    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// The object's `SEC_*` attributes (`SEC_COMMIT` unless created with `SEC_RESERVE`).
    pub fn section_flags(&self) -> SectionFlags {
        SectionFlags(self.object.header().attributes)
    }

    /// The access this handle grants.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The object's full name (`Local\x`), or `None` if unnamed.
    pub fn name(&self) -> Option<String> {
        self.object.name().map(ToString::to_string)
    }

    /// The backing file, for file-backed mappings.
    pub fn backing_path(&self) -> Option<PathBuf> {
        self.object.header().backing.as_ref().map(|b| b.path.clone())
    }

    /// The object's identity (device and inode of its file): two handles, in any processes,
    /// refer to the same object exactly when their ids are equal.
    pub fn object_id(&self) -> (u64, u64) {
        self.object.id()
    }

    /// Whether this handle is inherited by child processes.
    pub fn is_inheritable(&self) -> bool {
        self.object.inheritable()
    }

    /// Another handle to the same object with the same access and inheritability.
    pub fn try_clone(&self) -> Result<Mapping> {
        Ok(Mapping {
            object: self.object.clone(),
            access: self.access,
            protection: self.protection,
            backing: self.backing.clone(),
        })
    }

    /// Another handle to the same object (`DuplicateHandle`) with `access` (at most this handle's:
    /// asking for more fails with `ERROR_ACCESS_DENIED`) and the given inheritability.
    pub fn duplicate(&self, access: Access, inheritable: bool) -> Result<Mapping> {
        if !self.access.contains(access) {
            return Err(Error::new(
                Win32Error::ACCESS_DENIED,
                format!(
                    "cannot duplicate {}: {access:?} exceeds the handle's {:?}",
                    self.object.describe(),
                    self.access
                ),
            ));
        }
        let object = if inheritable == self.is_inheritable() {
            self.object.clone()
        } else {
            Arc::new(self.object.reopen(inheritable)?)
        };
        Ok(Mapping { object, access, protection: self.protection, backing: self.backing.clone() })
    }

    /// A descriptor of this object for another process (passed over a Unix socket): a new open
    /// file description with `access` (at most this handle's: more fails with
    /// `ERROR_ACCESS_DENIED`), read-only unless `access` includes writing. The receiver adopts
    /// it with [`Mapping::from_inherited_fd_with_access`]; until then it keeps the name alive.
    pub fn transfer_fd(&self, access: Access) -> Result<std::os::fd::OwnedFd> {
        if !self.access.contains(access) {
            return Err(Error::new(
                Win32Error::ACCESS_DENIED,
                format!(
                    "cannot duplicate {}: {access:?} exceeds the handle's {:?}",
                    self.object.describe(),
                    self.access
                ),
            ));
        }
        self.object.reopen_for_transfer(access.can_write())
    }

    /// The descriptor a child process inherits for this handle (only meaningful for an
    /// inheritable handle); pass it to [`Mapping::from_inherited_fd`] in the child.
    pub fn inheritable_fd(&self) -> Option<RawFd> {
        self.is_inheritable().then(|| self.object.fd().as_raw_fd())
    }

    /// Adopts a mapping handle inherited from the parent process.
    ///
    /// The access is what the descriptor was opened for (read-write descriptors give
    /// [`Access::ALL`], read-only ones [`Access::READ`] | [`Access::COPY`]).
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else in this process owns or will close:
    /// the returned `Mapping` takes ownership of it.
    pub unsafe fn from_inherited_fd(fd: RawFd) -> Result<Mapping> {
        if rustix::io::fcntl_getfd(
            // SAFETY: only used for this one fcntl call, while the caller guarantees `fd` is open.
            unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) },
        )
        .is_err()
        {
            return Err(Error::new(Win32Error::INVALID_HANDLE, format!("descriptor {fd} is not open")));
        }
        // SAFETY: the caller transfers ownership of the open descriptor `fd`.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let object = ObjectFile::from_inherited(owned, ObjectType::Mapping)?;
        let access = if object.writable() { Access::ALL } else { Access::READ | Access::COPY };
        Mapping::from_object_open(object, access)
    }

    /// Makes this handle inherited by child processes or not (`SetHandleInformation` with
    /// `HANDLE_FLAG_INHERIT`). Handles made by [`Mapping::try_clone`] share the descriptor and
    /// so the setting.
    pub fn set_inheritable(&self, inheritable: bool) -> Result<()> {
        self.object.set_inheritable(inheritable)
    }

    /// Adopts an inherited mapping handle with the access the parent's handle had (which the
    /// descriptor's open mode must allow: a read-only descriptor cannot carry write access).
    ///
    /// # Safety
    /// As for [`Mapping::from_inherited_fd`].
    pub unsafe fn from_inherited_fd_with_access(fd: RawFd, access: Access) -> Result<Mapping> {
        // SAFETY: forwarded caller promise.
        let mut mapping = unsafe { Mapping::from_inherited_fd(fd) }?;
        if access.can_write() && !mapping.object.writable() {
            return Err(Error::new(
                Win32Error::ACCESS_DENIED,
                format!("inherited descriptor {fd} of {} is read-only", mapping.object.describe()),
            ));
        }
        mapping.access = access;
        Ok(mapping)
    }

    /// Maps the whole object (`MapViewOfFile(h, access, 0, 0, 0)`).
    pub fn view(&self, access: Access) -> Result<View> {
        self.view_builder().access(access).map()
    }

    /// Maps `len` bytes from `offset` (a multiple of 64 KiB); `len == 0` maps to the end.
    pub fn view_range(&self, offset: u64, len: usize, access: Access) -> Result<View> {
        self.view_builder().offset(offset).len(len).access(access).map()
    }

    /// Maps the whole object twice, back to back, so that `[ptr, ptr + 2 * size)` reads the
    /// object and then the object again: a ring buffer whose reads and writes never wrap (the
    /// Win32 pattern of `VirtualAlloc2(MEM_RESERVE_PLACEHOLDER)` + two `MapViewOfFile3`). The
    /// object's size must be a multiple of the 64 KiB allocation granularity
    /// (`ERROR_INVALID_PARAMETER`), and it must be a committed section.
    pub fn double_view(&self, access: Access) -> Result<DoubleView> {
        let size = self.size();
        let what = || format!("cannot map a double view of {}", self.object.describe());
        if !size.is_multiple_of(GRANULARITY as u64) || self.section_flags().contains(SectionFlags::RESERVE) {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("{}: the size {size} is not a multiple of 64 KiB, or the section is SEC_RESERVE", what()),
            ));
        }
        let len = usize::try_from(size)
            .ok()
            .filter(|l| l.checked_mul(2).is_some())
            .ok_or_else(|| Error::new(Win32Error::NOT_ENOUGH_MEMORY, format!("{}: too large", what())))?;
        let placeholder = crate::memory::allocate(
            0,
            2 * len,
            crate::memory::mem::RESERVE | crate::memory::mem::RESERVE_PLACEHOLDER,
            page::NOACCESS,
            true,
        )?;
        let fail = |e: Error| {
            // Release the placeholders still there (views made so far unmap when dropped).
            for half in [placeholder, placeholder + len] {
                crate::memory::free(half, 0, crate::memory::mem::RELEASE).ok();
            }
            e
        };
        crate::memory::free(placeholder, len, crate::memory::mem::RELEASE | crate::memory::mem::PRESERVE_PLACEHOLDER)
            .map_err(fail)?;
        let mut halves = Vec::with_capacity(2);
        for at in [placeholder, placeholder + len] {
            let view =
                self.view_builder().access(access).len(len).address(at).replace_placeholder().map().map_err(fail)?;
            halves.push(view);
        }
        let second = halves.pop().expect("two halves");
        let first = halves.pop().expect("two halves");
        Ok(DoubleView { first, second })
    }

    /// A builder for a view with every option of `MapViewOfFileEx`.
    pub fn view_builder(&self) -> ViewBuilder<'_> {
        ViewBuilder {
            mapping: self,
            offset: 0,
            len: 0,
            access: Access::READ,
            address: None,
            replace_placeholder: false,
        }
    }

    /// Runs `map` with the descriptor the data is mapped from, the data's offset in it, and the
    /// pin a mapping of the handle's own OFD must hold.
    fn with_data_fd<T>(
        &self,
        map: impl FnOnce(rustix::fd::BorrowedFd<'_>, u64, Option<MapPin>) -> Result<T>,
    ) -> Result<T> {
        match &self.backing {
            Some(fd) => map(fd.as_fd(), 0, None),
            None => self.object.with_map_fd(|fd, pin| map(fd, HEADER_SIZE as u64, pin)),
        }
    }
}

/// The handle's descriptor (what a child inherits when the handle is inheritable). It stays
/// owned by the `Mapping`: closing it behind its back breaks the handle.
impl std::os::fd::AsFd for Mapping {
    fn as_fd(&self) -> rustix::fd::BorrowedFd<'_> {
        self.object.fd()
    }
}

/// True if the file starts like a PE image (`MZ` header).
fn is_pe_image(file: &File) -> bool {
    let mut magic = [0u8; 2];
    matches!(rustix::io::pread(file, &mut magic, 0), Ok(2)) && &magic == b"MZ"
}

/// Builder for a view (`MapViewOfFileEx`): offset, length, access and a requested address.
#[derive(Debug, Clone)]
pub struct ViewBuilder<'m> {
    mapping: &'m Mapping,
    offset: u64,
    len: usize,
    access: Access,
    address: Option<usize>,
    replace_placeholder: bool,
}

impl ViewBuilder<'_> {
    /// Offset into the object; must be a multiple of 64 KiB (`ERROR_MAPPED_ALIGNMENT`).
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Bytes to map; 0 (the default) maps from the offset to the end of the object.
    pub fn len(mut self, len: usize) -> Self {
        self.len = len;
        self
    }

    /// Access of the view: [`Access::READ`], [`Access::WRITE`]/[`Access::ALL`] (read-write),
    /// [`Access::COPY`] (copy-on-write), optionally `| Access::EXECUTE`.
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Map at exactly this address (a multiple of 64 KiB). If anything is mapped there the view
    /// fails with `ERROR_INVALID_ADDRESS`; nothing already mapped is ever replaced.
    pub fn address(mut self, address: usize) -> Self {
        self.address = Some(address);
        self
    }

    /// Map over the placeholder that is exactly this view's range (`MapViewOfFile3` with
    /// `MEM_REPLACE_PLACEHOLDER`): needs [`ViewBuilder::address`] and an explicit length, and the
    /// range must be one placeholder made by [`crate::memory::allocate`] with
    /// `MEM_RESERVE_PLACEHOLDER` (split by [`crate::memory::free`] with `MEM_PRESERVE_PLACEHOLDER`).
    pub fn replace_placeholder(mut self) -> Self {
        self.replace_placeholder = true;
        self
    }

    /// Maps the view.
    pub fn map(self) -> Result<View> {
        let m = self.mapping;
        let what = || format!("cannot map a view of {}", m.object.describe());
        // Paging-file sections extend to the end of their last page, file-backed ones do not.
        let page = sys::PAGE as u64;
        let size = if m.backing.is_some() { m.size() } else { m.size().div_ceil(page) * page };
        if !self.offset.is_multiple_of(GRANULARITY as u64) {
            return Err(Error::new(
                Win32Error::MAPPED_ALIGNMENT,
                format!("{}: offset {:#x} is not a multiple of the 64 KiB allocation granularity", what(), self.offset),
            ));
        }
        if let Some(addr) = self.address
            && addr % GRANULARITY != 0
        {
            return Err(Error::new(
                Win32Error::MAPPED_ALIGNMENT,
                format!("{}: address {addr:#x} is not a multiple of the 64 KiB allocation granularity", what()),
            ));
        }
        let large = m.backing.as_ref().is_some_and(|d| d.is_large())
            || (m.backing.is_some() && m.section_flags().contains(SectionFlags::LARGE_PAGES));
        let lp = crate::memory::large_page_minimum();
        if large && (!self.offset.is_multiple_of(lp as u64) || self.address.is_some_and(|a| a % lp != 0)) {
            return Err(Error::new(
                Win32Error::MAPPED_ALIGNMENT,
                format!("{}: views of large-page sections start at multiples of {lp} bytes", what()),
            ));
        }
        if large && !self.len.is_multiple_of(lp) {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("{}: views of large-page sections are multiples of {lp} bytes long", what()),
            ));
        }
        let kind = view_kind(self.access);
        // FILE_MAP_EXECUTE only upgrades a view that reads, writes or copies.
        let execute = self.access.0 & Access::EXECUTE.0 != 0 && kind != ViewKind::NoAccess;
        let denied = |why: String| Err(Error::new(Win32Error::ACCESS_DENIED, format!("{}: {why}", what())));
        // The handle must grant what the view needs.
        let handle_ok = match kind {
            ViewKind::Write => m.access.can_write(),
            ViewKind::Read | ViewKind::Copy | ViewKind::NoAccess => m.access.can_read(),
        } && (!execute || m.access.can_execute());
        if !handle_ok {
            return denied(format!("the handle's access {:?} does not allow a {:?} view", m.access, self.access));
        }
        // The object's protection must allow it.
        let prot_ok = match kind {
            ViewKind::Write => m.protection.allows_write(),
            ViewKind::Read | ViewKind::Copy | ViewKind::NoAccess => true,
        } && (!execute || m.protection.allows_execute());
        if !prot_ok {
            return denied(format!(
                "the object's protection {:?} does not allow a {:?} view",
                m.protection, self.access
            ));
        }
        if self.offset >= size {
            return denied(format!("offset {} is at or past the end of the {size}-byte object", self.offset));
        }
        let available = size - self.offset;
        // Length 0 means "to the end of the object"; an explicit length may also cover the rest
        // of the object's last page, as Windows allows for paging-file-backed sections.
        let len = if self.len == 0 { m.size() - self.offset } else { self.len as u64 };
        if len > available {
            return denied(format!(
                "{} bytes from offset {} run past the end of the {size}-byte object",
                len, self.offset
            ));
        }
        let len = usize::try_from(len).map_err(|_| {
            Error::new(Win32Error::NOT_ENOUGH_MEMORY, format!("{}: the view does not fit in memory", what()))
        })?;
        let mut prot = match kind {
            ViewKind::NoAccess => ProtFlags::empty(),
            ViewKind::Read => ProtFlags::READ,
            ViewKind::Write | ViewKind::Copy => ProtFlags::READ | ProtFlags::WRITE,
        };
        if execute {
            prot |= ProtFlags::EXEC;
        }
        let sharing = if kind == ViewKind::Copy { Sharing::CopyOnWrite } else { Sharing::Shared };
        let placement = self.address.map_or(Placement::Anywhere, Placement::Exactly);
        let flags = m.section_flags();
        let reserved = m.backing.is_none() && flags.contains(SectionFlags::RESERVE);
        let view_protect = view_protection(kind, execute);
        let modifiers = (if flags.contains(SectionFlags::NOCACHE) { crate::memory::modifier::NOCACHE } else { 0 })
            | (if flags.contains(SectionFlags::WRITECOMBINE) { crate::memory::modifier::WRITECOMBINE } else { 0 });
        // Views of reserved sections start inaccessible; commits open their pages.
        let map_prot = if reserved { ProtFlags::empty() } else { prot };
        if self.replace_placeholder && (self.address.is_none() || self.len == 0) {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("{}: replacing a placeholder needs an address and a length", what()),
            ));
        }
        let (ptr, pin, section) = m.with_data_fd(|fd, base, pin| {
            // The file may have been truncated since the handle was opened: map only what it
            // still covers (the object's bytes in the view), or the view would SIGBUS.
            let end = base + self.offset + (len as u64).min(m.size() - self.offset);
            let (code, file) = if m.backing.is_some() {
                (Win32Error::FILE_INVALID, "its backing file")
            } else {
                (Win32Error::INVALID_DATA, "its object file")
            };
            crate::backing::ensure_covers(fd, end, code, &what, file)?;
            let section = if reserved {
                let dup = rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Error::from_io(what(), e.into()))?;
                Some(crate::memory::ReservedSection {
                    fd: dup,
                    pin: pin.clone(),
                    file_offset: base + self.offset,
                    file_end: base + m.size(),
                })
            } else {
                None
            };
            if self.replace_placeholder {
                let addr = self.address.unwrap_or(0);
                let ptr = crate::memory::replace_placeholder(addr, len, || {
                    // SAFETY: `replace_placeholder` checked (and holds the registry while we
                    // run) that [addr, addr + len) is exactly one placeholder this process
                    // reserved, which nobody references.
                    unsafe { crate::sys::vm::map_file_over(fd, base + self.offset, addr, len, map_prot, sharing) }
                        .map_err(|e| Error::from_io(what(), e.into()))
                })?;
                return Ok((ptr, pin, section));
            }
            let mapped = if large && placement == Placement::Anywhere {
                crate::sys::vm::map_huge_file(fd, base + self.offset, len, map_prot, sharing)
            } else {
                sys::map_file(fd, base + self.offset, len, map_prot, sharing, placement)
            };
            let ptr = mapped.map_err(|e| match e {
                Errno::EXIST => Error::new(
                    Win32Error::INVALID_ADDRESS,
                    format!("{}: the requested address {:#x} is already in use", what(), self.address.unwrap_or(0)),
                ),
                Errno::NOMEM => {
                    Error::new(Win32Error::NOT_ENOUGH_MEMORY, format!("{}: no room in the address space", what()))
                }
                Errno::ACCESS | Errno::PERM if execute => Error::new(
                    Win32Error::ACCESS_DENIED,
                    format!("{}: the filesystem refuses executable mappings (mounted noexec?)", what()),
                ),
                e => Error::from_io(what(), e.into()),
            })?;
            Ok((ptr, pin, section))
        })?;
        crate::memory::register_view(
            ptr.as_ptr() as usize,
            crate::memory::ViewRecord {
                protect: view_protect,
                section_protect: m.protection.to_win32(),
                modifiers,
                copy: kind == ViewKind::Copy,
                len,
                reserved: section,
            },
        );
        Ok(View { ptr, len, offset: self.offset, kind, execute, reserved, _pin: pin })
    }
}

/// The `PAGE_*` protection a view of this kind reports (`AllocationProtect`).
fn view_protection(kind: ViewKind, execute: bool) -> u32 {
    match (kind, execute) {
        (ViewKind::NoAccess, _) => page::NOACCESS,
        (ViewKind::Read, false) => page::READONLY,
        (ViewKind::Read, true) => page::EXECUTE_READ,
        (ViewKind::Write, false) => page::READWRITE,
        (ViewKind::Write, true) => page::EXECUTE_READWRITE,
        (ViewKind::Copy, false) => page::WRITECOPY,
        (ViewKind::Copy, true) => page::EXECUTE_WRITECOPY,
    }
}

fn view_kind(access: Access) -> ViewKind {
    if access.0 & !Access::EXECUTE.0 == Access::COPY.0 {
        ViewKind::Copy
    } else if access.can_write() {
        ViewKind::Write
    } else if access.can_read() {
        ViewKind::Read
    } else {
        ViewKind::NoAccess
    }
}

/// A view of a file mapping object mapped into this process (`MapViewOfFile`'s result).
///
/// The view starts at an address aligned to 64 KiB. It stays valid after every handle to the
/// object is closed, and sees every write other views of the object make, in this process and
/// in others. Dropping it unmaps it.
///
/// Because other processes may write the memory at any time, the safe API copies in and out
/// ([`View::read_at`], [`View::write_at`]) or hands out atomics ([`View::atomic_u32`]); plain
/// slices are only available through `unsafe` methods whose contract says who may write.
///
/// `View` is `Send` and `Sync`, and its safe methods are sound under concurrent use by other
/// threads and processes: the copies move every byte with one relaxed atomic byte access (a
/// byte-wise atomic `memcpy`, `rep movsb` on x86-64), so a copy racing with writers is not a
/// data race; it may see, per byte, the old or a new value — a mix across bytes, never a byte
/// nobody wrote. Concurrent `write_at`s to the same bytes leave each byte with one of the
/// written values. Racing a copy with an atomic from [`View::atomic_u32`] on the same bytes is
/// a mixed-size race, which Rust's memory model does not define (the hardware gives the same
/// per-byte mix): keep bytes that are accessed atomically out of copies that may run at the
/// same time.
#[derive(Debug)]
pub struct View {
    ptr: NonNull<u8>,
    len: usize,
    offset: u64,
    kind: ViewKind,
    execute: bool,
    /// A view of a `SEC_RESERVE` section: pages may be reserved (inaccessible).
    reserved: bool,
    /// Set when mapped from the handle's own OFD (see `object::MapPin`); a view given away with
    /// `into_raw` keeps it for the rest of the process's life (its handle's close then always
    /// releases its lock explicitly: correct, one syscall dearer).
    _pin: Option<MapPin>,
}

// SAFETY: a View is a mapping owned by this value; its safe methods only copy bytes with
// byte-wise atomic accesses (`sys::copy_in`/`copy_out`) or hand out atomics, which are sound
// from any thread.
unsafe impl Send for View {}
// SAFETY: as above: no safe method gives out non-atomic references into the memory.
unsafe impl Sync for View {}

impl View {
    /// The address of the first byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length of the view in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: views are never empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offset into the object this view starts at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the view may be written (read-write or copy-on-write).
    pub fn is_writable(&self) -> bool {
        matches!(self.kind, ViewKind::Write | ViewKind::Copy)
    }

    /// Whether the view may be read (false for views mapped with access 0 or
    /// `FILE_MAP_EXECUTE` alone, which Windows maps `PAGE_NOACCESS`).
    pub fn is_readable(&self) -> bool {
        self.kind != ViewKind::NoAccess
    }

    /// Whether writes stay private to this view (copy-on-write).
    pub fn is_copy_on_write(&self) -> bool {
        self.kind == ViewKind::Copy
    }

    /// Whether the view is executable.
    pub fn is_executable(&self) -> bool {
        self.execute
    }

    fn check_range(&self, offset: usize, len: usize, op: &str) -> Result<()> {
        if self.kind == ViewKind::NoAccess {
            return Err(Error::new(
                Win32Error::ACCESS_DENIED,
                format!("cannot {op}: the view was mapped with no access"),
            ));
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot {op} {len} bytes at offset {offset}: the view is {} bytes long", self.len),
            )),
        }
    }

    /// For views whose pages may be reserved or re-protected: every page of the range must be
    /// committed and allow the access (`ERROR_NOACCESS` otherwise, instead of a fault).
    fn check_pages(&self, offset: usize, len: usize, write: bool) -> Result<()> {
        if self.reserved || crate::memory::views_need_checks() {
            crate::memory::check_view_access(self.ptr.as_ptr() as usize, offset, len, write)?;
        }
        Ok(())
    }

    /// Commits `len` bytes from `offset` of a view of a `SEC_RESERVE` section with `protection`
    /// (`VirtualAlloc(MEM_COMMIT)` on the view): the pages of the *section* are allocated (a full
    /// filesystem fails here with `ERROR_COMMITMENT_LIMIT`, never later with SIGBUS) and every
    /// view of the section, in any process, sees them. On a view of a committed section this only
    /// changes the protection.
    pub fn commit(&self, offset: usize, len: usize, protection: u32) -> Result<()> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) || len == 0 {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot commit {len} bytes at offset {offset}: the view is {} bytes long", self.len),
            ));
        }
        crate::memory::allocate(self.ptr.as_ptr() as usize + offset, len, crate::memory::mem::COMMIT, protection, false)
            .map(|_| ())
    }

    /// Copies `buf.len()` bytes from offset `offset` of the view into `buf`.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.check_range(offset, buf.len(), "read")?;
        self.check_pages(offset, buf.len(), false)?;
        // SAFETY: the range was checked to lie inside this live, readable view.
        unsafe { sys::copy_out(self.ptr.as_ptr().add(offset), buf) };
        Ok(())
    }

    /// Reads `len` bytes from `offset` into a new vector.
    pub fn read_vec(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.read_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// Copies `data` into the view at `offset`. Fails with `ERROR_ACCESS_DENIED` on a
    /// read-only view.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        if !self.is_writable() {
            return Err(Error::new(Win32Error::ACCESS_DENIED, "cannot write to a read-only view"));
        }
        self.check_range(offset, data.len(), "write")?;
        self.check_pages(offset, data.len(), true)?;
        // SAFETY: the range was checked to lie inside this live, writable view.
        unsafe { sys::copy_in(self.ptr.as_ptr().add(offset), data) };
        Ok(())
    }

    fn atomic_ptr(&self, offset: usize, size: usize) -> Result<*mut u8> {
        self.check_range(offset, size, "access")?;
        if !offset.is_multiple_of(size) {
            return Err(Error::new(
                Win32Error::MAPPED_ALIGNMENT,
                format!("offset {offset} is not aligned for a {size}-byte atomic"),
            ));
        }
        if !self.is_writable() {
            return Err(Error::new(Win32Error::ACCESS_DENIED, "atomics need a writable view"));
        }
        self.check_pages(offset, size, true)?;
        // SAFETY: checked in bounds above.
        Ok(unsafe { self.ptr.as_ptr().add(offset) })
    }

    /// A 32-bit atomic at `offset` (4-byte aligned) of a writable view, shared with every other
    /// view of the object.
    pub fn atomic_u32(&self, offset: usize) -> Result<&AtomicU32> {
        let ptr = self.atomic_ptr(offset, 4)?;
        // SAFETY: in bounds and aligned (checked); the view's memory is valid for `&self`'s
        // lifetime; other processes touch it only through atomics (or the caller accepts their
        // non-atomic writes racing, which for an atomic is still a well-defined hardware access).
        Ok(unsafe { AtomicU32::from_ptr(ptr.cast()) })
    }

    /// A 64-bit atomic at `offset` (8-byte aligned) of a writable view.
    pub fn atomic_u64(&self, offset: usize) -> Result<&AtomicU64> {
        let ptr = self.atomic_ptr(offset, 8)?;
        // SAFETY: as for `atomic_u32`, with 8-byte alignment checked.
        Ok(unsafe { AtomicU64::from_ptr(ptr.cast()) })
    }

    /// Loads a 32-bit value at `offset` (4-byte aligned) atomically with `order` (`Relaxed`,
    /// `Acquire` or `SeqCst`; `Release` and `AcqRel` are taken as `Acquire`). Unlike [`View::atomic_u32`] this works on read-only views.
    pub fn load_u32(&self, offset: usize, order: Ordering) -> Result<u32> {
        let ptr = self.load_ptr(offset, 4)?;
        // SAFETY:
        // - `ptr` is in bounds, 4-byte aligned and readable (checked by `load_ptr`) for `&self`.
        // - a 4-byte atomic is lock-free on every Linux target, and an atomic load of read-only
        //   memory of a lock-free size is allowed (std's "Atomic accesses to read-only memory").
        Ok(unsafe { AtomicU32::from_ptr(ptr.cast()) }.load(load_order(order)))
    }

    /// Loads a 64-bit value at `offset` (8-byte aligned) atomically; works on read-only views.
    pub fn load_u64(&self, offset: usize, order: Ordering) -> Result<u64> {
        let ptr = self.load_ptr(offset, 8)?;
        // SAFETY: as for `load_u32`, with 8-byte alignment checked (64-bit atomics are lock-free
        // on the 64-bit targets this crate builds for).
        Ok(unsafe { AtomicU64::from_ptr(ptr.cast()) }.load(load_order(order)))
    }

    fn load_ptr(&self, offset: usize, size: usize) -> Result<*mut u8> {
        self.check_range(offset, size, "load")?;
        if !offset.is_multiple_of(size) {
            return Err(Error::new(
                Win32Error::MAPPED_ALIGNMENT,
                format!("cannot load at offset {offset}: not aligned for a {size}-byte atomic"),
            ));
        }
        self.check_pages(offset, size, false)?;
        // SAFETY: checked in bounds above.
        Ok(unsafe { self.ptr.as_ptr().add(offset) })
    }

    /// Copies a plain-data value (`#[repr(C)]`, deriving `zerocopy`'s `FromBytes` and
    /// `IntoBytes`) out of the view at `offset`. The offset need not be aligned: the bytes are
    /// copied. Another process writing the range meanwhile can tear the value (it is copied, not
    /// read atomically), never make it invalid: every bit pattern is a valid `T`.
    pub fn read_as<T: zerocopy::FromBytes + zerocopy::IntoBytes>(&self, offset: usize) -> Result<T> {
        let mut value = T::new_zeroed();
        self.read_at(offset, value.as_mut_bytes())?;
        Ok(value)
    }

    /// Copies a plain-data value (deriving `zerocopy`'s `IntoBytes` and `Immutable`) into the
    /// view at `offset` (no alignment needed). Fails with `ERROR_ACCESS_DENIED` on a read-only
    /// view, like [`View::write_at`].
    pub fn write_as<T: zerocopy::IntoBytes + zerocopy::Immutable>(&self, offset: usize, value: &T) -> Result<()> {
        self.write_at(offset, value.as_bytes())
    }

    /// The view as a byte slice.
    ///
    /// # Safety
    /// While the slice lives, nobody (no thread, no other view, no other process) may write the
    /// memory it covers.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the view is valid for `len` bytes while `self` lives; the caller guarantees
        // no concurrent writes.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The view as a mutable byte slice.
    ///
    /// # Safety
    /// The view must be writable, and while the slice lives nobody else (no thread, no other
    /// view, no other process) may read or write the memory it covers.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn as_mut_slice(&self) -> &mut [u8] {
        // SAFETY: valid for `len` bytes while `self` lives; exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Writes the view's modified pages back to the backing file (`FlushViewOfFile`) and waits
    /// until they are written.
    pub fn flush(&self) -> Result<()> {
        self.flush_range(0, self.len)
    }

    /// Flushes `len` bytes from `offset` (0 = to the end of the view).
    pub fn flush_range(&self, offset: usize, len: usize) -> Result<()> {
        let len = if len == 0 { self.len.saturating_sub(offset) } else { len };
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot flush {len} bytes at offset {offset}: the view is {} bytes long", self.len),
            ));
        }
        if matches!(self.kind, ViewKind::Copy | ViewKind::NoAccess) || len == 0 {
            return Ok(()); // private pages have nowhere to go
        }
        // SAFETY: the range lies inside this live view.
        unsafe { sys::flush(self.ptr.as_ptr() as usize + offset, len) }
            .map_err(|e| Error::from_io("cannot flush the view", e.into()))
    }

    /// Gives the view up to a raw address, for code that manages views by address (as
    /// `UnmapViewOfFile` does). Unmap it with [`unmap_raw`] (any address inside it works) or it
    /// stays mapped until the process exits.
    pub fn into_raw(self) -> *mut u8 {
        let view = std::mem::ManuallyDrop::new(self);
        crate::memory::mark_raw(view.ptr.as_ptr() as usize);
        view.ptr.as_ptr()
    }
}

impl Drop for View {
    fn drop(&mut self) {
        crate::memory::unregister_view(self.ptr.as_ptr() as usize);
        // SAFETY: (ptr, len) is this view's own live mapping; `&mut self` proves no borrow of
        // it (atomics, slices) is alive.
        unsafe { sys::unmap(self.ptr, self.len) }.ok();
    }
}

/// Unmaps the raw view ([`View::into_raw`]) that contains `addr` (`UnmapViewOfFile`).
///
/// Fails with `ERROR_INVALID_ADDRESS` if `addr` is not inside such a view.
///
/// # Safety
/// No reference or pointer into the view may be used after this call.
pub unsafe fn unmap_raw(addr: *const u8) -> Result<()> {
    let (base, span) = crate::memory::take_raw_view(addr as usize, false)?;
    let ptr = NonNull::new(base as *mut u8).ok_or_else(|| Error::new(Win32Error::INVALID_ADDRESS, "null view"))?;
    // SAFETY: (base, span) was a live raw view, now removed from the registry, so it is
    // unmapped exactly once; the caller promises no further use.
    unsafe { sys::unmap(ptr, span) }.map_err(|e| Error::from_io("cannot unmap the view", e.into()))
}

/// Unmaps the raw view containing `addr` and leaves a placeholder of the same range in its place
/// (`UnmapViewOfFile2` with `MEM_PRESERVE_PLACEHOLDER`), ready for another view.
///
/// # Safety
/// As for [`unmap_raw`].
pub unsafe fn unmap_raw_preserving_placeholder(addr: *const u8) -> Result<()> {
    crate::memory::take_raw_view(addr as usize, true).map(|_| ())
}

/// A load ordering: `Release`/`AcqRel` (store orderings, which make `load` panic) become
/// `Acquire`, the nearest that is valid for a load.
fn load_order(order: Ordering) -> Ordering {
    match order {
        Ordering::Release | Ordering::AcqRel => Ordering::Acquire,
        other => other,
    }
}

/// Flushes `len` bytes from `addr` (0 = to the end of the view) of the raw view containing it
/// (`FlushViewOfFile`). Fails with `ERROR_INVALID_ADDRESS` if `addr` is not inside a raw view.
pub fn flush_raw(addr: *const u8, len: usize) -> Result<()> {
    let Some((base, mapped, copy)) = crate::memory::find_raw_view(addr as usize) else {
        return Err(Error::new(Win32Error::INVALID_ADDRESS, format!("{addr:p} is not inside a mapped view")));
    };
    let offset = addr as usize - base;
    let len = if len == 0 { mapped - offset } else { len.min(mapped - offset) };
    if copy {
        return Ok(());
    }
    // SAFETY: [addr, addr + len) lies inside a raw view that was live when looked up; msync on
    // a range unmapped meanwhile by another thread fails with ENOMEM and changes nothing.
    unsafe { sys::flush(addr as usize, len) }.map_err(|e| Error::from_io("cannot flush the view", e.into()))
}

/// Two views of one object mapped back to back ([`Mapping::double_view`]): byte `i` and byte
/// `i + len` are the same memory, so a ring buffer can read or write up to `len` bytes from any
/// position without wrapping. Dropping it unmaps both halves.
#[derive(Debug)]
pub struct DoubleView {
    first: View,
    second: View,
}

impl DoubleView {
    /// The address of the first byte of the first half.
    pub fn as_ptr(&self) -> *mut u8 {
        self.first.as_ptr()
    }

    /// The size of the object (each half's length).
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Always false: views are never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn check(&self, offset: usize, len: usize, op: &str) -> Result<()> {
        if offset >= self.len() || len > self.len() {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot {op} {len} bytes at ring offset {offset}: the ring is {} bytes", self.len()),
            ));
        }
        Ok(())
    }

    /// Copies `buf.len()` (at most `len()`) bytes starting at ring position `offset` (< `len()`),
    /// continuing contiguously past the end of the object into its start.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.check(offset, buf.len(), "read")?;
        self.first.check_range(0, 0, "read")?;
        // SAFETY: offset < len and buf.len() <= len, so the range lies inside the two adjacent
        // live views (2 * len bytes from as_ptr), which are readable (checked above).
        unsafe { sys::copy_out(self.as_ptr().add(offset), buf) };
        Ok(())
    }

    /// Copies `data` (at most `len()` bytes) to ring position `offset` (< `len()`), continuing
    /// past the end of the object into its start.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.check(offset, data.len(), "write")?;
        if !self.first.is_writable() {
            return Err(Error::new(Win32Error::ACCESS_DENIED, "cannot write to a read-only view"));
        }
        // SAFETY: as in `read_at`; both halves are writable views of the same object.
        unsafe { sys::copy_in(self.as_ptr().add(offset), data) };
        Ok(())
    }

    /// The two halves.
    pub fn halves(&self) -> (&View, &View) {
        (&self.first, &self.second)
    }
}
