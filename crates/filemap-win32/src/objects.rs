//! What the handle table's entries point at besides the core's objects: a file opened by
//! `CreateFile`, a process, a `CreateThread` thread. The modules that implement their functions
//! (`file.rs`, `process.rs`, `thread.rs`) build them and register them in the table; the table
//! only needs their types, so they live here, below both.

#![allow(unsafe_code)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use filemap::sync::Event;

use crate::error::Res;

/// `GENERIC_READ`.
pub const GENERIC_READ: u32 = 0x8000_0000;
/// `GENERIC_WRITE`.
pub const GENERIC_WRITE: u32 = 0x4000_0000;
/// `GENERIC_EXECUTE`.
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// `GENERIC_ALL`.
pub const GENERIC_ALL: u32 = 0x1000_0000;

/// A file opened by `CreateFile`, shared by the handles duplicated from one open.
#[derive(Debug)]
pub struct FileObject {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) delete_on_close: Option<PathBuf>,
}

impl FileObject {
    /// A file handle inherited from the parent (see [`crate::handles`]).
    pub fn adopted(dev: u64, ino: u64) -> FileObject {
        FileObject { dev, ino, delete_on_close: None }
    }

    /// The file's identity (device, inode).
    pub fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// Removes `path` if the name still refers to the file (`dev`, `ino`).
pub(crate) fn delete_if_same(path: &Path, dev: u64, ino: u64) {
    if let Ok(st) = rustix::fs::stat(path)
        && st.st_dev == dev
        && st.st_ino == ino
    {
        let _ = std::fs::remove_file(path);
    }
}

/// `FILE_FLAG_DELETE_ON_CLOSE` files this process holds open: deleted when their last handle
/// closes (the object's drop) or, whatever is still open or mapped, when the process exits
/// (`exit`, `ExitProcess` or a return from `main`: an `atexit` handler), as Windows closes a
/// dying process's handles.
pub(crate) static DELETE_AT_EXIT: std::sync::Mutex<Vec<(PathBuf, u64, u64)>> = std::sync::Mutex::new(Vec::new());

pub(crate) extern "C" fn delete_at_exit() {
    let pending = std::mem::take(&mut *DELETE_AT_EXIT.lock().unwrap_or_else(|e| e.into_inner()));
    for (path, dev, ino) in pending {
        delete_if_same(&path, dev, ino);
    }
}

pub(crate) fn register_delete_at_exit(path: &Path, dev: u64, ino: u64) {
    static ATEXIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a handler that only takes a lock and removes files.
    ATEXIT.call_once(|| unsafe {
        libc::atexit(delete_at_exit);
    });
    DELETE_AT_EXIT.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_path_buf(), dev, ino));
}

impl Drop for FileObject {
    fn drop(&mut self) {
        if let Some(path) = &self.delete_on_close {
            DELETE_AT_EXIT
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|(p, d, i)| !(p == path && *d == self.dev && *i == self.ino));
            delete_if_same(path, self.dev, self.ino);
        }
    }
}

/// A process: a pidfd (the handles' slots are duplicates of it) and the core's waitable
/// [`filemap::sync::Process`], whose watcher reaps our children and records their exit codes.
#[derive(Debug)]
pub struct ProcessObject {
    pub(crate) pid: i32,
    pub(crate) pidfd: OwnedFd,
    pub(crate) watch: Option<filemap::sync::Process>,
    pub(crate) terminate_code: Mutex<Option<u32>>,
    /// The write end of the start gate of a child created with `CREATE_SUSPENDED`.
    pub(crate) gate: Mutex<Option<OwnedFd>>,
}

pub(crate) fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid).ok_or_else(|| std::io::Error::from_raw_os_error(libc::ESRCH))?;
    Ok(rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())?)
}

impl ProcessObject {
    /// This process (a real handle to it: `DuplicateHandle(GetCurrentProcess())`).
    pub fn current() -> Res<ProcessObject> {
        let pid = std::process::id() as i32;
        Ok(ProcessObject {
            pid,
            pidfd: pidfd_open(pid)?,
            watch: filemap::sync::Process::from_pid(pid as u32, false).ok(),
            terminate_code: Mutex::new(None),
            gate: Mutex::new(None),
        })
    }

    /// A child we started: watched (and reaped) by the core.
    pub(crate) fn child(pid: i32) -> Res<ProcessObject> {
        Ok(ProcessObject {
            pid,
            pidfd: pidfd_open(pid)?,
            watch: Some(filemap::sync::Process::from_pid(pid as u32, true)?),
            terminate_code: Mutex::new(None),
            gate: Mutex::new(None),
        })
    }

    /// Lets a child created with `CREATE_SUSPENDED` start; returns the previous suspend count
    /// (1 if it was suspended, else 0).
    pub fn resume(&self) -> u32 {
        let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner()).take();
        match gate {
            Some(gate) => {
                let _ = rustix::io::write(&gate, &[1]);
                1
            }
            None => 0,
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The pidfd (readable once the process has exited).
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// The core waitable (signaled when the process exits).
    pub fn waitable(&self) -> Option<&dyn filemap::sync::Waitable> {
        self.watch.as_ref().map(|w| w as &dyn filemap::sync::Waitable)
    }

    /// True once the process has exited.
    pub fn has_exited(&self) -> bool {
        self.watch.as_ref().is_some_and(filemap::sync::Process::has_exited)
    }

    /// The exit code once the process has exited: the code given to `TerminateProcess` if we
    /// terminated it, else its exit status (`128 + signal` if a signal killed it).
    pub fn exit_code(&self) -> Option<u32> {
        let watch = self.watch.as_ref()?;
        if !watch.has_exited() {
            return None;
        }
        if let Some(code) = *self.terminate_code.lock().unwrap_or_else(|e| e.into_inner()) {
            return Some(code);
        }
        Some(watch.exit_code().map_or(0, |c| c as u32))
    }
}

/// A thread started by `CreateThread`.
#[derive(Debug)]
pub struct ThreadObject {
    pub(crate) tid: u32,
    pub(crate) done: Event,
    pub(crate) exit: Mutex<Option<u32>>,
    pub(crate) suspended: Mutex<u32>,
    pub(crate) resumed: Condvar,
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
