//! Views: [`ViewBuilder`] (`MapViewOfFile(Ex)`: offset, length, access, placement) and [`View`],
//! the mapped memory with its copies, atomics and flush; and the raw-address helpers the Win32
//! face uses for views it hands out as pointers.

#![allow(unsafe_code)] // raw mappings and descriptors; every block is argued

use super::*;

/// Builder for a view (`MapViewOfFileEx`): offset, length, access and a requested address.
#[derive(Debug, Clone)]
pub struct ViewBuilder<'m> {
    pub(super) mapping: &'m Mapping,
    pub(super) offset: u64,
    pub(super) len: usize,
    pub(super) access: Access,
    pub(super) address: Option<usize>,
    pub(super) replace_placeholder: bool,
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
        self.map_registered(false)
    }

    /// Maps the view and gives it up to a raw address at once: [`ViewBuilder::map`] then
    /// [`View::into_raw`], with one registration instead of two registry updates (what
    /// `MapViewOfFile` does). Unmap it with [`unmap_raw`].
    pub fn map_raw(self) -> Result<*mut u8> {
        let view = std::mem::ManuallyDrop::new(self.map_registered(true)?);
        // Registered raw with its pin (moved into the registry): the rest owns nothing to drop.
        Ok(view.ptr.as_ptr())
    }

    /// Maps the view and registers it; `raw`: as given away with [`View::into_raw`], the pin
    /// moved into the registry.
    fn map_registered(self, raw: bool) -> Result<View> {
        let m = self.mapping;
        let what = || format!("cannot map a view of {}", m.object.describe());
        let kind = view_kind(self.access);
        // FILE_MAP_EXECUTE only upgrades a view that reads, writes or copies.
        let execute = self.access.0 & Access::EXECUTE.0 != 0 && kind != ViewKind::NoAccess;
        let large = m.backing.as_ref().is_some_and(|d| d.is_large())
            || (m.backing.is_some() && m.section_flags().contains(SectionFlags::LARGE_PAGES));
        self.check_alignment(large, &what)?;
        self.check_access(kind, execute, &what)?;
        let len = self.length(&what)?;
        let mut prot = match kind {
            ViewKind::NoAccess => ProtFlags::empty(),
            ViewKind::Read => ProtFlags::READ,
            ViewKind::Write | ViewKind::Copy => ProtFlags::READ | ProtFlags::WRITE,
        };
        if execute {
            prot |= ProtFlags::EXEC;
        }
        let flags = m.section_flags();
        let reserved = m.backing.is_none() && flags.contains(SectionFlags::RESERVE);
        let plan = Plan {
            len,
            // Views of reserved sections start inaccessible; commits open their pages.
            prot: if reserved { ProtFlags::empty() } else { prot },
            sharing: if kind == ViewKind::Copy { Sharing::CopyOnWrite } else { Sharing::Shared },
            placement: self.address.map_or(Placement::Anywhere, Placement::Exactly),
            large,
            reserved,
            execute,
        };
        if self.replace_placeholder && (self.address.is_none() || self.len == 0) {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("{}: replacing a placeholder needs an address and a length", what()),
            ));
        }
        let (ptr, mut pin, section) = m.with_data_fd(|fd, base, pin| self.map_fd(fd, base, pin, &plan, &what))?;
        let modifiers = (if flags.contains(SectionFlags::NOCACHE) { crate::memory::modifier::NOCACHE } else { 0 })
            | (if flags.contains(SectionFlags::WRITECOMBINE) { crate::memory::modifier::WRITECOMBINE } else { 0 });
        crate::memory::register_view(
            ptr.as_ptr() as usize,
            crate::memory::ViewRecord {
                protect: view_protection(kind, execute),
                section_protect: m.protection.to_win32(),
                modifiers,
                copy: kind == ViewKind::Copy,
                len,
                reserved: section,
            },
            raw,
            if raw { pin.take() } else { None },
        );
        Ok(View { ptr, len, offset: self.offset, kind, execute, reserved, _pin: pin })
    }

    /// The offset and the requested address are multiples of the allocation granularity (of the
    /// large-page size, and so is the length, for a large-page section).
    fn check_alignment(&self, large: bool, what: &dyn Fn() -> String) -> Result<()> {
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
        Ok(())
    }

    /// The handle grants what a `kind` view needs, and the object's protection allows it
    /// (`ERROR_ACCESS_DENIED` otherwise).
    fn check_access(&self, kind: ViewKind, execute: bool, what: &dyn Fn() -> String) -> Result<()> {
        let m = self.mapping;
        let denied = |why: String| Err(Error::new(Win32Error::ACCESS_DENIED, format!("{}: {why}", what())));
        let handle_ok = match kind {
            ViewKind::Write => m.access.can_write(),
            ViewKind::Read | ViewKind::Copy | ViewKind::NoAccess => m.access.can_read(),
        } && (!execute || m.access.can_execute());
        if !handle_ok {
            return denied(format!("the handle's access {:?} does not allow a {:?} view", m.access, self.access));
        }
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
        Ok(())
    }

    /// The view's length: 0 means to the end of the object; an explicit length may also cover
    /// the rest of a paging-file section's last page, as Windows allows, but nothing past it.
    fn length(&self, what: &dyn Fn() -> String) -> Result<usize> {
        let m = self.mapping;
        // Paging-file sections extend to the end of their last page, file-backed ones do not.
        let page = sys::PAGE as u64;
        let size = if m.backing.is_some() { m.size() } else { m.size().div_ceil(page) * page };
        let denied = |why: String| Err(Error::new(Win32Error::ACCESS_DENIED, format!("{}: {why}", what())));
        if self.offset >= size {
            return denied(format!("offset {} is at or past the end of the {size}-byte object", self.offset));
        }
        let available = size - self.offset;
        let len = if self.len == 0 { m.size() - self.offset } else { self.len as u64 };
        if len > available {
            return denied(format!(
                "{} bytes from offset {} run past the end of the {size}-byte object",
                len, self.offset
            ));
        }
        usize::try_from(len).map_err(|_| {
            Error::new(Win32Error::NOT_ENOUGH_MEMORY, format!("{}: the view does not fit in memory", what()))
        })
    }

    /// Maps the view from the object's data descriptor `fd` (whose data start at `base`), after
    /// checking the file still covers it; for a reserved section, also a descriptor of its own
    /// for later commits.
    fn map_fd(
        &self,
        fd: rustix::fd::BorrowedFd<'_>,
        base: u64,
        pin: Option<MapPin>,
        plan: &Plan,
        what: &dyn Fn() -> String,
    ) -> Result<(NonNull<u8>, Option<MapPin>, Option<crate::memory::ReservedSection>)> {
        let m = self.mapping;
        let len = plan.len;
        // The file may have been truncated since the handle was opened: map only what it still
        // covers (the object's bytes in the view), or the view would SIGBUS. A view whose page
        // tables are filled as it is mapped is checked by the fill itself (`sys::map_file`),
        // which saves the `fstat`; any other is checked first.
        let end = base + self.offset + (len as u64).min(m.size() - self.offset);
        let (code, file) = if m.backing.is_some() {
            (Win32Error::FILE_INVALID, "its backing file")
        } else {
            (Win32Error::INVALID_DATA, "its object file")
        };
        let fills = plan.populates(m.backing.is_none())
            && !self.replace_placeholder
            && !(plan.large && plan.placement == Placement::Anywhere);
        if !fills {
            crate::backing::ensure_covers(fd, end, code, what, file)?;
        }
        let section = if plan.reserved {
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
                // SAFETY: `replace_placeholder` checked (and holds the registry while we run)
                // that [addr, addr + len) is exactly one placeholder this process reserved,
                // which nobody references.
                unsafe { crate::sys::vm::map_file_over(fd, base + self.offset, addr, len, plan.prot, plan.sharing) }
                    .map_err(|e| Error::from_io(what(), e.into()))
            })?;
            return Ok((ptr, pin, section));
        }
        let mapped = if plan.large && plan.placement == Placement::Anywhere {
            crate::sys::vm::map_huge_file(fd, base + self.offset, len, plan.prot, plan.sharing)
                .map(|ptr| (ptr, sys::Filled::No))
        } else {
            sys::map_file(fd, base + self.offset, len, plan.prot, plan.sharing, plan.placement, fills)
        };
        let (ptr, filled) = mapped.map_err(|e| match e {
            // The fill failed: where the file is too short, say so as the check would have;
            // otherwise a page could not be had (a hole a writer punched in a full tmpfs).
            Errno::FAULT if fills => {
                crate::backing::ensure_covers(fd, end, code, what, file).err().unwrap_or_else(|| {
                    Error::new(
                        code,
                        format!(
                            "{}: a page of the view could not be mapped from {file} (a hole another \
                             process made that the filesystem could not fill?)",
                            what()
                        ),
                    )
                })
            }
            Errno::EXIST => Error::new(
                Win32Error::INVALID_ADDRESS,
                format!("{}: the requested address {:#x} is already in use", what(), self.address.unwrap_or(0)),
            ),
            Errno::NOMEM => {
                Error::new(Win32Error::NOT_ENOUGH_MEMORY, format!("{}: no room in the address space", what()))
            }
            Errno::ACCESS | Errno::PERM if plan.execute => Error::new(
                Win32Error::ACCESS_DENIED,
                format!("{}: the filesystem refuses executable mappings (mounted noexec?)", what()),
            ),
            e => Error::from_io(what(), e.into()),
        })?;
        if fills && filled == sys::Filled::No {
            // The fill could not run: check the file as any other view does.
            if let Err(e) = crate::backing::ensure_covers(fd, end, code, what, file) {
                // SAFETY: the view was mapped just above and nothing references it yet.
                unsafe { sys::unmap(ptr, len) }.ok();
                return Err(e);
            }
        }
        Ok((ptr, pin, section))
    }
}

/// How [`ViewBuilder::map`] maps a view, decided from the builder, the handle and the section.
pub(super) struct Plan {
    pub(super) len: usize,
    pub(super) prot: ProtFlags,
    pub(super) sharing: Sharing,
    pub(super) placement: Placement,
    pub(super) large: bool,
    pub(super) reserved: bool,
    pub(super) execute: bool,
}

/// The largest view whose page tables are filled when it is mapped ([`Plan::populates`]): the
/// allocation granularity, as the kernel's own fault-around window.
pub(super) const POPULATE_MAX: usize = GRANULARITY;

impl Plan {
    /// Whether the view's page tables are filled at once (`MADV_POPULATE_READ` right after the
    /// `mmap`, which also checks that the file covers the view: `sys::map_file`) rather than
    /// page by page on first touch: a small, accessible, shared view of a committed paging-file section
    /// (`paging_file`), whose pages exist already (`SEC_COMMIT` allocated them at create), so
    /// filling costs no memory, only the page-table entries the first touches would make. It
    /// saves the faults' exception entries: 0.3-0.45 µs a map, write, unmap of one page here
    /// (BENCHMARKS.md, round 6). Not for copy-on-write views (filling them for writing would
    /// copy every page), reserved sections (their views start inaccessible), file-backed
    /// sections (it would read the file), large pages, or views over 64 KiB (a big view is
    /// rarely touched whole, and first-touch cost there is the kernel's either way).
    pub(super) fn populates(&self, paging_file: bool) -> bool {
        paging_file
            && self.sharing == Sharing::Shared
            && !self.reserved
            && !self.large
            && !self.prot.is_empty()
            && self.len <= POPULATE_MAX
    }
}

/// The `PAGE_*` protection a view of this kind reports (`AllocationProtect`).
pub(super) fn view_protection(kind: ViewKind, execute: bool) -> u32 {
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

pub(super) fn view_kind(access: Access) -> ViewKind {
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
    pub(super) ptr: NonNull<u8>,
    pub(super) len: usize,
    pub(super) offset: u64,
    pub(super) kind: ViewKind,
    pub(super) execute: bool,
    /// A view of a `SEC_RESERVE` section: pages may be reserved (inaccessible).
    pub(super) reserved: bool,
    /// Set when mapped from the handle's own OFD (see `object::MapPin`); a view given away with
    /// `into_raw` hands it to the view registry, which gives it back to [`unmap_raw`] to drop
    /// once the pages are unmapped.
    pub(super) _pin: Option<MapPin>,
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

    pub(super) fn check_range(&self, offset: usize, len: usize, op: &str) -> Result<()> {
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
        let mut view = std::mem::ManuallyDrop::new(self);
        // The pin goes to the registry with the view (the rest of `View` owns nothing to drop).
        crate::memory::mark_raw(view.ptr.as_ptr() as usize, view._pin.take());
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
    let (base, span, pin) = crate::memory::take_raw_view(addr as usize, false)?;
    let ptr = NonNull::new(base as *mut u8).ok_or_else(|| Error::new(Win32Error::INVALID_ADDRESS, "null view"))?;
    // SAFETY: (base, span) was a live raw view, now removed from the registry, so it is
    // unmapped exactly once; the caller promises no further use.
    let unmapped = unsafe { sys::unmap(ptr, span) }.map_err(|e| Error::from_io("cannot unmap the view", e.into()));
    // Only now: while mapped, the pages kept the handle's OFD (and its lock) alive, and the
    // handle's close protocol must release that lock itself (`object::MapPin`). If the unmap
    // failed the pages may still be mapped: keep the pin for the rest of the process's life.
    match unmapped {
        Ok(()) => drop(pin),
        Err(_) => std::mem::forget(pin),
    }
    unmapped
}

/// Unmaps the raw view containing `addr` and leaves a placeholder of the same range in its place
/// (`UnmapViewOfFile2` with `MEM_PRESERVE_PLACEHOLDER`), ready for another view.
///
/// # Safety
/// As for [`unmap_raw`].
pub unsafe fn unmap_raw_preserving_placeholder(addr: *const u8) -> Result<()> {
    // The pin (dropped on return) outlives the pages: they were replaced by a reservation.
    crate::memory::take_raw_view(addr as usize, true).map(|_| ())
}

/// A load ordering: `Release`/`AcqRel` (store orderings, which make `load` panic) become
/// `Acquire`, the nearest that is valid for a load.
pub(super) fn load_order(order: Ordering) -> Ordering {
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
