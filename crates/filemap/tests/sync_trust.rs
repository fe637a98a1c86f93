//! The shared sync page is hostile input: another process that can write an object's file can
//! scribble every byte of it, forge claims and owners, or stop in the middle of a claim. The
//! owner must survive and release, nothing of this process may be written through what the page
//! says, and every wait keeps its timeout. Also: initially-owned mutexes, named or not.

mod sync_support;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use filemap::Win32Error;
use filemap::sync::{Event, Mutex, Rights, Semaphore, WaitOutcome, Waitable, wait_all};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);
const SYNC_LEN: usize = filemap::SYNC_LEN;

/// Where the sync area of the object file `f` starts (`filemap::sync_area_offset`: it depends
/// on the object's type and inode number), as a hostile writer finds it.
fn sync_area(f: &mut std::fs::File) -> u64 {
    let mut page = vec![0u8; filemap::DATA_OFFSET as usize];
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_exact(&mut page).unwrap();
    let kind = filemap::Header::decode(&page).unwrap().kind;
    let ino = std::os::unix::fs::MetadataExt::ino(&f.metadata().unwrap());
    filemap::sync_area_offset(kind, ino) as u64
}

/// The object file of `object_name` in this test's private namespace (found by the full name
/// the header records).
fn object_file(object_name: &str) -> PathBuf {
    fn walk(dir: &Path, needle: &[u8], found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(&p, needle, found);
            } else if ft.is_file() {
                let mut buf = Vec::new();
                if std::fs::File::open(&p).and_then(|mut f| f.read_to_end(&mut buf)).is_ok()
                    && buf.windows(needle.len()).any(|w| w == needle)
                {
                    found.push(p);
                }
            }
        }
    }
    let root = PathBuf::from(std::env::var("FILEMAP_ROOT").unwrap());
    let mut found = Vec::new();
    walk(&root, object_name.as_bytes(), &mut found);
    assert_eq!(found.len(), 1, "one file holds {object_name}: {found:?}");
    found.pop().unwrap()
}

/// Asks a helper process to write `bytes` at sync-area offset `off` of `object_name`'s file.
fn scribble(object_name: &str, off: usize, bytes: &[u8]) {
    let path = object_file(object_name);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut h = spawn_helper("scribble", &[path.to_str().unwrap(), &off.to_string(), &hex]);
    h.expect_line("SCRIBBLED", LONG);
    h.finish(LONG);
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: object file, sync-area offset, hex bytes. A hostile writer of the object file.
        "scribble" => {
            let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&args[0]).unwrap();
            let area = sync_area(&mut f);
            f.seek(SeekFrom::Start(area + args[1].parse::<u64>().unwrap())).unwrap();
            f.write_all(&unhex(&args[2])).unwrap();
            say("SCRIBBLED");
        }
        // args: object file. Writes a claim of its own pid on a semaphore's state (as if stopped
        // inside a wait-all), reports, and waits to be stopped and killed.
        "claim-and-stop" => {
            let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&args[0]).unwrap();
            let area = sync_area(&mut f);
            f.seek(SeekFrom::Start(area + 8)).unwrap();
            let mut state = [0u8; 8];
            f.read_exact(&mut state).unwrap();
            let value = u64::from_ne_bytes(state) & 0xffff_ffff;
            let claimed = value | (u64::from(std::process::id()) << 32);
            f.seek(SeekFrom::Start(area + 8)).unwrap();
            f.write_all(&claimed.to_ne_bytes()).unwrap();
            say("CLAIMED");
            std::thread::sleep(Duration::from_secs(600));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn unnamed_initially_owned_mutexes_are_owned_and_release_cleanly() {
    isolated("unnamed_initially_owned_mutexes_are_owned_and_release_cleanly", || {
        // Today's crash: the unnamed path skipped linking the initial ownership.
        for m in [
            Mutex::options().initial_owner(true).create().unwrap().0,
            Mutex::options().name("").initial_owner(true).create().unwrap().0,
        ] {
            assert!(m.is_owned_by_current_thread());
            m.release().unwrap();
            assert!(!m.is_owned_by_current_thread());
            assert_eq!(m.release().unwrap_err().code(), Win32Error::NOT_OWNER);
            // Another thread can take it now, and the owner-death path works for it too.
            let m2 = m.try_clone().unwrap();
            std::thread::spawn(move || assert_eq!(m2.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0)))
                .join()
                .unwrap();
            assert_eq!(m.acquire(Some(LONG)).unwrap(), WaitOutcome::Abandoned(0));
            m.release().unwrap();
        }
        // Named: new (owned), then existing (initial ownership ignored).
        let n = name("named-initial");
        let (a, created) = Mutex::options().name(&n).initial_owner(true).create().unwrap();
        assert_eq!(created, filemap::Created::New);
        let (b, created) = Mutex::options().name(&n).initial_owner(true).create().unwrap();
        assert_eq!(created, filemap::Created::Existing);
        assert!(a.is_owned_by_current_thread() && b.is_owned_by_current_thread(), "one mutex, owned once");
        b.release().unwrap(); // one level: released through the other handle
        assert_eq!(a.release().unwrap_err().code(), Win32Error::NOT_OWNER);
    });
}

#[test]
fn a_hostile_writer_scribbling_the_mutex_page_cannot_crash_or_redirect_the_owner() {
    isolated("a_hostile_writer_scribbling_the_mutex_page_cannot_crash_or_redirect_the_owner", || {
        let n = name("scribbled-mutex");
        let (m, _) = Mutex::options().name(&n).create().unwrap();
        for pattern in [0x41u8, 0x00, 0xff] {
            assert_eq!(m.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
            // Every byte of the sync area, including where the robust-list links used to be.
            scribble(&n, 0, &[pattern; SYNC_LEN]);
            // The owner's release follows only its private records: no crash, no stray write.
            m.release().unwrap();
            assert!(!m.is_owned_by_current_thread());
            // The release repaired the word: the mutex works again, from another thread too.
            let m2 = m.try_clone().unwrap();
            let got = std::thread::spawn(move || {
                let o = m2.acquire(Some(LONG)).unwrap();
                m2.release().unwrap();
                o
            })
            .join()
            .unwrap();
            assert_eq!(got, WaitOutcome::Signaled(0), "pattern {pattern:#x}");
        }
    });
}

#[test]
fn a_forged_free_word_never_makes_this_process_link_a_node_twice() {
    isolated("a_forged_free_word_never_makes_this_process_link_a_node_twice", || {
        let n = name("forged-free");
        let (m, _) = Mutex::options().name(&n).create().unwrap();
        assert_eq!(m.acquire(Some(LONG)).unwrap(), WaitOutcome::Signaled(0));
        scribble(&n, SYNC_LEN - 8, &[0; 8]); // the word says: free
        // Another thread of ours, through the same mapping: it must not take (and link) it.
        let m2 = m.try_clone().unwrap();
        let start = Instant::now();
        let got = std::thread::spawn(move || m2.acquire(Some(Duration::from_millis(100))).unwrap()).join().unwrap();
        assert_eq!(got, WaitOutcome::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(100));
        m.release().unwrap();
        assert_eq!(m.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        m.release().unwrap();
    });
}

#[test]
fn waits_keep_their_timeout_against_forged_owners_claims_and_garbage() {
    isolated("waits_keep_their_timeout_against_forged_owners_claims_and_garbage", || {
        let t = Duration::from_millis(100);
        let check = |what: &str, w: &dyn Waitable| {
            let start = Instant::now();
            let got = filemap::sync::wait_any(&[w], Some(t)).unwrap();
            let took = start.elapsed();
            assert_eq!(got, WaitOutcome::TimedOut, "{what}");
            assert!(took >= t && took < Duration::from_secs(5), "{what}: the wait took {took:?}");
        };
        // A mutex owned by a thread id nobody has.
        let nm = name("forged-owner");
        let (m, _) = Mutex::options().name(&nm).create().unwrap();
        scribble(&nm, SYNC_LEN - 8, &0x3fff_fffeu32.to_ne_bytes());
        check("forged owner", &m);
        // A semaphore claimed by a live process that will never unclaim it (pid 1).
        let ns = name("forged-claim");
        let (s, _) = Semaphore::options().name(&ns).max(5).create().unwrap();
        scribble(&ns, 8, &(1u64 << 32).to_ne_bytes());
        check("forged claim", &s);
        // Releasing breaks the stale claim after a bounded wait, and the unit is there.
        let start = Instant::now();
        assert_eq!(s.release(1).unwrap(), 0);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(s.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        // Garbage in every byte of an event's and a semaphore's area: waits end on time, and
        // calls return (the values are whatever the garbage says).
        let ne = name("garbage-event");
        let (e, _) = Event::options().name(&ne).create().unwrap();
        for (obj, n) in [(&e as &dyn Waitable, &ne), (&s as &dyn Waitable, &ns)] {
            scribble(n, 0, &[0xa5; SYNC_LEN]);
            let start = Instant::now();
            let _ = filemap::sync::wait_any(&[obj], Some(t)).unwrap();
            assert!(start.elapsed() < Duration::from_secs(5));
        }
        let start = Instant::now();
        let _ = e.set();
        let _ = s.release(1);
        let _ = wait_all(&[&e, &s], Some(t)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn a_sigstopped_claimer_delays_nobody_past_their_timeout() {
    isolated("a_sigstopped_claimer_delays_nobody_past_their_timeout", || {
        let n = name("stopped-claimer");
        let (s, _) = Semaphore::options().name(&n).max(5).create().unwrap();
        let mut claimer = spawn_helper("claim-and-stop", &[object_file(&n).to_str().unwrap()]);
        claimer.expect_line("CLAIMED", LONG);
        let pid = claimer.pid() as libc::pid_t;
        // SAFETY: stopping our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        let start = Instant::now();
        assert_eq!(s.wait(Some(Duration::from_millis(100))).unwrap(), WaitOutcome::TimedOut);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(5), "took {took:?}");
        // A release (no timeout of its own) breaks the claim of the live but stopped process.
        let start = Instant::now();
        assert_eq!(s.release(2).unwrap(), 0);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(s.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        claimer.sigkill();
        assert_eq!(s.state().to_string(), "count 1/5");
        let _ = Rights::SYNCHRONIZE;
    });
}
