//! The contenders that run inside this binary (as a child process of the harness, like the
//! others): filemap's Rust API (`filemap-rust`) and the `shared_memory` crate with `raw_sync`
//! locks and events (`shared_memory`). Same figures and same batching loop as the C programs.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use filemap::sync::{Event, Mutex, Semaphore, Waitable, wait_any};
use filemap::{Access, Mapping};
use raw_sync::Timeout;
use raw_sync::events::{Event as RsEvent, EventInit, EventState};
use raw_sync::locks::{LockInit, Mutex as RsMutex};
use shared_memory::ShmemConf;

fn budget() -> Duration {
    let ms: f64 = std::env::var("BENCH_BUDGET_MS").ok().and_then(|b| b.parse().ok()).unwrap_or(200.0);
    Duration::from_secs_f64(ms / 1000.0)
}

/// Runs `op` in growing batches until one batch takes a quarter of the budget; ns per call.
fn measure(mut op: impl FnMut()) -> f64 {
    // An exact count, for instruction counting (valgrind --tool=callgrind).
    if let Some(n) = std::env::var("BENCH_ITERS").ok().and_then(|n| n.parse::<u64>().ok()) {
        let t0 = Instant::now();
        for _ in 0..n {
            op();
        }
        return if n == 0 { 0.0 } else { t0.elapsed().as_secs_f64() * 1e9 / n as f64 };
    }
    let budget = budget().as_secs_f64() / 4.0;
    let mut batch: u64 = 1;
    loop {
        let t0 = Instant::now();
        for _ in 0..batch {
            op();
        }
        let dt = t0.elapsed().as_secs_f64();
        let per = dt / batch as f64;
        if dt >= budget {
            return per * 1e9;
        }
        batch = if dt < budget / 16.0 { batch * 8 } else { (budget / per.max(1e-9)) as u64 + 1 };
    }
}

static N: AtomicU64 = AtomicU64::new(0);

fn uniq(what: &str) -> String {
    format!("bench-{what}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// filemap's own Rust API.
// LONG: one arm per figure, each the few lines of that figure's loop.
pub fn filemap_rust(figure: &str) -> Option<f64> {
    Some(match figure {
        "create_cycle" => {
            let name = format!(r"Local\{}", uniq("create"));
            measure(|| {
                let (m, _) = Mapping::options().name(&name).size(4096).create().expect("create");
                let v = m.view(Access::ALL).expect("view");
                v.write_at(0, &[1]).expect("write");
            })
        }
        "open_cycle" => {
            let name = format!(r"Local\{}", uniq("open"));
            let (_keep, _) = Mapping::options().name(&name).size(4096).create().expect("create");
            measure(|| {
                let m = Mapping::open(&name, Access::ALL).expect("open");
                let v = m.view(Access::ALL).expect("view");
                v.write_at(0, &[1]).expect("write");
            })
        }
        "mutex" => {
            let (m, _) = Mutex::options().name(format!(r"Local\{}", uniq("mutex"))).create().expect("mutex");
            measure(|| {
                black_box(m.acquire(None).expect("acquire"));
                m.release().expect("release");
            })
        }
        "semaphore" => {
            let (s, _) =
                Semaphore::options().name(format!(r"Local\{}", uniq("sem"))).max(1000).create().expect("semaphore");
            measure(|| {
                s.release(1).expect("release");
                black_box(s.wait(None).expect("wait"));
            })
        }
        "event" => {
            let (e, _) = Event::options().name(format!(r"Local\{}", uniq("event"))).create().expect("event");
            measure(|| {
                e.set().expect("set");
                black_box(e.wait(None).expect("wait"));
            })
        }
        "wait_any_64" => {
            let events: Vec<Event> = (0..64)
                .map(|_| Event::options().name(format!(r"Local\{}", uniq("any"))).create().expect("event").0)
                .collect();
            let set: Vec<&dyn Waitable> = events.iter().map(|e| e as &dyn Waitable).collect();
            measure(|| {
                events[63].set().expect("set");
                black_box(wait_any(&set, None).expect("wait_any"));
            })
        }
        "copy_view" => {
            let (m, _) = Mapping::options().size(1 << 20).create().expect("create");
            let v = m.view(Access::ALL).expect("view");
            let data = vec![7u8; 1 << 20];
            measure(|| v.write_at(0, black_box(&data)).expect("write"))
        }
        "first_touch" => {
            let name = format!(r"Local\{}", uniq("touch"));
            measure(|| {
                let (m, _) = Mapping::options().name(&name).size(16 << 20).create().expect("create");
                let v = m.view(Access::ALL).expect("view");
                for off in (0..16 << 20).step_by(4096) {
                    v.write_at(off, &[1]).expect("write");
                }
            }) / 16.0
        }
        _ => return None,
    })
}

/// The `shared_memory` crate (mappings) with `raw_sync` (a pthread mutex and a
/// pthread-condvar event in the mapping).
pub fn shared_memory(figure: &str) -> Option<f64> {
    Some(match figure {
        "create_cycle" => {
            let id = uniq("peer");
            measure(|| {
                let shm = ShmemConf::new().size(4096).os_id(&id).create().expect("create");
                // SAFETY: the mapping is at least 4096 bytes and ours.
                unsafe { shm.as_ptr().write_volatile(1) };
            })
        }
        "open_cycle" => {
            let id = uniq("peer-open");
            let _keep = ShmemConf::new().size(4096).os_id(&id).create().expect("create");
            measure(|| {
                let shm = ShmemConf::new().os_id(&id).open().expect("open");
                // SAFETY: the mapping is at least 4096 bytes.
                unsafe { shm.as_ptr().write_volatile(1) };
            })
        }
        "mutex" => {
            let shm = ShmemConf::new().size(4096).os_id(uniq("peer-mutex")).create().expect("create");
            let base = shm.as_ptr();
            // SAFETY: the lock's memory and its data pointer are inside the 4 KiB mapping,
            // which outlives the lock.
            let (lock, _) = unsafe { RsMutex::new(base, base.add(512)) }.expect("raw_sync mutex");
            measure(|| {
                let guard = lock.lock().expect("lock");
                black_box(&guard);
            })
        }
        "event" => {
            let shm = ShmemConf::new().size(4096).os_id(uniq("peer-event")).create().expect("create");
            // SAFETY: the event's memory is inside the mapping, which outlives it.
            let (event, _) = unsafe { RsEvent::new(shm.as_ptr(), true) }.expect("raw_sync event");
            measure(|| {
                event.set(EventState::Signaled).expect("set");
                event.wait(Timeout::Infinite).expect("wait");
            })
        }
        "copy_view" => {
            let shm = ShmemConf::new().size(1 << 20).os_id(uniq("peer-copy")).create().expect("create");
            let data = vec![7u8; 1 << 20];
            let dst = shm.as_ptr();
            measure(|| {
                // SAFETY: `dst` is a 1 MiB mapping and `data` is 1 MiB; they do not overlap.
                unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
                black_box(dst);
            })
        }
        "first_touch" => {
            let id = uniq("peer-touch");
            measure(|| {
                let shm = ShmemConf::new().size(16 << 20).os_id(&id).create().expect("create");
                let p = shm.as_ptr();
                for off in (0..16 << 20).step_by(4096) {
                    // SAFETY: `off` is inside the 16 MiB mapping.
                    unsafe { p.add(off).write_volatile(1) };
                }
            }) / 16.0
        }
        _ => return None,
    })
}
