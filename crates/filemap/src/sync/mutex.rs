//! Named mutexes: thread-owned, recursive, abandonment-aware (robust futex list).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result, Win32Error};
use crate::object::{Created, ObjectFile, ObjectType};
use crate::sys::futex as sysfutex;

use super::handle::{self, Common, handle_methods};
use super::page::{self, OFF_MUTEX_COUNT, OFF_MUTEX_COUNTS, OFF_MUTEX_WORD, SyncPage};
use super::robust::{self, ThreadCtx};
use super::state::{self, MutexTry, OWNER_DIED, TID_MASK, WAITERS};
use super::wait::{Target, sealed};
use super::{Rights, SyncState, WaitOutcome};

/// A mutex object, shared by every handle of it in this process.
///
/// Ownership is recorded in **private** memory: the owning thread's list of owned mutexes
/// ([`OWNED`]) and the `node_holder` of the mapping whose robust-list node it linked. The shared
/// word tells other processes who owns it and lets the kernel report a death; nothing read from
/// it decides what this process writes where (a forged word can make this process wait or see
/// the mutex free, never link, unlink or release a node it did not link).
#[derive(Debug)]
pub struct MutexInner {
    pub(crate) object: ObjectFile,
    /// The shared page plus the private tail holding this mapping's robust-list node (kept
    /// mapped; reached through `word_addr`).
    _page: SyncPage,
    /// Address of the mutex word in `page` (cached: the hot paths skip the bounds checks).
    word_addr: usize,
    /// The thread of this process whose robust list holds this mapping's node (0: none).
    /// Private; guards the node against being linked twice, whatever the shared word says.
    node_holder: AtomicU32,
}

impl handle::Inner for MutexInner {
    fn object(&self) -> &ObjectFile {
        &self.object
    }
    fn from_object(object: ObjectFile) -> Result<Self> {
        let page = SyncPage::map_mutex(&object)?;
        let word_addr = page.u32(OFF_MUTEX_WORD) as *const AtomicU32 as usize;
        debug_assert_eq!(page.u32(OFF_MUTEX_COUNT) as *const AtomicU32 as usize, word_addr + 4);
        Ok(MutexInner { object, _page: page, word_addr, node_holder: AtomicU32::new(0) })
    }
}

/// One mutex the current thread owns: the mapping whose node it linked, and the recursion.
#[derive(Debug)]
struct Owned {
    inner: Arc<MutexInner>,
    depth: u32,
}

/// The mutexes this thread owns, most recent last. When the thread exits owning some, its
/// thread-local destructor abandons them exactly as the kernel's robust-list walk would (word
/// marked `OWNER_DIED`, sleepers woken), unlinks their nodes and clears their `node_holder`, so
/// other threads of this process can take them through the same mapping. (A process that dies
/// runs no destructor: the kernel does it all.)
struct OwnedList(Vec<Owned>);

impl Drop for OwnedList {
    fn drop(&mut self) {
        let Ok(ctx) = robust::ctx() else {
            // Never registered a context, so never linked anything: nothing to unlink.
            return;
        };
        while let Some(rec) = self.0.pop() {
            rec.inner.abandon(&ctx);
        }
    }
}

thread_local! {
    static OWNED: RefCell<OwnedList> = const { RefCell::new(OwnedList(Vec::new())) };
}

/// In a forked child: the records inherited from the parent's thread describe the parent's
/// ownership (the child's robust list is empty and its thread id new). Forget them.
pub(super) fn forget_inherited_ownership() {
    let _ = OWNED.try_with(|o| {
        if let Ok(mut list) = o.try_borrow_mut() {
            for rec in list.0.drain(..) {
                std::mem::forget(rec.inner);
            }
        }
    });
}

/// Index of the record for the object of `inner` in this thread's list.
#[inline(always)]
fn find(list: &[Owned], inner: &MutexInner) -> Option<usize> {
    if list.is_empty() {
        return None;
    }
    let ptr = inner as *const MutexInner;
    if let Some(i) = list.iter().rposition(|o| Arc::as_ptr(&o.inner) == ptr) {
        return Some(i);
    }
    let id = inner.object.id();
    list.iter().rposition(|o| o.inner.object.id() == id)
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

    /// The shared mirror of the recursion count (written for queries, never read back here).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn count_mirror(&self) -> &AtomicU32 {
        // SAFETY: as in `word`: the count sits right after the word (OFF_MUTEX_COUNT = +4).
        unsafe { &*((self.word_addr + 4) as *const AtomicU32) }
    }

    /// This mapping's robust-list node: in the private tail, `node_off` after the word.
    #[inline(always)]
    fn node(&self, ctx: &ThreadCtx) -> usize {
        self.word_addr + ctx.node_off()
    }

    /// True if the calling thread owns the mutex (by its private records).
    pub(crate) fn owned_by_me(&self) -> bool {
        OWNED.with(|o| find(&o.borrow().0, self).is_some())
    }

    pub(crate) fn looks_available(&self) -> bool {
        self.word().load(Ordering::Relaxed) & TID_MASK == 0 || self.owned_by_me()
    }

    /// Tries to acquire for the calling thread: `Some(abandoned)` on success (recursion counts).
    #[inline(always)]
    pub(crate) fn try_acquire(self: &Arc<Self>, ctx: &ThreadCtx) -> Result<Option<bool>> {
        if let Some(r) = self.try_recurse() {
            return r;
        }
        if self.word().load(Ordering::Relaxed) & TID_MASK != 0 {
            return Ok(None);
        }
        Ok(self.try_lock_word(ctx, |word, me| match state::mutex_try_acquire(word, me) {
            MutexTry::Acquired { abandoned } => Some(abandoned),
            // The word names us but we hold no record of owning it: forged, or left by a thread
            // of ours that died (the kernel marks those). Not ours to take.
            MutexTry::Recursive | MutexTry::Busy(_) => None,
        }))
    }

    /// The uncontended fast path: a CAS first (no load), then the careful path.
    #[inline(always)]
    pub(crate) fn try_acquire_fast(self: &Arc<Self>, ctx: &ThreadCtx) -> Result<Option<bool>> {
        if let Some(r) = self.try_recurse() {
            return r;
        }
        let got = self.try_lock_word(ctx, |word, me| {
            word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok().then_some(false)
        });
        if got.is_some() {
            return Ok(got);
        }
        self.try_acquire(ctx)
    }

    /// If this thread already owns it: one more level (`Some`), else `None`.
    #[inline(always)]
    fn try_recurse(&self) -> Option<Result<Option<bool>>> {
        OWNED.with(|o| {
            let mut list = o.borrow_mut();
            let i = find(&list.0, self)?;
            let rec = &mut list.0[i];
            if rec.depth >= i32::MAX as u32 {
                return Some(Err(Error::new(
                    Win32Error::INVALID_PARAMETER,
                    format!("cannot acquire {}: recursion limit ({}) reached", self.object.describe(), rec.depth),
                )));
            }
            rec.depth += 1;
            rec.inner.count_mirror().store(rec.depth, Ordering::Relaxed);
            Some(Ok(Some(false)))
        })
    }

    /// Takes the word with `take` (which returns `Some(abandoned)` when the word is now ours)
    /// under the robust-list protocol, and records the ownership.
    #[allow(unsafe_code)]
    #[inline(always)]
    fn try_lock_word(
        self: &Arc<Self>,
        ctx: &ThreadCtx,
        take: impl FnOnce(&AtomicU32, u32) -> Option<bool>,
    ) -> Option<bool> {
        let me = ctx.tid();
        // Our node may be linked by another thread of ours that owns the mutex through this
        // mapping (then the word cannot be free unless forged): the node is never linked twice.
        if self.node_holder.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context (from `robust::ctx` on this thread); the node is
        // in our private tail, which stays mapped while linked (the record below holds an Arc).
        unsafe { robust::set_pending(ctx, node) };
        let got = take(self.word(), me);
        match got {
            Some(_) => {
                // SAFETY: as above; we hold `node_holder`, so the node is not linked anywhere.
                unsafe {
                    robust::enqueue(ctx, node);
                    robust::set_pending(ctx, 0);
                }
                self.count_mirror().store(1, Ordering::Relaxed);
                OWNED.with(|o| o.borrow_mut().0.push(Owned { inner: self.clone(), depth: 1 }));
            }
            None => {
                // SAFETY: as above.
                unsafe { robust::set_pending(ctx, 0) };
                self.node_holder.store(0, Ordering::Release);
            }
        }
        got
    }

    /// Releases one level of the calling thread's ownership.
    #[inline(always)]
    fn release(&self, ctx: &ThreadCtx) -> Result<()> {
        let rec = OWNED.with(|o| {
            let mut list = o.borrow_mut();
            let i = find(&list.0, self)?;
            let rec = &mut list.0[i];
            if rec.depth > 1 {
                rec.depth -= 1;
                rec.inner.count_mirror().store(rec.depth, Ordering::Relaxed);
                return Some(None);
            }
            Some(Some(list.0.remove(i)))
        });
        match rec {
            None => Err(self.not_owner()),
            Some(None) => Ok(()),
            Some(Some(rec)) => {
                rec.inner.unlock(ctx, 0);
                Ok(())
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn not_owner(&self) -> Error {
        Error::new(
            Win32Error::NOT_OWNER,
            format!("cannot release {}: the calling thread does not own it", self.object.describe()),
        )
    }

    /// Unlinks our node (its record was just removed) and stores `free` (0, or OWNER_DIED to
    /// keep an abandonment unreported) in the word; then, if anybody waits, hands it off.
    #[allow(unsafe_code)]
    #[inline(always)]
    fn unlock(&self, ctx: &ThreadCtx, free: u32) {
        let node = self.node(ctx);
        let word = self.word();
        self.count_mirror().store(0, Ordering::Relaxed);
        // SAFETY: the record we removed says this thread linked this mapping's node (we hold
        // `node_holder`), so it is linked in this thread's list; `ctx` is this thread's.
        let old = unsafe {
            robust::set_pending(ctx, node);
            robust::dequeue(ctx, node);
            self.node_holder.store(0, Ordering::Release);
            let old = word.swap(free, Ordering::Release);
            robust::set_pending(ctx, 0);
            old
        };
        if old & WAITERS != 0 {
            self.release_slow();
        }
    }

    /// A release that found `WAITERS`: wake the unqueued sleepers, hand the mutex to the
    /// oldest queued waiter.
    #[cold]
    #[inline(never)]
    pub(crate) fn release_slow(&self) {
        let counts = self.counts().fetch_add(0, Ordering::AcqRel);
        if counts & (state::Q_ONE - 1) != 0 {
            sysfutex::wake_all(self.word());
        }
        if counts >= state::Q_ONE {
            self.hand_off();
        }
    }

    fn counts(&self) -> &AtomicU32 {
        self._page.u32(OFF_MUTEX_COUNTS)
    }

    /// The wait queue.
    pub(crate) fn queue(&self) -> state::Queue<'_, AtomicU32> {
        self._page.queue(OFF_MUTEX_COUNTS)
    }

    /// The futex word of queue slot `slot`.
    pub(crate) fn slot_word(&self, slot: usize) -> &AtomicU32 {
        self._page.queue_word(slot)
    }

    /// If the mutex is free, gives it to the oldest queued waiter (its word then names that
    /// waiter's thread, with `WAITERS`; `OWNER_DIED` becomes the grant's abandoned flag). If
    /// somebody else took it first, makes sure its release will come back here.
    pub(crate) fn hand_off(&self) {
        let word = self.word();
        let q = self.queue();
        let granted = state::hand_off(
            &q,
            1,
            |tid| {
                let mut w = word.load(Ordering::Acquire);
                loop {
                    if w & TID_MASK != 0 {
                        return None;
                    }
                    match word.compare_exchange(w, (tid & TID_MASK) | WAITERS, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => return Some(w & OWNER_DIED != 0),
                        Err(now) => w = now,
                    }
                }
            },
            // The waiter left: the word is ours to free again (nobody else writes a word naming
            // a thread that has no record of owning it, except a forger).
            |_tid, abandoned| {
                word.swap(WAITERS | if abandoned { OWNER_DIED } else { 0 }, Ordering::AcqRel);
            },
            |slot| sysfutex::wake_all(q.word(slot)),
        );
        if granted == 0 {
            let w = word.load(Ordering::Relaxed);
            if w & TID_MASK != 0 && w & WAITERS == 0 {
                word.fetch_or(WAITERS, Ordering::AcqRel);
            }
        }
    }

    /// Takes the grant in our queue place `p`: the mutex is then ours (`Some(abandoned)`),
    /// linked in our robust list under the pending-operation protocol (a death between taking
    /// the grant and linking is seen by the kernel: the word already names us).
    #[allow(unsafe_code)]
    pub(crate) fn take_grant(self: &Arc<Self>, ctx: &ThreadCtx, p: state::Place) -> Option<bool> {
        let q = self.queue();
        if !q.granted(p) {
            return None;
        }
        if self.try_recurse_check().is_some() {
            // We already own it (through a record): a forged grant. Not ours to take twice.
            return None;
        }
        let me = ctx.tid();
        if self.node_holder.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context; the node is in our private tail (mapped while
        // the record below holds an Arc) and not linked (we hold `node_holder`).
        unsafe { robust::set_pending(ctx, node) };
        let got = q.take_grant(p);
        match got {
            Some(_) => {
                // SAFETY: as above.
                unsafe {
                    robust::enqueue(ctx, node);
                    robust::set_pending(ctx, 0);
                }
                self.count_mirror().store(1, Ordering::Relaxed);
                OWNED.with(|o| o.borrow_mut().0.push(Owned { inner: self.clone(), depth: 1 }));
            }
            None => {
                // SAFETY: as above.
                unsafe { robust::set_pending(ctx, 0) };
                self.node_holder.store(0, Ordering::Release);
            }
        }
        got
    }

    fn try_recurse_check(&self) -> Option<()> {
        OWNED.with(|o| find(&o.borrow().0, self).map(|_| ()))
    }

    /// A grant we took but do not want (a wait-any satisfied by another object): release it.
    pub(crate) fn pass_on_grant(&self, ctx: &ThreadCtx) {
        let _ = self.release(ctx);
    }

    /// Revokes the grant in `slot` (seen as `seen`) of a waiter that did not come for it; if we
    /// win it, the mutex is freed (abandoned if the waiter is known dead) and handed on.
    pub(crate) fn revoke(&self, slot: usize, seen: u32, dead: bool) {
        let q = self.queue();
        if !q.revoke(slot, seen) {
            return;
        }
        let tid = q.tid(slot) & TID_MASK;
        let word = self.word();
        let mut w = word.load(Ordering::Acquire);
        // Free the word if it still names the grantee (it never linked it).
        while w & TID_MASK == tid {
            let free = WAITERS | if dead || seen & state::Q_STATE == state::Q_GRANTED_AB { OWNER_DIED } else { 0 };
            match word.compare_exchange(w, free, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        self.hand_off();
    }

    /// Undoes an acquisition made by a failed `wait_all` attempt, exactly.
    pub(crate) fn undo_acquire(&self, ctx: &ThreadCtx, abandoned: bool, recursive: bool) {
        if recursive {
            let _ = self.release(ctx);
            return;
        }
        let rec = OWNED.with(|o| {
            let mut list = o.borrow_mut();
            find(&list.0, self).map(|i| list.0.remove(i))
        });
        if let Some(rec) = rec {
            rec.inner.unlock(ctx, if abandoned { OWNER_DIED } else { 0 });
        }
    }

    /// The owning thread is exiting: unlink our node and mark the word as the kernel marks a
    /// dead owner's (`OWNER_DIED`, keeping `WAITERS`), then wake the sleepers.
    #[allow(unsafe_code)]
    fn abandon(&self, ctx: &ThreadCtx) {
        let node = self.node(ctx);
        let word = self.word();
        // SAFETY: called for a record of this thread's list: it linked this mapping's node.
        unsafe {
            robust::set_pending(ctx, node);
            robust::dequeue(ctx, node);
        }
        let mut w = word.load(Ordering::Relaxed);
        while w & TID_MASK == ctx.tid() {
            match word.compare_exchange(w, (w & WAITERS) | OWNER_DIED, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        self.node_holder.store(0, Ordering::Release);
        // SAFETY: clearing this thread's pending entry is always sound.
        unsafe { robust::set_pending(ctx, 0) };
        self.count_mirror().store(0, Ordering::Relaxed);
        sysfutex::wake_all(word);
    }

    /// Registers an unqueued sleeper on the word; the value to sleep on, or `None` to retry at
    /// once (nothing registered). Undo with [`MutexInner::unregister`] after sleeping.
    pub(crate) fn register(&self) -> Option<u32> {
        self.counts().fetch_add(1, Ordering::AcqRel);
        let w = self.word().load(Ordering::Relaxed);
        let r = state::mutex_mark_waiting(self.word(), w);
        if r.is_none() {
            self.counts().fetch_sub(1, Ordering::AcqRel);
        }
        r
    }

    /// Undoes [`MutexInner::register`], and hands a wake-up on if we did not use it.
    pub(crate) fn unregister(&self) {
        self.counts().fetch_sub(1, Ordering::AcqRel);
        self.pass_on();
    }

    /// Makes sure a release will look at the queue: sets `WAITERS` on an owned word. If the
    /// word is free, hands it off instead (a queued waiter found it free: the owner died, or a
    /// release raced our arrival). Returns the word value to sleep on (owned, marked).
    pub(crate) fn mark_for_queue(&self) -> Option<u32> {
        let word = self.word();
        let mut w = word.load(Ordering::Acquire);
        loop {
            if w & TID_MASK == 0 {
                self.hand_off();
                return None;
            }
            if w & WAITERS != 0 {
                return Some(w);
            }
            match word.compare_exchange(w, w | WAITERS, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(w | WAITERS),
                Err(now) => w = now,
            }
        }
    }

    /// After sleeping: if the word is free but marked (the kernel wakes one sleeper when an
    /// owner dies, and that may have been us), run the release's slow path for it.
    pub(crate) fn pass_on(&self) {
        let w = self.word().load(Ordering::Acquire);
        if w & TID_MASK == 0 && w & WAITERS != 0 {
            self.release_slow();
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
        let Some(name) = self.common.name.as_deref() else {
            return Err(Error::new(Win32Error::INVALID_PARAMETER, "cannot open a mutex without a name"));
        };
        let requested = self.common.rights.unwrap_or(Rights::MUTEX_ALL_ACCESS);
        let (object, rights) = handle::open(ObjectType::Mutex, name, requested, self.common.inheritable)?;
        Ok(Mutex { inner: Arc::new(<MutexInner as handle::Inner>::from_object(object)?), rights })
    }
}

impl MutexInner {
    /// Records the initial ownership of a mutex this thread just created owning, and links its
    /// node.
    #[allow(unsafe_code)]
    fn link_initial(self: &Arc<Self>, ctx: &ThreadCtx) {
        // A fresh mapping: nobody of ours holds its node.
        self.node_holder.store(ctx.tid(), Ordering::Relaxed);
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context and the new word holds our tid, so the node is
        // ours to link; it is in our private tail, mapped while the record below holds an Arc.
        unsafe {
            robust::set_pending(ctx, node);
            robust::enqueue(ctx, node);
            robust::set_pending(ctx, 0);
        }
        OWNED.with(|o| o.borrow_mut().0.push(Owned { inner: self.clone(), depth: 1 }));
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
            recursion: if owner != 0 { self.inner.count_mirror().load(Ordering::Relaxed) } else { 0 },
            abandoned: owner == 0 && w & OWNER_DIED != 0,
        }
    }

    /// True if the calling thread owns it.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.inner.owned_by_me()
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
