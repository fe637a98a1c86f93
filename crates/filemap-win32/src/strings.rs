//! Strings at the C edge: `A` functions take UTF-8 (the ANSI code page on Linux), `W`
//! functions NUL-terminated `wchar_t` text (`WCHAR` is `wchar_t` in our headers: 32 bits, one
//! unit per Unicode scalar value, UTF-32), plus `lstrlen` & co.

#![allow(unsafe_code)] // reading caller-provided C strings

use std::ffi::{CStr, c_char};

use filemap::Win32Error;

use crate::error::{Fail, Res};

/// One code unit of `W` text as the headers declare `WCHAR`: Linux's `wchar_t` (32 bits), so
/// that `L"..."` literals, `std::wstring` and glibc's `wcs*` functions work unchanged. Every
/// `W` entry point takes `*const WChar`, so the unit's width is decided here, in one place.
pub type WChar = u32;

/// Reads a NUL-terminated ANSI (UTF-8) string; `None` for NULL. Invalid UTF-8 fails with
/// `ERROR_NO_UNICODE_TRANSLATION` (1113).
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub unsafe fn a_str(p: *const c_char) -> Res<Option<String>> {
    // SAFETY: forwarded caller promise; the borrow ends here.
    Ok(unsafe { a_str_borrowed(p) }?.map(str::to_owned))
}

/// [`a_str`] without the copy.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid and unchanged for `'a`.
pub unsafe fn a_str_borrowed<'a>(p: *const c_char) -> Res<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, NUL-terminated and valid for 'a (caller's promise).
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Some(s)),
        Err(_) => Err(Fail(ERROR_NO_UNICODE_TRANSLATION)),
    }
}

/// `ERROR_NO_UNICODE_TRANSLATION`.
pub const ERROR_NO_UNICODE_TRANSLATION: u32 = 1113;

/// Length in code units of a NUL-terminated wide string.
///
/// # Safety
/// `p` must be non-NULL and point to a NUL-terminated wide string.
pub unsafe fn w_len(p: *const WChar) -> usize {
    let mut n = 0;
    // SAFETY: every unit up to and including the terminator is readable (caller's promise).
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    n
}

/// The code units of a NUL-terminated wide string (without the terminator).
///
/// # Safety
/// `p` must be non-NULL and point to a NUL-terminated wide string that outlives `'a`.
pub unsafe fn w_slice<'a>(p: *const WChar) -> &'a [WChar] {
    // SAFETY: `w_len` units are readable (caller's promise).
    unsafe { std::slice::from_raw_parts(p, w_len(p)) }
}

/// Reads a NUL-terminated wide string; `None` for NULL. A unit that is not a Unicode scalar
/// value (a surrogate, or above U+10FFFF) fails with `ERROR_NO_UNICODE_TRANSLATION`.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated wide string.
pub unsafe fn w_str(p: *const WChar) -> Res<Option<String>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, NUL-terminated (caller's promise).
    let units = unsafe { w_slice(p) };
    from_wide(units).map(Some)
}

/// Decodes wide units (one Unicode scalar value each) to a `String`; a surrogate or a value
/// above U+10FFFF fails with `ERROR_NO_UNICODE_TRANSLATION`.
pub fn from_wide(units: &[WChar]) -> Res<String> {
    units.iter().map(|&u| char::from_u32(u).ok_or(Fail(ERROR_NO_UNICODE_TRANSLATION))).collect()
}

/// The wide units of `s` (one per `char`), without a terminator.
pub fn to_wide(s: &str) -> Vec<WChar> {
    s.chars().map(u32::from).collect()
}

/// A name argument (`lpName`) of a `Create*`/`Open*` function, A or W.
#[derive(Debug, Clone, Copy)]
pub enum Name {
    /// `LPCSTR`.
    A(*const c_char),
    /// `LPCWSTR`.
    W(*const WChar),
}

impl Name {
    /// Reads the name: `None` for NULL.
    ///
    /// # Safety
    /// The pointer must be NULL or a NUL-terminated string of its kind.
    pub unsafe fn read(self) -> Res<Option<String>> {
        // SAFETY: forwarded caller promise; the borrow ends here.
        Ok(unsafe { self.read_borrowed() }?.map(std::borrow::Cow::into_owned))
    }

    /// [`Name::read`], borrowing an ANSI name instead of copying it (a wide one is converted).
    ///
    /// # Safety
    /// The pointer must be NULL or a NUL-terminated string of its kind that stays valid and
    /// unchanged for `'a`.
    pub unsafe fn read_borrowed<'a>(self) -> Res<Option<std::borrow::Cow<'a, str>>> {
        match self {
            // SAFETY: forwarded caller promise.
            Name::A(p) => unsafe { a_str_borrowed(p) }.map(|s| s.map(std::borrow::Cow::Borrowed)),
            // SAFETY: forwarded caller promise.
            Name::W(p) => unsafe { w_str(p) }.map(|s| s.map(std::borrow::Cow::Owned)),
        }
        .map_err(|_| Fail(Win32Error::INVALID_NAME.0))
    }
}

/// The wide units of `s`, NUL-terminated.
pub fn to_wide_z(s: &str) -> Vec<WChar> {
    s.chars().map(u32::from).chain(std::iter::once(0)).collect()
}

/// `lstrlenA`: length in bytes of a NUL-terminated string; 0 for NULL.
///
/// # Safety
/// `lpString` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrlenA(lpString: *const c_char) -> i32 {
    if lpString.is_null() {
        return 0;
    }
    // SAFETY: non-NULL and NUL-terminated (caller's promise).
    i32::try_from(unsafe { CStr::from_ptr(lpString) }.to_bytes().len()).unwrap_or(i32::MAX)
}

/// `lstrlenW`: length in `WCHAR`s of a NUL-terminated string; 0 for NULL.
///
/// # Safety
/// `lpString` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrlenW(lpString: *const WChar) -> i32 {
    if lpString.is_null() {
        return 0;
    }
    // SAFETY: non-NULL and NUL-terminated (caller's promise).
    i32::try_from(unsafe { w_len(lpString) }).unwrap_or(i32::MAX)
}

/// `lstrcpyA`: copies `lpString2` (with its NUL) to `lpString1`; returns `lpString1`, or NULL
/// if either is NULL.
///
/// # Safety
/// `lpString2` must be NUL-terminated and `lpString1` large enough for it.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcpyA(lpString1: *mut c_char, lpString2: *const c_char) -> *mut c_char {
    if lpString1.is_null() || lpString2.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: both valid per the caller's promise; copying includes the terminator.
    unsafe {
        let n = CStr::from_ptr(lpString2).to_bytes_with_nul().len();
        std::ptr::copy(lpString2, lpString1, n);
    }
    lpString1
}

/// `lstrcpyW`: the wide `lstrcpyA`.
///
/// # Safety
/// `lpString2` must be NUL-terminated and `lpString1` large enough for it.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcpyW(lpString1: *mut WChar, lpString2: *const WChar) -> *mut WChar {
    if lpString1.is_null() || lpString2.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: both valid per the caller's promise; copying includes the terminator.
    unsafe {
        let n = w_len(lpString2) + 1;
        std::ptr::copy(lpString2, lpString1, n);
    }
    lpString1
}

/// `lstrcatA`: appends `lpString2` to `lpString1`; returns `lpString1` (NULL if either is NULL).
///
/// # Safety
/// Both NUL-terminated; `lpString1` large enough for the result.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcatA(lpString1: *mut c_char, lpString2: *const c_char) -> *mut c_char {
    if lpString1.is_null() || lpString2.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: caller's promise: both terminated, destination large enough.
    unsafe {
        let len = CStr::from_ptr(lpString1).to_bytes().len();
        lstrcpyA(lpString1.add(len), lpString2);
    }
    lpString1
}

/// `lstrcatW`: the wide `lstrcatA`.
///
/// # Safety
/// Both NUL-terminated; `lpString1` large enough for the result.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcatW(lpString1: *mut WChar, lpString2: *const WChar) -> *mut WChar {
    if lpString1.is_null() || lpString2.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: caller's promise: both terminated, destination large enough.
    unsafe {
        let len = w_len(lpString1);
        lstrcpyW(lpString1.add(len), lpString2);
    }
    lpString1
}

fn compare<T: Ord + Copy>(a: &[T], b: &[T], fold: impl Fn(T) -> T) -> i32 {
    let a = a.iter().map(|&c| fold(c));
    let b = b.iter().map(|&c| fold(c));
    match a.cmp(b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

/// # Safety
/// `p` NULL or NUL-terminated.
unsafe fn a_bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    // SAFETY: non-NULL and NUL-terminated (caller's promise).
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// # Safety
/// `p` NULL or NUL-terminated.
unsafe fn w_units<'a>(p: *const WChar) -> &'a [WChar] {
    if p.is_null() {
        return &[];
    }
    // SAFETY: non-NULL and NUL-terminated (caller's promise).
    unsafe { w_slice(p) }
}

/// `lstrcmpA`: -1, 0 or 1 comparing two strings (NULL sorts as empty).
///
/// # Safety
/// Each pointer NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcmpA(lpString1: *const c_char, lpString2: *const c_char) -> i32 {
    // SAFETY: forwarded caller promise.
    unsafe { compare(a_bytes(lpString1), a_bytes(lpString2), |c| c) }
}

/// `lstrcmpiA`: case-insensitive (ASCII) `lstrcmpA`.
///
/// # Safety
/// Each pointer NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcmpiA(lpString1: *const c_char, lpString2: *const c_char) -> i32 {
    // SAFETY: forwarded caller promise.
    unsafe { compare(a_bytes(lpString1), a_bytes(lpString2), |c: u8| c.to_ascii_lowercase()) }
}

/// `lstrcmpW`: the wide `lstrcmpA`.
///
/// # Safety
/// Each pointer NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcmpW(lpString1: *const WChar, lpString2: *const WChar) -> i32 {
    // SAFETY: forwarded caller promise.
    unsafe { compare(w_units(lpString1), w_units(lpString2), |c| c) }
}

/// `lstrcmpiW`: case-insensitive (ASCII) `lstrcmpW`.
///
/// # Safety
/// Each pointer NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn lstrcmpiW(lpString1: *const WChar, lpString2: *const WChar) -> i32 {
    let fold = |c: WChar| if (u32::from(b'A')..=u32::from(b'Z')).contains(&c) { c + 32 } else { c };
    // SAFETY: forwarded caller promise.
    unsafe { compare(w_units(lpString1), w_units(lpString2), fold) }
}
