//! The vocabulary of mappings and views: page protections, `SEC_*` section flags, access
//! rights, and the kind of view an access asks for.

use super::*;

/// The protection of a file mapping object (`flProtect`'s `PAGE_*` part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// `PAGE_READONLY`: views may read (or copy-on-write).
    ReadOnly,
    /// `PAGE_READWRITE`: views may read and write.
    ReadWrite,
    /// `PAGE_WRITECOPY`: views may read, and write to private copies.
    WriteCopy,
    /// `PAGE_EXECUTE_READ`.
    ExecuteRead,
    /// `PAGE_EXECUTE_READWRITE`.
    ExecuteReadWrite,
    /// `PAGE_EXECUTE_WRITECOPY`.
    ExecuteWriteCopy,
}

/// Win32 `PAGE_*` values.
pub mod page {
    /// `PAGE_NOACCESS`
    pub const NOACCESS: u32 = 0x01;
    /// `PAGE_READONLY`
    pub const READONLY: u32 = 0x02;
    /// `PAGE_READWRITE`
    pub const READWRITE: u32 = 0x04;
    /// `PAGE_WRITECOPY`
    pub const WRITECOPY: u32 = 0x08;
    /// `PAGE_EXECUTE`
    pub const EXECUTE: u32 = 0x10;
    /// `PAGE_EXECUTE_READ`
    pub const EXECUTE_READ: u32 = 0x20;
    /// `PAGE_EXECUTE_READWRITE`
    pub const EXECUTE_READWRITE: u32 = 0x40;
    /// `PAGE_EXECUTE_WRITECOPY`
    pub const EXECUTE_WRITECOPY: u32 = 0x80;
}

/// Win32 `SEC_*` section attributes (the high bits of `flProtect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SectionFlags(pub u32);

impl SectionFlags {
    /// `SEC_FILE`: ignored by Windows for mappings; accepted.
    pub const FILE: SectionFlags = SectionFlags(0x0080_0000);
    /// `SEC_IMAGE`: map an executable image.
    pub const IMAGE: SectionFlags = SectionFlags(0x0100_0000);
    /// `SEC_PROTECTED_IMAGE`.
    pub const PROTECTED_IMAGE: SectionFlags = SectionFlags(0x0200_0000);
    /// `SEC_RESERVE`: reserve address space only; memory is allocated on first touch.
    pub const RESERVE: SectionFlags = SectionFlags(0x0400_0000);
    /// `SEC_COMMIT` (the default): all memory is reserved when the object is created.
    pub const COMMIT: SectionFlags = SectionFlags(0x0800_0000);
    /// `SEC_NOCACHE`.
    pub const NOCACHE: SectionFlags = SectionFlags(0x1000_0000);
    /// `SEC_WRITECOMBINE`.
    pub const WRITECOMBINE: SectionFlags = SectionFlags(0x4000_0000);
    /// `SEC_LARGE_PAGES`.
    pub const LARGE_PAGES: SectionFlags = SectionFlags(0x8000_0000);
    /// `SEC_IMAGE_NO_EXECUTE`.
    pub const IMAGE_NO_EXECUTE: SectionFlags = SectionFlags(0x1100_0000);

    const KNOWN: u32 =
        0x0080_0000 | 0x0100_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x4000_0000 | 0x8000_0000;

    /// True if every bit of `other` is set.
    pub fn contains(self, other: SectionFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for SectionFlags {
    type Output = SectionFlags;
    fn bitor(self, rhs: SectionFlags) -> SectionFlags {
        SectionFlags(self.0 | rhs.0)
    }
}

impl Protection {
    /// The `PAGE_*` value.
    pub fn to_win32(self) -> u32 {
        match self {
            Protection::ReadOnly => page::READONLY,
            Protection::ReadWrite => page::READWRITE,
            Protection::WriteCopy => page::WRITECOPY,
            Protection::ExecuteRead => page::EXECUTE_READ,
            Protection::ExecuteReadWrite => page::EXECUTE_READWRITE,
            Protection::ExecuteWriteCopy => page::EXECUTE_WRITECOPY,
        }
    }

    /// Splits a Win32 `flProtect` into its protection and its `SEC_*` attributes, refusing what
    /// `CreateFileMapping` refuses: no protection, two at once, `PAGE_NOACCESS`, `PAGE_EXECUTE`
    /// alone, unknown bits (`ERROR_INVALID_PARAMETER`).
    pub fn from_win32(fl_protect: u32) -> Result<(Protection, SectionFlags)> {
        let prot = fl_protect & 0xff;
        let sec = fl_protect & !0xff;
        let invalid = |why: &str| {
            Error::new(Win32Error::INVALID_PARAMETER, format!("invalid mapping protection {fl_protect:#x}: {why}"))
        };
        let protection = match prot {
            page::READONLY => Protection::ReadOnly,
            page::READWRITE => Protection::ReadWrite,
            page::WRITECOPY => Protection::WriteCopy,
            page::EXECUTE_READ => Protection::ExecuteRead,
            page::EXECUTE_READWRITE => Protection::ExecuteReadWrite,
            page::EXECUTE_WRITECOPY => Protection::ExecuteWriteCopy,
            0 => return Err(invalid("no PAGE_* protection given")),
            page::NOACCESS | page::EXECUTE => {
                return Err(invalid("a file mapping cannot be PAGE_NOACCESS or PAGE_EXECUTE"));
            }
            _ => return Err(invalid("exactly one PAGE_* protection must be given")),
        };
        if sec & !SectionFlags::KNOWN != 0 {
            return Err(invalid("unknown SEC_* or PAGE_* modifier bits"));
        }
        Ok((protection, SectionFlags(sec)))
    }

    pub(super) fn allows_write(self) -> bool {
        matches!(self, Protection::ReadWrite | Protection::ExecuteReadWrite)
    }

    pub(super) fn allows_execute(self) -> bool {
        matches!(self, Protection::ExecuteRead | Protection::ExecuteReadWrite | Protection::ExecuteWriteCopy)
    }
}

/// Access rights of a mapping handle or a view (`FILE_MAP_*` bits, combinable with `|`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access(pub u32);

impl Access {
    /// `FILE_MAP_COPY`: copy-on-write views.
    pub const COPY: Access = Access(0x1);
    /// `FILE_MAP_WRITE`: read-write views.
    pub const WRITE: Access = Access(0x2);
    /// `FILE_MAP_READ`: read-only views.
    pub const READ: Access = Access(0x4);
    /// `FILE_MAP_EXECUTE`: executable views.
    pub const EXECUTE: Access = Access(0x20);
    /// `FILE_MAP_ALL_ACCESS`: everything but explicit execute.
    pub const ALL: Access = Access(0xF_001F);
    const SECTION_MAP_EXECUTE: u32 = 0x8;

    /// True if every right in `other` is present.
    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    pub(super) fn can_read(self) -> bool {
        self.0 & Access::READ.0 != 0
    }
    pub(super) fn can_write(self) -> bool {
        self.0 & Access::WRITE.0 != 0
    }
    pub(super) fn can_execute(self) -> bool {
        self.0 & (Access::EXECUTE.0 | Access::SECTION_MAP_EXECUTE) != 0
    }
}

impl std::ops::BitOr for Access {
    type Output = Access;
    fn bitor(self, rhs: Access) -> Access {
        Access(self.0 | rhs.0)
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Access::ALL {
            return f.write_str("Access(ALL)");
        }
        let mut parts = Vec::new();
        for (bit, name) in
            [(Access::READ, "READ"), (Access::WRITE, "WRITE"), (Access::COPY, "COPY"), (Access::EXECUTE, "EXECUTE")]
        {
            if self.contains(bit) {
                parts.push(name);
            }
        }
        write!(f, "Access({})", if parts.is_empty() { "0".to_string() } else { parts.join("|") })
    }
}

/// What a view can do with its pages, derived from the requested access as Windows does:
/// exactly `FILE_MAP_COPY` (optionally with `FILE_MAP_EXECUTE`) is copy-on-write, otherwise the
/// WRITE bit gives read-write, the READ bit read-only, and anything else (0, EXECUTE alone) a
/// view with no access at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ViewKind {
    NoAccess,
    Read,
    Write,
    Copy,
}
