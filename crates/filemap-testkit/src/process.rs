//! Running commands under a watchdog, reading their output as lines, signalling them.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The default bound on one command or one expected line: long enough for a loaded 2-core
/// machine, short enough that a hang fails the test instead of the CI run.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Waits for `child` at most `limit`; on timeout kills it (SIGKILL), reaps it and returns `None`.
pub fn wait_with_watchdog(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a pipe to its end on its own thread (so a child writing more than a pipe buffer never
/// blocks on a parent that is waiting for it to exit).
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Collects the output of a started child (its stdout and stderr should be piped) under a
/// watchdog of `limit`; a hang kills the child and panics naming `what`, with what it printed.
pub fn output_with_watchdog(mut child: Child, limit: Duration, what: &str) -> Output {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_with_watchdog(&mut child, limit);
    let out = Output {
        status: status.unwrap_or_else(|| child.wait().expect("reap child")),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    if status.is_none() {
        panic!(
            "{what} hung for {limit:?} (killed); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Runs `cmd` to completion under a watchdog of `limit`, feeding it `input` (stdin closed when
/// `None`), and returns its status and output.
pub fn run(mut cmd: Command, input: Option<&[u8]>, limit: Duration, what: &str) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("child stdin");
        stdin.write_all(input).unwrap_or_else(|e| panic!("writing to {what}: {e}"));
    }
    output_with_watchdog(child, limit, what)
}

/// Asserts that `out` is a success and returns its stdout as text; otherwise panics with both
/// streams, naming `what`.
#[track_caller]
pub fn expect_success(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed with {:?}; stdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The lines a running child writes to a pipe, read on a thread and delivered in order.
pub struct Lines {
    rx: Receiver<String>,
    /// Every line received so far (for failure messages).
    pub seen: Vec<String>,
}

impl Lines {
    /// Starts reading `pipe` (usually a child's stdout) line by line.
    pub fn new(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx, seen: Vec::new() }
    }

    /// The next line within `limit`: `Err(true)` on timeout, `Err(false)` when the pipe closed.
    pub fn next_within(&mut self, limit: Duration) -> Result<String, bool> {
        match self.rx.recv_timeout(limit) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => Err(true),
            Err(RecvTimeoutError::Disconnected) => Err(false),
        }
    }

    /// The first line (within `limit`) for which `pick` returns something; lines before it are
    /// skipped. `None` if no such line came in time or the pipe closed.
    pub fn find<T>(&mut self, limit: Duration, mut pick: impl FnMut(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.next_within(left).ok()?;
            if let Some(found) = pick(&line) {
                return Some(found);
            }
        }
    }

    /// Waits (at most `limit`) for a line containing `text` and returns it; panics otherwise,
    /// listing what was seen.
    #[track_caller]
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> String {
        match self.find(limit, |line| line.contains(text).then(|| line.to_owned())) {
            Some(line) => line,
            None => panic!("no line containing {text:?} within {limit:?}; saw {:?}", self.seen),
        }
    }

    /// The lines still to come, until the pipe closes or nothing arrives for `quiet`.
    pub fn rest(&mut self, quiet: Duration) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.next_within(quiet) {
            out.push(line);
        }
        out
    }
}

/// Sends `signal` to process `pid` (panics if the process does not exist).
pub fn signal(pid: u32, signal: rustix::process::Signal) {
    let raw = i32::try_from(pid).expect("pid fits in pid_t");
    let pid = rustix::process::Pid::from_raw(raw).expect("pid is not 0");
    rustix::process::kill_process(pid, signal).unwrap_or_else(|e| panic!("kill({raw}, {signal:?}): {e}"));
}
