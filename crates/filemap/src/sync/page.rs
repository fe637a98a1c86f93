//! The sync area of an object's header page, mapped shared, and the typed words in it.
//!
//! | offset | mutex | semaphore / event / timer |
//! |--------|-------|---------------------------|
//! | 0  | robust futex word (u32) | `seq` futex word (u32) |
//! | 4  | recursion count (u32, owner only) | `waiters` (u32) |
//! | 8  | - | `state` (u64) |
//! | 16 | - | timer: due time, ns (u64) |
//! | 24 | robust-list node `prev` (glibc layout, `futex_offset` -32) | timer: period, ns (u64) |
//! | 32 | robust-list node `next` | timer: clock (0 monotonic, 1 realtime) (u32) |
//!
//! The robust-list node sits at `word - futex_offset` of the owning thread's list head, so
//! other `futex_offset`s are accepted as long as the node fits in the first 64 bytes.

#![allow(unsafe_code)] // typed views of the mapped page; argued below

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::error::{Error, Result};
use crate::object::{ObjectFile, SYNC_OFFSET};
use crate::sys;

pub(crate) const OFF_WORD: usize = 0;
pub(crate) const OFF_COUNT: usize = 4;
pub(crate) const OFF_STATE: usize = 8;
pub(crate) const OFF_DUE: usize = 16;
pub(crate) const OFF_PERIOD: usize = 24;
pub(crate) const OFF_CLOCK: usize = 32;
/// The mutex slot: a robust-list node must fit in it.
pub(crate) const MUTEX_SLOT: usize = 64;

/// One process's shared mapping of an object's header page.
#[derive(Debug)]
pub(crate) struct SyncPage {
    base: NonNull<u8>,
    /// We mapped it (and unmap it on drop); otherwise it is the `ObjectFile`'s own mapping,
    /// which outlives us because our owner holds that `ObjectFile` too.
    owned: bool,
    /// Held when mapped from the handle's own OFD (see `object::MapPin`).
    _pin: Option<crate::object::MapPin>,
}

// SAFETY: the page is a shared mapping only accessed through atomics (and, for robust-list
// nodes, by the owning thread only); it can be used from and dropped on any thread.
unsafe impl Send for SyncPage {}
// SAFETY: as above.
unsafe impl Sync for SyncPage {}

impl SyncPage {
    /// Maps the header page of `object` read-write.
    pub(crate) fn map(object: &ObjectFile) -> Result<SyncPage> {
        let (base, pin) = object.with_map_fd(|fd, pin| {
            let base = sys::map_page(fd, true)
                .map_err(|e| Error::from_io(format!("cannot map the state of {}", object.describe()), e.into()))?;
            Ok((base, pin))
        })?;
        Ok(SyncPage { base, owned: true, _pin: pin })
    }

    /// Maps the header page of an object file not yet wrapped in an `ObjectFile` (an object
    /// being created) read-write.
    pub(crate) fn map_fd(fd: rustix::fd::BorrowedFd<'_>) -> Result<SyncPage> {
        let base = sys::map_page(fd, true).map_err(|e| Error::from_io("cannot map a new object's state", e.into()))?;
        Ok(SyncPage { base, owned: true, _pin: None })
    }

    /// Uses the object's own header-page mapping (`ObjectFile::sync_area`). The caller must
    /// keep `object` alive as long as this `SyncPage`.
    pub(crate) fn borrow_from(object: &ObjectFile) -> Result<SyncPage> {
        let area = object.sync_area()?;
        let base = NonNull::new((area.as_ptr() as usize - SYNC_OFFSET) as *mut u8)
            .ok_or_else(|| Error::new(crate::Win32Error::INVALID_ADDRESS, "null header page"))?;
        Ok(SyncPage { base, owned: false, _pin: None })
    }

    /// The address of sync-area offset `off`.
    pub(crate) fn addr(&self, off: usize) -> usize {
        self.base.as_ptr() as usize + SYNC_OFFSET + off
    }

    /// The u32 at sync-area offset `off` (a multiple of 4 below 1024).
    pub(crate) fn u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= crate::object::SYNC_LEN);
        // SAFETY:
        // - the address is inside our live page mapping (checked above), aligned to 4 (the page
        //   is page-aligned, SYNC_OFFSET and off are multiples of 4);
        // - the memory is shared with other processes, which only ever access it atomically,
        //   so an `AtomicU32` view is sound; the reference lives no longer than `self`.
        unsafe { &*(self.addr(off) as *const AtomicU32) }
    }

    /// The u64 at sync-area offset `off` (a multiple of 8 below 1024).
    pub(crate) fn u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= crate::object::SYNC_LEN);
        // SAFETY: as in `u32`, with 8-byte alignment.
        unsafe { &*(self.addr(off) as *const AtomicU64) }
    }

    /// Keeps the mapping for the rest of the process's life (a mutex that a thread of this
    /// process still owns keeps its robust-list node in it).
    pub(crate) fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for SyncPage {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        // SAFETY: `base` came from `sys::map_page` and every reference into it is tied to
        // `&self`, so none outlives this call.
        unsafe { sys::unmap_page(self.base) }
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
