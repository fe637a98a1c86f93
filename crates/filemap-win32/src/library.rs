//! DLLs as shared objects: `LoadLibrary(Ex)A/W`, `GetProcAddress`, `FreeLibrary` over
//! `dlopen`/`dlsym`/`dlclose`, and the module lookups behind `GetModuleHandle` and
//! `GetModuleFileName`.
//!
//! A DLL's source built on Linux is a shared object (`cc -shared -fPIC mydll.c -o mydll.so`).
//! `LoadLibrary("mydll.dll")` (or `"mydll"`, to which Windows adds `.dll`) looks for, in this
//! order, `mydll.dll`, `mydll.so` and `libmydll.so` (and their lower-case spellings, since
//! Windows file names ignore case) in the program's directory, the current directory, then
//! wherever `dlopen` looks (`LD_LIBRARY_PATH`, the system directories). A name with a `\` or
//! `/` is a path (`\` is read as `/`). If the object exports `DllMain`, it is called with
//! `DLL_PROCESS_ATTACH` on the first load (a FALSE return fails the load with
//! `ERROR_DLL_INIT_FAILED`) and `DLL_PROCESS_DETACH` when the last reference is freed.
//! `kernel32.dll`, `user32.dll` and the other system DLLs are this library: their
//! `GetProcAddress` finds its exports (`GetProcAddress(LoadLibrary("kernel32.dll"),
//! "CreateFileMappingA")`).
//!
//! Errors: no file found, `ERROR_MOD_NOT_FOUND` (126); a file that is not a loadable shared
//! object, `ERROR_BAD_EXE_FORMAT` (193); an unknown symbol or an ordinal,
//! `ERROR_PROC_NOT_FOUND` (127).

#![allow(unsafe_code)] // dlopen/dlsym and exported functions taking raw pointers

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use filemap::Win32Error;

use crate::error::{Fail, Res, boundary, fail};
use crate::strings::{WChar, a_str, w_str};
use crate::{BOOL, DWORD, FALSE, HANDLE, TRUE};

/// `ERROR_MOD_NOT_FOUND`.
pub const ERROR_MOD_NOT_FOUND: u32 = 126;
/// `ERROR_PROC_NOT_FOUND`.
pub const ERROR_PROC_NOT_FOUND: u32 = 127;
/// `ERROR_BAD_EXE_FORMAT`.
pub const ERROR_BAD_EXE_FORMAT: u32 = 193;
/// `ERROR_DLL_INIT_FAILED`.
pub const ERROR_DLL_INIT_FAILED: u32 = 1114;

const DLL_PROCESS_DETACH: u32 = 0;
const DLL_PROCESS_ATTACH: u32 = 1;
/// `DONT_RESOLVE_DLL_REFERENCES`: load without calling `DllMain`.
const DONT_RESOLVE_DLL_REFERENCES: u32 = 0x1;

/// The DLLs that are this library.
const SYSTEM_DLLS: &[&str] = &["kernel32", "kernelbase", "user32", "ntdll", "advapi32", "msvcrt", "ucrtbase"];

/// The system DLLs every Windows process has loaded (`GetModuleHandle` finds them without a
/// `LoadLibrary`).
const ALWAYS_LOADED: &[&str] = &["kernel32", "kernelbase", "ntdll"];

/// The other system DLLs the program has loaded with `LoadLibrary`.
static LOADED_SYSTEM: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The handle of the system DLLs (this library): a value no `dlopen` handle has.
const SYSTEM_MODULE: usize = 0x5157_0000;

type DllMain = unsafe extern "system" fn(HANDLE, DWORD, *mut c_void) -> BOOL;

struct Module {
    /// The `dlopen` handle (also the `HMODULE` value).
    dl: usize,
    refs: u32,
    path: PathBuf,
    /// Lower-case file name without extension, for `GetModuleHandle`.
    stem: String,
    main: Option<DllMain>,
}

static MODULES: Mutex<Vec<Module>> = Mutex::new(Vec::new());

fn modules() -> std::sync::MutexGuard<'static, Vec<Module>> {
    MODULES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lower-case base name without directory and extension (`C:\x\My.DLL` -> `my`).
fn stem_of(name: &str) -> String {
    let base = name.rsplit(['\\', '/']).next().unwrap_or(name);
    let base = base.strip_suffix('.').unwrap_or(base);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    stem.strip_prefix("lib").filter(|_| base.ends_with(".so")).unwrap_or(stem).to_ascii_lowercase()
}

fn is_system(name: &str) -> bool {
    let stem = stem_of(name);
    SYSTEM_DLLS.contains(&stem.as_str())
}

/// The files `name` may stand for, in search order.
fn candidates(name: &str) -> Vec<PathBuf> {
    let name = name.replace('\\', "/");
    let has_dir = name.contains('/');
    let (dir, base) = match name.rfind('/') {
        Some(i) => (Some(name[..=i].to_owned()), name[i + 1..].to_owned()),
        None => (None, name.clone()),
    };
    // Windows adds ".dll" to a name without an extension (a trailing '.' means none).
    let base = match base.strip_suffix('.') {
        Some(b) => b.to_owned(),
        None if !base.contains('.') => format!("{base}.dll"),
        None => base,
    };
    let mut files = vec![base.clone()];
    let lower = base.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix(".dll").map(str::to_owned) {
        let original_stem = &base[..stem.len()];
        for s in [original_stem, stem.as_str()] {
            files.push(format!("{s}.so"));
            files.push(format!("lib{s}.so"));
        }
    }
    if lower != base {
        files.push(lower);
    }
    files.dedup();
    let mut dirs: Vec<Option<PathBuf>> = Vec::new();
    if has_dir {
        dirs.push(dir.map(PathBuf::from));
    } else {
        if let Some(exe_dir) = std::fs::read_link("/proc/self/exe").ok().and_then(|p| p.parent().map(Path::to_path_buf))
        {
            dirs.push(Some(exe_dir));
        }
        dirs.push(Some(PathBuf::from(".")));
        dirs.push(None); // dlopen's own search
    }
    let mut out = Vec::new();
    for d in &dirs {
        for f in &files {
            out.push(match d {
                Some(d) => d.join(f),
                None => PathBuf::from(f),
            });
        }
    }
    out
}

/// # Safety
/// `h` is a `dlopen` handle.
unsafe fn dll_main_of(h: *mut c_void) -> Option<DllMain> {
    // SAFETY: a valid handle and a NUL-terminated symbol name.
    let sym = unsafe { libc::dlsym(h, c"DllMain".as_ptr()) };
    // SAFETY: a DLL's DllMain has this signature (Win32's contract for the symbol).
    (!sym.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, DllMain>(sym) })
}

fn load(name: Option<String>, flags: u32) -> Res<HANDLE> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return fail(Win32Error::INVALID_PARAMETER);
    };
    if is_system(&name) {
        LOADED_SYSTEM.lock().unwrap_or_else(|e| e.into_inner()).push(stem_of(&name));
        return Ok(SYSTEM_MODULE as HANDLE);
    }
    let mut bad_format = false;
    for path in candidates(&name) {
        let in_search_path = path.parent().is_none_or(|p| p.as_os_str().is_empty());
        if !in_search_path && !path.is_file() {
            continue;
        }
        let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else { continue };
        // SAFETY: a NUL-terminated path; RTLD_NOW resolves everything up front, as Windows does.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if h.is_null() {
            if !in_search_path {
                bad_format = true;
            }
            continue;
        }
        let mut mods = modules();
        if let Some(m) = mods.iter_mut().find(|m| m.dl == h as usize) {
            m.refs += 1;
            // dlopen counted this reference too; ours stands for it.
            return Ok(h);
        }
        // SAFETY: `h` was just returned by dlopen.
        let main = if flags & DONT_RESOLVE_DLL_REFERENCES != 0 { None } else { unsafe { dll_main_of(h) } };
        let resolved = if in_search_path { path.clone() } else { std::fs::canonicalize(&path).unwrap_or(path.clone()) };
        mods.push(Module { dl: h as usize, refs: 1, path: resolved, stem: stem_of(&name), main });
        drop(mods);
        if let Some(main) = main {
            // SAFETY: the DLL's entry point, called as Windows' loader calls it.
            if unsafe { main(h, DLL_PROCESS_ATTACH, std::ptr::null_mut()) } == FALSE {
                modules().retain(|m| m.dl != h as usize);
                // SAFETY: the handle from our dlopen above.
                unsafe { libc::dlclose(h) };
                return Err(Fail(ERROR_DLL_INIT_FAILED));
            }
        }
        return Ok(h);
    }
    Err(Fail(if bad_format { ERROR_BAD_EXE_FORMAT } else { ERROR_MOD_NOT_FOUND }))
}

/// `LoadLibraryA`: loads a DLL (a shared object, see the module docs) and returns its module
/// handle; loading it again returns the same handle and counts a reference. NULL with
/// `ERROR_MOD_NOT_FOUND`, `ERROR_BAD_EXE_FORMAT` or `ERROR_DLL_INIT_FAILED`.
///
/// # Safety
/// `lpLibFileName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn LoadLibraryA(lpLibFileName: *const c_char) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || load(unsafe { a_str(lpLibFileName) }?, 0))
}

/// `LoadLibraryW`: [`LoadLibraryA`] with a wide name.
///
/// # Safety
/// `lpLibFileName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn LoadLibraryW(lpLibFileName: *const WChar) -> HANDLE {
    // SAFETY: forwarded caller promise.
    boundary(std::ptr::null_mut(), || load(unsafe { w_str(lpLibFileName) }?, 0))
}

/// `LoadLibraryExA`: [`LoadLibraryA`]; `hFile` must be NULL (`ERROR_INVALID_PARAMETER`);
/// `DONT_RESOLVE_DLL_REFERENCES` skips `DllMain`; the other flags load normally.
///
/// # Safety
/// `lpLibFileName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn LoadLibraryExA(lpLibFileName: *const c_char, hFile: HANDLE, dwFlags: DWORD) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        if !hFile.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: forwarded caller promise.
        load(unsafe { a_str(lpLibFileName) }?, dwFlags)
    })
}

/// `LoadLibraryExW`: [`LoadLibraryExA`] with a wide name.
///
/// # Safety
/// `lpLibFileName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn LoadLibraryExW(lpLibFileName: *const WChar, hFile: HANDLE, dwFlags: DWORD) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        if !hFile.is_null() {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        // SAFETY: forwarded caller promise.
        load(unsafe { w_str(lpLibFileName) }?, dwFlags)
    })
}

/// `GetProcAddress`: the address of an exported function or variable of a loaded module
/// (`hModule` NULL or `GetModuleHandle(NULL)`: the program and everything it links; the system
/// DLLs: this library). NULL with `ERROR_PROC_NOT_FOUND` for an unknown name or an ordinal
/// (`MAKEINTRESOURCE` values), `ERROR_MOD_NOT_FOUND` for an unknown module handle.
///
/// # Safety
/// `lpProcName` a NUL-terminated name or an ordinal below 0x10000.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetProcAddress(hModule: HANDLE, lpProcName: *const c_char) -> *mut c_void {
    boundary(std::ptr::null_mut(), || {
        let dl = if hModule.is_null() || hModule == main_module() || hModule as usize == SYSTEM_MODULE {
            libc::RTLD_DEFAULT
        } else if modules().iter().any(|m| m.dl == hModule as usize) {
            hModule
        } else {
            return Err(Fail(ERROR_MOD_NOT_FOUND));
        };
        if (lpProcName as usize) < 0x10000 {
            return Err(Fail(ERROR_PROC_NOT_FOUND)); // ordinals: ELF has none
        }
        // SAFETY: a NUL-terminated name (caller's promise).
        let name = unsafe { CStr::from_ptr(lpProcName) };
        // SAFETY: a valid handle (RTLD_DEFAULT or one of ours) and a NUL-terminated name.
        let sym = unsafe { libc::dlsym(dl, name.as_ptr()) };
        if sym.is_null() {
            return Err(Fail(ERROR_PROC_NOT_FOUND));
        }
        Ok(sym)
    })
}

/// `FreeLibrary`: drops one reference; the last calls `DllMain(DLL_PROCESS_DETACH)` and
/// unloads the object. The program's and the system DLLs' handles stay loaded. FALSE with
/// `ERROR_MOD_NOT_FOUND` for an unknown handle.
#[unsafe(no_mangle)]
pub extern "system" fn FreeLibrary(hLibModule: HANDLE) -> BOOL {
    boundary(FALSE, || {
        if hLibModule == main_module() || hLibModule as usize == SYSTEM_MODULE {
            return Ok(TRUE);
        }
        let mut mods = modules();
        let Some(i) = mods.iter().position(|m| m.dl == hLibModule as usize && !hLibModule.is_null()) else {
            return Err(Fail(ERROR_MOD_NOT_FOUND));
        };
        mods[i].refs -= 1;
        if mods[i].refs > 0 {
            return Ok(TRUE);
        }
        let m = mods.remove(i);
        drop(mods);
        let dl = m.dl as *mut c_void;
        if let Some(main) = m.main {
            // SAFETY: the DLL's entry point, called as Windows' loader calls it on unload.
            unsafe { main(dl, DLL_PROCESS_DETACH, std::ptr::null_mut()) };
        }
        // SAFETY: the handle from our dlopen (taken from our table); no reference of ours is left.
        unsafe { libc::dlclose(dl) };
        Ok(TRUE)
    })
}

/// `FreeLibraryAndExitThread`: [`FreeLibrary`], then `ExitThread(dwExitCode)`.
#[unsafe(no_mangle)]
pub extern "system" fn FreeLibraryAndExitThread(hLibModule: HANDLE, dwExitCode: DWORD) -> ! {
    FreeLibrary(hLibModule);
    crate::thread::ExitThread(dwExitCode)
}

/// The module a `GetModuleHandle(name)` names: a loaded DLL (by file name, case ignored, with
/// or without extension), `kernel32`/`kernelbase`/`ntdll` (always loaded on Windows), or another
/// system DLL once `LoadLibrary` loaded it; `None` if it is not loaded.
pub(crate) fn find(name: &str) -> Option<HANDLE> {
    let stem = stem_of(name);
    if ALWAYS_LOADED.contains(&stem.as_str()) || LOADED_SYSTEM.lock().unwrap_or_else(|e| e.into_inner()).contains(&stem)
    {
        return Some(SYSTEM_MODULE as HANDLE);
    }
    modules().iter().find(|m| m.stem == stem).map(|m| m.dl as HANDLE)
}

/// The file a loaded DLL's handle came from (`None`: not one of ours).
pub(crate) fn path_of(h: HANDLE) -> Option<String> {
    if h as usize == SYSTEM_MODULE {
        return own_path();
    }
    modules().iter().find(|m| m.dl == h as usize).map(|m| m.path.to_string_lossy().into_owned())
}

/// This library's own file (for the system DLLs' `GetModuleFileName`).
fn own_path() -> Option<String> {
    let mut info: libc::Dl_info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: dladdr writes `info` for an address inside this library.
    if unsafe { libc::dladdr(own_path as *const c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated file name.
    let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
    Some(std::fs::canonicalize(&name).map(|p| p.to_string_lossy().into_owned()).unwrap_or(name))
}

/// The `HMODULE` of the program (`GetModuleHandle(NULL)`): the address of its ELF header, as
/// on Windows the main module's handle is its image base.
pub(crate) fn main_module() -> *mut c_void {
    // SAFETY: getauxval is always safe to call; AT_PHDR is the program headers' address.
    let phdr = unsafe { libc::getauxval(libc::AT_PHDR) } as usize;
    // The ELF header sits 64 bytes before the program headers in position-independent and
    // ordinary executables alike; round down to the page holding it.
    ((phdr.saturating_sub(64)) & !(filemap::PAGE_SIZE - 1)) as *mut c_void
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dll_names_map_to_shared_object_candidates() {
        let c = candidates("My.DLL");
        let names: Vec<String> =
            c.iter().filter(|p| p.starts_with(".")).map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(names, ["My.DLL", "My.so", "libMy.so", "my.so", "libmy.so", "my.dll"]);
        assert!(candidates("plugin").iter().any(|p| p.ends_with("plugin.dll")));
        assert!(candidates("plugin").iter().any(|p| p.ends_with("libplugin.so")));
        assert_eq!(candidates(r"sub\x.so")[0], PathBuf::from("sub/x.so"));
        assert_eq!(stem_of(r"C:\Windows\System32\KERNEL32.DLL"), "kernel32");
        assert_eq!(stem_of("libfoo.so"), "foo");
        assert!(is_system("Kernel32"));
    }
}
