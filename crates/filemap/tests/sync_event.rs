//! Events across threads and processes: ping-pong, manual/auto reset, pulse, rights.

mod sync_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use filemap::Win32Error;
use filemap::sync::{Event, Rights, SyncState, WaitOutcome};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: ping name, pong name, rounds
        "pong" => {
            let ping = Event::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            let pong = Event::open(&args[1], Rights::EVENT_MODIFY_STATE).unwrap();
            let rounds: u32 = args[2].parse().unwrap();
            say("READY");
            for _ in 0..rounds {
                assert_eq!(ping.wait(Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(0));
                pong.set().unwrap();
            }
        }
        // args: event name. Waits once and reports.
        "wait-report" => {
            let ev = Event::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            say("READY");
            let o = ev.wait(Some(Duration::from_secs(30))).unwrap();
            say(&format!("OUTCOME {o:?}"));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn two_processes_ping_pong_10000_times_over_two_auto_reset_events() {
    isolated("two_processes_ping_pong_10000_times_over_two_auto_reset_events", || {
        const ROUNDS: u32 = 10_000;
        let (ping, _) = Event::options().name(name("ping")).create().unwrap();
        let (pong, _) = Event::options().name(name("pong")).create().unwrap();
        let mut h = spawn_helper("pong", &[&name("ping"), &name("pong"), &ROUNDS.to_string()]);
        h.expect_line("READY", LONG);
        let start = Instant::now();
        for i in 0..ROUNDS {
            ping.set().unwrap();
            let o = pong.wait(Some(Duration::from_secs(30))).unwrap();
            assert_eq!(o, WaitOutcome::Signaled(0), "round {i}");
        }
        let took = start.elapsed();
        h.finish(LONG);
        // Both auto-reset events end unsignaled: every set was consumed exactly once.
        assert_eq!(ping.state(), SyncState::Event { manual_reset: false, signaled: false });
        assert_eq!(pong.state(), SyncState::Event { manual_reset: false, signaled: false });
        println!("10000 round trips in {took:?} ({:?} each)", took / ROUNDS);
    });
}

#[test]
fn a_set_in_one_process_wakes_a_waiter_in_another() {
    isolated("a_set_in_one_process_wakes_a_waiter_in_another", || {
        let n = name("cross");
        let (ev, _) = Event::options().name(&n).manual_reset(true).create().unwrap();
        let mut h = spawn_helper("wait-report", &[&n]);
        h.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(100)); // let it go to sleep
        ev.set().unwrap();
        assert_eq!(h.expect_line("OUTCOME", LONG), "Signaled(0)");
        h.finish(LONG);
    });
}

fn spawn_waiters(
    ev: &Event,
    n: usize,
    timeout: Duration,
) -> (Arc<AtomicUsize>, Vec<std::thread::JoinHandle<WaitOutcome>>) {
    let started = Arc::new(AtomicUsize::new(0));
    let threads = (0..n)
        .map(|_| {
            let ev = ev.try_clone().unwrap();
            let started = started.clone();
            std::thread::spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                ev.wait(Some(timeout)).unwrap()
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < n {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(150)); // past the spin: asleep in the kernel
    (started, threads)
}

#[test]
fn a_manual_reset_event_releases_every_waiter_and_stays_signaled_until_reset() {
    isolated("a_manual_reset_event_releases_every_waiter_and_stays_signaled_until_reset", || {
        let (ev, _) = Event::options().name(name("manual")).manual_reset(true).create().unwrap();
        let (_, threads) = spawn_waiters(&ev, 3, Duration::from_secs(30));
        assert!(!ev.set().unwrap(), "set returns the previous state");
        for t in threads {
            assert_eq!(t.join().unwrap(), WaitOutcome::Signaled(0));
        }
        assert_eq!(ev.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(ev.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        assert!(ev.reset().unwrap());
        assert_eq!(ev.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::TimedOut);
    });
}

#[test]
fn an_auto_reset_event_releases_exactly_one_waiter_per_set() {
    isolated("an_auto_reset_event_releases_exactly_one_waiter_per_set", || {
        let (ev, _) = Event::options().name(name("auto")).create().unwrap();
        let (_, threads) = spawn_waiters(&ev, 3, Duration::from_secs(1));
        ev.set().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        ev.set().unwrap();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let released = outcomes.iter().filter(|o| **o == WaitOutcome::Signaled(0)).count();
        assert_eq!(released, 2, "two sets release two of three waiters: {outcomes:?}");
        assert_eq!(ev.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::TimedOut, "both sets were consumed");
    });
}

#[test]
fn an_initially_signaled_auto_reset_event_is_consumed_by_one_wait() {
    isolated("an_initially_signaled_auto_reset_event_is_consumed_by_one_wait", || {
        let (ev, _) = Event::options().initial_state(true).create().unwrap();
        assert_eq!(ev.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(ev.wait(Some(Duration::from_millis(20))).unwrap(), WaitOutcome::TimedOut);
    });
}

#[test]
fn pulse_on_a_manual_event_releases_the_current_waiters_and_leaves_it_unsignaled() {
    isolated("pulse_on_a_manual_event_releases_the_current_waiters_and_leaves_it_unsignaled", || {
        let (ev, _) = Event::options().name(name("pulse-m")).manual_reset(true).create().unwrap();
        let (_, threads) = spawn_waiters(&ev, 3, Duration::from_secs(30));
        assert!(!ev.pulse().unwrap());
        for t in threads {
            assert_eq!(t.join().unwrap(), WaitOutcome::Signaled(0));
        }
        assert_eq!(ev.state(), SyncState::Event { manual_reset: true, signaled: false });
        assert_eq!(ev.wait(Some(Duration::from_millis(50))).unwrap(), WaitOutcome::TimedOut, "a later waiter");
    });
}

#[test]
fn pulse_on_an_auto_event_releases_one_current_waiter_and_leaves_it_unsignaled() {
    isolated("pulse_on_an_auto_event_releases_one_current_waiter_and_leaves_it_unsignaled", || {
        let (ev, _) = Event::options().name(name("pulse-a")).create().unwrap();
        // Nobody waits: the pulse is lost.
        ev.pulse().unwrap();
        assert_eq!(ev.wait(Some(Duration::from_millis(20))).unwrap(), WaitOutcome::TimedOut);
        let (_, threads) = spawn_waiters(&ev, 2, Duration::from_millis(800));
        ev.pulse().unwrap();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let released = outcomes.iter().filter(|o| **o == WaitOutcome::Signaled(0)).count();
        assert_eq!(released, 1, "{outcomes:?}");
        assert_eq!(ev.state(), SyncState::Event { manual_reset: false, signaled: false });
    });
}

#[test]
fn event_rights_are_enforced() {
    isolated("event_rights_are_enforced", || {
        let n = name("rights");
        let (_ev, _) = Event::options().name(&n).manual_reset(true).create().unwrap();
        let sync_only = Event::open(&n, Rights::SYNCHRONIZE).unwrap();
        let e = sync_only.set().unwrap_err();
        assert_eq!(e.code(), Win32Error::ACCESS_DENIED);
        assert!(e.to_string().contains("set"), "{e}");
        assert_eq!(sync_only.reset().unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(sync_only.pulse().unwrap_err().code(), Win32Error::ACCESS_DENIED);
        let modify_only = Event::open(&n, Rights::EVENT_MODIFY_STATE).unwrap();
        modify_only.set().unwrap();
        assert_eq!(modify_only.wait(Some(Duration::ZERO)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(sync_only.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(Event::open(&n, Rights(0)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(Event::open(&n, Rights(4)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        let all = Event::open(&n, Rights::MAXIMUM_ALLOWED).unwrap();
        assert_eq!(all.rights(), Rights::EVENT_ALL_ACCESS);
        assert_eq!(Event::open(&name("missing"), Rights::SYNCHRONIZE).unwrap_err().code(), Win32Error::FILE_NOT_FOUND);
    });
}
