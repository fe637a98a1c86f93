//! Names: parsing never panics, and every accepted name encodes to a file name that decodes back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(name) = filemap::ObjectName::parse(text) {
        let file = name.file_name();
        assert!(!file.is_empty() && file.len() <= 255 && !file.contains('/'));
        if !file.starts_with("%H") {
            assert_eq!(filemap::name::decode_file_name(&file).as_deref(), Some(name.name()));
        }
    }
});
