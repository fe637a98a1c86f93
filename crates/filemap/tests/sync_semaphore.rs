//! Semaphores: limits, counts, cross-process release and wait.

mod sync_support;

use std::time::Duration;

use filemap::Win32Error;
use filemap::sync::{Rights, Semaphore, SyncState, WaitOutcome};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: semaphore name, units to take
        "take" => {
            let s = Semaphore::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            let n: u32 = args[1].parse().unwrap();
            say("READY");
            for _ in 0..n {
                assert_eq!(s.wait(Some(Duration::from_secs(30))).unwrap(), WaitOutcome::Signaled(0));
            }
            say("TOOK");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn creation_refuses_initial_above_maximum_and_non_positive_maximum() {
    isolated("creation_refuses_initial_above_maximum_and_non_positive_maximum", || {
        for (initial, max) in [(2, 1), (0, 0), (-1, 3), (0, -5)] {
            let e = Semaphore::options().name(name("bad")).initial(initial).max(max).create().unwrap_err();
            assert_eq!(e.code(), Win32Error::INVALID_PARAMETER, "initial {initial} max {max}");
        }
        assert!(Semaphore::open(&name("bad"), Rights::SYNCHRONIZE).is_err(), "nothing was created");
    });
}

#[test]
fn release_returns_the_previous_count_and_past_the_maximum_fails_without_change() {
    isolated("release_returns_the_previous_count_and_past_the_maximum_fails_without_change", || {
        let (s, _) = Semaphore::options().name(name("limits")).max(2).create().unwrap();
        assert_eq!(s.release(3).unwrap_err().code(), Win32Error::TOO_MANY_POSTS, "3 > 2 fails completely");
        assert_eq!(s.state(), SyncState::Semaphore { count: 0, max: 2 });
        assert_eq!(s.release(1).unwrap(), 0);
        assert_eq!(s.release(1).unwrap(), 1);
        let e = s.release(1).unwrap_err();
        assert_eq!(e.code(), Win32Error::TOO_MANY_POSTS);
        assert!(e.to_string().contains("maximum"), "{e}");
        assert_eq!(s.state(), SyncState::Semaphore { count: 2, max: 2 });
        assert_eq!(s.release(0).unwrap_err().code(), Win32Error::INVALID_PARAMETER);
        assert_eq!(s.release(-1).unwrap_err().code(), Win32Error::INVALID_PARAMETER);
        assert_eq!(s.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(s.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(s.wait(Some(Duration::from_millis(20))).unwrap(), WaitOutcome::TimedOut);
        assert_eq!(s.state(), SyncState::Semaphore { count: 0, max: 2 });
        let (big, _) = Semaphore::options().initial(i32::MAX).max(i32::MAX).create().unwrap();
        assert_eq!(big.release(1).unwrap_err().code(), Win32Error::TOO_MANY_POSTS);
    });
}

#[test]
fn an_existing_semaphore_keeps_its_count_and_maximum() {
    isolated("an_existing_semaphore_keeps_its_count_and_maximum", || {
        let (s, _) = Semaphore::options().name(name("existing")).initial(1).max(3).create().unwrap();
        let (t, created) = Semaphore::options().name(name("existing")).max(10).create().unwrap();
        assert!(created.existed());
        assert_eq!(t.max(), 3);
        assert_eq!(t.state(), SyncState::Semaphore { count: 1, max: 3 });
        drop(s);
    });
}

#[test]
fn units_released_in_one_process_are_taken_in_another() {
    isolated("units_released_in_one_process_are_taken_in_another", || {
        let n = name("cross");
        let (s, _) = Semaphore::options().name(&n).max(100).create().unwrap();
        let mut h = spawn_helper("take", &[&n, "50"]);
        h.expect_line("READY", LONG);
        for _ in 0..10 {
            s.release(5).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        h.expect_line("TOOK", LONG);
        h.finish(LONG);
        assert_eq!(s.state(), SyncState::Semaphore { count: 0, max: 100 });
    });
}

#[test]
fn semaphore_release_needs_modify_state() {
    isolated("semaphore_release_needs_modify_state", || {
        let n = name("rights");
        let (_s, _) = Semaphore::options().name(&n).max(1).create().unwrap();
        let w = Semaphore::open(&n, Rights::SYNCHRONIZE).unwrap();
        assert_eq!(w.release(1).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        let m = Semaphore::open(&n, Rights::SEMAPHORE_MODIFY_STATE).unwrap();
        assert_eq!(m.release(1).unwrap(), 0);
        assert_eq!(m.wait(Some(Duration::ZERO)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(w.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
    });
}
