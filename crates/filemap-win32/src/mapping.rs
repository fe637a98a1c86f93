//! File mappings and views: `CreateFileMapping`, `OpenFileMapping`, `MapViewOfFile(Ex)`,
//! `UnmapViewOfFile`, `FlushViewOfFile`.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::{c_char, c_void};
use std::fs::File;
use std::os::fd::BorrowedFd;

use filemap::{Access, Created, Mapping, Protection, Win32Error};

use crate::error::{Fail, Res, boundary, fail, set_last_error};
use crate::handles::{self, Object};
use crate::objects::{GENERIC_ALL, GENERIC_EXECUTE, GENERIC_READ, GENERIC_WRITE};
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
    // The core's locks (the fork registry, the namespace cache, the view registry) are held
    // in here: `TerminateThread` must not park the thread inside (`handles::Deferred`).
    let _deferred = crate::handles::Deferred::new();
    // SAFETY: forwarded caller promise (the name stays valid for the whole call).
    let name = unsafe { name.read_borrowed() }?;
    // SAFETY: forwarded caller promise.
    let inherit = unsafe { inherit_from(sa) };
    let (protection, flags) = Protection::from_win32(fl_protect)?;
    let size = (u64::from(size_high) << 32) | u64::from(size_low);
    let mut options = Mapping::options()
        .name(name.unwrap_or_default())
        .size(size)
        .protection(protection)
        .section_flags(flags)
        .inheritable(inherit);
    // SAFETY: forwarded caller promise.
    if let Some(perms) = unsafe { crate::security::permissions_from(sa) }? {
        options = options.permissions(perms);
    }
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
    let h = handles::insert_core_as(handles::Object::Mapping(std::sync::Arc::new(mapping)), inherit)?;
    set_last_error(if created == Created::Existing { Win32Error::ALREADY_EXISTS.0 } else { 0 });
    Ok(h)
}

/// `CreateFileMappingA`: creates (or opens, setting `ERROR_ALREADY_EXISTS`) a file mapping
/// object backed by the paging file (`hFile == INVALID_HANDLE_VALUE`, or NULL as Windows
/// accepts it) or by a file handle from `CreateFile`. Returns NULL on failure.
/// `lpSecurityDescriptor`'s DACL decides who may open a new named object (see
/// [`crate::security`]; none: owner only); `bInheritHandle` is honoured.
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
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promise (the name stays valid for the whole call).
    let Some(name) = (unsafe { name.read_borrowed() })? else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    if name.is_empty() {
        return fail(Win32Error::INVALID_HANDLE);
    }
    let mapping = Mapping::options().name(name).access(Access(access)).inheritable(inherit != 0).open()?;
    handles::insert_core_as(handles::Object::Mapping(std::sync::Arc::new(mapping)), inherit != 0)
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
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
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
    Ok(builder.map_raw()?.cast())
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
