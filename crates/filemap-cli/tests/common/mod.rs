//! Test harness: an isolated namespace per test (`FILEMAP_ROOT` under /dev/shm), the real
//! `filemap` binary run as separate processes, and timeouts that turn hangs into failures.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one `filemap` command may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

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
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Background {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (with a timeout) for an output line containing `text`.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no line containing {text:?} within {TIMEOUT:?}; saw {:?}", self.seen),
            }
        }
    }

    /// Sends a signal and waits (with a timeout) for the process to end.
    pub fn signal(&mut self, signal: rustix::process::Signal) -> ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, signal).expect("kill");
        wait_timeout(&mut self.child)
    }

    /// The remaining output lines after the process ended.
    pub fn rest(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            out.push(line);
        }
        out
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

fn wait_timeout(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("process {} did not exit within {TIMEOUT:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs a prepared command to completion (with a timeout), feeding it `input`.
fn finish(mut cmd: Command, input: Option<&[u8]>) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn filemap");
    if let Some(input) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write stdin");
    }
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err_reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let status = wait_timeout(&mut child);
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
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
        let mut full = vec![format!("--reuid={id}"), format!("--regid={id}"), "--clear-groups".into()];
        full.push(env!("CARGO_BIN_EXE_filemap").into());
        full.extend(args.iter().map(|a| a.to_string()));
        let mut cmd = Command::new("setpriv");
        cmd.args(&full).env("FILEMAP_ROOT", &self.root).env("NO_COLOR", "1");
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
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background { child, lines: rx, seen: Vec::new() }
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
