//! Security descriptors: Windows' binary `SID`, `ACL`, `ACE` and `SECURITY_DESCRIPTOR` layouts
//! (absolute and self-relative), SDDL strings, and what `lpSecurityDescriptor` means at create.
//!
//! A descriptor given to a `Create*` function becomes a [`filemap::security::Permissions`]
//! (its DACL) and from there the object file's mode and POSIX ACL, which the kernel enforces at
//! every open (see the core's `security` module for the mapping and its conservative rules).
//! No descriptor, or one without a DACL, leaves the object owner-only. A malformed descriptor
//! fails the create with `ERROR_INVALID_SECURITY_DESCR` and creates nothing.
//!
//! Everything this module allocates for the caller (`ConvertString*`, `GetSecurityInfo`,
//! `AllocateAndInitializeSid`) is `malloc`ed: `LocalFree` (and `FreeSid`) is `free`.
//!
//! SIDs of Unix users and groups follow Samba's convention, `S-1-22-1-<uid>` and
//! `S-1-22-2-<gid>`; Administrators (`BA`) and Local System (`SY`) stand for root.

#![allow(unsafe_code)] // reading and writing caller-provided security structures

use std::ffi::{c_char, c_void};

use filemap::ObjectType;
use filemap::Win32Error;
use filemap::security::{AceKind, Permissions, Trustee};

use crate::error::{Fail, Res, boundary, set_last_error};
use crate::handles::{self, Object};
use crate::strings::{WChar, a_str, w_str};
use crate::{BOOL, DWORD, FALSE, HANDLE, SECURITY_ATTRIBUTES, TRUE};

/// `ERROR_INVALID_ACL`.
pub const ERROR_INVALID_ACL: u32 = 1336;
/// `ERROR_INVALID_SID`.
pub const ERROR_INVALID_SID: u32 = 1337;
/// `ERROR_INVALID_SECURITY_DESCR`.
pub const ERROR_INVALID_SECURITY_DESCR: u32 = 1338;
/// `ERROR_UNKNOWN_REVISION`.
pub const ERROR_UNKNOWN_REVISION: u32 = 1305;
/// `ERROR_REVISION_MISMATCH`.
pub const ERROR_REVISION_MISMATCH: u32 = 1306;
/// `ERROR_ALLOTTED_SPACE_EXCEEDED`.
pub const ERROR_ALLOTTED_SPACE_EXCEEDED: u32 = 1344;
/// `ERROR_INVALID_SECURITY_DESCR`'s neighbour for SDs not in absolute form.
pub const ERROR_BAD_DESCRIPTOR_FORMAT: u32 = 1361;

/// `SECURITY_DESCRIPTOR_REVISION`.
pub const SECURITY_DESCRIPTOR_REVISION: u32 = 1;
/// `SECURITY_DESCRIPTOR_MIN_LENGTH` on 64-bit Windows (the absolute form).
pub const SECURITY_DESCRIPTOR_MIN_LENGTH: usize = 40;
/// `SE_DACL_PRESENT`.
pub const SE_DACL_PRESENT: u16 = 0x0004;
/// `SE_DACL_DEFAULTED`.
pub const SE_DACL_DEFAULTED: u16 = 0x0008;
/// `SE_SACL_PRESENT`.
pub const SE_SACL_PRESENT: u16 = 0x0010;
/// `SE_SACL_DEFAULTED`.
pub const SE_SACL_DEFAULTED: u16 = 0x0020;
/// `SE_OWNER_DEFAULTED`.
pub const SE_OWNER_DEFAULTED: u16 = 0x0001;
/// `SE_GROUP_DEFAULTED`.
pub const SE_GROUP_DEFAULTED: u16 = 0x0002;
/// `SE_DACL_AUTO_INHERIT_REQ`.
pub const SE_DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
/// `SE_DACL_AUTO_INHERITED`.
pub const SE_DACL_AUTO_INHERITED: u16 = 0x0400;
/// `SE_DACL_PROTECTED`.
pub const SE_DACL_PROTECTED: u16 = 0x1000;
/// `SE_SACL_AUTO_INHERIT_REQ`.
pub const SE_SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
/// `SE_SACL_AUTO_INHERITED`.
pub const SE_SACL_AUTO_INHERITED: u16 = 0x0800;
/// `SE_SACL_PROTECTED`.
pub const SE_SACL_PROTECTED: u16 = 0x2000;
/// `SE_SELF_RELATIVE`.
pub const SE_SELF_RELATIVE: u16 = 0x8000;
/// `ACCESS_ALLOWED_ACE_TYPE`.
pub const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
/// `ACCESS_DENIED_ACE_TYPE`.
pub const ACCESS_DENIED_ACE_TYPE: u8 = 1;
/// `SYSTEM_AUDIT_ACE_TYPE`.
pub const SYSTEM_AUDIT_ACE_TYPE: u8 = 2;
/// `SYSTEM_MANDATORY_LABEL_ACE_TYPE`.
pub const SYSTEM_MANDATORY_LABEL_ACE_TYPE: u8 = 0x11;
/// `INHERIT_ONLY_ACE`: the entry does not apply to the object itself.
pub const INHERIT_ONLY_ACE: u8 = 0x08;
/// `VALID_INHERIT_FLAGS`.
pub const VALID_INHERIT_FLAGS: u8 = 0x1f;
/// `SDDL_REVISION_1`.
pub const SDDL_REVISION_1: u32 = 1;
/// `OWNER_SECURITY_INFORMATION`.
pub const OWNER_SECURITY_INFORMATION: u32 = 1;
/// `GROUP_SECURITY_INFORMATION`.
pub const GROUP_SECURITY_INFORMATION: u32 = 2;
/// `DACL_SECURITY_INFORMATION`.
pub const DACL_SECURITY_INFORMATION: u32 = 4;
/// `SACL_SECURITY_INFORMATION`.
pub const SACL_SECURITY_INFORMATION: u32 = 8;
/// `SE_FILE_OBJECT`.
pub const SE_FILE_OBJECT: u32 = 1;
/// `SE_KERNEL_OBJECT`.
pub const SE_KERNEL_OBJECT: u32 = 6;
const READ_CONTROL: u32 = 0x0002_0000;
const WRITE_DAC: u32 = 0x0004_0000;
const SID_MAX_SUB_AUTHORITIES: usize = 15;

// ---------------------------------------------------------------------------------------------
// A parsed model of the binary structures.
// ---------------------------------------------------------------------------------------------

/// A SID: identifier authority (48 bits) and sub-authorities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sid {
    /// The identifier authority.
    pub authority: u64,
    /// The sub-authorities (at most 15).
    pub subs: Vec<u32>,
}

/// One ACE of a supported type (allow, deny, audit, mandatory label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AceEntry {
    /// `AceType`.
    pub kind: u8,
    /// `AceFlags`.
    pub flags: u8,
    /// The access mask.
    pub mask: u32,
    /// The trustee.
    pub sid: Sid,
}

/// An ACL: revision and entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// `AclRevision` (2 or 4).
    pub revision: u8,
    /// The entries, in order.
    pub aces: Vec<AceEntry>,
}

/// A security descriptor. A present list that is `None` is the *null* list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Descriptor {
    /// Control bits (without `SE_SELF_RELATIVE`).
    pub control: u16,
    /// Owner SID.
    pub owner: Option<Sid>,
    /// Primary group SID.
    pub group: Option<Sid>,
    /// DACL (meaningful when `SE_DACL_PRESENT`).
    pub dacl: Option<Acl>,
    /// SACL (meaningful when `SE_SACL_PRESENT`).
    pub sacl: Option<Acl>,
}

impl Sid {
    fn len(&self) -> usize {
        8 + 4 * self.subs.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(1);
        out.push(self.subs.len() as u8);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.subs {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }

    /// Reads a SID. `limit` bounds the bytes that may be read when known.
    ///
    /// # Safety
    /// `p` must point to at least 8 readable bytes, and to `8 + 4 * SubAuthorityCount` when
    /// `limit` is `None`.
    unsafe fn read(p: *const u8, limit: Option<usize>) -> Res<Sid> {
        if p.is_null() {
            return Err(Fail(ERROR_INVALID_SID));
        }
        if limit.is_some_and(|l| l < 8) {
            return Err(Fail(ERROR_INVALID_SID));
        }
        // SAFETY: 8 readable bytes (caller's promise, checked against `limit`).
        let head = unsafe { std::slice::from_raw_parts(p, 8) };
        let count = head[1] as usize;
        if head[0] != 1 || count > SID_MAX_SUB_AUTHORITIES {
            return Err(Fail(ERROR_INVALID_SID));
        }
        if limit.is_some_and(|l| l < 8 + 4 * count) {
            return Err(Fail(ERROR_INVALID_SID));
        }
        let mut auth = [0u8; 8];
        auth[2..].copy_from_slice(&head[2..8]);
        // SAFETY: the sub-authorities follow (caller's promise, checked against `limit`).
        let subs = unsafe { std::slice::from_raw_parts(p.add(8), 4 * count) };
        Ok(Sid {
            authority: u64::from_be_bytes(auth),
            subs: subs.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        })
    }

    /// `S-1-5-32-544`.
    pub fn to_string_form(&self) -> String {
        let mut s = if self.authority >= 1 << 32 {
            format!("S-1-0x{:012X}", self.authority)
        } else {
            format!("S-1-{}", self.authority)
        };
        for sub in &self.subs {
            s.push_str(&format!("-{sub}"));
        }
        s
    }

    /// Parses `S-1-...` or an SDDL alias (`WD`, `BA`, ...).
    pub fn parse(text: &str) -> Option<Sid> {
        if let Some((_, sid)) = ALIASES.iter().find(|(a, _)| *a == text) {
            return Sid::parse(sid);
        }
        let rest = text.strip_prefix("S-1-").or_else(|| text.strip_prefix("s-1-"))?;
        let mut parts = rest.split('-');
        let auth = parts.next()?;
        let authority = match auth.strip_prefix("0x").or_else(|| auth.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).ok()?,
            None => auth.parse::<u64>().ok()?,
        };
        if authority >= 1 << 48 {
            return None;
        }
        let subs = parts.map(|p| p.parse::<u32>().ok()).collect::<Option<Vec<_>>>()?;
        if subs.len() > SID_MAX_SUB_AUTHORITIES {
            return None;
        }
        Some(Sid { authority, subs })
    }

    /// The SDDL form: an alias where Windows prints one, else `S-1-...`.
    pub fn to_sddl(&self) -> String {
        let s = self.to_string_form();
        ALIASES.iter().find(|(_, sid)| *sid == s).map_or(s, |(a, _)| (*a).to_string())
    }

    /// The core's trustee for this SID.
    pub fn trustee(&self) -> Trustee {
        Trustee::from_parts(self.authority, &self.subs)
    }

    fn from_trustee(t: &Trustee) -> Sid {
        Sid::parse(&t.sid()).unwrap_or(Sid { authority: 0, subs: vec![0] })
    }
}

/// SDDL SID aliases (the ones Windows prints when converting to a string).
const ALIASES: &[(&str, &str)] = &[
    ("WD", "S-1-1-0"),
    ("CO", "S-1-3-0"),
    ("CG", "S-1-3-1"),
    ("OW", "S-1-3-4"),
    ("NU", "S-1-5-2"),
    ("IU", "S-1-5-4"),
    ("SU", "S-1-5-6"),
    ("AN", "S-1-5-7"),
    ("PS", "S-1-5-10"),
    ("AU", "S-1-5-11"),
    ("RC", "S-1-5-12"),
    ("SY", "S-1-5-18"),
    ("LS", "S-1-5-19"),
    ("NS", "S-1-5-20"),
    ("BA", "S-1-5-32-544"),
    ("BU", "S-1-5-32-545"),
    ("BG", "S-1-5-32-546"),
    ("PU", "S-1-5-32-547"),
    ("BO", "S-1-5-32-551"),
    ("RD", "S-1-5-32-555"),
    ("LW", "S-1-16-4096"),
    ("ME", "S-1-16-8192"),
    ("HI", "S-1-16-12288"),
    ("SI", "S-1-16-16384"),
];

impl Acl {
    fn encoded_len(&self) -> usize {
        8 + self.aces.iter().map(|a| 8 + a.sid.len()).sum::<usize>()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let size = self.encoded_len();
        out.push(self.revision);
        out.push(0);
        out.extend_from_slice(&(size as u16).to_le_bytes());
        out.extend_from_slice(&(self.aces.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for a in &self.aces {
            out.push(a.kind);
            out.push(a.flags);
            out.extend_from_slice(&((8 + a.sid.len()) as u16).to_le_bytes());
            out.extend_from_slice(&a.mask.to_le_bytes());
            a.sid.encode(out);
        }
    }

    /// Reads and validates an ACL (header, then every entry inside `AclSize`).
    ///
    /// # Safety
    /// `p` must point to a readable ACL of `AclSize` bytes (at least its 8-byte header).
    unsafe fn read(p: *const u8) -> Res<Acl> {
        if p.is_null() {
            return Err(Fail(ERROR_INVALID_ACL));
        }
        // SAFETY: the 8-byte header is readable (caller's promise).
        let head = unsafe { std::slice::from_raw_parts(p, 8) };
        let revision = head[0];
        let size = u16::from_le_bytes([head[2], head[3]]) as usize;
        let count = u16::from_le_bytes([head[4], head[5]]) as usize;
        if !(2..=4).contains(&revision) || size < 8 {
            return Err(Fail(ERROR_INVALID_ACL));
        }
        // SAFETY: `AclSize` bytes are readable (caller's promise).
        let body = unsafe { std::slice::from_raw_parts(p, size) };
        let mut off = 8;
        let mut aces = Vec::with_capacity(count);
        for _ in 0..count {
            if off + 8 > size {
                return Err(Fail(ERROR_INVALID_ACL));
            }
            let kind = body[off];
            let flags = body[off + 1];
            let ace_size = u16::from_le_bytes([body[off + 2], body[off + 3]]) as usize;
            if ace_size < 8 + 8 || off + ace_size > size || !ace_size.is_multiple_of(4) {
                return Err(Fail(ERROR_INVALID_ACL));
            }
            if !matches!(
                kind,
                ACCESS_ALLOWED_ACE_TYPE
                    | ACCESS_DENIED_ACE_TYPE
                    | SYSTEM_AUDIT_ACE_TYPE
                    | SYSTEM_MANDATORY_LABEL_ACE_TYPE
            ) {
                return Err(Fail(ERROR_INVALID_ACL)); // object and callback ACEs are not supported
            }
            let mask = u32::from_le_bytes([body[off + 4], body[off + 5], body[off + 6], body[off + 7]]);
            // SAFETY: inside the ACL (bounded by `ace_size - 8`).
            let sid = unsafe { Sid::read(body.as_ptr().add(off + 8), Some(ace_size - 8)) }
                .map_err(|_| Fail(ERROR_INVALID_ACL))?;
            aces.push(AceEntry { kind, flags, mask, sid });
            off += ace_size;
        }
        Ok(Acl { revision, aces })
    }
}

impl Descriptor {
    /// Reads a descriptor in absolute or self-relative form. Fails with
    /// `ERROR_INVALID_SECURITY_DESCR` for a bad revision or any malformed part.
    ///
    /// # Safety
    /// `p` must point to a readable descriptor whose SIDs and ACLs are readable.
    pub unsafe fn read(p: *const c_void) -> Res<Descriptor> {
        let bad = Fail(ERROR_INVALID_SECURITY_DESCR);
        if p.is_null() {
            return Err(bad);
        }
        let p = p.cast::<u8>();
        // SAFETY: a descriptor's 4-byte header is readable (caller's promise).
        let head = unsafe { std::slice::from_raw_parts(p, 4) };
        if head[0] != 1 {
            return Err(Fail(ERROR_INVALID_SECURITY_DESCR));
        }
        let control = u16::from_le_bytes([head[2], head[3]]);
        let part = |i: usize| -> *const u8 {
            if control & SE_SELF_RELATIVE != 0 {
                // SAFETY: the self-relative header holds four u32 offsets after the first word.
                let off = unsafe { std::ptr::read_unaligned(p.add(4 + 4 * i).cast::<u32>()) } as usize;
                // SAFETY: offsets point inside the caller's descriptor (caller's promise).
                if off == 0 { std::ptr::null() } else { unsafe { p.add(off) } }
            } else {
                // SAFETY: the absolute header holds four pointers at offset 8.
                unsafe { std::ptr::read_unaligned(p.add(8 + 8 * i).cast::<*const u8>()) }
            }
        };
        let (owner_p, group_p, sacl_p, dacl_p) = (part(0), part(1), part(2), part(3));
        let owner = if owner_p.is_null() {
            None
        } else {
            // SAFETY: a non-NULL part of a readable descriptor (caller's promise).
            Some(unsafe { Sid::read(owner_p, None) }.map_err(|_| bad)?)
        };
        let group = if group_p.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { Sid::read(group_p, None) }.map_err(|_| bad)?)
        };
        let dacl = if control & SE_DACL_PRESENT == 0 || dacl_p.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { Acl::read(dacl_p) }.map_err(|_| bad)?)
        };
        let sacl = if control & SE_SACL_PRESENT == 0 || sacl_p.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { Acl::read(sacl_p) }.map_err(|_| bad)?)
        };
        Ok(Descriptor { control: control & !SE_SELF_RELATIVE, owner, group, dacl, sacl })
    }

    /// The self-relative form (header, then owner, group, SACL, DACL).
    pub fn to_self_relative(&self) -> Vec<u8> {
        let mut out = vec![1, 0];
        out.extend_from_slice(&(self.control | SE_SELF_RELATIVE).to_le_bytes());
        out.resize(20, 0);
        let put = |out: &mut Vec<u8>, slot: usize, write: &dyn Fn(&mut Vec<u8>)| {
            let off = out.len() as u32;
            out[4 + 4 * slot..8 + 4 * slot].copy_from_slice(&off.to_le_bytes());
            write(out);
        };
        if let Some(o) = &self.owner {
            put(&mut out, 0, &|out| o.encode(out));
        }
        if let Some(g) = &self.group {
            put(&mut out, 1, &|out| g.encode(out));
        }
        if let (true, Some(s)) = (self.control & SE_SACL_PRESENT != 0, &self.sacl) {
            put(&mut out, 2, &|out| s.encode(out));
        }
        if let (true, Some(d)) = (self.control & SE_DACL_PRESENT != 0, &self.dacl) {
            put(&mut out, 3, &|out| d.encode(out));
        }
        out
    }

    /// The DACL as core permissions: `None` without a DACL (the default: owner-only), the null
    /// DACL, or its allow and deny entries (inherit-only entries do not apply to the object;
    /// audit and label entries belong in the SACL and are refused in a DACL).
    pub fn permissions(&self) -> Res<Option<Permissions>> {
        if self.control & SE_DACL_PRESENT == 0 {
            return Ok(None);
        }
        let Some(dacl) = &self.dacl else {
            return Ok(Some(Permissions::null_dacl()));
        };
        let mut perms = Permissions::new();
        for ace in &dacl.aces {
            if ace.flags & INHERIT_ONLY_ACE != 0 {
                continue;
            }
            let kind = match ace.kind {
                ACCESS_ALLOWED_ACE_TYPE => AceKind::Allow,
                ACCESS_DENIED_ACE_TYPE => AceKind::Deny,
                _ => return Err(Fail(ERROR_INVALID_SECURITY_DESCR)),
            };
            perms = perms.push(kind, ace.sid.trustee(), ace.mask);
        }
        Ok(Some(perms))
    }
}

/// The permissions `lpSecurityAttributes` asks for at create: `None` (owner-only) without a
/// descriptor or without a DACL in it.
///
/// # Safety
/// `sa` must be NULL or valid, and its descriptor NULL or readable.
pub(crate) unsafe fn permissions_from(sa: *const SECURITY_ATTRIBUTES) -> Res<Option<Permissions>> {
    // SAFETY: NULL or valid (caller's promise).
    let Some(sa) = (unsafe { sa.as_ref() }) else { return Ok(None) };
    if sa.lpSecurityDescriptor.is_null() {
        return Ok(None);
    }
    // SAFETY: a readable descriptor (caller's promise).
    unsafe { Descriptor::read(sa.lpSecurityDescriptor) }?.permissions()
}

// ---------------------------------------------------------------------------------------------
// SDDL
// ---------------------------------------------------------------------------------------------

/// Access right tokens that stand for one bit, in the order Windows prints them.
const RIGHT_BITS: &[(&str, u32)] = &[
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    ("SD", 0x1_0000),
    ("RC", 0x2_0000),
    ("WD", 0x4_0000),
    ("WO", 0x8_0000),
    ("GA", 0x1000_0000),
    ("GX", 0x2000_0000),
    ("GW", 0x4000_0000),
    ("GR", 0x8000_0000),
];

/// Tokens for whole rights sets (file and registry), printed only on an exact match.
const RIGHT_SETS: &[(&str, u32)] = &[
    ("FA", 0x001F_01FF),
    ("FR", 0x0012_0089),
    ("FW", 0x0012_0116),
    ("FX", 0x0012_00A0),
    ("KA", 0x000F_003F),
    ("KR", 0x0002_0019),
    ("KW", 0x0002_0006),
    ("KX", 0x0002_0019),
    ("NR", 0x1),
    ("NW", 0x2),
    ("NX", 0x4),
];

const ACE_FLAGS: &[(&str, u8)] =
    &[("OI", 0x1), ("CI", 0x2), ("NP", 0x4), ("IO", 0x8), ("ID", 0x10), ("SA", 0x40), ("FA", 0x80)];

const ACE_TYPES: &[(&str, u8)] = &[
    ("A", ACCESS_ALLOWED_ACE_TYPE),
    ("D", ACCESS_DENIED_ACE_TYPE),
    ("AU", SYSTEM_AUDIT_ACE_TYPE),
    ("ML", SYSTEM_MANDATORY_LABEL_ACE_TYPE),
];

/// Parses `text` as pairs of letters from `table` (or, for rights, a hex/decimal number).
fn tokens<T: Copy + std::ops::BitOr<Output = T> + Default>(text: &str, table: &[(&str, T)]) -> Option<T> {
    let mut out = T::default();
    let mut rest = text;
    while !rest.is_empty() {
        let tok = rest.get(..2)?;
        out = out | table.iter().find(|(t, _)| *t == tok)?.1;
        rest = &rest[2..];
    }
    Some(out)
}

fn parse_rights(text: &str, kind: u8) -> Option<u32> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok();
    }
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return text.parse().ok();
    }
    let mut out = 0u32;
    let mut rest = text;
    while !rest.is_empty() {
        let tok = rest.get(..2)?;
        // `NR`/`NW`/`NX` only mean something in mandatory label entries; `FA` is a right.
        let sets = RIGHT_SETS.iter().filter(|(t, _)| kind == SYSTEM_MANDATORY_LABEL_ACE_TYPE || !t.starts_with('N'));
        out |= RIGHT_BITS.iter().chain(sets).find(|(t, _)| *t == tok)?.1;
        rest = &rest[2..];
    }
    Some(out)
}

fn format_rights(mask: u32, kind: u8) -> String {
    if kind == SYSTEM_MANDATORY_LABEL_ACE_TYPE && mask != 0 && mask & !7 == 0 {
        let label = [("NR", 1), ("NW", 2), ("NX", 4)];
        return label.iter().filter(|(_, b)| mask & b != 0).map(|(t, _)| *t).collect();
    }
    if let Some((t, _)) = RIGHT_SETS.iter().find(|(t, v)| *v == mask && !t.starts_with('N')) {
        return (*t).to_string();
    }
    let known = RIGHT_BITS.iter().fold(0, |m, (_, b)| m | b);
    if mask & !known != 0 || mask == 0 {
        return format!("0x{mask:x}");
    }
    RIGHT_BITS.iter().filter(|(_, b)| mask & b != 0).map(|(t, _)| *t).collect()
}

/// Parses an ACL's SDDL text (`P(A;;GA;;;WD)...`): its control flags and entries.
fn parse_acl(text: &str, protected: u16, auto_req: u16, auto: u16) -> Res<(u16, Option<Acl>)> {
    let bad_acl = Fail(ERROR_INVALID_ACL);
    let mut control = 0;
    let mut rest = text;
    loop {
        if let Some(r) = rest.strip_prefix("NO_ACCESS_CONTROL") {
            if !r.is_empty() {
                return Err(bad_acl);
            }
            return Ok((control, None));
        } else if let Some(r) = rest.strip_prefix('P') {
            control |= protected;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("AR") {
            control |= auto_req;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("AI") {
            control |= auto;
            rest = r;
        } else {
            break;
        }
    }
    let mut aces = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('(').ok_or(bad_acl)?;
        let end = inner.find(')').ok_or(bad_acl)?;
        let fields: Vec<&str> = inner[..end].split(';').collect();
        rest = &inner[end + 1..];
        if fields.len() != 6 || !fields[3].is_empty() || !fields[4].is_empty() {
            return Err(bad_acl); // object ACEs (with GUIDs) are not supported
        }
        let kind = ACE_TYPES.iter().find(|(t, _)| *t == fields[0]).ok_or(bad_acl)?.1;
        let flags = tokens(fields[1], ACE_FLAGS).ok_or(bad_acl)?;
        let mask = parse_rights(fields[2], kind).ok_or(bad_acl)?;
        let sid = Sid::parse(fields[5]).ok_or(bad_acl)?;
        aces.push(AceEntry { kind, flags, mask, sid });
    }
    Ok((control, Some(Acl { revision: 2, aces })))
}

/// Parses an SDDL security descriptor string (`O:`, `G:`, `D:`, `S:` parts, any order).
pub fn parse_sddl(text: &str) -> Res<Descriptor> {
    let invalid = Fail(Win32Error::INVALID_PARAMETER.0);
    let mut sd = Descriptor::default();
    let mut rest = text.trim();
    // Split into parts at each `X:` that starts a part (outside parentheses).
    let mut parts: Vec<(char, &str)> = Vec::new();
    while !rest.is_empty() {
        let mut chars = rest.chars();
        let tag = chars.next().ok_or(invalid)?;
        if chars.next() != Some(':') || !matches!(tag, 'O' | 'G' | 'D' | 'S') {
            return Err(invalid);
        }
        let body = &rest[2..];
        let mut depth = 0i32;
        let mut end = body.len();
        let bytes = body.as_bytes();
        for i in 0..bytes.len() {
            match bytes[i] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                b'O' | b'G' | b'D' | b'S' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        parts.push((tag, &body[..end]));
        rest = &body[end..];
    }
    for (tag, body) in parts {
        match tag {
            'O' => sd.owner = Some(Sid::parse(body).ok_or(Fail(ERROR_INVALID_SID))?),
            'G' => sd.group = Some(Sid::parse(body).ok_or(Fail(ERROR_INVALID_SID))?),
            'D' => {
                let (control, acl) =
                    parse_acl(body, SE_DACL_PROTECTED, SE_DACL_AUTO_INHERIT_REQ, SE_DACL_AUTO_INHERITED)?;
                sd.control |= control | SE_DACL_PRESENT;
                sd.dacl = acl;
            }
            _ => {
                let (control, acl) =
                    parse_acl(body, SE_SACL_PROTECTED, SE_SACL_AUTO_INHERIT_REQ, SE_SACL_AUTO_INHERITED)?;
                sd.control |= control | SE_SACL_PRESENT;
                sd.sacl = acl;
            }
        }
    }
    Ok(sd)
}

fn format_acl(out: &mut String, tag: char, control: u16, bits: [u16; 3], acl: &Option<Acl>) {
    out.push(tag);
    out.push(':');
    if control & bits[0] != 0 {
        out.push('P');
    }
    if control & bits[1] != 0 {
        out.push_str("AR");
    }
    if control & bits[2] != 0 {
        out.push_str("AI");
    }
    let Some(acl) = acl else {
        out.push_str("NO_ACCESS_CONTROL");
        return;
    };
    for ace in &acl.aces {
        let kind = ACE_TYPES.iter().find(|(_, k)| *k == ace.kind).map_or("A", |(t, _)| t);
        let flags: String = ACE_FLAGS.iter().filter(|(_, f)| ace.flags & f != 0).map(|(t, _)| *t).collect();
        out.push_str(&format!("({kind};{flags};{};;;{})", format_rights(ace.mask, ace.kind), ace.sid.to_sddl()));
    }
}

/// The SDDL string of the parts of `sd` that `info` selects (`*_SECURITY_INFORMATION`).
pub fn format_sddl(sd: &Descriptor, info: u32) -> String {
    let mut out = String::new();
    if let (true, Some(o)) = (info & OWNER_SECURITY_INFORMATION != 0, &sd.owner) {
        out.push_str("O:");
        out.push_str(&o.to_sddl());
    }
    if let (true, Some(g)) = (info & GROUP_SECURITY_INFORMATION != 0, &sd.group) {
        out.push_str("G:");
        out.push_str(&g.to_sddl());
    }
    if info & DACL_SECURITY_INFORMATION != 0 && sd.control & SE_DACL_PRESENT != 0 {
        let bits = [SE_DACL_PROTECTED, SE_DACL_AUTO_INHERIT_REQ, SE_DACL_AUTO_INHERITED];
        format_acl(&mut out, 'D', sd.control, bits, &sd.dacl);
    }
    if info & SACL_SECURITY_INFORMATION != 0 && sd.control & SE_SACL_PRESENT != 0 {
        let bits = [SE_SACL_PROTECTED, SE_SACL_AUTO_INHERIT_REQ, SE_SACL_AUTO_INHERITED];
        format_acl(&mut out, 'S', sd.control, bits, &sd.sacl);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Memory handed to the caller (freed with LocalFree / FreeSid: `free`).
// ---------------------------------------------------------------------------------------------

fn malloc_copy(bytes: &[u8]) -> Res<*mut u8> {
    // SAFETY: malloc of at least one byte.
    let p = unsafe { libc::malloc(bytes.len().max(1)) }.cast::<u8>();
    if p.is_null() {
        return Err(Fail(Win32Error::NOT_ENOUGH_MEMORY.0));
    }
    // SAFETY: `p` has room for `bytes.len()` bytes and does not overlap `bytes`.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    Ok(p)
}

/// A malloc'd NUL-terminated copy of ASCII text in `T` units.
fn malloc_text<T: Copy + From<u8>>(text: &str) -> Res<(*mut T, usize)> {
    let units: Vec<T> = text.bytes().map(T::from).chain(std::iter::once(T::from(0))).collect();
    let size = std::mem::size_of_val(units.as_slice());
    // SAFETY: reinterpreting the units as their bytes (plain integers, no padding).
    let bytes = unsafe { std::slice::from_raw_parts(units.as_ptr().cast::<u8>(), size) };
    Ok((malloc_copy(bytes)?.cast::<T>(), units.len()))
}

/// # Safety
/// `out` must be NULL or writable.
unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable (caller's promise).
        unsafe { out.write_unaligned(value) };
    }
}

// ---------------------------------------------------------------------------------------------
// Exports: descriptors
// ---------------------------------------------------------------------------------------------

/// `InitializeSecurityDescriptor`: an empty absolute descriptor (no owner, group or lists).
/// A revision other than 1 fails with `ERROR_UNKNOWN_REVISION`.
///
/// # Safety
/// `pSecurityDescriptor` must point to `SECURITY_DESCRIPTOR_MIN_LENGTH` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn InitializeSecurityDescriptor(
    pSecurityDescriptor: *mut c_void,
    dwRevision: DWORD,
) -> BOOL {
    boundary(FALSE, || {
        if dwRevision != SECURITY_DESCRIPTOR_REVISION {
            return Err(Fail(ERROR_UNKNOWN_REVISION));
        }
        if pSecurityDescriptor.is_null() {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        // SAFETY: 40 writable bytes (caller's promise).
        unsafe {
            std::ptr::write_bytes(pSecurityDescriptor.cast::<u8>(), 0, SECURITY_DESCRIPTOR_MIN_LENGTH);
            pSecurityDescriptor.cast::<u8>().write(1);
        }
        Ok(TRUE)
    })
}

/// Checks that `sd` is an absolute descriptor of revision 1 that may be changed.
///
/// # Safety
/// `sd` must be NULL or point to a readable descriptor header.
unsafe fn absolute(sd: *mut c_void) -> Res<*mut u8> {
    if sd.is_null() {
        return Err(Fail(ERROR_INVALID_SECURITY_DESCR));
    }
    let p = sd.cast::<u8>();
    // SAFETY: the 4-byte header is readable (caller's promise).
    let (rev, control) = unsafe { (*p, std::ptr::read_unaligned(p.add(2).cast::<u16>())) };
    if rev != 1 {
        return Err(Fail(ERROR_UNKNOWN_REVISION));
    }
    if control & SE_SELF_RELATIVE != 0 {
        return Err(Fail(ERROR_INVALID_SECURITY_DESCR));
    }
    Ok(p)
}

/// # Safety
/// `p` is an absolute descriptor (from [`absolute`]).
unsafe fn set_part(
    p: *mut u8,
    slot: usize,
    ptr: *mut c_void,
    set: u16,
    present: bool,
    defaulted: u16,
    is_defaulted: bool,
) {
    // SAFETY: an absolute descriptor: control at 2, pointers at 8.. (caller's promise).
    unsafe {
        let mut control = std::ptr::read_unaligned(p.add(2).cast::<u16>());
        control &= !(set | defaulted);
        if present {
            control |= set;
        }
        if is_defaulted {
            control |= defaulted;
        }
        std::ptr::write_unaligned(p.add(2).cast::<u16>(), control);
        std::ptr::write_unaligned(
            p.add(8 + 8 * slot).cast::<*mut c_void>(),
            if present || set == 0 { ptr } else { std::ptr::null_mut() },
        );
    }
}

/// `SetSecurityDescriptorDacl`: sets (or, with `bDaclPresent` FALSE, removes) the DACL of an
/// absolute descriptor. A present NULL DACL grants everyone everything; an empty one nobody.
///
/// # Safety
/// `pSecurityDescriptor` must be an absolute descriptor; `pDacl` NULL or an ACL that outlives
/// the descriptor's use.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetSecurityDescriptorDacl(
    pSecurityDescriptor: *mut c_void,
    bDaclPresent: BOOL,
    pDacl: *mut c_void,
    bDaclDefaulted: BOOL,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let p = unsafe { absolute(pSecurityDescriptor) }?;
        // SAFETY: an absolute descriptor; slot 3 is the DACL.
        unsafe { set_part(p, 3, pDacl, SE_DACL_PRESENT, bDaclPresent != 0, SE_DACL_DEFAULTED, bDaclDefaulted != 0) };
        Ok(TRUE)
    })
}

/// `SetSecurityDescriptorSacl`: as [`SetSecurityDescriptorDacl`] for the SACL (kept, not
/// enforced: audit and integrity labels do not exist here).
///
/// # Safety
/// As [`SetSecurityDescriptorDacl`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetSecurityDescriptorSacl(
    pSecurityDescriptor: *mut c_void,
    bSaclPresent: BOOL,
    pSacl: *mut c_void,
    bSaclDefaulted: BOOL,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let p = unsafe { absolute(pSecurityDescriptor) }?;
        // SAFETY: an absolute descriptor; slot 2 is the SACL.
        unsafe { set_part(p, 2, pSacl, SE_SACL_PRESENT, bSaclPresent != 0, SE_SACL_DEFAULTED, bSaclDefaulted != 0) };
        Ok(TRUE)
    })
}

/// `SetSecurityDescriptorOwner`.
///
/// # Safety
/// `pSecurityDescriptor` must be an absolute descriptor; `pOwner` NULL or a SID that outlives
/// the descriptor's use.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetSecurityDescriptorOwner(
    pSecurityDescriptor: *mut c_void,
    pOwner: *mut c_void,
    bOwnerDefaulted: BOOL,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let p = unsafe { absolute(pSecurityDescriptor) }?;
        // SAFETY: an absolute descriptor; slot 0 is the owner.
        unsafe { set_part(p, 0, pOwner, 0, true, SE_OWNER_DEFAULTED, bOwnerDefaulted != 0) };
        Ok(TRUE)
    })
}

/// `SetSecurityDescriptorGroup`.
///
/// # Safety
/// As [`SetSecurityDescriptorOwner`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetSecurityDescriptorGroup(
    pSecurityDescriptor: *mut c_void,
    pGroup: *mut c_void,
    bGroupDefaulted: BOOL,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let p = unsafe { absolute(pSecurityDescriptor) }?;
        // SAFETY: an absolute descriptor; slot 1 is the group.
        unsafe { set_part(p, 1, pGroup, 0, true, SE_GROUP_DEFAULTED, bGroupDefaulted != 0) };
        Ok(TRUE)
    })
}

/// Reads the pointer to part `slot` of a descriptor in either form.
///
/// # Safety
/// `sd` must be a readable descriptor.
unsafe fn part_ptr(sd: *mut c_void, slot: usize) -> Res<(*mut c_void, u16)> {
    if sd.is_null() {
        return Err(Fail(ERROR_INVALID_SECURITY_DESCR));
    }
    let p = sd.cast::<u8>();
    // SAFETY: readable header (caller's promise).
    let (rev, control) = unsafe { (*p, std::ptr::read_unaligned(p.add(2).cast::<u16>())) };
    if rev != 1 {
        return Err(Fail(ERROR_UNKNOWN_REVISION));
    }
    let ptr = if control & SE_SELF_RELATIVE != 0 {
        // SAFETY: the self-relative header's offsets.
        let off = unsafe { std::ptr::read_unaligned(p.add(4 + 4 * slot).cast::<u32>()) } as usize;
        // SAFETY: offsets point into the descriptor (caller's promise).
        if off == 0 { std::ptr::null_mut() } else { unsafe { p.add(off) }.cast() }
    } else {
        // SAFETY: the absolute header's pointers.
        unsafe { std::ptr::read_unaligned(p.add(8 + 8 * slot).cast::<*mut c_void>()) }
    };
    Ok((ptr, control))
}

/// `GetSecurityDescriptorDacl`: whether a DACL is present, the DACL (NULL for the null DACL)
/// and whether it was defaulted.
///
/// # Safety
/// `pSecurityDescriptor` readable; the out pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSecurityDescriptorDacl(
    pSecurityDescriptor: *mut c_void,
    lpbDaclPresent: *mut BOOL,
    pDacl: *mut *mut c_void,
    lpbDaclDefaulted: *mut BOOL,
) -> BOOL {
    // SAFETY: forwarded caller promises.
    unsafe {
        get_acl_part(
            pSecurityDescriptor,
            3,
            SE_DACL_PRESENT,
            SE_DACL_DEFAULTED,
            lpbDaclPresent,
            pDacl,
            lpbDaclDefaulted,
        )
    }
}

/// `GetSecurityDescriptorSacl`: as [`GetSecurityDescriptorDacl`] for the SACL.
///
/// # Safety
/// As [`GetSecurityDescriptorDacl`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSecurityDescriptorSacl(
    pSecurityDescriptor: *mut c_void,
    lpbSaclPresent: *mut BOOL,
    pSacl: *mut *mut c_void,
    lpbSaclDefaulted: *mut BOOL,
) -> BOOL {
    // SAFETY: forwarded caller promises.
    unsafe {
        get_acl_part(
            pSecurityDescriptor,
            2,
            SE_SACL_PRESENT,
            SE_SACL_DEFAULTED,
            lpbSaclPresent,
            pSacl,
            lpbSaclDefaulted,
        )
    }
}

/// `GetSecurityDescriptorDacl`/`Sacl`: the ACL in descriptor part `part` and its flags.
///
/// # Safety
/// `sd` readable; the out pointers writable.
unsafe fn get_acl_part(
    sd: *mut c_void,
    part: usize,
    present_bit: u16,
    defaulted_bit: u16,
    present_out: *mut BOOL,
    acl_out: *mut *mut c_void,
    defaulted_out: *mut BOOL,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let (ptr, control) = unsafe { part_ptr(sd, part) }?;
        let present = control & present_bit != 0;
        // SAFETY: writable out pointers (caller's promise).
        unsafe {
            write_out(present_out, present as BOOL);
            if present {
                write_out(acl_out, ptr);
                write_out(defaulted_out, (control & defaulted_bit != 0) as BOOL);
            }
        }
        Ok(TRUE)
    })
}

/// `IsValidSecurityDescriptor`.
///
/// # Safety
/// `pSecurityDescriptor` NULL or a readable descriptor.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn IsValidSecurityDescriptor(pSecurityDescriptor: *mut c_void) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        unsafe { Descriptor::read(pSecurityDescriptor) }?;
        Ok(TRUE)
    })
}

// ---------------------------------------------------------------------------------------------
// Exports: ACLs
// ---------------------------------------------------------------------------------------------

/// `InitializeAcl`: an empty ACL of `nAclLength` bytes. Too small: `ERROR_INSUFFICIENT_BUFFER`;
/// larger than 64 KiB or a revision other than 2..4: `ERROR_INVALID_PARAMETER`.
///
/// # Safety
/// `pAcl` must point to `nAclLength` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn InitializeAcl(pAcl: *mut c_void, nAclLength: DWORD, dwAclRevision: DWORD) -> BOOL {
    boundary(FALSE, || {
        if nAclLength < 8 {
            return Err(Fail(Win32Error::INSUFFICIENT_BUFFER.0));
        }
        if nAclLength > 0xFFFF || !(2..=4).contains(&dwAclRevision) {
            return fail_invalid();
        }
        if pAcl.is_null() {
            return Err(Fail(crate::error::ERROR_NOACCESS));
        }
        let size = (nAclLength & !3) as u16;
        let head: [u8; 8] = [dwAclRevision as u8, 0, size as u8, (size >> 8) as u8, 0, 0, 0, 0];
        // SAFETY: at least 8 writable bytes (caller's promise, checked above).
        unsafe { std::ptr::copy_nonoverlapping(head.as_ptr(), pAcl.cast::<u8>(), 8) };
        Ok(TRUE)
    })
}

fn fail_invalid<T>() -> Res<T> {
    Err(Fail(Win32Error::INVALID_PARAMETER.0))
}

/// `IsValidAcl`.
///
/// # Safety
/// `pAcl` NULL or a readable ACL.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn IsValidAcl(pAcl: *mut c_void) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        unsafe { Acl::read(pAcl.cast()) }?;
        Ok(TRUE)
    })
}

/// Appends an entry to an ACL in place.
///
/// # Safety
/// `acl` must be a writable ACL of `AclSize` bytes; `sid` a readable SID.
unsafe fn add_ace(
    acl: *mut c_void,
    revision: DWORD,
    kind: u8,
    flags: DWORD,
    mask: DWORD,
    sid: *mut c_void,
) -> Res<BOOL> {
    // SAFETY: forwarded caller promises.
    let parsed = unsafe { Acl::read(acl.cast()) }?;
    // SAFETY: forwarded caller promise.
    let sid = unsafe { Sid::read(sid.cast(), None) }?;
    if !(2..=4).contains(&revision) {
        return Err(Fail(ERROR_REVISION_MISMATCH));
    }
    if flags & !u32::from(VALID_INHERIT_FLAGS | 0xc0) != 0 {
        return fail_invalid();
    }
    let p = acl.cast::<u8>();
    // SAFETY: the header is readable (checked by `Acl::read`).
    let size = unsafe { u16::from_le_bytes([*p.add(2), *p.add(3)]) } as usize;
    let used = parsed.encoded_len();
    let need = 8 + sid.len();
    if used + need > size {
        return Err(Fail(ERROR_ALLOTTED_SPACE_EXCEEDED));
    }
    let mut ace = vec![kind, flags as u8];
    ace.extend_from_slice(&(need as u16).to_le_bytes());
    ace.extend_from_slice(&mask.to_le_bytes());
    sid.encode(&mut ace);
    let count = parsed.aces.len() as u16 + 1;
    // SAFETY: `used + need <= AclSize` bytes are writable (caller's promise); the header's
    // count field is at 4.
    unsafe {
        std::ptr::copy_nonoverlapping(ace.as_ptr(), p.add(used), need);
        std::ptr::write_unaligned(p.add(4).cast::<u16>(), count.to_le());
        if revision as u8 > *p {
            *p = revision as u8;
        }
    }
    Ok(TRUE)
}

/// `AddAccessAllowedAce`: appends an allow entry. No room: `ERROR_ALLOTTED_SPACE_EXCEEDED`;
/// bad SID: `ERROR_INVALID_SID`; bad ACL: `ERROR_INVALID_ACL`.
///
/// # Safety
/// `pAcl` a writable ACL; `pSid` a readable SID.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn AddAccessAllowedAce(
    pAcl: *mut c_void,
    dwAceRevision: DWORD,
    AccessMask: DWORD,
    pSid: *mut c_void,
) -> BOOL {
    // SAFETY: forwarded caller promises.
    boundary(FALSE, || unsafe { add_ace(pAcl, dwAceRevision, ACCESS_ALLOWED_ACE_TYPE, 0, AccessMask, pSid) })
}

/// `AddAccessAllowedAceEx`: [`AddAccessAllowedAce`] with inheritance flags.
///
/// # Safety
/// As [`AddAccessAllowedAce`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn AddAccessAllowedAceEx(
    pAcl: *mut c_void,
    dwAceRevision: DWORD,
    AceFlags: DWORD,
    AccessMask: DWORD,
    pSid: *mut c_void,
) -> BOOL {
    // SAFETY: forwarded caller promises.
    boundary(FALSE, || unsafe { add_ace(pAcl, dwAceRevision, ACCESS_ALLOWED_ACE_TYPE, AceFlags, AccessMask, pSid) })
}

/// `AddAccessDeniedAce`: appends a deny entry (entries are evaluated in order).
///
/// # Safety
/// As [`AddAccessAllowedAce`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn AddAccessDeniedAce(
    pAcl: *mut c_void,
    dwAceRevision: DWORD,
    AccessMask: DWORD,
    pSid: *mut c_void,
) -> BOOL {
    // SAFETY: forwarded caller promises.
    boundary(FALSE, || unsafe { add_ace(pAcl, dwAceRevision, ACCESS_DENIED_ACE_TYPE, 0, AccessMask, pSid) })
}

/// `AddAccessDeniedAceEx`: [`AddAccessDeniedAce`] with inheritance flags.
///
/// # Safety
/// As [`AddAccessAllowedAce`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn AddAccessDeniedAceEx(
    pAcl: *mut c_void,
    dwAceRevision: DWORD,
    AceFlags: DWORD,
    AccessMask: DWORD,
    pSid: *mut c_void,
) -> BOOL {
    // SAFETY: forwarded caller promises.
    boundary(FALSE, || unsafe { add_ace(pAcl, dwAceRevision, ACCESS_DENIED_ACE_TYPE, AceFlags, AccessMask, pSid) })
}

// ---------------------------------------------------------------------------------------------
// Exports: SIDs
// ---------------------------------------------------------------------------------------------

/// `AllocateAndInitializeSid`: a SID with up to 8 sub-authorities, freed with `FreeSid`.
/// More than 8: `ERROR_INVALID_PARAMETER`.
///
/// # Safety
/// `pIdentifierAuthority` must point to 6 readable bytes; `pSid` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn AllocateAndInitializeSid(
    pIdentifierAuthority: *const [u8; 6],
    nSubAuthorityCount: u8,
    nSubAuthority0: DWORD,
    nSubAuthority1: DWORD,
    nSubAuthority2: DWORD,
    nSubAuthority3: DWORD,
    nSubAuthority4: DWORD,
    nSubAuthority5: DWORD,
    nSubAuthority6: DWORD,
    nSubAuthority7: DWORD,
    pSid: *mut *mut c_void,
) -> BOOL {
    boundary(FALSE, || {
        if nSubAuthorityCount > 8 || pIdentifierAuthority.is_null() || pSid.is_null() {
            return fail_invalid();
        }
        // SAFETY: 6 readable bytes (caller's promise).
        let auth = unsafe { *pIdentifierAuthority };
        let mut a = [0u8; 8];
        a[2..].copy_from_slice(&auth);
        let all = [
            nSubAuthority0,
            nSubAuthority1,
            nSubAuthority2,
            nSubAuthority3,
            nSubAuthority4,
            nSubAuthority5,
            nSubAuthority6,
            nSubAuthority7,
        ];
        let sid = Sid { authority: u64::from_be_bytes(a), subs: all[..nSubAuthorityCount as usize].to_vec() };
        let mut bytes = Vec::new();
        sid.encode(&mut bytes);
        let p = malloc_copy(&bytes)?;
        // SAFETY: writable (caller's promise).
        unsafe { pSid.write(p.cast()) };
        Ok(TRUE)
    })
}

/// `FreeSid`: frees a SID from [`AllocateAndInitializeSid`]; returns NULL.
///
/// # Safety
/// `pSid` must be NULL or from `AllocateAndInitializeSid`, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn FreeSid(pSid: *mut c_void) -> *mut c_void {
    // SAFETY: NULL or a live malloc'd pointer (caller's promise).
    unsafe { libc::free(pSid) };
    std::ptr::null_mut()
}

/// `IsValidSid`.
///
/// # Safety
/// `pSid` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn IsValidSid(pSid: *mut c_void) -> BOOL {
    // SAFETY: forwarded caller promise.
    (!pSid.is_null() && unsafe { Sid::read(pSid.cast(), None) }.is_ok()) as BOOL
}

/// `GetLengthSid`: the SID's size in bytes.
///
/// # Safety
/// `pSid` must be a readable SID.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetLengthSid(pSid: *mut c_void) -> DWORD {
    // SAFETY: forwarded caller promise.
    unsafe { Sid::read(pSid.cast(), None) }.map_or(0, |s| s.len() as DWORD)
}

/// `EqualSid`: whether two SIDs are the same (last error 0 when they differ).
///
/// # Safety
/// Both must be readable SIDs.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn EqualSid(pSid1: *mut c_void, pSid2: *mut c_void) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promises.
        let (a, b) = unsafe { (Sid::read(pSid1.cast(), None)?, Sid::read(pSid2.cast(), None)?) };
        set_last_error(0);
        Ok((a == b) as BOOL)
    })
}

fn string_sid_to_sid(text: Option<String>, out: *mut *mut c_void) -> Res<BOOL> {
    let text = text.ok_or(Fail(Win32Error::INVALID_PARAMETER.0))?;
    if out.is_null() {
        return fail_invalid();
    }
    let sid = Sid::parse(&text).ok_or(Fail(ERROR_INVALID_SID))?;
    let mut bytes = Vec::new();
    sid.encode(&mut bytes);
    let p = malloc_copy(&bytes)?;
    // SAFETY: writable (caller's promise).
    unsafe { out.write(p.cast()) };
    Ok(TRUE)
}

/// `ConvertStringSidToSidA`: parses `S-1-...` or an SDDL alias (`WD`, `BA`, ...); the SID is
/// freed with `LocalFree`. Malformed: `ERROR_INVALID_SID`; NULL arguments:
/// `ERROR_INVALID_PARAMETER`.
///
/// # Safety
/// `StringSid` NULL or NUL-terminated; `Sid` writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertStringSidToSidA(StringSid: *const c_char, Sid: *mut *mut c_void) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(FALSE, || string_sid_to_sid(unsafe { a_str(StringSid) }.map_err(|_| Fail(ERROR_INVALID_SID))?, Sid))
}

/// `ConvertStringSidToSidW`: [`ConvertStringSidToSidA`] with wide text.
///
/// # Safety
/// `StringSid` NULL or NUL-terminated; `Sid` writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertStringSidToSidW(StringSid: *const WChar, Sid: *mut *mut c_void) -> BOOL {
    // SAFETY: forwarded caller promise.
    boundary(FALSE, || string_sid_to_sid(unsafe { w_str(StringSid) }.map_err(|_| Fail(ERROR_INVALID_SID))?, Sid))
}

/// `ConvertSidToStringSidA`: `S-1-...` text, freed with `LocalFree`.
///
/// # Safety
/// `Sid` readable; `StringSid` writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertSidToStringSidA(Sid: *mut c_void, StringSid: *mut *mut c_char) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let sid = unsafe { self::Sid::read(Sid.cast(), None) }.map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
        if StringSid.is_null() {
            return fail_invalid();
        }
        let (p, _) = malloc_text::<u8>(&sid.to_string_form())?;
        // SAFETY: writable (caller's promise).
        unsafe { StringSid.write(p.cast::<c_char>()) };
        Ok(TRUE)
    })
}

/// `ConvertSidToStringSidW`: [`ConvertSidToStringSidA`] with wide text.
///
/// # Safety
/// As [`ConvertSidToStringSidA`].
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertSidToStringSidW(Sid: *mut c_void, StringSid: *mut *mut WChar) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let sid = unsafe { self::Sid::read(Sid.cast(), None) }.map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
        if StringSid.is_null() {
            return fail_invalid();
        }
        let (p, _) = malloc_text::<WChar>(&sid.to_string_form())?;
        // SAFETY: writable (caller's promise).
        unsafe { StringSid.write(p) };
        Ok(TRUE)
    })
}

// ---------------------------------------------------------------------------------------------
// Exports: SDDL
// ---------------------------------------------------------------------------------------------

fn string_to_sd(text: Option<String>, revision: DWORD, out: *mut *mut c_void, size: *mut u32) -> Res<BOOL> {
    if revision != SDDL_REVISION_1 {
        return Err(Fail(ERROR_UNKNOWN_REVISION));
    }
    let text = text.ok_or(Fail(Win32Error::INVALID_PARAMETER.0))?;
    if out.is_null() {
        return fail_invalid();
    }
    let bytes = parse_sddl(&text)?.to_self_relative();
    let p = malloc_copy(&bytes)?;
    // SAFETY: writable out pointers (caller's promise; `size` may be NULL).
    unsafe {
        out.write(p.cast());
        write_out(size, bytes.len() as u32);
    }
    Ok(TRUE)
}

/// `ConvertStringSecurityDescriptorToSecurityDescriptorA`: a self-relative descriptor from SDDL
/// (`O:`, `G:`, `D:`, `S:`; entry types `A`, `D`, `AU`, `ML`; rights as tokens or numbers; SIDs
/// as aliases or `S-1-...`), freed with `LocalFree`. Revision other than 1:
/// `ERROR_UNKNOWN_REVISION`; a malformed string: `ERROR_INVALID_PARAMETER`, a malformed entry
/// `ERROR_INVALID_ACL`, a malformed owner or group `ERROR_INVALID_SID`.
///
/// # Safety
/// `StringSecurityDescriptor` NULL or NUL-terminated; `SecurityDescriptor` writable;
/// `SecurityDescriptorSize` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertStringSecurityDescriptorToSecurityDescriptorA(
    StringSecurityDescriptor: *const c_char,
    StringSDRevision: DWORD,
    SecurityDescriptor: *mut *mut c_void,
    SecurityDescriptorSize: *mut u32,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let text = unsafe { a_str(StringSecurityDescriptor) }.map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
        string_to_sd(text, StringSDRevision, SecurityDescriptor, SecurityDescriptorSize)
    })
}

/// `ConvertStringSecurityDescriptorToSecurityDescriptorW`: the wide form.
///
/// # Safety
/// As the `A` form.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertStringSecurityDescriptorToSecurityDescriptorW(
    StringSecurityDescriptor: *const WChar,
    StringSDRevision: DWORD,
    SecurityDescriptor: *mut *mut c_void,
    SecurityDescriptorSize: *mut u32,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let text = unsafe { w_str(StringSecurityDescriptor) }.map_err(|_| Fail(Win32Error::INVALID_PARAMETER.0))?;
        string_to_sd(text, StringSDRevision, SecurityDescriptor, SecurityDescriptorSize)
    })
}

/// # Safety
/// `sd` a readable descriptor.
unsafe fn sd_to_string(sd: *mut c_void, revision: DWORD, info: DWORD) -> Res<String> {
    if revision != SDDL_REVISION_1 {
        return Err(Fail(ERROR_UNKNOWN_REVISION));
    }
    // SAFETY: forwarded caller promise.
    let sd = unsafe { Descriptor::read(sd) }?;
    Ok(format_sddl(&sd, info))
}

/// `ConvertSecurityDescriptorToStringSecurityDescriptorA`: the SDDL text of the parts `info`
/// selects, freed with `LocalFree`; `*len` (optional) gets its length including the NUL.
///
/// # Safety
/// `SecurityDescriptor` readable (either form); out pointers writable or NULL (`len`).
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertSecurityDescriptorToStringSecurityDescriptorA(
    SecurityDescriptor: *mut c_void,
    RequestedStringSDRevision: DWORD,
    SecurityInformation: DWORD,
    StringSecurityDescriptor: *mut *mut c_char,
    StringSecurityDescriptorLen: *mut u32,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let text = unsafe { sd_to_string(SecurityDescriptor, RequestedStringSDRevision, SecurityInformation) }?;
        if StringSecurityDescriptor.is_null() {
            return fail_invalid();
        }
        let (p, n) = malloc_text::<u8>(&text)?;
        // SAFETY: writable out pointers (caller's promise).
        unsafe {
            StringSecurityDescriptor.write(p.cast::<c_char>());
            write_out(StringSecurityDescriptorLen, n as u32);
        }
        Ok(TRUE)
    })
}

/// `ConvertSecurityDescriptorToStringSecurityDescriptorW`: the wide form.
///
/// # Safety
/// As the `A` form.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn ConvertSecurityDescriptorToStringSecurityDescriptorW(
    SecurityDescriptor: *mut c_void,
    RequestedStringSDRevision: DWORD,
    SecurityInformation: DWORD,
    StringSecurityDescriptor: *mut *mut WChar,
    StringSecurityDescriptorLen: *mut u32,
) -> BOOL {
    boundary(FALSE, || {
        // SAFETY: forwarded caller promise.
        let text = unsafe { sd_to_string(SecurityDescriptor, RequestedStringSDRevision, SecurityInformation) }?;
        if StringSecurityDescriptor.is_null() {
            return fail_invalid();
        }
        let (p, n) = malloc_text::<WChar>(&text)?;
        // SAFETY: writable out pointers (caller's promise).
        unsafe {
            StringSecurityDescriptor.write(p);
            write_out(StringSecurityDescriptorLen, n as u32);
        }
        Ok(TRUE)
    })
}

// ---------------------------------------------------------------------------------------------
// Exports: kernel objects
// ---------------------------------------------------------------------------------------------

fn object_type(object: &Object) -> Option<ObjectType> {
    object.core().map(|h| h.object_type())
}

/// The descriptor of a handle's object, as its file's owner, group and permissions say.
fn object_descriptor(h: HANDLE) -> Res<Descriptor> {
    let info = handles::get(h)?;
    let kind = object_type(&info.object).ok_or(Fail(Win32Error::NOT_SUPPORTED.0))?;
    if info.access & READ_CONTROL == 0 {
        return Err(Fail(Win32Error::ACCESS_DENIED.0));
    }
    // SAFETY: the handle's slot is open while the handle lives; borrowed for these calls.
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(info.fd) };
    let st = rustix::fs::fstat(fd)?;
    let acl = filemap::security::FileAcl::read(fd)?;
    let perms = acl.to_permissions(kind, st.st_uid, st.st_gid);
    let aces = perms
        .entries()
        .unwrap_or_default()
        .iter()
        .map(|a| AceEntry {
            kind: if a.kind == AceKind::Allow { ACCESS_ALLOWED_ACE_TYPE } else { ACCESS_DENIED_ACE_TYPE },
            flags: 0,
            mask: a.mask,
            sid: Sid::from_trustee(&a.trustee),
        })
        .collect();
    Ok(Descriptor {
        control: SE_DACL_PRESENT,
        owner: Some(Sid::from_trustee(&Trustee::User(st.st_uid))),
        group: Some(Sid::from_trustee(&Trustee::Group(st.st_gid))),
        dacl: Some(Acl { revision: 2, aces }),
        sacl: None,
    })
}

/// `GetSecurityInfo` for kernel objects (`SE_KERNEL_OBJECT`): the owner
/// (`S-1-22-1-<uid>`), group (`S-1-22-2-<gid>`) and a DACL that grants exactly what the object
/// file's mode and ACL grant (allow and deny entries, denies first). One self-relative
/// descriptor is allocated (free `*ppSecurityDescriptor` with `LocalFree`); the other out
/// pointers point into it. Returns the error code (0 on success), as Windows does. The handle
/// needs `READ_CONTROL`; a SACL cannot be read (`ERROR_PRIVILEGE_NOT_HELD`).
///
/// # Safety
/// Every out pointer must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetSecurityInfo(
    handle: HANDLE,
    ObjectType: DWORD,
    SecurityInfo: DWORD,
    ppsidOwner: *mut *mut c_void,
    ppsidGroup: *mut *mut c_void,
    ppDacl: *mut *mut c_void,
    ppSacl: *mut *mut c_void,
    ppSecurityDescriptor: *mut *mut c_void,
) -> DWORD {
    let r = boundary(u32::MAX, || {
        if ObjectType != SE_KERNEL_OBJECT && ObjectType != SE_FILE_OBJECT {
            return fail_invalid();
        }
        if SecurityInfo & SACL_SECURITY_INFORMATION != 0 {
            return Err(Fail(Win32Error::PRIVILEGE_NOT_HELD.0));
        }
        if ppSecurityDescriptor.is_null()
            && (SecurityInfo & OWNER_SECURITY_INFORMATION != 0 && ppsidOwner.is_null()
                || SecurityInfo & GROUP_SECURITY_INFORMATION != 0 && ppsidGroup.is_null()
                || SecurityInfo & DACL_SECURITY_INFORMATION != 0 && ppDacl.is_null())
        {
            return fail_invalid();
        }
        let mut sd = object_descriptor(handle)?;
        if SecurityInfo & OWNER_SECURITY_INFORMATION == 0 {
            sd.owner = None;
        }
        if SecurityInfo & GROUP_SECURITY_INFORMATION == 0 {
            sd.group = None;
        }
        if SecurityInfo & DACL_SECURITY_INFORMATION == 0 {
            sd.control &= !SE_DACL_PRESENT;
            sd.dacl = None;
        }
        let bytes = sd.to_self_relative();
        let p = malloc_copy(&bytes)?;
        let at = |slot: usize| -> *mut c_void {
            let off = u32::from_le_bytes([
                bytes[4 + 4 * slot],
                bytes[5 + 4 * slot],
                bytes[6 + 4 * slot],
                bytes[7 + 4 * slot],
            ]);
            // SAFETY: offsets of `bytes` are inside the copy at `p`.
            if off == 0 { std::ptr::null_mut() } else { unsafe { p.add(off as usize) }.cast() }
        };
        // SAFETY: writable or NULL out pointers (caller's promise).
        unsafe {
            write_out(ppsidOwner, at(0));
            write_out(ppsidGroup, at(1));
            write_out(ppDacl, at(3));
            write_out(ppSacl, std::ptr::null_mut());
            if ppSecurityDescriptor.is_null() {
                // Nothing could free it otherwise; Windows leaks here, we keep the pointers valid
                // for the life of the process in the same way.
            } else {
                ppSecurityDescriptor.write(p.cast());
            }
        }
        Ok(0)
    });
    if r == u32::MAX { crate::error::last_error() } else { r }
}

/// `SetSecurityInfo` for kernel objects: replaces the object's DACL (`DACL_SECURITY_INFORMATION`;
/// a NULL `pDacl` is the null DACL), recomputing its file's mode and POSIX ACL. Only the
/// object's owner (or root) may: `ERROR_ACCESS_DENIED` otherwise, and for a handle without
/// `WRITE_DAC`. Changing the owner, group or SACL: `ERROR_NOT_SUPPORTED`... except an owner or
/// group equal to the current one. Returns the error code.
///
/// # Safety
/// `pDacl` NULL or a readable ACL; the SIDs NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn SetSecurityInfo(
    handle: HANDLE,
    ObjectType: DWORD,
    SecurityInfo: DWORD,
    psidOwner: *mut c_void,
    psidGroup: *mut c_void,
    pDacl: *mut c_void,
    pSacl: *mut c_void,
) -> DWORD {
    let _ = (psidOwner, psidGroup, pSacl);
    let r = boundary(u32::MAX, || {
        if ObjectType != SE_KERNEL_OBJECT && ObjectType != SE_FILE_OBJECT {
            return fail_invalid();
        }
        if SecurityInfo & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION) != 0 {
            return Err(Fail(Win32Error::NOT_SUPPORTED.0));
        }
        if SecurityInfo & DACL_SECURITY_INFORMATION == 0 {
            return Ok(0);
        }
        let info = handles::get(handle)?;
        let kind = object_type(&info.object).ok_or(Fail(Win32Error::NOT_SUPPORTED.0))?;
        if info.access & WRITE_DAC == 0 {
            return Err(Fail(Win32Error::ACCESS_DENIED.0));
        }
        let perms = if pDacl.is_null() {
            Permissions::null_dacl()
        } else {
            // SAFETY: a readable ACL (caller's promise).
            let acl = unsafe { Acl::read(pDacl.cast()) }?;
            let sd = Descriptor { control: SE_DACL_PRESENT, dacl: Some(acl), ..Descriptor::default() };
            sd.permissions()?.unwrap_or_else(Permissions::null_dacl)
        };
        // SAFETY: the handle's slot is open while the handle lives; borrowed for these calls.
        let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(info.fd) };
        let st = rustix::fs::fstat(fd)?;
        perms.file_acl(kind, st.st_uid).apply(fd)?;
        Ok(0)
    });
    if r == u32::MAX { crate::error::last_error() } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sddl_round_trips_through_the_binary_form() {
        for text in [
            "O:SYG:BAD:(A;;GA;;;WD)(D;OICI;0x12019f;;;S-1-22-1-1000)",
            "D:P(A;;GWGR;;;AU)(A;;FA;;;BA)",
            "D:NO_ACCESS_CONTROL",
            "D:",
            "S:(ML;;NW;;;LW)",
            "D:(A;NP;GAGXGWGR;;;SU)(A;IOID;CCDC;;;SU)",
        ] {
            let sd = parse_sddl(text).unwrap();
            let bytes = sd.to_self_relative();
            // SAFETY: a complete self-relative descriptor in `bytes`.
            let back = unsafe { Descriptor::read(bytes.as_ptr().cast()) }.unwrap();
            assert_eq!(back, sd, "{text}");
            assert_eq!(format_sddl(&back, 0xf), text, "{text}");
        }
    }

    #[test]
    fn malformed_sddl_fails_as_windows_does() {
        assert_eq!(parse_sddl("ERROR:(D;;GA;;;WD)").unwrap_err(), Fail(87));
        assert_eq!(parse_sddl("D:(A;;ROB;;;WD)").unwrap_err(), Fail(ERROR_INVALID_ACL));
        assert_eq!(parse_sddl("D:(A;;GA;;;Nonexistent account)").unwrap_err(), Fail(ERROR_INVALID_ACL));
        assert_eq!(parse_sddl("D:(A;;GA;;;WD").unwrap_err(), Fail(ERROR_INVALID_ACL));
        assert_eq!(parse_sddl("D:(Q;;GA;;;WD)").unwrap_err(), Fail(ERROR_INVALID_ACL));
        assert!(parse_sddl("D:(A;;RPWPCCDCLCSWLODTCR;;;WD)(A;;KAKRKWKX;;;WD)(A;;0xFFFFFFFF;;;S-1-0-0)").is_ok());
    }

    #[test]
    fn well_known_and_unix_sids_become_trustees() {
        assert_eq!(Sid::parse("WD").unwrap().trustee(), Trustee::Everyone);
        assert_eq!(Sid::parse("BA").unwrap().trustee(), Trustee::Administrators);
        assert_eq!(Sid::parse("S-1-22-1-65534").unwrap().trustee(), Trustee::User(65534));
        assert_eq!(Sid::parse("S-1-22-2-100").unwrap().trustee(), Trustee::Group(100));
        assert_eq!(Sid::parse("S-1-5-18").unwrap().to_sddl(), "SY");
        assert!(Sid::parse("S-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16-17-18").is_none());
    }
}
