//! Named mutexes across threads and processes: mutual exclusion, recursion, ownership rules,
//! abandonment (SIGKILL and thread exit), lifetime and type conflicts.

mod sync_support;

use std::time::{Duration, Instant};

use filemap::sync::{Job, Mutex, Rights, WaitOutcome};
use filemap::{Access, Mapping, Win32Error};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: mutex name, mapping name, iterations
        "count" => {
            let m = Mutex::open(&args[0], Rights::MUTEX_ALL_ACCESS).unwrap();
            let map = Mapping::open(&args[1], Access::ALL).unwrap();
            let view = map.view(Access::ALL).unwrap();
            let n: u32 = args[2].parse().unwrap();
            for _ in 0..n {
                let g = m.lock().unwrap();
                let mut b = [0u8; 8];
                view.read_at(0, &mut b).unwrap();
                let v = u64::from_le_bytes(b) + 1;
                std::hint::black_box(&b);
                view.write_at(0, &v.to_le_bytes()).unwrap();
                drop(g);
            }
        }
        // args: mutex name, mapping name, iterations. Like "count", reporting abandonments.
        "count-report" => {
            let m = Mutex::open(&args[0], Rights::MUTEX_ALL_ACCESS).unwrap();
            let map = Mapping::open(&args[1], Access::ALL).unwrap();
            let view = map.view(Access::ALL).unwrap();
            let n: u32 = args[2].parse().unwrap();
            let mut abandoned = 0;
            for _ in 0..n {
                let g = m.lock().unwrap();
                abandoned += u32::from(g.abandoned());
                let mut b = [0u8; 8];
                view.read_at(0, &mut b).unwrap();
                view.write_at(0, &(u64::from_le_bytes(b) + 1).to_le_bytes()).unwrap();
                drop(g);
            }
            say(&format!("DONE {abandoned}"));
        }
        // args: mutex name. Takes it and waits to be killed.
        "own-and-hang" => {
            let m = Mutex::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            assert_eq!(m.acquire(Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(0));
            say("OWNED");
            std::thread::sleep(Duration::from_secs(600));
        }
        // args: mutex name. Waits for it, reports how, holds it briefly, releases.
        "acquire-report" => {
            let m = Mutex::open(&args[0], Rights::MUTEX_ALL_ACCESS).unwrap();
            say("READY");
            let outcome = m.acquire(Some(Duration::from_secs(30))).unwrap();
            say(&format!("OUTCOME {outcome:?}"));
            std::thread::sleep(Duration::from_millis(20));
            if outcome != WaitOutcome::TimedOut {
                m.release().unwrap();
            }
        }
        // args: mutex name. Holds a handle until its stdin closes... simply sleeps then exits.
        "hold-handle" => {
            let _m = Mutex::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            say("HOLDING");
            std::thread::sleep(Duration::from_millis(300));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn n_processes_increment_a_shared_counter_under_a_named_mutex_without_lost_updates() {
    isolated("n_processes_increment_a_shared_counter_under_a_named_mutex_without_lost_updates", || {
        let (m, _) = Mutex::options().name(name("counter-lock")).create().unwrap();
        let (map, _) = Mapping::options().name(name("counter")).size(4096).create().unwrap();
        let view = map.view(Access::ALL).unwrap();
        const PROCS: usize = 4;
        const ITERS: u32 = 2000;
        let helpers: Vec<_> = (0..PROCS)
            .map(|_| spawn_helper("count", &[&name("counter-lock"), &name("counter"), &ITERS.to_string()]))
            .collect();
        for h in helpers {
            h.finish(LONG);
        }
        let mut b = [0u8; 8];
        view.read_at(0, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), PROCS as u64 * u64::from(ITERS));
        assert_eq!(m.state().to_string(), "free");
    });
}

#[test]
fn a_process_killed_while_owning_abandons_the_mutex_to_exactly_one_next_owner() {
    isolated("a_process_killed_while_owning_abandons_the_mutex_to_exactly_one_next_owner", || {
        let n = name("killed");
        let (m, _) = Mutex::options().name(&n).create().unwrap();
        let mut owner = spawn_helper("own-and-hang", &[&n]);
        owner.expect_line("OWNED", LONG);
        // Two waiters in other processes, already blocked when the owner dies, and this process.
        let mut waiters: Vec<_> = (0..2).map(|_| spawn_helper("acquire-report", &[&n])).collect();
        for w in &mut waiters {
            w.expect_line("READY", LONG);
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(m.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::TimedOut);
        let killed_at = Instant::now();
        owner.sigkill();
        let mut outcomes = Vec::new();
        let mut first = None;
        for w in &mut waiters {
            let o = w.expect_line("OUTCOME", LONG);
            first.get_or_insert_with(|| killed_at.elapsed());
            outcomes.push(o);
        }
        for w in waiters {
            w.finish(LONG);
        }
        let mine = m.acquire(Some(Duration::from_secs(30))).unwrap();
        assert_ne!(mine, WaitOutcome::TimedOut);
        m.release().unwrap();
        outcomes.push(format!("{mine:?}"));
        let abandoned = outcomes.iter().filter(|o| o.starts_with("Abandoned")).count();
        assert_eq!(abandoned, 1, "exactly one next owner is told WAIT_ABANDONED: {outcomes:?}");
        assert!(outcomes.iter().all(|o| o.starts_with("Abandoned") || o == "Signaled(0)"), "{outcomes:?}");
        // Immediate on owner death; generous bound for a loaded machine.
        assert!(first.unwrap() < Duration::from_secs(5), "abandonment took {:?}", first.unwrap());
    });
}

#[test]
fn a_thread_that_exits_owning_a_mutex_abandons_it_to_exactly_one_next_owner() {
    isolated("a_thread_that_exits_owning_a_mutex_abandons_it_to_exactly_one_next_owner", || {
        let (m, _) = Mutex::options().name(name("thread-exit")).create().unwrap();
        let m2 = m.try_clone().unwrap();
        std::thread::spawn(move || {
            assert_eq!(m2.acquire(None).unwrap(), WaitOutcome::Signaled(0));
            // exits owning it (and even drops its handle)
        })
        .join()
        .unwrap();
        // A sleeping waiter in another thread and this thread race; exactly one is told.
        let (m3, _) = Mutex::options().name(name("thread-exit")).create().unwrap();
        let other = std::thread::spawn(move || {
            let o = m3.acquire(Some(Duration::from_secs(30))).unwrap();
            m3.release().unwrap();
            o
        });
        let mine = m.acquire(Some(Duration::from_secs(30))).unwrap();
        m.release().unwrap();
        let theirs = other.join().unwrap();
        let told = [mine, theirs].iter().filter(|o| matches!(o, WaitOutcome::Abandoned(0))).count();
        assert_eq!(told, 1, "{mine:?} {theirs:?}");
        assert_eq!(m.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        m.release().unwrap();
    });
}

#[test]
fn a_thread_exiting_while_another_sleeps_on_the_mutex_wakes_it_with_abandoned() {
    isolated("a_thread_exiting_while_another_sleeps_on_the_mutex_wakes_it_with_abandoned", || {
        let (m, _) = Mutex::options().name(name("sleeper")).create().unwrap();
        let m2 = m.try_clone().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let owner = std::thread::spawn(move || {
            let g = m2.lock().unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            std::mem::forget(g); // the thread exits owning it
        });
        rx.recv().unwrap();
        let start = Instant::now();
        assert_eq!(m.acquire(Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Abandoned(0));
        assert!(start.elapsed() < Duration::from_secs(10));
        owner.join().unwrap();
        m.release().unwrap();
    });
}

#[test]
fn recursive_acquisition_needs_as_many_releases() {
    isolated("recursive_acquisition_needs_as_many_releases", || {
        let (m, _) = Mutex::options().name(name("recursion")).initial_owner(true).create().unwrap();
        for _ in 0..31 {
            assert_eq!(m.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        }
        let other = m.try_clone().unwrap();
        let probe = move || {
            std::thread::spawn(move || {
                let o = other.acquire(Some(Duration::ZERO)).unwrap();
                if o != WaitOutcome::TimedOut {
                    other.release().unwrap();
                }
                o
            })
            .join()
            .unwrap()
        };
        for _ in 0..31 {
            m.release().unwrap();
        }
        assert!(m.is_owned_by_current_thread(), "32 acquisitions, 31 releases: still owned");
        m.release().unwrap();
        let e = m.release().unwrap_err();
        assert_eq!(e.code(), Win32Error::NOT_OWNER);
        assert_eq!(probe(), WaitOutcome::Signaled(0));
    });
}

#[test]
fn release_by_a_thread_that_does_not_own_the_mutex_fails_with_not_owner() {
    isolated("release_by_a_thread_that_does_not_own_the_mutex_fails_with_not_owner", || {
        let (m, _) = Mutex::options().name(name("not-owner")).create().unwrap();
        assert_eq!(m.release().unwrap_err().code(), Win32Error::NOT_OWNER);
        let _g = m.lock().unwrap();
        let m2 = m.try_clone().unwrap();
        let e = std::thread::spawn(move || m2.release().unwrap_err()).join().unwrap();
        assert_eq!(e.code(), Win32Error::NOT_OWNER);
        assert!(e.to_string().contains("synctest"), "the message names the object: {e}");
    });
}

#[test]
fn closing_the_handle_used_to_acquire_does_not_release_the_mutex() {
    isolated("closing_the_handle_used_to_acquire_does_not_release_the_mutex", || {
        let n = name("close-keeps");
        let (keep, _) = Mutex::options().name(&n).create().unwrap();
        let h = Mutex::open(&n, Rights::MUTEX_ALL_ACCESS).unwrap();
        assert_eq!(h.acquire(None).unwrap(), WaitOutcome::Signaled(0));
        drop(h);
        let probe = keep.try_clone().unwrap();
        let o = std::thread::spawn(move || probe.acquire(Some(Duration::from_millis(50))).unwrap()).join().unwrap();
        assert_eq!(o, WaitOutcome::TimedOut, "still owned by this thread");
        keep.release().unwrap(); // released through another handle, by the owning thread
        let probe = keep.try_clone().unwrap();
        let o = std::thread::spawn(move || {
            let o = probe.acquire(Some(Duration::ZERO)).unwrap();
            probe.release().unwrap();
            o
        })
        .join()
        .unwrap();
        assert_eq!(o, WaitOutcome::Signaled(0));
    });
}

#[test]
fn initial_owner_owns_a_new_mutex_and_is_ignored_for_an_existing_one() {
    isolated("initial_owner_owns_a_new_mutex_and_is_ignored_for_an_existing_one", || {
        let n = name("initial");
        let (m, created) = Mutex::options().name(&n).initial_owner(true).create().unwrap();
        assert!(!created.existed());
        assert!(m.is_owned_by_current_thread());
        let n2 = n.clone();
        let (existed, owned) = std::thread::spawn(move || {
            let (m2, c) = Mutex::options().name(&n2).initial_owner(true).create().unwrap();
            (c.existed(), m2.is_owned_by_current_thread())
        })
        .join()
        .unwrap();
        assert!(existed);
        assert!(!owned);
        m.release().unwrap();
    });
}

#[test]
fn the_name_is_freed_when_the_last_handle_closes_in_any_process() {
    isolated("the_name_is_freed_when_the_last_handle_closes_in_any_process", || {
        let n = name("lifetime");
        let (m, _) = Mutex::options().name(&n).create().unwrap();
        let m2 = Mutex::open(&n, Rights::SYNCHRONIZE).unwrap();
        drop(m);
        assert!(Mutex::open(&n, Rights::SYNCHRONIZE).is_ok());
        let mut h = spawn_helper("hold-handle", &[&n]);
        h.expect_line("HOLDING", LONG);
        drop(m2);
        assert!(Mutex::open(&n, Rights::SYNCHRONIZE).is_ok(), "the helper still holds it");
        h.finish(LONG);
        assert_eq!(Mutex::open(&n, Rights::SYNCHRONIZE).unwrap_err().code(), Win32Error::FILE_NOT_FOUND);
        // A new object of that name starts fresh.
        let (m, created) = Mutex::options().name(&n).create().unwrap();
        assert!(!created.existed());
        assert_eq!(m.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        m.release().unwrap();
    });
}

#[test]
fn a_name_held_by_another_type_fails_with_invalid_handle_for_every_pair() {
    isolated("a_name_held_by_another_type_fails_with_invalid_handle_for_every_pair", || {
        use filemap::sync::{Event, Semaphore, Timer};
        type Maker = fn(&str) -> Result<Box<dyn std::any::Any>, filemap::Error>;
        let creators: [(&str, Maker); 5] = [
            ("mapping", |n| Ok(Box::new(Mapping::options().name(n).size(4096).create()?.0))),
            ("mutex", |n| Ok(Box::new(Mutex::options().name(n).create()?.0))),
            ("semaphore", |n| Ok(Box::new(Semaphore::options().name(n).max(1).create()?.0))),
            ("event", |n| Ok(Box::new(Event::options().name(n).create()?.0))),
            ("timer", |n| Ok(Box::new(Timer::options().name(n).create()?.0))),
        ];
        let openers: [(&str, Maker); 5] = [
            ("mapping", |n| Ok(Box::new(Mapping::open(n, Access::READ)?))),
            ("mutex", |n| Ok(Box::new(Mutex::open(n, Rights::SYNCHRONIZE)?))),
            ("semaphore", |n| Ok(Box::new(Semaphore::open(n, Rights::SYNCHRONIZE)?))),
            ("event", |n| Ok(Box::new(Event::open(n, Rights::SYNCHRONIZE)?))),
            ("timer", |n| Ok(Box::new(Timer::open(n, Rights::SYNCHRONIZE)?))),
        ];
        for (holder, make) in &creators {
            let n = name(&format!("conflict-{holder}"));
            let _held = make(&n).unwrap();
            for ((other, create), (_, open)) in creators.iter().zip(&openers) {
                if other == holder {
                    continue;
                }
                let e = create(&n).err().unwrap_or_else(|| panic!("creating a {other} over a {holder} succeeded"));
                assert_eq!(e.code(), Win32Error::INVALID_HANDLE, "create {other} over {holder}: {e}");
                let e = open(&n).err().unwrap_or_else(|| panic!("opening a {holder} as a {other} succeeded"));
                assert_eq!(e.code(), Win32Error::INVALID_HANDLE, "open {other} over {holder}: {e}");
            }
            let e = Job::create(Some(&n)).unwrap_err();
            assert_eq!(e.code(), Win32Error::INVALID_HANDLE, "job over {holder}: {e}");
        }
        let e = Job::create(Some(&name("job"))).unwrap_err();
        assert_eq!(e.code(), Win32Error::NOT_SUPPORTED);
        assert_eq!(Job::create(None).unwrap_err().code(), Win32Error::NOT_SUPPORTED);
    });
}

#[test]
fn mutex_open_rights_are_checked_as_windows_does() {
    isolated("mutex_open_rights_are_checked_as_windows_does", || {
        let n = name("rights");
        let (owner, _) = Mutex::options().name(&n).create().unwrap();
        assert_eq!(Mutex::open(&n, Rights(0)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(Mutex::open(&n, Rights(2)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(Mutex::open(&n, Rights::ACCESS_SYSTEM_SECURITY).unwrap_err().code(), Win32Error::PRIVILEGE_NOT_HELD);
        let rw = Mutex::open(&n, Rights::GENERIC_READ | Rights::GENERIC_WRITE).unwrap();
        let e = rw.acquire(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.code(), Win32Error::ACCESS_DENIED, "no SYNCHRONIZE: {e}");
        let ex = Mutex::open(&n, Rights::GENERIC_EXECUTE).unwrap();
        assert_eq!(ex.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        // ReleaseMutex needs no particular right.
        let rc = Mutex::open(&n, Rights::READ_CONTROL).unwrap();
        rc.release().unwrap();
        let e = ex.duplicate(Rights::MUTEX_ALL_ACCESS, false).unwrap_err();
        assert_eq!(e.code(), Win32Error::ACCESS_DENIED);
        let d = owner.duplicate(Rights::SYNCHRONIZE, true).unwrap();
        assert!(d.is_inheritable());
        assert_eq!(d.object_id(), owner.object_id());
        assert_eq!(d.rights(), Rights::SYNCHRONIZE);
    });
}

#[test]
fn processes_killed_at_random_points_never_wedge_the_mutex() {
    isolated("processes_killed_at_random_points_never_wedge_the_mutex", || {
        let (m, _) = Mutex::options().name(name("stress-lock")).create().unwrap();
        let (map, _) = Mapping::options().name(name("stress")).size(4096).create().unwrap();
        let view = map.view(Access::ALL).unwrap();
        const SURVIVORS: u32 = 3;
        const ITERS: u32 = 3000;
        let mut survivors: Vec<_> = (0..SURVIVORS)
            .map(|_| spawn_helper("count-report", &[&name("stress-lock"), &name("stress"), &ITERS.to_string()]))
            .collect();
        let mut seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        const VICTIMS: u32 = 8;
        for _ in 0..VICTIMS {
            let victim = spawn_helper("count", &[&name("stress-lock"), &name("stress"), "100000000"]);
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(5 + seed % 40));
            victim.sigkill();
        }
        let mut told = 0u32;
        for h in &mut survivors {
            told += h.expect_line("DONE", LONG).parse::<u32>().unwrap();
        }
        for h in survivors {
            h.finish(LONG);
        }
        let last = m.acquire(Some(Duration::from_secs(10))).unwrap();
        assert_ne!(last, WaitOutcome::TimedOut, "the mutex must not be wedged");
        told += u32::from(last == WaitOutcome::Abandoned(0));
        m.release().unwrap();
        assert!(told <= VICTIMS, "at most one abandonment report per death: {told}");
        let mut b = [0u8; 8];
        view.read_at(0, &mut b).unwrap();
        assert!(u64::from_le_bytes(b) >= u64::from(SURVIVORS * ITERS));
    });
}

#[test]
fn our_mutexes_share_the_robust_list_with_glibc_robust_mutexes() {
    isolated("our_mutexes_share_the_robust_list_with_glibc_robust_mutexes", || {
        struct PMutex(*mut libc::pthread_mutex_t);
        // SAFETY: a process-shared robust pthread mutex may be used from any thread.
        #[allow(unsafe_code)]
        unsafe impl Send for PMutex {}
        #[allow(unsafe_code)]
        fn pmutex() -> PMutex {
            // SAFETY: a leaked, zeroed, properly aligned pthread_mutex_t initialised as a
            // robust mutex before any use; the attribute object lives across the calls.
            unsafe {
                let m: *mut libc::pthread_mutex_t = Box::into_raw(Box::new(std::mem::zeroed()));
                let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
                assert_eq!(libc::pthread_mutexattr_init(&mut attr), 0);
                assert_eq!(libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST), 0);
                assert_eq!(libc::pthread_mutex_init(m, &attr), 0);
                PMutex(m)
            }
        }
        #[allow(unsafe_code)]
        fn plock(m: &PMutex) -> i32 {
            // SAFETY: `m` is an initialised robust mutex that is never freed.
            unsafe { libc::pthread_mutex_lock(m.0) }
        }
        #[allow(unsafe_code)]
        fn punlock(m: &PMutex) {
            // SAFETY: as above; the calling thread owns it.
            unsafe {
                libc::pthread_mutex_unlock(m.0);
            }
        }
        #[allow(unsafe_code)]
        fn pconsistent(m: &PMutex) {
            // SAFETY: as above; the calling thread owns it after EOWNERDEAD.
            unsafe {
                libc::pthread_mutex_consistent(m.0);
            }
        }
        let (a, b) = (pmutex(), pmutex());
        let (m1, _) = Mutex::options().name(name("robust-1")).create().unwrap();
        let (m2, _) = Mutex::options().name(name("robust-2")).create().unwrap();
        let (t1, t2) = (m1.try_clone().unwrap(), m2.try_clone().unwrap());
        let (a, b) = std::thread::spawn(move || {
            // Interleave links and unlinks of both kinds, then die owning one of each kind
            // (and a recursive one), with glibc nodes on both sides of ours.
            assert_eq!(plock(&a), 0);
            assert_eq!(t1.acquire(None).unwrap(), WaitOutcome::Signaled(0));
            assert_eq!(plock(&b), 0);
            assert_eq!(t2.acquire(None).unwrap(), WaitOutcome::Signaled(0));
            punlock(&a); // glibc unlinks a node whose neighbours are ours
            t1.release().unwrap(); // we unlink a node whose neighbour is glibc's
            assert_eq!(t1.acquire(None).unwrap(), WaitOutcome::Signaled(0));
            assert_eq!(t1.acquire(None).unwrap(), WaitOutcome::Signaled(0));
            (a, b) // exits owning b, m1 (twice) and m2
        })
        .join()
        .unwrap();
        assert_eq!(plock(&a), 0, "a was released properly");
        punlock(&a);
        assert_eq!(plock(&b), libc::EOWNERDEAD, "glibc still sees its own abandonment");
        pconsistent(&b);
        punlock(&b);
        assert_eq!(m1.acquire(Some(Duration::from_secs(10))).unwrap(), WaitOutcome::Abandoned(0));
        assert_eq!(m2.acquire(Some(Duration::from_secs(10))).unwrap(), WaitOutcome::Abandoned(0));
        m1.release().unwrap();
        m2.release().unwrap();
    });
}
