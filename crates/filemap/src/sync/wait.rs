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
use super::process::ProcInner;
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
        if n % 16 == 0 && Instant::now() >= end {
            return Ok(None);
        }
    }
}

pub(crate) fn run(objects: &[&dyn Waitable], all: bool, timeout: Option<Duration>) -> Result<WaitOutcome> {
    run_opts(objects, all, timeout, false, None)
}

/// [`run`]; `spun`: the caller already spun (and used up part of the timeout, which is fine:
/// the spin is a few microseconds); `entry_gen`: for a wait on one event, its generation when
/// the caller's wait began (so a pulse during the caller's spin still counts).
pub(crate) fn run_opts(
    objects: &[&dyn Waitable],
    all: bool,
    timeout: Option<Duration>,
    spun: bool,
    entry_gen: Option<u32>,
) -> Result<WaitOutcome> {
    if objects.is_empty() || objects.len() > MAXIMUM_WAIT_OBJECTS {
        return Err(Error::new(
            Win32Error::INVALID_PARAMETER,
            format!("cannot wait on {} objects: between 1 and {MAXIMUM_WAIT_OBJECTS} are allowed", objects.len()),
        ));
    }
    let start = Instant::now();
    let deadline = timeout.map(|t| start.checked_add(t).unwrap_or(start + Duration::from_secs(u32::MAX as u64)));
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
    let ctx = ctx.as_ref();
    let order = if all {
        let mut order: Vec<usize> = (0..objs.len()).collect();
        order.sort_by_key(|&i| objs[i].id());
        if order.windows(2).any(|w| objs[w[0]].id() == objs[w[1]].id()) {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                "cannot wait for all of a set that holds the same object twice",
            ));
        }
        order
    } else {
        Vec::new()
    };
    let me = sysfutex::getpid();
    let attempt = |objs: &[Obj<'_>]| -> Result<Result<WaitOutcome, usize>> {
        if all { try_all(objs, &order, me, ctx, deadline) } else { try_any(objs, ctx, deadline) }
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
                if n % 16 == 0 && Instant::now() >= spin_end {
                    break;
                }
            }
            continue;
        }
        // Register on the sleep set, then check once more, then sleep.
        let sleep_set: Vec<usize> = if all { vec![blocker] } else { (0..objs.len()).collect() };
        let mut words: Vec<(&std::sync::atomic::AtomicU32, u32)> = Vec::with_capacity(sleep_set.len());
        let mut registered: Vec<&CellObj> = Vec::new();
        let mut retry = false;
        for &i in &sleep_set {
            match &objs[i].t {
                Target::Mutex(m) => match m.register() {
                    Some(v) => words.push((m.word(), v)),
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
        for &i in &sleep_set {
            if let Target::Mutex(m) = &objs[i].t {
                m.pass_on();
            }
        }
        if let Some(outcome) = outcome {
            return Ok(outcome);
        }
    }
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
fn try_all(
    objs: &[Obj<'_>],
    order: &[usize],
    me: u32,
    ctx: Option<&ThreadCtx>,
    deadline: Option<Instant>,
) -> Result<Result<WaitOutcome, usize>> {
    // Quick check without claims: do not bother anyone if something is plainly unavailable.
    for &i in order {
        let available = match &objs[i].t {
            Target::Mutex(m) => m.looks_available(),
            Target::Cell(c) => c.looks_available(),
            Target::Process(p) => p.exited(),
        };
        if !available {
            return Ok(Err(i));
        }
    }
    let mut claimed: Vec<(&CellObj, u32)> = Vec::with_capacity(order.len());
    let mut taken: Vec<(&MutexInner, usize, bool, bool)> = Vec::new();
    let rollback = |claimed: &[(&CellObj, u32)], taken: &[(&MutexInner, usize, bool, bool)]| {
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
        match &objs[i].t {
            Target::Cell(c) => match c.claim_if_signaled(me, deadline) {
                Some(v) => claimed.push((c, v)),
                None => {
                    rollback(&claimed, &taken);
                    return Ok(Err(i));
                }
            },
            Target::Process(p) => {
                if !p.exited() {
                    rollback(&claimed, &taken);
                    return Ok(Err(i));
                }
            }
            Target::Mutex(_) => {}
        }
    }
    for &i in order {
        if let Target::Mutex(m) = &objs[i].t {
            let Some(ctx) = ctx else { unreachable_ctx() };
            let recursive = m.owned_by_me();
            match m.try_acquire(ctx) {
                Ok(Some(abandoned)) => taken.push((m, i, abandoned, recursive)),
                Ok(None) => {
                    rollback(&claimed, &taken);
                    return Ok(Err(i));
                }
                Err(e) => {
                    rollback(&claimed, &taken);
                    return Err(e);
                }
            }
        }
    }
    // Commit. If the first claim was broken (we were stopped past CLAIM_BREAK) nothing is
    // consumed yet: undo the rest. A claim broken after the first commit cannot be undone: that
    // object alone is not consumed (documented limit of a wait-all stopped mid-commit).
    for (k, &(c, v)) in claimed.iter().enumerate() {
        if !c.unclaim(me, v, c.consume(v)) && k == 0 {
            rollback(&claimed[1..], &taken);
            return Ok(Err(order[0]));
        }
    }
    let abandoned = taken.iter().filter(|t| t.2).map(|t| t.1).min();
    Ok(Ok(match abandoned {
        Some(i) => WaitOutcome::Abandoned(i),
        None => WaitOutcome::Signaled(0),
    }))
}

fn unreachable_ctx() -> ! {
    // `run` fetches the thread context whenever a mutex is in the set.
    unreachable!("a mutex wait without a thread context")
}

/// How long a claim may be held before anyone breaks it, whether its holder lives or not. A
/// claim lasts a few instructions; one older than this was left by a stopped process (SIGSTOP,
/// a debugger) or forged. Its holder, when it runs again, finds its `unclaim` refused.
pub(crate) const CLAIM_BREAK: Duration = Duration::from_millis(100);

/// What claimers do while another process holds a claim: spin briefly, then yield, then sleep
/// in growing steps (never more than 1 ms); break the claim once its holder is seen dead (after
/// 5 ms) or after [`CLAIM_BREAK`] in any case; give up when the caller's time limit passes.
pub(crate) struct ClaimSpin {
    since: Option<Instant>,
    limit: Option<Duration>,
}

impl ClaimSpin {
    /// For transitions without a timeout (release, set, reset...): waits at most about
    /// [`CLAIM_BREAK`], then breaks the claim.
    pub(crate) fn new() -> ClaimSpin {
        ClaimSpin { since: None, limit: None }
    }

    /// For a wait's attempt: gives up after `limit` (counted from the first claim met).
    pub(crate) fn within(limit: Option<Duration>) -> ClaimSpin {
        ClaimSpin { since: None, limit }
    }

    /// For a wait's attempt with an absolute deadline.
    pub(crate) fn until(deadline: Option<Instant>) -> ClaimSpin {
        ClaimSpin::within(deadline.map(|d| d.saturating_duration_since(Instant::now())))
    }
}

impl state::ClaimWait for ClaimSpin {
    fn wait(&mut self, claimer: u32, rounds: u32) -> state::ClaimAction {
        use state::ClaimAction::{Break, GiveUp, Wait};
        if rounds < 128 && self.limit != Some(Duration::ZERO) {
            std::hint::spin_loop();
            return Wait;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        let waited = since.elapsed();
        if let Some(limit) = self.limit
            && waited >= limit
        {
            return GiveUp;
        }
        if waited >= CLAIM_BREAK
            || (waited > Duration::from_millis(5) && rounds % 16 == 0 && sysfutex::process_exited(claimer))
        {
            return Break;
        }
        if waited < Duration::from_millis(1) {
            std::thread::yield_now();
        } else {
            let mut nap = (waited / 8).min(Duration::from_millis(1));
            if let Some(limit) = self.limit {
                nap = nap.min(limit - waited);
            }
            std::thread::sleep(nap);
        }
        Wait
    }
}
