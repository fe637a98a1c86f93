//! `filemap create --type mutex|semaphore|event|timer`, `signal`, `reset`, `wait`, and sync
//! state in `ls`/`info`, with real processes.

mod common;

use std::time::{Duration, Instant};

use common::{Env, find_object, unique};
use rustix::process::Signal;

fn state(env: &Env, name: &str) -> serde_json::Value {
    env.run(&["info", name, "--json"]).json()["state"].clone()
}

#[test]
fn manual_reset_event_is_set_waited_on_and_reset() {
    let mut env = Env::new();
    let name = unique("event");
    let mut holder = env.spawn(&["create", &name, "--type", "event", "--manual-reset", "--hold"]);
    holder.wait_for("holding");
    let s = state(&env, &name);
    assert_eq!((s["signaled"].as_bool(), s["manual_reset"].as_bool()), (Some(false), Some(true)), "{s}");

    let out = env.run(&["wait", &name, "--timeout", "100ms"]);
    assert_eq!(out.code(), 7, "{out:?}");
    assert!(out.stderr.contains("ERROR_TIMEOUT"), "{}", out.stderr);

    assert!(env.run(&["signal", &name]).ok().contains("was unsignaled"));
    assert_eq!(state(&env, &name)["signaled"], true);
    // Manual reset: every wait succeeds until it is reset.
    for _ in 0..2 {
        assert!(env.run(&["wait", &name, "--timeout", "1s"]).ok().contains("is signaled"));
    }
    assert!(env.run(&["reset", &name]).ok().contains("was signaled"));
    assert_eq!(env.run(&["wait", &name, "--timeout", "50ms"]).code(), 7);
    let table = env.run(&["ls"]);
    assert!(table.ok().lines().any(|l| l.contains(&name) && l.contains("manual unsignaled")), "{}", table.stdout);
}

#[test]
fn auto_reset_event_releases_one_wait_per_signal() {
    let mut env = Env::new();
    let name = unique("auto");
    let mut holder = env.spawn(&["create", &name, "--type", "event", "--signaled", "--hold"]);
    holder.wait_for("holding");
    assert_eq!(state(&env, &name)["signaled"], true);
    env.run(&["wait", &name, "--timeout", "1s"]).ok();
    assert_eq!(env.run(&["wait", &name, "--timeout", "50ms"]).code(), 7);
    assert_eq!(state(&env, &name)["signaled"], false);
}

#[test]
fn a_blocked_waiter_in_another_process_is_woken_by_signal() {
    let mut env = Env::new();
    let name = unique("wake");
    let mut holder = env.spawn(&["create", &name, "--type", "event", "--hold"]);
    holder.wait_for("holding");
    let mut waiter = env.spawn(&["wait", &name]);
    // Give the waiter time to block; it must not finish by itself.
    std::thread::sleep(Duration::from_millis(200));
    assert!(waiter.child.try_wait().unwrap().is_none(), "the waiter returned before the signal");
    env.run(&["signal", &name]).ok();
    waiter.wait_for("is signaled");
}

#[test]
fn semaphore_counts_respect_the_maximum() {
    let mut env = Env::new();
    let name = unique("sem");
    let mut holder = env.spawn(&["create", &name, "--type", "semaphore", "--initial", "0", "--max", "2", "--hold"]);
    holder.wait_for("holding");
    assert_eq!(env.run(&["wait", &name, "-t", "50ms"]).code(), 7);
    assert!(env.run(&["signal", &name, "--count", "2"]).ok().contains("count 0 -> 2"));
    let s = state(&env, &name);
    assert_eq!((s["count"].as_u64(), s["max"].as_u64()), (Some(2), Some(2)), "{s}");
    let over = env.run(&["signal", &name]);
    assert_eq!(over.code(), 1, "{over:?}");
    assert!(over.stderr.contains("ERROR_TOO_MANY_POSTS"), "{}", over.stderr);
    env.run(&["wait", &name, "-t", "1s"]).ok();
    env.run(&["wait", &name, "-t", "1s"]).ok();
    assert_eq!(env.run(&["wait", &name, "-t", "50ms"]).code(), 7);
    assert_eq!(state(&env, &name)["count"], 0);
}

#[test]
fn mutex_owner_shows_in_ls_and_others_can_neither_take_nor_release_it() {
    let mut env = Env::new();
    let name = unique("mutex");
    let mut owner = env.spawn(&["create", &name, "--type", "mutex", "--owned", "--hold"]);
    owner.wait_for("holding");
    let s = state(&env, &name);
    assert_eq!(s["owner_pid"], owner.pid(), "{s}");
    assert_eq!(s["signaled"], false);
    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, &format!("Local\\{name}")).expect("listed");
    assert_eq!(obj["type"], "mutex");
    assert!(obj["state"]["summary"].as_str().unwrap().contains(&owner.pid().to_string()));

    assert_eq!(env.run(&["wait", &name, "-t", "100ms"]).code(), 7);
    let steal = env.run(&["signal", &name]);
    assert_eq!(steal.code(), 1, "{steal:?}");
    assert!(steal.stderr.contains("ERROR_NOT_OWNER"), "{}", steal.stderr);

    // Ending the hold releases the mutex before closing: it is not left abandoned.
    let mut keeper = env.spawn(&["create", &name, "--type", "mutex", "--open-existing", "--hold"]);
    keeper.wait_for("holding");
    assert!(owner.signal(Signal::INT).success());
    let s = state(&env, &name);
    assert_eq!((s["signaled"].as_bool(), s["abandoned"].as_bool()), (Some(true), Some(false)), "{s}");
    assert!(env.run(&["wait", &name, "-t", "1s"]).ok().contains("acquired mutex"));
}

#[test]
fn a_mutex_whose_owner_is_killed_is_abandoned_to_the_next_waiter() {
    let mut env = Env::new();
    let name = unique("abandon");
    let mut keeper = env.spawn(&["create", &name, "--type", "mutex", "--hold"]);
    keeper.wait_for("holding");
    let mut owner = env.spawn(&["wait", &name, "--hold"]);
    owner.wait_for("holding");
    assert_eq!(state(&env, &name)["owner_pid"], owner.pid());
    owner.signal(Signal::KILL);
    let s = state(&env, &name);
    assert_eq!(s["abandoned"], true, "{s}");
    assert!(s["summary"].as_str().unwrap().contains("abandoned"), "{s}");
    let next = env.run(&["wait", &name, "-t", "2s"]);
    assert!(next.ok().contains("WAIT_ABANDONED"), "{next:?}");
    let s = state(&env, &name);
    assert_eq!((s["signaled"].as_bool(), s["abandoned"].as_bool()), (Some(true), Some(false)), "{s}");
}

#[test]
fn timer_becomes_signaled_at_its_due_time_and_can_be_canceled() {
    let mut env = Env::new();
    let name = unique("timer");
    let mut holder = env.spawn(&["create", &name, "--type", "timer", "--manual-reset", "--hold"]);
    holder.wait_for("holding");
    assert_eq!(env.run(&["wait", &name, "-t", "50ms"]).code(), 7);
    // The clock starts before `signal`: a loaded machine may spend the whole due time in the
    // commands between arming and waiting, so only "not before it was armed + due" is checked.
    let start = Instant::now();
    env.run(&["signal", &name, "--due", "300ms"]).ok();
    let s = state(&env, &name);
    assert!(s["armed"] == true || s["signaled"] == true, "{s}");
    env.run(&["wait", &name, "-t", "10s"]).ok();
    assert!(start.elapsed() >= Duration::from_millis(300), "fired after {:?}", start.elapsed());
    assert_eq!(state(&env, &name)["signaled"], true);
    // Canceling an armed timer keeps it from firing.
    let other = unique("timer");
    // (The due time is far enough out that a loaded machine still cancels before it.)
    let mut h2 = env.spawn(&["create", &other, "--type", "timer", "--due", "2s", "--hold"]);
    h2.wait_for("holding");
    assert_eq!(state(&env, &other)["armed"], true);
    assert!(env.run(&["reset", &other]).ok().contains("canceled"));
    assert_eq!(state(&env, &other)["armed"], false);
    assert_eq!(env.run(&["wait", &other, "-t", "2500ms"]).code(), 7);
}

#[test]
fn names_of_another_type_fail_with_wrong_type_exit_code() {
    let mut env = Env::new();
    let map = unique("map");
    let ev = unique("ev");
    let mut a = env.spawn(&["create", &map, "--size", "4K", "--hold"]);
    a.wait_for("holding");
    let mut b = env.spawn(&["create", &ev, "--type", "event", "--hold"]);
    b.wait_for("holding");
    for args in [
        vec!["read", ev.as_str()],
        vec!["write", ev.as_str(), "--data", "x"],
        vec!["signal", map.as_str()],
        vec!["wait", map.as_str(), "-t", "10ms"],
        vec!["create", map.as_str(), "--type", "event"],
        vec!["create", ev.as_str(), "--size", "4K"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code(), 6, "{args:?}: {out:?}");
        assert!(out.stderr.contains("ERROR_INVALID_HANDLE"), "{}", out.stderr);
    }
    let sem = unique("sem");
    let mut c = env.spawn(&["create", &sem, "--type", "semaphore", "--hold"]);
    c.wait_for("holding");
    assert_eq!(env.run(&["reset", &sem]).code(), 6);
    // An existing name of the same type is "already exists".
    let again = env.run(&["create", &ev, "--type", "event"]);
    assert_eq!(again.code(), 4, "{again:?}");
}

#[test]
fn options_of_another_type_are_usage_errors() {
    let env = Env::new();
    for args in [
        vec!["create", "x", "--type", "event", "--size", "4K"],
        vec!["create", "x", "--size", "4K", "--owned"],
        vec!["create", "x", "--type", "mutex", "--max", "3"],
        vec!["create", "x", "--type", "semaphore", "--initial", "5", "--max", "2"],
        vec!["create", "x", "--type", "timer", "--signaled"],
        vec!["create", "x", "--type", "puppy"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
    }
    assert!(env.files_in(&env.local_dir()).is_empty());
}

#[test]
fn wait_on_several_objects_takes_any_one_or_all_at_once() {
    let mut env = Env::new();
    let a = unique("any-a");
    let b = unique("any-b");
    let mut ha = env.spawn(&["create", &a, "--type", "event", "--manual-reset", "--hold"]);
    ha.wait_for("holding");
    let mut hb = env.spawn(&["create", &b, "--type", "semaphore", "--initial", "0", "--max", "5", "--hold"]);
    hb.wait_for("holding");
    assert_eq!(env.run(&["wait", &a, &b, "-t", "50ms"]).code(), 7);
    env.run(&["signal", &b]).ok();
    let any = env.run(&["wait", &a, &b, "-t", "1s"]);
    assert!(any.ok().contains(&format!("semaphore \"Local\\{b}\" is signaled (WAIT_OBJECT_0 + 1)")), "{any:?}");
    assert_eq!(state(&env, &b)["count"], 0, "the wait took one unit");

    // All at once: the event alone is not enough, and a failed attempt consumes nothing.
    env.run(&["signal", &a]).ok();
    let none = env.run(&["wait", "--all", &a, &b, "-t", "100ms"]);
    assert_eq!(none.code(), 7, "{none:?}");
    assert!(none.stderr.contains("not all signaled"), "{}", none.stderr);
    env.run(&["signal", &b]).ok();
    let all = env.run(&["wait", "--all", &a, &b, "-t", "1s"]);
    assert!(all.ok().contains("all 2 objects were signaled at once"), "{all:?}");
    assert_eq!(state(&env, &b)["count"], 0);
    assert_eq!(state(&env, &a)["signaled"], true, "a manual-reset event stays signaled");
}
