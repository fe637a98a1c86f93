//! Our own C and C++ programs (in `tests/c/`), compiled against the headers and the library
//! with the documented command line and run, across processes where they start partners.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Build, command, compile, expect_success, run, scratch};

fn program(name: &str) -> PathBuf {
    common::crate_dir().join("tests/c").join(name)
}

/// Compiles `name` in `builds`, runs each with `args`, and returns their outputs.
fn run_program(name: &str, builds: &[Build], args: &[&str]) -> Vec<String> {
    let dir = scratch(name.split('.').next().unwrap_or(name));
    let root = dir.join("root");
    let mut outputs = Vec::new();
    for &build in builds {
        let exe = compile(&program(name), &dir, build);
        let mut cmd = command(&exe, &root);
        cmd.args(args).current_dir(&dir);
        let out = run(cmd, Duration::from_secs(60), name);
        outputs.push(expect_success(&out, &format!("{name} ({build:?})")));
    }
    outputs
}

#[test]
fn every_mapping_handle_file_and_system_function_behaves_as_on_windows() {
    for out in run_program("api_basics.c", &Build::ALL, &[]) {
        assert!(out.contains("ALL OK (text)"), "{out}");
        assert!(out.contains("Caption: box text\n"), "MessageBox writes caption and text: {out}");
    }
}

#[test]
fn processes_inherit_handle_values_across_createprocess_and_fork_exec() {
    for out in run_program("processes.c", &Build::ALL, &[]) {
        assert!(out.contains("PARENT OK"), "{out}");
    }
}

#[test]
fn producer_and_consumer_share_a_bounded_buffer_with_semaphores_and_a_mutex() {
    for out in run_program("producer_consumer.c", &Build::ALL, &[]) {
        assert!(out.contains("consumed 500, sum 125250"), "{out}");
        assert!(out.contains("PRODUCER OK"), "{out}");
    }
}

#[test]
fn sync_functions_keep_windows_semantics_and_error_codes_across_processes() {
    for out in run_program("sync_api.c", &Build::ALL, &[]) {
        assert!(out.contains("SYNC OK"), "{out}");
    }
}
