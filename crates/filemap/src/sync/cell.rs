//! Semaphores, events and waitable timers: claimable state cells (see `state`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result, Win32Error};
use crate::object::{Created, ObjectFile, ObjectType};
use crate::sys::futex as sysfutex;

use super::handle::{self, Common, handle_methods};
use super::page::{self, OFF_CLOCK, OFF_COUNT, OFF_DUE, OFF_PERIOD, OFF_STATE, OFF_WORD, SyncPage};
use super::state::{self, ARMED, Cell, SIGNALED};
use super::wait::{ClaimSpin, Target, sealed};
use super::{Rights, SyncState, WaitOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Semaphore { max: u32 },
    Event { manual: bool },
    Timer { manual: bool },
}

/// A semaphore, event or timer, shared by every handle of it in this process.
#[derive(Debug)]
pub struct CellObj {
    // `page` borrows `object`'s mapping: declared first, dropped first.
    page: SyncPage,
    pub(crate) object: ObjectFile,
    kind: Kind,
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

fn clock_now(clock: u32) -> u64 {
    let id = if clock == 1 { rustix::time::ClockId::Realtime } else { rustix::time::ClockId::Monotonic };
    let t = rustix::time::clock_gettime(id);
    (t.tv_sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec.max(0) as u64)
}

impl CellObj {
    fn cell(&self) -> Cell<'_, AtomicU32, std::sync::atomic::AtomicU64> {
        Cell { seq: self.page.u32(OFF_WORD), waiters: self.page.u32(OFF_COUNT), state: self.page.u64(OFF_STATE) }
    }

    pub(crate) fn seq(&self) -> &AtomicU32 {
        self.page.u32(OFF_WORD)
    }

    /// Publishes a change; with queued waiters, hands up to `grants` units of what the change
    /// made available to the oldest of them (taken with `take_gen` as a wait's entry
    /// generation: a pulse's waiters are those of the generation before it).
    #[inline(always)]
    fn changed_and_hand_off(&self, grants: u32, take_gen: Option<u32>) {
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

    fn changed(&self) {
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

    fn take_fn(&self, v: u32, entry_gen: Option<u32>) -> Option<u32> {
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
    fn update_fast(&self, f: impl FnOnce(u32) -> Option<u32>) -> Option<(u32, u32)> {
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

    fn state(&self) -> SyncState {
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
    fn take_fast(&self) -> bool {
        !matches!(self.kind, Kind::Timer { .. }) && self.update_fast(|v| self.take_fn(v, None)).is_some()
    }

    #[inline(never)]
    fn wait_one(&self, timeout: Option<Duration>, me: &dyn super::Waitable) -> Result<WaitOutcome> {
        if matches!(self.kind, Kind::Timer { .. }) {
            return super::wait::run(&[me], false, timeout);
        }
        let entry = self.event_gen();
        let limit = Some(timeout.unwrap_or(super::wait::CLAIM_BREAK).min(super::wait::CLAIM_BREAK));
        if self.cell().update(&mut ClaimSpin::within(limit), |v| self.take_fn(v, entry)).1.is_some() {
            return Ok(WaitOutcome::Signaled(0));
        }
        if super::wait::spin_one(timeout, || {
            Ok(self
                .cell()
                .update(&mut ClaimSpin::within(Some(Duration::ZERO)), |v| self.take_fn(v, entry))
                .1
                .map(|_| ()))
        })?
        .is_some()
        {
            return Ok(WaitOutcome::Signaled(0));
        }
        super::wait::run_opts(&[me], false, timeout, true, entry)
    }
}

macro_rules! cell_handle {
    ($ty:ident, $kind:expr, $all:expr) => {
        handle_methods!($ty, $kind, $all);

        impl sealed::Sealed for $ty {
            fn target(&self) -> Result<Target<'_>> {
                self.check(Rights::SYNCHRONIZE, "wait on")?;
                Ok(Target::Cell(&self.inner))
            }
        }

        impl $ty {
            /// Waits for the object (`WaitForSingleObject`) and consumes what it takes:
            /// [`WaitOutcome::Signaled`]`(0)` or [`WaitOutcome::TimedOut`]. Needs `SYNCHRONIZE`.
            #[inline]
            pub fn wait(&self, timeout: Option<Duration>) -> Result<WaitOutcome> {
                self.check(Rights::SYNCHRONIZE, "wait on")?;
                if self.inner.take_fast() {
                    return Ok(WaitOutcome::Signaled(0));
                }
                self.inner.wait_one(timeout, self)
            }

            /// The object's current state.
            pub fn state(&self) -> SyncState {
                self.inner.state()
            }

            /// A cheap hint, for a wait's first pass over many objects: true if a wait could
            /// probably take something now (one load and a compare; nothing changes, no claim
            /// is waited out, a due timer is not fired). A wait still decides: the hint may be
            /// stale by the time it returns. Needs no right.
            #[inline]
            pub fn looks_signaled(&self) -> bool {
                self.inner.probe().looks_signaled()
            }

            /// The probe behind [`Self::looks_signaled`], to keep next to the handle (it
            /// borrows the handle's mapping of the object).
            #[inline]
            pub fn probe(&self) -> crate::sync::Probe<'_> {
                self.inner.probe()
            }
        }
    };
}

fn open_cell(kind: ObjectType, common: &Common, default: Rights) -> Result<(CellObj, Rights)> {
    let (object, rights) = handle::open(kind, common, default)?;
    Ok((<CellObj as handle::Inner>::from_object(object)?, rights))
}

macro_rules! common_options {
    ($opts:ident, $ty:ident, $all:expr) => {
        handle::common_setters!($opts);

        impl $opts {
            #[doc = concat!("Opens the existing ", stringify!($ty), " named by `name` (`Open", stringify!($ty), "`).")]
            pub fn open(self) -> Result<$ty> {
                let (inner, rights) = open_cell(<$ty>::KIND, &self.common, $all)?;
                Ok($ty { inner: Arc::new(inner), rights })
            }

            #[doc = concat!("[`", stringify!($opts), "::open`], waiting up to `timeout` for the name to appear (see [`", stringify!($ty), "::open_wait`]).")]
            pub fn open_wait(self, timeout: Duration) -> Result<$ty> {
                crate::namespace::wait_for_name(timeout, || self.clone().open())
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------------------------

/// A handle to a semaphore (`CreateSemaphore`/`OpenSemaphore`): a count in `0..=max`; each
/// wait takes one unit. `Send` and `Sync`.
#[derive(Debug)]
pub struct Semaphore {
    inner: Arc<CellObj>,
    rights: Rights,
}

/// Builder for [`Semaphore::create`] and [`Semaphore::open`].
#[derive(Debug, Clone)]
pub struct SemaphoreOptions {
    common: Common,
    initial: i32,
    max: i32,
}

impl Default for SemaphoreOptions {
    fn default() -> Self {
        SemaphoreOptions { common: Common::default(), initial: 0, max: 1 }
    }
}

common_options!(SemaphoreOptions, Semaphore, Rights::SEMAPHORE_ALL_ACCESS);

impl SemaphoreOptions {
    /// Initial count (default 0); must be in `0..=max`.
    pub fn initial(mut self, initial: i32) -> Self {
        self.initial = initial;
        self
    }

    /// Maximum count (default 1); must be > 0.
    pub fn max(mut self, max: i32) -> Self {
        self.max = max;
        self
    }

    /// Creates the semaphore, or opens the existing one of that name (keeping its count and
    /// maximum). `ERROR_INVALID_PARAMETER` unless `0 <= initial <= max` and `max > 0`.
    pub fn create(self) -> Result<(Semaphore, Created)> {
        if self.max <= 0 || self.initial < 0 || self.initial > self.max {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!(
                    "cannot create semaphore: initial count {} and maximum {} need 0 <= initial <= maximum and maximum > 0",
                    self.initial, self.max
                ),
            ));
        }
        let init = page::init_bytes(0, 0, self.initial as u64);
        let (object, created) =
            handle::create(ObjectType::Semaphore, &self.common, [self.max as u64, 0, 0, 0], &init, None)?;
        let inner = <CellObj as handle::Inner>::from_object(object)?;
        Ok((Semaphore { inner: Arc::new(inner), rights: Rights::SEMAPHORE_ALL_ACCESS }, created))
    }
}

impl Semaphore {
    const KIND: ObjectType = ObjectType::Semaphore;

    /// A builder with every option.
    pub fn options() -> SemaphoreOptions {
        SemaphoreOptions::default()
    }

    /// Creates (or opens the existing) semaphore `name` (`None`: unnamed).
    ///
    /// Positional booleans read badly at the call site; the builder names each option.
    #[deprecated(note = "use `Semaphore::options().name(..).initial(..).max(..).create()`")]
    pub fn create(name: Option<&str>, initial: i32, max: i32) -> Result<(Semaphore, Created)> {
        Semaphore::options().name(name.unwrap_or("")).initial(initial).max(max).create()
    }

    /// Opens the existing semaphore `name` with `rights` (`OpenSemaphore`).
    pub fn open(name: &str, rights: Rights) -> Result<Semaphore> {
        Semaphore::options().name(name).rights(rights).open()
    }

    /// Adds `n` (> 0) units (`ReleaseSemaphore`) and returns the previous count. Past the
    /// maximum it fails with `ERROR_TOO_MANY_POSTS` and changes nothing. Needs
    /// `SEMAPHORE_MODIFY_STATE`.
    #[inline]
    pub fn release(&self, n: i32) -> Result<i32> {
        self.check(Rights::SEMAPHORE_MODIFY_STATE, "release")?;
        let Kind::Semaphore { max } = self.inner.kind else { unreachable!("a Semaphore handle holds a semaphore") };
        if n > 0
            && let Some((old, _)) = self.inner.update_fast(|v| state::sem_add(v, n as u32, max))
        {
            self.inner.changed_and_hand_off(n as u32, None);
            return Ok(old as i32);
        }
        self.release_slow(n, max)
    }

    #[inline(never)]
    fn release_slow(&self, n: i32, max: u32) -> Result<i32> {
        if n <= 0 {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot release {}: the release count {n} must be positive", self.inner.object.describe()),
            ));
        }
        let (old, new) = self.inner.cell().update(&mut ClaimSpin::new(), |v| state::sem_add(v, n as u32, max));
        if new.is_none() {
            return Err(Error::new(
                Win32Error::TOO_MANY_POSTS,
                format!(
                    "cannot release {} by {n}: count {old} would exceed the maximum {max}",
                    self.inner.object.describe()
                ),
            ));
        }
        self.inner.changed_and_hand_off(n as u32, None);
        Ok(old as i32)
    }

    /// The maximum count.
    pub fn max(&self) -> i32 {
        match self.inner.kind {
            Kind::Semaphore { max } => max as i32,
            _ => 0,
        }
    }
}

cell_handle!(Semaphore, ObjectType::Semaphore, Rights::SEMAPHORE_ALL_ACCESS);

// ---------------------------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------------------------

/// A handle to an event (`CreateEvent`/`OpenEvent`): manual-reset (stays signaled until reset,
/// releases every waiter) or auto-reset (a wait consumes the signal). `Send` and `Sync`.
#[derive(Debug)]
pub struct Event {
    inner: Arc<CellObj>,
    rights: Rights,
}

/// Builder for [`Event::create`] and [`Event::open`].
#[derive(Debug, Clone, Default)]
pub struct EventOptions {
    common: Common,
    manual_reset: bool,
    initial_state: bool,
}

common_options!(EventOptions, Event, Rights::EVENT_ALL_ACCESS);

impl EventOptions {
    /// Manual-reset (true) or auto-reset (false, the default).
    pub fn manual_reset(mut self, manual: bool) -> Self {
        self.manual_reset = manual;
        self
    }

    /// Initially signaled (default false).
    pub fn initial_state(mut self, signaled: bool) -> Self {
        self.initial_state = signaled;
        self
    }

    /// Creates the event, or opens the existing one of that name (keeping its type and state).
    pub fn create(self) -> Result<(Event, Created)> {
        let init = page::init_bytes(0, 0, if self.initial_state { u64::from(SIGNALED) } else { 0 });
        let params = [u64::from(self.manual_reset), 0, 0, 0];
        let (object, created) = handle::create(ObjectType::Event, &self.common, params, &init, None)?;
        let inner = <CellObj as handle::Inner>::from_object(object)?;
        Ok((Event { inner: Arc::new(inner), rights: Rights::EVENT_ALL_ACCESS }, created))
    }
}

impl Event {
    const KIND: ObjectType = ObjectType::Event;

    /// A builder with every option.
    pub fn options() -> EventOptions {
        EventOptions::default()
    }

    /// Creates (or opens the existing) event `name` (`None`: unnamed).
    ///
    /// Positional booleans read badly at the call site; the builder names each option.
    #[deprecated(note = "use `Event::options().name(..).manual_reset(..).initial_state(..).create()`")]
    pub fn create(name: Option<&str>, manual_reset: bool, initial_state: bool) -> Result<(Event, Created)> {
        Event::options().name(name.unwrap_or("")).manual_reset(manual_reset).initial_state(initial_state).create()
    }

    /// Opens the existing event `name` with `rights` (`OpenEvent`).
    pub fn open(name: &str, rights: Rights) -> Result<Event> {
        Event::options().name(name).rights(rights).open()
    }

    #[inline(always)]
    fn modify(&self, op: &str, mut f: impl FnMut(u32) -> Option<u32>, publish: bool) -> Result<bool> {
        self.check(Rights::EVENT_MODIFY_STATE, op)?;
        let old = match self.inner.update_fast(&mut f) {
            Some((old, _)) => old,
            None => self.inner.cell().update(&mut ClaimSpin::new(), f).0,
        };
        if publish {
            // Set: the signal goes to the oldest queued waiter. Pulse: the pulse goes to the
            // oldest waiter of the generation before it (an auto-reset event's only one).
            self.inner.changed_and_hand_off(1, Some(state::event_gen(old)));
        }
        Ok(old & SIGNALED != 0)
    }

    /// Signals the event (`SetEvent`); returns the previous state. Needs `EVENT_MODIFY_STATE`.
    #[inline]
    pub fn set(&self) -> Result<bool> {
        self.modify("set", |v| Some(state::event_set(v)), true)
    }

    /// Unsignals the event (`ResetEvent`); returns the previous state.
    pub fn reset(&self) -> Result<bool> {
        self.modify("reset", |v| Some(state::event_reset(v)), false)
    }

    /// `PulseEvent`: releases the threads waiting at this moment (all of them for a
    /// manual-reset event, one for an auto-reset event, none if nobody waits) and leaves the
    /// event unsignaled. Returns the previous state. Waits for all objects do not see pulses.
    pub fn pulse(&self) -> Result<bool> {
        let Kind::Event { manual } = self.inner.kind else { unreachable!("an Event handle holds an event") };
        self.modify("pulse", |v| Some(state::event_pulse(v, manual)), true)
    }

    /// True for a manual-reset event.
    pub fn is_manual_reset(&self) -> bool {
        matches!(self.inner.kind, Kind::Event { manual: true })
    }
}

cell_handle!(Event, ObjectType::Event, Rights::EVENT_ALL_ACCESS);

// ---------------------------------------------------------------------------------------------
// Timer
// ---------------------------------------------------------------------------------------------

/// When a [`Timer`] is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueTime {
    /// After this long (on the monotonic clock: unaffected by changes of the wall clock).
    Relative(Duration),
    /// At this wall-clock time (fires early if the clock jumps forward, as on Windows).
    Absolute(SystemTime),
}

impl DueTime {
    /// From `SetWaitableTimer`'s `lpDueTime`: negative = relative, in 100 ns units; positive =
    /// absolute UTC `FILETIME` (100 ns since 1601-01-01); 0 = now.
    pub fn from_win32(due: i64) -> DueTime {
        if due < 0 {
            DueTime::Relative(Duration::from_nanos(due.unsigned_abs().saturating_mul(100)))
        } else {
            const EPOCH_DIFF_100NS: u64 = 116_444_736_000_000_000;
            let ns_since_unix = (due as u64).saturating_sub(EPOCH_DIFF_100NS).saturating_mul(100);
            DueTime::Absolute(UNIX_EPOCH + Duration::from_nanos(ns_since_unix))
        }
    }
}

/// A handle to a waitable timer (`CreateWaitableTimer`/`OpenWaitableTimer`): manual-reset
/// (stays signaled until set again) or synchronization (a wait consumes the signal); one-shot
/// or periodic. A due timer is fired by the first process that looks at it: waiters sleep no
/// longer than its due time. Completion routines (APCs) are not supported. `Send` and `Sync`.
#[derive(Debug)]
pub struct Timer {
    inner: Arc<CellObj>,
    rights: Rights,
}

/// Builder for [`Timer::create`] and [`Timer::open`].
#[derive(Debug, Clone, Default)]
pub struct TimerOptions {
    common: Common,
    manual_reset: bool,
}

common_options!(TimerOptions, Timer, Rights::TIMER_ALL_ACCESS);

impl TimerOptions {
    /// Manual-reset (true) or synchronization timer (false, the default).
    pub fn manual_reset(mut self, manual: bool) -> Self {
        self.manual_reset = manual;
        self
    }

    /// Creates the timer (inactive, unsignaled), or opens the existing one of that name.
    pub fn create(self) -> Result<(Timer, Created)> {
        let init = page::init_bytes(0, 0, 0);
        let params = [u64::from(self.manual_reset), 0, 0, 0];
        let (object, created) = handle::create(ObjectType::Timer, &self.common, params, &init, None)?;
        let inner = <CellObj as handle::Inner>::from_object(object)?;
        Ok((Timer { inner: Arc::new(inner), rights: Rights::TIMER_ALL_ACCESS }, created))
    }
}

impl Timer {
    const KIND: ObjectType = ObjectType::Timer;

    /// A builder with every option.
    pub fn options() -> TimerOptions {
        TimerOptions::default()
    }

    /// Creates (or opens the existing) timer `name` (`None`: unnamed).
    ///
    /// Positional booleans read badly at the call site; the builder names each option.
    #[deprecated(note = "use `Timer::options().name(..).manual_reset(..).create()`")]
    pub fn create(name: Option<&str>, manual_reset: bool) -> Result<(Timer, Created)> {
        Timer::options().name(name.unwrap_or("")).manual_reset(manual_reset).create()
    }

    /// Opens the existing timer `name` with `rights` (`OpenWaitableTimer`).
    pub fn open(name: &str, rights: Rights) -> Result<Timer> {
        Timer::options().name(name).rights(rights).open()
    }

    /// Arms the timer (`SetWaitableTimer` without a completion routine): unsignaled now,
    /// signaled at `due`, then every `period` if given (a zero period means one-shot). Needs
    /// `TIMER_MODIFY_STATE`.
    pub fn set(&self, due: DueTime, period: Option<Duration>) -> Result<()> {
        self.check(Rights::TIMER_MODIFY_STATE, "set")?;
        let (clock, due_ns) = match due {
            DueTime::Relative(d) => (0u32, clock_now(0).saturating_add(d.as_nanos().min(u64::MAX as u128) as u64)),
            DueTime::Absolute(t) => {
                (1u32, t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64))
            }
        };
        let period_ns = period.map_or(0, |p| p.as_nanos().min(u64::MAX as u128) as u64);
        let me = sysfutex::getpid();
        let cell = self.inner.cell();
        loop {
            // Without a deadline the claim is always granted (a stuck claim is broken).
            let Some(v) = cell.claim(me, &mut ClaimSpin::new(), |_| true) else { continue };
            self.inner.page.u64(OFF_DUE).store(due_ns, Ordering::Release);
            self.inner.page.u64(OFF_PERIOD).store(period_ns, Ordering::Release);
            self.inner.page.u32(OFF_CLOCK).store(clock, Ordering::Release);
            if cell.unclaim(me, v, state::timer_set(v)) {
                break;
            }
        }
        self.inner.changed(); // sleepers recompute their due time
        Ok(())
    }

    /// Stops the timer (`CancelWaitableTimer`); a signaled timer stays signaled. Needs
    /// `TIMER_MODIFY_STATE`.
    pub fn cancel(&self) -> Result<()> {
        self.check(Rights::TIMER_MODIFY_STATE, "cancel")?;
        self.inner.cell().update(&mut ClaimSpin::new(), |v| Some(state::timer_cancel(v)));
        self.inner.changed();
        Ok(())
    }

    /// True for a manual-reset timer.
    pub fn is_manual_reset(&self) -> bool {
        matches!(self.inner.kind, Kind::Timer { manual: true })
    }
}

cell_handle!(Timer, ObjectType::Timer, Rights::TIMER_ALL_ACCESS);

#[cfg(test)]
mod tests {
    use super::*;

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
