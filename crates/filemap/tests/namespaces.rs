//! Programmatic namespaces (`Namespace::at`), the sync objects' builders, `open_wait` for every
//! type, and errors that name the object and the operation: through the public API, across
//! real processes where it matters.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{Child, assert_code, child_main as run_child, hear, say, setup, unique};
use filemap::namespace::Namespace;
use filemap::sync::{Event, Mutex, Rights, Semaphore, SyncState, Timer, WaitOutcome};
use filemap::{Access, Created, Mapping, ObjectName, Scope, Win32Error};

/// Child entry point (run only as a child; see `common`).
#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

fn dispatch(role: &str, args: &[String]) {
    match role {
        // meet ROOT NAME: in Namespace::at(ROOT), wait for mapping NAME and event NAME-ready,
        // report what the mapping holds, check the default namespace does not have NAME, then
        // set event NAME-done.
        "meet" => {
            let ns = Namespace::at(&args[0]);
            let name = &args[1];
            let wait = Duration::from_secs(30);
            let map = ns.mapping().name(name).access(Access::READ).open_wait(wait).unwrap();
            let ready = Event::options().namespace(&ns).name(format!("{name}-ready")).open_wait(wait).unwrap();
            assert_eq!(ready.wait(Some(wait)).unwrap(), WaitOutcome::Signaled(0));
            let text = map.view(Access::READ).unwrap().read_vec(0, 5).unwrap();
            let default = Mapping::open(name, Access::READ).map(|_| ()).map_err(|e| e.code().0);
            say(format!("read {} default {:?}", String::from_utf8_lossy(&text), default));
            let done = ns.event().name(format!("{name}-done")).open().unwrap();
            done.set().unwrap();
            let _ = hear();
        }
        // create-event-later ROOT NAME MS: sleep, then create event NAME in Namespace::at(ROOT),
        // signaled, and hold it until stdin closes.
        "create-event-later" => {
            let ns = Namespace::at(&args[0]);
            std::thread::sleep(Duration::from_millis(args[2].parse().unwrap()));
            let (_e, created) = ns.event().name(&args[1]).manual_reset(true).initial_state(true).create().unwrap();
            assert_eq!(created, Created::New);
            say("created");
            let _ = hear();
        }
        // adopt FD: adopt an inherited mapping handle, report, drop it on command.
        "adopt" => {
            let fd: i32 = args[0].parse().unwrap();
            // SAFETY: the parent passed this inheritable descriptor; nothing else here owns it.
            let m = unsafe { Mapping::from_inherited_fd(fd) }.unwrap();
            say(format!("adopted {}", String::from_utf8_lossy(&m.view(Access::READ).unwrap().read_vec(0, 2).unwrap())));
            let _ = hear();
            drop(m);
            say("closed");
            let _ = hear();
        }
        // denied NO_LOCAL_DIR RO_LOCAL_DIR NO_TRAVERSE NAME: as uid 65534, try to create and open
        // in namespaces whose directories do not let it, printing each error.
        "denied" => {
            drop_to_nobody();
            let name = &args[3];
            let report = |label: &str, e: filemap::Error| say(format!("{label} {} {}", e.code().0, e.message()));
            report("mapping", ns_at(&args[0]).mapping().name(name).size(4096).create().unwrap_err());
            report("event", ns_at(&args[1]).event().name(name).create().unwrap_err());
            report("semaphore", ns_at(&args[2]).semaphore().name(name).open().unwrap_err());
            report("mutex", ns_at(&args[2]).mutex().name(name).open_wait(Duration::from_secs(30)).unwrap_err());
        }
        other => panic!("unknown role {other}"),
    }
}

/// Children inherit every inheritable descriptor open at the moment they are spawned: the test
/// that makes one holds this while it exists, so no other test's child keeps it open.
static SPAWN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn spawn(role: &str, args: &[&str]) -> Child {
    let _quiet = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    Child::spawn(role, args)
}

fn ns_at(root: &str) -> Namespace {
    Namespace::at(root)
}

#[allow(unsafe_code)]
fn drop_to_nobody() {
    // SAFETY: plain system calls on this single-purpose child process; nothing else runs yet.
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(common::NOBODY) == 0
            && libc::setuid(common::NOBODY) == 0
    };
    assert!(ok, "cannot switch to uid 65534");
}

/// A fresh directory for one namespace, under this test process's root.
fn fresh_root(tag: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = setup().join(format!("ns-{tag}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn object_path(ns: &Namespace, name: &str) -> PathBuf {
    ns.scope_dir(Scope::Local).join(ObjectName::parse(name).unwrap().file_name())
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn two_processes_meet_through_a_namespace_at_directory() {
    setup();
    let root = fresh_root("meet");
    let ns = Namespace::at(&root);
    let name = unique("meet");
    // The child starts first and waits for the names to appear in the namespace.
    let mut child = spawn("meet", &[root.to_str().unwrap(), &name]);
    std::thread::sleep(Duration::from_millis(100));
    let (map, created) = ns.mapping().name(&name).size(4096).create().unwrap();
    assert_eq!(created, Created::New);
    map.view(Access::ALL).unwrap().write_at(0, b"hello").unwrap();
    let (done, _) = ns.event().name(format!("{name}-done")).create().unwrap();
    let (ready, _) = ns.event().name(format!("{name}-ready")).create().unwrap();
    ready.set().unwrap();
    assert_eq!(child.expect("read"), "hello default Err(2)");
    assert_eq!(done.wait(Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(0));
    // The objects live in the namespace's directory, not in the default one.
    assert!(object_path(&ns, &name).exists());
    assert!(!object_path(&Namespace::default(), &name).exists());
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    child.finish();
    drop((map, done, ready));
    assert!(!object_path(&ns, &name).exists(), "the last close freed the name in its namespace");
}

#[test]
fn the_same_name_in_two_namespaces_is_two_objects() {
    setup();
    let (a, b) = (Namespace::at(fresh_root("a")), Namespace::at(fresh_root("b")));
    assert_ne!(a, b);
    assert_eq!(a, Namespace::at(a.root().unwrap()), "namespaces with one root are equal");
    let name = unique("twice");
    let (in_a, ca) = a.mapping().name(&name).size(4096).create().unwrap();
    let (in_b, cb) = b.mapping().name(&name).size(8192).create().unwrap();
    let (in_default, cd) = Mapping::options().name(&name).size(4096).create().unwrap();
    assert_eq!((ca, cb, cd), (Created::New, Created::New, Created::New));
    assert_ne!(in_a.object_id(), in_b.object_id());
    assert_ne!(in_a.object_id(), in_default.object_id());
    assert_eq!(b.open_mapping(&name, Access::READ).unwrap().size(), 8192);
    // One namespace per scope is shared by every type, within each namespace only.
    assert_code(a.event().name(&name).create(), Win32Error::INVALID_HANDLE);
    let (other_type, created) = Namespace::at(fresh_root("c")).event().name(&name).create().unwrap();
    assert_eq!(created, Created::New);
    assert_eq!(a.query_state(&name).unwrap().0, filemap::ObjectType::Mapping);
    let sync_name = unique("any");
    let (_ev, _) = b.event().name(&sync_name).manual_reset(true).initial_state(true).create().unwrap();
    assert_eq!(b.open_any(&sync_name, Rights::SYNCHRONIZE).unwrap().kind(), filemap::ObjectType::Event);
    assert_code(a.open_any(&sync_name, Rights::SYNCHRONIZE), Win32Error::FILE_NOT_FOUND);
    let entry = b
        .scan(Scope::Local, false)
        .unwrap()
        .into_iter()
        .find(|e| e.file == ObjectName::parse(&sync_name).unwrap().file_name())
        .unwrap();
    assert_eq!(b.describe_state(&entry).unwrap(), Some(SyncState::Event { manual_reset: true, signaled: true }));
    assert!(
        a.scan(Scope::Local, false)
            .unwrap()
            .iter()
            .any(|e| e.header.as_ref().is_ok_and(|h| h.name.as_deref() == Some(name.as_str())))
    );
    drop(other_type);
}

#[test]
fn a_namespace_directory_is_verified_before_use() {
    setup();
    let uid = rustix::process::geteuid().as_raw();
    // A symlink where the Local directory should be.
    let root = fresh_root("symlink");
    let elsewhere = fresh_root("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, root.join(format!("filemap-{uid}"))).unwrap();
    let err = Namespace::at(&root).mapping().name(unique("s1")).size(4096).create().unwrap_err();
    assert_eq!(err.code(), Win32Error::ACCESS_DENIED, "{err}");
    assert!(err.message().contains("symlink"), "{err}");
    assert!(err.message().contains("cannot create mapping"), "names the operation: {err}");
    // A Local directory others may enter.
    let root = fresh_root("open");
    let local = root.join(format!("filemap-{uid}"));
    std::fs::create_dir(&local).unwrap();
    chmod(&local, 0o755);
    let name = unique("s1");
    let err = Namespace::at(&root).event().name(&name).create().unwrap_err();
    assert_eq!(err.code(), Win32Error::ACCESS_DENIED, "{err}");
    assert!(err.message().contains("0755") && err.message().contains(&name), "{err}");
    assert_eq!(local.metadata().unwrap().mode() & 0o777, 0o755, "refused, never repaired silently");
    // A missing one is made, owner-only.
    let root = fresh_root("made");
    let ns = Namespace::at(&root);
    let (_m, _) = ns.mutex().name(unique("s1")).create().unwrap();
    let made = ns.scope_dir(Scope::Local);
    assert_eq!(made, root.join(format!("filemap-{uid}")));
    assert_eq!(made.metadata().unwrap().mode() & 0o7777, 0o700);
}

#[test]
fn sync_builders_set_every_option_and_report_created_or_existing() {
    setup();
    let ns = Namespace::at(fresh_root("builders"));
    let name = unique("ev");
    let (ev, created) = Event::options()
        .manual_reset(true)
        .initial_state(true)
        .name(&name)
        .namespace(&ns)
        .mode(0o640)
        .create()
        .unwrap();
    assert_eq!(created, Created::New);
    assert_eq!(ev.state(), SyncState::Event { manual_reset: true, signaled: true });
    assert_eq!(object_path(&ns, &name).metadata().unwrap().mode() & 0o777, 0o640);
    // Existing: the object keeps its own kind and state; the new options are ignored.
    let (again, created) = ns.event().name(&name).manual_reset(false).initial_state(false).create().unwrap();
    assert_eq!(created, Created::Existing);
    assert!(again.is_manual_reset());
    assert_eq!(again.object_id(), ev.object_id());

    let name = unique("mx");
    let (m, created) = ns.mutex().name(&name).initial_owner(true).create().unwrap();
    assert_eq!(created, Created::New);
    assert!(m.is_owned_by_current_thread());
    m.release().unwrap();
    let opened = ns.mutex().name(&name).rights(Rights::SYNCHRONIZE).open().unwrap();
    assert_eq!(opened.rights(), Rights::SYNCHRONIZE);

    let (s, _) = ns.semaphore().name(unique("sem")).initial(2).max(5).create().unwrap();
    assert_eq!(s.state(), SyncState::Semaphore { count: 2, max: 5 });
    assert_code(ns.semaphore().name(unique("sem")).initial(6).max(5).create(), Win32Error::INVALID_PARAMETER);

    let (t, _) = Timer::options().namespace(&ns).name(unique("tm")).manual_reset(true).create().unwrap();
    assert!(t.is_manual_reset());
    {
        let _quiet = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        let (t, _) = ns.timer().name(unique("tm")).inheritable(true).create().unwrap();
        assert!(t.is_inheritable() && t.inheritable_fd().is_some());
    }
    // Unnamed objects belong to no namespace.
    let (unnamed, created) = ns.event().create().unwrap();
    assert_eq!((unnamed.name(), created), (None, Created::New));
}

#[test]
fn sync_open_wait_returns_once_another_process_creates_the_name() {
    setup();
    let root = fresh_root("wait");
    let ns = Namespace::at(&root);
    let name = unique("later");
    let start = Instant::now();
    let mut child = spawn("create-event-later", &[root.to_str().unwrap(), &name, "400"]);
    assert_code(ns.event().name(&name).open(), Win32Error::FILE_NOT_FOUND);
    let ev = ns.event().name(&name).open_wait(Duration::from_secs(60)).expect("open_wait");
    assert!(start.elapsed() >= Duration::from_millis(400), "returned before the child could create the name");
    assert_eq!(ev.state(), SyncState::Event { manual_reset: true, signaled: true });
    child.expect("created");
    child.finish();
}

#[test]
fn sync_open_wait_times_out_with_file_not_found_and_returns_other_errors_at_once() {
    setup();
    let ns = Namespace::at(fresh_root("timeout"));
    let name = unique("never");
    let start = Instant::now();
    let err = ns.semaphore().name(&name).open_wait(Duration::from_millis(300)).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.code(), Win32Error::FILE_NOT_FOUND, "{err}");
    assert!(err.message().contains("waited") && err.message().contains(&name), "{err}");
    assert!(waited >= Duration::from_millis(300), "gave up after {waited:?}");
    assert!(waited < Duration::from_secs(30), "overran the timeout: {waited:?}");
    // In the default namespace, through the type's own shortcut.
    assert_code(Timer::open_wait(&name, Rights::SYNCHRONIZE, Duration::ZERO), Win32Error::FILE_NOT_FOUND);
    // A name held by another type is not waited on.
    let (_map, _) = ns.mapping().name(&name).size(4096).create().unwrap();
    let start = Instant::now();
    assert_code(ns.mutex().name(&name).open_wait(Duration::from_secs(60)), Win32Error::INVALID_HANDLE);
    assert_code(
        Mutex::open_wait(r"Local\a\b", Rights::SYNCHRONIZE, Duration::from_secs(60)),
        Win32Error::PATH_NOT_FOUND,
    );
    assert!(start.elapsed() < Duration::from_secs(30), "waited on an error that is not ERROR_FILE_NOT_FOUND");
    assert_code(Semaphore::open_wait(&name, Rights::SYNCHRONIZE, Duration::ZERO), Win32Error::FILE_NOT_FOUND);
}

#[test]
fn a_dead_holders_object_is_swept_in_its_own_namespace() {
    setup();
    let root = fresh_root("sweep");
    let ns = Namespace::at(&root);
    let name = unique("dead");
    let mut child = spawn("create-event-later", &[root.to_str().unwrap(), &name, "0"]);
    child.expect("created");
    child.kill();
    let path = object_path(&ns, &name);
    assert!(path.exists(), "SIGKILL leaves the dead object's file behind");
    assert_eq!(ns.sweep_now(Scope::Local).unwrap(), 1);
    assert!(!path.exists());
    // The amortized sweep: operations in this namespace remove what dead holders left.
    let name = unique("dead");
    let mut child = spawn("create-event-later", &[root.to_str().unwrap(), &name, "0"]);
    child.expect("created");
    child.kill();
    let path = object_path(&ns, &name);
    assert!(path.exists());
    let deadline = Instant::now() + Duration::from_secs(30);
    while path.exists() {
        assert!(Instant::now() < deadline, "the namespace's sweep never removed {}", path.display());
        drop(ns.mapping().name(unique("tick")).size(4096).create().unwrap());
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn an_inherited_handle_is_closed_in_the_namespace_it_came_from() {
    setup();
    let ns = Namespace::at(fresh_root("inherit"));
    let name = unique("inherited");
    let quiet = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    let (m, _) = ns.mapping().name(&name).size(4096).inheritable(true).create().unwrap();
    m.view(Access::ALL).unwrap().write_at(0, b"ns").unwrap();
    // The same name, live, in the child's default namespace.
    let (default, _) = Mapping::options().name(&name).size(4096).create().unwrap();
    let fd = m.inheritable_fd().unwrap();
    let mut child = Child::spawn("adopt", &[&fd.to_string()]);
    assert_eq!(child.expect("adopted"), "ns");
    drop(m);
    drop(quiet);
    let path = object_path(&ns, &name);
    assert!(path.exists(), "the child still holds it");
    child.send("close");
    child.expect("closed");
    // The child's was the last handle: its close freed the name where the object lives.
    assert!(!path.exists(), "the adopted handle's close left {} behind", path.display());
    assert_code(ns.open_mapping(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    assert_eq!(Mapping::open(&name, Access::READ).unwrap().object_id(), default.object_id());
    child.finish();
}

#[test]
#[ignore = "needs root (its child switches to uid 65534): scripts/test-root-and-python.sh runs it as root"]
fn errors_name_the_object_and_the_operation_when_directories_refuse() {
    setup();
    common::require_root("its child switches to uid 65534");
    // The root may not be written: the Local directory cannot be made.
    let no_local = fresh_root("nolocal");
    chown(&no_local, 65534);
    chmod(&no_local, 0o500);
    // The Local directory exists and is the user's, but read-only: no object file can be made.
    let ro_local = fresh_root("rolocal");
    let dir = ro_local.join("filemap-65534");
    std::fs::create_dir(&dir).unwrap();
    chown(&dir, 65534);
    chmod(&dir, 0o500);
    // The root may not be entered.
    let closed = fresh_root("closed");
    chmod(&closed, 0o700);
    std::fs::create_dir(closed.join("filemap-65534")).unwrap();
    chown(&closed.join("filemap-65534"), 65534);
    chmod(&closed.join("filemap-65534"), 0o700);
    let name = unique("refused");
    let args = [no_local.to_str().unwrap(), ro_local.to_str().unwrap(), closed.to_str().unwrap(), &name];
    let mut child = spawn("denied", &args);
    for (label, operation) in [
        ("mapping", "cannot create mapping"),
        ("event", "cannot create event"),
        ("semaphore", "cannot open semaphore"),
        ("mutex", "cannot open mutex"),
    ] {
        let line = child.expect(label);
        let (code, message) = line.split_once(' ').unwrap();
        assert_eq!(code, Win32Error::ACCESS_DENIED.0.to_string(), "{label}: {message}");
        assert!(message.contains(operation), "{label}: names the operation: {message}");
        assert!(message.contains(&name), "{label}: names the object: {message}");
        assert!(!message.contains("system call failed"), "{label}: {message}");
    }
    child.finish();
}
