//! The namespace directories: where they are, how they are made, and the checks they must pass
//! before any object is created or opened in them (invariants S1 and S2).
//!
//! | scope  | directory                         | owner | mode   |
//! |--------|-----------------------------------|-------|--------|
//! | Local  | `$FILEMAP_ROOT/filemap-<uid>`     | user  | `0700` |
//! | Global | `$FILEMAP_ROOT/filemap-global`    | root  | `2771` (group may create, others may open) |
//!
//! `FILEMAP_ROOT` defaults to `/dev/shm`; it is read once per process. The Local directory is
//! made on first use; the Global one by root on first use or by `filemap init-global`.
//! A directory that is a symlink, has the wrong owner or lets strangers write is refused with
//! `ERROR_ACCESS_DENIED` and a message saying what is wrong, never used or repaired silently.

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

/// The directory of a scope (whether or not it exists yet).
pub fn scope_dir(scope: Scope) -> PathBuf {
    match scope {
        Scope::Local => root().join(format!("filemap-{}", rustix::process::geteuid().as_raw())),
        Scope::Global => root().join(GLOBAL_DIR),
    }
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
    let root = root();
    std::fs::create_dir_all(root)
        .map_err(|e| Error::from_io(format!("cannot create namespace root {}", root.display()), e))?;
    let mode = match scope {
        Scope::Local => 0o700,
        Scope::Global => 0o2771,
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
        }
    }
    Ok(())
}

/// Sets up the Global scope (root only): the directory owned by root, group `gid` (which may
/// create objects), mode `2771`. Idempotent: an existing directory is brought to that state.
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
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o2771))?;
    CACHE.lock().unwrap_or_else(|e| e.into_inner())[Scope::Global as usize] = None;
    Ok(path)
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
