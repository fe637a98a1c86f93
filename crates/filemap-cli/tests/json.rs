//! `--json` on every command: the documented field names, parsed with serde_json.

mod common;

use common::{Env, find_object, unique};

fn line(out: &common::Output) -> serde_json::Value {
    let text = out.ok();
    assert_eq!(text.lines().count(), 1, "one JSON object on one line: {text}");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn kill(pid: u64) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill the holder");
}

#[test]
fn create_json_reports_the_object_and_background_json_its_holder() {
    let env = Env::new();
    let name = unique("cj");
    // Without a hold: created, released as filemap exits (holder_pid null).
    let made = line(&env.run(&["create", &name, "--size", "8K", "--json"]));
    assert_eq!(made["name"], format!("Local\\{name}"));
    assert_eq!(made["type"], "mapping");
    assert_eq!(made["created"], true);
    assert_eq!(made["size"], 8192);
    assert_eq!(made["holder_pid"], serde_json::Value::Null);
    assert_eq!(made["state"], serde_json::Value::Null);

    // In the background: the report comes once the object is held, naming the holder.
    let bg = line(&env.run(&["create", &name, "--size", "8K", "--background", "--json"]));
    let holder = bg["holder_pid"].as_u64().expect("holder_pid");
    assert_eq!(bg["created"], true);
    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, &format!("Local\\{name}")).expect("listed");
    assert_eq!(obj["holders"][0]["pid"], holder, "{obj}");

    // Opening the existing one says created: false.
    let again = line(&env.run(&["create", &name, "--size", "8K", "--open-existing", "--json"]));
    assert_eq!(again["created"], false);
    kill(holder);

    // A sync object reports its state.
    let sem = unique("cjs");
    let s = line(&env.run(&["create", &sem, "--type", "semaphore", "--initial", "1", "--max", "2", "--json"]));
    assert_eq!(s["type"], "semaphore");
    assert_eq!(s["state"]["count"], 1);
    assert_eq!(s["state"]["max"], 2);
    assert_eq!(s["size"], serde_json::Value::Null);
}

#[test]
fn signal_reset_and_wait_json_report_actions_and_outcomes() {
    let env = Env::new();
    let ev = unique("sj");
    let holder = line(&env.run(&["create", &ev, "--type", "event", "--manual-reset", "--background", "--json"]));
    let set = line(&env.run(&["signal", &ev, "--json"]));
    assert_eq!(set["name"], format!("Local\\{ev}"));
    assert_eq!(set["type"], "event");
    assert_eq!(set["action"], "set");
    assert_eq!(set["before"], false);
    assert_eq!(set["state"]["signaled"], true);

    let waited = line(&env.run(&["wait", &ev, "--json"]));
    assert_eq!(waited["result"], "signaled");
    assert_eq!(waited["index"], 0);
    assert_eq!(waited["taken"], serde_json::json!([0]));
    assert_eq!(waited["objects"][0]["type"], "event");

    let reset = line(&env.run(&["reset", &ev, "--json"]));
    assert_eq!(reset["action"], "reset");
    assert_eq!(reset["before"], true);
    assert_eq!(reset["state"]["signaled"], false);

    // A timeout prints its report too, and exits 7.
    let timed = env.run(&["wait", &ev, "--timeout", "50ms", "--json"]);
    assert_eq!(timed.code(), 7, "{timed:?}");
    let report: serde_json::Value = serde_json::from_str(&timed.stdout).expect("JSON on a timeout");
    assert_eq!(report["result"], "timeout");
    assert_eq!(report["index"], serde_json::Value::Null);
    kill(holder["holder_pid"].as_u64().unwrap());

    // A semaphore's release reports the count before.
    let sem = unique("sjs");
    let sh = line(&env.run(&["create", &sem, "--type", "semaphore", "--max", "5", "--background", "--json"]));
    let released = line(&env.run(&["signal", &sem, "--count", "3", "--json"]));
    assert_eq!((released["action"].clone(), released["before"].clone()), ("release".into(), 0.into()));
    assert_eq!(released["state"]["count"], 3);
    kill(sh["holder_pid"].as_u64().unwrap());
}

#[test]
fn read_write_info_ls_and_gc_json() {
    let env = Env::new();
    let name = unique("rw");
    let holder = line(&env.run(&["create", &name, "--size", "4K", "--background", "--json"]));
    let wrote = line(&env.run(&["write", &name, "--data", "hey\u{1b}", "--offset", "16", "--json"]));
    assert_eq!(wrote["bytes_written"], 4);
    assert_eq!(wrote["offset"], 16);
    let read = line(&env.run(&["read", &name, "--offset", "16", "--len", "6", "--json"]));
    assert_eq!(read["len"], 6);
    assert_eq!(read["hex"], "6865791b0000");
    assert_eq!(read["text"], "hey\u{1b}");

    let info = env.run(&["info", &name, "--json"]).json();
    assert_eq!(info["name"], format!("Local\\{name}"));
    assert!(info["created"].is_string() && info["handle_locks"] == 1 && info["holders"][0]["handles"] == 1);
    let ls = env.run(&["ls", "--json"]).json();
    for key in ["objects", "released_memory", "unreadable_processes", "warnings"] {
        assert!(ls.get(key).is_some(), "{key} missing: {ls}");
    }
    let gc = env.run(&["gc", "--dry-run", "--json"]).json();
    assert_eq!(gc["dry_run"], true);
    assert!(gc["freed"].as_array().unwrap().is_empty(), "a held object is not freed: {gc}");
    kill(holder["holder_pid"].as_u64().unwrap());
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn init_global_json() {
    filemap_testkit::privilege::require_root("to set up the Global namespace");
    let env = Env::new();
    let init = line(&env.run(&["init-global", "--json"]));
    assert_eq!(init["group"], "root");
    assert_eq!(init["path"], env.root.join("filemap-global").to_str().unwrap());
}

#[test]
fn demo_json_prints_one_object_per_step_from_both_processes() {
    let env = Env::new();
    let out = env.run(&["demo", "--name", &unique("dj"), "--json"]);
    let steps: Vec<serde_json::Value> =
        out.ok().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let first: Vec<&str> =
        steps.iter().filter(|s| s["process"] == "first").map(|s| s["step"].as_str().unwrap()).collect();
    let second: Vec<&str> =
        steps.iter().filter(|s| s["process"] == "second").map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(first.first(), Some(&"created-mapping"), "{steps:?}");
    assert_eq!(first.last(), Some(&"nothing-left"), "{steps:?}");
    assert_eq!(second, ["opened", "waiting", "event-set", "read", "closed"], "{steps:?}");
    let read = steps.iter().find(|s| s["step"] == "read").unwrap();
    assert_eq!(read["text"], "read: Message from first process.");
    let pids: std::collections::HashSet<u64> = steps.iter().map(|s| s["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 2, "two processes: {steps:?}");
}
