//! Private namespace roots and unique object names.
//!
//! Every test gets a namespace no other test shares: either the per-process root of
//! [`process_root`] (exported to children through `FILEMAP_ROOT`) or a [`TempRoot`] of its own.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where per-process roots live (tmpfs, like the real namespace).
const ROOTS: &str = "/dev/shm/filemap-tests";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The namespace root of this test process: `FILEMAP_ROOT` if a parent test process handed one
/// down (`inherited` is true in children), otherwise a fresh directory under
/// `/dev/shm/filemap-tests/<pid>` that is exported as `FILEMAP_ROOT` for the library and for
/// children. Call it before anything reads the environment; later calls return the same path.
pub fn process_root(inherited: bool) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        if inherited && let Some(dir) = std::env::var_os("FILEMAP_ROOT") {
            return PathBuf::from(dir);
        }
        prune_dead_roots();
        let dir = PathBuf::from(format!("{ROOTS}/{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test root");
        set_mode(Path::new(ROOTS), 0o1777);
        set_mode(&dir, 0o755);
        set_root_env(&dir);
        dir
    })
    .clone()
}

#[allow(unsafe_code)]
fn set_root_env(dir: &Path) {
    // SAFETY:
    // - called once, inside `OnceLock::get_or_init`, by the test harness before the test
    //   starts any thread that reads the environment (every test asks for its root first);
    // - the library reads `FILEMAP_ROOT` only when it resolves a namespace, after this.
    unsafe { std::env::set_var("FILEMAP_ROOT", dir) };
}

/// Removes the roots of earlier test processes that have exited (a test process cannot tell
/// which of its tests ends last, so each leaves its root behind).
fn prune_dead_roots() {
    let Ok(entries) = std::fs::read_dir(ROOTS) else { return };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Sets a path's permission bits (best effort: the directory may belong to another run).
pub fn set_mode(path: &Path, mode: u32) {
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// A name no other test (in this or any concurrent run) uses: `<tag>-<pid>-<n>`. Prefix it
/// with a scope (`Local\`) where the test needs one.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A namespace root of one test, under `/dev/shm`, removed when dropped.
pub struct TempRoot {
    path: PathBuf,
}

impl TempRoot {
    /// A fresh, empty root named after `tag`, this process and a counter.
    pub fn new(tag: &str) -> TempRoot {
        let path = PathBuf::from(format!("/dev/shm/{}", unique(tag)));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a test root");
        TempRoot { path }
    }

    /// The root's path (pass it to children as `FILEMAP_ROOT`).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
