//! The namespace directories: where they are, how they are made, and the checks they must pass
//! before any object is created or opened in them (invariants S1 and S2).
//!
//! | scope  | directory                                   | owner | mode   |
//! |--------|---------------------------------------------|-------|--------|
//! | Local  | `<root>/filemap-<uid>` if the namespace has a root, else the user's runtime directory + `/filemap` (`/run/user/<uid>`, else `$XDG_RUNTIME_DIR`, each used only if it is a real directory owned by the user and closed to others), else `/dev/shm/filemap-<uid>` | user  | `0700` |
//! | Global | `<root>/filemap-global` (`/dev/shm/filemap-global`) | root  | `3771` (group may create, others may open; sticky: only an object's owner or root may remove it) |
//!
//! A [`Namespace`] is one such pair of directories. [`Namespace::at`] gives it a root of your
//! choice; [`Namespace::default`] (what every constructor uses unless given another) takes its
//! root from `FILEMAP_ROOT`, read once per process, or uses the standard locations above
//! (`/dev/shm` for Global). The Local directory is
//! made on first use; the Global one by root on first use or by `filemap init-global`.
//! A directory that is a symlink, has the wrong owner or lets strangers write is refused with
//! `ERROR_ACCESS_DENIED` and a message saying what is wrong, never used or repaired silently.
//!
//! Why the runtime directory: `/dev/shm` is world-writable, so another user can create
//! `/dev/shm/filemap-<uid>` (or a symlink) before the user's first use and deny the user's Local
//! namespace; nobody but the user (and root) can create anything in `/run/user/<uid>`.
//!
//! A cached directory found removed or replaced (systemd-logind's `RemoveIPC` empties
//! `/dev/shm` of a user's files at logout) is verified again, and made again, by `refresh`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result, Win32Error};
use crate::name::Scope;

/// Environment variable that relocates the whole namespace tree (default `/dev/shm`): the
/// root of [`Namespace::default`].
pub const ROOT_ENV: &str = "FILEMAP_ROOT";

/// The directory name of the Global scope under the root.
pub const GLOBAL_DIR: &str = "filemap-global";

/// A namespace: the pair of directories (Local and Global) that object names resolve in.
///
/// [`Namespace::default`] is the process's namespace: `$FILEMAP_ROOT` when set (read once per
/// process), else the standard locations (module docs). [`Namespace::at`] is a namespace rooted
/// at a directory of your choice, with the layout `$FILEMAP_ROOT` gives: `<root>/filemap-<uid>`
/// for Local names and `<root>/filemap-global` for Global ones. Every constructor takes one
/// (`Mapping::options().namespace(&ns)`, `Event::options().namespace(&ns)`, ...) and the
/// shortcuts here preset it (`ns.mapping()`, `ns.event()`, ...); without one, the default is
/// used. Two processes meet when they name the same object in namespaces with the same root.
///
/// Each namespace verifies its directories before first use (S1: not a symlink, the right
/// owner and mode; refused with `ERROR_ACCESS_DENIED`, never repaired silently), makes the
/// Local one on first create, and sweeps the dead objects of the directories it uses
/// ([`crate::sweep`]). Cloning is cheap and shares the verified directories; `Send` and `Sync`.
///
/// ```
/// use filemap::{Access, namespace::Namespace};
/// # let root = std::env::temp_dir().join(format!("filemap-doc-ns-{}", std::process::id()));
/// let ns = Namespace::at(&root);
/// let (map, _) = ns.mapping().name(r"Local\config").size(4096).create()?;
/// map.view(Access::ALL)?.write_at(0, b"hello")?;
/// let again = ns.open_mapping(r"Local\config", Access::READ)?; // the same object
/// assert_eq!(again.view(Access::READ)?.read_vec(0, 5)?, b"hello");
/// // The default namespace does not see it.
/// assert!(filemap::Mapping::open(r"Local\config", Access::READ).is_err());
/// # drop((map, again)); std::fs::remove_dir_all(&root).ok();
/// # Ok::<(), filemap::Error>(())
/// ```
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None`: the standard locations (no `FILEMAP_ROOT`).
    root: Option<PathBuf>,
    cache: Mutex<[Option<Arc<Dir>>; 2]>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.root {
            Some(root) => write!(f, "Namespace::at({})", root.display()),
            None => f.write_str("Namespace(standard locations)"),
        }
    }
}

impl PartialEq for Namespace {
    /// Namespaces are equal when their names resolve in the same directories (same root).
    fn eq(&self, other: &Namespace) -> bool {
        self.inner.root == other.inner.root
    }
}

impl Eq for Namespace {}

impl std::hash::Hash for Namespace {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.root.hash(state);
    }
}

// A `Namespace` is shared between threads (the default one is a `static`).
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Namespace>();
};

impl Default for Namespace {
    /// The process's namespace: rooted at `$FILEMAP_ROOT` if set (read once, on first use),
    /// else the standard locations. Every clone shares one set of verified directories.
    fn default() -> Namespace {
        Namespace::global().clone()
    }
}

fn absolute(dir: PathBuf) -> PathBuf {
    if dir.is_absolute() { dir } else { std::env::current_dir().unwrap_or_default().join(dir) }
}

impl Namespace {
    /// A namespace rooted at `root`: Local names live in `<root>/filemap-<uid>` (made, mode
    /// 0700, on first create), Global ones in `<root>/filemap-global` (set up by root, as for
    /// `$FILEMAP_ROOT`). A relative `root` is taken relative to the current directory now.
    /// Nothing is touched until the first create or open; `root` itself is made then if
    /// missing.
    pub fn at(root: impl AsRef<Path>) -> Namespace {
        Namespace::with_root(Some(absolute(root.as_ref().to_path_buf())))
    }

    fn with_root(root: Option<PathBuf>) -> Namespace {
        Namespace { inner: Arc::new(Inner { root, cache: Mutex::new([None, None]) }) }
    }

    /// The process's default namespace, without a reference count change.
    pub(crate) fn global() -> &'static Namespace {
        static DEFAULT: OnceLock<Namespace> = OnceLock::new();
        DEFAULT.get_or_init(|| {
            let root = std::env::var_os(ROOT_ENV).filter(|d| !d.is_empty()).map(|d| absolute(PathBuf::from(d)));
            Namespace::with_root(root)
        })
    }

    /// The root this namespace was made with ([`Namespace::at`], or `$FILEMAP_ROOT` for the
    /// default); `None` for the standard locations.
    pub fn root(&self) -> Option<&Path> {
        self.inner.root.as_deref()
    }

    /// The directory of a scope in this namespace (whether or not it exists yet).
    pub fn scope_dir(&self, scope: Scope) -> PathBuf {
        let euid = rustix::process::geteuid().as_raw();
        let root = self.inner.root.as_deref();
        match (scope, root) {
            (Scope::Local, Some(root)) => root.join(format!("filemap-{euid}")),
            (Scope::Local, None) => match runtime_dir(euid) {
                Some(runtime) => runtime.join("filemap"),
                None => Path::new("/dev/shm").join(format!("filemap-{euid}")),
            },
            (Scope::Global, root) => root.unwrap_or(Path::new("/dev/shm")).join(GLOBAL_DIR),
        }
    }

    /// Sets up this namespace's Global scope (root only); see [`init_global`].
    pub fn init_global(&self, gid: Option<u32>) -> Result<PathBuf> {
        init_global_in(self, gid)
    }

    /// Opens (and, if `create` and allowed, makes) the directory of `scope`, verified.
    ///
    /// Returns `Ok(None)` when the directory does not exist and `create` is false: no object can
    /// exist in it, so an open reports `ERROR_FILE_NOT_FOUND`. Verified directories are cached
    /// for the life of the namespace.
    pub(crate) fn dir(&self, scope: Scope, create: bool) -> Result<Option<Arc<Dir>>> {
        let slot = scope as usize;
        if let Some(dir) = &self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())[slot] {
            return Ok(Some(dir.clone()));
        }
        let path = self.scope_dir(scope);
        let fd = match open_dir(&path)? {
            Some(fd) => fd,
            None if !create => return Ok(None),
            None => make_dir(scope, &path)?,
        };
        verify(scope, &path, &fd)?;
        let dir = Arc::new(Dir::new(fd, scope, path, self));
        self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())[slot] = Some(dir.clone());
        Ok(Some(dir))
    }

    fn forget(&self, scope: Scope) {
        self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())[scope as usize] = None;
    }
}

/// The root of the default namespace's tree: `$FILEMAP_ROOT` or `/dev/shm`.
pub fn root() -> &'static Path {
    Namespace::global().root().unwrap_or(Path::new("/dev/shm"))
}

/// The directory of a scope in the default namespace (whether or not it exists yet). See the
/// module docs for the Local scope's choice between `$FILEMAP_ROOT`, the runtime directory and
/// `/dev/shm`.
pub fn scope_dir(scope: Scope) -> PathBuf {
    Namespace::global().scope_dir(scope)
}

/// The user's runtime directory, if it is one only the user can write: `/run/user/<uid>`
/// first (the same for every process of the user, whatever its environment), else
/// `$XDG_RUNTIME_DIR`; each must be an absolute path to a real directory (not a symlink),
/// owned by `euid`, closed to group and others.
fn runtime_dir(euid: u32) -> Option<PathBuf> {
    let verified = |path: PathBuf| {
        let st = rustix::fs::lstat(&path).ok()?;
        let is_dir = st.st_mode & 0o170000 == 0o040000;
        (path.is_absolute() && is_dir && st.st_uid == euid && st.st_mode & 0o077 == 0).then_some(path)
    };
    verified(PathBuf::from(format!("/run/user/{euid}")))
        .or_else(|| std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()).and_then(|d| verified(d.into())))
}

/// An open, verified namespace directory.
pub(crate) struct Dir {
    pub(crate) fd: OwnedFd,
    pub(crate) scope: Scope,
    /// Where it was found.
    path: PathBuf,
    /// The namespace that caches it (weak: the cache holds the `Dir`), and that namespace's
    /// root, to find the directory again once the namespace itself is gone.
    ns: Weak<Inner>,
    root: Option<PathBuf>,
    /// The directory carries [`EXACT_MODES_ACL`] as its default ACL: files made in it get
    /// exactly the mode they are made with, whatever the umask (see `object::fill`).
    pub(crate) exact_modes: bool,
    /// This directory's amortized sweep.
    pub(crate) sweep: Mutex<SweepState>,
    /// No sweep step before this time of the coarse monotonic clock, in nanoseconds
    /// (`sweep::coarse_now`; 0: none yet): read without the lock by every create, open and
    /// close, written under it.
    pub(crate) next_step_ns: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Dir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dir").field("path", &self.path).field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl Dir {
    fn new(fd: OwnedFd, scope: Scope, path: PathBuf, ns: &Namespace) -> Dir {
        Dir {
            exact_modes: has_exact_modes(&fd),
            fd,
            scope,
            path,
            ns: Arc::downgrade(&ns.inner),
            root: ns.inner.root.clone(),
            sweep: Mutex::new(SweepState::default()),
            next_step_ns: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The namespace this directory belongs to (a fresh one with the same root if the original
    /// was dropped meanwhile).
    fn namespace(&self) -> Namespace {
        match self.ns.upgrade() {
            Some(inner) => Namespace { inner },
            None if self.root.is_none() => Namespace::global().clone(),
            None => Namespace::with_root(self.root.clone()),
        }
    }
}

/// Opens (and, if `create` and allowed, makes) the directory of `scope` in the default
/// namespace, verified.
pub(crate) fn dir(scope: Scope, create: bool) -> Result<Option<Arc<Dir>>> {
    Namespace::global().dir(scope, create)
}

/// Runs `open` until it does not fail with `ERROR_FILE_NOT_FOUND` or `timeout` has passed
/// (polling, from 1 ms backing off to 50 ms): the `open_wait` of every object type. Any other
/// error returns at once; a timeout fails with `ERROR_FILE_NOT_FOUND` (what the open reports),
/// the message saying how long it waited. A zero `timeout` is one attempt.
pub(crate) fn wait_for_name<T>(timeout: std::time::Duration, mut open: impl FnMut() -> Result<T>) -> Result<T> {
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        let err = match open() {
            Ok(object) => return Ok(object),
            Err(e) if e.code() == Win32Error::FILE_NOT_FOUND => e,
            Err(e) => return Err(e),
        };
        let waited = start.elapsed();
        let Some(left) = timeout.checked_sub(waited).filter(|left| !left.is_zero()) else {
            let message = format!("{} (waited {} ms for it to appear)", err.message(), waited.as_millis());
            return Err(Error::new(Win32Error::FILE_NOT_FOUND, message));
        };
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}

/// The namespace directory that holds the object `file` open as `fd` (a descriptor inherited
/// or passed from another process, which may have used any namespace): the default
/// namespace's if its entry `file` is this very inode, else the directory the kernel says the
/// file is in (`/proc/self/fd`), verified as a namespace directory of `scope` (S1) and holding
/// `file` as this inode. `None` if neither: the handle then works but its close cannot free the
/// name (the sweep or `filemap gc` does).
pub(crate) fn dir_of(fd: rustix::fd::BorrowedFd<'_>, scope: Scope, file: &str) -> Option<Arc<Dir>> {
    let st = rustix::fs::fstat(fd).ok()?;
    let holds = |dir: &Dir| {
        rustix::fs::statat(&dir.fd, file, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|e| e.st_dev == st.st_dev && e.st_ino == st.st_ino)
    };
    if let Ok(Some(dir)) = dir(scope, false)
        && holds(&dir)
    {
        return Some(dir);
    }
    let path = std::fs::read_link(format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&fd))).ok()?;
    let parent = path.parent()?.to_path_buf();
    // Only a directory laid out the way `Namespace::at` (and `FILEMAP_ROOT`) lay them out.
    let expected = match scope {
        Scope::Local => format!("filemap-{}", rustix::process::geteuid().as_raw()),
        Scope::Global => GLOBAL_DIR.to_owned(),
    };
    let ns = match parent.parent() {
        Some(grand) if parent.file_name().is_some_and(|n| n == expected.as_str()) => Namespace::at(grand),
        _ => return None,
    };
    let found = ns.dir(scope, false).ok()??;
    holds(&found).then_some(found)
}

fn open_dir(path: &Path) -> Result<Option<OwnedFd>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // Users outside the Global scope's group may traverse its directory but not list it:
    // an `O_PATH` descriptor is all that opening objects by name needs.
    let opened = match rustix::fs::open(path, flags, Mode::empty()) {
        Err(rustix::io::Errno::ACCESS) => rustix::fs::open(path, flags | OFlags::PATH, Mode::empty()),
        other => other,
    };
    match opened {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(rustix::io::Errno::LOOP) | Err(rustix::io::Errno::NOTDIR) => Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("namespace directory {} is a symlink or not a directory; refusing to use it", path.display()),
        )),
        Err(e) => Err(Error::from_io(format!("cannot open namespace directory {}", path.display()), e.into())),
    }
}

fn make_dir(scope: Scope, path: &Path) -> Result<OwnedFd> {
    let euid = rustix::process::geteuid();
    if scope == Scope::Global && !euid.is_root() {
        return Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!(
                "the Global namespace ({}) is not set up and only root may create it: \
                 run `filemap init-global --group <group>` as root (SeCreateGlobalPrivilege)",
                path.display()
            ),
        ));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::from_io(format!("cannot create namespace root {}", parent.display()), e))?;
    }
    let mode = match scope {
        Scope::Local => 0o700,
        Scope::Global => 0o3771,
    };
    let made = match rustix::fs::mkdir(path, Mode::from_raw_mode(0o700)) {
        Ok(()) => true,
        Err(rustix::io::Errno::EXIST) => false,
        Err(e) => {
            return Err(Error::from_io(format!("cannot create namespace directory {}", path.display()), e.into()));
        }
    };
    let fd = open_dir(path)?.ok_or_else(|| {
        Error::new(Win32Error::PATH_NOT_FOUND, format!("namespace directory {} vanished", path.display()))
    })?;
    // Only set the mode on a directory we own: one made by somebody else fails `verify`.
    let what = || format!("cannot create namespace directory {}", path.display());
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
    if st.st_uid == euid.as_raw() {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(|e| Error::from_io(what(), e.into()))?;
        if made {
            set_exact_modes(&fd);
        }
    }
    Ok(fd)
}

/// The default ACL of a namespace directory (`system.posix_acl_default`, little-endian
/// `posix_acl_xattr` version 2): owner, group and others may have every permission. Under a
/// default ACL the kernel does not apply the umask to a new file, and keeps of the ACL only
/// what the mode asked for allows; a minimal ACL like this one is then the mode itself, so the
/// file gets no ACL of its own and exactly the mode it was made with. That saves a create the
/// `fstat` that otherwise finds out what the umask took away (S3). It grants nothing: a file's
/// mode still comes from its creator, and the directory's own access is its mode's.
#[rustfmt::skip]
const EXACT_MODES_ACL: [u8; 28] = [
    2, 0, 0, 0, // version
    0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, // ACL_USER_OBJ: rwx
    0x04, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, // ACL_GROUP_OBJ: rwx
    0x20, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, // ACL_OTHER: rwx
];
const DEFAULT_ACL_XATTR: &str = "system.posix_acl_default";

/// Gives a namespace directory we own [`EXACT_MODES_ACL`], unless it has a default ACL already
/// (somebody's choice, never replaced: the directory then reads as without ours). Asked first:
/// the kernel ignores `XATTR_CREATE` for POSIX ACLs (they are set through `set_acl` since Linux
/// 6.2). A filesystem without POSIX ACLs refuses it; creates there keep their `fstat`.
fn set_exact_modes(fd: &OwnedFd) {
    if matches!(rustix::fs::fgetxattr(fd, DEFAULT_ACL_XATTR, &mut [0u8; 0]), Err(rustix::io::Errno::NODATA)) {
        rustix::fs::fsetxattr(fd, DEFAULT_ACL_XATTR, &EXACT_MODES_ACL, rustix::fs::XattrFlags::CREATE).ok();
    }
}

/// Whether files made in the directory get exactly their mode: it is on tmpfs, whose POSIX
/// ACLs the kernel itself implements (a network or FUSE filesystem might keep the attribute
/// and still apply the umask), and its default ACL is exactly [`EXACT_MODES_ACL`] (any other,
/// or none, or an `O_PATH` descriptor that cannot read it: no).
fn has_exact_modes(fd: &OwnedFd) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let on_tmpfs = rustix::fs::fstatfs(fd).is_ok_and(|fs| fs.f_type == TMPFS_MAGIC);
    let mut buf = [0u8; EXACT_MODES_ACL.len() + 1];
    on_tmpfs && matches!(rustix::fs::fgetxattr(fd, DEFAULT_ACL_XATTR, &mut buf), Ok(n) if buf[..n] == EXACT_MODES_ACL)
}

fn verify(scope: Scope, path: &Path, fd: &OwnedFd) -> Result<()> {
    let st = rustix::fs::fstat(fd)
        .map_err(|e| Error::from_io(format!("cannot check namespace directory {}", path.display()), e.into()))?;
    let euid = rustix::process::geteuid().as_raw();
    let mode = st.st_mode & 0o7777;
    let refuse = |why: String| {
        Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("namespace directory {} is unsafe: {why}; refusing to use it", path.display()),
        ))
    };
    match scope {
        Scope::Local => {
            if st.st_uid != euid {
                return refuse(format!("it belongs to uid {} instead of {euid}", st.st_uid));
            }
            if mode & 0o077 != 0 {
                return refuse(format!("its mode is {mode:04o}; it must be 0700"));
            }
        }
        Scope::Global => {
            if st.st_uid != 0 && st.st_uid != euid {
                return refuse(format!("it belongs to uid {}, not root", st.st_uid));
            }
            if mode & 0o002 != 0 {
                return refuse(format!("its mode is {mode:04o}: anyone may create or delete in it"));
            }
            if mode & 0o020 != 0 && mode & 0o1000 == 0 {
                return refuse(format!(
                    "its mode is {mode:04o}: group members could delete or replace each other's live objects \
                     (not sticky); run `filemap init-global` again"
                ));
            }
        }
    }
    Ok(())
}

/// Sets up the Global scope (root only): the directory owned by root, group `gid` (which may
/// create objects), mode `3771`. Idempotent: an existing directory is brought to that state.
///
/// The sticky bit gives members Windows' guarantee: only an object's owner (or root) may remove
/// or rename it, so no member can delete or replace another member's live object. The price: a
/// dead object of another member is removed by its owner's next filemap process (which sweeps
/// the namespaces it uses) or by root (`filemap gc`, or `filemap gc --watch` as a service);
/// until then creating that name fails with `ERROR_ACCESS_DENIED` naming the owner.
pub fn init_global(gid: Option<u32>) -> Result<PathBuf> {
    init_global_in(Namespace::global(), gid)
}

fn init_global_in(ns: &Namespace, gid: Option<u32>) -> Result<PathBuf> {
    if !rustix::process::geteuid().is_root() {
        return Err(Error::new(Win32Error::ACCESS_DENIED, "only root may set up the Global namespace"));
    }
    let path = ns.scope_dir(Scope::Global);
    let fd = match open_dir(&path)? {
        Some(fd) => fd,
        None => make_dir(Scope::Global, &path)?,
    };
    let what = || format!("cannot set up the Global namespace {}", path.display());
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
    if st.st_uid != 0 {
        return Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("{} belongs to uid {}; remove it and run init-global again", path.display(), st.st_uid),
        ));
    }
    let gid = rustix::process::Gid::from_raw(gid.unwrap_or(0));
    rustix::fs::fchown(&fd, Some(rustix::process::Uid::ROOT), Some(gid))
        .map_err(|e| Error::from_io(what(), e.into()))?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o3771)).map_err(|e| Error::from_io(what(), e.into()))?;
    set_exact_modes(&fd);
    ns.forget(Scope::Global);
    Ok(path)
}

/// Whether a cached directory is no longer the scope's directory: removed (link count 0), or
/// its path now names another directory (or nothing). One `fstat` and one `stat`; called only
/// on paths that found nothing.
pub(crate) fn is_stale(dir: &Dir) -> bool {
    let Ok(ours) = rustix::fs::fstat(&dir.fd) else { return true };
    if ours.st_nlink == 0 {
        return true;
    }
    match rustix::fs::lstat(dir.namespace().scope_dir(dir.scope)) {
        Ok(now) => now.st_dev != ours.st_dev || now.st_ino != ours.st_ino,
        Err(_) => true,
    }
}

/// Drops `stale` from its namespace's cache (if it is still cached) and opens the scope's
/// directory again, verified, making it if `create`.
pub(crate) fn refresh(stale: &Arc<Dir>, create: bool) -> Result<Option<Arc<Dir>>> {
    let ns = stale.namespace();
    {
        let mut cache = ns.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut cache[stale.scope as usize];
        if slot.as_ref().is_some_and(|d| Arc::ptr_eq(d, stale)) {
            *slot = None;
        }
    }
    ns.dir(stale.scope, create)
}

/// Every entry of a scope's directory, as raw file names (for listing and `gc`).
pub(crate) fn entries(dir: &Dir) -> Result<Vec<OsString>> {
    let fd = rustix::fs::openat(&dir.fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
    let what = || format!("cannot list namespace directory {}", dir.path.display());
    let fd = fd.map_err(|e| Error::from_io(what(), e.into()))?;
    let mut reader = rustix::fs::Dir::read_from(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
    let mut out = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry.map_err(|e| Error::from_io(what(), e.into()))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(OsString::from_vec(name.to_vec()));
        }
    }
    Ok(out)
}

/// Where the amortized sweep ([`crate::sweep`]) of one namespace directory stands: kept with the
/// directory so that namespaces do not reset each other's pass.
#[derive(Default)]
pub(crate) struct SweepState {
    /// No new pass before this time of the same clock.
    pub(crate) next_pass: Option<std::time::Duration>,
    /// The pass in progress: where its directory listing stands.
    pub(crate) cursor: Option<rustix::fs::Dir>,
}
