//! The synchronization objects' state machines: pure atomic transitions on words in the shared
//! sync area, with no system call inside. Sleeping and waking are the caller's business: every
//! transition says whether sleepers must be woken. The atomics are behind two small traits so
//! that the same code runs on `std` atomics over the mapped page and on `loom` atomics in the
//! model checks at the bottom of this file.
//!
//! # Words
//!
//! A **mutex** is one kernel robust-futex word plus an owner-only recursion count:
//!
//! | bits  | meaning |
//! |-------|---------|
//! | 0..30 | owner thread id (0: free) |
//! | 30    | `FUTEX_OWNER_DIED`: the kernel saw the owner die holding it (abandoned) |
//! | 31    | `FUTEX_WAITERS`: somebody may sleep on the word; release must wake |
//!
//! Every **other** object (semaphore, event, timer) has a 64-bit `state`, a 32-bit `seq` futex
//! word that is bumped after every change (sleepers wait on it) and a `waiters` count (a waker
//! makes the wake system call only if it is non-zero):
//!
//! | state bits | meaning |
//! |------------|---------|
//! | 0..32  | the value: a semaphore's count; an event's or timer's flags (below) |
//! | 32..64 | claim: pid of a `wait_all` that holds the object frozen (0: none) |
//!
//! | value bits (event) | meaning | value bits (timer) | meaning |
//! |---|---|---|---|
//! | 0 | signaled | 0 | signaled |
//! | 1 | an auto-reset pulse is available | 1 | armed (a due time is set) |
//! | 2..32 | pulse generation | 2..32 | version, bumped by every set/cancel/fire |
//!
//! While an object is claimed, nobody but the claimer changes it: every other transition waits
//! (spins, then sleeps) for the claim to go. A claim lasts a few atomic operations; if its
//! holder dies inside it, the claim is broken once the holder is seen dead, and a claim held
//! for longer than a bound (a stopped or forged claimer) is broken whoever holds it (see
//! `ClaimWait`). A broken claimer notices: its `unclaim` fails, changing nothing.

use std::sync::atomic::Ordering::{self, AcqRel, Acquire, Relaxed, Release, SeqCst};

/// The 32-bit atomic operations the state machines need.
pub(crate) trait Atomic32 {
    fn load(&self, o: Ordering) -> u32;
    fn swap(&self, v: u32, o: Ordering) -> u32;
    fn compare_exchange(&self, c: u32, n: u32, s: Ordering, f: Ordering) -> Result<u32, u32>;
    fn fetch_add(&self, v: u32, o: Ordering) -> u32;
    fn fetch_sub(&self, v: u32, o: Ordering) -> u32;
}

/// The 64-bit atomic operations the state machines need.
pub(crate) trait Atomic64 {
    fn load(&self, o: Ordering) -> u64;
    fn compare_exchange(&self, c: u64, n: u64, s: Ordering, f: Ordering) -> Result<u64, u64>;
}

macro_rules! impl_atomics {
    ($a32:ty, $a64:ty) => {
        impl Atomic32 for $a32 {
            fn load(&self, o: Ordering) -> u32 {
                <$a32>::load(self, o)
            }
            fn swap(&self, v: u32, o: Ordering) -> u32 {
                <$a32>::swap(self, v, o)
            }
            fn compare_exchange(&self, c: u32, n: u32, s: Ordering, f: Ordering) -> Result<u32, u32> {
                <$a32>::compare_exchange(self, c, n, s, f)
            }
            fn fetch_add(&self, v: u32, o: Ordering) -> u32 {
                <$a32>::fetch_add(self, v, o)
            }
            fn fetch_sub(&self, v: u32, o: Ordering) -> u32 {
                <$a32>::fetch_sub(self, v, o)
            }
        }
        impl Atomic64 for $a64 {
            fn load(&self, o: Ordering) -> u64 {
                <$a64>::load(self, o)
            }
            fn compare_exchange(&self, c: u64, n: u64, s: Ordering, f: Ordering) -> Result<u64, u64> {
                <$a64>::compare_exchange(self, c, n, s, f)
            }
        }
    };
}

impl_atomics!(std::sync::atomic::AtomicU32, std::sync::atomic::AtomicU64);

// ---------------------------------------------------------------------------------------------
// Mutex word
// ---------------------------------------------------------------------------------------------

/// `FUTEX_WAITERS`.
pub(crate) const WAITERS: u32 = 0x8000_0000;
/// `FUTEX_OWNER_DIED`.
pub(crate) const OWNER_DIED: u32 = 0x4000_0000;
/// `FUTEX_TID_MASK`.
pub(crate) const TID_MASK: u32 = 0x3fff_ffff;

/// What an acquisition attempt on a mutex word found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MutexTry {
    /// Now ours; `abandoned` if the previous owner died holding it.
    Acquired { abandoned: bool },
    /// Already ours (the caller counts the recursion).
    Recursive,
    /// Owned by another thread; the word as seen.
    Busy(u32),
}

/// Tries to take the mutex word for thread `me`. The caller must have announced the attempt in
/// its robust list's `list_op_pending` before, so that dying right after the CAS is covered.
#[inline(always)]
pub(crate) fn mutex_try_acquire<A: Atomic32>(word: &A, me: u32) -> MutexTry {
    let mut w = word.load(Relaxed);
    loop {
        let owner = w & TID_MASK;
        if owner == me {
            return MutexTry::Recursive;
        }
        if owner != 0 {
            return MutexTry::Busy(w);
        }
        // Keep WAITERS: others may still sleep; our release must wake them.
        match word.compare_exchange(w, me | (w & WAITERS), Acquire, Relaxed) {
            Ok(_) => return MutexTry::Acquired { abandoned: w & OWNER_DIED != 0 },
            Err(now) => w = now,
        }
    }
}

/// Releases the mutex word held by `me` (recursion already counted down to zero). Returns true
/// if sleepers must be woken. Only the owner calls this.
#[cfg(test)]
pub(crate) fn mutex_release<A: Atomic32>(word: &A) -> bool {
    word.swap(0, Release) & WAITERS != 0
}

/// Announces a sleeper on a mutex seen as `seen` (owned by someone else). Returns the value to
/// sleep on, or `None` if the word changed (free now, or another value): try again.
pub(crate) fn mutex_mark_waiting<A: Atomic32>(word: &A, seen: u32) -> Option<u32> {
    if seen & TID_MASK == 0 {
        return None;
    }
    if seen & WAITERS != 0 {
        return Some(seen);
    }
    word.compare_exchange(seen, seen | WAITERS, Relaxed, Relaxed).ok().map(|_| seen | WAITERS)
}

/// What the kernel does for a dying thread `tid` found in a robust list (`handle_futex_death`);
/// used by the models only. Returns true if it would wake one sleeper.
#[cfg(test)]
pub(crate) fn mutex_owner_died<A: Atomic32>(word: &A, tid: u32) -> bool {
    let w = word.load(Relaxed);
    if w & TID_MASK != tid {
        return false;
    }
    word.compare_exchange(w, (w & WAITERS) | OWNER_DIED, SeqCst, Relaxed).is_ok() && w & WAITERS != 0
}

// ---------------------------------------------------------------------------------------------
// Claimable cells (semaphore, event, timer)
// ---------------------------------------------------------------------------------------------

/// Value bit: signaled (event, timer).
pub(crate) const SIGNALED: u32 = 1;
/// Event value bit: an auto-reset pulse waits for one waiter.
pub(crate) const PULSE: u32 = 2;
/// Timer value bit: armed.
pub(crate) const ARMED: u32 = 2;
/// Generation/version unit (bits 2..32).
pub(crate) const GEN: u32 = 4;

fn pack(value: u32, claim: u32) -> u64 {
    u64::from(value) | (u64::from(claim) << 32)
}
/// The value part of a state.
pub(crate) fn value(state: u64) -> u32 {
    state as u32
}
/// The claim part of a state (0: unclaimed).
pub(crate) fn claimer(state: u64) -> u32 {
    (state >> 32) as u32
}

/// What a transition that found the object claimed does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimAction {
    /// Look again.
    Wait,
    /// Break the claim (its holder is dead, or held it past the bound), restoring the value.
    Break,
    /// Stop: the caller's deadline passed (the transition reports "not possible now").
    GiveUp,
}

/// What to do while another process holds a claim: called with the claimer's pid and the number
/// of times it was called for this transition.
pub(crate) trait ClaimWait {
    fn wait(&mut self, claimer: u32, rounds: u32) -> ClaimAction;
}

/// The words of one claimable object.
pub(crate) struct Cell<'a, A32: Atomic32, A64: Atomic64> {
    /// The futex word sleepers wait on; bumped after every change.
    pub seq: &'a A32,
    /// How many sleepers may be on `seq`.
    pub waiters: &'a A32,
    /// Value and claim.
    pub state: &'a A64,
}

impl<A32: Atomic32, A64: Atomic64> Cell<'_, A32, A64> {
    /// The current value, waiting out any claim.
    pub(crate) fn value(&self) -> u32 {
        value(self.state.load(Acquire))
    }

    /// Applies `f` to the unclaimed value until it sticks; `f` returning `None` refuses (nothing
    /// changes). Returns `(old, Some(new))`, or `(old, None)` when refused or when `cw` gave up
    /// waiting out a claim.
    pub(crate) fn update(&self, cw: &mut dyn ClaimWait, mut f: impl FnMut(u32) -> Option<u32>) -> (u32, Option<u32>) {
        let mut rounds = 0;
        let Some(mut s) = self.unclaimed(self.state.load(Acquire), cw, &mut rounds) else {
            return (value(self.state.load(Acquire)), None);
        };
        loop {
            let old = value(s);
            let Some(new) = f(old) else { return (old, None) };
            if new == old {
                return (old, Some(new));
            }
            match self.state.compare_exchange(s, pack(new, 0), SeqCst, Acquire) {
                Ok(_) => return (old, Some(new)),
                Err(now) => match self.unclaimed(now, cw, &mut rounds) {
                    Some(u) => s = u,
                    None => return (value(now), None),
                },
            }
        }
    }

    /// `s`, a state just read, if nobody claims it; otherwise the first unclaimed state after
    /// waiting the claim out (`rounds` counts the waits across calls), or `None` if `cw` gave
    /// up. A claim `cw` says to break is broken, restoring the object unconsumed.
    fn unclaimed(&self, mut s: u64, cw: &mut dyn ClaimWait, rounds: &mut u32) -> Option<u64> {
        loop {
            let c = claimer(s);
            if c == 0 {
                return Some(s);
            }
            *rounds = rounds.saturating_add(1);
            match cw.wait(c, *rounds) {
                ClaimAction::Wait => {}
                ClaimAction::Break => {
                    let _ = self.state.compare_exchange(s, pack(value(s), 0), SeqCst, Relaxed);
                }
                ClaimAction::GiveUp => return None,
            }
            s = self.state.load(Acquire);
        }
    }

    /// Makes a change (already made to `state` with a read-modify-write) visible to sleepers:
    /// reads `waiters` and, only if somebody is registered, bumps `seq`.
    ///
    /// Both sides use read-modify-writes (`fetch_add(0)` to read `waiters`), so their operations
    /// on `waiters` are totally ordered (no reliance on `SeqCst` loads, which loom does not
    /// model). If our read comes first, it reads 0 and we stop, and the sleeper's registration
    /// reads from ours (a release sequence of RMWs): our change to `state` happens before its
    /// re-check, which sees it, so it does not sleep. If its registration comes first, we see
    /// it and bump `seq`: it sees the new `seq` (and with it our change) or sleeps on the old
    /// one, which the kernel refuses or our wake ends. An uncontended release or set thus pays
    /// one read-modify-write here, not two.
    ///
    /// Returns the `counts` word (`waiters`): its low 16 bits count sleepers on `seq` (wake them),
    /// the rest queued waiters (`Q_ONE` each: hand the change off to them).
    #[inline(always)]
    pub(crate) fn publish(&self) -> u32 {
        let counts = self.waiters.fetch_add(0, AcqRel);
        if counts != 0 {
            self.seq.fetch_add(1, AcqRel);
        }
        counts
    }

    /// Registers a sleeper and returns the `seq` value to sleep on. The caller must re-check
    /// the condition after this and before sleeping (then no change can be missed).
    pub(crate) fn register(&self) -> u32 {
        self.waiters.fetch_add(1, AcqRel);
        self.seq.fetch_add(0, AcqRel)
    }

    /// Undoes [`Cell::register`].
    pub(crate) fn unregister(&self) {
        self.waiters.fetch_sub(1, SeqCst);
    }

    /// Freezes the object for a `wait_all` by process `me` if `accept(value)`; returns the value.
    /// `None`: not acceptable now, or `cw` gave up waiting out another claim (nothing changed).
    pub(crate) fn claim(&self, me: u32, cw: &mut dyn ClaimWait, accept: impl Fn(u32) -> bool) -> Option<u32> {
        let mut rounds = 0;
        let mut s = self.unclaimed(self.state.load(Acquire), cw, &mut rounds)?;
        loop {
            if !accept(value(s)) {
                return None;
            }
            match self.state.compare_exchange(s, pack(value(s), me), SeqCst, Acquire) {
                Ok(_) => return Some(value(s)),
                Err(now) => s = self.unclaimed(now, cw, &mut rounds)?,
            }
        }
    }

    /// Ends our claim of value `claimed`, storing `new` as the value (`claimed` to roll back).
    /// Returns false, changing nothing, if our claim was broken meanwhile (we were stopped past
    /// the bound, or someone forged the state): then the object is not ours to change.
    pub(crate) fn unclaim(&self, me: u32, claimed: u32, new: u32) -> bool {
        self.state.compare_exchange(pack(claimed, me), pack(new, 0), SeqCst, Relaxed).is_ok()
    }
}

/// Semaphore: take one unit.
pub(crate) fn sem_take(v: u32) -> Option<u32> {
    v.checked_sub(1)
}

/// Semaphore: add `n` units, refusing (no change) past `max`.
#[inline(always)]
pub(crate) fn sem_add(v: u32, n: u32, max: u32) -> Option<u32> {
    v.checked_add(n).filter(|&c| c <= max)
}

/// What an event or timer waiter may take. `entry_gen` is the event's generation when the wait
/// began (pulses after that count for it, wait-any only).
pub(crate) fn event_take(v: u32, manual: bool, entry_gen: Option<u32>) -> Option<u32> {
    if v & SIGNALED != 0 {
        return Some(if manual { v } else { v & !SIGNALED });
    }
    match entry_gen {
        Some(g) if g != v & !(GEN - 1) => {
            if manual {
                Some(v) // it pulsed since we began: every waiter of that moment is released
            } else if v & PULSE != 0 {
                Some(v & !PULSE) // one waiter takes the auto-reset pulse
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Event: set (signaled).
pub(crate) fn event_set(v: u32) -> u32 {
    v | SIGNALED
}

/// Event: reset (unsignaled; a pending auto pulse stays for its waiters).
pub(crate) fn event_reset(v: u32) -> u32 {
    v & !SIGNALED
}

/// Event: pulse. A new generation (releasing the waiters of this moment), unsignaled; an
/// auto-reset event leaves one pulse for exactly one of those waiters.
pub(crate) fn event_pulse(v: u32, manual: bool) -> u32 {
    let next = (v & !(GEN - 1)).wrapping_add(GEN);
    if manual { next } else { next | PULSE }
}

/// The generation part of an event value.
pub(crate) fn event_gen(v: u32) -> u32 {
    v & !(GEN - 1)
}

/// Timer: what a waiter takes from a signaled timer.
pub(crate) fn timer_take(v: u32, manual: bool) -> Option<u32> {
    (v & SIGNALED != 0).then_some(if manual { v } else { v & !SIGNALED })
}

/// Timer: a set (new version, armed, unsignaled).
pub(crate) fn timer_set(v: u32) -> u32 {
    ((v & !(GEN - 1)).wrapping_add(GEN)) | ARMED
}

/// Timer: a cancel (new version, disarmed, signaled state kept).
pub(crate) fn timer_cancel(v: u32) -> u32 {
    ((v & !(GEN - 1)).wrapping_add(GEN)) | (v & SIGNALED)
}

/// Timer: firing (new version, signaled; still armed if periodic).
pub(crate) fn timer_fire(v: u32, periodic: bool) -> u32 {
    ((v & !(GEN - 1)).wrapping_add(GEN)) | SIGNALED | if periodic { ARMED } else { 0 }
}

// ---------------------------------------------------------------------------------------------
// Wait queue (hand-off)
// ---------------------------------------------------------------------------------------------
//
// Mutexes, semaphores and auto-reset events keep a FIFO of waiters in their sync area, so that
// a release hands the object to the oldest waiter instead of leaving it for whoever comes
// first (the releaser itself included). The queue is `QUEUE_SLOTS` slots of four words:
//
// | word | meaning |
// |------|---------|
// | 0 | the slot's futex word: state (bits 29..32) \| `Q_SLEEP` (bit 28) \| ticket (bits 0..28) |
// | 1 | the waiter's thread id (a mutex grant writes it into the mutex word) |
// | 2 | the waiter's process id (a grant to a dead process is revoked) |
// | 3 | unused |
//
// | state | meaning | who leaves it |
// |---|---|---|
// | `Q_FREE` (word 0) | unused | a waiter takes it (CAS to `Q_SETUP`) |
// | `Q_SETUP` | being filled in | its waiter (store `Q_WAITING`) |
// | `Q_WAITING` | waiting since ticket | its waiter (leaves: `Q_FREE`) or a granter (`Q_GRANTED*`) |
// | `Q_GRANTED` / `Q_GRANTED_AB` | the object was handed to it (`_AB`: a mutex whose last owner died) | its waiter takes it (`Q_FREE`), or a revoker after the bound |
//
// Every transition is one CAS on the slot word, so exactly one party wins each: the grantee or
// a revoker takes a grant, never both; a waiter leaves or is granted, never both. Tickets order
// the waiters (oldest = the largest distance back from the ticket counter, mod 2^28). The
// counter of queued waiters lives in the object's `counts` word, `Q_ONE` per waiter: the
// waiter makes its slot `Q_WAITING` *before* adding `Q_ONE`, and a releaser changes the object
// *before* reading `counts` (both read-modify-writes): either the releaser sees the count and
// then the slot, or the waiter's re-check after its increment sees the release.

/// Slots in an object's wait queue. More simultaneous waiters than this wait unqueued (they
/// poll, and get no place in the FIFO).
pub(crate) const QUEUE_SLOTS: usize = 48;
pub(crate) const Q_STATE: u32 = 7 << 29;
pub(crate) const Q_FREE: u32 = 0;
pub(crate) const Q_SETUP: u32 = 1 << 29;
pub(crate) const Q_WAITING: u32 = 2 << 29;
pub(crate) const Q_GRANTED: u32 = 3 << 29;
pub(crate) const Q_GRANTED_AB: u32 = 4 << 29;
/// The waiter sleeps (or is about to) on the slot word: a granter must wake it.
pub(crate) const Q_SLEEP: u32 = 1 << 28;
pub(crate) const Q_TICKET: u32 = (1 << 28) - 1;
/// One queued waiter in a `counts` word (the low 16 bits count unqueued sleepers).
pub(crate) const Q_ONE: u32 = 1 << 16;

/// A waiter's place: slot index and the ticket it waits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub slot: usize,
    pub ticket: u32,
}

/// How a waiter's leave went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Left {
    /// Left while still waiting.
    Waiting,
    /// It had been granted the object meanwhile, and now holds it (`abandoned` for a mutex
    /// whose previous owner died).
    Granted { abandoned: bool },
    /// The slot no longer holds our ticket (revoked, or forged): nothing is ours.
    Gone,
}

/// The wait queue of one object, over its words (see the table above).
pub(crate) struct Queue<'a, A: Atomic32> {
    /// Ticket counter.
    pub tickets: &'a A,
    /// Queued waiters (`Q_ONE` each) plus, in the low 16 bits, unqueued sleepers.
    pub counts: &'a A,
    /// `4 * QUEUE_SLOTS` words (fewer in the models).
    pub slots: &'a [A],
}

impl<A: Atomic32> Queue<'_, A> {
    fn len(&self) -> usize {
        self.slots.len() / 4
    }

    /// The slot's futex word.
    pub(crate) fn word(&self, slot: usize) -> &A {
        &self.slots[4 * slot]
    }

    /// The thread id in slot `slot` (any value: it is shared memory).
    pub(crate) fn tid(&self, slot: usize) -> u32 {
        self.slots[4 * slot + 1].load(Acquire)
    }

    /// The process id in slot `slot`.
    pub(crate) fn pid(&self, slot: usize) -> u32 {
        self.slots[4 * slot + 2].load(Acquire)
    }

    /// Takes a place at the back of the queue for thread `tid` of process `pid`; `None` if
    /// every slot is busy. The caller must re-check the object afterwards (then no release can
    /// be missed) and eventually [`Queue::leave`] or [`Queue::take_grant`].
    #[cfg(test)]
    pub(crate) fn enqueue(&self, tid: u32, pid: u32) -> Option<Place> {
        self.enqueue_with(tid, pid, self.take_ticket())
    }

    /// A new ticket: the caller's place in the order of arrival.
    pub(crate) fn take_ticket(&self) -> u32 {
        self.tickets.fetch_add(1, AcqRel) & Q_TICKET
    }

    /// [`Queue::enqueue`] with a ticket taken earlier: a waiter that found every slot busy
    /// keeps the ticket of its arrival, so once it gets a slot it is served in arrival order.
    pub(crate) fn enqueue_with(&self, tid: u32, pid: u32, ticket: u32) -> Option<Place> {
        let ticket = ticket & Q_TICKET;
        for slot in 0..self.len() {
            let w = self.word(slot);
            if w.load(Relaxed) != Q_FREE || w.compare_exchange(Q_FREE, Q_SETUP | ticket, Acquire, Relaxed).is_err() {
                continue;
            }
            self.slots[4 * slot + 1].swap(tid, Release);
            self.slots[4 * slot + 2].swap(pid, Release);
            w.swap(Q_WAITING | ticket, AcqRel);
            self.counts.fetch_add(Q_ONE, AcqRel);
            return Some(Place { slot, ticket });
        }
        None
    }

    /// Marks our waiting slot as sleeping; returns the value to sleep on, or `None` if it is
    /// no longer plainly waiting (granted: take it; or gone).
    pub(crate) fn mark_sleeping(&self, p: Place) -> Option<u32> {
        let w = self.word(p.slot);
        let want = Q_WAITING | p.ticket;
        match w.compare_exchange(want, want | Q_SLEEP, AcqRel, Acquire) {
            Ok(_) => Some(want | Q_SLEEP),
            Err(now) if now == want | Q_SLEEP => Some(now),
            Err(_) => None,
        }
    }

    /// True if our slot holds a grant (cheap check for spinning).
    pub(crate) fn granted(&self, p: Place) -> bool {
        let w = self.word(p.slot).load(Acquire);
        w & Q_TICKET == p.ticket && matches!(w & Q_STATE, Q_GRANTED | Q_GRANTED_AB)
    }

    /// Takes the grant in our slot, freeing the slot: `Some(abandoned)` if it was granted.
    pub(crate) fn take_grant(&self, p: Place) -> Option<bool> {
        let w = self.word(p.slot);
        for state in [Q_GRANTED, Q_GRANTED_AB] {
            if w.compare_exchange(state | p.ticket, Q_FREE, AcqRel, Relaxed).is_ok() {
                return Some(state == Q_GRANTED_AB);
            }
        }
        None
    }

    /// Declines the grant in our slot, keeping our place (a wait-all that cannot use it now):
    /// the slot is waiting again with its ticket, and the caller holds the unit, which it must
    /// give back and pass to the waiters behind us ([`hand_off_after`]). `Some(abandoned)` if
    /// there was a grant to decline.
    pub(crate) fn decline(&self, p: Place) -> Option<bool> {
        let w = self.word(p.slot);
        for state in [Q_GRANTED, Q_GRANTED_AB] {
            if w.compare_exchange(state | p.ticket, Q_WAITING | p.ticket, AcqRel, Relaxed).is_ok() {
                // Waiting before counted, as in `enqueue`.
                self.counts.fetch_add(Q_ONE, AcqRel);
                return Some(state == Q_GRANTED_AB);
            }
        }
        None
    }

    /// Leaves the queue if still waiting. [`Left::Granted`] means the slot holds a grant: the
    /// caller takes it with [`Queue::take_grant`] (under its own protocol), then calls again.
    pub(crate) fn leave(&self, p: Place) -> Left {
        let w = self.word(p.slot);
        let mut now = w.load(Acquire);
        loop {
            if now & Q_TICKET != p.ticket {
                return Left::Gone;
            }
            match now & Q_STATE {
                Q_WAITING => match w.compare_exchange(now, Q_FREE, AcqRel, Acquire) {
                    Ok(_) => {
                        self.counts.fetch_sub(Q_ONE, AcqRel);
                        return Left::Waiting;
                    }
                    Err(n) => now = n,
                },
                Q_GRANTED => return Left::Granted { abandoned: false },
                Q_GRANTED_AB => return Left::Granted { abandoned: true },
                _ => return Left::Gone,
            }
        }
    }

    /// True while the slot still holds our ticket (waiting or granted).
    pub(crate) fn holds(&self, p: Place) -> bool {
        let w = self.word(p.slot).load(Acquire);
        w & Q_TICKET == p.ticket && matches!(w & Q_STATE, Q_WAITING | Q_GRANTED | Q_GRANTED_AB)
    }

    /// The oldest waiting slot: `(slot, its word, its thread id)`. The scan stops once it has
    /// seen as many waiting slots as `counts` says are queued (one, usually: no need to read
    /// the other 47); a stale or forged count only makes it read more or pick among fewer.
    #[cfg(test)]
    pub(crate) fn oldest_waiting(&self) -> Option<(usize, u32, u32)> {
        self.oldest_waiting_after(None)
    }

    /// [`Queue::oldest_waiting`] among the waiters that queued after ticket `after` (all of
    /// them for `None`).
    pub(crate) fn oldest_waiting_after(&self, after: Option<u32>) -> Option<(usize, u32, u32)> {
        let now = self.tickets.load(Acquire);
        let limit = after.map_or(u32::MAX, |t| now.wrapping_sub(t) & Q_TICKET);
        let queued = self.counts.load(Acquire) / Q_ONE;
        let mut seen = 0;
        let mut best: Option<(u32, usize, u32)> = None;
        for slot in 0..self.len() {
            let w = self.word(slot).load(Acquire);
            if w & Q_STATE != Q_WAITING {
                continue;
            }
            seen += 1;
            if seen > queued.max(1) {
                break;
            }
            let age = now.wrapping_sub(w) & Q_TICKET;
            if age < limit && best.is_none_or(|(a, _, _)| age > a) {
                best = Some((age, slot, w));
            }
        }
        best.map(|(_, slot, w)| (slot, w, self.tid(slot)))
    }

    /// Hands the object to the waiter of `slot`, seen as `seen` (waiting). `Err(())` if it left
    /// or changed meanwhile (the caller keeps the object). `Ok(true)` if it sleeps: wake it.
    pub(crate) fn grant(&self, slot: usize, seen: u32, abandoned: bool) -> Result<bool, ()> {
        let state = if abandoned { Q_GRANTED_AB } else { Q_GRANTED };
        self.word(slot).compare_exchange(seen, state | (seen & Q_TICKET), AcqRel, Relaxed).map_err(|_| ())?;
        self.counts.fetch_sub(Q_ONE, AcqRel);
        Ok(seen & Q_SLEEP != 0)
    }

    /// Takes back a grant seen as `seen` in `slot` from a waiter that did not come for it
    /// (dead, or stuck past the bound): true if we won it (we now hold the object).
    pub(crate) fn revoke(&self, slot: usize, seen: u32) -> bool {
        matches!(seen & Q_STATE, Q_GRANTED | Q_GRANTED_AB)
            && self.word(slot).compare_exchange(seen, Q_FREE, AcqRel, Relaxed).is_ok()
    }

    /// Slots holding a grant: `(slot, word)`.
    pub(crate) fn grants(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (0..self.len()).filter_map(|slot| {
            let w = self.word(slot).load(Acquire);
            matches!(w & Q_STATE, Q_GRANTED | Q_GRANTED_AB).then_some((slot, w))
        })
    }
}

/// A releaser's hand-off: while a waiter is queued and `take` can take a unit of the object for
/// it (given the waiter's thread id; returns `Some(abandoned)`), grant it; if the grant fails
/// (the waiter left) `give_back` returns the unit and the next waiter is tried. `wake` is
/// called for a granted slot whose waiter sleeps. Returns how many grants were made; stops
/// after `max` grants or when `take` fails (the object is gone: consumed by someone else).
#[cfg(test)]
pub(crate) fn hand_off<A: Atomic32>(
    q: &Queue<'_, A>,
    max: u32,
    take: impl FnMut(u32) -> Option<bool>,
    give_back: impl FnMut(u32, bool),
    wake: impl FnMut(usize),
) -> u32 {
    hand_off_after(q, None, max, take, give_back, wake)
}

/// [`hand_off`] to the waiters that queued after ticket `after` only (`None`: all): how a
/// wait-all that declines a grant passes it on. Going strictly forward in ticket order, a grant
/// declined by every wait-all in turn ends at the back of the queue (then it stays in the
/// object), never circles back: the scan Windows' dispatcher makes over a wait list, one wake-up
/// at a time.
pub(crate) fn hand_off_after<A: Atomic32>(
    q: &Queue<'_, A>,
    after: Option<u32>,
    max: u32,
    mut take: impl FnMut(u32) -> Option<bool>,
    mut give_back: impl FnMut(u32, bool),
    mut wake: impl FnMut(usize),
) -> u32 {
    let mut granted = 0;
    // Bounded: each round either grants, or finds a slot that changed under it; a hostile
    // writer flipping slots forever cannot keep a releaser here past this many rounds.
    for _ in 0..4 * QUEUE_SLOTS {
        if granted >= max {
            break;
        }
        let Some((slot, seen, tid)) = q.oldest_waiting_after(after) else { break };
        let Some(abandoned) = take(tid) else { break };
        match q.grant(slot, seen, abandoned) {
            Ok(sleeps) => {
                granted += 1;
                if sleeps {
                    wake(slot);
                }
            }
            Err(()) => give_back(tid, abandoned),
        }
    }
    granted
}

#[cfg(test)]
mod models {
    //! loom models: every interleaving of small scenarios, with loom's atomics standing in for
    //! the shared page. Run by plain `cargo test` (`cargo test -p filemap --lib sync::state`).
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicU32, AtomicU64};

    impl_atomics!(AtomicU32, AtomicU64);

    struct Words {
        seq: AtomicU32,
        waiters: AtomicU32,
        state: AtomicU64,
    }
    impl Words {
        fn new(v: u32) -> Arc<Words> {
            Arc::new(Words { seq: AtomicU32::new(0), waiters: AtomicU32::new(0), state: AtomicU64::new(u64::from(v)) })
        }
        fn cell(&self) -> Cell<'_, AtomicU32, AtomicU64> {
            Cell { seq: &self.seq, waiters: &self.waiters, state: &self.state }
        }
    }

    struct Yield;
    impl ClaimWait for Yield {
        fn wait(&mut self, _: u32, _: u32) -> ClaimAction {
            loom::thread::yield_now();
            ClaimAction::Wait
        }
    }

    #[test]
    fn loom_semaphore_units_are_never_lost_or_duplicated() {
        loom::model(|| {
            let w = Words::new(1);
            let taker = {
                let w = w.clone();
                loom::thread::spawn(move || w.cell().update(&mut Yield, sem_take).1.is_some())
            };
            let adder = {
                let w = w.clone();
                loom::thread::spawn(move || w.cell().update(&mut Yield, |v| sem_add(v, 1, 1)).1.is_some())
            };
            let took_main = w.cell().update(&mut Yield, sem_take).1.is_some();
            let took = taker.join().unwrap();
            let added = adder.join().unwrap();
            let count = w.cell().value();
            // units: 1 initial + added - taken == final count, and never above max.
            assert_eq!(1 + u32::from(added), count + u32::from(took) + u32::from(took_main));
            assert!(count <= 1);
        });
    }

    #[test]
    fn loom_wait_all_claims_are_all_or_nothing() {
        // One wait_all over (sem A, auto event B) races a single waiter consuming B.
        loom::model(|| {
            let a = Words::new(1);
            let b = Words::new(SIGNALED);
            let single = {
                let b = b.clone();
                loom::thread::spawn(move || b.cell().update(&mut Yield, |v| event_take(v, false, None)).1.is_some())
            };
            // wait_all in canonical order A then B, claim-based.
            let me = 7;
            let mut got_all = false;
            if let Some(va) = a.cell().claim(me, &mut Yield, |v| v > 0) {
                if let Some(vb) = b.cell().claim(me, &mut Yield, |v| v & SIGNALED != 0) {
                    assert!(a.cell().unclaim(me, va, va - 1));
                    assert!(b.cell().unclaim(me, vb, vb & !SIGNALED));
                    got_all = true;
                } else {
                    assert!(a.cell().unclaim(me, va, va));
                }
            }
            let single_got = single.join().unwrap();
            assert!(got_all != single_got, "exactly one of them gets the event");
            assert_eq!(a.cell().value(), if got_all { 0 } else { 1 }, "A consumed only with all");
            assert_eq!(b.cell().value() & SIGNALED, 0);
        });
    }

    #[test]
    fn loom_set_is_never_missed_by_a_registered_sleeper() {
        // A waiter registers, re-checks and "sleeps" (checks seq unchanged); a setter sets and
        // publishes. Either the waiter sees the event or the setter sees the waiter, or seq moved.
        loom::model(|| {
            let w = Words::new(0);
            let setter = {
                let w = w.clone();
                loom::thread::spawn(move || {
                    w.cell().update(&mut Yield, |v| Some(event_set(v)));
                    w.cell().publish() != 0
                })
            };
            let c = w.cell();
            let seq = c.register();
            let saw = c.update(&mut Yield, |v| event_take(v, false, None)).1.is_some();
            let would_sleep = !saw && w.seq.fetch_add(0, SeqCst) == seq;
            // A real sleeper stays registered until woken, so unregister only afterwards.
            let woke = setter.join().unwrap();
            c.unregister();
            assert!(!would_sleep || woke, "a sleeper that missed the set must be woken");
        });
    }

    #[test]
    fn loom_auto_pulse_releases_exactly_one_waiter_of_that_moment() {
        loom::model(|| {
            let w = Words::new(0);
            let g0 = event_gen(w.cell().value());
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let w = w.clone();
                    loom::thread::spawn(move || {
                        w.cell().update(&mut Yield, |v| event_take(v, false, Some(g0))).1.is_some()
                    })
                })
                .collect();
            w.cell().update(&mut Yield, |v| Some(event_pulse(v, false)));
            let mut released = 0;
            for t in waiters {
                released += u32::from(t.join().unwrap());
            }
            // A waiter may check before the pulse (then it would sleep and retry): at most one.
            assert!(released <= 1);
            // After the pulse, one more try by a waiter of that moment always succeeds unless taken.
            let again = w.cell().update(&mut Yield, |v| event_take(v, false, Some(g0))).1.is_some();
            assert_eq!(released + u32::from(again), 1);
            assert_eq!(w.cell().value() & SIGNALED, 0, "a pulse leaves the event unsignaled");
        });
    }

    #[test]
    fn loom_mutex_has_one_owner_and_abandonment_is_seen_once() {
        loom::model(|| {
            let word = Arc::new(AtomicU32::new(0));
            // Thread 1 takes it and dies holding it (the kernel marks OWNER_DIED).
            let t1 = {
                let word = word.clone();
                loom::thread::spawn(move || {
                    if let MutexTry::Acquired { .. } = mutex_try_acquire(&*word, 1) {
                        mutex_owner_died(&*word, 1);
                        true
                    } else {
                        false
                    }
                })
            };
            let t2 = {
                let word = word.clone();
                loom::thread::spawn(move || match mutex_try_acquire(&*word, 2) {
                    MutexTry::Acquired { abandoned } => {
                        mutex_release(&*word);
                        Some(abandoned)
                    }
                    _ => None,
                })
            };
            let t1_took = t1.join().unwrap();
            let t2_took = t2.join().unwrap();
            // Whoever comes last sees the final state.
            let last = match mutex_try_acquire(&*word, 3) {
                MutexTry::Acquired { abandoned } => abandoned,
                other => panic!("the mutex must be free at the end, got {other:?}"),
            };
            let told = u32::from(t2_took == Some(true)) + u32::from(last);
            if t1_took {
                assert_eq!(told, 1, "the death of the owner is reported to exactly one acquirer");
            } else {
                // t1 found it owned by t2, so nobody died holding it.
                assert_eq!(t2_took, Some(false));
                assert_eq!(told, 0);
            }
        });
    }

    #[test]
    fn loom_mutex_release_wakes_a_marked_sleeper() {
        loom::model(|| {
            let word = Arc::new(AtomicU32::new(0));
            assert_eq!(mutex_try_acquire(&*word, 1), MutexTry::Acquired { abandoned: false });
            let sleeper = {
                let word = word.clone();
                loom::thread::spawn(move || match mutex_try_acquire(&*word, 2) {
                    MutexTry::Acquired { .. } => None,
                    MutexTry::Busy(seen) => mutex_mark_waiting(&*word, seen),
                    MutexTry::Recursive => unreachable!(),
                })
            };
            let woke = mutex_release(&*word);
            if let Some(sleep_on) = sleeper.join().unwrap() {
                // It would sleep on `sleep_on`: either the word moved on (futex returns at once)
                // or the release saw WAITERS and wakes.
                assert!(woke || word.load(SeqCst) != sleep_on);
            }
        });
    }

    #[test]
    fn loom_a_due_timer_is_fired_by_exactly_one_poller() {
        // Two pollers saw the same armed version and race to fire it (claim on that exact
        // version); a synchronization timer then has exactly one signal to give.
        loom::model(|| {
            let v0 = timer_set(0);
            let w = Words::new(v0);
            let pollers: Vec<_> = (1..=2u32)
                .map(|pid| {
                    let w = w.clone();
                    loom::thread::spawn(move || match w.cell().claim(pid, &mut Yield, |x| x == v0) {
                        Some(v) => {
                            assert!(w.cell().unclaim(pid, v, timer_fire(v, false)));
                            true
                        }
                        None => false,
                    })
                })
                .collect();
            let fired: u32 = pollers.into_iter().map(|t| u32::from(t.join().unwrap())).sum();
            assert_eq!(fired, 1);
            let v = w.cell().value();
            assert_eq!(v & (SIGNALED | ARMED), SIGNALED, "one-shot: signaled and disarmed");
            assert!(timer_take(v, false).is_some());
        });
    }

    #[test]
    fn loom_a_failed_wait_all_restores_values_under_a_concurrent_release() {
        // wait_all over (sem A = 1, event B unsignaled) fails on B and rolls A back, while
        // another thread releases A: no unit is lost or created.
        loom::model(|| {
            let a = Words::new(1);
            let b = Words::new(0);
            let releaser = {
                let a = a.clone();
                loom::thread::spawn(move || a.cell().update(&mut Yield, |v| sem_add(v, 1, 5)).1.is_some())
            };
            let me = 9;
            if let Some(va) = a.cell().claim(me, &mut Yield, |v| v > 0) {
                assert!(b.cell().claim(me, &mut Yield, |v| v & SIGNALED != 0).is_none());
                assert!(a.cell().unclaim(me, va, va));
            }
            assert!(releaser.join().unwrap());
            assert_eq!(a.cell().value(), 2, "1 initial + 1 released, nothing consumed");
        });
    }

    /// The words of a one-slot queue plus a semaphore-like unit counter.
    struct QWords {
        tickets: AtomicU32,
        counts: AtomicU32,
        slots: Vec<AtomicU32>,
        units: AtomicU32,
    }

    impl QWords {
        fn new() -> Arc<QWords> {
            Arc::new(QWords {
                tickets: AtomicU32::new(0),
                counts: AtomicU32::new(0),
                slots: (0..4).map(|_| AtomicU32::new(0)).collect(),
                units: AtomicU32::new(0),
            })
        }
        fn q(&self) -> Queue<'_, AtomicU32> {
            Queue { tickets: &self.tickets, counts: &self.counts, slots: &self.slots }
        }
        fn try_take(&self) -> bool {
            let mut v = self.units.load(Relaxed);
            while v > 0 {
                match self.units.compare_exchange(v, v - 1, AcqRel, Relaxed) {
                    Ok(_) => return true,
                    Err(now) => v = now,
                }
            }
            false
        }
        /// A release: add the unit, then (reading `counts` by RMW) hand it off.
        fn release(&self) -> bool {
            self.units.fetch_add(1, AcqRel);
            let mut woke = false;
            if self.counts.fetch_add(0, AcqRel) >= Q_ONE {
                hand_off(
                    &self.q(),
                    1,
                    |_| self.try_take().then_some(false),
                    |_, _| {
                        self.units.fetch_add(1, AcqRel);
                    },
                    |_| woke = true,
                );
            }
            woke
        }
    }

    impl QWords {
        /// A wait-all's decline of its grant in `p`: the unit goes back and on to the waiters
        /// queued after `p` (never back to `p`).
        fn decline(&self, p: Place) -> bool {
            if self.q().decline(p).is_none() {
                return false;
            }
            self.units.fetch_add(1, AcqRel);
            if self.counts.fetch_add(0, AcqRel) >= Q_ONE {
                hand_off_after(
                    &self.q(),
                    Some(p.ticket),
                    1,
                    |_| self.try_take().then_some(false),
                    |_, _| {
                        self.units.fetch_add(1, AcqRel);
                    },
                    |_| {},
                );
            }
            true
        }
    }

    #[test]
    fn loom_a_declined_partial_grant_goes_to_the_next_waiter_exactly_once() {
        // A wait-all W (oldest) and a single waiter C are queued on X; W's other object is not
        // available, so W declines whatever X grant it finds, before and after a release that
        // races it, while C re-checks X. The unit exists exactly once throughout, ends with C
        // (taken or granted), never back with W, and W keeps its place.
        loom::model(|| {
            let x = Arc::new(QWords {
                tickets: AtomicU32::new(0),
                counts: AtomicU32::new(0),
                slots: (0..8).map(|_| AtomicU32::new(0)).collect(),
                units: AtomicU32::new(0),
            });
            let w = x.q().enqueue(1, 1).unwrap();
            let c = x.q().enqueue(2, 2).unwrap();
            let releaser = {
                let x = x.clone();
                loom::thread::spawn(move || {
                    x.release();
                })
            };
            let checker = {
                let x = x.clone();
                loom::thread::spawn(move || x.try_take())
            };
            x.decline(w);
            releaser.join().unwrap();
            let c_took = checker.join().unwrap();
            x.decline(w); // W's next wake-up, if the release granted it after its first look
            let q = x.q();
            assert!(!q.granted(w), "the wait-all does not keep a partial grant");
            assert!(q.holds(w), "the wait-all keeps its place");
            let c_granted = q.granted(c);
            assert_eq!(
                u32::from(c_took) + u32::from(c_granted) + x.units.load(SeqCst),
                1,
                "the unit exists exactly once"
            );
            assert!(c_took || c_granted, "the declined unit goes to the waiter behind");
        });
    }

    #[test]
    fn loom_a_release_racing_a_new_waiter_is_neither_lost_nor_duplicated() {
        // A waiter queues and re-checks while a release hands off: the unit ends up exactly
        // once, with the waiter (taken or granted) or in the object; and a waiter that would
        // sleep is either granted and woken, or the unit is not there to take.
        loom::model(|| {
            let w = QWords::new();
            let releaser = {
                let w = w.clone();
                loom::thread::spawn(move || w.release())
            };
            let q = w.q();
            let p = q.enqueue(7, 7).expect("one free slot");
            let mut held = 0;
            if w.try_take() {
                held += 1;
            }
            let sleep_on = if held == 0 { q.mark_sleeping(p) } else { None };
            let woke = releaser.join().unwrap();
            if let Some(v) = sleep_on {
                // Asleep on the slot word: the granter must see SLEEP and wake, or the unit
                // must still be in the object for our next look... which a sleeper never takes:
                // so a sleeping waiter with the unit left in the object is a lost wake-up.
                let slot_now = q.word(p.slot).load(SeqCst);
                assert!(slot_now != v || w.units.load(SeqCst) == 0, "lost wake-up");
                if slot_now != v {
                    assert!(woke || slot_now & Q_STATE == Q_WAITING, "a granted sleeper is woken");
                }
            }
            match q.leave(p) {
                Left::Granted { .. } => {
                    assert!(q.take_grant(p).is_some());
                    held += 1;
                }
                Left::Waiting | Left::Gone => {}
            }
            assert_eq!(held + w.units.load(SeqCst), 1, "the unit exists exactly once");
            assert_eq!(w.counts.load(SeqCst), 0, "nobody is counted as queued any more");
        });
    }

    #[test]
    fn loom_a_grant_is_taken_by_its_waiter_or_revoked_never_both() {
        loom::model(|| {
            let w = QWords::new();
            let q = w.q();
            let p = q.enqueue(7, 7).unwrap();
            let (slot, seen, _) = q.oldest_waiting().unwrap();
            assert_eq!(q.grant(slot, seen, false), Ok(false));
            let granted_word = q.word(slot).load(SeqCst);
            let revoker = {
                let w = w.clone();
                loom::thread::spawn(move || w.q().revoke(slot, granted_word))
            };
            let took = q.take_grant(p).is_some();
            let revoked = revoker.join().unwrap();
            assert!(took ^ revoked, "exactly one party holds the granted object");
            assert_eq!(q.leave(p), Left::Gone);
        });
    }

    #[test]
    fn loom_two_waiters_are_served_oldest_first() {
        // Two waiters queue one after the other (tickets 0 and 1); one release grants the
        // older one, whatever the interleaving of the release with the second enqueue.
        loom::model(|| {
            let w = Arc::new(QWords {
                tickets: AtomicU32::new(0),
                counts: AtomicU32::new(0),
                slots: (0..8).map(|_| AtomicU32::new(0)).collect(),
                units: AtomicU32::new(0),
            });
            let first = w.q().enqueue(1, 1).unwrap();
            let second = {
                let w = w.clone();
                loom::thread::spawn(move || w.q().enqueue(2, 2).unwrap())
            };
            w.release();
            let second = second.join().unwrap();
            let q = w.q();
            assert!(q.granted(first), "the oldest waiter gets the unit");
            assert!(!q.granted(second));
            assert!(q.take_grant(first).is_some());
            assert_eq!(q.leave(second), Left::Waiting);
        });
    }
}
