//! The C runtime's console side: `conio.h` (`_getch`, `_getche`, `_kbhit`, `_putch`),
//! `system("pause")`/`system("cls")`, a Windows-like unbuffered console, and the `main` that
//! calls a UNICODE program's `wmain`.
//!
//! `_getch` reads the next key from standard input's *device* (as Windows' reads the console,
//! not the C runtime's buffer): on a terminal one key without waiting for Enter and without echo
//! (the terminal is switched to non-canonical mode for the read); otherwise (a pipe, as in
//! tests) the next byte. Standard input is unbuffered when it is not a regular file, so `scanf`,
//! `gets_s` and `getchar` take from the device only what they consume, as a Windows console's
//! line reads do, and keys typed ahead stay there for `_getch`. Pending output is flushed
//! first, so prompts appear before the program blocks.

#![allow(unsafe_code)] // C stdio and termios

use std::ffi::{CStr, c_char};

unsafe extern "C" {
    static mut stdin: *mut libc::FILE;
    static mut stdout: *mut libc::FILE;
}

fn read_key(echo: bool) -> i32 {
    // SAFETY: glibc's stdout is initialised before main; termios calls get valid pointers to a
    // local termios structure; read gets a one-byte local buffer.
    unsafe {
        libc::fflush(stdout);
        let fd = 0;
        let mut saved: libc::termios = std::mem::zeroed();
        let tty = libc::isatty(fd) == 1 && libc::tcgetattr(fd, &mut saved) == 0;
        if tty {
            let mut raw = saved;
            raw.c_lflag &= !(libc::ICANON | libc::ECHO);
            raw.c_cc[libc::VMIN] = 1;
            raw.c_cc[libc::VTIME] = 0;
            libc::tcsetattr(fd, libc::TCSANOW, &raw);
        }
        // From the device, not through C's stdin buffer: as Windows' _getch reads the console's
        // input, not what scanf or gets left in the C runtime's buffer (the newline after a
        // scanf'd number does not answer the next _getch).
        let mut byte = 0u8;
        let c = loop {
            match libc::read(fd, (&mut byte as *mut u8).cast(), 1) {
                1 => break i32::from(byte),
                -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => continue,
                _ => break libc::EOF,
            }
        };
        if tty {
            libc::tcsetattr(fd, libc::TCSANOW, &saved);
        }
        if echo && c != libc::EOF {
            let out = stdout;
            libc::fputc(c, out);
            libc::fflush(out);
        }
        // Windows reports Enter as '\r'.
        if c == i32::from(b'\n') { i32::from(b'\r') } else { c }
    }
}

/// `_getch`: reads one key from standard input without echo; Enter reads as `'\r'`, as on
/// Windows. Returns `EOF` (-1) at end of input.
#[unsafe(no_mangle)]
pub extern "C" fn _getch() -> i32 {
    read_key(false)
}

/// `_getche`: [`_getch`] with echo.
#[unsafe(no_mangle)]
pub extern "C" fn _getche() -> i32 {
    read_key(true)
}

/// `getch`: the old name of [`_getch`].
#[unsafe(no_mangle)]
pub extern "C" fn getch() -> i32 {
    read_key(false)
}

/// `_kbhit`: nonzero if a key is waiting on standard input: bytes the descriptor has ready
/// (`FIONREAD`; a descriptor that cannot tell is polled). End of input is not a key. Bytes
/// already read into C's `stdin` buffer are not seen.
#[unsafe(no_mangle)]
pub extern "C" fn _kbhit() -> i32 {
    // SAFETY: glibc's stdin is initialised before main; fileno only reads it.
    let fd = unsafe { libc::fileno(stdin) };
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes an int.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } == 0 {
        return i32::from(n > 0);
    }
    if fd < 0 {
        return 0;
    }
    // SAFETY: `fd` is C stdin's descriptor (non-negative, checked above), open while this call
    // runs; the borrow ends with it.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let mut fds = [rustix::event::PollFd::new(&fd, rustix::event::PollFlags::IN)];
    let now = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
    let ready = rustix::event::poll(&mut fds, Some(&now)).is_ok_and(|n| n > 0);
    i32::from(ready && fds[0].revents().contains(rustix::event::PollFlags::IN))
}

/// `_putch`: writes one character to standard output; returns it.
#[unsafe(no_mangle)]
pub extern "C" fn _putch(c: i32) -> i32 {
    // SAFETY: glibc's stdout is initialised before main.
    unsafe {
        let out = stdout;
        libc::fputc(c, out);
        libc::fflush(out);
    }
    c
}

/// `system` as the headers define it (`#define system(command) filemap_system(command)`): the
/// `cmd.exe` built-ins that console programs call are done here, everything else goes to
/// `/bin/sh` through the C library's `system`:
///
/// - `pause`: prints `Press any key to continue . . . `, waits for a key as [`_getch`] does,
///   then ends the line, as `cmd.exe` does; `pause>nul` waits without the message. Returns 0.
/// - `cls`: clears the screen and homes the cursor when standard output is a terminal
///   (ANSI sequences); writes nothing otherwise. Returns 0.
/// - `title text`: sets the console title (an xterm sequence on a terminal). `color xy`: does
///   nothing (returns 0).
///
/// Matching ignores case and surrounding blanks. A NULL command asks whether a shell exists.
///
/// # Safety
/// `command` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn filemap_system(command: *const c_char) -> i32 {
    if command.is_null() {
        // SAFETY: system(NULL) only asks whether a shell is available.
        return unsafe { libc::system(std::ptr::null()) };
    }
    // SAFETY: NUL-terminated (caller's promise).
    let text = unsafe { CStr::from_ptr(command) }.to_string_lossy();
    match builtin(&text) {
        Some(Builtin::Pause { quiet }) => {
            if !quiet {
                write_out(b"Press any key to continue . . . ");
            }
            read_key(false);
            if !quiet {
                write_out(b"\n");
            }
            0
        }
        Some(Builtin::Cls) => {
            if stdout_is_terminal() {
                write_out(b"\x1b[H\x1b[2J\x1b[3J");
            }
            0
        }
        Some(Builtin::Title(t)) => {
            if stdout_is_terminal() {
                write_out(format!("\x1b]0;{t}\x07").as_bytes());
            }
            0
        }
        Some(Builtin::Color) => 0,
        // SAFETY: a NUL-terminated command string.
        None => unsafe { libc::system(command) },
    }
}

/// A `cmd.exe` built-in that [`filemap_system`] does itself.
#[derive(Debug, PartialEq, Eq)]
enum Builtin {
    Pause { quiet: bool },
    Cls,
    Title(String),
    Color,
}

fn builtin(command: &str) -> Option<Builtin> {
    let cmd = command.trim();
    let lower = cmd.to_ascii_lowercase();
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    match squeezed.as_str() {
        "pause" => return Some(Builtin::Pause { quiet: false }),
        "pause>nul" | "pause>nul:" | "pause>null" => return Some(Builtin::Pause { quiet: true }),
        "cls" => return Some(Builtin::Cls),
        _ => {}
    }
    let word = lower.split_whitespace().next().unwrap_or("");
    match word {
        "title" => Some(Builtin::Title(cmd[5..].trim().to_owned())),
        "color" => Some(Builtin::Color),
        _ => None,
    }
}

fn stdout_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(1) == 1 }
}

/// Writes through C's `stdout` (so it orders with the program's `printf`) and flushes.
fn write_out(bytes: &[u8]) {
    // SAFETY: glibc's stdout is initialised before main; the buffer is valid for its length.
    unsafe {
        let out = stdout;
        libc::fwrite(bytes.as_ptr().cast(), 1, bytes.len(), out);
        libc::fflush(out);
    }
}

/// Makes standard output unbuffered when it is a terminal, as a Windows console is: text
/// printed without a newline (a prompt, "Waiting for the server...") shows at once, before the
/// program reads input, sleeps or waits. Redirected output stays fully buffered (as with
/// MSVC's runtime). Standard input that is not a regular file becomes unbuffered (see the
/// module docs: line reads take only their line, `_getch` gets the keys after it). Runs before
/// `main` from `.init_array`.
extern "C" fn console_like_windows() {
    // SAFETY: runs before main, before any I/O through stdin/stdout; setvbuf with a NULL
    // buffer and _IONBF allocates nothing; fstat writes a local stat.
    unsafe {
        if libc::isatty(1) == 1 {
            libc::setvbuf(stdout, std::ptr::null_mut(), libc::_IONBF, 0);
        }
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(0, &mut st) == 0 && st.st_mode & libc::S_IFMT != libc::S_IFREG {
            libc::setvbuf(stdin, std::ptr::null_mut(), libc::_IONBF, 0);
        }
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static CONSOLE_LIKE_WINDOWS: extern "C" fn() = console_like_windows;

/// The program's `wmain` caller, if it has one: `tchar.h` defines `__filemap_call_wmain` (a weak
/// symbol) in UNICODE builds; the assembly below holds its address, or 0 in a program without it.
type CallWmain = unsafe extern "C" fn(i32, *mut *mut c_char, *mut *mut c_char) -> i32;

unsafe extern "C" {
    /// The address of `__filemap_call_wmain`, or NULL (a weak reference resolved by the linker).
    static __filemap_wmain_entry: Option<CallWmain>;
}

core::arch::global_asm!(
    ".weak __filemap_call_wmain",
    ".pushsection .data.rel.ro.__filemap_wmain_entry,\"aw\"",
    ".balign 8",
    ".globl __filemap_wmain_entry",
    ".hidden __filemap_wmain_entry",
    "__filemap_wmain_entry:",
    ".quad __filemap_call_wmain",
    ".popsection",
);

/// `main` for programs that have only `wmain`/`_tmain` (UNICODE builds, as MSVC runs them): it
/// calls the program's `wmain` through `tchar.h`'s `__filemap_call_wmain`, which converts the
/// arguments to wide strings. The symbol is *weak*, so a program's own `main` (and a Rust test
/// harness's) always wins over it.
///
/// # Safety
/// Called by the C runtime's start code with the process's `argc`, `argv` and `envp`.
#[unsafe(export_name = "main")]
unsafe extern "C" fn filemap_main(argc: i32, argv: *mut *mut c_char, envp: *mut *mut c_char) -> i32 {
    // Turns this definition's `main` symbol weak (assembled right after the symbol's definition;
    // the assembler notes the binding change).
    // SAFETY: an assembler directive only; it emits no instructions.
    unsafe { core::arch::asm!(".weak main", options(nomem, nostack, preserves_flags)) };
    // SAFETY: a link-time constant: the weak symbol's address or NULL.
    match unsafe { __filemap_wmain_entry } {
        // SAFETY: `__filemap_call_wmain` has this signature (tchar.h) and gets the C runtime's
        // own arguments.
        Some(call) => unsafe { call(argc, argv, envp) },
        None => {
            eprintln!("filemap-win32: the program has neither main nor wmain/_tmain");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_builtins_are_recognised_whatever_the_case_and_blanks() {
        assert_eq!(builtin("pause"), Some(Builtin::Pause { quiet: false }));
        assert_eq!(builtin("  PAUSE "), Some(Builtin::Pause { quiet: false }));
        assert_eq!(builtin("pause > nul"), Some(Builtin::Pause { quiet: true }));
        assert_eq!(builtin("cls"), Some(Builtin::Cls));
        assert_eq!(builtin("CLS"), Some(Builtin::Cls));
        assert_eq!(builtin("title My Server"), Some(Builtin::Title("My Server".into())));
        assert_eq!(builtin("color 0A"), Some(Builtin::Color));
        assert_eq!(builtin("echo hi"), None);
        assert_eq!(builtin("pausex"), None);
    }
}
