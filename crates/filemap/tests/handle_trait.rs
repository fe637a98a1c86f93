//! The `Handle` trait: handles of every type held, asked and duplicated uniformly, and a
//! descriptor made through it adopted by another process.

mod common;

use std::os::fd::{AsRawFd, IntoRawFd};

use common::{Child, assert_code, say, setup, unique};
use filemap::sync::Rights;
use filemap::{Access, Event, Handle, Mapping, Mutex, ObjectType, Semaphore, Timer, Win32Error};

#[test]
#[ignore = "child process entry point, started by the other tests"]
fn child_main() {
    common::child_main(|role, args| match role {
        "adopt-event" => {
            let fd: i32 = args[0].parse().unwrap();
            // SAFETY: the parent passed this descriptor to us and nothing else owns it.
            let event = unsafe { Event::from_inherited_fd(fd, Rights::EVENT_ALL_ACCESS) }.unwrap();
            let (dev, ino) = Handle::object_id(&event);
            event.set().unwrap();
            say(format!("adopted {dev} {ino} {}", Handle::name(&event).unwrap_or_default()));
        }
        other => panic!("unknown role {other}"),
    });
}

fn all_types() -> Vec<Box<dyn Handle>> {
    let (map, _) = Mapping::options().name(unique("h-map")).size(4096).create().unwrap();
    let (event, _) = Event::options().name(unique("h-event")).create().unwrap();
    let (mutex, _) = Mutex::options().name(unique("h-mutex")).create().unwrap();
    let (sem, _) = Semaphore::options().name(unique("h-sem")).initial(0).max(1).create().unwrap();
    let (timer, _) = Timer::options().name(unique("h-timer")).create().unwrap();
    vec![Box::new(map), Box::new(event), Box::new(mutex), Box::new(sem), Box::new(timer)]
}

#[test]
fn handles_of_every_type_report_their_type_name_identity_and_access_through_one_trait() {
    setup();
    let held = all_types();
    let kinds: Vec<ObjectType> = held.iter().map(|h| h.object_type()).collect();
    assert_eq!(
        kinds,
        [ObjectType::Mapping, ObjectType::Event, ObjectType::Mutex, ObjectType::Semaphore, ObjectType::Timer]
    );
    for h in &held {
        let name = h.name().expect("named");
        assert!(name.starts_with(r"Local\h-"), "{name}");
        assert!(!h.is_inheritable());
        assert_ne!(h.access_mask(), 0, "{name}: full access by default");
        assert!(h.as_fd().as_raw_fd() >= 0);
    }
    assert_eq!(held[0].access_mask(), Access::ALL.0);
    assert_eq!(held[2].access_mask(), Rights::MUTEX_ALL_ACCESS.0);
    let ids: std::collections::HashSet<_> = held.iter().map(|h| h.object_id()).collect();
    assert_eq!(ids.len(), held.len(), "five objects, five identities");
}

#[test]
fn duplicating_through_the_trait_narrows_access_keeps_identity_and_refuses_more() {
    setup();
    for h in all_types() {
        let narrow = if h.object_type() == ObjectType::Mapping { Access::READ.0 } else { Rights::SYNCHRONIZE.0 };
        let dup = h.duplicate_handle(narrow, true).unwrap();
        assert_eq!(dup.object_type(), h.object_type());
        assert_eq!(dup.object_id(), h.object_id());
        assert_eq!(dup.access_mask(), narrow);
        assert!(dup.is_inheritable() && !h.is_inheritable(), "inheritability is the duplicate's own");
        dup.set_inheritable(false).unwrap();
        assert!(!dup.is_inheritable());
        assert_code(dup.duplicate_handle(h.access_mask(), false).map(|_| ()), Win32Error::ACCESS_DENIED);
    }
}

#[test]
fn a_descriptor_made_through_the_trait_is_adopted_by_another_process() {
    setup();
    let name = unique("h-transfer");
    let (event, _) = Event::options().name(&name).manual_reset(true).create().unwrap();
    let handle: &dyn Handle = &event;
    let fd = handle.transfer(Rights::EVENT_ALL_ACCESS.0).unwrap();
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty()).unwrap();
    let raw = fd.into_raw_fd();
    let mut child = Child::spawn("adopt-event", &[&raw.to_string()]);
    let (dev, ino) = handle.object_id();
    assert_eq!(child.expect("adopted"), format!("{dev} {ino} {name}"));
    child.finish();
    // SAFETY: `raw` came from `into_raw_fd` above and is closed only here.
    drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) });
    let state = event.state();
    assert!(
        matches!(state, filemap::sync::SyncState::Event { signaled: true, .. }),
        "the child's set reached our handle's object: {state:?}"
    );
}
