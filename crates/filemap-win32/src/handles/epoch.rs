//! Epoch pins: how a thread reads handle-table entries without taking a lock or writing a
//! shared cache line, while another thread may be closing those handles.
//!
//! # Protocol
//!
//! Each thread that reads the table owns a [`Record`] with one word, `pinned` (records live in
//! a global push-only list and are never freed; a record whose thread exited is reused by the
//! next new thread). A global counter `EPOCH` starts at 1 and only grows.
//!
//! A reader *pins* before it loads any table slot: it stores the current `EPOCH` in its
//! `pinned` word and executes a *light barrier*. Every entry it then loads from the table stays
//! valid (not freed, not changed) until it *unpins* by storing 0 (`Release`). One pin covers
//! any number of loads: a wait on 64 handles pins once. A pin taken while the thread is already
//! pinned changes nothing (the outer pin stays in force until the outer unpin).
//!
//! A writer that takes an entry `p` out of the table (close, or an in-place change):
//! 1. swaps the table slot to null (or to a new entry), with `SeqCst`;
//! 2. advances `EPOCH` to `e` (`SeqCst`);
//! 3. executes a *heavy barrier*;
//! 4. waits while any other thread's `pinned` word holds a value in `1 .. e` (a pin older
//!    than the swap). Readers are pinned only across short calls that never block and never
//!    take the table's lock (a blocking wait first takes a real reference, `Arc`, and unpins).
//!
//! Then `p` is the writer's alone: it may change it, free it or publish it again.
//!
//! Why it is sound. A reader pinned with a value `>= e` loaded `EPOCH` (with `Acquire`) from
//! the writer's step 2 or later, so its later load of the slot comes after the swap and cannot
//! return `p`. A reader pinned with an older value: the two barriers pair up like the two
//! halves of a full fence, so either its `pinned` store is visible to the writer's step 4 (the
//! writer waits until it unpins, and the unpin's `Release` orders every read of `p` before it),
//! or its load of the slot comes after the swap and does not return `p`. Either way no reader
//! goes on with `p` unseen. (This is the quiescent-state scheme of userspace RCU's membarrier
//! flavour, with the grace period limited to the pins older than the swap.)
//!
//! - With `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (Linux 4.14+), the light barrier is a
//!   compiler fence only (no instruction at all) and the heavy one is the system call, which
//!   makes every running thread of the process execute a full fence: reads cost two plain
//!   stores, and the writer, who is about to make system calls anyway (close, unlink), pays.
//!   The process registers for the command once, when a writer first needs it: registering
//!   waits for an RCU grace period (2-15 ms measured here), which a program whose handles only
//!   one thread reads never pays, and the first `WaitForSingleObject` no longer does.
//! - Without it (seccomp, old kernels) both are `fence(SeqCst)`.
//!
//! A writer skips steps 2-4 when no other thread ever made a record (a single-threaded program
//! pays nothing): a thread makes its record with a `SeqCst` read-modify-write of the record
//! count followed by a `SeqCst` fence before its first pin, and the writer reads the count with
//! `SeqCst` after its `SeqCst` swap, so if the writer did not see the new record, the new
//! thread's first slot load sees the swap.
//!
//! A writer must not itself be pinned (it would wait for itself): writers run only outside
//! the read paths, which never take the table's lock while pinned.
//!
//! What a writer may wait for. A pin covers the whole table, so `CloseHandle` waits for every
//! other thread's call in progress, not only for calls on the handle it closes. Those calls
//! never sleep: a release or set that hands a unit to a queued waiter makes its futex wake-up,
//! and the zero-timeout first pass of a wait-all waits out another process's claim on one of
//! its objects for at most the claim bound (`CLAIM_BREAK`, 100 ms, in the core), as any
//! operation on that object would. So a close is delayed by at most that bound by what another
//! process does (S7), and in the uncontended case by a few hundred nanoseconds.

//!
//! # Signal handlers, `fork`, `TerminateThread` (review, issue 16)
//!
//! - A signal handler may make the lock-free calls (`SetEvent`, `ReleaseSemaphore`,
//!   `ReleaseMutex`, zero-timeout waits) on handles that are valid and that no thread closes or
//!   changes meanwhile, even if it interrupted its thread inside such a call: its pin is nested
//!   and leaves the interrupted one in force (test `a_signal_handler_calling_in_while_its_thread_
//!   is_inside_a_call_neither_breaks_nor_blocks_it` in `tests/handle_table_attacks.rs`). Anything
//!   that takes the table's lock is not async-signal-safe: a call on an invalid, closing or
//!   not yet adopted handle, `CloseHandle`, a create or an open. If the interrupted thread is
//!   pinned, such a call waits for the lock while the lock's holder, a `CloseHandle` on any
//!   other thread, waits for the interrupted pin: both hang for good (measured: within seconds
//!   with one closing thread). A writer in a handler (`CloseHandle`) skips its own record, so
//!   closing the handle the interrupted call is using frees the entry under it.
//! - `fork`: the forking thread holds the table's lock across the fork (`handles.rs`), and the
//!   child forgets every other thread's pin ([`forget_other_threads`]).
//! - `TerminateThread` parks its target for good: [`abandon`] drops the target's pin, and a
//!   target inside a change of the table (holding its lock) or a `CloseHandle` defers the park
//!   to the end of that section (`handles::Deferred`), else every later writer would hang.

#![allow(unsafe_code)] // membarrier registration and the thread's record pointer

use std::cell::Cell;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, compiler_fence, fence};

/// One thread's pin, on a cache line of its own (writers read it; only its thread writes it).
#[repr(align(64))]
pub struct Record {
    /// 0: not pinned; else the `EPOCH` value the thread saw when it pinned.
    pinned: AtomicU64,
    next: AtomicPtr<Record>,
    in_use: AtomicBool,
}

static HEAD: AtomicPtr<Record> = AtomicPtr::new(ptr::null_mut());
/// Records ever made (they are never freed, only reused).
static RECORDS: AtomicUsize = AtomicUsize::new(0);
/// The global epoch: never 0, only grows.
static EPOCH: AtomicU64 = AtomicU64::new(1);

const MODE_UNKNOWN: u8 = 0;
const MODE_MEMBARRIER: u8 = 1;
const MODE_FENCE: u8 = 2;
static MODE: AtomicU8 = AtomicU8::new(MODE_UNKNOWN);
static MODE_ONCE: Once = Once::new();

/// Whether the kernel offers the private expedited barrier, decided once, before the first pin
/// (a cheap query: the registration itself, which can take milliseconds because the kernel waits
/// for an RCU grace period, is left to the first writer that needs the barrier,
/// [`heavy_barrier`]; a single-threaded program never makes it).
fn mode() -> u8 {
    MODE_ONCE.call_once(|| {
        use rustix::thread::MembarrierQuery as Q;
        let q = rustix::thread::membarrier_query();
        let ok = q.contains(Q::PRIVATE_EXPEDITED | Q::REGISTER_PRIVATE_EXPEDITED);
        MODE.store(if ok { MODE_MEMBARRIER } else { MODE_FENCE }, Ordering::SeqCst);
        // SAFETY: registering a handler is always sound; `forget_other_threads` is a plain
        // function that lives forever and only touches atomics and thread-locals.
        unsafe { libc::pthread_atfork(None, None, Some(forget_other_threads)) };
    });
    MODE.load(Ordering::Relaxed)
}

/// In the child of a `fork`, only the forking thread exists: pins that other threads held at
/// the moment of the fork would never be dropped and would make a `CloseHandle` wait forever.
/// Frees every record but the calling thread's. (A membarrier registration is per process and
/// is inherited by the child.)
extern "C" fn forget_other_threads() {
    let mine = my_record();
    let mut r = HEAD.load(Ordering::Acquire);
    while !r.is_null() {
        // SAFETY: records are leaked, never freed.
        let rec = unsafe { &*r };
        if !ptr::eq(rec, mine) {
            rec.pinned.store(0, Ordering::Relaxed);
            rec.in_use.store(false, Ordering::Release);
        }
        r = rec.next.load(Ordering::Acquire);
    }
}

/// Gives the thread's record back when the thread exits.
struct Release(&'static Record);

impl Drop for Release {
    fn drop(&mut self) {
        set_my_record(ptr::null());
        self.0.pinned.store(0, Ordering::Release);
        self.0.in_use.store(false, Ordering::Release);
    }
}

thread_local! {
    /// Registered on first use; its destructor releases the record.
    static RELEASE: Cell<Option<Release>> = const { Cell::new(None) };
}

/// The thread's record (null until its first pin, and again once it exits): kept in the
/// library's per-thread word for this crate (`filemap::fast_tls`, initial-exec TLS: no
/// `__tls_get_addr` call on the C entry points' hot path).
#[inline(always)]
fn my_record() -> *const Record {
    filemap::fast_tls::words().aux.get().cast()
}

fn set_my_record(r: *const Record) {
    filemap::fast_tls::words().aux.set(r.cast());
}

/// The thread's record, taking one on first use; `None` while the thread exits.
#[inline(always)]
fn record() -> Option<&'static Record> {
    let r = my_record();
    if !r.is_null() {
        // SAFETY: records are leaked, never freed.
        return Some(unsafe { &*r });
    }
    record_slow()
}

#[cold]
fn record_slow() -> Option<&'static Record> {
    let r = acquire_record();
    if RELEASE.try_with(|c| c.set(Some(Release(r)))).is_err() {
        r.in_use.store(false, Ordering::Release);
        return None;
    }
    set_my_record(r);
    Some(r)
}

/// A free record (one whose thread exited), or a new one pushed on the list.
fn acquire_record() -> &'static Record {
    mode(); // decided before this thread's first pin
    let mut p = HEAD.load(Ordering::Acquire);
    while !p.is_null() {
        // SAFETY: records are leaked, never freed, so a pointer from the list stays valid.
        let r = unsafe { &*p };
        if r.in_use.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            return r;
        }
        p = r.next.load(Ordering::Acquire);
    }
    let r: &'static Record = Box::leak(Box::new(Record {
        pinned: AtomicU64::new(0),
        next: AtomicPtr::new(ptr::null_mut()),
        in_use: AtomicBool::new(true),
    }));
    RECORDS.fetch_add(1, Ordering::SeqCst);
    let mut head = HEAD.load(Ordering::Acquire);
    loop {
        r.next.store(head, Ordering::Relaxed);
        match HEAD.compare_exchange(head, r as *const Record as *mut Record, Ordering::SeqCst, Ordering::Acquire) {
            Ok(_) => break,
            Err(h) => head = h,
        }
    }
    fence(Ordering::SeqCst); // see the module docs: pairs with a writer's count read
    r
}

#[inline(always)]
fn light_barrier() {
    if MODE.load(Ordering::Relaxed) == MODE_MEMBARRIER {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// A pin: every entry the thread loads from the table while it lives stays valid (not freed,
/// not changed) until it is dropped. Not `Send`: it lives on the thread whose record holds it.
pub struct Pin {
    /// The record to unpin on drop; `None` for a nested pin (the outer one unpins).
    record: Option<&'static Record>,
}

impl Drop for Pin {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(r) = self.record {
            r.pinned.store(0, Ordering::Release);
        }
    }
}

/// Pins the calling thread (module docs); `None` while the thread exits (the caller takes the
/// locked path).
#[inline(always)]
pub fn pin() -> Option<Pin> {
    let record = record()?;
    if record.pinned.load(Ordering::Relaxed) != 0 {
        return Some(Pin { record: None });
    }
    record.pinned.store(EPOCH.load(Ordering::Acquire), Ordering::Relaxed);
    light_barrier();
    Some(Pin { record: Some(record) })
}

/// Drops the calling thread's pin for good, from a thread that will never run the interrupted
/// code again (`TerminateThread` parks its target forever inside a signal handler, possibly in
/// the middle of a read): its pin must not make every later `CloseHandle` wait forever.
/// Async-signal-safe (one store through the initial-exec TLS word).
pub fn abandon() {
    let r = my_record();
    if !r.is_null() {
        // SAFETY: records are leaked, never freed.
        unsafe { &*r }.pinned.store(0, Ordering::Release);
    }
}

/// Waits until no reader can still use an entry the caller has just unpublished (swapped out
/// of its table slot with `SeqCst`): every pin older than the swap is dropped. Readers are
/// pinned only across short, non-blocking calls. The calling thread must not be pinned.
pub fn synchronize() {
    let records = RECORDS.load(Ordering::SeqCst);
    let mine = my_record();
    let only_mine = records == 0 || (records == 1 && !mine.is_null() && ptr::eq(HEAD.load(Ordering::Acquire), mine));
    if only_mine {
        return; // no other thread has ever read the table (module docs)
    }
    let epoch = EPOCH.fetch_add(1, Ordering::SeqCst) + 1;
    heavy_barrier();
    let mut r = HEAD.load(Ordering::Acquire);
    while !r.is_null() {
        // SAFETY: records are leaked, never freed.
        let rec = unsafe { &*r };
        // Our own record is skipped: a writer is never pinned (a nested writer, say a signal
        // handler closing a handle while its thread is in a read, is not supported).
        if !ptr::eq(rec, mine) {
            let mut spins = 0u32;
            loop {
                let p = rec.pinned.load(Ordering::Acquire);
                if p == 0 || p >= epoch {
                    break;
                }
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        r = rec.next.load(Ordering::Acquire);
    }
}

/// The writer's barrier. The registration comes first, once: the barrier's guarantee covers
/// every thread running at the time of the call, however it read before the registration.
fn heavy_barrier() {
    static REGISTER: Once = Once::new();
    if mode() == MODE_MEMBARRIER {
        REGISTER.call_once(|| {
            // A failure shows as the command's failure just below.
            let _ = rustix::thread::membarrier(rustix::thread::MembarrierCommand::RegisterPrivateExpedited);
        });
        if rustix::thread::membarrier(rustix::thread::MembarrierCommand::PrivateExpedited).is_ok() {
            return;
        }
        // Registered, so this does not fail; if it ever did, the global command (slower:
        // it waits for every CPU) gives the same guarantee.
        if rustix::thread::membarrier(rustix::thread::MembarrierCommand::Global).is_ok() {
            return;
        }
        // Last resort: readers then use compiler fences only, and nothing else orders them.
        // Make every later reader fence, and give running readers time to pass their check.
        MODE.store(MODE_FENCE, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    #[test]
    fn synchronize_waits_for_an_older_pin_and_a_nested_pin_does_not_end_it() {
        let done = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let d = done.clone();
        let reader = std::thread::spawn(move || {
            let outer = pin().expect("pin");
            drop(pin().expect("nested pin")); // must leave the outer pin in force
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(150));
            d.store(true, Ordering::SeqCst);
            drop(outer);
        });
        rx.recv().unwrap();
        let start = Instant::now();
        synchronize();
        assert!(done.load(Ordering::SeqCst), "synchronize returned while an older pin was held");
        assert!(start.elapsed() >= Duration::from_millis(100));
        reader.join().unwrap();
    }

    #[test]
    fn a_reader_that_pins_without_pause_does_not_starve_synchronize() {
        // The reader is pinned almost all the time, but each of its pins after an epoch bump is
        // newer than the bump: the writer waits for at most one of its pins per call.
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let busy = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let p = pin().expect("pin");
                std::hint::black_box(&p);
                drop(p);
            }
        });
        let start = Instant::now();
        for _ in 0..1000 {
            synchronize();
        }
        assert!(start.elapsed() < Duration::from_secs(30));
        stop.store(true, Ordering::Relaxed);
        busy.join().unwrap();
    }
}
