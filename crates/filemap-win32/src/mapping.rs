//! File mappings and views: `CreateFileMapping`, `OpenFileMapping`, `MapViewOfFile(Ex)`,
//! `UnmapViewOfFile`, `FlushViewOfFile`.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::{c_char, c_void};
use std::fs::File;
use std::os::fd::BorrowedFd;

use filemap::{Access, Created, Mapping, Protection, Win32Error};

use crate::error::{Fail, Res, boundary, fail, set_last_error};
use crate::file::{GENERIC_ALL, GENERIC_EXECUTE, GENERIC_READ, GENERIC_WRITE};
use crate::handles::{self, Object};
use crate::strings::{Name, WChar};
use crate::{BOOL, DWORD, FALSE, HANDLE, INVALID_HANDLE_VALUE, SECURITY_ATTRIBUTES, TRUE, inherit_from};

const FILE_READ_DATA: u32 = 0x1;
const FILE_WRITE_DATA: u32 = 0x2;
const FILE_EXECUTE: u32 = 0x20;

/// Checks a file handle's access against the protection asked for its mapping, as Windows
/// does (docs/WIN32-FACTS.md §12): reading is always needed, `*_READWRITE` needs write access,
/// `PAGE_EXECUTE_*` needs execute access.
fn check_file_access(access: u32, protection: Protection) -> Res<()> {
    let read = access & (GENERIC_READ | GENERIC_ALL | FILE_READ_DATA) != 0;
    let write = access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA) != 0;
    let exec = access & (GENERIC_EXECUTE | GENERIC_ALL | FILE_EXECUTE) != 0;
    let needs_write = matches!(protection, Protection::ReadWrite | Protection::ExecuteReadWrite);
    let needs_exec =
        matches!(protection, Protection::ExecuteRead | Protection::ExecuteReadWrite | Protection::ExecuteWriteCopy);
    if !read || (needs_write && !write) || (needs_exec && !exec) {
        return fail(Win32Error::ACCESS_DENIED);
    }
    Ok(())
}

/// # Safety
/// `sa` NULL or valid; `name` NULL or a NUL-terminated string of its kind.
unsafe fn create_file_mapping(
    h_file: HANDLE,
    sa: *const SECURITY_ATTRIBUTES,
    fl_protect: u32,
    size_high: u32,
    size_low: u32,
    name: Name,
) -> Res<HANDLE> {
    // SAFETY: forwarded caller promise.
    let name = unsafe { name.read() }?;
    // SAFETY: forwarded caller promise.
    let inherit = unsafe { inherit_from(sa) };
    let (protection, flags) = Protection::from_win32(fl_protect)?;
    let size = (u64::from(size_high) << 32) | u64::from(size_low);
    let mut options = Mapping::options()
        .name(name.as_deref().unwrap_or(""))
        .size(size)
        .protection(protection)
        .section_flags(flags)
        .inheritable(inherit);
    let file;
    // Windows' kernel treats a NULL file handle as INVALID_HANDLE_VALUE: backed by the paging
    // file (old samples rely on it).
    if h_file != INVALID_HANDLE_VALUE && !h_file.is_null() {
        let info = handles::get(h_file)?;
        let Object::File(_) = info.object else {
            return fail(Win32Error::INVALID_HANDLE);
        };
        check_file_access(info.access, protection)?;
        // SAFETY: `info.fd` is the file handle's open descriptor, borrowed for this dup only.
        let dup = rustix::io::fcntl_dupfd_cloexec(unsafe { BorrowedFd::borrow_raw(info.fd) }, 0)
            .map_err(|_| Fail(Win32Error::INVALID_HANDLE.0))?;
        file = File::from(dup);
        options = options.file(&file);
    }
    let (mapping, created) = options.create()?;
    let h = handles::insert_mapping(mapping)?;
    set_last_error(if created == Created::Existing { Win32Error::ALREADY_EXISTS.0 } else { 0 });
    Ok(h)
}

/// `CreateFileMappingA`: creates (or opens, setting `ERROR_ALREADY_EXISTS`) a file mapping
/// object backed by the paging file (`hFile == INVALID_HANDLE_VALUE`, or NULL as Windows
/// accepts it) or by a file handle from `CreateFile`. Returns NULL on failure. `lpSecurityDescriptor` is ignored: objects are
/// accessible to their owner only (see the crate docs); `bInheritHandle` is honoured.
///
/// # Safety
/// `lpFileMappingAttributes` must be NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateFileMappingA(
    hFile: HANDLE,
    lpFileMappingAttributes: *const SECURITY_ATTRIBUTES,
    flProtect: DWORD,
    dwMaximumSizeHigh: DWORD,
    dwMaximumSizeLow: DWORD,
    lpName: *const c_char,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller promise.
        unsafe {
            create_file_mapping(
                hFile,
                lpFileMappingAttributes,
                flProtect,
                dwMaximumSizeHigh,
                dwMaximumSizeLow,
                Name::A(lpName),
            )
        }
    })
}

/// `CreateFileMappingW`: [`CreateFileMappingA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpFileMappingAttributes` must be NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateFileMappingW(
    hFile: HANDLE,
    lpFileMappingAttributes: *const SECURITY_ATTRIBUTES,
    flProtect: DWORD,
    dwMaximumSizeHigh: DWORD,
    dwMaximumSizeLow: DWORD,
    lpName: *const WChar,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller promise.
        unsafe {
            create_file_mapping(
                hFile,
                lpFileMappingAttributes,
                flProtect,
                dwMaximumSizeHigh,
                dwMaximumSizeLow,
                Name::W(lpName),
            )
        }
    })
}

/// # Safety
/// `name` NULL or NUL-terminated.
unsafe fn open_file_mapping(access: u32, inherit: BOOL, name: Name) -> Res<HANDLE> {
    // SAFETY: forwarded caller promise.
    let Some(name) = (unsafe { name.read() })? else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    if name.is_empty() {
        return fail(Win32Error::INVALID_HANDLE);
    }
    let mapping = Mapping::options().name(&name).access(Access(access)).inheritable(inherit != 0).open()?;
    handles::insert_mapping(mapping)
}

/// `OpenFileMappingA`: opens the existing mapping `lpName` with `dwDesiredAccess`
/// (`FILE_MAP_*`). NULL with `ERROR_FILE_NOT_FOUND` if no live object has the name,
/// `ERROR_INVALID_HANDLE` if another type holds it, `ERROR_ACCESS_DENIED` if its permissions
/// forbid the access, `ERROR_INVALID_PARAMETER` for a NULL name.
///
/// # Safety
/// `lpName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenFileMappingA(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_file_mapping(dwDesiredAccess, bInheritHandle, Name::A(lpName)) })
}

/// `OpenFileMappingW`: [`OpenFileMappingA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenFileMappingW(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpName: *const WChar,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_file_mapping(dwDesiredAccess, bInheritHandle, Name::W(lpName)) })
}

fn map_view(h: HANDLE, access: u32, off_high: u32, off_low: u32, len: usize, address: *mut c_void) -> Res<*mut c_void> {
    let info = handles::get(h)?;
    let Object::Mapping(mapping) = info.object else {
        return fail(Win32Error::INVALID_HANDLE);
    };
    let offset = (u64::from(off_high) << 32) | u64::from(off_low);
    // Views of an inheritable handle are mapped by the core from a private description without
    // a lock, so a view never keeps the name alive after the last CloseHandle.
    let mut builder = mapping.view_builder().offset(offset).len(len).access(Access(access));
    if !address.is_null() {
        builder = builder.address(address as usize);
    }
    Ok(builder.map()?.into_raw().cast())
}

/// `MapViewOfFile`: maps `dwNumberOfBytesToMap` bytes (0 = to the end) from the 64 KiB-aligned
/// offset of a mapping into this process. Returns the view's address (64 KiB-aligned), or NULL
/// with the Windows error (`ERROR_ACCESS_DENIED` when the handle or the object's protection
/// does not allow the access, `ERROR_MAPPED_ALIGNMENT` for a misaligned offset, ...).
#[unsafe(no_mangle)]
pub extern "system" fn MapViewOfFile(
    hFileMappingObject: HANDLE,
    dwDesiredAccess: DWORD,
    dwFileOffsetHigh: DWORD,
    dwFileOffsetLow: DWORD,
    dwNumberOfBytesToMap: usize,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        map_view(
            hFileMappingObject,
            dwDesiredAccess,
            dwFileOffsetHigh,
            dwFileOffsetLow,
            dwNumberOfBytesToMap,
            std::ptr::null_mut(),
        )
    })
}

/// `MapViewOfFileEx`: [`MapViewOfFile`] at a requested address (NULL = anywhere). The
/// address must be 64 KiB-aligned (`ERROR_MAPPED_ALIGNMENT`) and free
/// (`ERROR_INVALID_ADDRESS`); nothing already mapped is ever replaced.
#[unsafe(no_mangle)]
pub extern "system" fn MapViewOfFileEx(
    hFileMappingObject: HANDLE,
    dwDesiredAccess: DWORD,
    dwFileOffsetHigh: DWORD,
    dwFileOffsetLow: DWORD,
    dwNumberOfBytesToMap: usize,
    lpBaseAddress: *mut c_void,
) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        map_view(
            hFileMappingObject,
            dwDesiredAccess,
            dwFileOffsetHigh,
            dwFileOffsetLow,
            dwNumberOfBytesToMap,
            lpBaseAddress,
        )
    })
}

/// `UnmapViewOfFile`: unmaps the view containing `lpBaseAddress` (any address inside it
/// works, as on Windows). `ERROR_INVALID_ADDRESS` if it is not inside a view.
///
/// # Safety
/// Nothing may use the view's memory after it is unmapped.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn UnmapViewOfFile(lpBaseAddress: *const c_void) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: the caller promises not to touch the view afterwards.
        unsafe { filemap::unmap_raw(lpBaseAddress.cast()) }?;
        Ok(TRUE)
    })
}

/// `FlushViewOfFile`: writes the modified pages of `dwNumberOfBytesToFlush` bytes (0 = to the
/// end of the view) from `lpBaseAddress` back to the backing file and waits for it.
/// `ERROR_INVALID_ADDRESS` if the address is not inside a view.
#[unsafe(no_mangle)]
pub extern "system" fn FlushViewOfFile(lpBaseAddress: *const c_void, dwNumberOfBytesToFlush: usize) -> BOOL {
    boundary(FALSE, || {
        filemap::flush_raw(lpBaseAddress.cast(), dwNumberOfBytesToFlush)?;
        Ok(TRUE)
    })
}

/// `MEMORY_BASIC_INFORMATION` with the LP64 layout of our `winnt.h`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct MEMORY_BASIC_INFORMATION {
    /// The queried address rounded down to a page.
    pub BaseAddress: usize,
    /// Start of the mapping the address belongs to (a view's base), 0 for free memory.
    pub AllocationBase: usize,
    /// Protection the mapping was created with (as `Protect` here).
    pub AllocationProtect: u32,
    /// Always 0.
    pub PartitionId: u16,
    /// Bytes from `BaseAddress` to the end of the region with the same attributes.
    pub RegionSize: usize,
    /// `MEM_COMMIT`, `MEM_RESERVE` (inaccessible private reservations) or `MEM_FREE`.
    pub State: u32,
    /// `PAGE_*` of the region.
    pub Protect: u32,
    /// `MEM_MAPPED` (file-backed: views), `MEM_PRIVATE`, or 0 for free memory.
    pub Type: u32,
}

const MEM_COMMIT: u32 = 0x1000;
const MEM_RESERVE: u32 = 0x2000;
const MEM_FREE: u32 = 0x1_0000;
const MEM_PRIVATE: u32 = 0x2_0000;
const MEM_MAPPED: u32 = 0x4_0000;
const ERROR_BAD_LENGTH: u32 = 24;
/// The highest user address `GetSystemInfo` reports.
const MAX_USER_ADDRESS: usize = 0x7FFF_FFFE_FFFF;

/// One line of `/proc/self/maps`: start, end, protection, file-backed.
fn parse_maps_line(line: &str) -> Option<(usize, usize, u32, bool)> {
    let mut parts = line.split_whitespace();
    let range = parts.next()?;
    let perms = parts.next()?.as_bytes();
    let _offset = parts.next()?;
    let _dev = parts.next()?;
    let inode = parts.next()?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
    if perms.len() < 4 {
        return None;
    }
    let (r, w, x, shared) = (perms[0] == b'r', perms[1] == b'w', perms[2] == b'x', perms[3] == b's');
    let file = inode != "0";
    let protect = match (r, w, x) {
        (false, false, false) => 0x01,               // PAGE_NOACCESS
        (_, true, false) if !shared && file => 0x08, // PAGE_WRITECOPY
        (_, true, false) => 0x04,                    // PAGE_READWRITE
        (_, false, false) => 0x02,                   // PAGE_READONLY
        (_, true, true) if !shared && file => 0x80,  // PAGE_EXECUTE_WRITECOPY
        (_, true, true) => 0x40,                     // PAGE_EXECUTE_READWRITE
        (_, false, true) => 0x20,                    // PAGE_EXECUTE_READ
    };
    Some((start, end, protect, file))
}

fn query(addr: usize) -> Res<MEMORY_BASIC_INFORMATION> {
    if addr > MAX_USER_ADDRESS {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    let page = filemap::PAGE_SIZE;
    let base = addr & !(page - 1);
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(Fail::from)?;
    let regions: Vec<_> = maps.lines().filter_map(parse_maps_line).collect();
    if let Some(&(start, end, protect, file)) = regions.iter().find(|r| r.0 <= addr && addr < r.1) {
        let state = if protect == 0x01 && !file { MEM_RESERVE } else { MEM_COMMIT };
        return Ok(MEMORY_BASIC_INFORMATION {
            BaseAddress: base,
            AllocationBase: start,
            AllocationProtect: protect,
            PartitionId: 0,
            RegionSize: end - base,
            State: state,
            Protect: if state == MEM_RESERVE { 0 } else { protect },
            Type: if file { MEM_MAPPED } else { MEM_PRIVATE },
        });
    }
    let next = regions.iter().map(|r| r.0).filter(|&s| s > addr).min().unwrap_or(MAX_USER_ADDRESS + 1);
    Ok(MEMORY_BASIC_INFORMATION {
        BaseAddress: base,
        AllocationBase: 0,
        AllocationProtect: 0,
        PartitionId: 0,
        RegionSize: next - base,
        State: MEM_FREE,
        Protect: 0x01, // PAGE_NOACCESS
        Type: 0,
    })
}

/// `VirtualQuery`: what is mapped at an address, from `/proc/self/maps`. A view reads as
/// `MEM_COMMIT` + `MEM_MAPPED` with its protection (`PAGE_READWRITE`, `PAGE_READONLY`,
/// `PAGE_WRITECOPY` for copy-on-write views) and `AllocationBase` = the view's base; its
/// `RegionSize` is page-rounded, as on Windows. Unmapped memory reads as `MEM_FREE`. Returns
/// the bytes written (48), or 0 with `ERROR_BAD_LENGTH` if `dwLength` is too small or
/// `ERROR_INVALID_PARAMETER` above the highest user address.
///
/// # Safety
/// `lpBuffer` must be writable for `dwLength` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn VirtualQuery(
    lpAddress: *const c_void,
    lpBuffer: *mut MEMORY_BASIC_INFORMATION,
    dwLength: usize,
) -> usize {
    boundary(0, || {
        if dwLength < std::mem::size_of::<MEMORY_BASIC_INFORMATION>() {
            return Err(Fail(ERROR_BAD_LENGTH));
        }
        if lpBuffer.is_null() {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        let info = query(lpAddress as usize)?;
        // SAFETY: non-NULL and writable for at least the structure (checked; caller's promise).
        unsafe { lpBuffer.write(info) };
        Ok(std::mem::size_of::<MEMORY_BASIC_INFORMATION>())
    })
}
