//! The `filemap` command, run as real processes against an isolated namespace.

mod common;

use common::{Env, find_object, unique};
use rustix::process::Signal;

#[test]
fn demo_runs_the_seed_scenario_end_to_end_and_leaves_nothing_behind() {
    let env = Env::new();
    let out = env.run(&["demo"]);
    let stdout = out.ok();
    assert!(stdout.contains("[first "), "{stdout}");
    assert!(stdout.contains("[second pid"), "{stdout}");
    assert!(stdout.contains("read: Message from first process."), "{stdout}");
    assert!(stdout.contains("are gone"), "{stdout}");
    // The second process is another process: its pid differs from the first's.
    let pids: std::collections::HashSet<&str> =
        stdout.lines().filter_map(|l| l.split("pid").nth(1)?.split(']').next()).map(str::trim).collect();
    assert_eq!(pids.len(), 2, "{stdout}");
    // The story is told in order: the second process reads only after the first wrote.
    let at = |needle: &str| stdout.find(needle).unwrap_or_else(|| panic!("{needle:?} missing:\n{stdout}"));
    assert!(at("opened \"Local\\MyFileMappingObject\" by name") < at("wrote \"Message"));
    assert!(at("waiting on event \"Local\\MyFileMappingObject.written\"") < at("] set event \""));
    assert!(at("wrote \"Message") < at("] set event \""));
    assert!(at("] set event \"") < at("the event is set"));
    assert!(at("the event is set") < at("read: Message"));
    assert!(at("read: Message") < at("are gone"));
    // While both run, the inspection finds both processes as holders and mappers.
    assert!(stdout.contains("`filemap ls` now shows handles held by pids"), "{stdout}");
    assert!(env.files_in(&env.local_dir()).is_empty(), "left behind: {:?}", env.files_in(&env.local_dir()));
    let ls = env.run(&["ls", "--json"]).json();
    assert!(ls["objects"].as_array().unwrap().is_empty());
}

#[test]
fn demo_takes_a_name_and_a_message() {
    let env = Env::new();
    let name = unique("demo");
    let out = env.run(&["demo", "--name", &name, "--message", "hello from the test"]);
    let stdout = out.ok();
    assert!(stdout.contains(&format!("Local\\{name}")), "{stdout}");
    assert!(stdout.contains("read: hello from the test"), "{stdout}");
    assert!(env.files_in(&env.local_dir()).is_empty());
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn demo_in_the_global_namespace_works_for_root_and_cleans_up() {
    let env = Env::new();
    filemap_testkit::privilege::require_root("to create the Global namespace");
    let out = env.run(&["demo", "--global", "--name", &unique("gdemo")]);
    let stdout = out.ok();
    assert!(stdout.contains("Global\\gdemo"), "{stdout}");
    assert!(stdout.contains("read: Message from first process."), "{stdout}");
    assert!(env.files_in(&env.root.join("filemap-global")).is_empty());
}

#[test]
fn demo_refuses_a_name_that_is_in_use() {
    let mut env = Env::new();
    let name = unique("busy");
    let mut holder = env.spawn(&["create", &name, "--size", "4096", "--hold"]);
    holder.wait_for("holding");
    let out = env.run(&["demo", "--name", &name]);
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(out.stderr.contains("ERROR_ALREADY_EXISTS"), "{}", out.stderr);
}

#[test]
fn ls_shows_the_holder_pid_then_stale_after_sigkill_and_gc_frees_it() {
    let mut env = Env::new();
    let name = unique("held");
    let full = format!("Local\\{name}");
    let mut holder = env.spawn(&["create", &name, "--size", "64K", "--hold"]);
    holder.wait_for("holding");
    let pid = holder.pid();

    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, &full).unwrap_or_else(|| panic!("{full} not listed: {ls}"));
    assert_eq!(obj["type"], "mapping");
    assert_eq!(obj["scope"], "local");
    assert_eq!(obj["size"], 65536);
    assert_eq!(obj["stale"], false);
    assert_eq!(obj["mode"], "0600");
    assert_eq!(obj["creator_pid"], pid);
    let holders = obj["holders"].as_array().unwrap();
    assert_eq!(holders.len(), 1, "{obj}");
    assert_eq!(holders[0]["pid"], pid);
    assert_eq!(holders[0]["locks"], 1);
    assert!(holders[0]["command"].as_str().unwrap().contains("filemap create"), "{obj}");

    let table = env.run(&["ls"]);
    let row = table.ok().lines().find(|l| l.contains(&full)).expect("row");
    assert!(row.contains(&pid.to_string()) && row.contains("live") && row.contains("64.0 KiB"), "{row}");

    holder.signal(Signal::KILL);
    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, &full).expect("the dead object's file is still there");
    assert_eq!(obj["stale"], true, "{obj}");
    assert!(obj["holders"].as_array().unwrap().is_empty(), "{obj}");
    let table = env.run(&["ls"]);
    assert!(table.ok().lines().any(|l| l.contains(&full) && l.contains("stale")), "{}", table.stdout);

    let dry = env.run(&["gc", "--dry-run", "--json"]).json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["freed"][0]["name"], full.as_str());
    assert!(find_object(&env.run(&["ls", "--json"]).json(), &full).is_some(), "dry run removed it");

    let gc = env.run(&["gc", "--json"]).json();
    let freed = gc["freed"].as_array().unwrap();
    assert_eq!(freed.len(), 1, "{gc}");
    assert_eq!(freed[0]["name"], full.as_str());
    assert_eq!(freed[0]["type"], "mapping");
    assert_eq!(freed[0]["scope"], "local");
    assert!(freed[0]["bytes"].as_u64().unwrap() >= 65536);
    assert!(find_object(&env.run(&["ls", "--json"]).json(), &full).is_none());
    assert!(env.files_in(&env.local_dir()).is_empty());
    assert!(env.run(&["gc"]).ok().contains("nothing to free"));
}

#[test]
fn gc_leaves_live_objects_alone_and_reports_in_words() {
    let mut env = Env::new();
    let live = unique("live");
    let dead = unique("dead");
    let mut keeper = env.spawn(&["create", &live, "--size", "4K", "--hold"]);
    keeper.wait_for("holding");
    let mut victim = env.spawn(&["create", &dead, "--size", "4K", "--hold"]);
    victim.wait_for("holding");
    victim.signal(Signal::KILL);
    let out = env.run(&["gc"]);
    let text = out.ok();
    assert!(text.contains(&format!("freed Local\\{dead} (mapping")), "{text}");
    assert!(!text.contains(&live), "{text}");
    let ls = env.run(&["ls", "--json"]).json();
    assert!(find_object(&ls, &format!("Local\\{live}")).is_some());
    assert!(find_object(&ls, &format!("Local\\{dead}")).is_none());
}

#[test]
fn hold_is_released_cleanly_by_ctrl_c_and_sigterm() {
    let mut env = Env::new();
    for signal in [Signal::INT, Signal::TERM] {
        let name = unique("ctrlc");
        let mut holder = env.spawn(&["create", &name, "--size", "4096", "--hold"]);
        holder.wait_for("holding");
        assert_eq!(env.run(&["info", &name]).code(), 0);
        let status = holder.signal(signal);
        assert!(status.success(), "{signal:?}: {status}");
        assert!(holder.rest().iter().any(|l| l.contains("released")));
        let info = env.run(&["info", &name]);
        assert_eq!(info.code(), 3, "{info:?}");
        assert!(env.files_in(&env.local_dir()).is_empty());
    }
}

#[test]
fn ls_shows_views_and_memory_kept_alive_only_by_views() {
    let mut env = Env::new();
    let viewed = unique("viewed");
    let released = unique("released");
    let mut a = env.spawn(&["create", &viewed, "--size", "100K", "--hold", "--view"]);
    a.wait_for("holding");
    let mut b = env.spawn(&["create", &released, "--size", "1M", "--hold", "--view", "--drop-handle"]);
    b.wait_for("holding");

    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, &format!("Local\\{viewed}")).expect("viewed object");
    let views = obj["views"].as_array().unwrap();
    assert_eq!(views.len(), 1, "{obj}");
    assert_eq!(views[0]["pid"], a.pid());
    assert_eq!(views[0]["bytes"], 102400);
    assert_eq!(views[0]["writable"], true);

    // The released name is gone (opening fails), but its memory is listed with its mapper.
    assert!(find_object(&ls, &format!("Local\\{released}")).is_none(), "{ls}");
    assert_eq!(env.run(&["read", &released]).code(), 3);
    if rustix::process::geteuid().is_root() {
        let info = env.run(&["info", &released]);
        assert_eq!(info.code(), 3);
        assert!(info.stderr.contains("still mapped by pid"), "{}", info.stderr);
    }
    let mem = ls["released_memory"].as_array().unwrap();
    let entry = mem.iter().find(|m| m["processes"][0]["pid"] == b.pid()).unwrap_or_else(|| panic!("{ls}"));
    assert_eq!(entry["bytes_mapped"], 1 << 20);
    assert_eq!(entry["scope"], "local");
    if rustix::process::geteuid().is_root() {
        // Root can read the removed object's header through /proc/<pid>/map_files.
        assert_eq!(entry["name"], format!("Local\\{released}"));
        assert_eq!(entry["size"], 1 << 20);
    }
    let table = env.run(&["ls"]);
    assert!(table.ok().contains("Memory kept alive only by views"), "{}", table.stdout);
    assert!(table.stdout.contains(&b.pid().to_string()));

    b.signal(Signal::INT);
    let ls = env.run(&["ls", "--json"]).json();
    assert!(ls["released_memory"].as_array().unwrap().iter().all(|m| m["processes"][0]["pid"] != b.pid()));
}

#[test]
fn info_tells_everything_about_one_object() {
    let mut env = Env::new();
    let name = unique("info");
    let mut holder =
        env.spawn(&["create", &name, "--size", "8K", "--mode", "0640", "--protection", "readonly", "--hold"]);
    holder.wait_for("holding");
    let info = env.run(&["info", &name, "--json"]).json();
    assert_eq!(info["name"], format!("Local\\{name}"));
    assert_eq!(info["type"], "mapping");
    assert_eq!(info["size"], 8192);
    assert_eq!(info["mode"], "0640");
    assert_eq!(info["protection"], "ReadOnly");
    assert_eq!(info["attributes"][0], "SEC_COMMIT");
    assert_eq!(info["backing"], serde_json::Value::Null);
    assert_eq!(info["holders"][0]["pid"], holder.pid());
    assert_eq!(info["owner_uid"], rustix::process::geteuid().as_raw());
    assert!(info["file"].as_str().unwrap().starts_with(env.local_dir().to_str().unwrap()));
    let text = env.run(&["info", &format!("Local\\{name}")]);
    let text = text.ok();
    for needle in ["Name:", "mapping", "8192 bytes", "0640", "ReadOnly", "paging file", "Holders:", "live"] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}

#[test]
fn info_shows_the_backing_file_of_a_file_backed_mapping() {
    let mut env = Env::new();
    let name = unique("filebacked");
    let path = env.root.join("backing.bin");
    std::fs::write(&path, vec![b'x'; 10000]).unwrap();
    let mut holder = env.spawn(&["create", &name, "--file", path.to_str().unwrap(), "--hold"]);
    holder.wait_for("holding");
    let info = env.run(&["info", &name, "--json"]).json();
    assert_eq!(info["size"], 10000);
    assert_eq!(info["backing"]["path"], path.to_str().unwrap());
    assert_eq!(info["backing"]["exists"], true);
    assert_eq!(info["backing"]["same_file"], true);
    assert_eq!(info["attributes"][0], "SEC_FILE");
    let text = env.run(&["info", &name]);
    assert!(text.ok().contains(path.to_str().unwrap()), "{}", text.stdout);
    let read = env.run(&["read", &name, "--len", "3"]);
    assert_eq!(read.ok(), "xxx");
}

#[test]
fn missing_and_existing_names_have_distinct_exit_codes() {
    let mut env = Env::new();
    let name = unique("codes");
    for args in [vec!["info", name.as_str()], vec!["read", name.as_str()], vec!["write", name.as_str(), "--data", "x"]]
    {
        let out = env.run(&args);
        assert_eq!(out.code(), 3, "{args:?}: {out:?}");
        assert!(out.stderr.contains("ERROR_FILE_NOT_FOUND"), "{}", out.stderr);
        assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    }
    let mut holder = env.spawn(&["create", &name, "--size", "4096", "--hold"]);
    holder.wait_for("holding");
    let out = env.run(&["create", &name, "--size", "4096"]);
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(out.stderr.contains("ERROR_ALREADY_EXISTS"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = env.run(&["create", &name, "--size", "4096", "--open-existing"]);
    assert!(out.ok().contains("opened existing"), "{out:?}");
}

#[test]
fn usage_errors_exit_with_2() {
    let env = Env::new();
    for args in [
        vec!["frobnicate"],
        vec!["create", "x"],                  // no --size
        vec!["create", "x", "--size", "12Q"], // bad size
        vec!["create", "x", "--size", "4K", "--mode", "999"],
        vec!["ls", "--scope", "everywhere"],
        vec!["init-global", "--group", "no-such-group-here"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = env.run(&["create", "a\\b", "--size", "4K"]);
    assert_eq!(out.code(), 2, "a malformed name is a usage error: {out:?}");
    assert!(out.stderr.contains("ERROR_PATH_NOT_FOUND"), "{}", out.stderr);
}

#[test]
fn sizes_accept_plain_numbers_and_k_m_g_suffixes() {
    let mut env = Env::new();
    let mut holders = Vec::new();
    let cases = [("4096", 4096u64), ("64K", 64 << 10), ("1M", 1 << 20), ("1G", 1 << 30)];
    for (text, bytes) in cases {
        let name = unique("size");
        // 1G is reserved lazily so the test does not need a gigabyte of free memory.
        let mut args = vec!["create", name.as_str(), "--size", text, "--reserve", "--hold"];
        if bytes < 1 << 30 {
            args.retain(|a| *a != "--reserve");
        }
        let mut h = env.spawn(&args);
        h.wait_for("holding");
        holders.push((name, bytes, h));
    }
    let ls = env.run(&["ls", "--json"]).json();
    for (name, bytes, _) in &holders {
        let obj = find_object(&ls, &format!("Local\\{name}")).expect("listed");
        assert_eq!(obj["size"], *bytes, "{obj}");
    }
}

#[test]
fn write_then_read_round_trips_in_every_format() {
    let mut env = Env::new();
    let name = unique("rw");
    let mut holder = env.spawn(&["create", &name, "--size", "128K", "--data", "hello", "--hold"]);
    holder.wait_for("holding");
    assert_eq!(env.run(&["read", &name, "--len", "5"]).ok(), "hello");
    let out = env.run(&["write", &name, "--offset", "64K", "--data", "far away", "--nul"]);
    out.ok();
    assert!(out.stderr.contains("wrote 9 bytes"), "{}", out.stderr);
    assert_eq!(env.run(&["read", &name, "--offset", "65536", "--text"]).ok(), "far away\n");
    let from_stdin = env.run_with_input(&["write", &name, "--offset", "100"], Some(b"\x01\x02piped"));
    from_stdin.ok();
    let hex = env.run(&["read", &name, "--offset", "96", "--len", "16", "--hex"]);
    assert_eq!(hex.ok(), "00000060  00 00 00 00 01 02 70 69  70 65 64 00 00 00 00 00  |......piped.....|\n");
    let all = env.run(&["read", &name]);
    assert_eq!(all.ok().len(), 128 * 1024);
    let past = env.run(&["read", &name, "--offset", "128K", "--len", "1"]);
    assert_eq!(past.code(), 2, "{past:?}");
    let too_long = env.run(&["write", &name, "--offset", "131070", "--data", "abc"]);
    assert_eq!(too_long.code(), 2, "{too_long:?}");
}

#[test]
fn readonly_mappings_refuse_writes_with_access_denied() {
    let mut env = Env::new();
    let name = unique("ro");
    let mut holder = env.spawn(&["create", &name, "--size", "4K", "--protection", "ro", "--hold"]);
    holder.wait_for("holding");
    let out = env.run(&["write", &name, "--data", "nope"]);
    assert_eq!(out.code(), 5, "{out:?}");
    assert!(out.stderr.contains("ERROR_ACCESS_DENIED"), "{}", out.stderr);
}

#[test]
fn create_without_hold_says_the_object_is_released_on_exit() {
    let env = Env::new();
    let name = unique("brief");
    let out = env.run(&["create", &name, "--size", "4K"]);
    assert!(out.ok().contains("created mapping"));
    assert!(out.stderr.contains("--hold"), "{}", out.stderr);
    assert_eq!(env.run(&["info", &name]).code(), 3);
    assert!(env.files_in(&env.local_dir()).is_empty());
}

#[test]
fn init_global_sets_up_the_global_scope_idempotently() {
    let env = Env::new();
    if !rustix::process::geteuid().is_root() {
        let out = env.run(&["init-global"]);
        assert_eq!(out.code(), 5, "{out:?}");
        return;
    }
    for _ in 0..2 {
        let out = env.run(&["init-global", "--group", "0"]);
        assert!(out.ok().contains("Global namespace ready"), "{out:?}");
    }
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(env.root.join("filemap-global")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o3771);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    let ls = env.run(&["ls", "--scope", "global", "--json"]).json();
    assert!(ls["objects"].as_array().unwrap().is_empty());
    assert!(ls["warnings"].as_array().unwrap().is_empty(), "{ls}");
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn ls_scopes_separate_local_and_global_objects() {
    filemap_testkit::privilege::require_root("to create the Global namespace");
    let mut env = Env::new();
    let l = unique("scoped");
    let g = format!("Global\\{}", unique("scoped"));
    let mut a = env.spawn(&["create", &l, "--size", "4K", "--hold"]);
    a.wait_for("holding");
    let mut b = env.spawn(&["create", &g, "--size", "4K", "--hold"]);
    b.wait_for("holding");
    let local = env.run(&["ls", "--scope", "local", "--json"]).json();
    assert!(find_object(&local, &format!("Local\\{l}")).is_some());
    assert!(find_object(&local, &g).is_none());
    let global = env.run(&["ls", "--scope", "global", "--json"]).json();
    assert_eq!(find_object(&global, &g).expect("global")["scope"], "global");
    let all = env.run(&["ls", "--json"]).json();
    assert_eq!(all["objects"].as_array().unwrap().len(), 2);
}

#[test]
fn help_explains_commands_and_exit_codes() {
    let env = Env::new();
    let out = env.run(&["--help"]);
    let text = out.ok();
    for needle in ["demo", "ls", "info", "create", "read", "write", "gc", "init-global", "Exit codes", "already exists"]
    {
        assert!(text.contains(needle), "{needle} missing from --help:\n{text}");
    }
    assert!(!text.contains("demo-second"));
    let create = env.run(&["create", "--help"]);
    assert!(create.ok().contains("64K"));
}

#[test]
fn corrupt_object_files_are_listed_as_such_and_gc_leaves_them_alone() {
    let env = Env::new();
    let name = unique("keep");
    // Make the Local directory exist (with the right mode) through a normal command.
    env.run(&["create", &name, "--size", "4K"]).ok();
    let bogus = env.local_dir().join("bogus");
    std::fs::write(&bogus, b"this is not a filemap object").unwrap();
    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, "Local\\bogus").unwrap_or_else(|| panic!("{ls}"));
    assert_eq!(obj["type"], serde_json::Value::Null);
    assert!(obj["error"].as_str().unwrap().contains("corrupt"), "{obj}");
    let table = env.run(&["ls"]);
    assert!(table.ok().lines().any(|l| l.contains("Local\\bogus") && l.contains("corrupt")), "{}", table.stdout);
    assert!(!table.stdout.contains('\u{1b}'), "no colour when stdout is not a terminal");
    // gc removes only verified object files, and says what it left.
    let gc = env.run(&["gc"]);
    assert!(!gc.ok().contains("freed Local\\bogus"), "{}", gc.stdout);
    assert!(gc.stderr.contains("left") && gc.stderr.contains("bogus"), "{}", gc.stderr);
    assert!(bogus.exists());
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn another_user_sees_holders_through_the_lock_table_and_gets_access_denied() {
    let mut env = Env::new();
    filemap_testkit::privilege::require_root("to run filemap as another user");
    const NOBODY: u32 = 65534;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.run(&["init-global", "--group", &NOBODY.to_string()]).ok();
    let name = format!("Global\\{}", unique("shared"));
    let mut holder = env.spawn(&["create", &name, "--size", "4K", "--mode", "0644", "--data", "for all", "--hold"]);
    holder.wait_for("holding");

    // Root's handle shows in the lock table (live, one handle lock); which process holds it
    // is not readable by nobody (OFD locks carry no pid, and root's descriptors are closed to it).
    let ls = env.run_as(NOBODY, &["ls", "--scope", "global", "--json"]).json();
    let obj = find_object(&ls, &name).unwrap_or_else(|| panic!("{ls}"));
    assert_eq!(obj["owner"], "root");
    assert_eq!(obj["stale"], false, "{obj}");
    assert_eq!(obj["handle_locks"], 1, "{obj}");
    assert!(obj["holders"].as_array().unwrap().is_empty(), "{obj}");
    assert!(ls["unreadable_processes"].as_array().unwrap().iter().any(|p| p == holder.pid()), "{ls}");

    // Mode 0644: others may read but not write.
    assert_eq!(env.run_as(NOBODY, &["read", &name, "--text"]).ok(), "for all\n");
    let write = env.run_as(NOBODY, &["write", &name, "--data", "mine"]);
    assert_eq!(write.code(), 5, "{write:?}");
    assert!(write.stderr.contains("ERROR_ACCESS_DENIED"), "{}", write.stderr);

    // A member of the Global group may create there; nobody may not set the scope up.
    let mine = format!("Global\\{}", unique("member"));
    assert!(env.run_as(NOBODY, &["create", &mine, "--size", "4K"]).ok().contains("created"));
    let init = env.run_as(NOBODY, &["init-global"]);
    assert_eq!(init.code(), 5, "{init:?}");
}

#[test]
fn colour_is_used_only_on_a_terminal_and_never_with_no_color() {
    let mut env = Env::new();
    assert!(
        std::path::Path::new("/usr/bin/script").exists(),
        "needs script(1) (util-linux) to run filemap on a pseudo-terminal"
    );
    let name = unique("colour");
    let mut holder = env.spawn(&["create", &name, "--size", "4K", "--hold"]);
    holder.wait_for("holding");
    let on_terminal = |no_color: bool| {
        let mut cmd = std::process::Command::new("/usr/bin/script");
        cmd.args(["-qec", &format!("{} ls", env!("CARGO_BIN_EXE_filemap")), "/dev/null"])
            .env("FILEMAP_ROOT", &env.root)
            .env("TERM", "xterm") // what a terminal sets; `dumb` or none means no colour
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(std::process::Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().expect("run script");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(coloured.contains(&name), "{coloured}");
    assert!(coloured.contains("\u{1b}[1mSCOPE"), "headers are bold on a terminal: {coloured:?}");
    let plain = on_terminal(true);
    assert!(plain.contains(&name));
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain:?}");
    let piped = env.run(&["ls"]);
    assert!(!piped.ok().contains('\u{1b}'));
}

#[test]
fn a_descriptor_without_the_handle_lock_does_not_keep_the_name_and_is_not_listed_as_a_holder() {
    let mut env = Env::new();
    let name = unique("unlocked");
    let full = format!("Local\\{name}");
    let mut creator = env.spawn(&["create", &name, "--size", "4K", "--hold"]);
    creator.wait_for("holding");
    // A shell opens the object file and leaves a background `sleep` with the descriptor: an
    // open descriptor that holds no handle lock (nothing a handle does).
    let file = env.local_dir().join(&name);
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec 3<'{}'; (sleep 30 >/dev/null 2>&1 &) ; exit", file.display()))
        .status()
        .expect("sh");
    assert!(shell.success());
    let ls = env.run(&["ls", "--json"]).json();
    let obj = find_object(&ls, &full).unwrap_or_else(|| panic!("{ls}"));
    assert_eq!(obj["handle_locks"], 1, "only the creator's handle: {obj}");
    let holders = obj["holders"].as_array().unwrap();
    let sleeper = holders.iter().find(|h| h["command"].as_str().unwrap_or("").starts_with("sleep"));
    assert_eq!(sleeper.map(|s| s["locks"].clone()), Some(serde_json::json!(0)), "{obj}");
    // The creator closes cleanly: that was the last handle, the name goes despite the descriptor.
    assert!(creator.signal(Signal::INT).success());
    let ls = env.run(&["ls", "--json"]).json();
    assert!(find_object(&ls, &full).is_none(), "{ls}");
    if let Some(pid) = sleeper.and_then(|s| s["pid"].as_i64()) {
        let _ = rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), Signal::KILL);
    }
}

#[test]
fn ls_and_info_stay_correct_while_objects_come_and_go() {
    let env = std::sync::Arc::new(Env::new());
    let churn = {
        let env = env.clone();
        std::thread::spawn(move || {
            for i in 0..40 {
                let name = unique("churn");
                let kind = ["mapping", "event", "semaphore", "mutex"][i % 4];
                let mut args = vec!["create", name.as_str(), "--type", kind];
                if kind == "mapping" {
                    args.extend(["--size", "64K"]);
                }
                env.run(&args).ok();
            }
        })
    };
    let mut rounds = 0;
    while !churn.is_finished() || rounds < 3 {
        let ls = env.run(&["ls", "--json"]).json();
        for obj in ls["objects"].as_array().unwrap() {
            // Whatever is caught mid-flight is either a complete object or marked as not.
            assert!(obj["error"].is_null() || obj["type"].is_null(), "{obj}");
        }
        let info = env.run(&["info", "churn-none"]);
        assert_eq!(info.code(), 3);
        rounds += 1;
    }
    churn.join().unwrap();
    assert!(env.run(&["ls", "--json"]).json()["objects"].as_array().unwrap().is_empty());
    assert!(env.files_in(&env.local_dir()).is_empty());
}

#[test]
fn gc_watch_removes_what_a_killed_holder_left_within_one_period() {
    let mut env = Env::new();
    let name = unique("watched");
    let mut holder = env.spawn(&["create", &name, "--size", "1M", "--hold"]);
    holder.wait_for("holding");
    let file = env.local_dir().join(&name);
    let mut watch = env.spawn(&["gc", "--watch", "--interval", "0.2"]);
    holder.signal(Signal::KILL);
    let start = std::time::Instant::now();
    while file.exists() {
        assert!(start.elapsed() < common::TIMEOUT, "gc --watch never removed {}", file.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let report = watch.wait_for(&format!("freed Local\\{name}"));
    assert!(report.contains("MiB"), "it reports what it removed: {report}");
    // SIGTERM, not SIGINT: `gc --watch` keeps the default dispositions it inherits, and a shell
    // starts background jobs with SIGINT ignored (as CI scripts often run).
    watch.signal(Signal::TERM);
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn create_allow_grants_other_users_what_it_says_and_info_shows_who_may_do_what() {
    filemap_testkit::privilege::require_root("to run commands as other users");
    let mut env = Env::new();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let name = format!("Global\\{}", unique("allow"));
    let mut holder = env.spawn(&[
        "create",
        &name,
        "--size",
        "4K",
        "--allow",
        "user:65534:all",
        "--allow",
        "everyone:read",
        "--data",
        "shared",
        "--hold",
    ]);
    holder.wait_for("holding");
    let info = env.run(&["info", &name, "--json"]).json();
    assert_eq!(info["mode"], "0464+", "{info}");
    let access: Vec<(String, String)> = info["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["who"].as_str().unwrap().to_owned(), a["access"].as_str().unwrap().to_owned()))
        .collect();
    assert!(access.contains(&("user 65534".into(), "read,write".into())), "{access:?}");
    assert!(access.contains(&("everyone else".into(), "read".into())), "{access:?}");
    let text = env.run(&["info", &name]);
    assert!(text.ok().contains("Access:"), "{}", text.stdout);

    // 65534 may write; 65533 may read and not write.
    let wrote = env.run_as(65534, &["write", &name, "--data", "by 65534"]);
    assert_eq!(wrote.code(), 0, "{wrote:?}");
    assert_eq!(env.run_as(65533, &["read", &name, "--text"]).ok(), "by 65534\n");
    let denied = env.run_as(65533, &["write", &name, "--data", "no"]);
    assert_eq!(denied.code(), 5, "{denied:?}");

    let bad = env.run(&["create", &format!("{name}-bad"), "--size", "4K", "--allow", "nobody-at-all:read"]);
    assert_eq!(bad.code(), 2, "{bad:?}");
    assert!(bad.stderr.contains("bad permission entry"), "{}", bad.stderr);
}

#[test]
fn create_background_returns_once_the_object_exists_and_the_holder_releases_it_on_sigterm() {
    let env = Env::new();
    let name = unique("bg-event");
    // The README's pattern: nothing may race the creation.
    let out = env.run(&["create", &name, "--type", "event", "--manual-reset", "--background"]);
    let pid: i32 = out.ok().trim().parse().expect("create --background prints the holder's pid");
    let holder = rustix::process::Pid::from_raw(pid).expect("a pid");
    let signal = env.run(&["signal", &name]);
    assert!(signal.ok().contains("set event"), "{signal:?}");
    assert_eq!(env.run(&["wait", &name, "-t", "1s"]).code(), 0);
    // The holder is a process of its own that outlives `filemap create` and holds the name.
    assert_eq!(env.run(&["info", &name]).code(), 0);
    // A second --background create of the same name fails like create does, with its code.
    let dup = env.run(&["create", &name, "--type", "event", "--background"]);
    assert_eq!(dup.code(), 4, "{dup:?}");
    rustix::process::kill_process(holder, Signal::TERM).expect("the holder is alive");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while env.run(&["info", &name]).code() != 3 {
        assert!(std::time::Instant::now() < deadline, "the name outlived its background holder");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
