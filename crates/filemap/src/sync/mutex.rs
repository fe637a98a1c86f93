//! Named mutexes: thread-owned, recursive, abandonment-aware (robust futex list).

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result, Win32Error};
use crate::object::{Created, ObjectFile, ObjectType};
use crate::sys::futex as sysfutex;

use super::handle::{self, Common, handle_methods};
use super::page::{self, OFF_COUNT, OFF_WORD, SyncPage};
use super::robust::{self, ThreadCtx};
use super::state::{self, MutexTry, OWNER_DIED, TID_MASK, WAITERS};
use super::wait::{Target, sealed};
use super::{Rights, SyncState, WaitOutcome};

/// A mutex object, shared by every handle of it in this process.
#[derive(Debug)]
pub struct MutexInner {
    pub(crate) object: ObjectFile,
    page: ManuallyDrop<SyncPage>,
    /// Address of the mutex word in `page` (cached: the hot paths skip the bounds checks).
    word_addr: usize,
}

impl handle::Inner for MutexInner {
    fn object(&self) -> &ObjectFile {
        &self.object
    }
    fn from_object(object: ObjectFile) -> Result<Self> {
        let page = SyncPage::map(&object)?;
        let word_addr = page.u32(OFF_WORD) as *const AtomicU32 as usize;
        debug_assert_eq!(page.u32(OFF_COUNT) as *const AtomicU32 as usize, word_addr + 4);
        Ok(MutexInner { object, page: ManuallyDrop::new(page), word_addr })
    }
}

impl Drop for MutexInner {
    fn drop(&mut self) {
        let owner = self.word().load(Ordering::Relaxed) & TID_MASK;
        // SAFETY: `page` is taken exactly once, here, and not used afterwards.
        #[allow(unsafe_code)]
        let page = unsafe { ManuallyDrop::take(&mut self.page) };
        if sysfutex::thread_of_this_process(owner) {
            // A thread of ours still owns it (ownership is per thread, not per handle): its
            // robust-list node lives in this page, which must stay mapped while it is linked.
            page.leak();
        }
    }
}

impl MutexInner {
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) fn word(&self) -> &AtomicU32 {
        // SAFETY: `word_addr` is the 4-aligned mutex word inside `self.page` (checked by
        // `SyncPage::u32` at construction), mapped as long as `self` lives; the memory is only
        // accessed atomically, by every process.
        unsafe { &*(self.word_addr as *const AtomicU32) }
    }

    #[inline(always)]
    #[allow(unsafe_code)]
    fn count(&self) -> &AtomicU32 {
        // SAFETY: as in `word`: the count sits right after the word (OFF_COUNT = OFF_WORD + 4).
        unsafe { &*((self.word_addr + 4) as *const AtomicU32) }
    }

    #[inline(always)]
    fn node(&self, ctx: &ThreadCtx) -> usize {
        self.word_addr + ctx.node_off()
    }

    #[inline(always)]
    pub(crate) fn owned_by(&self, ctx: &ThreadCtx) -> bool {
        self.word().load(Ordering::Relaxed) & TID_MASK == ctx.tid()
    }

    pub(crate) fn looks_available(&self, ctx: Option<&ThreadCtx>) -> bool {
        let owner = self.word().load(Ordering::Relaxed) & TID_MASK;
        owner == 0 || ctx.is_some_and(|c| c.tid() == owner)
    }

    /// Tries to acquire for the calling thread: `Some(abandoned)` on success (recursion counts).
    #[allow(unsafe_code)]
    #[inline(always)]
    pub(crate) fn try_acquire(&self, ctx: &ThreadCtx) -> Result<Option<bool>> {
        let word = self.word();
        let w = word.load(Ordering::Relaxed);
        let owner = w & TID_MASK;
        if owner == ctx.tid() {
            return self.recurse();
        }
        if owner != 0 {
            return Ok(None);
        }
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context (from `robust::ctx` on this thread); the node
        // is inside our page, which stays mapped while linked (see `Drop`).
        unsafe { robust::set_pending(ctx, node) };
        let got = state::mutex_try_acquire(word, ctx.tid());
        match got {
            MutexTry::Acquired { abandoned } => {
                self.count().store(1, Ordering::Relaxed);
                // SAFETY: as above; we own the word now, so the node is ours to link.
                unsafe {
                    robust::enqueue(ctx, node);
                    robust::set_pending(ctx, 0);
                }
                Ok(Some(abandoned))
            }
            MutexTry::Recursive => {
                // SAFETY: as above.
                unsafe { robust::set_pending(ctx, 0) };
                self.recurse()
            }
            MutexTry::Busy(_) => {
                // SAFETY: as above.
                unsafe { robust::set_pending(ctx, 0) };
                Ok(None)
            }
        }
    }

    /// The uncontended fast path: a CAS first (no load), then the careful path.
    #[allow(unsafe_code)]
    #[inline(always)]
    pub(crate) fn try_acquire_fast(&self, ctx: &ThreadCtx) -> Result<Option<bool>> {
        let node = self.node(ctx);
        // SAFETY: as in `try_acquire`.
        unsafe { robust::set_pending(ctx, node) };
        if self.word().compare_exchange(0, ctx.tid(), Ordering::Acquire, Ordering::Relaxed).is_ok() {
            self.count().store(1, Ordering::Relaxed);
            // SAFETY: as in `try_acquire`.
            unsafe {
                robust::enqueue(ctx, node);
                robust::set_pending(ctx, 0);
            }
            return Ok(Some(false));
        }
        // SAFETY: as in `try_acquire`.
        unsafe { robust::set_pending(ctx, 0) };
        self.try_acquire(ctx)
    }

    fn recurse(&self) -> Result<Option<bool>> {
        let c = self.count().load(Ordering::Relaxed);
        if c >= i32::MAX as u32 {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot acquire {}: recursion limit ({c}) reached", self.object.describe()),
            ));
        }
        self.count().store(c + 1, Ordering::Relaxed);
        Ok(Some(false))
    }

    /// Releases one level of the calling thread's ownership.
    #[inline(always)]
    fn release(&self, ctx: &ThreadCtx) -> Result<()> {
        if !self.owned_by(ctx) {
            return Err(self.not_owner());
        }
        let c = self.count().load(Ordering::Relaxed);
        if c > 1 {
            self.count().store(c - 1, Ordering::Relaxed);
            return Ok(());
        }
        self.unlock(ctx, 0);
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn not_owner(&self) -> Error {
        Error::new(
            Win32Error::NOT_OWNER,
            format!("cannot release {}: the calling thread does not own it", self.object.describe()),
        )
    }

    /// Unlinks the node and stores `free` (0, or OWNER_DIED to keep an abandonment unreported).
    #[allow(unsafe_code)]
    #[inline(always)]
    fn unlock(&self, ctx: &ThreadCtx, free: u32) {
        // The count is meaningless while the word is free (every acquisition rewrites it).
        let node = self.node(ctx);
        let word = self.word();
        // SAFETY: this thread owns the word, so its node is linked in this thread's list.
        let wake = unsafe {
            robust::set_pending(ctx, node);
            robust::dequeue(ctx, node);
            let wake =
                if free == 0 { state::mutex_release(word) } else { word.swap(free, Ordering::Release) & WAITERS != 0 };
            robust::set_pending(ctx, 0);
            wake
        };
        if wake {
            wake_cold(word);
        }
    }

    /// Undoes an acquisition made by a failed `wait_all` attempt, exactly.
    pub(crate) fn undo_acquire(&self, ctx: &ThreadCtx, abandoned: bool, recursive: bool) {
        if recursive {
            let c = self.count().load(Ordering::Relaxed);
            self.count().store(c.saturating_sub(1), Ordering::Relaxed);
        } else {
            self.unlock(ctx, if abandoned { OWNER_DIED } else { 0 });
        }
    }

    /// Marks a sleeper; the value to sleep on, or `None` to retry at once.
    pub(crate) fn register(&self) -> Option<u32> {
        let w = self.word().load(Ordering::Relaxed);
        state::mutex_mark_waiting(self.word(), w)
    }

    /// After sleeping: hand a wake-up on to the others if we did not use it.
    pub(crate) fn pass_on(&self) {
        if state::mutex_pass_on(self.word()) {
            sysfutex::wake_all(self.word());
        }
    }
}

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
        let init = match &ctx {
            Some(c) => page::init_bytes(c.tid(), 1, 0),
            None => page::init_bytes(0, 0, 0),
        };
        // With an initial owner the word names this thread from the instant the object is
        // published. Just before that, the node in a private mapping of the unpublished file
        // becomes this thread's pending robust-list operation, so a death between publication
        // and `link_initial` is still seen by the kernel (it marks the word `OWNER_DIED`).
        let mut prelink: Option<SyncPage> = None;
        let result = {
            let mut register = |fd: rustix::fd::BorrowedFd<'_>| -> Result<()> {
                if let Some(c) = &ctx {
                    let page = SyncPage::map_fd(fd)?;
                    let node = page.addr(OFF_WORD) + c.node_off();
                    // SAFETY: `c` is this thread's context; the node lies in `page`, which
                    // stays mapped until the pending entry is replaced or cleared below.
                    unsafe { robust::set_pending(c, node) };
                    prelink = Some(page);
                }
                Ok(())
            };
            let hook: Option<crate::object::BeforeLink<'_>> = if ctx.is_some() { Some(&mut register) } else { None };
            handle::create(ObjectType::Mutex, &self.common, [0; 4], &init, hook).and_then(|(object, created)| {
                let inner = <MutexInner as handle::Inner>::from_object(object)?;
                Ok((inner, created))
            })
        };
        if let Some(ctx) = &ctx
            && prelink.is_some()
        {
            match &result {
                // The word names us: move the registration to the handle's own page (this
                // replaces the pending entry, then links the node and clears it).
                Ok((inner, Created::New)) => link_initial(ctx, inner.node(ctx)),
                // SAFETY: clearing this thread's pending entry is always sound.
                _ => unsafe { robust::set_pending(ctx, 0) },
            }
        }
        drop(prelink);
        let (inner, created) = result?;
        Ok((Mutex { inner: Arc::new(inner), rights: Rights::MUTEX_ALL_ACCESS }, created))
    }

    /// Opens the existing mutex named by [`MutexOptions::name`] (`OpenMutex`).
    pub fn open(self) -> Result<Mutex> {
        let Some(name) = self.common.name.as_deref() else {
            return Err(Error::new(Win32Error::INVALID_PARAMETER, "cannot open a mutex without a name"));
        };
        let requested = self.common.rights.unwrap_or(Rights::MUTEX_ALL_ACCESS);
        let (object, rights) = handle::open(ObjectType::Mutex, name, requested, self.common.inheritable)?;
        Ok(Mutex { inner: Arc::new(<MutexInner as handle::Inner>::from_object(object)?), rights })
    }
}

#[cold]
#[inline(never)]
fn wake_cold(word: &AtomicU32) {
    sysfutex::wake_all(word);
}

#[allow(unsafe_code)]
fn link_initial(ctx: &ThreadCtx, node: usize) {
    // SAFETY: `ctx` is this thread's context and the word holds our tid, so the node is ours;
    // the page stays mapped while we own the mutex (MutexInner's Drop).
    unsafe {
        robust::set_pending(ctx, node);
        robust::enqueue(ctx, node);
        robust::set_pending(ctx, 0);
    }
}

impl Mutex {
    /// A builder with every option.
    pub fn options() -> MutexOptions {
        MutexOptions::default()
    }

    /// Creates (or opens the existing) mutex `name` (`None`: unnamed); with `initial_owner` the
    /// calling thread owns a new mutex.
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
    #[inline]
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<WaitOutcome> {
        self.check(Rights::SYNCHRONIZE, "wait on")?;
        let ctx = robust::ctx()?;
        match self.inner.try_acquire_fast(&ctx)? {
            Some(false) => Ok(WaitOutcome::Signaled(0)),
            Some(true) => Ok(WaitOutcome::Abandoned(0)),
            None => self.acquire_slow(&ctx, timeout),
        }
    }

    #[cold]
    #[inline(never)]
    fn acquire_slow(&self, ctx: &ThreadCtx, timeout: Option<Duration>) -> Result<WaitOutcome> {
        match super::wait::spin_one(timeout, || self.inner.try_acquire(ctx))? {
            Some(false) => Ok(WaitOutcome::Signaled(0)),
            Some(true) => Ok(WaitOutcome::Abandoned(0)),
            None => super::wait::run_opts(&[self], false, timeout, true, None),
        }
    }

    /// Releases one level of ownership (`ReleaseMutex`). `ERROR_NOT_OWNER` if the calling
    /// thread does not own it. Needs no particular right, as on Windows.
    #[inline]
    pub fn release(&self) -> Result<()> {
        let ctx = robust::ctx()?;
        self.inner.release(&ctx)
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
            recursion: if owner != 0 { self.inner.count().load(Ordering::Relaxed) } else { 0 },
            abandoned: owner == 0 && w & OWNER_DIED != 0,
        }
    }

    /// True if the calling thread owns it.
    pub fn is_owned_by_current_thread(&self) -> bool {
        robust::ctx().is_ok_and(|c| self.inner.owned_by(&c))
    }
}

handle_methods!(Mutex, ObjectType::Mutex, Rights::MUTEX_ALL_ACCESS);

impl sealed::Sealed for Mutex {
    fn target(&self) -> Result<Target<'_>> {
        self.check(Rights::SYNCHRONIZE, "wait on")?;
        Ok(Target::Mutex(&self.inner))
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
