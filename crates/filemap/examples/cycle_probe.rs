//! The create and open cycles of a named 4 KiB mapping (P1, P2), for looking inside them:
//!
//! - `cycle_probe trace [N]`: N warm cycles of each kind, with marker system calls (`getppid`)
//!   around the last ones, for `strace -f` (which system calls one cycle makes) and `perf`;
//! - `cycle_probe cpu [ROUNDS]`: the thread CPU time (user + system, `CLOCK_THREAD_CPUTIME_ID`) per cycle
//!   of filemap and of the raw POSIX cycles (`shm_open(O_EXCL)` + `ftruncate` + `mmap` +
//!   `munmap` + `close` + `shm_unlink`; `shm_open` + `mmap` + `munmap` + `close`), interleaved in
//!   blocks of 200, median of ROUNDS blocks. CPU time is what a loaded machine disturbs least
//!   (wall-clock ratios swing with the other processes' load); run it alternately on two builds
//!   to compare them.
//!
//! - `cycle_probe create-only N` / `open-only N`: N cycles of one kind (for `perf record`).
//!
//! Uses `$FILEMAP_ROOT` (default `/dev/shm`).
use filemap::{Access, Mapping};
use rustix::fs::Mode;
use rustix::mm::{MapFlags, ProtFlags};

fn cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
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

fn filemap_create(i: u64) {
    let (m, _) = Mapping::options().name(format!(r"Local\probe-{i}")).size(4096).create().unwrap();
    let v = m.view(Access::ALL).unwrap();
    std::hint::black_box(v.as_ptr());
}

fn filemap_open() {
    let m = Mapping::open(r"Local\probe-open", Access::ALL).unwrap();
    let v = m.view(Access::ALL).unwrap();
    std::hint::black_box(v.as_ptr());
}

/// Sizing of the raw create cycle: `ftruncate` (P1's reference), `fallocate` (memory committed,
/// as `SEC_COMMIT` does), or a `pwrite` of 8 KiB (a header page and the committed data page,
/// what filemap writes).
#[derive(Clone, Copy)]
enum Size {
    Truncate,
    Commit,
    HeaderAndData,
}

fn raw_create(name: &str, size: Size) {
    let flags = rustix::shm::OFlags::CREATE | rustix::shm::OFlags::EXCL | rustix::shm::OFlags::RDWR;
    let fd = rustix::shm::open(name, flags, Mode::RUSR | Mode::WUSR).unwrap();
    match size {
        Size::Truncate => rustix::fs::ftruncate(&fd, 4096).unwrap(),
        Size::Commit => rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, 4096).unwrap(),
        Size::HeaderAndData => assert_eq!(rustix::io::pwrite(&fd, &[0u8; 8192], 0).unwrap(), 8192),
    }
    let p = raw_map(&fd);
    std::hint::black_box(p);
    raw_unmap(p);
    drop(fd);
    rustix::shm::unlink(name).unwrap();
}

fn raw_open(name: &str) {
    let fd = rustix::shm::open(name, rustix::shm::OFlags::RDWR, Mode::empty()).unwrap();
    let p = raw_map(&fd);
    std::hint::black_box(p);
    raw_unmap(p);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// LONG: an experiment script: each mode is a few lines of setup and measurement, read in order.
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "trace".into());
    let n: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(if mode == "cpu" { 40 } else { 3 });
    let (held, _) = Mapping::options().name(r"Local\probe-open").size(4096).create().unwrap();
    let pid = std::process::id();
    let raw_name = format!("/probe-raw-{pid}");
    let raw_keep_name = format!("/probe-raw-open-{pid}");
    let keep = rustix::shm::open(
        raw_keep_name.as_str(),
        rustix::shm::OFlags::CREATE | rustix::shm::OFlags::RDWR,
        Mode::RUSR | Mode::WUSR,
    )
    .unwrap();
    rustix::fs::ftruncate(&keep, 4096).unwrap();
    if mode == "create-only" {
        for i in 0..n {
            filemap_create(i);
        }
    } else if mode == "open-only" {
        for _ in 0..n {
            filemap_open();
        }
    } else if mode == "cpu" {
        const BLOCK: u64 = 200;
        let mut results: [Vec<f64>; 6] = Default::default();
        let mut next = 0;
        let per_cycle = |t: u64| (cpu_ns() - t) as f64 / BLOCK as f64;
        for _ in 0..n {
            let t = cpu_ns();
            for i in 0..BLOCK {
                filemap_create(next + i);
            }
            next += BLOCK;
            results[0].push(per_cycle(t));
            for (k, size) in [(1, Size::Truncate), (2, Size::Commit), (3, Size::HeaderAndData)] {
                let t = cpu_ns();
                for _ in 0..BLOCK {
                    raw_create(&raw_name, size);
                }
                results[k].push(per_cycle(t));
            }
            let t = cpu_ns();
            for _ in 0..BLOCK {
                filemap_open();
            }
            results[4].push(per_cycle(t));
            let t = cpu_ns();
            for _ in 0..BLOCK {
                raw_open(&raw_keep_name);
            }
            results[5].push(per_cycle(t));
        }
        let min = |v: &Vec<f64>| v.iter().copied().fold(f64::INFINITY, f64::min);
        let mins: Vec<f64> = results.iter().map(min).collect();
        let [fc, rc, rcc, rch, fo, ro] = results.map(median);
        println!(
            "median CPU us: create {:.2} | raw {:.2} ({:.2}x) committed {:.2} ({:.2}x) hdr+data {:.2} ({:.2}x) || open {:.2} | raw {:.2} ({:.2}x)",
            fc / 1e3,
            rc / 1e3,
            fc / rc,
            rcc / 1e3,
            fc / rcc,
            rch / 1e3,
            fc / rch,
            fo / 1e3,
            ro / 1e3,
            fo / ro
        );
        println!(
            "min    CPU us: create {:.2} | raw {:.2} ({:.2}x) committed {:.2} ({:.2}x) hdr+data {:.2} ({:.2}x) || open {:.2} | raw {:.2} ({:.2}x)",
            mins[0] / 1e3,
            mins[1] / 1e3,
            mins[0] / mins[1],
            mins[2] / 1e3,
            mins[0] / mins[2],
            mins[3] / 1e3,
            mins[0] / mins[3],
            mins[4] / 1e3,
            mins[5] / 1e3,
            mins[4] / mins[5]
        );
    } else {
        for i in 0..n {
            let last = i + 1 == n;
            if last {
                let _ = rustix::process::getppid();
            }
            filemap_create(i);
            if last {
                let _ = rustix::process::getppid();
            }
            filemap_open();
            if last {
                let _ = rustix::process::getppid();
            }
            raw_create(&raw_name, Size::Truncate);
            if last {
                let _ = rustix::process::getppid();
            }
        }
    }
    drop(held);
    drop(keep);
    let _ = rustix::shm::unlink(raw_keep_name.as_str());
}
