//! [`Mapping`]: a handle to a file mapping object — its identity, access, inheritance,
//! duplication, and the views it makes.

#![allow(unsafe_code)] // raw mappings and descriptors; every block is argued

use super::*;

/// A handle to a file mapping object (`HANDLE` from `CreateFileMapping`/`OpenFileMapping`).
///
/// Dropping it closes the handle: when it is the last handle to the object in any process, the
/// name is released at once (views keep working on the memory they map). `Mapping` is `Send` and
/// `Sync`; clones made by [`Mapping::try_clone`] share this process's hold on the object.
#[derive(Debug)]
pub struct Mapping {
    pub(super) object: Arc<ObjectFile>,
    pub(super) access: Access,
    pub(super) protection: Protection,
    pub(super) backing: Option<Arc<DataFile>>,
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

    pub(super) fn from_object(object: ObjectFile, access: Access, mut backing: Option<DataFile>) -> Result<Mapping> {
        let (protection, _) = Protection::from_win32(object.header().protection)?;
        if let Some(data) = &mut backing {
            data.watch_object(object.fd());
        }
        Ok(Mapping { object: Arc::new(object), access, protection, backing: backing.map(Arc::new) })
    }

    /// Wraps an object opened by name (or found existing at create), opening its backing file.
    pub(super) fn from_object_open(object: ObjectFile, access: Access) -> Result<Mapping> {
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
    pub fn close(mut self) -> Result<()> {
        // In place (nothing holds a `Weak`, so unique means last): the object is not moved out
        // of its allocation first, and dropping it afterwards finds the protocol done.
        match Arc::get_mut(&mut self.object) {
            Some(object) => object.close_in_place(),
            None => Ok(()),
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

    /// `ERROR_ACCESS_DENIED` unless `access` is at most this handle's (a duplicate can only lose
    /// rights).
    fn check_duplicate(&self, access: Access) -> Result<()> {
        if self.access.contains(access) {
            return Ok(());
        }
        Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("cannot duplicate {}: {access:?} exceeds the handle's {:?}", self.object.describe(), self.access),
        ))
    }

    /// Another handle to the same object (`DuplicateHandle`) with `access` (at most this handle's:
    /// asking for more fails with `ERROR_ACCESS_DENIED`) and the given inheritability.
    pub fn duplicate(&self, access: Access, inheritable: bool) -> Result<Mapping> {
        self.check_duplicate(access)?;
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
        self.check_duplicate(access)?;
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
    pub(super) fn with_data_fd<T>(
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
pub(super) fn is_pe_image(file: &File) -> bool {
    let mut magic = [0u8; 2];
    matches!(rustix::io::pread(file, &mut magic, 0), Ok(2)) && &magic == b"MZ"
}
