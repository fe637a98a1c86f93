//! Shared test harness: an isolated namespace root per test process, unique names, and real
//! child processes (the test binary re-executes itself) with a line protocol and watchdogs.
//!
//! A test file that spawns children declares
//! `#[test] #[ignore] fn child_main() { common::child_main(dispatch) }`; [`Child::spawn`] runs
//! the test binary again with `--exact child_main --ignored`, the role in `FILEMAP_CHILD` and
//! its arguments in `FILEMAP_CHILD_ARGS`. Children speak to the parent with lines starting with
//! `@@` on standard output (libtest prints its own lines around them) and read commands from
//! standard input.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// How long any single child may live before its own watchdog aborts it.
pub const CHILD_WATCHDOG: Duration = Duration::from_secs(60);
/// How long the parent waits for one expected line.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(30);

const ROLE_ENV: &str = "FILEMAP_CHILD";
const ARGS_ENV: &str = "FILEMAP_CHILD_ARGS";

/// Points `FILEMAP_ROOT` at a fresh directory on tmpfs for this test process (children inherit
/// it), before the library reads it. Every test calls this first.
pub fn setup() -> PathBuf {
    static ONCE: Once = Once::new();
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ONCE.call_once(|| {
        let root = match std::env::var_os("FILEMAP_ROOT") {
            Some(dir) if std::env::var_os(ROLE_ENV).is_some() => PathBuf::from(dir),
            _ => {
                prune_dead_roots();
                let dir = PathBuf::from(format!("/dev/shm/filemap-tests/{}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("create test root");
                set_mode(&PathBuf::from("/dev/shm/filemap-tests"), 0o1777);
                set_mode(&dir, 0o755);
                // SAFETY: runs once, inside `Once`, before any thread of this process reads the
                // environment through the library (every test calls `setup` first).
                unsafe { std::env::set_var("FILEMAP_ROOT", &dir) };
                dir
            }
        };
        ROOT.set(root).expect("root set once");
    });
    ROOT.get().expect("root initialised").clone()
}

/// Removes the roots of earlier test processes that have exited (each run leaves its own root
/// behind, since a test process cannot tell which of its tests ends last).
fn prune_dead_roots() {
    let Ok(entries) = std::fs::read_dir("/dev/shm/filemap-tests") else { return };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn set_mode(path: &PathBuf, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// A name no other test (in this or any other run) uses: `Local\<tag>-<pid>-<n>`.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(r"Local\{tag}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Entry point of a child process: runs `dispatch(role, args)` under a watchdog.
pub fn child_main(dispatch: fn(&str, &[String])) {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return; // run by `cargo test -- --ignored` directly: nothing to do
    };
    setup();
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_WATCHDOG);
        eprintln!("child watchdog fired: aborting");
        std::process::abort();
    });
    let args: Vec<String> = std::env::var(ARGS_ENV)
        .unwrap_or_default()
        .split('\u{1f}')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    dispatch(&role, &args);
}

/// Prints a protocol line to the parent.
pub fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "@@{}", line.as_ref()).expect("write to parent");
    out.flush().expect("flush to parent");
}

/// Reads one command line from the parent (blocks); `None` when the parent closed stdin.
pub fn hear() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end().to_string()),
    }
}

/// A running child process of the test binary.
pub struct Child {
    proc: std::process::Child,
    lines: Receiver<String>,
    stdin: Option<std::process::ChildStdin>,
}

impl Child {
    /// Starts the test binary again in role `role`.
    pub fn spawn(role: &str, args: &[&str]) -> Child {
        Child::spawn_with(role, args, |_| {})
    }

    /// Like [`Child::spawn`], letting the caller adjust the command (environment, fds...).
    pub fn spawn_with(role: &str, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Child {
        setup();
        let exe = std::env::current_exe().expect("current exe");
        let mut cmd = Command::new(exe);
        cmd.args(["--exact", "child_main", "--ignored", "--nocapture", "--test-threads=1", "-q"])
            .env(ROLE_ENV, role)
            .env(ARGS_ENV, args.join("\u{1f}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        adjust(&mut cmd);
        let mut proc = cmd.spawn().expect("spawn child");
        let stdout = proc.stdout.take().expect("child stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(msg) = line.strip_prefix("@@")
                    && tx.send(msg.to_string()).is_err()
                {
                    break;
                }
            }
        });
        let stdin = proc.stdin.take();
        Child { proc, lines, stdin }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.proc.id()
    }

    /// Waits for the next protocol line (panics on timeout or if the child ended first).
    pub fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(LINE_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("child {} sent nothing for {LINE_TIMEOUT:?}", self.pid()),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.proc.wait();
                panic!("child {} ended without the expected line: {status:?}", self.pid())
            }
        }
    }

    /// Waits for a line and checks it starts with `prefix`; returns the rest.
    pub fn expect(&mut self, prefix: &str) -> String {
        let line = self.next_line();
        match line.strip_prefix(prefix) {
            Some(rest) => rest.trim().to_string(),
            None => panic!("child {} said {line:?}, expected {prefix:?}", self.pid()),
        }
    }

    /// Sends a command line to the child.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("child stdin open");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush to child");
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }

    /// Closes the child's stdin and waits (bounded) for it to exit successfully.
    pub fn finish(mut self) {
        self.stdin.take();
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            if let Some(status) = self.proc.try_wait().expect("wait child") {
                assert!(status.success(), "child {} failed: {status}", self.pid());
                return;
            }
            assert!(Instant::now() < deadline, "child {} did not exit", self.pid());
            std::thread::sleep(Duration::from_millis(5));
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

/// Free bytes of the filesystem holding the namespace root (tmpfs).
pub fn free_bytes() -> u64 {
    let st = rustix::fs::statvfs(setup()).expect("statvfs");
    st.f_bfree * st.f_frsize
}

/// Asserts that `result` failed with Win32 error `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: filemap::Result<T>, code: filemap::Win32Error) {
    match result {
        Ok(v) => panic!("expected {} ({}), got Ok({v:?})", code.name().unwrap_or("?"), code.0),
        Err(e) => assert_eq!(e.code(), code, "wrong error: {e}"),
    }
}
