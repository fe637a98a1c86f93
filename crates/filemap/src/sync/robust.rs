//! Mutex abandonment through the kernel's robust-futex list.
//!
//! glibc registers one robust list per thread (`set_robust_list`) for its robust pthread
//! mutexes. We link our mutexes' nodes into that same list, exactly as glibc links its own
//! (`ENQUEUE_MUTEX`/`DEQUEUE_MUTEX`: a doubly linked list whose `prev` field sits 8 bytes
//! before each `next`, glibc's `robust_prev` sitting before the head), with the same
//! `list_op_pending` protocol. When a thread exits, or its process dies however it dies, the
//! kernel walks the list and, for each futex word whose owner bits equal the dead thread's id,
//! sets `FUTEX_OWNER_DIED` and wakes one sleeper. The next acquirer sees `OWNER_DIED` and
//! reports `WAIT_ABANDONED`: abandonment is immediate on owner death.
//!
//! **Every node is private memory.** A node must sit at `word - futex_offset` (glibc: 32 bytes
//! after the word); the mutex word is the last word of the shared page and each process maps
//! a private page right after it (`SyncPage::map_mutex`), so the node and its `prev`/`next`
//! links are in this process's own memory. Nothing here ever reads an address from the shared
//! page: the links we follow were written by this thread (or by glibc, for its own mutexes in
//! the same list). The kernel, walking the list at thread death, also reads private memory
//! only, and touches the shared word it finds at `node + futex_offset` only if it holds the dead
//! thread's id. A mutex stays mapped while a thread of this process holds its node: a
//! `MutexInner` dropped meanwhile leaks its mapping (8 KiB) instead of unmapping it.
//!
//! A thread with no registered list (not glibc) gets one of ours, registered on first use.

#![allow(unsafe_code)] // the robust list is raw memory shared with glibc and the kernel

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering, compiler_fence};

use crate::error::{Error, Result, Win32Error};
use crate::sys::futex::{self as sysfutex, RobustListHead};
use crate::sys::tls::{Words, words};

use super::page::MAX_NODE_OFF;

/// Proof that the calling thread's context (its id, its list head, and where nodes sit) is
/// cached in the thread's words (`sys::tls`: no `__tls_get_addr` call on x86-64), with their
/// address: the accessors read the fields through it, never copying them as a struct (which
/// stalled store forwarding). Not `Send`: it speaks for the thread that made it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThreadCtx {
    words: &'static Words,
}

impl ThreadCtx {
    /// Kernel thread id.
    #[inline(always)]
    pub(crate) fn tid(&self) -> u32 {
        self.words.tid.get()
    }

    /// Address of the robust list head (its `next` field).
    #[inline(always)]
    pub(crate) fn head(&self) -> usize {
        self.words.head.get()
    }

    /// Offset of a node from its futex word (`-futex_offset`).
    #[inline(always)]
    pub(crate) fn node_off(&self) -> usize {
        self.words.node_off.get()
    }
}

unsafe extern "C" fn forget_ctx_after_fork() {
    // The child's only thread is the one that forked: its id changed.
    words().tid.set(0);
}

/// The calling thread's context (cached after the first call).
#[inline(always)]
pub(crate) fn ctx() -> Result<ThreadCtx> {
    let ctx = ThreadCtx { words: words() };
    if ctx.tid() != 0 {
        return Ok(ctx);
    }
    ctx_slow()
}

#[cold]
fn ctx_slow() -> Result<ThreadCtx> {
    static AT_FORK: Once = Once::new();
    AT_FORK.call_once(|| sysfutex::at_fork_child(forget_ctx_after_fork));
    let head = match sysfutex::get_robust_list() {
        Some(head) => head,
        None => {
            // Our own head, laid out like glibc's: [robust_prev, next, futex_offset, pending].
            let block: &'static mut [usize; 4] = Box::leak(Box::new([0usize; 4]));
            let head = (&mut block[1]) as *mut usize as *mut RobustListHead;
            block[1] = head as usize;
            block[2] = (-32isize) as usize;
            // SAFETY: the block is leaked, so it lives as long as the thread (and longer).
            unsafe { sysfutex::set_robust_list(head) }
                .map_err(|e| Error::from_io("cannot register a robust futex list for this thread", e.into()))?;
            head
        }
    };
    // SAFETY: `head` is the live robust list head of this thread (glibc's or ours); reading its
    // futex_offset field is a plain read of memory this thread owns.
    let futex_offset = unsafe { (*head).futex_offset };
    let node_off = futex_offset.checked_neg().and_then(|o| usize::try_from(o).ok());
    let node_off = match node_off {
        // The node's `prev` (node - 8) must start past the shared page's last word (the word
        // is 8 bytes before the page end) and the node must end inside the private tail.
        Some(o) if o.is_multiple_of(8) && (16..=MAX_NODE_OFF).contains(&o) => o,
        _ => {
            return Err(Error::new(
                Win32Error::NOT_SUPPORTED,
                format!("this C library's robust-list layout (futex_offset {futex_offset}) is not supported"),
            ));
        }
    };
    let w = words();
    w.head.set(head as usize);
    w.node_off.set(node_off);
    w.tid.set(sysfutex::gettid());
    Ok(ThreadCtx { words: w })
}

#[inline(always)]
fn pending(ctx: &ThreadCtx) -> *mut usize {
    (ctx.head() + 2 * std::mem::size_of::<usize>()) as *mut usize
}

/// Announces (or clears, with 0) the node this thread is about to link or unlink.
///
/// # Safety
/// `ctx` must be the calling thread's context.
#[inline(always)]
pub(crate) unsafe fn set_pending(ctx: &ThreadCtx, node: usize) {
    compiler_fence(Ordering::SeqCst);
    // SAFETY: `list_op_pending` is a field of this thread's live list head, written only by
    // this thread (the kernel reads it after the thread is gone).
    unsafe { std::ptr::write_volatile(pending(ctx), node) };
    compiler_fence(Ordering::SeqCst);
}

/// The node's `next` and `prev` fields, given the node address.
#[inline(always)]
fn fields(node: usize) -> (&'static AtomicUsize, &'static AtomicUsize) {
    // SAFETY: (both fields) callers pass nodes inside the private tail of a mutex mapping that
    // stays mapped while the node is linked (see the module docs); the fields are 8-aligned,
    // private to this process, and only accessed atomically by this thread (and glibc's
    // list code on this same thread).
    unsafe { (&*(node as *const AtomicUsize), &*((node - 8) as *const AtomicUsize)) }
}

/// Writes the `prev` field of list element `elem` (a node of ours, a glibc mutex, or the head).
///
/// # Safety
/// `elem` must be an element of this thread's robust list.
#[inline(always)]
unsafe fn set_prev(elem: usize, prev: usize) {
    // SAFETY: every element of a glibc-layout list has a pointer-sized `prev` 8 bytes before
    // its `next` (glibc's `__list.__prev`, `robust_prev` before the head, ours in a private
    // tail); only the owning thread touches them.
    unsafe { std::ptr::write_volatile((elem - 8) as *mut usize, prev) }
}

/// Links `node` at the head of this thread's robust list (glibc's `ENQUEUE_MUTEX`).
///
/// # Safety
/// `ctx` is the calling thread's context; `node` is the node of a mutex word this thread just
/// took, in a private tail that stays mapped while it is linked, and not linked already.
#[inline(always)]
pub(crate) unsafe fn enqueue(ctx: &ThreadCtx, node: usize) {
    let head = ctx.head() as *mut usize;
    // SAFETY: the head is this thread's live list head; elements are only touched by this thread.
    unsafe {
        let first_raw = std::ptr::read_volatile(head);
        let first = first_raw & !1;
        set_prev(first, node);
        let (next, prev) = fields(node);
        next.store(first_raw, Ordering::Relaxed);
        prev.store(ctx.head(), Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        std::ptr::write_volatile(head, node);
    }
}

/// Unlinks `node` from this thread's robust list (glibc's `DEQUEUE_MUTEX`).
///
/// # Safety
/// `ctx` is the calling thread's context; `node` is linked in its list (as this thread's
/// private ownership record says; never because of anything read from shared memory).
#[inline(always)]
pub(crate) unsafe fn dequeue(_ctx: &ThreadCtx, node: usize) {
    let (next_f, prev_f) = fields(node);
    let next_raw = next_f.load(Ordering::Relaxed);
    let prev_raw = prev_f.load(Ordering::Relaxed);
    let next = next_raw & !1;
    let prev = prev_raw & !1;
    // SAFETY: `next` and `prev` are elements of this thread's list (the node is linked), and
    // the list is only changed by this thread.
    unsafe {
        set_prev(next, prev_raw);
        let p = prev as *mut usize;
        let keep = std::ptr::read_volatile(p) & 1;
        std::ptr::write_volatile(p, keep | next_raw);
    }
    compiler_fence(Ordering::SeqCst);
}
