//! # filemap-win32: the Win32 face of filemap
//!
//! A C ABI with Win32 names (`CreateFileMappingA`, `MapViewOfFile`, `CloseHandle`,
//! `CreateProcessA`, ...) over the [`filemap`] core crate, plus the headers in `include/`
//! (`windows.h`, `tchar.h`, `conio.h`) so that Windows shared-memory programs compile unchanged
//! on Linux:
//!
//! ```text
//! cc -I crates/filemap-win32/include prog.c -L target/release -lfilemap_win32
//! ```
//!
//! The crate is a thin translation: object semantics (names, lifetimes, protections, views)
//! live in the core; this crate owns only the things Win32 adds on top:
//!
//! - **Handles** ([`handles`]): a process-wide table mapping `HANDLE` values to core objects,
//!   files and processes, with their granted access and `HANDLE_FLAG_*` flags. A handle's value
//!   is derived from a file descriptor the handle owns, `(fd + 1) * 4`, so that an *inheritable*
//!   handle (descriptor without `FD_CLOEXEC`) keeps its value in a child after `exec` and the
//!   child can adopt it lazily the first time it is used. Non-inheritable handles are
//!   `FD_CLOEXEC`, so their values are invalid in a child. See [`handles`] for the details,
//!   including how the access mask crosses `exec`.
//! - **The thread's last error** ([`error`]): every failing export sets exactly the code
//!   Windows sets (taken from the core's [`filemap::Error::code`]); `Create*` of a named object
//!   sets `ERROR_ALREADY_EXISTS` or 0 as Windows does.
//! - **Strings**: `A` functions take UTF-8 (the ANSI code page on Linux), `W` functions wide text
//!   (`WCHAR` is Linux's 32-bit `wchar_t`, so `L"x"`, `std::wstring` and glibc's `wcs*`
//!   functions work; `TEXT("x")` is `L"x"` in UNICODE builds; see [`strings::WChar`]).
//! - **Security descriptors** ([`security`]): SIDs, ACLs, descriptors in Windows' binary layout,
//!   SDDL; a `Create*`'s DACL decides who may open the object.
//! - **Handles in other processes** ([`duplicate`]): `DuplicateHandle` into and out of other
//!   processes through a per-process receiver thread.
//! - **Processes** ([`process`]): `CreateProcess` parses the command line the Windows way,
//!   spawns the program and returns waitable process handles (pidfds watched by the core).
//! - The rest is translation: [`mapping`] (file mappings, views, `VirtualQuery`), [`sync`]
//!   (mutexes, semaphores, events, timers, waits over [`filemap::sync`]), [`file`](mod@file)
//!   (`CreateFile` with share modes), [`thread`], [`system`] (system information,
//!   `FormatMessage`, console stand-ins, environment), [`strings`] (`lstr*`), [`crt`]
//!   (`conio.h`). The secure CRT and the `tchar.h` mappings are inline functions in the
//!   headers (C variadic functions cannot be written in stable Rust).
//!
//! See `README.md` for the headers, the full list of functions and the documented differences
//! from Windows.
//!
//! Every export catches panics at the boundary and turns them into an error code: nothing ever
//! unwinds into C. Functions that take pointers check them for NULL where Win32 returns an
//! error instead of crashing.

#![deny(unsafe_code)]
#![warn(missing_docs)]
#![allow(non_snake_case, non_camel_case_types)] // Win32 spelling at the C edge

pub mod apc;
mod apc_queue;
pub mod codepage;
pub mod crt;
pub mod duplicate;
pub mod error;
pub mod file;
pub mod handle_api;
pub mod handles;
pub mod library;
pub mod mapping;
pub mod memory;
pub mod objects;
pub mod process;
pub mod security;
pub mod strings;
pub mod sync;
pub mod sync_ex;
pub mod system;
pub mod thread;

/// Win32 `BOOL`.
pub type BOOL = i32;
/// Win32 `DWORD` (32-bit on every platform).
pub type DWORD = u32;
/// Win32 `HANDLE`.
pub type HANDLE = *mut core::ffi::c_void;
/// Win32 `TRUE`.
pub const TRUE: BOOL = 1;

/// `INFINITE` (the wait constants live here: the wait functions of several modules use them).
pub const INFINITE: u32 = 0xFFFF_FFFF;
/// `WAIT_OBJECT_0`.
pub const WAIT_OBJECT_0: u32 = 0;
/// `WAIT_TIMEOUT`.
pub const WAIT_TIMEOUT: u32 = 258;
/// `WAIT_FAILED`.
pub const WAIT_FAILED: u32 = 0xFFFF_FFFF;
/// `MAXIMUM_WAIT_OBJECTS`.
pub const MAXIMUM_WAIT_OBJECTS: u32 = 64;
/// Win32 `FALSE`.
pub const FALSE: BOOL = 0;
/// `INVALID_HANDLE_VALUE`, also the `GetCurrentProcess()` pseudo-handle.
pub const INVALID_HANDLE_VALUE: HANDLE = usize::MAX as HANDLE;

/// `SECURITY_ATTRIBUTES`, with the LP64 layout of our `minwinbase.h`.
#[repr(C)]
#[derive(Debug)]
pub struct SECURITY_ATTRIBUTES {
    /// Size of the structure.
    pub nLength: DWORD,
    /// Security descriptor: its DACL decides who may open a new named object (see [`security`]);
    /// NULL leaves it owner-only.
    pub lpSecurityDescriptor: *mut core::ffi::c_void,
    /// Whether the new handle is inheritable.
    pub bInheritHandle: BOOL,
}

/// Whether `lpSecurityAttributes` asks for an inheritable handle.
///
/// # Safety
/// `sa` must be NULL or point to a readable `SECURITY_ATTRIBUTES`.
#[allow(unsafe_code)]
pub(crate) unsafe fn inherit_from(sa: *const SECURITY_ATTRIBUTES) -> bool {
    // SAFETY: the caller guarantees `sa` is NULL or valid for reads.
    unsafe { sa.as_ref().is_some_and(|sa| sa.bInheritHandle != 0) }
}
