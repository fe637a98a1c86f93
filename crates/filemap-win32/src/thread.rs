//! Threads: `CreateThread`, `ResumeThread`, `GetExitCodeThread`, waitable thread handles.
//!
//! A thread handle is signaled when the thread's start routine returns; it is backed by an
//! unnamed manual-reset event of the core (set on exit), so thread handles take part in
//! `WaitForSingleObject`/`WaitForMultipleObjects` with every other object. `ExitThread` is not
//! provided: ending a thread from inside C code would have to unwind through this library's
//! frames; return from the start routine instead.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::c_void;
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex};

use filemap::Win32Error;
use filemap::sync::Event;

use crate::error::{Fail, Res, boundary, fail};
use crate::handles::{self, Object};
use crate::process::{STILL_ACTIVE, THREAD_ALL_ACCESS};
use crate::{BOOL, DWORD, FALSE, HANDLE, SECURITY_ATTRIBUTES, TRUE, inherit_from};

const CREATE_SUSPENDED: u32 = 0x4;

/// `LPTHREAD_START_ROUTINE`.
pub type ThreadStart = unsafe extern "system" fn(*mut c_void) -> DWORD;

/// A thread started by `CreateThread`.
#[derive(Debug)]
pub struct ThreadObject {
    tid: u32,
    done: Event,
    exit: Mutex<Option<u32>>,
    suspended: Mutex<u32>,
    resumed: Condvar,
}

impl ThreadObject {
    /// The core waitable: signaled once the thread has returned.
    pub fn waitable(&self) -> &dyn filemap::sync::Waitable {
        &self.done
    }

    /// The thread's exit code once it has returned.
    pub fn exit_code(&self) -> Option<u32> {
        *self.exit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread id.
    pub fn tid(&self) -> u32 {
        self.tid
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
            {
                let mut count = me.suspended.lock().unwrap_or_else(|e| e.into_inner());
                while *count > 0 {
                    count = me.resumed.wait(count).unwrap_or_else(|e| e.into_inner());
                }
            }
            // SAFETY: the program gave us this start routine and parameter to run, as
            // CreateThread does.
            let code = unsafe { start(param.0) };
            *me.exit.lock().unwrap_or_else(|e| e.into_inner()) = Some(code);
            let _ = me.done.set();
        })
        .map_err(|_| Fail(Win32Error::NOT_ENOUGH_MEMORY.0))?;
    let tid = tid_rx.recv().map_err(|_| Fail(Win32Error::NOT_ENOUGH_MEMORY.0))?;
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
