//! Synchronization: named (or unnamed) mutexes, semaphores, events and waitable timers, and
//! the wait functions, over the core's [`filemap::sync`] objects (all state machines, waits,
//! abandonment and timers live there; this module only translates handles, strings, access
//! masks and error codes).
//!
//! Alertable waits (`bAlertable`) and timer completion routines are [`crate::apc`]'s: the wait
//! functions hand alertable waits to it. `SetWaitableTimer` with `fResume = TRUE` succeeds and
//! sets `ERROR_NOT_SUPPORTED`, as Windows does on machines that cannot wake from suspend.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::c_char;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use filemap::sync::{
    DueTime, Event, Mutex, Probe, Rights, Semaphore, Timer, WaitOutcome, Waitable, wait_all, wait_any,
};
use filemap::{Created, Win32Error};

use crate::error::{Fail, Res, boundary, fail, set_last_error};
use crate::handles::{self, Object};
use crate::strings::{Name, WChar};
use crate::{BOOL, DWORD, FALSE, HANDLE, SECURITY_ATTRIBUTES, TRUE, inherit_from};
use crate::{INFINITE, MAXIMUM_WAIT_OBJECTS, WAIT_FAILED, WAIT_TIMEOUT};

fn timeout(ms: DWORD) -> Option<Duration> {
    (ms != INFINITE).then(|| Duration::from_millis(ms.into()))
}

fn created_error(created: Created) {
    set_last_error(if created == Created::Existing { Win32Error::ALREADY_EXISTS.0 } else { 0 });
}

/// Reads the name of an `Open*` call: NULL fails with `ERROR_INVALID_PARAMETER`, "" with
/// `ERROR_INVALID_HANDLE` (docs/WIN32-FACTS.md §5).
///
/// # Safety
/// The pointer must be NULL or NUL-terminated.
unsafe fn open_name(name: Name) -> Res<String> {
    // SAFETY: forwarded caller promise.
    match unsafe { name.read() }? {
        None => fail(Win32Error::INVALID_PARAMETER),
        Some(n) if n.is_empty() => fail(Win32Error::INVALID_HANDLE),
        Some(n) => Ok(n),
    }
}

// ---------------------------------------------------------------------------------------------
// Mutex
// ---------------------------------------------------------------------------------------------

/// # Safety
/// `sa` NULL or valid; `name` NULL or NUL-terminated.
unsafe fn create_mutex(sa: *const SECURITY_ATTRIBUTES, owner: BOOL, name: Name) -> Res<HANDLE> {
    // The core's locks (the fork registry, the namespace cache, the view registry) are held
    // in here: `TerminateThread` must not park the thread inside (`handles::Deferred`).
    let _deferred = crate::handles::Deferred::new();
    // SAFETY: forwarded caller promises.
    let (name, inherit, perms) = unsafe { (name.read()?, inherit_from(sa), crate::security::permissions_from(sa)?) };
    let (m, created) = Mutex::options()
        .name(name.unwrap_or_default())
        .initial_owner(owner != 0)
        .inheritable(inherit)
        .permissions_if(perms)
        .create()?;
    let h = handles::insert_core_as(Object::Mutex(Arc::new(m)), inherit)?;
    created_error(created);
    Ok(h)
}

/// `CreateMutexA`: creates (or opens, setting `ERROR_ALREADY_EXISTS`) a mutex;
/// `bInitialOwner` makes the calling thread its owner (only when it is created).
/// `ERROR_INVALID_HANDLE` if another type of object holds the name.
///
/// # Safety
/// `lpMutexAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateMutexA(
    lpMutexAttributes: *const SECURITY_ATTRIBUTES,
    bInitialOwner: BOOL,
    lpName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promises.
    boundary(std::ptr::null_mut(), || unsafe { create_mutex(lpMutexAttributes, bInitialOwner, Name::A(lpName)) })
}

/// `CreateMutexW`: [`CreateMutexA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpMutexAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateMutexW(
    lpMutexAttributes: *const SECURITY_ATTRIBUTES,
    bInitialOwner: BOOL,
    lpName: *const WChar,
) -> HANDLE {
    // SAFETY: forwarded caller promises.
    boundary(std::ptr::null_mut(), || unsafe { create_mutex(lpMutexAttributes, bInitialOwner, Name::W(lpName)) })
}

/// # Safety
/// `name` NULL or NUL-terminated.
unsafe fn open_mutex(access: u32, inherit: BOOL, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promise.
    let name = unsafe { open_name(name) }?;
    let m = Mutex::options().name(name).rights(Rights(access)).inheritable(inherit != 0).open()?;
    handles::insert_core_as(Object::Mutex(Arc::new(m)), inherit != 0)
}

/// `OpenMutexA`: opens an existing mutex with `dwDesiredAccess` (`MUTEX_ALL_ACCESS`,
/// `SYNCHRONIZE`, ...). `ERROR_FILE_NOT_FOUND`, `ERROR_INVALID_HANDLE` (another type),
/// `ERROR_ACCESS_DENIED` (access 0 or a right a mutex does not have).
///
/// # Safety
/// `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenMutexA(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_mutex(dwDesiredAccess, bInheritHandle, Name::A(lpName)) })
}

/// `OpenMutexW`: [`OpenMutexA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenMutexW(dwDesiredAccess: DWORD, bInheritHandle: BOOL, lpName: *const WChar) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_mutex(dwDesiredAccess, bInheritHandle, Name::W(lpName)) })
}

/// `ReleaseMutex`: releases one level of the calling thread's ownership.
/// `ERROR_NOT_OWNER` if the thread does not own it, `ERROR_INVALID_HANDLE` for other objects.
#[unsafe(no_mangle)]
pub extern "system" fn ReleaseMutex(hMutex: HANDLE) -> BOOL {
    boundary(FALSE, || {
        if let Some(pin) = handles::pin()
            && let Some(Object::Mutex(m)) = handles::lookup(hMutex, &pin).map(|e| &e.object)
            && m.try_release_now()
        {
            return Ok(TRUE);
        }
        release_mutex_slow(hMutex)
    })
}

/// [`ReleaseMutex`] past its fast path: adopts an inherited handle, reports errors.
#[cold]
#[inline(never)]
fn release_mutex_slow(h: HANDLE) -> Res<BOOL> {
    handles::with(h, |h| match h.object {
        Object::Mutex(m) => {
            m.release()?;
            Ok(TRUE)
        }
        _ => fail(Win32Error::INVALID_HANDLE),
    })?
}

// ---------------------------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------------------------

/// # Safety
/// `sa` NULL or valid; `name` NULL or NUL-terminated.
unsafe fn create_semaphore(sa: *const SECURITY_ATTRIBUTES, initial: i32, max: i32, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promises.
    let (name, inherit, perms) = unsafe { (name.read()?, inherit_from(sa), crate::security::permissions_from(sa)?) };
    let (s, created) = Semaphore::options()
        .name(name.unwrap_or_default())
        .initial(initial)
        .max(max)
        .inheritable(inherit)
        .permissions_if(perms)
        .create()?;
    let h = handles::insert_core_as(Object::Semaphore(Arc::new(s)), inherit)?;
    created_error(created);
    Ok(h)
}

/// `CreateSemaphoreA`: creates (or opens, setting `ERROR_ALREADY_EXISTS`) a semaphore with
/// count `lInitialCount` and maximum `lMaximumCount` (`ERROR_INVALID_PARAMETER` unless
/// `0 <= initial <= max` and `max > 0`).
///
/// # Safety
/// `lpSemaphoreAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateSemaphoreA(
    lpSemaphoreAttributes: *const SECURITY_ATTRIBUTES,
    lInitialCount: i32,
    lMaximumCount: i32,
    lpName: *const c_char,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller promises.
        unsafe { create_semaphore(lpSemaphoreAttributes, lInitialCount, lMaximumCount, Name::A(lpName)) }
    })
}

/// `CreateSemaphoreW`: [`CreateSemaphoreA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpSemaphoreAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateSemaphoreW(
    lpSemaphoreAttributes: *const SECURITY_ATTRIBUTES,
    lInitialCount: i32,
    lMaximumCount: i32,
    lpName: *const WChar,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller promises.
        unsafe { create_semaphore(lpSemaphoreAttributes, lInitialCount, lMaximumCount, Name::W(lpName)) }
    })
}

/// # Safety
/// `name` NULL or NUL-terminated.
unsafe fn open_semaphore(access: u32, inherit: BOOL, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promise.
    let name = unsafe { open_name(name) }?;
    let s = Semaphore::options().name(name).rights(Rights(access)).inheritable(inherit != 0).open()?;
    handles::insert_core_as(Object::Semaphore(Arc::new(s)), inherit != 0)
}

/// `OpenSemaphoreA`: opens an existing semaphore (errors as [`OpenMutexA`]).
///
/// # Safety
/// `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenSemaphoreA(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_semaphore(dwDesiredAccess, bInheritHandle, Name::A(lpName)) })
}

/// `OpenSemaphoreW`: [`OpenSemaphoreA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenSemaphoreW(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpName: *const WChar,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_semaphore(dwDesiredAccess, bInheritHandle, Name::W(lpName)) })
}

/// `ReleaseSemaphore`: adds `lReleaseCount` to the count; the previous count goes to
/// `*lpPreviousCount` if not NULL. Past the maximum it fails with `ERROR_TOO_MANY_POSTS` and
/// changes nothing (the previous count is not written). Needs `SEMAPHORE_MODIFY_STATE`.
///
/// # Safety
/// `lpPreviousCount` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ReleaseSemaphore(
    hSemaphore: HANDLE,
    lReleaseCount: i32,
    lpPreviousCount: *mut i32,
) -> BOOL {
    boundary(FALSE, || {
        let previous = match release_semaphore_now(hSemaphore, lReleaseCount) {
            Some(previous) => previous,
            None => release_semaphore_slow(hSemaphore, lReleaseCount)?,
        };
        if !lpPreviousCount.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpPreviousCount.write(previous) };
        }
        Ok(TRUE)
    })
}

// ---------------------------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------------------------

/// # Safety
/// `sa` NULL or valid; `name` NULL or NUL-terminated.
unsafe fn create_event(sa: *const SECURITY_ATTRIBUTES, manual: BOOL, initial: BOOL, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promises.
    let (name, inherit, perms) = unsafe { (name.read()?, inherit_from(sa), crate::security::permissions_from(sa)?) };
    let (e, created) = Event::options()
        .name(name.unwrap_or_default())
        .manual_reset(manual != 0)
        .initial_state(initial != 0)
        .inheritable(inherit)
        .permissions_if(perms)
        .create()?;
    let h = handles::insert_core_as(Object::Event(Arc::new(e)), inherit)?;
    created_error(created);
    Ok(h)
}

/// `CreateEventA`: creates (or opens, setting `ERROR_ALREADY_EXISTS`) a manual- or
/// auto-reset event.
///
/// # Safety
/// `lpEventAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateEventA(
    lpEventAttributes: *const SECURITY_ATTRIBUTES,
    bManualReset: BOOL,
    bInitialState: BOOL,
    lpName: *const c_char,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller promises.
        unsafe { create_event(lpEventAttributes, bManualReset, bInitialState, Name::A(lpName)) }
    })
}

/// `CreateEventW`: [`CreateEventA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpEventAttributes` NULL or valid; `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateEventW(
    lpEventAttributes: *const SECURITY_ATTRIBUTES,
    bManualReset: BOOL,
    bInitialState: BOOL,
    lpName: *const WChar,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller promises.
        unsafe { create_event(lpEventAttributes, bManualReset, bInitialState, Name::W(lpName)) }
    })
}

/// # Safety
/// `name` NULL or NUL-terminated.
unsafe fn open_event(access: u32, inherit: BOOL, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promise.
    let name = unsafe { open_name(name) }?;
    let e = Event::options().name(name).rights(Rights(access)).inheritable(inherit != 0).open()?;
    handles::insert_core_as(Object::Event(Arc::new(e)), inherit != 0)
}

/// `OpenEventA`: opens an existing event (errors as [`OpenMutexA`]).
///
/// # Safety
/// `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenEventA(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_event(dwDesiredAccess, bInheritHandle, Name::A(lpName)) })
}

/// `OpenEventW`: [`OpenEventA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenEventW(dwDesiredAccess: DWORD, bInheritHandle: BOOL, lpName: *const WChar) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_event(dwDesiredAccess, bInheritHandle, Name::W(lpName)) })
}

#[inline(never)]
fn with_event(h: HANDLE, op: impl FnOnce(&Event) -> filemap::Result<bool>) -> BOOL {
    boundary(FALSE, || event_op(h, op))
}

/// [`with_event`] inside the boundary (out of line: `SetEvent`'s full path).
#[inline(never)]
fn event_op(h: HANDLE, op: impl FnOnce(&Event) -> filemap::Result<bool>) -> Res<BOOL> {
    handles::with(h, |h| match h.object {
        Object::Event(e) => {
            op(e)?;
            Ok(TRUE)
        }
        _ => fail(Win32Error::INVALID_HANDLE),
    })?
}

/// `SetEvent`: signals the event (a manual-reset event stays signaled; an auto-reset event
/// releases one waiter). Needs `EVENT_MODIFY_STATE`; `ERROR_INVALID_HANDLE` for other objects.
#[unsafe(no_mangle)]
pub extern "system" fn SetEvent(hEvent: HANDLE) -> BOOL {
    boundary(FALSE, || if set_event_now(hEvent) { Ok(TRUE) } else { event_op(hEvent, Event::set) })
}

/// The uncontended `SetEvent`: false if the core's fast path cannot decide (then the full path
/// decides and reports errors; nothing changed).
#[inline(always)]
fn set_event_now(h: HANDLE) -> bool {
    let Some(pin) = handles::pin() else { return false };
    match handles::lookup(h, &pin).map(|e| &e.object) {
        Some(Object::Event(e)) => e.try_set_now().is_some(),
        _ => false,
    }
}

/// `ResetEvent`: makes the event unsignaled.
#[unsafe(no_mangle)]
pub extern "system" fn ResetEvent(hEvent: HANDLE) -> BOOL {
    with_event(hEvent, Event::reset)
}

/// `PulseEvent`: releases the waiters of this moment (all for manual-reset, one for
/// auto-reset) and leaves the event unsignaled.
#[unsafe(no_mangle)]
pub extern "system" fn PulseEvent(hEvent: HANDLE) -> BOOL {
    with_event(hEvent, Event::pulse)
}

// ---------------------------------------------------------------------------------------------
// Waitable timer
// ---------------------------------------------------------------------------------------------

/// # Safety
/// `sa` NULL or valid; `name` NULL or NUL-terminated.
unsafe fn create_timer(sa: *const SECURITY_ATTRIBUTES, manual: BOOL, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promises.
    let (name, inherit, perms) = unsafe { (name.read()?, inherit_from(sa), crate::security::permissions_from(sa)?) };
    let (t, created) = Timer::options()
        .name(name.unwrap_or_default())
        .manual_reset(manual != 0)
        .inheritable(inherit)
        .permissions_if(perms)
        .create()?;
    let h = handles::insert_core_as(Object::Timer(Arc::new(t)), inherit)?;
    created_error(created);
    Ok(h)
}

/// `CreateWaitableTimerA`: creates (or opens, setting `ERROR_ALREADY_EXISTS`) a manual-reset
/// or synchronization timer, inactive.
///
/// # Safety
/// `lpTimerAttributes` NULL or valid; `lpTimerName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateWaitableTimerA(
    lpTimerAttributes: *const SECURITY_ATTRIBUTES,
    bManualReset: BOOL,
    lpTimerName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promises.
    boundary(std::ptr::null_mut(), || unsafe { create_timer(lpTimerAttributes, bManualReset, Name::A(lpTimerName)) })
}

/// `CreateWaitableTimerW`: [`CreateWaitableTimerA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpTimerAttributes` NULL or valid; `lpTimerName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateWaitableTimerW(
    lpTimerAttributes: *const SECURITY_ATTRIBUTES,
    bManualReset: BOOL,
    lpTimerName: *const WChar,
) -> HANDLE {
    // SAFETY: forwarded caller promises.
    boundary(std::ptr::null_mut(), || unsafe { create_timer(lpTimerAttributes, bManualReset, Name::W(lpTimerName)) })
}

/// # Safety
/// `name` NULL or NUL-terminated.
unsafe fn open_timer(access: u32, inherit: BOOL, name: Name) -> Res<HANDLE> {
    let _deferred = crate::handles::Deferred::new(); // see `create_mutex`/`create_file_mapping`
    // SAFETY: forwarded caller promise.
    let name = unsafe { open_name(name) }?;
    let t = Timer::options().name(name).rights(Rights(access)).inheritable(inherit != 0).open()?;
    handles::insert_core_as(Object::Timer(Arc::new(t)), inherit != 0)
}

/// `OpenWaitableTimerA`: opens an existing timer (errors as [`OpenMutexA`]).
///
/// # Safety
/// `lpTimerName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenWaitableTimerA(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpTimerName: *const c_char,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_timer(dwDesiredAccess, bInheritHandle, Name::A(lpTimerName)) })
}

/// `OpenWaitableTimerW`: [`OpenWaitableTimerA`] with a wide (`wchar_t`) name.
///
/// # Safety
/// `lpTimerName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn OpenWaitableTimerW(
    dwDesiredAccess: DWORD,
    bInheritHandle: BOOL,
    lpTimerName: *const WChar,
) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || unsafe { open_timer(dwDesiredAccess, bInheritHandle, Name::W(lpTimerName)) })
}

/// `SetWaitableTimer`: arms the timer: `*lpDueTime` in 100 ns units, negative = relative,
/// positive = absolute UTC `FILETIME`; `lPeriod` in ms (0 = one-shot, negative →
/// `ERROR_INVALID_PARAMETER`). A completion routine runs in the calling thread at each expiry,
/// during its alertable waits ([`crate::apc`]). Needs `TIMER_MODIFY_STATE`.
///
/// # Safety
/// `lpDueTime` must be NULL (`ERROR_NOACCESS`) or point to a readable `LARGE_INTEGER`.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetWaitableTimer(
    hTimer: HANDLE,
    lpDueTime: *const i64,
    lPeriod: i32,
    pfnCompletionRoutine: Option<crate::apc::TimerApcRoutine>,
    lpArgToCompletionRoutine: *const core::ffi::c_void,
    fResume: BOOL,
) -> BOOL {
    boundary(FALSE, || {
        let Object::Timer(t) = handles::get(hTimer)?.object else {
            return fail(Win32Error::INVALID_HANDLE);
        };
        if lpDueTime.is_null() {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        if lPeriod < 0 {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: non-NULL and readable (caller's promise).
        let due = unsafe { lpDueTime.read_unaligned() };
        let period = (lPeriod > 0).then(|| Duration::from_millis(lPeriod as u64));
        t.set(DueTime::from_win32(due), period)?;
        match pfnCompletionRoutine {
            Some(routine) => {
                crate::apc::arm_timer_routine(hTimer, due, lPeriod as u32, routine, lpArgToCompletionRoutine as usize)?
            }
            None => crate::apc::cancel_timer_routine(hTimer),
        }
        if fResume != 0 {
            set_last_error(Win32Error::NOT_SUPPORTED.0);
        }
        Ok(TRUE)
    })
}

/// `CancelWaitableTimer`: stops a pending expiry; a signaled timer stays signaled.
#[unsafe(no_mangle)]
pub extern "system" fn CancelWaitableTimer(hTimer: HANDLE) -> BOOL {
    boundary(FALSE, || match handles::get(hTimer)?.object {
        Object::Timer(t) => {
            t.cancel()?;
            crate::apc::cancel_timer_routine(hTimer);
            Ok(TRUE)
        }
        _ => fail(Win32Error::INVALID_HANDLE),
    })
}

// ---------------------------------------------------------------------------------------------
// Waits
// ---------------------------------------------------------------------------------------------

/// The core waitable behind an object, if it is one.
pub(crate) fn waitable(object: &Object) -> Res<&dyn Waitable> {
    match object {
        Object::Mutex(m) => Ok(&**m),
        Object::Semaphore(s) => Ok(&**s),
        Object::Event(e) => Ok(&**e),
        Object::Timer(t) => Ok(&**t),
        Object::Process(p) | Object::Thread(p) => p.waitable().ok_or(Fail(Win32Error::INVALID_HANDLE.0)),
        Object::UserThread(t) => Ok(t.waitable()),
        // Mappings and files are not waitable objects here (NT: object type mismatch).
        Object::Mapping(_) | Object::File(_) => fail(Win32Error::INVALID_HANDLE),
    }
}

/// Whether a wait could take the object behind `probe` (the handle's cached "looks signaled"
/// probe: one load and a compare, no claim, no system call) now. A mutex this thread owns
/// looks taken to the probe but is taken again (recursion): asked only when the probe fails.
#[inline(always)]
fn looks_available(object: &Object, probe: Probe<'_>) -> bool {
    probe.looks_signaled() || (probe.is_mutex() && matches!(object, Object::Mutex(m) if m.is_owned_by_current_thread()))
}

/// [`ReleaseSemaphore`] past its fast path: adopts an inherited handle, reports errors.
#[cold]
#[inline(never)]
fn release_semaphore_slow(h: HANDLE, n: i32) -> Res<i32> {
    handles::with(h, |h| match h.object {
        Object::Semaphore(s) => Ok(s.release(n)?),
        _ => fail(Win32Error::INVALID_HANDLE),
    })?
}

/// The uncontended `ReleaseSemaphore`: `None` if the core's fast path cannot decide (then the
/// full path decides and reports errors; nothing changed).
#[inline(always)]
fn release_semaphore_now(h: HANDLE, n: i32) -> Option<i32> {
    let pin = handles::pin()?;
    match &handles::lookup(h, &pin)?.object {
        Object::Semaphore(s) => s.try_release_now(n),
        _ => None,
    }
}

/// The uncontended `WaitForSingleObject` on a mutex, semaphore or event: one pin, one lookup,
/// the core's non-blocking try (no lock, no reference count, no system call). `None`: not
/// available now, another kind of object, or anything the full path must decide (it then
/// waits and reports errors; nothing changed).
#[inline(always)]
fn wait_now(h: HANDLE) -> Option<DWORD> {
    let pin = handles::pin()?;
    match &handles::lookup(h, &pin)?.object {
        Object::Mutex(m) => m.try_acquire_now().map(WaitOutcome::to_win32),
        Object::Semaphore(s) => s.try_wait_now().then_some(crate::WAIT_OBJECT_0),
        Object::Event(e) => e.try_wait_now().then_some(crate::WAIT_OBJECT_0),
        _ => None,
    }
}

/// The cheap first pass of a wait-any, under one pin: one pass over the handles (lookup and
/// "looks signaled" probe, a load and a compare each; no claim, no system call), then the
/// core's non-blocking try on the lowest index that looks available. `None` when any handle is
/// not a published mutex, semaphore or event with `SYNCHRONIZE` (the full path then reports
/// errors in Windows' order, waits for timers and processes...), when nothing looks available,
/// or when the try failed (a race, another process's claim, our own mutex at its recursion
/// limit): the full path decides (it waits out claims before it looks further, and reports
/// errors); nothing was consumed.
#[inline(always)]
fn wait_any_now(hs: &[HANDLE]) -> Option<DWORD> {
    let pin = handles::pin()?;
    let table = handles::Lookup::new(&pin);
    let probes = table.first_probes()?;
    // Handles outside the first chunk (descriptors of 4096 and up) read a wrapped slot's probe
    // below; `beyond` collects their values (`Probes::state_of_value`), and any sends the whole
    // call to the full path before anything is acted on.
    let mut beyond = 0;
    // Until the first object that looks signaled: the slot's probe word alone for semaphores
    // and events (a load and an AND, no branch on the kind); the entry for the rest (mask
    // `NO_PROBE`): a mutex (this thread may own it), or a handle the full path must decide.
    let mut from = 0;
    let i = loop {
        // No call in this loop: it stops at a probe that looks signaled, or has none (a slot
        // without a probe looks signaled: `NO_WORD & NO_PROBE`).
        let rest = &hs[from..];
        let mut n = 0;
        let mut mask = 0;
        while n < rest.len() {
            let word;
            (word, mask) = probes.state_of_value(rest[n], &mut beyond);
            if word.load(Ordering::Acquire) & mask != 0 {
                break;
            }
            n += 1;
        }
        if n == rest.len() {
            return None;
        }
        let j = from + n;
        if mask != handles::NO_PROBE || entry_looks_available(&table, hs[j])? {
            break j;
        }
        from = j + 1;
    };
    // The rest only need a probe (a published, waitable handle): errors come first.
    for &h in &hs[i + 1..] {
        if probes.state_of_value(h, &mut beyond).1 == handles::NO_PROBE {
            table.get(h)?.probe()?;
        }
    }
    if beyond >= handles::PAST_FIRST_CHUNK {
        return None;
    }
    let e = table.get(hs[i])?;
    e.probe()?; // the probe found may be the previous object's; this one must be waitable too
    let taken = match &e.object {
        Object::Mutex(m) => m.try_acquire_now(),
        Object::Semaphore(s) => s.try_wait_now().then_some(WaitOutcome::Signaled(0)),
        Object::Event(ev) => ev.try_wait_now().then_some(WaitOutcome::Signaled(0)),
        _ => None,
    };
    match taken? {
        WaitOutcome::Abandoned(_) => Some(WaitOutcome::Abandoned(i).to_win32()),
        _ => Some(WaitOutcome::Signaled(i).to_win32()),
    }
}

/// [`wait_any_now`]'s test of a handle with no probe in its slot: a mutex's probe from its
/// entry (this thread may own it); `None` if the handle has no probe at all (the full path
/// decides). Out of line: it keeps the loop over slots short.
#[inline(never)]
fn entry_looks_available(table: &handles::Lookup<'_>, h: HANDLE) -> Option<bool> {
    let e = table.get(h)?;
    Some(looks_available(&e.object, e.probe()?))
}

/// Waits for one object through a reference (the blocking path).
fn wait_one(object: &Object, ms: DWORD) -> Res<DWORD> {
    let t = timeout(ms);
    Ok(match object {
        Object::Mutex(m) => m.acquire(t)?,
        Object::Semaphore(s) => s.wait(t)?,
        Object::Event(e) => e.wait(t)?,
        Object::Timer(tm) => tm.wait(t)?,
        other => wait_any(&[waitable(other)?], t)?,
    }
    .to_win32())
}

/// [`WaitForSingleObject`] without the boundary.
#[inline(always)]
fn wait_single(h: HANDLE, ms: DWORD) -> Res<DWORD> {
    match wait_now(h) {
        Some(r) => Ok(r),
        None => wait_single_slow(h, ms),
    }
}

/// [`wait_single`] past its fast path: pseudo-handles, adoption, waits that block, errors.
#[cold]
#[inline(never)]
fn wait_single_slow(h: HANDLE, ms: DWORD) -> Res<DWORD> {
    if handles::is_pseudo(h) {
        crate::system::Sleep(ms);
        return Ok(WAIT_TIMEOUT);
    }
    let info = handles::get(h)?;
    wait_one(&info.object, ms)
}

/// `WaitForSingleObject`: waits up to `dwMilliseconds` (`INFINITE` = forever; 0 only tests)
/// for a mutex (acquiring it), semaphore (taking one count), event, timer (auto-reset ones are
/// consumed), process or thread (exited). Returns `WAIT_OBJECT_0`, `WAIT_ABANDONED` (a mutex
/// whose owner died; now ours), `WAIT_TIMEOUT`, or `WAIT_FAILED` with `ERROR_INVALID_HANDLE`
/// (invalid or non-waitable handles such as file mappings) or `ERROR_ACCESS_DENIED` (no
/// `SYNCHRONIZE`). The pseudo-handles of the current process and thread are allowed and time
/// out. Success leaves the last error unchanged.
///
/// An uncontended wait on a mutex, semaphore or event makes no system call and takes no lock:
/// the handle is read under an epoch pin and one non-blocking try takes it; only a wait that must block takes a reference to the object.
#[unsafe(no_mangle)]
pub extern "system" fn WaitForSingleObject(hHandle: HANDLE, dwMilliseconds: DWORD) -> DWORD {
    boundary(WAIT_FAILED, || wait_single(hHandle, dwMilliseconds))
}

/// `WaitForSingleObjectEx`: [`WaitForSingleObject`]; with `bAlertable`, queued APCs also end
/// the wait: they run and it returns `WAIT_IO_COMPLETION` ([`crate::apc`]).
#[unsafe(no_mangle)]
pub extern "system" fn WaitForSingleObjectEx(hHandle: HANDLE, dwMilliseconds: DWORD, bAlertable: BOOL) -> DWORD {
    if bAlertable == 0 {
        return WaitForSingleObject(hHandle, dwMilliseconds);
    }
    boundary(WAIT_FAILED, || {
        if handles::is_pseudo(hHandle) {
            return Ok(match crate::apc::sleep(dwMilliseconds) {
                0 => WAIT_TIMEOUT,
                r => r,
            });
        }
        let info = handles::get(hHandle)?;
        crate::apc::wait(&[waitable(&info.object)?], false, dwMilliseconds)
    })
}

/// The cheap first pass of a wait-all, on borrowed handles: one pass of "looks signaled"
/// probes (a load and a compare each, no claim, no system call), then the core's all-or-nothing
/// try. `None`: the caller must wait with references.
#[inline(always)]
fn wait_all_fast(objects: handles::Many<'_>) -> Res<Option<DWORD>> {
    let n = objects.len();
    let looks = |i: usize| objects.probe(i).is_some_and(|p| looks_available(objects.get(i), p));
    if !(0..n).all(looks) {
        return Ok(None); // timers, processes, errors, or not all signaled: the core's path
    }
    let mut ws: [&dyn Waitable; 64] = [waitable(objects.get(0))?; 64];
    for (w, o) in ws.iter_mut().zip(objects.iter()) {
        *w = waitable(o)?;
    }
    match wait_all(&ws[..n], Some(Duration::ZERO))? {
        WaitOutcome::TimedOut => Ok(None),
        outcome => Ok(Some(outcome.to_win32())),
    }
}

/// # Safety
/// `handles_ptr` must point to `count` handles when `count` is in range.
unsafe fn wait_multiple(count: u32, handles_ptr: *const HANDLE, all: bool, ms: u32, alertable: bool) -> Res<DWORD> {
    if count == 0 || count > MAXIMUM_WAIT_OBJECTS {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    if handles_ptr.is_null() {
        return Err(Fail(crate::error::ERROR_NOACCESS));
    }
    // SAFETY: `count` readable handles (caller's promise).
    let hs = unsafe { std::slice::from_raw_parts(handles_ptr, count as usize) };
    // A wait-any takes the fast path first: it fails (`None`) on anything the checks below
    // would refuse (a pseudo-handle has no table slot), so the order of errors is kept. An
    // alertable wait goes to the APC-aware path as it is (queued APCs end it first).
    if !all
        && !alertable
        && let Some(r) = wait_any_now(hs)
    {
        return Ok(r);
    }
    if hs.iter().any(|&h| handles::is_pseudo(h)) {
        return fail(Win32Error::INVALID_HANDLE);
    }
    if all {
        // The same handle twice (low bits ignored) is refused before any object is touched.
        let mut values = [0usize; 64];
        for (v, &h) in values.iter_mut().zip(hs) {
            *v = h as usize & !3;
        }
        let values = &mut values[..hs.len()];
        values.sort_unstable();
        if values.windows(2).any(|w| w[0] == w[1]) {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        if !alertable && let Some(r) = handles::with_many(hs, wait_all_fast).transpose()?.flatten() {
            return Ok(r);
        }
    }
    let mut objects = Vec::with_capacity(hs.len());
    for &h in hs {
        objects.push(handles::get(h)?.object);
    }
    let waitables = objects.iter().map(waitable).collect::<Res<Vec<_>>>()?;
    if alertable {
        return crate::apc::wait(&waitables, all, ms);
    }
    let outcome = if all { wait_all(&waitables, timeout(ms))? } else { wait_any(&waitables, timeout(ms))? };
    Ok(outcome.to_win32())
}

/// `WaitForMultipleObjects`: waits for any (`bWaitAll = FALSE`: `WAIT_OBJECT_0 + i` of the
/// lowest signaled index, consuming only that object) or all (atomically: nothing is consumed
/// unless everything is) of 1..=64 handles; `WAIT_ABANDONED_0 + i` for an abandoned mutex.
/// `WAIT_FAILED` with `ERROR_INVALID_PARAMETER` for a count of 0 or above 64 (or one object
/// twice in a wait-all), `ERROR_INVALID_HANDLE` for invalid, non-waitable or pseudo-handles.
///
/// # Safety
/// `lpHandles` must point to `nCount` handles.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn WaitForMultipleObjects(
    nCount: DWORD,
    lpHandles: *const HANDLE,
    bWaitAll: BOOL,
    dwMilliseconds: DWORD,
) -> DWORD {
    // SAFETY: forwarded caller promise.
    boundary(WAIT_FAILED, || unsafe { wait_multiple(nCount, lpHandles, bWaitAll != 0, dwMilliseconds, false) })
}

/// `WaitForMultipleObjectsEx`: [`WaitForMultipleObjects`]; with `bAlertable`, queued APCs also
/// end the wait: they run and it returns `WAIT_IO_COMPLETION` ([`crate::apc`]).
///
/// # Safety
/// `lpHandles` must point to `nCount` handles.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn WaitForMultipleObjectsEx(
    nCount: DWORD,
    lpHandles: *const HANDLE,
    bWaitAll: BOOL,
    dwMilliseconds: DWORD,
    bAlertable: BOOL,
) -> DWORD {
    // SAFETY: forwarded caller promise.
    boundary(WAIT_FAILED, || unsafe {
        wait_multiple(nCount, lpHandles, bWaitAll != 0, dwMilliseconds, bAlertable != 0)
    })
}

/// `SignalObjectAndWait`: signals one object (`SetEvent`, `ReleaseMutex` or
/// `ReleaseSemaphore(1)`) then waits for another, as [`WaitForSingleObject`]. The two steps are
/// not one atomic operation here (on Windows they are): a waiter cannot observe the gap except
/// by timing. A full semaphore or an object that cannot be signaled fails with `WAIT_FAILED`.
#[unsafe(no_mangle)]
pub extern "system" fn SignalObjectAndWait(
    hObjectToSignal: HANDLE,
    hObjectToWaitOn: HANDLE,
    dwMilliseconds: DWORD,
    bAlertable: BOOL,
) -> DWORD {
    boundary(WAIT_FAILED, || {
        handles::with(hObjectToSignal, |h| match h.object {
            Object::Event(e) => e.set().map(drop).map_err(Fail::from),
            Object::Mutex(m) => m.release().map_err(Fail::from),
            Object::Semaphore(s) => s.release(1).map(drop).map_err(Fail::from),
            _ => fail(Win32Error::INVALID_HANDLE),
        })??;
        if bAlertable != 0 {
            let info = handles::get(hObjectToWaitOn)?;
            return crate::apc::wait(&[waitable(&info.object)?], false, dwMilliseconds);
        }
        wait_single(hObjectToWaitOn, dwMilliseconds)
    })
}
