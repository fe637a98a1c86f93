//! The memory API around views: reserve and commit (private memory and `SEC_RESERVE`
//! sections), protection, locking, `VirtualQuery`'s regions, placeholders and ring buffers.
//! Expected values are Windows' (Wine's `dlls/kernel32/tests/virtual.c` records them).

mod common;

use common::{Child, assert_code, hear, say, setup, unique};
use filemap::memory::{self, RegionType, State, mem, modifier};
use filemap::{Access, Mapping, SectionFlags, Win32Error, page};

/// The tests of this file assert what the registry reports at addresses they have just released;
/// another test's allocation in the same process may land there in between, so they take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
#[ignore]
fn child_main() {
    common::child_main(dispatch)
}

fn dispatch(role: &str, args: &[String]) {
    match role {
        // Opens a reserved section, waits for "check", reports what it sees of the first page
        // through a raw pointer (which the fault handler opens) and through the safe API.
        "reader" => {
            let map = Mapping::open(&args[0], Access::ALL).unwrap();
            let view = map.view(Access::ALL).unwrap();
            say("ready");
            while let Some(cmd) = hear() {
                match cmd.as_str() {
                    "check" => {
                        let q = memory::query(view.as_ptr() as usize).unwrap();
                        say(format!("state {:?} {:#x} {:#x}", q.state, q.protect, q.size));
                        // SAFETY: the first page is committed (the parent said so); the fault
                        // handler opens it in this view on first touch.
                        let raw = unsafe { std::ptr::read_volatile(view.as_ptr().add(100)) };
                        let safe = view.read_vec(100, 5).unwrap();
                        let reserved = view.read_vec(0x10000, 1).map_err(|e| e.code().0);
                        say(format!("raw {raw} safe {} reserved {reserved:?}", String::from_utf8_lossy(&safe)));
                    }
                    _ => break,
                }
            }
        }
        // In a namespace on a tiny tmpfs: commit what fits, then more than fits.
        "full" => {
            let (map, _) =
                Mapping::options().name(&args[0]).size(8 << 20).section_flags(SectionFlags::RESERVE).create().unwrap();
            let view = map.view(Access::ALL).unwrap();
            let small = view.commit(0, 0x10000, page::READWRITE);
            say(format!("small {:?}", small.map_err(|e| e.code().0)));
            view.write_at(0, b"fits").unwrap();
            let big = view.commit(0x10000, 4 << 20, page::READWRITE).map_err(|e| e.code().0);
            say(format!("big {big:?}"));
            let q = memory::query(view.as_ptr() as usize + 0x10000).unwrap();
            say(format!("after {:?} {}", q.state, String::from_utf8_lossy(&view.read_vec(0, 4).unwrap())));
        }
        // Large pages: create (or open, with "open"), write or read, report, wait for "quit".
        "large" => {
            let lp = memory::large_page_minimum();
            if args[1] == "create" {
                let too_big =
                    Mapping::options().name(format!("{}-big", args[0])).size(64 * lp as u64).large_pages(true).create();
                say(format!("too-big {:?}", too_big.map(|_| ()).map_err(|e| e.code().0)));
                let (map, _) =
                    Mapping::options().name(&args[0]).size(2 * lp as u64).large_pages(true).create().unwrap();
                let view = map.view(Access::ALL).unwrap();
                assert_eq!(view.as_ptr() as usize % lp, 0, "large-page views are large-page aligned");
                view.write_at(lp + 7, b"huge").unwrap();
                let misaligned = map.view_range(0x10000, 0, Access::READ).map(|_| ()).map_err(|e| e.code().0);
                let short = map.view_range(0, 0x10000, Access::READ).map(|_| ()).map_err(|e| e.code().0);
                say(format!("created {misaligned:?} {short:?}"));
                hear();
            } else {
                let map = Mapping::open(&args[0], Access::READ).unwrap();
                let view = map.view_range(lp as u64, 0, Access::READ).unwrap();
                say(format!("read {}", String::from_utf8_lossy(&view.read_vec(7, 4).unwrap())));
            }
        }
        // Touches a committed page, then a reserved one: the second touch must kill the process.
        "touch" => {
            let (map, _) = Mapping::options().size(0x20000).section_flags(SectionFlags::RESERVE).create().unwrap();
            let view = map.view(Access::ALL).unwrap();
            view.commit(0, 0x10000, page::READWRITE).unwrap();
            // SAFETY: the first 64 KiB are committed read-write.
            unsafe { std::ptr::write_volatile(view.as_ptr(), 1) };
            say("committed ok");
            // SAFETY: deliberately touching a reserved page: the fault ends this process, which
            // is what the parent checks (nothing of Rust's is corrupted by an access that never
            // completes).
            unsafe { std::ptr::write_volatile(view.as_ptr().add(0x10000), 1) };
            say("reserved page was writable");
        }
        "no-hugetlbfs" => {
            let lp = memory::large_page_minimum() as u64;
            let r = Mapping::options().name(&args[0]).size(lp).large_pages(true).create();
            say(format!("result {:?}", r.map(|_| ()).map_err(|e| e.code().0)));
        }
        other => panic!("unknown role {other}"),
    }
}

const PAGE: usize = 4096;

#[test]
fn private_reserve_commit_protect_free_follow_windows() {
    let _turn = serial();
    setup();
    assert_code(memory::allocate(0, 0, mem::RESERVE, page::NOACCESS, false), Win32Error::INVALID_PARAMETER);
    let a = memory::allocate(0, 0xFFFC, mem::RESERVE, page::NOACCESS, false).unwrap();
    assert_eq!(a % 0x10000, 0, "reservations are 64 KiB aligned");
    let q = memory::query(a).unwrap();
    assert_eq!((q.base, q.allocation_base, q.allocation_protect), (a, a, page::NOACCESS));
    assert_eq!((q.size, q.state, q.protect, q.kind), (0x10000, State::Reserve, 0, RegionType::Private));
    assert_code(memory::protect(a, 0xFFFC, page::READONLY), Win32Error::INVALID_ADDRESS);

    assert_eq!(memory::allocate(a, 0x1000, mem::COMMIT, page::NOACCESS, false).unwrap(), a);
    let q = memory::query(a).unwrap();
    assert_eq!(
        (q.size, q.state, q.protect, q.allocation_protect),
        (0x1000, State::Commit, page::NOACCESS, page::NOACCESS)
    );
    let q = memory::query(a + 0x1000).unwrap();
    assert_eq!((q.base, q.size, q.state), (a + 0x1000, 0xF000, State::Reserve));
    assert_code(memory::protect(a, 0xFFFC, page::READONLY), Win32Error::INVALID_ADDRESS);
    assert_eq!(memory::protect(a, 0x1000, page::READONLY).unwrap(), page::NOACCESS);
    assert_eq!(memory::protect(a, 0x1000, page::READWRITE).unwrap(), page::READONLY);
    // SAFETY: the page is committed read-write.
    unsafe {
        assert_eq!(*(a as *const u32), 0, "commits are zeroed");
        (a as *mut u32).write(0x5555_5555);
    }
    // Committing again keeps the contents.
    memory::allocate(a, 0x1000, mem::COMMIT, page::READWRITE, false).unwrap();
    // SAFETY: still committed read-write.
    assert_eq!(unsafe { *(a as *const u32) }, 0x5555_5555);

    // Invalid protections and types.
    assert_code(memory::allocate(0, 0x1000, mem::RESERVE, 0, false), Win32Error::INVALID_PARAMETER);
    assert_code(
        memory::allocate(a, 0x1000, mem::COMMIT, page::READONLY | page::EXECUTE, false),
        Win32Error::INVALID_PARAMETER,
    );
    assert_code(memory::allocate(0, 0x1000, mem::COMMIT, page::WRITECOPY, false), Win32Error::INVALID_PARAMETER);
    assert_code(memory::protect(a, 0x1000, page::READWRITE | page::EXECUTE_WRITECOPY), Win32Error::INVALID_PARAMETER);
    assert_code(memory::protect(a, 0x1000, 0), Win32Error::INVALID_PARAMETER);
    assert_code(
        memory::allocate(0, 0x1000, mem::COMMIT | 0x4000_0000, page::READWRITE, false),
        Win32Error::INVALID_PARAMETER,
    );
    assert_code(memory::allocate(a, 0x1000, mem::RESERVE, page::READWRITE, false), Win32Error::INVALID_ADDRESS);
    assert_code(memory::allocate(a + 0xF000, 0x2000, mem::COMMIT, page::READWRITE, false), Win32Error::INVALID_ADDRESS);

    // MEM_RESET: fine on reserved pages, not past the allocation.
    assert_eq!(memory::allocate(a + 0x1000, 0x1000, mem::RESET, page::NOACCESS, false).unwrap(), a + 0x1000);
    assert_code(memory::allocate(a + 0xF000, 0x2000, mem::RESET, page::NOACCESS, false), Win32Error::INVALID_ADDRESS);

    assert_code(memory::free(a, 0x10000, 0), Win32Error::INVALID_PARAMETER);
    assert_code(memory::free(a, 0, mem::FREE), Win32Error::INVALID_PARAMETER);
    memory::free(a, 0x10000, mem::DECOMMIT).unwrap();
    assert_eq!(memory::query(a).unwrap().state, State::Reserve);
    assert_code(memory::free(a, 1, mem::RELEASE), Win32Error::INVALID_PARAMETER);
    assert_code(memory::free(a + 0x1000, 0, mem::RELEASE), Win32Error::INVALID_ADDRESS);
    memory::free(a, 0, mem::RELEASE).unwrap();
    assert_eq!(memory::query(a).unwrap().state, State::Free);
    assert_code(memory::free(a, 0, mem::RELEASE), Win32Error::INVALID_ADDRESS);

    // The freed address can be asked for again; commit-only with no address reserves too.
    let b = memory::allocate(a, 0x1000, mem::RESERVE | mem::COMMIT, page::EXECUTE_READWRITE, false).unwrap();
    assert_eq!(b, a);
    memory::free(b, 0, mem::RELEASE).unwrap();
    let c = memory::allocate(0, 0x2000, mem::COMMIT | mem::TOP_DOWN, page::READWRITE, false).unwrap();
    assert_eq!(memory::query(c).unwrap().state, State::Commit);
    memory::free(c, 0, mem::RELEASE).unwrap();
}

#[test]
fn cache_modifiers_belong_to_the_allocation_and_guard_pages_are_reported() {
    let _turn = serial();
    setup();
    let a = memory::allocate(0, 0x2000, mem::COMMIT, page::READWRITE | modifier::NOCACHE, false).unwrap();
    let q = memory::query(a).unwrap();
    assert_eq!(
        (q.allocation_protect, q.protect, q.size),
        (page::READWRITE | modifier::NOCACHE, page::READWRITE | modifier::NOCACHE, 0x2000)
    );
    assert_eq!(memory::protect(a, 0x1000, page::READONLY).unwrap(), page::READWRITE | modifier::NOCACHE);
    assert_eq!(memory::query(a).unwrap().protect, page::READONLY | modifier::NOCACHE);
    memory::free(a, 0, mem::RELEASE).unwrap();

    let b = memory::allocate(0, 0x2000, mem::COMMIT, page::READWRITE, false).unwrap();
    memory::protect(b, 0x1000, page::READONLY | modifier::NOCACHE).unwrap();
    assert_eq!(memory::query(b).unwrap().protect, page::READONLY, "the request's NOCACHE is ignored");
    memory::protect(b + 0x1000, 0x1000, page::READWRITE | modifier::GUARD).unwrap();
    let q = memory::query(b + 0x1000).unwrap();
    assert_eq!((q.protect, q.size), (page::READWRITE | modifier::GUARD, 0x1000));
    assert_code(
        memory::allocate(0, 0x1000, mem::COMMIT, page::NOACCESS | modifier::GUARD, false),
        Win32Error::INVALID_PARAMETER,
    );
    assert_code(
        memory::allocate(0, 0x1000, mem::COMMIT, page::READWRITE | modifier::NOCACHE | modifier::WRITECOMBINE, false),
        Win32Error::INVALID_PARAMETER,
    );
    memory::free(b, 0, mem::RELEASE).unwrap();
}

#[test]
fn lock_and_unlock_need_committed_and_locked_pages() {
    let _turn = serial();
    setup();
    let a = memory::allocate(0, 0x10000, mem::RESERVE, page::NOACCESS, false).unwrap();
    memory::allocate(a, 0x2000, mem::COMMIT, page::READWRITE, false).unwrap();
    assert_code(memory::lock(a, 0x3000), Win32Error::NOACCESS);
    assert_code(memory::unlock(a, 0x1000), Win32Error::NOT_LOCKED);
    memory::lock(a, 0x2000).unwrap();
    memory::unlock(a, 0x1000).unwrap();
    assert_code(memory::unlock(a, 0x2000), Win32Error::NOT_LOCKED);
    memory::unlock(a + 0x1000, 0x1000).unwrap();
    memory::free(a, 0, mem::RELEASE).unwrap();
}

#[test]
fn reserved_section_views_start_reserved_and_commit_for_every_view() {
    let _turn = serial();
    setup();
    const SIZE: usize = 0x10_0000;
    let (map, _) = Mapping::options().size(SIZE as u64).section_flags(SectionFlags::RESERVE).create().unwrap();
    let v1 = map.view(Access::WRITE).unwrap();
    let v2 = map.view(Access::WRITE).unwrap();
    let (p1, p2) = (v1.as_ptr() as usize, v2.as_ptr() as usize);
    for p in [p1, p2] {
        let q = memory::query(p).unwrap();
        assert_eq!((q.base, q.allocation_base, q.allocation_protect), (p, p, page::READWRITE));
        assert_eq!((q.size, q.state, q.protect, q.kind), (SIZE, State::Reserve, 0, RegionType::Mapped));
    }
    assert_code(v1.read_vec(0, 1), Win32Error::NOACCESS);
    assert_eq!(memory::allocate(p1 + 100, 0x10000 - 100, mem::COMMIT, page::READONLY, false).unwrap(), p1);
    let q = memory::query(p1).unwrap();
    assert_eq!(
        (q.size, q.state, q.protect, q.allocation_protect),
        (0x10000, State::Commit, page::READONLY, page::READWRITE)
    );
    // The commit belongs to the section: the other view sees committed pages with its own
    // protection, and the rest stays reserved.
    let q = memory::query(p2).unwrap();
    assert_eq!((q.size, q.state, q.protect), (0x10000, State::Commit, page::READWRITE));
    let q = memory::query(p2 + 0x10000).unwrap();
    assert_eq!((q.size, q.state, q.protect), (SIZE - 0x10000, State::Reserve, 0));
    v2.write_at(10, b"hello").unwrap();
    assert_eq!(v1.read_vec(10, 5).unwrap(), b"hello");
    assert_code(v1.write_at(10, b"x"), Win32Error::NOACCESS); // committed read-only in v1
    // A raw touch of the other view's newly committed page works (the fault handler opens it).
    memory::allocate(p1 + 0x20000, 0x1000, mem::COMMIT, page::READWRITE, false).unwrap();
    // SAFETY: the page was just committed in the section; v2 maps it read-write.
    unsafe { std::ptr::write_volatile((p2 + 0x20000) as *mut u8, 42) };
    assert_eq!(v1.read_vec(0x20000, 1).unwrap(), [42]);
    // Views cannot be decommitted; MEM_RESET is accepted.
    assert_code(memory::free(p1, 0x10000, mem::DECOMMIT), Win32Error::INVALID_PARAMETER);
    assert_eq!(memory::allocate(p1, SIZE, mem::RESET, page::READONLY, false).unwrap(), p1);
    assert_code(memory::allocate(p1, SIZE + 0x1000, mem::COMMIT, page::READWRITE, false), Win32Error::INVALID_ADDRESS);
    // A read-only view cannot commit read-write pages.
    let ro = map.view(Access::READ).unwrap();
    assert_code(
        memory::allocate(ro.as_ptr() as usize, PAGE, mem::COMMIT, page::READWRITE, false),
        Win32Error::INVALID_PARAMETER,
    );
    assert_eq!(ro.read_vec(10, 5).unwrap(), b"hello");
}

#[test]
fn committed_and_nocache_section_views_report_like_windows() {
    let _turn = serial();
    setup();
    const SIZE: usize = 0x10_0000;
    let (map, _) = Mapping::options().size(SIZE as u64).create().unwrap();
    let v = map.view(Access::WRITE).unwrap();
    let p = v.as_ptr() as usize;
    let q = memory::query(p).unwrap();
    assert_eq!(
        (q.size, q.state, q.protect, q.allocation_protect, q.kind),
        (SIZE, State::Commit, page::READWRITE, page::READWRITE, RegionType::Mapped)
    );
    assert_eq!(memory::allocate(p, 0x10000, mem::COMMIT, page::READONLY, false).unwrap(), p);
    let q = memory::query(p).unwrap();
    assert_eq!((q.size, q.protect), (0x10000, page::READONLY));
    assert_code(v.write_at(0, b"x"), Win32Error::NOACCESS);
    assert_eq!(memory::protect(p, 0x1000, page::READWRITE).unwrap(), page::READONLY);
    v.write_at(0, b"x").unwrap();
    assert_code(memory::free(p, 0x10000, mem::DECOMMIT), Win32Error::INVALID_PARAMETER);
    // Windows' compatibility rule for views: no more access than the view, and a copy-on-write
    // view (access: read) cannot become read-write, only write-copy again.
    assert_code(memory::protect(p, 0x1000, page::EXECUTE_READ), Win32Error::INVALID_PARAMETER);
    assert_eq!(memory::protect(p, 0x1000, page::NOACCESS).unwrap(), page::READWRITE);
    let cow = map.view(Access::COPY).unwrap();
    let c = cow.as_ptr() as usize;
    assert_eq!(memory::query(c).unwrap().protect, page::WRITECOPY);
    assert_code(memory::protect(c, 0x1000, page::READWRITE), Win32Error::INVALID_PARAMETER);
    assert_eq!(memory::protect(c, 0x1000, page::READONLY).unwrap(), page::WRITECOPY);
    assert_eq!(memory::protect(c, 0x1000, page::WRITECOPY).unwrap(), page::READONLY);
    cow.write_at(0, b"private").unwrap();
    assert_ne!(v.read_vec(0, 7).unwrap_or_default(), b"private");

    let (nc, _) = Mapping::options()
        .size(SIZE as u64)
        .section_flags(SectionFlags::COMMIT | SectionFlags::NOCACHE)
        .create()
        .unwrap();
    let v = nc.view(Access::WRITE).unwrap();
    let p = v.as_ptr() as usize;
    let q = memory::query(p).unwrap();
    assert_eq!(
        (q.allocation_protect, q.protect),
        (page::READWRITE | modifier::NOCACHE, page::READWRITE | modifier::NOCACHE)
    );
    memory::allocate(p, 0x10000, mem::COMMIT, page::READONLY, false).unwrap();
    assert_eq!(memory::query(p).unwrap().protect, page::READONLY | modifier::NOCACHE);
}

#[test]
fn reserve_commit_write_then_another_process_reads_it() {
    let _turn = serial();
    setup();
    let name = unique("memshare");
    let (map, _) = Mapping::options().name(&name).size(0x40000).section_flags(SectionFlags::RESERVE).create().unwrap();
    let view = map.view(Access::ALL).unwrap();
    view.commit(0, 0x10000, page::READWRITE).unwrap();
    view.write_at(100, b"hello").unwrap();
    let mut child = Child::spawn("reader", &[&name]);
    child.expect("ready");
    child.send("check");
    assert_eq!(child.expect("state"), "Commit 0x4 0x10000");
    assert_eq!(child.expect("raw"), format!("{} safe hello reserved Err(998)", b'h'));
    child.send("quit");
    child.finish();
    drop(view);
}

#[test]
fn placeholders_map_one_section_twice_back_to_back() {
    let _turn = serial();
    setup();
    const SIZE: usize = 0x10000;
    let (map, _) = Mapping::options().size(SIZE as u64).create().unwrap();
    let base = memory::allocate(0, 2 * SIZE, mem::RESERVE | mem::RESERVE_PLACEHOLDER, page::NOACCESS, true).unwrap();
    assert_code(
        memory::allocate(0, SIZE, mem::RESERVE | mem::RESERVE_PLACEHOLDER, page::NOACCESS, false),
        Win32Error::INVALID_PARAMETER,
    );
    assert_code(
        memory::allocate(0, SIZE, mem::RESERVE | mem::RESERVE_PLACEHOLDER, page::READWRITE, true),
        Win32Error::INVALID_PARAMETER,
    );
    // A view cannot replace half of a placeholder before it is split.
    assert!(map.view_builder().access(Access::ALL).len(SIZE).address(base).replace_placeholder().map().is_err());
    memory::free(base, SIZE, mem::RELEASE | mem::PRESERVE_PLACEHOLDER).unwrap();
    let q = memory::query(base + SIZE).unwrap();
    assert_eq!((q.allocation_base, q.state, q.size), (base + SIZE, State::Reserve, SIZE));
    let v1 = map.view_builder().access(Access::ALL).len(SIZE).address(base).replace_placeholder().map().unwrap();
    let v2 = map.view_builder().access(Access::ALL).len(SIZE).address(base + SIZE).replace_placeholder().map().unwrap();
    assert_eq!(v2.as_ptr() as usize, base + SIZE);
    // Write across the end, read back contiguously.
    // SAFETY: [base, base + 2 * SIZE) is two live read-write views of the same section.
    unsafe {
        std::ptr::copy_nonoverlapping(b"ring-buffer".as_ptr(), (base + SIZE - 4) as *mut u8, 11);
        assert_eq!(std::slice::from_raw_parts((base + SIZE - 4) as *const u8, 11), b"ring-buffer");
        assert_eq!(std::slice::from_raw_parts(base as *const u8, 7), b"-buffer");
    }
    assert_eq!(memory::query(base + SIZE).unwrap().kind, RegionType::Mapped);
    // Unmap both, keeping the placeholders, coalesce and release.
    let (r1, r2) = (v1.into_raw(), v2.into_raw());
    // SAFETY: nothing uses the views afterwards.
    unsafe {
        filemap::unmap_raw_preserving_placeholder(r1).unwrap();
        filemap::unmap_raw_preserving_placeholder(r2).unwrap();
    }
    assert_eq!(memory::query(base).unwrap().kind, RegionType::Private);
    assert_code(
        memory::free(base, SIZE + PAGE, mem::RELEASE | mem::COALESCE_PLACEHOLDERS),
        Win32Error::INVALID_PARAMETER,
    );
    memory::free(base, 2 * SIZE, mem::RELEASE | mem::COALESCE_PLACEHOLDERS).unwrap();
    assert_eq!(memory::query(base).unwrap().size, 2 * SIZE);
    memory::free(base, 0, mem::RELEASE).unwrap();
    assert_eq!(memory::query(base).unwrap().state, State::Free);
}

#[test]
fn a_double_view_is_a_ring_buffer_that_never_wraps() {
    let _turn = serial();
    setup();
    let (map, _) = Mapping::options().size(0x20000).create().unwrap();
    let ring = map.double_view(Access::ALL).unwrap();
    assert_eq!(ring.len(), 0x20000);
    let msg: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    ring.write_at(0x20000 - 300, &msg).unwrap();
    let mut back = vec![0; 1000];
    ring.read_at(0x20000 - 300, &mut back).unwrap();
    assert_eq!(back, msg);
    let view = map.view(Access::READ).unwrap();
    assert_eq!(view.read_vec(0, 700).unwrap(), &msg[300..]);
    assert_code(ring.read_at(0x20000, &mut [0; 1]), Win32Error::INVALID_PARAMETER);
    let (odd, _) = Mapping::options().size(0x11000).create().unwrap();
    assert_code(odd.double_view(Access::ALL), Win32Error::INVALID_PARAMETER);
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn a_full_filesystem_fails_the_commit_not_a_later_write() {
    let _turn = serial();
    setup();
    assert!(rustix::process::geteuid().is_root(), "this test mounts a small tmpfs and needs root");
    let dir = std::env::temp_dir().join(format!("filemap-fulltmpfs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "mount tmpfs failed");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _guard = Unmount(dir.clone());
    let root = dir.join("root");
    std::fs::create_dir(&root).unwrap();
    let name = unique("memfull");
    let mut child = Child::spawn_with("full", &[&name], |cmd| {
        cmd.env("FILEMAP_ROOT", &root);
    });
    assert_eq!(child.expect("small"), "Ok(())");
    assert_eq!(child.expect("big"), format!("Err({})", Win32Error::COMMITMENT_LIMIT.0));
    assert_eq!(child.expect("after"), "Reserve fits");
    child.finish();
}

fn meminfo(key: &str) -> usize {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    text.lines().find_map(|l| l.strip_prefix(key)?.trim().split(' ').next()?.parse().ok()).unwrap()
}

/// Reserves `n` more huge pages and mounts a hugetlbfs for the test; restores both on drop.
struct HugePool {
    old: String,
    mount: std::path::PathBuf,
}

impl HugePool {
    fn reserve(n: usize) -> HugePool {
        let old = std::fs::read_to_string("/proc/sys/vm/nr_hugepages").unwrap().trim().to_string();
        let want = old.parse::<usize>().unwrap() + n;
        // Contiguous 2 MiB blocks may be scarce on a machine that has been busy: compact memory
        // and ask again a few times before concluding that the kernel cannot give them.
        for _ in 0..5 {
            let _ = std::fs::write("/proc/sys/vm/drop_caches", "3");
            let _ = std::fs::write("/proc/sys/vm/compact_memory", "1");
            std::fs::write("/proc/sys/vm/nr_hugepages", want.to_string()).unwrap();
            if meminfo("HugePages_Free:") >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let mount = std::env::temp_dir().join(format!("filemap-hugetlbfs-{}", std::process::id()));
        std::fs::create_dir_all(&mount).unwrap();
        let pool = HugePool { old, mount };
        let got = meminfo("HugePages_Free:");
        assert!(got >= n, "asked the kernel for {n} more huge pages, {got} are free (memory fragmented?)");
        let status = std::process::Command::new("mount")
            .args(["-t", "hugetlbfs", "-o", "mode=0755", "none"])
            .arg(&pool.mount)
            .status()
            .unwrap();
        assert!(status.success(), "mount hugetlbfs failed");
        pool
    }
}

impl Drop for HugePool {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.mount).status();
        let _ = std::fs::remove_dir(&self.mount);
        let _ = std::fs::write("/proc/sys/vm/nr_hugepages", &self.old);
    }
}

#[test]
#[ignore = "needs root (switches users, mounts or attacks root's objects): scripts/test-root-and-python.sh runs it as root"]
fn large_page_sections_come_from_the_hugetlb_pool_and_are_freed_with_the_last_handle() {
    let _turn = serial();
    setup();
    assert!(rustix::process::geteuid().is_root(), "this test reserves huge pages and mounts hugetlbfs: it needs root");
    let lp = memory::large_page_minimum();
    assert!(lp > 0, "the kernel reports no huge page size");
    assert_code(Mapping::options().size(4096).large_pages(true).create(), Win32Error::INVALID_PARAMETER);
    assert_code(
        Mapping::options().size(lp as u64).section_flags(SectionFlags::LARGE_PAGES | SectionFlags::RESERVE).create(),
        Win32Error::INVALID_PARAMETER,
    );
    // Not a hugetlbfs: Windows' answer without the privilege.
    let name = unique("nolarge");
    let mut child = Child::spawn_with("no-hugetlbfs", &[&name], |cmd| {
        cmd.env("FILEMAP_HUGETLBFS", "/dev/shm");
    });
    assert_eq!(child.expect("result"), format!("Err({})", Win32Error::PRIVILEGE_NOT_HELD.0));
    child.finish();

    let pool = HugePool::reserve(4);
    let free_before = meminfo("HugePages_Free:");
    let name = unique("large");
    let env = |cmd: &mut std::process::Command| {
        cmd.env("FILEMAP_HUGETLBFS", &pool.mount);
    };
    let mut creator = Child::spawn_with("large", &[&name, "create"], env);
    assert_eq!(creator.expect("too-big"), format!("Err({})", Win32Error::NO_SYSTEM_RESOURCES.0));
    assert_eq!(
        creator.expect("created"),
        format!("Err({}) Err({})", Win32Error::MAPPED_ALIGNMENT.0, Win32Error::INVALID_PARAMETER.0)
    );
    assert_eq!(meminfo("HugePages_Free:"), free_before - 2, "the section holds two huge pages");
    let mut reader = Child::spawn_with("large", &[&name, "open"], env);
    assert_eq!(reader.expect("read"), "huge");
    reader.finish();
    creator.send("quit");
    creator.finish();
    let dir = pool.mount.join("filemap-0");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "the data file outlived the last handle: {left:?}");
    assert_eq!(meminfo("HugePages_Free:"), free_before, "the huge pages went back to the pool");
    drop(pool);
}

#[test]
fn touching_a_reserved_page_of_a_view_is_an_access_violation() {
    let _turn = serial();
    use std::os::unix::process::ExitStatusExt;
    setup();
    // The child dies of the signal, so run it directly rather than through `Child`.
    let out = filemap_testkit::selfexec::command(filemap_testkit::selfexec::ENTRY, "touch", &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("@@committed ok"), "{stdout}");
    assert!(!stdout.contains("writable"), "{stdout}");
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "{:?}", out.status);
}

#[test]
fn a_reserved_view_keeps_neither_the_name_nor_a_lock_after_the_last_close() {
    let _turn = serial();
    setup();
    let name = unique("reserved-close");
    let (m, _) = Mapping::options().name(&name).size(0x20000).section_flags(SectionFlags::RESERVE).create().unwrap();
    let ino = m.object_id().1;
    let view = m.view(Access::WRITE).unwrap();
    drop(m);
    assert_code(Mapping::open(&name, Access::READ), Win32Error::FILE_NOT_FOUND);
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    let held: Vec<&str> = locks.lines().filter(|l| l.contains(&format!(":{ino} "))).collect();
    assert!(held.is_empty(), "locks left on the released object: {held:?}");
    // The view still commits (the section's memory lives while a view does).
    view.commit(0, 0x1000, page::READWRITE).unwrap();
    view.write_at(0, b"after close").unwrap();
    assert_eq!(view.read_vec(0, 11).unwrap(), b"after close");
}
