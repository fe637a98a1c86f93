//! Shared test support: building the library, compiling C/C++ programs against it with the
//! documented command line, and running them with a private `FILEMAP_ROOT` under the
//! workspace harness's watchdog (`filemap-testkit`).

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The crate directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `crates/filemap-win32/include`.
pub fn include_dir() -> PathBuf {
    crate_dir().join("include")
}

/// The profile directory the test binary was built into (`target/<profile>`), where cargo
/// also puts `libfilemap_win32.so` and `libfilemap_win32.a`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_path_buf()
}

/// Makes sure `libfilemap_win32.so`/`.a` exist and are current: `cargo build -p filemap-win32`
/// into the same target directory and profile as this test (fast when up to date).
pub fn lib_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = profile_dir();
            let target = dir.parent().expect("target dir").to_path_buf();
            let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug").to_owned();
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "-p", "filemap-win32", "--lib"]).env("CARGO_TARGET_DIR", &target);
            if profile == "release" {
                cmd.arg("--release");
            } else if profile != "debug" {
                cmd.args(["--profile", &profile]);
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "cargo build -p filemap-win32 failed");
            assert!(dir.join("libfilemap_win32.so").exists(), "no libfilemap_win32.so in {}", dir.display());
            assert!(dir.join("libfilemap_win32.a").exists(), "no libfilemap_win32.a in {}", dir.display());
            dir
        })
        .clone()
}

/// A fresh scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = profile_dir().join("win32-tests").join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The language and character set of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `cc prog.c`
    C,
    /// `cc -DUNICODE -D_UNICODE prog.c`
    CUnicode,
    /// `c++ prog.cpp`
    Cxx,
    /// `c++ -DUNICODE -D_UNICODE prog.cpp`
    CxxUnicode,
}

impl Build {
    /// All four builds.
    pub const ALL: [Build; 4] = [Build::C, Build::CUnicode, Build::Cxx, Build::CxxUnicode];

    fn suffix(self) -> &'static str {
        match self {
            Build::C => "c",
            Build::CUnicode => "cu",
            Build::Cxx => "cxx",
            Build::CxxUnicode => "cxxu",
        }
    }
}

/// Compiles `src` with the documented command line
/// (`cc -I include prog.c -L <lib dir> -lfilemap_win32`, plus an rpath so it runs from the
/// build tree) into `dir`; panics with the compiler's output on failure. Warnings are allowed
/// (the seeds print DWORDs with `%lu`), but `-Werror=implicit-function-declaration` catches
/// missing declarations.
pub fn compile(src: &Path, dir: &Path, build: Build) -> PathBuf {
    compile_with(src, dir, build, &[], "")
}

/// [`compile`] with extra compiler flags; `tag` distinguishes the output file.
pub fn compile_with(src: &Path, dir: &Path, build: Build, flags: &[&str], tag: &str) -> PathBuf {
    let lib = lib_dir();
    let stem = src.file_stem().and_then(|s| s.to_str()).expect("file stem");
    let out = dir.join(format!("{stem}-{}{tag}", build.suffix()));
    let (compiler, lang) = match build {
        Build::C | Build::CUnicode => ("cc", "c"),
        Build::Cxx | Build::CxxUnicode => ("c++", "c++"),
    };
    let mut cmd = Command::new(compiler);
    cmd.arg("-I").arg(include_dir());
    if matches!(build, Build::CUnicode | Build::CxxUnicode) {
        cmd.args(["-DUNICODE", "-D_UNICODE"]);
    }
    if lang == "c" {
        cmd.arg("-Werror=implicit-function-declaration");
    }
    cmd.args(flags);
    cmd.args(["-x", lang]).arg(src).args(["-x", "none"]);
    cmd.arg("-L").arg(&lib).arg("-lfilemap_win32");
    cmd.arg(format!("-Wl,-rpath,{}", lib.display()));
    cmd.arg("-o").arg(&out);
    let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} failed for {} ({build:?}):\n{}",
        src.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// A command for a compiled program with the test's own namespace root.
pub fn command(exe: &Path, root: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env("FILEMAP_ROOT", root).env_remove("FILEMAP_WIN32_HANDLES");
    cmd
}

/// Waits for a child with a watchdog: a hang kills it and fails the test (its pipes are read
/// while it runs, so a chatty program never blocks on a full pipe).
pub fn wait_with_timeout(child: Child, timeout: Duration, what: &str) -> Output {
    filemap_testkit::process::output_with_watchdog(child, timeout, what)
}

/// Runs a command to completion under the watchdog, with stdin closed.
pub fn run(cmd: Command, timeout: Duration, what: &str) -> Output {
    filemap_testkit::process::run(cmd, None, timeout, what)
}

pub use filemap_testkit::process::expect_success;

/// Lets the stress `threads` run for `run_for`, stops them (`stop`), joins them (a thread that
/// panicked fails the test) and closes every handle still in `ring` (handle values as `usize`,
/// 0 = empty slot): the end of the handle-table stress tests, before they check that every
/// name is free again.
pub fn stop_and_close_ring(
    run_for: Duration,
    stop: &std::sync::atomic::AtomicBool,
    threads: Vec<std::thread::JoinHandle<()>>,
    ring: &[std::sync::atomic::AtomicUsize],
) {
    use std::sync::atomic::Ordering;
    std::thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a stress thread panicked");
    }
    for slot in ring {
        let h = slot.swap(0, Ordering::AcqRel);
        if h != 0 {
            assert_eq!(filemap_win32::handle_api::CloseHandle(h as filemap_win32::HANDLE), filemap_win32::TRUE);
        }
    }
}
