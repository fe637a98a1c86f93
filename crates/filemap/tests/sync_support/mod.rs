//! Shared harness of the `sync_*` integration tests.
//!
//! - [`isolated`] runs a test's body in a fresh child process (this test binary, re-executed
//!   with `--exact <name>`) with its own `FILEMAP_ROOT`, under a watchdog: a hang becomes a
//!   failure, and every test gets a private namespace.
//! - [`spawn_helper`] starts another process of this binary running the `#[ignore]`d `helper`
//!   test of the file, with a role and arguments in the environment; helpers print lines that
//!   the parent can wait for ([`Helper::expect_line`]).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "FILEMAP_SYNC_TEST_CHILD";
const ROLE_ENV: &str = "FILEMAP_SYNC_HELPER_ROLE";
const ARGS_ENV: &str = "FILEMAP_SYNC_HELPER_ARGS";

/// Runs `body` in a child process with its own `FILEMAP_ROOT`, failing if it fails or takes
/// longer than `limit`.
pub fn isolated_with_limit(name: &str, limit: Duration, body: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return;
    }
    let root = PathBuf::from(format!("/tmp/filemap-synctest-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .env("FILEMAP_ROOT", &root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let status = wait_with_watchdog(&mut child, limit);
    let out = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&root);
    match status {
        None => panic!("test {name} hung for more than {limit:?} (watchdog killed it); output:\n{out}"),
        Some(s) => {
            assert!(s.success(), "test {name} failed in its child process ({s}); output:\n{out}");
            assert!(out.contains("1 passed"), "test {name} did not run in its child; output:\n{out}");
        }
    }
}

/// [`isolated_with_limit`] with a 120 s watchdog.
pub fn isolated(name: &str, body: impl FnOnce()) {
    isolated_with_limit(name, Duration::from_secs(120), body)
}

/// Waits for `child` at most `limit`; kills it and returns `None` on timeout.
pub fn wait_with_watchdog(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A helper process and its output lines.
pub struct Helper {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Helper {
    /// Waits (at most `limit`) for a line starting with `prefix`; returns the rest of it.
    pub fn expect_line(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    // libtest may print "test helper ... " before the helper's first line.
                    if let Some(at) = line.find(prefix) {
                        return line[at + prefix.len()..].trim().to_owned();
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("helper did not print {prefix:?} within {limit:?}");
                }
            }
        }
    }

    /// Like [`Helper::expect_line`], but `None` (the helper keeps running) if no such line comes
    /// within `limit`.
    pub fn try_expect_line(&mut self, prefix: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find(prefix) {
                        return Some(line[at + prefix.len()..].trim().to_owned());
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Waits for the helper to exit successfully (watchdog `limit`).
    pub fn finish(mut self, limit: Duration) {
        match wait_with_watchdog(&mut self.child, limit) {
            None => panic!("helper hung for more than {limit:?}"),
            Some(s) => assert!(s.success(), "helper failed: {s}"),
        }
    }

    /// Kills the helper with SIGKILL and reaps it.
    pub fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Starts this test binary's `helper` test in a new process with `role` and `args`.
pub fn spawn_helper(role: &str, args: &[&str]) -> Helper {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["helper", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .env(ARGS_ENV, args.join("\u{1f}"))
        .env_remove(CHILD_ENV)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Helper { child, lines: rx }
}

/// In the `helper` test: the role and arguments it was started with (`None` when the helper
/// test was run directly).
pub fn helper_role() -> Option<(String, Vec<String>)> {
    let role = std::env::var(ROLE_ENV).ok()?;
    let args = std::env::var(ARGS_ENV).unwrap_or_default();
    let args = if args.is_empty() { Vec::new() } else { args.split('\u{1f}').map(str::to_owned).collect() };
    Some((role, args))
}

/// Prints a line the parent can wait for, flushed at once.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// A unique object name for this test process.
pub fn name(what: &str) -> String {
    format!(r"Local\synctest-{}-{what}", std::process::id())
}
