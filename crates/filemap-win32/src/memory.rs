//! The memory API around views: `VirtualAlloc(Ex)`, `VirtualAlloc2`, `VirtualFree(Ex)`,
//! `VirtualProtect(Ex)`, `VirtualLock`/`VirtualUnlock`, `VirtualQuery(Ex)`,
//! `GetLargePageMinimum`, and the placeholder functions `MapViewOfFile3`,
//! `UnmapViewOfFile2`/`UnmapViewOfFileEx`. A thin translation over [`filemap::memory`], where
//! the rules and the registry of views and allocations live. Only the current process can be
//! targeted (`GetCurrentProcess()`); a handle to another process fails with
//! `ERROR_NOT_SUPPORTED`.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::c_void;

use filemap::Win32Error;
use filemap::memory::{self, mem};

use crate::error::{ERROR_NOACCESS, Fail, Res, boundary, fail};
use crate::handles::{self, CURRENT_PROCESS, Object};
use crate::{BOOL, DWORD, FALSE, HANDLE, TRUE};

/// `MEMORY_BASIC_INFORMATION` with the LP64 layout of our `winnt.h`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct MEMORY_BASIC_INFORMATION {
    /// The queried address rounded down to a page.
    pub BaseAddress: usize,
    /// Base of the allocation or view the address belongs to; 0 for free memory.
    pub AllocationBase: usize,
    /// Protection the allocation or view was made with (modifiers included).
    pub AllocationProtect: u32,
    /// Always 0.
    pub PartitionId: u16,
    /// Bytes from `BaseAddress` to the end of the region with the same state and protection.
    pub RegionSize: usize,
    /// `MEM_COMMIT`, `MEM_RESERVE` or `MEM_FREE`.
    pub State: u32,
    /// `PAGE_*` of the region (0 for reserved pages).
    pub Protect: u32,
    /// `MEM_MAPPED`, `MEM_PRIVATE`, or 0 for free memory.
    pub Type: u32,
}

const ERROR_BAD_LENGTH: u32 = 24;

/// Checks that `h` names this process (the pseudo-handle, or a process handle to ourselves).
fn this_process(h: HANDLE) -> Res<()> {
    if h as usize == CURRENT_PROCESS {
        return Ok(());
    }
    let info = handles::get(h)?;
    match info.object {
        Object::Process(p) if p.pid() == std::process::id() as i32 => Ok(()),
        Object::Process(_) => fail(Win32Error::NOT_SUPPORTED),
        _ => fail(Win32Error::INVALID_HANDLE),
    }
}

/// `VirtualAlloc`: reserves, commits (or both) private memory, or commits pages of a view of a
/// `SEC_RESERVE` section (the section's pages, seen by every view). Returns the page-rounded base,
/// or NULL with `ERROR_INVALID_PARAMETER` (bad size, type or protection), `ERROR_INVALID_ADDRESS`
/// (range in use, or not inside one reservation), `ERROR_COMMITMENT_LIMIT` (no memory to commit).
#[unsafe(no_mangle)]
pub extern "system" fn VirtualAlloc(
    lpAddress: *mut c_void,
    dwSize: usize,
    flAllocationType: DWORD,
    flProtect: DWORD,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        Ok(memory::allocate(lpAddress as usize, dwSize, flAllocationType, flProtect, false)? as *mut c_void)
    })
}

/// `VirtualAllocEx`: [`VirtualAlloc`] in the current process (`hProcess` must be it).
#[unsafe(no_mangle)]
pub extern "system" fn VirtualAllocEx(
    hProcess: HANDLE,
    lpAddress: *mut c_void,
    dwSize: usize,
    flAllocationType: DWORD,
    flProtect: DWORD,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        this_process(hProcess)?;
        Ok(memory::allocate(lpAddress as usize, dwSize, flAllocationType, flProtect, false)? as *mut c_void)
    })
}

/// `VirtualAlloc2`: [`VirtualAlloc`] that also takes `MEM_RESERVE_PLACEHOLDER` (reserve a
/// placeholder, `PAGE_NOACCESS`) and `MEM_REPLACE_PLACEHOLDER` (private memory in place of a
/// placeholder). `Process` may be NULL (the current process). Extended parameters are not
/// supported (`ERROR_NOT_SUPPORTED` if any is given).
///
/// # Safety
/// `ExtendedParameters` is not read (only its count is checked).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn VirtualAlloc2(
    Process: HANDLE,
    BaseAddress: *mut c_void,
    Size: usize,
    AllocationType: u32,
    PageProtection: u32,
    ExtendedParameters: *mut c_void,
    ParameterCount: u32,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        if !Process.is_null() {
            this_process(Process)?;
        }
        if ParameterCount != 0 && !ExtendedParameters.is_null() {
            return fail(Win32Error::NOT_SUPPORTED);
        }
        Ok(memory::allocate(BaseAddress as usize, Size, AllocationType, PageProtection, true)? as *mut c_void)
    })
}

/// `VirtualFree`: `MEM_DECOMMIT` (private memory; views fail with `ERROR_INVALID_PARAMETER`) or
/// `MEM_RELEASE` (size 0, the allocation's base), optionally with `MEM_PRESERVE_PLACEHOLDER`
/// (split a placeholder) or `MEM_COALESCE_PLACEHOLDERS` (merge adjacent ones).
#[unsafe(no_mangle)]
pub extern "system" fn VirtualFree(lpAddress: *mut c_void, dwSize: usize, dwFreeType: DWORD) -> BOOL {
    boundary(FALSE, || {
        memory::free(lpAddress as usize, dwSize, dwFreeType)?;
        Ok(TRUE)
    })
}

/// `VirtualFreeEx`: [`VirtualFree`] in the current process.
#[unsafe(no_mangle)]
pub extern "system" fn VirtualFreeEx(
    hProcess: HANDLE,
    lpAddress: *mut c_void,
    dwSize: usize,
    dwFreeType: DWORD,
) -> BOOL {
    boundary(FALSE, || {
        this_process(hProcess)?;
        memory::free(lpAddress as usize, dwSize, dwFreeType)?;
        Ok(TRUE)
    })
}

/// # Safety
/// `old` NULL or writable.
unsafe fn protect(addr: *mut c_void, size: usize, new: u32, old: *mut DWORD) -> Res<BOOL> {
    if old.is_null() {
        return Err(Fail(ERROR_NOACCESS));
    }
    let was = memory::protect(addr as usize, size, new)?;
    // SAFETY: non-NULL (checked); the caller promises it is writable.
    unsafe { old.write(was) };
    Ok(TRUE)
}

/// `VirtualProtect`: changes the protection of committed pages of one allocation or view and
/// stores the first page's old protection in `*lpflOldProtect` (NULL: `ERROR_NOACCESS`).
/// `ERROR_INVALID_ADDRESS` if a page is not committed, `ERROR_INVALID_PARAMETER` for an invalid
/// protection or more access than a view allows.
///
/// # Safety
/// `lpflOldProtect` must be NULL or writable; the caller owns the memory whose access it changes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn VirtualProtect(
    lpAddress: *mut c_void,
    dwSize: usize,
    flNewProtect: DWORD,
    lpflOldProtect: *mut DWORD,
) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(FALSE, || unsafe { protect(lpAddress, dwSize, flNewProtect, lpflOldProtect) })
}

/// `VirtualProtectEx`: [`VirtualProtect`] in the current process.
///
/// # Safety
/// As for [`VirtualProtect`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn VirtualProtectEx(
    hProcess: HANDLE,
    lpAddress: *mut c_void,
    dwSize: usize,
    flNewProtect: DWORD,
    lpflOldProtect: *mut DWORD,
) -> BOOL {
    boundary(FALSE, || {
        this_process(hProcess)?;
        // SAFETY: forwarded caller promise.
        unsafe { protect(lpAddress, dwSize, flNewProtect, lpflOldProtect) }
    })
}

/// `VirtualLock`: locks committed pages in memory (`ERROR_NOACCESS` for reserved or
/// inaccessible pages, `ERROR_WORKING_SET_QUOTA` past `RLIMIT_MEMLOCK`).
#[unsafe(no_mangle)]
pub extern "system" fn VirtualLock(lpAddress: *mut c_void, dwSize: usize) -> BOOL {
    boundary(FALSE, || {
        memory::lock(lpAddress as usize, dwSize)?;
        Ok(TRUE)
    })
}

/// `VirtualUnlock`: unlocks pages locked by [`VirtualLock`] (`ERROR_NOT_LOCKED` otherwise).
#[unsafe(no_mangle)]
pub extern "system" fn VirtualUnlock(lpAddress: *mut c_void, dwSize: usize) -> BOOL {
    boundary(FALSE, || {
        memory::unlock(lpAddress as usize, dwSize)?;
        Ok(TRUE)
    })
}

/// # Safety
/// `buf` writable for `len` bytes.
unsafe fn query(addr: *const c_void, buf: *mut MEMORY_BASIC_INFORMATION, len: usize) -> Res<usize> {
    if len < std::mem::size_of::<MEMORY_BASIC_INFORMATION>() {
        return Err(Fail(ERROR_BAD_LENGTH));
    }
    if buf.is_null() {
        return Err(Fail(ERROR_NOACCESS));
    }
    let r = memory::query(addr as usize)?;
    let info = MEMORY_BASIC_INFORMATION {
        BaseAddress: r.base,
        AllocationBase: r.allocation_base,
        AllocationProtect: r.allocation_protect,
        PartitionId: 0,
        RegionSize: r.size,
        State: r.state.to_win32(),
        Protect: r.protect,
        Type: r.kind.to_win32(),
    };
    // SAFETY: non-NULL and writable for at least the structure (checked; caller's promise).
    unsafe { buf.write(info) };
    Ok(std::mem::size_of::<MEMORY_BASIC_INFORMATION>())
}

/// `VirtualQuery`: the region containing an address, as Windows reports it: views are
/// `MEM_MAPPED` with `AllocationBase` = the view and `AllocationProtect` = the view's
/// protection (with `PAGE_NOCACHE`/`PAGE_WRITECOMBINE` for `SEC_NOCACHE`/`SEC_WRITECOMBINE`
/// sections); pages of `SEC_RESERVE` sections are `MEM_RESERVE` with protection 0 until some
/// view commits them; private allocations are `MEM_PRIVATE`; regions split where state or
/// protection change. Memory this library did not allocate is described from
/// `/proc/self/maps`. Returns 48, or 0 with `ERROR_BAD_LENGTH` (buffer too small) or
/// `ERROR_INVALID_PARAMETER` (above the highest user address).
///
/// # Safety
/// `lpBuffer` must be writable for `dwLength` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn VirtualQuery(
    lpAddress: *const c_void,
    lpBuffer: *mut MEMORY_BASIC_INFORMATION,
    dwLength: usize,
) -> usize {
    // SAFETY: forwarded caller promise.
    boundary(0, || unsafe { query(lpAddress, lpBuffer, dwLength) })
}

/// `VirtualQueryEx`: [`VirtualQuery`] in the current process.
///
/// # Safety
/// As for [`VirtualQuery`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn VirtualQueryEx(
    hProcess: HANDLE,
    lpAddress: *const c_void,
    lpBuffer: *mut MEMORY_BASIC_INFORMATION,
    dwLength: usize,
) -> usize {
    boundary(0, || {
        this_process(hProcess)?;
        // SAFETY: forwarded caller promise.
        unsafe { query(lpAddress, lpBuffer, dwLength) }
    })
}

/// `GetLargePageMinimum`: the huge page size (2 MiB on x86-64), or 0 without huge page support.
#[unsafe(no_mangle)]
pub extern "system" fn GetLargePageMinimum() -> usize {
    memory::large_page_minimum()
}

/// `MapViewOfFile3`: maps a view with a page protection instead of `FILE_MAP_*` access; with
/// `MEM_REPLACE_PLACEHOLDER` the view replaces the placeholder that is exactly
/// `[BaseAddress, BaseAddress + ViewSize)`. Extended parameters are not supported.
///
/// # Safety
/// `ExtendedParameters` is not read (only its count is checked).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn MapViewOfFile3(
    FileMapping: HANDLE,
    Process: HANDLE,
    BaseAddress: *mut c_void,
    Offset: u64,
    ViewSize: usize,
    AllocationType: u32,
    PageProtection: u32,
    ExtendedParameters: *mut c_void,
    ParameterCount: u32,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        if !Process.is_null() {
            this_process(Process)?;
        }
        if ParameterCount != 0 && !ExtendedParameters.is_null() {
            return fail(Win32Error::NOT_SUPPORTED);
        }
        if AllocationType & !(mem::REPLACE_PLACEHOLDER | mem::RESERVE | mem::TOP_DOWN | mem::LARGE_PAGES) != 0 {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        let (base, mods) = memory::check_protection(PageProtection, false)?;
        if mods & !(memory::modifier::NOCACHE | memory::modifier::WRITECOMBINE) != 0 {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        const READ: u32 = 0x4;
        const WRITE: u32 = 0x2;
        const COPY: u32 = 0x1;
        const EXEC: u32 = 0x20;
        let access = match base {
            0x01 => 0,
            0x02 => READ,
            0x04 => WRITE,
            0x08 => COPY,
            0x20 => READ | EXEC,
            0x40 => WRITE | EXEC,
            0x80 => COPY | EXEC,
            _ => return fail(Win32Error::INVALID_PARAMETER),
        };
        let info = handles::get(FileMapping)?;
        let Object::Mapping(mapping) = info.object else {
            return fail(Win32Error::INVALID_HANDLE);
        };
        let mut builder = mapping.view_builder().offset(Offset).len(ViewSize).access(filemap::Access(access));
        if !BaseAddress.is_null() {
            builder = builder.address(BaseAddress as usize);
        }
        if AllocationType & mem::REPLACE_PLACEHOLDER != 0 {
            builder = builder.replace_placeholder();
        }
        Ok(builder.map_raw()?.cast())
    })
}

/// # Safety
/// The view's memory is not used afterwards.
unsafe fn unmap(addr: *const c_void, flags: u32) -> Res<BOOL> {
    const MEM_UNMAP_WITH_TRANSIENT_BOOST: u32 = 0x1;
    if flags & !(mem::PRESERVE_PLACEHOLDER | MEM_UNMAP_WITH_TRANSIENT_BOOST) != 0 {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    if flags & mem::PRESERVE_PLACEHOLDER != 0 {
        // SAFETY: forwarded caller promise.
        unsafe { filemap::unmap_raw_preserving_placeholder(addr.cast()) }?;
    } else {
        // SAFETY: forwarded caller promise.
        unsafe { filemap::unmap_raw(addr.cast()) }?;
    }
    Ok(TRUE)
}

/// `UnmapViewOfFileEx`: `UnmapViewOfFile`, or with `MEM_PRESERVE_PLACEHOLDER` turning the view's
/// range back into a placeholder.
///
/// # Safety
/// Nothing may use the view's memory after it is unmapped.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn UnmapViewOfFileEx(BaseAddress: *mut c_void, UnmapFlags: u32) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(FALSE, || unsafe { unmap(BaseAddress, UnmapFlags) })
}

/// `UnmapViewOfFile2`: [`UnmapViewOfFileEx`] in the current process.
///
/// # Safety
/// As for [`UnmapViewOfFileEx`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn UnmapViewOfFile2(Process: HANDLE, BaseAddress: *mut c_void, UnmapFlags: u32) -> BOOL {
    boundary(FALSE, || {
        this_process(Process)?;
        // SAFETY: forwarded caller promise.
        unsafe { unmap(BaseAddress, UnmapFlags) }
    })
}
