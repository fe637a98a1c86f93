//! Hand-off: a release gives the object to the oldest waiter, as Windows' dispatcher does, so
//! `for (;;) { wait; work; release; }` in two processes alternates strictly (mutex, semaphore of
//! maximum 1, auto-reset event; single waits and wait-any). A chosen waiter that is killed before
//! it takes its grant does not strand the object: the grant passes on (a mutex as abandoned).

mod sync_support;

use std::time::{Duration, Instant};

use filemap::sync::{Event, Mutex, Rights, Semaphore, WaitOutcome, Waitable, wait_all, wait_any};
use filemap::{Access, Mapping};
use sync_support::{Helper, helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);
/// How long each turn holds the object: far longer than a release-to-queue round of the other
/// side, so that any re-acquisition by the releaser is barging, not a scheduling accident.
const HOLD: Duration = Duration::from_millis(15);
const TURNS: usize = 12;

/// An object of one of the three kinds, opened by name, used as a lock.
enum Lock {
    Mutex(Mutex),
    Semaphore(Semaphore),
    Event(Event),
}

impl Lock {
    fn open(kind: &str, n: &str) -> Lock {
        match kind {
            "mutex" => Lock::Mutex(Mutex::open(n, Rights::MUTEX_ALL_ACCESS).unwrap()),
            "semaphore" => Lock::Semaphore(Semaphore::open(n, Rights::SEMAPHORE_ALL_ACCESS).unwrap()),
            "event" => Lock::Event(Event::open(n, Rights::EVENT_ALL_ACCESS).unwrap()),
            other => panic!("kind {other}"),
        }
    }

    fn waitable(&self) -> &dyn Waitable {
        match self {
            Lock::Mutex(m) => m,
            Lock::Semaphore(s) => s,
            Lock::Event(e) => e,
        }
    }

    fn release(&self) {
        match self {
            Lock::Mutex(m) => m.release().unwrap(),
            Lock::Semaphore(s) => {
                s.release(1).unwrap();
            }
            Lock::Event(e) => {
                e.set().unwrap();
            }
        }
    }
}

/// Creates the object held (owned / count 0 / unsignaled) by this process.
fn create_held(kind: &str, n: &str) -> Lock {
    match kind {
        "mutex" => Lock::Mutex(Mutex::options().name(n).initial_owner(true).create().unwrap().0),
        "semaphore" => Lock::Semaphore(Semaphore::options().name(n).max(1).create().unwrap().0),
        "event" => Lock::Event(Event::options().name(n).create().unwrap().0),
        other => panic!("kind {other}"),
    }
}

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: kind, object name, log mapping name, turns, side letter, "one"|"any".
        // The loop of the published reader/writer demos: wait; work (append to the log); release.
        "alternate" => {
            let lock = Lock::open(&args[0], &args[1]);
            let map = Mapping::open(&args[2], Access::ALL).unwrap();
            let view = map.view(Access::ALL).unwrap();
            let turns: usize = args[3].parse().unwrap();
            let side = args[4].as_bytes()[0];
            let (other, _) = Event::options().manual_reset(true).create().unwrap(); // never signaled
            say("READY");
            for _ in 0..turns {
                let got = if args[5] == "any" {
                    wait_any(&[&other, lock.waitable()], Some(LONG)).unwrap()
                } else {
                    wait_any(&[lock.waitable()], Some(LONG)).unwrap()
                };
                let expected = if args[5] == "any" { 1 } else { 0 };
                assert_eq!(got, WaitOutcome::Signaled(expected));
                let mut b = [0u8; 4];
                view.read_at(0, &mut b).unwrap();
                let at = u32::from_le_bytes(b);
                view.write_at(8 + at as usize, &[side]).unwrap();
                view.write_at(0, &(at + 1).to_le_bytes()).unwrap();
                std::thread::sleep(HOLD);
                lock.release();
            }
            say("DONE");
        }
        // args: kind, object name. Waits (once), reports how, holds briefly, releases.
        "wait-report" => {
            let lock = Lock::open(&args[0], &args[1]);
            say("READY");
            let outcome = lock.waitable().wait_dyn(Some(LONG));
            say(&format!("OUTCOME {outcome:?}"));
            if outcome != WaitOutcome::TimedOut {
                std::thread::sleep(Duration::from_millis(20));
                lock.release();
            }
        }
        // args: mutex name, log mapping name, start semaphore name. Side B of the corpus
        // program `alternation.c`: opens (CreateMutex, not owning), waits for the start
        // semaphore, then 10 x { WaitForSingleObject(mutex); append 'B'; ReleaseMutex }.
        "corpus-b" => {
            let (mutex, _) = Mutex::options().name(&args[0]).create().unwrap();
            let (map, _) = Mapping::options().name(&args[1]).size(4096).create().unwrap();
            let view = map.view(Access::ALL).unwrap();
            let (start, _) = Semaphore::options().name(&args[2]).max(2).create().unwrap();
            say("READY");
            assert_eq!(start.wait(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
            for _ in 0..CORPUS_TURNS {
                assert_eq!(mutex.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
                append(&view, b'B');
                mutex.release().unwrap();
            }
            say("DONE");
        }
        // args: mutex name, semaphore name, log mapping name, turns, side letter. The loop of
        // the turns program through WaitForMultipleObjects(bWaitAll = TRUE): wait for both;
        // work; release the semaphore, then the mutex.
        "alternate-all" => {
            let m = Mutex::open(&args[0], Rights::MUTEX_ALL_ACCESS).unwrap();
            let s = Semaphore::open(&args[1], Rights::SEMAPHORE_ALL_ACCESS).unwrap();
            let map = Mapping::open(&args[2], Access::ALL).unwrap();
            let view = map.view(Access::ALL).unwrap();
            let turns: usize = args[3].parse().unwrap();
            let side = args[4].as_bytes()[0];
            say("READY");
            for _ in 0..turns {
                assert_eq!(wait_all(&[&m, &s], Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
                append(&view, side);
                std::thread::sleep(HOLD);
                s.release(1).unwrap();
                m.release().unwrap();
            }
            say("DONE");
        }
        // args: mutex name, semaphore name. One wait for both; reports how; holds; releases.
        "wait-all-report" => {
            let m = Mutex::open(&args[0], Rights::MUTEX_ALL_ACCESS).unwrap();
            let s = Semaphore::open(&args[1], Rights::SEMAPHORE_ALL_ACCESS).unwrap();
            say("READY");
            let outcome = wait_all(&[&m, &s], Some(LONG)).unwrap();
            say(&format!("OUTCOME {outcome:?}"));
            if outcome != WaitOutcome::TimedOut {
                std::thread::sleep(Duration::from_millis(20));
                s.release(1).unwrap();
                m.release().unwrap();
            }
        }
        other => panic!("unknown role {other}"),
    }
}

const CORPUS_TURNS: usize = 10;

/// Appends `side` to the turn log (count at 0, letters from 8).
fn append(view: &filemap::View, side: u8) {
    let mut b = [0u8; 4];
    view.read_at(0, &mut b).unwrap();
    let at = u32::from_le_bytes(b);
    view.write_at(8 + at as usize, &[side]).unwrap();
    view.write_at(0, &(at + 1).to_le_bytes()).unwrap();
}

trait WaitDyn {
    fn wait_dyn(&self, t: Option<Duration>) -> WaitOutcome;
}
impl WaitDyn for dyn Waitable + '_ {
    fn wait_dyn(&self, t: Option<Duration>) -> WaitOutcome {
        wait_any(&[self], t).unwrap()
    }
}

/// Two processes loop on the object; returns the order in which they held it.
fn alternation(kind: &str, mode: &str) -> String {
    let n = name(&format!("alt-{kind}-{mode}"));
    let log = name(&format!("alt-log-{kind}-{mode}"));
    let lock = create_held(kind, &n);
    let (map, _) = Mapping::options().name(&log).size(4096).create().unwrap();
    let view = map.view(Access::ALL).unwrap();
    let turns = TURNS.to_string();
    let mut a = spawn_helper("alternate", &[kind, &n, &log, &turns, "A", mode]);
    a.expect_line("READY", LONG);
    std::thread::sleep(Duration::from_millis(100));
    let mut b = spawn_helper("alternate", &[kind, &n, &log, &turns, "B", mode]);
    b.expect_line("READY", LONG);
    std::thread::sleep(Duration::from_millis(100));
    lock.release(); // both wait now: the object goes to A (oldest), then they alternate
    for h in [&mut a, &mut b] {
        h.expect_line("DONE", LONG);
    }
    a.finish(LONG);
    b.finish(LONG);
    read_order(&view)
}

fn assert_alternates(kind: &str, mode: &str) {
    let order = alternation(kind, mode);
    assert_eq!(order.len(), 2 * TURNS, "{order}");
    let expected: String = "AB".repeat(TURNS);
    assert_eq!(order, expected, "{kind} ({mode}): the releaser must not take the object back from a waiter");
}

#[test]
fn two_processes_looping_on_a_mutex_alternate_strictly() {
    isolated("two_processes_looping_on_a_mutex_alternate_strictly", || assert_alternates("mutex", "one"));
}

#[test]
fn two_processes_looping_on_a_semaphore_of_maximum_one_alternate_strictly() {
    isolated("two_processes_looping_on_a_semaphore_of_maximum_one_alternate_strictly", || {
        assert_alternates("semaphore", "one")
    });
}

#[test]
fn two_processes_looping_on_an_auto_reset_event_alternate_strictly() {
    isolated("two_processes_looping_on_an_auto_reset_event_alternate_strictly", || assert_alternates("event", "one"));
}

#[test]
fn hand_off_also_goes_through_wait_any() {
    isolated("hand_off_also_goes_through_wait_any", || {
        assert_alternates("mutex", "any");
        assert_alternates("semaphore", "any");
        assert_alternates("event", "any");
    });
}

/// `chosen` waits first, `next` second; `chosen` is stopped, the object released (granted to
/// `chosen`), then `chosen` is killed: `next` must get the object, within the bound.
fn killed_after_being_chosen(kind: &str) -> (String, Duration) {
    let n = name(&format!("chosen-{kind}"));
    let lock = create_held(kind, &n);
    let mut chosen = spawn_helper("wait-report", &[kind, &n]);
    chosen.expect_line("READY", LONG);
    std::thread::sleep(Duration::from_millis(150));
    let mut next = spawn_helper("wait-report", &[kind, &n]);
    next.expect_line("READY", LONG);
    std::thread::sleep(Duration::from_millis(150));
    let pid = chosen.pid() as libc::pid_t;
    // SAFETY: stopping our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    std::thread::sleep(Duration::from_millis(50));
    lock.release(); // handed to `chosen`, which is stopped and cannot take it
    // `next` does not get it meanwhile: the grant went to the oldest waiter.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(try_line(&mut next, Duration::from_millis(1)), None, "{kind}: the oldest waiter was chosen");
    let killed = Instant::now();
    chosen.sigkill();
    let outcome = next.expect_line("OUTCOME", LONG);
    let took = killed.elapsed();
    next.finish(LONG);
    (outcome, took)
}

fn try_line(h: &mut Helper, limit: Duration) -> Option<String> {
    h.try_expect_line("OUTCOME", limit)
}

#[test]
fn a_waiter_killed_just_after_being_chosen_passes_the_grant_on() {
    isolated("a_waiter_killed_just_after_being_chosen_passes_the_grant_on", || {
        for kind in ["mutex", "semaphore", "event"] {
            let (outcome, took) = killed_after_being_chosen(kind);
            // A mutex handed to a thread that died is abandoned, as on Windows.
            let expected = if kind == "mutex" { "Abandoned(0)" } else { "Signaled(0)" };
            assert_eq!(outcome, expected, "{kind}");
            // Stated bound: GRANT_POLL (50 ms) + GRANT_GRACE (10 ms) after the death; generous
            // margin for a loaded machine.
            assert!(took < Duration::from_secs(3), "{kind}: the grant passed on after {took:?}");
        }
    });
}

/// The corpus program `filemap-win32/tests/corpus/alternation.c`, step for step: A creates the
/// mutex *not* owning it and takes it with a wait, lets B start, then loops { append; release;
/// wait } with no pause between the release and the wait, while B loops { wait; append;
/// release }. Windows hands the mutex to the waiter inside each release, so the turns alternate.
///
/// Timing-dependent by nature, on Windows too: a process preempted between its release and its
/// next wait is not a waiter when the other releases, and misses its turn (seen in CI with the
/// other tests of this binary running: `ABBBBBBBBBBAAAAAAAAA`). So up to three attempts, as the
/// corpus gives the C program; the test fails if none alternates strictly.
#[test]
fn the_corpus_turns_program_alternates_strictly() {
    isolated("the_corpus_turns_program_alternates_strictly", || {
        let mut orders = Vec::new();
        for attempt in 0..3 {
            let order = corpus_turns(attempt);
            if order == "AB".repeat(CORPUS_TURNS) {
                return;
            }
            orders.push(order);
        }
        panic!("the turns never alternated strictly in three attempts: {orders:?}");
    });
}

/// One run of the corpus turns program; the order of the turns.
fn corpus_turns(attempt: u32) -> String {
    let n = name(&format!("corpus-turns-{attempt}"));
    let log = name(&format!("corpus-turn-log-{attempt}"));
    let start_name = name(&format!("corpus-turn-start-{attempt}"));
    let (mutex, _) = Mutex::options().name(&n).create().unwrap();
    let (map, _) = Mapping::options().name(&log).size(4096).create().unwrap();
    let view = map.view(Access::ALL).unwrap();
    let (start, _) = Semaphore::options().name(&start_name).max(2).create().unwrap();
    let mut b = spawn_helper("corpus-b", &[&n, &log, &start_name]);
    b.expect_line("READY", LONG);
    assert_eq!(mutex.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0)); // A goes first
    start.release(1).unwrap(); // let B start waiting
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..CORPUS_TURNS {
        append(&view, b'A');
        mutex.release().unwrap();
        assert_eq!(mutex.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
    }
    mutex.release().unwrap();
    b.expect_line("DONE", LONG);
    b.finish(LONG);
    read_order(&view)
}

/// Creates a mutex owned by this thread and a semaphore of maximum 1 at 0 (both held).
fn create_pair(tag: &str) -> (Mutex, Semaphore, String, String) {
    let mn = name(&format!("{tag}-m"));
    let sn = name(&format!("{tag}-s"));
    let (m, _) = Mutex::options().name(&mn).initial_owner(true).create().unwrap();
    let (s, _) = Semaphore::options().name(&sn).initial(0).max(1).create().unwrap();
    (m, s, mn, sn)
}

/// The turns program through wait-all: two processes loop { wait for the mutex *and* the
/// semaphore; work; release both }. A release that finds the other process queued hands the
/// object to it (a partial grant); the second release completes its set, so the releaser's
/// next wait-all queues behind it. Before wait-all queued, the releaser took both back in
/// bursts (`AABBBAAABBAAAAAAABBBBBBB`).
#[test]
fn two_processes_looping_through_wait_all_alternate_strictly() {
    isolated("two_processes_looping_through_wait_all_alternate_strictly", || {
        let (m, s, mn, sn) = create_pair("alt-all");
        let log = name("alt-all-log");
        let (map, _) = Mapping::options().name(&log).size(4096).create().unwrap();
        let view = map.view(Access::ALL).unwrap();
        let turns = TURNS.to_string();
        let mut a = spawn_helper("alternate-all", &[&mn, &sn, &log, &turns, "A"]);
        a.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(100));
        let mut b = spawn_helper("alternate-all", &[&mn, &sn, &log, &turns, "B"]);
        b.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(100));
        // Both queue on both objects, A first: the semaphore goes to A, which cannot have the
        // mutex yet and declines it (to B, which declines it too: it stays free); then the
        // mutex goes to A, which usually has both then (see the assertion for the other case).
        s.release(1).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        m.release().unwrap();
        for h in [&mut a, &mut b] {
            h.expect_line("DONE", LONG);
        }
        a.finish(LONG);
        b.finish(LONG);
        let mut count = [0u8; 4];
        view.read_at(0, &mut count).unwrap();
        let mut order = vec![0u8; u32::from_le_bytes(count) as usize];
        view.read_at(8, &mut order).unwrap();
        let order = String::from_utf8(order).unwrap();
        // Who goes first is a race under load: if the semaphore's grant has not finished
        // going through A and B (each declining it) when the mutex is released, the mutex goes
        // to A, A cannot have the semaphore (its grant is still at B) and declines the mutex to
        // B, which then has both first (seen once in a loaded CI run: `BABA...`). What must
        // hold is that they then take turns.
        let alternating = order == "AB".repeat(TURNS) || order == "BA".repeat(TURNS);
        assert!(alternating, "wait-all turns: the releaser must not take both back: {order}");
    });
}

/// A wait-all waiter granted one object while another is still held declines it at once: a
/// single waiter queued behind it gets the object (the wait-all does not sit on it), and the
/// wait-all is satisfied later, when both are free.
#[test]
fn a_wait_all_waiter_passes_on_a_partial_grant() {
    isolated("a_wait_all_waiter_passes_on_a_partial_grant", || {
        let (m, s, mn, sn) = create_pair("partial");
        let mut all = spawn_helper("wait-all-report", &[&mn, &sn]);
        all.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(150));
        let mut single = spawn_helper("wait-report", &["mutex", &mn]);
        single.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(150));
        let released = Instant::now();
        m.release().unwrap(); // granted to the wait-all (oldest), which has no semaphore unit
        assert_eq!(single.expect_line("OUTCOME", LONG), "Signaled(0)");
        let took = released.elapsed();
        // Bound: the wait-all's wake-up and one attempt (microseconds); generous for the load.
        assert!(took < Duration::from_millis(900), "the partial grant was held {took:?}");
        assert_eq!(all.try_expect_line("OUTCOME", Duration::from_millis(100)), None, "not both yet");
        single.finish(LONG); // released the mutex after 20 ms: it went back to the wait-all
        s.release(1).unwrap();
        assert_eq!(all.expect_line("OUTCOME", LONG), "Signaled(0)");
        all.finish(LONG);
    });
}

/// A wait-all waiter is stopped, granted both objects (it cannot take them), then SIGKILLed:
/// the next wait-all waiter gets both, the mutex as abandoned, within the dead-grantee bound.
#[test]
fn a_wait_all_waiter_killed_after_being_granted_passes_its_grants_on() {
    isolated("a_wait_all_waiter_killed_after_being_granted_passes_its_grants_on", || {
        let (m, s, mn, sn) = create_pair("killed-all");
        let mut chosen = spawn_helper("wait-all-report", &[&mn, &sn]);
        chosen.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(150));
        let mut next = spawn_helper("wait-all-report", &[&mn, &sn]);
        next.expect_line("READY", LONG);
        std::thread::sleep(Duration::from_millis(150));
        let pid = chosen.pid() as libc::pid_t;
        // SAFETY: stopping our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        std::thread::sleep(Duration::from_millis(50));
        s.release(1).unwrap(); // both granted to `chosen`, which is stopped
        m.release().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(next.try_expect_line("OUTCOME", Duration::from_millis(1)), None, "the oldest was chosen");
        let killed = Instant::now();
        chosen.sigkill();
        let outcome = next.expect_line("OUTCOME", LONG);
        let took = killed.elapsed();
        next.finish(LONG);
        assert_eq!(outcome, "Abandoned(0)", "the mutex was handed to a thread that died");
        // Stated bound: GRANT_POLL (50 ms) + GRANT_GRACE (10 ms) after the death. Under GRANT_MAX
        // (1 s, the bound for live grantees) with margin, so this is the dead-grantee path.
        assert!(took < Duration::from_millis(900), "the grants passed on after {took:?}");
    });
}

/// More waiters than an object's 48 queue slots: 60 threads. The ones without a slot wait
/// outside the queue (see docs/SYNC.md: they try for a slot again, with their arrival ticket,
/// at every release and every 50 ms, and take the object whenever it is free). Every timed wait
/// ends on time, and under sustained contention every thread gets the mutex its number of
/// times: nobody starves.
#[test]
fn sixty_waiters_on_one_mutex_time_out_on_time_and_all_get_their_turns() {
    isolated("sixty_waiters_on_one_mutex_time_out_on_time_and_all_get_their_turns", || {
        const THREADS: usize = 60;
        const ROUNDS: usize = 10;
        let n = name("sixty");
        let (m, _) = Mutex::options().name(&n).initial_owner(true).create().unwrap();
        let m = std::sync::Arc::new(m);
        // 1. The mutex is held: every one of the 60 timed waits times out, none early, none
        //    far past its timeout.
        let timeout = Duration::from_millis(300);
        let waits: Vec<_> = (0..THREADS)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    let t = Instant::now();
                    let outcome = m.acquire(Some(timeout)).unwrap();
                    (outcome, t.elapsed())
                })
            })
            .collect();
        for w in waits {
            let (outcome, took) = w.join().unwrap();
            assert_eq!(outcome, WaitOutcome::TimedOut);
            assert!(took >= timeout, "a wait ended early: {took:?}");
            assert!(took < timeout + Duration::from_secs(3), "a wait outlived its timeout: {took:?}");
        }
        // 2. Sustained contention: 60 threads, each ROUNDS x { acquire; hold; release }.
        let start = std::sync::Arc::new(std::sync::Barrier::new(THREADS + 1));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let m = m.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    let mut longest = Duration::ZERO;
                    for _ in 0..ROUNDS {
                        let t = Instant::now();
                        assert_eq!(m.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
                        longest = longest.max(t.elapsed());
                        std::thread::sleep(Duration::from_micros(200));
                        m.release().unwrap();
                    }
                    longest
                })
            })
            .collect();
        start.wait();
        std::thread::sleep(Duration::from_millis(50)); // let them all line up
        m.release().unwrap();
        let longest = workers.into_iter().map(|w| w.join().unwrap()).max().unwrap();
        say(&format!("longest single wait among {THREADS} threads: {longest:?}"));
        assert!(longest < LONG, "a waiter starved");
    });
}

/// The turns appended to the log `view` so far (a count, then one letter per turn).
fn read_order(view: &filemap::View) -> String {
    let mut count = [0u8; 4];
    view.read_at(0, &mut count).unwrap();
    let mut order = vec![0u8; u32::from_le_bytes(count) as usize];
    view.read_at(8, &mut order).unwrap();
    String::from_utf8(order).unwrap()
}
