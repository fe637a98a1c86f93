//! The handles of the cell objects: [`Semaphore`], [`Event`] and [`Timer`] (with their options
//! builders and [`DueTime`]), and the wait of one of them past its uncontended fast path.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result, Win32Error};
use crate::object::{Created, ObjectType};
use crate::sys::futex as sysfutex;

use super::claim::{CLAIM_BREAK, ClaimSpin};
use super::handle::{self, Common, handle_methods};
use super::page::{self, OFF_CLOCK, OFF_DUE, OFF_PERIOD};
use super::state::{self, SIGNALED};
use super::wait::{Target, sealed};
use super::{Rights, SyncState, WaitOutcome};

use super::cell::*;

/// The wait of one semaphore, event or timer, past its uncontended fast path.
impl CellObj {
    #[inline(never)]
    pub(super) fn wait_one(&self, timeout: Option<Duration>, me: &dyn super::Waitable) -> Result<WaitOutcome> {
        if matches!(self.kind, Kind::Timer { .. }) {
            return super::wait::run(&[me], false, timeout);
        }
        let entry = self.event_gen();
        let limit = Some(timeout.unwrap_or(CLAIM_BREAK).min(CLAIM_BREAK));
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

        impl super::wait::Waitable for $ty {}

        impl sealed::Sealed for $ty {
            fn target(&self) -> Result<Target<'_>> {
                self.check(Rights::SYNCHRONIZE, "wait on")?;
                Ok(Target::Cell(&self.inner))
            }

            #[inline]
            fn wait_probe(&self) -> Option<crate::sync::Probe<'_>> {
                // A timer is due by its clock, not its word: the full path fires it.
                (!self.inner.is_timer() && self.rights().contains(Rights::SYNCHRONIZE)).then(|| self.probe())
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

            /// [`Self::wait`] without waiting and without error details, for faces that keep
            /// their own fast path (the Win32 C ABI): true if it took what a wait takes (a
            /// unit, the signal of an auto-reset event); false if nothing is available now *or*
            /// this path cannot decide (no `SYNCHRONIZE`, a claim in progress...). After false,
            /// call [`Self::wait`]: it decides, waits and reports errors. Nothing changed on false.
            #[inline(always)]
            pub fn try_wait_now(&self) -> bool {
                self.rights.contains(Rights::SYNCHRONIZE) && self.inner.take_fast()
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

pub(super) fn open_cell(kind: ObjectType, common: &Common, default: Rights) -> Result<(CellObj, Rights)> {
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
    pub(super) inner: Arc<CellObj>,
    pub(super) rights: Rights,
}

/// Builder for [`Semaphore::create`] and [`Semaphore::open`].
#[derive(Debug, Clone)]
pub struct SemaphoreOptions {
    pub(super) common: Common,
    pub(super) initial: i32,
    pub(super) max: i32,
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

    /// [`Semaphore::release`]'s uncontended path without error details, for faces that keep
    /// their own fast path (the Win32 C ABI): `Some(previous count)` when `n` units were added
    /// (and handed to queued waiters, if any); `None` when this path cannot decide (no
    /// `SEMAPHORE_MODIFY_STATE`, `n <= 0`, past the maximum, a claim in progress). After
    /// `None`, call [`Semaphore::release`]: it decides and reports errors. Nothing changed on
    /// `None`.
    #[inline(always)]
    pub fn try_release_now(&self, n: i32) -> Option<i32> {
        if !self.rights.contains(Rights::SEMAPHORE_MODIFY_STATE) || n <= 0 {
            return None;
        }
        let Kind::Semaphore { max } = self.inner.kind else { return None };
        let (old, _) = self.inner.update_fast(|v| state::sem_add(v, n as u32, max))?;
        self.inner.changed_and_hand_off(n as u32, None);
        Some(old as i32)
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
    pub(super) inner: Arc<CellObj>,
    pub(super) rights: Rights,
}

/// Builder for [`Event::create`] and [`Event::open`].
#[derive(Debug, Clone, Default)]
pub struct EventOptions {
    pub(super) common: Common,
    pub(super) manual_reset: bool,
    pub(super) initial_state: bool,
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

    /// [`Event::set`]'s uncontended path without error details, for faces that keep their own
    /// fast path (the Win32 C ABI): `Some(previously signaled)` when the event is now set (and
    /// its signal handed to the oldest queued waiter, if any); `None` when this path cannot
    /// decide (no `EVENT_MODIFY_STATE`, a claim in progress). After `None`, call
    /// [`Event::set`]. Nothing changed on `None`.
    #[inline(always)]
    pub fn try_set_now(&self) -> Option<bool> {
        if !self.rights.contains(Rights::EVENT_MODIFY_STATE) {
            return None;
        }
        let (old, _) = self.inner.update_fast(|v| Some(state::event_set(v)))?;
        self.inner.changed_and_hand_off(1, Some(state::event_gen(old)));
        Some(old & SIGNALED != 0)
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
    pub(super) inner: Arc<CellObj>,
    pub(super) rights: Rights,
}

/// Builder for [`Timer::create`] and [`Timer::open`].
#[derive(Debug, Clone, Default)]
pub struct TimerOptions {
    pub(super) common: Common,
    pub(super) manual_reset: bool,
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
