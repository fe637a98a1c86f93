//! Address-space primitives for the memory API (`crate::memory`): reservations, commits,
//! protection, locking and file mappings placed over a reservation we own. Every function that
//! can change memory other code may use is `unsafe` and names what the caller must own.

use std::ptr::NonNull;

use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::mm::{Advice, MapFlags, MprotectFlags, ProtFlags};

use super::{GRANULARITY, PAGE, Sharing};

const fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Reserves `len` bytes of address space (inaccessible, nothing committed) aligned to `align`
/// (a multiple of [`GRANULARITY`]), at exactly `at` if given (failing with `EEXIST` if anything
/// is mapped there). The kernel's layout places new mappings top-down, so `MEM_TOP_DOWN` needs
/// nothing more.
pub fn reserve(len: usize, align: usize, at: Option<usize>) -> Result<usize, Errno> {
    let flags = MapFlags::PRIVATE | MapFlags::NORESERVE;
    if len == 0 || !align.is_multiple_of(GRANULARITY) {
        return Err(Errno::INVAL);
    }
    if let Some(addr) = at {
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping (EEXIST instead), so
        // no memory anyone uses is touched; an anonymous PROT_NONE mapping has no other effect.
        let got = unsafe {
            rustix::mm::mmap_anonymous(addr as *mut _, len, ProtFlags::empty(), flags | MapFlags::FIXED_NOREPLACE)
        }?;
        if got as usize != addr {
            // SAFETY: `got` is the mapping just made, known to nobody else.
            unsafe { rustix::mm::munmap(got, len) }?;
            return Err(Errno::EXIST);
        }
        return Ok(addr);
    }
    let span = len + align - PAGE;
    // SAFETY: a fresh anonymous PROT_NONE mapping at an address the kernel picks; replaces nothing.
    let base = unsafe { rustix::mm::mmap_anonymous(std::ptr::null_mut(), span, ProtFlags::empty(), flags) }? as usize;
    let aligned = round_up(base, align);
    // SAFETY: head and tail are unused ends of the reservation just made, known to nobody else.
    unsafe {
        if aligned > base {
            rustix::mm::munmap(base as *mut _, aligned - base).ok();
        }
        let end = aligned + len;
        if base + span > end {
            rustix::mm::munmap(end as *mut _, base + span - end).ok();
        }
    }
    Ok(aligned)
}

/// Replaces `[addr, addr + len)` with fresh zeroed private memory of protection `prot` (a
/// commit of private pages). The kernel accounts the pages (no `MAP_NORESERVE`), so with strict
/// overcommit a commit the system cannot back fails here with `ENOMEM`.
///
/// # Safety
/// - The range must be page-aligned and lie inside a reservation owned by the caller.
/// - Nothing may hold references into the range (its contents are replaced).
pub unsafe fn commit_private(addr: usize, len: usize, prot: ProtFlags) -> Result<(), Errno> {
    // SAFETY: MAP_FIXED replaces only the caller's own range (premises above).
    unsafe {
        rustix::mm::mmap_anonymous(addr as *mut _, len, prot, MapFlags::PRIVATE | MapFlags::FIXED)?;
    }
    Ok(())
}

/// Commits private huge pages over `[addr, addr + len)` (both multiples of `page`, the huge
/// page size). Fails with `ENOMEM` when the kernel's huge-page pool cannot back them.
///
/// # Safety
/// As for [`commit_private`].
pub unsafe fn commit_private_huge(addr: usize, len: usize, prot: ProtFlags, page: usize) -> Result<(), Errno> {
    let flags = MapFlags::PRIVATE
        | MapFlags::FIXED
        | MapFlags::hugetlb_with_size_log2(page.trailing_zeros()).unwrap_or(MapFlags::HUGETLB);
    // SAFETY: MAP_FIXED replaces only the caller's own range (premises above).
    unsafe {
        rustix::mm::mmap_anonymous(addr as *mut _, len, prot, flags)?;
    }
    Ok(())
}

/// Turns `[addr, addr + len)` back into a bare reservation (frees any pages, drops any file
/// mapping there).
///
/// # Safety
/// - The range must be page-aligned and owned by the caller (a reservation, a private
///   allocation or a view it is giving up).
/// - Nothing may hold references into the range.
pub unsafe fn decommit(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: MAP_FIXED replaces only the caller's own range (premises above).
    unsafe {
        rustix::mm::mmap_anonymous(
            addr as *mut _,
            len,
            ProtFlags::empty(),
            MapFlags::PRIVATE | MapFlags::NORESERVE | MapFlags::FIXED,
        )?;
    }
    Ok(())
}

/// Maps `len` bytes of `fd` from `offset` at exactly `addr`, over a reservation the caller owns
/// (a placeholder being replaced by a view).
///
/// # Safety
/// - `[addr, addr + len)` must be page-aligned and lie inside a reservation owned by the caller,
///   with no references into it.
pub unsafe fn map_file_over(
    fd: BorrowedFd<'_>,
    offset: u64,
    addr: usize,
    len: usize,
    prot: ProtFlags,
    sharing: Sharing,
) -> Result<NonNull<u8>, Errno> {
    let flags = match sharing {
        Sharing::Shared => MapFlags::SHARED,
        Sharing::CopyOnWrite => MapFlags::PRIVATE,
    };
    // SAFETY: MAP_FIXED replaces only the caller's own reservation (premise above); `fd` is
    // valid for the call (borrowed).
    let got = unsafe { rustix::mm::mmap(addr as *mut _, len, prot, flags | MapFlags::FIXED, fd, offset) }?;
    NonNull::new(got.cast()).ok_or(Errno::INVAL)
}

/// Maps `len` bytes of a huge-page file (hugetlbfs) anywhere; the kernel aligns the address to
/// the huge page size.
pub fn map_huge_file(
    fd: BorrowedFd<'_>,
    offset: u64,
    len: usize,
    prot: ProtFlags,
    sharing: Sharing,
) -> Result<NonNull<u8>, Errno> {
    let flags = match sharing {
        Sharing::Shared => MapFlags::SHARED,
        Sharing::CopyOnWrite => MapFlags::PRIVATE,
    };
    // SAFETY: a new mapping at an address the kernel picks; it replaces nothing.
    let got = unsafe { rustix::mm::mmap(std::ptr::null_mut(), len, prot, flags, fd, offset) }?;
    NonNull::new(got.cast()).ok_or(Errno::INVAL)
}

/// Changes the protection of `[addr, addr + len)`.
///
/// # Safety
/// The range must be page-aligned and owned by the caller; no Rust reference into it may rely
/// on access the new protection removes.
pub unsafe fn protect(addr: usize, len: usize, prot: ProtFlags) -> Result<(), Errno> {
    let flags = MprotectFlags::from_bits_retain(prot.bits());
    // SAFETY: the caller owns the range; mprotect changes no contents.
    unsafe { rustix::mm::mprotect(addr as *mut _, len, flags) }
}

/// Tells the kernel the private pages of `[addr, addr + len)` may be discarded (`MEM_RESET`):
/// they read back as their old contents or as zeros.
///
/// # Safety
/// The range must be private anonymous memory owned by the caller, whose contents it no longer
/// needs.
pub unsafe fn reset(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: MADV_FREE on the caller's own private pages; the caller accepts losing contents.
    unsafe { rustix::mm::madvise(addr as *mut _, len, Advice::LinuxFree) }
}

/// Locks `[addr, addr + len)` into RAM (`mlock`).
///
/// # Safety
/// The range must be mapped (locking changes no contents, but faults the pages in).
pub unsafe fn lock(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: mlock changes no contents or mappings.
    unsafe { rustix::mm::mlock(addr as *mut _, len) }
}

/// Unlocks `[addr, addr + len)` (`munlock`).
///
/// # Safety
/// As for [`lock`].
pub unsafe fn unlock(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: munlock changes no contents or mappings.
    unsafe { rustix::mm::munlock(addr as *mut _, len) }
}

/// Releases `[addr, addr + len)` entirely.
///
/// # Safety
/// The range must be owned by the caller, with no references into it.
pub unsafe fn release(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the caller owns the range.
    unsafe { rustix::mm::munmap(addr as *mut _, len) }
}

/// The Linux protection for a Win32 base protection (`PAGE_*` without modifiers).
pub fn linux_prot(base: u32) -> ProtFlags {
    match base {
        0x02 => ProtFlags::READ,
        0x04 | 0x08 => ProtFlags::READ | ProtFlags::WRITE,
        0x10 => ProtFlags::EXEC,
        0x20 => ProtFlags::READ | ProtFlags::EXEC,
        0x40 | 0x80 => ProtFlags::READ | ProtFlags::WRITE | ProtFlags::EXEC,
        _ => ProtFlags::empty(),
    }
}

/// Faults in `len` bytes of `fd` from `offset` through a temporary read-only shared mapping
/// (on tmpfs this makes allocated-but-unwritten pages count as data for `SEEK_DATA`).
pub fn populate_file(fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<(), Errno> {
    // SAFETY: a new read-only mapping at an address the kernel picks; replaces nothing.
    let ptr = unsafe { rustix::mm::mmap(std::ptr::null_mut(), len, ProtFlags::READ, MapFlags::SHARED, fd, offset) }?;
    // SAFETY: `ptr` is the readable mapping just made; POPULATE_READ changes no contents.
    let res = unsafe { rustix::mm::madvise(ptr, len, Advice::LinuxPopulateRead) };
    // SAFETY: our own temporary mapping; nothing else knows it.
    unsafe { rustix::mm::munmap(ptr, len) }.ok();
    res
}
