//! The wait engine: one object or many, any or all, with spin-then-sleep.
//!
//! A wait tries to consume; if it cannot, it spins for [`spin_duration`] (a few microseconds, measured
//! by the clock, not by iterations), retrying; then it registers as a sleeper on each object it
//! sleeps on (a `waiters` count or the mutex's `FUTEX_WAITERS` bit), snapshots their futex
//! words, tries once more (so no change between the snapshot and the sleep can be missed), and
//! sleeps on the words (`futex_wait`, or `futex_waitv` for several) until a word changes, the
//! timeout, or the next timer due time. A `wait_any` sleeps on all objects; a `wait_all`
//! sleeps on the first object that stopped it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Win32Error};
use crate::sys::futex as sysfutex;

use super::cell::CellObj;
use super::mutex::MutexInner;
use super::process_state::ProcInner;
use super::robust::{self, ThreadCtx};
use super::{MAXIMUM_WAIT_OBJECTS, WaitOutcome, state};

/// How long a waiter spins before it sleeps, by default.
pub(crate) const SPIN: Duration = Duration::from_micros(5);

/// The spin budget in nanoseconds (process-wide; see [`set_spin_duration`]).
static SPIN_NS: AtomicU64 = AtomicU64::new(SPIN.as_nanos() as u64);

/// Sets how long waiters in this process spin before they sleep in the kernel (default 5 µs;
/// zero: sleep at once). Spinning turns a cross-process hand-off from a futex wake (tens of
/// microseconds when the other CPU idles) into a cache-line transfer, at the price of CPU time
/// while waiting; the spin is bounded by time, whatever one `pause` costs on the machine.
pub fn set_spin_duration(spin: Duration) {
    SPIN_NS.store(spin.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
}

/// The current spin budget ([`set_spin_duration`]).
pub fn spin_duration() -> Duration {
    Duration::from_nanos(SPIN_NS.load(Ordering::Relaxed))
}

/// Whether this process's waiters queue for hand-off (default true).
static FAIR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Sets whether waiters in this process queue for the objects they wait on (default true: a
/// release hands the object to the oldest queued waiter, as Windows does). With `false` they
/// wait unqueued and race for the object when it is released (barging: more throughput under
/// heavy contention, no order; the releaser can take it straight back). Releases by this
/// process still hand off to waiters of other processes that queued.
pub fn set_fair_hand_off(fair: bool) {
    FAIR.store(fair, Ordering::Relaxed);
}

/// The current setting of [`set_fair_hand_off`].
pub fn fair_hand_off() -> bool {
    FAIR.load(Ordering::Relaxed)
}

/// What a wait can act on (internal).
pub enum Target<'a> {
    /// A mutex.
    Mutex(&'a std::sync::Arc<MutexInner>),
    /// A semaphore, event or timer.
    Cell(&'a CellObj),
    /// A process.
    Process(&'a ProcInner),
}

pub(crate) mod sealed {
    /// Implemented by the waitable handle types of this crate only.
    pub trait Sealed {
        /// The object behind the handle, after checking the handle may wait (`SYNCHRONIZE`).
        fn target(&self) -> crate::Result<super::Target<'_>>;

        /// The object's "looks signaled" probe for a wait-any's first pass, if the handle may
        /// wait (`SYNCHRONIZE`) and the object is a mutex, semaphore or event; `None` sends the
        /// wait to the full path (timers, processes, errors).
        fn wait_probe(&self) -> Option<super::super::Probe<'_>> {
            None
        }
    }
}

/// A handle that can be waited on: [`Mutex`](super::Mutex), [`Semaphore`](super::Semaphore),
/// [`Event`](super::Event), [`Timer`](super::Timer), [`Process`](super::Process).
///
/// Waiting needs the handle's `SYNCHRONIZE` right (`ERROR_ACCESS_DENIED` otherwise).
pub trait Waitable: sealed::Sealed {
    /// Waits for this one object (`WaitForSingleObject`): [`WaitOutcome::Signaled`]`(0)`,
    /// [`WaitOutcome::Abandoned`]`(0)` or [`WaitOutcome::TimedOut`]. `None` waits forever;
    /// `Some(Duration::ZERO)` only tests.
    fn wait(&self, timeout: Option<Duration>) -> Result<WaitOutcome>
    where
        Self: Sized,
    {
        wait_any(&[self], timeout)
    }
}

/// Waits until one of `objects` is signaled and consumes it (`WaitForMultipleObjects` with
/// `bWaitAll = FALSE`): returns the lowest index that was signaled, and only that object is
/// consumed. 1 to 64 objects (`ERROR_INVALID_PARAMETER` otherwise); the same object may appear
/// more than once.
pub fn wait_any(objects: &[&dyn Waitable], timeout: Option<Duration>) -> Result<WaitOutcome> {
    run(objects, false, timeout)
}

/// Waits until all of `objects` are signaled at once and consumes them all, atomically
/// (`WaitForMultipleObjects` with `bWaitAll = TRUE`): nothing is consumed unless everything is
/// (see the module docs for the argument). 1 to 64 distinct objects (`ERROR_INVALID_PARAMETER`
/// for 0, more than 64, or one object twice).
pub fn wait_all(objects: &[&dyn Waitable], timeout: Option<Duration>) -> Result<WaitOutcome> {
    run(objects, true, timeout)
}

struct Obj<'a> {
    t: Target<'a>,
    /// Event generation when the wait began (pulses after it count, wait-any only).
    entry_gen: Option<u32>,
}

impl Obj<'_> {
    fn id(&self) -> (u64, u64) {
        match &self.t {
            Target::Mutex(m) => m.object.id(),
            Target::Cell(c) => c.object.id(),
            Target::Process(p) => (u64::MAX, p as *const _ as *const () as usize as u64),
        }
    }

    /// A cheap look (no change): might an attempt succeed now?
    fn try_take_looks_possible(&self) -> bool {
        match &self.t {
            Target::Mutex(m) => m.looks_available(),
            Target::Cell(c) => c.looks_available_for(self.entry_gen),
            Target::Process(p) => p.exited(),
        }
    }

    /// Tries to consume; `Some(abandoned)` on success.
    fn try_take(&self, ctx: Option<&ThreadCtx>, deadline: Option<Instant>) -> Result<Option<bool>> {
        Ok(match &self.t {
            Target::Mutex(m) => match ctx {
                Some(ctx) => m.try_acquire(ctx)?,
                None => None,
            },
            Target::Cell(c) => c.try_take(self.entry_gen, deadline).then_some(false),
            Target::Process(p) => p.exited().then_some(false),
        })
    }
}

/// Spins for at most [`spin_duration`] (and at most `timeout`) until `f` succeeds: the allocation-free
/// first phase of a wait on one object. Returns `Ok(None)` if the caller must sleep (via
/// [`run`] with `spun = true`).
#[inline]
pub(crate) fn spin_one<T>(timeout: Option<Duration>, mut f: impl FnMut() -> Result<Option<T>>) -> Result<Option<T>> {
    let spin = spin_duration();
    let budget = timeout.map_or(spin, |t| t.min(spin));
    if budget.is_zero() {
        return Ok(None);
    }
    let end = Instant::now() + budget;
    let mut n = 0u32;
    loop {
        std::hint::spin_loop();
        if let Some(v) = f()? {
            return Ok(Some(v));
        }
        n += 1;
        if n.is_multiple_of(16) && Instant::now() >= end {
            return Ok(None);
        }
    }
}

pub(crate) fn run(objects: &[&dyn Waitable], all: bool, timeout: Option<Duration>) -> Result<WaitOutcome> {
    if !all && let Some(outcome) = any_now(objects)? {
        return Ok(outcome);
    }
    run_opts(objects, all, timeout, false, None)
}

/// A wait-any's allocation-free first pass (no clock read, no vector, no claim): check every
/// object's right to be waited on (the errors [`run_opts`] would report, in the same order),
/// look at each one's state (a load and a compare), then try to take from the lowest index
/// that looks available on, as [`try_any`] would. `None`: nothing looks available, the try
/// on it failed (a race or another process's claim), or a timer (which a wait fires when due) or a process is among the objects: the
/// full wait decides; nothing was consumed.
fn any_now(objects: &[&dyn Waitable]) -> Result<Option<WaitOutcome>> {
    if objects.is_empty() || objects.len() > MAXIMUM_WAIT_OBJECTS {
        return Ok(None); // `targets` reports it
    }
    let mut first = usize::MAX;
    for (i, o) in objects.iter().enumerate() {
        let Some(p) = o.wait_probe() else {
            return Ok(None);
        };
        // A mutex that looks taken may be this thread's (recursion): asked only then.
        if first == usize::MAX
            && (p.looks_signaled() || p.is_mutex() && matches!(o.target()?, Target::Mutex(m) if m.looks_available()))
        {
            first = i;
        }
    }
    if first == usize::MAX {
        return Ok(None);
    }
    let taken = match objects[first].target()? {
        Target::Mutex(m) => m.try_acquire(&robust::ctx()?)?,
        Target::Cell(c) => c.take_fast().then_some(false),
        Target::Process(_) => None,
    };
    // `None`: lost a race, or a claim is in progress: the full wait decides (it waits out claims
    // before it looks further, so the lowest index still wins).
    Ok(taken.map(|abandoned| if abandoned { WaitOutcome::Abandoned(first) } else { WaitOutcome::Signaled(first) }))
}

/// [`run`]; `spun`: the caller already spun (and used up part of the timeout, which is fine:
/// the spin is a few microseconds); `entry_gen`: for a wait on one event, its generation when
/// the caller's wait began (so a pulse during the caller's spin still counts).
// LONG: one wait protocol read top to bottom (attempt, spin, register, re-check, sleep,
// unregister): its ordering argument (docs/SYNC.md) is checked against this one body.
pub(crate) fn run_opts(
    objects: &[&dyn Waitable],
    all: bool,
    timeout: Option<Duration>,
    spun: bool,
    entry_gen: Option<u32>,
) -> Result<WaitOutcome> {
    let start = Instant::now();
    let deadline = timeout.map(|t| start.checked_add(t).unwrap_or(start + Duration::from_secs(u32::MAX as u64)));
    let (objs, ctx) = targets(objects, all, entry_gen)?;
    let ctx = ctx.as_ref();
    let order = if all { all_order(&objs)? } else { Vec::new() };
    let me = sysfutex::getpid();
    if !all {
        return run_any(&objs, ctx, deadline, spun, me);
    }
    let attempt = |objs: &[Obj<'_>]| -> Result<Result<WaitOutcome, usize>> {
        if all { try_all(objs, &order, me, ctx, deadline, &mut []) } else { try_any(objs, ctx, deadline) }
    };
    let mut spun = spun;
    loop {
        poll_timers(&objs); // fire what is due before trying
        let blocker = match attempt(&objs)? {
            Ok(outcome) => return Ok(outcome),
            Err(b) => b,
        };
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(WaitOutcome::TimedOut);
        }
        if !spun {
            spun = true;
            let spin_end = now + spin_duration();
            let mut n = 0u32;
            // One `pause` (~25 ns here) between checks; the clock is read every 16 checks, so
            // the spin is bounded by time, whatever a pause costs on the machine.
            loop {
                std::hint::spin_loop();
                if let Ok(outcome) = attempt(&objs)? {
                    return Ok(outcome);
                }
                n += 1;
                if n.is_multiple_of(16) && Instant::now() >= spin_end {
                    break;
                }
            }
            continue;
        }
        if all && fair_hand_off() && objs.iter().any(|o| queue_of(o).is_some() && queued_kind(o)) {
            // Queue on every object that hands off, so that its releases come to us in turn.
            return run_all_queued(&objs, &order, ctx, deadline, me);
        }
        // Register on the sleep set, then check once more, then sleep.
        let sleep_set: Vec<usize> = if all { vec![blocker] } else { (0..objs.len()).collect() };
        let mut words: Vec<(&std::sync::atomic::AtomicU32, u32)> = Vec::with_capacity(sleep_set.len());
        let mut registered: Vec<&CellObj> = Vec::new();
        let mut registered_mutexes: Vec<&MutexInner> = Vec::new();
        let mut retry = false;
        for &i in &sleep_set {
            match &objs[i].t {
                Target::Mutex(m) => match m.register() {
                    Some(v) => {
                        registered_mutexes.push(m);
                        words.push((m.word(), v));
                    }
                    None => {
                        retry = true;
                        break;
                    }
                },
                Target::Cell(c) => {
                    let seq = c.register();
                    registered.push(c);
                    words.push((c.seq(), seq));
                }
                Target::Process(p) => words.push((p.word(), 0)),
            }
        }
        let outcome = if retry {
            None
        } else {
            match attempt(&objs)? {
                Ok(o) => Some(o),
                // A wait-all now stopped by another object: sleeping on the old one could miss
                // the change it waits for; start over with the new one.
                Err(b) if all && b != blocker => {
                    retry = true;
                    None
                }
                Err(_) => None,
            }
        };
        if outcome.is_none() && !retry {
            // Timers fire lazily, when somebody looks: read their due times again now that we are
            // registered. A `set` that published before our registration (so it woke nobody) is
            // seen here, and one after it wakes us.
            let next_due = poll_timers(&objs);
            let now = Instant::now();
            let mut sleep = deadline.map(|d| d.saturating_duration_since(now));
            if let Some(due) = next_due {
                sleep = Some(sleep.map_or(due, |s| s.min(due)));
            }
            sysfutex::wait_many(&words, sleep);
        }
        for c in registered {
            c.unregister();
        }
        for m in registered_mutexes {
            m.unregister();
        }
        if let Some(outcome) = outcome {
            return Ok(outcome);
        }
    }
}

/// The objects of a wait (1 to 64, `ERROR_INVALID_PARAMETER` otherwise) with what each may
/// act on (checked for `SYNCHRONIZE`) and, for a wait on any, the event generation it entered
/// with; and this thread's robust-list context when a mutex is among them.
fn targets<'a>(
    objects: &[&'a dyn Waitable],
    all: bool,
    entry_gen: Option<u32>,
) -> Result<(Vec<Obj<'a>>, Option<ThreadCtx>)> {
    if objects.is_empty() || objects.len() > MAXIMUM_WAIT_OBJECTS {
        return Err(Error::new(
            Win32Error::INVALID_PARAMETER,
            format!("cannot wait on {} objects: between 1 and {MAXIMUM_WAIT_OBJECTS} are allowed", objects.len()),
        ));
    }
    let mut objs = Vec::with_capacity(objects.len());
    let mut ctx = None;
    for o in objects {
        let t = o.target()?;
        let entry_gen = match &t {
            Target::Cell(c) if !all => entry_gen.filter(|_| objects.len() == 1).or_else(|| c.event_gen()),
            Target::Mutex(_) if ctx.is_none() => {
                ctx = Some(robust::ctx()?);
                None
            }
            _ => None,
        };
        objs.push(Obj { t, entry_gen });
    }
    Ok((objs, ctx))
}

/// A wait-all's claim order: the objects by identity, so that two wait-alls over overlapping
/// sets claim in the same order; `ERROR_INVALID_PARAMETER` if an object is in the set twice.
fn all_order(objs: &[Obj<'_>]) -> Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..objs.len()).collect();
    order.sort_by_key(|&i| objs[i].id());
    if order.windows(2).any(|w| objs[w[0]].id() == objs[w[1]].id()) {
        return Err(Error::new(
            Win32Error::INVALID_PARAMETER,
            "cannot wait for all of a set that holds the same object twice",
        ));
    }
    Ok(order)
}

/// How long a queued waiter sleeps at most before it looks for grants nobody came for.
pub(crate) const GRANT_POLL: Duration = Duration::from_millis(50);
/// A grant older than this whose waiter's process has exited is revoked and passed on.
pub(crate) const GRANT_GRACE: Duration = Duration::from_millis(10);
/// A grant older than this is revoked whoever holds it (a stopped process, another PID
/// namespace, a forged slot); its waiter, if it lives, queues again.
pub(crate) const GRANT_MAX: Duration = Duration::from_secs(1);

/// A wait for any of `objs` (or one): FIFO hand-off for mutexes, semaphores and auto-reset
/// events (see `state::Queue`), plain polling of the rest.
fn run_any(
    objs: &[Obj<'_>],
    ctx: Option<&ThreadCtx>,
    deadline: Option<Instant>,
    spun: bool,
    pid: u32,
) -> Result<WaitOutcome> {
    // Phase 1, unqueued: a try and a short spin.
    poll_timers(objs);
    if let Ok(o) = try_any(objs, ctx, deadline)? {
        return Ok(o);
    }
    if !spun {
        let spin_end =
            Instant::now() + spin_duration().min(deadline.map_or(Duration::MAX, |d| d - Instant::now().min(d)));
        while Instant::now() < spin_end {
            for _ in 0..16 {
                std::hint::spin_loop();
                if let Ok(o) = try_any(objs, ctx, deadline)? {
                    return Ok(o);
                }
            }
        }
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Ok(WaitOutcome::TimedOut);
    }
    // Phase 2: queue where the object hands off, and wait for a grant.
    let tid = ctx.map_or(0, ThreadCtx::tid);
    // Where every slot is busy we keep our arrival ticket and try again for a slot later.
    let mut overflow: Vec<Option<u32>> = vec![None; objs.len()];
    let mut places: Vec<Option<state::Place>> = objs
        .iter()
        .zip(overflow.iter_mut())
        .map(|(o, t)| match enqueue_keep(o, ctx, tid, pid, None) {
            Ok(p) => Some(p),
            Err(ticket) => {
                *t = ticket;
                None
            }
        })
        .collect();
    // One spin per wait: the caller's (or phase 1's) already ran, so a queued waiter sleeps at
    // once (spinning again while the releaser needs the CPU only delays the hand-off).
    let outcome = queued_wait(objs, ctx, deadline, &mut places, &mut overflow, tid, pid);
    // Leave every queue; a grant that arrived meanwhile is ours: keep the first if the wait
    // timed out, pass the others on.
    let mut outcome = outcome?;
    for (i, place) in places.iter().enumerate() {
        let Some(p) = *place else { continue };
        if let Some(abandoned) = leave(&objs[i], ctx, p) {
            if outcome == WaitOutcome::TimedOut {
                outcome = if abandoned { WaitOutcome::Abandoned(i) } else { WaitOutcome::Signaled(i) };
            } else {
                pass_on(&objs[i], ctx);
            }
        }
    }
    Ok(outcome)
}

fn enqueue(o: &Obj<'_>, ctx: Option<&ThreadCtx>, tid: u32, pid: u32) -> Option<state::Place> {
    enqueue_keep(o, ctx, tid, pid, None).ok()
}

/// Queues on `o` with `ticket` (our arrival ticket from an earlier try) or a new ticket.
/// `Err(Some(ticket))`: every slot is busy; try again later with that ticket (the order of
/// arrival is kept). `Err(None)`: `o` does not queue (or this process barges).
fn enqueue_keep(
    o: &Obj<'_>,
    ctx: Option<&ThreadCtx>,
    tid: u32,
    pid: u32,
    ticket: Option<u32>,
) -> std::result::Result<state::Place, Option<u32>> {
    if !fair_hand_off() {
        return Err(None);
    }
    let q = match &o.t {
        Target::Mutex(m) if ctx.is_some() => m.queue(),
        Target::Cell(c) if c.queued_kind() => c.queue(),
        _ => return Err(None),
    };
    let ticket = ticket.unwrap_or_else(|| q.take_ticket());
    q.enqueue_with(tid, pid, ticket).ok_or(Some(ticket))
}

/// Takes a grant in place `p` of object `o`: `Some(abandoned)`.
fn take_grant(o: &Obj<'_>, ctx: Option<&ThreadCtx>, p: state::Place) -> Option<bool> {
    match &o.t {
        Target::Mutex(m) => ctx.and_then(|ctx| m.take_grant(ctx, p)),
        Target::Cell(c) => c.queue().take_grant(p),
        Target::Process(_) => None,
    }
}

/// Leaves `o`'s queue; `Some(abandoned)` if we hold the object after all (granted meanwhile).
fn leave(o: &Obj<'_>, ctx: Option<&ThreadCtx>, p: state::Place) -> Option<bool> {
    let q = match &o.t {
        Target::Mutex(m) => m.queue(),
        Target::Cell(c) => c.queue(),
        Target::Process(_) => return None,
    };
    for _ in 0..64 {
        match q.leave(p) {
            state::Left::Waiting | state::Left::Gone => return None,
            state::Left::Granted { .. } => {
                if let Some(abandoned) = take_grant(o, ctx, p) {
                    return Some(abandoned);
                }
                // Could not take it (another thread of ours holds the node): look again.
                std::thread::yield_now();
            }
        }
    }
    None // a grant we cannot take is revoked by the others after the bound
}

/// Gives back an object we hold through a grant we do not want.
fn pass_on(o: &Obj<'_>, ctx: Option<&ThreadCtx>) {
    match &o.t {
        Target::Mutex(m) => {
            if let Some(ctx) = ctx {
                m.pass_on_grant(ctx);
            }
        }
        Target::Cell(c) => c.pass_on_grant(),
        Target::Process(_) => {}
    }
}

fn queue_of<'a>(o: &'a Obj<'_>) -> Option<state::Queue<'a, std::sync::atomic::AtomicU32>> {
    match &o.t {
        Target::Mutex(m) => Some(m.queue()),
        Target::Cell(c) => Some(c.queue()),
        Target::Process(_) => None,
    }
}

// LONG: one wait protocol read top to bottom (attempt, spin, register, re-check, sleep,
// unregister): its ordering argument (docs/SYNC.md) is checked against this one body.
fn queued_wait(
    objs: &[Obj<'_>],
    ctx: Option<&ThreadCtx>,
    deadline: Option<Instant>,
    places: &mut [Option<state::Place>],
    overflow: &mut [Option<u32>],
    tid: u32,
    pid: u32,
) -> Result<WaitOutcome> {
    // Grants we saw held by others: (object, slot, slot word) -> first seen.
    let mut seen: Vec<((usize, usize, u32), Instant)> = Vec::new();
    let mut looked = Instant::now();
    loop {
        // 1. A slot where every slot was busy (with our arrival ticket: served in arrival
        //    order once in; until then we take the object only when it is free).
        for (i, place) in places.iter_mut().enumerate() {
            if place.is_none()
                && let Some(t) = overflow[i]
                && let Ok(p) = enqueue_keep(&objs[i], ctx, tid, pid, Some(t))
            {
                *place = Some(p);
                overflow[i] = None;
            }
        }
        // A grant, lowest index first.
        for (i, place) in places.iter_mut().enumerate() {
            let Some(p) = *place else { continue };
            if let Some(abandoned) = take_grant(&objs[i], ctx, p) {
                *place = None;
                return Ok(if abandoned { WaitOutcome::Abandoned(i) } else { WaitOutcome::Signaled(i) });
            }
            // Our place was revoked (we were stopped past the bound) or forged away: queue again.
            if queue_of(&objs[i]).is_some_and(|q| !q.holds(p)) {
                *place = enqueue(&objs[i], ctx, tid, pid);
            }
        }
        // 2. The objects themselves (each round runs after queueing or after a sleep: a release
        //    may have come before our place was visible, or found nobody queued). While waiters
        //    are queued a release grants instead of freeing, so this takes nothing from them.
        poll_timers(objs);
        for (i, o) in objs.iter().enumerate() {
            if let (Target::Mutex(m), Some(p)) = (&o.t, places[i]) {
                // Queued on a mutex: a free word goes to the oldest waiter, maybe us.
                if m.mark_for_queue().is_none()
                    && let Some(abandoned) = take_grant(o, ctx, p)
                {
                    places[i] = None;
                    return Ok(if abandoned { WaitOutcome::Abandoned(i) } else { WaitOutcome::Signaled(i) });
                }
                continue;
            }
            if let (Target::Cell(c), Some(p)) = (&o.t, places[i]) {
                // Queued on a semaphore or auto-reset event: a unit in the object (a release
                // that came before our place was counted, or one caught between its change
                // and its hand-off) goes to the oldest waiter, maybe us, as the release gives
                // it; taking it directly would overtake older waiters.
                c.hand_off_available();
                if take_grant(o, ctx, p).is_some() {
                    places[i] = None;
                    return Ok(WaitOutcome::Signaled(i));
                }
                // A pulse is for the waiters of its moment: it is taken, not handed on.
                if c.try_take_pulse(o.entry_gen, deadline) {
                    return Ok(WaitOutcome::Signaled(i));
                }
                continue;
            }
            if let Some(abandoned) = o.try_take(ctx, deadline)? {
                return Ok(if abandoned { WaitOutcome::Abandoned(i) } else { WaitOutcome::Signaled(i) });
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(WaitOutcome::TimedOut);
        }
        // 3. Sleep: on our slots (a granter wakes us), on the words of unqueued objects, and on
        //    a queued mutex's word when it is the only object (the kernel wakes it when an
        //    owner dies). At most GRANT_POLL: then look for grants nobody came for.
        let mut words: Vec<(&std::sync::atomic::AtomicU32, u32)> = Vec::with_capacity(2 * objs.len());
        let mut registered: Vec<&CellObj> = Vec::new();
        let mut registered_mutexes: Vec<&MutexInner> = Vec::new();
        let mut ready = false;
        for (i, o) in objs.iter().enumerate() {
            if words.len() + 2 > sysfutex::WAITV_MAX {
                break; // the rest is polled (GRANT_POLL)
            }
            match (&o.t, places[i]) {
                (Target::Mutex(m), Some(p)) => {
                    let Some(v) = m.queue().mark_sleeping(p) else {
                        ready = true;
                        break;
                    };
                    words.push((m.slot_word(p.slot), v));
                    match m.mark_for_queue() {
                        Some(w) if objs.len() == 1 => words.push((m.word(), w)),
                        Some(_) => {}
                        None => {
                            ready = true;
                            break;
                        }
                    }
                }
                (Target::Cell(c), Some(p)) => {
                    let Some(v) = c.queue().mark_sleeping(p) else {
                        ready = true;
                        break;
                    };
                    words.push((c.slot_word(p.slot), v));
                }
                (Target::Mutex(m), None) => match m.register() {
                    Some(v) => {
                        registered_mutexes.push(m);
                        words.push((m.word(), v));
                    }
                    None => {
                        ready = true;
                        break;
                    }
                },
                (Target::Cell(c), None) => {
                    let seq = c.register();
                    registered.push(c);
                    words.push((c.seq(), seq));
                }
                (Target::Process(p), _) => words.push((p.word(), 0)),
            }
        }
        if !ready {
            // Registered: check once more (unqueued objects may have changed just before).
            for (i, o) in objs.iter().enumerate() {
                if places[i].is_none() && o.try_take_looks_possible() {
                    ready = true;
                }
            }
        }
        let slept_from = Instant::now();
        if !ready && !words.is_empty() {
            let next_due = poll_timers(objs);
            let mut sleep = GRANT_POLL;
            if let Some(d) = deadline {
                sleep = sleep.min(d.saturating_duration_since(slept_from));
            }
            if let Some(due) = next_due {
                sleep = sleep.min(due);
            }
            sysfutex::wait_many(&words, Some(sleep));
        } else if !ready {
            std::thread::sleep(Duration::from_millis(1));
        }
        for c in registered {
            c.unregister();
        }
        for m in registered_mutexes {
            m.unregister();
        }
        // 4. Grants nobody came for: revoke those of dead processes after GRANT_GRACE, any after
        //    GRANT_MAX (checked when a sleep ran long: a grant to us would have woken us; and
        //    every GRANT_GRACE in any case, however often we are woken).
        if slept_from.elapsed() >= GRANT_GRACE.min(GRANT_POLL) || looked.elapsed() >= GRANT_GRACE {
            revoke_stale(objs, places, &mut seen);
            looked = Instant::now();
        }
    }
}

/// Looks at the grants held in the queues of `objs` by others; revokes the stale ones.
fn revoke_stale(objs: &[Obj<'_>], places: &[Option<state::Place>], seen: &mut Vec<((usize, usize, u32), Instant)>) {
    let now = Instant::now();
    let mut still = Vec::with_capacity(seen.len());
    for (i, o) in objs.iter().enumerate() {
        let Some(q) = queue_of(o) else { continue };
        if places[i].is_none() {
            continue; // only objects we queue on: their grants block us
        }
        for (slot, w) in q.grants() {
            if places[i].is_some_and(|p| p.slot == slot) {
                continue;
            }
            let key = (i, slot, w);
            let first = seen.iter().find(|(k, _)| *k == key).map_or(now, |(_, t)| *t);
            let age = now - first;
            let dead = age >= GRANT_GRACE && sysfutex::process_exited(q.pid(slot));
            if dead || age >= GRANT_MAX {
                match &o.t {
                    Target::Mutex(m) => m.revoke(slot, w, dead),
                    Target::Cell(c) => {
                        if q.revoke(slot, w) {
                            c.pass_on_grant();
                        }
                    }
                    Target::Process(_) => {}
                }
            } else {
                still.push((key, first));
            }
        }
    }
    *seen = still;
}

/// Fires due timers; returns the time until the earliest pending due time.
fn poll_timers(objs: &[Obj<'_>]) -> Option<Duration> {
    let mut next: Option<Duration> = None;
    for o in objs {
        if let Target::Cell(c) = &o.t
            && let Some(d) = c.timer_poll()
        {
            next = Some(next.map_or(d, |n| n.min(d)));
        }
    }
    next
}

fn try_any(objs: &[Obj<'_>], ctx: Option<&ThreadCtx>, deadline: Option<Instant>) -> Result<Result<WaitOutcome, usize>> {
    for (i, o) in objs.iter().enumerate() {
        match o.try_take(ctx, deadline)? {
            Some(false) => return Ok(Ok(WaitOutcome::Signaled(i))),
            Some(true) => return Ok(Ok(WaitOutcome::Abandoned(i))),
            None => {}
        }
    }
    Ok(Err(0))
}

/// All or nothing: claim the non-mutex objects (frozen while claimed), then take the mutexes;
/// commit only if everything is available, else restore everything exactly.
///
/// `places`: a queued wait-all's places (empty otherwise). An object whose place holds a grant
/// counts as available; its grant is taken only once everything else is held (claims, mutex
/// words), just before the commit, and given back if the commit cannot happen. Places whose
/// grant was taken become `None`.
// LONG: one wait protocol read top to bottom (attempt, spin, register, re-check, sleep,
// unregister): its ordering argument (docs/SYNC.md) is checked against this one body.
fn try_all(
    objs: &[Obj<'_>],
    order: &[usize],
    me: u32,
    ctx: Option<&ThreadCtx>,
    deadline: Option<Instant>,
    places: &mut [Option<state::Place>],
) -> Result<Result<WaitOutcome, usize>> {
    let granted = |places: &[Option<state::Place>], i: usize| -> Option<state::Place> {
        let p = places.get(i).copied().flatten()?;
        queue_of(&objs[i]).is_some_and(|q| q.granted(p)).then_some(p)
    };
    // Quick check without claims: do not bother anyone if something is plainly unavailable.
    for &i in order {
        let available = granted(places, i).is_some()
            || match &objs[i].t {
                Target::Mutex(m) => m.looks_available(),
                Target::Cell(c) => c.looks_available(),
                Target::Process(p) => p.exited(),
            };
        if !available {
            return Ok(Err(i));
        }
    }
    let grants: Vec<(usize, state::Place)> = order.iter().filter_map(|&i| Some((i, granted(places, i)?))).collect();
    let is_granted = |i: usize| grants.iter().any(|&(g, _)| g == i);
    let mut claimed: Vec<(&CellObj, u32)> = Vec::with_capacity(order.len());
    let mut taken: Vec<(&MutexInner, usize, bool, bool)> = Vec::new();
    // Grants taken: (index, abandoned).
    let mut took: Vec<(usize, bool)> = Vec::new();
    let rollback = |claimed: &[(&CellObj, u32)], taken: &[(&MutexInner, usize, bool, bool)], took: &[(usize, bool)]| {
        for &(i, abandoned) in took.iter().rev() {
            give_up_grant(&objs[i], ctx, abandoned);
        }
        for &(m, _, abandoned, recursive) in taken.iter().rev() {
            if let Some(ctx) = ctx {
                m.undo_acquire(ctx, abandoned, recursive);
            }
        }
        for &(c, v) in claimed.iter().rev() {
            // A refused unclaim: our claim was broken and the value restored by the breaker.
            let _ = c.unclaim(me, v, v);
        }
    };
    for &i in order {
        if is_granted(i) {
            continue;
        }
        match &objs[i].t {
            Target::Cell(c) => match c.claim_if_signaled(me, deadline) {
                Some(v) => claimed.push((c, v)),
                None => {
                    rollback(&claimed, &taken, &took);
                    return Ok(Err(i));
                }
            },
            Target::Process(p) => {
                if !p.exited() {
                    rollback(&claimed, &taken, &took);
                    return Ok(Err(i));
                }
            }
            Target::Mutex(_) => {}
        }
    }
    for &i in order {
        if is_granted(i) {
            continue;
        }
        if let Target::Mutex(m) = &objs[i].t {
            let Some(ctx) = ctx else { unreachable_ctx() };
            let recursive = m.owned_by_me();
            match m.try_acquire(ctx) {
                Ok(Some(abandoned)) => taken.push((m, i, abandoned, recursive)),
                Ok(None) => {
                    rollback(&claimed, &taken, &took);
                    return Ok(Err(i));
                }
                Err(e) => {
                    rollback(&claimed, &taken, &took);
                    return Err(e);
                }
            }
        }
    }
    // Everything else is held: take the grants (each one is ours until a revoker takes it back
    // after GRANT_MAX; a revoked one fails the attempt and everything goes back).
    for &(i, p) in &grants {
        let got = match &objs[i].t {
            Target::Mutex(m) => ctx.and_then(|ctx| m.take_grant_unfenced(ctx, p)),
            _ => take_grant(&objs[i], ctx, p),
        };
        match got {
            Some(abandoned) => {
                took.push((i, abandoned));
                places[i] = None;
            }
            None => {
                rollback(&claimed, &taken, &took);
                return Ok(Err(i));
            }
        }
    }
    // Commit. If the first claim was broken (we were stopped past CLAIM_BREAK) nothing is
    // consumed yet: undo the rest. A claim broken after the first commit cannot be undone: that
    // object alone is not consumed (documented limit of a wait-all stopped mid-commit).
    for (k, &(c, v)) in claimed.iter().enumerate() {
        if !c.unclaim(me, v, c.consume(v)) && k == 0 {
            rollback(&claimed[1..], &taken, &took);
            return Ok(Err(order[0]));
        }
    }
    // Claims are dropped: now let the releasers of the mutexes handed to us come back first.
    for &(i, _) in &took {
        if let Target::Mutex(m) = &objs[i].t {
            m.await_releaser();
        }
    }
    let abandoned = taken.iter().filter(|t| t.2).map(|t| t.1).chain(took.iter().filter(|t| t.1).map(|t| t.0)).min();
    Ok(Ok(match abandoned {
        Some(i) => WaitOutcome::Abandoned(i),
        None => WaitOutcome::Signaled(0),
    }))
}

/// Gives back an object we hold through a grant a wait-all cannot use: a mutex is freed as it
/// was handed to us (abandoned stays abandoned: we never reported it), a unit goes back; either
/// way the object goes on to the oldest waiter.
fn give_up_grant(o: &Obj<'_>, ctx: Option<&ThreadCtx>, abandoned: bool) {
    match &o.t {
        Target::Mutex(m) => {
            if let Some(ctx) = ctx {
                m.undo_acquire(ctx, abandoned, false);
            }
        }
        Target::Cell(c) => c.pass_on_grant(),
        Target::Process(_) => {}
    }
}

/// True for objects whose waiters queue (mutexes, semaphores, auto-reset events).
fn queued_kind(o: &Obj<'_>) -> bool {
    match &o.t {
        Target::Mutex(_) => true,
        Target::Cell(c) => c.queued_kind(),
        Target::Process(_) => false,
    }
}

/// A wait for all of `objs`, queued (FIFO hand-off) on every object that hands off.
///
/// A release hands its object to the oldest queued waiter; for us that is a *partial* grant.
/// After every wake-up we try the whole set at once, counting our grants as available
/// ([`try_all`]). If that fails, we give back every grant we hold (declining: the object goes
/// on to the next waiter in FIFO order, or back to the object) and queue again on those
/// objects, then sleep: a wait-all never holds one object while it waits for another, so two
/// wait-alls on overlapping sets cannot deadlock, and a grant to us is held only between our
/// wake-up and our next attempt (a stopped or dead waiter's grants are revoked by the others,
/// as for any grant: see `queued_wait`).
// LONG: one wait protocol read top to bottom (attempt, spin, register, re-check, sleep,
// unregister): its ordering argument (docs/SYNC.md) is checked against this one body.
fn run_all_queued(
    objs: &[Obj<'_>],
    order: &[usize],
    ctx: Option<&ThreadCtx>,
    deadline: Option<Instant>,
    pid: u32,
) -> Result<WaitOutcome> {
    let tid = ctx.map_or(0, ThreadCtx::tid);
    let mut places: Vec<Option<state::Place>> = objs.iter().map(|o| enqueue(o, ctx, tid, pid)).collect();
    let mut seen: Vec<((usize, usize, u32), Instant)> = Vec::new();
    let mut looked = Instant::now();
    let requeue = |places: &mut [Option<state::Place>]| {
        for (i, place) in places.iter_mut().enumerate() {
            let lost = match *place {
                Some(p) => queue_of(&objs[i]).is_some_and(|q| !q.holds(p)),
                None => true,
            };
            if lost && queued_kind(&objs[i]) {
                *place = enqueue(&objs[i], ctx, tid, pid);
            }
        }
    };
    let result = (|| -> Result<WaitOutcome> {
        loop {
            // 1. Queue where we have no place (a revoked place, a queue that was full).
            requeue(&mut places);
            // 2. The whole set, grants counting as available.
            poll_timers(objs);
            if let Ok(outcome) = try_all(objs, order, pid, ctx, deadline, &mut places)? {
                return Ok(outcome);
            }
            // 3. Not all at once: decline every partial grant, keeping our places (the object
            //    goes on at once to the waiters behind us, or stays free).
            for (i, place) in places.iter_mut().enumerate() {
                let Some(p) = *place else { continue };
                if !queue_of(&objs[i]).is_some_and(|q| q.granted(p)) {
                    continue;
                }
                let declined = match &objs[i].t {
                    Target::Mutex(m) => ctx.is_some_and(|ctx| m.decline_grant(ctx, p)),
                    Target::Cell(c) => c.decline_grant(p),
                    Target::Process(_) => false,
                };
                if !declined {
                    // Not ours to decline (revoked meanwhile, or forged: the others revoke a
                    // grant nobody takes after the bound): queue again.
                    *place = None;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(WaitOutcome::TimedOut);
            }
            requeue(&mut places);
            // 4. Sleep: on our slots (a granter wakes us), on the words of unqueued objects.
            //    Every object that is unavailable must wake us when it changes: a queued mutex
            //    gets `WAITERS` (its release then looks at the queue), a queued cell counts us.
            let mut words: Vec<(&std::sync::atomic::AtomicU32, u32)> = Vec::with_capacity(objs.len());
            let mut registered: Vec<&CellObj> = Vec::new();
            let mut registered_mutexes: Vec<&MutexInner> = Vec::new();
            let mut ready = false;
            for (i, o) in objs.iter().enumerate() {
                if words.len() >= sysfutex::WAITV_MAX {
                    break; // the rest is polled (GRANT_POLL)
                }
                match (&o.t, places[i]) {
                    (Target::Mutex(m), Some(p)) => {
                        let Some(v) = m.queue().mark_sleeping(p) else {
                            ready = true;
                            break;
                        };
                        words.push((m.slot_word(p.slot), v));
                        let _ = m.mark_if_owned();
                    }
                    (Target::Cell(c), Some(p)) => {
                        let Some(v) = c.queue().mark_sleeping(p) else {
                            ready = true;
                            break;
                        };
                        words.push((c.slot_word(p.slot), v));
                    }
                    (Target::Mutex(m), None) => match m.register() {
                        Some(v) => {
                            registered_mutexes.push(m);
                            words.push((m.word(), v));
                        }
                        None => {
                            ready = true;
                            break;
                        }
                    },
                    (Target::Cell(c), None) => {
                        let seq = c.register();
                        registered.push(c);
                        words.push((c.seq(), seq));
                    }
                    (Target::Process(p), _) => words.push((p.word(), 0)),
                }
            }
            if !ready {
                // Registered: if everything looks available now, try again instead of sleeping.
                ready = objs.iter().enumerate().all(|(i, o)| {
                    places[i].is_some_and(|p| queue_of(o).is_some_and(|q| q.granted(p)))
                        || match &o.t {
                            Target::Mutex(m) => m.looks_available(),
                            Target::Cell(c) => c.looks_available(),
                            Target::Process(p) => p.exited(),
                        }
                });
            }
            let slept_from = Instant::now();
            if !ready && !words.is_empty() {
                let next_due = poll_timers(objs);
                let mut sleep = GRANT_POLL;
                if let Some(d) = deadline {
                    sleep = sleep.min(d.saturating_duration_since(slept_from));
                }
                if let Some(due) = next_due {
                    sleep = sleep.min(due);
                }
                sysfutex::wait_many(&words, Some(sleep));
            }
            for c in registered {
                c.unregister();
            }
            for m in registered_mutexes {
                m.unregister();
            }
            // 5. Grants nobody came for (a dead or stopped grantee) block us too.
            if slept_from.elapsed() >= GRANT_GRACE.min(GRANT_POLL) || looked.elapsed() >= GRANT_GRACE {
                revoke_stale(objs, &places, &mut seen);
                looked = Instant::now();
            }
        }
    })();
    // Leave every queue we are still in; a grant that arrived meanwhile goes on.
    for (i, place) in places.iter().enumerate() {
        let Some(p) = *place else { continue };
        if let Some(abandoned) = leave(&objs[i], ctx, p) {
            give_up_grant(&objs[i], ctx, abandoned);
        }
    }
    result
}

fn unreachable_ctx() -> ! {
    // `run` fetches the thread context whenever a mutex is in the set.
    unreachable!("a mutex wait without a thread context")
}
