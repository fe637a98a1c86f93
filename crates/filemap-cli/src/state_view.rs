//! How `ls`, `info` and the sync commands show a synchronization object's state: one view for
//! words and JSON, with a mutex owner's thread resolved to its process.

use filemap::sync::SyncState;

/// The state of a sync object as `ls`/`info` report it, in JSON and words.
#[derive(Debug, serde::Serialize)]
pub struct StateView {
    /// In words, e.g. `manual signaled`, `count 1/3`, `owned by pid 42 (thread 43)`.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signaled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_reset: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_tid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursion: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub armed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_ms: Option<u64>,
    /// When an armed timer is next due, milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_unix_ms: Option<u64>,
}

impl StateView {
    /// The state could not be read (the object vanished meanwhile, or is unreadable).
    pub fn unreadable(err: &filemap::Error) -> StateView {
        let mut v = StateView::new(&SyncState::Job);
        v.summary = format!("? ({})", err.message());
        v
    }

    /// Converts the core's state, resolving a mutex owner's thread to its process.
    pub fn new(state: &SyncState) -> StateView {
        let mut v = StateView {
            summary: state.to_string(),
            signaled: None,
            manual_reset: None,
            count: None,
            max: None,
            owner_tid: None,
            owner_pid: None,
            recursion: None,
            abandoned: None,
            armed: None,
            period_ms: None,
            due_unix_ms: None,
        };
        match *state {
            SyncState::Mutex { owner_tid, recursion, abandoned } => {
                v.owner_tid = owner_tid;
                v.owner_pid = owner_tid.and_then(crate::procs::process_of_thread);
                v.recursion = Some(recursion);
                v.abandoned = Some(abandoned);
                v.signaled = Some(owner_tid.is_none());
                if let Some(tid) = owner_tid {
                    v.summary = match v.owner_pid {
                        Some(pid) if pid == tid => format!("owned by pid {pid}"),
                        Some(pid) => format!("owned by pid {pid} (thread {tid})"),
                        None => format!("owned by thread {tid} (gone)"),
                    };
                    if recursion > 1 {
                        v.summary.push_str(&format!(", {recursion} levels"));
                    }
                }
            }
            SyncState::Semaphore { count, max } => {
                v.count = Some(count);
                v.max = Some(max);
                v.signaled = Some(count > 0);
            }
            SyncState::Event { manual_reset, signaled } => {
                v.manual_reset = Some(manual_reset);
                v.signaled = Some(signaled);
            }
            SyncState::Timer { manual_reset, signaled, armed, period, due } => {
                v.due_unix_ms =
                    due.and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64);
                v.manual_reset = Some(manual_reset);
                v.signaled = Some(signaled);
                v.armed = Some(armed);
                v.period_ms = period.map(|p| p.as_millis() as u64);
            }
            SyncState::Job => {}
        }
        v
    }
}
