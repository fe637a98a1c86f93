//! Everything known about the named objects: the namespace scan from the core crate joined with
//! the kernel's lock table and the processes' descriptors and memory maps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use filemap::{Entry, Header, ObjectType, Protection, Scope, SectionFlags};
use serde::Serialize;

use crate::procs::{self, FileId, Snapshot};
use crate::state_view::StateView;

/// Offset of a mapping's data in its object file: the header page comes first.
const HEADER_SIZE: u64 = filemap::DATA_OFFSET;

/// Which scopes to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeSel {
    /// The per-user namespace (`Local\`).
    Local,
    /// The machine-wide namespace (`Global\`).
    Global,
    /// Both.
    All,
}

impl ScopeSel {
    pub fn scopes(self) -> Vec<Scope> {
        match self {
            ScopeSel::Local => vec![Scope::Local],
            ScopeSel::Global => vec![Scope::Global],
            ScopeSel::All => vec![Scope::Local, Scope::Global],
        }
    }
}

/// The whole picture, as printed by `filemap ls --json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Every object found in the selected scopes.
    pub objects: Vec<Object>,
    /// Memory of objects whose name is gone but which some process still maps.
    pub released_memory: Vec<Released>,
    /// Processes whose descriptors or memory maps could not be read (other users' processes,
    /// unless run as root): their views are not shown, their handles only through the lock table.
    pub unreadable_processes: Vec<u32>,
    /// Problems met while looking (e.g. an unsafe namespace directory).
    pub warnings: Vec<String>,
}

/// One named object.
#[derive(Debug, Serialize)]
pub struct Object {
    /// Full name, `Local\x` or `Global\x` (`null` if neither the header nor the file name tell).
    pub name: Option<String>,
    pub scope: &'static str,
    /// `mapping`, `event`, `mutex`, `semaphore`, `timer`, `job`, or `null` if the header is corrupt.
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
    /// The object file in the namespace directory.
    pub file: PathBuf,
    pub device: String,
    pub inode: u64,
    /// Size of the object file (header page + data for memory-backed mappings).
    pub file_size: u64,
    /// Mapping size in bytes as created (mappings only).
    pub size: Option<u64>,
    /// Mapping page protection, e.g. `ReadWrite` (mappings only).
    pub protection: Option<String>,
    /// Mapping `SEC_*` attributes (mappings only).
    pub attributes: Vec<&'static str>,
    /// The backing file of a file-backed mapping.
    pub backing: Option<BackingInfo>,
    /// State of a synchronization object (signaled, owner, count, ...); `null` for mappings.
    pub state: Option<StateView>,
    pub owner_uid: u32,
    pub owner: String,
    /// Permission bits, octal (`0600`), with `+` when a POSIX ACL names more users or groups.
    pub mode: String,
    /// Who may open the object for what, as the kernel enforces it (mode and POSIX ACL).
    pub access: Vec<AccessEntry>,
    pub creator_pid: Option<u32>,
    pub created_unix_ns: Option<u64>,
    /// Creation time, RFC 3339 in UTC to the second (`2026-12-01T19:12:05Z`).
    pub created: Option<String>,
    pub age_seconds: Option<u64>,
    /// No live process holds a handle: a dead object (crash leftover) that the next sweep of any
    /// filemap process using the namespace, `filemap gc`, or the next create or open of the name
    /// removes. Probed without taking a lock.
    pub stale: bool,
    /// Why the header could not be read, if it could not.
    pub error: Option<String>,
    /// Handle locks the kernel's lock table shows on the object (one per open file description
    /// that stands for live handles, whoever holds it, readable or not).
    pub handle_locks: usize,
    /// Handle locks held by processes we could not inspect (`handle_locks` minus those of the
    /// listed holders): their pids are unknown.
    pub uninspected_handles: usize,
    /// Processes holding handles (those whose descriptors we may read).
    pub holders: Vec<Holder>,
    /// Processes mapping views of the object's memory.
    pub views: Vec<ViewUse>,
}

/// One line of an object's permissions: who, and what they may open it for.
#[derive(Debug, Serialize)]
pub struct AccessEntry {
    /// `owner alice`, `user 1000`, `group 100`, `everyone else`.
    pub who: String,
    /// `read`, `write`, `read,write` or `none`.
    pub access: &'static str,
}

/// A file-backed mapping's backing file.
#[derive(Debug, Serialize)]
pub struct BackingInfo {
    pub path: PathBuf,
    pub device: String,
    pub inode: u64,
    /// The path still exists.
    pub exists: bool,
    /// The path still names the very file the mapping was made from.
    pub same_file: bool,
    /// Its current size, if it exists.
    pub current_size: Option<u64>,
}

/// A process holding handles to an object.
#[derive(Debug, Serialize)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
    /// Whether the process still exists.
    pub alive: bool,
    /// Handles it holds: its descriptors whose open file description holds the handle lock
    /// (every handle has a descriptor of its own; descriptors that share one description, such
    /// as inherited ones, each count).
    pub handles: usize,
    /// The same number as `handles` (the older name).
    pub locks: usize,
    /// Open descriptors of the object file it has (when its descriptors are readable).
    pub descriptors: usize,
}

/// A process mapping views of an object.
#[derive(Debug, Serialize)]
pub struct ViewUse {
    pub pid: u32,
    pub command: String,
    /// Memory regions (adjacent views may show as one).
    pub regions: usize,
    /// Bytes mapped.
    pub bytes: u64,
    /// At least one region is writable.
    pub writable: bool,
}

/// Memory kept alive only by views after the object's name was released.
#[derive(Debug, Serialize)]
pub struct Released {
    /// The object's last name (from its header where readable, which needs root, else from the
    /// path the kernel shows; `null` when neither tells).
    pub name: Option<String>,
    pub scope: &'static str,
    /// The removed object file.
    pub file: String,
    pub device: String,
    pub inode: u64,
    /// The object's size if its header could be read (needs root), else `null`.
    pub size: Option<u64>,
    /// Bytes mapped, summed over all processes.
    pub bytes_mapped: u64,
    pub processes: Vec<ViewUse>,
}

/// `local` or `global`, as the JSON and the tables spell scopes.
pub fn scope_str(scope: Scope) -> &'static str {
    match scope {
        Scope::Local => "local",
        Scope::Global => "global",
    }
}

fn device_str(id: FileId) -> String {
    format!("{}:{}", id.major, id.minor)
}

/// The real path of a scope directory (the kernel prints resolved paths in maps).
fn real_scope_dir(scope: Scope) -> PathBuf {
    let dir = filemap::namespace::scope_dir(scope);
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// The full name of an object file: from the header if it has one, else decoded from its
/// file name.
fn name_of(scope: Scope, file: &str, header: Option<&Header>) -> Option<String> {
    if let Some(name) = header.and_then(|h| h.name.clone()) {
        return Some(name);
    }
    filemap::name::decode_file_name(file).map(|n| format!("{}{n}", scope.prefix()))
}

/// Names of the `SEC_*` bits set in a mapping's attributes.
pub fn section_names(attributes: u32) -> Vec<&'static str> {
    let known = [
        (SectionFlags::FILE, "SEC_FILE"),
        (SectionFlags::IMAGE, "SEC_IMAGE"),
        (SectionFlags::PROTECTED_IMAGE, "SEC_PROTECTED_IMAGE"),
        (SectionFlags::RESERVE, "SEC_RESERVE"),
        (SectionFlags::COMMIT, "SEC_COMMIT"),
        (SectionFlags::NOCACHE, "SEC_NOCACHE"),
        (SectionFlags::WRITECOMBINE, "SEC_WRITECOMBINE"),
        (SectionFlags::LARGE_PAGES, "SEC_LARGE_PAGES"),
    ];
    known.iter().filter(|(flag, _)| attributes & flag.0 == flag.0).map(|(_, name)| *name).collect()
}

/// Looks at the selected scopes and every process we may inspect.
pub fn collect(scopes: &[Scope]) -> Report {
    let mut warnings = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for &scope in scopes {
        match filemap::scan(scope, false) {
            Ok(found) => entries.extend(found),
            Err(e) => warnings.push(format!("cannot list the {} scope: {e}", scope_str(scope))),
        }
    }
    build(entries, scopes, warnings)
}

/// The object named `name`, if its file exists in its scope (live or stale), and the report
/// around it (which lists memory of removed objects still mapped, by any name).
pub fn find(name: &filemap::ObjectName) -> filemap::Result<(Option<Object>, Report)> {
    let found = filemap::scan(name.scope(), false)?;
    let file = name.file_name();
    let entries: Vec<Entry> = found.into_iter().filter(|e| e.file == file).collect();
    let mut report = build(entries, &[name.scope()], Vec::new());
    // A hashed file name could (in theory) hold another name: the header decides.
    let wanted = name.to_string();
    let index = report.objects.iter().position(|o| o.name.as_deref() == Some(wanted.as_str()));
    Ok((index.map(|i| report.objects.remove(i)), report))
}

fn build(entries: Vec<Entry>, scopes: &[Scope], warnings: Vec<String>) -> Report {
    let (mut snap, dirs, objects_by_id) = snapshot_for(&entries, scopes);
    let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let users = crate::users::Users::load();
    let mut objects: Vec<Object> = entries.into_iter().map(|e| object_of(e, &mut snap, &users, now_ns)).collect();
    objects.sort_by(|a, b| (a.scope, &a.name).cmp(&(b.scope, &b.name)));

    let released = released_memory(&mut snap, &dirs, &objects_by_id);
    let mut unreadable = std::mem::take(&mut snap.unreadable);
    unreadable.sort_unstable();
    Report { objects, released_memory: released, unreadable_processes: unreadable, warnings }
}

/// One look at the processes, keeping what concerns `entries`: descriptors and maps of the
/// object files, of their backing files and of anything in the scopes' directories. Also
/// returns those directories (with a trailing `/`) and the objects' file ids.
fn snapshot_for(entries: &[Entry], scopes: &[Scope]) -> (Snapshot, Vec<(Scope, String)>, HashSet<FileId>) {
    let mut objects_by_id: HashSet<FileId> = HashSet::new();
    let mut backing_ids: HashMap<FileId, FileId> = HashMap::new(); // backing -> object
    for e in entries {
        let id = FileId::from_dev_ino(e.dev, e.ino);
        objects_by_id.insert(id);
        if let Ok(Header { backing: Some(b), .. }) = &e.header {
            backing_ids.insert(FileId::from_dev_ino(b.dev, b.ino), id);
        }
    }
    let dirs: Vec<(Scope, String)> = scopes
        .iter()
        .map(|&s| (s, format!("{}/", real_scope_dir(s).to_string_lossy().trim_end_matches('/'))))
        .collect();
    let in_namespace = |path: &str| dirs.iter().any(|(_, d)| path.starts_with(d.as_str()));
    let fd_dirs: Vec<String> = dirs.iter().map(|(_, d)| d.clone()).collect();
    let snap = Snapshot::take(
        &|id, path| objects_by_id.contains(&id) || backing_ids.contains_key(&id) || in_namespace(path),
        &fd_dirs,
    );
    (snap, dirs, objects_by_id)
}

/// Everything `ls` and `info` say about one namespace entry: its header, state, owner and
/// access, and the handles and views that processes in `snap` have of it.
fn object_of(e: Entry, snap: &mut Snapshot, users: &crate::users::Users, now_ns: u64) -> Object {
    let id = FileId::from_dev_ino(e.dev, e.ino);
    let header = e.header.as_ref().ok();
    let file = filemap::namespace::scope_dir(e.scope).join(&e.file);
    let acl = filemap::security::FileAcl::read_path(&file).ok();
    let gid = std::fs::symlink_metadata(&file).map_or(0, |m| std::os::unix::fs::MetadataExt::gid(&m));
    let holders = holders_of(snap, id);
    let handle_locks = snap.locks.iter().filter(|l| l.file == id).count();
    let uninspected_handles = handle_locks.saturating_sub(holders.iter().map(|h| h.locks).sum());
    let mut view_ids = vec![(id, HEADER_SIZE)];
    if let Some(b) = header.and_then(|h| h.backing.as_ref()) {
        view_ids.push((FileId::from_dev_ino(b.dev, b.ino), 0));
    }
    let views = views_of(snap, &view_ids);
    let mapping = header.filter(|h| h.kind == ObjectType::Mapping);
    let state = match filemap::sync::describe_state(&e) {
        Ok(state) => state.as_ref().map(StateView::new),
        Err(err) => Some(StateView::unreadable(&err)),
    };
    let minimal_acl = acl.as_ref().is_none_or(|a| a.is_minimal());
    Object {
        name: name_of(e.scope, &e.file, header),
        scope: scope_str(e.scope),
        kind: header.map(|h| h.kind.as_str()),
        device: device_str(id),
        inode: e.ino,
        file_size: e.file_size,
        size: mapping.map(|h| h.size),
        protection: mapping.map(|h| {
            Protection::from_win32(h.protection).map_or(format!("{:#x}", h.protection), |(p, _)| format!("{p:?}"))
        }),
        attributes: mapping.map(|h| section_names(h.attributes)).unwrap_or_default(),
        backing: header.and_then(|h| h.backing.as_ref()).map(backing_info),
        state,
        owner_uid: e.uid,
        owner: users.name(e.uid),
        mode: format!("{:04o}{}", e.mode & 0o7777, if minimal_acl { "" } else { "+" }),
        access: acl
            .map(|a| {
                a.describe(&users.name(e.uid), gid)
                    .into_iter()
                    .map(|(who, access)| AccessEntry { who, access })
                    .collect()
            })
            .unwrap_or_default(),
        creator_pid: header.map(|h| h.creator_pid),
        created_unix_ns: header.map(|h| h.created_ns),
        created: header.map(|h| rfc3339(h.created_ns)),
        age_seconds: header.map(|h| now_ns.saturating_sub(h.created_ns) / 1_000_000_000),
        stale: e.stale,
        error: e.header.as_ref().err().cloned(),
        handle_locks,
        uninspected_handles,
        holders,
        views,
        file,
    }
}

/// What a file-backed mapping's header records about its backing file, and whether that file
/// is still there and the same.
fn backing_info(b: &filemap::Backing) -> BackingInfo {
    let meta = std::fs::metadata(&b.path).ok();
    BackingInfo {
        path: b.path.clone(),
        device: device_str(FileId::from_dev_ino(b.dev, b.ino)),
        inode: b.ino,
        exists: meta.is_some(),
        same_file: meta.as_ref().is_some_and(|m| m.dev() == b.dev && m.ino() == b.ino),
        current_size: meta.map(|m| m.len()),
    }
}

/// Nanoseconds since the Unix epoch as RFC 3339 in UTC, to the second.
pub fn rfc3339(unix_ns: u64) -> String {
    let time = UNIX_EPOCH + std::time::Duration::from_nanos(unix_ns);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// What `ls` shows: a name pattern and a process.
#[derive(Debug, Default)]
pub struct Filter {
    /// A glob (`*`, `?`, `[...]`) or, without those, a substring of the full name.
    pub pattern: Option<NamePattern>,
    /// Only what this process holds or maps.
    pub pid: Option<u32>,
}

/// `ls PATTERN`: with `*`, `?` or `[` a glob matched against the whole name, either as given
/// (`'Local\demo-*'`) or without its scope prefix (`'demo-*'`); otherwise a substring of the
/// full name (`demo` matches `Local\my-demo`). Case-sensitive, as Windows object names are; a
/// `Local\`/`Global\` prefix in the pattern is matched in any case, as in names.
#[derive(Debug)]
pub enum NamePattern {
    Glob(glob::Pattern),
    Substring(String),
}

impl NamePattern {
    /// Parses a pattern; a malformed glob is reported with glob's words.
    pub fn parse(text: &str) -> Result<NamePattern, String> {
        let mut text = text.to_owned();
        for prefix in ["Local\\", "Global\\"] {
            if text.len() >= prefix.len()
                && text.is_char_boundary(prefix.len())
                && text[..prefix.len()].eq_ignore_ascii_case(prefix)
            {
                text.replace_range(..prefix.len(), prefix);
            }
        }
        if text.contains(['*', '?', '[']) {
            glob::Pattern::new(&text).map(NamePattern::Glob).map_err(|e| format!("bad pattern {text:?}: {e}"))
        } else {
            Ok(NamePattern::Substring(text))
        }
    }

    /// Whether a full name (`Local\x`) matches.
    pub fn matches(&self, full: &str) -> bool {
        match self {
            NamePattern::Substring(s) => full.contains(s.as_str()),
            NamePattern::Glob(g) => {
                let bare = full.split_once('\\').map_or(full, |(_, rest)| rest);
                g.matches(full) || g.matches(bare)
            }
        }
    }
}

impl Filter {
    /// Keeps the objects (and the memory kept alive only by views) that pass.
    pub fn apply(&self, report: &mut Report) {
        let name_ok = |name: Option<&str>| match (&self.pattern, name) {
            (None, _) => true,
            (Some(p), Some(n)) => p.matches(n),
            (Some(_), None) => false,
        };
        report.objects.retain(|o| {
            name_ok(o.name.as_deref())
                && self
                    .pid
                    .is_none_or(|pid| o.holders.iter().any(|h| h.pid == pid) || o.views.iter().any(|v| v.pid == pid))
        });
        report.released_memory.retain(|r| {
            name_ok(r.name.as_deref()) && self.pid.is_none_or(|pid| r.processes.iter().any(|p| p.pid == pid))
        });
    }
}

fn holders_of(snap: &mut Snapshot, id: FileId) -> Vec<Holder> {
    let mut by_pid: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for fd in snap.fds.iter().filter(|f| f.file == id) {
        let slot = by_pid.entry(fd.pid).or_default();
        slot.0 += usize::from(fd.holds);
        slot.1 += 1;
    }
    by_pid
        .into_iter()
        .map(|(pid, (locks, descriptors))| Holder {
            pid,
            command: snap.command(pid),
            alive: procs::alive(pid),
            handles: locks,
            locks,
            descriptors,
        })
        .collect()
}

/// Regions mapping any of `ids` at or past the given file offset, grouped by process.
fn views_of(snap: &mut Snapshot, ids: &[(FileId, u64)]) -> Vec<ViewUse> {
    let mut by_pid: BTreeMap<u32, (usize, u64, bool)> = BTreeMap::new();
    for r in &snap.regions {
        if ids.iter().any(|&(id, min_offset)| r.file == id && r.offset >= min_offset) {
            let slot = by_pid.entry(r.pid).or_default();
            slot.0 += 1;
            slot.1 += r.len();
            slot.2 |= r.writable;
        }
    }
    by_pid
        .into_iter()
        .map(|(pid, (regions, bytes, writable))| ViewUse { pid, command: snap.command(pid), regions, bytes, writable })
        .collect()
}

fn released_memory(snap: &mut Snapshot, dirs: &[(Scope, String)], live: &HashSet<FileId>) -> Vec<Released> {
    let mut groups: BTreeMap<FileId, (Scope, String, Option<Header>)> = BTreeMap::new();
    for r in &snap.regions {
        if !r.deleted || r.offset < HEADER_SIZE || live.contains(&r.file) {
            continue;
        }
        let Some((scope, _)) = dirs.iter().find(|(_, d)| r.path.starts_with(d.as_str())) else { continue };
        let slot = groups.entry(r.file).or_insert_with(|| (*scope, r.path.clone(), None));
        if slot.2.is_none() {
            slot.2 = header_via_map_files(r.pid, r.start, r.end);
        }
        // The creator's descriptor still carries the unnamed file's `#<inode>` path; an opener's
        // carries the name: prefer the latter.
        if is_tmpfile_path(&slot.1, r.file.ino) && !is_tmpfile_path(&r.path, r.file.ino) {
            slot.1 = r.path.clone();
        }
    }
    let mut out = Vec::new();
    for (id, (scope, path, header)) in groups {
        let views = views_of(snap, &[(id, HEADER_SIZE)]);
        let file_name = Path::new(&path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let name = match &header {
            Some(h) => h.name.clone(),
            None if is_tmpfile_path(&path, id.ino) => None,
            None => name_of(scope, &file_name, None),
        };
        out.push(Released {
            name,
            scope: scope_str(scope),
            device: device_str(id),
            inode: id.ino,
            size: header.map(|h| h.size),
            bytes_mapped: views.iter().map(|v| v.bytes).sum(),
            processes: views,
            file: path,
        });
    }
    out
}

/// Objects are built in an `O_TMPFILE`, whose path the kernel shows as `dir/#<inode>` forever
/// after in the creator's descriptor and maps, even once the file got its name.
fn is_tmpfile_path(path: &str, ino: u64) -> bool {
    Path::new(path).file_name().is_some_and(|f| f.to_string_lossy() == format!("#{ino}"))
}

/// Reads the header of a removed object through `/proc/<pid>/map_files` (root only).
fn header_via_map_files(pid: u32, start: u64, end: u64) -> Option<Header> {
    let file = std::fs::File::open(format!("/proc/{pid}/map_files/{start:x}-{end:x}")).ok()?;
    let mut page = vec![0u8; HEADER_SIZE as usize];
    file.read_exact_at(&mut page, 0).ok()?;
    Header::decode(&page).ok()
}
