//! Waitable processes: a pidfd watched by a small thread that sets an in-process futex word when
//! the process exits, so a process takes part in `wait_any`/`wait_all` like any object.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::{Error, Result, Win32Error};
use crate::sys::futex as sysfutex;

use super::WaitOutcome;
use super::process_state::ProcInner;
use super::wait::{Target, Waitable, sealed};

/// A waitable handle to a process (the Win32 process `HANDLE`): signaled once the process has
/// exited, never consumed. `Send` and `Sync`; clones share the watcher.
#[derive(Debug, Clone)]
pub struct Process {
    inner: Arc<ProcInner>,
}

impl Process {
    /// Watches a child process started with `std::process::Command`. The watcher reaps it, so
    /// [`Process::exit_code`] reports its exit status (`128 + signal` if a signal killed it).
    pub fn from_child(child: std::process::Child) -> Result<Process> {
        let pid = child.id();
        let p = Process::watch(pid, true)?;
        drop(child); // dropping a Child neither kills nor waits for it
        Ok(p)
    }

    /// Watches process `pid` (not necessarily a child: then no exit code is available). If
    /// `reap` and it is our child, the watcher reaps it and records its exit code.
    pub fn from_pid(pid: u32, reap: bool) -> Result<Process> {
        Process::watch(pid, reap)
    }

    fn watch(pid: u32, reap: bool) -> Result<Process> {
        let raw = rustix::process::Pid::from_raw(pid as i32)
            .ok_or_else(|| Error::new(Win32Error::INVALID_PARAMETER, format!("{pid} is not a process id")))?;
        let fd: OwnedFd = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty())
            .map_err(|e| Error::from_io(format!("cannot open process {pid}"), e.into()))?;
        let inner = Arc::new(ProcInner { pid, word: AtomicU32::new(0), code: OnceLock::new() });
        let watcher = inner.clone();
        std::thread::Builder::new()
            .name(format!("filemap-wait-{pid}"))
            .spawn(move || watch_thread(watcher, fd, reap))
            .map_err(|e| Error::from_io(format!("cannot start a watcher for process {pid}"), e))?;
        Ok(Process { inner })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// True once the process has exited.
    pub fn has_exited(&self) -> bool {
        self.inner.exited()
    }

    /// The exit code once the process has exited and was reaped by us (`None` while it runs,
    /// or if it was not our child).
    pub fn exit_code(&self) -> Option<i32> {
        if !self.inner.exited() {
            return None;
        }
        self.inner.code.get().copied().flatten()
    }

    /// Waits for the process to exit: [`WaitOutcome::Signaled`]`(0)` or [`WaitOutcome::TimedOut`].
    pub fn wait(&self, timeout: Option<Duration>) -> Result<WaitOutcome> {
        super::wait::run(&[self as &dyn Waitable], false, timeout)
    }
}

fn watch_thread(inner: Arc<ProcInner>, fd: OwnedFd, reap: bool) {
    while !poll_readable(&fd) {}
    let mut code = None;
    if reap
        && let Ok(Some(status)) =
            rustix::process::waitid(rustix::process::WaitId::PidFd(fd.as_fd()), rustix::process::WaitIdOptions::EXITED)
    {
        code = decode_status(&status);
    }
    let _ = inner.code.set(code);
    inner.word.store(1, Ordering::Release);
    sysfutex::wake_all(&inner.word);
}

/// Blocks until the pidfd is readable (the process exited); false if interrupted.
fn poll_readable(fd: &OwnedFd) -> bool {
    let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
    match rustix::event::poll(&mut fds, None) {
        Ok(n) => n != 0,
        Err(e) => e != rustix::io::Errno::INTR,
    }
}

/// The exit code of a reaped process: its status, or `128 + signal` if a signal killed it
/// (with or without a core dump).
fn decode_status(status: &rustix::process::WaitIdStatus) -> Option<i32> {
    if let Some(code) = status.exit_status() {
        return Some(code);
    }
    status.terminating_signal().map(|signal| 128 + signal)
}

impl sealed::Sealed for Process {
    fn target(&self) -> Result<Target<'_>> {
        Ok(Target::Process(&self.inner))
    }
}

impl Waitable for Process {}
