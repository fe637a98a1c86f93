//! The lock-free handle table under concurrent use: threads create, duplicate, close, signal
//! and wait on handles that other threads are closing at the same moment. Every call must
//! either work or fail with `ERROR_INVALID_HANDLE` (a value closed, or reused for another
//! object, as on Windows); nothing crashes, nothing hangs, and when every handle is closed
//! every name is gone (no entry, reference or descriptor leaked by a race).
//!
//! One test per binary: it sets `FILEMAP_ROOT` for the whole process.

#![allow(unsafe_code)] // calling the exported functions as C would

mod common;

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use filemap_win32::error::GetLastError;
use filemap_win32::handle_api::{CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle};
use filemap_win32::sync::{
    CreateEventA, CreateSemaphoreA, OpenEventA, OpenSemaphoreA, ReleaseSemaphore, SetEvent, WaitForMultipleObjects,
    WaitForSingleObject,
};
use filemap_win32::{HANDLE, TRUE};

const ERROR_FILE_NOT_FOUND: u32 = 2;
const ERROR_INVALID_HANDLE: u32 = 6;
const WAIT_TIMEOUT: u32 = 0x102;
const WAIT_FAILED: u32 = 0xFFFF_FFFF;
const SLOTS: usize = 16;

/// A tiny deterministic generator per thread (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

fn current_process() -> HANDLE {
    usize::MAX as HANDLE
}

/// A call on a handle another thread may have closed: it worked, or the value is invalid now.
fn ok_or_invalid(ok: bool, what: &str) {
    if !ok {
        let e = GetLastError();
        assert_eq!(e, ERROR_INVALID_HANDLE, "{what} failed with {e}, not ERROR_INVALID_HANDLE");
    }
}

#[test]
fn concurrent_close_duplicate_signal_and_wait_keep_every_handle_valid_or_invalid_and_leak_nothing() {
    let root = std::env::temp_dir().join(format!("filemap-table-stress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    // SAFETY: set before any thread starts and before the library reads it.
    unsafe { std::env::set_var("FILEMAP_ROOT", &root) };

    let slots: Arc<Vec<AtomicUsize>> = Arc::new((0..SLOTS).map(|_| AtomicUsize::new(0)).collect());
    let names: Arc<Mutex<Vec<(bool, CString)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (slots, names, stop, ops) = (slots.clone(), names.clone(), stop.clone(), ops.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678));
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let slot = &slots[rng.next() % SLOTS];
                    match rng.next() % 8 {
                        // Create an event or a semaphore and publish it, closing what was there.
                        0 => {
                            n += 1;
                            let sem = rng.next().is_multiple_of(2);
                            let name = CString::new(format!(r"Local\stress-{t}-{n}")).unwrap();
                            // SAFETY: NUL-terminated name, NULL attributes.
                            let h = unsafe {
                                if sem {
                                    CreateSemaphoreA(std::ptr::null(), 0, i32::MAX, name.as_ptr())
                                } else {
                                    CreateEventA(std::ptr::null(), 0, 0, name.as_ptr())
                                }
                            };
                            assert!(!h.is_null(), "create failed: {}", GetLastError());
                            names.lock().unwrap().push((sem, name));
                            let old = slot.swap(h as usize, Ordering::AcqRel);
                            if old != 0 {
                                assert_eq!(CloseHandle(old as HANDLE), TRUE, "closing a handle we own");
                            }
                        }
                        // Take a value out and close it (this thread owns it now).
                        1 => {
                            let old = slot.swap(0, Ordering::AcqRel);
                            if old != 0 {
                                assert_eq!(CloseHandle(old as HANDLE), TRUE, "closing a handle we own");
                            }
                        }
                        // Duplicate whatever is there (it may be closed meanwhile) into a slot.
                        2 => {
                            let h = slot.load(Ordering::Acquire) as HANDLE;
                            let mut dup: HANDLE = std::ptr::null_mut();
                            // SAFETY: `dup` is writable.
                            let ok = unsafe {
                                DuplicateHandle(
                                    current_process(),
                                    h,
                                    current_process(),
                                    &mut dup,
                                    0,
                                    0,
                                    DUPLICATE_SAME_ACCESS,
                                )
                            };
                            if h.is_null() {
                                continue;
                            }
                            ok_or_invalid(ok == TRUE, "DuplicateHandle");
                            if ok == TRUE {
                                let old = slots[rng.next() % SLOTS].swap(dup as usize, Ordering::AcqRel);
                                if old != 0 {
                                    assert_eq!(CloseHandle(old as HANDLE), TRUE);
                                }
                            }
                        }
                        // Signal whatever is there.
                        3 | 4 => {
                            let h = slot.load(Ordering::Acquire) as HANDLE;
                            if h.is_null() {
                                continue;
                            }
                            // The value may name an event or a semaphore (or something new).
                            let ok = SetEvent(h) == TRUE
                                // SAFETY: NULL previous count.
                                || unsafe { ReleaseSemaphore(h, 1, std::ptr::null_mut()) } == TRUE;
                            ok_or_invalid(ok, "SetEvent/ReleaseSemaphore");
                        }
                        // Poll it.
                        5 | 6 => {
                            let h = slot.load(Ordering::Acquire) as HANDLE;
                            if h.is_null() {
                                continue;
                            }
                            let r = WaitForSingleObject(h, rng.next() as u32 % 2);
                            assert!(r == 0 || r == WAIT_TIMEOUT || r == WAIT_FAILED, "wait result {r:#x}");
                            if r == WAIT_FAILED {
                                ok_or_invalid(false, "WaitForSingleObject");
                            }
                        }
                        // Wait for any of a snapshot of every slot.
                        _ => {
                            let hs: Vec<HANDLE> = slots
                                .iter()
                                .map(|s| s.load(Ordering::Acquire) as HANDLE)
                                .filter(|h| !h.is_null())
                                .collect();
                            if hs.is_empty() {
                                continue;
                            }
                            // SAFETY: `hs` holds `hs.len()` handles.
                            let r = unsafe { WaitForMultipleObjects(hs.len() as u32, hs.as_ptr(), 0, 0) };
                            assert!(
                                (r as usize) < hs.len() || r == WAIT_TIMEOUT || r == WAIT_FAILED,
                                "wait-any result {r:#x}"
                            );
                            if r == WAIT_FAILED {
                                ok_or_invalid(false, "WaitForMultipleObjects");
                            }
                        }
                    }
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    common::stop_and_close_ring(Duration::from_secs(3), &stop, threads, &slots);
    let names = names.lock().unwrap();
    assert!(names.len() > 50, "too few objects made ({}) for the test to mean anything", names.len());
    assert!(ops.load(Ordering::Relaxed) > 1000, "too few operations");
    // Every handle is closed: every name must be free again (no leaked entry or reference).
    for (sem, name) in names.iter() {
        // SAFETY: NUL-terminated name.
        let h = unsafe {
            if *sem { OpenSemaphoreA(0x001F_0003, 0, name.as_ptr()) } else { OpenEventA(0x001F_0003, 0, name.as_ptr()) }
        };
        assert!(h.is_null(), "{name:?} still exists after its last handle closed");
        assert_eq!(GetLastError(), ERROR_FILE_NOT_FOUND, "{name:?}");
    }
    let _ = std::fs::remove_dir_all(&root);
}
