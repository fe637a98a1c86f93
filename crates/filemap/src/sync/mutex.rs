//! Named mutexes: thread-owned, recursive, abandonment-aware (robust futex list).

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result, Win32Error};
use crate::object::ObjectFile;
use crate::sys::futex as sysfutex;

use super::handle::{self};
use super::page::{
    OFF_MUTEX_COUNT, OFF_MUTEX_COUNTS, OFF_MUTEX_FENCE, OFF_MUTEX_WORD, OFF_QUEUE, OFF_QUEUE_SLOTS, SyncPage,
};
use super::robust::{self, ThreadCtx};
use super::state::{self, MutexTry, OWNER_DIED, TID_MASK, WAITERS};

/// A mutex object, shared by every handle of it in this process.
///
/// Ownership is recorded in **private** memory: the mapping's private tail holds which thread
/// of ours has this mapping's robust-list node linked (the holder, = the owner) and its
/// recursion depth; a process-wide registry of mappings ([`MAPPINGS`]) finds the owning mapping
/// when a thread acquires or releases through another handle of the same object. The shared
/// word tells other processes who owns it and lets the kernel report a death; nothing read from
/// it decides what this process writes where (a forged word can make this process wait or see
/// the mutex free, never link, unlink or release a node it did not link).
#[derive(Debug)]
pub struct MutexInner {
    pub(crate) object: ObjectFile,
    /// The shared page plus the private tail holding this mapping's robust-list node and its
    /// holder. Leaked on drop while a thread of ours holds the node (an owner's record points
    /// into it).
    pub(super) page: ManuallyDrop<SyncPage>,
    /// The words of this mapping, by address.
    pub(super) at: MutexAt,
}

impl handle::Inner for MutexInner {
    fn object(&self) -> &ObjectFile {
        &self.object
    }
    fn object_mut(&mut self) -> &mut ObjectFile {
        &mut self.object
    }
    fn from_object(object: ObjectFile) -> Result<Self> {
        let page = SyncPage::map_mutex(&object)?;
        let word_addr = page.u32(OFF_MUTEX_WORD) as *const AtomicU32 as usize;
        debug_assert_eq!(page.u32(OFF_MUTEX_COUNT) as *const AtomicU32 as usize, word_addr + 4);
        let at = MutexAt { word_addr };
        registry().push((object.id(), at));
        Ok(MutexInner { object, page: ManuallyDrop::new(page), at })
    }
}

impl Drop for MutexInner {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: `page` is taken exactly once, here, and not used afterwards.
        let page = unsafe { ManuallyDrop::take(&mut self.page) };
        let mut reg = registry();
        if self.at.holder().load(Ordering::Acquire) != 0 {
            // A thread of ours owns the mutex through this mapping (ownership is per thread, not
            // per handle; or it died owning it): its robust-list node is in the page, and a
            // release through another handle finds it in the registry. Keep both.
            std::mem::forget(page);
            return;
        }
        if let Some(i) = reg.iter().position(|(_, at)| *at == self.at) {
            reg.swap_remove(i);
        }
    }
}

/// Every live (or kept) mutex mapping of this process, by object: how a thread that acquires or
/// releases through one handle finds that it owns the object through another.
pub(super) static MAPPINGS: std::sync::Mutex<Vec<((u64, u64), MutexAt)>> = std::sync::Mutex::new(Vec::new());

pub(super) fn registry() -> std::sync::MutexGuard<'static, Vec<((u64, u64), MutexAt)>> {
    MAPPINGS.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::ops::Deref for MutexInner {
    type Target = MutexAt;
    fn deref(&self) -> &MutexAt {
        &self.at
    }
}

/// One process's mapping of a mutex's words, by address: the shared word (the last 8 bytes of
/// the header page, with the count mirror), the queue in the same page, and in the private
/// tail page after it the robust-list node and its holder.
///
/// Only made from a live mutex mapping; that mapping stays mapped while the `MutexInner` that
/// made it lives, and forever once dropped while its node holder is set (see its `Drop`). An
/// ownership record keeps a copy only while its thread holds the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MutexAt {
    pub(super) word_addr: usize,
}

/// Where the node holder sits: in the private tail, 4096 bytes after the word (tail offset
/// 4088), past any node (`node_off` ≤ 2048).
pub(super) const HOLDER_FROM_WORD: usize = 4096;

/// Where the recursion depth sits (private tail, after the holder).
pub(super) const DEPTH_FROM_WORD: usize = HOLDER_FROM_WORD + 4;

impl MutexAt {
    /// The word at `offset` bytes from the mutex word (a sync-area word of the shared page for
    /// negative offsets and +4, the private tail's holder for +4096).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn u32_at(&self, offset: isize) -> &AtomicU32 {
        // SAFETY:
        // - the address is a 4-aligned word of this mapping: the callers pass sync-area offsets
        //   relative to the word (it sits at sync offset OFF_MUTEX_WORD) or HOLDER_FROM_WORD;
        // - the mapping is live for as long as `self` may be used (see the type's docs);
        // - the memory is only accessed atomically (shared words by every process, the holder by
        //   the threads of this one).
        unsafe { &*((self.word_addr as isize + offset) as *const AtomicU32) }
    }

    #[inline(always)]
    pub(crate) fn word(&self) -> &AtomicU32 {
        self.u32_at(0)
    }

    /// The shared mirror of the recursion count (written for queries, never read back here).
    #[inline(always)]
    pub(super) fn count_mirror(&self) -> &AtomicU32 {
        self.u32_at(4)
    }

    /// Which thread of ours has this mapping's node linked (0: none). Private memory.
    #[inline(always)]
    pub(super) fn holder(&self) -> &AtomicU32 {
        self.u32_at(HOLDER_FROM_WORD as isize)
    }

    /// The owner's recursion depth (meaningful while a thread of ours holds the node). Private.
    #[inline(always)]
    pub(super) fn depth(&self) -> &AtomicU32 {
        self.u32_at(DEPTH_FROM_WORD as isize)
    }

    /// A holder that is not us and no longer a thread of this process (it exited owning the
    /// mutex: the kernel's robust-list walk, done before its id is freed, marked the word; or
    /// the record was inherited through fork) is cleared. True if the node is now free.
    #[cold]
    fn clear_dead_holder(&self, me: u32) -> bool {
        let h = self.holder().load(Ordering::Acquire);
        if h == 0 {
            return true;
        }
        if h == me || sysfutex::thread_alive_here(h) {
            return false;
        }
        let _ = self.holder().compare_exchange(h, 0, Ordering::AcqRel, Ordering::Relaxed);
        self.holder().load(Ordering::Acquire) == 0
    }

    /// A sync-area word of the shared page.
    fn sync_u32(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off < OFF_MUTEX_WORD);
        self.u32_at(off as isize - OFF_MUTEX_WORD as isize)
    }

    /// This mapping's robust-list node: in the private tail, `node_off` after the word.
    #[inline(always)]
    pub(super) fn node(&self, ctx: &ThreadCtx) -> usize {
        self.word_addr + ctx.node_off()
    }
}

impl MutexInner {
    /// The mapping of this object through which the calling thread owns it (this one first,
    /// then the others in the registry), by the private holder records.
    #[inline(always)]
    fn owning_mapping(&self, me: u32) -> Option<MutexAt> {
        if self.holder().load(Ordering::Relaxed) == me {
            return Some(self.at);
        }
        self.owning_mapping_elsewhere(me)
    }

    #[cold]
    #[inline(never)]
    fn owning_mapping_elsewhere(&self, me: u32) -> Option<MutexAt> {
        let id = self.object.id();
        registry().iter().find(|(i, at)| *i == id && at.holder().load(Ordering::Relaxed) == me).map(|(_, at)| *at)
    }

    /// True if the calling thread owns the mutex (by its private records).
    pub(crate) fn owned_by_me(&self) -> bool {
        robust::ctx().is_ok_and(|ctx| self.owning_mapping(ctx.tid()).is_some())
    }

    pub(crate) fn looks_available(&self) -> bool {
        self.word().load(Ordering::Relaxed) & TID_MASK == 0 || self.owned_by_me()
    }

    /// Tries to acquire for the calling thread: `Some(abandoned)` on success (recursion counts).
    #[inline(always)]
    pub(crate) fn try_acquire(&self, ctx: &ThreadCtx) -> Result<Option<bool>> {
        if let Some(at) = self.owning_mapping(ctx.tid()) {
            return self.recurse(at);
        }
        if self.word().load(Ordering::Relaxed) & TID_MASK != 0 {
            return Ok(None);
        }
        Ok(self.try_lock_word(ctx, |word, me| match state::mutex_try_acquire(word, me) {
            MutexTry::Acquired { abandoned } => Some(abandoned),
            // The word names us but we hold no record of owning it: forged. Not ours to take.
            MutexTry::Recursive | MutexTry::Busy(_) => None,
        }))
    }

    /// The uncontended fast path: the holder CAS and the word CAS, then the careful path.
    #[inline(always)]
    pub(crate) fn try_acquire_fast(&self, ctx: &ThreadCtx) -> Result<Option<bool>> {
        let got = self.try_lock_word(ctx, |word, me| {
            word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok().then_some(false)
        });
        if got.is_some() {
            return Ok(got);
        }
        self.try_acquire(ctx)
    }

    /// One more level of the ownership the calling thread has through mapping `at`.
    fn recurse(&self, at: MutexAt) -> Result<Option<bool>> {
        let d = at.depth().load(Ordering::Relaxed);
        if d >= i32::MAX as u32 {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot acquire {}: recursion limit ({d}) reached", self.object.describe()),
            ));
        }
        at.depth().store(d + 1, Ordering::Relaxed);
        at.count_mirror().store(d + 1, Ordering::Relaxed);
        Ok(Some(false))
    }

    /// Takes the word with `take` (which returns `Some(abandoned)` when the word is now ours)
    /// under the robust-list protocol, and records the ownership (holder, depth 1).
    #[allow(unsafe_code)]
    #[inline(always)]
    fn try_lock_word(&self, ctx: &ThreadCtx, take: impl FnOnce(&AtomicU32, u32) -> Option<bool>) -> Option<bool> {
        let me = ctx.tid();
        // The node is never linked twice: we must hold it first. Held by another thread of ours:
        // it owns the mutex through this mapping (the word cannot be free unless forged), or it
        // exited owning it (then the kernel marked the word and the holder is cleared).
        if self.holder().compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_err()
            && !(self.clear_dead_holder(me)
                && self.holder().compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok())
        {
            return None;
        }
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context (from `robust::ctx` on this thread); the node is
        // in our private tail, which stays mapped while we hold the node (MutexInner's Drop).
        unsafe { robust::set_pending(ctx, node) };
        let got = take(self.word(), me);
        match got {
            Some(_) => {
                // SAFETY: as above; we hold the node (holder), so it is not linked anywhere.
                unsafe {
                    robust::enqueue(ctx, node);
                    robust::set_pending(ctx, 0);
                }
                self.depth().store(1, Ordering::Relaxed);
                self.count_mirror().store(1, Ordering::Relaxed);
            }
            None => {
                // SAFETY: as above.
                unsafe { robust::set_pending(ctx, 0) };
                self.holder().store(0, Ordering::Release);
            }
        }
        got
    }

    /// Releases one level of the calling thread's ownership.
    #[inline(always)]
    pub(super) fn release(&self, ctx: &ThreadCtx) -> Result<()> {
        if self.release_if_owner(ctx) { Ok(()) } else { Err(self.not_owner()) }
    }

    /// [`MutexInner::release`] without the error: false (nothing changed) if the calling
    /// thread does not own the mutex.
    #[inline(always)]
    pub(super) fn release_if_owner(&self, ctx: &ThreadCtx) -> bool {
        let Some(at) = self.owning_mapping(ctx.tid()) else {
            return false;
        };
        let d = at.depth().load(Ordering::Relaxed);
        if d > 1 {
            at.depth().store(d - 1, Ordering::Relaxed);
            at.count_mirror().store(d - 1, Ordering::Relaxed);
            return true;
        }
        at.unlock(ctx, 0);
        true
    }

    #[cold]
    #[inline(never)]
    fn not_owner(&self) -> Error {
        Error::new(
            Win32Error::NOT_OWNER,
            format!("cannot release {}: the calling thread does not own it", self.object.describe()),
        )
    }

    /// Takes the grant in our queue place `p`: the mutex is then ours (`Some(abandoned)`),
    /// linked in our robust list under the pending-operation protocol (a death between taking
    /// the grant and linking is seen by the kernel: the word already names us).
    pub(crate) fn take_grant(&self, ctx: &ThreadCtx, p: state::Place) -> Option<bool> {
        let got = self.take_grant_unfenced(ctx, p);
        if got.is_some() {
            self.await_releaser();
        }
        got
    }

    /// [`MutexInner::take_grant`] without waiting for the releaser: for a wait-all, which takes
    /// its grants while it holds claims on its other objects (claims last a few instructions),
    /// and waits for the releasers after its commit.
    #[allow(unsafe_code)]
    pub(crate) fn take_grant_unfenced(&self, ctx: &ThreadCtx, p: state::Place) -> Option<bool> {
        let q = self.queue();
        if !q.granted(p) {
            return None;
        }
        let me = ctx.tid();
        if self.owning_mapping(me).is_some() {
            // We already own it: a forged grant. Not ours to take twice.
            return None;
        }
        if self.holder().compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_err()
            && !(self.clear_dead_holder(me)
                && self.holder().compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok())
        {
            return None;
        }
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context; the node is in our private tail (mapped while
        // the record below keeps it mapped) and not linked (we hold the holder).
        unsafe { robust::set_pending(ctx, node) };
        let got = q.take_grant(p);
        match got {
            Some(_) => {
                // SAFETY: as above.
                unsafe {
                    robust::enqueue(ctx, node);
                    robust::set_pending(ctx, 0);
                }
                self.depth().store(1, Ordering::Relaxed);
                self.count_mirror().store(1, Ordering::Relaxed);
            }
            None => {
                // SAFETY: as above.
                unsafe { robust::set_pending(ctx, 0) };
                self.holder().store(0, Ordering::Release);
            }
        }
        got
    }

    /// After taking a grant: lets the releaser that granted it finish its release and come
    /// back, as Windows' does before the grantee runs (the hand-off is one step of its
    /// dispatcher: the releaser is back in user mode in the time the grantee takes to wake up).
    /// Without this, a releaser still inside its futex wake-up (tens of microseconds here) is
    /// overtaken: the grantee runs its turn, releases while the releaser has not started its
    /// next wait yet, finds nobody queued, and takes the mutex straight back with its own next
    /// wait (the corpus' strict-turns program read `ABABBBBBBBBBAAAAAAAA`).
    ///
    /// Waits (yielding) while the fence says a release is handing off, then up to
    /// [`FENCE_GRACE_US`] after it ended, and returns early as soon as somebody queues (the
    /// releaser coming back: the next release hands off to it). Bounded by [`FENCE_MAX`]
    /// whatever the (hostile) page says.
    pub(crate) fn await_releaser(&self) {
        let fence = self.sync_u32(OFF_MUTEX_FENCE);
        let start = std::time::Instant::now();
        loop {
            if self.counts().load(Ordering::Acquire) >= state::Q_ONE || start.elapsed() >= FENCE_MAX {
                return;
            }
            let f = fence.load(Ordering::Acquire);
            if f != HANDING_OFF && now_us().wrapping_sub(f) >= FENCE_GRACE_US {
                return;
            }
            std::thread::yield_now();
        }
    }

    /// Declines the grant in our place `p` (a wait-all that cannot have every object now),
    /// keeping the place: the word is freed as it was handed to us (abandoned stays abandoned)
    /// and the mutex goes to the waiters queued after us, or stays free. The word names us
    /// from the grant until it is freed, so this runs with our node as the pending robust-list
    /// operation: dying in between is an ordinary owner death (the kernel marks the word).
    /// False if there was no grant to decline (revoked, or forged).
    #[allow(unsafe_code)]
    pub(crate) fn decline_grant(&self, ctx: &ThreadCtx, p: state::Place) -> bool {
        let q = self.queue();
        if !q.granted(p) {
            return false;
        }
        let me = ctx.tid();
        if self.owning_mapping(me).is_some() {
            return false; // we own it already: a forged grant
        }
        if self.holder().compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_err()
            && !(self.clear_dead_holder(me)
                && self.holder().compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok())
        {
            return false;
        }
        let node = self.node(ctx);
        // SAFETY: `ctx` is this thread's context; the node is in our private tail (mapped while
        // we hold the node) and not linked (we hold the holder); it is only made pending.
        unsafe { robust::set_pending(ctx, node) };
        let declined = q.decline(p);
        if let Some(abandoned) = declined {
            let word = self.word();
            let mut w = word.load(Ordering::Acquire);
            // Free the word if it still names us (the granter wrote our tid), keeping WAITERS.
            while w & TID_MASK == me & TID_MASK {
                let free = (w & WAITERS) | if abandoned { OWNER_DIED } else { 0 };
                match word.compare_exchange(w, free, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => break,
                    Err(now) => w = now,
                }
            }
        }
        // SAFETY: as above.
        unsafe { robust::set_pending(ctx, 0) };
        self.holder().store(0, Ordering::Release);
        if declined.is_none() {
            return false;
        }
        let counts = self.counts().fetch_add(0, Ordering::AcqRel);
        if counts & (state::Q_ONE - 1) != 0 {
            sysfutex::wake_all(self.word());
        }
        self.hand_off_after(Some(p.ticket));
        true
    }

    /// A grant we took but do not want (a wait-any satisfied by another object): release it.
    pub(crate) fn pass_on_grant(&self, ctx: &ThreadCtx) {
        let _ = self.release(ctx);
    }

    /// Undoes an acquisition made by a failed `wait_all` attempt, exactly.
    pub(crate) fn undo_acquire(&self, ctx: &ThreadCtx, abandoned: bool, recursive: bool) {
        if recursive {
            let _ = self.release(ctx);
            return;
        }
        if let Some(at) = self.owning_mapping(ctx.tid()) {
            at.unlock(ctx, if abandoned { OWNER_DIED } else { 0 });
        }
    }
}

impl MutexAt {
    /// Unlinks our node (its record was just removed) and stores `free` (0, or OWNER_DIED to
    /// keep an abandonment unreported) in the word; then, if anybody waits, hands it off.
    #[allow(unsafe_code)]
    #[inline(always)]
    fn unlock(&self, ctx: &ThreadCtx, free: u32) {
        let node = self.node(ctx);
        let word = self.word();
        self.count_mirror().store(0, Ordering::Relaxed);
        // SAFETY: the record we removed says this thread linked this mapping's node (we hold
        // the holder), so it is linked in this thread's list; `ctx` is this thread's.
        let old = unsafe {
            robust::set_pending(ctx, node);
            robust::dequeue(ctx, node);
            self.holder().store(0, Ordering::Release);
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
            // We hand it to a queued waiter: if this thread wants it back at once, it can only
            // queue behind that waiter (see `Mutex::acquire_slow`).
            HANDED_OFF.set(self.word_addr);
            // The fence covers the grant *and* the wake-up: the grantee may run (it often
            // does, on a loaded machine or in a VM where the wake-up's IPI is slow) before our
            // futex call returns; it does not act on the grant before we are back (see
            // `MutexInner::await_releaser`).
            let fence = self.sync_u32(OFF_MUTEX_FENCE);
            fence.store(HANDING_OFF, Ordering::Release);
            self.hand_off();
            fence.store(now_us(), Ordering::Release);
        }
    }

    fn counts(&self) -> &AtomicU32 {
        self.sync_u32(OFF_MUTEX_COUNTS)
    }

    /// The wait queue.
    #[allow(unsafe_code)]
    pub(crate) fn queue(&self) -> state::Queue<'_, AtomicU32> {
        let first = self.sync_u32(OFF_QUEUE_SLOTS) as *const AtomicU32;
        const N: usize = 4 * state::QUEUE_SLOTS;
        const _: () = assert!(OFF_QUEUE_SLOTS + 4 * N <= OFF_MUTEX_WORD);
        state::Queue {
            tickets: self.sync_u32(OFF_QUEUE),
            counts: self.counts(),
            // SAFETY: N consecutive aligned words of the shared page from OFF_QUEUE_SLOTS, all
            // before the mutex word (checked above), live as `sync_u32` explains.
            slots: unsafe { std::slice::from_raw_parts(first, N) },
        }
    }

    /// The futex word of queue slot `slot`.
    pub(crate) fn slot_word(&self, slot: usize) -> &AtomicU32 {
        assert!(slot < state::QUEUE_SLOTS);
        self.sync_u32(OFF_QUEUE_SLOTS + 16 * slot)
    }

    /// If the mutex is free, gives it to the oldest queued waiter (its word then names that
    /// waiter's thread, with `WAITERS`; `OWNER_DIED` becomes the grant's abandoned flag). If
    /// somebody else took it first, makes sure its release will come back here.
    pub(crate) fn hand_off(&self) {
        self.hand_off_after(None);
    }

    /// [`MutexAt::hand_off`] to the waiters queued after ticket `after` only (a declined grant).
    fn hand_off_after(&self, after: Option<u32>) {
        let word = self.word();
        let q = self.queue();
        let granted = state::hand_off_after(
            &q,
            after,
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
        let w = self.mark_if_owned();
        if w.is_none() {
            self.hand_off();
        }
        w
    }

    /// Sets `WAITERS` on an owned word (a release then looks at the queue); `None` if the word
    /// is free (nothing done). Returns the word value to sleep on.
    pub(crate) fn mark_if_owned(&self) -> Option<u32> {
        let word = self.word();
        let mut w = word.load(Ordering::Acquire);
        loop {
            if w & TID_MASK == 0 {
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

thread_local! {
    /// The word of the mutex this thread last handed to a queued waiter (0: none). Its next
    /// acquisition of that mutex skips the spin: the mutex cannot come back before the waiter's
    /// turn, and spinning holds a CPU the grantee needs, while queueing at once also lets the
    /// grantee's hand-off fence end at once (it waits for its releaser to queue).
    pub(super) static HANDED_OFF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The hand-off fence's value while a release hands off (never a time: [`now_us`] skips it).
pub(super) const HANDING_OFF: u32 = u32::MAX;

/// How long a grantee lets the releaser that granted it come back and queue again, after its
/// release ended (about what a wake-up costs on Windows: the grantee is not running yet).
pub(super) const FENCE_GRACE_US: u32 = 20;

/// The most a grantee waits for the fence, whatever the page says (a stopped releaser, a
/// forged fence).
pub(super) const FENCE_MAX: Duration = Duration::from_millis(1);

/// The monotonic clock (the same in every process) in microseconds, mod 2^32, never
/// [`HANDING_OFF`].
pub(super) fn now_us() -> u32 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let us = (t.tv_sec as u64).wrapping_mul(1_000_000).wrapping_add(t.tv_nsec as u64 / 1000) as u32;
    if us == HANDING_OFF { 0 } else { us }
}
