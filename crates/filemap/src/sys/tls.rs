//! The library's per-thread words, read without a call to `__tls_get_addr`.
//!
//! Rust's `thread_local!` in a shared library (`libfilemap_win32.so`) uses the general-dynamic
//! model: every access in a function is a call to `__tls_get_addr` (about 11 instructions),
//! and the C entry points made four to eight of them per `WaitForSingleObject` +
//! `ReleaseMutex` pair (BENCHMARKS.md). On x86-64 these words live in one `.tbss` block accessed in the
//! *initial-exec* model (the thread pointer plus an offset the dynamic linker resolves once),
//! which is what C libraries do with `__attribute__((tls_model("initial-exec")))`. A shared
//! library using it takes its block from the static TLS area: always there for a library the
//! program is linked with, and from glibc's reserve for `dlopen`ed ones (512 bytes by default,
//! tunable `glibc.rtld.optional_static_tls`) otherwise. Elsewhere (other architectures) the
//! words are a plain `thread_local!`.
//!
//! The words have no destructor, so they stay valid for the whole life of their thread
//! (including other thread-locals' destructors); a `&Words` is neither `Send` nor `Sync`.

use std::cell::Cell;
use std::sync::atomic::AtomicU32;

/// The per-thread words.
#[repr(C)]
#[derive(Debug)]
pub struct Words {
    /// The robust-futex context of `sync::robust` (0: not known yet).
    pub(crate) tid: Cell<u32>,
    /// One counter for `filemap-win32` (its `TerminateThread` deferral), through
    /// [`Words::aux_count_add`].
    aux_count: AtomicU32,
    pub(crate) head: Cell<usize>,
    pub(crate) node_off: Cell<usize>,
    /// One word for `filemap-win32` (its epoch-pin record), null until it sets it.
    pub aux: Cell<*const ()>,
}

const SIZE: usize = std::mem::size_of::<Words>();
const _: () = assert!(SIZE == 32 && std::mem::align_of::<Words>() == 8);

impl Words {
    /// Adds `delta` (wrapping) to one counter kept for `filemap-win32` (its `TerminateThread`
    /// deferral: sections entered, and a mark) and returns the previous value. One instruction,
    /// so a signal handler of the same thread sees the counter before or after it, never half
    /// changed; not a locked one, as nothing but this thread and its signal handlers touches the
    /// word (a locked add costs 4.5 ns here, this one 0.3).
    #[inline(always)]
    pub fn aux_count_add(&self, delta: u32) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            let mut v = delta;
            // SAFETY: `xadd` on this thread's own word (valid and aligned for the thread's
            // life, see `words`); only this thread and its signal handlers access it, and the
            // single instruction cannot be split by a handler.
            unsafe {
                std::arch::asm!(
                    "xadd dword ptr [{p}], {v:e}",
                    p = in(reg) self.aux_count.as_ptr(),
                    v = inout(reg) v,
                    options(nostack),
                );
            }
            v
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self.aux_count.fetch_add(delta, std::sync::atomic::Ordering::Relaxed)
        }
    }

    /// The counter of [`Words::aux_count_add`].
    #[inline(always)]
    pub fn aux_count(&self) -> u32 {
        self.aux_count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the counter of [`Words::aux_count_add`] (one store).
    #[inline(always)]
    pub fn set_aux_count(&self, value: u32) {
        self.aux_count.store(value, std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".pushsection .tbss.filemap_tls_words,\"awT\",@nobits",
    ".p2align 3",
    ".globl filemap_tls_words",
    ".hidden filemap_tls_words",
    ".type filemap_tls_words,@object",
    ".size filemap_tls_words,32",
    "filemap_tls_words:",
    ".zero 32",
    ".popsection",
);

/// The calling thread's words.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn words() -> &'static Words {
    let p: usize;
    // SAFETY: the initial-exec access sequence for the `.tbss` symbol above: `fs:0` holds the
    // thread pointer (x86-64 TLS ABI) and the GOT entry the offset of the block from it
    // (relocated once by the dynamic linker). Reads memory only, touches no stack.
    unsafe {
        std::arch::asm!(
            "mov {p}, qword ptr fs:[0]",
            "add {p}, qword ptr [rip + filemap_tls_words@GOTTPOFF]",
            p = out(reg) p,
            options(pure, readonly, nostack),
        );
    }
    // SAFETY:
    // - `p` is the address of this thread's 32-byte, 8-aligned block (the symbol's size and
    //   alignment above match `Words`, asserted), zeroed at thread start: all-zero is a valid
    //   `Words` (zero integers, null pointer);
    // - it lives as long as the thread, and the reference cannot leave the thread (`Words` is
    //   not `Sync`, so `&Words` is not `Send`); only `Cell`s are in it, so shared references
    //   are all anyone makes.
    unsafe { &*(p as *const Words) }
}

#[cfg(not(target_arch = "x86_64"))]
thread_local! {
    static WORDS: Words = const {
        Words {
            tid: Cell::new(0),
            aux_count: AtomicU32::new(0),
            head: Cell::new(0),
            node_off: Cell::new(0),
            aux: Cell::new(std::ptr::null()),
        }
    };
}

/// The calling thread's words.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn words() -> &'static Words {
    // SAFETY: `Words` has no destructor, so the thread-local is valid until the thread ends;
    // the reference cannot leave the thread (`&Words` is not `Send`).
    WORDS.with(|w| unsafe { &*(w as *const Words) })
}
