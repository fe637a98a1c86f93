//! Tests that need root, another user, or a tool.
//!
//! Such tests are marked `#[ignore = "needs root: ..."]` so that an ordinary `cargo test`
//! reports them as ignored instead of printing `ok` after doing nothing; `scripts/test-root-and-python.sh` (and
//! so CI, which runs as root) runs them with `--ignored`. Inside, they call [`require_root`]
//! first, so running them by hand without root fails loudly.

use std::path::Path;
use std::process::Command;

/// The uid and gid of the unprivileged user that cross-user tests run their attacker or
/// second user as (`nobody`).
pub const NOBODY: u32 = 65534;

/// Whether this process runs as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Panics (failing the test) unless this process is root and `setpriv` is installed; `why`
/// says what the test needs root for.
#[track_caller]
pub fn require_root(why: &str) {
    assert!(is_root(), "this test needs root ({why}): run it as root, e.g. `sudo -E cargo test -- --ignored`");
    assert!(has_setpriv(), "this test needs setpriv (util-linux) to act as another user ({why})");
}

/// Whether `setpriv` (util-linux) is installed.
pub fn has_setpriv() -> bool {
    ["/usr/bin/setpriv", "/bin/setpriv"].iter().any(|p| Path::new(p).exists())
}

/// A command that runs `program args...` as user and group `id` with no supplementary groups
/// (through `setpriv`; the caller must be root).
pub fn as_user(id: u32, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={id}")).arg(format!("--regid={id}")).arg("--clear-groups").arg(program);
    cmd
}
