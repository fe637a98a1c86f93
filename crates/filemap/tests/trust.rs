//! Trust boundaries (S6): what a header names is only used as far as whoever could have written
//! the header could have used it, and no view is made that the files do not cover.
//!
//! The attacker is a real second user: a child process of this test binary that drops to uid
//! and gid 65534 (a member of the Global group, as `filemap init-global --group 65534` makes
//! it) before it does anything. The victim is root (these tests need root: they fail loudly
//! without it).

mod common;

use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{Child, assert_code, hear, say};
use filemap::{Access, Backing, Header, Mapping, ObjectType, Win32Error};

const NOBODY: u32 = 65534;
const SECRET: &[u8] = b"TOP SECRET: root-only data";

#[test]
#[ignore = "run by the harness as a child process"]
fn child_main() {
    common::child_main(dispatch);
}

fn drop_to_nobody() {
    // SAFETY: plain libc calls with constant ids; glibc applies them to every thread.
    let dropped = unsafe { libc::setgroups(0, std::ptr::null()) == 0 && libc::setgid(NOBODY) == 0 }
        // SAFETY: as above.
        && unsafe { libc::setuid(NOBODY) == 0 };
    assert!(dropped, "cannot drop privileges");
}

/// A header like `mapping`'s own, but naming `target` as its backing file (valid checksum).
fn forged_page(mapping: &Mapping, target: &Path, size: u64) -> Vec<u8> {
    let meta = std::fs::metadata(target).expect("stat the target (search permission is enough)");
    let header = Header {
        kind: ObjectType::Mapping,
        protection: filemap::page::READWRITE,
        attributes: filemap::SectionFlags::FILE.0,
        mode: 0o644,
        size,
        creator_uid: NOBODY,
        creator_pid: std::process::id(),
        created_ns: 1,
        backing: Some(Backing { dev: meta.dev(), ino: meta.ino(), path: target.to_path_buf() }),
        name: mapping.name(),
        params: [0; 4],
    };
    header.encode(&[]).expect("encode")
}

fn rewrite_header(mapping: &Mapping, page: &[u8]) {
    let n = rustix::io::pwrite(mapping.as_fd(), page, 0).expect("overwrite the header");
    assert_eq!(n, page.len());
}

fn dispatch(role: &str, args: &[String]) {
    if role == "victim" {
        // victim NAME: as root, open NAME; on "go" map a view of all of it and read it.
        let m = Mapping::open(&args[0], Access::READ).expect("open");
        say("opened");
        assert_eq!(hear().as_deref(), Some("go"));
        match m.view(Access::READ) {
            Ok(view) => say(format!("read {}", view.read_vec(0, view.len()).unwrap().len())),
            Err(e) => {
                eprintln!("victim: {e}");
                say(format!("error {}", e.code().0));
            }
        }
        while hear().is_some() {}
        return;
    }
    drop_to_nobody();
    match role {
        // squat NAME TARGET OWN: as a Global member, publish NAME as a file-backed mapping of
        // our own file OWN, then rewrite its header to name TARGET; hold it until stdin closes.
        "squat" => {
            let own = std::fs::OpenOptions::new().read(true).write(true).open(&args[2]).expect("own file");
            let (m, _) = Mapping::options().name(&args[0]).file(&own).mode(0o644).create().expect("create as member");
            let size = std::fs::metadata(&args[1]).map(|m| m.len()).unwrap_or(0).max(1);
            rewrite_header(&m, &forged_page(&m, Path::new(&args[1]), size));
            say("ready");
            while hear().is_some() {}
        }
        // honest NAME OWN: a file-backed mapping of our own file, as it is created.
        "honest" => {
            let own = std::fs::OpenOptions::new().read(true).write(true).open(&args[1]).expect("own file");
            let (_m, _) = Mapping::options().name(&args[0]).file(&own).mode(0o644).create().expect("create");
            say("ready");
            while hear().is_some() {}
        }
        // rewrite NAME TARGET: open someone else's world-writable object and forge its header.
        "rewrite" => {
            let m = Mapping::open(&args[0], Access::ALL).expect("the object's mode lets us write it");
            rewrite_header(&m, &forged_page(&m, Path::new(&args[1]), SECRET.len() as u64));
            say("done");
        }
        // truncate-object NAME LEN: open a world-writable object and shrink its file.
        "truncate-object" => {
            let m = Mapping::open(&args[0], Access::ALL).expect("open for writing");
            rustix::fs::ftruncate(m.as_fd(), args[1].parse().unwrap()).expect("truncate");
            say("done");
        }
        // truncate-file PATH: shrink a world-writable file to 0 bytes.
        "truncate-file" => {
            std::fs::OpenOptions::new().write(true).open(&args[0]).expect("open").set_len(0).expect("truncate");
            say("done");
        }
        other => panic!("unknown role {other}"),
    }
}

fn require_root() {
    assert!(rustix::process::geteuid().is_root(), "these tests attack root's processes: run them as root");
}

fn global(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(r"Global\{tag}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The Global namespace with 65534 as its creators' group, a root-only secret, and a directory
/// the attacker may write in. Returns (secret path, attacker's directory).
fn stage() -> (PathBuf, PathBuf) {
    require_root();
    let root = common::setup();
    filemap::namespace::init_global(Some(NOBODY)).expect("init-global");
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let secret = root.join(format!("secret-{n}"));
    std::fs::write(&secret, SECRET).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let theirs = root.join(format!("attacker-{n}"));
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o1777)).unwrap();
    (secret, theirs)
}

/// A file in the attacker's directory owned by the attacker (made by a child as nobody would,
/// here by root then handed over: only its owner matters).
fn attacker_file(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path
}

fn assert_secret_intact(secret: &Path) {
    assert_eq!(std::fs::read(secret).unwrap(), SECRET, "the root-only file was changed");
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_forged_backing_path_does_not_let_root_read_or_write_a_root_only_file() {
    let (secret, theirs) = stage();
    // Control: an honest member's file-backed mapping of its own file opens for root.
    let honest = global("honest");
    let own = attacker_file(&theirs, "honest", b"member data");
    let mut member = Child::spawn("honest", &[&honest, own.to_str().unwrap()]);
    member.expect("ready");
    let m = Mapping::open(&honest, Access::READ).expect("an honest member's mapping opens");
    assert_eq!(m.view(Access::READ).unwrap().read_vec(0, 11).unwrap(), b"member data");
    drop(m);
    member.finish();

    let name = global("forged");
    let bait = attacker_file(&theirs, "bait", &[0u8; 64]);
    let mut attacker = Child::spawn("squat", &[&name, secret.to_str().unwrap(), bait.to_str().unwrap()]);
    attacker.expect("ready");
    match Mapping::open(&name, Access::READ) {
        Ok(m) => {
            let seen = m.view(Access::READ).map(|v| v.read_vec(0, SECRET.len()).unwrap_or_default());
            panic!("root opened the forged mapping; its view shows {seen:?}");
        }
        Err(e) => assert_eq!(e.code(), Win32Error::ACCESS_DENIED, "{e}"),
    }
    match Mapping::open(&name, Access::ALL) {
        Ok(m) => {
            let _ = m.view(Access::WRITE).and_then(|v| v.write_at(0, b"pwned"));
            assert_secret_intact(&secret);
            panic!("root opened the forged mapping for writing");
        }
        Err(e) => assert_eq!(e.code(), Win32Error::ACCESS_DENIED, "{e}"),
    }
    assert_secret_intact(&secret);
    attacker.finish();
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn create_on_a_squatted_name_never_maps_the_forged_file() {
    let (secret, theirs) = stage();
    let name = global("squatted");
    let bait = attacker_file(&theirs, "bait", &[0u8; 64]);
    let mut attacker = Child::spawn("squat", &[&name, secret.to_str().unwrap(), bait.to_str().unwrap()]);
    attacker.expect("ready");
    // A root service creates "its" file-backed mapping under the squatted name.
    let mine = common::setup().join(format!("service-{}", std::process::id()));
    std::fs::write(&mine, [0u8; 64]).unwrap();
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&mine).unwrap();
    match Mapping::options().name(&name).file(&file).create() {
        Ok((m, created)) => {
            let seen = m.view(Access::READ).map(|v| v.read_vec(0, SECRET.len()).unwrap_or_default());
            panic!("create returned {created:?} with a view showing {seen:?}");
        }
        Err(e) => assert_eq!(e.code(), Win32Error::ACCESS_DENIED, "{e}"),
    }
    assert_secret_intact(&secret);
    attacker.finish();
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_fifo_named_as_the_backing_file_is_refused_without_blocking() {
    let (_secret, theirs) = stage();
    let fifo = theirs.join("fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o666)).unwrap();
    std::os::unix::fs::chown(&fifo, Some(NOBODY), Some(NOBODY)).unwrap();
    let name = global("fifo");
    let bait = attacker_file(&theirs, "bait-fifo", &[0u8; 64]);
    let mut attacker = Child::spawn("squat", &[&name, fifo.to_str().unwrap(), bait.to_str().unwrap()]);
    attacker.expect("ready");
    let (tx, rx) = std::sync::mpsc::channel();
    let opener = name.clone();
    std::thread::spawn(move || {
        let _ = tx.send(Mapping::open(&opener, Access::READ).map(|_| ()));
    });
    let result = rx.recv_timeout(Duration::from_secs(20)).expect("opening the mapping blocked on the FIFO");
    assert_code(result, Win32Error::ACCESS_DENIED);
    attacker.finish();
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn rewriting_a_world_writable_objects_header_cannot_redirect_root() {
    let (secret, theirs) = stage();
    // Root shares a public file through a mapping anyone may open for writing.
    let public = theirs.join("public");
    std::fs::write(&public, b"public data, readable by all").unwrap();
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o644)).unwrap();
    let name = global("shared");
    let file = std::fs::File::open(&public).unwrap();
    let (holder, _) = Mapping::options()
        .name(&name)
        .file(&file)
        .protection(filemap::Protection::ReadOnly)
        .mode(0o666)
        .create()
        .unwrap();
    let before = Mapping::open(&name, Access::READ).expect("the honest header is usable");
    assert_eq!(before.view(Access::READ).unwrap().read_vec(0, 6).unwrap(), b"public");
    drop(before);
    let mut attacker = Child::spawn("rewrite", &[&name, secret.to_str().unwrap()]);
    attacker.expect("done");
    attacker.finish();
    assert_code(Mapping::open(&name, Access::READ).map(|_| ()), Win32Error::ACCESS_DENIED);
    drop(holder);
}

/// Runs `victim` in a child process (a SIGBUS there must not take the test down) and returns
/// what it reported. The child opens first, waits for "go", then maps and reads.
fn victim(role: &str, name: &str) -> Child {
    let mut child = Child::spawn(role, &[name]);
    child.expect("opened");
    child
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn an_object_file_truncated_after_open_is_refused_at_map_time_instead_of_sigbus() {
    let _ = stage();
    let name = global("shrunk");
    let (holder, _) = Mapping::options().name(&name).size(256 * 1024).mode(0o666).create().unwrap();
    let mut reader = victim("victim", &name);
    let mut attacker = Child::spawn("truncate-object", &[&name, "4096"]);
    attacker.expect("done");
    attacker.finish();
    reader.send("go");
    let result = reader.next_line();
    assert_eq!(result, format!("error {}", Win32Error::INVALID_DATA.0), "the reader mapped a truncated object");
    reader.finish();
    drop(holder);
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_backing_file_truncated_to_zero_is_refused_at_map_time_instead_of_sigbus() {
    let (_secret, theirs) = stage();
    let path = theirs.join(format!("backing-{}", std::process::id()));
    std::fs::write(&path, vec![7u8; 128 * 1024]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let name = global("backing-shrunk");
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let (holder, _) = Mapping::options().name(&name).file(&file).mode(0o644).create().unwrap();
    let mut reader = victim("victim", &name);
    let mut attacker = Child::spawn("truncate-file", &[path.to_str().unwrap()]);
    attacker.expect("done");
    attacker.finish();
    reader.send("go");
    let result = reader.next_line();
    assert_eq!(result, format!("error {}", Win32Error::FILE_INVALID.0), "the reader mapped an emptied file");
    reader.finish();
    drop(holder);
}
