//! `fork` while another thread is inside a handle lookup: the child (which has only the forking
//! thread) must still be able to close that handle. A pin another thread held at the moment
//! of the fork is never cleared in the child; unless the library forgets other threads' pins
//! after `fork`, the child's `CloseHandle` waits for it forever.
//!
//! One test per binary: it sets `FILEMAP_ROOT` for the whole process.

#![allow(unsafe_code)] // fork, waitpid, _exit

use std::ffi::CString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use filemap_win32::TRUE;
use filemap_win32::handle_api::CloseHandle;
use filemap_win32::sync::{CreateEventA, SetEvent, WaitForSingleObject};

#[test]
fn a_forked_child_closes_a_handle_another_thread_was_using_at_the_fork() {
    let root = std::env::temp_dir().join(format!("filemap-table-fork-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    // SAFETY: set before any thread starts and before the library reads it.
    unsafe { std::env::set_var("FILEMAP_ROOT", &root) };

    let name = CString::new(r"Local\fork-event").unwrap();
    // SAFETY: NUL-terminated name, NULL attributes.
    let h = unsafe { CreateEventA(std::ptr::null(), 0, 0, name.as_ptr()) };
    assert!(!h.is_null());
    let hv = h as usize;
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Lookups back to back: most of the time this thread holds a pin.
            while !stop.load(Ordering::Relaxed) {
                let h = hv as filemap_win32::HANDLE;
                assert_eq!(SetEvent(h), TRUE);
                assert_eq!(WaitForSingleObject(h, 0), 0);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    for round in 0..40 {
        // SAFETY: the child only closes the handle and exits with `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = CloseHandle(hv as filemap_win32::HANDLE) == TRUE;
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 3 }) };
        }
        let start = Instant::now();
        let status = loop {
            let mut status = 0;
            // SAFETY: `pid` is our child; `status` is writable.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                break status;
            }
            if start.elapsed() > Duration::from_secs(10) {
                // SAFETY: our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                // SAFETY: as above.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                stop.store(true, Ordering::Relaxed);
                panic!(
                    "fork {round}: the child's CloseHandle hung (a pin of a thread that does not exist in the child)"
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "fork {round}: child status {status:#x}");
    }
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    assert_eq!(CloseHandle(h), TRUE);
    let _ = std::fs::remove_dir_all(&root);
}
