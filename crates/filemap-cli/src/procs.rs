//! What the kernel knows about who uses an object: the lock table (`/proc/locks`), open
//! descriptors (`/proc/<pid>/fd`) and memory maps (`/proc/<pid>/maps`).
//!
//! Every open file description that stands for live handles holds the lifetime protocol's
//! holder lock: an open-file-description (`OFDLCK`) read lock on bytes 0-1 of the object file.
//! The lock table counts them even when their processes are not readable (another user's), but
//! shows no pid for OFD locks; who holds them comes from each descriptor's
//! `/proc/<pid>/fdinfo/<fd>`, which lists the locks of that descriptor's description.
//!
//! Processes, descriptors, memory maps, command lines and thread groups come through the
//! `procfs` crate. The lock table and fdinfo's `lock:` lines are parsed here: procfs's `Lock`
//! drops the `->` mark that tells a blocked waiter from a granted lock (a blocked read lock is
//! not a handle), and procfs does not parse fdinfo's `lock:` lines at all.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use procfs::ProcError;
use procfs::process::{FDTarget, MMPermissions, MMapPath, MemoryMaps, Process};

/// A file identity as the kernel prints it: device major, minor, inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub major: u32,
    pub minor: u32,
    pub ino: u64,
}

impl FileId {
    /// The identity of a file from `stat`'s `st_dev` and `st_ino`.
    pub fn from_dev_ino(dev: u64, ino: u64) -> FileId {
        FileId { major: rustix::fs::major(dev), minor: rustix::fs::minor(dev), ino }
    }
}

/// One granted holder lock (an `OFDLCK` read lock starting at byte 0) from `/proc/locks`.
#[derive(Debug, Clone)]
pub struct Lock {
    pub file: FileId,
}

/// One open descriptor of a process that refers to a file we care about.
#[derive(Debug, Clone)]
pub struct OpenFd {
    pub pid: u32,
    pub file: FileId,
    /// Its open file description holds the holder lock (from `fdinfo`).
    pub holds: bool,
}

/// One memory region of a process that maps a file we care about.
#[derive(Debug, Clone)]
pub struct Region {
    pub pid: u32,
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    /// The region may be written (`w` in its permissions).
    pub writable: bool,
    pub file: FileId,
    /// The path the kernel shows, without the ` (deleted)` suffix.
    pub path: String,
    /// The file's name was removed (the kernel appends ` (deleted)`).
    pub deleted: bool,
}

impl Region {
    /// Length of the region in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
}

/// A snapshot of the kernel's view of the processes, filtered to the files we care about.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub locks: Vec<Lock>,
    pub fds: Vec<OpenFd>,
    pub regions: Vec<Region>,
    /// Processes whose descriptors or maps we were not allowed to read.
    pub unreadable: Vec<u32>,
    commands: HashMap<u32, String>,
}

impl Snapshot {
    /// Reads the lock table, and the descriptors and maps of every process we may inspect.
    /// `wanted` decides which files are kept: it gets the identity and the path the kernel shows.
    /// Descriptors are only considered when their path starts with one of `fd_dirs` (handles are
    /// always opened inside a namespace directory), which spares a `stat` of every open file.
    pub fn take(wanted: &dyn Fn(FileId, &str) -> bool, fd_dirs: &[String]) -> Snapshot {
        let mut snap = Snapshot::default();
        if let Some(text) = read_lock_table() {
            snap.locks = parse_locks(&text).into_iter().filter(|l| wanted(l.file, "")).collect();
        }
        let Ok(all) = procfs::process::all_processes() else {
            return snap;
        };
        for process in all.flatten() {
            let Ok(pid) = u32::try_from(process.pid()) else { continue };
            let mut readable = true;
            match process.fd() {
                Ok(fds) => {
                    for fd in fds.flatten() {
                        let FDTarget::Path(target) = &fd.target else { continue }; // sockets, pipes, anon inodes
                        let target = target.to_string_lossy();
                        if !fd_dirs.iter().any(|d| target.starts_with(d.as_str())) {
                            continue; // other files
                        }
                        let link = format!("/proc/{pid}/fd/{}", fd.fd);
                        let Ok(meta) = std::fs::metadata(&link) else { continue };
                        let file = FileId::from_dev_ino(meta.dev(), meta.ino());
                        if wanted(file, strip_deleted(&target).0) {
                            // procfs parses neither the `lock:` lines of fdinfo nor (in its
                            // `Lock`) the `->` mark of a blocked waiter: see `parse_holder_lock`.
                            let info = format!("/proc/{pid}/fdinfo/{}", fd.fd);
                            let holds = std::fs::read_to_string(info).is_ok_and(|text| fdinfo_holds(&text));
                            snap.fds.push(OpenFd { pid, file, holds });
                        }
                    }
                }
                // Only a refusal hides something; a process that exited meanwhile (or a zombie,
                // whose tables are gone) has nothing to show.
                Err(ProcError::PermissionDenied(_)) => readable = false,
                Err(_) => {}
            }
            match process.maps() {
                Ok(maps) => {
                    for region in regions_of(pid, maps) {
                        if wanted(region.file, &region.path) {
                            snap.regions.push(region);
                        }
                    }
                }
                Err(ProcError::PermissionDenied(_)) => readable = false,
                Err(_) => {}
            }
            if !readable && process.is_alive() {
                snap.unreadable.push(pid);
            }
        }
        snap
    }

    /// The command line of a process (cached), or its `comm`, or `?` if it is gone.
    pub fn command(&mut self, pid: u32) -> String {
        self.commands.entry(pid).or_insert_with(|| command_of(pid)).clone()
    }
}

fn process(pid: u32) -> Option<Process> {
    Process::new(i32::try_from(pid).ok()?).ok()
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    process(pid).is_some_and(|p| p.is_alive())
}

/// Whether a process exists at all (a zombie too).
pub fn exists(pid: u32) -> bool {
    process(pid).is_some()
}

/// The process a thread belongs to (`Tgid` in `/proc/<tid>/status`), if the thread exists.
pub fn process_of_thread(tid: u32) -> Option<u32> {
    u32::try_from(process(tid)?.status().ok()?.tgid).ok()
}

fn command_of(pid: u32) -> String {
    let Some(process) = process(pid) else { return "?".into() };
    if let Ok(parts) = process.cmdline()
        && let Some(first) = parts.first()
    {
        let program = Path::new(first).file_name().map_or(first.clone(), |f| f.to_string_lossy().into_owned());
        return std::iter::once(program).chain(parts[1..].iter().cloned()).collect::<Vec<_>>().join(" ");
    }
    match process.stat() {
        Ok(stat) => format!("[{}]", stat.comm),
        Err(_) => "?".into(),
    }
}

/// Splits the kernel's ` (deleted)` suffix off a path.
pub fn strip_deleted(path: &str) -> (&str, bool) {
    match path.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (path, false),
    }
}

/// Reads `/proc/locks` as one consistent snapshot. The kernel builds the file a page per
/// `read`, walking the live lock list each time, so while other processes take and drop locks a
/// longer table can repeat or skip entries between pages: read it until two reads agree (at most
/// a few times; the last read is used if it never settles).
fn read_lock_table() -> Option<String> {
    let mut last = std::fs::read_to_string("/proc/locks").ok()?;
    for _ in 0..5 {
        let again = std::fs::read_to_string("/proc/locks").ok()?;
        if again == last {
            break;
        }
        last = again;
    }
    Some(last)
}

/// Parses `/proc/locks`, keeping granted holder locks: `OFDLCK` read locks starting at byte 0
/// (not blocked waiters, not other kinds of lock).
///
/// Lines look like `3: OFDLCK ADVISORY  READ -1 00:1a:5678 0 1`; a waiter has `->` after the
/// number. (fdinfo's `lock:` lines have the same shape after their prefix.)
pub fn parse_locks(text: &str) -> Vec<Lock> {
    text.lines().filter_map(parse_holder_lock).map(|file| Lock { file }).collect()
}

fn parse_holder_lock(line: &str) -> Option<FileId> {
    let mut words = line.split_whitespace();
    let _id = words.next()?;
    if words.next()? != "OFDLCK" {
        return None; // "->" (a blocked waiter), FLOCK, POSIX, LEASE
    }
    let _advisory = words.next()?;
    if words.next()? != "READ" {
        return None; // a write lock is a decision in progress, not a handle
    }
    let _pid = words.next()?;
    let file = parse_lock_file(words.next()?)?;
    (words.next()? == "0").then_some(file)
}

/// Whether a descriptor's `fdinfo` lists a holder lock on its open file description.
fn fdinfo_holds(text: &str) -> bool {
    text.lines().filter_map(|l| l.strip_prefix("lock:")).any(|l| parse_holder_lock(l.trim_start()).is_some())
}

/// `00:1a:5678` (major and minor in hex, inode in decimal).
fn parse_lock_file(text: &str) -> Option<FileId> {
    let mut parts = text.split(':');
    let major = u32::from_str_radix(parts.next()?, 16).ok()?;
    let minor = u32::from_str_radix(parts.next()?, 16).ok()?;
    let ino = parts.next()?.parse().ok()?;
    Some(FileId { major, minor, ino })
}

/// The file-backed regions of a process's memory map.
fn regions_of(pid: u32, maps: MemoryMaps) -> Vec<Region> {
    let mut out = Vec::new();
    for map in maps {
        let MMapPath::Path(path) = &map.pathname else { continue };
        let (Ok(major), Ok(minor)) = (u32::try_from(map.dev.0), u32::try_from(map.dev.1)) else { continue };
        if map.inode == 0 {
            continue;
        }
        let path = path.to_string_lossy();
        let (path, deleted) = strip_deleted(&path);
        out.push(Region {
            pid,
            start: map.address.0,
            end: map.address.1,
            offset: map.offset,
            writable: map.perms.contains(MMPermissions::WRITE),
            file: FileId { major, minor, ino: map.inode },
            path: path.to_owned(),
            deleted,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_table_lines_yield_granted_holder_locks_only() {
        let text = "1: POSIX  ADVISORY  WRITE 99 08:01:42 0 EOF\n\
                    2: OFDLCK ADVISORY  READ  -1 00:1a:5678 0 1\n\
                    2: -> OFDLCK ADVISORY  WRITE -1 00:1a:5678 0 1\n\
                    3: OFDLCK ADVISORY  WRITE -1 00:1a:77 0 1\n\
                    4: OFDLCK ADVISORY  READ -1 00:1a:78 1 1\n\
                    5: FLOCK  ADVISORY  READ  55 fd:00:9 0 EOF\n\
                    6: OFDLCK ADVISORY  READ -1 fd:00:9 0 1\n\
                    garbage\n";
        let locks = parse_locks(text);
        assert_eq!(locks.len(), 2);
        assert_eq!(locks[0].file, FileId { major: 0, minor: 0x1a, ino: 5678 });
        assert_eq!(locks[1].file, FileId { major: 0xfd, minor: 0, ino: 9 });
        assert!(fdinfo_holds("pos:\t0\nflags:\t0100000\nlock:\t1: OFDLCK ADVISORY  READ -1 00:1b:30858 0 1\n"));
        assert!(!fdinfo_holds("pos:\t0\nlock:\t1: OFDLCK ADVISORY  READ -1 00:1b:30858 1 1\n"));
    }

    #[test]
    fn threads_map_to_their_process() {
        let me = std::process::id();
        assert_eq!(process_of_thread(me), Some(me));
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            tid_tx.send(rustix::thread::gettid().as_raw_nonzero().get() as u32).unwrap();
            done_rx.recv().ok();
        });
        let tid = tid_rx.recv().unwrap();
        assert_ne!(tid, me);
        assert_eq!(process_of_thread(tid), Some(me));
        done_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(process_of_thread(u32::MAX), None);
    }

    #[test]
    fn map_lines_yield_file_regions_and_deleted_marks() {
        let text = "7f0000000000-7f0000010000 rw-s 00001000 00:1a 5678                       /dev/shm/filemap-0/a b (deleted)\n\
                    7f0000020000-7f0000021000 r--p 00000000 08:01 42   /usr/lib/libc.so.6\n\
                    7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n";
        use procfs::FromBufRead;
        let regions = regions_of(7, MemoryMaps::from_buf_read(text.as_bytes()).expect("maps parse"));
        assert_eq!(regions.len(), 2);
        let r = &regions[0];
        assert_eq!((r.pid, r.len(), r.offset), (7, 0x10000, 0x1000));
        assert_eq!(r.path, "/dev/shm/filemap-0/a b");
        assert!(r.deleted);
        assert_eq!(r.file, FileId { major: 0, minor: 0x1a, ino: 5678 });
        assert!(r.writable);
        assert!(!regions[1].writable);
        assert!(!regions[1].deleted);
    }
}
