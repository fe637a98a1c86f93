//! The fuzz corpus's forged headers (`fuzz/seeds/header_decode/forged-*`): headers with a
//! *valid* checksum that name what an attacker would (a root-only file, a FIFO, a relative or
//! `..` path, huge sizes, another object's name, terminal escapes). Decoding accepts them (the
//! checksum is no signature); what they name is refused later by the trust checks (tests in
//! `trust.rs`). The fuzzer starts from them so that it explores past the checksum: pass the
//! directory after the working corpus, `cargo fuzz run header_decode fuzz/corpus/header_decode
//! fuzz/seeds/header_decode` (`fuzz/corpus` is not versioned; the seeds are).
//!
//! This test checks that every seed is present, still decodes, and is byte-for-byte what
//! [`seeds`] builds; after a header format change, regenerate them with
//! `FILEMAP_WRITE_SEEDS=1 cargo test -p filemap --test fuzz_seeds`.

use std::path::PathBuf;

use filemap::{Backing, Header, ObjectType};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/header_decode")
}

fn mapping(name: &str, size: u64, backing: Option<(&[u8], u64, u64)>) -> Header {
    use std::os::unix::ffi::OsStrExt;
    Header {
        kind: ObjectType::Mapping,
        protection: filemap::page::READWRITE,
        attributes: if backing.is_some() { filemap::SectionFlags::FILE.0 } else { filemap::SectionFlags::COMMIT.0 },
        mode: 0o644,
        size,
        creator_uid: 65534,
        creator_pid: 4242,
        created_ns: 1_700_000_000_000_000_000,
        backing: backing.map(|(path, dev, ino)| Backing {
            dev,
            ino,
            path: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
        }),
        name: Some(name.to_owned()),
        params: [0; 4],
    }
}

/// (file name, header, sync area) of every seed.
fn seeds() -> Vec<(&'static str, Header, Vec<u8>)> {
    let long_path = format!("/{}", "d/".repeat(1023)).into_bytes();
    let mut mutex = mapping(r"Global\lock", 0, None);
    mutex.kind = ObjectType::Mutex;
    mutex.protection = 0;
    mutex.attributes = 0;
    mutex.params = [u64::MAX, 1, 0x8000_0000, 7];
    vec![
        ("forged-backing-root-only-file", mapping(r"Global\cfg", 26, Some((b"/etc/shadow", 0x803, 1234))), vec![]),
        ("forged-backing-fifo", mapping(r"Global\pipe", 4096, Some((b"/tmp/attacker/fifo", 0x2b, 99))), vec![]),
        ("forged-backing-relative-path", mapping(r"Local\rel", 10, Some((b"etc/shadow", 1, 2))), vec![]),
        ("forged-backing-dotdot", mapping(r"Local\dots", 10, Some((b"/tmp/../etc/./shadow", 1, 2))), vec![]),
        ("forged-backing-directory", mapping(r"Local\dir", 10, Some((b"/", 1, 2))), vec![]),
        ("forged-backing-longest-path", mapping(r"Local\long", 1, Some((&long_path, 1, 2))), vec![]),
        (
            "forged-backing-escapes",
            mapping("Local\\x\x1b]0;pwned\x07", 1, Some((b"/tmp/\x1b[2J\n\xff\xfe", 1, 2))),
            vec![],
        ),
        ("forged-size-largest", mapping(r"Local\huge", i64::MAX as u64 - 4096, None), vec![]),
        ("forged-size-file-backed-huge", mapping(r"Local\hugef", u64::MAX >> 2, Some((b"/dev/zero", 5, 6))), vec![]),
        ("forged-name-of-another-object", mapping(r"Global\victim", 4096, None), vec![]),
        ("forged-name-escapes", mapping("Global\\a\x1b[31m\r\nLocal:forged row\u{202e}", 4096, None), vec![]),
        ("forged-mutex-sync-words", mutex, [0xffu8; 64].into_iter().chain([0u8; 64]).collect()),
    ]
}

#[test]
fn forged_seed_headers_are_in_the_fuzz_corpus_and_decode() {
    let dir = corpus();
    let write = std::env::var_os("FILEMAP_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (file, header, sync) in seeds() {
        let page = header.encode(&sync).unwrap();
        let decoded = Header::decode(&page).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(decoded, header, "{file}");
        let path = dir.join(file);
        if write {
            std::fs::write(&path, &page).unwrap();
        }
        let stored = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (regenerate with FILEMAP_WRITE_SEEDS=1)", path.display()));
        assert!(stored == page, "{file} is stale: regenerate with FILEMAP_WRITE_SEEDS=1");
    }
}
