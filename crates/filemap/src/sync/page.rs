//! The sync area of an object's header page, mapped shared, and the typed words in it.
//!
//! | offset | mutex | semaphore / event / timer |
//! |--------|-------|---------------------------|
//! | 0  | - | `seq` futex word (u32) |
//! | 4  | - | `waiters` (u32) |
//! | 8  | - | `state` (u64) |
//! | 16 | - | timer: due time, ns (u64) |
//! | 24 | - | timer: period, ns (u64) |
//! | 32 | - | timer: clock (0 monotonic, 1 realtime) (u32) |
//! | 64 | queue ticket counter (u32) | queue ticket counter (u32) |
//! | 68 | `counts`: queued waiters << 16 \| word sleepers | - (`waiters` at 4 is the `counts`) |
//! | 128..896 | wait-queue slots (`state::Queue`) | wait-queue slots |
//! | 1016 | robust futex word (u32), the last 8 bytes of the page | - |
//! | 1020 | recursion count (u32): a mirror for `ls`, never read back | - |
//!
//! The offsets are from the start of the sync area: `SYNC_OFFSET` (3072) in the header page for
//! a mutex, `object::sync_area_offset` (3072 minus 0 to 15 cache lines, by inode number) for a
//! semaphore, event or timer, so that the state words of many objects spread over the L1 cache's
//! sets.
//!
//! **No pointer lives in the page.** A mutex's robust-list node must sit at
//! `word - futex_offset` (glibc: word + 32), so the word is placed at the very end of the
//! shared page and each process maps one page of *private* memory right after it
//! ([`SyncPage::map_mutex`]): the node, its `prev`/`next` links included, lies in that private
//! tail. The kernel walks private memory only and finds the shared word from it; another
//! process that writes the page can change the word, never a link.

#![allow(unsafe_code)] // typed views of the mapped page; argued below

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::error::{Error, Result};
use crate::object::{ObjectFile, SYNC_OFFSET};
use crate::sys;

pub(crate) const OFF_WORD: usize = 0;
pub(crate) const OFF_COUNT: usize = 4;
/// The mutex's robust futex word: the last 8 bytes of the shared page hold it and its count.
pub(crate) const OFF_MUTEX_WORD: usize = crate::object::SYNC_LEN - 8;
/// The owner's recursion count, mirrored for queries (the owner keeps the real one privately).
pub(crate) const OFF_MUTEX_COUNT: usize = crate::object::SYNC_LEN - 4;
pub(crate) const OFF_STATE: usize = 8;
pub(crate) const OFF_DUE: usize = 16;
pub(crate) const OFF_PERIOD: usize = 24;
pub(crate) const OFF_CLOCK: usize = 32;
/// The wait queue (see `state::Queue`): ticket counter, then (mutexes) the `counts` word,
/// then the slots from [`OFF_QUEUE_SLOTS`].
pub(crate) const OFF_QUEUE: usize = 64;
/// A mutex's `counts` word (cells use their `waiters` word at [`OFF_COUNT`]).
pub(crate) const OFF_MUTEX_COUNTS: usize = 68;
/// A mutex's hand-off fence: [`HANDING_OFF`](super::mutex) while a release's hand-off (grant and
/// wake-up) runs, then the monotonic clock in microseconds (mod 2^32) when it ended.
pub(crate) const OFF_MUTEX_FENCE: usize = 72;
/// The queue's slots: `4 * QUEUE_SLOTS` words (768 bytes, up to 896).
pub(crate) const OFF_QUEUE_SLOTS: usize = 128;
/// The largest node offset (`-futex_offset`) the private tail holds: word + offset + 8 must
/// stay inside the tail page.
pub(crate) const MAX_NODE_OFF: usize = 2048;

/// One process's shared mapping of an object's header page.
#[derive(Debug)]
pub(crate) struct SyncPage {
    base: NonNull<u8>,
    /// Where the sync area starts in the page (`object::sync_area_offset`).
    area: usize,
    /// How many pages we mapped (and unmap on drop): 1, or 2 with a private tail; 0: it is
    /// the `ObjectFile`'s own mapping, which outlives us because our owner holds that
    /// `ObjectFile` too.
    pages: usize,
    /// Held when mapped from the handle's own OFD (see `object::MapPin`).
    _pin: Option<crate::object::MapPin>,
}

// SAFETY: the page is a shared mapping only accessed through atomics (and, for robust-list
// nodes, by the owning thread only); it can be used from and dropped on any thread.
unsafe impl Send for SyncPage {}
// SAFETY: as above.
unsafe impl Sync for SyncPage {}

impl SyncPage {
    /// Maps the header page of a mutex read-write with one private page after it, where this
    /// process keeps its robust-list node for the mutex (see the module docs).
    pub(crate) fn map_mutex(object: &ObjectFile) -> Result<SyncPage> {
        let (base, pin) = object.with_map_fd(|fd, pin| {
            let base = sys::map_page_with_tail(fd)
                .map_err(|e| Error::from_io(format!("cannot map the state of {}", object.describe()), e.into()))?;
            Ok((base, pin))
        })?;
        Ok(SyncPage { base, area: SYNC_OFFSET, pages: 2, _pin: pin })
    }

    /// [`SyncPage::map_mutex`] for a mutex file not yet wrapped in an `ObjectFile`.
    pub(crate) fn map_mutex_fd(fd: rustix::fd::BorrowedFd<'_>) -> Result<SyncPage> {
        let base =
            sys::map_page_with_tail(fd).map_err(|e| Error::from_io("cannot map a new mutex's state", e.into()))?;
        Ok(SyncPage { base, area: SYNC_OFFSET, pages: 2, _pin: None })
    }

    /// Uses the object's own header-page mapping (`ObjectFile::sync_area`). The caller must
    /// keep `object` alive as long as this `SyncPage`.
    pub(crate) fn borrow_from(object: &ObjectFile) -> Result<SyncPage> {
        let offset = object.sync_area_offset();
        let area = object.sync_area()?;
        let base = NonNull::new((area.as_ptr() as usize - offset) as *mut u8)
            .ok_or_else(|| Error::new(crate::Win32Error::INVALID_ADDRESS, "null header page"))?;
        Ok(SyncPage { base, area: offset, pages: 0, _pin: None })
    }

    /// The address of sync-area offset `off`.
    #[inline]
    pub(crate) fn addr(&self, off: usize) -> usize {
        self.base.as_ptr() as usize + self.area + off
    }

    /// The u32 at sync-area offset `off` (a multiple of 4 below 1024).
    #[inline]
    pub(crate) fn u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= crate::object::SYNC_LEN);
        // SAFETY:
        // - the address is inside our live page mapping: `off + 4 <= SYNC_LEN` (checked above)
        //   and the area starts at most SYNC_LEN before the page's end (`sync_area_offset`);
        //   aligned to 4 (the page is page-aligned, the area's start a multiple of 64, off a
        //   multiple of 4);
        // - the memory is shared with other processes, which only ever access it atomically,
        //   so an `AtomicU32` view is sound; the reference lives no longer than `self`.
        unsafe { &*(self.addr(off) as *const AtomicU32) }
    }

    /// `n` consecutive u32s from sync-area offset `off`.
    pub(crate) fn u32_slice(&self, off: usize, n: usize) -> &[AtomicU32] {
        assert!(off.is_multiple_of(4) && off + 4 * n <= crate::object::SYNC_LEN);
        // SAFETY: as in `u32`, for `n` consecutive aligned words inside the live page.
        unsafe { std::slice::from_raw_parts(self.addr(off) as *const AtomicU32, n) }
    }

    /// The wait queue in this page, with `counts` at `counts_off`.
    pub(crate) fn queue(&self, counts_off: usize) -> super::state::Queue<'_, AtomicU32> {
        super::state::Queue {
            tickets: self.u32(OFF_QUEUE),
            counts: self.u32(counts_off),
            slots: self.u32_slice(OFF_QUEUE_SLOTS, 4 * super::state::QUEUE_SLOTS),
        }
    }

    /// The futex word of queue slot `slot` (< `QUEUE_SLOTS`).
    pub(crate) fn queue_word(&self, slot: usize) -> &AtomicU32 {
        self.u32(OFF_QUEUE_SLOTS + 16 * slot)
    }

    /// The u64 at sync-area offset `off` (a multiple of 8 below 1024).
    #[inline]
    pub(crate) fn u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= crate::object::SYNC_LEN);
        // SAFETY: as in `u32`, with 8-byte alignment.
        unsafe { &*(self.addr(off) as *const AtomicU64) }
    }
}

impl Drop for SyncPage {
    fn drop(&mut self) {
        if self.pages == 0 {
            return;
        }
        // SAFETY: `base` came from `sys::map_page` (one page) or `sys::map_page_with_tail` (two),
        // as `pages` records, and every reference into it is tied to `&self`, so none outlives
        // this call.
        unsafe { sys::unmap_pages(self.base, self.pages) }
    }
}

/// Builds the initial sync-area bytes with `state` at [`OFF_STATE`] and `word` at [`OFF_WORD`],
/// `count` at [`OFF_COUNT`].
pub(crate) fn init_bytes(word: u32, count: u32, state: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[OFF_WORD..OFF_WORD + 4].copy_from_slice(&word.to_ne_bytes());
    b[OFF_COUNT..OFF_COUNT + 4].copy_from_slice(&count.to_ne_bytes());
    b[OFF_STATE..OFF_STATE + 8].copy_from_slice(&state.to_ne_bytes());
    b
}

/// The initial sync area of a mutex: the word (owner `tid` or 0) and the mirrored count.
pub(crate) fn mutex_init_bytes(tid: u32, count: u32) -> Vec<u8> {
    let mut b = vec![0u8; crate::object::SYNC_LEN];
    b[OFF_MUTEX_WORD..OFF_MUTEX_WORD + 4].copy_from_slice(&tid.to_ne_bytes());
    b[OFF_MUTEX_COUNT..OFF_MUTEX_COUNT + 4].copy_from_slice(&count.to_ne_bytes());
    b
}
