#!/bin/sh
# Builds and installs the filemap Win32 C library:
#
#   crates/filemap-win32/install.sh                       # into /usr/local
#   PREFIX=$HOME/.local crates/filemap-win32/install.sh   # anywhere
#   DESTDIR=/tmp/stage PREFIX=/usr crates/filemap-win32/install.sh   # staged (packagers)
#
# Installs
#   $PREFIX/include/filemap-win32/*.h                     windows.h and friends
#   $LIBDIR/libfilemap_win32.so.$version                 shared library, SONAME libfilemap_win32.so.0.<minor>
#                                                         (.so.<major> from 1.0), with the SONAME and
#   $LIBDIR/libfilemap_win32.so, libfilemap_win32.a       libfilemap_win32.so as symbolic links; static library
#   $LIBDIR/pkgconfig/filemap-win32.pc                    pkg-config
#   $LIBDIR/cmake/filemap-win32/filemap-win32Config.cmake (+ ConfigVersion.cmake)
#                                                         CMake: filemap::win32, filemap::win32-static
# so that programs build with `cc prog.c $(pkg-config --cflags --libs filemap-win32)`, or in
# CMake with `find_package(filemap-win32)` + `target_link_libraries(prog filemap::win32)`.
#
# Variables (environment): PREFIX (default /usr/local), LIBDIR (default $PREFIX/lib),
# INCLUDEDIR (default $PREFIX/include), DESTDIR (staging root, not written into the files),
# CARGO (default cargo), CARGO_TARGET_DIR (default <workspace>/target, or the crate's target/), FILEMAP_LIB_DIR (install
# the libfilemap_win32.so/.a already built in this directory instead of building; the tests use it).
#
# The generated files hold absolute paths ($PREFIX, $LIBDIR, $INCLUDEDIR; never $DESTDIR).
# cargo-c users get the same layout from `cargo cinstall -p filemap-win32 --prefix ...`
# ([package.metadata.capi] in Cargo.toml).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# In the repository the crate is a workspace member; unpacked from crates.io it stands alone.
if [ -f "$here/../../Cargo.toml" ] && grep -q '^\[workspace\]' "$here/../../Cargo.toml"; then
    workspace=$(cd "$here/../.." && pwd)
else
    workspace=$here
fi
PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DESTDIR=${DESTDIR:-}
CARGO=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$workspace/target}
case $target in /*) ;; *) target=$PWD/$target ;; esac  # relative to where it was run

for dir in "$PREFIX" "$LIBDIR" "$INCLUDEDIR"; do
    case $dir in
        /*) ;;
        *) echo "install.sh: $dir: PREFIX, LIBDIR and INCLUDEDIR must be absolute paths" >&2; exit 2 ;;
    esac
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" "$workspace/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "install.sh: no version in $here/Cargo.toml or $workspace/Cargo.toml" >&2; exit 1; }
# The SONAME build.rs gives the library (cargo-c's rule): .so.<major>, or .so.0.<minor> before 1.0.
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then soname=libfilemap_win32.so.0.$minor; else soname=libfilemap_win32.so.$major; fi
real=libfilemap_win32.so.$version

built=${FILEMAP_LIB_DIR:-}
if [ -z "$built" ]; then
    (cd "$here" && CARGO_TARGET_DIR=$target "$CARGO" build --release --lib -p filemap-win32)
    built=$target/release
fi
for lib in libfilemap_win32.so libfilemap_win32.a; do
    [ -f "$built/$lib" ] || { echo "install.sh: $built/$lib was not built" >&2; exit 1; }
done

# What a program linking the static library needs besides it (rustc --print native-static-libs
# for a std-using staticlib on linux-gnu).
static_deps="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

inc=$DESTDIR$INCLUDEDIR/filemap-win32
lib=$DESTDIR$LIBDIR
install -d "$inc" "$lib" "$lib/pkgconfig" "$lib/cmake/filemap-win32"
install -m 644 "$here"/include/* "$inc/"
# Check that the library carries the SONAME the links below are named after (a stale build from
# before build.rs set it would not).
if command -v readelf >/dev/null 2>&1; then
    got=$(readelf -d "$built/libfilemap_win32.so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    [ "$got" = "$soname" ] || { echo "install.sh: $built/libfilemap_win32.so has SONAME '$got', expected $soname: rebuild it" >&2; exit 1; }
fi
rm -f "$lib/$real" "$lib/$soname" "$lib/libfilemap_win32.so"
install -m 755 "$built/libfilemap_win32.so" "$lib/$real"
ln -s "$real" "$lib/$soname"                  # what the loader looks for (programs' NEEDED)
ln -s "$soname" "$lib/libfilemap_win32.so"    # what the linker looks for (-lfilemap_win32)
install -m 644 "$built/libfilemap_win32.a" "$lib/"

cat > "$lib/pkgconfig/filemap-win32.pc" <<EOF
prefix=$PREFIX
libdir=$LIBDIR
includedir=$INCLUDEDIR

Name: filemap-win32
Description: Win32 file mapping, named objects and windows.h on Linux
URL: https://docs.rs/filemap-win32
Version: $version
Libs: -L\${libdir} -lfilemap_win32
Libs.private: $static_deps
Cflags: -I\${includedir}/filemap-win32
EOF

cat > "$lib/cmake/filemap-win32/filemap-win32Config.cmake" <<EOF
# filemap-win32 $version: Win32 file mapping, named objects and windows.h on Linux.
#   find_package(filemap-win32 REQUIRED)
#   target_link_libraries(prog PRIVATE filemap::win32)         # shared library
#   target_link_libraries(prog PRIVATE filemap::win32-static)  # static library
if(NOT TARGET filemap::win32)
  add_library(filemap::win32 SHARED IMPORTED)
  set_target_properties(filemap::win32 PROPERTIES
    IMPORTED_LOCATION "$LIBDIR/$real"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "$INCLUDEDIR/filemap-win32")
endif()
if(NOT TARGET filemap::win32-static)
  add_library(filemap::win32-static STATIC IMPORTED)
  set_target_properties(filemap::win32-static PROPERTIES
    IMPORTED_LOCATION "$LIBDIR/libfilemap_win32.a"
    INTERFACE_INCLUDE_DIRECTORIES "$INCLUDEDIR/filemap-win32"
    INTERFACE_LINK_LIBRARIES "$(echo "$static_deps" | sed 's/-l//g; s/ /;/g')")
endif()
set(filemap-win32_VERSION "$version")
set(filemap-win32_INCLUDE_DIRS "$INCLUDEDIR/filemap-win32")
set(filemap-win32_LIBRARIES filemap::win32)
EOF

# 0.x releases are compatible within the same minor version, 1.x and later within the major.
cat > "$lib/cmake/filemap-win32/filemap-win32ConfigVersion.cmake" <<EOF
set(PACKAGE_VERSION "$version")
if(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(PACKAGE_FIND_VERSION_MAJOR STREQUAL "0")
  if("$version" MATCHES "^0\\\\.\${PACKAGE_FIND_VERSION_MINOR}\\\\.")
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  endif()
elseif("$version" MATCHES "^\${PACKAGE_FIND_VERSION_MAJOR}\\\\.")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
EOF

echo "installed filemap-win32 $version into $DESTDIR$PREFIX (headers $INCLUDEDIR/filemap-win32, libraries $LIBDIR)"
if [ -z "$DESTDIR" ]; then
    echo "programs find the shared library once $LIBDIR is in the loader's path: run ldconfig (system prefixes) or set LD_LIBRARY_PATH"
fi
