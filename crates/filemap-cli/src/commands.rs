//! The commands that work on objects: ls, info, create, read, write, gc, init-global.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use filemap::{Access, Created, Mapping, ObjectName, Protection, SectionFlags, Win32Error};
use serde::Serialize;

use crate::inventory::{self, ScopeSel};
use crate::render::{self, Style};
use crate::units::{self, human_size};

/// A usage mistake the argument parser could not catch (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Parses an object name; a malformed one is a usage error (exit 2) that keeps its Win32 code.
pub fn parse_name(name: &str) -> Result<ObjectName> {
    ObjectName::parse(name).map_err(|e| anyhow::Error::from(e).context(UsageError("invalid object name".into())))
}

/// Prints a JSON value on one line (the form of every command's `--json` except `ls`, `info`
/// and `gc`, which print it indented).
pub fn print_json_line<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// ls / info
// ------------------------------------------------------------------------------------------

/// No process has the pid `ls --pid` was given (exit code 3, like a name that is not found).
#[derive(Debug)]
pub struct NoSuchProcess(pub u32);

impl std::fmt::Display for NoSuchProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no process has pid {}", self.0)
    }
}

impl std::error::Error for NoSuchProcess {}

/// `filemap ls [PATTERN] [--pid PID]`.
pub fn ls(scope: ScopeSel, pattern: Option<&str>, pid: Option<u32>, json: bool) -> Result<()> {
    let pattern = pattern.map(inventory::NamePattern::parse).transpose().map_err(usage)?;
    let mut report = inventory::collect(&scope.scopes());
    if let Some(pid) = pid {
        if report.unreadable_processes.contains(&pid) {
            return Err(filemap::Error::new(
                Win32Error::ACCESS_DENIED,
                format!(
                    "cannot list what pid {pid} holds: its descriptors and memory maps are closed to this user \
                     (another user's process); run as root"
                ),
            )
            .into());
        }
        if !crate::procs::exists(pid) {
            return Err(NoSuchProcess(pid).into());
        }
    }
    let filtered = pattern.is_some() || pid.is_some();
    inventory::Filter { pattern, pid }.apply(&mut report);
    if json {
        print_json(&report)
    } else {
        print!("{}", render::table(&report, Style::detect(), filtered));
        Ok(())
    }
}

/// `filemap info NAME`.
pub fn info(name: &str, json: bool) -> Result<()> {
    let parsed = parse_name(name)?;
    let (object, report) = inventory::find(&parsed)?;
    let Some(object) = object else {
        let wanted = parsed.to_string();
        let mut message = format!("no object named \"{parsed}\"");
        for r in report.released_memory.iter().filter(|r| r.name.as_deref() == Some(wanted.as_str())) {
            let pids: Vec<String> = r.processes.iter().map(|p| p.pid.to_string()).collect();
            message.push_str(&format!(
                " (the name was released, but {} of its memory is still mapped by pid {})",
                human_size(r.bytes_mapped),
                pids.join(", ")
            ));
        }
        return Err(filemap::Error::new(Win32Error::FILE_NOT_FOUND, message).into());
    };
    if json {
        print_json(&object)
    } else {
        print!("{}", render::details(&object, Style::detect()));
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// create
// ------------------------------------------------------------------------------------------

/// The kinds of object `create` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A file mapping (shared memory), the default.
    Mapping,
    /// A mutex: owned by one thread at a time; abandoned if its owner dies holding it.
    Mutex,
    /// A semaphore: a count between 0 and --max; each wait takes one.
    Semaphore,
    /// An event: signaled or not; manual-reset events stay signaled until reset.
    Event,
    /// A waitable timer: becomes signaled at its due time, optionally periodically.
    Timer,
}

impl Kind {
    /// The word used in messages and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mapping => "mapping",
            Kind::Mutex => "mutex",
            Kind::Semaphore => "semaphore",
            Kind::Event => "event",
            Kind::Timer => "timer",
        }
    }
}

/// Page protection of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtectionArg {
    /// PAGE_READONLY.
    #[value(alias = "ro")]
    Readonly,
    /// PAGE_READWRITE (the default).
    #[value(alias = "rw")]
    Readwrite,
    /// PAGE_WRITECOPY: views may write privately (copy-on-write).
    Writecopy,
    /// PAGE_EXECUTE_READ.
    ExecuteRead,
    /// PAGE_EXECUTE_READWRITE.
    ExecuteReadwrite,
    /// PAGE_EXECUTE_WRITECOPY.
    ExecuteWritecopy,
}

impl ProtectionArg {
    fn protection(self) -> Protection {
        match self {
            ProtectionArg::Readonly => Protection::ReadOnly,
            ProtectionArg::Readwrite => Protection::ReadWrite,
            ProtectionArg::Writecopy => Protection::WriteCopy,
            ProtectionArg::ExecuteRead => Protection::ExecuteRead,
            ProtectionArg::ExecuteReadwrite => Protection::ExecuteReadWrite,
            ProtectionArg::ExecuteWritecopy => Protection::ExecuteWriteCopy,
        }
    }
}

/// Arguments of `filemap create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Object name: `name`, `Local\name` or `Global\name`.
    pub name: String,
    /// What kind of object to create.
    #[arg(long = "type", short = 't', value_enum, default_value = "mapping")]
    pub kind: Kind,
    /// Mapping size in bytes; accepts 4096, 64K, 1M, 1G. Required unless --file is given
    /// (then it defaults to the file's size).
    #[arg(long, short = 's', value_parser = units::parse_size)]
    pub size: Option<u64>,
    /// Permission bits of the object, octal; others can open it only as these allow.
    #[arg(long, short = 'm', value_parser = units::parse_mode, default_value = "0600")]
    pub mode: u32,
    /// Allow WHO to open the object for ACCESS, as a Windows DACL entry (repeatable; replaces
    /// --mode). WHO: everyone, authenticated, creator, root, user:NAME|UID, group:NAME|GID.
    /// ACCESS: read, write, execute, all (comma-separated). `--allow none` gives an empty DACL
    /// (nobody may open it); `--allow everyone:all` the NULL DACL's effect. Mutexes, semaphores,
    /// events and timers can only be opened with `all`.
    #[arg(long, value_name = "WHO:ACCESS", conflicts_with = "mode", help_heading = "Permissions")]
    pub allow: Vec<String>,
    /// Deny WHO ACCESS (repeatable; denies come before allows, as in Windows' canonical order).
    #[arg(long, value_name = "WHO:ACCESS", conflicts_with = "mode", help_heading = "Permissions")]
    pub deny: Vec<String>,
    /// Page protection of a mapping [default: readwrite].
    #[arg(long, value_enum)]
    pub protection: Option<ProtectionArg>,
    /// Reserve the mapping's memory lazily (SEC_RESERVE) instead of committing it at creation
    /// (SEC_COMMIT, which fails now rather than with SIGBUS later when memory runs out).
    #[arg(long)]
    pub reserve: bool,
    /// Back the mapping with this file instead of memory (the file is opened read-write, or
    /// read-only for --protection readonly/writecopy/execute-read).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Write this text at offset 0 of the new mapping.
    #[arg(long)]
    pub data: Option<String>,
    /// If the name exists, use the existing object instead of failing (as CreateFileMapping
    /// does; with --hold this adds a holder).
    #[arg(long)]
    pub open_existing: bool,
    /// Keep the object alive until interrupted (Ctrl-C or SIGTERM), then close it cleanly.
    /// Without it the object is released as soon as `filemap` exits, unless another process
    /// holds it too.
    #[arg(long, group = "keep")]
    pub hold: bool,
    /// Like --hold, but in a detached process: `filemap` returns once the object exists and
    /// prints the holder's pid (release it with `kill PID`), so scripts never race the creation.
    #[arg(long, group = "keep")]
    pub background: bool,
    /// While holding, also map a view of the whole mapping (it shows under VIEWS in `ls`).
    #[arg(long, requires = "keep")]
    pub view: bool,
    /// With --view: close the handle right after mapping the view. The name is released at
    /// once (as on Windows), but the memory stays alive through the view until interrupted;
    /// `ls` shows it under "memory kept alive only by views".
    #[arg(long, requires = "view")]
    pub drop_handle: bool,
    /// Mutex: the creating thread owns it at once (released when the hold ends).
    #[arg(long, help_heading = "Sync object options")]
    pub owned: bool,
    /// Semaphore: the initial count [default: 0].
    #[arg(long, help_heading = "Sync object options")]
    pub initial: Option<i32>,
    /// Semaphore: the maximum count [default: 1].
    #[arg(long, help_heading = "Sync object options")]
    pub max: Option<i32>,
    /// Event or timer: manual-reset (stays signaled until reset) instead of auto-reset (a
    /// successful wait unsignals it).
    #[arg(long, help_heading = "Sync object options")]
    pub manual_reset: bool,
    /// Event: start signaled.
    #[arg(long, help_heading = "Sync object options")]
    pub signaled: bool,
    /// Timer: arm it to become signaled after this long (500ms, 2s, 1m).
    #[arg(long, value_parser = units::parse_duration, help_heading = "Sync object options")]
    pub due: Option<std::time::Duration>,
    /// Timer: after the first due time, signal again every PERIOD.
    #[arg(long, value_parser = units::parse_duration, requires = "due", help_heading = "Sync object options")]
    pub period: Option<std::time::Duration>,
    /// Print one JSON object (`name`, `type`, `created`, `size`, `state`, `holder_pid`, ...)
    /// instead of words; with --hold or --background once the object is held.
    #[arg(long)]
    pub json: bool,
}

/// What `create --json` prints.
#[derive(Debug, Serialize)]
pub struct CreateReport {
    /// The full name, `Local\x` or `Global\x`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `true`: a new object; `false`: an existing one was opened (`--open-existing`).
    pub created: bool,
    /// Mappings: the size in bytes.
    pub size: Option<u64>,
    /// Mappings: the backing file, if not memory.
    pub file: Option<PathBuf>,
    /// Sync objects: the state after creation.
    pub state: Option<crate::state_view::StateView>,
    /// The process holding the object (`--hold`, `--background`), or `null` when it was
    /// released as `filemap` exited.
    pub holder_pid: Option<u32>,
    /// `--view`: bytes the holder maps.
    pub view_bytes: Option<u64>,
    /// `--drop-handle`: the handle was closed, only the view keeps the memory (and no name).
    pub handle_closed: bool,
}

impl CreateArgs {
    /// The DACL `--allow`/`--deny` describe, if any was given.
    pub fn permissions(&self) -> Result<Option<filemap::security::Permissions>> {
        if self.allow.is_empty() && self.deny.is_empty() {
            return Ok(None);
        }
        let mut perms = filemap::security::Permissions::new();
        for entry in &self.deny {
            let (who, mask) = parse_ace(entry)?;
            perms = perms.deny(who, mask);
        }
        for entry in &self.allow {
            if entry == "none" {
                continue;
            }
            let (who, mask) = parse_ace(entry)?;
            perms = perms.allow(who, mask);
        }
        Ok(Some(perms))
    }

    /// The options given that do not apply to the chosen type, as `--flag` names.
    fn misplaced(&self) -> Vec<&'static str> {
        let mapping = self.kind == Kind::Mapping;
        let mut bad = Vec::new();
        let mut check = |given: bool, applies: bool, flag: &'static str| {
            if given && !applies {
                bad.push(flag);
            }
        };
        check(self.size.is_some(), mapping, "--size");
        check(self.protection.is_some(), mapping, "--protection");
        check(self.reserve, mapping, "--reserve");
        check(self.file.is_some(), mapping, "--file");
        check(self.data.is_some(), mapping, "--data");
        check(self.view, mapping, "--view");
        check(self.owned, self.kind == Kind::Mutex, "--owned");
        check(self.initial.is_some(), self.kind == Kind::Semaphore, "--initial");
        check(self.max.is_some(), self.kind == Kind::Semaphore, "--max");
        check(self.manual_reset, matches!(self.kind, Kind::Event | Kind::Timer), "--manual-reset");
        check(self.signaled, self.kind == Kind::Event, "--signaled");
        check(self.due.is_some(), self.kind == Kind::Timer, "--due");
        bad
    }
}

/// Parses `WHO:ACCESS` (see `--allow`).
fn parse_ace(text: &str) -> Result<(filemap::security::Trustee, u32)> {
    use filemap::security::{GENERIC_ALL, GENERIC_EXECUTE, GENERIC_READ, GENERIC_WRITE, Trustee};
    let bad = |why: &str| {
        usage(format!(
            "bad permission entry {text:?}: {why} (expected WHO:ACCESS, e.g. everyone:read or group:staff:all)"
        ))
    };
    let (who, access) = text.rsplit_once(':').ok_or_else(|| bad("no ':'"))?;
    let trustee = match who.split_once(':') {
        None => match who {
            "everyone" | "world" => Trustee::Everyone,
            "authenticated" => Trustee::AuthenticatedUsers,
            "creator" | "owner" => Trustee::CreatorOwner,
            "root" | "administrators" | "system" => Trustee::Administrators,
            _ => return Err(bad("unknown trustee")),
        },
        Some(("user", name)) => match name.parse::<u32>() {
            Ok(uid) => Trustee::User(uid),
            Err(_) => Trustee::User(crate::users::user_id(name).ok_or_else(|| bad("no such user"))?),
        },
        Some(("group", name)) => Trustee::Group(crate::users::group_id(name).ok_or_else(|| bad("no such group"))?),
        Some(_) => return Err(bad("unknown trustee")),
    };
    let mut mask = 0;
    for word in access.split(',') {
        mask |= match word {
            "read" | "r" => GENERIC_READ,
            "write" | "w" => GENERIC_WRITE,
            "execute" | "x" => GENERIC_EXECUTE,
            "all" | "full" => GENERIC_ALL,
            _ => return Err(bad("unknown access (read, write, execute, all)")),
        };
    }
    Ok((trustee, mask))
}

/// `filemap create`: what every type shares (the name, options that do not fit the type,
/// `--background`), then the mapping or synchronization object's own creation.
pub fn create(args: CreateArgs) -> Result<Option<CreateRequest>> {
    let name = parse_name(&args.name)?;
    let misplaced = args.misplaced();
    if !misplaced.is_empty() {
        return Err(usage(format!("{} cannot be used with --type {}", misplaced.join(", "), args.kind.as_str())));
    }
    if args.background {
        create_in_background(&name)?;
        return Ok(None);
    }
    Ok(Some(CreateRequest { name, args }))
}

/// A `create` whose common checks passed (`None` from [`create`] when `--background` already
/// did it): `main` hands it to [`create_mapping`] or to the sync commands by its type.
pub struct CreateRequest {
    pub name: ObjectName,
    pub args: CreateArgs,
}

/// Creates (or opens) the mapping with the command's options: the backing file opened for what
/// the protection needs, the size (required for memory-backed mappings), mode, permissions and
/// `SEC_RESERVE`.
fn make_mapping(name: &ObjectName, args: &CreateArgs) -> Result<(Mapping, Created)> {
    let protection = args.protection.unwrap_or(ProtectionArg::Readwrite).protection();
    let file = match &args.file {
        Some(path) => {
            let writable = matches!(protection, Protection::ReadWrite | Protection::ExecuteReadWrite);
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(writable)
                .open(path)
                .with_context(|| format!("cannot open backing file {}", path.display()))?;
            Some(file)
        }
        None => None,
    };
    let size = match (args.size, &file) {
        (Some(size), _) => size,
        (None, Some(_)) => 0,
        (None, None) => return Err(usage("a memory-backed mapping needs --size (e.g. --size 64K)")),
    };
    let mut options = Mapping::options()
        .name(name.to_string())
        .size(size)
        .protection(protection)
        .mode(args.mode)
        .section_flags(if args.reserve { SectionFlags::RESERVE } else { SectionFlags::default() });
    if let Some(file) = &file {
        options = options.file(file);
    }
    if let Some(perms) = args.permissions()? {
        options = options.permissions(perms);
    }
    Ok(options.create()?)
}

/// `filemap create --type mapping`.
pub fn create_mapping(name: ObjectName, args: CreateArgs) -> Result<()> {
    let (mapping, created) = make_mapping(&name, &args)?;
    if created == Created::Existing && !args.open_existing {
        return Err(filemap::Error::new(
            Win32Error::ALREADY_EXISTS,
            format!(
                "cannot create \"{name}\": a mapping of that name already exists ({}); pass --open-existing to use it",
                human_size(mapping.size())
            ),
        )
        .into());
    }
    if let Some(data) = &args.data {
        let view = mapping.view(Access::WRITE)?;
        view.write_at(0, data.as_bytes()).with_context(|| format!("cannot write --data into \"{name}\""))?;
    }
    let mut report = CreateReport {
        name: name.to_string(),
        kind: "mapping",
        created: created == Created::New,
        size: Some(mapping.size()),
        file: args.file.clone(),
        state: None,
        holder_pid: None,
        view_bytes: None,
        handle_closed: false,
    };
    let what = match created {
        Created::New => "created",
        Created::Existing => "opened existing",
    };
    let backing = match &args.file {
        Some(path) => format!(", backed by {}", path.display()),
        None => String::new(),
    };
    if !args.json {
        println!("{what} mapping \"{name}\" ({}{backing})", human_size(mapping.size()));
    }
    if !args.hold {
        if created == Created::New {
            eprintln!(
                "note: \"{name}\" is released as this command exits (no other process holds a handle); \
                 use --hold to keep it"
            );
        }
        return if args.json { print_json_line(&report) } else { Ok(()) };
    }
    report.holder_pid = Some(std::process::id());
    if !args.view {
        return hold(&name, args.json.then_some(&report), move || drop(mapping));
    }
    let view = mapping.view(Access::WRITE)?;
    report.view_bytes = Some(view.len() as u64);
    if !args.json {
        println!("mapped a view of {} at {:p}", human_size(view.len() as u64), view.as_ptr());
    }
    if args.drop_handle {
        drop(mapping);
        report.handle_closed = true;
        if !args.json {
            println!("closed the handle: the name \"{name}\" is released, the view keeps the memory");
        }
        return hold(&name, args.json.then_some(&report), move || drop(view));
    }
    hold(&name, args.json.then_some(&report), move || {
        drop(view);
        drop(mapping);
    })
}

/// `create --background`: runs this same command with `--hold` instead, in a process group of
/// its own (a Ctrl-C at the terminal does not reach it), waits until it reports that it holds
/// the object, and prints its pid. The holder gets pipes, not our streams, so a caller that
/// captures our output (`pid=$(filemap create ... --background 2>&1)`) is not kept waiting by
/// it; if it fails instead of holding, its error messages and exit status become ours.
fn create_in_background(name: &ObjectName) -> Result<()> {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Stdio;
    let exe = std::env::current_exe().context("cannot find the filemap executable to run the holder")?;
    let args = std::env::args_os().skip(1).map(|a| if a == "--background" { "--hold".into() } else { a });
    let mut child = std::process::Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start a process to hold \"{name}\""))?;
    let stdout = child.stdout.take().context("the holder's output is missing")?;
    let json = std::env::args_os().any(|a| a == "--json");
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // The holder keeps running; its later output (the release message) goes nowhere.
        if json && line.starts_with('{') {
            // Its JSON report, `holder_pid` included (serde's output: no raw control characters).
            print!("{line}\n");
            return Ok(());
        }
        if !json && line.starts_with("holding ") {
            println!("{}", child.id());
            return Ok(());
        }
    }
    let mut errors = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut errors);
    }
    let status = child.wait().with_context(|| format!("cannot wait for the holder of \"{name}\""))?;
    // The holder reported what went wrong: pass its words and its status on, without a second
    // report of our own.
    for line in errors.lines() {
        eprintln!("{line}");
    }
    let code = status.code().or(status.signal().map(|s| 128 + s)).unwrap_or(1);
    crate::out::flush();
    std::process::exit(if code == 0 { 1 } else { code })
}

/// Waits for Ctrl-C or SIGTERM, then runs `release` (which closes the handles). Says that it
/// holds the object in words, or with `json` by printing that report (and nothing on release).
pub fn hold<T: Serialize>(name: &ObjectName, json: Option<&T>, release: impl FnOnce()) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    // Whoever reads our output may be gone by the time we are released (`| head -1`): the
    // object is released all the same (our `println!` never fails, see `out.rs`).
    match json {
        // Through `out.rs`: a reader that went away must not end the hold early.
        Some(report) => print!("{}\n", serde_json::to_string(report)?),
        None => println!("holding \"{name}\" as pid {}; press Ctrl-C to release it", std::process::id()),
    }
    crate::out::flush();
    rx.recv().context("signal channel closed")?;
    release();
    if json.is_none() {
        println!("released \"{name}\"");
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// read / write
// ------------------------------------------------------------------------------------------

/// Arguments of `filemap read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Name of the mapping.
    pub name: String,
    /// Where to start, in bytes from the start of the mapping (4096, 64K, ...).
    #[arg(long, short = 'o', value_parser = units::parse_size, default_value = "0")]
    pub offset: u64,
    /// How many bytes to read (default: up to the end of the mapping).
    #[arg(long, short = 'n', value_parser = units::parse_size)]
    pub len: Option<u64>,
    /// Print a hex dump instead of the raw bytes.
    #[arg(long, conflicts_with = "text")]
    pub hex: bool,
    /// Print as text: stop at the first NUL byte (C string) and end with a newline.
    #[arg(long)]
    pub text: bool,
    /// Print one JSON object: `name`, `offset`, `len`, `hex` (every byte, two lowercase hex
    /// digits each) and `text` (the bytes up to the first NUL, invalid UTF-8 replaced by U+FFFD).
    #[arg(long, conflicts_with_all = ["hex", "text"])]
    pub json: bool,
}

/// What `read --json` prints.
#[derive(Debug, Serialize)]
struct ReadReport {
    name: String,
    offset: u64,
    len: u64,
    hex: String,
    text: String,
}

/// Checks that `offset..offset+len` lies inside a mapping of `size` bytes; returns `len`
/// (defaulting to the rest of the mapping).
fn range(name: &ObjectName, size: u64, offset: u64, len: Option<u64>) -> Result<(usize, usize)> {
    if offset > size {
        return Err(usage(format!("offset {offset} is past the end of \"{name}\" ({size} bytes)")));
    }
    let len = len.unwrap_or(size - offset);
    if len > size - offset {
        return Err(usage(format!("{len} bytes from offset {offset} run past the end of \"{name}\" ({size} bytes)")));
    }
    Ok((offset as usize, len as usize))
}

/// `filemap read`.
pub fn read(args: ReadArgs) -> Result<()> {
    let name = parse_name(&args.name)?;
    let mapping = Mapping::open(&name.to_string(), Access::READ)?;
    let (offset, len) = range(&name, mapping.size(), args.offset, args.len)?;
    let view = mapping.view(Access::READ)?;
    let bytes = view.read_vec(offset, len)?;
    if args.json {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        return print_json_line(&ReadReport {
            name: name.to_string(),
            offset: offset as u64,
            len: bytes.len() as u64,
            hex: hex::encode(&bytes),
            text: String::from_utf8_lossy(&bytes[..end]).into_owned(),
        });
    }
    let mut out = std::io::stdout().lock();
    if args.hex {
        out.write_all(hex_dump(&bytes, offset as u64).as_bytes())?;
    } else if args.text {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        out.write_all(&bytes[..end])?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(&bytes)?;
    }
    out.flush()?;
    Ok(())
}

/// `hexdump -C` style lines.
pub fn hex_dump(bytes: &[u8], base: u64) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let (left, right) = hex.split_at(hex.len().min(8));
        let ascii: String =
            chunk.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        out.push_str(&format!(
            "{:08x}  {:<23}  {:<23}  |{ascii}|\n",
            base + 16 * i as u64,
            left.join(" "),
            right.join(" ")
        ));
    }
    out
}

/// Arguments of `filemap write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Name of the mapping.
    pub name: String,
    /// Where to write, in bytes from the start of the mapping (4096, 64K, ...).
    #[arg(long, short = 'o', value_parser = units::parse_size, default_value = "0")]
    pub offset: u64,
    /// The text to write; without it, standard input is written.
    #[arg(long, short = 'd')]
    pub data: Option<String>,
    /// Append a NUL byte (a C string terminator).
    #[arg(long)]
    pub nul: bool,
    /// Print one JSON object (`name`, `offset`, `bytes_written`) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `filemap write`.
pub fn write(args: WriteArgs) -> Result<()> {
    let name = parse_name(&args.name)?;
    let mut data = match args.data {
        Some(text) => text.into_bytes(),
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading the data from standard input; end it with Ctrl-D");
            }
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("cannot read standard input")?;
            buf
        }
    };
    if args.nul {
        data.push(0);
    }
    let mapping = Mapping::open(&name.to_string(), Access::WRITE)?;
    let (offset, len) = range(&name, mapping.size(), args.offset, Some(data.len() as u64))?;
    let view = mapping.view(Access::WRITE)?;
    view.write_at(offset, &data)?;
    if args.json {
        return print_json_line(&serde_json::json!({
            "name": name.to_string(), "offset": offset, "bytes_written": len,
        }));
    }
    eprintln!("wrote {len} bytes to \"{name}\" at offset {offset}");
    Ok(())
}

// ------------------------------------------------------------------------------------------
// gc
// ------------------------------------------------------------------------------------------

/// Arguments of `filemap gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only say what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Which namespace to clean.
    #[arg(long, value_enum, default_value = "all")]
    pub scope: ScopeSel,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Keep running: sweep every `--interval` seconds until interrupted (for a service; see the
    /// README's systemd unit). Prints one report per sweep that removed something.
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// Seconds between sweeps with `--watch`.
    #[arg(long, default_value_t = 5.0, requires = "watch")]
    pub interval: f64,
}

/// One object `gc` removed (or would remove).
#[derive(Debug, Serialize)]
struct Freed {
    name: Option<String>,
    scope: &'static str,
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    file: PathBuf,
    /// Bytes of the object file (header + data of memory-backed mappings).
    bytes: u64,
    /// Processes that still map views: the memory stays until they unmap.
    still_mapped_by: Vec<u32>,
}

#[derive(Debug, Serialize)]
struct GcReport {
    dry_run: bool,
    freed: Vec<Freed>,
    warnings: Vec<String>,
}

/// `filemap gc`: removes dead objects (only verified object files no live process holds, and
/// only what the directory lets this user remove) and reports exactly what it removed. With
/// `--dry-run`, what it would remove now. With `--watch`, forever, every `--interval` seconds.
pub fn gc(args: GcArgs) -> Result<()> {
    if !args.watch {
        return gc_once(&args, true);
    }
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(usage(format!("--interval must be a positive number of seconds, not {}", args.interval)));
    }
    let period = std::time::Duration::from_secs_f64(args.interval);
    loop {
        gc_once(&args, false)?;
        std::thread::sleep(period);
    }
}

fn gc_once(args: &GcArgs, always_report: bool) -> Result<()> {
    let scopes = args.scope.scopes();
    let before = inventory::collect(&scopes);
    let mut freed = Vec::new();
    let mut warnings = before.warnings.clone();
    for &scope in &scopes {
        let entries = match filemap::scan(scope, !args.dry_run) {
            Ok(entries) => entries,
            Err(e) => {
                if !warnings.iter().any(|w| w.contains(&e.to_string())) {
                    warnings.push(format!("cannot clean the {} scope: {e}", inventory::scope_str(scope)));
                }
                continue;
            }
        };
        for e in entries {
            let file = filemap::namespace::scope_dir(scope).join(&e.file);
            // Report what was removed, or (dry run) what would be: dead, valid object files.
            let counts = if args.dry_run { e.stale && e.header.is_ok() } else { e.reclaimed };
            if !counts {
                if e.stale && !args.dry_run {
                    let why = match &e.header {
                        Err(why) => format!("not a valid object file ({why})"),
                        Ok(_) => "another user's object, or in use at that moment".to_owned(),
                    };
                    warnings.push(format!("left {} in place: {why}", file.display()));
                }
                continue;
            }
            let known = before.objects.iter().find(|o| o.inode == e.ino && o.file == file);
            freed.push(Freed {
                name: known.and_then(|o| o.name.clone()),
                scope: inventory::scope_str(scope),
                kind: known.and_then(|o| o.kind),
                file,
                bytes: e.file_size,
                still_mapped_by: known.map(|o| o.views.iter().map(|v| v.pid).collect()).unwrap_or_default(),
            });
        }
    }
    let report = GcReport { dry_run: args.dry_run, freed, warnings };
    if !always_report && report.freed.is_empty() && report.warnings.is_empty() {
        return Ok(());
    }
    if args.json {
        return print_json(&report);
    }
    let verb = if args.dry_run { "would free" } else { "freed" };
    for f in &report.freed {
        let name = f.name.clone().unwrap_or_else(|| f.file.display().to_string());
        let mapped = if f.still_mapped_by.is_empty() {
            String::new()
        } else {
            format!("; its memory stays while pids {:?} map it", f.still_mapped_by)
        };
        println!("{verb} {name} ({}, {}){mapped}", f.kind.unwrap_or("object"), human_size(f.bytes));
    }
    if report.freed.is_empty() {
        println!("nothing to free: every object has a live holder");
    } else {
        let total: u64 = report.freed.iter().map(|f| f.bytes).sum();
        println!("{verb} {} object(s), {}", report.freed.len(), human_size(total));
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// init-global
// ------------------------------------------------------------------------------------------

/// Arguments of `filemap init-global`.
#[derive(Debug, Args)]
pub struct InitGlobalArgs {
    /// The group whose members may create Global\ objects (name or number; default root).
    #[arg(long, short = 'g')]
    pub group: Option<String>,
    /// Print one JSON object (`path`, `group`) instead of words.
    #[arg(long)]
    pub json: bool,
}

/// `filemap init-global`.
pub fn init_global(args: InitGlobalArgs) -> Result<()> {
    let gid = match &args.group {
        None => None,
        Some(group) => Some(
            crate::users::group_id(group)
                .ok_or_else(|| usage(format!("no group named {group:?} in the user database")))?,
        ),
    };
    let path = filemap::namespace::init_global(gid)?;
    let group = args.group.as_deref().unwrap_or("root");
    if args.json {
        return print_json_line(&serde_json::json!({ "path": path, "group": group }));
    }
    println!(
        "Global namespace ready: {} (owner root, group {group}, mode 3771: members of {group} create \
         Global\\ objects, only an object's owner or root removes it, everyone may open those whose mode allows)",
        path.display()
    );
    Ok(())
}
