//! Large-page sections (`SEC_LARGE_PAGES`): their data lives in a file on a hugetlbfs mount.
//!
//! # Why hugetlbfs
//!
//! Windows' large pages are physically contiguous, never paged out, and come from a pool that
//! can run dry: a section that cannot get them fails at creation. Linux's hugetlb pool behaves
//! the same way (`/proc/sys/vm/nr_hugepages`, `fallocate` fails with `ENOSPC` when it is empty),
//! while transparent huge pages on tmpfs are best effort and cannot fail up front. A named object
//! must also stay in the namespace, openable by name from any process: a `MFD_HUGETLB` memfd
//! could only be reached through its creator's `/proc/<pid>/fd`, which dies with the creator. So
//! the object file stays in the namespace (header, name, lifetime locks, as for every object) and
//! records, like a file-backed mapping, the path, device and inode of a data file in
//! `<hugetlbfs>/filemap-<uid>/` that it created. The mount is `$FILEMAP_HUGETLBFS` or the first
//! hugetlbfs mount in `/proc/mounts`; without one (or without write access to it) creation fails
//! with `ERROR_PRIVILEGE_NOT_HELD`, Windows' answer without `SeLockMemoryPrivilege`; an empty
//! pool fails with `ERROR_NO_SYSTEM_RESOURCES`.
//!
//! # Lifetime of the data file
//!
//! Every handle holds `LOCK_SH` on the data file as well as on the object file. When the last
//! handle of a process closes, the data file is unlinked if the object file's name is gone (the
//! object's close protocol unlinked it, so no handle is left anywhere); views keep the huge pages
//! mapped, as views keep any section's memory. Data files of crashed creators (no `LOCK_SH`
//! holder) are removed by the next large-page creation. The data file's path is read from the
//! (hostile) header: it is only opened if it is directly inside `filemap-<creator uid>` of our
//! hugetlbfs mount, where the owner is the object file's owner as the kernel records it (not the
//! uid the header claims), without following symlinks, and only used if its device and inode are
//! the recorded ones and its owner is that same user.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FallocateFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result, Win32Error};
use crate::object::Backing;

/// Environment variable naming the hugetlbfs mount to use.
pub const HUGETLBFS_ENV: &str = "FILEMAP_HUGETLBFS";
const HUGETLBFS_MAGIC: i64 = 0x9584_58f6;

/// A section's data file: a regular backing file, or a large-page data file we created.
#[derive(Debug)]
pub(crate) struct DataFile {
    fd: OwnedFd,
    large: Option<LargeLink>,
}

#[derive(Debug)]
struct LargeLink {
    dir: OwnedFd,
    name: String,
    dev: u64,
    ino: u64,
    /// An `O_PATH` descriptor of the object file: its link count tells whether the object died.
    object: Option<OwnedFd>,
}

impl AsFd for DataFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl DataFile {
    /// A plain backing file.
    pub(crate) fn plain(fd: OwnedFd) -> DataFile {
        DataFile { fd, large: None }
    }

    /// Whether this is a large-page data file.
    pub(crate) fn is_large(&self) -> bool {
        self.large.is_some()
    }

    /// Remembers the object file (by an `O_PATH` descriptor reopened from `object`) so the last
    /// close can tell whether the object is gone.
    pub(crate) fn watch_object(&mut self, object: BorrowedFd<'_>) {
        if let Some(link) = &mut self.large {
            let path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&object));
            link.object = rustix::fs::open(path.as_str(), OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok();
        }
    }
}

impl Drop for DataFile {
    fn drop(&mut self) {
        let Some(link) = &self.large else { return };
        // Views may keep this description (and so its lock) alive: release the lock explicitly.
        rustix::fs::flock(&self.fd, FlockOperation::Unlock).ok();
        let dead = match &link.object {
            Some(obj) => rustix::fs::fstat(obj).map(|st| st.st_nlink == 0).unwrap_or(false),
            None => true, // never published (creation failed, or the name existed)
        };
        if dead {
            let same = rustix::fs::statat(&link.dir, link.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| st.st_dev == link.dev && st.st_ino == link.ino);
            if same {
                rustix::fs::unlinkat(&link.dir, link.name.as_str(), AtFlags::empty()).ok();
            }
        }
    }
}

fn no_privilege(why: impl std::fmt::Display) -> Error {
    Error::new(
        Win32Error::PRIVILEGE_NOT_HELD,
        format!(
            "large pages need a writable hugetlbfs mount (set {HUGETLBFS_ENV} or mount one, e.g. \
             `mount -t hugetlbfs none /dev/hugepages`): {why}"
        ),
    )
}

/// The hugetlbfs mount to use.
fn mount_point() -> Result<PathBuf> {
    let path = match std::env::var_os(HUGETLBFS_ENV) {
        Some(p) => PathBuf::from(p),
        None => {
            let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
            let found = mounts.lines().find_map(|l| {
                let mut parts = l.split_whitespace();
                let (_, dir, fs) = (parts.next()?, parts.next()?, parts.next()?);
                (fs == "hugetlbfs").then(|| PathBuf::from(dir.replace("\\040", " ")))
            });
            found.ok_or_else(|| no_privilege("no hugetlbfs is mounted"))?
        }
    };
    let st = rustix::fs::statfs(&path).map_err(|e| no_privilege(format!("{}: {e}", path.display())))?;
    if st.f_type as i64 != HUGETLBFS_MAGIC {
        return Err(no_privilege(format!("{} is not a hugetlbfs mount", path.display())));
    }
    Ok(path)
}

/// Opens (creating if needed) `<mount>/filemap-<uid>`, refusing anything that is not a real
/// directory owned by `uid` and unwritable by others (S1).
fn user_dir(mount: &Path, uid: u32, create: bool) -> Result<(OwnedFd, PathBuf)> {
    let path = mount.join(format!("filemap-{uid}"));
    if create {
        match rustix::fs::mkdir(&path, Mode::from_raw_mode(0o711)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(no_privilege(format!("cannot create {}: {e}", path.display()))),
        }
    }
    let dir =
        rustix::fs::open(&path, OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::RDONLY, Mode::empty())
            .map_err(|e| no_privilege(format!("cannot open {}: {e}", path.display())))?;
    let st =
        rustix::fs::fstat(&dir).map_err(|e| Error::from_io(format!("cannot check {}", path.display()), e.into()))?;
    if st.st_uid != uid || st.st_mode & 0o022 != 0 {
        return Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("{} is not owned by uid {uid} or is writable by others: refusing it", path.display()),
        ));
    }
    Ok((dir, path))
}

/// Removes data files no handle holds (crash leftovers).
fn sweep(dir: &OwnedFd) {
    let Ok(mut entries) = rustix::fs::Dir::read_from(dir) else { return };
    while let Some(Ok(entry)) = entries.next() {
        let Ok(name) = entry.file_name().to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let Ok(fd) = rustix::fs::openat(dir, name, flags, Mode::empty()) else { continue };
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
            rustix::fs::unlinkat(dir, name, AtFlags::empty()).ok();
        }
    }
}

/// Creates and fills (commits) a large-page data file of `size` bytes with permission `mode`.
/// Unnamed sections get a data file that is unlinked at once (nobody else can open them).
pub(crate) fn create(size: u64, mode: u32, named: bool) -> Result<(DataFile, Backing)> {
    let mount = mount_point()?;
    let uid = rustix::process::geteuid().as_raw();
    let (dir, dir_path) = user_dir(&mount, uid, true)?;
    sweep(&dir);
    let fd =
        rustix::fs::openat(&dir, ".", OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
            .map_err(|e| no_privilege(format!("cannot create a file in {}: {e}", dir_path.display())))?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode & 0o666))
        .map_err(|e| Error::from_io("cannot set the mode of the large-page data file", e.into()))?;
    rustix::fs::ftruncate(&fd, size).map_err(|e| Error::from_io("cannot size the large-page data file", e.into()))?;
    rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, size).map_err(|e| match e {
        Errno::NOSPC | Errno::NOMEM => Error::with_source(
            Win32Error::NO_SYSTEM_RESOURCES,
            format!(
                "cannot commit {size} bytes of large pages: the huge page pool has too few free pages \
                 (see HugePages_Free in /proc/meminfo; raise /proc/sys/vm/nr_hugepages)"
            ),
            e.into(),
        ),
        e => Error::from_io("cannot commit the large-page data file", e.into()),
    })?;
    let failed = |e: Errno| Error::from_io("cannot lock the large-page data file", e.into());
    rustix::fs::flock(&fd, FlockOperation::LockShared).map_err(failed)?;
    let st = rustix::fs::fstat(&fd).map_err(failed)?;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let name = format!("{}-{nanos}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let backing = Backing { dev: st.st_dev, ino: st.st_ino, path: dir_path.join(&name) };
    if !named {
        return Ok((DataFile { fd, large: None }, backing));
    }
    let linked = rustix::fs::linkat(&fd, "", &dir, name.as_str(), AtFlags::EMPTY_PATH).or_else(|_| {
        let proc = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&fd));
        rustix::fs::linkat(rustix::fs::CWD, proc.as_str(), &dir, name.as_str(), AtFlags::SYMLINK_FOLLOW)
    });
    linked.map_err(|e| Error::from_io("cannot publish the large-page data file", e.into()))?;
    let link = LargeLink { dir, name, dev: st.st_dev, ino: st.st_ino, object: None };
    Ok((DataFile { fd, large: Some(link) }, backing))
}

/// Opens the data file a large-page object's header names, checking the path (it must be
/// directly inside `filemap-<owner>` of our mount, where `owner` is the object file's owner as
/// the kernel records it), the device, inode and owner.
pub(crate) fn open(backing: &Backing, creator_uid: u32, write: bool, what: &str) -> Result<DataFile> {
    let corrupt =
        |why: &str| Error::new(Win32Error::INVALID_DATA, format!("cannot open {what}: its large-page data file {why}"));
    let mount = mount_point()?;
    let name = backing.path.file_name().and_then(|n| n.to_str()).ok_or_else(|| corrupt("has no valid name"))?;
    let expected = mount.join(format!("filemap-{creator_uid}"));
    if backing.path.parent() != Some(expected.as_path()) || name.starts_with('.') {
        return Err(corrupt(&format!("{} is not inside {}", backing.path.display(), expected.display())));
    }
    let (dir, _) = user_dir(&mount, creator_uid, false)?;
    let flags = if write { OFlags::RDWR } else { OFlags::RDONLY } | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&dir, name, flags, Mode::empty()).map_err(|e| {
        Error::from_io(format!("cannot open {what}: its large-page data file {}", backing.path.display()), e.into())
    })?;
    let failed = |e: Errno| {
        Error::from_io(format!("cannot open {what}: its large-page data file {}", backing.path.display()), e.into())
    };
    let st = rustix::fs::fstat(&fd).map_err(failed)?;
    if st.st_dev != backing.dev || st.st_ino != backing.ino || st.st_uid != creator_uid {
        return Err(corrupt("was replaced by another file"));
    }
    rustix::fs::flock(&fd, FlockOperation::LockShared).map_err(failed)?;
    if rustix::fs::fstat(&fd).map_err(failed)?.st_nlink == 0 {
        return Err(Error::new(Win32Error::FILE_NOT_FOUND, format!("cannot open {what}: it was just closed")));
    }
    let link = LargeLink { dir, name: name.to_owned(), dev: st.st_dev, ino: st.st_ino, object: None };
    Ok(DataFile { fd, large: Some(link) })
}
