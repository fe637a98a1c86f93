//! Futexes, the robust-futex list, thread ids and process liveness: the raw system calls behind
//! `crate::sync`. Every futex here is *shared* (no `FUTEX_PRIVATE_FLAG`): the words live in
//! `MAP_SHARED` pages that several processes map, and the kernel's robust-list cleanup wakes
//! with shared keys too.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rustix::io::Errno;
use rustix::thread::futex;

/// The most futexes one `futex_waitv` call accepts (and Win32's `MAXIMUM_WAIT_OBJECTS`).
pub const WAITV_MAX: usize = 64;

fn timespec(d: Duration) -> futex::Timespec {
    futex::Timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as i64, tv_nsec: i64::from(d.subsec_nanos()) }
}

/// Sleeps while `*word == expected`, at most `timeout` (None: forever). Returns normally on a
/// wake, a value mismatch, a signal or the timeout: callers re-check their condition.
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(timespec);
    match futex::wait(word, futex::Flags::empty(), expected, ts.as_ref()) {
        Ok(()) | Err(Errno::AGAIN) | Err(Errno::INTR) | Err(Errno::TIMEDOUT) => {}
        Err(_) => std::thread::yield_now(), // never expected; a retry loop stays correct
    }
}

/// Wakes every thread sleeping on `word`, in any process.
pub fn wake_all(word: &AtomicU32) {
    let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
}

/// Sleeps until one of `words[i]` differs from `expected[i]` or is woken, at most `timeout`.
/// `words.len()` must be 1..=64. Falls back to a short sleep loop on kernels before 5.16.
pub fn wait_many(words: &[(&AtomicU32, u32)], timeout: Option<Duration>) {
    if words.len() == 1 {
        return wait(words[0].0, words[0].1, timeout);
    }
    let mut waits = [futex::Wait::new(); WAITV_MAX];
    for (slot, (word, expected)) in waits.iter_mut().zip(words) {
        slot.val = u64::from(*expected);
        slot.uaddr = futex::WaitPtr::new((*word as *const AtomicU32).cast_mut().cast());
        slot.flags = futex::WaitFlags::SIZE_U32;
    }
    let n = words.len().min(WAITV_MAX);
    // futex_waitv takes an absolute timeout.
    let abs = timeout.map(|t| {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
        timespec(now.saturating_add(t))
    });
    match futex::waitv(&waits[..n], futex::WaitvFlags::empty(), abs.as_ref(), futex::ClockId::Monotonic) {
        Ok(_) | Err(Errno::AGAIN) | Err(Errno::INTR) | Err(Errno::TIMEDOUT) => {}
        Err(_) => std::thread::sleep(timeout.unwrap_or(Duration::from_millis(1)).min(Duration::from_millis(1))),
    }
}

/// The calling thread's kernel thread id.
pub fn gettid() -> u32 {
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// The calling process's id, without a system call after the first: glibc no longer caches
/// it, and the sync paths ask on every wait. Forgotten in a `fork` child (a `pthread_atfork`
/// child handler clears it before any code of the child runs), so a child asks again.
#[inline]
pub fn getpid() -> u32 {
    match PID.load(Ordering::Relaxed) {
        0 => getpid_slow(),
        pid => pid,
    }
}

static PID: AtomicU32 = AtomicU32::new(0);

#[cold]
fn getpid_slow() -> u32 {
    static HOOK: std::sync::Once = std::sync::Once::new();
    extern "C" fn forget_pid() {
        PID.store(0, Ordering::Relaxed);
    }
    // Register before caching: a fork racing with the first call then at worst leaves the
    // child with no cached value (it asks again), never with its parent's.
    HOOK.call_once(|| at_fork_child(forget_pid));
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// True if process `pid` has certainly exited: it does not exist, or it is a zombie (exited,
/// not yet reaped; a pidfd of it reads as readable). A live process, one of another PID
/// namespace that happens to exist here, or a failure to tell all answer false.
pub fn process_exited(pid: u32) -> bool {
    // Any u32 may come from a shared page: only 1..=i32::MAX can name a process.
    let Some(raw) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    match rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()) {
        Err(Errno::SRCH) => true,
        Err(_) => false,
        Ok(fd) => {
            let mut fds = [rustix::event::PollFd::new(&fd, rustix::event::PollFlags::IN)];
            let now = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
            rustix::event::poll(&mut fds, Some(&now)).is_ok_and(|n| n > 0)
        }
    }
}

/// True if thread `tid` exists and belongs to this process (`tgkill(getpid(), tid, 0)`). Once
/// it answers false for a thread that existed, that thread's exit is complete, including the
/// kernel's walk of its robust list.
pub fn thread_alive_here(tid: u32) -> bool {
    let Ok(tid) = i32::try_from(tid) else { return false };
    if tid <= 0 {
        return false;
    }
    // Raw: rustix has no `tgkill` (it lists it as deliberately not implemented), and nix's
    // `pthread_kill` needs a pthread_t, which another thread's tid is not.
    // SAFETY: tgkill with signal 0 only checks that the thread exists; it sends nothing.
    unsafe { libc::syscall(libc::SYS_tgkill, getpid() as libc::c_long, tid as libc::c_long, 0) == 0 }
}

/// The kernel's `struct robust_list_head` (glibc registers one per thread).
#[repr(C)]
pub struct RobustListHead {
    /// `list.next`: the first entry, or the head itself when empty.
    pub next: usize,
    /// Offset from an entry to its futex word.
    pub futex_offset: isize,
    /// The entry being added or removed (`list_op_pending`).
    pub list_op_pending: usize,
}

/// The calling thread's registered robust list head (`get_robust_list(0, ...)`), or `None`.
pub fn get_robust_list() -> Option<*mut RobustListHead> {
    let mut head: usize = 0;
    let mut len: usize = 0;
    // Raw: neither rustix nor nix wraps get_robust_list/set_robust_list (glibc owns them).
    // SAFETY: pid 0 means the calling thread; the kernel writes one pointer and one size into
    // our two locals, which are valid and writable.
    let r = unsafe {
        libc::syscall(libc::SYS_get_robust_list, 0 as libc::c_long, &mut head as *mut usize, &mut len as *mut usize)
    };
    if r != 0 || head == 0 || len != std::mem::size_of::<RobustListHead>() {
        return None;
    }
    Some(head as *mut RobustListHead)
}

/// Registers `head` as the calling thread's robust list.
///
/// # Safety
/// `head` must point to a valid `RobustListHead` that stays valid for the rest of the thread's
/// life (the kernel reads it when the thread exits).
pub unsafe fn set_robust_list(head: *mut RobustListHead) -> Result<(), Errno> {
    // Raw: no crate wraps set_robust_list (see `get_robust_list`).
    // SAFETY: the caller guarantees `head` stays valid; the kernel only stores the pointer.
    let r = unsafe { libc::syscall(libc::SYS_set_robust_list, head, std::mem::size_of::<RobustListHead>()) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)))
    }
}

/// Registers a function to run in the child after `fork` (once per process).
pub fn at_fork_child(f: unsafe extern "C" fn()) {
    // SAFETY: registering a handler is always sound; `f` is a plain function that lives forever.
    unsafe {
        libc::pthread_atfork(None, None, Some(f));
    }
}
