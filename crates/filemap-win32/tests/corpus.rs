//! The corpus: programs written the way published Windows shared-memory programs are written
//! (`tests/corpus/*`: UNICODE C++ with `std::wstring` and `L"..."`, ANSI C, `TCHAR`), each
//! built with the README's one compile line in every mode it claims and run as the two or
//! three real processes it consists of (server and client started as a user would start them,
//! or partners started with `CreateProcess`). The checks are on what a user sees on the
//! console.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Build, compile};

const C: Build = Build::C;
const CU: Build = Build::CUnicode;
const CXX: Build = Build::Cxx;
const CXXU: Build = Build::CxxUnicode;

fn source(name: &str) -> PathBuf {
    common::crate_dir().join("tests/corpus").join(name)
}

/// A scratch directory and namespace root for one test, and the programs built into it.
struct Bench {
    dir: PathBuf,
    root: PathBuf,
}

impl Bench {
    fn new(test: &str) -> Bench {
        let dir = common::scratch(&format!("corpus-{test}"));
        let root = dir.join("root");
        Bench { dir, root }
    }

    fn build(&self, name: &str, build: Build) -> PathBuf {
        compile(&source(name), &self.dir, build)
    }

    /// Starts a program as a user would from a console in the scratch directory: its output
    /// goes to a terminal (a pseudo-terminal in raw mode, so the bytes arrive unchanged), its
    /// input comes from `stdin` (a pipe) or nowhere.
    fn start(&self, exe: &Path, args: &[&str], stdin: Option<&str>) -> Running {
        let (master, slave) = pty();
        let mut cmd = common::command(exe, &self.root);
        cmd.args(args).current_dir(&self.dir).stdout(Stdio::from(slave)).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            let input = input.to_owned();
            std::thread::spawn(move || {
                let _ = pipe.write_all(input.as_bytes());
            });
        }
        drop(cmd); // our copy of the terminal's slave side: the child's end is the last one
        Running::new(child, std::fs::File::from(master), exe)
    }

    /// Starts a program whose input the test types while it runs (see [`Running::type_text`]).
    fn start_interactive(&self, exe: &Path, args: &[&str]) -> Running {
        let (master, slave) = pty();
        let mut cmd = common::command(exe, &self.root);
        cmd.args(args).current_dir(&self.dir).stdout(Stdio::from(slave)).stderr(Stdio::piped()).stdin(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        drop(cmd);
        let input = child.stdin.take();
        let mut running = Running::new(child, std::fs::File::from(master), exe);
        running.input = input;
        running
    }

    /// Runs one program to its end and returns its console output.
    fn run(&self, exe: &Path, args: &[&str], stdin: Option<&str>) -> String {
        self.start(exe, args, stdin).success(Duration::from_secs(90))
    }
}

/// A running program whose output is collected as it comes.
struct Running {
    child: Child,
    input: Option<std::process::ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    what: String,
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let to = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        // A terminal's master reports EIO once every slave side is closed: the end.
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

/// A pseudo-terminal in raw mode: (master, slave).
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors; the name, termios and winsize may be NULL.
    let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two open descriptors that nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: a termios read from and written back to the slave; cfmakeraw only edits it.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(slave.as_raw_fd(), &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
    }
    (master, slave)
}

impl Running {
    fn new(mut child: Child, terminal: std::fs::File, exe: &Path) -> Running {
        let out = collect(terminal);
        let err = collect(child.stderr.take().expect("stderr"));
        Running { child, input: None, out, err, what: exe.file_name().unwrap().to_string_lossy().into_owned() }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// Types `text` (the program must have been started with [`Bench::start_interactive`]).
    fn type_text(&mut self, text: &str) {
        let input = self.input.as_mut().expect("started interactive");
        input.write_all(text.as_bytes()).expect("type into the program");
        input.flush().expect("flush");
    }

    /// True while the program runs.
    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits until the output contains `text` (a server saying it is ready).
    fn wait_for(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.stdout().contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50));
                if !self.stdout().contains(text) {
                    panic!(
                        "{} ended ({status}) before printing {text:?}:\n{}\n{}",
                        self.what,
                        self.stdout(),
                        self.stderr()
                    );
                }
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{} did not print {text:?} in {timeout:?}:\n{}\n{}", self.what, self.stdout(), self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn finish(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} hung for {timeout:?}:\n{}\n{}", self.what, self.stdout(), self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        std::thread::sleep(Duration::from_millis(50)); // the readers drain the pipes
        (status, self.stdout())
    }

    /// Waits for a successful end and returns the output.
    fn success(self, timeout: Duration) -> String {
        let what = self.what.clone();
        let err = self.err.clone();
        let (status, out) = self.finish(timeout);
        assert!(
            status.success(),
            "{what} failed ({status}):\n{out}\nstderr:\n{}",
            String::from_utf8_lossy(&err.lock().unwrap())
        );
        out
    }
}

/// Asserts that `out` holds each of `lines` as a whole line, in this order.
fn assert_lines_in_order(out: &str, lines: &[&str], what: &str) {
    let all: Vec<&str> = out.lines().collect();
    let mut at = 0;
    for want in lines {
        match all[at..].iter().position(|l| l == want) {
            Some(i) => at += i + 1,
            None => panic!("{what}: no line {want:?} (in order) in:\n{out}"),
        }
    }
}

#[test]
fn tutorial_server_and_client_share_a_message_through_a_named_mapping() {
    let bench = Bench::new("mapping_pair");
    for build in [C, CU] {
        let server = bench.build("mapping_server.c", build);
        let client = bench.build("mapping_client.c", build);
        let mut s = bench.start(&server, &[], None);
        s.wait_for("Server ready", Duration::from_secs(30));
        let c = bench.run(&client, &[], None);
        assert_eq!(c, "Process2: Message from first process.\n", "{build:?}");
        let out = s.success(Duration::from_secs(30));
        assert_eq!(out, "Server ready: wrote 27 characters\nClient has read the message: thanks\n", "{build:?}");
    }
}

#[test]
fn unicode_cxx_chat_with_wstring_names_and_wcout() {
    let bench = Bench::new("wchat");
    for build in [CXX, CXXU] {
        let server = bench.build("wchat_server.cpp", build);
        let client = bench.build("wchat_client.cpp", build);
        let mut s = bench.start(&server, &[], None);
        s.wait_for("Chat server ready", Duration::from_secs(30));
        let c = bench.run(&client, &["ünïcödé ärg"], None);
        assert_eq!(
            c,
            // towupper in the "C" locale changes ASCII letters only (MSVC's and glibc's alike).
            "reply 1: HELLO\nreply 2: GRüßE AUS KöLN\nreply 3: THIRD LINE\nreply 4: üNïCöDé äRG\nclient: server counted 4 messages\n",
            "{build:?}"
        );
        let out = s.success(Duration::from_secs(30));
        assert_lines_in_order(
            &out,
            &[
                "Chat server ready on Local\\CorpusChat",
                "client said: hello",
                "client said: grüße aus Köln",
                "client said: ünïcödé ärg",
                "client said: bye",
                "server done after 4 messages",
            ],
            "server",
        );
    }
}

#[test]
fn producer_starts_its_consumer_and_they_share_a_ring_with_semaphores() {
    let bench = Bench::new("prodcons");
    for build in Build::ALL {
        let exe = bench.build("prodcons_sem.c", build);
        let out = bench.run(&exe, &[], None);
        assert!(out.contains("consumer: got 200 items, sum 20100\n"), "{build:?}: {out}");
        assert!(out.contains("producer: sent 200 items\n"), "{build:?}: {out}");
        assert!(out.ends_with("producer: all 8 slots free, consumer exit code 0\n"), "{build:?}: {out}");
    }
}

#[test]
fn cxx_parent_waits_for_three_createprocess_workers() {
    let bench = Bench::new("workers");
    for build in [CXX, CXXU] {
        let exe = bench.build("spawn_workers.cpp", build);
        let out = bench.run(&exe, &[], None);
        assert_lines_in_order(
            &out,
            &[
                "all workers done: yes",
                "worker 0 exit 10 partial 500500 (pid matches)",
                "worker 1 exit 11 partial 1500500 (pid matches)",
                "worker 2 exit 12 partial 2500500 (pid matches)",
                "total 4501500",
            ],
            &format!("{build:?}"),
        );
    }
}

#[test]
fn handles_passed_on_the_command_line_are_inherited_by_the_child() {
    let bench = Bench::new("inherit");
    for build in [C, CU] {
        let exe = bench.build("inherit_handle.c", build);
        let out = bench.run(&exe, &[], None);
        assert_eq!(
            out, "child: parent says \"hello through an inherited handle\"\nparent: child wrote \"child was here\"\n",
            "{build:?}"
        );
    }
}

#[test]
fn console_menu_with_getch_posts_messages_to_a_viewer_process() {
    let bench = Bench::new("menu");
    for build in [C, CU] {
        let exe = bench.build("menu_getch.c", build);
        let mut viewer = bench.start(&exe, &["viewer"], None);
        viewer.wait_for("viewer ready", Duration::from_secs(30));
        let out = bench.run(&exe, &[], Some("1hello there\n2x1second\n3"));
        assert!(out.contains("Your choice: 1\nMessage: posted #1\n"), "{build:?}: {out}");
        assert!(out.contains("Your choice: 2\nlast: hello there\n"), "{build:?}: {out}");
        assert!(out.contains("Your choice: x\nUnknown choice 'x'\n"), "{build:?}: {out}");
        assert!(out.ends_with("Your choice: 3\nBye.\n"), "{build:?}: {out}");
        let seen = viewer.success(Duration::from_secs(30));
        assert_eq!(
            seen,
            "viewer ready\nviewer: message 1: hello there\nviewer: message 2: second\nviewer: writer quit after 2 messages\n",
            "{build:?}"
        );
    }
}

#[test]
fn round_trips_are_timed_with_the_performance_counter() {
    let bench = Bench::new("qpc");
    for build in Build::ALL {
        let exe = bench.build("pingpong_qpc.c", build);
        let out = bench.run(&exe, &[], None);
        assert!(out.starts_with("Frequency: 10000000 ticks per second\nRound trips: 1000\n"), "{build:?}: {out}");
        assert!(out.ends_with("Elapsed ticks positive: yes\n"), "{build:?}: {out}");
        let avg: f64 = out
            .lines()
            .find_map(|l| l.strip_prefix("Average round trip: ")?.strip_suffix(" us")?.parse().ok())
            .unwrap_or_else(|| panic!("{build:?}: no average in {out}"));
        assert!(avg > 0.0 && avg < 100_000.0, "{build:?}: {avg}");
    }
}

#[test]
fn a_worker_thread_runs_jobs_from_another_process_as_apcs() {
    let bench = Bench::new("apc");
    for build in [CXX, CXXU] {
        let exe = bench.build("apc_worker.cpp", build);
        let out = bench.run(&exe, &[], None);
        assert_lines_in_order(
            &out,
            &[
                "worker: job 1 adds 10",
                "worker: job 2 adds 20",
                "worker: job 3 adds 30",
                "worker: job 4 adds 40",
                "worker: job 5 adds 50",
                "worker: stopping, woken by APCs",
                "main: worker ran 5 jobs, total 150",
            ],
            &format!("{build:?}"),
        );
    }
}

#[test]
fn timer_completion_routine_sample_with_a_second_process_on_the_same_timer() {
    let bench = Bench::new("timer_apc");
    for build in [C, CU] {
        let exe = bench.build("timer_apc.c", build);
        let out = bench.run(&exe, &[], None);
        let mut expected = Vec::new();
        for v in (100..1000).step_by(100) {
            expected.push(format!("Message: This is my data\nValue: {v}\nTime set: yes\n\n"));
        }
        let apcs: String = out.lines().filter(|l| !l.starts_with("watcher")).map(|l| format!("{l}\n")).collect();
        assert_eq!(apcs, expected.concat(), "{build:?}: {out}");
        assert!(out.contains("watcher: saw the timer fire 2 times\n"), "{build:?}: {out}");
    }
}

#[test]
fn a_child_fills_a_file_backed_named_mapping_that_the_parent_reads_back() {
    let bench = Bench::new("shared_file");
    for build in [C, CU] {
        let exe = bench.build("shared_file.c", build);
        let out = bench.run(&exe, &[], None);
        assert_eq!(
            out,
            "file size after CreateFileMapping: 128\nchild: wrote 4 records\nread 128 bytes back\n1000 record-0\n1001 record-1\n1002 record-2\n1003 record-3\n",
            "{build:?}"
        );
    }
}

#[test]
fn a_delete_on_close_temp_file_is_read_by_a_second_process_then_vanishes() {
    let bench = Bench::new("temp_share");
    for build in [CXX, CXXU] {
        let exe = bench.build("temp_file_share.cpp", build);
        let out = bench.run(&exe, &[], None);
        assert_eq!(
            out,
            "temp dir ends with a separator: yes\nGetTempFileName made a file: yes\nreader: 63 bytes: scratch data for the reader\nstill there before the last close: yes\ngone after it: yes\n",
            "{build:?}"
        );
    }
}

#[test]
fn three_processes_count_under_a_named_mutex_without_losing_updates() {
    let bench = Bench::new("mutex_counter");
    for build in Build::ALL {
        let exe = bench.build("mutex_counter.c", build);
        assert_eq!(bench.run(&exe, &[], None), "counter = 6000 (expected 6000)\n", "{build:?}");
    }
}

#[test]
fn a_second_instance_finds_the_first_through_its_named_mutex() {
    let bench = Bench::new("single_instance");
    for build in [C, CU] {
        let exe = bench.build("single_instance.c", build);
        let mut first = bench.start(&exe, &[], None);
        first.wait_for("First instance running.", Duration::from_secs(30));
        assert_eq!(bench.run(&exe, &[], None), "Another instance is already running.\n", "{build:?}");
        assert_eq!(
            first.success(Duration::from_secs(30)),
            "First instance running.\nA second instance tried to start.\n",
            "{build:?}"
        );
    }
}

#[test]
fn non_ascii_names_cross_processes_through_the_code_page_functions() {
    let bench = Bench::new("codepage");
    for build in [CXX, CXXU] {
        let exe = bench.build("codepage_names.cpp", build);
        let out = bench.run(&exe, &[], None);
        assert_eq!(
            out,
            "first process wrote 27 characters under Local\\Corpus-Grüße\ninvalid UTF-8: 0 / error 1113\nsecond process read: Überraschung für Grüße — €5 (27 characters)\nsecond process exit code 0\n",
            "{build:?}"
        );
    }
}

#[test]
fn strsafe_clients_log_through_a_server_process() {
    let bench = Bench::new("strsafe_log");
    for build in Build::ALL {
        let exe = bench.build("strsafe_log.c", build);
        let mut server = bench.start(&exe, &["server", "6"], None);
        server.wait_for("log server: waiting for 6 lines", Duration::from_secs(30));
        for client in ["A", "B"] {
            assert_eq!(bench.run(&exe, &[client], None), "truncated to \"0123456\"\n", "{build:?}");
        }
        let out = server.success(Duration::from_secs(30));
        assert_eq!(
            out,
            "log server: waiting for 6 lines\nlog: client A line 1\nlog: client A line 2\nlog: client A done (3)\nlog: client B line 1\nlog: client B line 2\nlog: client B done (3)\n",
            "{build:?}"
        );
    }
}

#[test]
fn the_shared_memory_dll_sample_works_in_two_processes() {
    let bench = Bench::new("shared_dll");
    // The DLL, built from the sample's source as a shared object next to the programs.
    let out = std::process::Command::new("cc")
        .arg("-I")
        .arg(common::include_dir())
        .args(["-shared", "-fPIC"])
        .arg(source("shared_dll.c"))
        .arg("-o")
        .arg(bench.dir.join("shared_dll.so"))
        .output()
        .expect("run cc");
    assert!(out.status.success(), "building the DLL: {}", String::from_utf8_lossy(&out.stderr));
    for build in [C, CU] {
        let exe = bench.build("dll_user.c", build);
        let out = bench.run(&exe, &[], None);
        assert_eq!(
            out,
            "Child process read from shared memory: This is a test string\nmissing_library.dll: ERROR_MOD_NOT_FOUND\nParent process reads: This is a test string\nmissing_library.dll: ERROR_MOD_NOT_FOUND\n",
            "{build:?}"
        );
    }
}

#[test]
fn a_semaphore_keeps_at_most_two_of_five_processes_inside() {
    let bench = Bench::new("pool");
    for build in [CXX, CXXU] {
        let exe = bench.build("semaphore_pool.cpp", build);
        assert_eq!(
            bench.run(&exe, &[], None),
            "served 15 requests\npeak inside: 2 (within the limit)\nReleaseSemaphore on a full pool: error 298\n",
            "{build:?}"
        );
    }
}

#[test]
fn one_manual_reset_event_starts_three_runner_processes() {
    let bench = Bench::new("broadcast");
    for build in [C, CU] {
        let exe = bench.build("event_broadcast.c", build);
        assert_eq!(
            bench.run(&exe, &[], None),
            "3 runners on their marks\nnobody started early: yes\nall finished: yes\nrunner 0 exit code 7\nrunner 1 exit code 7\nrunner 2 exit code 7\n",
            "{build:?}"
        );
    }
}

#[test]
fn unicode_c_with_plain_main_writes_a_report_with_the_wide_crt() {
    let bench = Bench::new("wide_report");
    for build in [C, CU] {
        let exe = bench.build("wide_report.c", build);
        assert_eq!(
            bench.run(&exe, &[], None),
            "Report (year ok)\nsample 1: 1 ms\nsample 2: 4 ms\nsample 3: 9 ms\nsample 4: 16 ms\nsample 5: 25 ms\ntotal: 55 ms\n",
            "{build:?}"
        );
    }
}

#[test]
fn prompts_show_before_the_program_waits_and_pause_waits_for_a_key() {
    let bench = Bench::new("console");
    for build in [C, CXX] {
        let exe = bench.build("pause_cls.c", build);
        let mut p = bench.start_interactive(&exe, &[]);
        // Each prompt is on the screen while the program is blocked reading: nothing typed yet.
        p.wait_for("Enter your name: ", Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(200));
        assert!(p.running(), "{build:?}: must wait for the name");
        assert!(p.stdout().ends_with("Enter your name: "), "{build:?}: {:?}", p.stdout());
        p.type_text("Ada\n");
        p.wait_for("Pick a color (r/g/b): ", Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(200));
        assert!(p.running() && p.stdout().ends_with("Pick a color (r/g/b): "), "{build:?}: {:?}", p.stdout());
        p.type_text("g");
        p.wait_for("Press any key to continue . . . ", Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(200));
        assert!(p.running(), "{build:?}: pause must wait for a key");
        p.type_text("x");
        let out = p.success(Duration::from_secs(30));
        assert_eq!(
            out,
            "\x1b[H\x1b[2J\x1b[3JEnter your name: Hello, Ada! Message: the worker is ready\nPick a color (r/g/b): g\nYou picked g\nPress any key to continue . . . \n",
            "{build:?}"
        );
    }
}

#[test]
fn a_mingw_style_program_with_old_sample_spellings_and_machine_names() {
    let bench = Bench::new("mingw");
    let exe = bench.build("mingw_style.c", C);
    let out = bench.run(&exe, &[], None);
    let user = std::process::Command::new("id").arg("-un").output().expect("id -un");
    let user = String::from_utf8_lossy(&user.stdout).trim().to_owned();
    assert_eq!(out, format!("child ok: yes\nsame computer name: yes\nuser: {user}\nsystem directory: /usr/lib\n"),);
}

#[test]
fn a_watchdog_process_gets_a_runaway_thread_terminated_and_a_thread_exits_early() {
    let bench = Bench::new("watchdog");
    for build in [C, CU] {
        let exe = bench.build("thread_watchdog.c", build);
        assert_eq!(
            bench.run(&exe, &[], None),
            "watchdog fired; runaway still running: yes\nrunaway exit code: 0xDEAD\nrunaway stopped: yes\npolite exit code: 3\n",
            "{build:?}"
        );
    }
}

#[test]
fn two_processes_take_strict_turns_on_a_mutex() {
    // A process preempted between its ReleaseMutex and its next wait misses its turn (it is not
    // waiting yet), on Windows as here; on a loaded machine that happens now and then, so each
    // build gets three runs, and one must alternate strictly. Without the hand-off none does
    // (the releaser takes the mutex straight back: "ABBBBBBBBBBAAAAAAAAA").
    let bench = Bench::new("alternation");
    for build in [C, CU] {
        let exe = bench.build("alternation.c", build);
        let runs: Vec<String> = (0..3)
            .map(|_| bench.run(&exe, &[], None))
            .take_while(|out| out != "turns: ABABABABABABABABABAB\n")
            .collect();
        assert!(runs.len() < 3, "{build:?}: no run alternated strictly: {runs:?}");
    }
}
