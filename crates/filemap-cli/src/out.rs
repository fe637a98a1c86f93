//! Writing to standard output and standard error without ever panicking.
//!
//! In this crate `println!`, `print!`, `eprintln!` and `eprint!` are the macros defined in
//! `main.rs`, which come here (std's panic when the reader has gone: `filemap ls | head -1`,
//! `filemap ... 2>&1 | true`). Rules:
//! - `println!`/`eprintln!` print *one line*: every control character in it is escaped
//!   ([`crate::render::escape`]), so no name, path or message can break or forge lines or send
//!   terminal escapes. `print!`/`eprint!` write text as is: only pre-rendered reports (which
//!   escape each field) and raw mapping contents (`filemap read`, like `cat`) use them.
//! - When a stream's reader is gone (`EPIPE`), further output to it is dropped, the command
//!   finishes what it was doing (closing handles cleanly: a name is released at once, a mutex
//!   is released rather than abandoned), and `filemap` exits with status 141, the status a
//!   shell reports for a Unix tool killed by `SIGPIPE`. Any other write error ends with status
//!   1 and a message on whichever stream still works.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

/// Which stream.
#[derive(Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// The first write error of each stream (stdout, stderr).
static FAILED: Mutex<[Option<ErrorKind>; 2]> = Mutex::new([None, None]);

fn failed(stream: Stream) -> Option<ErrorKind> {
    FAILED.lock().unwrap_or_else(|e| e.into_inner())[stream as usize]
}

fn write(stream: Stream, bytes: &[u8]) {
    if failed(stream).is_some() {
        return;
    }
    let result = match stream {
        Stream::Out => std::io::stdout().lock().write_all(bytes),
        Stream::Err => std::io::stderr().lock().write_all(bytes),
    };
    if let Err(e) = result {
        FAILED.lock().unwrap_or_else(|e| e.into_inner())[stream as usize].get_or_insert(e.kind());
    }
}

/// `println!`/`eprintln!`: one line, control characters escaped.
pub fn line(stream: Stream, args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let mut text = crate::render::escape(&text).into_owned();
    text.push('\n');
    write(stream, text.as_bytes());
}

/// `print!`/`eprint!`: the text as is.
pub fn raw(stream: Stream, args: std::fmt::Arguments<'_>) {
    match args.as_str() {
        Some(s) => write(stream, s.as_bytes()),
        None => write(stream, args.to_string().as_bytes()),
    }
}

/// Flushes stdout, recording a failure like any other write.
pub fn flush() {
    if failed(Stream::Out).is_none()
        && let Err(e) = std::io::stdout().lock().flush()
    {
        FAILED.lock().unwrap_or_else(|e| e.into_inner())[0].get_or_insert(e.kind());
    }
}

/// True if `err` (anywhere in its chain) is a write to a reader that has gone.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == ErrorKind::BrokenPipe))
}

/// The exit status output failures call for, if any: 141 for a reader that went away, 1 for
/// another write error (reported on the other stream when it still works).
pub fn exit_status() -> Option<u8> {
    flush();
    let [out, err] = *FAILED.lock().unwrap_or_else(|e| e.into_inner());
    match (out, err) {
        (Some(ErrorKind::BrokenPipe), _) | (_, Some(ErrorKind::BrokenPipe)) => Some(141),
        (Some(kind), _) => {
            line(Stream::Err, format_args!("filemap: error: cannot write the output: {kind}"));
            Some(1)
        }
        (None, Some(_)) => Some(1),
        (None, None) => None,
    }
}
