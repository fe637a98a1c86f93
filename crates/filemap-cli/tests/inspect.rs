//! `ls PATTERN`, `ls --pid`, handle counts, creation times and the note about processes that
//! could not be inspected, run as real processes against an isolated namespace.

mod common;

use common::{Env, find_object, unique};

fn names(ls: &serde_json::Value) -> Vec<String> {
    ls["objects"].as_array().expect("objects").iter().map(|o| o["name"].as_str().unwrap_or("?").to_owned()).collect()
}

#[test]
fn ls_pattern_is_a_substring_without_wildcards_and_a_glob_with_them() {
    let mut env = Env::new();
    let tag = unique("pat");
    let (a, b, c) = (format!("{tag}-alpha"), format!("{tag}-beta"), format!("other-{tag}"));
    let mut holders = Vec::new();
    for n in [&a, &b, &c] {
        let mut h = env.spawn(&["create", n, "--size", "4K", "--hold"]);
        h.wait_for("holding");
        holders.push(h);
    }
    let listed = |args: &[&str]| {
        let mut full = vec!["ls", "--json"];
        full.extend_from_slice(args);
        let mut n = names(&env.run(&full).json());
        n.sort();
        n
    };
    let local = |n: &str| format!("Local\\{n}");
    // Substring of the full name: all three contain the tag; only one contains "-alpha".
    assert_eq!(listed(&[&tag]), vec![local(&c), local(&a), local(&b)]); // sorted
    assert_eq!(listed(&["alpha"]), vec![local(&a)]);
    assert_eq!(listed(&["Local\\other-"]), vec![local(&c)]);
    // Globs match the whole name, with or without its prefix; the prefix in any case.
    assert_eq!(listed(&[&format!("{tag}-*")]), vec![local(&a), local(&b)]);
    assert_eq!(listed(&[&format!("local\\{tag}-b*")]), vec![local(&b)]);
    assert_eq!(listed(&["other-*"]), vec![local(&c)]);
    assert_eq!(listed(&[&format!("{tag}-?????")]), vec![local(&a)]);
    // Whole-name match: a glob without a wildcard at the end does not match a longer name.
    assert!(listed(&[&format!("{tag}-alph[a]x")]).is_empty());
    // Names are case-sensitive, as on Windows.
    assert!(listed(&[&tag.to_uppercase()]).is_empty());
    // The table filters the same way, and a bad glob is a usage error.
    let table = env.run(&["ls", "alpha"]);
    assert!(table.ok().contains(&local(&a)) && !table.stdout.contains(&local(&b)), "{}", table.stdout);
    assert_eq!(env.run(&["ls", "[unclosed"]).code(), 2);
    assert_eq!(env.run(&["ls", "no-such-thing-*"]).ok(), "no named objects match\n");
}

#[test]
fn ls_pid_lists_exactly_what_one_process_holds_with_its_handle_counts() {
    let mut env = Env::new();
    let (e1, e2, e3) = (unique("pe1"), unique("pe2"), unique("pe3"));
    let mut creators = Vec::new();
    for n in [&e1, &e2, &e3] {
        let mut h = env.spawn(&["create", n, "--type", "event", "--manual-reset", "--signaled", "--hold"]);
        h.wait_for("holding");
        creators.push(h);
    }
    // A separate process holding two handles to e1 and one to e2 (and nothing of e3).
    let mut waiter = env.spawn(&["wait", &e1, &e1, &e2, "--hold"]);
    waiter.wait_for("holding");
    let pid = waiter.pid();

    let ls = env.run(&["ls", "--pid", &pid.to_string(), "--json"]).json();
    let mut listed = names(&ls);
    listed.sort();
    assert_eq!(listed, vec![format!("Local\\{e1}"), format!("Local\\{e2}")], "{ls}");
    let holder = |name: &str| -> serde_json::Value {
        let obj = find_object(&ls, &format!("Local\\{name}")).unwrap().clone();
        obj["holders"].as_array().unwrap().iter().find(|h| h["pid"] == pid).cloned().expect("the waiter holds it")
    };
    assert_eq!(holder(&e1)["handles"], 2, "{ls}");
    assert_eq!(holder(&e2)["handles"], 1, "{ls}");
    // Every handle of e1 in the lock table: the creator's and the waiter's two.
    assert_eq!(find_object(&ls, &format!("Local\\{e1}")).unwrap()["handle_locks"], 3, "{ls}");

    // The table names the process and its handle count.
    let table = env.run(&["ls", "--pid", &pid.to_string()]);
    let row = table.ok().lines().find(|l| l.contains(&e1)).expect("row").to_owned();
    assert!(row.contains(&format!("{pid} filemap \u{d7}2")), "{row}");
    assert!(!table.stdout.contains(&e3), "{}", table.stdout);

    // The creator of e3 holds only e3.
    let ls3 = env.run(&["ls", "--pid", &creators[2].pid().to_string(), "--json"]).json();
    assert_eq!(names(&ls3), vec![format!("Local\\{e3}")]);

    // A process that holds nothing lists nothing; a pid that does not exist is "not found".
    let none = env.run(&["ls", "--pid", &std::process::id().to_string(), "--json"]).json();
    assert!(names(&none).is_empty(), "{none}");
    waiter.signal(rustix::process::Signal::TERM);
    let gone = env.run(&["ls", "--pid", &pid.to_string()]);
    assert_eq!(gone.code(), 3, "{gone:?}");
    assert!(gone.stderr.contains(&format!("no process has pid {pid}")), "{}", gone.stderr);
}

#[test]
fn ls_and_info_show_creation_times_and_handle_counts() {
    let mut env = Env::new();
    let name = unique("when");
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut holder = env.spawn(&["create", &name, "--size", "4K", "--hold"]);
    holder.wait_for("holding");
    let info = env.run(&["info", &name, "--json"]).json();
    let created = info["created"].as_str().expect("created").to_owned();
    let parsed = humantime_secs(&created);
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(before <= parsed && parsed <= after, "{created} not within [{before}, {after}]");
    assert_eq!(info["created_unix_ns"].as_u64().unwrap() / 1_000_000_000, parsed);
    assert_eq!(info["holders"][0]["handles"], 1);
    let text = env.run(&["info", &name]);
    assert!(text.ok().contains(&format!("Created:     {created}")), "{}", text.stdout);
    assert!(text.stdout.contains(": 1 handle(s), 1 descriptor(s)"), "{}", text.stdout);
    let table = env.run(&["ls", &name]);
    let out = table.ok();
    assert!(out.lines().next().unwrap().contains("CREATED") && out.lines().next().unwrap().contains("HANDLES"));
    // Made just now: the table shows the time of day (UTC), `HH:MM:SSZ`.
    let time = created.split_once('T').unwrap().1;
    assert!(out.contains(time), "{out}");
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`.
fn humantime_secs(text: &str) -> u64 {
    let (date, time) = text.strip_suffix('Z').expect("UTC").split_once('T').expect("T");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) as u64
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn the_note_about_uninspectable_processes_appears_only_when_a_holder_is_hidden() {
    let mut env = Env::new();
    filemap_testkit::privilege::require_root("to run filemap as another user");
    const NOBODY: u32 = 65534;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.run(&["init-global", "--group", &NOBODY.to_string()]).ok();
    // Root sees everything: no note, although other processes exist.
    let name = format!("Global\\{}", unique("noted"));
    let mut holder = env.spawn(&["create", &name, "--size", "4K", "--mode", "0644", "--hold"]);
    holder.wait_for("holding");
    let root_view = env.run(&["ls"]);
    assert!(!root_view.ok().contains("note:"), "{}", root_view.stdout);
    // Nobody, listing only its own object (held by its own process): other users' processes
    // exist, but they hold nothing listed, so no note.
    let mine = format!("Global\\{}", unique("mine"));
    let own_holder: i32 =
        env.run_as(NOBODY, &["create", &mine, "--size", "4K", "--background"]).ok().trim().parse().unwrap();
    let own = env.run_as(NOBODY, &["ls", "--scope", "global", &mine]);
    let kill = || {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(own_holder).unwrap(),
            rustix::process::Signal::TERM,
        )
    };
    let own_out = own.stdout.clone();
    kill().expect("kill nobody's holder");
    assert!(own.status.success() && own_out.contains(&mine) && own_out.contains(&own_holder.to_string()), "{own:?}");
    assert!(!own_out.contains("note:"), "{own_out}");
    // Nobody listing root's object: its holder is hidden, and the note says so.
    let theirs = env.run_as(NOBODY, &["ls", "--scope", "global"]);
    let out = theirs.ok();
    assert!(out.contains("note: 1 handle(s) are held by processes this user may not inspect"), "{out}");
    assert!(out.lines().any(|l| l.contains(&name) && l.contains("1 unreadable")), "{out}");
    let json = env.run_as(NOBODY, &["ls", "--scope", "global", "--json"]).json();
    assert_eq!(find_object(&json, &name).unwrap()["uninspected_handles"], 1, "{json}");
    // What root's holder holds cannot be listed by nobody: access denied, not an empty list.
    let denied = env.run_as(NOBODY, &["ls", "--pid", &holder.pid().to_string()]);
    assert_eq!(denied.code(), 5, "{denied:?}");
}

#[test]
fn names_with_control_characters_are_escaped_by_ls_pattern_pid_and_info() {
    let mut env = Env::new();
    let tag = unique("esc");
    let name = format!("{tag}\x1b]0;T\x07\x1b[31mred\u{202e}");
    let mut holder = env.spawn(&["create", &name, "--size", "4K", "--hold"]);
    holder.wait_for("holding");
    for args in [vec!["ls", tag.as_str()], vec!["ls", "--pid", &holder.pid().to_string()], vec!["info", &name]] {
        let out = env.run(&args);
        let text = out.ok();
        assert!(text.contains(&tag), "{args:?}: {text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n' || c == '\u{202e}'), "{args:?}: {text:?}");
        assert!(text.contains("\\x1b]0;T\\x07\\x1b[31mred\\u{202e}"), "{args:?}: {text}");
    }
    // JSON holds the exact name.
    let ls = env.run(&["ls", &tag, "--json"]).json();
    assert_eq!(ls["objects"][0]["name"], format!("Local\\{name}"));
    // And so does create --json.
    let other = format!("{tag}\x1b[2Jx");
    let created = env.run(&["create", &other, "--size", "4K", "--json"]).json();
    assert_eq!(created["name"], format!("Local\\{other}"));
}
