//! Synchronization benchmarks, each against its baseline in the same run:
//! - uncontended mutex acquire + release: filemap `Mutex` vs a process-shared robust pthread
//!   mutex vs a plain compare-and-swap lock;
//! - cross-process ping-pong round trip over two auto-reset events vs a raw futex ping-pong
//!   (wait/wake, no spinning) between the same two processes: each hop is a hand-off to a
//!   queued waiter;
//! - the corpus turns program as a round trip: a mutex handed back and forth between two
//!   processes (two hand-offs, each with its hand-off fence), against the same raw futex
//!   ping-pong;
//! - uncontended auto-reset event set + wait (no system call on either side);
//! - contended throughput: 2, 4 and 8 processes incrementing one counter under one mutex,
//!   filemap with hand-off (fair, the default), filemap with waiters barging
//!   (`set_fair_hand_off(false)`, the behaviour before hand-off) and a robust process-shared
//!   pthread mutex; time per increment.
//!
//! `cargo bench -p filemap --bench sync -- --warm-up-time 1 --measurement-time 3`

#![allow(unsafe_code)] // libc pthread/futex baselines and fork

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use filemap::namespace::Namespace;
use filemap::sync::WaitOutcome;

/// The benchmark's own namespace (forked children share it with the parent).
fn ns() -> &'static Namespace {
    static NS: std::sync::OnceLock<Namespace> = std::sync::OnceLock::new();
    NS.get_or_init(|| Namespace::at(std::env::temp_dir().join(format!("filemap-bench-sync-{}", std::process::id()))))
}

/// A shared anonymous page (survives fork as shared memory).
fn shared_page() -> *mut u8 {
    // SAFETY: a fresh anonymous shared mapping at an address the kernel picks.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p.cast()
}

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex_uncontended_acquire_release");
    let (m, _) = ns().mutex().name(r"Local\bench-mutex").create().unwrap();
    g.bench_function("filemap_mutex", |b| {
        b.iter(|| {
            black_box(m.acquire(Some(Duration::ZERO)).unwrap());
            m.release().unwrap();
        })
    });
    g.bench_function("filemap_mutex_guard", |b| {
        b.iter(|| {
            let guard = m.lock().unwrap();
            black_box(&guard);
        })
    });

    let page = shared_page();
    let pm = page.cast::<libc::pthread_mutex_t>();
    // SAFETY: `pm` points to a page-sized, page-aligned shared mapping, large enough for a
    // pthread_mutex_t; the attribute object lives on our stack for the calls.
    unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        assert_eq!(libc::pthread_mutexattr_init(&mut attr), 0);
        assert_eq!(libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED), 0);
        assert_eq!(libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST), 0);
        assert_eq!(libc::pthread_mutex_init(pm, &attr), 0);
    }
    g.bench_function("pthread_robust_pshared", |b| {
        b.iter(|| {
            // SAFETY: `pm` is an initialized robust process-shared mutex that stays mapped.
            unsafe {
                black_box(libc::pthread_mutex_lock(pm));
                libc::pthread_mutex_unlock(pm);
            }
        })
    });

    let cas = AtomicU32::new(0);
    g.bench_function("plain_cas_lock", |b| {
        b.iter(|| {
            while cas.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
                std::hint::spin_loop();
            }
            cas.store(0, Ordering::Release);
        })
    });
    g.finish();
}

fn event_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_uncontended_set_wait");
    let (e, _) = ns().event().name(r"Local\bench-event-set-wait").create().unwrap();
    g.bench_function("filemap_auto_event", |b| {
        b.iter(|| {
            e.set().unwrap();
            black_box(e.wait(Some(Duration::ZERO)).unwrap());
        })
    });
    g.finish();
}

/// A robust, process-shared pthread mutex at `p`.
fn pthread_robust_at(p: *mut libc::pthread_mutex_t) {
    // SAFETY: `p` points into a shared mapping large enough for a pthread_mutex_t; the attribute
    // object lives on our stack for the calls.
    unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        assert_eq!(libc::pthread_mutexattr_init(&mut attr), 0);
        assert_eq!(libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED), 0);
        assert_eq!(libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST), 0);
        assert_eq!(libc::pthread_mutex_init(p, &attr), 0);
    }
}

/// Runs `procs` processes that each do `per` increments of `counter` under `lock`/`unlock`,
/// started together; returns the wall time from the start signal to the last exit.
fn contended_run(procs: usize, per: u64, lock: &dyn Fn(), unlock: &dyn Fn()) -> Duration {
    let page = shared_page();
    // SAFETY: two aligned words at the start of a fresh shared page: go flag, counter.
    let (go, counter) = unsafe { (&*page.cast::<AtomicU32>(), &*page.add(8).cast::<std::sync::atomic::AtomicU64>()) };
    let pids: Vec<_> = (0..procs)
        .map(|_| {
            fork_child(|| {
                while go.load(Ordering::Acquire) == 0 {
                    std::hint::spin_loop();
                }
                for _ in 0..per {
                    lock();
                    // A non-atomic read-modify-write, as protected data would be.
                    let v = counter.load(Ordering::Relaxed);
                    counter.store(v + 1, Ordering::Relaxed);
                    unlock();
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    let start = Instant::now();
    go.store(1, Ordering::Release);
    for pid in pids {
        reap(pid);
    }
    let took = start.elapsed();
    assert_eq!(counter.load(Ordering::SeqCst), procs as u64 * per, "no lost update");
    // SAFETY: the page was mapped by `shared_page` and nothing refers to it any more.
    unsafe { libc::munmap(page.cast(), 4096) };
    took
}

fn contended(c: &mut Criterion) {
    for procs in [2usize, 4, 8] {
        let mut g = c.benchmark_group(format!("contended_counter_{procs}_processes_per_increment"));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(4));
        g.warm_up_time(Duration::from_millis(500));
        let (m, _) = ns().mutex().name(format!(r"Local\bench-contended-{procs}")).create().unwrap();
        for (label, fair) in [("filemap_hand_off", true), ("filemap_barging", false)] {
            g.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    filemap::sync::set_fair_hand_off(fair); // inherited by the forked children
                    let per = iters.div_ceil(procs as u64);
                    let lock = || {
                        black_box(m.acquire(None).unwrap());
                    };
                    let unlock = || m.release().unwrap();
                    let took = contended_run(procs, per, &lock, &unlock);
                    filemap::sync::set_fair_hand_off(true);
                    took.mul_f64(iters as f64 / (per * procs as u64) as f64)
                })
            });
        }
        let page = shared_page();
        let pm = page.cast::<libc::pthread_mutex_t>();
        pthread_robust_at(pm);
        let pm_addr = pm as usize;
        g.bench_function("pthread_robust_pshared", |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(procs as u64);
                // SAFETY: `pm_addr` is an initialized robust process-shared mutex in a shared
                // page that stays mapped in every process of the run.
                let lock = || unsafe {
                    black_box(libc::pthread_mutex_lock(pm_addr as *mut libc::pthread_mutex_t));
                };
                // SAFETY: as above; the calling thread owns it.
                let unlock = || unsafe {
                    libc::pthread_mutex_unlock(pm_addr as *mut libc::pthread_mutex_t);
                };
                let took = contended_run(procs, per, &lock, &unlock);
                took.mul_f64(iters as f64 / (per * procs as u64) as f64)
            })
        });
        g.finish();
    }
}

fn futex_wait(w: &AtomicU32, v: u32) {
    // SAFETY: FUTEX_WAIT on a valid, aligned u32 in a mapping that stays alive.
    unsafe {
        libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAIT, v, std::ptr::null::<libc::timespec>());
    }
}

fn futex_wake(w: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a valid, aligned u32.
    unsafe {
        libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
    }
}

/// Forks a child running `body`, which must return when told to stop; returns its pid.
fn fork_child(body: impl FnOnce()) -> libc::pid_t {
    // SAFETY: the child only runs `body` (atomics, futexes, our library) and then `_exit`s
    // without running destructors or returning into the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        body();
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(0) };
    }
    pid
}

fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

fn event_ping_pong(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, label: &str) {
    let (ping, _) = ns().event().name(format!(r"Local\bench-ping-{label}")).create().unwrap();
    let (pong, _) = ns().event().name(format!(r"Local\bench-pong-{label}")).create().unwrap();
    let stop_page = shared_page();
    // SAFETY: the page is 4096 bytes, page-aligned: a valid AtomicU32 at its start.
    let stop = unsafe { &*stop_page.cast::<AtomicU32>() };
    let pid = fork_child(|| {
        loop {
            if ping.wait(None).unwrap() != WaitOutcome::Signaled(0) || stop.load(Ordering::SeqCst) != 0 {
                break;
            }
            pong.set().unwrap();
        }
    });
    g.bench_function(label, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                ping.set().unwrap();
                pong.wait(None).unwrap();
            }
            start.elapsed()
        })
    });
    stop.store(1, Ordering::SeqCst);
    ping.set().unwrap();
    reap(pid);
}

/// The corpus turns program as a round trip: this process owns the mutex and loops
/// { release; acquire }, a forked child loops { acquire; release }; with hand-off they
/// alternate strictly, so each iteration is two hand-offs (to the child and back), each with
/// the hand-off fence (the grantee lets its releaser come back first).
fn mutex_turns(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, label: &str) {
    let (m, _) = ns().mutex().name(format!(r"Local\bench-turns-{label}")).create().unwrap();
    assert_eq!(m.acquire(None).unwrap(), WaitOutcome::Signaled(0));
    let stop_page = shared_page();
    // SAFETY: the page is 4096 bytes, page-aligned: a valid AtomicU32 at its start.
    let stop = unsafe { &*stop_page.cast::<AtomicU32>() };
    let pid = fork_child(|| {
        loop {
            m.acquire(None).unwrap();
            let done = stop.load(Ordering::SeqCst) != 0;
            m.release().unwrap();
            if done {
                break;
            }
        }
    });
    g.bench_function(label, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                m.release().unwrap();
                m.acquire(None).unwrap();
            }
            start.elapsed()
        })
    });
    stop.store(1, Ordering::SeqCst);
    m.release().unwrap();
    reap(pid);
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("cross_process_ping_pong_round_trip");

    // A mutex passed back and forth (two hand-offs with their fences per round trip).
    for (label, spin) in
        [("filemap_mutex_turns", filemap::sync::spin_duration()), ("filemap_mutex_turns_no_spin", Duration::ZERO)]
    {
        filemap::sync::set_spin_duration(spin); // inherited by the forked child
        mutex_turns(&mut g, label);
    }
    filemap::sync::set_spin_duration(Duration::from_micros(5));

    // filemap: two auto-reset events, with the default spin and with spinning off (the pure
    // sleep path, comparable to the raw futex baseline).
    for (label, spin) in
        [("filemap_events", filemap::sync::spin_duration()), ("filemap_events_no_spin", Duration::ZERO)]
    {
        filemap::sync::set_spin_duration(spin); // inherited by the forked child
        event_ping_pong(&mut g, label);
    }
    filemap::sync::set_spin_duration(Duration::from_micros(5));

    // Raw futexes: word[0] is the ping sequence, word[1] the pong sequence; wait/wake only.
    let page = shared_page();
    // SAFETY: two aligned u32s at the start of a fresh shared page.
    let (w_ping, w_pong) = unsafe { (&*page.cast::<AtomicU32>(), &*page.add(4).cast::<AtomicU32>()) };
    let pid = fork_child(|| {
        let mut seen = 0u32;
        loop {
            let mut v = w_ping.load(Ordering::Acquire);
            while v == seen {
                futex_wait(w_ping, v);
                v = w_ping.load(Ordering::Acquire);
            }
            seen = v;
            if v == u32::MAX {
                break;
            }
            w_pong.store(v, Ordering::Release);
            futex_wake(w_pong);
        }
    });
    let mut seq = 0u32;
    g.bench_function("raw_futex", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                seq = seq.wrapping_add(1) % (u32::MAX - 1);
                w_ping.store(seq, Ordering::Release);
                futex_wake(w_ping);
                let mut v = w_pong.load(Ordering::Acquire);
                while v != seq {
                    futex_wait(w_pong, v);
                    v = w_pong.load(Ordering::Acquire);
                }
            }
            start.elapsed()
        })
    });
    w_ping.store(u32::MAX, Ordering::Release);
    futex_wake(w_ping);
    reap(pid);
    g.finish();
}

fn all(c: &mut Criterion) {
    ns();
    mutex_uncontended(c);
    event_uncontended(c);
    ping_pong(c);
    contended(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
