//! Test harness: an isolated namespace per test (`FILEMAP_ROOT` under /dev/shm), the real
//! `filemap` binary run as separate processes, and timeouts that turn hangs into failures (the
//! process plumbing is the workspace harness, `filemap-testkit`).

#![allow(dead_code)] // each test file uses a different part of the harness

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use filemap_testkit::process::{Lines, wait_with_watchdog};

/// How long one `filemap` command may take before the test fails.
pub use filemap_testkit::process::TIMEOUT;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// An isolated namespace root, removed when dropped.
pub struct Env {
    pub root: PathBuf,
    children: Vec<Child>,
}

/// The result of one finished command.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert!(
            self.status.success(),
            "command failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// A background `filemap` process whose output lines arrive on a channel.
pub struct Background {
    pub child: Child,
    lines: Lines,
}

impl Background {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every output line seen so far.
    pub fn seen(&self) -> &[String] {
        &self.lines.seen
    }

    /// Waits (with a timeout) for an output line containing `text`.
    #[track_caller]
    pub fn wait_for(&mut self, text: &str) -> String {
        self.lines.wait_for(text, TIMEOUT)
    }

    /// Sends a signal and waits (with a timeout) for the process to end.
    pub fn signal(&mut self, signal: rustix::process::Signal) -> ExitStatus {
        filemap_testkit::process::signal(self.child.id(), signal);
        match wait_with_watchdog(&mut self.child, TIMEOUT) {
            Some(status) => status,
            None => panic!("process {} did not exit within {TIMEOUT:?}", self.child.id()),
        }
    }

    /// The remaining output lines after the process ended.
    pub fn rest(&mut self) -> Vec<String> {
        self.lines.rest(Duration::from_secs(5))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// Runs a prepared command to completion (with a timeout), feeding it `input`.
fn finish(cmd: Command, input: Option<&[u8]>) -> Output {
    let out = filemap_testkit::process::run(cmd, input, TIMEOUT, "filemap");
    Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Env {
    pub fn new() -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = PathBuf::from(format!("/dev/shm/filemap-cli-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create test root");
        Env { root, children: Vec::new() }
    }

    /// A command for the `filemap` binary in this namespace.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_filemap"));
        cmd.args(args).env("FILEMAP_ROOT", &self.root).env("NO_COLOR", "1");
        cmd
    }

    /// Runs `filemap ARGS` to completion (with a timeout).
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, None)
    }

    /// Runs `filemap ARGS` as user and group `id` (through `setpriv`; the caller must be root).
    pub fn run_as(&self, id: u32, args: &[&str]) -> Output {
        let mut cmd = filemap_testkit::privilege::as_user(id, env!("CARGO_BIN_EXE_filemap"));
        cmd.args(args).env("FILEMAP_ROOT", &self.root).env("NO_COLOR", "1");
        finish(cmd, None)
    }

    /// Runs `filemap ARGS` with `input` on stdin.
    pub fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        finish(self.command(args), input)
    }

    /// Starts `filemap ARGS` in the background.
    pub fn spawn(&mut self, args: &[&str]) -> Background {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn");
        let lines = Lines::new(child.stdout.take().expect("stdout"));
        Background { child, lines }
    }

    /// The Local scope directory of this namespace.
    pub fn local_dir(&self) -> PathBuf {
        self.root.join(format!("filemap-{}", rustix::process::geteuid().as_raw()))
    }

    /// Files left in a scope directory.
    pub fn files_in(&self, dir: &Path) -> Vec<String> {
        match std::fs::read_dir(dir) {
            Ok(rd) => rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for child in &mut self.children {
            child.kill().ok();
            child.wait().ok();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A test-unique object name.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// The object named `name` in `ls --json` output, if listed.
pub fn find_object<'a>(ls: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    ls["objects"].as_array().expect("objects array").iter().find(|o| o["name"] == name)
}
