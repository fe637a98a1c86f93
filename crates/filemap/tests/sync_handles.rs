//! Handles of synchronization objects: inheritance across exec, duplication, state queries for
//! the CLI (`ls`, `info`), unnamed objects.

mod sync_support;

use std::time::Duration;

use filemap::sync::{self, Event, Mutex, Rights, Semaphore, SyncState, Timer, WaitOutcome};
use filemap::{ObjectType, Scope, Win32Error};
use sync_support::{helper_role, isolated, name, say, spawn_helper};

const LONG: Duration = Duration::from_secs(60);

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    let Some((role, args)) = helper_role() else { return };
    match role.as_str() {
        // args: inherited fd number. Adopts the event handle and sets it.
        "inherit-set" => {
            let fd: i32 = args[0].parse().unwrap();
            // SAFETY: the parent passed this descriptor to us for exactly this purpose.
            #[allow(unsafe_code)]
            let ev = unsafe { Event::from_inherited_fd(fd, Rights::EVENT_MODIFY_STATE) }.unwrap();
            assert_eq!(ev.rights(), Rights::EVENT_MODIFY_STATE);
            ev.set().unwrap();
            say("SET");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn an_inheritable_event_handle_works_in_a_child_process() {
    isolated("an_inheritable_event_handle_works_in_a_child_process", || {
        let (ev, _) = Event::options().manual_reset(true).inheritable(true).create().unwrap();
        let fd = ev.inheritable_fd().expect("inheritable");
        let h = spawn_helper("inherit-set", &[&fd.to_string()]);
        h.finish(LONG);
        assert_eq!(ev.wait(Some(Duration::from_secs(10))).unwrap(), WaitOutcome::Signaled(0));
        let (plain, _) = Event::options().create().unwrap();
        assert_eq!(plain.inheritable_fd(), None);
        let dup = plain.duplicate(Rights::SYNCHRONIZE, true).unwrap();
        assert!(dup.inheritable_fd().is_some());
        assert_eq!(dup.object_id(), plain.object_id());
        plain.set().unwrap();
        assert_eq!(dup.wait(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0), "same object");
    });
}

#[test]
fn adopting_a_descriptor_of_another_type_fails_with_invalid_handle() {
    isolated("adopting_a_descriptor_of_another_type_fails_with_invalid_handle", || {
        let (m, _) = Mutex::options().inheritable(true).create().unwrap();
        let fd = m.inheritable_fd().unwrap();
        let dup = rustix::io::fcntl_dupfd_cloexec(
            // SAFETY: `fd` is open for the life of `m`.
            #[allow(unsafe_code)]
            unsafe {
                rustix::fd::BorrowedFd::borrow_raw(fd)
            },
            0,
        )
        .unwrap();
        let raw = std::os::fd::IntoRawFd::into_raw_fd(dup);
        // SAFETY: `raw` is a descriptor we own and hand over.
        #[allow(unsafe_code)]
        let e = unsafe { Event::from_inherited_fd(raw, Rights::EVENT_ALL_ACCESS) }.unwrap_err();
        assert_eq!(e.code(), Win32Error::INVALID_HANDLE);
        // SAFETY: -1 is never open.
        #[allow(unsafe_code)]
        let e = unsafe { Event::from_inherited_fd(-1, Rights::EVENT_ALL_ACCESS) }.unwrap_err();
        assert_eq!(e.code(), Win32Error::INVALID_HANDLE);
    });
}

#[test]
fn the_state_of_every_object_can_be_read_by_name_and_from_a_scan() {
    isolated("the_state_of_every_object_can_be_read_by_name_and_from_a_scan", || {
        let (m, _) = Mutex::options().name(name("m")).initial_owner(true).create().unwrap();
        let (s, _) = Semaphore::options().name(name("s")).initial(2).max(5).create().unwrap();
        let (e, _) = Event::options().name(name("e")).manual_reset(true).initial_state(true).create().unwrap();
        let (t, _) = Timer::options().name(name("t")).create().unwrap();
        t.set(sync::DueTime::Relative(Duration::from_secs(3600)), Some(Duration::from_secs(1))).unwrap();
        let (kind, state) = sync::query_state(&name("m")).unwrap();
        assert_eq!(kind, ObjectType::Mutex);
        match state.unwrap() {
            SyncState::Mutex { owner_tid: Some(_), recursion: 1, abandoned: false } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(sync::query_state(&name("s")).unwrap().1, Some(SyncState::Semaphore { count: 2, max: 5 }));
        assert_eq!(
            sync::query_state(&name("e")).unwrap().1,
            Some(SyncState::Event { manual_reset: true, signaled: true })
        );
        match sync::query_state(&name("t")).unwrap().1 {
            Some(SyncState::Timer { manual_reset: false, signaled: false, armed: true, period, due: Some(due) }) => {
                assert_eq!(period, Some(Duration::from_secs(1)));
                let left = due.duration_since(std::time::SystemTime::now()).expect("due in the future");
                assert!(left <= Duration::from_secs(3600), "due time as set: {left:?}");
            }
            other => panic!("unexpected timer state {other:?}"),
        }
        assert_eq!(sync::query_state(&name("none")).unwrap_err().code(), Win32Error::FILE_NOT_FOUND);
        let entries = filemap::scan(Scope::Local, false).unwrap();
        let mut shown = Vec::new();
        for entry in &entries {
            if let Some(state) = sync::describe_state(entry).unwrap() {
                shown.push(state.to_string());
            }
        }
        shown.sort();
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(shown.contains(&"count 2/5".to_owned()), "{shown:?}");
        assert!(shown.contains(&"manual signaled".to_owned()), "{shown:?}");
        assert!(shown.iter().any(|s| s.starts_with("owned by thread")), "{shown:?}");
        assert!(shown.iter().any(|s| s.starts_with("sync unsignaled, armed")), "{shown:?}");
        m.release().unwrap();
        drop((s, e, t));
    });
}

#[test]
fn unnamed_objects_work_and_cannot_be_opened() {
    isolated("unnamed_objects_work_and_cannot_be_opened", || {
        let (m, created) = Mutex::options().create().unwrap();
        assert!(!created.existed());
        assert_eq!(m.name(), None);
        assert_eq!(m.acquire(Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        m.release().unwrap();
        assert_eq!(
            Mutex::options().rights(Rights::SYNCHRONIZE).open().unwrap_err().code(),
            Win32Error::INVALID_PARAMETER
        );
    });
}

#[test]
fn handles_are_send_and_sync_and_open_any_finds_the_type() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Mutex>();
    send_sync::<Semaphore>();
    send_sync::<Event>();
    send_sync::<Timer>();
    send_sync::<sync::Process>();
    isolated("handles_are_send_and_sync_and_open_any_finds_the_type", || {
        let (_e, _) = Event::options().name(name("any-e")).create().unwrap();
        let (_s, _) = Semaphore::options().name(name("any-s")).initial(1).max(1).create().unwrap();
        let (_m, _) = filemap::Mapping::options().name(name("any-m")).size(4096).create().unwrap();
        let e = sync::open_any(&name("any-e"), Rights::GENERIC_ALL).unwrap();
        assert_eq!(e.kind(), ObjectType::Event);
        if let sync::AnySync::Event(ev) = &e {
            ev.set().unwrap();
        }
        assert_eq!(sync::wait_any(&[e.as_waitable()], Some(Duration::ZERO)).unwrap(), WaitOutcome::Signaled(0));
        let s = sync::open_any(&name("any-s"), Rights::MAXIMUM_ALLOWED).unwrap();
        assert_eq!(s.state(), SyncState::Semaphore { count: 1, max: 1 });
        assert_eq!(sync::open_any(&name("any-m"), Rights::GENERIC_ALL).unwrap_err().code(), Win32Error::INVALID_HANDLE);
        assert_eq!(sync::open_any(&name("any-x"), Rights::GENERIC_ALL).unwrap_err().code(), Win32Error::FILE_NOT_FOUND);
    });
}
