//! `conio.h`: `_getch`, `_getche`, `_kbhit`, `_putch` over standard input and output.
//!
//! They go through the C library's `stdin`/`stdout` streams, so they interleave correctly with
//! the program's `scanf`/`printf`. On a terminal `_getch` reads one key without waiting for
//! Enter and without echo (the terminal is switched to non-canonical mode for the read);
//! otherwise (a pipe or file, as in tests) it reads the next byte. Pending output is flushed
//! first, so prompts appear before the program blocks.

#![allow(unsafe_code)] // C stdio and termios

unsafe extern "C" {
    static mut stdin: *mut libc::FILE;
    static mut stdout: *mut libc::FILE;
}

fn read_key(echo: bool) -> i32 {
    // SAFETY: glibc's stdin/stdout are initialised before main; termios calls get valid
    // pointers to a local termios structure.
    unsafe {
        let (input, output) = (stdin, stdout);
        libc::fflush(output);
        let fd = libc::fileno(input);
        let mut saved: libc::termios = std::mem::zeroed();
        let tty = libc::isatty(fd) == 1 && libc::tcgetattr(fd, &mut saved) == 0;
        if tty {
            let mut raw = saved;
            raw.c_lflag &= !(libc::ICANON | libc::ECHO);
            raw.c_cc[libc::VMIN] = 1;
            raw.c_cc[libc::VTIME] = 0;
            libc::tcsetattr(fd, libc::TCSANOW, &raw);
        }
        let c = libc::fgetc(input);
        if tty {
            libc::tcsetattr(fd, libc::TCSANOW, &saved);
        }
        if echo && c != libc::EOF {
            libc::fputc(c, output);
            libc::fflush(output);
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
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    i32::from(r > 0 && p.revents & libc::POLLIN != 0)
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
