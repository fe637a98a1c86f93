//! The one harness for the filemap workspace's tests that run real processes.
//!
//! Every crate's integration tests (core, CLI, Win32 C ABI) use it, so a hang, a child that
//! dies, a namespace that leaks into another test or a test that needs root behaves the same
//! everywhere:
//!
//! - [`process`]: run any command to completion under a watchdog with its output collected,
//!   read a running child's output line by line, send signals.
//! - [`selfexec`]: re-execute the test binary itself as a child process in a named role (the
//!   `child_main` entry point), talk to it with a line protocol, or run a whole test body in a
//!   fresh child ([`selfexec::isolated`]).
//! - [`root`]: private namespace roots (`FILEMAP_ROOT`) and unique object names.
//! - [`privilege`]: tests that need root or another user: [`privilege::require_root`] fails
//!   loudly (such tests are `#[ignore = "needs root ..."]`, and CI runs them as root with
//!   `--ignored`), [`privilege::as_user`] builds a command that runs as another uid.
//!
//! Nothing here simulates a crash: children are real processes, killed with real signals.

#![deny(unsafe_code)]

pub mod privilege;
pub mod process;
pub mod root;
pub mod selfexec;
