//! Semaphores, events and waitable timers: claimable state cells (see `state`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result, Win32Error};
use crate::object::{ObjectFile, ObjectType};
use crate::sys::futex as sysfutex;

use super::SyncState;
use super::claim::ClaimSpin;
use super::handle::{self};
use super::page::{OFF_CLOCK, OFF_COUNT, OFF_DUE, OFF_PERIOD, OFF_STATE, OFF_WORD, SyncPage};
use super::state::{self, ARMED, Cell, SIGNALED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Semaphore { max: u32 },
    Event { manual: bool },
    Timer { manual: bool },
}

/// A semaphore, event or timer, shared by every handle of it in this process.
#[derive(Debug)]
pub struct CellObj {
    // `page` borrows `object`'s mapping: declared first, dropped first.
    pub(super) page: SyncPage,
    pub(crate) object: ObjectFile,
    pub(super) kind: Kind,
}

impl handle::Inner for CellObj {
    fn object(&self) -> &ObjectFile {
        &self.object
    }
    fn object_mut(&mut self) -> &mut ObjectFile {
        &mut self.object
    }
    fn from_object(object: ObjectFile) -> Result<Self> {
        let h = object.header();
        let bad =
            |why: &str| Error::new(Win32Error::INVALID_DATA, format!("{}: corrupt header: {why}", object.describe()));
        let kind = match h.kind {
            ObjectType::Semaphore => {
                let max = h.params[0];
                if max == 0 || max > i32::MAX as u64 {
                    return Err(bad("semaphore maximum out of range"));
                }
                Kind::Semaphore { max: max as u32 }
            }
            ObjectType::Event => Kind::Event { manual: h.params[0] != 0 },
            ObjectType::Timer => Kind::Timer { manual: h.params[0] != 0 },
            other => return Err(bad(&format!("a {other} is not a semaphore, event or timer"))),
        };
        let page = SyncPage::borrow_from(&object)?;
        Ok(CellObj { page, object, kind })
    }
}

/// A timer's due time (`due_ns` on clock `clock`, as stored in its page) as wall-clock time.
pub(super) fn due_wall_time(clock: u32, due_ns: u64) -> std::time::SystemTime {
    let epoch = std::time::UNIX_EPOCH;
    if clock == 1 {
        return epoch + Duration::from_nanos(due_ns);
    }
    let now = std::time::SystemTime::now();
    let mono = clock_now(0);
    if due_ns >= mono { now + Duration::from_nanos(due_ns - mono) } else { now - Duration::from_nanos(mono - due_ns) }
}

pub(super) fn clock_now(clock: u32) -> u64 {
    let id = if clock == 1 { rustix::time::ClockId::Realtime } else { rustix::time::ClockId::Monotonic };
    let t = rustix::time::clock_gettime(id);
    (t.tv_sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec.max(0) as u64)
}

impl CellObj {
    pub(super) fn cell(&self) -> Cell<'_, AtomicU32, std::sync::atomic::AtomicU64> {
        Cell { seq: self.page.u32(OFF_WORD), waiters: self.page.u32(OFF_COUNT), state: self.page.u64(OFF_STATE) }
    }

    pub(crate) fn seq(&self) -> &AtomicU32 {
        self.page.u32(OFF_WORD)
    }

    /// Publishes a change; with queued waiters, hands up to `grants` units of what the change
    /// made available to the oldest of them (taken with `take_gen` as a wait's entry
    /// generation: a pulse's waiters are those of the generation before it).
    #[inline(always)]
    pub(super) fn changed_and_hand_off(&self, grants: u32, take_gen: Option<u32>) {
        let counts = self.cell().publish();
        if counts != 0 {
            self.wake_and_hand_off(counts, grants, take_gen);
        }
    }

    /// The rest of [`CellObj::changed_and_hand_off`] when somebody waits (`counts`: the
    /// published `waiters` word), out of line so that the uncontended set and release stay
    /// small.
    #[cold]
    #[inline(never)]
    fn wake_and_hand_off(&self, counts: u32, grants: u32, take_gen: Option<u32>) {
        if counts & (state::Q_ONE - 1) != 0 {
            sysfutex::wake_all(self.seq());
        }
        if counts >= state::Q_ONE && grants > 0 && self.queued_kind() {
            self.hand_off(grants, take_gen);
        }
    }

    pub(super) fn changed(&self) {
        self.changed_and_hand_off(0, None);
    }

    /// True for the kinds whose waiters queue (a release goes to one waiter): semaphores and
    /// auto-reset events. Manual-reset events release everybody; timers wake their sleepers.
    pub(crate) fn queued_kind(&self) -> bool {
        matches!(self.kind, Kind::Semaphore { .. } | Kind::Event { manual: false })
    }

    /// The wait queue.
    pub(crate) fn queue(&self) -> state::Queue<'_, AtomicU32> {
        self.page.queue(OFF_COUNT)
    }

    /// The futex word of queue slot `slot`.
    pub(crate) fn slot_word(&self, slot: usize) -> &AtomicU32 {
        self.page.queue_word(slot)
    }

    /// Gives up to `grants` available units to the oldest queued waiters.
    fn hand_off(&self, grants: u32, take_gen: Option<u32>) {
        self.hand_off_after(None, grants, take_gen);
    }

    /// [`CellObj::hand_off`] to the waiters queued after ticket `after` only.
    fn hand_off_after(&self, after: Option<u32>, grants: u32, take_gen: Option<u32>) {
        let q = self.queue();
        let taken_bits = std::cell::Cell::new(0);
        state::hand_off_after(
            &q,
            after,
            grants,
            |_tid| {
                let (old, new) = self.cell().update(&mut ClaimSpin::new(), |v| self.take_fn(v, take_gen));
                new.map(|n| {
                    taken_bits.set(old & !n);
                    false
                })
            },
            |_tid, _| self.give_back(taken_bits.get()),
            |slot| sysfutex::wake_all(q.word(slot)),
        );
    }

    /// Returns a unit taken for a waiter that did not take it (`taken_bits`: the event bits the
    /// take cleared).
    fn give_back(&self, taken_bits: u32) {
        match self.kind {
            Kind::Semaphore { max } => {
                self.cell().update(&mut ClaimSpin::new(), |v| state::sem_add(v, 1, max));
            }
            _ => {
                self.cell().update(&mut ClaimSpin::new(), |v| Some(v | (taken_bits & (SIGNALED | state::PULSE))));
            }
        }
    }

    /// A grant we hold but do not want (a wait-any satisfied by another object, or a grant we
    /// revoked): return the unit and hand it to the next waiter.
    pub(crate) fn pass_on_grant(&self) {
        let taken = match self.kind {
            Kind::Semaphore { .. } => 0,
            _ => SIGNALED,
        };
        self.give_back(taken);
        self.changed_and_hand_off(1, None);
    }

    /// Declines the grant in our place `p` (a wait-all that cannot have every object now),
    /// keeping the place: the unit goes back and on to the waiters queued after us (or stays
    /// in the object). False if there was no grant to decline.
    pub(crate) fn decline_grant(&self, p: state::Place) -> bool {
        if self.queue().decline(p).is_none() {
            return false;
        }
        self.give_back(match self.kind {
            Kind::Semaphore { .. } => 0,
            _ => SIGNALED,
        });
        let counts = self.cell().publish();
        if counts & (state::Q_ONE - 1) != 0 {
            sysfutex::wake_all(self.seq());
        }
        self.hand_off_after(Some(p.ticket), 1, None);
        true
    }

    /// For a queued waiter's look: if the object has a unit available (semaphore count,
    /// event signal), hands it to the oldest queued waiter, as a release does.
    pub(crate) fn hand_off_available(&self) {
        if self.looks_available() {
            self.hand_off(1, None);
        }
    }

    /// For a queued waiter: takes an auto-reset pulse of a generation after `entry_gen` (never
    /// the signal, which goes by hand-off).
    pub(crate) fn try_take_pulse(&self, entry_gen: Option<u32>, deadline: Option<std::time::Instant>) -> bool {
        if !matches!(self.kind, Kind::Event { .. }) {
            return false;
        }
        self.cell()
            .update(
                &mut ClaimSpin::until(deadline),
                |v| {
                    if v & SIGNALED != 0 { None } else { self.take_fn(v, entry_gen) }
                },
            )
            .1
            .is_some()
    }

    pub(crate) fn register(&self) -> u32 {
        self.cell().register()
    }

    pub(crate) fn unregister(&self) {
        self.cell().unregister()
    }

    /// The event generation at the start of a wait (events only).
    pub(crate) fn event_gen(&self) -> Option<u32> {
        match self.kind {
            Kind::Event { .. } => Some(state::event_gen(self.cell().value())),
            _ => None,
        }
    }

    #[inline(always)]
    pub(super) fn take_fn(&self, v: u32, entry_gen: Option<u32>) -> Option<u32> {
        match self.kind {
            Kind::Semaphore { .. } => state::sem_take(v),
            Kind::Event { manual } => state::event_take(v, manual, entry_gen),
            Kind::Timer { manual } => state::timer_take(v, manual),
        }
    }

    /// Tries to consume (a unit, the signal, or a pulse since `entry_gen`).
    #[inline]
    pub(crate) fn try_take(&self, entry_gen: Option<u32>, deadline: Option<std::time::Instant>) -> bool {
        self.cell().update(&mut ClaimSpin::until(deadline), |v| self.take_fn(v, entry_gen)).1.is_some()
    }

    fn signaled_for_all(&self, v: u32) -> bool {
        match self.kind {
            Kind::Semaphore { .. } => v > 0,
            Kind::Event { .. } | Kind::Timer { .. } => v & SIGNALED != 0,
        }
    }

    /// Would a wait with entry generation `entry_gen` take something now? (No change.)
    pub(crate) fn looks_available_for(&self, entry_gen: Option<u32>) -> bool {
        let s = self.page.u64(OFF_STATE).load(Ordering::Acquire);
        state::claimer(s) != 0 || self.take_fn(state::value(s), entry_gen).is_some()
    }

    pub(crate) fn looks_available(&self) -> bool {
        self.signaled_for_all(state::value(self.page.u64(OFF_STATE).load(Ordering::Acquire)))
    }

    /// The cheap "looks signaled" probe (`sync::probe`): a semaphore's count is not zero, an
    /// event's or timer's signaled bit is set. A hint for a wait's O(n) first pass.
    #[inline(always)]
    pub(crate) fn probe(&self) -> super::Probe<'_> {
        let word = self.page.u64(OFF_STATE);
        match self.kind {
            Kind::Semaphore { .. } => super::Probe::semaphore(word),
            Kind::Event { .. } | Kind::Timer { .. } => super::Probe::signal_bit(word),
        }
    }

    /// One attempt at the transition `f` on an unclaimed state: the first round of
    /// [`state::Cell::update`] without its claim-waiting machinery, inlined into the
    /// uncontended paths. `Some((old, new))` when `f` accepted and the change stuck (or changed
    /// nothing); `None` when the object is claimed, `f` refused, or another change came first:
    /// the caller then takes the general path, which decides.
    #[inline(always)]
    pub(super) fn update_fast(&self, f: impl FnOnce(u32) -> Option<u32>) -> Option<(u32, u32)> {
        let word = self.page.u64(OFF_STATE);
        let s = word.load(Ordering::Acquire);
        if state::claimer(s) != 0 {
            return None;
        }
        let old = state::value(s);
        let new = f(old)?;
        // An unclaimed state is the value alone (claim bits zero), as `state::pack(new, 0)`.
        if new == old || word.compare_exchange(s, u64::from(new), Ordering::SeqCst, Ordering::Acquire).is_ok() {
            return Some((old, new));
        }
        None
    }

    pub(crate) fn claim_if_signaled(&self, me: u32, deadline: Option<std::time::Instant>) -> Option<u32> {
        self.cell().claim(me, &mut ClaimSpin::until(deadline), |v| self.signaled_for_all(v))
    }

    /// Ends our claim of value `claimed` with value `new`; false if the claim was broken.
    pub(crate) fn unclaim(&self, me: u32, claimed: u32, new: u32) -> bool {
        self.cell().unclaim(me, claimed, new)
    }

    /// The value after a `wait_all` consumed a claimed (signaled) value `v`.
    pub(crate) fn consume(&self, v: u32) -> u32 {
        self.take_fn(v, None).unwrap_or(v)
    }

    /// Fires the timer if it is due; returns the time until it is due if it is armed.
    pub(crate) fn timer_poll(&self) -> Option<Duration> {
        if !matches!(self.kind, Kind::Timer { .. }) {
            return None;
        }
        let s = self.page.u64(OFF_STATE).load(Ordering::Acquire);
        let v = state::value(s);
        if state::claimer(s) != 0 {
            return Some(Duration::from_micros(50));
        }
        if v & ARMED == 0 {
            return None;
        }
        let due = self.page.u64(OFF_DUE).load(Ordering::Acquire);
        let clock = self.page.u32(OFF_CLOCK).load(Ordering::Acquire);
        let now = clock_now(clock);
        if now < due {
            return Some(Duration::from_nanos(due - now));
        }
        let me = sysfutex::getpid();
        // Fire: claim exactly this version (a set/cancel/fire since we read `due` refuses).
        let Some(v) = self.cell().claim(me, &mut ClaimSpin::new(), |x| x == v) else {
            return Some(Duration::ZERO);
        };
        let period = self.page.u64(OFF_PERIOD).load(Ordering::Acquire);
        if let Some(missed) = (now - due).checked_div(period) {
            let next = due.saturating_add(period.saturating_mul(missed + 1));
            self.page.u64(OFF_DUE).store(next, Ordering::Release);
        }
        if !self.unclaim(me, v, state::timer_fire(v, period > 0)) {
            return Some(Duration::ZERO); // our claim was broken: look again
        }
        self.changed();
        if period > 0 { Some(Duration::from_nanos(period)) } else { None }
    }

    pub(super) fn state(&self) -> SyncState {
        let _ = self.timer_poll();
        let v = self.cell().value();
        match self.kind {
            Kind::Semaphore { max } => SyncState::Semaphore { count: v, max },
            Kind::Event { manual } => SyncState::Event { manual_reset: manual, signaled: v & SIGNALED != 0 },
            Kind::Timer { manual } => {
                let p = self.page.u64(OFF_PERIOD).load(Ordering::Relaxed);
                let armed = v & ARMED != 0;
                let due = armed.then(|| {
                    due_wall_time(
                        self.page.u32(OFF_CLOCK).load(Ordering::Acquire),
                        self.page.u64(OFF_DUE).load(Ordering::Acquire),
                    )
                });
                SyncState::Timer {
                    manual_reset: manual,
                    signaled: v & SIGNALED != 0,
                    armed,
                    period: (p != 0).then(|| Duration::from_nanos(p)),
                    due,
                }
            }
        }
    }

    /// The uncontended wait of a semaphore or event: what is there is taken with one
    /// compare-and-swap, inlined into the caller. (Taking it with the generation of this same
    /// snapshot as the wait's entry generation is what [`CellObj::wait_one`] would do if nothing
    /// changed in between.) False: wait with `wait_one`. Timers always go there (they may be
    /// due without being fired yet).
    #[inline(always)]
    /// True for a waitable timer (a wait fires it when due; its state word alone does not say).
    pub(crate) fn is_timer(&self) -> bool {
        matches!(self.kind, Kind::Timer { .. })
    }

    /// One non-blocking take on the uncontended path (one load and one compare-and-swap).
    #[inline(always)]
    pub(super) fn take_fast(&self) -> bool {
        !matches!(self.kind, Kind::Timer { .. }) && self.update_fast(|v| self.take_fn(v, None)).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Semaphore;

    #[test]
    fn a_claim_left_by_a_dead_process_is_broken_and_the_value_restored() {
        let (s, _) = Semaphore::options().initial(1).max(5).create().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        // As if `dead` had died inside a wait_all, holding a claim on the semaphore.
        let state = s.inner.page.u64(OFF_STATE);
        state.store(1 | (u64::from(dead) << 32), Ordering::SeqCst);
        let start = std::time::Instant::now();
        assert_eq!(s.release(1).unwrap(), 1, "the claim was broken with the value intact");
        assert!(start.elapsed() >= Duration::from_millis(5), "a live-looking claim is waited out first");
        assert_eq!(s.state(), SyncState::Semaphore { count: 2, max: 5 });
    }
}
