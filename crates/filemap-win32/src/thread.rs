//! Threads: `CreateThread`, `ResumeThread`, `GetExitCodeThread`, waitable thread handles.
//!
//! A thread handle is signaled when the thread's start routine returns; it is backed by an
//! unnamed manual-reset event of the core (set on exit), so thread handles take part in
//! `WaitForSingleObject`/`WaitForMultipleObjects` with every other object.
//!
//! `ExitThread` and `TerminateThread` end a thread *for the program*: its exit code is set and
//! its handle signaled at once, and it never runs another instruction of the program. The OS
//! thread is not unwound (unwinding C frames from Rust, or Rust frames from a signal, is not
//! sound): it stays parked, its stack kept, until the process ends; Windows frees the stack of
//! a thread that called `ExitThread` (not of one killed by `TerminateThread`). `TerminateThread`
//! parks the target with the real-time signal `SIGRTMAX - 3` (a program that uses that signal
//! for itself must not call `TerminateThread`). As on Windows, a terminated thread releases
//! nothing it held (locks, a mutex it owns stays owned, not abandoned). A thread inside a change
//! of the handle table or a `CloseHandle` stops when that ends (`handles::Deferred`): the table
//! is the kernel's on Windows and never left locked. `ExitThread` on the
//! main thread waits for the program's other `CreateThread` threads to end, then exits the
//! process with the code (Windows ends the process when its last thread ends).

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex};

use filemap::Win32Error;
use filemap::sync::Event;

use crate::error::{Fail, Res, boundary, fail};
use crate::handles::{self, Object};
use crate::objects::*;
use crate::process::{STILL_ACTIVE, THREAD_ALL_ACCESS};
use crate::{BOOL, DWORD, FALSE, HANDLE, SECURITY_ATTRIBUTES, TRUE, inherit_from};

const CREATE_SUSPENDED: u32 = 0x4;

/// `LPTHREAD_START_ROUTINE`.
pub type ThreadStart = unsafe extern "system" fn(*mut c_void) -> DWORD;

thread_local! {
    /// The `CreateThread` thread this is, if it is one.
    static CURRENT: RefCell<Option<Arc<ThreadObject>>> = const { RefCell::new(None) };
}

/// `CreateThread` threads that have not ended (for `ExitThread` on the main thread).
static LIVE: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Records a thread's end: its exit code (the first one set wins) and its signaled handle.
fn finish(me: &ThreadObject, code: u32) -> bool {
    let mut exit = me.exit.lock().unwrap_or_else(|e| e.into_inner());
    if exit.is_some() {
        return false;
    }
    *exit = Some(code);
    drop(exit);
    let _ = me.done.set();
    crate::apc_queue::forget(me.tid);
    let mut live = LIVE.0.lock().unwrap_or_else(|e| e.into_inner());
    *live = live.saturating_sub(1);
    LIVE.1.notify_all();
    true
}

/// Never returns and never runs program code again: the thread waits for signals forever
/// (handlers still run, as for any parked thread).
fn park_forever() -> ! {
    loop {
        // SAFETY: pause only suspends the calling thread.
        unsafe { libc::pause() };
    }
}

struct SendPtr(*mut c_void);
// SAFETY: the parameter is handed to the new thread as Win32 does; what it points to is the
// program's business, exactly as with CreateThread on Windows.
unsafe impl Send for SendPtr {}

fn create_thread(
    sa: *const SECURITY_ATTRIBUTES,
    stack: usize,
    start: Option<ThreadStart>,
    param: *mut c_void,
    flags: u32,
) -> Res<(HANDLE, u32)> {
    let Some(start) = start else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    // SAFETY: NULL or valid (the export's caller promise).
    let inherit = unsafe { inherit_from(sa) };
    let (done, _) = Event::options().manual_reset(true).create()?;
    let (tid_tx, tid_rx) = std::sync::mpsc::channel::<u32>();
    let (obj_tx, obj_rx) = std::sync::mpsc::channel::<Arc<ThreadObject>>();
    let param = SendPtr(param);
    let mut builder = std::thread::Builder::new();
    if stack > 0 {
        builder = builder.stack_size(stack.max(64 * 1024));
    }
    builder
        .spawn(move || {
            let param = param;
            let _ = tid_tx.send(rustix::thread::gettid().as_raw_nonzero().get() as u32);
            let Ok(me) = obj_rx.recv() else { return };
            CURRENT.with(|c| *c.borrow_mut() = Some(me.clone()));
            {
                let mut count = me.suspended.lock().unwrap_or_else(|e| e.into_inner());
                while *count > 0 {
                    count = me.resumed.wait(count).unwrap_or_else(|e| e.into_inner());
                }
            }
            // SAFETY: the program gave us this start routine and parameter to run, as
            // CreateThread does.
            let code = unsafe { start(param.0) };
            if !finish(&me, code) {
                park_forever(); // terminated meanwhile: it must not run on as if alive
            }
            CURRENT.with(|c| c.borrow_mut().take());
        })
        .map_err(|_| Fail(Win32Error::NOT_ENOUGH_MEMORY.0))?;
    let tid = tid_rx.recv().map_err(|_| Fail(Win32Error::NOT_ENOUGH_MEMORY.0))?;
    *LIVE.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    let thread = Arc::new(ThreadObject {
        tid,
        done,
        exit: Mutex::new(None),
        suspended: Mutex::new(u32::from(flags & CREATE_SUSPENDED != 0)),
        resumed: Condvar::new(),
    });
    // The handle's slot is a duplicate of the (unnamed, non-inheritable) event's descriptor: a
    // child that inherits it can wait for the thread's end.
    let h = handles::insert_dup(Object::UserThread(thread.clone()), THREAD_ALL_ACCESS, inherit, thread.done.as_fd())?;
    let _ = obj_tx.send(thread);
    Ok((h, tid))
}

/// `CreateThread`: runs `lpStartAddress(lpParameter)` on a new thread and returns a waitable
/// handle to it (signaled when the routine returns; its return value is the exit code).
/// `CREATE_SUSPENDED` holds the routine until `ResumeThread`. `dwStackSize` (0 = default) is
/// honoured, at least 64 KiB. NULL start routine: `ERROR_INVALID_PARAMETER`.
///
/// # Safety
/// `lpThreadAttributes` NULL or valid; `lpStartAddress` a valid routine for `lpParameter`;
/// `lpThreadId` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateThread(
    lpThreadAttributes: *const SECURITY_ATTRIBUTES,
    dwStackSize: usize,
    lpStartAddress: Option<ThreadStart>,
    lpParameter: *mut c_void,
    dwCreationFlags: DWORD,
    lpThreadId: *mut DWORD,
) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        let (h, tid) = create_thread(lpThreadAttributes, dwStackSize, lpStartAddress, lpParameter, dwCreationFlags)?;
        if !lpThreadId.is_null() {
            // SAFETY: non-NULL and writable (caller's promise).
            unsafe { lpThreadId.write(tid) };
        }
        Ok(h)
    })
}

/// `ResumeThread`: decrements a thread's suspend count (it starts when the count reaches 0);
/// returns the previous count, or `(DWORD)-1` with `ERROR_INVALID_HANDLE`.
#[unsafe(no_mangle)]
pub extern "system" fn ResumeThread(hThread: HANDLE) -> DWORD {
    boundary(u32::MAX, || match handles::get(hThread)?.object {
        Object::UserThread(t) => {
            let mut count = t.suspended.lock().unwrap_or_else(|e| e.into_inner());
            let previous = *count;
            if *count > 0 {
                *count -= 1;
                if *count == 0 {
                    t.resumed.notify_all();
                }
            }
            Ok(previous)
        }
        Object::Thread(p) => Ok(p.resume()),
        _ => fail(Win32Error::INVALID_HANDLE),
    })
}

/// `GetExitCodeThread`: `STILL_ACTIVE` (259) while the thread runs, then the value its start
/// routine returned. For the thread handle `CreateProcess` returns: the process's exit code.
///
/// # Safety
/// `lpExitCode` must be NULL (`ERROR_NOACCESS`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetExitCodeThread(hThread: HANDLE, lpExitCode: *mut DWORD) -> BOOL {
    boundary(FALSE, || {
        let code = if hThread as usize == handles::CURRENT_THREAD {
            STILL_ACTIVE
        } else {
            match handles::get(hThread)?.object {
                Object::UserThread(t) => t.exit_code().unwrap_or(STILL_ACTIVE),
                Object::Thread(p) => p.exit_code().unwrap_or(STILL_ACTIVE),
                _ => return fail(Win32Error::INVALID_HANDLE),
            }
        };
        if lpExitCode.is_null() {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { lpExitCode.write(code) };
        Ok(TRUE)
    })
}

/// `GetThreadId`: the id of the thread a handle refers to (0 with `ERROR_INVALID_HANDLE`).
#[unsafe(no_mangle)]
pub extern "system" fn GetThreadId(Thread: HANDLE) -> DWORD {
    boundary(0, || {
        if Thread as usize == handles::CURRENT_THREAD {
            return Ok(rustix::thread::gettid().as_raw_nonzero().get() as u32);
        }
        match handles::get(Thread)?.object {
            Object::UserThread(t) => Ok(t.tid),
            Object::Thread(p) => Ok(p.pid() as u32),
            _ => fail(Win32Error::INVALID_HANDLE),
        }
    })
}

/// The thread a handle names (the pseudo-handle: the calling thread): its id and, for a
/// `CreateThread` thread, its object.
fn thread_of(h: HANDLE) -> Res<(u32, Option<Arc<ThreadObject>>)> {
    if h as usize == handles::CURRENT_THREAD {
        return Ok((current_tid(), CURRENT.with(|c| c.borrow().clone())));
    }
    match handles::get(h)?.object {
        Object::UserThread(t) => Ok((t.tid, Some(t))),
        _ => fail(Win32Error::INVALID_HANDLE),
    }
}

/// The calling thread's id.
pub(crate) fn current_tid() -> u32 {
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// Whether the thread behind a `CreateThread` handle has ended (`None`: not such a handle).
pub(crate) fn has_ended(t: &ThreadObject) -> bool {
    t.exit_code().is_some()
}

/// The thread object a handle names, with its id (for `QueueUserAPC`).
pub(crate) fn target(h: HANDLE) -> Res<(u32, Option<Arc<ThreadObject>>)> {
    thread_of(h)
}

/// `ExitThread`: ends the calling thread with `dwExitCode` (see the module docs: its handle is
/// signaled with the code and it never runs program code again). On the main thread: waits for
/// the other `CreateThread` threads to end, then ends the process with the code.
#[unsafe(no_mangle)]
pub extern "system" fn ExitThread(dwExitCode: DWORD) -> ! {
    if let Some(me) = CURRENT.with(|c| c.borrow_mut().take()) {
        finish(&me, dwExitCode);
        drop(me);
        park_forever();
    }
    // SAFETY: getpid has no preconditions.
    if current_tid() == unsafe { libc::getpid() } as u32 {
        let mut live = LIVE.0.lock().unwrap_or_else(|e| e.into_inner());
        while *live > 0 {
            live = LIVE.1.wait(live).unwrap_or_else(|e| e.into_inner());
        }
        drop(live);
        // SAFETY: exit runs the program's atexit handlers and flushes stdio, as the end of the
        // last thread does on Windows.
        unsafe { libc::exit(dwExitCode as i32) };
    }
    park_forever()
}

/// The signal `TerminateThread` parks its target with.
fn terminate_signal() -> i32 {
    libc::SIGRTMAX() - 3
}

extern "C" fn on_terminate_signal(_: i32) {
    // Inside a change of the handle table (it holds the table's lock) or a `CloseHandle`: it
    // parks itself when that ends (`handles::Deferred`).
    if crate::handles::defer_termination() {
        return;
    }
    handles::park_terminated()
}

/// `TerminateThread`: ends a `CreateThread` thread at once with `dwExitCode` (its handle is
/// signaled; see the module docs for what is not released). The calling thread: as
/// `ExitThread`. A thread that has already ended: TRUE, its exit code unchanged. Other handles:
/// `ERROR_INVALID_HANDLE`.
#[unsafe(no_mangle)]
pub extern "system" fn TerminateThread(hThread: HANDLE, dwExitCode: DWORD) -> BOOL {
    boundary(FALSE, || {
        let (tid, object) = thread_of(hThread)?;
        if tid == current_tid() {
            ExitThread(dwExitCode);
        }
        let Some(t) = object else {
            return fail(Win32Error::INVALID_HANDLE);
        };
        if !finish(&t, dwExitCode) {
            return Ok(TRUE);
        }
        static HANDLER: std::sync::Once = std::sync::Once::new();
        HANDLER.call_once(|| {
            // SAFETY: a zeroed sigaction with our handler, all signals blocked inside it, interrupted calls restarted.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_terminate_signal as *const () as usize;
                // A deferred termination returns from the handler: the interrupted system call
                // (in a change of the handle table) restarts rather than failing with EINTR.
                sa.sa_flags = libc::SA_RESTART;
                libc::sigfillset(&mut sa.sa_mask);
                libc::sigaction(terminate_signal(), &sa, std::ptr::null_mut());
            }
        });
        // Raw: rustix has no `tgkill` (deliberately not implemented), and `pthread_kill` would
        // need the thread's pthread_t, which we do not have for every tid.
        // SAFETY: tgkill to a thread of this process; if it has just ended the call fails
        // harmlessly (ESRCH).
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid as libc::pid_t, terminate_signal()) };
        Ok(TRUE)
    })
}

/// `THREAD_PRIORITY_ERROR_RETURN`.
const THREAD_PRIORITY_ERROR_RETURN: i32 = 0x7fff_ffff;
/// `THREAD_MODE_BACKGROUND_BEGIN` / `_END`.
const THREAD_MODE_BACKGROUND_BEGIN: i32 = 0x0001_0000;
const THREAD_MODE_BACKGROUND_END: i32 = 0x0002_0000;

static PRIORITIES: Mutex<Option<HashMap<u32, i32>>> = Mutex::new(None);

/// The Linux nice value that stands for a Win32 priority level.
fn nice_of(priority: i32) -> Option<i32> {
    Some(match priority {
        -15 => 19,
        -2 => 10,
        -1 => 5,
        0 => 0,
        1 => -5,
        2 => -10,
        15 => -20,
        _ => return None,
    })
}

/// `SetThreadPriority`: one of `THREAD_PRIORITY_IDLE` (-15), `_LOWEST` (-2),
/// `_BELOW_NORMAL` (-1), `_NORMAL` (0), `_ABOVE_NORMAL` (1), `_HIGHEST` (2),
/// `_TIME_CRITICAL` (15), or (calling thread only) `THREAD_MODE_BACKGROUND_BEGIN`/`_END`.
/// Other values: `ERROR_INVALID_PARAMETER`. The level is applied as the thread's nice value
/// (19, 10, 5, 0, -5, -10, -20) where the system allows it; `GetThreadPriority` returns the level
/// set either way.
#[unsafe(no_mangle)]
pub extern "system" fn SetThreadPriority(hThread: HANDLE, nPriority: i32) -> BOOL {
    boundary(FALSE, || {
        let (tid, _) = thread_of(hThread)?;
        let nice = match nPriority {
            THREAD_MODE_BACKGROUND_BEGIN | THREAD_MODE_BACKGROUND_END if tid == current_tid() => {
                if nPriority == THREAD_MODE_BACKGROUND_BEGIN { 19 } else { 0 }
            }
            p => match nice_of(p) {
                Some(n) => n,
                None => return fail(Win32Error::INVALID_PARAMETER),
            },
        };
        // SAFETY: setpriority on one thread id of this process; failure (raising without the
        // privilege) leaves the nice value as it was.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, nice) };
        if nPriority != THREAD_MODE_BACKGROUND_BEGIN && nPriority != THREAD_MODE_BACKGROUND_END {
            PRIORITIES
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(HashMap::new)
                .insert(tid, nPriority);
        }
        Ok(TRUE)
    })
}

/// `GetThreadPriority`: the level last set with `SetThreadPriority` (`THREAD_PRIORITY_NORMAL`
/// by default); `THREAD_PRIORITY_ERROR_RETURN` with `ERROR_INVALID_HANDLE` for a bad handle.
#[unsafe(no_mangle)]
pub extern "system" fn GetThreadPriority(hThread: HANDLE) -> i32 {
    boundary(THREAD_PRIORITY_ERROR_RETURN, || {
        let (tid, _) = thread_of(hThread)?;
        Ok(PRIORITIES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|m| m.get(&tid).copied())
            .unwrap_or(0))
    })
}
