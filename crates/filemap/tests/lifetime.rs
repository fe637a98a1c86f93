//! The lifetime protocol against processes that do not cooperate (issue 12, and items 3-4 of
//! issue 13), across real processes: fork in both orders, a read-only holder of another uid
//! trying to hang a name, a closer stopped between its decision lock and its unlink, listings
//! racing opens of dead objects, the memory of SIGKILLed holders coming back without `gc`, the
//! namespace directory removed under a running process, a squatted Local directory, Global
//! members unable to remove each other's live objects, and `gc` leaving alone what is not a
//! verified object file.

mod common;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use common::{Child, assert_code, child_main as run_child, free_bytes, hear, say, setup, unique};
use filemap::{Access, Created, Mapping, Scope, Win32Error};

/// Child entry point (run only as a child; see `common`).
#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

fn code(r: &filemap::Result<Mapping>) -> String {
    match r {
        Ok(m) => match m.view(Access::READ).and_then(|v| v.read_vec(0, 16)) {
            Ok(data) => format!("data:{}", String::from_utf8_lossy(&data).trim_end_matches('\0')),
            Err(e) => format!("viewerr:{}", e.code().0),
        },
        Err(e) => e.code().0.to_string(),
    }
}

fn open_state(name: &str) -> String {
    code(&Mapping::open(name, Access::READ))
}

/// Drops to `uid`/`gid` (no supplementary groups) for the rest of the process.
fn become_user(uid: u32, gid: u32) {
    // SAFETY: plain libc calls with integer ids; glibc applies them to every thread.
    let dropped = unsafe { libc::setgroups(0, std::ptr::null()) == 0 && libc::setgid(gid) == 0 }
        // SAFETY: as above.
        && unsafe { libc::setuid(uid) == 0 };
    assert!(dropped, "cannot drop privileges to {uid}:{gid}");
}

/// An OFD lock request on the object file's bytes `start..start+len` (`F_OFD_SETLK`); the errno.
fn ofd(fd: &OwnedFd, kind: i32, start: i64, len: i64) -> i32 {
    // SAFETY: all-zero bytes are a valid `flock`.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = start;
    fl.l_len = len;
    // SAFETY: `fd` is open; `fl` is a valid `flock` for the call's duration.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &mut fl as *mut libc::flock) };
    if r == 0 { 0 } else { std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) }
}

fn flock(fd: &OwnedFd, op: i32) -> i32 {
    // SAFETY: `fd` is open; flock has no memory arguments.
    let r = unsafe { libc::flock(fd.as_raw_fd(), op) };
    if r == 0 { 0 } else { std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) }
}

fn dispatch(role: &str, args: &[String]) {
    match role {
        // fork ORDER NAME: the fork scenarios, run in a process of their own (a fork copies every
        // handle of the process, which must not be a test harness running other tests).
        "fork" => say(format!("result {}", fork_scenario(&args[0], &args[1]))),
        // create-hold NAME SIZE MSG: create, write MSG, report, hold until told to exit.
        "create-hold" => {
            let size: u64 = args[1].parse().unwrap();
            let (m, created) = Mapping::options().name(&args[0]).size(size).create().unwrap();
            m.view(Access::WRITE).unwrap().write_at(0, args[2].as_bytes()).unwrap();
            say(format!("ready {created:?} {}", m.object_id().1));
            while let Some(cmd) = hear() {
                if cmd == "exit" {
                    break;
                }
            }
        }
        // create-many PREFIX N: create N small objects PREFIX-i and hold them (until killed).
        "create-many" => {
            let n: usize = args[1].parse().unwrap();
            let held: Vec<Mapping> = (0..n)
                .map(|i| Mapping::options().name(format!("{}-{i}", args[0])).size(4096).create().unwrap().0)
                .collect();
            say(format!("ready {}", held.len()));
            while hear().is_some() {}
        }
        // lister: list the Local scope (no reclaim) in a loop until stdin closes.
        "lister" => {
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = stop.clone();
            std::thread::spawn(move || {
                while hear().is_some() {}
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            say("listing");
            let mut rounds = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                filemap::scan(Scope::Local, false).unwrap();
                rounds += 1;
            }
            eprintln!("lister: {rounds} listings");
        }
        // hostile PATH UID: as UID, hold the object file read-only the way a handle does (and the
        // old flock way), then try to take the exclusive side once the others closed.
        "hostile" => {
            become_user(args[1].parse().unwrap(), args[1].parse().unwrap());
            let fd: OwnedFd = std::fs::File::open(&args[0]).expect("open read-only").into();
            assert_eq!(flock(&fd, libc::LOCK_SH), 0);
            assert_eq!(ofd(&fd, libc::F_RDLCK, 0, 2), 0, "a reader may hold like a handle");
            say("holding");
            assert_eq!(hear().as_deref(), Some("go"));
            let flock_ex = flock(&fd, libc::LOCK_EX | libc::LOCK_NB);
            let ofd_wr = ofd(&fd, libc::F_WRLCK, 0, 2);
            say(format!("attacking {flock_ex} {ofd_wr}"));
            while hear().is_some() {}
        }
        // stopped-closer PATH: hold the object file like a handle, then, told to, take the
        // exclusive side as a closer does (old flock and new OFD protocol) and stop.
        "stopped-closer" => {
            let fd: OwnedFd = std::fs::OpenOptions::new().read(true).write(true).open(&args[0]).expect("open").into();
            assert_eq!(flock(&fd, libc::LOCK_SH), 0);
            assert_eq!(ofd(&fd, libc::F_RDLCK, 0, 2), 0);
            say("holding");
            assert_eq!(hear().as_deref(), Some("go"));
            let flock_ex = flock(&fd, libc::LOCK_EX | libc::LOCK_NB);
            let ofd_wr = ofd(&fd, libc::F_WRLCK, 0, 2);
            say(format!("deciding {flock_ex} {ofd_wr}"));
            // SAFETY: raising a signal at ourselves has no memory effects.
            unsafe { libc::raise(libc::SIGSTOP) };
            while hear().is_some() {}
        }
        // survivor NAME: hold NAME; on "check OTHER NEW", open OTHER and create NEW.
        "survivor" => {
            let (_m, _) = Mapping::options().name(&args[0]).size(4096).create().unwrap();
            say("ready");
            while let Some(cmd) = hear() {
                let words: Vec<&str> = cmd.split(' ').collect();
                if words[0] == "check" {
                    let other = open_state(words[1]);
                    let new = match Mapping::options().name(words[2]).size(64).create() {
                        Ok((_, created)) => format!("{created:?}"),
                        Err(e) => e.code().0.to_string(),
                    };
                    say(format!("checked {other} {new}"));
                } else {
                    break;
                }
            }
        }
        // squat-victim UID NAME: as UID, with no FILEMAP_ROOT, create NAME in Local.
        "squat-victim" => {
            // SAFETY: the only other thread (the watchdog) never reads the environment, and the
            // library has not read FILEMAP_ROOT yet in this process.
            unsafe { std::env::remove_var("FILEMAP_ROOT") };
            let uid: u32 = args[0].parse().unwrap();
            become_user(uid, uid);
            let result = match Mapping::options().name(&args[1]).size(64).create() {
                Ok((m, created)) => {
                    m.view(Access::WRITE).unwrap().write_at(0, b"mine").unwrap();
                    let reopened = open_state(&args[1]);
                    format!("{created:?} {reopened}")
                }
                Err(e) => {
                    eprintln!("squat-victim: {e}");
                    e.code().0.to_string()
                }
            };
            say(format!("result {result} {}", filemap::namespace::scope_dir(Scope::Local).display()));
        }
        // init-global GID: set up the Global directory of this root for group GID.
        "init-global" => {
            filemap::namespace::init_global(Some(args[0].parse().unwrap())).unwrap();
            say("done");
        }
        // gc-global: reclaim dead Global objects (as root); report how many.
        "gc-global" => {
            let n = filemap::scan(Scope::Global, true).unwrap().iter().filter(|e| e.reclaimed).count();
            say(format!("reclaimed {n}"));
        }
        // member UID GID NAME: as a member of the Global group, create NAME (0660) and hold it.
        "member" => {
            become_user(args[0].parse().unwrap(), args[1].parse().unwrap());
            let (_m, created) = Mapping::options().name(&args[2]).size(64).mode(0o660).create().unwrap();
            say(format!("ready {created:?}"));
            while hear().is_some() {}
        }
        // other-member UID GID NAME FILE: try to remove, rename and replace another member's
        // object, then create the name.
        "other-member" => {
            become_user(args[0].parse().unwrap(), args[1].parse().unwrap());
            let file = Path::new(&args[3]);
            let errno = |r: std::io::Result<()>| r.err().and_then(|e| e.raw_os_error()).unwrap_or(0);
            let unlink = errno(std::fs::remove_file(file));
            let rename = errno(std::fs::rename(file, file.with_extension("moved")));
            let planted = file.with_extension("planted");
            std::fs::write(&planted, b"junk").unwrap();
            let replace = errno(std::fs::rename(&planted, file));
            let _ = std::fs::remove_file(&planted);
            let create = match Mapping::options().name(&args[2]).size(64).mode(0o660).create() {
                Ok((_, created)) => format!("{created:?}"),
                Err(e) => e.code().0.to_string(),
            };
            say(format!("results {unlink} {rename} {replace} {create}"));
        }
        // create-as UID GID NAME: create NAME as another user; report the outcome.
        "create-as" => {
            become_user(args[0].parse().unwrap(), args[1].parse().unwrap());
            let r = match Mapping::options().name(&args[2]).size(64).mode(0o660).create() {
                Ok((_, created)) => format!("{created:?}"),
                Err(e) => {
                    eprintln!("create-as: {e}");
                    e.code().0.to_string()
                }
            };
            say(format!("result {r}"));
        }
        // close-at-limit NAME: an inheritable handle closed with no descriptor left.
        "close-at-limit" => {
            let (m, _) = Mapping::options().name(&args[0]).size(64).inheritable(true).create().unwrap();
            let mut filler = Vec::new();
            while let Ok(fd) = rustix::io::fcntl_dupfd_cloexec(std::io::stdin(), 0) {
                filler.push(fd);
            }
            let closed = match m.close() {
                Ok(()) => "ok".to_string(),
                Err(e) => {
                    eprintln!("close-at-limit: {e}");
                    e.code().0.to_string()
                }
            };
            drop(filler);
            say(format!("result {closed} {}", open_state(&args[0])));
        }
        // fork-pinned VARIANT NAME: a view pins the handle's own OFD, then a fork whose handlers
        // cannot give each side a fresh writable OFD of its own (see `fork_pinned`).
        "fork-pinned" => say(format!("result {}", fork_pinned(&args[0], &args[1]))),
        // fork-then-inheritable NAME: see `fork_then_inheritable`.
        "fork-then-inheritable" => say(format!("result {}", fork_then_inheritable(&args[0]))),
        // rescued-then-inherited NAME: see `rescued_then_inherited`.
        "rescued-then-inherited" => say(format!("result {}", rescued_then_inherited(&args[0]))),
        // adopt FD: adopt an inherited mapping handle, report, hold it until told to exit.
        "adopt" => {
            let fd: i32 = args[0].parse().unwrap();
            // SAFETY: the descriptor was inherited for exactly this purpose; nothing else owns it.
            let m = unsafe { Mapping::from_inherited_fd(fd) }.unwrap();
            say(format!("adopted {}", code(&Ok(m.try_clone().unwrap()))));
            while hear().is_some() {}
            drop(m);
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Runs one fork scenario in this (child) process; returns the observations, space-separated.
fn fork_scenario(order: &str, name: &str) -> String {
    let (m, _) = Mapping::options().name(name).size(4096).create().unwrap();
    let view = m.view(Access::WRITE).unwrap();
    view.write_at(0, b"shared").unwrap();
    let (go_r, go_w) = rustix::pipe::pipe().unwrap();
    let (done_r, done_w) = rustix::pipe::pipe().unwrap();
    let wait_byte = |fd: &OwnedFd| {
        let mut b = [0u8; 1];
        rustix::io::read(fd, &mut b).unwrap() == 1
    };
    let send_byte = |fd: &OwnedFd, b: u8| assert_eq!(rustix::io::write(fd, &[b]).unwrap(), 1);
    // SAFETY: the child only makes plain system calls and library calls that take no lock another
    // thread of this process could hold across the fork (the fork handlers take care of ours),
    // and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match order {
            "child-first" => {
                drop(m);
                0
            }
            "parent-first" => {
                if !wait_byte(&go_r) {
                    // SAFETY: leaving the forked child without running the parent's destructors.
                    unsafe { libc::_exit(3) };
                }
                let seen = open_state(name);
                view.write_at(0, b"child\0").unwrap();
                send_byte(&done_w, if seen == "data:shared" { b'1' } else { b'0' });
                let _ = wait_byte(&go_r);
                drop(m);
                0
            }
            "child-exits" => {
                let _ = wait_byte(&go_r);
                0 // exits holding its copy, without closing it
            }
            _ => 2,
        };
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let reap = || {
        let mut status = 0;
        // SAFETY: waiting for our own child; `status` is a valid out-pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        status
    };
    match order {
        "child-first" => {
            let status = reap();
            let after_child = open_state(name);
            drop(m);
            let after_both = open_state(name);
            format!("{status} {after_child} {after_both}")
        }
        "parent-first" => {
            drop(m);
            send_byte(&go_w, b'x');
            let mut b = [0u8; 1];
            let child_saw = if rustix::io::read(&done_r, &mut b).unwrap_or(0) == 1 { b[0] as char } else { '?' };
            let coherent = String::from_utf8_lossy(&view.read_vec(0, 5).unwrap()).into_owned();
            let while_child = open_state(name);
            send_byte(&go_w, b'x');
            let status = reap();
            let after_child = open_state(name);
            format!("{status} {child_saw} {coherent} {while_child} {after_child}")
        }
        "child-exits" => {
            drop(m);
            let while_child = open_state(name);
            send_byte(&go_w, b'x');
            let status = reap();
            let after_child = open_state(name);
            format!("{status} {while_child} {after_child}")
        }
        _ => "bad-order".into(),
    }
}

/// Fills the descriptor table up to the soft limit, then frees `spare` descriptors.
fn fill_descriptors(spare: usize) -> Vec<OwnedFd> {
    let mut filler = Vec::new();
    while let Ok(fd) = rustix::io::fcntl_dupfd_cloexec(std::io::stdin(), 0) {
        filler.push(fd);
    }
    filler.truncate(filler.len() - spare);
    filler
}

/// Sets `RLIMIT_NOFILE` to `soft`/`hard`.
fn set_nofile(soft: u64, hard: u64) {
    let limit = rustix::process::Rlimit { current: Some(soft), maximum: Some(hard) };
    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit).expect("setrlimit");
}

/// Model finding 2 (docs/model/README.md): a handle with a view mapped from its own OFD, then a
/// fork whose prepare handler cannot make the two fresh OFDs it wants: `mode0400` (as uid 65534,
/// an object of mode 0400, which the creator's writable handle cannot reopen for writing),
/// `hard-limit` (soft and hard descriptor limits leave one descriptor free), `soft-limit` (the
/// soft limit leaves none, the hard one more). The child closes its handle, then the parent;
/// both keep their views. Returns the parent's observations: the name while the parent still
/// holds it, after both closed, whether the object file is still there, a new create of it.
fn fork_pinned(variant: &str, name: &str) -> String {
    if variant == "mode0400" {
        become_user(65534, 65534);
    }
    let mode = if variant == "mode0400" { 0o400 } else { 0o600 };
    let (m, _) = Mapping::options().name(name).size(4096).mode(mode).create().unwrap();
    let view = m.view(Access::WRITE).unwrap();
    view.write_at(0, b"shared").unwrap();
    let path = object_path(name);
    let (done_r, done_w) = rustix::pipe::pipe().unwrap();
    let (go_r, go_w) = rustix::pipe::pipe().unwrap();
    let mut filler = match variant {
        "hard-limit" => {
            set_nofile(256, 256);
            fill_descriptors(1)
        }
        "soft-limit" => {
            set_nofile(256, 4096);
            fill_descriptors(0)
        }
        _ => Vec::new(),
    };
    // SAFETY: the child only makes plain system calls and library calls that take no lock another
    // thread of this process could hold across the fork (the fork handlers take care of ours),
    // and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        filler.clear();
        let closed = m.close().is_ok();
        let still = String::from_utf8_lossy(&view.read_vec(0, 6).unwrap()).into_owned();
        let _ = rustix::io::write(&done_w, if closed && still == "shared" { b"1" } else { b"0" });
        let mut b = [0u8; 1];
        let _ = rustix::io::read(&go_r, &mut b);
        drop(view);
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    filler.clear();
    let mut b = [0u8; 1];
    let child_closed = if rustix::io::read(&done_r, &mut b).unwrap_or(0) == 1 { b[0] as char } else { '?' };
    let parent_holds = open_state(name);
    let parent_closed = m.close().map_or_else(|e| e.code().0.to_string(), |()| "ok".into());
    let after_both = open_state(name);
    let file_left = path.exists();
    let recreated = match Mapping::options().name(name).size(64).create() {
        Ok((_, created)) => format!("{created:?}"),
        Err(e) => e.code().0.to_string(),
    };
    let view_still = String::from_utf8_lossy(&view.read_vec(0, 6).unwrap()).into_owned();
    let _ = rustix::io::write(&go_w, b"x");
    let mut status = 0;
    // SAFETY: waiting for our own child; `status` is a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    format!(
        "{child_closed} {parent_holds} {parent_closed} {after_both} file_left={file_left} {recreated} {view_still} {status}"
    )
}

/// A handle whose fork fell back to the rescue (one descriptor free below the hard limit), then
/// made inheritable and inherited by a new program: the new program's handle must keep the name
/// alive after this process closes its own (the rescue left the handle's descriptor without the
/// handle lock, so the descriptor a child inherits must get it back).
fn rescued_then_inherited(name: &str) -> String {
    let (m, _) = Mapping::options().name(name).size(4096).create().unwrap();
    let view = m.view(Access::WRITE).unwrap();
    view.write_at(0, b"shared").unwrap();
    set_nofile(256, 256);
    let mut filler = fill_descriptors(1);
    // SAFETY: the child only makes plain system calls and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: leaving the forked child without running destructors; its copies go with it.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child; `status` is a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    filler.clear();
    m.set_inheritable(true).unwrap();
    let fd = m.inheritable_fd().unwrap();
    let mut heir = Child::spawn("adopt", &[&fd.to_string()]);
    let adopted = heir.expect("adopted");
    m.set_inheritable(false).unwrap();
    let closed = m.close().map_or_else(|e| e.code().0.to_string(), |()| "ok".into());
    let while_heir = open_state(name);
    heir.finish();
    let after_heir = open_state(name);
    drop(view);
    format!("{adopted} {closed} {while_heir} {after_heir}")
}

#[test]
fn a_handle_rescued_at_fork_then_inherited_by_a_new_program_keeps_the_name_while_the_heir_holds_it() {
    setup();
    let name = unique("rescued-heir");
    let mut child = Child::spawn("rescued-then-inherited", &[&name]);
    let result = child.expect("result");
    child.finish();
    assert_eq!(result, format!("data:shared ok data:shared {NOT_FOUND}"), "the heir holds the name until it exits");
}

/// The model's finding 3 (docs/model/README.md): an object its creator (uid 65534) cannot
/// reopen for writing (`0400`), a fork (the rescue: the handle lock moves to a read-only OFD the
/// child shares), then `set_inheritable(true)` in the parent, then the child's close. The
/// parent's handle must keep the name. Returns what `set_inheritable` said, whether the child's
/// close succeeded, the name while the parent holds it, and after the parent's close.
fn fork_then_inheritable(name: &str) -> String {
    become_user(65534, 65534);
    let (m, _) = Mapping::options().name(name).size(4096).mode(0o400).create().unwrap();
    m.view(Access::WRITE).unwrap().write_at(0, b"shared").unwrap(); // the view is gone before the fork
    let (ready_r, ready_w) = rustix::pipe::pipe().unwrap();
    let (done_r, done_w) = rustix::pipe::pipe().unwrap();
    // SAFETY: as in `fork_pinned`: the child makes plain calls and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut b = [0u8; 1];
        let _ = rustix::io::read(&ready_r, &mut b);
        let closed = m.close().is_ok();
        let _ = rustix::io::write(&done_w, if closed { b"1" } else { b"0" });
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    let inheritable = m.set_inheritable(true).map_or_else(|e| e.code().0.to_string(), |()| "ok".into());
    let _ = rustix::io::write(&ready_w, b"x");
    let mut b = [0u8; 1];
    let child_closed = if rustix::io::read(&done_r, &mut b).unwrap_or(0) == 1 { b[0] as char } else { '?' };
    let parent_holds = open_state(name);
    drop(m);
    let after = open_state(name);
    let mut status = 0;
    // SAFETY: waiting for our own child; `status` is a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    format!("{inheritable} {child_closed} {parent_holds} {after}")
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn after_fork_making_a_handle_inheritable_never_lets_the_childs_close_free_the_name() {
    let root = setup();
    assert!(rustix::process::geteuid().is_root(), "this test switches users: run it as root");
    let dir = root.join("filemap-65534");
    let _ = std::fs::create_dir(&dir);
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let name = unique("fork-inherit");
    let mut child = Child::spawn("fork-then-inheritable", &[&name]);
    let result = child.expect("result");
    child.finish();
    // ERROR_ACCESS_DENIED (5): the handle cannot get a locked description of its own to hand to
    // a new program (its mode forbids reopening it), and re-locking the one the forked child
    // shares would let the child's close unlink the name under this handle.
    assert_eq!(result, format!("5 1 data:shared {NOT_FOUND}"), "set_inheritable, child's close, parent holds, after");
}

fn run_fork_pinned(variant: &str) {
    let root = setup();
    let name = unique(&format!("pinned-{variant}"));
    if variant == "mode0400" {
        assert!(rustix::process::geteuid().is_root(), "this test switches users: run it as root");
        let dir = root.join("filemap-65534");
        let _ = std::fs::create_dir(&dir);
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let mut child = Child::spawn("fork-pinned", &[variant, &name]);
    let result = child.expect("result");
    child.finish();
    assert_eq!(
        result,
        format!("1 data:shared ok {NOT_FOUND} file_left=false New shared 0"),
        "{variant}: the child's close leaves the parent's handle; after both closed the name is gone \
         (open: not found, file removed, a create makes a new object) while both views remain"
    );
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn after_fork_a_view_never_keeps_the_name_of_an_object_its_creator_cannot_reopen_for_writing() {
    run_fork_pinned("mode0400");
}

#[test]
fn after_fork_at_the_hard_descriptor_limit_a_view_never_keeps_the_name_alive() {
    run_fork_pinned("hard-limit");
}

#[test]
fn after_fork_at_the_soft_descriptor_limit_a_view_never_keeps_the_name_alive() {
    run_fork_pinned("soft-limit");
}

const NOT_FOUND: &str = "2";

#[test]
fn after_fork_the_childs_close_leaves_the_parents_handle_and_name_alive() {
    setup();
    let mut child = Child::spawn("fork", &["child-first", &unique("fork-cf")]);
    assert_eq!(child.expect("result"), format!("0 data:shared {NOT_FOUND}"));
    child.finish();
}

#[test]
fn after_fork_the_parents_close_leaves_the_childs_handle_and_name_alive_and_views_coherent() {
    setup();
    let mut child = Child::spawn("fork", &["parent-first", &unique("fork-pf")]);
    assert_eq!(child.expect("result"), format!("0 1 child data:child {NOT_FOUND}"));
    child.finish();
}

#[test]
fn after_fork_a_child_that_exits_without_closing_holds_the_name_until_it_exits() {
    setup();
    let mut child = Child::spawn("fork", &["child-exits", &unique("fork-ce")]);
    assert_eq!(child.expect("result"), format!("0 data:shared {NOT_FOUND}"));
    child.finish();
}

#[test]
fn fork_and_exec_close_the_childs_copies_and_the_parents_handle_keeps_the_name() {
    use std::os::unix::process::CommandExt;
    setup();
    let name = unique("fork-exec");
    let (m, _) = Mapping::options().name(&name).size(64).create().unwrap();
    m.view(Access::WRITE).unwrap().write_at(0, b"kept").unwrap();
    // `pre_exec` makes std fork (running the fork handlers) instead of posix_spawn.
    let mut cmd = std::process::Command::new("/bin/true");
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let status = cmd.status().unwrap();
    assert!(status.success());
    assert_eq!(open_state(&name), "data:kept");
    drop(m);
    assert_eq!(open_state(&name), NOT_FOUND);
}

/// Runs `f` on a thread and fails the test if it takes longer than `limit` (a hang).
fn within<T: Send + 'static>(limit: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> (T, Duration) {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        let out = f();
        let _ = tx.send((out, start.elapsed()));
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("{what} did not return within {limit:?}: it hangs"))
}

fn object_path(name: &str) -> PathBuf {
    let parsed = filemap::ObjectName::parse(name).unwrap();
    filemap::namespace::scope_dir(parsed.scope()).join(&*parsed.file_name())
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_read_only_holder_of_another_uid_cannot_hang_creates_or_opens_of_the_name() {
    setup();
    assert!(rustix::process::geteuid().is_root(), "this test switches users: run it as root");
    let name = unique("ro-hang").replace(r"Local\", r"Global\");
    let (m, _) = Mapping::options().name(&name).size(64).mode(0o644).create().unwrap();
    m.view(Access::WRITE).unwrap().write_at(0, b"root").unwrap();
    let path = object_path(&name);
    let mut hostile = Child::spawn("hostile", &[path.to_str().unwrap(), "65534"]);
    hostile.expect("holding");
    drop(m); // the hostile reader is now the only holder
    hostile.send("go");
    let attack = hostile.expect("attacking");
    assert!(attack.ends_with(&libc::EBADF.to_string()), "a read-only descriptor cannot take a write lock: {attack}");
    for round in 0..10 {
        let n = name.clone();
        let (created, took) = within(Duration::from_secs(5), "create", move || {
            Mapping::options().name(&n).size(64).mode(0o644).create().map(|(m, c)| (c, code(&Ok(m))))
        });
        let (created, data) = created.unwrap_or_else(|e| panic!("round {round}: create failed after {took:?}: {e}"));
        assert_eq!(created, Created::Existing, "the reader's handle keeps the object");
        assert_eq!(data, "data:root");
        let n = name.clone();
        let (opened, _) = within(Duration::from_secs(5), "open", move || open_state(&n));
        assert_eq!(opened, "data:root");
    }
    hostile.kill();
    assert_eq!(within(Duration::from_secs(5), "open", move || open_state(&name)).0, NOT_FOUND);
}

fn process_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')').next().and_then(|rest| rest.trim_start().chars().next()).unwrap_or('?')
}

#[test]
fn a_closer_stopped_while_deciding_makes_opens_report_not_found_and_creates_fail_within_the_bound() {
    setup();
    let name = unique("stopped");
    let (m, _) = Mapping::options().name(&name).size(64).create().unwrap();
    let path = object_path(&name);
    let mut closer = Child::spawn("stopped-closer", &[path.to_str().unwrap()]);
    closer.expect("holding");
    drop(m);
    closer.send("go");
    assert_eq!(closer.expect("deciding"), "0 0", "the closer took the exclusive side");
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_state(closer.pid()) != 'T' {
        assert!(Instant::now() < deadline, "the closer never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    let n = name.clone();
    let (opened, _) = within(Duration::from_secs(5), "open", move || open_state(&n));
    assert_eq!(opened, NOT_FOUND, "a name under a decision has no live holder");
    let n = name.clone();
    let (created, took) =
        within(Duration::from_secs(5), "create", move || Mapping::options().name(&n).size(64).create().map(|_| ()));
    assert_code(created, Win32Error::SHARING_VIOLATION);
    assert!(took >= filemap::CONTENTION_BOUND, "waited the bound first ({took:?})");
    closer.kill();
    // Killed, its lock is gone: the dead leftover is reclaimed by the next create.
    let (_fresh, created) = Mapping::options().name(&name).size(64).create().unwrap();
    assert_eq!(created, Created::New);
}

#[test]
fn listings_racing_opens_never_make_a_dead_object_look_alive() {
    setup();
    let listers: Vec<Child> = (0..2)
        .map(|_| {
            let mut c = Child::spawn("lister", &[]);
            c.expect("listing");
            c
        })
        .collect();
    let mut resurrected = Vec::new();
    let mut trials = 0;
    for round in 0..15 {
        let prefix = unique(&format!("dead{round}"));
        let mut holder = Child::spawn("create-many", &[&prefix, "20"]);
        holder.expect("ready");
        holder.kill();
        for i in 0..20 {
            let name = format!("{prefix}-{i}");
            trials += 1;
            let state = open_state(&name);
            if state != NOT_FOUND {
                resurrected.push(format!("{name}: {state}"));
            }
        }
    }
    drop(listers);
    assert!(resurrected.is_empty(), "{} of {trials} opens returned a dead object: {resurrected:?}", resurrected.len());
}

#[test]
fn the_memory_of_a_sigkilled_last_holder_comes_back_within_ten_seconds_without_gc() {
    setup();
    let name = unique("sweep");
    let size: u64 = 128 << 20;
    let before = free_bytes();
    let mut holder = Child::spawn("create-hold", &[&name, &size.to_string(), "doomed"]);
    holder.expect("ready");
    let during = free_bytes();
    holder.kill();
    let path = object_path(&name);
    assert!(path.exists(), "the dead object is still there right after the kill");
    // This process keeps using the namespace (opens of other names), as any filemap program
    // would; nobody opens the dead name and nobody runs gc.
    let start = Instant::now();
    let other = unique("busy");
    while path.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "the dead object is still there after 10 s");
        assert_code(Mapping::open(&other, Access::READ), Win32Error::FILE_NOT_FOUND);
        std::thread::sleep(Duration::from_millis(25));
    }
    let reclaimed_after = start.elapsed();
    // Its name is gone and no process maps it: tmpfs frees its pages. Other processes share this
    // filesystem (other test runs), so look for the jump in free space for a little while.
    let mut after = free_bytes();
    let settle = Instant::now();
    while after < during + size / 2 && settle.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
        after = after.max(free_bytes());
    }
    eprintln!("dead object reclaimed after {reclaimed_after:?}; free {before} -> {during} -> {after}");
    assert!(after >= during + size / 2, "its memory is back: {during} during, {after} after");
}

#[test]
fn a_running_process_recovers_when_its_namespace_directory_is_removed() {
    let root = setup().join(format!("removed-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let env = |cmd: &mut std::process::Command| {
        cmd.env("FILEMAP_ROOT", &root);
    };
    let mut survivor = Child::spawn_with("survivor", &[r"Local\first"], env);
    survivor.expect("ready");
    let local = root.join(format!("filemap-{}", rustix::process::geteuid().as_raw()));
    assert!(local.is_dir());
    std::fs::remove_dir_all(&local).unwrap(); // what systemd-logind's RemoveIPC does
    let mut other = Child::spawn_with("create-hold", &[r"Local\second", "64", "hello"], env);
    other.expect("ready");
    survivor.send(r"check Local\second Local\third");
    assert_eq!(survivor.expect("checked"), "data:hello New", "sees the new directory and creates in it");
    survivor.send("exit");
    survivor.finish();
    other.send("exit");
    other.finish();
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn another_user_cannot_deny_a_users_local_namespace_by_squatting_its_directory() {
    let root = setup();
    assert!(rustix::process::geteuid().is_root(), "this test switches users: run it as root");
    for (victim, squat_with_symlink) in [(61003u32, false), (61005u32, true)] {
        let squat = PathBuf::from(format!("/dev/shm/filemap-{victim}"));
        let _ = std::fs::remove_file(&squat);
        let _ = std::fs::remove_dir_all(&squat);
        if squat_with_symlink {
            std::os::unix::fs::symlink("/tmp", &squat).unwrap();
        } else {
            std::fs::create_dir(&squat).unwrap();
            std::os::unix::fs::chown(&squat, Some(victim + 1), Some(victim + 1)).unwrap();
        }
        let runtime = root.join(format!("run-{victim}"));
        std::fs::create_dir_all(&runtime).unwrap();
        std::os::unix::fs::chown(&runtime, Some(victim), Some(victim)).unwrap();
        std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let name = unique("squat");
        let mut child = Child::spawn_with("squat-victim", &[&victim.to_string(), &name], |cmd| {
            cmd.env("XDG_RUNTIME_DIR", &runtime);
        });
        let result = child.expect("result");
        child.finish();
        let _ = std::fs::remove_file(&squat);
        let _ = std::fs::remove_dir_all(&squat);
        assert_eq!(result, format!("New data:mine {}", runtime.join("filemap").display()), "victim {victim}");
    }
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn global_members_cannot_remove_or_replace_each_others_live_objects_and_dead_ones_are_reclaimed_by_root() {
    let root = setup().join(format!("global-{}", std::process::id()));
    assert!(rustix::process::geteuid().is_root(), "this test switches users: run it as root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let env = |cmd: &mut std::process::Command| {
        cmd.env("FILEMAP_ROOT", &root);
    };
    let (group, alice, bob) = ("61000", "61001", "61002");
    let mut init = Child::spawn_with("init-global", &[group], env);
    init.expect("done");
    init.finish();
    let name = r"Global\shared-by-members";
    let file = root.join("filemap-global").join("shared-by-members");
    let mut owner = Child::spawn_with("member", &[alice, group, name], env);
    assert_eq!(owner.expect("ready"), "New");
    let mut other = Child::spawn_with("other-member", &[bob, group, name, file.to_str().unwrap()], env);
    let eperm = libc::EPERM.to_string();
    assert_eq!(
        other.expect("results"),
        format!("{eperm} {eperm} {eperm} Existing"),
        "unlink, rename and replace are refused; the member may still open it"
    );
    other.finish();
    // Alice dies: Bob may not remove her dead object (he gets a clear error), root may.
    owner.kill();
    let mut bob_create = Child::spawn_with("create-as", &[bob, group, name], env);
    assert_eq!(bob_create.expect("result"), Win32Error::ACCESS_DENIED.0.to_string());
    bob_create.finish();
    let mut gc = Child::spawn_with("gc-global", &[], env);
    assert_eq!(gc.expect("reclaimed"), "1");
    gc.finish();
    let mut bob_create = Child::spawn_with("create-as", &[bob, group, name], env);
    assert_eq!(bob_create.expect("result"), "New");
    bob_create.finish();
}

#[test]
fn gc_removes_only_verified_dead_object_files_and_reports_only_what_it_removed() {
    setup();
    // Make sure the Local directory exists, then plant things that are not objects.
    let (_keep, _) = Mapping::options().name(unique("gc-keep")).size(64).create().unwrap();
    let dir = filemap::namespace::scope_dir(Scope::Local);
    let tag = unique("planted").replace(r"Local\", "");
    let fifo = dir.join(format!("{tag}-fifo"));
    let device = dir.join(format!("{tag}-dev"));
    let subdir = dir.join(format!("{tag}-dir"));
    let junk = dir.join(format!("{tag}-junk"));
    let link = dir.join(format!("{tag}-link"));
    let c = |p: &Path| std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated paths; mknod/mkfifo have no other memory arguments.
    assert_eq!(unsafe { libc::mkfifo(c(&fifo).as_ptr(), 0o600) }, 0);
    // SAFETY: as above (a character device like /dev/null; we are root).
    let made_device = unsafe { libc::mknod(c(&device).as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) } == 0;
    std::fs::create_dir(&subdir).unwrap();
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    // A dead object of a name the file does not encode (a renamed object file) is left too.
    let real = unique("gc-renamed");
    let mut holder = Child::spawn("create-hold", &[&real, "64", "x"]);
    holder.expect("ready");
    holder.kill();
    let renamed = dir.join(format!("{tag}-renamed"));
    std::fs::rename(object_path(&real), &renamed).unwrap();

    let swept = filemap::scan(Scope::Local, true).unwrap();
    let mut planted = vec![&fifo, &subdir, &junk, &link, &renamed];
    if made_device {
        planted.push(&device);
    }
    for p in &planted {
        let file = p.file_name().unwrap().to_str().unwrap();
        let e = swept.iter().find(|e| e.file == file).unwrap_or_else(|| panic!("{file} is listed"));
        assert!(!e.reclaimed, "{file} is not reported as removed");
        assert!(std::fs::symlink_metadata(p).is_ok(), "{file} is still there");
    }
    assert!(swept.iter().all(|e| !e.reclaimed || e.header.is_ok()), "only valid objects are reclaimed");
    for p in planted {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_dir(p);
    }
    let _ = std::fs::remove_file(&device);
}

#[test]
fn the_last_close_at_the_descriptor_limit_reports_failure_and_the_dead_object_is_reclaimed() {
    setup();
    let name = unique("emfile");
    let mut child = Child::spawn("close-at-limit", &[&name]);
    let result = child.expect("result");
    child.finish();
    assert_eq!(
        result,
        format!("{} {NOT_FOUND}", Win32Error::TOO_MANY_OPEN_FILES.0),
        "close failed, then the name is free"
    );
    assert!(!object_path(&name).exists(), "and the dead object was reclaimed");
}
