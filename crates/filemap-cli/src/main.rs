//! `filemap`: see, create, inspect and clean Win32-style named objects on Linux, and demo the
//! "Creating Named Shared Memory" scenario.
//!
//! Everything goes through the `filemap` core crate; the process tables come from `/proc`.

#![deny(unsafe_code)]

// Our own printing macros, shadowing std's in every module below (textual scope): they never
// panic on a closed pipe, and the line forms escape control characters. See `out.rs`.
macro_rules! println {
    () => {
        $crate::out::line($crate::out::Stream::Out, format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line($crate::out::Stream::Out, format_args!($($arg)*))
    };
}
macro_rules! eprintln {
    () => {
        $crate::out::line($crate::out::Stream::Err, format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line($crate::out::Stream::Err, format_args!($($arg)*))
    };
}
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::out::raw($crate::out::Stream::Out, format_args!($($arg)*))
    };
}
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::out::raw($crate::out::Stream::Err, format_args!($($arg)*))
    };
}

mod commands;
mod demo;
mod inventory;
mod out;
mod procs;
mod render;
mod state_view;
mod sync_cmds;
mod units;
mod users;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use filemap::Win32Error;

use crate::inventory::ScopeSel;

const EXIT_CODES: &str = "\
Names: `Local\\name` (per user), `Global\\name` (machine-wide, see init-global) or just `name`
(= Local\\name). Quote them in the shell: 'Global\\MyObject'.

Exit codes:
  0  success
  1  error
  2  usage error (bad arguments, malformed name)
  3  not found: no live object has that name (ERROR_FILE_NOT_FOUND), or no process has
     the pid given to `ls --pid`
  4  already exists: the name is taken (ERROR_ALREADY_EXISTS)
  5  access denied: permissions, protection or the Global privilege (ERROR_ACCESS_DENIED)
  6  wrong type: the name belongs to another kind of object (ERROR_INVALID_HANDLE)
  7  timed out (WAIT_TIMEOUT)

Environment:
  FILEMAP_ROOT  where the namespace lives (default /dev/shm)
  NO_COLOR      no colours even on a terminal";

/// See, create, inspect and clean Win32-style named objects (file mappings, mutexes, events,
/// semaphores, waitable timers) shared between Linux processes.
#[derive(Debug, Parser)]
#[command(name = "filemap", version, after_help = EXIT_CODES, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the "Creating Named Shared Memory" scenario: a first process creates a named mapping
    /// and writes a message, a second process opens it by name, waits on a named event and
    /// prints it; nothing is left behind.
    Demo(demo::DemoArgs),
    /// List named objects: type, size, owner, mode, age, the processes holding handles and
    /// mapping views, stale leftovers, and memory kept alive only by views.
    Ls(LsArgs),
    /// Show everything known about one object.
    Info(InfoArgs),
    /// Create a named object (use --hold to keep it alive: a name lives only while some process
    /// holds a handle).
    Create(commands::CreateArgs),
    /// Print the contents of a named mapping.
    Read(commands::ReadArgs),
    /// Write bytes into a named mapping (from --data or standard input).
    Write(commands::WriteArgs),
    /// Signal a sync object: set an event (or --pulse it), release a semaphore (--count),
    /// arm a timer (--due, --period), release a mutex (only its owner can).
    Signal(sync_cmds::SignalArgs),
    /// Unsignal an event (ResetEvent) or cancel a timer (CancelWaitableTimer).
    Reset(sync_cmds::ResetArgs),
    /// Wait until a sync object is signaled (an event, semaphore or timer; a mutex is acquired
    /// and released again, or held with --hold).
    Wait(sync_cmds::WaitArgs),
    /// Remove stale objects: those whose holders all died without closing them.
    Gc(commands::GcArgs),
    /// Set up the Global namespace (root only); safe to run again.
    InitGlobal(commands::InitGlobalArgs),
    /// The second process of `filemap demo` (started by it).
    #[command(hide = true)]
    DemoSecond(demo::SecondArgs),
}

#[derive(Debug, Args)]
struct LsArgs {
    /// Only names matching PATTERN: with `*`, `?` or `[...]` a glob over the whole name, with or
    /// without its prefix ('demo-*', 'Global\*'); otherwise a substring ('demo' lists
    /// `Local\my-demo`). Case-sensitive, like Windows object names.
    #[arg(value_name = "PATTERN")]
    pattern: Option<String>,
    /// Only the objects process PID holds handles to or maps views of (like `handle -p PID`).
    #[arg(long, short = 'p', value_name = "PID")]
    pid: Option<u32>,
    /// Which namespace to list.
    #[arg(long, value_enum, default_value = "all")]
    scope: ScopeSel,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct InfoArgs {
    /// Object name: `name`, `Local\name` or `Global\name`.
    name: String,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::DemoSecond(args) => demo::second(args),
        Command::Ls(args) => commands::ls(args.scope, args.pattern.as_deref(), args.pid, args.json),
        Command::Info(args) => commands::info(&args.name, args.json),
        Command::Create(args) => match commands::create(args) {
            Ok(Some(req)) if req.args.kind == commands::Kind::Mapping => commands::create_mapping(req.name, req.args),
            Ok(Some(req)) => sync_cmds::create(&req.name, req.args),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        },
        Command::Read(args) => commands::read(args),
        Command::Write(args) => commands::write(args),
        Command::Signal(args) => sync_cmds::signal(args),
        Command::Reset(args) => sync_cmds::reset(args),
        Command::Wait(args) => sync_cmds::wait(args),
        Command::Gc(args) => commands::gc(args),
        Command::InitGlobal(args) => commands::init_global(args),
    };
    let code = match result {
        Ok(()) => 0,
        // The reader of our output went away (`filemap read x | head -c 10`): not an error to
        // report, the status a shell shows for a tool stopped by SIGPIPE.
        Err(err) if out::is_broken_pipe(&err) => 141,
        Err(err) => {
            report(&err);
            exit_code(&err)
        }
    };
    match out::exit_status() {
        Some(status) if code == 0 || status == 141 => ExitCode::from(status),
        _ => ExitCode::from(code),
    }
}

/// The Win32 code behind an error, if a core error is in its chain.
fn win32_code(err: &anyhow::Error) -> Option<Win32Error> {
    err.chain().find_map(|e| e.downcast_ref::<filemap::Error>()).map(filemap::Error::code)
}

/// The documented exit code for an error (see `EXIT_CODES`).
fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<commands::UsageError>().is_some() {
        return 2;
    }
    if err.downcast_ref::<commands::NoSuchProcess>().is_some() {
        return 3;
    }
    match win32_code(err) {
        Some(Win32Error::FILE_NOT_FOUND) => 3,
        Some(Win32Error::ALREADY_EXISTS) => 4,
        Some(Win32Error::ACCESS_DENIED | Win32Error::PRIVILEGE_NOT_HELD) => 5,
        Some(Win32Error::INVALID_HANDLE) => 6,
        Some(Win32Error::TIMEOUT) => 7,
        _ => 1,
    }
}

/// Prints an error to stderr: what failed, the Win32 code's name, and a hint.
fn report(err: &anyhow::Error) {
    let parts: Vec<String> = err
        .chain()
        .map(|e| match e.downcast_ref::<filemap::Error>() {
            Some(core) => core.message().to_owned(),
            None => e.to_string(),
        })
        .collect();
    eprintln!("filemap: error: {}", parts.join(": "));
    if let Some(code) = win32_code(err) {
        let name = code.name().map_or_else(|| format!("Win32 error {}", code.0), |n| format!("ERROR_{n}"));
        eprintln!("  code: {name} ({}): {}", code.0, code.description());
        if let Some(hint) = hint(code) {
            eprintln!("  hint: {hint}");
        }
    }
}

fn hint(code: Win32Error) -> Option<&'static str> {
    Some(match code {
        Win32Error::FILE_NOT_FOUND => {
            "no live process holds a handle to that name (a name disappears when its last handle \
             closes); `filemap ls` shows what exists, `filemap create NAME --hold` keeps an object alive"
        }
        Win32Error::PATH_NOT_FOUND | Win32Error::INVALID_NAME | Win32Error::BAD_PATHNAME => {
            "names look like `name`, `Local\\name` or `Global\\name`, with no backslash after the prefix"
        }
        Win32Error::FILENAME_EXCED_RANGE => "names are at most 260 characters long",
        Win32Error::ALREADY_EXISTS => {
            "another object has that name; `filemap info NAME` shows who holds it, or choose another name"
        }
        Win32Error::ACCESS_DENIED | Win32Error::PRIVILEGE_NOT_HELD => {
            "check the object's owner and mode with `filemap info NAME`; Global\\ objects need root or \
             membership in the group given to `filemap init-global`"
        }
        Win32Error::INVALID_HANDLE => {
            "all object types share one namespace and the name belongs to another type; `filemap info NAME` shows it"
        }
        Win32Error::TIMEOUT => "the object was not signaled in time; try a longer --timeout",
        Win32Error::NOT_OWNER => {
            "only the thread that owns a mutex can release it; `filemap wait NAME --hold` owns it until Ctrl-C"
        }
        Win32Error::TOO_MANY_POSTS => "the semaphore would exceed its maximum count; `filemap info NAME` shows it",
        Win32Error::COMMITMENT_LIMIT | Win32Error::NOT_ENOUGH_MEMORY | Win32Error::DISK_FULL => {
            "the namespace's tmpfs is out of space: free memory, use a smaller --size, or --reserve"
        }
        Win32Error::INVALID_DATA => "the object file is corrupt; `filemap gc` removes it once nobody holds it",
        _ => return None,
    })
}
