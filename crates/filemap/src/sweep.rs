//! The amortized sweep: every filemap process frees the dead objects of the namespaces it uses,
//! a few directory entries at a time, so the memory of a holder that died without closing (a
//! `SIGKILL`, an `exit` that skipped destructors) comes back without anyone running `filemap gc`.
//!
//! After each create, open and close of a named object, `tick` looks at the time: at most once
//! per [`STEP_INTERVAL`] per namespace directory and process it examines the next [`STEP_ENTRIES`] entries of
//! the scope's directory (a `readdir` cursor kept between steps), and removes each dead, verified
//! object file exactly as `filemap gc` does (`object::inspect`: no lock taken to look; the
//! decision lock and a valid header of that very name before any unlink). When the cursor
//! reaches the end, the next pass starts no sooner than [`PASS_INTERVAL`] later.
//!
//! Cost bound: an operation that does not step pays one read of the coarse monotonic clock
//! (`coarse_now`: vDSO, 8 ns here against 33-38 for the precise one; its millisecond
//! resolution is plenty for a 20 ms interval); one
//! that steps pays at most [`STEP_ENTRIES`] entry checks (measured: `cargo bench -p filemap
//! --bench cycles -- sweep_step`). Latency bound, while some process of the namespace's user
//! creates, opens or closes objects in it at least every [`STEP_INTERVAL`]: a dead object is
//! removed within `PASS_INTERVAL + (entries / STEP_ENTRIES) * STEP_INTERVAL`, 1.64 s for 256
//! entries. With no such process, `filemap gc --watch` sweeps on a timer.
//!
//! Only entries the process may remove are removed: in the sticky Global directory, its user's
//! own files (root: all). Users outside the Global group cannot list it and do not sweep it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustix::fs::{Mode, OFlags};

use crate::name::Scope;
use crate::namespace::Dir;
use crate::object;

/// At most one step per namespace directory and process this often.
pub const STEP_INTERVAL: Duration = Duration::from_millis(20);
/// Directory entries examined by one step.
pub const STEP_ENTRIES: usize = 8;
/// A new pass over a directory starts at most this often.
pub const PASS_INTERVAL: Duration = Duration::from_secs(1);

// The sweep state of one namespace directory (kept in its `Dir`): when the next step and the next
// pass may run, and the `readdir` cursor of the pass in progress.
use crate::namespace::SweepState as State;

/// Called after every create, open and close in `dir`: runs a sweep step when one is due.
pub(crate) fn tick(dir: &Arc<Dir>) {
    let now = coarse_now();
    let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
    // Not due: one load, no lock (the usual case: a step is due every `STEP_INTERVAL`).
    if now_ns < dir.next_step_ns.load(Ordering::Relaxed) {
        return;
    }
    // Another thread is stepping: nothing to do (never wait for it).
    let Ok(mut state) = dir.sweep.try_lock() else { return };
    if now_ns < dir.next_step_ns.load(Ordering::Relaxed) {
        return; // another thread stepped meanwhile
    }
    dir.next_step_ns.store(now_ns.saturating_add(STEP_INTERVAL.as_nanos() as u64), Ordering::Relaxed);
    step(&mut state, dir, now, STEP_ENTRIES);
}

/// Examines up to `budget` entries; returns how many objects it removed.
/// The coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`), as the time since its origin.
fn coarse_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec.clamp(0, 999_999_999) as u32)
}

fn step(state: &mut State, dir: &Dir, now: Duration, budget: usize) -> usize {
    if state.cursor.is_none() {
        if state.next_pass.is_some_and(|t| now < t) {
            return 0;
        }
        state.next_pass = Some(now + PASS_INTERVAL);
        let Ok(fd) =
            rustix::fs::openat(&dir.fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        else {
            return 0; // an O_PATH-only directory (Global, outside its group): not ours to sweep
        };
        let Ok(reader) = rustix::fs::Dir::new(fd) else { return 0 };
        state.cursor = Some(reader);
    }
    let Some(reader) = state.cursor.as_mut() else { return 0 };
    let mut removed = 0;
    for _ in 0..budget {
        match reader.read() {
            Some(Ok(entry)) => {
                let name = entry.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                let Ok(file) = std::str::from_utf8(name) else { continue };
                if object::inspect(dir, file, true, false).is_some_and(|e| e.reclaimed) {
                    removed += 1;
                }
            }
            Some(Err(_)) | None => {
                state.cursor = None;
                break;
            }
        }
    }
    removed
}

/// Sweeps the whole directory of `scope` in the default namespace now (what a step does,
/// without the budget); returns how many dead objects it removed. For tests and tools;
/// `filemap gc` uses [`crate::scan`]. [`crate::namespace::Namespace::sweep_now`] sweeps another
/// namespace.
pub fn sweep_now(scope: Scope) -> crate::Result<usize> {
    sweep_dir(crate::namespace::dir(scope, false)?)
}

pub(crate) fn sweep_dir(dir: Option<Arc<Dir>>) -> crate::Result<usize> {
    let Some(dir) = dir else { return Ok(0) };
    let mut state = State::default();
    let mut removed = step(&mut state, &dir, coarse_now(), usize::MAX);
    while state.cursor.is_some() {
        removed += step(&mut state, &dir, coarse_now(), usize::MAX);
    }
    Ok(removed)
}

impl crate::namespace::Namespace {
    /// Sweeps a scope of this namespace now ([`crate::sweep::sweep_now`]).
    pub fn sweep_now(&self, scope: Scope) -> crate::Result<usize> {
        crate::sweep::sweep_dir(self.dir(scope, false)?)
    }
}
