//! P1/P2/P5: the create and open cycles of a named 4 KiB mapping, against the raw POSIX cycles
//! they stand in for, interleaved in one run so the ratio is what counts.
//!
//! - `create`: filemap `create + view + drop view + drop handle` vs
//!   `shm_open(O_CREAT|O_EXCL) + ftruncate + mmap + munmap + close + shm_unlink`; and, like for
//!   like, filemap with `SEC_RESERVE` (no memory committed) and the raw cycle with `fallocate`
//!   (memory committed, as `SEC_COMMIT` does).
//! - `open`: filemap `open + view + drop view + drop handle` (another handle keeps the object)
//!   vs `shm_open + mmap + munmap + close`.
//! - the peer crate `shared_memory` (`ShmemConf::create` / `open`, dropped) in both groups.
//! - `copy`: copying 1 MiB (and 64 bytes) into and out of a view vs `memcpy` between private
//!   buffers (views copy byte-wise atomically: `rep movsb` on x86-64).
//! - `sweep_step`: the cost of one amortized sweep step over live entries (bounded per step).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use filemap::namespace::Namespace;
use filemap::{Access, Mapping};
use rustix::fs::Mode;
use rustix::mm::{MapFlags, ProtFlags};

/// The benchmark's own namespace, on tmpfs like the default one.
fn root() -> Namespace {
    Namespace::at(format!("/dev/shm/filemap-bench-{}", std::process::id()))
}

fn raw_map(fd: &rustix::fd::OwnedFd) -> *mut std::ffi::c_void {
    // SAFETY: a fresh shared mapping of a 4 KiB object at an address the kernel chooses.
    unsafe { rustix::mm::mmap(std::ptr::null_mut(), 4096, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, fd, 0) }
        .unwrap()
}

fn raw_unmap(p: *mut std::ffi::c_void) {
    // SAFETY: `p` is the 4 KiB mapping made by `raw_map`, used by nobody else.
    unsafe { rustix::mm::munmap(p, 4096) }.unwrap();
}

/// `shm_open(O_CREAT|O_EXCL)` + size (`ftruncate`, or `fallocate` to commit like `SEC_COMMIT`)
/// + `mmap` + `munmap` + `close` + `shm_unlink`.
fn raw_create_cycle(name: &str, commit: bool) {
    let flags = rustix::shm::OFlags::CREATE | rustix::shm::OFlags::EXCL | rustix::shm::OFlags::RDWR;
    let fd = rustix::shm::open(name, flags, Mode::RUSR | Mode::WUSR).unwrap();
    if commit {
        rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, 4096).unwrap();
    } else {
        rustix::fs::ftruncate(&fd, 4096).unwrap();
    }
    let p = raw_map(&fd);
    black_box(p);
    raw_unmap(p);
    drop(fd);
    rustix::shm::unlink(name).unwrap();
}

fn cycles(c: &mut Criterion) {
    let ns = root();
    static N: AtomicU64 = AtomicU64::new(0);
    let mut g = c.benchmark_group("create_cycle_4k");
    g.bench_function("raw_shm_open", |b| {
        let name = format!("/filemap-bench-raw-{}", std::process::id());
        b.iter(|| raw_create_cycle(&name, false))
    });
    g.bench_function("raw_shm_open_committed", |b| {
        let name = format!("/filemap-bench-rawc-{}", std::process::id());
        b.iter(|| raw_create_cycle(&name, true))
    });
    g.bench_function("peer_shared_memory_crate", |b| {
        b.iter(|| {
            let id = format!("filemap-bench-peer-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
            let shm = shared_memory::ShmemConf::new().size(4096).os_id(&id).create().unwrap();
            black_box(shm.as_ptr());
        })
    });
    g.bench_function("filemap_sec_reserve", |b| {
        b.iter(|| {
            let name = format!(r"Local\bench-reserve-{}", N.fetch_add(1, Ordering::Relaxed));
            let (m, _) = Mapping::options()
                .namespace(&ns)
                .name(&name)
                .size(4096)
                .section_flags(filemap::SectionFlags::RESERVE)
                .create()
                .unwrap();
            let v = m.view(Access::ALL).unwrap();
            black_box(v.as_ptr());
        })
    });
    g.bench_function("filemap", |b| {
        b.iter(|| {
            let name = format!(r"Local\bench-create-{}", N.fetch_add(1, Ordering::Relaxed));
            let (m, _) = Mapping::options().namespace(&ns).name(&name).size(4096).create().unwrap();
            let v = m.view(Access::ALL).unwrap();
            black_box(v.as_ptr());
        })
    });
    g.finish();

    let mut g = c.benchmark_group("open_cycle_4k");
    let raw_name = format!("/filemap-bench-open-{}", std::process::id());
    let keep = rustix::shm::open(
        raw_name.as_str(),
        rustix::shm::OFlags::CREATE | rustix::shm::OFlags::RDWR,
        Mode::RUSR | Mode::WUSR,
    )
    .unwrap();
    rustix::fs::ftruncate(&keep, 4096).unwrap();
    g.bench_function("raw_shm_open", |b| {
        b.iter(|| {
            let fd = rustix::shm::open(raw_name.as_str(), rustix::shm::OFlags::RDWR, Mode::empty()).unwrap();
            let p = raw_map(&fd);
            black_box(p);
            raw_unmap(p);
        })
    });
    let peer_id = format!("filemap-bench-peer-open-{}", std::process::id());
    let peer = shared_memory::ShmemConf::new().size(4096).os_id(&peer_id).create().unwrap();
    g.bench_function("peer_shared_memory_crate", |b| {
        b.iter(|| {
            let shm = shared_memory::ShmemConf::new().os_id(&peer_id).open().unwrap();
            black_box(shm.as_ptr());
        })
    });
    drop(peer);
    let (held, _) = Mapping::options().namespace(&ns).name(r"Local\bench-open").size(4096).create().unwrap();
    g.bench_function("filemap", |b| {
        b.iter(|| {
            let m = Mapping::options().namespace(&ns).name(r"Local\bench-open").open().unwrap();
            let v = m.view(Access::ALL).unwrap();
            black_box(v.as_ptr());
        })
    });
    g.finish();
    drop(held);
    drop(keep);
    rustix::shm::unlink(raw_name.as_str()).unwrap();

    // The sweep's cost per live entry: `sweep_now` over a directory of `STEP_ENTRIES` live
    // objects (one step examines at most that many, at most once per 20 ms per scope and
    // process), plus opening and reading the directory.
    let mut g = c.benchmark_group("sweep_step");
    let held: Vec<Mapping> = (0..filemap::sweep::STEP_ENTRIES)
        .map(|i| ns.mapping().name(format!(r"Local\bench-sweep-{i}")).size(4096).create().unwrap().0)
        .collect();
    let live = ns.scan(filemap::Scope::Local, false).unwrap().len();
    g.bench_function(format!("{live}_live_entries"), |b| {
        b.iter(|| black_box(ns.sweep_now(filemap::Scope::Local).unwrap()))
    });
    g.finish();
    drop(held);

    let mut g = c.benchmark_group("copy_1mib");
    let data = vec![0x5Au8; 1 << 20];
    let (m, _) = Mapping::options().size(1 << 20).create().unwrap();
    let v = m.view(Access::ALL).unwrap();
    let mut private = vec![0u8; 1 << 20];
    g.throughput(criterion::Throughput::Bytes(1 << 20));
    g.bench_function("memcpy_private", |b| b.iter(|| private.copy_from_slice(black_box(&data))));
    g.bench_function("filemap_write_at", |b| b.iter(|| v.write_at(0, black_box(&data)).unwrap()));
    g.bench_function("memcpy_private_out", |b| b.iter(|| black_box(&mut private).copy_from_slice(black_box(&data))));
    g.bench_function("filemap_read_at", |b| b.iter(|| v.read_at(0, black_box(&mut private)).unwrap()));
    g.finish();

    // Small copies: the fixed cost of a copy (range checks, the byte-wise atomic copy's start).
    let mut g = c.benchmark_group("copy_64b");
    let mut small = [0u8; 64];
    g.bench_function("memcpy_private", |b| b.iter(|| small.copy_from_slice(black_box(&data[..64]))));
    g.bench_function("filemap_write_at", |b| b.iter(|| v.write_at(64, black_box(&data[..64])).unwrap()));
    g.bench_function("filemap_read_at", |b| b.iter(|| v.read_at(64, black_box(&mut small)).unwrap()));
    g.finish();
    let _ = std::fs::remove_dir_all(format!("/dev/shm/filemap-bench-{}", std::process::id()));
}

criterion_group!(benches, cycles);
criterion_main!(benches);
