//! Waitable timers: relative/absolute due times, periods, manual vs synchronization, cancel,
//! ordering, cross-process firing. Bounds are lower bounds with generous upper bounds (a
//! loaded 2-core machine), never exact durations.

mod sync_support;

use std::time::{Duration, Instant, SystemTime};

use filemap::Win32Error;
use filemap::sync::{DueTime, Rights, SyncState, Timer, WaitOutcome, wait_any};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);
const SLACK: Duration = Duration::from_secs(3);

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        "wait" => {
            let t = Timer::open(&args[0], Rights::SYNCHRONIZE).unwrap();
            say("READY");
            let start = Instant::now();
            let o = t.wait(Some(Duration::from_secs(30))).unwrap();
            say(&format!("OUTCOME {o:?} {}", start.elapsed().as_millis()));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_relative_timer_fires_no_earlier_than_its_due_time() {
    isolated("a_relative_timer_fires_no_earlier_than_its_due_time", || {
        let (t, _) = Timer::options().name(name("rel")).create().unwrap();
        assert_eq!(t.wait(Some(Duration::from_millis(20))).unwrap(), WaitOutcome::TimedOut, "inactive");
        let start = Instant::now();
        t.set(DueTime::Relative(Duration::from_millis(150)), None).unwrap();
        assert_eq!(t.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::TimedOut);
        assert_eq!(t.wait(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(150), "fired early: {took:?}");
        assert!(took < Duration::from_millis(150) + SLACK, "fired late: {took:?}");
        // A synchronization timer's signal is consumed by that wait; one-shot: no more.
        assert_eq!(t.wait(Some(Duration::from_millis(100))).unwrap(), WaitOutcome::TimedOut);
    });
}

#[test]
fn timers_fire_in_the_order_of_their_due_times() {
    isolated("timers_fire_in_the_order_of_their_due_times", || {
        let timers: Vec<Timer> =
            (0..3).map(|i| Timer::options().name(name(&format!("o{i}"))).create().unwrap().0).collect();
        // Due in reverse index order: 300, 200, 100 ms.
        for (i, t) in timers.iter().enumerate() {
            t.set(DueTime::Relative(Duration::from_millis(300 - 100 * i as u64)), None).unwrap();
        }
        let start = Instant::now();
        let mut order = Vec::new();
        for _ in 0..3 {
            match wait_any(&[&timers[0], &timers[1], &timers[2]], Some(LONG)).unwrap() {
                WaitOutcome::Signaled(i) => order.push((i, start.elapsed())),
                o => panic!("{o:?}"),
            }
        }
        assert_eq!(order.iter().map(|o| o.0).collect::<Vec<_>>(), vec![2, 1, 0], "{order:?}");
        for (k, (_, at)) in order.iter().enumerate() {
            assert!(*at >= Duration::from_millis(100 * (k as u64 + 1)), "{order:?}");
        }
        assert!(order[2].1 < Duration::from_millis(300) + SLACK, "{order:?}");
    });
}

#[test]
fn a_periodic_synchronization_timer_signals_once_per_period() {
    isolated("a_periodic_synchronization_timer_signals_once_per_period", || {
        let (t, _) = Timer::options().create().unwrap();
        let start = Instant::now();
        t.set(DueTime::Relative(Duration::from_millis(50)), Some(Duration::from_millis(100))).unwrap();
        for k in 0..4u32 {
            assert_eq!(t.wait(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
            let at = start.elapsed();
            assert!(at >= Duration::from_millis(50) + Duration::from_millis(100) * k, "signal {k} at {at:?}");
        }
        assert!(start.elapsed() < Duration::from_millis(350) + SLACK);
        t.cancel().unwrap();
        assert!(matches!(t.state(), SyncState::Timer { armed: false, .. }));
    });
}

#[test]
fn a_manual_reset_timer_stays_signaled_and_cancel_keeps_the_signal() {
    isolated("a_manual_reset_timer_stays_signaled_and_cancel_keeps_the_signal", || {
        let (t, _) = Timer::options().name(name("manual")).manual_reset(true).create().unwrap();
        t.set(DueTime::Relative(Duration::from_millis(30)), None).unwrap();
        assert_eq!(t.wait(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(t.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0), "still signaled");
        t.cancel().unwrap();
        assert_eq!(t.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0), "cancel keeps the state");
        // Setting again makes it unsignaled until the new due time.
        t.set(DueTime::Relative(Duration::from_secs(3600)), None).unwrap();
        assert_eq!(t.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::TimedOut);
        // Cancel before the due time: it never fires.
        t.set(DueTime::Relative(Duration::from_millis(50)), None).unwrap();
        t.cancel().unwrap();
        assert_eq!(t.wait(Some(Duration::from_millis(200))).unwrap(), WaitOutcome::TimedOut);
    });
}

#[test]
fn an_absolute_due_time_fires_at_that_wall_clock_time() {
    isolated("an_absolute_due_time_fires_at_that_wall_clock_time", || {
        let (t, _) = Timer::options().manual_reset(true).create().unwrap();
        let due = SystemTime::now() + Duration::from_millis(120);
        t.set(DueTime::Absolute(due), None).unwrap();
        assert_eq!(t.wait(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
        assert!(SystemTime::now() >= due);
        // A due time in the past fires at once; Win32 encodings convert.
        t.set(DueTime::Absolute(SystemTime::UNIX_EPOCH), None).unwrap();
        assert_eq!(t.wait(Some(Duration::from_secs(5))).unwrap(), WaitOutcome::Signaled(0));
        assert_eq!(DueTime::from_win32(-10_000), DueTime::Relative(Duration::from_millis(1)));
        assert_eq!(
            DueTime::from_win32(116_444_736_000_000_000 + 10_000_000),
            DueTime::Absolute(SystemTime::UNIX_EPOCH + Duration::from_secs(1))
        );
    });
}

#[test]
fn a_waiter_in_another_process_wakes_when_the_timer_fires() {
    isolated("a_waiter_in_another_process_wakes_when_the_timer_fires", || {
        let n = name("cross");
        let (t, _) = Timer::options().name(&n).create().unwrap();
        let mut h = spawn_helper("wait", &[&n]);
        h.expect_line("READY", LONG);
        t.set(DueTime::Relative(Duration::from_millis(200)), None).unwrap();
        let line = h.expect_line("OUTCOME", LONG);
        h.finish(LONG);
        let (outcome, ms) = line.split_once(' ').unwrap();
        assert_eq!(outcome, "Signaled(0)");
        let ms: u64 = ms.parse().unwrap();
        assert!(ms >= 150 && ms < 200 + SLACK.as_millis() as u64, "woke after {ms} ms");
    });
}

#[test]
fn timer_changes_need_modify_state() {
    isolated("timer_changes_need_modify_state", || {
        let n = name("rights");
        let (_t, _) = Timer::options().name(&n).create().unwrap();
        let w = Timer::open(&n, Rights::SYNCHRONIZE).unwrap();
        assert_eq!(w.set(DueTime::Relative(Duration::ZERO), None).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(w.cancel().unwrap_err().code(), Win32Error::ACCESS_DENIED);
        let m = Timer::open(&n, Rights::TIMER_MODIFY_STATE).unwrap();
        m.set(DueTime::Relative(Duration::ZERO), None).unwrap();
        assert_eq!(m.wait(Some(Duration::ZERO)).unwrap_err().code(), Win32Error::ACCESS_DENIED);
        assert_eq!(w.wait(Some(Duration::from_secs(5))).unwrap(), WaitOutcome::Signaled(0));
    });
}
