//! S4: a `system.posix_acl_access` value read from an object file (by `filemap info`,
//! `GetSecurityInfo`) decodes to permissions or to an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(acl) = filemap::security::FileAcl::decode(data) {
        let rw = filemap::security::R | filemap::security::W;
        assert!(acl.owner & !rw == 0 && acl.group & !rw == 0 && acl.other & !rw == 0);
        // What decodes can be written back and means the same.
        assert_eq!(filemap::security::FileAcl::decode(&acl.encode()).map(|a| a.mode()).ok(), Some(acl.mode()));
    }
});
