//! The namespace directories: where they are, how they are made, and the checks they must pass
//! before any object is created or opened in them (invariants S1 and S2).
//!
//! | scope  | directory                                   | owner | mode   |
//! |--------|---------------------------------------------|-------|--------|
//! | Local  | `$FILEMAP_ROOT/filemap-<uid>` if set, else the user's runtime directory + `/filemap` (`/run/user/<uid>`, else `$XDG_RUNTIME_DIR`, each used only if it is a real directory owned by the user and closed to others), else `/dev/shm/filemap-<uid>` | user  | `0700` |
//! | Global | `$FILEMAP_ROOT/filemap-global` (`/dev/shm/filemap-global`) | root  | `3771` (group may create, others may open; sticky: only an object's owner or root may remove it) |
//!
//! `FILEMAP_ROOT` defaults to `/dev/shm`; it is read once per process. The Local directory is
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
use std::sync::{Arc, Mutex, OnceLock};

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result, Win32Error};
use crate::name::Scope;

/// Environment variable that relocates the whole namespace tree (default `/dev/shm`).
pub const ROOT_ENV: &str = "FILEMAP_ROOT";

/// The directory name of the Global scope under the root.
pub const GLOBAL_DIR: &str = "filemap-global";

/// The root of the namespace tree for this process: `$FILEMAP_ROOT` or `/dev/shm`.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| match std::env::var_os(ROOT_ENV) {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { std::env::current_dir().unwrap_or_default().join(dir) }
        }
        _ => PathBuf::from("/dev/shm"),
    })
}

/// The directory of a scope (whether or not it exists yet). See the module docs for the
/// Local scope's choice between `$FILEMAP_ROOT`, the runtime directory and `/dev/shm`.
pub fn scope_dir(scope: Scope) -> PathBuf {
    let euid = rustix::process::geteuid().as_raw();
    match scope {
        Scope::Local => match runtime_dir(euid) {
            Some(runtime) if !root_is_set() => runtime.join("filemap"),
            _ => root().join(format!("filemap-{euid}")),
        },
        Scope::Global => root().join(GLOBAL_DIR),
    }
}

fn root_is_set() -> bool {
    std::env::var_os(ROOT_ENV).is_some_and(|dir| !dir.is_empty())
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
#[derive(Debug)]
pub(crate) struct Dir {
    pub(crate) fd: OwnedFd,
    pub(crate) scope: Scope,
}

static CACHE: Mutex<[Option<Arc<Dir>>; 2]> = Mutex::new([None, None]);

/// Opens (and, if `create` and allowed, makes) the directory of `scope`, verified.
///
/// Returns `Ok(None)` when the directory does not exist and `create` is false: no object can
/// exist in it, so an open reports `ERROR_FILE_NOT_FOUND`. Verified directories are cached for
/// the life of the process.
pub(crate) fn dir(scope: Scope, create: bool) -> Result<Option<Arc<Dir>>> {
    let slot = scope as usize;
    if let Some(dir) = &CACHE.lock().unwrap_or_else(|e| e.into_inner())[slot] {
        return Ok(Some(dir.clone()));
    }
    let path = scope_dir(scope);
    let fd = match open_dir(&path)? {
        Some(fd) => fd,
        None if !create => return Ok(None),
        None => make_dir(scope, &path)?,
    };
    verify(scope, &path, &fd)?;
    let dir = Arc::new(Dir { fd, scope });
    CACHE.lock().unwrap_or_else(|e| e.into_inner())[slot] = Some(dir.clone());
    Ok(Some(dir))
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
    match rustix::fs::mkdir(path, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => {
            return Err(Error::from_io(format!("cannot create namespace directory {}", path.display()), e.into()));
        }
    }
    let fd = open_dir(path)?.ok_or_else(|| {
        Error::new(Win32Error::PATH_NOT_FOUND, format!("namespace directory {} vanished", path.display()))
    })?;
    // Only set the mode on a directory we own: one made by somebody else fails `verify`.
    let st = rustix::fs::fstat(&fd)?;
    if st.st_uid == euid.as_raw() {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    }
    Ok(fd)
}

fn verify(scope: Scope, path: &Path, fd: &OwnedFd) -> Result<()> {
    let st = rustix::fs::fstat(fd)?;
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
    if !rustix::process::geteuid().is_root() {
        return Err(Error::new(Win32Error::ACCESS_DENIED, "only root may set up the Global namespace"));
    }
    let path = scope_dir(Scope::Global);
    let fd = match open_dir(&path)? {
        Some(fd) => fd,
        None => make_dir(Scope::Global, &path)?,
    };
    let st = rustix::fs::fstat(&fd)?;
    if st.st_uid != 0 {
        return Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("{} belongs to uid {}; remove it and run init-global again", path.display(), st.st_uid),
        ));
    }
    let gid = rustix::process::Gid::from_raw(gid.unwrap_or(0));
    rustix::fs::fchown(&fd, Some(rustix::process::Uid::ROOT), Some(gid))?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o3771))?;
    CACHE.lock().unwrap_or_else(|e| e.into_inner())[Scope::Global as usize] = None;
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
    match rustix::fs::lstat(scope_dir(dir.scope)) {
        Ok(now) => now.st_dev != ours.st_dev || now.st_ino != ours.st_ino,
        Err(_) => true,
    }
}

/// Drops `stale` from the cache (if it is still cached) and opens the scope's directory again,
/// verified, making it if `create`.
pub(crate) fn refresh(stale: &Arc<Dir>, create: bool) -> Result<Option<Arc<Dir>>> {
    {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut cache[stale.scope as usize];
        if slot.as_ref().is_some_and(|d| Arc::ptr_eq(d, stale)) {
            *slot = None;
        }
    }
    dir(stale.scope, create)
}

/// Every entry of a scope's directory, as raw file names (for listing and `gc`).
pub(crate) fn entries(dir: &Dir) -> Result<Vec<OsString>> {
    let fd = rustix::fs::openat(&dir.fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut reader = rustix::fs::Dir::read_from(&fd)?;
    let mut out = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(OsString::from_vec(name.to_vec()));
        }
    }
    Ok(out)
}
