//! The cheap "looks signaled" probe of a mutex, semaphore, event or timer: one load of the
//! object's shared word and a compare, for a wait's O(n) first pass over many objects (the C
//! face's `WaitForMultipleObjects` runs it before any claim or system call). A hint only: the
//! object may change right after, so a wait then tries for real.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::state::{SIGNALED, TID_MASK};

/// A probe of one object, borrowed from its handle (`Mutex::probe`, `Semaphore::probe`,
/// `Event::probe`, `Timer::probe`): the address of the word to read and what to compare, so a
/// caller may keep it next to the handle (a handle table entry) and skip the handle's
/// indirections. `Copy`; it reads shared memory only.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    kind: Kind<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    /// A semaphore, event or timer: signaled when `state & mask != 0` (the count, or the
    /// signaled bit).
    Cell { state: &'a AtomicU64, mask: u64 },
    /// A mutex: signaled (free) when no thread owns its word.
    Mutex { word: &'a AtomicU32 },
}

impl<'a> Probe<'a> {
    pub(crate) fn semaphore(state: &'a AtomicU64) -> Probe<'a> {
        Probe { kind: Kind::Cell { state, mask: u64::from(u32::MAX) } }
    }

    pub(crate) fn signal_bit(state: &'a AtomicU64) -> Probe<'a> {
        Probe { kind: Kind::Cell { state, mask: u64::from(SIGNALED) } }
    }

    pub(crate) fn mutex(word: &'a AtomicU32) -> Probe<'a> {
        Probe { kind: Kind::Mutex { word } }
    }

    /// True if a wait could probably take the object now: a semaphore's count is not zero, an
    /// event's or timer's signaled bit is set, a mutex has no owner. Nothing changes; a claim
    /// is not waited out; a due timer that nobody fired yet looks unsignaled. A mutex the
    /// calling thread owns looks not free here, although a wait would take it again.
    #[inline(always)]
    pub fn looks_signaled(&self) -> bool {
        match self.kind {
            Kind::Cell { state, mask } => state.load(Ordering::Acquire) & mask != 0,
            Kind::Mutex { word } => word.load(Ordering::Relaxed) & TID_MASK == 0,
        }
    }

    /// The word and mask of a semaphore's, event's or timer's probe: the object looks signaled
    /// while `word & mask != 0` ([`Probe::looks_signaled`]). `None` for a mutex's. For a caller
    /// that keeps the pair in its own array and tests many objects with no branch on the kind.
    #[inline(always)]
    pub fn state_word(&self) -> Option<(&'a AtomicU64, u64)> {
        match self.kind {
            Kind::Cell { state, mask } => Some((state, mask)),
            Kind::Mutex { .. } => None,
        }
    }

    /// True for a mutex's probe.
    #[inline(always)]
    pub fn is_mutex(&self) -> bool {
        matches!(self.kind, Kind::Mutex { .. })
    }
}
