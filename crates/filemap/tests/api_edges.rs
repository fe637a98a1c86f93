//! The API's edges for embedders: `filemap::Error` as `std::io::Error`, typed access to views
//! (`zerocopy` plain-data types), atomic loads through read-only views, and `Mapping::open_wait`
//! for a name another process creates later — across real processes where it matters.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Child, assert_code, child_main as run_child, say, setup, unique};
use filemap::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use filemap::{Access, Mapping, Win32Error};

/// A plain-data record as a C program would lay it out (no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct Record {
    id: u32,
    flags: u16,
    kind: u16,
    value: u64,
}

const RECORD: Record = Record { id: 0xdead_beef, flags: 7, kind: 0x1234, value: 0x0102_0304_0506_0708 };

/// Child entry point (run only as a child; see `common`).
#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    run_child(dispatch);
}

fn dispatch(role: &str, args: &[String]) {
    match role {
        // create-later NAME MS: sleep MS, create NAME holding "hello", hold until stdin closes.
        "create-later" => {
            std::thread::sleep(Duration::from_millis(args[1].parse().unwrap()));
            let (m, _) = Mapping::options().name(&args[0]).size(4096).create().unwrap();
            m.view(Access::WRITE).unwrap().write_at(0, b"hello").unwrap();
            say("created");
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        // read-typed NAME OFFSET: open read-only, print the Record at OFFSET and the u64 at 64.
        "read-typed" => {
            let m = Mapping::open(&args[0], Access::READ).unwrap();
            let view = m.view(Access::READ).unwrap();
            let record: Record = view.read_as(args[1].parse().unwrap()).unwrap();
            let counter = view.load_u64(64, Ordering::Acquire).unwrap();
            say(format!(
                "record {:x} {} {:x} {:x} counter {counter}",
                record.id, record.flags, record.kind, record.value
            ));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn open_wait_returns_once_another_process_creates_the_name() {
    setup();
    let name = unique("open-wait");
    let start = Instant::now();
    let mut child = Child::spawn("create-later", &[&name, "400"]);
    // The child sleeps before creating: the name is not there yet.
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    let m = Mapping::open_wait(&name, Access::READ, Duration::from_secs(60)).expect("open_wait");
    assert!(start.elapsed() >= Duration::from_millis(400), "returned before the child could create the name");
    assert_eq!(m.view(Access::READ).unwrap().read_vec(0, 5).unwrap(), b"hello");
    child.expect("created");
    child.finish();
}

#[test]
fn open_wait_times_out_with_file_not_found_naming_the_wait() {
    setup();
    let name = unique("never");
    let start = Instant::now();
    let err = Mapping::open_wait(&name, Access::READ, Duration::from_millis(300)).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.code(), Win32Error::FILE_NOT_FOUND, "{err}");
    assert!(err.message().contains("waited"), "{err}");
    assert!(err.message().contains("never"), "the message names the object: {err}");
    assert!(waited >= Duration::from_millis(300), "gave up after {waited:?}");
    assert!(waited < Duration::from_secs(30), "overran the timeout: {waited:?}");
    // A zero timeout is a single attempt.
    assert_code(Mapping::open_wait(&name, Access::READ, Duration::ZERO), Win32Error::FILE_NOT_FOUND);
}

#[test]
fn open_wait_returns_other_errors_at_once() {
    setup();
    let start = Instant::now();
    assert_code(Mapping::open_wait(r"Local\a\b", Access::READ, Duration::from_secs(60)), Win32Error::PATH_NOT_FOUND);
    assert_code(Mapping::open_wait(r"Global\", Access::READ, Duration::from_secs(60)), Win32Error::INVALID_NAME);
    assert!(start.elapsed() < Duration::from_secs(30), "waited on an error that is not ERROR_FILE_NOT_FOUND");
}

#[test]
fn errors_convert_to_io_errors_keeping_code_message_and_kind() {
    setup();
    let name = unique("io-missing");
    let io: std::io::Error = Mapping::open(&name, Access::READ).unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(io.to_string().contains("io-missing"), "{io}");
    let inner = io.get_ref().and_then(|e| e.downcast_ref::<filemap::Error>()).expect("filemap::Error inside");
    assert_eq!(inner.code(), Win32Error::FILE_NOT_FOUND);

    let (m, _) = Mapping::options().name(unique("io-ro")).size(4096).create().unwrap();
    let read_only = m.view(Access::READ).unwrap();
    // `?` in a function returning io::Result.
    let write = || -> std::io::Result<()> {
        read_only.write_at(0, b"x")?;
        Ok(())
    };
    let io = write().unwrap_err();
    assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied, "{io}");
    assert_eq!(io.into_inner().unwrap().downcast::<filemap::Error>().unwrap().code(), Win32Error::ACCESS_DENIED);

    let io: std::io::Error = read_only.read_vec(4000, 200).unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput, "{io}");
}

#[test]
fn typed_values_cross_processes_at_unaligned_offsets() {
    setup();
    let name = unique("typed");
    let (m, _) = Mapping::options().name(&name).size(4096).create().unwrap();
    let view = m.view(Access::WRITE).unwrap();
    view.write_as(3, &RECORD).unwrap();
    view.atomic_u64(64).unwrap().store(41, Ordering::Release);
    assert_eq!(view.read_as::<Record>(3).unwrap(), RECORD);
    // The bytes are the C layout, little-endian.
    assert_eq!(view.read_vec(3, 4).unwrap(), 0xdead_beef_u32.to_ne_bytes());

    let mut child = Child::spawn("read-typed", &[&name, "3"]);
    let line = child.expect("record");
    assert_eq!(line, "deadbeef 7 1234 102030405060708 counter 41");
    child.finish();

    assert_code(view.read_as::<Record>(4096 - 8), Win32Error::INVALID_PARAMETER);
    let read_only = m.view(Access::READ).unwrap();
    assert_code(read_only.write_as(0, &RECORD), Win32Error::ACCESS_DENIED);
    assert_eq!(read_only.read_as::<Record>(3).unwrap(), RECORD);
}

#[test]
fn atomic_loads_work_through_read_only_views() {
    setup();
    let (m, _) = Mapping::options().name(unique("loads")).size(4096).create().unwrap();
    let writer = m.view(Access::WRITE).unwrap();
    let reader = m.view(Access::READ).unwrap();
    writer.atomic_u32(8).unwrap().store(0xabcd, Ordering::Release);
    writer.atomic_u64(16).unwrap().store(u64::MAX - 1, Ordering::Release);
    assert_eq!(reader.load_u32(8, Ordering::Acquire).unwrap(), 0xabcd);
    assert_eq!(reader.load_u64(16, Ordering::SeqCst).unwrap(), u64::MAX - 1);
    // A store ordering is taken as Acquire rather than panicking.
    assert_eq!(reader.load_u32(8, Ordering::Release).unwrap(), 0xabcd);
    // Reference atomics still need a writable view; loads need alignment and bounds.
    assert_code(reader.atomic_u32(8), Win32Error::ACCESS_DENIED);
    assert_code(reader.load_u32(6, Ordering::Relaxed), Win32Error::MAPPED_ALIGNMENT);
    assert_code(reader.load_u64(4096, Ordering::Relaxed), Win32Error::INVALID_PARAMETER);
}
