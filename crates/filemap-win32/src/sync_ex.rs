//! The `Create*Ex` forms of the synchronization objects: `CreateEventExA/W`,
//! `CreateMutexExA/W`, `CreateSemaphoreExA/W`, `CreateWaitableTimerExA/W`. They take flags
//! instead of `BOOL` parameters and the access the new handle gets (`dwDesiredAccess`, e.g.
//! `EVENT_MODIFY_STATE | SYNCHRONIZE`); otherwise they are the classic functions of
//! [`crate::sync`] (same names, same errors, `ERROR_ALREADY_EXISTS` for an existing object).
//! Unknown flag bits fail with `ERROR_INVALID_PARAMETER`.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::c_char;

use filemap::Win32Error;

use crate::error::{last_error, set_last_error};
use crate::handle_api::DUPLICATE_CLOSE_SOURCE;
use crate::strings::WChar;
use crate::{FALSE, HANDLE, SECURITY_ATTRIBUTES, inherit_from};

/// `CREATE_EVENT_MANUAL_RESET`.
const CREATE_EVENT_MANUAL_RESET: u32 = 0x1;
/// `CREATE_EVENT_INITIAL_SET`.
const CREATE_EVENT_INITIAL_SET: u32 = 0x2;
/// `CREATE_MUTEX_INITIAL_OWNER`.
const CREATE_MUTEX_INITIAL_OWNER: u32 = 0x1;
/// `CREATE_WAITABLE_TIMER_MANUAL_RESET`.
const CREATE_WAITABLE_TIMER_MANUAL_RESET: u32 = 0x1;
/// `CREATE_WAITABLE_TIMER_HIGH_RESOLUTION` (accepted; every timer here has the clock's
/// resolution).
const CREATE_WAITABLE_TIMER_HIGH_RESOLUTION: u32 = 0x2;

/// Gives a just-created handle `access` (the classic functions grant all access), keeping the
/// creation's last error (`ERROR_ALREADY_EXISTS` or 0).
///
/// # Safety
/// `sa` NULL or valid.
unsafe fn with_access(h: HANDLE, access: u32, sa: *const SECURITY_ATTRIBUTES) -> HANDLE {
    if h.is_null() {
        return h;
    }
    let created = last_error();
    let me = crate::process::GetCurrentProcess();
    let mut out: HANDLE = std::ptr::null_mut();
    // SAFETY: `sa` NULL or valid (caller's promise).
    let inherit = i32::from(unsafe { inherit_from(sa) });
    // SAFETY: `out` is a valid target; the source is the handle just created, which the call
    // closes (DUPLICATE_CLOSE_SOURCE keeps its value).
    if unsafe { crate::handle_api::DuplicateHandle(me, h, me, &mut out, access, inherit, DUPLICATE_CLOSE_SOURCE) } == 0
    {
        let error = last_error();
        crate::handle_api::CloseHandle(h);
        set_last_error(error);
        return std::ptr::null_mut();
    }
    take_if_created(out);
    set_last_error(created);
    out
}

fn bad_flags() -> HANDLE {
    set_last_error(Win32Error::INVALID_PARAMETER.0);
    std::ptr::null_mut()
}

macro_rules! ex_pair {
    ($(#[$doc:meta])* $a:ident, $w:ident, |$sa:ident, $name:ident, $flags:ident| $valid:expr, $call_a:expr, $call_w:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// `lpAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn $a(
            $sa: *const SECURITY_ATTRIBUTES,
            $name: *const c_char,
            $flags: u32,
            dwDesiredAccess: u32,
        ) -> HANDLE {
            if $flags & !$valid != 0 {
                return bad_flags();
            }
            // SAFETY: forwarded caller promises.
            unsafe { with_access($call_a, dwDesiredAccess, $sa) }
        }

        /// The wide form of the `A` function beside it.
        ///
        /// # Safety
        /// `lpAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn $w(
            $sa: *const SECURITY_ATTRIBUTES,
            $name: *const WChar,
            $flags: u32,
            dwDesiredAccess: u32,
        ) -> HANDLE {
            if $flags & !$valid != 0 {
                return bad_flags();
            }
            // SAFETY: forwarded caller promises.
            unsafe { with_access($call_w, dwDesiredAccess, $sa) }
        }
    };
}

ex_pair!(
    /// `CreateEventExA`: `CreateEventA` with `CREATE_EVENT_MANUAL_RESET` and
    /// `CREATE_EVENT_INITIAL_SET` flags and the handle's access.
    CreateEventExA,
    CreateEventExW,
    |sa, name, flags| CREATE_EVENT_MANUAL_RESET | CREATE_EVENT_INITIAL_SET,
    crate::sync::CreateEventA(
        sa,
        i32::from(flags & CREATE_EVENT_MANUAL_RESET != 0),
        i32::from(flags & CREATE_EVENT_INITIAL_SET != 0),
        name
    ),
    crate::sync::CreateEventW(
        sa,
        i32::from(flags & CREATE_EVENT_MANUAL_RESET != 0),
        i32::from(flags & CREATE_EVENT_INITIAL_SET != 0),
        name
    )
);

ex_pair!(
    /// `CreateMutexExA`: `CreateMutexA` with the `CREATE_MUTEX_INITIAL_OWNER` flag and the
    /// handle's access.
    CreateMutexExA,
    CreateMutexExW,
    |sa, name, flags| CREATE_MUTEX_INITIAL_OWNER,
    owned_if_created(crate::sync::CreateMutexA(sa, FALSE, name), flags),
    owned_if_created(crate::sync::CreateMutexW(sa, FALSE, name), flags)
);

/// The mutex is created unowned and handed to [`with_access`] as such (the handle the owner
/// acquired through must stay open while owned); this marks the creation for [`take_if_created`].
fn owned_if_created(h: HANDLE, flags: u32) -> HANDLE {
    let created = !h.is_null() && last_error() == 0;
    PENDING_OWNER.with(|p| p.set(created && flags & CREATE_MUTEX_INITIAL_OWNER != 0));
    h
}

thread_local! {
    /// Set between a `CreateMutexEx` that must make the caller the owner and its access step.
    static PENDING_OWNER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes the caller the owner of a mutex `CreateMutexEx` just created (through the final
/// handle, whatever access it has: the ownership comes with the creation, as on Windows).
fn take_if_created(h: HANDLE) {
    if !PENDING_OWNER.with(|p| p.replace(false)) || h.is_null() {
        return;
    }
    if let Ok(info) = crate::handles::get(h)
        && let crate::handles::Object::Mutex(m) = info.object
    {
        let _ = m.acquire(Some(std::time::Duration::ZERO));
    }
}

ex_pair!(
    /// `CreateWaitableTimerExA`: `CreateWaitableTimerA` with the
    /// `CREATE_WAITABLE_TIMER_MANUAL_RESET` (and `_HIGH_RESOLUTION`) flags and the handle's
    /// access.
    CreateWaitableTimerExA,
    CreateWaitableTimerExW,
    |sa, name, flags| CREATE_WAITABLE_TIMER_MANUAL_RESET | CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
    crate::sync::CreateWaitableTimerA(sa, i32::from(flags & CREATE_WAITABLE_TIMER_MANUAL_RESET != 0), name),
    crate::sync::CreateWaitableTimerW(sa, i32::from(flags & CREATE_WAITABLE_TIMER_MANUAL_RESET != 0), name)
);

/// `CreateSemaphoreExA`: `CreateSemaphoreA` with the handle's access; `dwFlags` is reserved
/// and must be 0 (`ERROR_INVALID_PARAMETER`).
///
/// # Safety
/// `lpSemaphoreAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateSemaphoreExA(
    lpSemaphoreAttributes: *const SECURITY_ATTRIBUTES,
    lInitialCount: i32,
    lMaximumCount: i32,
    lpName: *const c_char,
    dwFlags: u32,
    dwDesiredAccess: u32,
) -> HANDLE {
    if dwFlags != 0 {
        return bad_flags();
    }
    // SAFETY: forwarded caller promises.
    unsafe {
        with_access(
            crate::sync::CreateSemaphoreA(lpSemaphoreAttributes, lInitialCount, lMaximumCount, lpName),
            dwDesiredAccess,
            lpSemaphoreAttributes,
        )
    }
}

/// `CreateSemaphoreExW`: [`CreateSemaphoreExA`] with a wide name.
///
/// # Safety
/// As [`CreateSemaphoreExA`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateSemaphoreExW(
    lpSemaphoreAttributes: *const SECURITY_ATTRIBUTES,
    lInitialCount: i32,
    lMaximumCount: i32,
    lpName: *const WChar,
    dwFlags: u32,
    dwDesiredAccess: u32,
) -> HANDLE {
    if dwFlags != 0 {
        return bad_flags();
    }
    // SAFETY: forwarded caller promises.
    unsafe {
        with_access(
            crate::sync::CreateSemaphoreW(lpSemaphoreAttributes, lInitialCount, lMaximumCount, lpName),
            dwDesiredAccess,
            lpSemaphoreAttributes,
        )
    }
}
