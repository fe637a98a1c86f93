//! Times handle cycles through the C ABI (the exported functions, called as C would):
//! named `CreateFileMapping` + `CloseHandle` (non-inheritable and inheritable),
//! `OpenFileMapping` + `CloseHandle` (another handle keeps the object), and
//! `MapViewOfFile` + `UnmapViewOfFile` of a named mapping (the first view of a fresh handle, and
//! a view of a long-lived handle), and the uncontended sync paths (in nanoseconds):
//! `WaitForSingleObject` + `ReleaseMutex`, `ReleaseSemaphore` + `WaitForSingleObject`,
//! `SetEvent` + `WaitForSingleObject` (auto-reset) and `SetEvent` of the last of 64 events +
//! `WaitForMultipleObjects` (wait-any). The comparison with the raw calls and the peers is
//! `bench/run.sh` (BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p filemap-win32 --example handle_cycles [iterations]
//! ```
//!
//! Objects live under `/dev/shm/filemap-cycles-<pid>` (removed at the end). Prints the median of
//! seven rounds per cycle, in microseconds; no thresholds: this is a measuring tool.

#![allow(unsafe_code)] // calling the exported `extern "system"` functions

use std::ffi::CString;
use std::time::Instant;

use filemap_win32::handle_api::CloseHandle;
use filemap_win32::mapping::{CreateFileMappingA, MapViewOfFile, OpenFileMappingA, UnmapViewOfFile};
use filemap_win32::sync::{
    CreateEventA, CreateMutexA, CreateSemaphoreA, ReleaseMutex, ReleaseSemaphore, SetEvent, WaitForMultipleObjects,
    WaitForSingleObject,
};
use filemap_win32::{INVALID_HANDLE_VALUE, SECURITY_ATTRIBUTES, TRUE};

const PAGE_READWRITE: u32 = 0x04;
const FILE_MAP_ALL_ACCESS: u32 = 0x000F_001F;

/// Median of `rounds` timings of `iters` calls of `f`, in microseconds per call.
fn median_us(rounds: usize, iters: u32, mut f: impl FnMut(u32)) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for i in 0..iters {
                f(i);
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(iters)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

// LONG: an experiment script: one measured loop per C call, read in order.
fn main() {
    let iters: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let root = format!("/dev/shm/filemap-cycles-{}", std::process::id());
    std::fs::create_dir_all(&root).expect("create the namespace root");
    // SAFETY: single-threaded, before the library reads the variable.
    unsafe { std::env::set_var("FILEMAP_ROOT", &root) };

    let name = CString::new(format!("Local\\cycles_{}", std::process::id())).expect("name");
    let inherit = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: std::ptr::null_mut(),
        bInheritHandle: TRUE,
    };
    let create = |sa: *const SECURITY_ATTRIBUTES| {
        // SAFETY: `sa` is NULL or points to `inherit`; `name` is NUL-terminated.
        let h = unsafe { CreateFileMappingA(INVALID_HANDLE_VALUE, sa, PAGE_READWRITE, 0, 4096, name.as_ptr()) };
        assert!(!h.is_null(), "CreateFileMappingA failed");
        h
    };
    let view_cycle = |h| {
        let p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        assert!(!p.is_null(), "MapViewOfFile failed");
        // SAFETY: `p` is a view we just mapped and nothing else uses.
        assert!(unsafe { UnmapViewOfFile(p) } != 0, "UnmapViewOfFile failed");
    };

    let create_close = median_us(7, iters, |_| assert!(CloseHandle(create(std::ptr::null())) != 0));
    let create_close_inherit = median_us(7, iters, |_| assert!(CloseHandle(create(&inherit)) != 0));
    let keeper = create(std::ptr::null());
    let open_close = median_us(7, iters, |_| {
        // SAFETY: `name` is NUL-terminated.
        let h = unsafe { OpenFileMappingA(FILE_MAP_ALL_ACCESS, 0, name.as_ptr()) };
        assert!(!h.is_null(), "OpenFileMappingA failed");
        assert!(CloseHandle(h) != 0);
    });
    let view = median_us(7, iters, |_| view_cycle(keeper));
    let first_view = median_us(7, iters / 4, |_| {
        // SAFETY: `name` is NUL-terminated.
        let h = unsafe { OpenFileMappingA(FILE_MAP_ALL_ACCESS, 0, name.as_ptr()) };
        assert!(!h.is_null(), "OpenFileMappingA failed");
        view_cycle(h);
        assert!(CloseHandle(h) != 0);
    }) - open_close;
    assert!(CloseHandle(keeper) != 0);
    let mutex_name = CString::new("Local\\cycles-mutex").expect("no NUL");
    // SAFETY: a NULL security descriptor and a NUL-terminated name.
    let mutex = unsafe { CreateMutexA(std::ptr::null(), 0, mutex_name.as_ptr()) };
    assert!(!mutex.is_null(), "CreateMutexA failed");
    let mutex_ns = 1000.0
        * median_us(7, iters * 100, |_| {
            assert_eq!(WaitForSingleObject(mutex, 0xFFFF_FFFF), 0);
            assert!(ReleaseMutex(mutex) != 0);
        });
    assert!(CloseHandle(mutex) != 0);
    // SAFETY: NULL attributes and an unnamed object.
    let sem = unsafe { CreateSemaphoreA(std::ptr::null(), 0, 1000, std::ptr::null()) };
    assert!(!sem.is_null(), "CreateSemaphoreA failed");
    let sem_ns = 1000.0
        * median_us(7, iters * 100, |_| {
            // SAFETY: NULL previous count.
            assert!(unsafe { ReleaseSemaphore(sem, 1, std::ptr::null_mut()) } != 0);
            assert_eq!(WaitForSingleObject(sem, 0xFFFF_FFFF), 0);
        });
    assert!(CloseHandle(sem) != 0);
    // SAFETY: NULL attributes and unnamed objects.
    let events: Vec<_> = (0..64).map(|_| unsafe { CreateEventA(std::ptr::null(), 0, 0, std::ptr::null()) }).collect();
    assert!(events.iter().all(|e| !e.is_null()), "CreateEventA failed");
    let event_ns = 1000.0
        * median_us(7, iters * 100, |_| {
            assert!(SetEvent(events[0]) != 0);
            assert_eq!(WaitForSingleObject(events[0], 0xFFFF_FFFF), 0);
        });
    let any_ns = 1000.0
        * median_us(7, iters * 10, |_| {
            assert!(SetEvent(events[63]) != 0);
            // SAFETY: `events` holds 64 handles.
            assert_eq!(unsafe { WaitForMultipleObjects(64, events.as_ptr(), 0, 0xFFFF_FFFF) }, 63);
        });
    for e in events {
        assert!(CloseHandle(e) != 0);
    }
    let _ = std::fs::remove_dir_all(&root);

    println!("iterations per round: {iters} (median of 7 rounds)");
    println!("CreateFileMapping + CloseHandle (named)               {create_close:7.2} us");
    println!("CreateFileMapping + CloseHandle (named, inheritable)  {create_close_inherit:7.2} us");
    println!("OpenFileMapping + CloseHandle                         {open_close:7.2} us");
    println!("MapViewOfFile + UnmapViewOfFile (long-lived handle)   {view:7.2} us");
    println!("first MapViewOfFile + UnmapViewOfFile of a new handle {first_view:7.2} us");
    println!("WaitForSingleObject + ReleaseMutex (uncontended)      {mutex_ns:7.1} ns");
    println!("ReleaseSemaphore + WaitForSingleObject                {sem_ns:7.1} ns");
    println!("SetEvent + WaitForSingleObject (auto-reset)           {event_ns:7.1} ns");
    println!("SetEvent + WaitForMultipleObjects (64, last set)      {any_ns:7.1} ns");
}
