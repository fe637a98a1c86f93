//! Asynchronous procedure calls: `QueueUserAPC`, the alertable waits (`SleepEx`,
//! `WaitForSingleObjectEx`, `WaitForMultipleObjectsEx`, `SignalObjectAndWait` with
//! `bAlertable`) and waitable-timer completion routines.
//!
//! Each thread that is the target of an APC gets a queue and a *doorbell*: an unnamed auto-reset
//! event of the core, rung when a call is queued. An alertable wait for any of *n* objects waits
//! for the *n* objects plus the doorbell in one core wait-any, so an APC wakes it at once. As on
//! Windows, a signaled object wins over pending APCs (the doorbell is the last index); when the
//! doorbell wins, the thread runs every queued call, oldest first, in the waiting thread, and the
//! wait returns `WAIT_IO_COMPLETION`. Waits that cannot take one more object (wait-all, or 64
//! objects) look at the queue every 10 ms between core waits instead. Non-alertable waits never
//! run APCs: they stay queued until the thread's next alertable wait.
//!
//! A timer's completion routine is queued to the thread that called `SetWaitableTimer`, at each
//! expiry (a helper thread keeps the schedule from the due time and period, so the timer object
//! itself is not consumed), until `CancelWaitableTimer`, a new `SetWaitableTimer` or the handle's
//! close.

#![allow(unsafe_code)] // calling the program's APC routines

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use filemap::Win32Error;
use filemap::sync::{WaitOutcome, Waitable, wait_all, wait_any};

use crate::apc_queue::{Apc, Queue, queue_of};
pub use crate::apc_queue::{ApcFunc, TimerApcRoutine};
use crate::error::{Fail, Res, boundary, fail};
use crate::handles::{self, Object};
use crate::{DWORD, HANDLE};
use crate::{INFINITE, MAXIMUM_WAIT_OBJECTS, WAIT_FAILED, WAIT_TIMEOUT};

/// `WAIT_IO_COMPLETION`: an alertable wait ended because APCs ran.
pub const WAIT_IO_COMPLETION: DWORD = 0xC0;
/// `ERROR_GEN_FAILURE`: `QueueUserAPC` to a thread that has ended.
const ERROR_GEN_FAILURE: u32 = 31;

/// How often waits that cannot include the doorbell look at the queue.
const POLL: Duration = Duration::from_millis(10);

/// `QueueUserAPC`: queues `pfnAPC(dwData)` to run in the thread `hThread` (a `CreateThread`
/// handle or `GetCurrentThread()`) the next time it waits alertably. Returns nonzero on success;
/// 0 with `ERROR_INVALID_PARAMETER` (NULL routine), `ERROR_INVALID_HANDLE` (not a thread),
/// `ERROR_GEN_FAILURE` (the thread has ended) or `ERROR_NOT_SUPPORTED` (a thread of another
/// process).
#[unsafe(no_mangle)]
pub extern "system" fn QueueUserAPC(pfnAPC: Option<ApcFunc>, hThread: HANDLE, dwData: usize) -> DWORD {
    boundary(0, || {
        let Some(f) = pfnAPC else {
            return fail(Win32Error::INVALID_PARAMETER);
        };
        if !handles::is_pseudo(hThread) && matches!(handles::get(hThread)?.object, Object::Thread(_)) {
            return fail(Win32Error::NOT_SUPPORTED);
        }
        let (tid, object) = crate::thread::target(hThread)?;
        if object.as_deref().is_some_and(crate::thread::has_ended) {
            return Err(Fail(ERROR_GEN_FAILURE));
        }
        queue_of(tid)?.push(Apc::User(f, dwData))?;
        Ok(1)
    })
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// The calling thread's queue.
fn own_queue() -> Res<Arc<Queue>> {
    queue_of(crate::thread::current_tid())
}

/// An alertable wait for `objects` (any or all of them) of up to `ms`: the outcome's Win32
/// value, or `WAIT_IO_COMPLETION` after running queued APCs.
pub(crate) fn wait(objects: &[&dyn Waitable], all: bool, ms: DWORD) -> Res<DWORD> {
    let q = own_queue()?;
    let deadline = (ms != INFINITE).then(|| Instant::now() + Duration::from_millis(ms.into()));
    if !all && objects.len() < MAXIMUM_WAIT_OBJECTS as usize {
        let mut with_bell: Vec<&dyn Waitable> = objects.to_vec();
        with_bell.push(&q.doorbell);
        loop {
            match wait_any(&with_bell, remaining(deadline))? {
                WaitOutcome::Signaled(i) if i == objects.len() => {
                    if q.run() > 0 {
                        return Ok(WAIT_IO_COMPLETION);
                    }
                    // A doorbell rung for calls an earlier wait already ran: wait on.
                }
                outcome => return Ok(outcome.to_win32()),
            }
        }
    }
    let mut poll = Duration::ZERO; // first look without waiting: pending calls run at once
    loop {
        let slice = remaining(deadline).map_or(poll, |r| r.min(poll));
        poll = POLL;
        let outcome = if all { wait_all(objects, Some(slice))? } else { wait_any(objects, Some(slice))? };
        if !outcome.timed_out() {
            return Ok(outcome.to_win32());
        }
        if q.run() > 0 {
            return Ok(WAIT_IO_COMPLETION);
        }
        if remaining(deadline).is_some_and(|r| r.is_zero()) {
            return Ok(WAIT_TIMEOUT);
        }
    }
}

/// `SleepEx` with `bAlertable`: sleeps up to `ms`, returning 0, or `WAIT_IO_COMPLETION` as soon
/// as queued APCs have run in this thread.
pub(crate) fn sleep(ms: DWORD) -> DWORD {
    boundary(WAIT_FAILED, || {
        let q = own_queue()?;
        if q.run() > 0 {
            return Ok(WAIT_IO_COMPLETION);
        }
        let deadline = (ms != INFINITE).then(|| Instant::now() + Duration::from_millis(ms.into()));
        loop {
            let timed_out = wait_any(&[&q.doorbell], remaining(deadline))?.timed_out();
            if q.run() > 0 {
                return Ok(WAIT_IO_COMPLETION);
            }
            if timed_out {
                return Ok(0);
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Timer completion routines
// ---------------------------------------------------------------------------------------------

/// Per timer handle: a generation, bumped by every set and cancel (a schedule whose generation
/// is no longer current ends).
static TIMERS: (Mutex<Option<HashMap<usize, u64>>>, Condvar) = (Mutex::new(None), Condvar::new());

fn bump(h: HANDLE) -> u64 {
    let mut all = TIMERS.0.lock().unwrap_or_else(|e| e.into_inner());
    let g = all.get_or_insert_with(HashMap::new).entry(h as usize & !3).or_insert(0);
    *g += 1;
    TIMERS.1.notify_all();
    *g
}

fn current(h: HANDLE, generation: u64) -> bool {
    TIMERS.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|m| m.get(&(h as usize & !3)).copied())
        == Some(generation)
}

/// `CancelWaitableTimer` and a new `SetWaitableTimer` end the timer's routine schedule.
pub(crate) fn cancel_timer_routine(h: HANDLE) {
    bump(h);
}

/// Now as a `FILETIME` (100 ns since 1601), split in low and high parts.
fn filetime_now() -> (u32, u32) {
    const EPOCH_DIFF_100NS: u64 = 116_444_736_000_000_000;
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let ft = EPOCH_DIFF_100NS + (since.as_nanos() / 100) as u64;
    (ft as u32, (ft >> 32) as u32)
}

struct SendArg(usize);

/// `SetWaitableTimer` with a completion routine: queues `routine(arg, low, high)` to the calling
/// thread at each expiry (`due` as `SetWaitableTimer`'s `lpDueTime`, `period` in ms, 0 = once).
pub(crate) fn arm_timer_routine(h: HANDLE, due: i64, period: u32, routine: TimerApcRoutine, arg: usize) -> Res<()> {
    let generation = bump(h);
    let q = own_queue()?;
    let first = if due < 0 {
        Instant::now() + Duration::from_nanos(due.unsigned_abs().saturating_mul(100))
    } else {
        const EPOCH_DIFF_100NS: u64 = 116_444_736_000_000_000;
        let at = UNIX_EPOCH + Duration::from_nanos((due as u64).saturating_sub(EPOCH_DIFF_100NS).saturating_mul(100));
        Instant::now() + at.duration_since(SystemTime::now()).unwrap_or_default()
    };
    let arg = SendArg(arg);
    let hv = h as usize;
    std::thread::Builder::new()
        .name("filemap-timer-apc".into())
        .spawn(move || {
            let arg = arg;
            let h = hv as HANDLE;
            let mut next = first;
            loop {
                let mut all = TIMERS.0.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let live = all.as_ref().and_then(|m| m.get(&(h as usize & !3)).copied()) == Some(generation);
                    let now = Instant::now();
                    if !live {
                        return;
                    }
                    if now >= next {
                        break;
                    }
                    all = TIMERS.1.wait_timeout(all, next - now).unwrap_or_else(|e| e.into_inner()).0;
                }
                drop(all);
                // A closed handle (or one reused by another object) ends the schedule.
                if !matches!(handles::get(h).map(|i| i.object), Ok(Object::Timer(_))) || !current(h, generation) {
                    return;
                }
                let (low, high) = filetime_now();
                if q.push(Apc::Timer(routine, arg.0, low, high)).is_err() || period == 0 {
                    return;
                }
                next += Duration::from_millis(period.into());
            }
        })
        .map_err(|_| Fail(Win32Error::NOT_ENOUGH_MEMORY.0))?;
    Ok(())
}
