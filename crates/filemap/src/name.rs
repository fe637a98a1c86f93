//! Object names: `Local\name`, `Global\name` and bare `name`, validated before they touch the
//! filesystem, and their reversible encoding into file names.
//!
//! Win32 names are case-sensitive, at most `MAX_PATH` (260) UTF-16 units long, and may hold any
//! character except `\` after the optional scope prefix. A name becomes one file in its scope's
//! namespace directory, so it is *encoded*: `/`, `%` and NUL become `%XX`, a leading `.` becomes
//! `%2E` (so `.` and `..` are ordinary names), and a name whose encoding is longer than a file name
//! may be (255 bytes) is stored under `%H` + the SHA-256 of the name. The full name is also kept
//! in the object's header and verified on every open, so even a hash collision can never hand out
//! the wrong object.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result, Win32Error};

/// The longest name Win32 accepts, in UTF-16 units, prefix included.
pub const MAX_NAME_LEN: usize = 260;

/// The longest file name Linux accepts, in bytes.
const MAX_FILE_NAME: usize = 255;

/// Which namespace a name lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `Local\name` or a bare name: private to the user (on Windows: to the session).
    Local,
    /// `Global\name`: machine-wide; creating there is a privilege.
    Global,
}

impl Scope {
    /// The prefix that selects this scope, with its backslash.
    pub fn prefix(self) -> &'static str {
        match self {
            Scope::Local => "Local\\",
            Scope::Global => "Global\\",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Local => "local",
            Scope::Global => "global",
        })
    }
}

/// A validated object name: a scope and the name within it. Cloning it is cheap (the text is
/// shared), and its file name is encoded once, when it is parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectName {
    scope: Scope,
    name: Arc<str>,
    /// The encoded file name when it differs from `name` (a function of `name`, so the derived
    /// comparisons are those of scope and name).
    file: Option<Arc<str>>,
}

impl ObjectName {
    /// Parses a Win32 object name.
    ///
    /// `Global\` and `Local\` select the scope (the prefixes match in any letter case, as the
    /// object manager's symbolic links do); anything else is a Local name. Errors:
    /// `ERROR_FILENAME_EXCED_RANGE` over 260 UTF-16 units, `ERROR_PATH_NOT_FOUND` for a `\`
    /// after the prefix (Windows looks for a directory that does not exist), and
    /// `ERROR_INVALID_NAME` for an empty name after a prefix. The empty string is not a name:
    /// callers treat it as "unnamed" before they get here.
    pub fn parse(full: &str) -> Result<ObjectName> {
        // A UTF-8 character takes at least as many bytes as UTF-16 units: short names need no count.
        if full.len() > MAX_NAME_LEN
            && let units = full.encode_utf16().count()
            && units > MAX_NAME_LEN
        {
            return Err(Error::new(
                Win32Error::FILENAME_EXCED_RANGE,
                format!("object name is {units} characters long; at most {MAX_NAME_LEN} are allowed"),
            ));
        }
        let (scope, rest) = split_scope(full);
        if rest.is_empty() {
            return Err(Error::new(
                Win32Error::INVALID_NAME,
                format!("object name {full:?} is empty after its scope prefix"),
            ));
        }
        if rest.contains('\\') {
            return Err(Error::new(
                Win32Error::PATH_NOT_FOUND,
                format!(
                    "object name {full:?} contains a backslash after its scope prefix; \
                     only Local\\ and Global\\ may precede the name"
                ),
            ));
        }
        let file = encode(rest).map(Arc::from);
        Ok(ObjectName { scope, name: Arc::from(rest), file })
    }

    /// The scope the name lives in.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The name within its scope, without the prefix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name this object has in its namespace directory (see the module docs).
    pub fn file_name(&self) -> String {
        self.file().to_owned()
    }

    /// [`ObjectName::file_name`], borrowed: no allocation (every open and close needs it).
    pub(crate) fn file(&self) -> &str {
        self.file.as_deref().unwrap_or(&self.name)
    }
}

impl ObjectName {
    /// The name written out (`Local\x`), as headers record it: what `to_string` gives, without
    /// the formatting machinery (every create writes it into its header).
    pub(crate) fn written(&self) -> String {
        let prefix = self.scope.prefix();
        let mut out = String::with_capacity(prefix.len() + self.name.len());
        out.push_str(prefix);
        out.push_str(&self.name);
        out
    }

    /// Whether `full` is this name written out (`Local\x`), as headers record it; no allocation.
    pub(crate) fn is_written_as(&self, full: &str) -> bool {
        self.is_written_as_bytes(full.as_bytes())
    }

    /// [`ObjectName::is_written_as`] for bytes not yet known to be text.
    pub(crate) fn is_written_as_bytes(&self, full: &[u8]) -> bool {
        let prefix = self.scope.prefix().as_bytes();
        full.len() == prefix.len() + self.name.len() && full.starts_with(prefix) && full.ends_with(self.name.as_bytes())
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.scope.prefix(), self.name)
    }
}

impl std::str::FromStr for ObjectName {
    type Err = Error;
    fn from_str(s: &str) -> Result<ObjectName> {
        ObjectName::parse(s)
    }
}

fn split_scope(full: &str) -> (Scope, &str) {
    for scope in [Scope::Global, Scope::Local] {
        let prefix = scope.prefix();
        if full.len() >= prefix.len()
            && full.is_char_boundary(prefix.len())
            && full[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return (scope, &full[prefix.len()..]);
        }
    }
    (Scope::Local, full)
}

/// Encodes a name (without prefix) into a file name; see the module docs. `None`: the file name
/// is the name itself (most names need no escape).
fn encode(name: &str) -> Option<String> {
    if name.len() <= MAX_FILE_NAME && !name.starts_with('.') && !name.bytes().any(|b| matches!(b, b'/' | b'%' | 0)) {
        return None;
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, ch) in name.char_indices() {
        match ch {
            '/' | '%' | '\0' => push_escape(&mut out, ch as u8),
            '.' if i == 0 => push_escape(&mut out, b'.'),
            _ => out.push(ch),
        }
    }
    if out.len() > MAX_FILE_NAME {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(name.as_bytes());
        out.clear();
        out.push_str("%H");
        for byte in digest {
            out.push_str(&format!("{byte:02x}"));
        }
    }
    Some(out)
}

fn push_escape(out: &mut String, byte: u8) {
    out.push_str(&format!("%{byte:02X}"));
}

/// Decodes a file name made by [`ObjectName::file_name`]. Returns `None` for hashed names (their
/// full name is only in the header) and for file names this crate never makes.
pub fn decode_file_name(file: &str) -> Option<String> {
    if file.starts_with("%H") || file.starts_with('.') || file.is_empty() {
        return None;
    }
    let bytes = file.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = file.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if !matches!(byte, b'/' | b'%' | 0 | b'.') || hex.to_ascii_uppercase() != hex {
                return None;
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_select_the_scope() {
        let n = ObjectName::parse("Global\\Foo").unwrap();
        assert_eq!((n.scope(), n.name()), (Scope::Global, "Foo"));
        let n = ObjectName::parse("local\\Foo").unwrap();
        assert_eq!((n.scope(), n.name()), (Scope::Local, "Foo"));
        let n = ObjectName::parse("Foo").unwrap();
        assert_eq!((n.scope(), n.name()), (Scope::Local, "Foo"));
        assert_eq!(n.to_string(), "Local\\Foo");
        assert_eq!(n.written(), n.to_string());
    }

    #[test]
    fn names_are_case_sensitive() {
        assert_ne!(ObjectName::parse("foo").unwrap().file_name(), ObjectName::parse("Foo").unwrap().file_name());
    }

    #[test]
    fn bad_names_get_windows_codes() {
        assert_eq!(ObjectName::parse("Local\\a\\b").unwrap_err().code(), Win32Error::PATH_NOT_FOUND);
        assert_eq!(ObjectName::parse("a\\b").unwrap_err().code(), Win32Error::PATH_NOT_FOUND);
        assert_eq!(ObjectName::parse("Global\\").unwrap_err().code(), Win32Error::INVALID_NAME);
        let long = "x".repeat(261);
        assert_eq!(ObjectName::parse(&long).unwrap_err().code(), Win32Error::FILENAME_EXCED_RANGE);
        assert!(ObjectName::parse(&"x".repeat(260)).is_ok());
    }

    #[test]
    fn tricky_names_encode_to_safe_distinct_file_names() {
        let names = [".", "..", "a/b", "a%2Fb", "%H00", "with space", "ünïcødé", "nul\0byte", ".hidden"];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let file = ObjectName::parse(name).unwrap().file_name();
            assert!(!file.contains('/') && !file.contains('\0') && file != "." && file != "..");
            assert!(!file.starts_with('.'));
            assert_eq!(decode_file_name(&file).as_deref(), Some(name), "{file}");
            assert!(seen.insert(file));
        }
    }

    #[test]
    fn long_names_are_hashed_under_the_file_name_limit() {
        let name = "é".repeat(200); // 400 bytes of UTF-8, 200 UTF-16 units
        let file = ObjectName::parse(&name).unwrap().file_name();
        assert!(file.starts_with("%H") && file.len() <= MAX_FILE_NAME);
        assert_eq!(decode_file_name(&file), None);
    }

    proptest::proptest! {
        #[test]
        fn encoding_is_reversible_and_safe(name in "[^\\\\]{1,100}") {
            let parsed = ObjectName::parse(&name);
            if let Ok(parsed) = parsed {
                let file = parsed.file_name();
                proptest::prop_assert!(file.len() <= MAX_FILE_NAME);
                proptest::prop_assert!(!file.contains('/') && !file.contains('\0'));
                proptest::prop_assert!(file != "." && file != "..");
                if let Some(back) = decode_file_name(&file) {
                    proptest::prop_assert_eq!(back, parsed.name());
                }
            }
        }
    }
}
