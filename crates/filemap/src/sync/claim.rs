//! What a process does when it meets another process's claim on a sync word (a claim lasts a
//! few instructions; see `state.rs`): spin, yield, sleep in growing steps, and break a claim left
//! by a dead or stopped process. Shared by the objects' own transitions and the wait engine.

use std::time::{Duration, Instant};

use crate::sys::futex as sysfutex;

use super::state;

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
            || (waited > Duration::from_millis(5) && rounds.is_multiple_of(16) && sysfutex::process_exited(claimer))
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
