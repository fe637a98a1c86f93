//! S3: an object file gets exactly the mode its creator asks for, whatever the umask, in a
//! namespace directory this library made (whose default ACL lets a create skip its `fstat`)
//! and in one made without that ACL (where the `fstat` finds what the umask took and `fchmod`
//! puts it back). One test in its own binary: the umask belongs to the whole process.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use filemap::sync::{Event, Mutex};
use filemap::{Access, Mapping, ObjectName, namespace::Namespace};

fn mode_of(ns: &Namespace, name: &str) -> u32 {
    let name = ObjectName::parse(name).unwrap();
    let path = ns.scope_dir(name.scope()).join(name.file_name());
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn creator_of(ns: &Namespace, name: &str) -> u32 {
    let name = ObjectName::parse(name).unwrap();
    let page = std::fs::read(ns.scope_dir(name.scope()).join(name.file_name())).unwrap();
    filemap::Header::decode(&page[..filemap::DATA_OFFSET as usize]).unwrap().creator_uid
}

fn has_acl(path: &Path, which: &str) -> bool {
    rustix::fs::getxattr(path, which, &mut [0u8; 64]).is_ok()
}

#[test]
fn objects_get_exactly_the_mode_asked_for_under_a_strict_umask_with_or_without_the_directorys_default_acl() {
    let root = common::setup();
    let made = Namespace::at(root.join("modes-made"));
    let plain = Namespace::at(root.join("modes-plain"));
    // The plain namespace's directory exists before the library meets it, without the ACL.
    let plain_dir = plain.scope_dir(filemap::Scope::Local);
    std::fs::create_dir_all(&plain_dir).unwrap();
    std::fs::set_permissions(&plain_dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    let saved = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    for (ns, tag) in [(&made, "made"), (&plain, "plain")] {
        for mode in [0o600, 0o640, 0o644, 0o666, 0o400] {
            let name = common::unique(&format!("mode-{tag}-{mode:o}"));
            let (m, _) = Mapping::options().namespace(ns).name(&name).size(4096).mode(mode).create().unwrap();
            assert_eq!(mode_of(ns, &name), mode, "mapping in the {tag} directory");
            if mode & 0o200 != 0 {
                m.view(Access::WRITE).unwrap().write_at(0, b"x").unwrap();
            }
            assert_eq!(creator_of(ns, &name), rustix::process::geteuid().as_raw(), "the header's creator");
        }
        let name = common::unique(&format!("mode-{tag}-event"));
        let _event = Event::options().namespace(ns).name(&name).mode(0o640).create().unwrap();
        assert_eq!(mode_of(ns, &name), 0o640, "event in the {tag} directory (its create needs the inode)");
        let name = common::unique(&format!("mode-{tag}-mutex"));
        let _mutex = Mutex::options().namespace(ns).name(&name).mode(0o604).create().unwrap();
        assert_eq!(mode_of(ns, &name), 0o604, "mutex in the {tag} directory");
    }
    rustix::process::umask(saved);

    // Only the directory the library made carries the default ACL, and no object file gets an
    // ACL of its own from it.
    let made_dir = made.scope_dir(filemap::Scope::Local);
    assert!(has_acl(&made_dir, "system.posix_acl_default"), "the made directory has the default ACL");
    assert!(!has_acl(&plain_dir, "system.posix_acl_default"), "the plain one was left alone");
    for entry in std::fs::read_dir(&made_dir).unwrap() {
        let path = entry.unwrap().path();
        assert!(!has_acl(&path, "system.posix_acl_access"), "{} has an ACL", path.display());
    }
}

#[test]
#[ignore = "needs root (init-global): scripts/test-root-and-python.sh runs it as root"]
fn init_global_never_replaces_a_default_acl_already_there_and_creates_there_still_get_their_mode() {
    common::require_root("init-global is root's");
    let root = common::setup();
    let acl = |group_perm: u8| {
        let mut v = vec![2, 0, 0, 0];
        for (tag, perm) in [(0x01u16, 7u8), (0x04, group_perm), (0x20, 0)] {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&u16::from(perm).to_le_bytes());
            v.extend_from_slice(&u32::MAX.to_le_bytes());
        }
        v
    };
    // A fresh Global directory gets the library's ACL.
    let fresh = Namespace::at(root.join("modes-global-fresh"));
    fresh.init_global(None).unwrap();
    assert!(has_acl(&fresh.scope_dir(filemap::Scope::Global), "system.posix_acl_default"));
    // An existing one keeps the ACL its administrator gave it (group r--, others nothing)...
    let kept = Namespace::at(root.join("modes-global-kept"));
    let dir = kept.scope_dir(filemap::Scope::Global);
    std::fs::create_dir_all(&dir).unwrap();
    let theirs = acl(4);
    rustix::fs::setxattr(&dir, "system.posix_acl_default", &theirs, rustix::fs::XattrFlags::empty()).unwrap();
    kept.init_global(None).unwrap();
    let mut now = [0u8; 64];
    let n = rustix::fs::getxattr(&dir, "system.posix_acl_default", &mut now).unwrap();
    assert_eq!(&now[..n], &theirs[..], "init-global replaced the administrator's default ACL ({:?})", &now[..n]);
    // ...under which a new file would get group r-- only: the create puts back the mode asked.
    let name = format!(r"Global\modes-kept-{}", std::process::id());
    let (_m, _) = Mapping::options().namespace(&kept).name(&name).size(4096).mode(0o660).create().unwrap();
    assert_eq!(mode_of(&kept, &name), 0o660);
}
