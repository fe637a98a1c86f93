//! The safety net behind robust-list abandonment: a mutex whose word names a thread that no
//! longer exists, without the kernel's `OWNER_DIED` mark (what a creator killed between
//! publishing a mutex it owns initially and linking it into its robust list leaves), is
//! recovered by its next waiter as abandoned, within the documented owner-check period.

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use common::{setup, unique};
use filemap::sync::{Mutex, WaitOutcome};
use filemap::{ObjectName, namespace};

#[test]
fn a_mutex_left_owned_by_a_dead_thread_without_the_kernel_mark_is_recovered_as_abandoned() {
    setup();
    let name = unique("dead-owner");
    let (mutex, _) = Mutex::create(Some(&name), false).unwrap();
    // A thread id that certainly belonged to a thread that has exited: a reaped child's pid.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_tid = child.id();
    child.wait().unwrap();
    // Forge the state a creator killed inside the publish window leaves: owner = dead tid,
    // recursion 1, no OWNER_DIED. (The sync area starts 3072 bytes into the object file.)
    let parsed = ObjectName::parse(&name).unwrap();
    let path = namespace::scope_dir(parsed.scope()).join(parsed.file_name());
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(3072)).unwrap();
    file.write_all(&dead_tid.to_ne_bytes()).unwrap();
    file.write_all(&1u32.to_ne_bytes()).unwrap();
    drop(file);

    let start = Instant::now();
    let outcome = mutex.acquire(Some(Duration::from_secs(20))).unwrap();
    assert_eq!(outcome, WaitOutcome::Abandoned(0), "recovered as abandoned, not timed out");
    assert!(start.elapsed() < Duration::from_secs(10), "within the owner-check period: {:?}", start.elapsed());
    assert!(mutex.is_owned_by_current_thread());
    mutex.release().unwrap();
    // Exactly one acquirer is told: the next acquisition is a plain one.
    assert_eq!(mutex.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
    mutex.release().unwrap();
}
