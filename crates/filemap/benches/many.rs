//! P6: the cost of create and open cycles with 10 live named objects in the namespace and with
//! 100,000, in one run. A live object needs a live handle (a descriptor), and a process here may
//! hold 20,000 descriptors at most, so the objects are created and held by helper processes
//! (this bench binary re-executed); objects use `SEC_RESERVE`, so each costs one page.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::Criterion;
use filemap::namespace::Namespace;
use filemap::{Access, Mapping, SectionFlags};

const MANY: usize = 100_000;
const PER_HOLDER: usize = 16_000;
const HOLDER_ENV: &str = "FILEMAP_BENCH_HOLDER";

fn live_name(i: usize) -> String {
    format!(r"Local\bench-live-{i}")
}

/// Helper process: creates objects `start..end`, says "ready", holds them until stdin closes.
fn holder(range: &str) {
    let (start, end) = range.split_once(',').unwrap();
    let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
    let held: Vec<Mapping> = (start..end)
        .map(|i| {
            let opts = Mapping::options().name(live_name(i)).size(4096).section_flags(SectionFlags::RESERVE);
            opts.create().unwrap().0
        })
        .collect();
    println!("ready");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(held);
}

fn spawn_holder(ns: &Namespace, start: usize, end: usize) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(HOLDER_ENV, format!("{start},{end}"))
        .env(filemap::namespace::ROOT_ENV, ns.root().expect("rooted")) // the helper's default namespace
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

fn many(c: &mut Criterion, ns: &Namespace) {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut holders = Vec::new();
    let mut populated = 0;
    for count in [10, MANY] {
        while populated < count {
            let end = (populated + PER_HOLDER).min(count);
            holders.push(spawn_holder(ns, populated, end));
            populated = end;
        }
        let mut g = c.benchmark_group(format!("with_{count}_live_objects"));
        g.bench_function("create_cycle", |b| {
            b.iter(|| {
                let name = format!(r"Local\bench-new-{}", N.fetch_add(1, Ordering::Relaxed));
                let (m, _) = ns.mapping().name(&name).size(4096).create().unwrap();
                black_box(m.view(Access::ALL).unwrap().as_ptr());
            })
        });
        g.bench_function("open_cycle", |b| {
            let name = live_name(count / 2);
            b.iter(|| {
                let m = ns.open_mapping(&name, Access::ALL).unwrap();
                black_box(m.view(Access::ALL).unwrap().as_ptr());
            })
        });
        g.finish();
    }
    for mut h in holders {
        drop(h.stdin.take());
        h.wait().unwrap();
    }
}

fn main() {
    if let Ok(range) = std::env::var(HOLDER_ENV) {
        holder(&range);
        return;
    }
    let dir = format!("/dev/shm/filemap-bench-many-{}", std::process::id());
    let ns = Namespace::at(&dir);
    let mut c = Criterion::default().configure_from_args();
    many(&mut c, &ns);
    c.final_summary();
    let _ = std::fs::remove_dir_all(&dir);
}
