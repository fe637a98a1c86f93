//! Security descriptors at create, across real processes and real users: each kind of entry
//! grants and denies what it says, enforced by the kernel (children drop to other uids with
//! `setuid`). Needs root (to create `Global\` objects and to change uid): the tests fail loudly
//! otherwise.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::{Child, child_main as run_child, say, setup};
use filemap::security::{GENERIC_ALL, GENERIC_READ, GENERIC_WRITE, Mask, Permissions, Trustee};
use filemap::sync::{Event, Rights};
use filemap::{Access, Mapping, WaitOutcome, Win32Error};

/// Child entry point (run only as a child; see `common`).
#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

/// A `Global\` name no other test uses.
fn global(tag: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(r"Global\sec-{tag}-{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn require_root() {
    assert!(rustix::process::geteuid().is_root(), "these tests create Global\\ objects and change uid: run as root");
}

/// Drops this (single-purpose child) process to `uid`/`gid` with supplementary `groups`.
fn drop_to(uid: u32, gid: u32, groups: &[u32]) {
    let groups: Vec<libc::gid_t> = groups.to_vec();
    // SAFETY: plain libc calls with valid arguments (`groups` outlives the call); glibc applies
    // them to every thread of the process.
    let ok = unsafe {
        libc::setgroups(groups.len(), groups.as_ptr()) == 0 && libc::setgid(gid) == 0 && libc::setuid(uid) == 0
    };
    assert!(ok, "cannot drop to uid {uid}");
}

fn outcome<T>(r: filemap::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => {
            eprintln!("child: {e}");
            e.code().0.to_string()
        }
    }
}

/// Roles: `as UID GID GROUPS(comma list or -) OP NAME [ARG]`.
fn dispatch(role: &str, args: &[String]) {
    assert_eq!(role, "as", "unknown role {role}");
    let uid: u32 = args[0].parse().unwrap();
    let gid: u32 = args[1].parse().unwrap();
    let groups: Vec<u32> =
        if args[2] == "-" { Vec::new() } else { args[2].split(',').map(|g| g.parse().unwrap()).collect() };
    drop_to(uid, gid, &groups);
    let name = &args[4];
    let result = match args[3].as_str() {
        // Open for reading and read 5 bytes.
        "read" => match Mapping::open(name, Access::READ).and_then(|m| m.view(Access::READ)?.read_vec(0, 5)) {
            Ok(data) => format!("ok {}", String::from_utf8_lossy(&data)),
            Err(e) => outcome::<()>(Err(e)),
        },
        // Open for writing and write ARG.
        "write" => outcome(
            Mapping::open(name, Access::ALL).and_then(|m| m.view(Access::WRITE)?.write_at(0, args[5].as_bytes())),
        ),
        // Open the event and signal it.
        "signal" => outcome(Event::open(name, Rights::EVENT_MODIFY_STATE | Rights::SYNCHRONIZE).and_then(|e| e.set())),
        // Reach the file around the API: open(2) for writing.
        "raw-write" => {
            let path = filemap::namespace::scope_dir(filemap::Scope::Global)
                .join(filemap::ObjectName::parse(name).unwrap().file_name());
            match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(_) => "ok".into(),
                Err(e) => format!("errno {}", e.raw_os_error().unwrap_or(0)),
            }
        }
        // Create NAME allowing the creator everything and authenticated users reading; hold
        // it until the parent closes our stdin.
        "create-co" => {
            let perms = Permissions::new()
                .allow(Trustee::CreatorOwner, Mask::ALL)
                .allow(Trustee::AuthenticatedUsers, Mask::READ);
            match Mapping::options().name(name).size(4096).permissions(perms).create() {
                Ok((m, _)) => {
                    m.view(Access::WRITE).unwrap().write_at(0, b"owner").unwrap();
                    say("result ok");
                    while common::hear().is_some() {}
                    return;
                }
                Err(e) => outcome::<()>(Err(e)),
            }
        }
        other => panic!("unknown op {other}"),
    };
    say(format!("result {result}"));
}

/// Runs one operation in a child as `uid`/`gid`/`groups` and returns its result line.
fn as_user(uid: u32, gid: u32, groups: &str, op: &str, name: &str, arg: &str) -> String {
    let (u, g) = (uid.to_string(), gid.to_string());
    let mut child = Child::spawn("as", &[&u, &g, groups, op, name, arg]);
    let line = child.expect("result");
    child.finish();
    line
}

fn create_mapping(name: &str, perms: Permissions, data: &[u8]) -> Mapping {
    let (m, _) = Mapping::options().name(name).size(4096).permissions(perms).create().unwrap();
    m.view(Access::WRITE).unwrap().write_at(0, data).unwrap();
    m
}

fn read_back(m: &Mapping) -> Vec<u8> {
    m.view(Access::READ).unwrap().read_vec(0, 5).unwrap()
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_user_entry_grants_read_and_not_write_and_nobody_else_anything() {
    setup();
    require_root();
    let name = global("user");
    let m = create_mapping(&name, Permissions::new().allow(Trustee::User(65534), GENERIC_READ), b"hello");
    assert_eq!(as_user(65534, 65534, "-", "read", &name, ""), "ok hello");
    assert_eq!(as_user(65534, 65534, "-", "write", &name, "xxxxx"), Win32Error::ACCESS_DENIED.0.to_string());
    assert_eq!(as_user(65534, 65534, "-", "raw-write", &name, ""), format!("errno {}", libc::EACCES));
    assert_eq!(as_user(65533, 65533, "-", "read", &name, ""), Win32Error::ACCESS_DENIED.0.to_string());
    assert_eq!(read_back(&m), b"hello");
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_group_entry_grants_members_and_not_others() {
    setup();
    require_root();
    let name = global("group");
    let m = create_mapping(&name, Permissions::new().allow(Trustee::Group(4242), GENERIC_ALL), b"group");
    assert_eq!(as_user(65534, 65534, "4242", "write", &name, "membr"), "ok");
    assert_eq!(read_back(&m), b"membr");
    assert_eq!(as_user(65534, 4242, "-", "read", &name, ""), "ok membr", "primary group counts too");
    assert_eq!(as_user(65534, 65534, "-", "read", &name, ""), Win32Error::ACCESS_DENIED.0.to_string());
    assert_eq!(as_user(65534, 65534, "-", "raw-write", &name, ""), format!("errno {}", libc::EACCES));
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_deny_entry_before_an_allow_takes_the_right_away_from_its_trustee_only() {
    setup();
    require_root();
    let name = global("deny");
    let perms = Permissions::new().deny(Trustee::User(65534), GENERIC_WRITE).allow(Trustee::Everyone, GENERIC_ALL);
    let m = create_mapping(&name, perms, b"denyy");
    assert_eq!(as_user(65534, 65534, "-", "read", &name, ""), "ok denyy");
    assert_eq!(as_user(65534, 65534, "-", "write", &name, "nope!"), Win32Error::ACCESS_DENIED.0.to_string());
    assert_eq!(as_user(65533, 65533, "-", "write", &name, "other"), "ok");
    assert_eq!(read_back(&m), b"other");
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_null_dacl_lets_another_user_open_write_and_signal() {
    setup();
    require_root();
    let name = global("null");
    let m = create_mapping(&name, Permissions::null_dacl(), b"-----");
    assert_eq!(as_user(65534, 65534, "-", "write", &name, "wrote"), "ok");
    assert_eq!(read_back(&m), b"wrote");
    let ev_name = global("null-ev");
    let (ev, _) =
        Event::options().name(&ev_name).manual_reset(true).permissions(Permissions::null_dacl()).create().unwrap();
    assert_eq!(as_user(65534, 65534, "-", "signal", &ev_name, ""), "ok");
    assert_eq!(ev.wait(Some(Duration::from_secs(10))).unwrap(), WaitOutcome::Signaled(0));
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn an_empty_dacl_shuts_everyone_out_but_the_creators_handle_keeps_its_access() {
    setup();
    require_root();
    let name = global("empty");
    let m = create_mapping(&name, Permissions::new(), b"mine!");
    let path = filemap::namespace::scope_dir(filemap::Scope::Global)
        .join(filemap::ObjectName::parse(&name).unwrap().file_name());
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0);
    assert_eq!(as_user(65534, 65534, "-", "read", &name, ""), Win32Error::ACCESS_DENIED.0.to_string());
    m.view(Access::WRITE).unwrap().write_at(0, b"still").unwrap();
    assert_eq!(read_back(&m), b"still");
    // A sync object too: nobody else may signal it.
    let ev_name = global("empty-ev");
    let (_ev, _) = Event::options().name(&ev_name).permissions(Permissions::new()).create().unwrap();
    assert_eq!(as_user(65534, 65534, "-", "signal", &ev_name, ""), Win32Error::ACCESS_DENIED.0.to_string());
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_wait_only_grant_on_an_event_grants_nothing_rather_than_too_much() {
    setup();
    require_root();
    let ev_name = global("waitonly");
    let perms = Permissions::new().allow(Trustee::Everyone, 0x0010_0000); // SYNCHRONIZE
    let (_ev, _) = Event::options().name(&ev_name).permissions(perms).create().unwrap();
    assert_eq!(as_user(65534, 65534, "-", "signal", &ev_name, ""), Win32Error::ACCESS_DENIED.0.to_string());
    assert_eq!(as_user(65534, 65534, "-", "raw-write", &ev_name, ""), format!("errno {}", libc::EACCES));
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn the_permissions_are_read_back_from_the_file() {
    setup();
    require_root();
    let name = global("readback");
    let perms = Permissions::new().allow(Trustee::User(65534), GENERIC_READ).allow(Trustee::Group(77), GENERIC_ALL);
    let _m = create_mapping(&name, perms, b"x");
    let path = filemap::namespace::scope_dir(filemap::Scope::Global)
        .join(filemap::ObjectName::parse(&name).unwrap().file_name());
    let file = std::fs::File::open(&path).unwrap();
    let acl = filemap::security::FileAcl::read(std::os::fd::AsFd::as_fd(&file)).unwrap();
    assert_eq!(acl.users, vec![(65534, filemap::security::R)]);
    assert_eq!(acl.groups, vec![(77, filemap::security::R | filemap::security::W)]);
    assert_eq!(acl.other, 0);
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn creator_owner_means_the_creating_user_and_authenticated_users_everyone() {
    setup();
    require_root();
    // Let members of group 4343 create Global objects, and create one as uid 65534.
    filemap::namespace::init_global(Some(4343)).unwrap();
    let name = global("creator");
    let mut creator = Child::spawn("as", &["65534", "65534", "4343", "create-co", &name]);
    assert_eq!(creator.expect("result"), "ok");
    assert_eq!(as_user(65534, 65534, "-", "write", &name, "again"), "ok", "the creator may write");
    assert_eq!(as_user(65533, 65533, "-", "read", &name, ""), "ok again", "authenticated users may read");
    assert_eq!(as_user(65533, 65533, "-", "write", &name, "nope!"), Win32Error::ACCESS_DENIED.0.to_string());
    creator.finish();
}
