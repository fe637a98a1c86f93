//! `handleapi.h`: CloseHandle, DuplicateHandle, GetHandleInformation, SetHandleInformation —
//! the exports over the handle table (`handles.rs`).

#![allow(unsafe_code)]

use std::os::fd::BorrowedFd;
use std::sync::Arc;

use filemap::Win32Error;

use crate::error::{Res, boundary, fail};
use crate::handles::*;
use crate::objects::ProcessObject;
use crate::process::{PROCESS_ALL_ACCESS, THREAD_ALL_ACCESS};
use crate::{BOOL, DWORD, FALSE, HANDLE, TRUE};

/// `DUPLICATE_CLOSE_SOURCE`.
pub const DUPLICATE_CLOSE_SOURCE: u32 = 1;
/// `DUPLICATE_SAME_ACCESS`.
pub const DUPLICATE_SAME_ACCESS: u32 = 2;

/// `CloseHandle`: closes a handle. `ERROR_INVALID_HANDLE` for NULL, unknown, already closed or
/// protected (`HANDLE_FLAG_PROTECT_FROM_CLOSE`) handles. Closing a pseudo-handle succeeds and
/// does nothing, as on Windows.
#[unsafe(no_mangle)]
pub extern "system" fn CloseHandle(hObject: HANDLE) -> BOOL {
    boundary(FALSE, || {
        if is_pseudo(hObject) {
            return Ok(TRUE);
        }
        close(hObject)?;
        Ok(TRUE)
    })
}

/// `GetHandleInformation`: the handle's `HANDLE_FLAG_*` flags.
///
/// # Safety
/// `lpdwFlags` must be NULL (fails with `ERROR_INVALID_PARAMETER`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetHandleInformation(hObject: HANDLE, lpdwFlags: *mut DWORD) -> BOOL {
    boundary(FALSE, || {
        let info = get(hObject)?;
        if lpdwFlags.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { lpdwFlags.write(info.flags) };
        Ok(TRUE)
    })
}

/// `SetHandleInformation`: sets the `HANDLE_FLAG_*` bits of `dwMask` to those of `dwFlags`.
/// `HANDLE_FLAG_INHERIT` toggles `FD_CLOEXEC` on the handle's descriptor.
#[unsafe(no_mangle)]
pub extern "system" fn SetHandleInformation(hObject: HANDLE, dwMask: DWORD, dwFlags: DWORD) -> BOOL {
    boundary(FALSE, || {
        set_flags(hObject, dwMask, dwFlags)?;
        Ok(TRUE)
    })
}

/// Whether a process handle refers to this process (pseudo-handle or a real handle to it).
fn is_current_process(h: HANDLE) -> Res<bool> {
    if h as usize == CURRENT_PROCESS {
        return Ok(true);
    }
    match get(h)?.object {
        Object::Process(p) => Ok(p.pid() == std::process::id() as i32),
        _ => fail(Win32Error::INVALID_HANDLE),
    }
}

/// # Safety
/// `target` NULL or writable.
unsafe fn duplicate(
    src_process: HANDLE,
    src: HANDLE,
    dst_process: HANDLE,
    target: *mut HANDLE,
    access: u32,
    inherit: bool,
    options: u32,
) -> Res<()> {
    if !is_current_process(src_process)? || !is_current_process(dst_process)? {
        // SAFETY: forwarded caller promise.
        return unsafe { crate::duplicate::across(src_process, src, dst_process, target, access, inherit, options) };
    }
    let same = options & DUPLICATE_SAME_ACCESS != 0;
    let close_source = options & DUPLICATE_CLOSE_SOURCE != 0;
    if is_pseudo(src) {
        let process = Arc::new(ProcessObject::current()?);
        let (object, full) = if src as usize == CURRENT_PROCESS {
            (Object::Process(process.clone()), PROCESS_ALL_ACCESS)
        } else {
            (Object::Thread(process.clone()), THREAD_ALL_ACCESS)
        };
        let h = insert_dup(object, if same { full } else { access }, inherit, process.pidfd())?;
        if !target.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { target.write(h) };
        }
        return Ok(());
    }
    let info = get(src)?;
    let new_access = if same { info.access } else { access };
    let object = if same { info.object.clone() } else { info.object.with_access(access)? };
    if target.is_null() {
        if close_source {
            close(src)?;
        }
        return Ok(());
    }
    let h = if close_source && info.flags & HANDLE_FLAG_PROTECT_FROM_CLOSE == 0 {
        // The source slot is reused: the same value comes back, as on Windows.
        replace(info.fd, &info.object, object, new_access, inherit)?
    } else if object.core_fd().is_some() {
        insert_entry(duplicate_core(object, inherit, info.shared)?)?
    } else {
        // SAFETY: `info.fd` is the source handle's open slot, borrowed for the dup only.
        insert_dup(object, new_access, inherit, unsafe { BorrowedFd::borrow_raw(info.fd) })?
    };
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { target.write(h) };
    Ok(())
}

/// `DuplicateHandle`: another handle to the same object, in this process or, for mappings and
/// synchronization objects, into or out of another process (see [`crate::duplicate`]: the
/// process handle needs `PROCESS_DUP_HANDLE`, the other process must be of the same user
/// unless we are root, else `ERROR_ACCESS_DENIED`). `DUPLICATE_SAME_ACCESS` keeps the
/// access, otherwise `dwDesiredAccess` is granted (a mapping handle can only lose rights:
/// asking for more fails with `ERROR_ACCESS_DENIED`). `DUPLICATE_CLOSE_SOURCE` closes the source
/// and returns the same value. Duplicating `GetCurrentProcess()` gives a real process handle.
///
/// # Safety
/// `lpTargetHandle` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DuplicateHandle(
    hSourceProcessHandle: HANDLE,
    hSourceHandle: HANDLE,
    hTargetProcessHandle: HANDLE,
    lpTargetHandle: *mut HANDLE,
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    dwOptions: DWORD,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        unsafe {
            duplicate(
                hSourceProcessHandle,
                hSourceHandle,
                hTargetProcessHandle,
                lpTargetHandle,
                dwDesiredAccess,
                bInheritHandle != 0,
                dwOptions,
            )
        }?;
        Ok(TRUE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_values_are_multiples_of_four_that_ignore_their_low_bits() {
        assert_eq!(value_of(0) as usize, 4);
        assert_eq!(value_of(7) as usize, 32);
        for fd in [0, 1, 5, 1000, i32::MAX - 1] {
            let h = value_of(fd) as usize;
            assert_eq!(h % 4, 0);
            for low in 0..4 {
                assert_eq!(fd_of((h | low) as HANDLE), Some(fd));
            }
        }
    }

    #[test]
    fn null_pseudo_and_wild_values_name_no_slot() {
        assert_eq!(fd_of(std::ptr::null_mut()), None);
        assert_eq!(fd_of(3 as HANDLE), None);
        assert_eq!(fd_of(CURRENT_PROCESS as HANDLE), None);
        assert_eq!(fd_of(CURRENT_THREAD as HANDLE), None);
        assert!(is_pseudo(usize::MAX as HANDLE) && is_pseudo((usize::MAX - 1) as HANDLE));
        assert!(get(0xdead_bee0usize as HANDLE).is_err());
    }
}
