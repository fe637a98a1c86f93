//! `filemap demo`: Microsoft's "Creating Named Shared Memory" example (the Win32 documentation's
//! two-process file-mapping program), end to end.
//!
//! The first process (this one) creates a named, memory-backed mapping, maps a view and copies
//! a message into it. It starts a second process (this program again, `demo-second`) that opens
//! the mapping *by name*, maps a view, waits on a named event that the first process sets once
//! the message is there, and prints it. Then both close their handles; the first checks that the name is gone
//! and nothing is left in the namespace.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use filemap::{
    Access, Created, ErrorKind, Event, Mapping, ObjectName, Protection, Rights, Scope, WaitOutcome, Win32Error,
};

/// Size of the mapping, as in Microsoft's example (`BUF_SIZE`).
const BUF_SIZE: u64 = 256;

/// Arguments of `filemap demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Name of the mapping (a `Local\` or `Global\` prefix is allowed).
    #[arg(long, default_value = "MyFileMappingObject")]
    pub name: String,
    /// The message the first process writes and the second prints.
    #[arg(long, default_value = "Message from first process.")]
    pub message: String,
    /// Use the Global namespace, as Microsoft's example does (needs root or `filemap init-global`).
    #[arg(long)]
    pub global: bool,
    /// How long the first process waits for the second one to finish (500ms, 30s, 1m).
    #[arg(long, value_parser = crate::units::parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// Print each step as one JSON object per line: `{"process": "first"|"second", "pid",
    /// "step", "text"}`.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of the hidden `demo-second` command.
#[derive(Debug, Args)]
pub struct SecondArgs {
    /// Full name of the mapping to open.
    #[arg(long)]
    pub name: String,
    /// Full name of the event that says the message is written.
    #[arg(long)]
    pub event: String,
    /// How long to wait for the event.
    #[arg(long, value_parser = crate::units::parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// Print JSON lines (see `demo --json`).
    #[arg(long)]
    pub json: bool,
}

/// `demo --json`: one JSON object per step.
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Tells one step of the story: `step` is a stable word for scripts, `text` the sentence.
fn say(who: &str, step: &str, text: impl AsRef<str>) {
    let pid = std::process::id();
    if JSON.load(std::sync::atomic::Ordering::Relaxed) {
        let line = serde_json::json!({ "process": who, "pid": pid, "step": step, "text": text.as_ref() });
        print!("{line}\n");
    } else {
        println!("[{who:<6} pid {pid:>6}] {}", text.as_ref());
    }
}

fn full_name(args: &DemoArgs) -> Result<ObjectName> {
    let has_prefix = ["local\\", "global\\"].iter().any(|p| {
        args.name.len() >= p.len()
            && args.name.is_char_boundary(p.len())
            && args.name[..p.len()].eq_ignore_ascii_case(p)
    });
    let text = if args.global && !has_prefix { format!("Global\\{}", args.name) } else { args.name.clone() };
    let name = crate::commands::parse_name(&text)?;
    if args.global && name.scope() != Scope::Global {
        bail!(crate::commands::UsageError(format!("--global conflicts with the name {:?}", args.name)));
    }
    Ok(name)
}

/// `filemap demo`: the first process.
// LONG: the demo's script, its steps in the order it prints them.
pub fn run(args: DemoArgs) -> Result<()> {
    JSON.store(args.json, std::sync::atomic::Ordering::Relaxed);
    let name = full_name(&args)?;
    if args.message.len() as u64 >= BUF_SIZE {
        bail!(crate::commands::UsageError(format!(
            "the message is {} bytes; the demo's mapping holds {BUF_SIZE} bytes including a NUL terminator",
            args.message.len()
        )));
    }
    let (mapping, created) = Mapping::options()
        .name(name.to_string())
        .size(BUF_SIZE)
        .protection(Protection::ReadWrite)
        .create()
        .context("first process: CreateFileMapping failed")?;
    if created == Created::Existing {
        return Err(filemap::Error::new(
            Win32Error::ALREADY_EXISTS,
            format!("\"{name}\" is already in use by another process; pass --name to pick another"),
        )
        .into());
    }
    say(
        "first",
        "created-mapping",
        format!("created mapping \"{name}\" ({BUF_SIZE} bytes, paging-file backed, read/write)"),
    );
    let view = mapping.view(Access::ALL).context("first process: MapViewOfFile failed")?;
    say(
        "first",
        "mapped-view",
        format!("mapped a view of its {BUF_SIZE} bytes (views cover whole pages, as on Windows: {} bytes)", view.len()),
    );

    let event_name = ObjectName::parse(&format!("{name}.written"))?;
    let (event, created) = Event::options()
        .name(event_name.to_string())
        .manual_reset(false)
        .initial_state(false)
        .create()
        .context("first process: CreateEvent failed")?;
    if created == Created::Existing {
        return Err(filemap::Error::new(
            Win32Error::ALREADY_EXISTS,
            format!("\"{event_name}\" is already in use by another process; pass --name to pick another"),
        )
        .into());
    }
    say("first", "created-event", format!("created auto-reset event \"{event_name}\" (unsignaled)"));

    let deadline = Instant::now() + args.timeout;
    let mut second = Second::start(&name, &event_name, args.timeout, args.json)?;
    say("first", "started-second", format!("started the second process (pid {})", second.child.id()));
    // The second process's output is relayed through us, so the story prints in order.
    second.relay_until("waiting", deadline)?;
    show_users(&name, second.child.id());

    view.write_at(0, args.message.as_bytes())?;
    view.write_at(args.message.len(), &[0])?;
    say("first", "wrote", format!("wrote {:?} into the view", args.message));
    // Tell the second process the message is there.
    event.set().context("first process: SetEvent failed")?;
    say("first", "set-event", format!("set event \"{event_name}\""));

    second.relay_until_end(deadline)?;
    let status = wait_until(&mut second.child, deadline)?;
    if !status.success() {
        bail!("the second process failed ({status})");
    }
    say("first", "second-exited", "the second process exited cleanly");

    drop(view);
    drop(mapping);
    drop(event);
    say("first", "closed", "unmapped the view and closed both handles");
    check_nothing_left(&name, &event_name)?;
    say(
        "first",
        "nothing-left",
        format!(
            "\"{name}\" and its event are gone: opening fails with ERROR_FILE_NOT_FOUND, nothing is left in the namespace"
        ),
    );
    Ok(())
}

/// Prints a line of the second process (our own program): a JSON line as it is (serde wrote
/// it), words through `println!` (escaped).
fn relay(line: &str) {
    if JSON.load(std::sync::atomic::Ordering::Relaxed) && line.starts_with('{') {
        print!("{line}\n");
    } else {
        println!("{line}");
    }
}

/// The second process and its relayed output.
struct Second {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Second {
    fn start(name: &ObjectName, event: &ObjectName, timeout: Duration, json: bool) -> Result<Second> {
        let exe = std::env::current_exe().context("cannot find this program to start the second process")?;
        crate::out::flush();
        let mut child = Command::new(exe)
            .arg("demo-second")
            .arg("--name")
            .arg(name.to_string())
            .arg("--event")
            .arg(event.to_string())
            .arg("--timeout")
            .arg(format!("{}ms", timeout.as_millis()))
            .args(json.then_some("--json"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the second process")?;
        let out = child.stdout.take().context("the second process has no output pipe")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Second { child, lines })
    }

    /// Prints the second process's lines until one contains `text`.
    fn relay_until(&mut self, text: &str, deadline: Instant) -> Result<()> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    relay(&line);
                    if line.contains(text) {
                        return Ok(());
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = wait_until(&mut self.child, deadline)?;
                    bail!("the second process ended early ({status})");
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.kill();
                    bail!("the second process did not get ready in time; killed it");
                }
            }
        }
    }

    /// Prints the rest of the second process's output.
    fn relay_until_end(&mut self, deadline: Instant) -> Result<()> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => relay(&line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.kill();
                    bail!("the second process did not finish in time; killed it");
                }
            }
        }
    }

    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Shows what `filemap ls` sees while both processes use the mapping.
fn show_users(name: &ObjectName, second: u32) {
    let Ok((Some(object), _)) = crate::inventory::find(name) else {
        return;
    };
    let pids = |list: Vec<u32>| list.iter().map(u32::to_string).collect::<Vec<_>>().join(" and ");
    let holders = pids(object.holders.iter().map(|h| h.pid).collect());
    let views = pids(object.views.iter().map(|v| v.pid).collect());
    let me = std::process::id();
    let both = |s: &str| s.contains(&me.to_string()) && s.contains(&second.to_string());
    if both(&holders) && both(&views) {
        say(
            "first",
            "inspected",
            format!("`filemap ls` now shows handles held by pids {holders}, views mapped by pids {views}"),
        );
    }
}

fn wait_until(child: &mut Child, deadline: Instant) -> Result<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            child.kill().ok();
            child.wait().ok();
            bail!("the second process did not finish in time; killed it");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn check_nothing_left(name: &ObjectName, event: &ObjectName) -> Result<()> {
    match Mapping::open(&name.to_string(), Access::READ) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => bail!("after closing, opening \"{name}\" failed unexpectedly: {e}"),
        Ok(_) => bail!("after both processes closed their handles \"{name}\" still exists"),
    }
    match Event::open(&event.to_string(), Rights::EVENT_ALL_ACCESS) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => bail!("after closing, opening \"{event}\" failed unexpectedly: {e}"),
        Ok(_) => bail!("after both processes closed their handles \"{event}\" still exists"),
    }
    let files = [name.file_name(), event.file_name()];
    if let Some(left) = filemap::scan(name.scope(), false)?.iter().find(|e| files.contains(&e.file)) {
        bail!("after closing, the namespace still holds {}", left.file);
    }
    Ok(())
}

/// `filemap demo-second`: the second process.
pub fn second(args: SecondArgs) -> Result<()> {
    JSON.store(args.json, std::sync::atomic::Ordering::Relaxed);
    let name = ObjectName::parse(&args.name)?;
    let mapping = Mapping::open(&name.to_string(), Access::ALL).context("second process: OpenFileMapping failed")?;
    say("second", "opened", format!("opened \"{name}\" by name"));
    let view = mapping.view(Access::ALL).context("second process: MapViewOfFile failed")?;
    let event = Event::open(&args.event, Rights::SYNCHRONIZE).context("second process: OpenEvent failed")?;
    say("second", "waiting", format!("mapped a view; waiting on event \"{}\"", args.event));
    match event.wait(Some(args.timeout)).context("second process: WaitForSingleObject failed")? {
        WaitOutcome::TimedOut => bail!("second process: the event was not set within {:?}", args.timeout),
        _ => say("second", "event-set", "the event is set"),
    }
    let bytes = view.read_vec(0, BUF_SIZE as usize)?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    say("second", "read", format!("read: {}", String::from_utf8_lossy(&bytes[..end])));
    drop(view);
    drop(mapping);
    drop(event);
    say("second", "closed", "unmapped the view and closed its handles");
    Ok(())
}
