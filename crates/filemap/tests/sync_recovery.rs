//! A mutex created with an initial owner is abandoned, not stuck, when its creator dies holding
//! that ownership: the creator registers the mutex with the kernel's robust list (before the
//! object is even published), so its death marks the mutex and the next acquirer is told.

mod common;

use std::time::{Duration, Instant};

use common::{Child, child_main as run_child, hear, say, setup, unique};
use filemap::sync::{Mutex, Rights, WaitOutcome};

#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

fn dispatch(role: &str, args: &[String]) {
    assert_eq!(role, "create-owned");
    let (m, created) = Mutex::options().name(&args[0]).initial_owner(true).create().unwrap();
    assert!(m.is_owned_by_current_thread());
    say(format!("owning {created:?}"));
    while hear().is_some() {}
}

#[test]
fn a_creator_killed_while_holding_its_initial_ownership_abandons_the_mutex() {
    setup();
    for round in 0..5 {
        let name = unique("initial-owner");
        let mut creator = Child::spawn("create-owned", &[&name]);
        assert_eq!(creator.expect("owning"), "New");
        let waiter = Mutex::open(&name, Rights::MUTEX_ALL_ACCESS).unwrap();
        assert_eq!(waiter.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::TimedOut, "owned by the creator");
        creator.kill();
        let start = Instant::now();
        let outcome = waiter.acquire(Some(Duration::from_secs(20))).unwrap();
        assert_eq!(outcome, WaitOutcome::Abandoned(0), "round {round}");
        assert!(start.elapsed() < Duration::from_secs(10), "promptly: {:?}", start.elapsed());
        waiter.release().unwrap();
        assert_eq!(waiter.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0), "told once");
        waiter.release().unwrap();
    }
}
