//! `filemap.Mutex`, `Semaphore`, `Event`, `Timer`, `wait_any`, `wait_all`.
//!
//! Waits release the GIL. On the main thread they wait in slices of [`SLICE`] and run Python's
//! signal handlers between slices, so Ctrl-C (KeyboardInterrupt) interrupts them; nothing is
//! consumed by a slice that times out. Other threads (where Python runs no signal handlers)
//! wait in one piece.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use filemap::sync::{DueTime, Rights, SyncState, Waitable};
use filemap::{Created, Event, Mutex, Semaphore, Timer, WaitOutcome};

use crate::errors::IntoPy;

/// How long one slice of a main-thread wait lasts before signals are checked.
const SLICE: Duration = Duration::from_millis(100);

fn closed_err(what: &str) -> PyErr {
    PyValueError::new_err(format!("operation on a closed {what}"))
}

/// Reads a `timeout` in seconds: None or -1 = forever; otherwise a non-negative number.
fn parse_timeout(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None | Some(-1.0) => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => {
            Err(PyValueError::new_err("timeout must be a non-negative number, -1 or None"))
        }
        Some(t) => Ok(Some(Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX))),
    }
}

/// `blocking`/`timeout` as `threading.Lock.acquire` takes them.
fn lock_timeout(blocking: bool, timeout: Option<f64>) -> PyResult<Option<Duration>> {
    if !blocking {
        if timeout.is_some_and(|t| t != -1.0) {
            return Err(PyValueError::new_err("can't specify a timeout for a non-blocking call"));
        }
        return Ok(Some(Duration::ZERO));
    }
    parse_timeout(timeout)
}

fn is_main_thread(py: Python<'_>) -> PyResult<bool> {
    static THREADING: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let threading = THREADING.get_or_try_init(py, || py.import("threading").map(Bound::unbind))?.bind(py);
    let main = threading.call_method0("main_thread")?;
    let current = threading.call_method0("current_thread")?;
    Ok(main.is(&current))
}

/// Runs `attempt` (one wait with a timeout) until it succeeds or `timeout` passes, with the GIL
/// released, checking for signals between slices on the main thread.
fn blocking_wait<F>(py: Python<'_>, timeout: Option<Duration>, attempt: F) -> PyResult<WaitOutcome>
where
    F: Fn(Option<Duration>) -> filemap::Result<WaitOutcome> + Sync,
{
    // Uncontended: no thread switch, no GIL release.
    let first = attempt(Some(Duration::ZERO)).py(py)?;
    if !first.timed_out() || timeout == Some(Duration::ZERO) {
        return Ok(first);
    }
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    let main = is_main_thread(py)?;
    loop {
        let left = match deadline {
            None | Some(None) => None,
            Some(Some(d)) => Some(d.saturating_duration_since(Instant::now())),
        };
        let slice = if main { Some(left.map_or(SLICE, |l| l.min(SLICE))) } else { left };
        let outcome = py.detach(|| attempt(slice)).py(py)?;
        if !outcome.timed_out() {
            return Ok(outcome);
        }
        py.check_signals()?;
        if left.is_some_and(|l| l <= slice.unwrap_or(Duration::MAX)) {
            return Ok(WaitOutcome::TimedOut);
        }
    }
}

/// A handle slot: `None` after `close()`.
struct Slot<T>(StdMutex<Option<Arc<T>>>);

impl<T> Slot<T> {
    fn new(value: T) -> Slot<T> {
        Slot(StdMutex::new(Some(Arc::new(value))))
    }
    fn get(&self, what: &str) -> PyResult<Arc<T>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(|| closed_err(what))
    }
    fn close(&self) {
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }
    fn is_closed(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }
}

/// The builders' name: `None` (unnamed) is the empty name.
fn name_arg(name: &Option<String>) -> &str {
    name.as_deref().unwrap_or("")
}

fn rights_arg(rights: Option<u32>, all: Rights) -> Rights {
    rights.map_or(all, Rights)
}

macro_rules! sync_methods {
    ($py_ty:ident, $what:literal, { $($body:tt)* }) => {
        #[pymethods]
        impl $py_ty {
            $($body)*

            /// Closes the handle (CloseHandle). The name is released when the last handle in any
            /// process closes. Closing twice is allowed.
            fn close(&self) {
                self.inner.close();
            }

            /// True once ``close()`` was called.
            #[getter]
            fn closed(&self) -> bool {
                self.inner.is_closed()
            }

            /// The object's name (None if unnamed).
            #[getter]
            fn name(&self) -> PyResult<Option<String>> {
                Ok(self.inner.get($what)?.name())
            }

            /// Pickles a named object to ``open(name)``, so it can be passed to
            /// ``multiprocessing`` children (they open it by name; the name lives while the
            /// sender holds it). Unnamed objects cannot be pickled.
            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
                let Some(name) = slf.get().inner.get($what)?.name() else {
                    return Err(PyTypeError::new_err(concat!("cannot pickle an unnamed ", $what)));
                };
                Ok((slf.get_type().getattr("open")?, (name,)))
            }

            /// True if the constructor found the name held and opened the existing object
            /// (ERROR_ALREADY_EXISTS); always True for ``open``.
            #[getter]
            fn existed(&self) -> bool {
                self.existed
            }

            fn __repr__(&self) -> String {
                match self.inner.get($what) {
                    Err(_) => format!("<filemap.{} closed>", stringify!($py_ty).trim_start_matches("Py")),
                    Ok(h) => format!(
                        "<filemap.{} name={:?} {}>",
                        stringify!($py_ty).trim_start_matches("Py"),
                        h.name().unwrap_or_default(),
                        h.state()
                    ),
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------

/// A mutex (CreateMutex): owned by one *thread* at a time, recursive, released only by its
/// owner, abandoned when the owning thread or process dies holding it.
///
/// ``Mutex(name=None, initial_owner=False)`` creates it or opens the existing one of that name;
/// ``Mutex.open(name)`` only opens. ``acquire()`` returns True when owned; if the previous
/// owner died holding it, ownership passes to the caller all the same and ``abandoned`` is
/// True until the next acquire on this handle. ``with mutex:`` acquires and releases.
#[pyclass(module = "filemap", name = "Mutex", frozen)]
pub struct PyMutex {
    inner: Slot<Mutex>,
    existed: bool,
    abandoned: AtomicBool,
}

impl PyMutex {
    fn mark(&self, abandoned: bool) {
        self.abandoned.store(abandoned, Ordering::Release);
    }

    fn acquire_for(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<bool> {
        let m = self.inner.get("mutex")?;
        match blocking_wait(py, timeout, |t| m.acquire(t))? {
            WaitOutcome::TimedOut => Ok(false),
            outcome => {
                self.mark(matches!(outcome, WaitOutcome::Abandoned(_)));
                Ok(true)
            }
        }
    }
}

sync_methods!(PyMutex, "mutex", {
    #[new]
    #[pyo3(signature = (name = None, initial_owner = false))]
    fn new(py: Python<'_>, name: Option<String>, initial_owner: bool) -> PyResult<PyMutex> {
        // Not detached: with `initial_owner` the calling thread must become the owner.
        let (m, created) = Mutex::options().name(name_arg(&name)).initial_owner(initial_owner).create().py(py)?;
        Ok(PyMutex { inner: Slot::new(m), existed: created == Created::Existing, abandoned: AtomicBool::new(false) })
    }

    /// Opens the existing mutex ``name`` (OpenMutex). ``rights`` defaults to MUTEX_ALL_ACCESS.
    #[staticmethod]
    #[pyo3(signature = (name, rights = None))]
    fn open(py: Python<'_>, name: String, rights: Option<u32>) -> PyResult<PyMutex> {
        let m = py.detach(|| Mutex::open(&name, rights_arg(rights, Rights::MUTEX_ALL_ACCESS))).py(py)?;
        Ok(PyMutex { inner: Slot::new(m), existed: true, abandoned: AtomicBool::new(false) })
    }

    /// Waits for ownership, as ``threading.Lock.acquire``: ``blocking=False`` only tries;
    /// ``timeout`` in seconds (None or -1: forever). True when owned (check ``abandoned``),
    /// False on timeout. Releases the GIL while waiting; Ctrl-C interrupts it.
    #[pyo3(signature = (blocking = true, timeout = None))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: Option<f64>) -> PyResult<bool> {
        self.acquire_for(py, lock_timeout(blocking, timeout)?)
    }

    /// Releases one level of ownership (ReleaseMutex). NotOwnerError (a RuntimeError) if the
    /// calling thread does not own it.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.get("mutex")?.release().py(py)
    }

    /// True if the acquire that last succeeded on this handle found the mutex abandoned: its
    /// previous owner died holding it, so what it protects may be inconsistent.
    #[getter]
    fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// True if the calling thread owns the mutex.
    #[getter]
    fn owned(&self) -> PyResult<bool> {
        Ok(self.inner.get("mutex")?.is_owned_by_current_thread())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().acquire_for(slf.py(), None)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release(py)?;
        Ok(false)
    }
});

// ---------------------------------------------------------------------------------------------

/// A semaphore (CreateSemaphore): a count in ``0..maximum``; each acquire takes one unit.
///
/// ``Semaphore(name=None, initial=1, maximum=None)`` creates it (maximum defaults to
/// 2**31-1) or opens the existing one; ``Semaphore.open(name)`` only opens. ``with sem:``
/// acquires and releases one unit.
#[pyclass(module = "filemap", name = "Semaphore", frozen)]
pub struct PySemaphore {
    inner: Slot<Semaphore>,
    existed: bool,
}

impl PySemaphore {
    fn acquire_for(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<bool> {
        let s = self.inner.get("semaphore")?;
        Ok(!blocking_wait(py, timeout, |t| s.wait(t))?.timed_out())
    }
}

sync_methods!(PySemaphore, "semaphore", {
    #[new]
    #[pyo3(signature = (name = None, initial = 1, maximum = None))]
    fn new(py: Python<'_>, name: Option<String>, initial: i32, maximum: Option<i32>) -> PyResult<PySemaphore> {
        let max = maximum.unwrap_or(i32::MAX);
        let (s, created) =
            py.detach(|| Semaphore::options().name(name_arg(&name)).initial(initial).max(max).create()).py(py)?;
        Ok(PySemaphore { inner: Slot::new(s), existed: created == Created::Existing })
    }

    /// Opens the existing semaphore ``name`` (OpenSemaphore). ``rights`` defaults to
    /// SEMAPHORE_ALL_ACCESS.
    #[staticmethod]
    #[pyo3(signature = (name, rights = None))]
    fn open(py: Python<'_>, name: String, rights: Option<u32>) -> PyResult<PySemaphore> {
        let s = py.detach(|| Semaphore::open(&name, rights_arg(rights, Rights::SEMAPHORE_ALL_ACCESS))).py(py)?;
        Ok(PySemaphore { inner: Slot::new(s), existed: true })
    }

    /// Takes one unit, as ``threading.Semaphore.acquire``: True, or False on timeout.
    /// Releases the GIL while waiting; Ctrl-C interrupts it.
    #[pyo3(signature = (blocking = true, timeout = None))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: Option<f64>) -> PyResult<bool> {
        self.acquire_for(py, lock_timeout(blocking, timeout)?)
    }

    /// Adds ``n`` units (ReleaseSemaphore) and returns the previous count. TooManyPostsError (a
    /// ValueError) if that would pass the maximum; then nothing changes.
    #[pyo3(signature = (n = 1))]
    fn release(&self, py: Python<'_>, n: i32) -> PyResult<i32> {
        self.inner.get("semaphore")?.release(n).py(py)
    }

    /// The current count (a snapshot).
    #[getter]
    fn value(&self) -> PyResult<u32> {
        match self.inner.get("semaphore")?.state() {
            SyncState::Semaphore { count, .. } => Ok(count),
            _ => Ok(0),
        }
    }

    /// The maximum count.
    #[getter]
    fn maximum(&self) -> PyResult<i32> {
        Ok(self.inner.get("semaphore")?.max())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().acquire_for(slf.py(), None)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release(py, 1)?;
        Ok(false)
    }
});

// ---------------------------------------------------------------------------------------------

/// An event (CreateEvent): manual-reset (stays set until reset, like ``threading.Event``; the
/// default) or auto-reset (a wait consumes the signal and wakes one waiter).
///
/// ``Event(name=None, manual_reset=True, initial_state=False)`` creates it or opens the
/// existing one; ``Event.open(name)`` only opens. ``with event:`` closes the handle on exit.
#[pyclass(module = "filemap", name = "Event", frozen)]
pub struct PyEvent {
    inner: Slot<Event>,
    existed: bool,
}

impl PyEvent {
    fn wait_for(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<bool> {
        let e = self.inner.get("event")?;
        Ok(!blocking_wait(py, timeout, |t| e.wait(t))?.timed_out())
    }
}

sync_methods!(PyEvent, "event", {
    #[new]
    #[pyo3(signature = (name = None, manual_reset = true, initial_state = false))]
    fn new(py: Python<'_>, name: Option<String>, manual_reset: bool, initial_state: bool) -> PyResult<PyEvent> {
        let (e, created) = py
            .detach(|| {
                Event::options().name(name_arg(&name)).manual_reset(manual_reset).initial_state(initial_state).create()
            })
            .py(py)?;
        Ok(PyEvent { inner: Slot::new(e), existed: created == Created::Existing })
    }

    /// Opens the existing event ``name`` (OpenEvent). ``rights`` defaults to EVENT_ALL_ACCESS.
    #[staticmethod]
    #[pyo3(signature = (name, rights = None))]
    fn open(py: Python<'_>, name: String, rights: Option<u32>) -> PyResult<PyEvent> {
        let e = py.detach(|| Event::open(&name, rights_arg(rights, Rights::EVENT_ALL_ACCESS))).py(py)?;
        Ok(PyEvent { inner: Slot::new(e), existed: true })
    }

    /// Sets the event (SetEvent).
    fn set(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.get("event")?.set().py(py).map(drop)
    }

    /// Resets the event (ResetEvent).
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.get("event")?.reset().py(py).map(drop)
    }

    /// Same as ``reset()`` (``threading.Event`` spelling).
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        self.reset(py)
    }

    /// Wakes the waiters of this moment and leaves the event reset (PulseEvent).
    fn pulse(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.get("event")?.pulse().py(py).map(drop)
    }

    /// True if the event is set (a snapshot; does not consume an auto-reset event).
    fn is_set(&self) -> PyResult<bool> {
        match self.inner.get("event")?.state() {
            SyncState::Event { signaled, .. } => Ok(signaled),
            _ => Ok(false),
        }
    }

    /// Waits until the event is set (WaitForSingleObject), ``timeout`` in seconds (None or -1:
    /// forever). True if it was set (an auto-reset event is consumed), False on timeout.
    /// Releases the GIL while waiting; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.wait_for(py, parse_timeout(timeout)?)
    }

    /// ``wait`` with ``threading.Lock.acquire``'s arguments.
    #[pyo3(signature = (blocking = true, timeout = None))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: Option<f64>) -> PyResult<bool> {
        self.wait_for(py, lock_timeout(blocking, timeout)?)
    }

    /// True for a manual-reset event.
    #[getter]
    fn manual_reset(&self) -> PyResult<bool> {
        Ok(self.inner.get("event")?.is_manual_reset())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.inner.close();
        false
    }
});

// ---------------------------------------------------------------------------------------------

/// A waitable timer (CreateWaitableTimer): signaled at its due time, then every ``period``.
/// Manual-reset (stays signaled) or synchronization (the default: a wait consumes the signal).
///
/// ``Timer(name=None, manual_reset=False)`` creates it (inactive) or opens the existing one;
/// ``Timer.open(name)`` only opens. ``with timer:`` closes the handle on exit.
#[pyclass(module = "filemap", name = "Timer", frozen)]
pub struct PyTimer {
    inner: Slot<Timer>,
    existed: bool,
}

impl PyTimer {
    fn wait_for(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<bool> {
        let t = self.inner.get("timer")?;
        Ok(!blocking_wait(py, timeout, |d| t.wait(d))?.timed_out())
    }
}

sync_methods!(PyTimer, "timer", {
    #[new]
    #[pyo3(signature = (name = None, manual_reset = false))]
    fn new(py: Python<'_>, name: Option<String>, manual_reset: bool) -> PyResult<PyTimer> {
        let (t, created) =
            py.detach(|| Timer::options().name(name_arg(&name)).manual_reset(manual_reset).create()).py(py)?;
        Ok(PyTimer { inner: Slot::new(t), existed: created == Created::Existing })
    }

    /// Opens the existing timer ``name`` (OpenWaitableTimer). ``rights`` defaults to
    /// TIMER_ALL_ACCESS.
    #[staticmethod]
    #[pyo3(signature = (name, rights = None))]
    fn open(py: Python<'_>, name: String, rights: Option<u32>) -> PyResult<PyTimer> {
        let t = py.detach(|| Timer::open(&name, rights_arg(rights, Rights::TIMER_ALL_ACCESS))).py(py)?;
        Ok(PyTimer { inner: Slot::new(t), existed: true })
    }

    /// Arms the timer (SetWaitableTimer): unsignaled now, signaled at ``due`` — seconds from
    /// now (a number, on the monotonic clock) or a ``datetime.datetime`` (wall clock; naive
    /// means local time) — then every ``period`` seconds if ``period`` > 0.
    #[pyo3(signature = (due, period = 0.0))]
    fn set(&self, py: Python<'_>, due: &Bound<'_, PyAny>, period: f64) -> PyResult<()> {
        let due = if let Ok(secs) = due.extract::<f64>() {
            if secs.is_nan() || secs < 0.0 {
                return Err(PyValueError::new_err("a relative due time must be a non-negative number of seconds"));
            }
            DueTime::Relative(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        } else if due.hasattr("timestamp")? {
            let ts: f64 = due.call_method0("timestamp")?.extract()?;
            let at = if ts >= 0.0 {
                SystemTime::UNIX_EPOCH + Duration::try_from_secs_f64(ts).unwrap_or(Duration::MAX)
            } else {
                SystemTime::UNIX_EPOCH
            };
            DueTime::Absolute(at)
        } else {
            return Err(PyTypeError::new_err("due must be seconds (a number) or a datetime.datetime"));
        };
        if period.is_nan() || period < 0.0 {
            return Err(PyValueError::new_err("period must be a non-negative number of seconds"));
        }
        let period = (period > 0.0).then(|| Duration::try_from_secs_f64(period).unwrap_or(Duration::MAX));
        self.inner.get("timer")?.set(due, period).py(py)
    }

    /// Stops the timer (CancelWaitableTimer); a signaled timer stays signaled.
    fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.get("timer")?.cancel().py(py)
    }

    /// True if the timer is signaled (a snapshot; consumes nothing).
    fn is_set(&self) -> PyResult<bool> {
        match self.inner.get("timer")?.state() {
            SyncState::Timer { signaled, .. } => Ok(signaled),
            _ => Ok(false),
        }
    }

    /// Waits until the timer is signaled, ``timeout`` in seconds (None or -1: forever). True if
    /// it fired (a synchronization timer is consumed), False on timeout. Releases the GIL
    /// while waiting; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.wait_for(py, parse_timeout(timeout)?)
    }

    /// ``wait`` with ``threading.Lock.acquire``'s arguments.
    #[pyo3(signature = (blocking = true, timeout = None))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: Option<f64>) -> PyResult<bool> {
        self.wait_for(py, lock_timeout(blocking, timeout)?)
    }

    /// True for a manual-reset timer.
    #[getter]
    fn manual_reset(&self) -> PyResult<bool> {
        Ok(self.inner.get("timer")?.is_manual_reset())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.inner.close();
        false
    }
});

// ---------------------------------------------------------------------------------------------

enum AnyObj {
    Mutex(Arc<Mutex>),
    Semaphore(Arc<Semaphore>),
    Event(Arc<Event>),
    Timer(Arc<Timer>),
}

impl AnyObj {
    fn waitable(&self) -> &dyn Waitable {
        match self {
            AnyObj::Mutex(m) => &**m,
            AnyObj::Semaphore(s) => &**s,
            AnyObj::Event(e) => &**e,
            AnyObj::Timer(t) => &**t,
        }
    }
}

/// The Python mutex objects of a wait list, by index (None for other types).
type MutexSlots = Vec<Option<Py<PyMutex>>>;

fn collect(objects: &Bound<'_, PyAny>) -> PyResult<(Vec<AnyObj>, MutexSlots)> {
    let mut out = Vec::new();
    let mut mutexes = Vec::new();
    for item in objects.try_iter()? {
        let item = item?;
        if let Ok(m) = item.cast::<PyMutex>() {
            out.push(AnyObj::Mutex(m.get().inner.get("mutex")?));
            mutexes.push(Some(m.clone().unbind()));
            continue;
        }
        mutexes.push(None);
        if let Ok(s) = item.cast::<PySemaphore>() {
            out.push(AnyObj::Semaphore(s.get().inner.get("semaphore")?));
        } else if let Ok(e) = item.cast::<PyEvent>() {
            out.push(AnyObj::Event(e.get().inner.get("event")?));
        } else if let Ok(t) = item.cast::<PyTimer>() {
            out.push(AnyObj::Timer(t.get().inner.get("timer")?));
        } else {
            return Err(PyTypeError::new_err(format!(
                "can only wait on filemap Mutex, Semaphore, Event and Timer objects, not {}",
                item.get_type().name()?
            )));
        }
    }
    Ok((out, mutexes))
}

fn wait_many(
    py: Python<'_>,
    objects: &Bound<'_, PyAny>,
    timeout: Option<f64>,
    all: bool,
) -> PyResult<(WaitOutcome, MutexSlots)> {
    let timeout = parse_timeout(timeout)?;
    let (objs, mutexes) = collect(objects)?;
    let outcome = blocking_wait(py, timeout, |t| {
        let list: Vec<&dyn Waitable> = objs.iter().map(AnyObj::waitable).collect();
        if all { filemap::wait_all(&list, t) } else { filemap::wait_any(&list, t) }
    })?;
    Ok((outcome, mutexes))
}

/// Waits until one of ``objects`` (up to 64 Mutex/Semaphore/Event/Timer objects) is signaled
/// and consumes it (WaitForMultipleObjects, bWaitAll=FALSE). Returns the lowest signaled index,
/// or None on timeout (seconds; None or -1: forever). A mutex acquired this way has its
/// ``abandoned`` flag set as ``acquire`` would. Releases the GIL; Ctrl-C interrupts it.
#[pyfunction]
#[pyo3(signature = (objects, timeout = None))]
pub fn wait_any(py: Python<'_>, objects: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<Option<usize>> {
    let (outcome, mutexes) = wait_many(py, objects, timeout, false)?;
    let (index, abandoned) = match outcome {
        WaitOutcome::TimedOut => return Ok(None),
        WaitOutcome::Signaled(i) => (i, false),
        WaitOutcome::Abandoned(i) => (i, true),
    };
    if let Some(Some(m)) = mutexes.get(index) {
        m.get().mark(abandoned);
    }
    Ok(Some(index))
}

/// Waits until all of ``objects`` (1 to 64 distinct objects) are signaled at once and consumes
/// them all atomically (WaitForMultipleObjects, bWaitAll=TRUE). True, or False on timeout
/// (then nothing was consumed). Mutexes acquired this way get their ``abandoned`` flag.
/// Releases the GIL; Ctrl-C interrupts it.
#[pyfunction]
#[pyo3(signature = (objects, timeout = None))]
pub fn wait_all(py: Python<'_>, objects: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<bool> {
    let (outcome, mutexes) = wait_many(py, objects, timeout, true)?;
    let abandoned_at = match outcome {
        WaitOutcome::TimedOut => return Ok(false),
        WaitOutcome::Signaled(_) => None,
        WaitOutcome::Abandoned(i) => Some(i),
    };
    for (i, m) in mutexes.iter().enumerate() {
        if let Some(m) = m {
            m.get().mark(abandoned_at == Some(i));
        }
    }
    Ok(true)
}

/// Registers the classes and functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMutex>()?;
    m.add_class::<PySemaphore>()?;
    m.add_class::<PyEvent>()?;
    m.add_class::<PyTimer>()?;
    m.add_function(pyo3::wrap_pyfunction!(wait_any, m)?)?;
    m.add_function(pyo3::wrap_pyfunction!(wait_all, m)?)?;
    Ok(())
}
