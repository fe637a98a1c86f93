//! Soak: the stress test as a regime, run for a set time (`FILEMAP_SOAK_SECS`, default 20):
//!
//! ```text
//! FILEMAP_SOAK_SECS=600 cargo test -p filemap --test soak -- --ignored soak --nocapture
//! ```
//!
//! Runs in a private mount namespace on its own small tmpfs (`SOAK_TMPFS` bytes, so creates
//! also meet a full tmpfs), as root. Workers create, open, map, write and close a few clean
//! names and fork children that hold the handles a while; the parent SIGKILLs, SIGSTOPs (and
//! continues) workers at random and runs gc; a hostile process of the same uid lists the
//! namespace in a loop and scribbles random bytes over the header and sync words of the
//! *hostile* names' files (it may write them: same uid), while the workers keep using those
//! names as mappings, events and semaphores.
//!
//! Oracles: I1/I2 on the clean names (as `stress.rs`: nobody gets a fresh object under a name
//! another live process holds); nothing panics (a panic hook counts); no operation on a
//! scribbled object blocks past its timeout + 3 s; every failure is one of the Win32 codes
//! listed in `tolerated`; and the tmpfs oracle: once every process is gone and the sweep target
//! has passed (`sweep.rs`: a pass per second, 8 entries per 20 ms step), no clean object file is
//! left and the tmpfs holds nothing but the files still listed (no memory held by an unlinked
//! object nobody can reach). Prints its counts at the end.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{
    Child, Disturbance, Rng, alive, child_main as run_child, disturb, oracle_word as word, seed, setup, unique,
};
use filemap::{Access, Created, Event, Mapping, Rights, Scope, Semaphore, Win32Error};

const WORKERS: usize = 4;
const NAMES: usize = 3;
const HOSTILE: usize = 3;
const SOAK_TMPFS: u64 = 2 << 20;
// oracle words
const STOP: usize = 0;
const VIOLATIONS: usize = 1;
const OPS: usize = 2;
const CREATED: usize = 3;
const FORKS: usize = 4;
const BUSY: usize = 5;
const FULL: usize = 6;
const PANICS: usize = 7;
const HOSTILE_OPS: usize = 8;
const HOSTILE_ERRS: usize = 9;
const HANGS: usize = 10;
const SCRIBBLES: usize = 11;
const SCANS: usize = 12;
const PEAK: usize = 13;
const NOT_FOUND: usize = 14;
const SLOTS: usize = 16;
const SLOT_WORDS: usize = 1 + NAMES;
const ALL_SLOTS: usize = 2 * WORKERS;
const WORDS: usize = SLOTS + ALL_SLOTS * SLOT_WORDS;

#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

fn slot(w: usize, n: usize) -> usize {
    SLOTS + w * SLOT_WORDS + 1 + n
}

/// The failures an operation on a scribbled (hostile) name may meet: a stopped releaser
/// (bounded), a name gone, a full tmpfs, and what a scribbled header or sync word must turn
/// into. Anything else fails the run.
fn tolerated(code: Win32Error) -> bool {
    [
        Win32Error::SHARING_VIOLATION,
        Win32Error::FILE_NOT_FOUND,
        Win32Error::DISK_FULL,
        Win32Error::NOT_ENOUGH_MEMORY,
        Win32Error::OUTOFMEMORY,
        Win32Error::COMMITMENT_LIMIT,
        Win32Error::INVALID_HANDLE,
        Win32Error::INVALID_DATA,
        Win32Error::INVALID_PARAMETER,
        Win32Error::ACCESS_DENIED,
        Win32Error::ALREADY_EXISTS,
        Win32Error::TOO_MANY_POSTS,
    ]
    .contains(&code)
}

fn dispatch(role: &str, args: &[String]) {
    let fd: i32 = args[0].parse().unwrap();
    // SAFETY: the parent passed the oracle's inheritable descriptor for us to adopt.
    let oracle = unsafe { Mapping::from_inherited_fd(fd) }.expect("adopt oracle");
    let o = oracle.view(Access::WRITE).unwrap();
    let o_static: &'static filemap::View = Box::leak(Box::new(oracle.view(Access::WRITE).unwrap()));
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        word(o_static, PANICS).fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    match role {
        "hostile" => hostile(&o, &args[1..]),
        "worker" => worker(&o, args[1].parse().unwrap(), &args[2..2 + NAMES], &args[2 + NAMES..]),
        other => panic!("unknown role {other}"),
    }
}

/// Lists the namespace in a loop and scribbles over the hostile names' object files (header
/// bytes, sync words), which it may write: same uid. Stops when its stdin closes.
fn hostile(o: &filemap::View, names: &[String]) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        while common::hear().is_some() {}
        flag.store(true, Ordering::Relaxed);
    });
    let root = PathBuf::from(std::env::var_os("FILEMAP_ROOT").expect("FILEMAP_ROOT"));
    let mut known: HashSet<String> = HashSet::new();
    let mut rng = Rng(seed());
    common::say("hostile");
    while !stop.load(Ordering::Relaxed) {
        // the lister: never reclaims
        if let Ok(entries) = filemap::scan(Scope::Local, false) {
            word(o, SCANS).fetch_add(1, Ordering::Relaxed);
            for e in entries {
                if e.header.as_ref().is_ok_and(|h| h.name.as_deref().is_some_and(|n| names.iter().any(|x| x == n))) {
                    known.insert(e.file);
                }
            }
        }
        for _ in 0..8 {
            for path in files(&root) {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !known.contains(&name) || rng.below(2) == 0 {
                    continue;
                }
                let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else { continue };
                let len = file.metadata().map(|m| m.len()).unwrap_or(0).min(8192);
                if len == 0 {
                    continue;
                }
                let mut bytes = [0u8; 8];
                bytes.iter_mut().for_each(|b| *b = rng.next() as u8);
                let n = 1 + rng.below(8) as usize;
                use std::os::unix::fs::FileExt;
                if file.write_at(&bytes[..n], rng.below(len)).is_ok() {
                    word(o, SCRIBBLES).fetch_add(1, Ordering::Relaxed);
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Every regular file under `dir` (the namespace is at most a few levels deep).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out
}

/// A full tmpfs: the only failure a clean name may meet besides a refused create or a free name.
fn full(code: Win32Error) -> bool {
    [Win32Error::DISK_FULL, Win32Error::NOT_ENOUGH_MEMORY, Win32Error::OUTOFMEMORY, Win32Error::COMMITMENT_LIMIT]
        .contains(&code)
}

/// Clean names: a full tmpfs, counted; anything else fails the run.
fn check_clean(o: &filemap::View, what: &str, code: Win32Error) {
    assert!(full(code), "{what} failed with {code:?}, which only a full tmpfs or an attack may cause");
    word(o, FULL).fetch_add(1, Ordering::Relaxed);
}

fn check(o: &filemap::View, what: &str, code: Win32Error, counter: usize) {
    if !tolerated(code) {
        panic!("{what} failed with an unexpected code {code:?}");
    }
    word(o, counter).fetch_add(1, Ordering::Relaxed);
}

/// One operation on a hostile (scribbled) name, of the kind the name's index says (0: mapping,
/// 1: event, 2: semaphore): whatever it returns, it returns in time.
fn hostile_op(o: &filemap::View, rng: &mut Rng, kind: usize, name: &str) {
    let start = Instant::now();
    let timeout = Duration::from_millis(rng.below(20));
    let result: filemap::Result<()> = match kind {
        0 => Mapping::options().name(name).size(4096 * (1 + rng.below(16))).create().and_then(|(m, _)| {
            let v = m.view(Access::WRITE)?;
            v.atomic_u64(0).map(|w| {
                w.fetch_add(1, Ordering::SeqCst);
            })
        }),
        1 => Event::options().name(name).manual_reset(rng.below(2) == 0).create().and_then(|(e, _)| {
            if rng.below(2) == 0 {
                e.set()?;
            }
            e.wait(Some(timeout)).map(drop)
        }),
        _ => {
            let r = if rng.below(2) == 0 {
                Semaphore::options().name(name).initial(0).max(4).create().map(|(s, _)| s)
            } else {
                Semaphore::open(name, Rights::SEMAPHORE_ALL_ACCESS)
            };
            r.and_then(|s| {
                if rng.below(2) == 0 {
                    s.release(1)?;
                }
                s.wait(Some(timeout)).map(drop)
            })
        }
    };
    word(o, HOSTILE_OPS).fetch_add(1, Ordering::Relaxed);
    if let Err(e) = result {
        check(o, &format!("{name}: {e}"), e.code(), HOSTILE_ERRS);
    }
    if start.elapsed() > timeout + Duration::from_secs(3) {
        eprintln!("HANG: an operation on {name} took {:?}", start.elapsed());
        word(o, HANGS).fetch_add(1, Ordering::SeqCst);
    }
}

fn worker(o: &filemap::View, me: usize, names: &[String], hostile_names: &[String]) {
    for n in 0..NAMES {
        word(o, slot(me, n)).store(0, Ordering::SeqCst);
        word(o, slot(WORKERS + me, n)).store(0, Ordering::SeqCst);
    }
    word(o, SLOTS + me * SLOT_WORDS).store(u64::from(std::process::id()), Ordering::SeqCst);
    common::say("started");
    let fork_slot = WORKERS + me;
    let mut rng = Rng(seed());
    let mut forked: Option<libc::pid_t> = None;
    while word(o, STOP).load(Ordering::SeqCst) == 0 {
        if let Some(pid) = forked {
            // SAFETY: reaping our own child without blocking; a null status pointer is allowed.
            if unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } != 0 {
                forked = None;
            }
        }
        if rng.below(3) == 0 {
            let k = rng.below(HOSTILE as u64) as usize;
            hostile_op(o, &mut rng, k, &hostile_names[k]);
            continue;
        }
        let n = rng.below(NAMES as u64) as usize;
        let size = 4096 * (1 + rng.below(128));
        let acquired = if rng.below(3) == 0 {
            match Mapping::open(&names[n], Access::ALL) {
                Ok(m) => Some((m, Created::Existing)),
                Err(e) if e.code() == Win32Error::FILE_NOT_FOUND => {
                    word(o, NOT_FOUND).fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(e) => {
                    check_clean(o, &format!("open {}: {e}", names[n]), e.code());
                    None
                }
            }
        } else {
            match Mapping::options().name(&names[n]).size(size).create() {
                Ok(acquired) => Some(acquired),
                Err(e) if e.code() == Win32Error::SHARING_VIOLATION => {
                    word(o, BUSY).fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(e) => {
                    check_clean(o, &format!("create {}: {e}", names[n]), e.code());
                    None
                }
            }
        };
        let Some((m, created)) = acquired else { continue };
        let ino = m.object_id().1;
        word(o, slot(me, n)).store(ino, Ordering::SeqCst);
        if created == Created::New {
            word(o, CREATED).fetch_add(1, Ordering::Relaxed);
        }
        if forked.is_none() && rng.below(8) == 0 {
            let hold = Duration::from_micros(rng.below(3000));
            let close_first = rng.below(2) == 0;
            // SAFETY: the child only stores to the shared oracle, sleeps, drops the handle (the
            // library's fork handlers gave it its own descriptor) and leaves with `_exit`.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                word(o, SLOTS + fork_slot * SLOT_WORDS).store(u64::from(std::process::id()), Ordering::SeqCst);
                word(o, slot(fork_slot, n)).store(ino, Ordering::SeqCst);
                std::thread::sleep(hold);
                word(o, slot(fork_slot, n)).store(0, Ordering::SeqCst);
                if close_first {
                    drop(m);
                }
                // SAFETY: leaving the forked child without running the worker's destructors.
                unsafe { libc::_exit(0) };
            }
            if pid > 0 {
                forked = Some(pid);
                word(o, FORKS).fetch_add(1, Ordering::Relaxed);
            }
        }
        for other in (0..ALL_SLOTS).filter(|&w| w != me && w != fork_slot) {
            let theirs = word(o, slot(other, n)).load(Ordering::SeqCst);
            if theirs == 0 || theirs == ino {
                continue;
            }
            let pid = word(o, SLOTS + other * SLOT_WORDS).load(Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if !alive(pid) {
                    break; // inconclusive: killed while holding
                }
                if word(o, slot(other, n)).load(Ordering::SeqCst) != theirs {
                    if alive(pid) {
                        eprintln!(
                            "VIOLATION: worker {me} holds inode {ino} of {}; live {other} held {theirs}",
                            names[n]
                        );
                        word(o, VIOLATIONS).fetch_add(1, Ordering::SeqCst);
                    }
                    break;
                }
                if Instant::now() > deadline {
                    eprintln!("VIOLATION: {other} (pid {pid}) holds inode {theirs} of {} for 5 s", names[n]);
                    word(o, VIOLATIONS).fetch_add(1, Ordering::SeqCst);
                    break;
                }
                std::thread::yield_now();
            }
        }
        match m.view(Access::WRITE) {
            Ok(view) => {
                view.atomic_u64(0).unwrap().fetch_add(1, Ordering::SeqCst);
                if rng.below(2) == 0 {
                    std::thread::sleep(Duration::from_micros(rng.below(1500)));
                }
                word(o, slot(me, n)).store(0, Ordering::SeqCst);
                drop(view);
            }
            Err(e) => {
                word(o, slot(me, n)).store(0, Ordering::SeqCst);
                check_clean(o, &format!("view {}: {e}", names[n]), e.code());
            }
        }
        drop(m);
        word(o, OPS).fetch_add(1, Ordering::Relaxed);
    }
}

/// Bytes the tmpfs at `root` has in use.
fn used(root: &Path) -> u64 {
    let st = rustix::fs::statvfs(root).expect("statvfs");
    (st.f_blocks - st.f_bfree) * st.f_frsize
}

/// Puts this thread (and the processes it starts) into a private mount namespace with its own
/// small tmpfs over the test root, so that the tmpfs oracle sees only this test's memory.
fn private_tmpfs(root: &Path) {
    use std::ffi::CString;
    let dir = CString::new(root.as_os_str().as_encoded_bytes()).unwrap();
    let opts = CString::new(format!("size={SOAK_TMPFS},mode=0755")).unwrap();
    // SAFETY: plain system calls on valid NUL-terminated strings that outlive the calls:
    // - unshare(CLONE_NEWNS) affects only this thread and what it starts;
    // - mount(MS_REC|MS_PRIVATE) on "/" with null source/type/data is the documented form;
    // - the tmpfs mount takes the two strings built above.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "soak needs root: unshare(CLONE_NEWNS)");
        assert_eq!(
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null()
            ),
            0,
            "make / private"
        );
        assert_eq!(
            libc::mount(c"tmpfs".as_ptr(), dir.as_ptr(), c"tmpfs".as_ptr(), 0, opts.as_ptr().cast()),
            0,
            "mount a private tmpfs on {}",
            root.display()
        );
    }
}

#[test]
#[ignore = "soak: runs for FILEMAP_SOAK_SECS (default 20) as root; see the module docs"]
fn soak() {
    let root = setup();
    private_tmpfs(&root);
    let secs: u64 = std::env::var("FILEMAP_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let run = Duration::from_secs(secs);
    let base = used(&root);
    let names: Vec<String> = (0..NAMES).map(|_| unique("soak")).collect();
    let hostile_names: Vec<String> = (0..HOSTILE).map(|_| unique("hostile")).collect();
    let (oracle, _) = Mapping::options().size((WORDS * 8) as u64).inheritable(true).create().unwrap();
    let o = oracle.view(Access::WRITE).unwrap();
    let fd = oracle.inheritable_fd().unwrap().to_string();
    let spawn = |w: usize| {
        let index = w.to_string();
        let mut args = vec![fd.as_str(), index.as_str()];
        args.extend(names.iter().map(String::as_str));
        args.extend(hostile_names.iter().map(String::as_str));
        let mut child = Child::spawn("worker", &args);
        child.expect("started");
        child
    };
    let mut workers: Vec<Child> = (0..WORKERS).map(spawn).collect();
    let mut hargs = vec![fd.as_str()];
    hargs.extend(hostile_names.iter().map(String::as_str));
    let mut hostile = Child::spawn("hostile", &hargs);
    hostile.expect("hostile");
    let mut rng = Rng(seed());
    let (mut kills, mut sweeps, mut stops) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    while start.elapsed() < run {
        std::thread::sleep(Duration::from_millis(10 + rng.below(60)));
        word(&o, PEAK).fetch_max(used(&root) - base, Ordering::Relaxed);
        match disturb(&mut rng, &mut workers, spawn) {
            Disturbance::Gc => sweeps += 1,
            Disturbance::Stop => stops += 1,
            Disturbance::Kill => kills += 1,
        }
    }
    word(&o, STOP).store(1, Ordering::SeqCst);
    for w in workers {
        w.finish();
    }
    hostile.finish();
    std::thread::sleep(Duration::from_millis(50));
    // The sweep target: with every holder gone, some process's operations drive the sweep; after
    // a pass interval plus a pass over the directory, the dead objects are gone without any gc.
    let sweep_start = Instant::now();
    let target = filemap::sweep::PASS_INTERVAL + filemap::sweep::STEP_INTERVAL * 32 + Duration::from_millis(500);
    while sweep_start.elapsed() < target {
        let (m, _) = Mapping::options().name(unique("tick")).size(4096).create().unwrap();
        drop(m);
        std::thread::sleep(filemap::sweep::STEP_INTERVAL);
    }
    let left = files(&root);
    let hostile_files: HashSet<String> = filemap::scan(Scope::Local, false)
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.header.is_err()
                || e.header.as_ref().is_ok_and(|h| h.name.as_deref().is_some_and(|n| n.contains("hostile")))
        })
        .map(|e| e.file)
        .collect();
    let clean_left: Vec<_> = left
        .iter()
        .filter(|p| !hostile_files.contains(&p.file_name().unwrap().to_string_lossy().into_owned()))
        .collect();
    let listed: u64 = left
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .sum();
    let in_use = used(&root);
    let c = |i| word(&o, i).load(Ordering::SeqCst);
    eprintln!(
        "soak {secs}s: {} cycles, {} created, {kills} SIGKILLs, {stops} SIGSTOPs, {} forks, {sweeps} gc, {} scans, \
         {} creates refused while a stopped worker released, {} opens of a free name, {} full-tmpfs failures, {} hostile-name ops ({} failed with a Win32 code), {} scribbles, \
         {} hangs, {} panics, {} violations; tmpfs peak {} KiB over base, after the sweep target {} KiB in use, \
         {} KiB in {} listed files ({} hostile)",
        c(OPS),
        c(CREATED),
        c(FORKS),
        c(SCANS),
        c(BUSY),
        c(NOT_FOUND),
        c(FULL),
        c(HOSTILE_OPS),
        c(HOSTILE_ERRS),
        c(SCRIBBLES),
        c(HANGS),
        c(PANICS),
        c(VIOLATIONS),
        c(PEAK) >> 10,
        (in_use - base) >> 10,
        listed >> 10,
        left.len(),
        hostile_files.len()
    );
    assert_eq!(c(PANICS), 0, "a worker panicked (see stderr)");
    assert_eq!(c(HANGS), 0, "an operation on a scribbled object hung (see stderr)");
    assert_eq!(c(VIOLATIONS), 0, "I1/I2 violated (see stderr)");
    assert!(c(OPS) > 50 && kills > 3 && c(FORKS) > 3 && c(SCRIBBLES) > 10, "the soak ran");
    assert!(clean_left.is_empty(), "dead clean objects left after the sweep target: {clean_left:?}");
    // Everything the tmpfs holds is in a listed file: no memory of an unreachable object.
    assert!(in_use <= base + listed + 64 * 1024, "tmpfs holds {in_use} bytes, base {base}, listed files {listed}");
}
