//! The rules of file mapping objects and views, through the public API, in one process.
//! (Cross-process behaviour is in `cross_process.rs` and `stress.rs`.)

mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{assert_code, setup, unique};
use filemap::{
    ALLOCATION_GRANULARITY, Access, Created, Mapping, ObjectName, Protection, SectionFlags, Win32Error, flush_raw,
    namespace, page, unmap_raw,
};

fn create(name: &str, size: u64) -> (Mapping, Created) {
    setup();
    Mapping::options().name(name).size(size).create().expect("create mapping")
}

fn object_path(name: &str) -> std::path::PathBuf {
    let name = ObjectName::parse(name).unwrap();
    namespace::scope_dir(name.scope()).join(name.file_name())
}

#[test]
fn create_then_create_again_returns_the_existing_object_and_its_size() {
    let name = unique("again");
    let (first, created) = create(&name, 5000);
    assert_eq!(created, Created::New);
    assert_eq!(first.size(), 5000, "the size asked for, not a page-rounded one");
    first.view(Access::WRITE).unwrap().write_at(0, b"hello").unwrap();

    let (second, created) = create(&name, 123_456);
    assert_eq!(created, Created::Existing);
    assert!(created.existed());
    assert_eq!(second.size(), 5000, "the existing object's size wins");
    assert_eq!(second.object_id(), first.object_id());
    assert_eq!(second.view(Access::READ).unwrap().read_vec(0, 5).unwrap(), b"hello");
}

#[test]
fn open_of_a_missing_name_fails_with_file_not_found() {
    setup();
    assert_code(Mapping::open(&unique("missing"), Access::READ), Win32Error::FILE_NOT_FOUND);
    assert_code(Mapping::open(r"Global\filemap-never-created-here", Access::READ), Win32Error::FILE_NOT_FOUND);
}

#[test]
fn paging_file_mapping_needs_a_size() {
    setup();
    assert_code(Mapping::options().name(unique("zero")).size(0).create(), Win32Error::INVALID_PARAMETER);
    assert_code(Mapping::options().size(0).create(), Win32Error::INVALID_PARAMETER);
    assert_code(Mapping::options().size(u64::MAX).create(), Win32Error::NOT_ENOUGH_MEMORY);
}

#[test]
fn bad_names_are_refused_and_odd_names_work() {
    setup();
    let long = format!(r"Local\{}", "x".repeat(300));
    assert_code(Mapping::options().name(&long).size(10).create(), Win32Error::FILENAME_EXCED_RANGE);
    assert_code(Mapping::options().name(r"Local\").size(10).create(), Win32Error::INVALID_NAME);
    assert_code(Mapping::options().name(r"Local\a\b").size(10).create(), Win32Error::PATH_NOT_FOUND);

    // Names Win32 allows that a file name could not hold verbatim: all distinct, all reopenable.
    let tag = unique("odd").replace(r"Local\", "");
    let odd = [
        format!("{tag}/slash"),
        format!("{tag}%25"),
        "..".to_string() + &tag,
        ".".to_string(),
        "..".to_string(),
        format!("{tag}-{}", "é".repeat(120)),
    ];
    let maps: Vec<Mapping> = odd
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (m, created) = Mapping::options().name(n).size(64).create().unwrap();
            m.view(Access::WRITE).unwrap().write_at(0, &[i as u8 + 1]).unwrap();
            // each test process has its own root, and this test is the only user of "." and "..".
            assert_eq!(created, Created::New, "{n:?}");
            m
        })
        .collect();
    for (i, n) in odd.iter().enumerate() {
        let m = Mapping::open(n, Access::READ).unwrap();
        assert_eq!(m.name().as_deref(), Some(format!(r"Local\{n}").as_str()));
        assert_eq!(m.view(Access::READ).unwrap().read_vec(0, 1).unwrap(), [i as u8 + 1], "{n:?}");
    }
    drop(maps);
}

#[test]
fn local_prefix_and_no_prefix_are_the_same_name_and_case_matters() {
    let tag = unique("prefix");
    let bare = tag.strip_prefix(r"Local\").unwrap().to_string();
    let (a, _) = create(&tag, 100);
    let (b, created) = create(&bare, 100);
    assert_eq!(created, Created::Existing);
    assert_eq!(a.object_id(), b.object_id());
    let (c, created) = create(&bare.to_uppercase(), 100);
    assert_eq!(created, Created::New, "names are case-sensitive");
    assert_ne!(c.object_id(), a.object_id());
}

#[test]
fn protections_are_checked_like_windows() {
    for bad in [0, page::NOACCESS, page::READONLY | page::READWRITE, page::EXECUTE, 0x400, 0x8000] {
        assert_code(Protection::from_win32(bad), Win32Error::INVALID_PARAMETER);
    }
    let (p, f) = Protection::from_win32(page::READWRITE | SectionFlags::COMMIT.0).unwrap();
    assert_eq!(p, Protection::ReadWrite);
    assert_eq!(f, SectionFlags::COMMIT);
    for good in [
        page::READONLY,
        page::READWRITE,
        page::WRITECOPY,
        page::EXECUTE_READ,
        page::EXECUTE_READWRITE,
        page::EXECUTE_WRITECOPY,
    ] {
        let (p, _) = Protection::from_win32(good).unwrap();
        assert_eq!(p.to_win32(), good);
    }
}

#[test]
fn section_flags_are_implemented_or_refused_with_the_windows_code() {
    setup();
    let try_flags = |flags: SectionFlags| Mapping::options().size(4096).section_flags(flags).create();
    // Large-page sections are multiples of the large page (tests/memory.rs covers the rest).
    assert_code(try_flags(SectionFlags::LARGE_PAGES | SectionFlags::COMMIT), Win32Error::INVALID_PARAMETER);
    assert_code(try_flags(SectionFlags::IMAGE), Win32Error::BAD_EXE_FORMAT);
    assert_code(try_flags(SectionFlags::COMMIT | SectionFlags::RESERVE), Win32Error::INVALID_PARAMETER);
    assert_code(try_flags(SectionFlags::NOCACHE), Win32Error::INVALID_PARAMETER);
    assert!(try_flags(SectionFlags::RESERVE).is_ok());
    assert!(try_flags(SectionFlags::COMMIT).is_ok());
    assert!(try_flags(SectionFlags::COMMIT | SectionFlags::NOCACHE).is_ok());
}

#[test]
fn commit_reserves_memory_at_creation_and_reserve_stays_sparse() {
    let size = 8 << 20;
    let committed = unique("commit");
    let reserved = unique("reserve");
    setup();
    let (_c, _) = Mapping::options().name(&committed).size(size).create().unwrap();
    let (_r, _) = Mapping::options().name(&reserved).size(size).section_flags(SectionFlags::RESERVE).create().unwrap();
    let blocks = |n: &str| std::fs::metadata(object_path(n)).unwrap().blocks() * 512;
    assert!(blocks(&committed) >= size, "SEC_COMMIT allocates everything: {}", blocks(&committed));
    assert!(blocks(&reserved) < size / 2, "SEC_RESERVE stays sparse: {}", blocks(&reserved));
}

#[test]
fn objects_get_exactly_the_requested_mode() {
    setup();
    let default = unique("mode-default");
    let shared = unique("mode-0640");
    let (_a, _) = Mapping::options().name(&default).size(10).create().unwrap();
    let (_b, _) = Mapping::options().name(&shared).size(10).mode(0o640).create().unwrap();
    let mode = |n: &str| std::fs::metadata(object_path(n)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&default), 0o600);
    assert_eq!(mode(&shared), 0o640);
}

#[test]
fn open_access_is_checked_against_the_protection() {
    setup();
    let name = unique("ro");
    let (_m, _) = Mapping::options().name(&name).size(4096).protection(Protection::ReadOnly).create().unwrap();
    let ro = Mapping::open(&name, Access::READ).unwrap();
    assert_code(ro.view(Access::WRITE), Win32Error::ACCESS_DENIED);
    assert!(ro.view(Access::COPY).is_ok(), "copy-on-write views of a read-only object are allowed");
    let all = Mapping::open(&name, Access::ALL).unwrap();
    assert_code(all.view(Access::WRITE), Win32Error::ACCESS_DENIED);
    let v = all.view(Access::READ).unwrap();
    assert!(v.is_readable() && !v.is_writable());
}

#[test]
fn view_access_is_checked_against_the_handle() {
    let name = unique("handle-access");
    let (_m, _) = create(&name, 4096);
    let read_only = Mapping::open(&name, Access::READ).unwrap();
    assert_code(read_only.view(Access::WRITE), Win32Error::ACCESS_DENIED);
    assert_code(read_only.view(Access::ALL), Win32Error::ACCESS_DENIED);
    assert_code(read_only.view(Access::EXECUTE | Access::READ), Win32Error::ACCESS_DENIED);
    let write_only = Mapping::open(&name, Access::WRITE).unwrap();
    assert_code(write_only.view(Access::READ), Win32Error::ACCESS_DENIED);
    assert!(write_only.view(Access::WRITE).unwrap().is_writable());
}

#[test]
fn duplicates_may_have_less_access_but_not_more() {
    let name = unique("dup");
    let (m, _) = create(&name, 4096);
    let less = m.duplicate(Access::READ, false).unwrap();
    assert_eq!(less.access(), Access::READ);
    assert_eq!(less.object_id(), m.object_id());
    assert_code(less.duplicate(Access::WRITE, false), Win32Error::ACCESS_DENIED);
    assert_code(less.view(Access::WRITE), Win32Error::ACCESS_DENIED);
    let inheritable = m.duplicate(Access::ALL, true).unwrap();
    assert!(inheritable.is_inheritable() && inheritable.inheritable_fd().is_some());
    assert!(m.inheritable_fd().is_none());
    drop(m);
    // the duplicates are handles too: the name lives on
    assert!(Mapping::open(&name, Access::READ).is_ok());
}

#[test]
fn view_offsets_lengths_and_bounds() {
    let name = unique("bounds");
    let size = 3 * ALLOCATION_GRANULARITY as u64 + 100;
    let (m, _) = create(&name, size);
    assert_code(m.view_range(4096, 10, Access::READ), Win32Error::MAPPED_ALIGNMENT);
    let tail = m.view_range(3 * ALLOCATION_GRANULARITY as u64, 0, Access::READ).unwrap();
    assert_eq!(tail.len(), 100, "length 0 maps to the end of the object");
    assert_eq!(tail.offset(), 3 * ALLOCATION_GRANULARITY as u64);
    // Windows lets a view reach the end of the last page, not beyond.
    assert!(m.view_range(3 * ALLOCATION_GRANULARITY as u64, 4096, Access::READ).is_ok());
    assert_code(m.view_range(3 * ALLOCATION_GRANULARITY as u64, 4097, Access::READ), Win32Error::ACCESS_DENIED);
    assert_code(m.view_range(4 * ALLOCATION_GRANULARITY as u64, 0, Access::READ), Win32Error::ACCESS_DENIED);
    assert_code(m.view_range(0, usize::MAX, Access::READ), Win32Error::ACCESS_DENIED);
    let whole = m.view(Access::READ).unwrap();
    assert_eq!(whole.len() as u64, size);
    assert_eq!(whole.as_ptr() as usize % ALLOCATION_GRANULARITY, 0, "views start 64 KiB-aligned");
    let mut buf = [0u8; 8];
    assert_code(whole.read_at(size as usize - 4, &mut buf), Win32Error::INVALID_PARAMETER);
}

#[test]
fn all_views_of_one_object_are_coherent() {
    let name = unique("coherent");
    let (m, _) = create(&name, 2 * ALLOCATION_GRANULARITY as u64);
    let other = Mapping::open(&name, Access::ALL).unwrap();
    let a = m.view(Access::WRITE).unwrap();
    let b = other.view(Access::ALL).unwrap();
    let second_half = other.view_range(ALLOCATION_GRANULARITY as u64, 0, Access::WRITE).unwrap();
    a.write_at(10, b"abc").unwrap();
    assert_eq!(b.read_vec(10, 3).unwrap(), b"abc");
    second_half.write_at(0, b"xyz").unwrap();
    assert_eq!(a.read_vec(ALLOCATION_GRANULARITY, 3).unwrap(), b"xyz");
    a.atomic_u64(64).unwrap().fetch_add(5, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(b.atomic_u64(64).unwrap().load(std::sync::atomic::Ordering::SeqCst), 5);
    assert_code(a.atomic_u64(3).map(|_| ()), Win32Error::MAPPED_ALIGNMENT);
}

#[test]
fn copy_on_write_views_are_private() {
    let name = unique("cow");
    let (m, _) = create(&name, 4096);
    let shared = m.view(Access::WRITE).unwrap();
    shared.write_at(0, b"original").unwrap();
    let cow = m.view(Access::COPY).unwrap();
    assert!(cow.is_copy_on_write() && cow.is_writable());
    cow.write_at(0, b"private!").unwrap();
    assert_eq!(shared.read_vec(0, 8).unwrap(), b"original");
    assert_eq!(cow.read_vec(0, 8).unwrap(), b"private!");
    let (wc, _) = Mapping::options().size(4096).protection(Protection::WriteCopy).create().unwrap();
    assert_code(wc.view(Access::WRITE), Win32Error::ACCESS_DENIED);
    assert!(wc.view(Access::COPY).unwrap().is_copy_on_write());
}

#[test]
fn requested_addresses_must_be_aligned_and_free() {
    let name = unique("address");
    let (m, _) = create(&name, 4096);
    let first = m.view(Access::WRITE).unwrap();
    first.write_at(0, b"keep me").unwrap();
    let taken = first.as_ptr() as usize;
    assert_code(m.view_builder().address(taken + 4096).map(), Win32Error::MAPPED_ALIGNMENT);
    assert_code(m.view_builder().address(taken).access(Access::READ).map(), Win32Error::INVALID_ADDRESS);
    assert_eq!(first.read_vec(0, 7).unwrap(), b"keep me", "a failed request never replaces a mapping");

    // Find a free aligned address by mapping and releasing a view there, then ask for it.
    let probe = m.view(Access::READ).unwrap();
    let free = probe.as_ptr() as usize;
    drop(probe);
    let placed = m.view_builder().address(free).access(Access::READ).map().unwrap();
    assert_eq!(placed.as_ptr() as usize, free);
    assert_eq!(placed.read_vec(0, 7).unwrap(), b"keep me");
}

#[test]
fn a_raw_view_keeps_the_memory_but_never_the_name_whether_unmapped_before_or_after_its_handle_closes() {
    for unmap_first in [false, true] {
        let name = unique(if unmap_first { "raw-unmapped" } else { "raw-mapped" });
        let (first, _) = create(&name, 4096);
        let second = Mapping::open(&name, Access::ALL).unwrap(); // another holder (own OFD)
        let raw = first.view(Access::WRITE).unwrap().into_raw();
        // SAFETY: `raw` is a live 4 KiB read-write view created just above.
        unsafe { raw.write(9) };
        if unmap_first {
            // SAFETY: the view's own address; nothing uses `raw` afterwards.
            unsafe { unmap_raw(raw) }.unwrap();
        }
        // The first close cannot decide (the second handle holds the object); a raw view still
        // mapped from its OFD must not keep its holder lock, or the last close below would
        // see a holder that is gone and keep the name.
        first.close().unwrap();
        assert_eq!(
            Mapping::open(&name, Access::READ).unwrap().view(Access::READ).unwrap().read_vec(0, 1).unwrap(),
            [9]
        );
        second.close().unwrap();
        assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
        if !unmap_first {
            // SAFETY: the view outlives its handles (memory, not the name); nothing uses `raw`
            // after the unmap.
            unsafe {
                assert_eq!(raw.read(), 9);
                unmap_raw(raw).unwrap();
            }
        }
    }
}

#[test]
fn unmap_by_any_inner_address_and_refuse_non_views() {
    let name = unique("unmap");
    let (m, _) = create(&name, 3 * 4096);
    let raw = m.view(Access::WRITE).unwrap().into_raw();
    flush_raw(raw, 100).unwrap();
    // SAFETY: `raw` points to a live 12 KiB read-write view created just above.
    unsafe { raw.add(4096).write(7) };
    assert_eq!(m.view(Access::READ).unwrap().read_vec(4096, 1).unwrap(), [7]);
    // SAFETY: inner address of the live view; nothing uses `raw` afterwards.
    unsafe { unmap_raw(raw.add(5000)) }.unwrap();
    // SAFETY: the view is gone; unmap_raw validates addresses against its registry.
    assert_code(unsafe { unmap_raw(raw) }, Win32Error::INVALID_ADDRESS);
    let local = 0u64;
    // SAFETY: `local` is not a view; unmap_raw must refuse it without touching it.
    assert_code(unsafe { unmap_raw(&local as *const u64 as *mut u8) }, Win32Error::INVALID_ADDRESS);
    assert_code(flush_raw(&local as *const u64 as *const u8, 8), Win32Error::INVALID_ADDRESS);
}

#[test]
fn closing_the_last_handle_frees_the_name_while_views_keep_the_memory() {
    let name = unique("last-handle");
    let (m, _) = create(&name, 4096);
    let old_id = m.object_id();
    let view = m.view(Access::WRITE).unwrap();
    view.write_at(0, b"old").unwrap();
    drop(m);
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    assert!(!object_path(&name).exists(), "the name is released at once");
    let (fresh, created) = create(&name, 4096);
    assert_eq!(created, Created::New);
    assert_ne!(fresh.object_id(), old_id);
    assert_eq!(fresh.view(Access::READ).unwrap().read_vec(0, 3).unwrap(), [0, 0, 0], "a new, zeroed object");
    // the old view still works on the old memory
    view.write_at(0, b"still").unwrap();
    assert_eq!(view.read_vec(0, 5).unwrap(), b"still");
    assert_eq!(fresh.view(Access::READ).unwrap().read_vec(0, 5).unwrap(), [0; 5]);
}

#[test]
fn unnamed_mappings_work_and_are_private_to_their_handles() {
    setup();
    let (m, created) = Mapping::options().size(10_000).create().unwrap();
    assert_eq!(created, Created::New);
    assert_eq!(m.name(), None);
    let dup = m.try_clone().unwrap();
    m.view(Access::WRITE).unwrap().write_at(9_999, b"z").unwrap();
    drop(m);
    assert_eq!(dup.view(Access::READ).unwrap().read_vec(9_999, 1).unwrap(), b"z");
}

fn temp_file(tag: &str, content: &[u8]) -> (std::path::PathBuf, std::fs::File) {
    let path = setup().join(format!("{tag}-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    f.write_all(content).unwrap();
    (path, f)
}

#[test]
fn file_backed_mappings_follow_the_file() {
    let (path, file) = temp_file("backing", b"0123456789");
    let name = unique("file");
    let (m, _) = Mapping::options().name(&name).file(&file).create().unwrap();
    assert_eq!(m.size(), 10, "size 0 means the file's size");
    assert_eq!(m.backing_path().as_deref(), Some(path.as_path()));
    let v = m.view(Access::WRITE).unwrap();
    assert_eq!(v.read_vec(0, 10).unwrap(), b"0123456789");
    v.write_at(0, b"ABC").unwrap();
    v.flush().unwrap();
    let mut on_disk = String::new();
    std::fs::File::open(&path).unwrap().read_to_string(&mut on_disk).unwrap();
    assert_eq!(on_disk, "ABC3456789", "flushed data reaches the file");

    // Another handle opened by name maps the same file.
    let by_name = Mapping::open(&name, Access::READ).unwrap();
    assert_eq!(by_name.view(Access::READ).unwrap().read_vec(0, 3).unwrap(), b"ABC");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn file_backed_size_rules() {
    let (path, empty) = temp_file("empty", b"");
    assert_code(Mapping::options().file(&empty).create(), Win32Error::FILE_INVALID);
    let (_m, _) = Mapping::options().file(&empty).size(100_000).create().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 100_000, "a larger size extends the file");
    std::fs::remove_file(&path).unwrap();

    let (path, file) = temp_file("ro-file", b"abc");
    drop(file);
    let ro = std::fs::File::open(&path).unwrap();
    assert_code(Mapping::options().file(&ro).create(), Win32Error::ACCESS_DENIED);
    let (m, _) = Mapping::options().file(&ro).protection(Protection::ReadOnly).create().unwrap();
    assert_eq!(m.view(Access::READ).unwrap().read_vec(0, 3).unwrap(), b"abc");
    assert_code(
        Mapping::options().file(&ro).size(10_000).protection(Protection::ReadOnly).create(),
        Win32Error::NOT_ENOUGH_MEMORY,
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 3, "a refused create changes nothing");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_replaced_backing_file_is_detected() {
    let (path, mut file) = temp_file("replaced", b"first");
    let name = unique("replaced");
    let (_m, _) = Mapping::options().name(&name).file(&file).create().unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"impostor").unwrap();
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_INVALID);
    file.seek(SeekFrom::Start(0)).unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn corrupted_objects_are_refused_and_left_alone() {
    let name = unique("corrupt");
    let (m, _) = create(&name, 4096);
    let path = object_path(&name);
    // Flip a byte in the header (the creator still holds it, so it is not reclaimable).
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 0xFF;
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all(&bytes[..4096]).unwrap();
    drop(f);
    assert_code(Mapping::open(&name, Access::READ), Win32Error::INVALID_DATA);
    assert!(path.exists(), "a refused open changes nothing");
    drop(m);
}

#[test]
fn views_of_an_inheritable_handle_do_not_keep_the_name_alive() {
    // A mapping keeps its open file description alive; the description of an inheritable handle
    // carries the handle's lock, so views (and sync objects' state pages) are mapped from a
    // separate description: closing the last handle must free the name all the same.
    let name = unique("inheritable-view");
    setup();
    let (m, _) = Mapping::options().name(&name).size(4096).inheritable(true).create().unwrap();
    let view = m.view(Access::WRITE).unwrap();
    view.write_at(0, b"kept").unwrap();
    let dup = m.duplicate(Access::READ, true).unwrap();
    let dup_view = dup.view(Access::READ).unwrap();
    drop((m, dup));
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    assert_eq!(dup_view.read_vec(0, 4).unwrap(), b"kept");

    let event_name = unique("inheritable-event");
    let (event, _) = filemap::sync::Event::options().name(&event_name).inheritable(true).create().unwrap();
    event.set().unwrap();
    assert_eq!(event.wait(Some(std::time::Duration::ZERO)).unwrap(), filemap::WaitOutcome::Signaled(0));
    drop(event);
    assert_code(filemap::sync::Event::open(&event_name, filemap::Rights::SYNCHRONIZE), Win32Error::FILE_NOT_FOUND);
}

#[test]
fn a_handle_made_inheritable_after_mapping_views_still_frees_the_name_on_close() {
    let name = unique("late-inherit");
    let (m, _) = create(&name, 4096);
    let view = m.view(Access::WRITE).unwrap();
    view.write_at(0, b"x").unwrap();
    m.set_inheritable(true).unwrap();
    let second = m.view(Access::READ).unwrap();
    drop(m);
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    assert_eq!(second.read_vec(0, 1).unwrap(), b"x");
    view.write_at(0, b"y").unwrap();
    assert_eq!(second.read_vec(0, 1).unwrap(), b"y", "both views still share the old memory");

    let event_name = unique("late-inherit-event");
    let (event, _) = filemap::sync::Event::options().name(&event_name).create().unwrap();
    event.set().unwrap();
    event.set_inheritable(true).unwrap();
    drop(event);
    assert_code(filemap::sync::Event::open(&event_name, filemap::Rights::SYNCHRONIZE), Win32Error::FILE_NOT_FOUND);
}

#[test]
fn handles_and_views_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Mapping>();
    send_sync::<filemap::View>();
    let name = unique("threads");
    let (m, _) = create(&name, 4096);
    let view = m.view(Access::WRITE).unwrap();
    std::thread::scope(|s| {
        for i in 0..4u64 {
            let view = &view;
            s.spawn(move || {
                for _ in 0..1000 {
                    view.atomic_u64(0).unwrap().fetch_add(i, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(view.atomic_u64(0).unwrap().load(std::sync::atomic::Ordering::Relaxed), 6000);
}

#[test]
fn a_fifo_planted_under_a_name_is_refused_without_blocking_or_removing_it() {
    let name = unique("fifo");
    setup();
    let (probe, _) = create(&unique("fifo-dir"), 10); // makes sure the scope directory exists
    let path = object_path(&name);
    rustix::fs::mknodat(rustix::fs::CWD, &path, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
        .unwrap();
    assert_code(Mapping::open(&name, Access::READ), Win32Error::ACCESS_DENIED);
    assert_code(Mapping::options().name(&name).size(10).create(), Win32Error::ACCESS_DENIED);
    assert!(path.exists(), "a refused open changes nothing");
    std::fs::remove_file(&path).unwrap();
    drop(probe);
}

#[test]
fn a_view_left_after_the_last_close_holds_no_lock() {
    // A view keeps its open file description alive; the last close took an exclusive lock on
    // it to unlink the name, and must release it, or an opener that found the name just before
    // the unlink would wait for that lock until the view is unmapped.
    let name = unique("no-lock-left");
    let (m, _) = create(&name, 4096);
    let ino = m.object_id().1;
    let view = m.view(Access::WRITE).unwrap();
    drop(m);
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    let held: Vec<&str> = locks.lines().filter(|l| l.contains(&format!(":{ino} "))).collect();
    assert!(held.is_empty(), "locks left on the released object: {held:?}");
    view.write_at(0, b"still mapped").unwrap();
}

/// Minor page faults this thread has taken so far.
fn thread_minor_faults() -> i64 {
    let mut ru: libc::rusage = unsafe_zeroed_rusage();
    // SAFETY: `ru` is a valid, writable rusage for the call to fill.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
    ru.ru_minflt
}

fn unsafe_zeroed_rusage() -> libc::rusage {
    // SAFETY: rusage is a plain C struct of integers, for which all-zero bytes are valid.
    unsafe { std::mem::zeroed() }
}

/// Writes one byte into each of the first `pages` pages of `view` and returns how many minor
/// page faults this thread took meanwhile.
fn faults_writing(view: &filemap::View, pages: usize) -> i64 {
    let before = thread_minor_faults();
    for i in 0..pages {
        // SAFETY: the byte lies inside the live, writable view; nothing else uses it now.
        unsafe { view.as_ptr().add(i * filemap::PAGE_SIZE).write_volatile(1) };
    }
    thread_minor_faults() - before
}

#[test]
fn a_small_shared_view_of_committed_memory_is_populated_so_first_writes_do_not_fault() {
    let (small, _) = create(&unique("populated"), 4 * filemap::PAGE_SIZE as u64);
    let view = small.view(Access::WRITE).unwrap();
    assert_eq!(faults_writing(&view, 4), 0, "a view of at most 64 KiB is mapped with its page tables filled");
    let whole = ALLOCATION_GRANULARITY as u64;
    let (edge, _) = create(&unique("edge"), whole);
    let view = edge.view(Access::WRITE).unwrap();
    assert_eq!(faults_writing(&view, whole as usize / filemap::PAGE_SIZE), 0, "exactly 64 KiB is still small");
}

#[test]
fn big_copy_on_write_and_reserved_views_are_not_populated() {
    // Populating them would touch memory nobody asked for: every page of a big view, a private
    // copy of every page of a copy-on-write view, pages a reserved section has not committed.
    let (big, _) = create(&unique("big"), 2 * ALLOCATION_GRANULARITY as u64);
    let view = big.view(Access::WRITE).unwrap();
    assert!(faults_writing(&view, 4) >= 4, "a view over 64 KiB faults its pages in on first touch");
    let (small, _) = create(&unique("cow"), 4 * filemap::PAGE_SIZE as u64);
    let copy = small.view(Access::COPY).unwrap();
    assert!(faults_writing(&copy, 4) >= 4, "a copy-on-write view copies a page at its first write");
    let reserved = Mapping::options()
        .name(unique("reserved"))
        .size(4 * filemap::PAGE_SIZE as u64)
        .section_flags(SectionFlags::RESERVE)
        .create()
        .unwrap()
        .0;
    let view = reserved.view(Access::WRITE).unwrap();
    let (commit, read_write) = (filemap::memory::mem::COMMIT, page::READWRITE);
    filemap::memory::allocate(view.as_ptr() as usize, 4 * filemap::PAGE_SIZE, commit, read_write, false).unwrap();
    assert!(faults_writing(&view, 4) >= 4, "a reserved section's view is opened page by page");
}

#[test]
fn a_small_view_of_an_object_file_truncated_after_open_is_refused_and_a_regrown_one_maps_again() {
    // A small view is checked by the fill of its page tables (no `fstat`): the fill meets the
    // end of the file, the view is unmapped and the call fails as the `fstat` check would.
    let name = unique("shrunk");
    let size = 4 * filemap::PAGE_SIZE as u64;
    let (map, _) = create(&name, size);
    let file = std::fs::OpenOptions::new().write(true).open(object_path(&name)).unwrap();
    file.set_len(filemap::PAGE_SIZE as u64).unwrap(); // the header page alone
    for access in [Access::WRITE, Access::READ] {
        assert_code(map.view(access), Win32Error::INVALID_DATA);
        assert_code(map.view_range(0, filemap::PAGE_SIZE, access), Win32Error::INVALID_DATA);
    }
    let cut = map.view(Access::WRITE).unwrap_err().to_string();
    assert!(cut.contains("object file") && cut.contains("shorter"), "{cut}");
    // Two of the four data pages: a view of the first two maps, one of all four does not.
    file.set_len(filemap::PAGE_SIZE as u64 * 3).unwrap();
    let head = map.view_range(0, 2 * filemap::PAGE_SIZE, Access::WRITE).unwrap();
    head.write_at(0, b"still here").unwrap();
    assert_code(map.view(Access::WRITE), Win32Error::INVALID_DATA);
    file.set_len(filemap::PAGE_SIZE as u64 + size).unwrap();
    let whole = map.view(Access::WRITE).unwrap();
    assert_eq!(whole.read_vec(0, 10).unwrap(), b"still here");
}

/// Makes `madvise(.., MADV_POPULATE_READ)` fail with `EINVAL` in the calling thread from now on
/// (a seccomp filter: what a kernel before 5.14, or a sandbox, answers). Returns false where
/// the filter cannot be installed.
fn refuse_populate_in_this_thread() -> bool {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const LOAD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let program = [
        op(LOAD, 0, 0, 4), // seccomp_data.arch
        op(JEQ, 0, 5, AUDIT_ARCH_X86_64),
        op(LOAD, 0, 0, 0), // .nr
        op(JEQ, 0, 3, libc::SYS_madvise as u32),
        op(LOAD, 0, 0, 32), // .args[2], low half
        op(JEQ, 0, 1, libc::MADV_POPULATE_READ as u32),
        op(RET, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EINVAL as u32),
        op(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr().cast_mut() };
    // SAFETY: plain prctl calls: the first sets this thread's no_new_privs flag, the second
    // installs `prog` (valid, read during the call only) as this thread's seccomp filter.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog as *const libc::sock_fprog) == 0
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn where_a_small_view_cannot_be_filled_the_file_is_checked_as_for_any_other_view() {
    // The view's fill is also its size check (ARCHITECTURE.md §9); where the kernel refuses the
    // advice, the view is mapped unfilled and the `fstat` check decides, as for big views.
    let name = unique("unfillable");
    let size = 4 * filemap::PAGE_SIZE as u64;
    let (map, _) = create(&name, size);
    let path = object_path(&name);
    std::thread::spawn(move || {
        assert!(refuse_populate_in_this_thread(), "cannot install the seccomp filter");
        // The filter works: the advice itself is refused in this thread.
        let probe = map.view(Access::READ).unwrap();
        // SAFETY: a read fill of our own live, readable view changes no memory.
        let refused = unsafe { libc::madvise(probe.as_ptr().cast(), 4096, libc::MADV_POPULATE_READ) };
        assert_eq!((refused, std::io::Error::last_os_error().raw_os_error()), (-1, Some(libc::EINVAL)));
        drop(probe);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(filemap::PAGE_SIZE as u64).unwrap();
        assert_code(map.view(Access::WRITE), Win32Error::INVALID_DATA);
        file.set_len(filemap::PAGE_SIZE as u64 + size).unwrap();
        let view = map.view(Access::WRITE).unwrap();
        assert!(faults_writing(&view, 4) >= 4, "the view was not filled, so its first writes fault");
    })
    .join()
    .unwrap();
}
