//! Processes: `CreateProcessA/W`, process handles, `GetExitCodeProcess`, `TerminateProcess`,
//! `ExitProcess`, process and thread ids.
//!
//! `CreateProcess` parses the command line the Windows way ([`parse_command_line`], the rules
//! of `CommandLineToArgvW` and the Microsoft C runtime) into `argv`, resolves the program
//! with Windows' search order ([`search_dirs`]: this program's directory, the current directory
//! unless `NoDefaultCurrentDirectoryInExePath` is set, then `PATH` standing in for the system
//! directories and `PATH`; a trailing `.exe` that does not exist on Linux is dropped), and starts it with
//! `posix_spawn`. With `bInheritHandles = FALSE` every inheritable handle's descriptor is closed
//! in the child; with `TRUE` they stay open at the same numbers, so their handle values work in
//! the child (see [`crate::handles`]), and their exact access masks are passed in
//! `FILEMAP_WIN32_HANDLES`.
//!
//! A process handle's slot is a pidfd; the process is watched by the core's
//! [`filemap::sync::Process`] (which reaps the child and keeps its exit code), so process
//! handles take part in `WaitForMultipleObjects` with mutexes, events and the rest.
//!
//! Exit codes: Linux keeps only the low 8 bits of an exit status, so `ExitProcess(n)` in a
//! child is seen as `n & 0xFF` by its parent. `TerminateProcess(h, code)` reports `code`
//! exactly (the parent remembers it). A child killed by a signal reports `128 + signal`, as a
//! shell does. `CREATE_SUSPENDED` holds the child before it runs the program
//! until `ResumeThread` on its thread handle (the child waits on a pipe between `fork` and `execve`); other creation flags (console, priority) are accepted and ignored.

#![allow(unsafe_code)] // posix_spawn, pidfds, exported functions taking raw pointers

use std::ffi::{CString, c_char, c_void};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use filemap::Win32Error;

use crate::error::{Fail, Res, boundary, fail};
use crate::handles::{self, CURRENT_PROCESS, CURRENT_THREAD, HANDLES_ENV, Object};
use crate::objects::*;
use crate::strings::{WChar, a_str, w_len, w_str};
use crate::{BOOL, DWORD, FALSE, HANDLE, SECURITY_ATTRIBUTES, TRUE, inherit_from};

/// `PROCESS_ALL_ACCESS`.
pub const PROCESS_ALL_ACCESS: u32 = 0x001F_FFFF;
/// `THREAD_ALL_ACCESS`.
pub const THREAD_ALL_ACCESS: u32 = 0x001F_FFFF;
const PROCESS_TERMINATE: u32 = 0x0001;
/// `STILL_ACTIVE` (259): `GetExitCodeProcess` of a running process.
pub const STILL_ACTIVE: u32 = 259;
const CREATE_SUSPENDED: u32 = 0x4;
const CREATE_UNICODE_ENVIRONMENT: u32 = 0x400;
const STARTF_USESTDHANDLES: u32 = 0x100;

/// Splits a Windows command line into arguments, as `CommandLineToArgvW` and the Microsoft C
/// runtime do:
/// - the program name (first argument) ends at the first whitespace, or is everything between
///   a leading `"` and the next `"`; backslashes are literal in it;
/// - other arguments are separated by spaces and tabs outside quotes; `"` toggles quoting;
///   `2n` backslashes before `"` give `n` backslashes and the quote toggles, `2n+1` give `n`
///   backslashes and a literal `"`; backslashes not before a `"` are literal; inside quotes
///   `""` gives a literal `"`.
pub fn parse_command_line(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    // The program name.
    let mut name = String::new();
    if chars.first() == Some(&'"') {
        i = 1;
        while i < chars.len() && chars[i] != '"' {
            name.push(chars[i]);
            i += 1;
        }
        i += 1; // the closing quote
    } else {
        while i < chars.len() && chars[i] != ' ' && chars[i] != '\t' {
            name.push(chars[i]);
            i += 1;
        }
    }
    args.push(name);
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let mut n = 0;
                while i < chars.len() && chars[i] == '\\' {
                    n += 1;
                    i += 1;
                }
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
            } else if c == '"' {
                if quoted && chars.get(i + 1) == Some(&'"') {
                    arg.push('"');
                    i += 2;
                } else {
                    quoted = !quoted;
                    i += 1;
                }
            } else if (c == ' ' || c == '\t') && !quoted {
                break;
            } else {
                arg.push(c);
                i += 1;
            }
        }
        args.push(arg);
    }
    args
}

fn exe_candidates(name: &str) -> Vec<String> {
    let mut v = vec![name.to_owned()];
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".exe") || lower.ends_with(".com") {
        v.push(name[..name.len() - 4].to_owned());
    }
    v
}

fn is_file(p: &Path) -> bool {
    p.metadata().is_ok_and(|m| m.is_file())
}

/// The variable that takes the current directory out of the program search (Windows' name).
const NO_CWD_VAR: &str = "NoDefaultCurrentDirectoryInExePath";

/// Windows' `NeedCurrentDirectoryForExePath`: true if a program named `exe` should be looked
/// for in the current directory. A name with a directory separator always is (it is not
/// searched for at all: it is relative to the current directory); otherwise the current
/// directory is searched unless `NoDefaultCurrentDirectoryInExePath` is set to a non-empty
/// value (an empty value counts as unset, as `GetEnvironmentVariable` returns 0 for it).
pub fn need_current_directory(exe: &str) -> bool {
    exe.contains(['\\', '/']) || std::env::var_os(NO_CWD_VAR).is_none_or(|v| v.is_empty())
}

/// The directories a program name without a separator is looked for in, in Windows' order
/// (`CreateProcess`, "lpCommandLine"): 1. the directory of this program's executable; 2. the
/// current directory, unless [`need_current_directory`] says no; 3.-5. the system directories
/// (32-bit, 16-bit, Windows), which Linux does not have: their role is `PATH`'s; 6. `PATH`.
pub fn search_dirs(exe: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(me) = std::fs::read_link("/proc/self/exe")
        && let Some(dir) = me.parent()
    {
        dirs.push(dir.to_path_buf());
    }
    if need_current_directory(exe) {
        dirs.push(PathBuf::from("."));
    }
    if let Some(path) = std::env::var_os("PATH") {
        // An empty entry means the current directory to a shell; Windows has no such rule,
        // and honouring it would bring the current directory back: skip it.
        dirs.extend(std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()));
    }
    dirs
}

/// Finds the program to run (module docs).
fn resolve_program(name: &str, search: bool) -> Res<PathBuf> {
    let name = name.replace('\\', "/");
    if name.is_empty() {
        return fail(Win32Error::PATH_NOT_FOUND);
    }
    let candidates = exe_candidates(&name);
    if name.contains('/') || !search {
        for c in &candidates {
            if is_file(Path::new(c)) {
                return Ok(PathBuf::from(c));
            }
        }
        let parent_ok = Path::new(&name).parent().is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
        return fail(if parent_ok { Win32Error::FILE_NOT_FOUND } else { Win32Error::PATH_NOT_FOUND });
    }
    for dir in search_dirs(&name) {
        for c in &candidates {
            let p = dir.join(c);
            if is_file(&p) {
                return Ok(p);
            }
        }
    }
    fail(Win32Error::FILE_NOT_FOUND)
}

/// `NeedCurrentDirectoryForExePathA`: whether `CreateProcess` (and any program search) looks
/// in the current directory for the program `ExeName`: TRUE if it has a path separator, else
/// TRUE unless the environment variable `NoDefaultCurrentDirectoryInExePath` is set.
///
/// # Safety
/// `ExeName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NeedCurrentDirectoryForExePathA(ExeName: *const c_char) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(TRUE, || Ok(need_current_directory(&unsafe { a_str(ExeName) }?.unwrap_or_default()) as BOOL))
}

/// `NeedCurrentDirectoryForExePathW`: [`NeedCurrentDirectoryForExePathA`] with a wide string.
///
/// # Safety
/// `ExeName` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NeedCurrentDirectoryForExePathW(ExeName: *const crate::strings::WChar) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(TRUE, || Ok(need_current_directory(&unsafe { w_str(ExeName) }?.unwrap_or_default()) as BOOL))
}

fn cstring(s: impl AsRef<[u8]>) -> Res<CString> {
    CString::new(s.as_ref()).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))
}

/// The parts of `STARTUPINFO` we use.
struct StdHandles {
    handles: Option<[HANDLE; 3]>,
}

struct Spawn {
    application: Option<String>,
    command_line: Option<String>,
    inherit_handles: bool,
    flags: u32,
    environment: Option<Vec<String>>,
    directory: Option<String>,
    std: StdHandles,
    process_inherit: bool,
    thread_inherit: bool,
}

/// `PROCESS_INFORMATION`.
#[repr(C)]
#[derive(Debug)]
pub struct PROCESS_INFORMATION {
    /// The new process.
    pub hProcess: HANDLE,
    /// Its main thread (waitable until the process exits).
    pub hThread: HANDLE,
    /// Process id.
    pub dwProcessId: DWORD,
    /// Main thread id (equal to the process id on Linux).
    pub dwThreadId: DWORD,
}

/// `STARTUPINFOA`/`STARTUPINFOW` (same layout; string pointers are unused).
#[repr(C)]
#[derive(Debug)]
pub struct STARTUPINFO {
    /// Size.
    pub cb: DWORD,
    /// Reserved.
    pub lpReserved: *mut c_void,
    /// Desktop (ignored).
    pub lpDesktop: *mut c_void,
    /// Console title (ignored).
    pub lpTitle: *mut c_void,
    /// Window position and size (ignored).
    pub dwX: DWORD,
    /// See `dwX`.
    pub dwY: DWORD,
    /// See `dwX`.
    pub dwXSize: DWORD,
    /// See `dwX`.
    pub dwYSize: DWORD,
    /// Console size (ignored).
    pub dwXCountChars: DWORD,
    /// See `dwXCountChars`.
    pub dwYCountChars: DWORD,
    /// Console colours (ignored).
    pub dwFillAttribute: DWORD,
    /// `STARTF_*`: `STARTF_USESTDHANDLES` is honoured.
    pub dwFlags: DWORD,
    /// Window show state (ignored).
    pub wShowWindow: u16,
    /// Reserved.
    pub cbReserved2: u16,
    /// Reserved.
    pub lpReserved2: *mut u8,
    /// Standard input of the child with `STARTF_USESTDHANDLES`.
    pub hStdInput: HANDLE,
    /// Standard output of the child with `STARTF_USESTDHANDLES`.
    pub hStdOutput: HANDLE,
    /// Standard error of the child with `STARTF_USESTDHANDLES`.
    pub hStdError: HANDLE,
}

/// The descriptor a standard handle stands for: a file handle's descriptor, or 0/1/2 for the
/// values `GetStdHandle` returns.
fn std_fd(h: HANDLE) -> Option<i32> {
    if h.is_null() || handles::is_pseudo(h) {
        return None;
    }
    match handles::get(h) {
        Ok(info) if matches!(info.object, Object::File(_)) => Some(info.fd),
        _ => None,
    }
}

fn spawn(s: Spawn) -> Res<PROCESS_INFORMATION> {
    let args = match (&s.command_line, &s.application) {
        (Some(line), _) if !line.trim().is_empty() => parse_command_line(line),
        (_, Some(app)) => vec![app.clone()],
        _ => return fail(Win32Error::INVALID_PARAMETER),
    };
    let program = match &s.application {
        Some(app) => resolve_program(app, false)?,
        None => resolve_program(&args[0], true)?,
    };
    let c_program = cstring(program.as_os_str().as_bytes())?;
    let c_args: Vec<CString> = args.iter().map(cstring).collect::<Res<_>>()?;
    let inherited = if s.inherit_handles { handles::inheritable() } else { Vec::new() };
    let mut env: Vec<String> = match s.environment {
        Some(env) => env,
        None => std::env::vars_os().map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())).collect(),
    };
    env.retain(|kv| !kv.starts_with(&format!("{HANDLES_ENV}=")));
    if !inherited.is_empty() {
        let list: Vec<String> = inherited
            .iter()
            .map(|(fd, access, kind)| format!("{:x}:{kind}:{access:x}", handles::value_of(*fd) as usize))
            .collect();
        env.push(format!("{HANDLES_ENV}={}", list.join(",")));
    }
    let c_env: Vec<CString> = env.iter().map(cstring).collect::<Res<_>>()?;
    let mut argv: Vec<*mut c_char> = c_args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    argv.push(std::ptr::null_mut());
    let mut envp: Vec<*mut c_char> = c_env.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    envp.push(std::ptr::null_mut());
    let c_dir = s.directory.as_ref().map(|d| cstring(d.replace('\\', "/"))).transpose()?;
    if let Some(dir) = &s.directory
        && !Path::new(&dir.replace('\\', "/")).is_dir()
    {
        return Err(Fail(crate::error::ERROR_DIRECTORY));
    }

    let mut dups: Vec<(i32, i32)> = Vec::new();
    if let Some(std) = s.std.handles {
        for (target, h) in std.iter().enumerate() {
            if let Some(fd) = std_fd(*h)
                && fd != target as i32
            {
                dups.push((fd, target as i32));
            }
        }
    }
    let closes: Vec<i32> =
        if s.inherit_handles { Vec::new() } else { handles::inheritable().into_iter().map(|(fd, _, _)| fd).collect() };
    let (pid, gate) = if s.flags & CREATE_SUSPENDED != 0 {
        let (pid, gate) = spawn_suspended(&c_program, &argv, &envp, &dups, &closes, c_dir.as_deref())?;
        (pid, Some(gate))
    } else {
        (posix_spawn(&c_program, &argv, &envp, &dups, &closes, c_dir.as_deref())?, None)
    };
    let process = Arc::new(ProcessObject::child(pid)?);
    *process.gate.lock().unwrap_or_else(|e| e.into_inner()) = gate;
    let h_process =
        handles::insert_dup(Object::Process(process.clone()), PROCESS_ALL_ACCESS, s.process_inherit, process.pidfd())?;
    let h_thread =
        handles::insert_dup(Object::Thread(process.clone()), THREAD_ALL_ACCESS, s.thread_inherit, process.pidfd())?;
    Ok(PROCESS_INFORMATION { hProcess: h_process, hThread: h_thread, dwProcessId: pid as u32, dwThreadId: pid as u32 })
}

fn spawn_error(errno: i32) -> Fail {
    match errno {
        libc::ENOENT => Fail(Win32Error::FILE_NOT_FOUND.0),
        libc::EACCES | libc::EPERM => Fail(Win32Error::ACCESS_DENIED.0),
        libc::ENOEXEC => Fail(Win32Error::BAD_EXE_FORMAT.0),
        e => Fail::from(std::io::Error::from_raw_os_error(e)),
    }
}

/// Starts the program with `posix_spawn`: `dups` are `dup2`ed, `closes` closed, `dir` entered.
fn posix_spawn(
    program: &CString,
    argv: &[*mut c_char],
    envp: &[*mut c_char],
    dups: &[(i32, i32)],
    closes: &[i32],
    dir: Option<&std::ffi::CStr>,
) -> Res<i32> {
    // SAFETY: zeroed memory is a valid argument for posix_spawn_file_actions_init.
    let mut actions: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
    // SAFETY: initialising our own actions object.
    if unsafe { libc::posix_spawn_file_actions_init(&mut actions) } != 0 {
        return fail(Win32Error::NOT_ENOUGH_MEMORY);
    }
    let mut pid: libc::pid_t = 0;
    let result = (|| -> Res<()> {
        let check = |r: i32| if r == 0 { Ok(()) } else { Err(Fail::from(std::io::Error::from_raw_os_error(r))) };
        for &(fd, target) in dups {
            // SAFETY: valid initialised actions object; plain integers.
            check(unsafe { libc::posix_spawn_file_actions_adddup2(&mut actions, fd, target) })?;
        }
        for &fd in closes {
            // SAFETY: valid initialised actions object; `fd` is an open descriptor.
            check(unsafe { libc::posix_spawn_file_actions_addclose(&mut actions, fd) })?;
        }
        if let Some(dir) = dir {
            // SAFETY: valid actions object and NUL-terminated path (copied by glibc).
            check(unsafe { libc::posix_spawn_file_actions_addchdir_np(&mut actions, dir.as_ptr()) })?;
        }
        // SAFETY: program, argv and envp are NUL-terminated strings in NULL-terminated arrays
        // that outlive the call; `actions` is initialised; no attributes.
        let r = unsafe {
            libc::posix_spawn(&mut pid, program.as_ptr(), &actions, std::ptr::null(), argv.as_ptr(), envp.as_ptr())
        };
        if r == 0 { Ok(()) } else { Err(spawn_error(r)) }
    })();
    // SAFETY: destroying the actions object we initialised.
    unsafe { libc::posix_spawn_file_actions_destroy(&mut actions) };
    result.map(|()| pid)
}

/// `CREATE_SUSPENDED`: forks a child that prepares its descriptors and directory, then blocks
/// on a pipe (the returned gate) before `execve`; `ResumeThread` writes to the gate. The child
/// only makes async-signal-safe calls between `fork` and `execve`. If every handle is closed
/// without resuming it, the child sees end-of-file and exits with status 1 (Windows would
/// leave it suspended forever). Whether the program can be executed is checked before the
/// fork (`ERROR_FILE_NOT_FOUND`, `ERROR_ACCESS_DENIED`); a file that is not a program makes
/// the resumed child exit with status 127.
fn spawn_suspended(
    program: &CString,
    argv: &[*mut c_char],
    envp: &[*mut c_char],
    dups: &[(i32, i32)],
    closes: &[i32],
    dir: Option<&std::ffi::CStr>,
) -> Res<(i32, OwnedFd)> {
    // SAFETY: access() with a NUL-terminated path.
    if unsafe { libc::access(program.as_ptr(), libc::X_OK) } != 0 {
        return Err(spawn_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EACCES)));
    }
    let (gate_r, gate_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (r, w) = (gate_r.as_raw_fd(), gate_w.as_raw_fd());
    // SAFETY: fork() duplicates this process; the child below only calls async-signal-safe
    // functions (close, dup2, chdir, read, execve, _exit) on data prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if pid == 0 {
        // SAFETY: async-signal-safe calls only; every pointer was built before the fork and
        // stays valid in the child's copy of the address space.
        unsafe {
            libc::close(w);
            for &(fd, target) in dups {
                libc::dup2(fd, target);
            }
            for &fd in closes {
                libc::close(fd);
            }
            if let Some(dir) = dir
                && libc::chdir(dir.as_ptr()) != 0
            {
                libc::_exit(127);
            }
            let mut byte = 0u8;
            loop {
                let n = libc::read(r, (&mut byte as *mut u8).cast(), 1);
                if n == 1 {
                    break;
                }
                if n == 0 || *libc::__errno_location() != libc::EINTR {
                    libc::_exit(1);
                }
            }
            libc::execve(program.as_ptr(), argv.as_ptr().cast(), envp.as_ptr().cast());
            libc::_exit(127);
        }
    }
    drop(gate_r);
    Ok((pid, gate_w))
}

/// Reads an environment block: `NAME=value\0...\0\0`, 8-bit or wide.
///
/// # Safety
/// `block` must be a valid environment block of the given kind.
unsafe fn read_environment(block: *const c_void, unicode: bool) -> Res<Vec<String>> {
    let mut out = Vec::new();
    if unicode {
        let mut p = block as *const WChar;
        loop {
            // SAFETY: within the double-NUL-terminated block (caller's promise).
            let len = unsafe { w_len(p) };
            if len == 0 {
                break;
            }
            // SAFETY: as above.
            out.push(unsafe { w_str(p) }?.unwrap_or_default());
            // SAFETY: the next string starts after this one's NUL, still inside the block.
            p = unsafe { p.add(len + 1) };
        }
    } else {
        let mut p = block as *const c_char;
        loop {
            // SAFETY: within the double-NUL-terminated block (caller's promise).
            let s = unsafe { std::ffi::CStr::from_ptr(p) };
            let len = s.to_bytes().len();
            if len == 0 {
                break;
            }
            out.push(s.to_string_lossy().into_owned());
            // SAFETY: the next string starts after this one's NUL, still inside the block.
            p = unsafe { p.add(len + 1) };
        }
    }
    Ok(out)
}

/// # Safety
/// The pointers of the exports.
#[allow(clippy::too_many_arguments)]
unsafe fn create_process(
    application: Option<String>,
    command_line: Option<String>,
    process_attributes: *const SECURITY_ATTRIBUTES,
    thread_attributes: *const SECURITY_ATTRIBUTES,
    inherit_handles: BOOL,
    flags: u32,
    environment: *const c_void,
    directory: Option<String>,
    startup: *const STARTUPINFO,
    info: *mut PROCESS_INFORMATION,
) -> Res<BOOL> {
    if startup.is_null() || info.is_null() {
        return Err(Fail(crate::error::ERROR_NOACCESS));
    }
    // SAFETY: non-NULL and valid (caller's promise).
    let startup = unsafe { &*startup };
    let std = StdHandles {
        handles: (startup.dwFlags & STARTF_USESTDHANDLES != 0).then_some([
            startup.hStdInput,
            startup.hStdOutput,
            startup.hStdError,
        ]),
    };
    let environment = if environment.is_null() {
        None
    } else {
        // SAFETY: a valid block (caller's promise).
        Some(unsafe { read_environment(environment, flags & CREATE_UNICODE_ENVIRONMENT != 0) }?)
    };
    let pi = spawn(Spawn {
        application,
        command_line,
        inherit_handles: inherit_handles != 0,
        flags,
        environment,
        directory,
        std,
        // SAFETY: NULL or valid (caller's promise).
        process_inherit: unsafe { inherit_from(process_attributes) },
        // SAFETY: NULL or valid (caller's promise).
        thread_inherit: unsafe { inherit_from(thread_attributes) },
    })?;
    // SAFETY: non-NULL and writable (caller's promise).
    unsafe { info.write(pi) };
    Ok(TRUE)
}

/// `CreateProcessA`: starts a program (module docs). `lpApplicationName` (may be NULL) names
/// the program; `lpCommandLine` (may be NULL if the former is not) is split into `argv` the
/// Windows way. `bInheritHandles` decides whether inheritable handles reach the child.
/// `lpEnvironment` (NULL = this process's), `lpCurrentDirectory` and `STARTF_USESTDHANDLES`
/// are honoured. Fills `*lpProcessInformation` with new process and thread handles (waitable,
/// close both when done). Fails with `ERROR_FILE_NOT_FOUND` if the program does not exist.
///
/// # Safety
/// String arguments NULL or NUL-terminated; attribute pointers NULL or valid; `lpEnvironment`
/// NULL or a valid block; `lpStartupInfo` and `lpProcessInformation` valid.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateProcessA(
    lpApplicationName: *const c_char,
    lpCommandLine: *mut c_char,
    lpProcessAttributes: *const SECURITY_ATTRIBUTES,
    lpThreadAttributes: *const SECURITY_ATTRIBUTES,
    bInheritHandles: BOOL,
    dwCreationFlags: DWORD,
    lpEnvironment: *const c_void,
    lpCurrentDirectory: *const c_char,
    lpStartupInfo: *const STARTUPINFO,
    lpProcessInformation: *mut PROCESS_INFORMATION,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promises.
        unsafe {
            create_process(
                a_str(lpApplicationName)?,
                a_str(lpCommandLine)?,
                lpProcessAttributes,
                lpThreadAttributes,
                bInheritHandles,
                dwCreationFlags,
                lpEnvironment,
                a_str(lpCurrentDirectory)?,
                lpStartupInfo,
                lpProcessInformation,
            )
        }
    })
}

/// `CreateProcessW`: [`CreateProcessA`] with wide strings (`CREATE_UNICODE_ENVIRONMENT`
/// marks a wide environment block).
///
/// # Safety
/// As [`CreateProcessA`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CreateProcessW(
    lpApplicationName: *const WChar,
    lpCommandLine: *mut WChar,
    lpProcessAttributes: *const SECURITY_ATTRIBUTES,
    lpThreadAttributes: *const SECURITY_ATTRIBUTES,
    bInheritHandles: BOOL,
    dwCreationFlags: DWORD,
    lpEnvironment: *const c_void,
    lpCurrentDirectory: *const WChar,
    lpStartupInfo: *const STARTUPINFO,
    lpProcessInformation: *mut PROCESS_INFORMATION,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promises.
        unsafe {
            create_process(
                w_str(lpApplicationName)?,
                w_str(lpCommandLine)?,
                lpProcessAttributes,
                lpThreadAttributes,
                bInheritHandles,
                dwCreationFlags,
                lpEnvironment,
                w_str(lpCurrentDirectory)?,
                lpStartupInfo,
                lpProcessInformation,
            )
        }
    })
}

fn process_of(h: HANDLE) -> Res<(Arc<ProcessObject>, u32)> {
    let info = handles::get(h)?;
    match info.object {
        Object::Process(p) | Object::Thread(p) => Ok((p, info.access)),
        _ => fail(Win32Error::INVALID_HANDLE),
    }
}

/// `GetExitCodeProcess`: `STILL_ACTIVE` (259) while the process runs, then its exit code
/// (module docs). Also accepts the thread handle `CreateProcess` returns.
///
/// # Safety
/// `lpExitCode` must be NULL (`ERROR_NOACCESS`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetExitCodeProcess(hProcess: HANDLE, lpExitCode: *mut DWORD) -> BOOL {
    boundary(FALSE, || {
        let code = if hProcess as usize == CURRENT_PROCESS {
            STILL_ACTIVE
        } else {
            let (p, _) = process_of(hProcess)?;
            p.exit_code().unwrap_or(STILL_ACTIVE)
        };
        if lpExitCode.is_null() {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { lpExitCode.write(code) };
        Ok(TRUE)
    })
}

/// `TerminateProcess`: kills the process (SIGKILL); its exit code becomes `uExitCode`. Needs
/// `PROCESS_TERMINATE`; a process that has already exited gives `ERROR_ACCESS_DENIED`, as on
/// Windows. `GetCurrentProcess()` terminates this process at once.
#[unsafe(no_mangle)]
pub extern "system" fn TerminateProcess(hProcess: HANDLE, uExitCode: u32) -> BOOL {
    boundary(FALSE, || {
        if hProcess as usize == CURRENT_PROCESS {
            // SAFETY: _exit ends the process immediately, like Windows' TerminateProcess.
            unsafe { libc::_exit(uExitCode as i32) };
        }
        let info = handles::get(hProcess)?;
        let Object::Process(p) = info.object else {
            return fail(Win32Error::INVALID_HANDLE);
        };
        if info.access & PROCESS_TERMINATE == 0 || p.has_exited() {
            return fail(Win32Error::ACCESS_DENIED);
        }
        *p.terminate_code.lock().unwrap_or_else(|e| e.into_inner()) = Some(uExitCode);
        if let Err(e) = rustix::process::pidfd_send_signal(&p.pidfd, rustix::process::Signal::KILL) {
            let e = std::io::Error::from(e);
            if e.raw_os_error() == Some(libc::ESRCH) {
                return fail(Win32Error::ACCESS_DENIED);
            }
            return Err(e.into());
        }
        Ok(TRUE)
    })
}

/// `ExitProcess`: ends this process with `uExitCode` (the parent sees its low 8 bits), after
/// running `atexit` handlers and flushing C stdio, as the C runtime's `exit` does.
#[unsafe(no_mangle)]
pub extern "system" fn ExitProcess(uExitCode: u32) -> ! {
    // SAFETY: exit() runs atexit handlers and never returns.
    unsafe { libc::exit(uExitCode as i32) }
}

/// `GetCurrentProcess`: the pseudo-handle (-1) for this process.
#[unsafe(no_mangle)]
pub extern "system" fn GetCurrentProcess() -> HANDLE {
    CURRENT_PROCESS as HANDLE
}

/// `GetCurrentThread`: the pseudo-handle (-2) for the calling thread.
#[unsafe(no_mangle)]
pub extern "system" fn GetCurrentThread() -> HANDLE {
    CURRENT_THREAD as HANDLE
}

/// `GetCurrentProcessId`: this process's id.
#[unsafe(no_mangle)]
pub extern "system" fn GetCurrentProcessId() -> DWORD {
    std::process::id()
}

/// `GetCurrentThreadId`: the calling thread's id (its Linux TID).
#[unsafe(no_mangle)]
pub extern "system" fn GetCurrentThreadId() -> DWORD {
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// `OpenProcess`: a handle to the running process `dwProcessId` (waitable until it exits;
/// `TerminateProcess` works with `PROCESS_TERMINATE` and the rights to signal it). Its exit
/// code is only known for our own children. A process that does not exist:
/// `ERROR_INVALID_PARAMETER`, as on Windows.
#[unsafe(no_mangle)]
pub extern "system" fn OpenProcess(dwDesiredAccess: DWORD, bInheritHandle: BOOL, dwProcessId: DWORD) -> HANDLE {
    boundary(std::ptr::null_mut(), || {
        let pid = i32::try_from(dwProcessId).map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
        if pid <= 0 {
            return fail(Win32Error::INVALID_PARAMETER);
        }
        let pidfd = pidfd_open(pid).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH) | Some(libc::EINVAL) => Fail(Win32Error::INVALID_PARAMETER.0),
            _ => Fail::from(e),
        })?;
        let process = Arc::new(ProcessObject {
            pid,
            pidfd,
            watch: Some(filemap::sync::Process::from_pid(pid as u32, false)?),
            terminate_code: Mutex::new(None),
            gate: Mutex::new(None),
        });
        handles::insert_dup(Object::Process(process.clone()), dwDesiredAccess, bInheritHandle != 0, process.pidfd())
    })
}

/// `GetStartupInfoA`: the `STARTUPINFO` this process was started with: `cb` set, everything
/// else empty (window and console fields mean nothing here).
///
/// # Safety
/// `lpStartupInfo` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetStartupInfoA(lpStartupInfo: *mut STARTUPINFO) {
    if lpStartupInfo.is_null() {
        return;
    }
    // SAFETY: non-NULL and writable (caller's promise); all-zero is a valid STARTUPINFO.
    unsafe {
        lpStartupInfo.write(std::mem::zeroed());
        (*lpStartupInfo).cb = std::mem::size_of::<STARTUPINFO>() as u32;
    }
}

/// `GetStartupInfoW`: as [`GetStartupInfoA`].
///
/// # Safety
/// `lpStartupInfo` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetStartupInfoW(lpStartupInfo: *mut STARTUPINFO) {
    // SAFETY: forwarded caller promise.
    unsafe { GetStartupInfoA(lpStartupInfo) }
}

/// `GetProcessId`: the id of the process a handle refers to (0 with `ERROR_INVALID_HANDLE`).
#[unsafe(no_mangle)]
pub extern "system" fn GetProcessId(Process: HANDLE) -> DWORD {
    boundary(0, || {
        if Process as usize == CURRENT_PROCESS {
            return Ok(std::process::id());
        }
        let info = handles::get(Process)?;
        match info.object {
            Object::Process(p) => Ok(p.pid as u32),
            _ => fail(Win32Error::INVALID_HANDLE),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_command_line;

    fn args(line: &str) -> Vec<String> {
        parse_command_line(line)
    }

    #[test]
    fn command_lines_split_like_commandlinetoargvw() {
        // Examples from the Microsoft C runtime's "Parsing C command-line arguments" table.
        assert_eq!(args(r#"prog "a b c" d e"#), ["prog", "a b c", "d", "e"]);
        assert_eq!(args(r#"prog "ab\"c" "\\" d"#), ["prog", r#"ab"c"#, r"\", "d"]);
        assert_eq!(args(r#"prog a\\\b d"e f"g h"#), ["prog", r"a\\\b", "de fg", "h"]);
        assert_eq!(args(r#"prog a\\\"b c d"#), ["prog", r#"a\"b"#, "c", "d"]);
        assert_eq!(args(r#"prog a\\\\"b c" d e"#), ["prog", r"a\\b c", "d", "e"]);
        assert_eq!(args(r#"prog a"b"" c d"#), ["prog", r#"ab" c d"#]);
    }

    #[test]
    fn the_program_name_keeps_backslashes_and_ends_at_its_quote() {
        assert_eq!(args(r#""C:\Program Files\app.exe" x"#), [r"C:\Program Files\app.exe", "x"]);
        assert_eq!(args(r"C:\dir\app.exe   x  "), [r"C:\dir\app.exe", "x"]);
        assert_eq!(args("app"), ["app"]);
        assert_eq!(args("app\t\"\""), ["app", ""]);
    }
}
