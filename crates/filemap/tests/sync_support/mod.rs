//! The `sync_*` tests' view of the workspace harness (`filemap-testkit`).
//!
//! - [`isolated`] runs a test's body in a fresh child process (this test binary, re-executed
//!   with `--exact <name>`) with its own `FILEMAP_ROOT`, under a watchdog: a hang becomes a
//!   failure, and every test gets a private namespace.
//! - [`spawn_helper`] starts another process of this binary running the `#[ignore]`d `helper`
//!   test of the file, with a role and arguments in the environment; helpers [`say`] lines that
//!   the parent can wait for ([`Helper::expect_line`]).

#![allow(dead_code, unused_imports)]

use std::time::Duration;

use filemap_testkit::selfexec::{self, Child};

pub use filemap_testkit::process::wait_with_watchdog;

/// Runs `body` in a child process with its own `FILEMAP_ROOT`, failing if it fails or takes
/// longer than `limit`.
#[track_caller]
pub fn isolated_with_limit(name: &str, limit: Duration, body: impl FnOnce()) {
    selfexec::isolated(name, limit, body)
}

/// [`isolated_with_limit`] with a 120 s watchdog.
#[track_caller]
pub fn isolated(name: &str, body: impl FnOnce()) {
    isolated_with_limit(name, Duration::from_secs(120), body)
}

/// A helper process and its protocol lines.
pub struct Helper {
    child: Child,
}

impl Helper {
    /// The helper's pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Waits (at most `limit`) for a line containing `prefix`; returns what follows it.
    #[track_caller]
    pub fn expect_line(&mut self, prefix: &str, limit: Duration) -> String {
        match self.child.find_line(prefix, limit) {
            Some(rest) => rest,
            None => {
                self.child.kill();
                panic!("helper did not print {prefix:?} within {limit:?}");
            }
        }
    }

    /// Like [`Helper::expect_line`], but `None` (the helper keeps running) if no such line comes
    /// within `limit`.
    pub fn try_expect_line(&mut self, prefix: &str, limit: Duration) -> Option<String> {
        self.child.find_line(prefix, limit)
    }

    /// Waits for the helper to exit successfully (watchdog `limit`).
    #[track_caller]
    pub fn finish(mut self, limit: Duration) {
        match self.child.wait_within(limit) {
            None => panic!("helper hung for more than {limit:?}"),
            Some(s) => assert!(s.success(), "helper failed: {s}"),
        }
    }

    /// Kills the helper with SIGKILL and reaps it.
    pub fn sigkill(mut self) {
        self.child.kill();
    }
}

/// Starts this test binary's `helper` test in a new process with `role` and `args`.
pub fn spawn_helper(role: &str, args: &[&str]) -> Helper {
    Helper {
        child: Child::spawn_entry("helper", role, args, |cmd| {
            cmd.stdin(std::process::Stdio::null());
        }),
    }
}

/// In the `helper` test: the role and arguments it was started with (`None` when the helper
/// test was run directly).
pub fn helper_role() -> Option<(String, Vec<String>)> {
    selfexec::role()
}

/// A unique object name for this test process.
pub fn name(what: &str) -> String {
    format!(r"Local\synctest-{}-{what}", std::process::id())
}

/// Prints a protocol line the parent can wait for, flushed at once.
pub fn say(line: &str) {
    selfexec::say(line)
}
