//! What a wait on a process acts on: its exit flag (a futex word the watcher sets) and exit code,
//! shared by the [`Process`](super::Process) handles of one process and the wait engine.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The shared state of a watched process.
#[derive(Debug)]
pub struct ProcInner {
    pub(super) pid: u32,
    pub(super) word: AtomicU32,
    pub(super) code: OnceLock<Option<i32>>,
}

impl ProcInner {
    pub(crate) fn word(&self) -> &AtomicU32 {
        &self.word
    }

    pub(crate) fn exited(&self) -> bool {
        self.word.load(Ordering::Acquire) != 0
    }
}
