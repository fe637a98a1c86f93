//! Waits on many objects: wait-any consumes only the lowest signaled object, wait-all takes all
//! or nothing (mutexes included), limits, rights, abandoned indices, processes.

mod sync_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use filemap::Win32Error;
use filemap::sync::{
    DueTime, Event, Mutex, Process, Rights, Semaphore, SyncState, Timer, WaitOutcome, Waitable, wait_all, wait_any,
};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);
const NOW: Option<Duration> = Some(Duration::ZERO);

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: semaphore a, semaphore b. Waits for both at once, reports.
        "wait-all" => {
            let a = Semaphore::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            let b = Semaphore::open(&args[1], Rights::SYNCHRONIZE).unwrap();
            say("READY");
            let o = wait_all(&[&a, &b], Some(Duration::from_secs(30))).unwrap();
            say(&format!("OUTCOME {o:?}"));
        }
        other => panic!("unknown role {other}"),
    }
}

/// Locks `m` (a clone of the handle) in a new thread and returns once that thread owns it; a
/// send on the returned channel makes it release, then the thread ends.
fn hold_in_another_thread(m: &Mutex) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let m2 = m.try_clone().unwrap();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let owner = std::thread::spawn(move || {
        let g = m2.lock().unwrap();
        held_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        drop(g);
    });
    held_rx.recv().unwrap();
    (go_tx, owner)
}

/// Events made one after another keep their state words at different offsets of their pages
/// (`filemap::sync_area_offset`), so a wait over many of them does not pile every word into one
/// set of the L1 cache.
#[test]
fn the_state_words_of_many_events_spread_over_the_cache_lines_of_a_page() {
    isolated("the_state_words_of_many_events_spread_over_the_cache_lines_of_a_page", || {
        let events: Vec<Event> =
            (0..64).map(|i| Event::options().name(name(&format!("spread{i}"))).create().unwrap().0).collect();
        let lines: std::collections::BTreeSet<usize> = events
            .iter()
            .map(|e| {
                let (word, _) = e.probe().state_word().expect("an event's probe has a state word");
                (word as *const std::sync::atomic::AtomicU64 as usize % filemap::PAGE_SIZE) / 64
            })
            .collect();
        assert!(lines.len() >= 12, "64 events' state words sit on only {} lines of a page: {lines:?}", lines.len());
    });
}

#[test]
fn wait_any_returns_the_lowest_signaled_index_and_consumes_only_that_object() {
    isolated("wait_any_returns_the_lowest_signaled_index_and_consumes_only_that_object", || {
        let (a, _) = Event::options().name(name("a")).create().unwrap();
        let (b, _) = Event::options().name(name("b")).initial_state(true).create().unwrap();
        let (c, _) = Event::options().name(name("c")).initial_state(true).create().unwrap();
        let (s, _) = Semaphore::options().name(name("s")).initial(2).max(2).create().unwrap();
        assert_eq!(wait_any(&[&a, &b, &c, &s], NOW).unwrap(), WaitOutcome::Signaled(1));
        assert_eq!(b.state(), SyncState::Event { manual_reset: false, signaled: false });
        assert_eq!(c.state(), SyncState::Event { manual_reset: false, signaled: true }, "c left signaled");
        assert_eq!(s.state(), SyncState::Semaphore { count: 2, max: 2 }, "s untouched");
        assert_eq!(wait_any(&[&a, &b, &c, &s], NOW).unwrap(), WaitOutcome::Signaled(2));
        assert_eq!(wait_any(&[&a, &b, &c, &s], NOW).unwrap(), WaitOutcome::Signaled(3));
        assert_eq!(s.state(), SyncState::Semaphore { count: 1, max: 2 });
        assert_eq!(wait_any(&[&a, &b, &c], NOW).unwrap(), WaitOutcome::TimedOut);
        // A sleeping wait-any is woken by a later object.
        let c2 = c.try_clone().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            c2.set().unwrap();
        });
        let start = Instant::now();
        assert_eq!(wait_any(&[&a, &b, &c], Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(2));
        assert!(start.elapsed() >= Duration::from_millis(90));
        t.join().unwrap();
    });
}

#[test]
fn waits_accept_1_to_64_objects_and_refuse_0_or_65() {
    isolated("waits_accept_1_to_64_objects_and_refuse_0_or_65", || {
        let events: Vec<Event> = (0..65).map(|_| Event::options().manual_reset(true).create().unwrap().0).collect();
        let refs: Vec<&dyn Waitable> = events.iter().map(|e| e as &dyn Waitable).collect();
        for f in [wait_any, wait_all] {
            assert_eq!(f(&[], NOW).unwrap_err().code(), Win32Error::INVALID_PARAMETER);
            assert_eq!(f(&refs, NOW).unwrap_err().code(), Win32Error::INVALID_PARAMETER);
            assert_eq!(f(&refs[..64], NOW).unwrap(), WaitOutcome::TimedOut);
        }
        events[63].set().unwrap();
        assert_eq!(wait_any(&refs[..64], NOW).unwrap(), WaitOutcome::Signaled(63));
        for e in &events[..64] {
            e.set().unwrap();
        }
        assert_eq!(wait_all(&refs[..64], NOW).unwrap(), WaitOutcome::Signaled(0));
    });
}

#[test]
fn wait_all_consumes_nothing_unless_everything_is_signaled() {
    isolated("wait_all_consumes_nothing_unless_everything_is_signaled", || {
        let (s, _) = Semaphore::options().name(name("s")).initial(1).max(1).create().unwrap();
        let (e, _) = Event::options().name(name("e")).create().unwrap();
        let (m, _) = Mutex::options().name(name("m")).create().unwrap();
        assert_eq!(wait_all(&[&s, &e, &m], Some(Duration::from_millis(30))).unwrap(), WaitOutcome::TimedOut);
        assert_eq!(s.state(), SyncState::Semaphore { count: 1, max: 1 }, "semaphore not consumed");
        assert!(!m.is_owned_by_current_thread(), "mutex not kept");
        e.set().unwrap();
        // The mutex owned by another thread blocks the whole wait; nothing is consumed.
        let (go_tx, owner) = hold_in_another_thread(&m);
        assert_eq!(wait_all(&[&s, &e, &m], Some(Duration::from_millis(30))).unwrap(), WaitOutcome::TimedOut);
        assert_eq!(s.state(), SyncState::Semaphore { count: 1, max: 1 });
        assert_eq!(e.state(), SyncState::Event { manual_reset: false, signaled: true });
        // Once the owner releases, a sleeping wait-all takes all three at once.
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            go_tx.send(()).unwrap();
        });
        assert_eq!(wait_all(&[&s, &e, &m], Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(s.state(), SyncState::Semaphore { count: 0, max: 1 });
        assert_eq!(e.state(), SyncState::Event { manual_reset: false, signaled: false });
        assert!(m.is_owned_by_current_thread());
        m.release().unwrap();
        owner.join().unwrap();
        release.join().unwrap();
    });
}

#[test]
fn wait_all_refuses_the_same_object_twice() {
    isolated("wait_all_refuses_the_same_object_twice", || {
        let (e, _) = Event::options().name(name("dup")).manual_reset(true).initial_state(true).create().unwrap();
        let e2 = Event::open(&name("dup"), Rights::SYNCHRONIZE).unwrap();
        assert_eq!(wait_all(&[&e, &e2], NOW).unwrap_err().code(), Win32Error::INVALID_PARAMETER);
        assert_eq!(wait_any(&[&e, &e2], NOW).unwrap(), WaitOutcome::Signaled(0), "wait-any allows it");
    });
}

#[test]
fn wait_all_is_atomic_against_competing_waiters_in_other_processes() {
    isolated("wait_all_is_atomic_against_competing_waiters_in_other_processes", || {
        // A wait-all on (a, b) in a helper races wait-anys on a and b here. Units are conserved:
        // every unit released is taken exactly once, and the wait-all never holds half.
        let (a, _) = Semaphore::options().name(name("a")).max(1000).create().unwrap();
        let (b, _) = Semaphore::options().name(name("b")).max(1000).create().unwrap();
        let mut h = spawn_helper("wait-all", &[&name("a"), &name("b")]);
        h.expect_line("READY", LONG);
        let stop = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(AtomicU64::new(0));
        let thieves: Vec<_> = [a.try_clone().unwrap(), b.try_clone().unwrap()]
            .into_iter()
            .map(|s| {
                let stop = stop.clone();
                let taken = taken.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        if s.wait(Some(Duration::from_millis(1))).unwrap() == WaitOutcome::Signaled(0) {
                            taken.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        // Release units on both while the thieves compete with the helper's wait-all.
        let mut released = 0u64;
        for _ in 0..300 {
            a.release(1).unwrap();
            b.release(1).unwrap();
            released += 2;
            std::thread::sleep(Duration::from_micros(200));
        }
        stop.store(true, Ordering::SeqCst);
        for t in thieves {
            t.join().unwrap();
        }
        // Now nobody else competes: the wait-all (if still waiting) takes this pair.
        a.release(1).unwrap();
        b.release(1).unwrap();
        released += 2;
        let outcome = h.expect_line("OUTCOME", LONG);
        h.finish(LONG);
        assert_eq!(outcome, "Signaled(0)");
        let count = |s: &Semaphore| match s.state() {
            SyncState::Semaphore { count, .. } => u64::from(count),
            _ => unreachable!(),
        };
        let left = count(&a) + count(&b);
        assert_eq!(released, taken.load(Ordering::SeqCst) + 2 + left, "every unit accounted for");
    });
}

#[test]
fn wait_any_gives_a_due_timer_at_a_lower_index_precedence_over_a_signaled_event() {
    // A timer's state word says "unsignaled" until a wait fires it when due: a first pass that
    // only looked at state words would pick the event at index 1.
    isolated("wait_any_gives_a_due_timer_at_a_lower_index_precedence_over_a_signaled_event", || {
        let (t, _) = Timer::options().name(name("t")).create().unwrap();
        let (e, _) = Event::options().name(name("e")).initial_state(true).create().unwrap();
        t.set(DueTime::Relative(Duration::from_millis(20)), None).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(wait_any(&[&t, &e], NOW).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(e.state(), SyncState::Event { manual_reset: false, signaled: true }, "the event is left");
        assert_eq!(wait_any(&[&t, &e], NOW).unwrap(), WaitOutcome::Signaled(1));
    });
}

#[test]
fn waiting_needs_synchronize_on_every_handle() {
    isolated("waiting_needs_synchronize_on_every_handle", || {
        let (e, _) = Event::options().name(name("r")).manual_reset(true).initial_state(true).create().unwrap();
        let no_sync = Event::open(&name("r"), Rights::EVENT_MODIFY_STATE).unwrap();
        let e1 = wait_any(&[&e, &no_sync], NOW).unwrap_err();
        assert_eq!(e1.code(), Win32Error::ACCESS_DENIED);
        assert!(e1.to_string().contains("wait"), "{e1}");
        assert_eq!(wait_all(&[&no_sync], NOW).unwrap_err().code(), Win32Error::ACCESS_DENIED);
    });
}

/// Wait-any's first pass reads a mutex's word: free is taken; owned by this thread is taken
/// again (recursion, as `WaitForMultipleObjects` does); owned by another thread is skipped for a
/// later index, or the wait times out.
#[test]
fn wait_any_takes_a_free_or_own_mutex_and_skips_another_threads() {
    isolated("wait_any_takes_a_free_or_own_mutex_and_skips_another_threads", || {
        let (e, _) = Event::options().manual_reset(true).create().unwrap();
        let (m, _) = Mutex::options().name(name("own")).create().unwrap();
        assert_eq!(wait_any(&[&e, &m], NOW).unwrap(), WaitOutcome::Signaled(1), "free: taken");
        assert_eq!(wait_any(&[&e, &m], NOW).unwrap(), WaitOutcome::Signaled(1), "ours: taken again");
        m.release().unwrap();
        m.release().unwrap();
        assert_eq!(m.release().unwrap_err().code(), Win32Error::NOT_OWNER, "two levels, two releases");
        let (go_tx, owner) = hold_in_another_thread(&m);
        assert_eq!(wait_any(&[&m, &e], NOW).unwrap(), WaitOutcome::TimedOut, "another thread's");
        e.set().unwrap();
        assert_eq!(wait_any(&[&m, &e], NOW).unwrap(), WaitOutcome::Signaled(1));
        go_tx.send(()).unwrap();
        owner.join().unwrap();
        assert_eq!(wait_any(&[&m, &e], NOW).unwrap(), WaitOutcome::Signaled(0), "released: free");
        m.release().unwrap();
    });
}

#[test]
fn wait_any_reports_an_abandoned_mutex_at_its_index() {
    isolated("wait_any_reports_an_abandoned_mutex_at_its_index", || {
        let (e, _) = Event::options().create().unwrap();
        let (m, _) = Mutex::options().name(name("ab")).create().unwrap();
        let m2 = m.try_clone().unwrap();
        std::thread::spawn(move || std::mem::forget(m2.lock().unwrap())).join().unwrap();
        assert_eq!(wait_any(&[&e, &m], Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Abandoned(1));
        assert_eq!(WaitOutcome::Abandoned(1).to_win32(), 0x81);
        m.release().unwrap();
        // In wait-all, the abandoned index is reported with all objects acquired.
        let m3 = m.try_clone().unwrap();
        std::thread::spawn(move || std::mem::forget(m3.lock().unwrap())).join().unwrap();
        e.set().unwrap();
        assert_eq!(wait_all(&[&e, &m], Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Abandoned(1));
        m.release().unwrap();
    });
}

#[test]
fn a_child_process_is_waitable_and_reports_its_exit_code() {
    isolated("a_child_process_is_waitable_and_reports_its_exit_code", || {
        let child = std::process::Command::new("sh").args(["-c", "sleep 0.2; exit 7"]).spawn().unwrap();
        let p = Process::from_child(child).unwrap();
        assert_eq!(p.exit_code(), None);
        let (e, _) = Event::options().create().unwrap();
        assert_eq!(wait_any(&[&e, &p], Some(Duration::from_millis(10))).unwrap(), WaitOutcome::TimedOut);
        assert_eq!(wait_any(&[&e, &p], Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(1));
        assert_eq!(p.exit_code(), Some(7));
        assert_eq!(p.wait(NOW).unwrap(), WaitOutcome::Signaled(0), "a process stays signaled");
        e.set().unwrap();
        assert_eq!(wait_all(&[&p, &e], NOW).unwrap(), WaitOutcome::Signaled(0));
    });
}
