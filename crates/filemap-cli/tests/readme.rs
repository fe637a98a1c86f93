//! The READMEs' CLI examples, run as written: every fenced block marked ```` ```sh cli ```` in the
//! repository's README.md runs in `bash -euo pipefail` with this build's `filemap` first on
//! `PATH` and its own `FILEMAP_ROOT`; the `console` transcript in the CLI crate's README is run
//! and compared with what `filemap` prints (pids and other numbers aside). Any disagreement
//! between a README and the CLI fails here.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Env;

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The fenced blocks whose info string is exactly `info`, with their first line numbers.
fn blocks(markdown: &str, info: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.strip_prefix("```").is_some_and(|rest| rest.trim() == info) => {
                current = Some((i + 2, String::new()));
            }
            Some(_) if line.trim_start().starts_with("```") => {
                out.extend(current.take());
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unterminated ```{info} block");
    out
}

/// A shell whose `filemap` is this build's, in the test's namespace.
fn shell(env: &Env, script: &str) -> Command {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_filemap"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("FILEMAP_ROOT", &env.root)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Ends every process that still holds an object of the namespace (the examples' background
/// holders that the example itself does not end).
fn end_holders(env: &Env) {
    let ls = env.run(&["ls", "--json"]).json();
    for obj in ls["objects"].as_array().unwrap() {
        for h in obj["holders"].as_array().unwrap() {
            let pid = rustix::process::Pid::from_raw(h["pid"].as_i64().unwrap() as i32).unwrap();
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

#[test]
fn every_cli_example_in_the_readme_runs_as_written() {
    let readme = repo_file("../../README.md");
    let examples = blocks(&readme, "sh cli");
    assert!(!examples.is_empty(), "README.md has no ```sh cli block: the examples would go untested");
    for (line, script) in examples {
        let env = Env::new();
        let out = shell(&env, &script).output().expect("run bash");
        end_holders(&env);
        assert!(
            out.status.success(),
            "README.md line {line}: the example failed ({}):\n{script}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Every `filemap` line of the example ran: the read printed what the write wrote.
        let stdout = String::from_utf8_lossy(&out.stdout);
        if script.contains("filemap read demo-map --len 5") {
            assert!(stdout.contains("hello"), "README.md line {line}: {stdout}");
        }
    }
}

/// Numbers (pids, sizes) become `N` and runs of spaces one space: the words must agree.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut last = ' ';
    for c in text.trim().chars() {
        let c = if c.is_ascii_digit() { 'N' } else { c };
        if (c == 'N' && last == 'N') || (c == ' ' && last == ' ') {
            continue;
        }
        out.push(c);
        last = c;
    }
    out
}

#[test]
fn the_cli_readme_transcripts_match_what_filemap_prints() {
    let readme = repo_file("README.md");
    let transcripts = blocks(&readme, "console");
    assert!(!transcripts.is_empty(), "crates/filemap-cli/README.md has no ```console transcript");
    for (line, transcript) in transcripts {
        let env = Env::new();
        // `$ command` lines, each followed by what it prints.
        let mut steps: Vec<(String, Vec<String>)> = Vec::new();
        for l in transcript.lines() {
            match l.strip_prefix("$ ") {
                Some(command) => steps.push((command.to_owned(), Vec::new())),
                None => steps.last_mut().expect("output before a command").1.push(l.to_owned()),
            }
        }
        for (command, expected) in steps {
            let out = shell(&env, &command).output().expect("run bash");
            end_holders(&env);
            assert!(out.status.success(), "line {line}: `{command}` failed: {out:?}");
            let actual = String::from_utf8_lossy(&out.stdout);
            let (want, got): (Vec<String>, Vec<String>) =
                (expected.iter().map(|l| normalize(l)).collect(), actual.lines().map(normalize).collect());
            assert_eq!(
                want, got,
                "crates/filemap-cli/README.md line {line}: `{command}` prints something else now:\n{actual}"
            );
        }
    }
}
