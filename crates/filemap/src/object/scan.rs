//! Scanning a namespace directory: what each entry is, whether a live process holds it, and
//! the reclaim of dead ones (for `ls`, `gc` and the sweep). A scan only probes locks, so it can
//! never make a dead object look alive (I2).

use super::*;

/// What a namespace scan found at one directory entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file name in the namespace directory.
    pub file: String,
    /// The scope it was found in.
    pub scope: Scope,
    /// Its validated header, or the error that says why it is not valid (including "not a
    /// regular file").
    pub header: Result<Header, String>,
    /// True when no live process holds a handle to it and nobody is deciding its fate: a dead
    /// object (crash leftover). Found without taking any lock, so a scan can never make a dead
    /// object look alive to a concurrent open.
    pub stale: bool,
    /// True when this scan removed it (only ever a verified, dead object file of this name).
    pub reclaimed: bool,
    /// Inode number, to match it against lock tables and memory maps.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Owner uid and permission bits of the file.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
}

/// Lists the objects of a scope. With `reclaim`, dead ones are removed (garbage collection):
/// only regular files whose header is valid and names exactly the object this file name
/// encodes, only under the decision lock (so never an object that is live or being opened),
/// and only where the directory lets us (in the sticky Global directory: our own files, or any
/// as root). [`Entry::reclaimed`] says what was removed.
/// Scans the default namespace; [`namespace::Namespace::scan`] scans another.
pub fn scan(scope: Scope, reclaim: bool) -> Result<Vec<Entry>> {
    scan_in(namespace::Namespace::global(), scope, reclaim)
}

pub(crate) fn scan_in(ns: &namespace::Namespace, scope: Scope, reclaim: bool) -> Result<Vec<Entry>> {
    let Some(dir) = ns.dir(scope, false)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for file in namespace::entries(&dir)? {
        let Some(file) = file.to_str() else {
            continue;
        };
        if let Some(entry) = inspect(&dir, file, reclaim, true) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Looks at one namespace entry (for `scan` and the sweep); `None` if it vanished. Without
/// `describe` (the sweep), the header of a live entry is not read (`Entry::header` is then an
/// error saying so).
pub(crate) fn inspect(dir: &Dir, file: &str, reclaim: bool, describe: bool) -> Option<Entry> {
    let fd = rustix::fs::openat(
        &dir.fd,
        file,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    );
    let (fd, st) = match fd {
        Ok(fd) => {
            let st = rustix::fs::fstat(&fd).ok()?;
            (Some(fd), st)
        }
        // A symlink, a FIFO without a writer, something we may not read: describe it only.
        Err(_) => (None, rustix::fs::statat(&dir.fd, file, AtFlags::SYMLINK_NOFOLLOW).ok()?),
    };
    let regular = st.st_mode & 0o170000 == 0o100000;
    let mut entry = Entry {
        file: file.to_owned(),
        scope: dir.scope,
        header: Err("not a regular file (left alone)".to_owned()),
        stale: false,
        reclaimed: false,
        ino: st.st_ino,
        dev: st.st_dev,
        file_size: st.st_size as u64,
        uid: st.st_uid,
        mode: st.st_mode & 0o7777,
    };
    let Some(fd) = fd.filter(|_| regular) else {
        if regular {
            entry.header = Err("cannot be opened for reading".to_owned());
        }
        return Some(entry);
    };
    entry.stale = matches!(lock::conflicting(fd.as_fd(), Kind::Write), Ok(None));
    if !describe && !entry.stale {
        entry.header = Err("not read (live)".to_owned());
        return Some(entry);
    }
    entry.header = Header::read(fd.as_fd()).map_err(|e| e.message().to_owned());
    if reclaim && entry.stale {
        let names_this_file = entry
            .header
            .as_ref()
            .is_ok_and(|h| h.name.as_deref().and_then(|n| ObjectName::parse(n).ok()).is_some_and(|n| n.file() == file));
        if names_this_file {
            entry.reclaimed = reclaim_entry(dir, file, &st);
        }
    }
    Some(entry)
}

/// Removes a dead object file under its decision lock (taken through a writable descriptor of
/// the same inode). True if removed.
pub(super) fn reclaim_entry(dir: &Dir, file: &str, st: &rustix::fs::Stat) -> bool {
    let Ok(rw) = open_for_decision(dir, file) else {
        return false;
    };
    match rustix::fs::fstat(&rw) {
        Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino && now.st_nlink > 0 => {}
        _ => return false,
    }
    if lock::set(rw.as_fd(), Kind::Write).is_err() {
        return false; // someone holds, opens or is deciding it right now
    }
    rustix::fs::statat(&dir.fd, file, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|named| named.st_dev == st.st_dev && named.st_ino == st.st_ino)
        && rustix::fs::unlinkat(&dir.fd, file, AtFlags::empty()).is_ok()
}

impl crate::namespace::Namespace {
    /// Lists the objects of a scope of this namespace, removing dead ones with `reclaim`
    /// ([`crate::scan`]).
    pub fn scan(&self, scope: Scope, reclaim: bool) -> Result<Vec<crate::Entry>> {
        crate::object::scan_in(self, scope, reclaim)
    }
}
