//! Code pages: `MultiByteToWideChar`, `WideCharToMultiByte`, `GetACP`, `GetOEMCP`,
//! `IsValidCodePage`, with the parameter checks and error codes of Windows.
//!
//! The ANSI and OEM code pages are UTF-8 (65001) here, as on a Windows 10 machine with "Use
//! Unicode UTF-8 for worldwide language support": the `A` functions take UTF-8. Wide text is
//! `wchar_t` (one unit per Unicode character, see [`crate::strings::WChar`]). Besides UTF-8 the
//! single-byte code pages 1252 (Western), 28591 (ISO 8859-1) and 20127 (US-ASCII) convert;
//! other code pages fail with `ERROR_INVALID_PARAMETER`, as an uninstalled one does on Windows.

#![allow(unsafe_code)] // exported `extern "system"` functions taking raw pointers

use std::ffi::c_char;

use filemap::Win32Error;

use crate::error::{Fail, Res, boundary, fail};
use crate::strings::{ERROR_NO_UNICODE_TRANSLATION, WChar};
use crate::{BOOL, FALSE, TRUE};

/// `CP_ACP`.
pub const CP_ACP: u32 = 0;
/// `CP_OEMCP`.
pub const CP_OEMCP: u32 = 1;
/// `CP_MACCP`.
pub const CP_MACCP: u32 = 2;
/// `CP_THREAD_ACP`.
pub const CP_THREAD_ACP: u32 = 3;
/// `CP_UTF8`.
pub const CP_UTF8: u32 = 65001;
/// Windows-1252.
const CP_1252: u32 = 1252;
/// ISO 8859-1.
const CP_LATIN1: u32 = 28591;
/// US-ASCII.
const CP_ASCII: u32 = 20127;

/// `MB_PRECOMPOSED`, `MB_COMPOSITE`, `MB_USEGLYPHCHARS`, `MB_ERR_INVALID_CHARS`.
const MB_VALID: u32 = 0x1 | 0x2 | 0x4 | 0x8;
const MB_ERR_INVALID_CHARS: u32 = 0x8;
/// `WC_ERR_INVALID_CHARS`: only with UTF-8.
const WC_ERR_INVALID_CHARS: u32 = 0x80;
/// `WC_COMPOSITECHECK | WC_DISCARDNS | WC_SEPCHARS | WC_DEFAULTCHAR | WC_NO_BEST_FIT_CHARS`.
const WC_VALID_SBCS: u32 = 0x200 | 0x10 | 0x20 | 0x40 | 0x400;

/// `ERROR_INSUFFICIENT_BUFFER`.
const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// `ERROR_INVALID_FLAGS`.
const ERROR_INVALID_FLAGS: u32 = 1004;

/// Windows-1252's 0x80..=0x9F (0 = unassigned; those bytes map to the C1 control of the same
/// value, as Windows' own table does).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0, 0,
    0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// The code page a `CodePage` argument stands for, if it converts here.
fn resolve(code_page: u32) -> Option<u32> {
    match code_page {
        CP_ACP | CP_OEMCP | CP_MACCP | CP_THREAD_ACP | CP_UTF8 => Some(CP_UTF8),
        CP_1252 | CP_LATIN1 | CP_ASCII => Some(code_page),
        _ => None,
    }
}

/// One byte of a single-byte code page as a character (`None`: no character).
fn sbcs_decode(cp: u32, b: u8) -> Option<char> {
    match (cp, b) {
        (_, 0..=0x7F) => Some(char::from(b)),
        (CP_ASCII, _) => None,
        (CP_1252, 0x80..=0x9F) => match CP1252_HIGH[usize::from(b - 0x80)] {
            0 => Some(char::from(b)),
            u => char::from_u32(u32::from(u)),
        },
        _ => Some(char::from(b)),
    }
}

/// A character in a single-byte code page, if it has one.
fn sbcs_encode(cp: u32, c: char) -> Option<u8> {
    let u = u32::from(c);
    if u < 0x80 {
        return Some(u as u8);
    }
    match cp {
        CP_ASCII => None,
        CP_1252 => {
            if let Some(i) = CP1252_HIGH.iter().position(|&x| x != 0 && u32::from(x) == u) {
                return Some(0x80 + i as u8);
            }
            match u {
                0x81 | 0x8D | 0x8F | 0x90 | 0x9D => Some(u as u8),
                0xA0..=0xFF => Some(u as u8),
                _ => None,
            }
        }
        _ => (u <= 0xFF).then_some(u as u8),
    }
}

/// Decodes `bytes` to characters. `strict`: malformed input fails with
/// `ERROR_NO_UNICODE_TRANSLATION`; otherwise it becomes U+FFFD (UTF-8) or the byte's value.
fn decode(cp: u32, bytes: &[u8], strict: bool) -> Res<Vec<WChar>> {
    if cp == CP_UTF8 {
        let mut out = Vec::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            out.extend(chunk.valid().chars().map(u32::from));
            if !chunk.invalid().is_empty() {
                if strict {
                    return Err(Fail(ERROR_NO_UNICODE_TRANSLATION));
                }
                out.push(0xFFFD);
            }
        }
        return Ok(out);
    }
    bytes
        .iter()
        .map(|&b| match sbcs_decode(cp, b) {
            Some(c) => Ok(u32::from(c)),
            None if strict => Err(Fail(ERROR_NO_UNICODE_TRANSLATION)),
            None => Ok(u32::from(b)),
        })
        .collect()
}

/// Encodes wide units; returns the bytes and whether a default character was used.
fn encode(cp: u32, units: &[WChar], strict: bool, default: Option<u8>) -> Res<(Vec<u8>, bool)> {
    let mut out = Vec::with_capacity(units.len());
    let mut used_default = false;
    for &u in units {
        let c = char::from_u32(u);
        if cp == CP_UTF8 {
            match c {
                Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                None if strict => return Err(Fail(ERROR_NO_UNICODE_TRANSLATION)),
                None => out.extend_from_slice("\u{FFFD}".as_bytes()),
            }
            continue;
        }
        match c.and_then(|c| sbcs_encode(cp, c)) {
            Some(b) => out.push(b),
            None => {
                out.push(default.unwrap_or(b'?'));
                used_default = true;
            }
        }
    }
    Ok((out, used_default))
}

/// # Safety
/// As [`MultiByteToWideChar`].
unsafe fn mb_to_wc(cp: u32, flags: u32, src: *const c_char, src_len: i32, dst: *mut WChar, dst_len: i32) -> Res<i32> {
    if src.is_null() || src_len == 0 || dst_len < 0 || (dst.is_null() && dst_len != 0) || src.cast() == dst.cast_const()
    {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    let Some(cp) = resolve(cp) else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    let valid = if cp == CP_UTF8 { MB_ERR_INVALID_CHARS } else { MB_VALID };
    if flags & !valid != 0 {
        return Err(Fail(ERROR_INVALID_FLAGS));
    }
    let bytes = if src_len < 0 {
        // SAFETY: NUL-terminated when the length is negative (caller's promise); the NUL is
        // converted too.
        unsafe { std::ffi::CStr::from_ptr(src) }.to_bytes_with_nul()
    } else {
        // SAFETY: `src_len` readable bytes (caller's promise).
        unsafe { std::slice::from_raw_parts(src.cast::<u8>(), src_len as usize) }
    };
    let wide = decode(cp, bytes, flags & MB_ERR_INVALID_CHARS != 0)?;
    let n = i32::try_from(wide.len()).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
    if dst_len == 0 {
        return Ok(n);
    }
    if wide.len() > dst_len as usize {
        // Windows fills what fits before failing.
        // SAFETY: `dst_len` writable units (caller's promise).
        unsafe { std::ptr::copy_nonoverlapping(wide.as_ptr(), dst, dst_len as usize) };
        return Err(Fail(ERROR_INSUFFICIENT_BUFFER));
    }
    // SAFETY: `dst_len >= wide.len()` writable units (caller's promise, checked).
    unsafe { std::ptr::copy_nonoverlapping(wide.as_ptr(), dst, wide.len()) };
    Ok(n)
}

/// `MultiByteToWideChar`: converts `cbMultiByte` bytes (-1: up to and including the NUL) of
/// `lpMultiByteStr` in `CodePage` to wide characters. With `cchWideChar` = 0 returns the units
/// needed; otherwise the units written. Errors (return 0): `ERROR_INVALID_PARAMETER` (NULL
/// source, zero source length, negative or missing destination, source and destination the
/// same buffer, unknown code page), `ERROR_INVALID_FLAGS` (with UTF-8 only
/// `MB_ERR_INVALID_CHARS` is allowed), `ERROR_INSUFFICIENT_BUFFER` (the destination holds what
/// fits), `ERROR_NO_UNICODE_TRANSLATION` (malformed input with `MB_ERR_INVALID_CHARS`; without
/// it malformed UTF-8 becomes U+FFFD).
///
/// # Safety
/// `lpMultiByteStr` readable for `cbMultiByte` bytes (NUL-terminated if -1);
/// `lpWideCharStr` writable for `cchWideChar` units.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn MultiByteToWideChar(
    CodePage: u32,
    dwFlags: u32,
    lpMultiByteStr: *const c_char,
    cbMultiByte: i32,
    lpWideCharStr: *mut WChar,
    cchWideChar: i32,
) -> i32 {
    // SAFETY: forwarded caller promises.
    boundary(0, || unsafe { mb_to_wc(CodePage, dwFlags, lpMultiByteStr, cbMultiByte, lpWideCharStr, cchWideChar) })
}

/// # Safety
/// As [`WideCharToMultiByte`].
#[allow(clippy::too_many_arguments)]
unsafe fn wc_to_mb(
    cp: u32,
    flags: u32,
    src: *const WChar,
    src_len: i32,
    dst: *mut c_char,
    dst_len: i32,
    default_char: *const c_char,
    used_default: *mut BOOL,
) -> Res<i32> {
    if src.is_null() || src_len == 0 || dst_len < 0 || (dst.is_null() && dst_len != 0) || src.cast() == dst.cast_const()
    {
        return fail(Win32Error::INVALID_PARAMETER);
    }
    let Some(cp) = resolve(cp) else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    if cp == CP_UTF8 {
        if flags & !WC_ERR_INVALID_CHARS != 0 {
            return Err(Fail(ERROR_INVALID_FLAGS));
        }
        if !default_char.is_null() || !used_default.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
    } else if flags & !WC_VALID_SBCS != 0 {
        return Err(Fail(ERROR_INVALID_FLAGS));
    }
    let units = if src_len < 0 {
        // SAFETY: NUL-terminated when the length is negative (caller's promise); include it.
        let n = unsafe { crate::strings::w_len(src) } + 1;
        // SAFETY: `n` readable units up to and including the NUL.
        unsafe { std::slice::from_raw_parts(src, n) }
    } else {
        // SAFETY: `src_len` readable units (caller's promise).
        unsafe { std::slice::from_raw_parts(src, src_len as usize) }
    };
    // SAFETY: NULL or one readable byte (caller's promise).
    let default = unsafe { default_char.as_ref() }.map(|&c| c as u8);
    let (bytes, defaulted) = encode(cp, units, flags & WC_ERR_INVALID_CHARS != 0, default)?;
    if !used_default.is_null() {
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { used_default.write(if defaulted { TRUE } else { FALSE }) };
    }
    let n = i32::try_from(bytes.len()).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
    if dst_len == 0 {
        return Ok(n);
    }
    if bytes.len() > dst_len as usize {
        // SAFETY: `dst_len` writable bytes (caller's promise).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.cast::<u8>(), dst_len as usize) };
        return Err(Fail(ERROR_INSUFFICIENT_BUFFER));
    }
    // SAFETY: `dst_len >= bytes.len()` writable bytes (checked).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.cast::<u8>(), bytes.len()) };
    Ok(n)
}

/// `WideCharToMultiByte`: converts `cchWideChar` wide characters (-1: up to and including the
/// NUL) to `CodePage`. With `cbMultiByte` = 0 returns the bytes needed. Errors as
/// [`MultiByteToWideChar`]; with UTF-8, `lpDefaultChar`/`lpUsedDefaultChar` must be NULL
/// (`ERROR_INVALID_PARAMETER`) and only `WC_ERR_INVALID_CHARS` is a valid flag (it makes a
/// surrogate or out-of-range unit fail with `ERROR_NO_UNICODE_TRANSLATION` instead of becoming
/// U+FFFD). Characters a single-byte code page lacks become `*lpDefaultChar` (default `?`) and
/// set `*lpUsedDefaultChar`.
///
/// # Safety
/// `lpWideCharStr` readable for `cchWideChar` units (NUL-terminated if -1); `lpMultiByteStr`
/// writable for `cbMultiByte` bytes; the last two NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn WideCharToMultiByte(
    CodePage: u32,
    dwFlags: u32,
    lpWideCharStr: *const WChar,
    cchWideChar: i32,
    lpMultiByteStr: *mut c_char,
    cbMultiByte: i32,
    lpDefaultChar: *const c_char,
    lpUsedDefaultChar: *mut BOOL,
) -> i32 {
    boundary(0, || {
        // SAFETY: forwarded caller promises.
        unsafe {
            wc_to_mb(
                CodePage,
                dwFlags,
                lpWideCharStr,
                cchWideChar,
                lpMultiByteStr,
                cbMultiByte,
                lpDefaultChar,
                lpUsedDefaultChar,
            )
        }
    })
}

/// `GetACP`: the ANSI code page, 65001 (UTF-8).
#[unsafe(no_mangle)]
pub extern "system" fn GetACP() -> u32 {
    CP_UTF8
}

/// `GetOEMCP`: the OEM code page, 65001 (UTF-8).
#[unsafe(no_mangle)]
pub extern "system" fn GetOEMCP() -> u32 {
    CP_UTF8
}

/// `IsValidCodePage`: TRUE for the code pages that convert here (65001, 1252, 28591, 20127).
#[unsafe(no_mangle)]
pub extern "system" fn IsValidCodePage(CodePage: u32) -> BOOL {
    match CodePage {
        CP_UTF8 | CP_1252 | CP_LATIN1 | CP_ASCII => TRUE,
        _ => FALSE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp1252_round_trips_its_assigned_bytes() {
        for b in 0u8..=255 {
            let c = sbcs_decode(CP_1252, b).expect("1252 decodes every byte");
            assert_eq!(sbcs_encode(CP_1252, c), Some(b), "byte {b:#x}");
        }
        assert_eq!(sbcs_decode(CP_1252, 0x80), Some('€'));
        assert_eq!(sbcs_decode(CP_ASCII, 0x80), None);
    }

    #[test]
    fn utf8_decoding_replaces_or_refuses_malformed_input() {
        assert_eq!(decode(CP_UTF8, b"a\xffb", false), Ok(vec![0x61, 0xFFFD, 0x62]));
        assert_eq!(decode(CP_UTF8, b"a\xffb", true), Err(Fail(ERROR_NO_UNICODE_TRANSLATION)));
        assert_eq!(encode(CP_UTF8, &[0xD800], true, None), Err(Fail(ERROR_NO_UNICODE_TRANSLATION)));
        assert_eq!(encode(CP_LATIN1, &[0x41, 0x20AC], false, None), Ok((vec![0x41, b'?'], true)));
    }
}
