//! The core's integration tests' view of the workspace harness (`filemap-testkit`): a private
//! namespace root per test process, unique names, and real child processes (the test binary
//! re-executes itself) with a line protocol and watchdogs.
//!
//! A test file that spawns children declares
//! `#[test] #[ignore] fn child_main() { common::child_main(dispatch) }`; [`Child::spawn`] runs
//! the test binary again in that entry point with a role and arguments. Children [`say`] lines
//! to the parent and [`hear`] its commands.

#![allow(dead_code, unused_imports)] // each test file uses a different part of the harness

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::process::Command;

use filemap_testkit::selfexec;

pub use filemap_testkit::privilege::{NOBODY, as_user, is_root, require_root};
pub use filemap_testkit::process::TIMEOUT as LINE_TIMEOUT;
pub use filemap_testkit::selfexec::{CHILD_WATCHDOG, hear, say};

/// The namespace root of this test process (`FILEMAP_ROOT`, which children inherit), made
/// before the library reads it. Every test calls this first.
pub fn setup() -> PathBuf {
    filemap_testkit::root::process_root(selfexec::role().is_some())
}

/// A name no other test (in this or any other run) uses: `Local\<tag>-<pid>-<n>`.
pub fn unique(tag: &str) -> String {
    format!(r"Local\{}", filemap_testkit::root::unique(tag))
}

/// Entry point of a child process: runs `dispatch(role, args)` under a watchdog, in the parent's
/// namespace.
pub fn child_main(dispatch: fn(&str, &[String])) {
    selfexec::child_main(|role, args| {
        setup();
        dispatch(role, args)
    });
}

/// A running child process of the test binary, in this process's namespace.
pub struct Child(selfexec::Child);

impl Child {
    /// Starts the test binary again in role `role`.
    pub fn spawn(role: &str, args: &[&str]) -> Child {
        Child::spawn_with(role, args, |_| {})
    }

    /// Like [`Child::spawn`], letting the caller adjust the command (environment, fds...).
    pub fn spawn_with(role: &str, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Child {
        setup();
        Child(selfexec::Child::spawn_with(role, args, adjust))
    }

    /// Closes the child's stdin and waits (bounded) for it to exit successfully.
    #[track_caller]
    pub fn finish(self) {
        self.0.finish()
    }
}

impl Deref for Child {
    type Target = selfexec::Child;
    fn deref(&self) -> &selfexec::Child {
        &self.0
    }
}

impl DerefMut for Child {
    fn deref_mut(&mut self) -> &mut selfexec::Child {
        &mut self.0
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

/// A small xorshift generator for the stress and soak tests' random choices.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A seed that differs between runs and between processes (never 0).
pub fn seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    (t ^ (u64::from(std::process::id()) << 32)) | 1
}

/// Whether `pid` is a live process (a zombie or a dead one is not).
pub fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Word `i` of an oracle view shared by a test's processes.
pub fn oracle_word(view: &filemap::View, i: usize) -> &std::sync::atomic::AtomicU64 {
    view.atomic_u64(i * 8).expect("oracle word")
}

/// What one step of the stress and soak tests' disturbance did.
pub enum Disturbance {
    /// A reclaiming scan of the Local scope (`filemap gc`).
    Gc,
    /// A worker stopped (SIGSTOP) for 5-50 ms, then continued.
    Stop,
    /// A worker SIGKILLed and replaced by a fresh one.
    Kill,
}

/// One random disturbance of `workers`: a reclaiming scan (1 in 4), else a SIGSTOP of a random
/// worker for 5-50 ms (1 in 3 of the rest), else a SIGKILL of a random worker, which `spawn`
/// replaces.
pub fn disturb(rng: &mut Rng, workers: &mut [Child], spawn: impl Fn(usize) -> Child) -> Disturbance {
    if rng.below(4) == 0 {
        filemap::scan(filemap::Scope::Local, true).expect("gc during the run");
        return Disturbance::Gc;
    }
    let w = rng.below(workers.len() as u64) as usize;
    if rng.below(3) == 0 {
        let pid = rustix::process::Pid::from_raw(workers[w].pid() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::STOP);
        std::thread::sleep(std::time::Duration::from_millis(5 + rng.below(45)));
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::CONT);
        return Disturbance::Stop;
    }
    workers[w].kill();
    workers[w] = spawn(w);
    Disturbance::Kill
}
