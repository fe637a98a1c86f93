//! Named synchronization objects: [`Mutex`], [`Semaphore`], [`Event`], [`Timer`], waits on one
//! or many of them ([`wait_any`], [`wait_all`]), and waitable child processes ([`Process`]).
//!
//! Every object is a file in the same namespace as the mappings (a name's type is fixed; a
//! name held by another type fails with `ERROR_INVALID_HANDLE`), lives exactly as long as its
//! handles, and keeps its state in the shared sync area of its header page. Waiting uses shared
//! futexes; an uncontended acquire or release makes no system call, and a waiter spins for a
//! few microseconds (bounded by time, not by a count) before it sleeps.
//!
//! - **Mutex**: owned by a *thread*, recursive, released only by its owner
//!   (`ERROR_NOT_OWNER`). If the owning thread exits or its process dies (SIGKILL included)
//!   while owning it, the kernel's robust-futex list marks it at once, and exactly one next
//!   acquirer is told [`WaitOutcome::Abandoned`].
//! - **Semaphore**: a count in `0..=max`; a release past `max` fails (`ERROR_TOO_MANY_POSTS`)
//!   and changes nothing.
//! - **Event**: manual- or auto-reset; set, reset, and pulse (wakes the waiters of that moment
//!   and leaves it unsignaled).
//! - **Timer**: a waitable timer with relative or absolute due times and an optional period.
//!   There is no timer thread: a due timer is fired by whoever looks at it first (a waiter,
//!   whose sleep ends at the due time, or a query).
//!
//! ```
//! use std::time::Duration;
//! use filemap::namespace::Namespace;
//! use filemap::sync::{Event, Mutex, WaitOutcome, wait_any};
//! # let root = std::env::temp_dir().join(format!("filemap-doc-sync-{}", std::process::id()));
//! let ns = Namespace::at(&root);                // or Namespace::default(): $FILEMAP_ROOT
//! let (lock, _) = Mutex::options().name(r"Local\doc-lock").namespace(&ns).create()?;
//! {
//!     let guard = lock.lock()?;              // WAIT_OBJECT_0 (or abandoned: guard.abandoned())
//!     assert!(!guard.abandoned());
//! }                                           // released
//! let (ev, _) = ns.event().name(r"Local\doc-event").manual_reset(false).initial_state(false).create()?;
//! ev.set()?;
//! assert_eq!(wait_any(&[&lock, &ev], Some(Duration::ZERO))?, WaitOutcome::Signaled(0));
//! lock.release()?;
//! # Ok::<(), filemap::Error>(())
//! ```
//!
//! # `wait_all` atomicity
//! A `wait_all` first *claims* every non-mutex object that is signaled, in a global order (by
//! object identity): a claim freezes the object (every other transition on it waits a few
//! nanoseconds for the claim to go), so no claimed object can change while the others are
//! checked. Then it tries the mutexes (a compare-and-swap each). If all succeed it consumes
//! every claimed object and releases the claims: that instant is the linearization point, and
//! no other waiter could have observed or consumed any of the objects in between. If one
//! object is not signaled, the claims are released with the values unchanged and the mutexes
//! taken in this attempt are released again: nothing was consumed. The one observable trace of
//! a failed attempt is that a mutex may have looked owned for that moment (a zero-timeout wait
//! on it could time out); a blocking waiter is woken by the release. Claims are taken in one
//! global order and a claimer never blocks while holding one, so claimers cannot deadlock.
//! A claim held by a process that dies inside those few instructions is broken by the next
//! process that finds it dead (`kill(pid, 0)` fails with `ESRCH`) after waiting for it 5 ms.
//!
//! A `wait_all` that has to wait queues on every mutex, semaphore and auto-reset event of its
//! set, so releases hand those objects to it in FIFO order (a grant held for it counts as
//! available in its all-at-once attempt, and is taken only at the commit); a grant it cannot
//! use yet is declined at once and goes to the waiters queued behind it (docs/SYNC.md).
//!
//! Pulses count for waits on one object and `wait_any`; a `wait_all` needs every event
//! signaled at once and does not see a pulse.

mod cell;
mod cell_handles;
mod claim;
mod handle;
mod mutex;
mod mutex_handle;
mod page;
mod probe;
mod process;
mod process_state;
mod robust;
pub(crate) mod state;
mod wait;

use std::time::Duration;

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result, Win32Error};
use crate::name::ObjectName;
use crate::namespace::Namespace;
use crate::object::{Entry, HEADER_SIZE, Header, ObjectType, sync_area_offset};

pub use cell_handles::{DueTime, Event, EventOptions, Semaphore, SemaphoreOptions, Timer, TimerOptions};
pub use mutex_handle::{Mutex, MutexGuard, MutexOptions};
pub use probe::Probe;
pub use process::Process;
pub use wait::{Waitable, fair_hand_off, set_fair_hand_off, set_spin_duration, spin_duration, wait_all, wait_any};

/// The most objects one wait accepts (`MAXIMUM_WAIT_OBJECTS`).
pub const MAXIMUM_WAIT_OBJECTS: usize = 64;

/// Access rights of a synchronization object handle (the Win32 `ACCESS_MASK`).
///
/// Waiting needs [`Rights::SYNCHRONIZE`]; changing an object's state needs its
/// `*_MODIFY_STATE` right (`ERROR_ACCESS_DENIED` otherwise); releasing a mutex needs none, as on
/// Windows. Handles made by `create` have the type's `*_ALL_ACCESS`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rights(pub u32);

impl Rights {
    /// `DELETE`.
    pub const DELETE: Rights = Rights(0x0001_0000);
    /// `READ_CONTROL`.
    pub const READ_CONTROL: Rights = Rights(0x0002_0000);
    /// `WRITE_DAC`.
    pub const WRITE_DAC: Rights = Rights(0x0004_0000);
    /// `WRITE_OWNER`.
    pub const WRITE_OWNER: Rights = Rights(0x0008_0000);
    /// `SYNCHRONIZE`: may wait on the object.
    pub const SYNCHRONIZE: Rights = Rights(0x0010_0000);
    /// `ACCESS_SYSTEM_SECURITY` (asking for it fails with `ERROR_PRIVILEGE_NOT_HELD`).
    pub const ACCESS_SYSTEM_SECURITY: Rights = Rights(0x0100_0000);
    /// `MAXIMUM_ALLOWED`: everything the object allows (here: the type's `*_ALL_ACCESS`).
    pub const MAXIMUM_ALLOWED: Rights = Rights(0x0200_0000);
    /// `GENERIC_ALL`.
    pub const GENERIC_ALL: Rights = Rights(0x1000_0000);
    /// `GENERIC_EXECUTE` (includes `SYNCHRONIZE`).
    pub const GENERIC_EXECUTE: Rights = Rights(0x2000_0000);
    /// `GENERIC_WRITE` (includes the modify right, not `SYNCHRONIZE`).
    pub const GENERIC_WRITE: Rights = Rights(0x4000_0000);
    /// `GENERIC_READ` (includes the query right, not `SYNCHRONIZE`).
    pub const GENERIC_READ: Rights = Rights(0x8000_0000);
    /// `MUTEX_MODIFY_STATE` (= `MUTANT_QUERY_STATE`).
    pub const MUTEX_MODIFY_STATE: Rights = Rights(0x0001);
    /// `MUTEX_ALL_ACCESS`.
    pub const MUTEX_ALL_ACCESS: Rights = Rights(0x001F_0001);
    /// `SEMAPHORE_QUERY_STATE`.
    pub const SEMAPHORE_QUERY_STATE: Rights = Rights(0x0001);
    /// `SEMAPHORE_MODIFY_STATE`: may release.
    pub const SEMAPHORE_MODIFY_STATE: Rights = Rights(0x0002);
    /// `SEMAPHORE_ALL_ACCESS`.
    pub const SEMAPHORE_ALL_ACCESS: Rights = Rights(0x001F_0003);
    /// `EVENT_QUERY_STATE`.
    pub const EVENT_QUERY_STATE: Rights = Rights(0x0001);
    /// `EVENT_MODIFY_STATE`: may set, reset, pulse.
    pub const EVENT_MODIFY_STATE: Rights = Rights(0x0002);
    /// `EVENT_ALL_ACCESS`.
    pub const EVENT_ALL_ACCESS: Rights = Rights(0x001F_0003);
    /// `TIMER_QUERY_STATE`.
    pub const TIMER_QUERY_STATE: Rights = Rights(0x0001);
    /// `TIMER_MODIFY_STATE`: may set and cancel.
    pub const TIMER_MODIFY_STATE: Rights = Rights(0x0002);
    /// `TIMER_ALL_ACCESS`.
    pub const TIMER_ALL_ACCESS: Rights = Rights(0x001F_0003);

    /// True if every bit of `other` is in `self`.
    pub fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights an `Open*` call with this mask grants on an object of type `kind`: generic
    /// rights mapped, `MAXIMUM_ALLOWED` expanded. Fails as Windows does: 0 or a bit the type
    /// does not define → `ERROR_ACCESS_DENIED`; `ACCESS_SYSTEM_SECURITY` →
    /// `ERROR_PRIVILEGE_NOT_HELD`.
    pub fn normalize(self, kind: ObjectType) -> Result<Rights> {
        let (all, query, modify) = match kind {
            ObjectType::Mutex => (Rights::MUTEX_ALL_ACCESS.0, 0x1, 0),
            ObjectType::Semaphore | ObjectType::Event | ObjectType::Timer => (0x001F_0003, 0x1, 0x2),
            _ => {
                return Err(Error::new(
                    Win32Error::INVALID_HANDLE,
                    format!("a {kind} is not a synchronization object"),
                ));
            }
        };
        let req = self.0;
        if req == 0 {
            return Err(Error::new(Win32Error::ACCESS_DENIED, format!("cannot open {kind}: no access requested")));
        }
        if req & Rights::ACCESS_SYSTEM_SECURITY.0 != 0 {
            return Err(Error::new(
                Win32Error::PRIVILEGE_NOT_HELD,
                format!("cannot open {kind}: ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege"),
            ));
        }
        let mut granted = req & !(0xF000_0000 | Rights::MAXIMUM_ALLOWED.0);
        if req & (Rights::GENERIC_ALL.0 | Rights::MAXIMUM_ALLOWED.0) != 0 {
            granted |= all;
        }
        if req & Rights::GENERIC_READ.0 != 0 {
            granted |= Rights::READ_CONTROL.0 | query;
        }
        if req & Rights::GENERIC_WRITE.0 != 0 {
            granted |= Rights::READ_CONTROL.0 | modify;
        }
        if req & Rights::GENERIC_EXECUTE.0 != 0 {
            granted |= Rights::READ_CONTROL.0 | Rights::SYNCHRONIZE.0;
        }
        if granted & !all != 0 {
            return Err(Error::new(
                Win32Error::ACCESS_DENIED,
                format!("cannot open {kind}: access {:#x} is not defined for this type", granted & !all),
            ));
        }
        Ok(Rights(granted))
    }
}

impl std::ops::BitOr for Rights {
    type Output = Rights;
    fn bitor(self, rhs: Rights) -> Rights {
        Rights(self.0 | rhs.0)
    }
}

impl std::fmt::Debug for Rights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rights({:#x})", self.0)
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitOutcome {
    /// The object at this index was signaled and was consumed (`WAIT_OBJECT_0 + i`). A
    /// `wait_all` reports index 0.
    Signaled(usize),
    /// The mutex at this index was abandoned by a dead owner and is now ours
    /// (`WAIT_ABANDONED_0 + i`). For `wait_all`: all objects were acquired and this one (the
    /// lowest such index) was abandoned.
    Abandoned(usize),
    /// The timeout elapsed first; nothing was consumed (`WAIT_TIMEOUT`).
    TimedOut,
}

impl WaitOutcome {
    /// The Win32 return value of a wait function (`WAIT_OBJECT_0 + i`, `WAIT_ABANDONED_0 + i`,
    /// `WAIT_TIMEOUT`).
    pub fn to_win32(self) -> u32 {
        match self {
            WaitOutcome::Signaled(i) => i as u32,
            WaitOutcome::Abandoned(i) => 0x80 + i as u32,
            WaitOutcome::TimedOut => 0x102,
        }
    }

    /// True for [`WaitOutcome::TimedOut`].
    pub fn timed_out(self) -> bool {
        self == WaitOutcome::TimedOut
    }
}

/// The state of a synchronization object, as `ls`/`info` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// A mutex.
    Mutex {
        /// Thread id of the owner, if owned.
        owner_tid: Option<u32>,
        /// Recursion depth of the owner (0 when free).
        recursion: u32,
        /// The last owner died holding it, and nobody has acquired it since.
        abandoned: bool,
    },
    /// A semaphore.
    Semaphore {
        /// Current count.
        count: u32,
        /// Maximum count.
        max: u32,
    },
    /// An event.
    Event {
        /// Manual-reset (true) or auto-reset.
        manual_reset: bool,
        /// Signaled now.
        signaled: bool,
    },
    /// A waitable timer.
    Timer {
        /// Manual-reset (true) or synchronization timer.
        manual_reset: bool,
        /// Signaled now (as last fired; a due timer is fired by its next waiter or query).
        signaled: bool,
        /// A due time is set.
        armed: bool,
        /// Period, if periodic.
        period: Option<Duration>,
        /// When it is next due, as wall-clock time (if armed; a relative due time runs on the
        /// monotonic clock and is shown converted).
        due: Option<std::time::SystemTime>,
    },
    /// A job name reservation (jobs are not supported).
    Job,
}

impl std::fmt::Display for SyncState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncState::Mutex { owner_tid: Some(t), recursion, .. } => write!(f, "owned by thread {t} ({recursion}x)"),
            SyncState::Mutex { owner_tid: None, abandoned: true, .. } => f.write_str("free (abandoned)"),
            SyncState::Mutex { owner_tid: None, .. } => f.write_str("free"),
            SyncState::Semaphore { count, max } => write!(f, "count {count}/{max}"),
            SyncState::Event { manual_reset, signaled } => write!(
                f,
                "{} {}",
                if *manual_reset { "manual" } else { "auto" },
                if *signaled { "signaled" } else { "unsignaled" }
            ),
            SyncState::Timer { manual_reset, signaled, armed, period, due } => {
                write!(
                    f,
                    "{} {}{}",
                    if *manual_reset { "manual" } else { "sync" },
                    if *signaled { "signaled" } else { "unsignaled" },
                    if *armed { ", armed" } else { "" }
                )?;
                if let Some(p) = period {
                    write!(f, ", every {p:?}")?;
                }
                if let Some(due) = due {
                    match due.duration_since(std::time::SystemTime::now()) {
                        Ok(left) => write!(f, ", due in {:.3}s", left.as_secs_f64())?,
                        Err(_) => f.write_str(", due now")?,
                    }
                }
                Ok(())
            }
            SyncState::Job => f.write_str("job (reserved)"),
        }
    }
}

/// Decodes a sync object's state from its header and the raw bytes of its sync area.
fn decode_state(header: &Header, sync: &[u8]) -> Option<SyncState> {
    let u32_at = |o: usize| u32::from_ne_bytes(sync[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |o: usize| u64::from_ne_bytes(sync[o..o + 8].try_into().unwrap_or([0; 8]));
    let value = u64_at(page::OFF_STATE) as u32;
    Some(match header.kind {
        ObjectType::Mutex => {
            let w = u32_at(page::OFF_MUTEX_WORD);
            let owner = w & state::TID_MASK;
            SyncState::Mutex {
                owner_tid: (owner != 0).then_some(owner),
                recursion: if owner != 0 { u32_at(page::OFF_MUTEX_COUNT) } else { 0 },
                abandoned: owner == 0 && w & state::OWNER_DIED != 0,
            }
        }
        ObjectType::Semaphore => SyncState::Semaphore { count: value, max: header.params[0] as u32 },
        ObjectType::Event => {
            SyncState::Event { manual_reset: header.params[0] != 0, signaled: value & state::SIGNALED != 0 }
        }
        ObjectType::Timer => {
            let period = u64_at(page::OFF_PERIOD);
            let armed = value & state::ARMED != 0;
            SyncState::Timer {
                manual_reset: header.params[0] != 0,
                signaled: value & state::SIGNALED != 0,
                armed,
                period: (period != 0).then(|| Duration::from_nanos(period)),
                due: armed.then(|| cell::due_wall_time(u32_at(page::OFF_CLOCK), u64_at(page::OFF_DUE))),
            }
        }
        ObjectType::Job => SyncState::Job,
        ObjectType::Mapping => return None,
    })
}

/// Reads the header page of a namespace file without taking a handle (no lock: a query does not
/// keep the object alive). Checks it is still the live object `ino` if given. Returns the header,
/// the page and where its sync area starts (`sync_area_offset`: by type and inode number).
fn read_page(
    ns: &Namespace,
    scope: crate::name::Scope,
    file: &str,
    ino: Option<u64>,
    what: &str,
) -> Result<(Header, Vec<u8>, usize)> {
    let not_found = || Error::new(Win32Error::FILE_NOT_FOUND, format!("{what}: no object has that name"));
    let dir = ns.dir(scope, false)?.ok_or_else(not_found)?;
    let fd = rustix::fs::openat(
        &dir.fd,
        file,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::NOENT => not_found(),
        e => Error::from_io(what.to_owned(), e.into()),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what.to_owned(), e.into()))?;
    if st.st_nlink == 0 || ino.is_some_and(|i| i != st.st_ino) {
        return Err(not_found());
    }
    let mut buf = vec![0u8; HEADER_SIZE];
    let mut got = 0;
    while got < HEADER_SIZE {
        match rustix::io::pread(&fd, &mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Error::from_io(what.to_owned(), e.into())),
        }
    }
    let header = Header::decode(&buf[..got]).map_err(|e| Error::new(e.code(), format!("{what}: {}", e.message())))?;
    let area = sync_area_offset(header.kind, st.st_ino);
    Ok((header, buf, area))
}

/// The state of the synchronization object a scan of the default namespace found (`None` for a
/// mapping or an entry whose header is invalid). Reads without taking a handle.
pub fn describe_state(entry: &Entry) -> Result<Option<SyncState>> {
    describe_state_in(Namespace::global(), entry)
}

/// [`describe_state`] for an entry found by [`Namespace::scan`].
pub fn describe_state_in(ns: &Namespace, entry: &Entry) -> Result<Option<SyncState>> {
    let Ok(header) = &entry.header else { return Ok(None) };
    if header.kind == ObjectType::Mapping {
        return Ok(None);
    }
    let what = format!("cannot read the state of {}", entry.file);
    let (header, buf, area) = read_page(ns, entry.scope, &entry.file, Some(entry.ino), &what)?;
    Ok(decode_state(&header, &buf[area..]))
}

/// The type and state of the object `name` in the default namespace (any type; `None` state for
/// a mapping). Reads without taking a handle. `ERROR_FILE_NOT_FOUND` if no object has the name.
/// [`Namespace::query_state`] looks in another namespace.
pub fn query_state(name: &str) -> Result<(ObjectType, Option<SyncState>)> {
    query_state_in(Namespace::global(), name)
}

pub(crate) fn query_state_in(ns: &Namespace, name: &str) -> Result<(ObjectType, Option<SyncState>)> {
    let parsed = ObjectName::parse(name)?;
    let what = format!("cannot query \"{parsed}\"");
    let (header, buf, area) = read_page(ns, parsed.scope(), parsed.file(), None, &what)?;
    if header.name.as_deref().map(str::as_bytes) != Some(parsed.to_string().as_bytes()) {
        return Err(Error::new(Win32Error::INVALID_DATA, format!("{what}: the file holds another object")));
    }
    Ok((header.kind, decode_state(&header, &buf[area..])))
}

/// Job objects: the type is reserved in the namespace so that a name's type is always known,
/// but jobs themselves are not supported on Linux.
#[derive(Debug)]
pub struct Job {
    never: std::convert::Infallible,
}

impl Job {
    /// Always fails: `ERROR_NOT_SUPPORTED` (or, if `name` is held by another type,
    /// `ERROR_INVALID_HANDLE`, as Windows reports a type conflict first). Nothing is created.
    pub fn create(name: Option<&str>) -> Result<Job> {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            let parsed = ObjectName::parse(n)?;
            if let Ok((kind, _)) = query_state(n)
                && kind != ObjectType::Job
            {
                return Err(Error::new(
                    Win32Error::INVALID_HANDLE,
                    format!("cannot create job \"{parsed}\": the name is held by a {kind}"),
                ));
            }
        }
        Err(Error::new(
            Win32Error::NOT_SUPPORTED,
            "job objects are not supported on Linux (no process groups with Win32 job semantics); nothing was created",
        ))
    }

    /// Always fails like [`Job::create`] (a job can never have been created).
    pub fn open(name: &str) -> Result<Job> {
        let parsed = ObjectName::parse(name)?;
        match query_state(name) {
            Ok((kind, _)) if kind != ObjectType::Job => Err(Error::new(
                Win32Error::INVALID_HANDLE,
                format!("cannot open job \"{parsed}\": the name is held by a {kind}"),
            )),
            _ => Err(Error::new(Win32Error::FILE_NOT_FOUND, format!("cannot open job \"{parsed}\": no such job"))),
        }
    }

    /// Unreachable: no `Job` value can exist.
    pub fn never(&self) -> ! {
        match self.never {}
    }
}

/// Validates a wait timeout given in Win32 milliseconds (`INFINITE` = `u32::MAX` → `None`).
pub fn timeout_from_millis(ms: u32) -> Option<Duration> {
    (ms != u32::MAX).then(|| Duration::from_millis(u64::from(ms)))
}

/// A handle to a synchronization object of any type, as opened by name by [`open_any`] (for
/// tools that take a name and act on whatever it names, like `filemap signal/reset/wait`).
#[derive(Debug)]
pub enum AnySync {
    /// A mutex.
    Mutex(Mutex),
    /// A semaphore.
    Semaphore(Semaphore),
    /// An event.
    Event(Event),
    /// A waitable timer.
    Timer(Timer),
}

/// Opens the synchronization object `name` of the default namespace, whatever its type, with
/// `rights` (generic rights such as [`Rights::GENERIC_ALL`] or [`Rights::MAXIMUM_ALLOWED`] fit
/// every type). `ERROR_FILE_NOT_FOUND` if no object has the name; `ERROR_INVALID_HANDLE` for a
/// mapping; `ERROR_NOT_SUPPORTED` for a job.
pub fn open_any(name: &str, rights: Rights) -> Result<AnySync> {
    open_any_in(Namespace::global(), name, rights)
}

/// [`open_any`] in the namespace `ns`.
pub fn open_any_in(ns: &Namespace, name: &str, rights: Rights) -> Result<AnySync> {
    let (kind, _) = query_state_in(ns, name)?;
    Ok(match kind {
        ObjectType::Mutex => AnySync::Mutex(ns.mutex().name(name).rights(rights).open()?),
        ObjectType::Semaphore => AnySync::Semaphore(ns.semaphore().name(name).rights(rights).open()?),
        ObjectType::Event => AnySync::Event(ns.event().name(name).rights(rights).open()?),
        ObjectType::Timer => AnySync::Timer(ns.timer().name(name).rights(rights).open()?),
        ObjectType::Job => {
            return Err(Error::new(Win32Error::NOT_SUPPORTED, format!("\"{name}\" is a job; jobs are not supported")));
        }
        ObjectType::Mapping => {
            return Err(Error::new(
                Win32Error::INVALID_HANDLE,
                format!("\"{name}\" is a file mapping, not a synchronization object"),
            ));
        }
    })
}

impl AnySync {
    /// The object's type.
    pub fn kind(&self) -> ObjectType {
        match self {
            AnySync::Mutex(_) => ObjectType::Mutex,
            AnySync::Semaphore(_) => ObjectType::Semaphore,
            AnySync::Event(_) => ObjectType::Event,
            AnySync::Timer(_) => ObjectType::Timer,
        }
    }

    /// The object's current state.
    pub fn state(&self) -> SyncState {
        match self {
            AnySync::Mutex(m) => m.state(),
            AnySync::Semaphore(s) => s.state(),
            AnySync::Event(e) => e.state(),
            AnySync::Timer(t) => t.state(),
        }
    }

    /// The handle as something to wait on.
    pub fn as_waitable(&self) -> &dyn Waitable {
        match self {
            AnySync::Mutex(m) => m,
            AnySync::Semaphore(s) => s,
            AnySync::Event(e) => e,
            AnySync::Timer(t) => t,
        }
    }
}

impl crate::namespace::Namespace {
    /// A mutex builder that creates and opens in this namespace.
    pub fn mutex(&self) -> crate::sync::MutexOptions {
        crate::sync::Mutex::options().namespace(self)
    }

    /// A semaphore builder that creates and opens in this namespace.
    pub fn semaphore(&self) -> crate::sync::SemaphoreOptions {
        crate::sync::Semaphore::options().namespace(self)
    }

    /// An event builder that creates and opens in this namespace.
    pub fn event(&self) -> crate::sync::EventOptions {
        crate::sync::Event::options().namespace(self)
    }

    /// A waitable timer builder that creates and opens in this namespace.
    pub fn timer(&self) -> crate::sync::TimerOptions {
        crate::sync::Timer::options().namespace(self)
    }

    /// The type and state of the object `name` in this namespace ([`crate::sync::query_state`]).
    pub fn query_state(&self, name: &str) -> Result<(crate::ObjectType, Option<crate::sync::SyncState>)> {
        crate::sync::query_state_in(self, name)
    }

    /// Opens the synchronization object `name` of this namespace, whatever its type
    /// ([`crate::sync::open_any`]).
    pub fn open_any(&self, name: &str, rights: crate::sync::Rights) -> Result<crate::sync::AnySync> {
        crate::sync::open_any_in(self, name, rights)
    }

    /// The state of a synchronization object this namespace's [`Namespace::scan`] found
    /// ([`crate::sync::describe_state`]).
    pub fn describe_state(&self, entry: &crate::Entry) -> Result<Option<crate::sync::SyncState>> {
        crate::sync::describe_state_in(self, entry)
    }
}
