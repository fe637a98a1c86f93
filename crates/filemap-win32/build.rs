//! Gives the shared library its SONAME, as cargo-c would: `libfilemap_win32.so.<major>` from
//! 1.0 on, `libfilemap_win32.so.0.<minor>` before (0.x releases break compatibility at each
//! minor version, as the CMake package's version check also says). Programs linked against the
//! library then record that name (`NEEDED`), so an incompatible later release installed beside
//! it is never loaded in its place; `install.sh` installs `libfilemap_win32.so.<full version>`
//! with the SONAME and the unversioned name as symbolic links.
//!
//! In the build tree cargo writes the library as `libfilemap_win32.so` only; programs linked
//! against the uninstalled copy (the tests, the benchmarks, `-L target/release`) look for the
//! SONAME at run time, so this script also puts a `libfilemap_win32.so.0.<minor>` link to it
//! beside it (in `target/<profile>/`).

use std::path::PathBuf;

fn main() {
    let major: u64 = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets it").parse().expect("a number");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets it");
    let soname =
        if major == 0 { format!("libfilemap_win32.so.0.{minor}") } else { format!("libfilemap_win32.so.{major}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    println!("cargo:rustc-env=FILEMAP_WIN32_SONAME={soname}");
    println!("cargo:rerun-if-changed=build.rs");

    // OUT_DIR is <target>/[<triple>/]<profile>/build/filemap-win32-<hash>/out.
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let Some(profile_dir) = out.ancestors().nth(3) else { return };
    let link = profile_dir.join(&soname);
    if std::fs::symlink_metadata(&link).is_err() {
        // A failure only means build-tree programs need LD_LIBRARY_PATH tricks; not fatal.
        if let Err(e) = std::os::unix::fs::symlink("libfilemap_win32.so", &link) {
            println!("cargo:warning=cannot link {} to libfilemap_win32.so: {e}", link.display());
        }
    }
}
