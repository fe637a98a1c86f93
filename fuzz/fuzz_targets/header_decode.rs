//! S4: any bytes read from an object file must decode to a header or to an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = filemap::Header::decode(data) {
        // A header that decodes must describe a sane object.
        assert!(header.name.as_ref().is_none_or(|n| n.len() <= 896));
    }
});
