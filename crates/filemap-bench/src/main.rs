//! `filemap-bench`: the comparison harness (BENCHMARKS.md).
//!
//! Runs the same figures against every contender, interleaved: each round runs every figure
//! once per contender, in an order that rotates from round to round, each run a fresh process
//! that measures itself for `--budget-ms` and prints nanoseconds per operation. The result of a
//! figure is the median over rounds; ratios are to the raw Linux baseline of the same figure
//! (for `wait_any_64`, also to filemap's own single-event figure, the issue's target).
//!
//! ```text
//! bench/run.sh [--rounds 5] [--budget-ms 150] [--only mutex,event] [--live 100000] [--no-wine]
//! filemap-bench --contender filemap-rust|shared_memory FIGURE   # one in-process measurement
//! ```

#![allow(unsafe_code)] // raising RLIMIT_NOFILE; raw pointers in the in-process contenders

mod chart;
mod inproc;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The figures of the main phase, in report order.
const FIGURES: &[&str] = &[
    "create_cycle",
    "create_cycle_floor",
    "create_cycle_calls",
    "open_cycle",
    "open_cycle_floor",
    "open_cycle_calls",
    "mutex",
    "mutex_node_cas",
    "semaphore",
    "event",
    "wait_any_64",
    "scan_64",
    "ping_pong",
    "contended_2",
    "contended_4",
    "contended_8",
    "copy_view",
    "first_touch",
    "first_touch_huge",
];

/// What each figure measures (for the report).
fn describe(figure: &str) -> &'static str {
    match figure {
        "create_cycle" => "named 4 KiB: create + map + touch + unmap + close (ns)",
        "create_cycle_floor" => {
            "the floor of a create cycle under the lifetime protocol: O_TMPFILE, one pwritev of header and data page, a read lock, linkat, map and touch, the close's write lock and unlink (raw only; ns)"
        }
        "create_cycle_calls" => {
            "filemap's system calls, in order, without its code: the 11 calls of its create cycle (O_TMPFILE, geteuid, pwritev, read lock, linkat, a MAP_FIXED_NOREPLACE view at a remembered address, MADV_POPULATE_READ, munmap, write lock, unlink, close) and nothing else (raw only; ns)"
        }
        "open_cycle" => "open existing + map + touch + unmap + close (ns)",
        "open_cycle_floor" => {
            "the floor of an open cycle under the lifetime protocol: the raw cycle plus a read lock, an fstat, a pread of the header page and the close's write-lock probe (raw only; ns)"
        }
        "open_cycle_calls" => {
            "filemap's system calls, in order, without its code: the 11 calls of its open cycle (openat, the F_OFD_GETLK liveness probe, read lock, fstat, pread of the header, a MAP_FIXED_NOREPLACE view at a remembered address, MADV_POPULATE_READ, munmap, write-lock probe, unlock, close) and nothing else (raw only; ns)"
        }
        "mutex" => "uncontended acquire + release (ns)",
        "mutex_node_cas" => {
            "the floor of a robust mutex that keeps its list node in private memory (S6): the robust pthread pair plus one compare-and-swap on a private word (raw only; ns)"
        }
        "semaphore" => "release(1) + wait, uncontended (ns)",
        "event" => "auto-reset event set + wait (ns)",
        "wait_any_64" => "set the 64th of 64 events + wait-any (ns)",
        "scan_64" => {
            "the floor of a wait-any over 64 shared files: set the 64th of 64 words, each in its own mapped tmpfs page, find it and take it (raw only; ns)"
        }
        "ping_pong" => "cross-process round trip over two objects (ns)",
        "contended_2" | "contended_4" | "contended_8" => {
            "N processes x lock/increment/unlock, wall time per acquisition (ns)"
        }
        "copy_view" => "memcpy 1 MiB into a view (ns per MiB)",
        "first_touch" => "first write to each 4 KiB page of a new 16 MiB object (ns per MiB)",
        "first_touch_huge" => "the same with 2 MiB pages (ns per MiB)",
        "create_cycle@live" => "create cycle with the live objects held by other processes (ns)",
        "open_cycle@live" => "open cycle with the live objects held by other processes (ns)",
        "create_cycle@empty" => {
            "create cycle in an empty namespace, measured in the same rounds as the @live figures (ns)"
        }
        "open_cycle@empty" => "open cycle in an empty namespace, measured in the same rounds as the @live figures (ns)",
        _ => "",
    }
}

#[derive(Clone)]
struct Contender {
    name: &'static str,
    program: Vec<String>,
    env: Vec<(String, String)>,
}

struct Options {
    rounds: usize,
    budget_ms: u32,
    only: Option<Vec<String>>,
    live: usize,
    wine: bool,
    out: PathBuf,
}

fn usage() -> ! {
    eprintln!(
        "usage: filemap-bench [--rounds N] [--budget-ms MS] [--only FIG,...] [--live N] [--no-wine] [--out DIR]\n       filemap-bench --contender filemap-rust|shared_memory FIGURE"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--contender") {
        let (Some(who), Some(figure)) = (args.get(1), args.get(2)) else { usage() };
        let r = match who.as_str() {
            "filemap-rust" => inproc::filemap_rust(figure),
            "shared_memory" => inproc::shared_memory(figure),
            _ => usage(),
        };
        match r {
            Some(ns) => println!("{ns:.1}"),
            None => println!("n/a"),
        }
        return;
    }
    let root = workspace_root();
    let mut opts = Options {
        rounds: 5,
        budget_ms: 150,
        only: None,
        live: 100_000,
        wine: true,
        out: root.join("target/bench-harness"),
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--rounds" => opts.rounds = value().parse().unwrap_or_else(|_| usage()),
            "--budget-ms" => opts.budget_ms = value().parse().unwrap_or_else(|_| usage()),
            "--only" => opts.only = Some(value().split(',').map(str::to_owned).collect()),
            "--live" => opts.live = value().parse().unwrap_or_else(|_| usage()),
            "--no-wine" => opts.wine = false,
            "--out" => opts.out = PathBuf::from(value()),
            _ => usage(),
        }
    }
    if let Err(e) = run(&root, &opts) {
        eprintln!("filemap-bench: {e}");
        std::process::exit(1);
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

type Res<T> = Result<T, String>;

fn sh(cmd: &mut Command, what: &str) -> Res<()> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// Compiles the C/C++ programs and lists the contenders that can run here.
// LONG: one short block per contender (build it, or say why it cannot run here).
fn contenders(root: &Path, opts: &Options, notes: &mut Vec<String>) -> Res<Vec<Contender>> {
    let progs = root.join("bench/programs");
    let bin = opts.out.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let lib_dir = exe.parent().ok_or("no directory for this executable")?.to_path_buf();
    if !lib_dir.join("libfilemap_win32.so").exists() {
        return Err(format!(
            "{} is missing: build it first (`cargo build --release -p filemap-win32`, as bench/run.sh does)",
            lib_dir.join("libfilemap_win32.so").display()
        ));
    }
    let s = |p: &Path| p.display().to_string();
    sh(
        Command::new("cc")
            .args(["-O2", "-Wall", "-I"])
            .arg(root.join("crates/filemap-win32/include"))
            .args(["-x", "c"])
            .arg(progs.join("win32_bench.c"))
            .args(["-x", "none", "-L"])
            .arg(&lib_dir)
            .arg("-lfilemap_win32")
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
            .arg("-o")
            .arg(bin.join("win32_bench")),
        "cc win32_bench.c (filemap's windows.h)",
    )?;
    sh(
        Command::new("cc")
            .args(["-O2", "-Wall"])
            .arg(progs.join("posix_bench.c"))
            .arg("-o")
            .arg(bin.join("posix_bench"))
            .arg("-lpthread"),
        "cc posix_bench.c",
    )?;
    // On tmpfs, like the raw contenders' shm_open objects (the output directory may be on a
    // disk, whose journal would be measured instead of filemap).
    let root_dir = PathBuf::from(format!("/dev/shm/filemap-bench-root-{}", std::process::id()));
    std::fs::create_dir_all(&root_dir).map_err(|e| e.to_string())?;
    let fm_env = vec![("FILEMAP_ROOT".to_owned(), s(&root_dir))];
    let mut list = vec![
        Contender { name: "raw", program: vec![s(&bin.join("posix_bench")), "raw".into()], env: vec![] },
        Contender { name: "filemap-c", program: vec![s(&bin.join("win32_bench"))], env: fm_env.clone() },
        Contender {
            name: "filemap-rust",
            program: vec![s(&exe), "--contender".into(), "filemap-rust".into()],
            env: fm_env,
        },
        Contender { name: "posix-named", program: vec![s(&bin.join("posix_bench")), "named".into()], env: vec![] },
        Contender {
            name: "shared_memory",
            program: vec![s(&exe), "--contender".into(), "shared_memory".into()],
            env: vec![],
        },
    ];
    let boost = Command::new("c++")
        .args(["-O2", "-o"])
        .arg(bin.join("boost_bench"))
        .arg(progs.join("boost_bench.cpp"))
        .args(["-lpthread", "-lrt"])
        .output();
    match boost {
        Ok(o) if o.status.success() => {
            list.push(Contender { name: "boost", program: vec![s(&bin.join("boost_bench"))], env: vec![] })
        }
        Ok(o) => notes.push(format!(
            "Boost.Interprocess: not compiled (install libboost-dev): {}",
            String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("")
        )),
        Err(e) => notes.push(format!("Boost.Interprocess: no C++ compiler: {e}")),
    }
    if opts.wine {
        match wine_contender(&progs, &bin, &opts.out) {
            Ok(c) => list.push(c),
            Err(e) => notes.push(format!("Wine: not run: {e}")),
        }
    }
    Ok(list)
}

/// Builds the Win32 program with mingw-w64 and checks that Wine runs it.
fn wine_contender(progs: &Path, bin: &Path, out: &Path) -> Res<Contender> {
    sh(
        Command::new("x86_64-w64-mingw32-gcc")
            .arg("-O2")
            .arg(progs.join("win32_bench.c"))
            .arg("-o")
            .arg(bin.join("win32_bench.exe")),
        "x86_64-w64-mingw32-gcc win32_bench.c (install gcc-mingw-w64-x86-64)",
    )?;
    // Wine wants an absolute prefix (`--out` is relative by default: `target/bench-harness`).
    let prefix = std::path::absolute(out.join("wineprefix")).map_err(|e| format!("{}: {e}", out.display()))?;
    std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
    let env =
        vec![("WINEPREFIX".to_owned(), prefix.display().to_string()), ("WINEDEBUG".to_owned(), "-all".to_owned())];
    // The first run sets the prefix up (a minute or so); then a persistent wineserver, so
    // each measured run does not pay its start.
    let mut probe = Command::new("wine");
    probe.arg(bin.join("win32_bench.exe")).arg("nothing").envs(env.iter().cloned());
    let o = probe.output().map_err(|e| format!("wine (install wine64 and wine): {e}"))?;
    // (It daemonizes: give it no pipe to keep open, or waiting for our output would hang.)
    let status = Command::new("wineserver")
        .arg("-p")
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("wineserver -p: {e}"))?;
    if !status.success() {
        return Err(format!("wineserver -p failed ({status})"));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    if !o.status.success() || !text.contains("n/a") {
        return Err(format!(
            "wine could not run the program (status {}): {}{}",
            o.status,
            text,
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(Contender { name: "wine", program: vec!["wine".into(), bin.join("win32_bench.exe").display().to_string()], env })
}

/// Removes what a filemap contender's process left behind in its namespace when it exited
/// without closing its handles (the C benchmark, as most Windows programs, lets the exit close
/// them): dead objects that the next create, open or close there would otherwise sweep, so a
/// later figure would measure the clean-up of an earlier one's. Live objects (`@live`'s
/// holders) are kept.
fn sweep_leftovers(c: &Contender) {
    if let Some((_, root)) = c.env.iter().find(|(k, _)| k == "FILEMAP_ROOT") {
        let _ = filemap::namespace::Namespace::at(root).sweep_now(filemap::name::Scope::Local);
    }
}

/// Runs one figure of one contender: ns per operation, or `None` (n/a or failure, noted).
/// Output goes through files, not pipes: Wine leaves helper processes (`services.exe`,
/// `wineserver`) running that would keep a pipe open.
fn run_one(c: &Contender, figure: &str, budget_ms: u32, out_dir: &Path, notes: &mut Vec<String>) -> Option<f64> {
    let (out_path, err_path) = (out_dir.join("last.out"), out_dir.join("last.err"));
    let files = std::fs::File::create(&out_path).and_then(|o| Ok((o, std::fs::File::create(&err_path)?)));
    let (out_file, err_file) = match files {
        Ok(f) => f,
        Err(e) => {
            notes.push(format!("{}: {e}", out_dir.display()));
            return None;
        }
    };
    let mut cmd = Command::new(&c.program[0]);
    cmd.args(&c.program[1..]).arg(figure).envs(c.env.iter().cloned()).env("BENCH_BUDGET_MS", budget_ms.to_string());
    cmd.stdin(Stdio::null()).stdout(out_file).stderr(err_file);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            notes.push(format!("{} {figure}: cannot start: {e}", c.name));
            return None;
        }
    };
    let status = match wait_timeout(child, Duration::from_secs(300)) {
        Ok(s) => s,
        Err(e) => {
            notes.push(format!("{} {figure}: {e}", c.name));
            return None;
        }
    };
    sweep_leftovers(c);
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let last = text.lines().last().unwrap_or("").trim();
    if !status.success() {
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        let note = format!("{} {figure}: failed ({status}): {}", c.name, err.lines().next().unwrap_or(""));
        if !notes.contains(&note) {
            notes.push(note);
        }
        return None;
    }
    last.parse().ok()
}

fn wait_timeout(mut child: Child, limit: Duration) -> Res<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => return Ok(status),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {limit:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Median of the samples (`None` if there are none).
fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 })
}

type Samples = BTreeMap<(String, &'static str), Vec<f64>>;

/// Interleaved rounds of `figures` over `contenders`, each with the suffix its results get
/// (`figure` + suffix: "" in the main phase; "@live" and "@empty" in the live-object phase).
fn rounds(
    contenders: &[(Contender, &str)],
    figures: &[&str],
    opts: &Options,
    samples: &mut Samples,
    notes: &mut Vec<String>,
) {
    for r in 0..opts.rounds {
        for figure in figures {
            for k in 0..contenders.len() {
                let (c, suffix) = &contenders[(k + r) % contenders.len()];
                if let Some(ns) = run_one(c, figure, opts.budget_ms, &opts.out, notes) {
                    samples.entry((format!("{figure}{suffix}"), c.name)).or_default().push(ns);
                }
            }
        }
        eprintln!("round {}/{} done", r + 1, opts.rounds);
    }
}

/// Starts holders of `total` live objects for `c` (filemap: several processes, since each
/// handle holds a descriptor; raw POSIX and Boost: names need no descriptor).
fn start_holders(c: &Contender, total: usize, per_process: usize) -> Res<Vec<Child>> {
    let mut kids = Vec::new();
    let mut start = 0;
    while start < total {
        let n = per_process.min(total - start);
        let mut cmd = Command::new(&c.program[0]);
        // win32_bench: child-hold TAG START COUNT; posix_bench/boost_bench: child-hold TAG START COUNT
        let prog: Vec<&String> = c.program.iter().filter(|a| a.as_str() != "raw").collect();
        cmd.args(&prog[1..])
            .args(["child-hold", &format!("{}-{}", c.name, std::process::id()), &start.to_string(), &n.to_string()])
            .envs(c.env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().map_err(|e| format!("{} holder: {e}", c.name))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("holder stdout")?;
        BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
        if line.trim() != "ready" {
            let _ = child.kill();
            return Err(format!("{} holder did not get ready: {line:?}", c.name));
        }
        kids.push(child);
        start += n;
    }
    Ok(kids)
}

fn stop_holders(kids: Vec<Child>) {
    for mut k in kids {
        drop(k.stdin.take()); // EOF: the holder cleans up and exits
        let _ = k.wait();
    }
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit to fill / read.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// System calls per operation of `win32_bench event`, by `strace -c -f` (difference between
/// 20,000 and 0 iterations, so start-up calls cancel out).
fn event_syscalls(c: &Contender) -> Option<f64> {
    let count = |iters: u32| -> Option<f64> {
        let out = Command::new("strace")
            .args(["-f", "-c", "-o", "/dev/stdout", "--"])
            .args(&c.program)
            .arg("event")
            .envs(c.env.iter().cloned())
            .env("BENCH_ITERS", iters.to_string())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let total = text.lines().find(|l| l.trim_end().ends_with("total"))?;
        let cols: Vec<&str> = total.split_whitespace().collect();
        cols.get(3).and_then(|v| v.parse::<f64>().ok())
    };
    let (a, b) = (count(0)?, count(20_000)?);
    Some(((b - a) / 20_000.0).max(0.0)) // a start-up call more or less in one of the two runs
}

fn run(root: &Path, opts: &Options) -> Res<()> {
    raise_fd_limit();
    std::fs::create_dir_all(&opts.out).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    let all = contenders(root, opts, &mut notes)?;
    let selected = |f: &str| opts.only.as_ref().is_none_or(|o| o.iter().any(|x| x == f));
    let figures: Vec<&str> = FIGURES.iter().copied().filter(|f| selected(f)).collect();
    eprintln!(
        "contenders: {}; figures: {}; {} rounds of {} ms",
        all.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
        figures.join(", "),
        opts.rounds,
        opts.budget_ms
    );
    let mut samples = Samples::new();
    let started = Instant::now();
    let main_phase: Vec<(Contender, &str)> = all.iter().map(|c| (c.clone(), "")).collect();
    rounds(&main_phase, &figures, opts, &mut samples, &mut notes);

    // Live objects: held by other processes (descriptor limits), then the same cycles; filemap's
    // are measured in the same rounds in an empty namespace of their own too ("@empty"), so the
    // P6 ratio compares two figures taken side by side, not two phases minutes apart.
    let live_figs: Vec<&str> =
        ["create_cycle", "open_cycle"].into_iter().filter(|f| selected(&format!("{f}@live")) || selected(f)).collect();
    if opts.live > 0 && !live_figs.is_empty() {
        let by = |n: &str| all.iter().find(|c| c.name == n).cloned();
        let mut holders = Vec::new();
        let mut live = Vec::new();
        if let Some(fm) = by("filemap-c") {
            match start_holders(&fm, opts.live, 5_000) {
                Ok(k) => {
                    holders.extend(k);
                    live.push(fm);
                    live.extend(by("filemap-rust"));
                }
                Err(e) => notes.push(format!("live objects (filemap): {e}")),
            }
        }
        if let Some(raw) = by("raw") {
            match start_holders(&raw, opts.live, opts.live) {
                Ok(k) => {
                    holders.extend(k);
                    live.push(raw);
                    live.extend(by("shared_memory"));
                    live.extend(by("boost"));
                }
                Err(e) => notes.push(format!("live objects (/dev/shm): {e}")),
            }
        }
        let empty_root = PathBuf::from(format!("/dev/shm/filemap-bench-empty-{}", std::process::id()));
        let mut phase: Vec<(Contender, &str)> = live.into_iter().map(|c| (c, "@live")).collect();
        if std::fs::create_dir_all(&empty_root).is_ok() {
            for name in ["filemap-c", "filemap-rust"] {
                if let Some(mut c) = by(name).filter(|_| phase.iter().any(|(l, _)| l.name == name)) {
                    c.env.retain(|(k, _)| k != "FILEMAP_ROOT");
                    c.env.push(("FILEMAP_ROOT".to_owned(), empty_root.to_string_lossy().into_owned()));
                    phase.push((c, "@empty"));
                }
            }
        }
        eprintln!("{} live objects held; measuring cycles", opts.live);
        rounds(&phase, &live_figs, opts, &mut samples, &mut notes);
        let _ = std::fs::remove_dir_all(&empty_root);
        stop_holders(holders);
        if all.iter().any(|c| c.name == "wine") {
            notes.push(
                "wine: the live-object figures are not run (each Wine mapping is a wineserver object and descriptor)"
                    .into(),
            );
        }
    }
    let syscalls = all.iter().find(|c| c.name == "filemap-c").and_then(event_syscalls);
    if all.iter().any(|c| c.name == "wine") {
        let _ = Command::new("wineserver")
            .arg("-k")
            .envs(all.iter().find(|c| c.name == "wine").map(|c| c.env.clone()).unwrap_or_default())
            .status();
    }
    let _ = std::fs::remove_dir_all(format!("/dev/shm/filemap-bench-root-{}", std::process::id()));
    report(opts, &all, &samples, syscalls, &notes, started.elapsed())
}

fn fmt_ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} µs", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

// LONG: the report is one page of output written top to bottom (tables, targets, notes, chart);
// split, its order would be spread over helpers that each print one part.
fn report(
    opts: &Options,
    all: &[Contender],
    samples: &Samples,
    event_syscalls: Option<f64>,
    notes: &[String],
    took: Duration,
) -> Res<()> {
    let names: Vec<&str> = all.iter().map(|c| c.name).collect();
    let mut figures: Vec<String> = Vec::new();
    for ((f, _), _) in samples.iter() {
        if !figures.contains(f) {
            figures.push(f.clone());
        }
    }
    let order = |f: &String| {
        let (base, phase) = match f.split_once('@') {
            Some((base, "empty")) => (base, 1),
            Some((base, _)) => (base, 2),
            None => (f.as_str(), 0),
        };
        FIGURES.iter().position(|x| *x == base).unwrap_or(99) * 3 + phase
    };
    figures.sort_by_key(order);
    let med = |f: &str, c: &str| {
        samples.get(&(f.to_owned(), names.iter().copied().find(|n| *n == c)?)).and_then(|v| median(v))
    };
    // Per-round ratio spread of figure `f` of `a` to figure `fb` of `b` (measured in the same
    // rounds, one sample each per round; none if a round lost a sample).
    let spread = |f: &str, a: &str, fb: &str, b: &str| -> Option<(f64, f64)> {
        let x = samples.get(&(f.to_owned(), names.iter().copied().find(|n| *n == a)?))?;
        let y = samples.get(&(fb.to_owned(), names.iter().copied().find(|n| *n == b)?))?;
        if x.len() != y.len() {
            return None;
        }
        let r: Vec<f64> = x.iter().zip(y).map(|(p, q)| p / q).collect();
        Some((r.iter().copied().fold(f64::INFINITY, f64::min), r.iter().copied().fold(0.0, f64::max)))
    };
    let mut md = String::new();
    let mut csv = String::from("figure,contender,median_ns,ratio_to_raw,samples\n");
    md.push_str(&format!(
        "Interleaved run: {} rounds x {} ms per figure and contender, {:.0} s in all. Median ns per operation; in brackets the ratio to `raw` (lower is better).\n\n",
        opts.rounds,
        opts.budget_ms,
        took.as_secs_f64()
    ));
    md.push_str("| figure | ");
    md.push_str(&names.join(" | "));
    md.push_str(" |\n|---|");
    md.push_str(&"---|".repeat(names.len()));
    md.push('\n');
    let mut chart_rows = Vec::new();
    for f in &figures {
        let base = med(f, "raw");
        md.push_str(&format!("| `{f}` |"));
        let mut row = Vec::new();
        for n in &names {
            match med(f, n) {
                Some(v) => {
                    let ratio = base.map(|b| v / b);
                    match ratio {
                        Some(r) => md.push_str(&format!(" {} ({r:.2}x) |", fmt_ns(v))),
                        None => md.push_str(&format!(" {} |", fmt_ns(v))),
                    }
                    let k = samples.get(&(f.clone(), *n)).map_or(0, Vec::len);
                    csv.push_str(&format!(
                        "{f},{n},{v:.1},{},{k}\n",
                        ratio.map_or(String::new(), |r| format!("{r:.4}"))
                    ));
                    row.push((n.to_string(), ratio));
                }
                None => md.push_str(" n/a |"),
            }
        }
        md.push('\n');
        chart_rows.push((f.clone(), row));
    }
    md.push_str("\nWhat each figure is:\n\n");
    for f in &figures {
        md.push_str(&format!("- `{f}`: {}\n", describe(f)));
    }
    // The issue's targets.
    md.push_str("\nTargets (filemap's C ABI, same run; spread = min..max of the per-round ratios):\n\n| target | measured | spread | limit | met |\n|---|---|---|---|---|\n");
    // `limit` None: a row for information, with no target.
    let mut target = |what: &str, f: &str, a: &str, fb: &str, b: &str, limit: Option<f64>| {
        if let (Some(x), Some(y)) = (med(f, a), med(fb, b)) {
            let r = x / y;
            let sp = spread(f, a, fb, b);
            let (limit, met) = match limit {
                Some(l) => (format!("<= {l}"), if r <= l { "yes" } else { "no" }),
                None => ("-".to_owned(), "info"),
            };
            md.push_str(&format!(
                "| {what} | {r:.2}x | {} | {limit} | {met} |\n",
                sp.map_or("-".to_owned(), |(lo, hi)| format!("{lo:.2}..{hi:.2}"))
            ));
        }
    };
    target("create cycle / raw shm_open cycle", "create_cycle", "filemap-c", "create_cycle", "raw", Some(1.5));
    // Not one of the issue's targets: the floor of the figure above under I2, I4 and S4.
    target(
        "create cycle / raw cycle + the protocol's calls (floor; ours)",
        "create_cycle",
        "filemap-c",
        "create_cycle_floor",
        "raw",
        Some(1.2),
    );
    // Information, no target: the kernel's share of the cycle (the same calls, no library code).
    target(
        "create cycle / filemap's own system calls (no library code)",
        "create_cycle",
        "filemap-c",
        "create_cycle_calls",
        "raw",
        None,
    );
    target("open cycle / raw shm_open cycle", "open_cycle", "filemap-c", "open_cycle", "raw", Some(1.5));
    // Not one of the issue's targets: the floor of the figure above under I2 and S4.
    target(
        "open cycle / raw cycle + the protocol's four calls (floor; ours)",
        "open_cycle",
        "filemap-c",
        "open_cycle_floor",
        "raw",
        Some(1.2),
    );
    // Information, no target: the kernel's share of the cycle (the same calls, no library code).
    target(
        "open cycle / filemap's own system calls (no library code)",
        "open_cycle",
        "filemap-c",
        "open_cycle_calls",
        "raw",
        None,
    );
    target(
        "WaitForSingleObject+ReleaseMutex / robust pshared pthread mutex",
        "mutex",
        "filemap-c",
        "mutex",
        "raw",
        Some(1.0),
    );
    // Not one of the issue's targets: the floor of the figure above under S6 (BENCHMARKS.md).
    target(
        "WaitForSingleObject+ReleaseMutex / robust pthread pair + one private CAS (floor; ours)",
        "mutex",
        "filemap-c",
        "mutex_node_cas",
        "raw",
        Some(1.2),
    );
    target(
        "ReleaseSemaphore+WaitForSingleObject / sem_post+sem_wait",
        "semaphore",
        "filemap-c",
        "semaphore",
        "raw",
        Some(2.0),
    );
    target(
        "WaitForMultipleObjects(64, last set) / SetEvent+WaitForSingleObject",
        "wait_any_64",
        "filemap-c",
        "event",
        "filemap-c",
        Some(4.0),
    );
    // Not one of the issue's targets: the physical floor of the figure above (BENCHMARKS.md).
    target(
        "WaitForMultipleObjects(64, last set) / raw scan of 64 separately mapped words (floor; ours)",
        "wait_any_64",
        "filemap-c",
        "scan_64",
        "raw",
        Some(1.5),
    );
    target(
        "create cycle with live objects / without",
        "create_cycle@live",
        "filemap-c",
        "create_cycle@empty",
        "filemap-c",
        Some(1.2),
    );
    target(
        "open cycle with live objects / without",
        "open_cycle@live",
        "filemap-c",
        "open_cycle@empty",
        "filemap-c",
        Some(1.2),
    );
    if let Some(s) = event_syscalls {
        md.push_str(&format!(
            "| SetEvent+WaitForSingleObject (auto-reset): system calls per pair (strace -c) | {s:.3} | - | 0 | {} |\n",
            if s < 0.01 { "yes" } else { "no" }
        ));
    }
    if !notes.is_empty() {
        md.push_str("\nNotes from this run:\n\n");
        for n in notes {
            md.push_str(&format!("- {n}\n"));
        }
    }
    std::fs::write(opts.out.join("results.md"), &md).map_err(|e| e.to_string())?;
    std::fs::write(opts.out.join("results.csv"), &csv).map_err(|e| e.to_string())?;
    chart::draw(&opts.out.join("chart.svg"), &names, &chart_rows)?;
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(md.as_bytes());
    eprintln!("wrote {}/results.md, results.csv, chart.svg", opts.out.display());
    Ok(())
}
