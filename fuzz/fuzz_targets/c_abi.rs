//! The C ABI's argument handling: arbitrary handles (live, closed, pseudo, made up), sizes,
//! protections, access masks, flags and names (any bytes, any length, any scope prefix) to
//! CreateFileMappingA, MapViewOfFile, Open{FileMapping,Event,Mutex,Semaphore}A, Create*A,
//! WaitForMultipleObjects and CloseHandle. Every call must return (waits are bounded by the
//! input's timeout), never crash, and every failure must leave a Win32 error code the library
//! knows (GetLastError != 0 and named).
#![no_main]

use std::ffi::CString;
use std::time::{Duration, Instant};

use filemap_win32::{HANDLE, error::GetLastError, handle_api::CloseHandle, mapping, sync};
use libfuzzer_sys::fuzz_target;

struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    /// A small or a wild value: most interesting arguments are flags or small sizes.
    fn value(&mut self) -> u32 {
        match self.byte() % 4 {
            0 => u32::from(self.byte()),
            1 => 1 << (self.byte() % 32),
            _ => self.u32(),
        }
    }
    fn name(&mut self) -> Option<CString> {
        let len = self.byte() as usize;
        if len == 0 {
            return None;
        }
        let prefix: &[u8] = match self.byte() % 4 {
            0 => br"Local\fz",
            1 => br"Global\fz",
            2 => b"fz",
            _ => b"",
        };
        let mut bytes = prefix.to_vec();
        for _ in 0..len % 64 {
            let b = self.byte();
            bytes.push(if b == 0 { b'x' } else { b });
        }
        if len > 200 {
            bytes.resize(300 + len, b'n'); // past MAX_PATH
        }
        Some(CString::new(bytes).unwrap())
    }
}

fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let root = format!("/dev/shm/filemap-fuzz-abi-{}", std::process::id());
        std::fs::create_dir_all(&root).unwrap();
        // SAFETY: set once, before the library first reads the environment.
        unsafe { std::env::set_var("FILEMAP_ROOT", &root) };
    });
}

fn known_error(call: &str) {
    let code = GetLastError();
    assert!(code != 0, "{call} failed without an error code");
    assert!(filemap::Win32Error(code).name().is_some(), "{call} failed with an unknown code {code}");
}

fn ptr(name: &Option<CString>) -> *const std::ffi::c_char {
    name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr())
}

fuzz_target!(|data: &[u8]| {
    setup();
    let mut input = Input(data);
    let mut live: Vec<HANDLE> = Vec::new();
    let mut views: Vec<*mut std::ffi::c_void> = Vec::new();
    for _ in 0..32 {
        if input.0.is_empty() {
            break;
        }
        let pick = |input: &mut Input, live: &Vec<HANDLE>| -> HANDLE {
            match input.byte() % 4 {
                0 | 1 if !live.is_empty() => live[input.byte() as usize % live.len()],
                2 => usize::MAX as HANDLE, // INVALID_HANDLE_VALUE
                _ => input.u32() as usize as HANDLE,
            }
        };
        match input.byte() % 9 {
            0 => {
                let file = pick(&mut input, &live);
                // sizes: small or zero. Capped: a committed mapping reserves its memory at
                // creation, and 20 s with sizes up to 2^64 drove the machine into the OOM killer
                // (not yet isolated: docs/RELIABILITY.md, open leads)
                let protect = input.value();
                let (high, low) = match input.byte() % 2 {
                    0 => (0, input.value() % (4 << 20)),
                    _ => (0, 0),
                };
                let name = input.name();
                // SAFETY: null attributes; the name is NUL-terminated or null.
                let h = unsafe { mapping::CreateFileMappingA(file, std::ptr::null(), protect, high, low, ptr(&name)) };
                if h.is_null() { known_error("CreateFileMappingA") } else { live.push(h) }
            }
            1 => {
                let h = pick(&mut input, &live);
                let (access, high, low, bytes) = (input.value(), 0, input.value() % (8 << 20), input.value() % (8 << 20));
                let v = mapping::MapViewOfFile(h, access, high, low, bytes as usize);
                if v.is_null() { known_error("MapViewOfFile") } else { views.push(v) }
            }
            k @ 2..=5 => {
                let (access, inherit) = (input.value(), i32::from(input.byte() & 1));
                let name = input.name();
                // SAFETY: the name is NUL-terminated or null.
                let h = unsafe {
                    match k {
                        2 => mapping::OpenFileMappingA(access, inherit, ptr(&name)),
                        3 => sync::OpenEventA(access, inherit, ptr(&name)),
                        4 => sync::OpenMutexA(access, inherit, ptr(&name)),
                        _ => sync::OpenSemaphoreA(access, inherit, ptr(&name)),
                    }
                };
                if h.is_null() { known_error("Open*A") } else { live.push(h) }
            }
            6 => {
                let (a, b) = (input.value() as i32, input.value() as i32);
                let name = input.name();
                // SAFETY: null attributes; the name is NUL-terminated or null.
                let h = unsafe {
                    match input.byte() % 3 {
                        0 => sync::CreateEventA(std::ptr::null(), a & 1, b & 1, ptr(&name)),
                        1 => sync::CreateMutexA(std::ptr::null(), a & 1, ptr(&name)),
                        _ => sync::CreateSemaphoreA(std::ptr::null(), a, b, ptr(&name)),
                    }
                };
                if h.is_null() { known_error("Create*A") } else { live.push(h) }
            }
            7 => {
                let n = input.byte() as usize % 70;
                let handles: Vec<HANDLE> = (0..n).map(|_| pick(&mut input, &live)).collect();
                let (all, ms) = (i32::from(input.byte() & 1), u32::from(input.byte() % 4));
                let start = Instant::now();
                // SAFETY: `handles` holds `n` handles.
                let r = unsafe { sync::WaitForMultipleObjects(n as u32, handles.as_ptr(), all, ms) };
                assert!(start.elapsed() < Duration::from_millis(u64::from(ms)) + Duration::from_secs(2), "wait overran");
                if r == 0xFFFF_FFFF { known_error("WaitForMultipleObjects") }
            }
            _ => {
                let h = pick(&mut input, &live);
                if CloseHandle(h) == 0 {
                    known_error("CloseHandle");
                } else {
                    live.retain(|&x| x != h);
                }
            }
        }
    }
    for v in views {
        // SAFETY: each view came from a successful MapViewOfFile and is unmapped once.
        unsafe { mapping::UnmapViewOfFile(v) };
    }
    for h in live {
        CloseHandle(h);
    }
});
