//! System information, time, waits, `FormatMessage`, local memory, console stand-ins.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::{c_char, c_void};
use std::time::Duration;

use filemap::Win32Error;

use crate::error::{Fail, Res, boundary, fail, set_last_error};
use crate::handles;
use crate::strings::{WChar, a_str, to_wide, to_wide_z, w_str};
use crate::{BOOL, DWORD, HANDLE, TRUE};

pub use crate::error::ERROR_NOACCESS;
pub use crate::{INFINITE, MAXIMUM_WAIT_OBJECTS, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT};

/// `SYSTEM_INFO` with the LP64 layout of our `sysinfoapi.h`.
#[repr(C)]
#[derive(Debug)]
pub struct SYSTEM_INFO {
    /// `wProcessorArchitecture` (low 16 bits) and `wReserved`.
    pub dwOemId: DWORD,
    /// Page size (4096).
    pub dwPageSize: DWORD,
    /// Lowest application address (64 KiB).
    pub lpMinimumApplicationAddress: *mut c_void,
    /// Highest application address.
    pub lpMaximumApplicationAddress: *mut c_void,
    /// One bit per online processor.
    pub dwActiveProcessorMask: usize,
    /// Number of online processors.
    pub dwNumberOfProcessors: DWORD,
    /// `PROCESSOR_AMD_X8664` (8664) on x86-64, 0 elsewhere.
    pub dwProcessorType: DWORD,
    /// Allocation granularity (64 KiB): view offsets and addresses are multiples of it.
    pub dwAllocationGranularity: DWORD,
    /// Processor level.
    pub wProcessorLevel: u16,
    /// Processor revision.
    pub wProcessorRevision: u16,
}

/// `GetSystemInfo`: page size, allocation granularity (64 KiB, what `MapViewOfFile` offsets
/// must be multiples of), processor count and architecture. NULL is ignored.
///
/// # Safety
/// `lpSystemInfo` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSystemInfo(lpSystemInfo: *mut SYSTEM_INFO) {
    if lpSystemInfo.is_null() {
        return;
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let (arch, ptype) = if cfg!(target_arch = "x86_64") {
        (9u32, 8664u32)
    } else if cfg!(target_arch = "aarch64") {
        (12, 0)
    } else {
        (0xFFFF, 0)
    };
    let info = SYSTEM_INFO {
        dwOemId: arch,
        dwPageSize: filemap::PAGE_SIZE as u32,
        lpMinimumApplicationAddress: 0x1_0000 as *mut c_void,
        lpMaximumApplicationAddress: 0x7FFF_FFFE_FFFF_usize as *mut c_void,
        dwActiveProcessorMask: if n >= 64 { usize::MAX } else { (1usize << n) - 1 },
        dwNumberOfProcessors: n,
        dwProcessorType: ptype,
        dwAllocationGranularity: filemap::ALLOCATION_GRANULARITY as u32,
        wProcessorLevel: 6,
        wProcessorRevision: 0,
    };
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { lpSystemInfo.write(info) };
}

/// `GetNativeSystemInfo`: the same as [`GetSystemInfo`].
///
/// # Safety
/// `lpSystemInfo` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetNativeSystemInfo(lpSystemInfo: *mut SYSTEM_INFO) {
    // SAFETY: forwarded caller promise.
    unsafe { GetSystemInfo(lpSystemInfo) }
}

fn boot_ms() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    t.tv_sec as u64 * 1000 + t.tv_nsec as u64 / 1_000_000
}

/// `GetTickCount`: milliseconds since boot, wrapping every 49.7 days.
#[unsafe(no_mangle)]
pub extern "system" fn GetTickCount() -> DWORD {
    boot_ms() as u32
}

/// `GetTickCount64`: milliseconds since boot.
#[unsafe(no_mangle)]
pub extern "system" fn GetTickCount64() -> u64 {
    boot_ms()
}

/// `Sleep`: suspends the calling thread for `dwMilliseconds` (`INFINITE` = forever; 0 yields).
#[unsafe(no_mangle)]
pub extern "system" fn Sleep(dwMilliseconds: DWORD) {
    match dwMilliseconds {
        0 => std::thread::yield_now(),
        INFINITE => loop {
            std::thread::park();
        },
        ms => std::thread::sleep(Duration::from_millis(ms.into())),
    }
}

/// `SleepEx`: [`Sleep`], returning 0; with `bAlertable`, queued APCs end the sleep: they run
/// in this thread and it returns `WAIT_IO_COMPLETION` ([`crate::apc`]).
#[unsafe(no_mangle)]
pub extern "system" fn SleepEx(dwMilliseconds: DWORD, bAlertable: BOOL) -> DWORD {
    if bAlertable != 0 {
        return crate::apc::sleep(dwMilliseconds);
    }
    Sleep(dwMilliseconds);
    0
}

/// `FILETIME` units (100 ns) between 1601-01-01 and 1970-01-01.
const EPOCH_DIFF_100NS: u64 = 116_444_736_000_000_000;

/// `GetSystemTimeAsFileTime`: the current UTC time as a `FILETIME` (100 ns since 1601).
///
/// # Safety
/// `lpSystemTimeAsFileTime` must be NULL or point to a writable `FILETIME`.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSystemTimeAsFileTime(lpSystemTimeAsFileTime: *mut [u32; 2]) {
    if lpSystemTimeAsFileTime.is_null() {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ft = EPOCH_DIFF_100NS + now.as_nanos() as u64 / 100;
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { lpSystemTimeAsFileTime.write([ft as u32, (ft >> 32) as u32]) };
}

/// # Safety
/// `out` must be NULL or point to 8 writable WORDs.
unsafe fn system_time(out: *mut [u16; 8], local: bool) {
    if out.is_null() {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: zeroed tm is a valid out-parameter.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to a time_t and a tm.
    unsafe {
        if local {
            libc::localtime_r(&secs, &mut tm);
        } else {
            libc::gmtime_r(&secs, &mut tm);
        }
    }
    let st = [
        (tm.tm_year + 1900) as u16,
        (tm.tm_mon + 1) as u16,
        tm.tm_wday as u16,
        tm.tm_mday as u16,
        tm.tm_hour as u16,
        tm.tm_min as u16,
        tm.tm_sec as u16,
        now.subsec_millis() as u16,
    ];
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { out.write(st) };
}

/// `GetSystemTime`: the current UTC time as a `SYSTEMTIME`.
///
/// # Safety
/// `lpSystemTime` must be NULL or point to a writable `SYSTEMTIME`.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSystemTime(lpSystemTime: *mut [u16; 8]) {
    // SAFETY: forwarded caller promise.
    unsafe { system_time(lpSystemTime, false) }
}

/// `GetLocalTime`: the current local time as a `SYSTEMTIME`.
///
/// # Safety
/// `lpSystemTime` must be NULL or point to a writable `SYSTEMTIME`.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetLocalTime(lpSystemTime: *mut [u16; 8]) {
    // SAFETY: forwarded caller promise.
    unsafe { system_time(lpSystemTime, true) }
}

// ---------------------------------------------------------------------------------------------
// Standard handles
// ---------------------------------------------------------------------------------------------

/// `GetStdHandle`: the handle of standard input (-10), output (-11) or error (-12): the
/// values of descriptors 0, 1 and 2, usable with `ReadFile`/`WriteFile` and as
/// `STARTUPINFO` standard handles. Other values: `INVALID_HANDLE_VALUE`,
/// `ERROR_INVALID_HANDLE`.
#[unsafe(no_mangle)]
pub extern "system" fn GetStdHandle(nStdHandle: DWORD) -> HANDLE {
    match nStdHandle as i32 {
        -10 => handles::value_of(0),
        -11 => handles::value_of(1),
        -12 => handles::value_of(2),
        _ => {
            set_last_error(Win32Error::INVALID_HANDLE.0);
            crate::INVALID_HANDLE_VALUE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// FormatMessage and local memory
// ---------------------------------------------------------------------------------------------

const FORMAT_MESSAGE_ALLOCATE_BUFFER: u32 = 0x100;
const FORMAT_MESSAGE_IGNORE_INSERTS: u32 = 0x200;
const FORMAT_MESSAGE_FROM_STRING: u32 = 0x400;
const FORMAT_MESSAGE_FROM_HMODULE: u32 = 0x800;
const FORMAT_MESSAGE_FROM_SYSTEM: u32 = 0x1000;
const FORMAT_MESSAGE_ARGUMENT_ARRAY: u32 = 0x2000;
const FORMAT_MESSAGE_MAX_WIDTH_MASK: u32 = 0xFF;
const ERROR_MR_MID_NOT_FOUND: u32 = 317;
const ERROR_RESOURCE_LANG_NOT_FOUND: u32 = 15100;

/// The message text for `FORMAT_MESSAGE_FROM_SYSTEM`: Windows' text for the codes this
/// library knows, ending in CRLF as Windows' do.
fn system_message(id: u32) -> Option<String> {
    let code = Win32Error(id);
    let text = match id {
        0 => "The operation completed successfully.",
        _ if code.name().is_some() => code.description(),
        259 => "No more data is available.",
        1359 => "An internal error occurred.",
        998 => "Invalid access to memory location.",
        267 => "The directory name is invalid.",
        317 => "The system cannot find message text for message number 0x%1 in the message file for %2.",
        _ => return None,
    };
    Some(format!("{text}\r\n"))
}

/// Expands a message's escapes and, with `FORMAT_MESSAGE_ARGUMENT_ARRAY`, its `%1`..`%99`
/// inserts (each a string pointer, or an integer with a `!d!`, `!u!`, `!x!`, `!X!`, `!lu!`,
/// `!ld!` or `!s!` format).
fn expand(text: &str, flags: u32, args: *const usize, wide: bool) -> Res<String> {
    let ignore = flags & FORMAT_MESSAGE_IGNORE_INSERTS != 0;
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        if next.is_ascii_digit() && next != '0' {
            let (n, spec, j) = parse_insert(&chars, i);
            if ignore {
                out.extend(&chars[i..j]);
            } else if flags & FORMAT_MESSAGE_ARGUMENT_ARRAY != 0 && !args.is_null() {
                // SAFETY: with ARGUMENT_ARRAY the caller passes an array holding insert `n`.
                let arg = unsafe { *args.add(n - 1) };
                // SAFETY: the insert's format says what the caller passed in `arg`.
                out.push_str(&unsafe { format_insert(arg, &spec, wide) }?);
            } else {
                // Inserts from a va_list cannot be read portably from Rust.
                return fail(Win32Error::INVALID_PARAMETER);
            }
            i = j;
            continue;
        }
        match next {
            '0' => break,
            'n' => out.push_str("\r\n"),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '%' | '.' | '!' | ' ' => out.push(next),
            other => {
                out.push('%');
                out.push(other);
            }
        }
        i += 2;
    }
    Ok(out)
}

/// The insert `%n` or `%n!spec!` starting at `chars[at]` (`%` followed by a digit 1-9): its
/// number (1-99), its printf-like format (`s` when none is given) and the index after it.
fn parse_insert(chars: &[char], at: usize) -> (usize, String, usize) {
    let mut j = at + 1;
    let mut n = 0usize;
    while j < chars.len() && chars[j].is_ascii_digit() && j < at + 3 {
        n = n * 10 + chars[j].to_digit(10).unwrap_or(0) as usize;
        j += 1;
    }
    let mut spec = String::from("s");
    if j < chars.len()
        && chars[j] == '!'
        && let Some(end) = chars[j + 1..].iter().position(|&c| c == '!')
    {
        spec = chars[j + 1..j + 1 + end].iter().collect();
        j += end + 2;
    }
    (n, spec, j)
}

/// One insert's text: `arg` formatted as `spec` says (an integer, or a narrow or wide string
/// pointer: `s` follows the A/W entry point, `hs`/`S`/`ls`/`ws` name one explicitly).
///
/// # Safety
/// For a string format, `arg` is 0 or the address of a NUL-terminated string of that width.
unsafe fn format_insert(arg: usize, spec: &str, wide: bool) -> Res<String> {
    Ok(match spec {
        "d" | "i" | "ld" | "li" => (arg as i32).to_string(),
        "u" | "lu" => (arg as u32).to_string(),
        "x" | "lx" => format!("{:x}", arg as u32),
        "X" | "lX" => format!("{:X}", arg as u32),
        "s" | "hs" | "S" | "ls" | "ws" => {
            let narrow = spec == "hs" || (spec == "S") == wide || (!wide && spec == "s");
            if arg == 0 {
                "(null)".to_owned()
            } else if narrow {
                // SAFETY: a NUL-terminated string argument (this function's contract).
                unsafe { a_str(arg as *const c_char) }?.unwrap_or_default()
            } else {
                // SAFETY: a NUL-terminated wide string argument (this function's contract).
                unsafe { w_str(arg as *const WChar) }?.unwrap_or_default()
            }
        }
        _ => return fail(Win32Error::INVALID_PARAMETER),
    })
}

/// # Safety
/// The pointers of the exports.
#[allow(clippy::too_many_arguments)]
unsafe fn format_message(
    flags: u32,
    source: *const c_void,
    id: u32,
    language: u32,
    buffer: *mut c_void,
    size: u32,
    args: *const usize,
    wide: bool,
) -> Res<DWORD> {
    let text = if flags & FORMAT_MESSAGE_FROM_STRING != 0 {
        if source.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: a NUL-terminated string (caller's promise).
        unsafe { if wide { w_str(source.cast()) } else { a_str(source.cast()) } }?.unwrap_or_default()
    } else if flags & FORMAT_MESSAGE_FROM_SYSTEM != 0 {
        let primary = language & 0x3FF;
        if language != 0 && primary != 0 && primary != 0x09 && primary != 0x7F {
            return Err(Fail(ERROR_RESOURCE_LANG_NOT_FOUND));
        }
        system_message(id).ok_or(Fail(ERROR_MR_MID_NOT_FOUND))?
    } else if flags & FORMAT_MESSAGE_FROM_HMODULE != 0 {
        return Err(Fail(ERROR_MR_MID_NOT_FOUND));
    } else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    let mut text = if flags & FORMAT_MESSAGE_FROM_SYSTEM != 0 && flags & FORMAT_MESSAGE_ARGUMENT_ARRAY == 0 {
        // System messages are used with IGNORE_INSERTS in practice; ours have none anyway.
        expand(&text, flags | FORMAT_MESSAGE_IGNORE_INSERTS, args, wide)?
    } else {
        expand(&text, flags, args, wide)?
    };
    if flags & FORMAT_MESSAGE_MAX_WIDTH_MASK == FORMAT_MESSAGE_MAX_WIDTH_MASK {
        text = text.trim_end_matches(['\r', '\n']).replace("\r\n", " ");
    }
    if buffer.is_null() {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    let units: Vec<u8> = if wide {
        to_wide_z(&text).iter().flat_map(|u| u.to_ne_bytes()).collect()
    } else {
        text.bytes().chain(std::iter::once(0)).collect()
    };
    let unit = if wide { size_of::<WChar>() } else { 1 };
    let len = units.len() / unit - 1;
    if flags & FORMAT_MESSAGE_ALLOCATE_BUFFER != 0 {
        let bytes = units.len().max(size as usize * unit);
        // SAFETY: malloc of a positive size; freed by LocalFree (free).
        let mem = unsafe { libc::malloc(bytes) } as *mut u8;
        if mem.is_null() {
            return fail(Win32Error::NOT_ENOUGH_MEMORY);
        }
        // SAFETY: `mem` holds at least units.len() bytes; `buffer` is really a pointer to the
        // caller's pointer variable with ALLOCATE_BUFFER (caller's promise).
        unsafe {
            std::ptr::copy_nonoverlapping(units.as_ptr(), mem, units.len());
            (buffer as *mut *mut u8).write(mem);
        }
    } else {
        if (size as usize) < len + 1 {
            return fail(Win32Error::INSUFFICIENT_BUFFER);
        }
        // SAFETY: the buffer holds `size` >= len + 1 units (caller's promise, checked).
        unsafe { std::ptr::copy_nonoverlapping(units.as_ptr(), buffer as *mut u8, units.len()) };
    }
    Ok(len as u32)
}

/// `FormatMessageA`: formats a message. Supports `FORMAT_MESSAGE_FROM_SYSTEM` (Windows' text
/// for the codes this library uses, ending in CRLF; unknown codes fail with
/// `ERROR_MR_MID_NOT_FOUND`), `FORMAT_MESSAGE_FROM_STRING`, `FORMAT_MESSAGE_ALLOCATE_BUFFER`
/// (free with `LocalFree`), `FORMAT_MESSAGE_IGNORE_INSERTS`, `FORMAT_MESSAGE_ARGUMENT_ARRAY`
/// and `FORMAT_MESSAGE_MAX_WIDTH_MASK`; English or neutral languages only
/// (`ERROR_RESOURCE_LANG_NOT_FOUND`). Inserts from a `va_list` (without `ARGUMENT_ARRAY` or
/// `IGNORE_INSERTS`) fail with `ERROR_INVALID_PARAMETER`. Returns the length without the NUL,
/// 0 on failure.
///
/// # Safety
/// As on Windows: `lpBuffer` is a `LPSTR*` with `ALLOCATE_BUFFER`, else writable for `nSize`
/// chars; `lpSource` a string with `FROM_STRING`; `Arguments` an array with `ARGUMENT_ARRAY`.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn FormatMessageA(
    dwFlags: DWORD,
    lpSource: *const c_void,
    dwMessageId: DWORD,
    dwLanguageId: DWORD,
    lpBuffer: *mut c_char,
    nSize: DWORD,
    Arguments: *const usize,
) -> DWORD {
    boundary(0, || {
        // SAFETY: forwarded caller promises.
        unsafe {
            format_message(dwFlags, lpSource, dwMessageId, dwLanguageId, lpBuffer.cast(), nSize, Arguments, false)
        }
    })
}

/// `FormatMessageW`: [`FormatMessageA`] producing wide text.
///
/// # Safety
/// As [`FormatMessageA`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn FormatMessageW(
    dwFlags: DWORD,
    lpSource: *const c_void,
    dwMessageId: DWORD,
    dwLanguageId: DWORD,
    lpBuffer: *mut WChar,
    nSize: DWORD,
    Arguments: *const usize,
) -> DWORD {
    boundary(0, || {
        // SAFETY: forwarded caller promises.
        unsafe { format_message(dwFlags, lpSource, dwMessageId, dwLanguageId, lpBuffer.cast(), nSize, Arguments, true) }
    })
}

/// `LocalAlloc`: `malloc` (`LMEM_ZEROINIT` zeroes); handles are plain pointers (movable
/// memory is never moved). NULL with `ERROR_NOT_ENOUGH_MEMORY` on failure.
#[unsafe(no_mangle)]
pub extern "system" fn LocalAlloc(uFlags: u32, uBytes: usize) -> *mut c_void {
    // SAFETY: calloc/malloc of at least one byte.
    let p = unsafe { if uFlags & 0x40 != 0 { libc::calloc(1, uBytes.max(1)) } else { libc::malloc(uBytes.max(1)) } };
    if p.is_null() {
        set_last_error(Win32Error::NOT_ENOUGH_MEMORY.0);
    }
    p
}

/// `LocalFree`: frees memory from `LocalAlloc` or `FormatMessage(ALLOCATE_BUFFER)`; returns
/// NULL (success).
///
/// # Safety
/// `hMem` must be NULL or a pointer from those functions, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn LocalFree(hMem: *mut c_void) -> *mut c_void {
    // SAFETY: NULL or a live malloc'd pointer (caller's promise).
    unsafe { libc::free(hMem) };
    std::ptr::null_mut()
}

/// `GlobalAlloc`: as [`LocalAlloc`] (`GMEM_ZEROINIT` zeroes).
#[unsafe(no_mangle)]
pub extern "system" fn GlobalAlloc(uFlags: u32, dwBytes: usize) -> *mut c_void {
    LocalAlloc(uFlags, dwBytes)
}

/// `GlobalFree`: as [`LocalFree`].
///
/// # Safety
/// As [`LocalFree`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GlobalFree(hMem: *mut c_void) -> *mut c_void {
    // SAFETY: forwarded caller promise.
    unsafe { LocalFree(hMem) }
}

// ---------------------------------------------------------------------------------------------
// Console stand-ins
// ---------------------------------------------------------------------------------------------

/// `AllocConsole`: the process already has its terminal (or redirections): succeeds, does
/// nothing.
#[unsafe(no_mangle)]
pub extern "system" fn AllocConsole() -> BOOL {
    TRUE
}

/// `FreeConsole`: succeeds, does nothing.
#[unsafe(no_mangle)]
pub extern "system" fn FreeConsole() -> BOOL {
    TRUE
}

/// `SetConsoleTitleA`: succeeds, does nothing (NULL fails with `ERROR_INVALID_PARAMETER`).
///
/// # Safety
/// `lpConsoleTitle` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetConsoleTitleA(lpConsoleTitle: *const c_char) -> BOOL {
    if lpConsoleTitle.is_null() {
        set_last_error(Win32Error::INVALID_PARAMETER.0);
        return 0;
    }
    TRUE
}

/// `SetConsoleTitleW`: as [`SetConsoleTitleA`].
///
/// # Safety
/// `lpConsoleTitle` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetConsoleTitleW(lpConsoleTitle: *const WChar) -> BOOL {
    if lpConsoleTitle.is_null() {
        set_last_error(Win32Error::INVALID_PARAMETER.0);
        return 0;
    }
    TRUE
}

/// `GetConsoleWindow`: there is no console window: NULL.
#[unsafe(no_mangle)]
pub extern "system" fn GetConsoleWindow() -> *mut c_void {
    std::ptr::null_mut()
}

unsafe extern "C" {
    /// glibc's C `stdout` stream.
    static mut stdout: *mut libc::FILE;
}

/// Writes to the C library's `stdout` (so the text is ordered with the program's `printf`
/// output) and flushes it.
fn c_stdout_write(text: &str) {
    let Ok(c) = std::ffi::CString::new(text.replace('\0', "")) else { return };
    // SAFETY: reading the glibc `stdout` pointer (initialised before main); fputs/fflush on
    // it with a NUL-terminated string.
    unsafe {
        let out = stdout;
        libc::fputs(c.as_ptr(), out);
        libc::fflush(out);
    }
}

const MB_TYPEMASK: u32 = 0xF;

fn message_box(text: Option<String>, caption: Option<String>, kind: u32) -> i32 {
    let caption = caption.unwrap_or_else(|| "Error".to_owned());
    c_stdout_write(&format!("{caption}: {}\n", text.unwrap_or_default()));
    match kind & MB_TYPEMASK {
        2 => 3,     // MB_ABORTRETRYIGNORE -> IDABORT
        3 | 4 => 6, // MB_YESNOCANCEL, MB_YESNO -> IDYES
        5 => 4,     // MB_RETRYCANCEL -> IDRETRY
        6 => 2,     // MB_CANCELTRYCONTINUE -> IDCANCEL
        _ => 1,     // MB_OK, MB_OKCANCEL -> IDOK
    }
}

/// `MessageBoxA`: a console stand-in. There are no windows: it writes `caption: text` and a
/// newline to standard output (through C stdio, flushed) and returns at once as if the first
/// button were pressed (`IDOK`, or `IDYES`/`IDABORT`/`IDRETRY`/`IDCANCEL` by box type). A NULL
/// caption prints as `Error`, as Windows titles it.
///
/// # Safety
/// `lpText` and `lpCaption` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn MessageBoxA(
    _hWnd: *mut c_void,
    lpText: *const c_char,
    lpCaption: *const c_char,
    uType: u32,
) -> i32 {
    boundary(0, || {
        // SAFETY: forwarded caller promise.
        let (text, caption) = unsafe { (a_str(lpText)?, a_str(lpCaption)?) };
        Ok(message_box(text, caption, uType))
    })
}

/// `MessageBoxW`: [`MessageBoxA`] with wide strings (printed as UTF-8).
///
/// # Safety
/// `lpText` and `lpCaption` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn MessageBoxW(
    _hWnd: *mut c_void,
    lpText: *const WChar,
    lpCaption: *const WChar,
    uType: u32,
) -> i32 {
    boundary(0, || {
        // SAFETY: forwarded caller promise.
        let (text, caption) = unsafe { (w_str(lpText)?, w_str(lpCaption)?) };
        Ok(message_box(text, caption, uType))
    })
}

// ---------------------------------------------------------------------------------------------
// Module file name, command line, environment
// ---------------------------------------------------------------------------------------------

fn copy_out_a(text: &str, buffer: *mut c_char, size: u32) -> u32 {
    let bytes = text.as_bytes();
    if buffer.is_null() || size == 0 {
        set_last_error(Win32Error::INSUFFICIENT_BUFFER.0);
        return 0;
    }
    let n = bytes.len().min(size as usize - 1);
    // SAFETY: the caller's buffer holds `size` bytes; we write n + 1 <= size.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer.cast(), n);
        buffer.add(n).write(0);
    }
    if n < bytes.len() {
        set_last_error(Win32Error::INSUFFICIENT_BUFFER.0);
        return size; // truncated, as Windows reports it
    }
    n as u32
}

fn copy_out_w(text: &str, buffer: *mut WChar, size: u32) -> u32 {
    let wide = to_wide(text);
    if buffer.is_null() || size == 0 {
        set_last_error(Win32Error::INSUFFICIENT_BUFFER.0);
        return 0;
    }
    let n = wide.len().min(size as usize - 1);
    // SAFETY: the caller's buffer holds `size` units; we write n + 1 <= size.
    unsafe {
        std::ptr::copy_nonoverlapping(wide.as_ptr(), buffer, n);
        buffer.add(n).write(0);
    }
    if n < wide.len() {
        set_last_error(Win32Error::INSUFFICIENT_BUFFER.0);
        return size;
    }
    n as u32
}

fn module_path(module: *mut c_void) -> Res<String> {
    if !module.is_null() && module != crate::library::main_module() {
        // A DLL loaded with LoadLibrary, or ERROR_MOD_NOT_FOUND.
        return crate::library::path_of(module).ok_or(Fail(crate::library::ERROR_MOD_NOT_FOUND));
    }
    let exe = std::fs::read_link("/proc/self/exe").map_err(Fail::from)?;
    Ok(exe.to_string_lossy().into_owned())
}

/// `GetModuleFileNameA`: the program's path (`hModule` NULL or `GetModuleHandle(NULL)`).
/// Returns the length copied; a buffer too small gets the truncated, terminated path, the
/// return value `nSize` and `ERROR_INSUFFICIENT_BUFFER`, as on Windows.
///
/// # Safety
/// `lpFilename` must be writable for `nSize` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetModuleFileNameA(hModule: *mut c_void, lpFilename: *mut c_char, nSize: DWORD) -> DWORD {
    boundary(0, || Ok(copy_out_a(&module_path(hModule)?, lpFilename, nSize)))
}

/// `GetModuleFileNameW`: [`GetModuleFileNameA`] in wide characters.
///
/// # Safety
/// `lpFilename` must be writable for `nSize` units.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetModuleFileNameW(hModule: *mut c_void, lpFilename: *mut WChar, nSize: DWORD) -> DWORD {
    boundary(0, || Ok(copy_out_w(&module_path(hModule)?, lpFilename, nSize)))
}

fn module_handle(name: Option<String>) -> Res<*mut c_void> {
    match name {
        None => Ok(crate::library::main_module()),
        Some(n) => crate::library::find(&n).ok_or(Fail(crate::library::ERROR_MOD_NOT_FOUND)),
    }
}

/// `GetModuleHandleA`: NULL gives the program's module handle; a name, a DLL loaded with
/// `LoadLibrary` (file name, case ignored, with or without extension), `kernel32`,
/// `kernelbase` or `ntdll` (this library, always loaded as on Windows) or another system DLL
/// after `LoadLibrary`; otherwise NULL with `ERROR_MOD_NOT_FOUND` (126). No reference is
/// counted.
///
/// # Safety
/// `lpModuleName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetModuleHandleA(lpModuleName: *const c_char) -> *mut c_void {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || module_handle(unsafe { a_str(lpModuleName) }?))
}

/// `GetModuleHandleW`: as [`GetModuleHandleA`].
///
/// # Safety
/// `lpModuleName` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetModuleHandleW(lpModuleName: *const WChar) -> *mut c_void {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || module_handle(unsafe { w_str(lpModuleName) }?))
}

/// The command line rebuilt from `argv` the way Windows programs quote it (arguments with
/// spaces, tabs or quotes in double quotes, backslashes doubled before a quote), so that
/// `CommandLineToArgvW` rules give the same arguments back.
fn command_line() -> String {
    quote_args(std::env::args_os().map(|a| a.to_string_lossy().into_owned()))
}

/// Joins arguments into a Windows command line (see [`command_line`]).
fn quote_args(args: impl Iterator<Item = String>) -> String {
    let mut line = String::new();
    for (i, arg) in args.enumerate() {
        if i > 0 {
            line.push(' ');
        }
        if !arg.is_empty() && !arg.contains([' ', '\t', '"']) {
            line.push_str(&arg);
            continue;
        }
        line.push('"');
        let mut backslashes = 0;
        for c in arg.chars() {
            match c {
                '\\' => backslashes += 1,
                '"' => {
                    line.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                    line.push('"');
                    backslashes = 0;
                }
                c => {
                    line.extend(std::iter::repeat_n('\\', backslashes));
                    line.push(c);
                    backslashes = 0;
                }
            }
        }
        line.extend(std::iter::repeat_n('\\', backslashes * 2));
        line.push('"');
    }
    line
}

/// `GetCommandLineA`: this process's command line, rebuilt from `argv` with Windows quoting
/// (valid for the life of the process).
#[unsafe(no_mangle)]
pub extern "system" fn GetCommandLineA() -> *const c_char {
    static LINE: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    LINE.get_or_init(|| std::ffi::CString::new(command_line().replace('\0', "")).unwrap_or_default()).as_ptr()
}

/// `GetCommandLineW`: [`GetCommandLineA`] in wide characters.
#[unsafe(no_mangle)]
pub extern "system" fn GetCommandLineW() -> *const WChar {
    static LINE: std::sync::OnceLock<Vec<WChar>> = std::sync::OnceLock::new();
    LINE.get_or_init(|| to_wide_z(&command_line())).as_ptr()
}

/// # Safety
/// `name` NULL or NUL-terminated.
unsafe fn env_get(name: Option<String>) -> Res<Option<String>> {
    let Some(name) = name else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    let c = std::ffi::CString::new(name).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
    // SAFETY: getenv with a NUL-terminated name; the value is copied at once (programs that
    // change the environment from another thread meanwhile race, as with C's getenv).
    let value = unsafe { libc::getenv(c.as_ptr()) };
    if value.is_null() {
        return Ok(None);
    }
    // SAFETY: getenv returned a NUL-terminated string.
    Ok(Some(unsafe { std::ffi::CStr::from_ptr(value) }.to_string_lossy().into_owned()))
}

const ERROR_ENVVAR_NOT_FOUND: u32 = 203;

/// `GetEnvironmentVariableA`: copies the variable's value; returns its length, or the size
/// needed (with the NUL) if `nSize` is too small, or 0 with `ERROR_ENVVAR_NOT_FOUND`.
///
/// # Safety
/// `lpName` NUL-terminated; `lpBuffer` writable for `nSize` bytes (or NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetEnvironmentVariableA(
    lpName: *const c_char,
    lpBuffer: *mut c_char,
    nSize: DWORD,
) -> DWORD {
    boundary(0, || {
        // SAFETY: forwarded caller promise.
        let Some(value) = (unsafe { env_get(a_str(lpName)?) })? else {
            return Err(Fail(ERROR_ENVVAR_NOT_FOUND));
        };
        if (nSize as usize) < value.len() + 1 || lpBuffer.is_null() {
            return Ok(value.len() as u32 + 1);
        }
        Ok(copy_out_a(&value, lpBuffer, nSize))
    })
}

/// `GetEnvironmentVariableW`: [`GetEnvironmentVariableA`] in wide characters.
///
/// # Safety
/// `lpName` NUL-terminated; `lpBuffer` writable for `nSize` units (or NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetEnvironmentVariableW(
    lpName: *const WChar,
    lpBuffer: *mut WChar,
    nSize: DWORD,
) -> DWORD {
    boundary(0, || {
        // SAFETY: forwarded caller promise.
        let Some(value) = (unsafe { env_get(w_str(lpName)?) })? else {
            return Err(Fail(ERROR_ENVVAR_NOT_FOUND));
        };
        let units = value.chars().count();
        if (nSize as usize) < units + 1 || lpBuffer.is_null() {
            return Ok(units as u32 + 1);
        }
        Ok(copy_out_w(&value, lpBuffer, nSize))
    })
}

fn env_set(name: Option<String>, value: Option<String>) -> Res<BOOL> {
    let Some(name) = name.filter(|n| !n.is_empty() && !n.contains('=')) else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    let c_name = std::ffi::CString::new(name).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
    // SAFETY: setenv/unsetenv with NUL-terminated strings. Like C's setenv, this races with
    // getenv in other threads; Win32 programs calling SetEnvironmentVariable accept that.
    let r = unsafe {
        match value {
            Some(v) => {
                let c_value = std::ffi::CString::new(v).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
                libc::setenv(c_name.as_ptr(), c_value.as_ptr(), 1)
            }
            None => libc::unsetenv(c_name.as_ptr()),
        }
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(TRUE)
}

/// `SetEnvironmentVariableA`: sets (or with a NULL value removes) a variable of this process;
/// children started afterwards inherit it.
///
/// # Safety
/// Both strings NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetEnvironmentVariableA(lpName: *const c_char, lpValue: *const c_char) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(0, || unsafe { env_set(a_str(lpName)?, a_str(lpValue)?) })
}

/// `SetEnvironmentVariableW`: [`SetEnvironmentVariableA`] with wide strings.
///
/// # Safety
/// Both strings NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetEnvironmentVariableW(lpName: *const WChar, lpValue: *const WChar) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(0, || unsafe { env_set(w_str(lpName)?, w_str(lpValue)?) })
}

// ---------------------------------------------------------------------------------------------
// Performance counter
// ---------------------------------------------------------------------------------------------

/// The performance counter's frequency: 10 MHz (100 ns ticks), as on Windows 10 and later.
pub const PERFORMANCE_FREQUENCY: i64 = 10_000_000;

/// `QueryPerformanceCounter`: the monotonic clock (`CLOCK_MONOTONIC`) in 100 ns ticks, so
/// differences divided by [`QueryPerformanceFrequency`]'s value are seconds. FALSE with
/// `ERROR_NOACCESS` for NULL.
///
/// # Safety
/// `lpPerformanceCount` NULL or writable (a `LARGE_INTEGER`).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn QueryPerformanceCounter(lpPerformanceCount: *mut i64) -> BOOL {
    if lpPerformanceCount.is_null() {
        set_last_error(crate::error::ERROR_NOACCESS);
        return 0;
    }
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let ticks = now.tv_sec.saturating_mul(PERFORMANCE_FREQUENCY) + now.tv_nsec / 100;
    // SAFETY: non-NULL and writable (caller's promise); LARGE_INTEGER may be unaligned.
    unsafe { lpPerformanceCount.write_unaligned(ticks) };
    1
}

/// `QueryPerformanceFrequency`: 10,000,000 ticks per second. FALSE with `ERROR_NOACCESS` for
/// NULL.
///
/// # Safety
/// `lpFrequency` NULL or writable (a `LARGE_INTEGER`).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn QueryPerformanceFrequency(lpFrequency: *mut i64) -> BOOL {
    if lpFrequency.is_null() {
        set_last_error(crate::error::ERROR_NOACCESS);
        return 0;
    }
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { lpFrequency.write_unaligned(PERFORMANCE_FREQUENCY) };
    1
}

// ---------------------------------------------------------------------------------------------
// Temporary file names, system directories, computer and user names
// ---------------------------------------------------------------------------------------------

/// `ERROR_BUFFER_OVERFLOW` (111).
const ERROR_BUFFER_OVERFLOW: u32 = 111;
/// `MAX_PATH`.
const MAX_PATH: usize = 260;

fn temp_file_name(path: Option<String>, prefix: Option<String>, unique: u32) -> Res<(String, u32)> {
    let Some(mut dir) = path else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    if dir.is_empty() {
        dir.push('.');
    }
    if !dir.ends_with('/') && !dir.ends_with('\\') {
        dir.push('/');
    }
    let prefix: String = prefix.unwrap_or_default().chars().take(3).collect();
    let name = |u: u32| format!("{dir}{prefix}{u:X}.tmp");
    if name(0xFFFF).len() + 1 > MAX_PATH {
        return Err(Fail(ERROR_BUFFER_OVERFLOW));
    }
    if unique != 0 {
        return Ok((name(unique & 0xFFFF), unique & 0xFFFF));
    }
    let meta = std::fs::metadata(&dir).map_err(|_| Fail(crate::error::ERROR_DIRECTORY))?;
    if !meta.is_dir() {
        return Err(Fail(crate::error::ERROR_DIRECTORY));
    }
    let start = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
        / 1000) as u32
        & 0xFFFF;
    let mut u = start.max(1);
    loop {
        let candidate = name(u);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(_) => return Ok((candidate, u)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                u = if u == 0xFFFF { 1 } else { u + 1 };
                if u == start.max(1) {
                    return Err(Fail(80)); // ERROR_FILE_EXISTS: every name is taken
                }
            }
            Err(e) => return Err(Fail::from(rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))),
        }
    }
}

/// `GetTempFileNameA`: a name `<path>/<first 3 chars of prefix><hex>.tmp` in
/// `lpTempFileName` (at least `MAX_PATH` bytes). `uUnique` 0: a new number is chosen and the
/// (empty) file is created so the name stays unique; otherwise the name uses `uUnique`'s low 16
/// bits and no file is created. Returns the number used; 0 with `ERROR_DIRECTORY` (no such
/// directory), `ERROR_BUFFER_OVERFLOW` (the name would not fit `MAX_PATH`) or the creation's
/// error. A `\` ending the path is kept, otherwise `/` separates.
///
/// # Safety
/// `lpPathName` and `lpPrefixString` NULL or NUL-terminated; `lpTempFileName` writable for
/// `MAX_PATH` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetTempFileNameA(
    lpPathName: *const c_char,
    lpPrefixString: *const c_char,
    uUnique: u32,
    lpTempFileName: *mut c_char,
) -> u32 {
    boundary(0, || {
        if lpTempFileName.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: forwarded caller promises.
        let (name, u) = temp_file_name(unsafe { a_str(lpPathName) }?, unsafe { a_str(lpPrefixString) }?, uUnique)?;
        copy_out_a(&name, lpTempFileName, MAX_PATH as u32);
        Ok(u)
    })
}

/// `GetTempFileNameW`: [`GetTempFileNameA`] with wide strings.
///
/// # Safety
/// As [`GetTempFileNameA`], in wide characters.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetTempFileNameW(
    lpPathName: *const WChar,
    lpPrefixString: *const WChar,
    uUnique: u32,
    lpTempFileName: *mut WChar,
) -> u32 {
    boundary(0, || {
        if lpTempFileName.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: forwarded caller promises.
        let (name, u) = temp_file_name(unsafe { w_str(lpPathName) }?, unsafe { w_str(lpPrefixString) }?, uUnique)?;
        copy_out_w(&name, lpTempFileName, MAX_PATH as u32);
        Ok(u)
    })
}

/// The directory `GetSystemDirectory` reports (where shared libraries live).
const SYSTEM_DIRECTORY: &str = "/usr/lib";
/// The directory `GetWindowsDirectory` reports.
const WINDOWS_DIRECTORY: &str = "/usr";

/// The `GetSystemDirectory` convention: the length without the NUL if it fits, else the size
/// needed with the NUL (nothing written).
fn dir_out_a(text: &str, buffer: *mut c_char, size: u32) -> u32 {
    let need = text.len() as u32 + 1;
    if buffer.is_null() || size < need {
        return need;
    }
    copy_out_a(text, buffer, size)
}

fn dir_out_w(text: &str, buffer: *mut WChar, size: u32) -> u32 {
    let need = text.chars().count() as u32 + 1;
    if buffer.is_null() || size < need {
        return need;
    }
    copy_out_w(text, buffer, size)
}

/// `GetSystemDirectoryA`: `/usr/lib` (the system's shared libraries, as System32 holds the
/// DLLs). Returns the length copied, or the size needed with the NUL if `uSize` is too small.
///
/// # Safety
/// `lpBuffer` writable for `uSize` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSystemDirectoryA(lpBuffer: *mut c_char, uSize: u32) -> u32 {
    dir_out_a(SYSTEM_DIRECTORY, lpBuffer, uSize)
}

/// `GetSystemDirectoryW`: [`GetSystemDirectoryA`] in wide characters.
///
/// # Safety
/// `lpBuffer` writable for `uSize` units.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSystemDirectoryW(lpBuffer: *mut WChar, uSize: u32) -> u32 {
    dir_out_w(SYSTEM_DIRECTORY, lpBuffer, uSize)
}

/// `GetWindowsDirectoryA`: `/usr`, with [`GetSystemDirectoryA`]'s return convention.
///
/// # Safety
/// `lpBuffer` writable for `uSize` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetWindowsDirectoryA(lpBuffer: *mut c_char, uSize: u32) -> u32 {
    dir_out_a(WINDOWS_DIRECTORY, lpBuffer, uSize)
}

/// `GetWindowsDirectoryW`: [`GetWindowsDirectoryA`] in wide characters.
///
/// # Safety
/// `lpBuffer` writable for `uSize` units.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetWindowsDirectoryW(lpBuffer: *mut WChar, uSize: u32) -> u32 {
    dir_out_w(WINDOWS_DIRECTORY, lpBuffer, uSize)
}

/// The NetBIOS-style computer name: the host name up to its first dot, upper-cased, at most
/// `MAX_COMPUTERNAME_LENGTH` (15) characters, as Windows reports it.
fn computer_name() -> String {
    let uname = rustix::system::uname();
    let host = uname.nodename().to_string_lossy();
    host.split('.').next().unwrap_or("").to_uppercase().chars().take(15).collect()
}

/// The effective user's login name (the user database through NSS, else `$USER`).
fn user_name() -> Res<String> {
    if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::geteuid()) {
        return Ok(user.name);
    }
    std::env::var("USER").map_err(|_| Fail(1332)) // ERROR_NONE_MAPPED
}

/// Writes `text` for the `GetComputerName`/`GetUserName` conventions: `*size` in, the buffer's
/// capacity in units; out, `with_nul_on_success` ? length + 1 : length, or the size needed with
/// the NUL and `error` when it does not fit.
///
/// # Safety
/// `size` NULL or read/writable; `write` writes at most `*size` units.
unsafe fn name_out(
    text_units: usize,
    size: *mut DWORD,
    error: u32,
    with_nul_on_success: bool,
    write: impl FnOnce(u32),
) -> Res<BOOL> {
    if size.is_null() {
        return Err(Fail(crate::error::ERROR_NOACCESS));
    }
    // SAFETY: non-NULL (checked) and read/writable (caller's promise).
    let cap = unsafe { size.read() } as usize;
    let need = text_units + 1;
    if cap < need {
        // SAFETY: as above.
        unsafe { size.write(need as u32) };
        return Err(Fail(error));
    }
    write(cap as u32);
    // SAFETY: as above.
    unsafe { size.write(if with_nul_on_success { need } else { text_units } as u32) };
    Ok(1)
}

/// `GetComputerNameA`: the computer name (the host name up to its first dot, upper-cased, at
/// most 15 characters: Windows' NetBIOS name). `*nSize`: in, the buffer's size; out, the length
/// without the NUL; too small: `ERROR_BUFFER_OVERFLOW` and `*nSize` = the size needed with the
/// NUL.
///
/// # Safety
/// `nSize` readable and writable; `lpBuffer` writable for `*nSize` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetComputerNameA(lpBuffer: *mut c_char, nSize: *mut DWORD) -> BOOL {
    boundary(0, || {
        let name = computer_name();
        // SAFETY: forwarded caller promises.
        unsafe {
            name_out(name.len(), nSize, ERROR_BUFFER_OVERFLOW, false, |cap| {
                copy_out_a(&name, lpBuffer, cap);
            })
        }
    })
}

/// `GetComputerNameW`: [`GetComputerNameA`] in wide characters.
///
/// # Safety
/// As [`GetComputerNameA`], in units.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetComputerNameW(lpBuffer: *mut WChar, nSize: *mut DWORD) -> BOOL {
    boundary(0, || {
        let name = computer_name();
        // SAFETY: forwarded caller promises.
        unsafe {
            name_out(name.chars().count(), nSize, ERROR_BUFFER_OVERFLOW, false, |cap| {
                copy_out_w(&name, lpBuffer, cap);
            })
        }
    })
}

/// `GetUserNameA`: the user's login name. `*pcbBuffer`: in, the buffer's size; out, the
/// length *with* the NUL; too small: `ERROR_INSUFFICIENT_BUFFER` and `*pcbBuffer` = the size
/// needed.
///
/// # Safety
/// `pcbBuffer` readable and writable; `lpBuffer` writable for `*pcbBuffer` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetUserNameA(lpBuffer: *mut c_char, pcbBuffer: *mut DWORD) -> BOOL {
    boundary(0, || {
        let name = user_name()?;
        // SAFETY: forwarded caller promises.
        unsafe {
            name_out(name.len(), pcbBuffer, Win32Error::INSUFFICIENT_BUFFER.0, true, |cap| {
                copy_out_a(&name, lpBuffer, cap);
            })
        }
    })
}

/// `GetUserNameW`: [`GetUserNameA`] in wide characters.
///
/// # Safety
/// As [`GetUserNameA`], in units.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetUserNameW(lpBuffer: *mut WChar, pcbBuffer: *mut DWORD) -> BOOL {
    boundary(0, || {
        let name = user_name()?;
        // SAFETY: forwarded caller promises.
        unsafe {
            name_out(name.chars().count(), pcbBuffer, Win32Error::INSUFFICIENT_BUFFER.0, true, |cap| {
                copy_out_w(&name, lpBuffer, cap);
            })
        }
    })
}

/// `MessageBeep`: there is no sound to play on a Linux console; succeeds without output.
#[unsafe(no_mangle)]
pub extern "system" fn MessageBeep(_uType: u32) -> BOOL {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_messages_end_in_crlf_and_unknown_codes_have_none() {
        assert_eq!(system_message(2).as_deref(), Some("The system cannot find the file specified.\r\n"));
        assert_eq!(system_message(183).as_deref(), Some("Cannot create a file when that file already exists.\r\n"));
        assert_eq!(system_message(0x1234_5678), None);
    }

    #[test]
    fn message_escapes_and_argument_array_inserts_expand() {
        let s = expand("a%nb%%c%0ignored", 0, std::ptr::null(), false).unwrap();
        assert_eq!(s, "a\r\nb%c");
        let name = std::ffi::CString::new("box").unwrap();
        let args = [name.as_ptr() as usize, 42usize];
        let s = expand("%1 has %2!d! (%2!x!)", FORMAT_MESSAGE_ARGUMENT_ARRAY, args.as_ptr(), false).unwrap();
        assert_eq!(s, "box has 42 (2a)");
        let s = expand("keep %1 as is", FORMAT_MESSAGE_IGNORE_INSERTS, std::ptr::null(), false).unwrap();
        assert_eq!(s, "keep %1 as is");
        assert!(expand("%1", 0, std::ptr::null(), false).is_err());
    }

    #[test]
    fn command_lines_are_rebuilt_with_windows_quoting() {
        let args = ["prog", "plain", "with space", "quote\"inside", r"trailing\", r#"both\" \"#, "", "tab\there"];
        let line = quote_args(args.iter().map(|s| s.to_string()));
        assert_eq!(crate::process::parse_command_line(&line), args);
        assert!(command_line().starts_with(&std::env::args().next().unwrap_or_default()));
    }
}
