//! [`MappingOptions`]: the builder that creates file mapping objects (`CreateFileMapping`) and
//! opens existing ones (`OpenFileMapping`).

use super::*;

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
    pub(super) name: Option<std::borrow::Cow<'f, str>>,
    pub(super) size: u64,
    pub(super) protection: Protection,
    pub(super) flags: SectionFlags,
    pub(super) mode: u32,
    pub(super) permissions: Option<crate::security::Permissions>,
    pub(super) inheritable: bool,
    pub(super) file: Option<&'f File>,
    pub(super) access: Access,
    pub(super) namespace: Option<Namespace>,
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
    /// The object's name (`Local\x`, `Global\x` or `x`); an empty name means unnamed. A `&str`
    /// is borrowed for as long as the options live and a `String` is taken as it is: neither
    /// is copied.
    pub fn name(mut self, name: impl Into<std::borrow::Cow<'f, str>>) -> Self {
        let name = name.into();
        self.name = (!name.is_empty()).then_some(name);
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
        // (built only for an error message: formatting costs a thousand instructions a create)
        let what = || match &name {
            Some(n) => format!("cannot create mapping \"{n}\""),
            None => "cannot create unnamed mapping".to_owned(),
        };
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
            name: name.as_ref().map(ObjectName::written),
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

impl crate::namespace::Namespace {
    /// A mapping builder that creates and opens in this namespace.
    pub fn mapping<'f>(&self) -> crate::MappingOptions<'f> {
        crate::Mapping::options().namespace(self)
    }

    /// Opens the existing mapping `name` of this namespace ([`crate::Mapping::open`]).
    pub fn open_mapping(&self, name: &str, access: crate::Access) -> Result<crate::Mapping> {
        self.mapping().name(name).access(access).open()
    }
}
