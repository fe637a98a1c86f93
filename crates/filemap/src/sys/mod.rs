//! The only place that maps and unmaps memory. Every `unsafe` block in the crate's memory
//! management lives here, small and argued.
//!
//! Views are placed at addresses aligned to the Win32 allocation granularity (64 KiB). Doing that
//! by reserving `len + 64 KiB` and trimming costs two extra `munmap`s per view, so we first try
//! `MAP_FIXED_NOREPLACE` at a remembered address that is likely free (where the last view ended,
//! or where the last unmapped view was); the kernel refuses it if anything is there, and only
//! then do we fall back to reserve-and-trim. Nothing already mapped is ever replaced.

#![allow(unsafe_code)]

pub mod futex;
pub mod lock;
pub mod tls;
pub mod users;
pub mod vm;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::mm::{Advice, MapFlags, MsyncFlags, ProtFlags};

/// The Win32 allocation granularity: views start at multiples of it.
pub const GRANULARITY: usize = 64 * 1024;

/// The page size this crate is built for (4 KiB). [`map_file`] checks the running system's
/// page size against it and refuses to map (`EOPNOTSUPP`) on a kernel with another one (some
/// arm64 and ppc64 kernels use 16 or 64 KiB pages).
pub const PAGE: usize = 4096;

/// Where a view should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Any free address aligned to [`GRANULARITY`].
    Anywhere,
    /// Exactly this address (already checked to be aligned); fails with `EEXIST` if taken.
    Exactly(usize),
}

/// How the pages are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Writes are seen by every view of the object (`MAP_SHARED`).
    Shared,
    /// Writes stay private to this view (copy-on-write, `MAP_PRIVATE`).
    CopyOnWrite,
}

/// Where the next view is likely to fit; 0 means "no idea yet".
static HINT: AtomicUsize = AtomicUsize::new(0);

const fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Maps `len` bytes of `fd` from `offset` (a multiple of [`PAGE`]) at a granularity-aligned
/// address, and returns that address with what filling its page tables found ([`Filled`]).
/// `populate`: fill them now, through `MADV_POPULATE_READ`, which also proves the file covers
/// every page of the view: where the file ends first, the fill fails with `EFAULT` (an access
/// there would raise `SIGBUS`), the view is unmapped again and the call fails with `EFAULT`.
/// A read fill is what `MAP_POPULATE` does for a shared mapping too: on tmpfs it maps the pages
/// writable already (no write notification there), without dirtying them or touching the file's
/// times as a write fill does (measured: a write fill made the open cycle 2-3% slower).
pub fn map_file(
    fd: BorrowedFd<'_>,
    offset: u64,
    len: usize,
    prot: ProtFlags,
    sharing: Sharing,
    placement: Placement,
    populate: bool,
) -> Result<(NonNull<u8>, Filled), Errno> {
    let flags = match sharing {
        Sharing::Shared => MapFlags::SHARED,
        Sharing::CopyOnWrite => MapFlags::PRIVATE,
    };
    if len == 0 {
        return Err(Errno::INVAL);
    }
    // Asked once: with the libc backend each `page_size` call is a `sysconf` call.
    static PAGE_MATCHES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*PAGE_MATCHES.get_or_init(|| rustix::param::page_size() == PAGE) {
        return Err(Errno::NOTSUP);
    }
    let ptr = match placement {
        Placement::Exactly(addr) => map_noreplace(fd, offset, len, prot, flags, addr)?,
        Placement::Anywhere => {
            let hint = HINT.load(Ordering::Relaxed);
            let hinted = if hint != 0 { map_noreplace(fd, offset, len, prot, flags, hint).ok() } else { None };
            let ptr = match hinted {
                Some(ptr) => ptr,
                None => map_reserve_and_trim(fd, offset, len, prot, flags)?,
            };
            HINT.store(ptr.as_ptr() as usize + round_up(len, GRANULARITY), Ordering::Relaxed);
            ptr
        }
    };
    if !populate {
        return Ok((ptr, Filled::No));
    }
    fill(ptr, len)
}

/// Fills the page tables of the view [`map_file`] just made (`MADV_POPULATE_READ`).
fn fill(ptr: NonNull<u8>, len: usize) -> Result<(NonNull<u8>, Filled), Errno> {
    // SAFETY: [ptr, ptr + len) is the accessible mapping just made, known to nobody else yet;
    // filling its page tables reads, and changes no memory.
    match unsafe { rustix::mm::madvise(ptr.as_ptr().cast(), len, Advice::LinuxPopulateRead) } {
        Ok(()) => Ok((ptr, Filled::Covered)),
        Err(Errno::FAULT) => {
            // SAFETY: our own mapping from above; nothing references it.
            unsafe { unmap(ptr, len) }.ok();
            Err(Errno::FAULT)
        }
        // Kernels before 5.14 do not know the advice (EINVAL); memory pressure or a signal may
        // stop the fill (ENOMEM, EINTR). The view stands, unfilled: the caller checks the file.
        Err(_) => Ok((ptr, Filled::No)),
    }
}

/// What [`map_file`] learnt from filling a view's page tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// Not filled (not asked for, or the fill could not run): nothing is known of the file.
    No,
    /// Every page is mapped: the file covered the whole view when it was mapped.
    Covered,
}

fn map_noreplace(
    fd: BorrowedFd<'_>,
    offset: u64,
    len: usize,
    prot: ProtFlags,
    flags: MapFlags,
    addr: usize,
) -> Result<NonNull<u8>, Errno> {
    // SAFETY:
    // - MAP_FIXED_NOREPLACE never replaces an existing mapping: the kernel fails with EEXIST if
    //   any page of [addr, addr + len) is mapped, so no memory another part of the program uses
    //   is touched.
    // - `fd` is a valid open file for the duration of the call (it is borrowed).
    let got = unsafe { rustix::mm::mmap(addr as *mut _, len, prot, flags | MapFlags::FIXED_NOREPLACE, fd, offset) }?;
    if got as usize != addr {
        // A kernel that predates MAP_FIXED_NOREPLACE treats the address as a hint only.
        // SAFETY: `got` is the mapping the call above just created, of `len` bytes, and nothing
        // else knows about it yet.
        unsafe { rustix::mm::munmap(got, len) }?;
        return Err(Errno::EXIST);
    }
    NonNull::new(got.cast()).ok_or(Errno::INVAL)
}

fn map_reserve_and_trim(
    fd: BorrowedFd<'_>,
    offset: u64,
    len: usize,
    prot: ProtFlags,
    flags: MapFlags,
) -> Result<NonNull<u8>, Errno> {
    let span = round_up(len, PAGE);
    let reserve = span + GRANULARITY - PAGE;
    // SAFETY: a fresh anonymous PROT_NONE reservation at an address the kernel picks; it
    // replaces nothing.
    let base = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            reserve,
            ProtFlags::empty(),
            MapFlags::PRIVATE | MapFlags::NORESERVE,
        )
    }? as usize;
    let aligned = round_up(base, GRANULARITY);
    // SAFETY:
    // - [aligned, aligned + span) lies inside the reservation made above, which belongs to this
    //   function alone (its address has not been given to anyone), so MAP_FIXED replaces only
    //   our own PROT_NONE pages.
    // - `fd` is a valid open file for the duration of the call.
    let mapped = unsafe { rustix::mm::mmap(aligned as *mut _, len, prot, flags | MapFlags::FIXED, fd, offset) };
    let head = aligned - base;
    let tail = base + reserve - (aligned + span);
    if let Err(e) = mapped {
        // SAFETY: the whole reservation is ours and unused.
        unsafe { rustix::mm::munmap(base as *mut _, reserve) }.ok();
        return Err(e);
    }
    // SAFETY: head and tail are the unused ends of our own reservation.
    unsafe {
        if head > 0 {
            rustix::mm::munmap(base as *mut _, head).ok();
        }
        if tail > 0 {
            rustix::mm::munmap((aligned + span) as *mut _, tail).ok();
        }
    }
    NonNull::new(aligned as *mut u8).ok_or(Errno::INVAL)
}

/// Unmaps a view made by [`map_file`] and remembers its address for the next view.
///
/// # Safety
/// - `addr` and `len` must be exactly a mapping returned by [`map_file`] that has not been
///   unmapped yet.
/// - No reference into that memory may outlive this call.
pub unsafe fn unmap(addr: NonNull<u8>, len: usize) -> Result<(), Errno> {
    // SAFETY: the caller guarantees (addr, len) is one live mapping of ours with no references.
    unsafe { rustix::mm::munmap(addr.as_ptr().cast(), len) }?;
    HINT.store(addr.as_ptr() as usize, Ordering::Relaxed);
    Ok(())
}

/// Writes dirty pages of `[addr, addr + len)` back to their file and waits for it.
///
/// # Safety
/// `[addr, addr + len)` must lie inside one live mapping made by [`map_file`].
pub unsafe fn flush(addr: usize, len: usize) -> Result<(), Errno> {
    let start = addr & !(PAGE - 1);
    let len = len + (addr - start);
    // SAFETY: msync only writes back pages of the caller's live mapping; it changes no memory.
    unsafe { rustix::mm::msync(start as *mut _, len, MsyncFlags::SYNC) }
}

/// Maps the object's header page (offset 0, one page) shared, read-write, anywhere.
pub fn map_page(fd: BorrowedFd<'_>, writable: bool) -> Result<NonNull<u8>, Errno> {
    let prot = if writable { ProtFlags::READ | ProtFlags::WRITE } else { ProtFlags::READ };
    // SAFETY: a new shared mapping at an address the kernel picks; it replaces nothing.
    let ptr = unsafe { rustix::mm::mmap(std::ptr::null_mut(), PAGE, prot, MapFlags::SHARED, fd, 0) }?;
    NonNull::new(ptr.cast()).ok_or(Errno::INVAL)
}

/// Maps the object's header page shared and read-write, followed at once by one page of
/// private anonymous memory (the "tail"): the mutex robust-list nodes live in the tail, at a
/// fixed distance after the futex word at the end of the shared page, so the kernel finds the
/// word from a node kept in private memory. Unmap with [`unmap_pages`]`(addr, 2)`.
pub fn map_page_with_tail(fd: BorrowedFd<'_>) -> Result<NonNull<u8>, Errno> {
    let rw = ProtFlags::READ | ProtFlags::WRITE;
    // SAFETY: a new private anonymous mapping of two pages at an address the kernel picks.
    let base = unsafe { rustix::mm::mmap_anonymous(std::ptr::null_mut(), 2 * PAGE, rw, MapFlags::PRIVATE) }?;
    // SAFETY: MAP_FIXED over the first page of the reservation made just above, which nothing
    // else knows of: it replaces only our own fresh anonymous page.
    let shared = unsafe { rustix::mm::mmap(base, PAGE, rw, MapFlags::SHARED | MapFlags::FIXED, fd, 0) };
    match shared {
        Ok(p) if p == base => NonNull::new(base.cast()).ok_or(Errno::INVAL),
        Ok(_) | Err(_) => {
            // SAFETY: the two pages are ours (reserved above) and nothing refers to them.
            unsafe { rustix::mm::munmap(base, 2 * PAGE) }.ok();
            Err(shared.err().unwrap_or(Errno::INVAL))
        }
    }
}

/// Unmaps `n` pages starting at `addr`.
///
/// # Safety
/// `addr .. addr + n` pages must be one live mapping of ours (e.g. from
/// [`map_page_with_tail`] with `n` = 2) with no reference into it left.
pub unsafe fn unmap_pages(addr: NonNull<u8>, n: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { rustix::mm::munmap(addr.as_ptr().cast(), n * PAGE) }.ok();
}

/// Unmaps a page made by [`map_page`].
///
/// # Safety
/// `addr` must come from [`map_page`], not yet unmapped, with no reference into it left.
pub unsafe fn unmap_page(addr: NonNull<u8>) {
    // SAFETY: guaranteed by the caller.
    unsafe { rustix::mm::munmap(addr.as_ptr().cast(), PAGE) }.ok();
}

/// Copies `dst.len()` bytes out of mapped memory, as a sequence of relaxed byte-wise atomic
/// loads (see [`bytewise_atomic_copy`]).
///
/// # Safety
/// `src .. src + dst.len()` must be readable mapped memory for the whole call. Other processes
/// and threads may write it meanwhile; the copy then holds, byte by byte, either the old or
/// the new value of each byte (a torn mix across bytes, never a byte nobody wrote).
pub unsafe fn copy_out(src: *const u8, dst: &mut [u8]) {
    // SAFETY: the caller guarantees the source range is readable; `dst` is a distinct exclusive
    // buffer of exactly that length, so the ranges cannot overlap.
    unsafe { bytewise_atomic_copy(dst.as_mut_ptr(), src, dst.len()) }
}

/// Copies `src` into mapped memory, as a sequence of relaxed byte-wise atomic stores (see
/// [`bytewise_atomic_copy`]).
///
/// # Safety
/// `dst .. dst + src.len()` must be writable mapped memory for the whole call. Concurrent
/// copies into the same bytes (other processes or threads) leave each byte with one of the
/// values written (see [`copy_out`]).
pub unsafe fn copy_in(dst: *mut u8, src: &[u8]) {
    // SAFETY: the caller guarantees the destination range is writable; `src` is a Rust slice and
    // cannot overlap memory we only reach through raw pointers into a mapping.
    unsafe { bytewise_atomic_copy(dst, src.as_ptr(), src.len()) }
}

/// Copies `len` bytes from `src` to `dst` so that every byte is moved by one relaxed atomic
/// byte load and one relaxed atomic byte store, in no particular order: the "byte-wise atomic
/// memcpy" of C++ proposal P1478. A copy that races with writes of other threads or processes
/// is therefore not a data race in Rust's memory model (every racing access is atomic), and
/// what it may observe is exactly what the doc of [`copy_out`] says.
///
/// On x86-64 this is one `rep movsb` (byte moves by definition, as fast as `memcpy` on CPUs
/// with ERMS/FSRM; glibc's own `memcpy` uses it for large sizes): the asm block is opaque to the
/// compiler, so it cannot assume anything about the shared bytes either. Elsewhere it is a loop
/// of `AtomicU8` accesses.
///
/// # Safety
/// `src .. src + len` must be readable and `dst .. dst + len` writable for the whole call, and
/// the two ranges must not overlap.
#[inline]
unsafe fn bytewise_atomic_copy(dst: *mut u8, src: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY:
    // - `rep movsb` reads `len` bytes at `src` and writes `len` bytes at `dst`, ascending (the
    //   direction flag is clear on entry to an asm block), both ranges valid by the caller's
    //   contract and disjoint;
    // - it touches no stack and no flags, and clobbers only rcx/rsi/rdi, declared here.
    unsafe {
        std::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..len {
        use std::sync::atomic::AtomicU8;
        // SAFETY: byte `i` of both ranges is valid (caller's contract); an `AtomicU8` has the
        // size and alignment of a `u8`, and every access to these bytes from here is atomic.
        unsafe {
            let byte = AtomicU8::from_ptr(src.add(i).cast_mut()).load(Ordering::Relaxed);
            AtomicU8::from_ptr(dst.add(i)).store(byte, Ordering::Relaxed);
        }
    }
}
