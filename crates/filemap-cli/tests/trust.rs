//! The CLI at trust boundaries: what another user put in the namespace (names, command lines,
//! headers) cannot act on the terminal, forge output or make root's `filemap` touch files the
//! other user could not; and a closed output pipe ends `filemap` quietly with status 141.
//!
//! The attacker is a real second user (uid/gid 65534 through `setpriv`, a member of the Global
//! group), the victim root's `filemap`. These tests need root and setpriv: without them they
//! fail loudly.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, find_object, unique};

const NOBODY: u32 = 65534;
const SECRET: &str = "TOP SECRET: root-only data";

/// The Global namespace with 65534 as its creators' group, and a directory the attacker owns.
fn stage(env: &Env) -> PathBuf {
    filemap_testkit::privilege::require_root("to attack root's filemap as another user");
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["init-global", "--group", &NOBODY.to_string()]).ok();
    let theirs = env.root.join("attacker");
    std::fs::create_dir_all(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
    theirs
}

/// A process running as the attacker, whose `@@` lines (or, for `filemap`, all lines) arrive
/// on a channel; killed when dropped.
struct Attacker {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Attacker {
    fn start(env: &Env, program: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Attacker {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program)
            .args(args)
            .env("FILEMAP_ROOT", &env.root)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the attacker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Attacker { child, lines }
    }

    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + common::TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => continue,
                Err(_) => panic!("the attacker never said {text:?}"),
            }
        }
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Entry point of the forging attacker (this test binary again, as uid 65534): publishes a
/// Global file-backed mapping of its own file, then rewrites the header (valid checksum) to
/// name the file in `FORGE_TARGET`, and holds it until its stdin closes.
#[test]
#[ignore = "run as the attacker by the tests below"]
fn forge_helper() {
    let (Ok(name), Ok(target), Ok(own)) =
        (std::env::var("FORGE_NAME"), std::env::var("FORGE_TARGET"), std::env::var("FORGE_OWN"))
    else {
        return; // run directly with --ignored: nothing to do
    };
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&own).unwrap();
    file.set_len(64).unwrap();
    let (m, _) = filemap::Mapping::options().name(&name).file(&file).mode(0o644).create().expect("create as member");
    let meta = std::fs::metadata(&target).expect("stat the target");
    let header = filemap::Header {
        kind: filemap::ObjectType::Mapping,
        protection: filemap::page::READWRITE,
        attributes: filemap::SectionFlags::FILE.0,
        mode: 0o644,
        size: meta.len().max(1),
        creator_uid: NOBODY,
        creator_pid: std::process::id(),
        created_ns: 1,
        backing: Some(filemap::Backing { dev: meta.dev(), ino: meta.ino(), path: PathBuf::from(&target) }),
        name: m.name(),
        params: [0; 4],
    };
    let page = header.encode(&[]).unwrap();
    use std::os::fd::AsFd;
    assert_eq!(rustix::io::pwrite(m.as_fd(), &page, 0).unwrap(), page.len());
    println!("@@ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn roots_filemap_read_and_write_refuse_a_forged_backing_path() {
    let env = Env::new();
    let theirs = stage(&env);
    let secret = env.root.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let name = format!("Global\\{}", unique("forged"));
    let exe = std::env::current_exe().unwrap();
    let own = theirs.join("own");
    let mut attacker = Attacker::start(
        &env,
        &exe,
        &["--exact", "forge_helper", "--ignored", "--nocapture", "--test-threads=1", "-q"],
        &[("FORGE_NAME", &name), ("FORGE_TARGET", secret.to_str().unwrap()), ("FORGE_OWN", own.to_str().unwrap())],
    );
    attacker.wait_for("@@ready");

    let read = env.run(&["read", &name, "--text"]);
    assert!(!read.stdout.contains("TOP SECRET"), "root's filemap printed the root-only file: {read:?}");
    assert_eq!(read.code(), 5, "{read:?}");
    assert!(read.stderr.contains("ERROR_ACCESS_DENIED"), "{}", read.stderr);

    let write = env.run(&["write", &name, "--data", "pwned"]);
    assert_eq!(write.code(), 5, "{write:?}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), SECRET, "root's filemap wrote the root-only file");
}

/// Starts `filemap ARGS` as the attacker in the background (e.g. `create --hold`).
fn hold_as_attacker(env: &Env, args: &[&str]) -> Attacker {
    let mut attacker = Attacker::start(env, Path::new(env!("CARGO_BIN_EXE_filemap")), args, &[]);
    attacker.wait_for("holding");
    attacker
}

fn assert_no_controls(what: &str, text: &str) {
    let bad: Vec<char> = text.chars().filter(|c| c.is_control() && *c != '\n').collect();
    assert!(bad.is_empty(), "{what} has control characters {bad:?}:\n{text}");
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn names_and_command_lines_with_escape_sequences_are_shown_escaped_and_forge_no_rows() {
    let env = Env::new();
    stage(&env);
    // A member's object whose name retitles the terminal, rings, clears the line and starts a
    // fake row; its holder's command line carries an escape sequence too.
    let tag = unique("evil");
    let name = format!("Global\\{tag}\x1b]0;PWNED\x07\r\x1b[2K\nlocal  Local:forged  mapping  1.0 GiB");
    let mut holder =
        hold_as_attacker(&env, &["create", &name, "--size", "4K", "--mode", "0644", "--data", "\x1b[31mred", "--hold"]);

    let ls = env.run(&["ls"]);
    let table = ls.ok();
    assert_no_controls("ls", table);
    assert!(!table.lines().any(|l| l.starts_with("local  Local:forged")), "a forged row:\n{table}");
    assert!(table.contains(&format!("{tag}\\x1b]0;PWNED\\x07\\r\\x1b[2K\\nlocal")), "{table}");

    let info = env.run(&["info", &name]);
    assert_no_controls("info", info.ok());
    assert!(info.stdout.contains("\\x1b[31mred"), "the holder's command line, escaped: {}", info.stdout);

    // Messages about the name (here an error) are escaped too.
    let err = env.run(&["wait", &name, "--timeout", "0"]);
    assert_no_controls("an error message", &err.stderr);

    // Scripts get the exact name.
    let json = env.run(&["ls", "--json"]).json();
    assert!(find_object(&json, &name).is_some(), "ls --json keeps the name exact: {json}");
    holder.child.kill().ok();
}

/// Runs `filemap ARGS` with stdout and stderr on a pipe whose reader is already gone.
fn run_into_closed_pipe(env: &Env, args: &[&str]) -> std::process::ExitStatus {
    // CLOEXEC: another test's child forked at this moment must not keep the read end open
    // (writes would then succeed and the command would rightly exit 0).
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    drop(reader);
    let err = writer.try_clone().unwrap();
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn filemap");
    let deadline = Instant::now() + common::TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "filemap {args:?} hung on a closed pipe");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_closed_output_pipe_ends_filemap_quietly_with_status_141() {
    let mut env = Env::new();
    let names: Vec<String> = (0..3).map(|_| unique("piped")).collect();
    let mut holders = Vec::new();
    for n in &names {
        let mut h = env.spawn(&["create", n, "--size", "64K", "--data", "some data", "--hold"]);
        h.wait_for("holding");
        holders.push(h);
    }
    let first = names[0].as_str();
    for args in [
        vec!["ls"],
        vec!["ls", "--json"],
        vec!["info", first],
        vec!["read", first],
        vec!["read", first, "--hex"],
        vec!["gc", "--dry-run"],
        vec!["read", "no-such-object"],
        vec!["--help"],
    ] {
        let status = run_into_closed_pipe(&env, &args);
        let code = status.code();
        assert_ne!(code, Some(101), "filemap {args:?} panicked on a closed pipe");
        if args != ["--help"] {
            assert_eq!(code, Some(141), "filemap {args:?}: {status}");
        } else {
            assert!(matches!(code, Some(0) | Some(141)), "filemap --help: {status}");
        }
    }
    // The objects were left alone and are still held.
    let ls = env.run(&["ls", "--json"]).json();
    for n in &names {
        assert!(find_object(&ls, &format!("Local\\{n}")).is_some(), "{n} vanished: {ls}");
    }
    for h in &mut holders {
        h.signal(rustix::process::Signal::TERM);
    }
}
