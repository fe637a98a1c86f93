//! The thread's last error (`GetLastError`/`SetLastError`) and the panic-catching boundary
//! every export goes through.

#![allow(unsafe_code)] // exported `extern "system"` functions

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use filemap::Win32Error;

use crate::DWORD;

thread_local! {
    static LAST_ERROR: Cell<u32> = const { Cell::new(0) };
}

/// `ERROR_INTERNAL_ERROR` (1359): reported when the library panics (a bug); the panic never
/// crosses into C.
pub const ERROR_INTERNAL_ERROR: u32 = 1359;

/// Sets the calling thread's last error.
pub fn set_last_error(code: u32) {
    LAST_ERROR.with(|c| c.set(code));
}

/// The calling thread's last error.
pub fn last_error() -> u32 {
    LAST_ERROR.with(Cell::get)
}

/// A failure inside an export: the Win32 code to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail(pub u32);

impl From<filemap::Error> for Fail {
    fn from(e: filemap::Error) -> Fail {
        if std::env::var_os("FILEMAP_WIN32_DEBUG").is_some() {
            eprintln!("filemap-win32: {e}");
        }
        Fail(e.code().0)
    }
}

impl From<Win32Error> for Fail {
    fn from(e: Win32Error) -> Fail {
        Fail(e.0)
    }
}

impl From<rustix::io::Errno> for Fail {
    fn from(e: rustix::io::Errno) -> Fail {
        Fail::from(std::io::Error::from(e))
    }
}

/// `ERROR_NOACCESS` (998): an invalid pointer was passed.
pub const ERROR_NOACCESS: u32 = 998;
/// `ERROR_DIRECTORY` (267): the directory name is invalid.
pub const ERROR_DIRECTORY: u32 = 267;

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        Fail(filemap::error::win32_from_errno(&e).0)
    }
}

/// The result type of export bodies.
pub type Res<T> = Result<T, Fail>;

/// Runs an export body: on `Err(code)` sets the last error and returns `failed`; a panic is
/// caught, reported as [`ERROR_INTERNAL_ERROR`] and also returns `failed`. On success the last
/// error is left as the body set it (most successes leave it unchanged, as on Windows).
#[inline(always)]
pub fn boundary<T>(failed: T, body: impl FnOnce() -> Res<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(Fail(code))) => {
            set_last_error(code);
            failed
        }
        Err(_) => {
            set_last_error(ERROR_INTERNAL_ERROR);
            failed
        }
    }
}

/// Shorthand for an error code as a failure.
pub fn fail<T>(code: Win32Error) -> Res<T> {
    Err(Fail(code.0))
}

/// `GetLastError`: the calling thread's last-error code.
#[unsafe(no_mangle)]
pub extern "system" fn GetLastError() -> DWORD {
    last_error()
}

/// `SetLastError`: sets the calling thread's last-error code.
#[unsafe(no_mangle)]
pub extern "system" fn SetLastError(dwErrCode: DWORD) {
    set_last_error(dwErrCode);
}
