//! Attacks on the handle table's epoch pins and the calls around them (issue 16): races of
//! lookups against `CloseHandle`/`DuplicateHandle`/`SetHandleInformation`, `fork` while other
//! threads read or change the table, signal handlers that call in while their thread is inside
//! a call, many short-lived threads, and the wake-ups of the sync fast paths across processes.
//!
//! Each test runs in a fresh child process of its own (`selfexec::isolated`: own
//! `FILEMAP_ROOT`, own handle table, own watchdog), so a hang or a crash fails only that test.

#![allow(unsafe_code)] // calling the exported functions as C would; fork, signals, sched

mod common;

use std::ffi::CString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use filemap_testkit::selfexec::{self, isolated};
use filemap_win32::error::GetLastError;
use filemap_win32::file::CreateFileA;
use filemap_win32::handle_api::{
    CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle, GetHandleInformation, SetHandleInformation,
};
use filemap_win32::mapping::CreateFileMappingA;
use filemap_win32::sync::{
    CreateEventA, CreateMutexA, CreateSemaphoreA, OpenEventA, OpenSemaphoreA, ReleaseMutex, ReleaseSemaphore, SetEvent,
    WaitForMultipleObjects, WaitForSingleObject,
};
use filemap_win32::{FALSE, HANDLE, INVALID_HANDLE_VALUE, SECURITY_ATTRIBUTES, TRUE};

const ERROR_FILE_NOT_FOUND: u32 = 2;
const PAGE_READWRITE: u32 = 4;
const ERROR_INVALID_HANDLE: u32 = 6;
const WAIT_TIMEOUT: u32 = 0x102;
const WAIT_FAILED: u32 = 0xFFFF_FFFF;
const HANDLE_FLAG_INHERIT: u32 = 1;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const OPEN_ALWAYS: u32 = 4;
const ALL: u32 = 0x001F_0003;
/// How long a whole test may run in its child before the watchdog kills it.
const LIMIT: Duration = Duration::from_secs(60);

fn current_process() -> HANDLE {
    usize::MAX as HANDLE
}

fn cname(tag: &str) -> CString {
    CString::new(format!(r"Local\{}", filemap_testkit::root::unique(tag))).unwrap()
}

fn event(name: Option<&CString>, manual: bool, initial: bool) -> HANDLE {
    // SAFETY: NULL attributes; the name is NULL or NUL-terminated.
    let h = unsafe {
        CreateEventA(std::ptr::null(), manual as i32, initial as i32, name.map_or(std::ptr::null(), |n| n.as_ptr()))
    };
    assert!(!h.is_null(), "CreateEventA failed: {}", GetLastError());
    h
}

fn semaphore(name: Option<&CString>, initial: i32, max: i32) -> HANDLE {
    // SAFETY: NULL attributes; the name is NULL or NUL-terminated.
    let h = unsafe { CreateSemaphoreA(std::ptr::null(), initial, max, name.map_or(std::ptr::null(), |n| n.as_ptr())) };
    assert!(!h.is_null(), "CreateSemaphoreA failed: {}", GetLastError());
    h
}

fn duplicate(h: HANDLE, inherit: bool) -> Option<HANDLE> {
    let mut dup: HANDLE = std::ptr::null_mut();
    // SAFETY: `dup` is writable.
    let ok = unsafe {
        DuplicateHandle(current_process(), h, current_process(), &mut dup, 0, inherit as i32, DUPLICATE_SAME_ACCESS)
    };
    (ok == TRUE).then_some(dup)
}

fn flags_of(h: HANDLE) -> Option<u32> {
    let mut flags = 0u32;
    // SAFETY: `flags` is writable.
    (unsafe { GetHandleInformation(h, &mut flags) } == TRUE).then_some(flags)
}

/// A call on a handle another thread may have closed: it worked, or the value is invalid now.
fn ok_or_invalid(ok: bool, what: &str) {
    if !ok {
        let e = GetLastError();
        assert_eq!(e, ERROR_INVALID_HANDLE, "{what} failed with {e}, not ERROR_INVALID_HANDLE");
    }
}

fn assert_event_gone(name: &CString) {
    // SAFETY: NUL-terminated name.
    let h = unsafe { OpenEventA(ALL, FALSE, name.as_ptr()) };
    assert!(h.is_null(), "{name:?} still exists after its last handle closed");
    assert_eq!(GetLastError(), ERROR_FILE_NOT_FOUND, "{name:?}");
}

/// Runs the calling thread on one CPU only (the first the process may use), shared with the
/// hammers: a thread it wakes there (a hammer blocked on the table's lock) tends to preempt it
/// at once, which widens the window between two of its steps to a time slice of the woken thread.
fn run_on_cpu0() {
    // SAFETY: a zeroed cpu_set_t is valid; the calls read and change this thread's affinity.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed), 0);
        // The first CPU this process may use ("CPU 0" of its set).
        let first = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &allowed)).expect("a CPU");
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(first, &mut set);
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
    }
}

/// Threads that keep calling `f` on the current value of `cur` (0: nothing) until `stop`, and
/// stop calling (acknowledging through `parked`) while `pause` is set.
struct Hammer {
    cur: Arc<AtomicUsize>,
    pause: Arc<AtomicBool>,
    parked: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Hammer {
    fn start(n: usize, f: fn(HANDLE)) -> Hammer {
        let cur = Arc::new(AtomicUsize::new(0));
        let pause = Arc::new(AtomicBool::new(true));
        let parked = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let threads = (0..n)
            .map(|_| {
                let (cur, pause, parked, stop, calls) =
                    (cur.clone(), pause.clone(), parked.clone(), stop.clone(), calls.clone());
                std::thread::spawn(move || {
                    run_on_cpu0();
                    while !stop.load(Ordering::SeqCst) {
                        if pause.load(Ordering::SeqCst) {
                            parked.fetch_add(1, Ordering::SeqCst);
                            while pause.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_micros(100));
                            }
                            parked.fetch_sub(1, Ordering::SeqCst);
                            continue;
                        }
                        let h = cur.load(Ordering::SeqCst);
                        if h != 0 {
                            f(h as HANDLE);
                            calls.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let hammer = Hammer { cur, pause, parked, stop, calls, threads };
        hammer.hold(); // wait until every thread runs (and is parked)
        hammer
    }

    /// Lets the threads call on `h`.
    fn aim(&self, h: HANDLE) {
        self.cur.store(h as usize, Ordering::SeqCst);
        self.pause.store(false, Ordering::SeqCst);
    }

    /// Stops every call and waits until no thread is inside one.
    fn hold(&self) {
        self.pause.store(true, Ordering::SeqCst);
        while self.parked.load(Ordering::SeqCst) < self.threads.len() {
            std::thread::sleep(Duration::from_micros(50));
        }
        self.cur.store(0, Ordering::SeqCst);
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("a hammer thread panicked");
        }
        self.calls.load(Ordering::Relaxed)
    }
}

fn poke(h: HANDLE) {
    let ok = flags_of(h).is_some();
    ok_or_invalid(ok, "GetHandleInformation");
}

/// `CloseHandle` of an inheritable handle whose slot is a descriptor of its own (an inheritable
/// file; a duplicate made inheritable by `SetHandleInformation`) while other threads keep using
/// the value. A call that finds the slot empty takes the locked path, which adopts an open
/// descriptor without `FD_CLOEXEC` as an inherited handle: if the closer leaves the locked
/// section before it closes (or marks) the descriptor, the adoption brings the closed handle back
/// to life over a descriptor the closer is about to close (a second owner of one descriptor
/// number, which later closes whatever reuses the number; for a named object a second core
/// handle that keeps the name alive). After `CloseHandle` returns and every call has stopped,
/// the value must be invalid and the name gone.
#[test]
fn closing_an_inheritable_own_slot_while_other_threads_use_it_never_brings_it_back() {
    isolated("closing_an_inheritable_own_slot_while_other_threads_use_it_never_brings_it_back", LIMIT, || {
        let root = std::env::var("FILEMAP_ROOT").expect("isolated sets FILEMAP_ROOT");
        let path = CString::new(format!("{root}/inheritable-file")).unwrap();
        let sa = SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: std::ptr::null_mut(),
            bInheritHandle: TRUE,
        };
        let hammer = Hammer::start(2, poke);
        // On the hammers' CPU: the one it wakes when it leaves the locked section runs first.
        run_on_cpu0();
        let start = Instant::now();
        let mut rounds = 0u32;
        while rounds < 200 || (start.elapsed() < Duration::from_secs(3) && rounds < 2000) {
            rounds += 1;
            let named = rounds % 2 == 1;
            let (h, name) = if named {
                // A named event's non-inheritable duplicate (own slot), made inheritable.
                let name = cname("resurrect");
                let e = event(Some(&name), false, false);
                let d = duplicate(e, false).expect("duplicate");
                // SAFETY: plain call.
                assert_eq!(SetHandleInformation(d, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT), TRUE);
                assert_eq!(CloseHandle(e), TRUE);
                (d, Some(name))
            } else {
                // SAFETY: NUL-terminated path, valid attributes.
                let h = unsafe {
                    CreateFileA(
                        path.as_ptr(),
                        GENERIC_READ | GENERIC_WRITE,
                        3,
                        &sa,
                        OPEN_ALWAYS,
                        0,
                        std::ptr::null_mut(),
                    )
                };
                assert_ne!(h, INVALID_HANDLE_VALUE, "CreateFileA: {}", GetLastError());
                (h, None)
            };
            assert_eq!(flags_of(h), Some(HANDLE_FLAG_INHERIT));
            hammer.aim(h);
            std::thread::yield_now();
            assert_eq!(CloseHandle(h), TRUE, "round {rounds}: closing our own handle");
            hammer.hold();
            // Nothing else runs now: the value must be invalid, its name gone.
            let back = flags_of(h);
            assert!(
                back.is_none(),
                "round {rounds}: handle {h:?} ({}) is valid again after CloseHandle returned (flags {back:?})",
                if named { "named event" } else { "file" }
            );
            assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
            if let Some(name) = &name {
                assert_event_gone(name);
            }
        }
        let calls = hammer.finish();
        println!("{rounds} rounds, {calls} racing calls in {:?}", start.elapsed());
        assert!(calls > 1000, "too few racing calls ({calls}) for the test to mean anything");
    });
}

/// `fork` while other threads are inside `CloseHandle` (holding the table's writer lock, maybe
/// in the epoch wait or the first writer's membarrier registration) and inside pinned lookups:
/// the child has only the forking thread, so a lock or a once-cell held by another thread at
/// the fork stays held forever unless the library takes it over the fork (and pins of threads
/// that do not exist in the child, some of them exiting at the fork, must not count). The child
/// must be able to create, wait on and close handles, the shared one included.
#[test]
fn a_child_forked_while_other_threads_close_handles_can_still_close_its_own() {
    isolated("a_child_forked_while_other_threads_close_handles_can_still_close_its_own", LIMIT, || {
        let shared = event(None, true, true);
        let shared_v = shared as usize;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for _ in 0..2 {
            let stop = stop.clone();
            // Writers: a create and a close back to back, so the writer lock is almost always held.
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let h = event(None, false, false);
                    assert_eq!(CloseHandle(h), TRUE);
                }
            }));
        }
        {
            let stop = stop.clone();
            // A reader: pinned lookups back to back (wait-any and single waits).
            threads.push(std::thread::spawn(move || {
                let hs = [shared_v as HANDLE; 3];
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(WaitForSingleObject(shared_v as HANDLE, 0), 0);
                    // SAFETY: `hs` holds 3 handles.
                    assert_eq!(unsafe { WaitForMultipleObjects(3, hs.as_ptr(), FALSE, 0) }, 0);
                }
            }));
        }
        {
            let stop = stop.clone();
            // Short-lived threads: records taken and given back (thread exits) around the forks.
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::spawn(move || {
                        assert_eq!(SetEvent(shared_v as HANDLE), TRUE);
                        assert_eq!(WaitForSingleObject(shared_v as HANDLE, 0), 0);
                    })
                    .join()
                    .unwrap();
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(20));
        for round in 0..60 {
            // SAFETY: the child calls the library and leaves with `_exit`.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let h = event(None, false, true);
                let ok = WaitForSingleObject(h, 0) == 0
                    && CloseHandle(h) == TRUE
                    && WaitForSingleObject(shared_v as HANDLE, 0) == 0
                    && CloseHandle(shared_v as HANDLE) == TRUE;
                // SAFETY: leaving the child without running the parent's destructors.
                unsafe { libc::_exit(if ok { 0 } else { 3 }) };
            }
            let status = wait_child(pid, Duration::from_secs(10)).unwrap_or_else(|| {
                stop.store(true, Ordering::Relaxed);
                panic!("fork {round}: the child hung (a lock held by a thread that does not exist in the child)")
            });
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "fork {round}: child status {status:#x}"
            );
        }
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(CloseHandle(shared), TRUE);
    });
}

/// Waits for child `pid` for at most `limit`; kills it and returns `None` if it is still running.
fn wait_child(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(status);
        }
        if start.elapsed() > limit {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A tiny deterministic generator per thread (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

/// Values a signal handler uses: a semaphore and an event nobody else touches, counters.
static SIG_SEM: AtomicUsize = AtomicUsize::new(0);
static SIG_EVENT: AtomicUsize = AtomicUsize::new(0);
static SIG_CALLS: AtomicU64 = AtomicU64::new(0);
static SIG_FAILURES: AtomicU64 = AtomicU64::new(0);

extern "C" fn nested_calls(_: libc::c_int) {
    // SAFETY: errno is this thread's; saved and restored around the calls.
    let saved = unsafe { *libc::__errno_location() };
    let sem = SIG_SEM.load(Ordering::Relaxed) as HANDLE;
    let ev = SIG_EVENT.load(Ordering::Relaxed) as HANDLE;
    // SAFETY: NULL previous count.
    let released = unsafe { ReleaseSemaphore(sem, 1, std::ptr::null_mut()) } == TRUE;
    let taken = WaitForSingleObject(sem, 0) == 0;
    let set = SetEvent(ev) == TRUE;
    let consumed = WaitForSingleObject(ev, 0) == 0;
    if !(released && taken && set && consumed) {
        SIG_FAILURES.fetch_add(1, Ordering::Relaxed);
    }
    SIG_CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// A signal handler that makes the lock-free calls (`ReleaseSemaphore`, `SetEvent`, zero-timeout
/// waits) on handles nobody changes, interrupting a thread that is itself inside such calls
/// (pinned) on handles another thread closes, re-creates and duplicates all the time. The
/// handler's pin is nested: it must neither end the interrupted call's pin (a writer would free
/// an entry under it: a crash, or a wrong result) nor wait for anything (a hang); every call of
/// both must work or fail with `ERROR_INVALID_HANDLE`, and the handler's calls must not change the
/// interrupted call's last error.
#[test]
fn a_signal_handler_calling_in_while_its_thread_is_inside_a_call_neither_breaks_nor_blocks_it() {
    isolated(
        "a_signal_handler_calling_in_while_its_thread_is_inside_a_call_neither_breaks_nor_blocks_it",
        LIMIT,
        || {
            SIG_SEM.store(semaphore(None, 0, 1) as usize, Ordering::SeqCst);
            SIG_EVENT.store(event(None, false, false) as usize, Ordering::SeqCst);
            // SAFETY: installing a handler for SIGUSR1, which nothing else in this process uses.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = nested_calls as extern "C" fn(libc::c_int) as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
            }
            const RING: usize = 8;
            let ring: Arc<Vec<AtomicUsize>> = Arc::new((0..RING).map(|_| AtomicUsize::new(0)).collect());
            let stop = Arc::new(AtomicBool::new(false));
            let writer = {
                let (ring, stop) = (ring.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(0x51ED_2701);
                    while !stop.load(Ordering::Relaxed) {
                        let slot = &ring[rng.next() % RING];
                        let new = if rng.next().is_multiple_of(3) {
                            let src = slot.load(Ordering::Acquire);
                            match (src != 0).then(|| duplicate(src as HANDLE, false)).flatten() {
                                Some(d) => d,
                                None => continue,
                            }
                        } else {
                            event(None, true, rng.next().is_multiple_of(2))
                        };
                        let old = slot.swap(new as usize, Ordering::AcqRel);
                        if old != 0 {
                            assert_eq!(CloseHandle(old as HANDLE), TRUE);
                        }
                    }
                })
            };
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let target = {
                let (ring, stop) = (ring.clone(), stop.clone());
                std::thread::spawn(move || {
                    // SAFETY: pthread_self has no preconditions.
                    tid_tx.send(unsafe { libc::pthread_self() } as usize).unwrap();
                    let mut rng = Rng(0xC0FF_EE11);
                    let mut calls = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let h = ring[rng.next() % RING].load(Ordering::Acquire) as HANDLE;
                        if h.is_null() {
                            continue;
                        }
                        calls += 1;
                        match rng.next() % 3 {
                            0 => ok_or_invalid(SetEvent(h) == TRUE, "SetEvent"),
                            1 => {
                                let r = WaitForSingleObject(h, 0);
                                assert!(r == 0 || r == WAIT_TIMEOUT || r == WAIT_FAILED, "wait result {r:#x}");
                                ok_or_invalid(r != WAIT_FAILED, "WaitForSingleObject");
                            }
                            _ => {
                                let hs: Vec<HANDLE> = ring
                                    .iter()
                                    .map(|s| s.load(Ordering::Acquire) as HANDLE)
                                    .filter(|h| !h.is_null())
                                    .collect();
                                // SAFETY: `hs` holds `hs.len()` handles.
                                let r = unsafe { WaitForMultipleObjects(hs.len() as u32, hs.as_ptr(), FALSE, 0) };
                                assert!((r as usize) < hs.len() || r == WAIT_TIMEOUT || r == WAIT_FAILED, "{r:#x}");
                                ok_or_invalid(r != WAIT_FAILED, "WaitForMultipleObjects");
                            }
                        }
                    }
                    calls
                })
            };
            let tid = tid_rx.recv().unwrap() as libc::pthread_t;
            let start = Instant::now();
            let mut sent = 0u64;
            while start.elapsed() < Duration::from_secs(3) {
                // SAFETY: the target thread runs until `stop`, which is set below.
                assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
                sent += 1;
                std::thread::sleep(Duration::from_micros(50));
            }
            stop.store(true, Ordering::Relaxed);
            let calls = target.join().expect("the interrupted thread failed");
            writer.join().expect("the writer failed");
            for slot in ring.iter() {
                let h = slot.swap(0, Ordering::AcqRel);
                if h != 0 {
                    assert_eq!(CloseHandle(h as HANDLE), TRUE);
                }
            }
            let handled = SIG_CALLS.load(Ordering::SeqCst);
            assert_eq!(SIG_FAILURES.load(Ordering::SeqCst), 0, "a call in the signal handler failed");
            assert!(
                handled > 1000 && calls > 10_000,
                "too little overlap to mean anything: {handled} handler runs (of {sent}), {calls} calls"
            );
        },
    );
}

/// Many short-lived threads (thread records made, released and reused all the time) use handles
/// while others close and re-create them: an exited thread's record must never hold up a
/// `CloseHandle` (a pin left behind: a hang), and a reused record must protect its new thread
/// (an entry freed under it: a crash). Every name is gone at the end.
#[test]
fn short_lived_threads_that_reuse_thread_records_never_hold_up_or_lose_a_close() {
    isolated("short_lived_threads_that_reuse_thread_records_never_hold_up_or_lose_a_close", LIMIT, || {
        const RING: usize = 8;
        let ring: Arc<Vec<AtomicUsize>> = Arc::new((0..RING).map(|_| AtomicUsize::new(0)).collect());
        let names = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let closer = {
            let (ring, names, stop) = (ring.clone(), names.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0xABCD_0123);
                let mut closes = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let name = cname("short");
                    let h = event(Some(&name), false, true);
                    names.lock().unwrap().push(name);
                    let old = ring[rng.next() % RING].swap(h as usize, Ordering::AcqRel);
                    if old != 0 {
                        let t = Instant::now();
                        assert_eq!(CloseHandle(old as HANDLE), TRUE);
                        assert!(t.elapsed() < Duration::from_secs(5), "a CloseHandle waited {:?}", t.elapsed());
                        closes += 1;
                    }
                }
                closes
            })
        };
        let start = Instant::now();
        let mut spawned = 0u64;
        while start.elapsed() < Duration::from_secs(3) || spawned < 500 {
            let batch: Vec<_> = (0..4)
                .map(|k| {
                    let ring = ring.clone();
                    std::thread::spawn(move || {
                        let mut rng = Rng(0x1234_5678 ^ ((spawned + k + 1) * 0x9E37));
                        for _ in 0..(rng.next() % 50) {
                            let h = ring[rng.next() % RING].load(Ordering::Acquire) as HANDLE;
                            if h.is_null() {
                                continue;
                            }
                            if rng.next().is_multiple_of(2) {
                                ok_or_invalid(SetEvent(h) == TRUE, "SetEvent");
                            } else {
                                let r = WaitForSingleObject(h, 0);
                                assert!(r == 0 || r == WAIT_TIMEOUT || r == WAIT_FAILED, "wait result {r:#x}");
                                ok_or_invalid(r != WAIT_FAILED, "WaitForSingleObject");
                            }
                        }
                    })
                })
                .collect();
            spawned += batch.len() as u64;
            for t in batch {
                t.join().expect("a short-lived thread failed");
            }
        }
        stop.store(true, Ordering::Relaxed);
        let closes = closer.join().expect("the closer failed");
        for slot in ring.iter() {
            let h = slot.swap(0, Ordering::AcqRel);
            if h != 0 {
                assert_eq!(CloseHandle(h as HANDLE), TRUE);
            }
        }
        assert!(spawned >= 500 && closes > 100, "{spawned} threads, {closes} closes: too few");
        for name in names.lock().unwrap().iter() {
            assert_event_gone(name);
        }
    });
}

/// Descriptor numbers reused across object types while other threads signal, wait (one and
/// any), duplicate and toggle `HANDLE_FLAG_INHERIT` (which moves an own slot to a new shared
/// description): every call works, fails with `ERROR_INVALID_HANDLE`, or fails the way the
/// object it now names makes it fail (`ERROR_NOT_OWNER` for a mutex, `ERROR_TOO_MANY_POSTS`
/// for a full semaphore); nothing crashes or hangs, and every name is gone at the end.
#[test]
fn handles_reused_across_kinds_while_flags_change_stay_valid_or_invalid_and_leak_nothing() {
    isolated("handles_reused_across_kinds_while_flags_change_stay_valid_or_invalid_and_leak_nothing", LIMIT, || {
        const RING: usize = 12;
        const ERROR_NOT_OWNER: u32 = 288;
        const ERROR_TOO_MANY_POSTS: u32 = 298;
        let ring: Arc<Vec<AtomicUsize>> = Arc::new((0..RING).map(|_| AtomicUsize::new(0)).collect());
        let names: Arc<std::sync::Mutex<Vec<(u8, CString)>>> = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (ring, names, stop, ops) = (ring.clone(), names.clone(), stop.clone(), ops.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(0x9E37_79B9 ^ ((t + 1) * 0x1234_5678));
                    while !stop.load(Ordering::Relaxed) {
                        let slot = &ring[rng.next() % RING];
                        let h = slot.load(Ordering::Acquire) as HANDLE;
                        match rng.next() % 10 {
                            0 | 1 => {
                                let kind = (rng.next() % 3) as u8;
                                let name = cname("kinds");
                                // SAFETY: NULL attributes, NUL-terminated name.
                                let new = unsafe {
                                    match kind {
                                        0 => CreateEventA(std::ptr::null(), 0, 1, name.as_ptr()),
                                        1 => CreateSemaphoreA(std::ptr::null(), 1, 2, name.as_ptr()),
                                        _ => CreateMutexA(std::ptr::null(), 0, name.as_ptr()),
                                    }
                                };
                                assert!(!new.is_null(), "create failed: {}", GetLastError());
                                names.lock().unwrap().push((kind, name));
                                let old = slot.swap(new as usize, Ordering::AcqRel);
                                if old != 0 {
                                    assert_eq!(
                                        CloseHandle(old as HANDLE),
                                        TRUE,
                                        "closing a handle we own ({old:#x}): error {}",
                                        GetLastError()
                                    );
                                }
                            }
                            2 => {
                                let old = slot.swap(0, Ordering::AcqRel);
                                if old != 0 {
                                    assert_eq!(
                                        CloseHandle(old as HANDLE),
                                        TRUE,
                                        "closing a handle we own ({old:#x}): error {}",
                                        GetLastError()
                                    );
                                }
                            }
                            3 if !h.is_null() => {
                                let inherit = rng.next().is_multiple_of(2);
                                let ok = duplicate(h, inherit);
                                ok_or_invalid(ok.is_some(), "DuplicateHandle");
                                if let Some(d) = ok {
                                    let old = ring[rng.next() % RING].swap(d as usize, Ordering::AcqRel);
                                    if old != 0 {
                                        assert_eq!(CloseHandle(old as HANDLE), TRUE);
                                    }
                                }
                            }
                            4 if !h.is_null() => {
                                let flags = if rng.next().is_multiple_of(2) { HANDLE_FLAG_INHERIT } else { 0 };
                                ok_or_invalid(
                                    SetHandleInformation(h, HANDLE_FLAG_INHERIT, flags) == TRUE,
                                    "SetHandleInformation",
                                );
                            }
                            5 if !h.is_null() => {
                                if SetEvent(h) != TRUE {
                                    ok_or_invalid(false, "SetEvent");
                                }
                                // SAFETY: NULL previous count.
                                if unsafe { ReleaseSemaphore(h, 1, std::ptr::null_mut()) } != TRUE {
                                    let e = GetLastError();
                                    assert!(
                                        e == ERROR_INVALID_HANDLE || e == ERROR_TOO_MANY_POSTS,
                                        "ReleaseSemaphore: {e}"
                                    );
                                }
                            }
                            6 | 7 if !h.is_null() => {
                                let r = WaitForSingleObject(h, 0);
                                assert!(r == 0 || r == 0x80 || r == WAIT_TIMEOUT || r == WAIT_FAILED, "wait {r:#x}");
                                if r == WAIT_FAILED {
                                    ok_or_invalid(false, "WaitForSingleObject");
                                } else if r == 0 || r == 0x80 {
                                    // If it was a mutex, it is ours now: give it back (else the
                                    // value is no mutex: ERROR_INVALID_HANDLE).
                                    if ReleaseMutex(h) != TRUE {
                                        let e = GetLastError();
                                        assert!(e == ERROR_INVALID_HANDLE || e == ERROR_NOT_OWNER, "ReleaseMutex: {e}");
                                    }
                                }
                            }
                            8 | 9 => {
                                let hs: Vec<HANDLE> = ring
                                    .iter()
                                    .map(|s| s.load(Ordering::Acquire) as HANDLE)
                                    .filter(|h| !h.is_null())
                                    .collect();
                                if hs.is_empty() {
                                    continue;
                                }
                                // SAFETY: `hs` holds `hs.len()` handles.
                                let r = unsafe { WaitForMultipleObjects(hs.len() as u32, hs.as_ptr(), FALSE, 0) };
                                let i = (r & 0x7F) as usize;
                                assert!(
                                    ((r & !0x7F) == 0 || (r & !0x7F) == 0x80) && i < hs.len()
                                        || r == WAIT_TIMEOUT
                                        || r == WAIT_FAILED,
                                    "wait-any result {r:#x}"
                                );
                                if r == WAIT_FAILED {
                                    ok_or_invalid(false, "WaitForMultipleObjects");
                                } else if r != WAIT_TIMEOUT && ReleaseMutex(hs[i]) != TRUE {
                                    let e = GetLastError();
                                    assert!(e == ERROR_INVALID_HANDLE || e == ERROR_NOT_OWNER, "ReleaseMutex: {e}");
                                }
                            }
                            _ => continue,
                        }
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        common::stop_and_close_ring(Duration::from_secs(3), &stop, threads, &ring);
        let names = names.lock().unwrap();
        assert!(names.len() > 50 && ops.load(Ordering::Relaxed) > 5000, "too little work to mean anything");
        for (kind, name) in names.iter() {
            // SAFETY: NUL-terminated name.
            let h = unsafe {
                match kind {
                    0 => OpenEventA(ALL, FALSE, name.as_ptr()),
                    1 => OpenSemaphoreA(ALL, FALSE, name.as_ptr()),
                    _ => filemap_win32::sync::OpenMutexA(0x001F_0001, FALSE, name.as_ptr()),
                }
            };
            assert!(h.is_null(), "{name:?} still exists after its last handle closed");
            assert_eq!(GetLastError(), ERROR_FILE_NOT_FOUND, "{name:?}");
        }
    });
}

/// The sync fast paths' wake-ups across processes: `publish` reads the waiter count first and
/// bumps the futex word only when somebody is registered, so a waiter that registers just as
/// the other process signals must still see the change or be woken. A child blocks with
/// `INFINITE` (one handle, or wait-any) on an event or a semaphore the parent signals, and
/// answers through a semaphore the parent waits on (one handle or wait-any, with a 10 s bound):
/// thousands of round trips, each a fresh race between a registration and a publish. A lost
/// wake-up shows as a round trip that never ends.
#[test]
fn waiters_in_another_process_are_always_woken_by_set_event_and_release_semaphore() {
    isolated("waiters_in_another_process_are_always_woken_by_set_event_and_release_semaphore", LIMIT, || {
        const ROUNDS: usize = 30_000;
        let (en, sn, an, nn, mn) =
            (cname("pp-event"), cname("pp-sem"), cname("pp-ack"), cname("pp-never"), cname("pp-manual"));
        let e = event(Some(&en), false, false);
        let s = semaphore(Some(&sn), 0, 1);
        let ack = semaphore(Some(&an), 0, 1);
        let never = event(Some(&nn), true, false);
        let manual = event(Some(&mn), true, false);
        let rounds = ROUNDS.to_string();
        let args = [
            en.to_str().unwrap(),
            sn.to_str().unwrap(),
            an.to_str().unwrap(),
            nn.to_str().unwrap(),
            mn.to_str().unwrap(),
            &rounds,
        ];
        let mut child = selfexec::Child::spawn("pingpong", &args);
        child.expect("READY");
        let pair = [never, ack];
        let mut rng = Rng(0x7777_1234);
        for i in 0..ROUNDS {
            // A varying pause, so that the signal lands anywhere in the child's way into its
            // sleep (registered but not yet asleep is the window a lost wake-up needs).
            spin_for(Duration::from_nanos((rng.next() % 15_000) as u64));
            // What the child waits for in round i (see `pingpong`).
            let (set_event, set_manual, release) = match i % 5 {
                0 => (true, false, false),
                1 => (false, false, true),
                2 | 3 => (false, true, false),
                _ => (false, true, true),
            };
            if set_event {
                assert_eq!(SetEvent(e), TRUE);
            }
            if set_manual {
                assert_eq!(SetEvent(manual), TRUE);
            }
            if release {
                // SAFETY: NULL previous count.
                assert_eq!(unsafe { ReleaseSemaphore(s, 1, std::ptr::null_mut()) }, TRUE, "round {i}");
            }
            let r = if i % 2 == 0 {
                WaitForSingleObject(ack, 10_000)
            } else {
                // SAFETY: `pair` holds 2 handles.
                match unsafe { WaitForMultipleObjects(2, pair.as_ptr(), FALSE, 10_000) } {
                    1 => 0,
                    other => other,
                }
            };
            assert_eq!(r, 0, "round {i}: no answer within 10 s (a lost wake-up on one side)");
        }
        child.expect("DONE");
        child.finish();
        for h in [e, s, ack, never, manual] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

/// Busy-waits for `d` (a sleep would be far longer than the windows aimed at).
fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// The child of `waiters_in_another_process_...`: waits `rounds` times with `INFINITE`.
fn pingpong(args: &[String]) {
    let name = |i: usize| CString::new(args[i].as_str()).unwrap();
    // SAFETY: NUL-terminated names.
    let (e, s, ack, never, manual) = unsafe {
        (
            OpenEventA(ALL, FALSE, name(0).as_ptr()),
            OpenSemaphoreA(ALL, FALSE, name(1).as_ptr()),
            OpenSemaphoreA(ALL, FALSE, name(2).as_ptr()),
            OpenEventA(ALL, FALSE, name(3).as_ptr()),
            OpenEventA(ALL, FALSE, name(4).as_ptr()),
        )
    };
    assert!(![e, s, ack, never, manual].iter().any(|h| h.is_null()), "open: {}", GetLastError());
    let rounds: usize = args[5].parse().unwrap();
    let infinite = filemap_win32::INFINITE;
    let many = |hs: &[HANDLE], all: bool| {
        // SAFETY: `hs` holds `hs.len()` handles.
        unsafe { WaitForMultipleObjects(hs.len() as u32, hs.as_ptr(), all as i32, infinite) }
    };
    selfexec::say("READY");
    let mut rng = Rng(0x5151_2323);
    for i in 0..rounds {
        // A varying pause before the wait, so that the parent's signal (sent as soon as it has
        // our last answer) lands anywhere in our way into the sleep.
        spin_for(Duration::from_nanos((rng.next() % 2_000) as u64));
        // Queued waits (auto-reset event, semaphore: the release hands off) and sleeps on the
        // object's futex word (manual-reset event, wait-all: the set bumps it if registered).
        let r = match i % 5 {
            0 => WaitForSingleObject(e, infinite),
            1 if i % 2 == 0 => WaitForSingleObject(s, infinite),
            1 => many(&[never, s], false).wrapping_sub(1),
            2 => WaitForSingleObject(manual, infinite),
            3 => many(&[never, manual], false).wrapping_sub(1),
            _ => many(&[manual, s], true),
        };
        assert_eq!(r, 0, "round {i}: wait result {r:#x}");
        if i % 5 >= 2 {
            assert_eq!(filemap_win32::sync::ResetEvent(manual), TRUE);
        }
        // SAFETY: NULL previous count.
        assert_eq!(unsafe { ReleaseSemaphore(ack, 1, std::ptr::null_mut()) }, TRUE, "round {i}");
    }
    selfexec::say("DONE");
}

/// Wait-any's first pass (the lock-free one) keeps Windows' rules: the lowest signaled index
/// wins and only it is consumed; an invalid handle or one without `SYNCHRONIZE` anywhere fails
/// the whole wait and consumes nothing; an abandoned mutex gives `WAIT_ABANDONED_0 + i`; a mutex
/// the thread owns is taken again (recursion); another thread's mutex is skipped; a due waitable
/// timer at a lower index wins over a signaled event.
#[test]
fn wait_any_first_pass_keeps_windows_rules_for_index_errors_mutexes_and_timers() {
    isolated("wait_any_first_pass_keeps_windows_rules_for_index_errors_mutexes_and_timers", LIMIT, || {
        const ERROR_ACCESS_DENIED: u32 = 5;
        const ERROR_NOT_OWNER: u32 = 288;
        const EVENT_MODIFY_STATE: u32 = 2;
        let prev_count = |sem: HANDLE| {
            let mut prev = -1;
            // SAFETY: `prev` is writable.
            assert_eq!(unsafe { ReleaseSemaphore(sem, 1, &mut prev) }, TRUE);
            assert_eq!(WaitForSingleObject(sem, 0), 0); // take the unit back
            prev
        };
        // The lowest signaled index, and only it.
        let a = event(None, false, false);
        let b = event(None, false, true);
        let c = event(None, false, true);
        let s = semaphore(None, 2, 3);
        assert_eq!(any(&[a, b, c, s]), 1);
        assert_eq!(WaitForSingleObject(b, 0), WAIT_TIMEOUT, "b consumed");
        assert_eq!(prev_count(s), 2, "s untouched");
        assert_eq!(any(&[a, b, c, s]), 2);
        assert_eq!(any(&[a, b, c, s]), 3);
        assert_eq!(prev_count(s), 1, "s gave one unit");
        // An invalid handle anywhere: the whole wait fails, nothing consumed.
        let gone = event(None, false, false);
        assert_eq!(CloseHandle(gone), TRUE);
        assert_eq!(SetEvent(c), TRUE);
        assert_eq!(any(&[c, s, gone]), WAIT_FAILED);
        assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
        assert_eq!(prev_count(s), 1, "s consumed by a failed wait");
        assert_eq!(WaitForSingleObject(c, 0), 0, "c consumed by a failed wait");
        // A handle without SYNCHRONIZE anywhere: ERROR_ACCESS_DENIED, nothing consumed.
        let named = cname("nosync");
        let full = event(Some(&named), false, true);
        // SAFETY: NUL-terminated name.
        let nosync = unsafe { OpenEventA(EVENT_MODIFY_STATE, FALSE, named.as_ptr()) };
        assert!(!nosync.is_null(), "OpenEventA: {}", GetLastError());
        assert_eq!(any(&[full, nosync]), WAIT_FAILED);
        assert_eq!(GetLastError(), ERROR_ACCESS_DENIED);
        assert_eq!(any(&[nosync, full]), WAIT_FAILED);
        assert_eq!(GetLastError(), ERROR_ACCESS_DENIED);
        assert_eq!(WaitForSingleObject(full, 0), 0, "the event was consumed by a failed wait");
        // An abandoned mutex (its owner thread exited holding it) at index 1.
        // SAFETY: NULL attributes and name.
        let m = unsafe { CreateMutexA(std::ptr::null(), FALSE, std::ptr::null()) };
        assert!(!m.is_null());
        let mv = m as usize;
        std::thread::spawn(move || assert_eq!(WaitForSingleObject(mv as HANDLE, 0), 0)).join().unwrap();
        let later = event(None, false, true);
        assert_eq!(any(&[a, m, later]), 0x80 + 1, "WAIT_ABANDONED_0 + 1");
        assert_eq!(WaitForSingleObject(later, 0), 0, "a later index consumed");
        // Now ours, once: a second wait-any recurses (index 1 again, signaled this time).
        assert_eq!(any(&[a, m]), 1);
        assert_eq!(ReleaseMutex(m), TRUE);
        assert_eq!(ReleaseMutex(m), TRUE);
        assert_eq!(ReleaseMutex(m), FALSE);
        assert_eq!(GetLastError(), ERROR_NOT_OWNER);
        // Another thread's mutex is not available: the next index wins.
        let (go_tx, owner) = hold_mutex_in_another_thread(m);
        assert_eq!(SetEvent(later), TRUE);
        assert_eq!(any(&[m, later]), 1);
        assert_eq!(any(&[m, a]), WAIT_TIMEOUT);
        go_tx.send(()).unwrap();
        owner.join().unwrap();
        // A due waitable timer at a lower index than a signaled event.
        // SAFETY: NULL attributes and name.
        let t = unsafe { filemap_win32::sync::CreateWaitableTimerA(std::ptr::null(), TRUE, std::ptr::null()) };
        assert!(!t.is_null());
        let due: i64 = -1; // 100 ns from now
        // SAFETY: `due` is readable; no completion routine.
        assert_eq!(unsafe { filemap_win32::sync::SetWaitableTimer(t, &due, 0, None, std::ptr::null(), FALSE) }, TRUE);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(SetEvent(later), TRUE);
        assert_eq!(any(&[a, t, later]), 1, "the due timer at index 1");
        assert_eq!(WaitForSingleObject(later, 0), 0, "the event after the timer was consumed");
        for h in [a, b, c, s, full, nosync, m, later, t] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

/// Wait-any's first pass reads the table's first chunk (descriptors below 4096) directly and
/// every other handle through the general lookup: handles on both sides of that line, in any
/// order, are found at their index, and a closed one past the line still fails the wait.
#[test]
fn wait_any_finds_handles_past_the_first_chunk_of_the_table() {
    isolated("wait_any_finds_handles_past_the_first_chunk_of_the_table", LIMIT, || {
        let lim = raise_descriptor_limit();
        assert!(lim >= 4200, "the test needs 4,200 descriptors (hard limit {lim})");
        let low = event(None, false, false);
        // Fill the descriptors up to 4100, so the next handles land in the second chunk.
        let fillers = fill_descriptors_through(4100);
        let high = event(None, false, false);
        let high2 = event(None, false, false);
        drop(fillers);
        assert!(high as usize / 4 > 4096 && high2 as usize / 4 > 4096, "{high:?} {high2:?}");
        assert_eq!(any(&[low, high, high2]), WAIT_TIMEOUT);
        assert_eq!(SetEvent(high2), TRUE);
        assert_eq!(any(&[low, high, high2]), 2);
        assert_eq!(SetEvent(high), TRUE);
        assert_eq!(SetEvent(low), TRUE);
        assert_eq!(any(&[high2, high, low]), 1, "the lowest signaled index, past the line");
        assert_eq!(any(&[high2, low]), 1);
        assert_eq!(CloseHandle(high2), TRUE);
        assert_eq!(SetEvent(low), TRUE);
        assert_eq!(any(&[low, high2]), WAIT_FAILED, "a closed handle past the line fails the wait");
        assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
        assert_eq!(WaitForSingleObject(low, 0), 0, "nothing consumed by the failed wait");
        for h in [low, high] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

/// `DuplicateHandle` asking for an inheritable handle while another thread toggles the source's
/// `HANDLE_FLAG_INHERIT`: the duplicate is always a handle of its own (another value), and both
/// close. (The duplicate once took over the source's own descriptor when the source had just
/// become inheritable: the same value came back, and one of the two closes failed.)
#[test]
fn an_inheritable_duplicate_made_while_the_source_turns_inheritable_is_a_handle_of_its_own() {
    isolated("an_inheritable_duplicate_made_while_the_source_turns_inheritable_is_a_handle_of_its_own", LIMIT, || {
        let name = cname("dup-flip");
        let src = event(Some(&name), true, false);
        let stop = Arc::new(AtomicBool::new(false));
        let flipper = {
            let (stop, src) = (stop.clone(), src as usize);
            std::thread::spawn(move || {
                let mut on = false;
                while !stop.load(Ordering::Relaxed) {
                    on = !on;
                    let flags = if on { HANDLE_FLAG_INHERIT } else { 0 };
                    assert_eq!(SetHandleInformation(src as HANDLE, HANDLE_FLAG_INHERIT, flags), TRUE);
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut made = 0;
        while Instant::now() < deadline {
            let dup = duplicate(src, true).expect("DuplicateHandle");
            assert_ne!(dup, src, "the duplicate took the source's value");
            assert_eq!(CloseHandle(dup), TRUE, "closing the duplicate: {}", GetLastError());
            made += 1;
        }
        stop.store(true, Ordering::Relaxed);
        flipper.join().unwrap();
        assert_eq!(CloseHandle(src), TRUE, "closing the source: {}", GetLastError());
        assert!(made > 100, "only {made} duplicates in 2 s");
        assert_event_gone(&name);
    });
}

/// The table keeps each event's and semaphore's probe (its state word) beside the slot, and
/// wait-any's first pass reads only that: the probe must live and die with its handle. A
/// descriptor number reused by a mapping, by an unsignaled event, by a mutex, or changed by
/// `SetHandleInformation`, never answers with the closed handle's signaled state.
#[test]
fn a_slot_reused_after_close_never_answers_a_wait_any_with_the_closed_objects_state() {
    isolated("a_slot_reused_after_close_never_answers_a_wait_any_with_the_closed_objects_state", LIMIT, || {
        let other = event(None, true, false);
        let signaled = event(None, true, true);
        assert_eq!(any(&[other, signaled]), 1);
        assert_eq!(CloseHandle(signaled), TRUE);
        // The lowest free descriptor: the closed event's.
        // SAFETY: no attributes, no name: an unnamed 4 KiB mapping.
        let mapping = unsafe {
            CreateFileMappingA(INVALID_HANDLE_VALUE, std::ptr::null(), PAGE_READWRITE, 0, 4096, std::ptr::null())
        };
        assert_eq!(mapping, signaled, "the mapping took the closed event's slot");
        assert_eq!(any(&[other, mapping]), WAIT_FAILED, "a mapping is not waitable");
        assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
        assert_eq!(CloseHandle(mapping), TRUE);
        let unsignaled = event(None, false, false);
        assert_eq!(unsignaled, signaled, "the new event took the same slot");
        assert_eq!(any(&[unsignaled]), WAIT_TIMEOUT);
        assert_eq!(any(&[other, unsignaled]), WAIT_TIMEOUT);
        // A flag change republishes the entry: its probe follows.
        assert_eq!(SetHandleInformation(unsignaled, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT), TRUE);
        assert_eq!(any(&[other, unsignaled]), WAIT_TIMEOUT);
        assert_eq!(SetEvent(unsignaled), TRUE);
        assert_eq!(any(&[other, unsignaled]), 1);
        assert_eq!(any(&[other, unsignaled]), WAIT_TIMEOUT, "auto-reset: consumed");
        assert_eq!(SetEvent(unsignaled), TRUE);
        assert_eq!(CloseHandle(unsignaled), TRUE);
        // A mutex in the slot: owned by another thread, so not available; then free, so taken.
        // SAFETY: NULL attributes and name.
        let m = unsafe { CreateMutexA(std::ptr::null(), FALSE, std::ptr::null()) };
        assert_eq!(m, signaled, "the mutex took the same slot");
        let (go_tx, owner) = hold_mutex_in_another_thread(m);
        assert_eq!(any(&[m]), WAIT_TIMEOUT, "another thread's mutex");
        assert_eq!(any(&[m, other]), WAIT_TIMEOUT);
        go_tx.send(()).unwrap();
        owner.join().unwrap();
        assert_eq!(any(&[other, m]), 1, "free now");
        assert_eq!(ReleaseMutex(m), TRUE);
        for h in [m, other] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

/// Wait-any's first pass reads the first chunk's probes at the slot number modulo the chunk, and
/// only afterwards sends a call with any handle past the chunk to the general path: a handle
/// whose number wraps onto another event's slot is answered by its own object, for its index
/// (the lowest signaled one wins) and for its validity (a closed one fails the wait).
#[test]
fn a_handle_past_the_first_chunk_is_never_answered_by_the_slot_it_wraps_onto() {
    isolated("a_handle_past_the_first_chunk_is_never_answered_by_the_slot_it_wraps_onto", LIMIT, || {
        let lim = raise_descriptor_limit();
        let x = event(None, true, true); // manual-reset, signaled: it stays so
        let low = event(None, true, false); // manual-reset, not signaled
        let low_slot = low as usize / 4 - 1;
        assert!(lim as usize >= low_slot + 4200, "the test needs {} descriptors", low_slot + 4200);
        // Fill every descriptor below low's slot + 4096, so the next handle lands there.
        let fillers = fill_descriptors_through(low_slot + 4095);
        let high = event(None, false, false); // auto-reset
        drop(fillers);
        assert_eq!(high as usize / 4 - 1, low_slot + 4096, "high wraps onto low's slot");
        // high signaled, its wrapped slot not: index 0 wins over x.
        assert_eq!(SetEvent(high), TRUE);
        assert_eq!(any(&[high, x]), 0);
        assert_eq!(any(&[high, x]), 1, "high was consumed");
        // Its wrapped slot signaled, high not: high is not taken.
        assert_eq!(SetEvent(low), TRUE);
        assert_eq!(any(&[high]), WAIT_TIMEOUT);
        assert_eq!(any(&[high, low]), 1);
        // Closed, while its wrapped slot holds a valid event: the wait fails.
        assert_eq!(CloseHandle(high), TRUE);
        assert_eq!(any(&[x, high]), WAIT_FAILED);
        assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
        for h in [x, low] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

/// Only a descriptor that was open without `FD_CLOEXEC` when the library was loaded (what `exec`
/// passed) is adopted as an inherited handle. One this process made inheritable since — here by
/// hand; in the library, the descriptor of a handle being created or duplicated as inheritable,
/// before its entry is published — is not: adopting it gave its number two owners, and the
/// churn test above lost handles (`CloseHandle` of a handle it owned failed, one run in two
/// under load).
#[test]
fn a_descriptor_made_inheritable_after_load_is_never_adopted_as_a_handle() {
    isolated("a_descriptor_made_inheritable_after_load_is_never_adopted_as_a_handle", LIMIT, || {
        let path = std::env::temp_dir().join(filemap_testkit::root::unique("adopt-late"));
        let file = std::fs::File::create(&path).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: clearing FD_CLOEXEC on a descriptor this test owns.
        assert_eq!(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }, 0);
        let h = filemap_win32::handles::value_of(fd);
        assert_eq!(flags_of(h), None, "a descriptor made inheritable after load was adopted");
        assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
        assert_eq!(CloseHandle(h), FALSE);
        assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
        // The descriptor is still the test's own: CloseHandle did not close it.
        // SAFETY: querying a descriptor this test owns.
        assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, 0);
        drop(file);
        std::fs::remove_file(&path).unwrap();
    });
}

/// Takes mutex `m` in a new thread and returns once that thread owns it; a send on the returned
/// channel makes it release, then the thread ends.
fn hold_mutex_in_another_thread(m: HANDLE) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let mv = m as usize;
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let owner = std::thread::spawn(move || {
        assert_eq!(WaitForSingleObject(mv as HANDLE, 0), 0);
        held_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        assert_eq!(ReleaseMutex(mv as HANDLE), TRUE);
    });
    held_rx.recv().unwrap();
    (go_tx, owner)
}

/// `WaitForMultipleObjects` on `hs`, wait-any, without waiting.
fn any(hs: &[HANDLE]) -> u32 {
    // SAFETY: `hs` holds `hs.len()` handles.
    unsafe { WaitForMultipleObjects(hs.len() as u32, hs.as_ptr(), FALSE, 0) }
}

/// Raises the soft limit on descriptors to the hard one, at most 8192; returns it.
fn raise_descriptor_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit to fill, then to read.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max.min(8192);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    lim.rlim_cur
}

/// Takes every free descriptor up to and including `last` (copies of [`low_fd`]), so the next
/// handle made lands after it; dropping the result gives them back.
fn fill_descriptors_through(last: usize) -> Vec<std::os::fd::OwnedFd> {
    let mut fillers = Vec::new();
    loop {
        // SAFETY: dup of an open descriptor: no memory involved.
        let fd = unsafe { libc::dup(low_fd()) };
        assert!(fd >= 0, "dup: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` was just opened by this process and is owned by nothing else.
        fillers.push(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        if fd as usize >= last {
            return fillers;
        }
    }
}

/// A descriptor to duplicate: stdin may be closed in a test child, so /dev/null, kept open.
fn low_fd() -> i32 {
    static FD: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    // SAFETY: opening /dev/null read-only with a NUL-terminated path.
    *FD.get_or_init(|| unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

/// Several processes sleep (`INFINITE`, one handle or wait-any) on one semaphore; the parent
/// releases units one at a time or all at once (`ReleaseSemaphore(n)` hands units to queued
/// waiters): every unit must wake exactly one waiter, round after round, or a round never ends.
#[test]
fn every_unit_released_wakes_one_of_several_sleeping_processes() {
    isolated("every_unit_released_wakes_one_of_several_sleeping_processes", LIMIT, || {
        const CHILDREN: usize = 3;
        const ROUNDS: usize = 10_000;
        let (sn, an, nn) = (cname("multi-sem"), cname("multi-ack"), cname("multi-never"));
        let s = semaphore(Some(&sn), 0, CHILDREN as i32);
        let ack = semaphore(Some(&an), 0, CHILDREN as i32);
        let never = event(Some(&nn), true, false);
        let rounds = ROUNDS.to_string();
        let mut children: Vec<_> = (0..CHILDREN)
            .map(|_| {
                let args = [sn.to_str().unwrap(), an.to_str().unwrap(), nn.to_str().unwrap(), &rounds];
                let mut c = selfexec::Child::spawn("sem-waiter", &args);
                c.expect("READY");
                c
            })
            .collect();
        let mut rng = Rng(0x4242_9876);
        for i in 0..ROUNDS {
            spin_for(Duration::from_nanos((rng.next() % 40_000) as u64));
            if i % 2 == 0 {
                // SAFETY: NULL previous count.
                assert_eq!(unsafe { ReleaseSemaphore(s, CHILDREN as i32, std::ptr::null_mut()) }, TRUE, "round {i}");
            } else {
                for _ in 0..CHILDREN {
                    // SAFETY: NULL previous count.
                    assert_eq!(unsafe { ReleaseSemaphore(s, 1, std::ptr::null_mut()) }, TRUE, "round {i}");
                }
            }
            for k in 0..CHILDREN {
                let r = WaitForSingleObject(ack, 10_000);
                assert_eq!(r, 0, "round {i}: answer {k} missing after 10 s (a unit that woke nobody)");
            }
        }
        for c in &mut children {
            c.expect("DONE");
        }
        for c in children {
            c.finish();
        }
        assert_eq!(WaitForSingleObject(s, 0), WAIT_TIMEOUT, "a unit left over");
        for h in [s, ack, never] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

/// The child of `every_unit_released_...`: takes `rounds` units, answering each through `ack`.
/// A fast child may take a sibling's unit of a round: the units released in all equal the
/// waits of all children, so every wait ends unless a wake-up is lost.
fn sem_waiter(args: &[String]) {
    let name = |i: usize| CString::new(args[i].as_str()).unwrap();
    // SAFETY: NUL-terminated names.
    let (s, ack, never) = unsafe {
        (
            OpenSemaphoreA(ALL, FALSE, name(0).as_ptr()),
            OpenSemaphoreA(ALL, FALSE, name(1).as_ptr()),
            OpenEventA(ALL, FALSE, name(2).as_ptr()),
        )
    };
    assert!(!s.is_null() && !ack.is_null() && !never.is_null(), "open: {}", GetLastError());
    let rounds: usize = args[3].parse().unwrap();
    selfexec::say("READY");
    for i in 0..rounds {
        let r = if i % 2 == 0 {
            WaitForSingleObject(s, filemap_win32::INFINITE)
        } else {
            let hs = [never, s];
            // SAFETY: `hs` holds 2 handles.
            match unsafe { WaitForMultipleObjects(2, hs.as_ptr(), FALSE, filemap_win32::INFINITE) } {
                1 => 0,
                other => other,
            }
        };
        assert_eq!(r, 0, "round {i}: wait result {r:#x}");
        // SAFETY: NULL previous count.
        assert_eq!(unsafe { ReleaseSemaphore(ack, 1, std::ptr::null_mut()) }, TRUE, "round {i}");
    }
    selfexec::say("DONE");
}

/// A mutex abandoned by another process (killed with `SIGKILL` while it owned it) at index 1 of
/// a wait-any: the first pass gives `WAIT_ABANDONED_0 + 1`, consumes nothing else, and the mutex
/// is the caller's (released once).
#[test]
fn wait_any_reports_a_mutex_abandoned_by_a_killed_process_at_its_index() {
    isolated("wait_any_reports_a_mutex_abandoned_by_a_killed_process_at_its_index", LIMIT, || {
        const ERROR_NOT_OWNER: u32 = 288;
        let mn = cname("abandoned");
        // SAFETY: NULL attributes, NUL-terminated name.
        let m = unsafe { CreateMutexA(std::ptr::null(), FALSE, mn.as_ptr()) };
        assert!(!m.is_null());
        let mut child = selfexec::Child::spawn("hold-mutex", &[mn.to_str().unwrap()]);
        child.expect("HELD");
        child.kill();
        let a = event(None, false, false);
        let later = event(None, false, true);
        let hs = [a, m, later];
        // The owner is gone; the kernel marks the robust futex at once (give it a moment).
        let start = Instant::now();
        let r = loop {
            // SAFETY: `hs` holds 3 handles.
            let r = unsafe { WaitForMultipleObjects(3, hs.as_ptr(), FALSE, 0) };
            if r != 2 || start.elapsed() > Duration::from_secs(10) {
                break r;
            }
            // Index 2 won while the mutex still looked owned: put the event back, try again.
            assert_eq!(SetEvent(later), TRUE);
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(r, 0x80 + 1, "WAIT_ABANDONED_0 + 1");
        assert_eq!(WaitForSingleObject(later, 0), 0, "a later index was consumed");
        assert_eq!(ReleaseMutex(m), TRUE);
        assert_eq!(ReleaseMutex(m), FALSE);
        assert_eq!(GetLastError(), ERROR_NOT_OWNER);
        for h in [a, later, m] {
            assert_eq!(CloseHandle(h), TRUE);
        }
    });
}

fn hold_mutex(args: &[String]) {
    let name = CString::new(args[0].as_str()).unwrap();
    // SAFETY: NUL-terminated name.
    let m = unsafe { filemap_win32::sync::OpenMutexA(0x001F_0001, FALSE, name.as_ptr()) };
    assert!(!m.is_null(), "open: {}", GetLastError());
    assert_eq!(WaitForSingleObject(m, 10_000), 0);
    selfexec::say("HELD");
    std::thread::sleep(Duration::from_secs(60));
}

/// Iterations of `create_and_close_forever` (all its threads).
static DOOMED_ITERATIONS: AtomicU64 = AtomicU64::new(0);

unsafe extern "system" fn create_and_close_forever(parameter: *mut std::ffi::c_void) -> u32 {
    let name = cname(&format!("doomed-{}", parameter as usize));
    loop {
        let h = event(Some(&name), false, false);
        assert_eq!(CloseHandle(h), TRUE);
        DOOMED_ITERATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

/// `TerminateThread` of a thread that is inside `CloseHandle` or a create (holding the handle
/// table's lock): on Windows the kernel's handle table is never left locked, and the process
/// goes on creating and closing handles. The target is parked in a signal handler; if it is
/// parked while it holds the table's lock, every later create or close of the process hangs.
#[test]
fn terminating_a_thread_inside_close_handle_leaves_the_table_usable() {
    isolated("terminating_a_thread_inside_close_handle_leaves_the_table_usable", LIMIT, || {
        for round in 0..40usize {
            // SAFETY: a valid start routine; NULL attributes and thread id.
            let t = unsafe {
                filemap_win32::thread::CreateThread(
                    std::ptr::null(),
                    0,
                    Some(create_and_close_forever),
                    round as *mut std::ffi::c_void,
                    0,
                    std::ptr::null_mut(),
                )
            };
            assert!(!t.is_null(), "round {round}: CreateThread");
            std::thread::sleep(Duration::from_millis(3));
            assert_eq!(filemap_win32::thread::TerminateThread(t, 7), TRUE);
            assert_eq!(WaitForSingleObject(t, 10_000), 0, "round {round}: the thread handle is not signaled");
            // It stops for good (at once, or when it leaves the table's locked section).
            std::thread::sleep(Duration::from_millis(20));
            let seen = DOOMED_ITERATIONS.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(DOOMED_ITERATIONS.load(Ordering::SeqCst), seen, "round {round}: the thread still runs");
            let start = Instant::now();
            let h = event(None, false, false);
            assert_eq!(CloseHandle(h), TRUE, "round {round}");
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "round {round}: create + close took {:?}",
                start.elapsed()
            );
            assert_eq!(CloseHandle(t), TRUE, "round {round}");
        }
    });
}

#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    selfexec::child_main(|role, args| match role {
        "pingpong" => pingpong(args),
        "sem-waiter" => sem_waiter(args),
        "hold-mutex" => hold_mutex(args),
        other => panic!("unknown role {other} {args:?}"),
    });
}
