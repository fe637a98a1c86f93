//! Sync-area state machines on hostile shared words: a named event, semaphore, mutex or timer
//! whose object file (header page, sync words) another writer of the same uid has overwritten
//! with arbitrary bytes, then a sequence of operations on it. Must never panic, never block
//! past its timeout plus a deadline, and never write outside the object (the file keeps its
//! size; a sentinel object next to it keeps its bytes).
#![no_main]

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use filemap::{Access, Event, Mapping, Mutex, Rights, Scope, Semaphore, Timer, WaitOutcome};
use libfuzzer_sys::fuzz_target;

const DEADLINE: Duration = Duration::from_secs(2);
const SENTINEL: &[u8] = b"sentinel: nothing may write here";

struct Env {
    root: PathBuf,
    sentinel: (Mapping, filemap::View),
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let root = PathBuf::from(format!("/dev/shm/filemap-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        // SAFETY: set once, before the library first reads the environment, while the fuzzer
        // runs this process's only thread that uses it.
        unsafe { std::env::set_var("FILEMAP_ROOT", &root) };
        let (m, _) = Mapping::options().name(r"Local\fuzz-sentinel").size(4096).create().unwrap();
        let v = m.view(Access::WRITE).unwrap();
        v.write_at(0, SENTINEL).unwrap();
        Env { root, sentinel: (m, v) }
    })
}

fn object_file(name: &str, root: &PathBuf) -> Option<PathBuf> {
    let entry = filemap::scan(Scope::Local, false)
        .ok()?
        .into_iter()
        .find(|e| e.header.as_ref().is_ok_and(|h| h.name.as_deref() == Some(name)))?;
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let t = e.file_type().ok()?;
            if t.is_dir() {
                todo.push(e.path());
            } else if e.file_name().to_string_lossy() == entry.file {
                return Some(e.path());
            }
        }
    }
    None
}

enum Obj {
    Event(Event),
    Semaphore(Semaphore),
    Mutex(Mutex),
    Timer(Timer),
}

fn timed<T>(what: &str, timeout: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < timeout + DEADLINE, "{what} blocked for {:?}", start.elapsed());
    out
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    if data.len() < 4 {
        return;
    }
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(r"Local\fuzz-sync-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let obj = match data[0] % 4 {
        0 => Event::options().name(&name).manual_reset(data[1] & 1 != 0).initial_state(data[1] & 2 != 0).create().map(|(o, _)| Obj::Event(o)),
        1 => Semaphore::options().name(&name).initial(i32::from(data[1] % 4)).max(4).create().map(|(o, _)| Obj::Semaphore(o)),
        2 => Mutex::options().name(&name).initial_owner(data[1] & 1 != 0).create().map(|(o, _)| Obj::Mutex(o)),
        _ => Timer::options().name(&name).manual_reset(data[1] & 1 != 0).create().map(|(o, _)| Obj::Timer(o)),
    };
    let Ok(obj) = obj else { return };
    let Some(path) = object_file(&name, &env.root) else { return };
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let size = file.metadata().unwrap().len();
    // The hostile words: data[2..] up to the first 0xff, written at an offset the input picks.
    let split = data[4..].iter().position(|&b| b == 0xff).map_or(data.len(), |p| p + 4);
    let offset = u64::from(u16::from_le_bytes([data[2], data[3]])) % size.max(1);
    // (within the file: the words are hostile, the file's size is the object's)
    let words = &data[4..split];
    let _ = file.write_at(&words[..words.len().min((size - offset) as usize)], offset);
    let ops = data.get(split + 1..).unwrap_or(&[]);
    for chunk in ops.chunks(2).take(64) {
        let op = chunk[0];
        let arg = chunk.get(1).copied().unwrap_or(0);
        let timeout = Duration::from_millis(u64::from(arg % 4));
        match (&obj, op % 6) {
            (_, 5) => {
                // a second handle by name, and a wait on both
                let rights = Rights::SYNCHRONIZE;
                let other: Option<Box<dyn filemap::sync::Waitable>> = match &obj {
                    Obj::Event(_) => Event::open(&name, rights).ok().map(|o| Box::new(o) as _),
                    Obj::Semaphore(_) => Semaphore::open(&name, rights).ok().map(|o| Box::new(o) as _),
                    Obj::Mutex(_) => Mutex::open(&name, rights).ok().map(|o| Box::new(o) as _),
                    Obj::Timer(_) => Timer::open(&name, rights).ok().map(|o| Box::new(o) as _),
                };
                if let Some(other) = other {
                    let mine: &dyn filemap::sync::Waitable = match &obj {
                        Obj::Event(o) => o,
                        Obj::Semaphore(o) => o,
                        Obj::Mutex(o) => o,
                        Obj::Timer(o) => o,
                    };
                    let both = [mine, other.as_ref()];
                    let _ = timed("wait_any", timeout, || filemap::wait_any(&both, Some(timeout)));
                    let _ = timed("wait_all", timeout, || filemap::wait_all(&both, Some(timeout)));
                }
            }
            (Obj::Event(e), 0) => drop(timed("set", Duration::ZERO, || e.set())),
            (Obj::Event(e), 1) => drop(timed("reset", Duration::ZERO, || e.reset())),
            (Obj::Event(e), _) => drop(timed("wait", timeout, || e.wait(Some(timeout)))),
            (Obj::Semaphore(s), 0 | 1) => drop(timed("release", Duration::ZERO, || s.release(i32::from(arg as i8)))),
            (Obj::Semaphore(s), _) => drop(timed("wait", timeout, || s.wait(Some(timeout)))),
            (Obj::Mutex(m), 0 | 1) => drop(timed("release", Duration::ZERO, || m.release())),
            (Obj::Mutex(m), _) => {
                if let Ok(WaitOutcome::Signaled(_) | WaitOutcome::Abandoned(_)) =
                    timed("acquire", timeout, || m.acquire(Some(timeout)))
                {
                    let _ = m.release();
                }
            }
            (Obj::Timer(t), 0 | 1) => drop(timed("set", Duration::ZERO, || {
                t.set(filemap::sync::DueTime::Relative(Duration::from_millis(u64::from(arg % 3))), None)
            })),
            (Obj::Timer(t), _) => drop(timed("wait", timeout, || t.wait(Some(timeout)))),
        }
    }
    assert_eq!(file.metadata().unwrap().len(), size, "the object file changed size");
    let mut back = [0u8; SENTINEL.len()];
    env.sentinel.1.read_at(0, &mut back).unwrap();
    assert_eq!(&back, SENTINEL, "a write outside the object reached the sentinel");
    drop(obj);
});
