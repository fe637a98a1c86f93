//! Asymmetric hazard pointers: how a thread reads a handle-table entry without taking a lock
//! or writing a shared cache line, while another thread may be closing that handle.
//!
//! # Protocol
//!
//! Each thread that reads the table owns a [`Record`] of [`PER_THREAD`] hazard slots (records
//! live in a global push-only list and are never freed; a record whose thread exited is reused
//! by the next new thread). To read the entry published in a table slot, a reader:
//! 1. loads the slot's pointer `p` (null: no entry, take the locked path);
//! 2. stores `p` in one of its free hazard slots;
//! 3. executes a *light barrier*, then loads the table slot again: if it still holds `p`, `p`
//!    is protected until the reader clears its hazard slot; otherwise it starts over.
//!
//! A writer that takes an entry out of the table (close, or an in-place change):
//! 1. swaps the table slot to null (or to the new entry), with `SeqCst`;
//! 2. executes a *heavy barrier*;
//! 3. scans every hazard slot of every record and waits while any of them holds `p` (readers
//!    only hold a hazard across short calls that never block and never take the table's lock:
//!    a blocking wait first takes a real reference, `Arc`, and drops its hazard).
//!
//! Then `p` is the writer's alone: it may change, free or republish it.
//!
//! Why it is sound: the two barriers pair up like the two halves of a full fence. Either the
//! reader's hazard store is visible to the writer's scan (the writer waits), or the reader's
//! second load of the table slot comes after the writer's swap and sees it (the reader starts
//! over): a reader can never go on with `p` unseen.
//!
//! - With `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (Linux 4.14+; registered once), the
//!   light barrier is a compiler fence only (no instruction at all) and the heavy one is the
//!   system call, which makes every running thread of the process execute a full fence. This
//!   is the split that liburcu and folly's hazard pointers use: reads are as cheap as a plain
//!   load, and the writer, who is about to make system calls anyway (close, unlink), pays.
//! - Without it (seccomp, old kernels) both are `fence(SeqCst)`: the classic hazard pointer.
//!
//! A writer skips the heavy barrier when no other thread ever made a record (a
//! single-threaded program pays nothing): a thread makes its record with a `SeqCst`
//! read-modify-write of the record count followed by a `SeqCst` fence before its first read,
//! and the writer reads the count with `SeqCst` after its `SeqCst` swap, so if the writer did
//! not see the new record, the new thread's first table load sees the swap.

#![allow(unsafe_code)] // membarrier and the thread's record pointer

use std::cell::Cell;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering, compiler_fence, fence};

/// Hazard slots per thread: a wait on 64 objects holds 64 at once, plus a few nested reads.
pub const PER_THREAD: usize = 72;

/// One thread's hazard slots.
pub struct Record {
    next: AtomicPtr<Record>,
    in_use: AtomicBool,
    /// Where the owner's search for a free slot starts (only the owner thread uses it).
    hint: AtomicUsize,
    slots: [AtomicPtr<()>; PER_THREAD],
}

static HEAD: AtomicPtr<Record> = AtomicPtr::new(ptr::null_mut());
/// Records ever made (they are never freed, only reused).
static RECORDS: AtomicUsize = AtomicUsize::new(0);

const MODE_UNKNOWN: u8 = 0;
const MODE_MEMBARRIER: u8 = 1;
const MODE_FENCE: u8 = 2;
static MODE: AtomicU8 = AtomicU8::new(MODE_UNKNOWN);
static MODE_ONCE: Once = Once::new();

fn mode() -> u8 {
    MODE_ONCE.call_once(|| {
        let ok = rustix::thread::membarrier(rustix::thread::MembarrierCommand::RegisterPrivateExpedited).is_ok();
        MODE.store(if ok { MODE_MEMBARRIER } else { MODE_FENCE }, Ordering::SeqCst);
        // SAFETY: registering a handler is always sound; `forget_other_threads` is a plain
        // function that lives forever and only touches atomics and thread-locals.
        unsafe { libc::pthread_atfork(None, None, Some(forget_other_threads)) };
    });
    MODE.load(Ordering::Relaxed)
}

/// In the child of a `fork`, only the forking thread exists: hazards that other threads held
/// at the moment of the fork would never be cleared and would make a `CloseHandle` of those
/// entries wait forever. Frees every record but the calling thread's. (A membarrier
/// registration is per process and is inherited by the child.)
extern "C" fn forget_other_threads() {
    let mine = my_record();
    let mut r = HEAD.load(Ordering::Acquire);
    while !r.is_null() {
        // SAFETY: records are leaked, never freed.
        let rec = unsafe { &*r };
        if !ptr::eq(rec, mine) {
            for s in &rec.slots {
                s.store(ptr::null_mut(), Ordering::Relaxed);
            }
            rec.hint.store(0, Ordering::Relaxed);
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
        for s in &self.0.slots {
            s.store(ptr::null_mut(), Ordering::Release);
        }
        self.0.in_use.store(false, Ordering::Release);
    }
}

thread_local! {
    /// Registered on first use; its destructor releases the record.
    static RELEASE: Cell<Option<Release>> = const { Cell::new(None) };
}

/// The thread's record (null until its first read, and again once it exits): kept in the
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
    mode(); // decided before this thread's first read
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
        next: AtomicPtr::new(ptr::null_mut()),
        in_use: AtomicBool::new(true),
        hint: AtomicUsize::new(0),
        slots: [const { AtomicPtr::new(ptr::null_mut()) }; PER_THREAD],
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

/// A protected pointer: `ptr` stays valid (not freed, not changed) until this is dropped.
/// Not `Send`: it lives on the thread whose record holds it.
pub struct Hazard<T> {
    record: &'static Record,
    index: usize,
    ptr: *const T,
}

impl<T> Hazard<T> {
    /// The protected pointer (never null).
    #[inline]
    pub fn ptr(&self) -> *const T {
        self.ptr
    }
}

impl<T> Drop for Hazard<T> {
    #[inline]
    fn drop(&mut self) {
        self.record.slots[self.index].store(ptr::null_mut(), Ordering::Release);
        if self.index < self.record.hint.load(Ordering::Relaxed) {
            self.record.hint.store(self.index, Ordering::Relaxed);
        }
    }
}

/// Protects what `src` points to. `None` if it holds null, or if the thread has no free
/// hazard slot (or is exiting): the caller takes the locked path.
#[inline(always)]
pub fn protect<T>(src: &AtomicPtr<T>) -> Option<Hazard<T>> {
    let record = record()?;
    let slots = &record.slots;
    let mut index = record.hint.load(Ordering::Relaxed);
    if index >= PER_THREAD || !slots[index].load(Ordering::Relaxed).is_null() {
        index = slots.iter().position(|s| s.load(Ordering::Relaxed).is_null())?;
    }
    let slot = &slots[index];
    let mut p = src.load(Ordering::Acquire);
    loop {
        if p.is_null() {
            slot.store(ptr::null_mut(), Ordering::Relaxed);
            return None;
        }
        slot.store(p.cast(), Ordering::Relaxed);
        light_barrier();
        let again = src.load(Ordering::Acquire);
        if again == p {
            record.hint.store(index + 1, Ordering::Relaxed);
            return Some(Hazard { record, index, ptr: p });
        }
        p = again;
    }
}

/// Several pointers protected at once (consecutive hazard slots of the thread's record).
pub struct Batch {
    record: &'static Record,
    base: usize,
    len: usize,
}

impl Drop for Batch {
    #[inline]
    fn drop(&mut self) {
        for s in &self.record.slots[self.base..self.base + self.len] {
            s.store(ptr::null_mut(), Ordering::Release);
        }
        if self.base < self.record.hint.load(Ordering::Relaxed) {
            self.record.hint.store(self.base, Ordering::Relaxed);
        }
    }
}

impl Batch {
    /// An empty batch with room for `max` protections in consecutive free slots; `None` if the
    /// thread has no such run (or is exiting). Dropping it clears what it protected.
    #[inline(always)]
    pub fn with_room(max: usize) -> Option<Batch> {
        let record = record()?;
        let base = record.hint.load(Ordering::Relaxed);
        if base + max > PER_THREAD {
            return None;
        }
        Some(Batch { record, base, len: 0 })
    }

    /// Announces a protection of what `src` points to (step 2 of the protocol), and returns
    /// it; `None` if `src` holds null or the next slot is held by an outer protection of this
    /// thread. Not protected until [`Batch::confirm`] returns true. At most the batch's room.
    #[inline(always)]
    pub fn push<T>(&mut self, src: &AtomicPtr<T>) -> Option<*const T> {
        let slot = &self.record.slots[self.base + self.len];
        if !slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let p = src.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        slot.store(p.cast(), Ordering::Relaxed);
        self.len += 1;
        Some(p)
    }

    /// Step 3 for every pushed pointer at once (one light barrier): true if each `src` still
    /// holds what was pushed from it (pairs in push order); then they stay protected until the
    /// batch is dropped. False: something changed, drop the batch and take references.
    #[inline(always)]
    pub fn confirm<'s, T: 's>(&mut self, pushed: impl Iterator<Item = (&'s AtomicPtr<T>, *const T)>) -> bool {
        light_barrier();
        for (src, p) in pushed {
            if !ptr::eq(src.load(Ordering::Acquire), p) {
                return false;
            }
        }
        self.record.hint.store(self.base + self.len, Ordering::Relaxed);
        true
    }
}

/// Waits until no reader protects `p`, which the caller has just unpublished (swapped out of
/// its table slot with `SeqCst`). Readers hold hazards only across short, non-blocking calls.
/// The calling thread must not itself hold a hazard on `p`.
pub fn wait_unprotected<T>(p: *const T) {
    if p.is_null() {
        return;
    }
    let records = RECORDS.load(Ordering::SeqCst);
    let mine = Some(my_record()).filter(|r| !r.is_null());
    let only_mine =
        records == 0 || (records == 1 && mine.is_some_and(|m| ptr::eq(HEAD.load(Ordering::Acquire).cast_const(), m)));
    if only_mine {
        return; // no other thread has ever read the table (module docs)
    }
    heavy_barrier();
    let mut r = HEAD.load(Ordering::Acquire);
    while !r.is_null() {
        // SAFETY: records are leaked, never freed.
        let rec = unsafe { &*r };
        for s in &rec.slots {
            let mut spins = 0u32;
            while s.load(Ordering::Acquire).cast_const() == p.cast() {
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

fn heavy_barrier() {
    if mode() == MODE_MEMBARRIER {
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
