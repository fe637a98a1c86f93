//! A loom model of the probe cells' protocol ([`super::ProbeCell`]): a reader that finds a
//! probed state word in a slot's cell under an epoch pin may read through it until it unpins,
//! because the writer clears the cell *before* it swaps the entry out and frees the entry (and
//! the object's mapping that holds the word) only after `epoch::synchronize` has waited out
//! every pin older than the clear.
//!
//! loom cannot run the real code (std atomics, thread-locals, `membarrier`), so the protocol is
//! re-stated here step by step with loom's atomics; each step quotes the function it mirrors.
//! Run with `cargo test -p filemap-win32 --lib probe_model` (plain `cargo test`, no `--cfg`).
//!
//! # What is modelled
//!
//! One slot of the table's first chunk (its `Chunk::entries` cell and its [`super::ProbeCell`]),
//! the global `EPOCH`, and two threads: a writer (holding `WRITER` by construction: it is the
//! only one) and one reader with its own `Record::pinned` word (the only record the writer
//! waits for; its own is skipped, as `synchronize` skips `mine`). Pointers become small
//! numbers: the cell's word is [`NO_WORD`] (the static all-ones word) or an object's id, the
//! entry [`NULL`] or an object's id. An object is an event or a semaphore: its shared state
//! word, its probe mask, and `mapped`, a loom [`UnsafeCell`] that stands for the mapping that
//! holds the state word. Freeing the entry writes `false` into it; every read through a word
//! or an entry reads it first and asserts `true`. So a read ordered after the free fails the
//! assert, and a read not ordered before the free (a race with the free) is reported by loom
//! as a causality violation: both are "read through a freed word".
//!
//! The reader is `wait_any_now`'s first pass (`sync.rs`) for one handle: pin, read the cell
//! (`ProbeCell::load`: the word, then the mask), read through the word and test `word & mask`;
//! if that looks signaled, look the entry up (`Lookup::get`) and act on it (read its object's
//! state: the core's `try_*_now`), then unpin.
//!
//! # Barriers
//!
//! `epoch::pin` stores the epoch in `pinned` with `Relaxed` and runs `light_barrier`; the
//! writer's `synchronize` runs `heavy_barrier` after its `SeqCst` epoch bump. Without
//! `membarrier` both barriers are `fence(SeqCst)`: that is what the model runs, exactly. With
//! `membarrier(PRIVATE_EXPEDITED)` the reader's barrier is only a compiler fence and the
//! writer's is the system call, which makes every running thread of the process execute a full
//! memory barrier (and one on the caller's side before and after): the reader's compiler fence
//! then sits on one side or the other of a full barrier ordered with the writer's call, which
//! is at least as strong as the reader's `fence(SeqCst)` pairing with the writer's
//! `fence(SeqCst)` (the argument of userspace RCU's membarrier flavour). loom has no
//! `membarrier`, so the model checks the fence pairing, which the membarrier case implies.
//!
//! loom treats `SeqCst` loads, stores and read-modify-writes as `AcqRel` (its README): nothing
//! in the model may depend on their total order, only on the `SeqCst` fences. The argument
//! does not need it: the clear is sequenced before the writer's fence and the reader's slot
//! load after its own, so either the reader's pin store is visible to the writer's wait or the
//! reader's load sees the clear.
//!
//! # Not modelled
//!
//! - `synchronize`'s shortcut when no other thread ever made a record (`RECORDS`): it relies on
//!   the total order of `SeqCst` accesses (the writer's `SeqCst` count load after its `SeqCst`
//!   swap against the new thread's `SeqCst` count increment and fence), which loom does not
//!   model. The reader here has its record from the start, so the writer always waits.
//! - The `membarrier` mode's reader, whose light barrier is a compiler fence: there the
//!   `Acquire` of the reader's `EPOCH` load is what orders a pin with the new epoch after the
//!   clear. In the modelled fence mode the reader's `fence(SeqCst)` acquires as well, so the
//!   model passes with that load `Relaxed` too and says nothing about it.
//! - The record list (new records pushed during a `synchronize`), nested pins, `abandon`,
//!   `fork`, several readers or slots: one reader and one slot are enough for the clear-versus-
//!   free race, and keep every interleaving checkable in seconds.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex as StdMutex;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU64, AtomicUsize, fence};

/// The cell's word when the slot has no probe: the static `NO_WORD` (all ones, never written).
const NO_WORD: usize = 0;
/// The entry of an empty slot.
const NULL: usize = 0;
/// The first object: an event.
const A: usize = 1;
/// The second object: a semaphore, published in the slot after `A` was freed.
const B: usize = 2;
/// `NO_PROBE`: the cell's mask when the slot has no probe.
const NO_PROBE: u64 = u64::MAX;
/// An event's probe mask (`Probe::signal_bit`: `SIGNALED`).
const EVENT_MASK: u64 = 1;
/// A semaphore's probe mask (`Probe::semaphore`: the count, the low 32 bits).
const SEMAPHORE_MASK: u64 = u32::MAX as u64;

/// An event or a semaphore as the table sees it: its shared state word and probe mask, and
/// whether the mapping holding the word still exists.
struct Object {
    /// The object's shared state word (`Probe::state_word`): what the cell's word points at.
    state: AtomicU64,
    /// The probe's mask (`Probe::state_word`).
    mask: u64,
    /// The mapping that holds `state`, owned (through the object's `Arc`) by the entry: `false`
    /// once the entry is freed.
    mapped: UnsafeCell<bool>,
}

impl Object {
    fn new(state: u64, mask: u64) -> Object {
        Object { state: AtomicU64::new(state), mask, mapped: UnsafeCell::new(true) }
    }

    /// A read through a pointer to the object: asserts its mapping is still there (and loom
    /// checks that this read is ordered before any free), then loads the state word.
    fn read(&self) -> u64 {
        // SAFETY:
        // - the pointer comes from a live loom `UnsafeCell` (the model never deallocates
        //   objects; "freed" is the `false` written into this cell);
        // - loom checks that no write to the cell races with this read (it panics with a
        //   causality violation otherwise), so the read never sees a torn value.
        let mapped = self.mapped.with(|m| unsafe { *m });
        assert!(mapped, "a reader read through a probe word or an entry after its object was freed");
        self.state.load(Acquire)
    }

    /// Frees the entry, and with it the object's mapping (the `Box<Entry>` that `unpublish`
    /// returns, dropped by `close` outside the lock).
    fn free(&self) {
        // SAFETY:
        // - the pointer comes from a live loom `UnsafeCell` (see `read`);
        // - loom checks that this write is ordered after every read of the cell by another
        //   thread (it panics with a causality violation otherwise): that is the property under
        //   test, not an assumption.
        self.mapped.with_mut(|m| unsafe { *m = false });
    }
}

/// Where `unpublish` clears the probe cell: the real place, or the mutation to be caught.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Clear {
    /// As `handles::unpublish`: before the entry is swapped out, so `synchronize` covers it.
    BeforeSwap,
    /// The mutation: after `synchronize`, just before the free.
    AfterSynchronize,
}

/// Whether `synchronize` runs its heavy barrier (the mutation `Skipped` drops it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Barrier {
    /// As `epoch::synchronize`: `heavy_barrier()` after the epoch bump.
    Heavy,
    /// The mutation: no barrier between the epoch bump and the wait.
    Skipped,
}

/// The writer's variant of the protocol.
#[derive(Clone, Copy, Debug)]
struct Writer {
    clear: Clear,
    barrier: Barrier,
}

/// The protocol as the real code runs it.
const REAL: Writer = Writer { clear: Clear::BeforeSwap, barrier: Barrier::Heavy };

/// The slot, its probe cell, the epoch and the reader's record.
struct Table {
    /// `epoch::EPOCH`: starts at 1, only grows.
    epoch: AtomicU64,
    /// The reader's `Record::pinned`: 0, or the epoch it saw when it pinned.
    pinned: AtomicU64,
    /// The slot's `Chunk::entries` cell: [`NULL`] or an object's id.
    entry: AtomicUsize,
    /// `ProbeCell::word`: [`NO_WORD`] or an object's id (its state word).
    word: AtomicUsize,
    /// `ProbeCell::mask`.
    mask: AtomicU64,
    /// The static `NO_WORD`: all ones, never written.
    no_word: AtomicU64,
    /// Objects `A` and `B` (ids 1 and 2).
    objects: [Object; 2],
}

/// What one reader pass saw: the cell's word and mask, and the entry it acted on (if it looked
/// signaled and an entry was published).
#[derive(Clone, Copy, Debug)]
struct Seen {
    word: usize,
    mask: u64,
    acted_on: Option<usize>,
}

impl Table {
    /// An empty slot (`new_chunk`: no entry, the cell on `NO_WORD` and `NO_PROBE`), then `A`
    /// published in it (`publish`), before any other thread runs. `A` is a signaled event,
    /// `B` a semaphore with a count of 2: each looks signaled with its own mask, and `B` does
    /// not with `A`'s mask.
    fn with_a_published() -> Table {
        let t = Table {
            epoch: AtomicU64::new(1),
            pinned: AtomicU64::new(0),
            entry: AtomicUsize::new(NULL),
            word: AtomicUsize::new(NO_WORD),
            mask: AtomicU64::new(NO_PROBE),
            no_word: AtomicU64::new(u64::MAX),
            objects: [Object::new(1, EVENT_MASK), Object::new(2, SEMAPHORE_MASK)],
        };
        t.publish(A);
        t
    }

    fn object(&self, id: usize) -> &Object {
        &self.objects[id - 1]
    }

    /// The mask of the probe whose word is `word` (`NO_PROBE` for `NO_WORD`).
    fn mask_of(&self, word: usize) -> u64 {
        if word == NO_WORD { NO_PROBE } else { self.object(word).mask }
    }

    // --- the writer (`handles.rs`, under `WRITER`) -----------------------------------------

    /// `handles::publish`:
    /// `let old = cell.entry.swap(Box::into_raw(entry), Ordering::SeqCst);`
    /// `cell.probe.mask.store(mask, Ordering::Relaxed);`
    /// `cell.probe.word.store(std::ptr::from_ref(word).cast_mut(), Ordering::Release);`
    fn publish(&self, id: usize) {
        let old = self.entry.swap(id, SeqCst);
        assert_eq!(old, NULL, "publish over a live entry");
        self.mask.store(self.object(id).mask, Relaxed);
        self.word.store(id, Release);
    }

    /// The probe half of `handles::unpublish`:
    /// `if cell.probe.word.load(Ordering::Relaxed) != ProbeCell::no_word() {`
    /// `    cell.probe.mask.store(NO_PROBE, Ordering::SeqCst);`
    /// `    cell.probe.word.store(ProbeCell::no_word(), Ordering::SeqCst);`
    /// `}`
    fn clear_probe(&self) {
        if self.word.load(Relaxed) != NO_WORD {
            self.mask.store(NO_PROBE, SeqCst);
            self.word.store(NO_WORD, SeqCst);
        }
    }

    /// `handles::unpublish` (clear, `swap(null, SeqCst)`, `epoch::synchronize()`), then the drop
    /// of the `Box<Entry>` it returns (`close`): the object's mapping goes.
    fn unpublish_and_free(&self, writer: Writer) {
        if writer.clear == Clear::BeforeSwap {
            self.clear_probe();
        }
        // `let p = cell.entry.swap(std::ptr::null_mut(), Ordering::SeqCst);`
        let p = self.entry.swap(NULL, SeqCst);
        assert_ne!(p, NULL, "the slot held an entry");
        self.synchronize(writer.barrier);
        if writer.clear == Clear::AfterSynchronize {
            self.clear_probe();
        }
        self.object(p).free();
    }

    /// `epoch::synchronize` past its `RECORDS` shortcut, with one other record (the reader's).
    fn synchronize(&self, barrier: Barrier) {
        // `let epoch = EPOCH.fetch_add(1, Ordering::SeqCst) + 1;`
        let epoch = self.epoch.fetch_add(1, SeqCst) + 1;
        if barrier == Barrier::Heavy {
            // `heavy_barrier();`: `fence(SeqCst)`, or `membarrier`, which is at least as strong
            // (module docs).
            fence(SeqCst);
        }
        loop {
            // `let p = rec.pinned.load(Ordering::Acquire);`
            // `if p == 0 || p >= epoch { break; }`
            let p = self.pinned.load(Acquire);
            if p == 0 || p >= epoch {
                break;
            }
            loom::thread::yield_now();
        }
    }

    // --- the reader (`epoch::pin`, `ProbeCell::load`, `sync::wait_any_now`) -----------------

    /// `epoch::pin` (first pin of the thread, its record already made):
    /// `record.pinned.store(EPOCH.load(Ordering::Acquire), Ordering::Relaxed);`
    /// `light_barrier();`: `fence(SeqCst)` without `membarrier` (module docs).
    fn pin(&self) {
        let epoch = self.epoch.load(Acquire);
        self.pinned.store(epoch, Relaxed);
        fence(SeqCst);
    }

    /// `Drop for epoch::Pin`: `r.pinned.store(0, Ordering::Release);`
    fn unpin(&self) {
        self.pinned.store(0, Release);
    }

    /// `wait_any_now`'s first pass over one handle, under one pin.
    fn read(&self) -> Seen {
        self.pin();
        // `ProbeCell::load`: `let p = self.word.load(Ordering::Acquire);`
        //                    `let mask = self.mask.load(Ordering::Relaxed);`
        let word = self.word.load(Acquire);
        let mask = self.mask.load(Relaxed);
        // `if word.load(Ordering::Acquire) & mask != 0 { break; }` (through the pointer: the
        // static `NO_WORD`, or the object's mapped state word).
        let state = if word == NO_WORD { self.no_word.load(Acquire) } else { self.object(word).read() };
        let mut acted_on = None;
        if state & mask != 0 {
            // `if mask != handles::NO_PROBE || entry_looks_available(&table, hs[j])?`, then
            // `let e = table.get(hs[i])?; e.probe()?;` and the core's `try_*_now` on
            // `e.object`: whatever the probe said, the reader acts on the entry it looks up
            // now (`Lookup::get`: `cell.load(Ordering::Acquire)`), under the same pin.
            let e = self.entry.load(Acquire);
            if e != NULL {
                self.object(e).read();
                acted_on = Some(e);
            }
        }
        self.unpin();
        Seen { word, mask, acted_on }
    }
}

/// A loom builder that explores every interleaving: no preemption bound, no time or count
/// limit, whatever the `LOOM_*` variables say (the scenarios are small, and the tests assert
/// which states were reached, which needs the whole search).
fn exhaustive() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = None;
    builder.max_permutations = None;
    builder.max_duration = None;
    builder
}

/// Runs `scenario` on every interleaving and returns the distinct `(word, mask)` pairs the
/// reader saw.
fn explore(scenario: impl Fn() -> Seen + Send + Sync + 'static) -> BTreeSet<(usize, u64)> {
    let seen = std::sync::Arc::new(StdMutex::new(BTreeSet::new()));
    let record = seen.clone();
    exhaustive().check(move || {
        let s = scenario();
        record.lock().unwrap_or_else(|e| e.into_inner()).insert((s.word, s.mask));
    });
    seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The reader on a thread of its own against `writer` on the model's main thread, over a slot
/// holding `A`; checks the reader's view ([`check_pairing`]) and returns it.
fn race(writer: impl FnOnce(&Table)) -> Seen {
    let t = Arc::new(Table::with_a_published());
    let reader = {
        let t = t.clone();
        loom::thread::spawn(move || t.read())
    };
    writer(&t);
    let s = reader.join().expect("reader");
    check_pairing(&t, s);
    s
}

/// Scenario 1: a `CloseHandle` of `A` (`writer`'s variant of `unpublish`) against one reader.
fn close(writer: Writer) -> Seen {
    race(|t| t.unpublish_and_free(writer))
}

/// Scenario 2: a `CloseHandle` of `A`, then a create whose descriptor reuses the slot
/// (`insert_entry`: `unpublish` finds the slot empty, then `publish`s `B`), against one reader.
fn close_and_reuse() -> Seen {
    race(|t| {
        t.unpublish_and_free(REAL);
        t.publish(B);
    })
}

/// What `ProbeCell::load` promises: a probed word comes with its own probe's mask, or a later
/// one (`NO_PROBE` from the clear, or the next publication's): never with an older mask. The
/// real reader acts only on the entry it looks up (`Lookup::get`) and reads through the word,
/// so what it relies on is that the word and that entry are alive (asserted in
/// [`Object::read`]); this pairing is the cell's own documented guarantee.
fn check_pairing(t: &Table, s: Seen) {
    match s.word {
        NO_WORD => {}
        A => assert!([EVENT_MASK, NO_PROBE, SEMAPHORE_MASK].contains(&s.mask), "A's word read with mask {:#x}", s.mask),
        B => assert_eq!(s.mask, t.mask_of(B), "the new object's word read with a mask older than its own"),
        other => unreachable!("no object {other}"),
    }
    if let Some(e) = s.acted_on {
        assert!(e == A || e == B, "acted on entry {e}");
    }
}

/// Runs the model of `scenario` expecting it to fail, and returns loom's failure message.
fn failure_of(scenario: impl Fn() -> Seen + Send + Sync + 'static) -> String {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        exhaustive().check(move || {
            scenario();
        })
    }));
    let payload = match outcome {
        Ok(()) => panic!("the model passed the mutation: it cannot catch it"),
        Err(payload) => payload,
    };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// A failure message that says a read went through a freed word: the assert in
/// [`Object::read`] (a read ordered after the free), or loom's report of a read racing the free.
fn is_read_after_free(message: &str) -> bool {
    message.contains("after its object was freed") || message.contains("Causality violation")
}

#[test]
fn loom_a_reader_never_reads_a_probe_word_after_its_object_is_freed() {
    let seen = explore(|| close(REAL));
    println!("scenario 1 (close), (word, mask) pairs seen: {seen:x?}");
    // Not vacuous: some reader read through A's word while the writer was closing it (with A's
    // mask, or with `NO_PROBE` when the clear came between its two loads), and some found the
    // cell cleared.
    assert_eq!(seen, BTreeSet::from([(A, EVENT_MASK), (A, NO_PROBE), (NO_WORD, NO_PROBE)]));
}

#[test]
fn loom_a_reused_slot_never_shows_a_freed_word_or_the_new_word_with_the_old_mask() {
    let seen = explore(close_and_reuse);
    println!("scenario 2 (close, reuse), (word, mask) pairs seen: {seen:x?}");
    // Every pair a reader can see. Two are absent: (B, EVENT_MASK), the new word with the old
    // mask (the publication stores the mask before the word, `Release`, and the clear had
    // already replaced the old mask); and (A, SEMAPHORE_MASK), the old word with the next
    // publication's mask, which `ProbeCell`'s docs allow but which cannot happen: the writer
    // publishes B only after `synchronize`, which waits for every reader that could still find
    // A's word.
    let expected = BTreeSet::from([
        (A, EVENT_MASK),
        (A, NO_PROBE),
        (NO_WORD, NO_PROBE),
        (NO_WORD, SEMAPHORE_MASK),
        (B, SEMAPHORE_MASK),
    ]);
    assert_eq!(seen, expected);
}

#[test]
fn loom_model_catches_a_probe_cleared_after_synchronize() {
    // The mutation the unit and integration tests miss: the writer clears the cell only after
    // its wait, so a reader that pinned after the wait began still finds A's word and reads
    // through it after the free.
    let message = failure_of(|| close(Writer { clear: Clear::AfterSynchronize, barrier: Barrier::Heavy }));
    println!("clear after synchronize: the model fails with: {message}");
    assert!(is_read_after_free(&message), "the mutation failed for another reason: {message}");
}

#[test]
fn loom_model_catches_a_synchronize_without_the_heavy_barrier() {
    // The model checks the barrier pairing, not only the order of the writer's steps: without
    // the writer's barrier, its wait may miss the pin of a reader that still finds A's word.
    let message = failure_of(|| close(Writer { clear: Clear::BeforeSwap, barrier: Barrier::Skipped }));
    println!("no heavy barrier: the model fails with: {message}");
    assert!(is_read_after_free(&message), "the mutation failed for another reason: {message}");
}
