//! The mutex handle: [`Mutex`] (create, open, acquire, release, the Win32 rules on owners and
//! recursion), its options builder and [`MutexGuard`]; the object itself is `mutex.rs`.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::{Error, Result, Win32Error};
use crate::object::{Created, ObjectType};

use super::handle::{self, Common, handle_methods};
use super::page::{self, OFF_MUTEX_WORD, SyncPage};
use super::robust::{self, ThreadCtx};
use super::state::{OWNER_DIED, TID_MASK};
use super::wait::{Target, sealed};
use super::{Rights, SyncState, WaitOutcome};

use super::mutex::*;

/// A handle to a named (or unnamed) mutex (`CreateMutex`/`OpenMutex`).
///
/// A mutex is owned by a **thread**: acquiring it `n` times needs `n` releases, only the owner
/// may release it (`ERROR_NOT_OWNER`), and closing the handle it was acquired through does not
/// release it. If the owning thread exits or its process dies while owning it, the next
/// acquirer gets it with [`WaitOutcome::Abandoned`] (exactly one acquirer is told).
///
/// `Mutex` is `Send` and `Sync`; [`MutexGuard`] is neither `Send` nor `Sync` (it releases on the
/// owning thread).
#[derive(Debug)]
pub struct Mutex {
    inner: Arc<MutexInner>,
    rights: Rights,
}

/// Builder for [`Mutex::create`] and [`Mutex::open`] with every option.
#[derive(Debug, Clone, Default)]
pub struct MutexOptions {
    common: Common,
    initial_owner: bool,
}

handle::common_setters!(MutexOptions);

impl MutexOptions {
    /// The calling thread owns the new mutex (ignored if the name already exists).
    pub fn initial_owner(mut self, owner: bool) -> Self {
        self.initial_owner = owner;
        self
    }

    /// Creates the mutex, or opens the existing one of that name ([`Created::Existing`]; then
    /// `initial_owner` is ignored, as on Windows). `ERROR_INVALID_HANDLE` if another type holds
    /// the name.
    #[allow(unsafe_code)]
    pub fn create(self) -> Result<(Mutex, Created)> {
        let ctx = if self.initial_owner { Some(robust::ctx()?) } else { None };
        let init = page::mutex_init_bytes(ctx.as_ref().map_or(0, ThreadCtx::tid), u32::from(ctx.is_some()));
        // With an initial owner the word names this thread from the instant the object is
        // published. Just before that, the node in a private mapping of the unpublished file
        // becomes this thread's pending robust-list operation, so a death between publication
        // and `link_initial` is still seen by the kernel (it marks the word `OWNER_DIED`).
        // (An unnamed object is never published: nobody else can see it before we link.)
        let mut prelink: Option<SyncPage> = None;
        let result = {
            let mut register = |fd: rustix::fd::BorrowedFd<'_>| -> Result<()> {
                if let Some(c) = &ctx {
                    let page = SyncPage::map_mutex_fd(fd)?;
                    let node = page.addr(OFF_MUTEX_WORD) + c.node_off();
                    // SAFETY: `c` is this thread's context; the node lies in `page`'s private
                    // tail, which stays mapped until the pending entry is replaced or cleared.
                    unsafe { robust::set_pending(c, node) };
                    prelink = Some(page);
                }
                Ok(())
            };
            let hook: Option<crate::object::BeforeLink<'_>> = if ctx.is_some() { Some(&mut register) } else { None };
            handle::create(ObjectType::Mutex, &self.common, [0; 4], &init, hook).and_then(|(object, created)| {
                let inner = <MutexInner as handle::Inner>::from_object(object)?;
                Ok((Arc::new(inner), created))
            })
        };
        if let Some(ctx) = &ctx {
            match &result {
                // The word names us: record the ownership and link the handle's own node (this
                // replaces the pending entry, then links the node and clears it).
                Ok((inner, Created::New)) => inner.link_initial(ctx),
                // SAFETY: clearing this thread's pending entry is always sound.
                _ => unsafe { robust::set_pending(ctx, 0) },
            }
        }
        drop(prelink);
        let (inner, created) = result?;
        Ok((Mutex { inner, rights: Rights::MUTEX_ALL_ACCESS }, created))
    }

    /// Opens the existing mutex named by [`MutexOptions::name`] (`OpenMutex`).
    pub fn open(self) -> Result<Mutex> {
        let (object, rights) = handle::open(ObjectType::Mutex, &self.common, Rights::MUTEX_ALL_ACCESS)?;
        Ok(Mutex { inner: Arc::new(<MutexInner as handle::Inner>::from_object(object)?), rights })
    }

    /// [`MutexOptions::open`], waiting up to `timeout` for the name to appear (see
    /// [`Mutex::open_wait`]).
    pub fn open_wait(self, timeout: Duration) -> Result<Mutex> {
        crate::namespace::wait_for_name(timeout, || self.clone().open())
    }
}

impl MutexInner {
    /// Records the initial ownership of a mutex this thread just created owning, and links its
    /// node.
    #[allow(unsafe_code)]
    fn link_initial(&self, ctx: &ThreadCtx) {
        // A fresh mapping: nobody of ours holds its node.
        self.holder().store(ctx.tid(), Ordering::Relaxed);
        self.depth().store(1, Ordering::Relaxed);
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context and the new word holds our tid, so the node is
        // ours to link; it is in our private tail, mapped while we hold the node (MutexInner's Drop).
        unsafe {
            robust::set_pending(ctx, node);
            robust::enqueue(ctx, node);
            robust::set_pending(ctx, 0);
        }
    }
}

impl Mutex {
    /// A builder with every option.
    pub fn options() -> MutexOptions {
        MutexOptions::default()
    }

    /// Creates (or opens the existing) mutex `name` (`None`: unnamed); with `initial_owner` the
    /// calling thread owns a new mutex.
    ///
    /// Positional booleans read badly at the call site; the builder names each option.
    #[deprecated(note = "use `Mutex::options().name(..).initial_owner(..).create()`")]
    pub fn create(name: Option<&str>, initial_owner: bool) -> Result<(Mutex, Created)> {
        Mutex::options().name(name.unwrap_or("")).initial_owner(initial_owner).create()
    }

    /// Opens the existing mutex `name` with `rights` (`OpenMutex`). `ERROR_FILE_NOT_FOUND` if no
    /// live object has the name, `ERROR_INVALID_HANDLE` if another type holds it,
    /// `ERROR_ACCESS_DENIED` for rights a mutex does not have.
    pub fn open(name: &str, rights: Rights) -> Result<Mutex> {
        Mutex::options().name(name).rights(rights).open()
    }

    /// Waits for ownership (`WaitForSingleObject`): [`WaitOutcome::Signaled`]`(0)` (now owned, or
    /// one more level of recursion), [`WaitOutcome::Abandoned`]`(0)` (owned; the previous owner
    /// died holding it), or [`WaitOutcome::TimedOut`]. Needs `SYNCHRONIZE`.
    #[inline(always)]
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<WaitOutcome> {
        self.check(Rights::SYNCHRONIZE, "wait on")?;
        let ctx = robust::ctx()?;
        match self.inner.try_acquire_fast(&ctx)? {
            Some(false) => Ok(WaitOutcome::Signaled(0)),
            Some(true) => Ok(WaitOutcome::Abandoned(0)),
            None => self.acquire_slow(&ctx, timeout),
        }
    }

    /// [`Mutex::acquire`] without waiting and without error details, for faces that keep their
    /// own fast path (the Win32 C ABI): `Some` when the calling thread now owns the mutex (one
    /// more level if it already did; [`WaitOutcome::Abandoned`] if a dead owner left it), `None`
    /// when it is not available now *or* when this path cannot decide (no `SYNCHRONIZE`, the
    /// recursion limit, a thread without a robust list...). After `None`, call
    /// [`Mutex::acquire`]: it decides, waits and reports errors. Nothing changed on `None`.
    #[inline(always)]
    pub fn try_acquire_now(&self) -> Option<WaitOutcome> {
        if !self.rights.contains(Rights::SYNCHRONIZE) {
            return None;
        }
        let ctx = robust::ctx().ok()?;
        match self.inner.try_acquire_fast(&ctx) {
            Ok(Some(false)) => Some(WaitOutcome::Signaled(0)),
            Ok(Some(true)) => Some(WaitOutcome::Abandoned(0)),
            Ok(None) => None,
            Err(e) => {
                drop(e); // rare (recursion limit): `acquire` reports it
                None
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn acquire_slow(&self, ctx: &ThreadCtx, timeout: Option<Duration>) -> Result<WaitOutcome> {
        if HANDED_OFF.replace(0) == self.inner.word_addr {
            return super::wait::run_opts(&[self], false, timeout, true, None);
        }
        match super::wait::spin_one(timeout, || self.inner.try_acquire(ctx))? {
            Some(false) => Ok(WaitOutcome::Signaled(0)),
            Some(true) => Ok(WaitOutcome::Abandoned(0)),
            None => super::wait::run_opts(&[self], false, timeout, true, None),
        }
    }

    /// Releases one level of ownership (`ReleaseMutex`). `ERROR_NOT_OWNER` if the calling
    /// thread does not own it. Needs no particular right, as on Windows.
    #[inline(always)]
    pub fn release(&self) -> Result<()> {
        let ctx = robust::ctx()?;
        self.inner.release(&ctx)
    }

    /// [`Mutex::release`] without error details, for faces that keep their own fast path (the
    /// Win32 C ABI): true if one level of the calling thread's ownership was released; false if
    /// this path cannot decide (the caller does not own it, a thread without a robust list):
    /// then call [`Mutex::release`], which reports the error. Nothing changed on false.
    #[inline(always)]
    pub fn try_release_now(&self) -> bool {
        match robust::ctx() {
            Ok(ctx) => self.inner.release_if_owner(&ctx),
            Err(e) => {
                drop(e); // a thread without a robust list owns nothing: `release` reports it
                false
            }
        }
    }

    /// Acquires, waiting forever, and returns a guard that releases on drop.
    #[inline]
    pub fn lock(&self) -> Result<MutexGuard<'_>> {
        match self.acquire(None)? {
            WaitOutcome::Signaled(_) => Ok(MutexGuard { mutex: self, abandoned: false, _thread: PhantomData }),
            WaitOutcome::Abandoned(_) => Ok(MutexGuard { mutex: self, abandoned: true, _thread: PhantomData }),
            WaitOutcome::TimedOut => Err(Error::new(
                Win32Error::TIMEOUT,
                format!("waiting for {} forever timed out", self.inner.object.describe()),
            )),
        }
    }

    /// Acquires if that is possible within `timeout`; `Ok(None)` on timeout.
    pub fn try_lock_for(&self, timeout: Duration) -> Result<Option<MutexGuard<'_>>> {
        Ok(match self.acquire(Some(timeout))? {
            WaitOutcome::Signaled(_) => Some(MutexGuard { mutex: self, abandoned: false, _thread: PhantomData }),
            WaitOutcome::Abandoned(_) => Some(MutexGuard { mutex: self, abandoned: true, _thread: PhantomData }),
            WaitOutcome::TimedOut => None,
        })
    }

    /// The mutex's current state (owner thread, recursion, abandoned).
    pub fn state(&self) -> SyncState {
        let w = self.inner.word().load(Ordering::Acquire);
        let owner = w & TID_MASK;
        SyncState::Mutex {
            owner_tid: (owner != 0).then_some(owner),
            recursion: if owner != 0 { self.inner.count_mirror().load(Ordering::Relaxed) } else { 0 },
            abandoned: owner == 0 && w & OWNER_DIED != 0,
        }
    }

    /// A cheap hint, for a wait's first pass over many objects: true if the mutex looks free
    /// (one relaxed load of its word and a compare; nothing changes). A mutex the calling
    /// thread owns looks not free here, although a wait would take it again (recursion): ask
    /// [`Mutex::is_owned_by_current_thread`] for that. A wait still decides. Needs no right.
    #[inline]
    pub fn looks_signaled(&self) -> bool {
        self.probe().looks_signaled()
    }

    /// The probe behind [`Mutex::looks_signaled`], to keep next to the handle (it borrows the
    /// handle's mapping of the mutex).
    #[inline]
    pub fn probe(&self) -> super::Probe<'_> {
        super::Probe::mutex(self.inner.word())
    }

    /// True if the calling thread owns it.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.inner.owned_by_me()
    }
}

handle_methods!(Mutex, ObjectType::Mutex, Rights::MUTEX_ALL_ACCESS);

impl super::wait::Waitable for Mutex {}

impl sealed::Sealed for Mutex {
    fn target(&self) -> Result<Target<'_>> {
        self.check(Rights::SYNCHRONIZE, "wait on")?;
        Ok(Target::Mutex(&self.inner))
    }

    #[inline]
    fn wait_probe(&self) -> Option<super::Probe<'_>> {
        self.rights().contains(Rights::SYNCHRONIZE).then(|| self.probe())
    }
}

/// Ownership of a [`Mutex`] by the current thread; dropping it releases one level.
#[derive(Debug)]
#[must_use = "dropping the guard releases the mutex at once"]
pub struct MutexGuard<'a> {
    mutex: &'a Mutex,
    abandoned: bool,
    _thread: PhantomData<*const ()>,
}

impl MutexGuard<'_> {
    /// True if the previous owner died holding the mutex (`WAIT_ABANDONED`): the data it
    /// protects may be inconsistent.
    pub fn abandoned(&self) -> bool {
        self.abandoned
    }
}

impl Drop for MutexGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let _ = self.mutex.release();
    }
}
