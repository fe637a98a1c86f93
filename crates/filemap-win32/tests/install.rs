//! The installable C library: `install.sh` into a scratch prefix, then C programs built against
//! the *installed* copy only — with the documented `cc prog.c $(pkg-config --cflags --libs
//! filemap-win32)`, statically, and through CMake's `find_package(filemap-win32)` — each run and
//! its output checked, for programs with `main` and with `_tmain`/`wmain` (the library's weak
//! `main`). Needs `pkg-config` and `cmake` (`apt-get install -y pkg-config cmake`): without them
//! the tests fail, saying so.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// A program with `main`: maps a named section, writes through one view, reads through another.
const PROG_MAIN: &str = r#"#include <windows.h>
#include <stdio.h>
int main(int argc, char **argv) {
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, "Local\\installed");
    if (h == NULL) { printf("CreateFileMapping failed %lu\n", (unsigned long)GetLastError()); return 1; }
    char *w = (char *)MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    const char *r = (const char *)MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    if (w == NULL || r == NULL) { printf("MapViewOfFile failed %lu\n", (unsigned long)GetLastError()); return 1; }
    lstrcpyA(w, argc > 1 ? argv[1] : "none");
    printf("main read %s\n", r);
    UnmapViewOfFile(w); UnmapViewOfFile(r); CloseHandle(h);
    return 0;
}
"#;

/// A UNICODE program with only `_tmain` (`wmain`), as MSVC builds it: the library's weak `main`
/// calls it with wide arguments.
const PROG_WMAIN: &str = r#"#include <windows.h>
#include <tchar.h>
#include <stdio.h>
int _tmain(int argc, TCHAR **argv) {
    HANDLE e = CreateEvent(NULL, TRUE, FALSE, _T("Local\\installed-event"));
    if (e == NULL || !SetEvent(e) || WaitForSingleObject(e, 0) != WAIT_OBJECT_0) { printf("event failed\n"); return 1; }
    printf("wmain argc %d first %c\n", argc, argc > 1 ? (char)argv[1][0] : '-');
    CloseHandle(e);
    return 0;
}
"#;

/// Runs `install.sh` with the library this test build made (`FILEMAP_LIB_DIR`), plus `env`.
fn install(env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(common::crate_dir().join("install.sh"));
    cmd.env("FILEMAP_LIB_DIR", common::lib_dir()).env_remove("DESTDIR").env_remove("LIBDIR").env_remove("INCLUDEDIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::expect_success(&common::run(cmd, TIMEOUT, "install.sh"), "install.sh")
}

/// A scratch prefix with the library installed into it.
fn installed(test: &str) -> (PathBuf, PathBuf) {
    let dir = common::scratch(test);
    let prefix = dir.join("prefix");
    install(&[("PREFIX", &prefix)]);
    (dir, prefix)
}

/// `sh -c line` in `dir` with `PKG_CONFIG_PATH` at the prefix only; fails the test on error.
fn shell(dir: &Path, prefix: &Path, line: &str) -> String {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("set -e; {line}")).current_dir(dir);
    cmd.env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")).env_remove("PKG_CONFIG_LIBDIR");
    common::expect_success(&common::run(cmd, TIMEOUT, line), line)
}

fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is not installed; it is needed to test the installed C library (apt-get install -y {tool})");
}

/// Runs a program built against the installed library, finding the shared library through
/// `LD_LIBRARY_PATH=<prefix>/lib` (no rpath: the installed copy or nothing).
fn run_installed(exe: &Path, prefix: &Path, root: &Path, args: &[&str]) -> String {
    let mut cmd = common::command(exe, root);
    cmd.args(args).env("LD_LIBRARY_PATH", prefix.join("lib"));
    common::expect_success(&common::run(cmd, TIMEOUT, &exe.display().to_string()), &exe.display().to_string())
}

fn needed(exe: &Path) -> String {
    let out = Command::new("readelf").arg("-d").arg(exe).output().expect("run readelf");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn install_lays_out_headers_libraries_pkg_config_and_cmake_files() {
    let (_dir, prefix) = installed("install-layout");
    for file in [
        "include/filemap-win32/windows.h",
        "include/filemap-win32/tchar.h",
        "include/filemap-win32/WinBase.h",
        "lib/libfilemap_win32.so", // a link, followed
        "lib/libfilemap_win32.a",
        "lib/pkgconfig/filemap-win32.pc",
        "lib/cmake/filemap-win32/filemap-win32Config.cmake",
        "lib/cmake/filemap-win32/filemap-win32ConfigVersion.cmake",
    ] {
        assert!(prefix.join(file).is_file(), "{file} was not installed");
    }
    // The versioned library carries the SONAME (`readelf -d`); the SONAME and the linker's
    // unversioned name are symbolic links to it, as ldconfig and packagers expect.
    let soname = env!("FILEMAP_WIN32_SONAME");
    assert!(soname.starts_with("libfilemap_win32.so.") && soname.len() > "libfilemap_win32.so.".len(), "{soname}");
    let real = format!("libfilemap_win32.so.{}", env!("CARGO_PKG_VERSION"));
    let lib = prefix.join("lib");
    assert!(lib.join(&real).symlink_metadata().unwrap().file_type().is_file(), "{real} is a regular file");
    assert_eq!(std::fs::read_link(lib.join(soname)).unwrap(), Path::new(&real));
    assert_eq!(std::fs::read_link(lib.join("libfilemap_win32.so")).unwrap(), Path::new(soname));
    let dynamic = needed(&lib.join(&real));
    assert!(dynamic.contains(&format!("Library soname: [{soname}]")), "no SONAME {soname}:\n{dynamic}");
    let headers = std::fs::read_dir(common::include_dir()).expect("include dir").count();
    let installed = std::fs::read_dir(prefix.join("include/filemap-win32")).expect("installed headers").count();
    assert_eq!(installed, headers, "every header is installed");
    let pc = std::fs::read_to_string(prefix.join("lib/pkgconfig/filemap-win32.pc")).unwrap();
    assert!(pc.contains(&format!("prefix={}\n", prefix.display())), "{pc}");
    assert!(pc.contains(&format!("Version: {}\n", env!("CARGO_PKG_VERSION"))), "{pc}");
}

#[test]
fn pkg_config_line_builds_programs_with_main_and_wmain_against_the_installed_library() {
    require_tool("pkg-config");
    let (dir, prefix) = installed("install-pkgconfig");
    std::fs::write(dir.join("prog.c"), PROG_MAIN).unwrap();
    std::fs::write(dir.join("wprog.c"), PROG_WMAIN).unwrap();
    let flags = shell(&dir, &prefix, "pkg-config --cflags --libs filemap-win32");
    assert!(flags.contains(&format!("-I{}/include/filemap-win32", prefix.display())), "{flags}");
    // The README's compile line, verbatim.
    shell(&dir, &prefix, "cc prog.c $(pkg-config --cflags --libs filemap-win32) -o prog");
    shell(&dir, &prefix, "cc -DUNICODE -D_UNICODE wprog.c $(pkg-config --cflags --libs filemap-win32) -o wprog");
    shell(&dir, &prefix, "c++ -x c++ prog.c $(pkg-config --cflags --libs filemap-win32) -o prog-cxx");
    for exe in ["prog", "wprog", "prog-cxx"] {
        // Linked by the SONAME, not by the unversioned development name.
        let soname = env!("FILEMAP_WIN32_SONAME");
        let dynamic = needed(&dir.join(exe));
        assert!(dynamic.contains(&format!("Shared library: [{soname}]")), "{exe} does not need {soname}:\n{dynamic}");
    }
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    assert_eq!(run_installed(&dir.join("prog"), &prefix, &root, &["hello"]), "main read hello\n");
    assert_eq!(run_installed(&dir.join("prog-cxx"), &prefix, &root, &["cxx"]), "main read cxx\n");
    assert_eq!(run_installed(&dir.join("wprog"), &prefix, &root, &["xyz", "2"]), "wmain argc 3 first x\n");
}

#[test]
fn static_library_links_with_pkg_config_static_flags() {
    require_tool("pkg-config");
    let (dir, prefix) = installed("install-static");
    std::fs::write(dir.join("prog.c"), PROG_MAIN).unwrap();
    std::fs::write(dir.join("wprog.c"), PROG_WMAIN).unwrap();
    // The archive by path, then what it needs (`Libs.private`).
    let deps = "$(pkg-config --static --libs-only-l filemap-win32 | sed 's/-lfilemap_win32//')";
    let lib = prefix.join("lib/libfilemap_win32.a");
    let lib = lib.display();
    shell(&dir, &prefix, &format!("cc prog.c $(pkg-config --cflags filemap-win32) {lib} {deps} -o prog"));
    shell(
        &dir,
        &prefix,
        &format!("cc -DUNICODE -D_UNICODE wprog.c $(pkg-config --cflags filemap-win32) {lib} {deps} -o wprog"),
    );
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    for exe in ["prog", "wprog"] {
        assert!(!needed(&dir.join(exe)).contains("libfilemap_win32"), "{exe} needs the shared library");
    }
    assert_eq!(run_installed(&dir.join("prog"), &prefix, &root, &["static"]), "main read static\n");
    assert_eq!(run_installed(&dir.join("wprog"), &prefix, &root, &["q"]), "wmain argc 2 first q\n");
}

#[test]
fn destdir_stages_the_files_but_they_name_the_prefix() {
    let dir = common::scratch("install-destdir");
    let stage = dir.join("stage");
    install(&[("DESTDIR", &stage), ("PREFIX", Path::new("/opt/filemap"))]);
    let pc = std::fs::read_to_string(stage.join("opt/filemap/lib/pkgconfig/filemap-win32.pc")).unwrap();
    assert!(pc.contains("prefix=/opt/filemap\n"), "{pc}");
    let cmake =
        std::fs::read_to_string(stage.join("opt/filemap/lib/cmake/filemap-win32/filemap-win32Config.cmake")).unwrap();
    let real = format!("\"/opt/filemap/lib/libfilemap_win32.so.{}\"", env!("CARGO_PKG_VERSION"));
    assert!(cmake.contains(&real), "{cmake}");
    assert!(cmake.contains(&format!("IMPORTED_SONAME \"{}\"", env!("FILEMAP_WIN32_SONAME"))), "{cmake}");
    // The links are staged too, relative, so they stay right once the stage is moved into place.
    let soname = stage.join("opt/filemap/lib").join(env!("FILEMAP_WIN32_SONAME"));
    assert!(std::fs::read_link(&soname).unwrap().is_relative());
    assert!(!pc.contains("stage") && !cmake.contains("stage"), "DESTDIR leaked into the installed files");
    assert!(stage.join("opt/filemap/include/filemap-win32/windows.h").is_file());
}

#[test]
fn cmake_find_package_builds_shared_and_static_programs() {
    require_tool("cmake");
    let (dir, prefix) = installed("install-cmake");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("prog.c"), PROG_MAIN).unwrap();
    std::fs::write(src.join("wprog.c"), PROG_WMAIN).unwrap();
    let lists = |version: &str| {
        format!(
            "cmake_minimum_required(VERSION 3.10)\nproject(prog C)\nfind_package(filemap-win32 {version} REQUIRED)\n\
             add_executable(prog prog.c)\ntarget_link_libraries(prog PRIVATE filemap::win32)\n\
             add_executable(wprog wprog.c)\ntarget_compile_definitions(wprog PRIVATE UNICODE _UNICODE)\n\
             target_link_libraries(wprog PRIVATE filemap::win32)\n\
             add_executable(prog-static prog.c)\ntarget_link_libraries(prog-static PRIVATE filemap::win32-static)\n"
        )
    };
    std::fs::write(src.join("CMakeLists.txt"), lists("0.1")).unwrap();
    let p = prefix.display();
    shell(&dir, &prefix, &format!("cmake -S src -B build -DCMAKE_PREFIX_PATH={p} && cmake --build build"));
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let build = dir.join("build");
    assert_eq!(run_installed(&build.join("prog"), &prefix, &root, &["cmake"]), "main read cmake\n");
    assert_eq!(run_installed(&build.join("wprog"), &prefix, &root, &["w"]), "wmain argc 2 first w\n");
    assert_eq!(run_installed(&build.join("prog-static"), &prefix, &root, &["st"]), "main read st\n");
    assert!(!needed(&build.join("prog-static")).contains("libfilemap_win32"));

    // A newer minor version than installed is refused (0.x: minor versions are incompatible).
    std::fs::write(src.join("CMakeLists.txt"), lists("0.2")).unwrap();
    let mut cmd = Command::new("cmake");
    cmd.args(["-S", "src", "-B", "build2"]).arg(format!("-DCMAKE_PREFIX_PATH={p}")).current_dir(&dir);
    let out = common::run(cmd, TIMEOUT, "cmake 0.2");
    assert!(!out.status.success(), "find_package(filemap-win32 0.2) accepted 0.1");
}

/// The `sh` block of the top-level README's "The C face" section, verbatim.
fn readme_c_block() -> String {
    let readme = std::fs::read_to_string(common::crate_dir().join("../../README.md")).expect("read README.md");
    let section = readme.split("\n## The C face").nth(1).expect("README has a \"The C face\" section");
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("\n```").next());
    block.expect("a sh block in \"The C face\"").to_owned()
}

#[test]
fn the_readme_c_section_runs_as_written() {
    require_tool("pkg-config");
    let dir = common::scratch("install-readme");
    let home = dir.join("home");
    let root = dir.join("root");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(common::crate_dir().join("examples/prog.c"), dir.join("prog.c")).unwrap();
    let block = readme_c_block();
    assert!(block.contains("cc prog.c $(pkg-config --cflags --libs filemap-win32)"), "{block}");
    // Run from the repository's root, as a reader would, except in the scratch dir for prog.c:
    // the install script is named by its path relative to the root.
    let repo = common::crate_dir().join("../..").canonicalize().unwrap();
    let script =
        format!("set -e; cd {}; {}", dir.display(), block.replace("crates/", &format!("{}/crates/", repo.display())));
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).current_dir(&dir).env("HOME", &home).env("FILEMAP_ROOT", &root);
    // The block builds with cargo; the library this test build made stands in for that build.
    cmd.env("FILEMAP_LIB_DIR", common::lib_dir()).env_remove("PREFIX").env_remove("DESTDIR");
    cmd.env_remove("PKG_CONFIG_PATH").env_remove("LD_LIBRARY_PATH");
    let out = common::expect_success(&common::run(cmd, TIMEOUT, "README's C section"), "README's C section");
    assert!(out.ends_with("read by name: Message from first process.\n"), "{out}");
    assert!(home.join(".local/lib/pkgconfig/filemap-win32.pc").is_file());
}
