//! Stress: several processes create, open, write and close the same few names concurrently
//! while the parent SIGKILLs them at random, stops (`SIGSTOP`) and continues them at random, and
//! runs `gc`; the workers fork children that hold their handles for a while (closing them, or
//! exiting without closing), and a lister process lists the namespace in a loop. Proves I1–I3
//! and S7: no process ever gets a fresh object under a name that another live process (forked
//! children included) holds a handle to, a stopped process never hangs the others (a create may
//! fail with `ERROR_SHARING_VIOLATION` for the name it was releasing), and nothing is left once
//! the last holder is gone.
//!
//! The oracle is an unnamed mapping every worker inherits: per worker its pid and, per name, the
//! inode of the object it currently holds (set after acquiring, cleared before closing). After
//! each acquire a worker compares its object with what the other workers hold. A different
//! inode held by another worker is a violation if that worker is alive and later clears the
//! slot itself (it really held the other object at the same time); a worker that dies with the
//! slot set is inconclusive (the kernel may have released its handle just before we looked).

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{
    Child, Disturbance, Rng, alive, assert_code, child_main as run_child, disturb, oracle_word as word, seed, setup,
    unique,
};
use filemap::{Access, Created, Mapping, Scope, Win32Error};

const WORKERS: usize = 4;
const NAMES: usize = 3;
const RUN: Duration = Duration::from_secs(4);
// oracle layout, in u64 words
const STOP: usize = 0;
const VIOLATIONS: usize = 1;
const OPS: usize = 2;
const CREATED: usize = 3;
const FORKS: usize = 4;
const BUSY: usize = 5;
const SLOTS: usize = 8;
const SLOT_WORDS: usize = 1 + NAMES;
/// Slots 0..WORKERS are the workers'; WORKERS..2*WORKERS their current forked children's.
const ALL_SLOTS: usize = 2 * WORKERS;

#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

fn slot(w: usize, n: usize) -> usize {
    SLOTS + w * SLOT_WORDS + 1 + n
}

fn dispatch(role: &str, args: &[String]) {
    if role == "lister" {
        // Lists the namespace (never reclaiming) until its stdin closes.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while common::hear().is_some() {}
            flag.store(true, Ordering::Relaxed);
        });
        common::say("listing");
        while !stop.load(Ordering::Relaxed) {
            filemap::scan(Scope::Local, false).expect("list");
        }
        return;
    }
    assert_eq!(role, "worker");
    let fd: i32 = args[0].parse().unwrap();
    let me: usize = args[1].parse().unwrap();
    let names = &args[2..];
    // SAFETY: the parent passed the oracle's inheritable descriptor for us to adopt.
    let oracle = unsafe { Mapping::from_inherited_fd(fd) }.expect("adopt oracle");
    let o = oracle.view(Access::WRITE).unwrap();
    for n in 0..NAMES {
        word(&o, slot(me, n)).store(0, Ordering::SeqCst);
    }
    word(&o, SLOTS + me * SLOT_WORDS).store(u64::from(std::process::id()), Ordering::SeqCst);
    common::say("started");
    let fork_slot = WORKERS + me;
    for n in 0..NAMES {
        word(&o, slot(fork_slot, n)).store(0, Ordering::SeqCst);
    }
    let mut rng = Rng(seed());
    let mut forked: Option<libc::pid_t> = None;
    while word(&o, STOP).load(Ordering::SeqCst) == 0 {
        if let Some(pid) = forked {
            // SAFETY: reaping our own child without blocking; a null status pointer is allowed.
            if unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } != 0 {
                forked = None;
            }
        }
        let n = rng.below(NAMES as u64) as usize;
        let acquired = if rng.below(3) == 0 {
            match Mapping::open(&names[n], Access::ALL) {
                Ok(m) => Some((m, Created::Existing)),
                Err(e) if e.code() == Win32Error::FILE_NOT_FOUND => None,
                Err(e) => panic!("open failed: {e}"),
            }
        } else {
            match Mapping::options().name(&names[n]).size(8192).create() {
                Ok(acquired) => Some(acquired),
                // A stopped worker was releasing this name: only this name, only for a while.
                Err(e) if e.code() == Win32Error::SHARING_VIOLATION => {
                    word(&o, BUSY).fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(e) => panic!("create failed: {e}"),
            }
        };
        let Some((m, created)) = acquired else { continue };
        let ino = m.object_id().1;
        word(&o, slot(me, n)).store(ino, Ordering::SeqCst);
        if created == Created::New {
            word(&o, CREATED).fetch_add(1, Ordering::Relaxed);
        }
        if forked.is_none() && rng.below(8) == 0 {
            let hold = Duration::from_micros(rng.below(3000));
            let close_first = rng.below(2) == 0;
            // SAFETY: the child only stores to the shared oracle, sleeps, drops the handle (the
            // library's fork handlers gave it its own descriptor) and leaves with `_exit`.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                word(&o, SLOTS + fork_slot * SLOT_WORDS).store(u64::from(std::process::id()), Ordering::SeqCst);
                word(&o, slot(fork_slot, n)).store(ino, Ordering::SeqCst);
                std::thread::sleep(hold);
                word(&o, slot(fork_slot, n)).store(0, Ordering::SeqCst);
                if close_first {
                    drop(m);
                }
                // SAFETY: leaving the forked child without running the worker's destructors.
                unsafe { libc::_exit(0) };
            }
            if pid > 0 {
                forked = Some(pid);
                word(&o, FORKS).fetch_add(1, Ordering::Relaxed);
            }
        }
        for other in (0..ALL_SLOTS).filter(|&w| w != me && w != fork_slot) {
            let theirs = word(&o, slot(other, n)).load(Ordering::SeqCst);
            if theirs == 0 || theirs == ino {
                continue;
            }
            let pid = word(&o, SLOTS + other * SLOT_WORDS).load(Ordering::SeqCst);
            // Wait until the other worker either clears the slot itself (a real overlap) or dies.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if !alive(pid) {
                    break; // inconclusive: killed while holding
                }
                if word(&o, slot(other, n)).load(Ordering::SeqCst) != theirs {
                    if alive(pid) {
                        eprintln!(
                            "VIOLATION: worker {me} holds inode {ino} of {}; live worker {other} (pid {pid}) held inode {theirs}",
                            names[n]
                        );
                        word(&o, VIOLATIONS).fetch_add(1, Ordering::SeqCst);
                    }
                    break;
                }
                if Instant::now() > deadline {
                    eprintln!("VIOLATION: worker {other} (pid {pid}) holds inode {theirs} of {} for 5 s", names[n]);
                    word(&o, VIOLATIONS).fetch_add(1, Ordering::SeqCst);
                    break;
                }
                std::thread::yield_now();
            }
        }
        let view = m.view(Access::WRITE).unwrap();
        view.atomic_u64(0).unwrap().fetch_add(1, Ordering::SeqCst);
        if rng.below(2) == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(1500)));
        }
        word(&o, slot(me, n)).store(0, Ordering::SeqCst);
        drop(view);
        drop(m);
        word(&o, OPS).fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn concurrent_create_open_close_with_random_sigkills_keeps_names_and_memory_right() {
    setup();
    let names: Vec<String> = (0..NAMES).map(|_| unique("stress")).collect();
    let (oracle, _) =
        Mapping::options().size(((SLOTS + ALL_SLOTS * SLOT_WORDS) * 8) as u64).inheritable(true).create().unwrap();
    let o = oracle.view(Access::WRITE).unwrap();
    let fd = oracle.inheritable_fd().unwrap().to_string();
    let spawn = |w: usize| {
        let mut args = vec![fd.as_str()];
        let index = w.to_string();
        args.push(&index);
        args.extend(names.iter().map(String::as_str));
        let mut child = Child::spawn("worker", &args);
        child.expect("started");
        child
    };
    let mut workers: Vec<Child> = (0..WORKERS).map(spawn).collect();
    let mut lister = Child::spawn("lister", &[]);
    lister.expect("listing");
    let mut rng = Rng(seed());
    let mut kills = 0;
    let mut sweeps = 0;
    let mut stops = 0;
    let start = Instant::now();
    while start.elapsed() < RUN {
        std::thread::sleep(Duration::from_millis(10 + rng.below(60)));
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
    lister.finish();
    // Forked children hold for at most 3 ms; let the last ones go.
    std::thread::sleep(Duration::from_millis(50));
    let ops = word(&o, OPS).load(Ordering::SeqCst);
    let created = word(&o, CREATED).load(Ordering::SeqCst);
    let forks = word(&o, FORKS).load(Ordering::SeqCst);
    let busy = word(&o, BUSY).load(Ordering::SeqCst);
    eprintln!(
        "stress: {ops} completed cycles, {created} objects created, {kills} SIGKILLs, {stops} SIGSTOPs, \
         {forks} forks, {busy} creates refused while a stopped worker released the name, {sweeps} gc sweeps"
    );
    assert!(forks > 10 && stops > 3, "forks and stops happened: {forks} forks, {stops} stops");
    assert_eq!(word(&o, VIOLATIONS).load(Ordering::SeqCst), 0, "I1/I2 violated (see stderr)");
    assert!(ops > 100 && kills > 10, "the stress actually ran: {ops} cycles, {kills} kills");
    // I2/I3: with every worker gone, no name resolves and nothing is left after gc.
    for name in &names {
        assert_code(Mapping::open(name, Access::READ), Win32Error::FILE_NOT_FOUND);
    }
    filemap::scan(Scope::Local, true).unwrap();
    let left: Vec<_> = filemap::scan(Scope::Local, false)
        .unwrap()
        .into_iter()
        .filter(|e| e.header.as_ref().is_ok_and(|h| names.iter().any(|n| h.name.as_deref() == Some(n.as_str()))))
        .collect();
    assert!(left.is_empty(), "leftovers: {left:?}");
}
