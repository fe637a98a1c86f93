//! The test binary as its own child process.
//!
//! A test file that starts children declares one ignored entry point,
//!
//! ```ignore
//! #[test]
//! #[ignore = "child process entry point, started by the other tests"]
//! fn child_main() { filemap_testkit::selfexec::child_main(dispatch) }
//! ```
//!
//! and [`Child::spawn`] runs the test binary again with `--exact child_main --ignored`, the
//! role and its arguments in the environment. Children talk to the parent with lines that start
//! with `@@` on standard output ([`say`]; libtest prints its own lines around them) and read
//! commands from standard input ([`hear`]). Every child runs under a watchdog that aborts it, so
//! a hang in a child never outlives the test.
//!
//! [`isolated`] runs a whole test body in a fresh child with its own namespace root instead.

use std::io::{BufRead, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::process::{Lines, TIMEOUT, wait_with_watchdog};

/// How long any child may live before its own watchdog aborts it.
pub const CHILD_WATCHDOG: Duration = Duration::from_secs(60);
/// The entry point [`Child::spawn`] runs.
pub const ENTRY: &str = "child_main";

const ROLE_ENV: &str = "FILEMAP_TEST_ROLE";
const ARGS_ENV: &str = "FILEMAP_TEST_ARGS";
const ISOLATED_ENV: &str = "FILEMAP_TEST_ISOLATED";
const ARG_SEP: char = '\u{1f}';
const MARK: &str = "@@";

/// In a child: the role and arguments it was started with; `None` in the parent (or when the
/// entry point was run directly, e.g. by `cargo test -- --ignored`).
pub fn role() -> Option<(String, Vec<String>)> {
    let role = std::env::var(ROLE_ENV).ok()?;
    let args = std::env::var(ARGS_ENV).unwrap_or_default();
    let args = args.split(ARG_SEP).filter(|s| !s.is_empty()).map(String::from).collect();
    Some((role, args))
}

/// Starts the child's watchdog: the process aborts after `limit` whatever it is doing.
pub fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("child watchdog fired after {limit:?}: aborting");
        std::process::abort();
    });
}

/// The body of a `child_main` entry point: runs `dispatch(role, args)` under the watchdog; does
/// nothing when the entry point is run directly.
pub fn child_main(dispatch: impl FnOnce(&str, &[String])) {
    let Some((role, args)) = role() else { return };
    start_watchdog(CHILD_WATCHDOG);
    dispatch(&role, &args);
}

/// In a child: prints a protocol line (`@@line`) to the parent, flushed at once.
pub fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{}", line.as_ref()).expect("write to the parent");
    out.flush().expect("flush to the parent");
}

/// In a child: reads one command line from the parent (blocks); `None` once the parent closed
/// the child's stdin.
pub fn hear() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end().to_string()),
    }
}

/// The command that runs the test binary's ignored test `entry` in role `role` with `args`
/// (for a test that wants to run it itself, e.g. to see it die of a signal).
pub fn command(entry: &str, role: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args(["--exact", entry, "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE_ENV, role)
        .env(ARGS_ENV, args.join(&ARG_SEP.to_string()))
        .env_remove(ISOLATED_ENV);
    cmd
}

/// A running child process of the test binary.
pub struct Child {
    proc: std::process::Child,
    lines: Lines,
    stdin: Option<std::process::ChildStdin>,
}

impl Child {
    /// Starts the test binary's [`ENTRY`] in role `role` with `args`.
    pub fn spawn(role: &str, args: &[&str]) -> Child {
        Child::spawn_with(role, args, |_| {})
    }

    /// Like [`Child::spawn`], letting the caller adjust the command (environment, descriptors,
    /// `pre_exec`...).
    pub fn spawn_with(role: &str, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Child {
        Child::spawn_entry(ENTRY, role, args, adjust)
    }

    /// Starts the test binary's ignored test `entry` in role `role` with `args`.
    pub fn spawn_entry(entry: &str, role: &str, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Child {
        let mut cmd = command(entry, role, args);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        adjust(&mut cmd);
        let mut proc = cmd.spawn().expect("spawn a child of the test binary");
        let lines = Lines::new(proc.stdout.take().expect("child stdout"));
        let stdin = proc.stdin.take();
        Child { proc, lines, stdin }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.proc.id()
    }

    /// The underlying process (to signal or wait for it directly).
    pub fn process(&mut self) -> &mut std::process::Child {
        &mut self.proc
    }

    /// Waits (at most [`TIMEOUT`]) for the next protocol line; panics on timeout or if the child
    /// ended first.
    #[track_caller]
    pub fn next_line(&mut self) -> String {
        loop {
            match self.lines.next_within(TIMEOUT) {
                Ok(line) => {
                    if let Some(msg) = line.strip_prefix(MARK) {
                        return msg.to_string();
                    }
                }
                Err(true) => panic!("child {} sent nothing for {TIMEOUT:?}", self.pid()),
                Err(false) => {
                    let status = self.proc.wait();
                    panic!("child {} ended without the expected line: {status:?}", self.pid())
                }
            }
        }
    }

    /// Waits for the next protocol line and checks it starts with `prefix`; returns the rest,
    /// trimmed.
    #[track_caller]
    pub fn expect(&mut self, prefix: &str) -> String {
        let line = self.next_line();
        match line.strip_prefix(prefix) {
            Some(rest) => rest.trim().to_string(),
            None => panic!("child {} said {line:?}, expected {prefix:?}", self.pid()),
        }
    }

    /// The first protocol line within `limit` that contains `prefix`, returning what follows it
    /// (trimmed); earlier lines are skipped. `None` if none came in time.
    pub fn find_line(&mut self, prefix: &str, limit: Duration) -> Option<String> {
        self.lines.find(limit, |line| {
            let msg = line.strip_prefix(MARK)?;
            let at = msg.find(prefix)?;
            Some(msg[at + prefix.len()..].trim().to_owned())
        })
    }

    /// Sends a command line to the child.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("child stdin open");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush to child");
    }

    /// Closes the child's stdin (its [`hear`] returns `None`).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }

    /// Waits at most `limit` for the child to exit; `None` (after killing it) on timeout.
    pub fn wait_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_with_watchdog(&mut self.proc, limit)
    }

    /// Closes the child's stdin and waits (at most [`TIMEOUT`]) for it to exit successfully.
    #[track_caller]
    pub fn finish(mut self) {
        self.close_stdin();
        match self.wait_within(TIMEOUT) {
            None => panic!("child {} did not exit within {TIMEOUT:?}", self.pid()),
            Some(status) => assert!(status.success(), "child {} failed: {status}", self.pid()),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.proc.try_wait() {
            self.kill();
        }
    }
}

/// Runs `body` in a fresh child process of the test binary (the test named `name`, run again
/// with `--exact`) with its own empty namespace root, failing if the body fails or takes longer
/// than `limit`. In that child, this call runs `body` itself.
#[track_caller]
pub fn isolated(name: &str, limit: Duration, body: impl FnOnce()) {
    if std::env::var(ISOLATED_ENV).as_deref() == Ok(name) {
        body();
        return;
    }
    let root = crate::root::TempRoot::new(&format!("filemap-isolated-{name}"));
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(ISOLATED_ENV, name)
        .env("FILEMAP_ROOT", root.path())
        .env_remove(ROLE_ENV)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the isolated test");
    let stdout = child.stdout.take().expect("child stdout");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let status = wait_with_watchdog(&mut child, limit);
    let out = reader.join().expect("output reader");
    match status {
        None => panic!("test {name} hung for more than {limit:?} (watchdog killed it); output:\n{out}"),
        Some(s) => {
            assert!(s.success(), "test {name} failed in its child process ({s}); output:\n{out}");
            assert!(out.contains("1 passed"), "test {name} did not run in its child; output:\n{out}");
        }
    }
}
