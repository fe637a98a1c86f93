//! The per-thread queues of asynchronous procedure calls (`QueueUserAPC`, timer completion
//! routines): what `apc.rs`'s exports and alertable waits fill and run, and what a thread's end
//! forgets (`thread.rs`).

#![allow(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use filemap::sync::Event;

use crate::DWORD;
use crate::error::Res;

/// `PAPCFUNC`.
pub type ApcFunc = unsafe extern "system" fn(usize);
/// `PTIMERAPCROUTINE`.
pub type TimerApcRoutine = unsafe extern "system" fn(*mut core::ffi::c_void, DWORD, DWORD);

#[derive(Clone, Copy)]
pub(crate) enum Apc {
    User(ApcFunc, usize),
    Timer(TimerApcRoutine, usize, u32, u32),
}

pub(crate) struct Queue {
    pub(crate) calls: Mutex<VecDeque<Apc>>,
    pub(crate) doorbell: Event,
}

impl Queue {
    pub(crate) fn calls(&self) -> MutexGuard<'_, VecDeque<Apc>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, apc: Apc) -> Res<()> {
        self.calls().push_back(apc);
        self.doorbell.set()?;
        Ok(())
    }

    /// Runs every queued call (and those they queue), oldest first; how many ran.
    pub(crate) fn run(&self) -> usize {
        let mut ran = 0;
        loop {
            let Some(apc) = self.calls().pop_front() else { return ran };
            ran += 1;
            match apc {
                // SAFETY: the program queued this routine with this argument (QueueUserAPC's
                // contract), to run in this thread during an alertable wait.
                Apc::User(f, data) => unsafe { f(data) },
                // SAFETY: as above (SetWaitableTimer's completion routine and argument).
                Apc::Timer(f, arg, low, high) => unsafe { f(arg as *mut core::ffi::c_void, low, high) },
            }
        }
    }
}

pub(crate) static QUEUES: Mutex<Option<HashMap<u32, Arc<Queue>>>> = Mutex::new(None);

pub(crate) fn queue_of(tid: u32) -> Res<Arc<Queue>> {
    let mut all = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    let map = all.get_or_insert_with(HashMap::new);
    if let Some(q) = map.get(&tid) {
        return Ok(q.clone());
    }
    let (doorbell, _) = Event::options().create()?;
    let q = Arc::new(Queue { calls: Mutex::new(VecDeque::new()), doorbell });
    map.insert(tid, q.clone());
    Ok(q)
}

/// Drops the queue of a thread that has ended (its id may be reused by a new thread).
pub(crate) fn forget(tid: u32) {
    if let Some(map) = QUEUES.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        map.remove(&tid);
    }
}
