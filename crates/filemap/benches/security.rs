//! What a DACL costs at create: the create + drop cycle of a named 4 KiB mapping with the
//! default permissions (mode 0600), with a DACL the mode bits express (null DACL: 0666), and
//! with one that needs a POSIX ACL (a named user and a named group: one `fsetxattr` more),
//! interleaved in one run, against the raw `shm_open(O_EXCL)` + `fchmod` + `fsetxattr` cycle.

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use filemap::namespace::Namespace;
use filemap::security::{Mask, Permissions, Trustee};
use rustix::fs::Mode;

/// The benchmark's own namespace, on tmpfs like the default one.
fn root() -> Namespace {
    Namespace::at(format!("/dev/shm/filemap-bench-sec-{}", std::process::id()))
}

fn security(c: &mut Criterion) {
    let ns = root();
    static N: AtomicU64 = AtomicU64::new(0);
    let acl = Permissions::new().allow(Trustee::User(65534), Mask::READ).allow(Trustee::Group(4242), Mask::ALL);
    let acl_bytes = acl.file_acl(filemap::ObjectType::Mapping, rustix::process::geteuid().as_raw()).encode();
    let mut g = c.benchmark_group("create_with_dacl_4k");
    g.bench_function("raw_shm_open_acl", |b| {
        b.iter(|| {
            let name = format!("/fm-bench-sec-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
            let flags = rustix::shm::OFlags::CREATE | rustix::shm::OFlags::EXCL | rustix::shm::OFlags::RDWR;
            let fd = rustix::shm::open(name.as_str(), flags, Mode::RUSR | Mode::WUSR).unwrap();
            rustix::fs::ftruncate(&fd, 4096).unwrap();
            rustix::fs::fsetxattr(&fd, "system.posix_acl_access", &acl_bytes, rustix::fs::XattrFlags::empty()).unwrap();
            drop(fd);
            rustix::shm::unlink(name.as_str()).unwrap();
        })
    });
    let cases: [(&str, Option<Permissions>); 3] = [
        ("default_0600", None),
        ("null_dacl_mode_only", Some(Permissions::null_dacl())),
        ("user_and_group_acl", Some(acl)),
    ];
    for (label, perms) in cases {
        g.bench_function(label, |b| {
            b.iter(|| {
                let name = format!(r"Local\bench-sec-{}", N.fetch_add(1, Ordering::Relaxed));
                let mut o = ns.mapping().name(&name).size(4096);
                if let Some(p) = &perms {
                    o = o.permissions(p.clone());
                }
                drop(o.create().unwrap());
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(ns.root().expect("rooted"));
}

criterion_group!(benches, security);
criterion_main!(benches);
