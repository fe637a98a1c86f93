//! Large pages against 4 KiB pages, and the registry-backed `VirtualQuery`.
//!
//! - `first_touch_32mib`: map a view of a committed 32 MiB section and write one byte per 4 KiB,
//!   then unmap: a `SEC_COMMIT` section (tmpfs, 4 KiB pages) vs a `SEC_LARGE_PAGES` section
//!   (hugetlbfs, 2 MiB pages), next to the raw anonymous equivalents (`mmap` vs
//!   `mmap(MAP_HUGETLB)`). Throughput is per byte, so criterion prints the cost per MiB.
//! - `random_read_32mib`: 65,536 dependent 8-byte reads at pseudo-random offsets of an already
//!   mapped 32 MiB view (TLB-bound with 4 KiB pages) for both kinds of section.
//! - `query`: `filemap::memory::query` of a view (the registry) vs reading `/proc/self/maps`
//!   (what the previous `VirtualQuery` did per call).
//!
//! Large pages need huge pages in the kernel's pool and a hugetlbfs mount: run as root, the bench
//! reserves 48 more pages and mounts a hugetlbfs for the run, and restores both at the end.
//! Without root it says so and measures only the 4 KiB side.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use filemap::memory;
use filemap::{Access, Mapping};
use rustix::mm::{MapFlags, ProtFlags};

const SIZE: usize = 32 << 20;

struct Pool {
    old: String,
    mount: std::path::PathBuf,
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.mount).status();
        let _ = std::fs::remove_dir(&self.mount);
        let _ = std::fs::write("/proc/sys/vm/nr_hugepages", &self.old);
    }
}

fn setup() -> Option<Pool> {
    // Only unnamed sections are measured: no namespace is involved.
    if !rustix::process::geteuid().is_root() {
        eprintln!("large_pages bench: NOT ROOT, large-page benchmarks are skipped (only 4 KiB pages measured)");
        return None;
    }
    let old = std::fs::read_to_string("/proc/sys/vm/nr_hugepages").ok()?.trim().to_string();
    let want = old.parse::<usize>().ok()? + 48;
    std::fs::write("/proc/sys/vm/nr_hugepages", want.to_string()).ok()?;
    let mount = std::env::temp_dir().join(format!("filemap-bench-hugetlbfs-{}", std::process::id()));
    std::fs::create_dir_all(&mount).ok()?;
    let pool = Pool { old, mount };
    let ok = std::process::Command::new("mount")
        .args(["-t", "hugetlbfs", "none"])
        .arg(&pool.mount)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("large_pages bench: cannot mount hugetlbfs; large-page benchmarks are skipped");
        return None;
    }
    // SAFETY: still single-threaded, before the library reads it.
    unsafe { std::env::set_var("FILEMAP_HUGETLBFS", &pool.mount) };
    Some(pool)
}

fn touch(ptr: *mut u8, len: usize) {
    for off in (0..len).step_by(4096) {
        // SAFETY: `ptr..ptr + len` is a live writable mapping owned by the caller.
        unsafe { ptr.add(off).write_volatile(1) };
    }
}

fn raw_anon_cycle(huge: bool) {
    let flags = if huge { MapFlags::PRIVATE | MapFlags::HUGETLB } else { MapFlags::PRIVATE };
    // SAFETY: a fresh anonymous mapping at an address the kernel picks.
    let p =
        unsafe { rustix::mm::mmap_anonymous(std::ptr::null_mut(), SIZE, ProtFlags::READ | ProtFlags::WRITE, flags) }
            .expect("mmap");
    touch(p.cast(), SIZE);
    // SAFETY: the mapping made above, used by nobody else.
    unsafe { rustix::mm::munmap(p, SIZE) }.unwrap();
}

fn random_reads(ptr: *const u8, len: usize) -> u64 {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut sum = 0u64;
    for _ in 0..65_536 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let off = ((x ^ sum) as usize % (len / 8)) * 8;
        // SAFETY: `off + 8 <= len`, inside a live readable mapping; 8-byte aligned.
        sum = sum.wrapping_add(unsafe { (ptr.add(off) as *const u64).read_volatile() });
    }
    sum
}

fn benches(c: &mut Criterion, large: bool) {
    let (small_map, _) = Mapping::options().size(SIZE as u64).create().unwrap();
    let large_map = large.then(|| Mapping::options().size(SIZE as u64).large_pages(true).create().unwrap().0);

    let mut g = c.benchmark_group("first_touch_32mib");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(20);
    g.bench_function("section_4k", |b| {
        b.iter(|| {
            let v = small_map.view(Access::ALL).unwrap();
            touch(v.as_ptr(), SIZE);
        })
    });
    g.bench_function("raw_anon_4k", |b| b.iter(|| raw_anon_cycle(false)));
    if let Some(m) = &large_map {
        g.bench_function("section_large", |b| {
            b.iter(|| {
                let v = m.view(Access::ALL).unwrap();
                touch(v.as_ptr(), SIZE);
            })
        });
        g.bench_function("raw_anon_hugetlb", |b| b.iter(|| raw_anon_cycle(true)));
    }
    g.finish();

    let mut g = c.benchmark_group("random_read_32mib");
    g.sample_size(30);
    let v = small_map.view(Access::ALL).unwrap();
    touch(v.as_ptr(), SIZE);
    g.bench_function("section_4k", |b| b.iter(|| black_box(random_reads(v.as_ptr(), SIZE))));
    if let Some(m) = &large_map {
        let lv = m.view(Access::ALL).unwrap();
        touch(lv.as_ptr(), SIZE);
        g.bench_function("section_large", |b| b.iter(|| black_box(random_reads(lv.as_ptr(), SIZE))));
    }
    g.finish();

    let mut g = c.benchmark_group("query");
    let addr = v.as_ptr() as usize + 4096;
    g.bench_function("registry", |b| b.iter(|| black_box(memory::query(black_box(addr)).unwrap())));
    g.bench_function("proc_self_maps", |b| {
        b.iter(|| black_box(std::fs::read_to_string("/proc/self/maps").unwrap().len()))
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    let pool = setup();
    benches(c, pool.is_some());
    drop(pool);
}

criterion_group!(large_pages, all);

fn main() {
    large_pages();
    Criterion::default().configure_from_args().final_summary();
}
