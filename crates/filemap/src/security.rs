//! Who may open a named object: Windows-style access control lists mapped onto the object
//! file's mode and POSIX ACL, so that the kernel enforces them at `open`.
//!
//! A [`Permissions`] value is a discretionary ACL (DACL) in Windows terms: an ordered list of
//! allow and deny entries ([`Ace`]) for trustees ([`Trustee`]: everyone, a Unix user or group,
//! root, the creator), or the *null* DACL (everyone may do everything) or the *empty* one
//! (nobody may open the object; the creator's own handle keeps its access). Without one an
//! object is owner-only (mode `0600`).
//!
//! # How a DACL becomes a POSIX ACL
//!
//! The kernel can only say *read* and *write* per user, per group and for everyone else, and
//! evaluates entries by class (owner, named user, groups, other) rather than in order. Each
//! ACL entry therefore gets the rights Windows would grant to a process of that class when
//! everything unknown is assumed against it (never more than Windows would grant):
//!
//! | POSIX entry        | Windows ACEs that count (in their order)                               |
//! |--------------------|-------------------------------------------------------------------------|
//! | owner (`user::`)   | Everyone, Authenticated Users, Creator Owner, the owner's uid; every group's *deny* |
//! | `user:U:`          | Everyone, Authenticated Users, user U; every group's *deny*             |
//! | `group:G:`         | Everyone, Authenticated Users, group G; every other group's *deny*      |
//! | `group::` (file's) | Everyone, Authenticated Users; every group's *deny*                     |
//! | `other::`          | Everyone, Authenticated Users                                           |
//!
//! A process's real Windows grant only ever has *more* allow entries applying and *fewer* deny
//! entries than the row of its class (it may be in groups the ACL mentions), and adding an
//! allow entry or removing a deny entry never takes a right away, so the kernel never grants a
//! right Windows would refuse. (POSIX evaluates a process in several listed groups by asking
//! whether *one* of its group entries has all requested bits: that too is at most Windows'.)
//!
//! The Windows rights are then reduced to file access per object type:
//! - **mappings**: `SECTION_MAP_READ` → read, `SECTION_MAP_WRITE` → write (generic rights mapped
//!   first as Windows maps them for sections).
//! - **mutexes, semaphores, events, timers** keep their whole state in the shared header page,
//!   which any process that may write it can change at will; waiting itself writes it (a wait
//!   consumes). So the file is readable and writable for exactly those granted every state
//!   right of the type (`SYNCHRONIZE`, plus `*_MODIFY_STATE` for semaphores, events and
//!   timers), and closed to everyone else: a wait-only or signal-only grant is not expressible
//!   without granting more, so it grants nothing.
//!
//! Root (Administrators, Local System) passes every permission check on Linux, so entries for
//! them change nothing and a deny entry cannot hold root back (documented difference).
//! Entries for SIDs this crate does not know ([`Trustee::Unmapped`]) grant nothing when they
//! allow, and deny everyone when they deny.

use rustix::fd::BorrowedFd;
use rustix::fs::Mode;
use rustix::io::Errno;

use crate::error::{Error, Result, Win32Error};
use crate::object::ObjectType;

/// Generic read (`GENERIC_READ`), mapped per object type.
pub const GENERIC_READ: u32 = 0x8000_0000;
/// Generic write (`GENERIC_WRITE`).
pub const GENERIC_WRITE: u32 = 0x4000_0000;
/// Generic execute (`GENERIC_EXECUTE`).
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// Everything (`GENERIC_ALL`).
pub const GENERIC_ALL: u32 = 0x1000_0000;
const SYNCHRONIZE: u32 = 0x0010_0000;
const READ_CONTROL: u32 = 0x0002_0000;
const SECTION_QUERY: u32 = 0x1;
const SECTION_MAP_WRITE: u32 = 0x2;
const SECTION_MAP_READ: u32 = 0x4;
const SECTION_MAP_EXECUTE: u32 = 0x8;
const SECTION_ALL_ACCESS: u32 = 0x000F_001F;

/// An access mask for a DACL entry: Windows' generic rights (mapped per object type when the
/// object is created), a mapping's [`crate::Access`] or a sync object's [`crate::Rights`]
/// (each converts into it), or raw bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mask(pub u32);

impl Mask {
    /// `GENERIC_READ`: a mapping's read views; a sync object's query right.
    pub const READ: Mask = Mask(GENERIC_READ);
    /// `GENERIC_WRITE`: a mapping's write views; a sync object's modify right.
    pub const WRITE: Mask = Mask(GENERIC_WRITE);
    /// `GENERIC_EXECUTE`: a mapping's executable views; waiting on a sync object.
    pub const EXECUTE: Mask = Mask(GENERIC_EXECUTE);
    /// `GENERIC_ALL`: everything.
    pub const ALL: Mask = Mask(GENERIC_ALL);
}

impl From<u32> for Mask {
    fn from(bits: u32) -> Mask {
        Mask(bits)
    }
}

impl From<crate::Access> for Mask {
    fn from(access: crate::Access) -> Mask {
        Mask(access.0)
    }
}

impl From<crate::sync::Rights> for Mask {
    fn from(rights: crate::sync::Rights) -> Mask {
        Mask(rights.0)
    }
}

impl std::ops::BitOr for Mask {
    type Output = Mask;
    fn bitor(self, rhs: Mask) -> Mask {
        Mask(self.0 | rhs.0)
    }
}

/// Who an access control entry is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Trustee {
    /// Everyone (`WD`, `S-1-1-0`).
    Everyone,
    /// Authenticated Users (`AU`, `S-1-5-11`): every user on Linux, like Everyone.
    AuthenticatedUsers,
    /// Creator Owner (`CO`, `S-1-3-0`): the object's creator (its file's owner).
    CreatorOwner,
    /// Built-in Administrators (`BA`, `S-1-5-32-544`): root.
    Administrators,
    /// Local System (`SY`, `S-1-5-18`): root.
    LocalSystem,
    /// A Unix user, `S-1-22-1-<uid>` (Samba's convention).
    User(u32),
    /// A Unix group, `S-1-22-2-<gid>`.
    Group(u32),
    /// Any other SID (kept as its string form): allows grant nothing, denies deny everyone.
    Unmapped(String),
}

impl Trustee {
    /// The string form of the trustee's SID (`S-1-1-0`, `S-1-22-1-1000`, ...).
    pub fn sid(&self) -> String {
        match self {
            Trustee::Everyone => "S-1-1-0".into(),
            Trustee::AuthenticatedUsers => "S-1-5-11".into(),
            Trustee::CreatorOwner => "S-1-3-0".into(),
            Trustee::Administrators => "S-1-5-32-544".into(),
            Trustee::LocalSystem => "S-1-5-18".into(),
            Trustee::User(uid) => format!("S-1-22-1-{uid}"),
            Trustee::Group(gid) => format!("S-1-22-2-{gid}"),
            Trustee::Unmapped(sid) => sid.clone(),
        }
    }

    /// The trustee of a SID given as its identifier authority and sub-authorities.
    pub fn from_parts(authority: u64, subs: &[u32]) -> Trustee {
        match (authority, subs) {
            (1, [0]) => Trustee::Everyone,
            (3, [0]) => Trustee::CreatorOwner,
            (5, [11]) => Trustee::AuthenticatedUsers,
            (5, [18]) => Trustee::LocalSystem,
            (5, [32, 544]) => Trustee::Administrators,
            (22, [1, uid]) => Trustee::User(*uid),
            (22, [2, gid]) => Trustee::Group(*gid),
            _ => {
                let mut s = format!("S-1-{authority}");
                for sub in subs {
                    s.push_str(&format!("-{sub}"));
                }
                Trustee::Unmapped(s)
            }
        }
    }

    /// A short human form: `everyone`, `user 1000`, `group 100`, `root`, ...
    pub fn describe(&self) -> String {
        match self {
            Trustee::Everyone => "everyone".into(),
            Trustee::AuthenticatedUsers => "authenticated users".into(),
            Trustee::CreatorOwner => "creator".into(),
            Trustee::Administrators => "administrators (root)".into(),
            Trustee::LocalSystem => "system (root)".into(),
            Trustee::User(uid) => format!("user {uid}"),
            Trustee::Group(gid) => format!("group {gid}"),
            Trustee::Unmapped(sid) => sid.clone(),
        }
    }
}

/// Whether an entry allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AceKind {
    /// `ACCESS_ALLOWED_ACE_TYPE`.
    Allow,
    /// `ACCESS_DENIED_ACE_TYPE`.
    Deny,
}

/// One access control entry: allow or deny `mask` (a Win32 access mask: generic bits, standard
/// rights, the type's specific rights) to `trustee`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ace {
    /// Allow or deny.
    pub kind: AceKind,
    /// Who it is for.
    pub trustee: Trustee,
    /// The access mask.
    pub mask: u32,
}

/// A discretionary access control list for a new named object (Windows' DACL), built like
/// [`std::fs::OpenOptions`]:
///
/// ```
/// use filemap::security::{Mask, Permissions, Trustee};
/// use filemap::{Access, Mapping, namespace::Namespace};
/// # let ns = Namespace::at(std::env::temp_dir().join(format!("filemap-doc-sec-{}", std::process::id())));
/// let perms = Permissions::new()
///     .allow(Trustee::Group(100), Mask::ALL)       // members of group 100: read and write
///     .allow(Trustee::Everyone, Access::READ);     // everyone else: read-only views
/// let (_map, _) = Mapping::options().name(r"Local\shared").size(4096).permissions(perms).namespace(&ns).create()?;
/// # Ok::<(), filemap::Error>(())
/// ```
///
/// Give it to `MappingOptions::permissions` or a sync object's options. Entries are evaluated
/// in order, as Windows does (see the module docs for how they become file permissions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permissions {
    dacl: Option<Vec<Ace>>,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions::new()
    }
}

impl Permissions {
    /// An empty DACL: nobody may open the object (the creator's own handle keeps its access).
    /// Add entries with [`Permissions::allow`] and [`Permissions::deny`].
    pub fn new() -> Permissions {
        Permissions { dacl: Some(Vec::new()) }
    }

    /// The null DACL: everyone may do everything with the object.
    pub fn null_dacl() -> Permissions {
        Permissions { dacl: None }
    }

    /// Appends an entry allowing `mask` to `who`.
    pub fn allow(self, who: Trustee, mask: impl Into<Mask>) -> Permissions {
        self.push(AceKind::Allow, who, mask.into().0)
    }

    /// Appends an entry denying `mask` to `who`.
    pub fn deny(self, who: Trustee, mask: impl Into<Mask>) -> Permissions {
        self.push(AceKind::Deny, who, mask.into().0)
    }

    /// Appends an entry (to a null DACL, this makes it a list holding just that entry).
    pub fn push(mut self, kind: AceKind, trustee: Trustee, mask: u32) -> Permissions {
        self.dacl.get_or_insert_with(Vec::new).push(Ace { kind, trustee, mask });
        self
    }

    /// The entries, or `None` for the null DACL.
    pub fn entries(&self) -> Option<&[Ace]> {
        self.dacl.as_deref()
    }

    /// The file permissions this DACL becomes for an object of type `kind` created by `owner`.
    pub fn file_acl(&self, kind: ObjectType, owner: u32) -> FileAcl {
        let Some(aces) = &self.dacl else {
            return FileAcl { owner: RW, users: Vec::new(), group: RW, groups: Vec::new(), other: RW };
        };
        let mut uids: Vec<u32> = Vec::new();
        let mut gids: Vec<u32> = Vec::new();
        for ace in aces {
            match ace.trustee {
                Trustee::User(u) if u != owner && !uids.contains(&u) => uids.push(u),
                Trustee::Group(g) if !gids.contains(&g) => gids.push(g),
                _ => {}
            }
        }
        uids.sort_unstable();
        gids.sort_unstable();
        let everyone = |t: &Trustee| matches!(t, Trustee::Everyone | Trustee::AuthenticatedUsers);
        let bits = |applies: &dyn Fn(&Ace) -> bool| to_file_bits(kind, evaluate(kind, aces, applies));
        let any_group_deny = |a: &Ace| a.kind == AceKind::Deny && matches!(a.trustee, Trustee::Group(_));
        let unmapped_deny = |a: &Ace| a.kind == AceKind::Deny && matches!(a.trustee, Trustee::Unmapped(_));
        let root_owner = owner == 0;
        let owner_bits = bits(&|a| {
            everyone(&a.trustee)
                || unmapped_deny(a)
                || any_group_deny(a)
                || match a.trustee {
                    Trustee::CreatorOwner => true,
                    Trustee::User(u) => u == owner,
                    Trustee::Administrators | Trustee::LocalSystem => root_owner,
                    _ => false,
                }
        });
        let users = uids
            .iter()
            .map(|&u| {
                (
                    u,
                    bits(&|a| {
                        everyone(&a.trustee) || unmapped_deny(a) || any_group_deny(a) || a.trustee == Trustee::User(u)
                    }),
                )
            })
            .collect();
        let groups = gids
            .iter()
            .map(|&g| {
                (
                    g,
                    bits(&|a| {
                        everyone(&a.trustee) || unmapped_deny(a) || any_group_deny(a) || a.trustee == Trustee::Group(g)
                    }),
                )
            })
            .collect();
        let group = bits(&|a| everyone(&a.trustee) || unmapped_deny(a) || any_group_deny(a));
        let other = bits(&|a| everyone(&a.trustee) || unmapped_deny(a));
        FileAcl { owner: owner_bits, users, group, groups, other }
    }
}

/// Read permission in a [`FileAcl`] entry.
pub const R: u8 = 4;
/// Write permission in a [`FileAcl`] entry.
pub const W: u8 = 2;
const RW: u8 = R | W;

/// Windows' generic mapping for an object type, and all its rights.
fn generic_mapping(kind: ObjectType) -> [u32; 4] {
    // [read, write, execute, all]
    match kind {
        ObjectType::Mapping => [
            READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ,
            READ_CONTROL | SECTION_MAP_WRITE,
            READ_CONTROL | SECTION_MAP_EXECUTE,
            SECTION_ALL_ACCESS,
        ],
        ObjectType::Mutex => [READ_CONTROL | 0x1, READ_CONTROL, READ_CONTROL | SYNCHRONIZE, 0x001F_0001],
        _ => [READ_CONTROL | 0x1, READ_CONTROL | 0x2, READ_CONTROL | SYNCHRONIZE, 0x001F_0003],
    }
}

/// `mask` with its generic bits replaced by the type's specific rights.
pub fn map_generic(kind: ObjectType, mask: u32) -> u32 {
    let [read, write, exec, all] = generic_mapping(kind);
    let mut out = mask & !(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
    if mask & GENERIC_READ != 0 {
        out |= read;
    }
    if mask & GENERIC_WRITE != 0 {
        out |= write;
    }
    if mask & GENERIC_EXECUTE != 0 {
        out |= exec;
    }
    if mask & GENERIC_ALL != 0 {
        out |= all;
    }
    out
}

/// Windows' access check over `aces` in order, counting the entries `applies` selects.
fn evaluate(kind: ObjectType, aces: &[Ace], applies: &dyn Fn(&Ace) -> bool) -> u32 {
    let (mut granted, mut denied) = (0u32, 0u32);
    for ace in aces.iter().filter(|a| applies(a)) {
        let mask = map_generic(kind, ace.mask);
        match ace.kind {
            AceKind::Allow => granted |= mask & !denied,
            AceKind::Deny => denied |= mask & !granted,
        }
    }
    granted
}

/// The file access (`R`/`W` bits) that granted Windows rights `mask` (generic bits mapped)
/// correspond to for an object type (see the module docs).
pub fn to_file_bits(kind: ObjectType, mask: u32) -> u8 {
    match kind {
        ObjectType::Mapping => {
            (if mask & SECTION_MAP_READ != 0 { R } else { 0 }) | (if mask & SECTION_MAP_WRITE != 0 { W } else { 0 })
        }
        ObjectType::Mutex => {
            if mask & SYNCHRONIZE != 0 {
                RW
            } else {
                0
            }
        }
        _ => {
            if mask & (SYNCHRONIZE | 0x2) == SYNCHRONIZE | 0x2 {
                RW
            } else {
                0
            }
        }
    }
}

/// The Windows rights file access `bits` stands for on an object type (the inverse of
/// [`to_file_bits`], for showing an object's permissions as a DACL).
pub fn from_file_bits(kind: ObjectType, bits: u8) -> u32 {
    match kind {
        ObjectType::Mapping => match bits & RW {
            RW => SECTION_ALL_ACCESS,
            R => READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ | SECTION_MAP_EXECUTE,
            W => SECTION_MAP_WRITE,
            _ => 0,
        },
        ObjectType::Mutex if bits & RW == RW => 0x001F_0001,
        _ if bits & RW == RW => 0x001F_0003,
        _ => 0,
    }
}

/// An object file's permissions as the kernel enforces them: the owner's, named users', the
/// file group's, named groups' and everyone else's access (`R`/`W` bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FileAcl {
    /// The owner's access.
    pub owner: u8,
    /// Named users (uid, access), sorted by uid.
    pub users: Vec<(u32, u8)>,
    /// The file group's access.
    pub group: u8,
    /// Named groups (gid, access), sorted by gid.
    pub groups: Vec<(u32, u8)>,
    /// Everyone else's access.
    pub other: u8,
}

const XATTR: &str = "system.posix_acl_access";
const ACL_VERSION: u32 = 2;
const TAG_USER_OBJ: u16 = 0x01;
const TAG_USER: u16 = 0x02;
const TAG_GROUP_OBJ: u16 = 0x04;
const TAG_GROUP: u16 = 0x08;
const TAG_MASK: u16 = 0x10;
const TAG_OTHER: u16 = 0x20;
const NO_ID: u32 = u32::MAX;

impl FileAcl {
    /// True when the mode bits alone express it (no named users or groups).
    pub fn is_minimal(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }

    /// The permission bits of the file (with named entries, the group bits are the ACL mask).
    pub fn mode(&self) -> u32 {
        let mask = self.mask();
        (u32::from(self.owner & RW) << 6) | (u32::from(mask & RW) << 3) | u32::from(self.other & RW)
    }

    fn mask(&self) -> u8 {
        self.users.iter().chain(&self.groups).fold(self.group, |m, (_, b)| m | b)
    }

    /// The `system.posix_acl_access` value (little-endian `posix_acl_xattr` version 2: a header
    /// word, then `{tag: u16, perm: u16, id: u32}` entries sorted by tag, then id).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = ACL_VERSION.to_le_bytes().to_vec();
        let mut entry = |tag: u16, perm: u8, id: u32| {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&u16::from(perm & RW).to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        };
        entry(TAG_USER_OBJ, self.owner, NO_ID);
        for &(u, b) in &self.users {
            entry(TAG_USER, b, u);
        }
        entry(TAG_GROUP_OBJ, self.group, NO_ID);
        for &(g, b) in &self.groups {
            entry(TAG_GROUP, b, g);
        }
        if !self.is_minimal() {
            entry(TAG_MASK, self.mask(), NO_ID);
        }
        entry(TAG_OTHER, self.other, NO_ID);
        out
    }

    /// Parses a `system.posix_acl_access` value (hostile input: any malformation is an error).
    /// Named entries are reduced by the ACL mask, as the kernel applies it.
    pub fn decode(bytes: &[u8]) -> Result<FileAcl> {
        let bad = |why: &str| Error::new(Win32Error::INVALID_DATA, format!("malformed POSIX ACL: {why}"));
        if bytes.len() < 4 || !(bytes.len() - 4).is_multiple_of(8) {
            return Err(bad("bad length"));
        }
        if u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) != ACL_VERSION {
            return Err(bad("unknown version"));
        }
        let mut acl = FileAcl::default();
        let mut mask = None;
        for e in bytes[4..].chunks_exact(8) {
            let tag = u16::from_le_bytes([e[0], e[1]]);
            let perm = (u16::from_le_bytes([e[2], e[3]]) & 0o7) as u8 & RW;
            let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
            match tag {
                TAG_USER_OBJ => acl.owner = perm,
                TAG_USER => acl.users.push((id, perm)),
                TAG_GROUP_OBJ => acl.group = perm,
                TAG_GROUP => acl.groups.push((id, perm)),
                TAG_MASK => mask = Some(perm),
                TAG_OTHER => acl.other = perm,
                _ => return Err(bad("unknown entry tag")),
            }
        }
        if let Some(mask) = mask {
            acl.group &= mask;
            for (_, b) in acl.users.iter_mut().chain(acl.groups.iter_mut()) {
                *b &= mask;
            }
        }
        Ok(acl)
    }

    /// The permissions of an open object file: its POSIX ACL, or its mode bits without one.
    pub fn read(fd: BorrowedFd<'_>) -> Result<FileAcl> {
        let mut buf = vec![0u8; 4 + 8 * 64];
        match rustix::fs::fgetxattr(fd, XATTR, &mut buf) {
            Ok(n) => return FileAcl::decode(&buf[..n]),
            Err(Errno::NODATA) | Err(Errno::NOTSUP) => {}
            Err(Errno::RANGE) => {
                let failed = |e: Errno| Error::from_io("cannot read the object's ACL", e.into());
                let n = rustix::fs::fgetxattr(fd, XATTR, &mut [0u8; 0]).map_err(failed)?;
                buf.resize(n, 0);
                let n = rustix::fs::fgetxattr(fd, XATTR, &mut buf).map_err(failed)?;
                return FileAcl::decode(&buf[..n]);
            }
            Err(e) => return Err(Error::from_io("cannot read the object's ACL", e.into())),
        }
        let mode = rustix::fs::fstat(fd)
            .map_err(|e| Error::from_io("cannot read the object's permissions", e.into()))?
            .st_mode;
        Ok(FileAcl::from_mode(mode))
    }

    /// The permissions of the object file at `path` (not following a symlink), as
    /// [`FileAcl::read`]: for listings, which need no open descriptor.
    pub fn read_path(path: &std::path::Path) -> Result<FileAcl> {
        let mut buf = vec![0u8; 4 + 8 * 64];
        match rustix::fs::lgetxattr(path, XATTR, &mut buf) {
            Ok(n) => return FileAcl::decode(&buf[..n]),
            Err(Errno::NODATA) | Err(Errno::NOTSUP) => {}
            Err(e) => return Err(Error::from_io(format!("cannot read the ACL of {}", path.display()), e.into())),
        }
        let st =
            rustix::fs::lstat(path).map_err(|e| Error::from_io(format!("cannot stat {}", path.display()), e.into()))?;
        Ok(FileAcl::from_mode(st.st_mode))
    }

    /// Who may do what, in words: `(who, access)` pairs for the owner, named users, the file's
    /// group, named groups and everyone else (`uid`/`gid` name the owner and the file group).
    pub fn describe(&self, owner: &str, file_group: u32) -> Vec<(String, &'static str)> {
        let mut out = vec![(format!("owner {owner}"), describe_bits(self.owner))];
        out.extend(self.users.iter().map(|&(u, b)| (format!("user {u}"), describe_bits(b))));
        out.push((format!("group {file_group}"), describe_bits(self.group)));
        out.extend(self.groups.iter().map(|&(g, b)| (format!("group {g}"), describe_bits(b))));
        out.push(("everyone else".to_owned(), describe_bits(self.other)));
        out
    }

    /// The permissions mode bits alone give.
    pub fn from_mode(mode: u32) -> FileAcl {
        FileAcl {
            owner: ((mode >> 6) & 0o6) as u8,
            users: Vec::new(),
            group: ((mode >> 3) & 0o6) as u8,
            groups: Vec::new(),
            other: (mode & 0o6) as u8,
        }
    }

    /// Gives an (unpublished or owned) object file exactly these permissions: its mode, and
    /// with named entries its POSIX ACL. Fails with `ERROR_NOT_SUPPORTED` on a filesystem
    /// without POSIX ACLs (nothing weaker is applied instead), `ERROR_ACCESS_DENIED` when the
    /// caller does not own the file.
    pub fn apply(&self, fd: BorrowedFd<'_>) -> Result<()> {
        let denied = |e: Errno| match e {
            Errno::PERM | Errno::ACCESS => Error::with_source(
                Win32Error::ACCESS_DENIED,
                "only the object's owner may change its permissions",
                e.into(),
            ),
            Errno::NOTSUP => Error::with_source(
                Win32Error::NOT_SUPPORTED,
                "the namespace's filesystem does not support POSIX ACLs, so these permissions cannot be enforced",
                e.into(),
            ),
            e => Error::from_io("cannot set the object's permissions", e.into()),
        };
        if self.is_minimal() {
            // Drop any ACL first (SetSecurityInfo on an object that had one), then the mode.
            match rustix::fs::fremovexattr(fd, XATTR) {
                Ok(()) | Err(Errno::NODATA) | Err(Errno::NOTSUP) => {}
                Err(e) => return Err(denied(e)),
            }
            rustix::fs::fchmod(fd, Mode::from_raw_mode(self.mode())).map_err(denied)?;
            return Ok(());
        }
        // The kernel sets the mode's rwx bits from the ACL (group bits = mask).
        rustix::fs::fsetxattr(fd, XATTR, &self.encode(), rustix::fs::XattrFlags::empty()).map_err(denied)
    }

    /// The access `uid` with groups `gids` has, as the kernel decides it (root: everything).
    pub fn access_of(&self, file_uid: u32, file_gid: u32, uid: u32, gids: &[u32]) -> u8 {
        if uid == 0 {
            return RW;
        }
        if uid == file_uid {
            return self.owner;
        }
        if let Some((_, b)) = self.users.iter().find(|(u, _)| *u == uid) {
            return *b;
        }
        let mut matched = false;
        let mut best = 0;
        for (g, b) in std::iter::once((file_gid, self.group)).chain(self.groups.iter().copied()) {
            if gids.contains(&g) {
                matched = true;
                best |= b; // (the kernel wants one entry holding every requested bit)
            }
        }
        if matched { best } else { self.other }
    }

    /// A DACL that grants what these permissions grant (for `GetSecurityInfo` and listings):
    /// for each entry that has less than everyone else, a deny of the difference first, then
    /// an allow of what it has, and last an allow for everyone.
    pub fn to_permissions(&self, kind: ObjectType, file_uid: u32, file_gid: u32) -> Permissions {
        let mut denies = Vec::new();
        let mut allows = Vec::new();
        let mut entry = |who: Trustee, bits: u8| {
            let missing = from_file_bits(kind, self.other) & !from_file_bits(kind, bits);
            if missing != 0 {
                denies.push(Ace { kind: AceKind::Deny, trustee: who.clone(), mask: missing });
            }
            let mask = from_file_bits(kind, bits);
            if mask != 0 {
                allows.push(Ace { kind: AceKind::Allow, trustee: who, mask });
            }
        };
        entry(Trustee::User(file_uid), self.owner);
        for &(u, b) in &self.users {
            entry(Trustee::User(u), b);
        }
        entry(Trustee::Group(file_gid), self.group);
        for &(g, b) in &self.groups {
            entry(Trustee::Group(g), b);
        }
        let mut aces = denies;
        aces.extend(allows);
        let other = from_file_bits(kind, self.other);
        if other != 0 {
            aces.push(Ace { kind: AceKind::Allow, trustee: Trustee::Everyone, mask: other });
        }
        Permissions { dacl: Some(aces) }
    }
}

/// The file permissions `permissions` give a new object described by `header`, created by this
/// process (the object file's owner is the effective uid); sets the header's recorded mode.
pub(crate) fn file_acl_for(permissions: &Permissions, kind: ObjectType, header: &mut crate::object::Header) -> FileAcl {
    let acl = permissions.file_acl(kind, rustix::process::geteuid().as_raw());
    header.mode = acl.mode();
    acl
}

/// `read`, `write`, `read,write` or `none` for `R`/`W` bits.
pub fn describe_bits(bits: u8) -> &'static str {
    match bits & RW {
        RW => "read,write",
        R => "read",
        W => "write",
        _ => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_dacls() {
        let all = Permissions::null_dacl().file_acl(ObjectType::Mapping, 1000);
        assert_eq!(all.mode(), 0o666);
        let none = Permissions::new().file_acl(ObjectType::Event, 1000);
        assert_eq!(none.mode(), 0);
        assert!(none.is_minimal());
    }

    #[test]
    fn mapping_rights_become_read_and_write() {
        let p = Permissions::new().allow(Trustee::Everyone, GENERIC_READ).allow(Trustee::User(5), GENERIC_ALL);
        let acl = p.file_acl(ObjectType::Mapping, 1000);
        assert_eq!(acl.other, R);
        assert_eq!(acl.owner, R);
        assert_eq!(acl.users, vec![(5, RW)]);
        assert_eq!(acl.mode(), 0o464);
    }

    #[test]
    fn order_matters_and_group_denies_hold_back_users() {
        // deny group 7 write, then allow user 5 everything: user 5 might be in group 7.
        let p = Permissions::new().deny(Trustee::Group(7), GENERIC_WRITE).allow(Trustee::User(5), GENERIC_ALL);
        let acl = p.file_acl(ObjectType::Mapping, 1000);
        assert_eq!(acl.users, vec![(5, R)]);
        assert_eq!(acl.groups, vec![(7, 0)]);
        // allow first, then deny: the allow wins for user 5.
        let p = Permissions::new().allow(Trustee::User(5), GENERIC_ALL).deny(Trustee::Group(7), GENERIC_WRITE);
        assert_eq!(p.file_acl(ObjectType::Mapping, 1000).users, vec![(5, RW)]);
    }

    #[test]
    fn group_allows_never_reach_other() {
        let p = Permissions::new().allow(Trustee::Group(7), GENERIC_ALL);
        let acl = p.file_acl(ObjectType::Mapping, 1000);
        assert_eq!((acl.owner, acl.group, acl.other), (0, 0, 0));
        assert_eq!(acl.groups, vec![(7, RW)]);
        assert_eq!(acl.mode(), 0o060);
    }

    #[test]
    fn sync_objects_need_every_state_right() {
        let wait_only = Permissions::new().allow(Trustee::Everyone, SYNCHRONIZE);
        assert_eq!(wait_only.file_acl(ObjectType::Event, 0).other, 0);
        assert_eq!(wait_only.file_acl(ObjectType::Mutex, 0).other, RW);
        let both = Permissions::new().allow(Trustee::Everyone, GENERIC_WRITE | GENERIC_EXECUTE);
        assert_eq!(both.file_acl(ObjectType::Semaphore, 0).other, RW);
    }

    #[test]
    fn unknown_sids_deny_everyone_and_allow_nobody() {
        let p = Permissions::new()
            .allow(Trustee::Unmapped("S-1-5-32-545".into()), GENERIC_ALL)
            .deny(Trustee::Unmapped("S-1-5-4".into()), GENERIC_WRITE)
            .allow(Trustee::Everyone, GENERIC_ALL);
        let acl = p.file_acl(ObjectType::Mapping, 1000);
        assert_eq!((acl.owner, acl.other), (R, R));
    }

    #[test]
    fn xattr_round_trips_and_garbage_is_refused() {
        let p = Permissions::new()
            .allow(Trustee::User(9), GENERIC_READ)
            .allow(Trustee::Group(3), GENERIC_ALL)
            .allow(Trustee::CreatorOwner, GENERIC_ALL);
        let acl = p.file_acl(ObjectType::Mapping, 1000);
        assert_eq!(FileAcl::decode(&acl.encode()).unwrap(), acl);
        assert!(FileAcl::decode(&[1, 2, 3]).is_err());
        assert!(FileAcl::decode(&[3, 0, 0, 0]).is_err());
        let mut bad = acl.encode();
        bad[4] = 0x77;
        assert!(FileAcl::decode(&bad).is_err());
    }

    #[test]
    fn shown_dacl_grants_what_the_acl_grants() {
        let acl = FileAcl { owner: RW, users: vec![(5, 0)], group: R, groups: vec![], other: R };
        let p = acl.to_permissions(ObjectType::Mapping, 1000, 100);
        let back = p.file_acl(ObjectType::Mapping, 1000);
        assert_eq!(back.owner, RW);
        assert_eq!(back.users, vec![(5, 0)]);
        assert_eq!(back.other, R);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics_and_what_decodes_re_encodes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(acl) = FileAcl::decode(&bytes) {
                proptest::prop_assert_eq!(FileAcl::decode(&acl.encode()).map(|a| a.mode()).ok(), Some(acl.mode()));
            }
        }

        #[test]
        fn well_formed_acls_round_trip(
            owner in 0u8..8, group in 0u8..8, other in 0u8..8,
            users in proptest::collection::btree_map(0u32..70000, 0u8..8, 0..5),
            groups in proptest::collection::btree_map(0u32..70000, 0u8..8, 0..5),
        ) {
            let acl = FileAcl {
                owner: owner & RW,
                users: users.into_iter().map(|(u, b)| (u, b & RW)).collect(),
                group: group & RW,
                groups: groups.into_iter().map(|(g, b)| (g, b & RW)).collect(),
                other: other & RW,
            };
            proptest::prop_assert_eq!(FileAcl::decode(&acl.encode()).unwrap(), acl);
        }
    }
}
