//! Security descriptors through the C API, across real processes and users: `tests/c/security.c`
//! (root parent; children started with `CreateProcess` drop to other uids). Needs root.

mod common;

use std::time::Duration;

use common::{Build, command, compile, expect_success, run, scratch};

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn descriptors_decide_who_may_open_across_users_and_sddl_round_trips() {
    filemap_testkit::privilege::require_root("to change uid in its children");
    let dir = scratch("security");
    // A namespace root other users can traverse (the Global directory's mode does the rest).
    let root = std::path::PathBuf::from(format!("/dev/shm/filemap-win32-security-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create root");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod root");
    let src = common::crate_dir().join("tests/c/security.c");
    for build in Build::ALL {
        let exe = compile(&src, &dir, build);
        let mut cmd = command(&exe, &root);
        cmd.current_dir(&dir);
        let out = run(cmd, Duration::from_secs(120), "security.c");
        let stdout = expect_success(&out, &format!("security.c ({build:?})"));
        assert!(stdout.contains("SECURITY OK"), "{build:?}: {stdout}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn duplicate_handle_into_and_out_of_other_processes_and_not_across_users() {
    filemap_testkit::privilege::require_root("to change uid in a child");
    let dir = scratch("duplicate");
    let root = dir.join("root");
    let src = common::crate_dir().join("tests/c/duplicate.c");
    for build in Build::ALL {
        let exe = compile(&src, &dir, build);
        let mut cmd = command(&exe, &root);
        cmd.current_dir(&dir);
        let out = run(cmd, Duration::from_secs(120), "duplicate.c");
        let stdout = expect_success(&out, &format!("duplicate.c ({build:?})"));
        assert!(stdout.contains("DUPLICATE OK"), "{build:?}: {stdout}");
    }
}
