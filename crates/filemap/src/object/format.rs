//! The object file's header page: its layout (all integers little-endian at fixed offsets,
//! parsed field by field, never cast), encoding, and validation of everything read from it (S4).

use super::*;

// ---------------------------------------------------------------------------------------------

/// Size of the header page; the data of a paging-file-backed mapping starts here.
pub const HEADER_SIZE: usize = sys::PAGE;
pub(super) const MAGIC: [u8; 8] = *b"FILEMAP\x01";
/// Version 4: a semaphore's, event's or timer's synchronization area starts at
/// [`sync_area_offset`] (it moves with the inode number), not always at [`SYNC_OFFSET`].
/// Version 3: a mutex's word is the last word of the shared page, with the owner's private
/// robust-list page mapped right after it (docs/SYNC.md), so older builds must not share one.
/// Version 2: the checksum covers only the meaningful bytes, word by word (version 1 hashed the
/// whole immutable part byte by byte).
pub(super) const VERSION: u32 = 4;
pub(super) const OFF_VERSION: usize = 8;
pub(super) const OFF_KIND: usize = 12;
pub(super) const OFF_HEADER_SIZE: usize = 16;
pub(super) const OFF_PROTECTION: usize = 20;
pub(super) const OFF_ATTRIBUTES: usize = 24;
pub(super) const OFF_MODE: usize = 28;
pub(super) const OFF_SIZE: usize = 32;
pub(super) const OFF_CREATOR_UID: usize = 40;
pub(super) const OFF_CREATOR_PID: usize = 44;
pub(super) const OFF_CREATED_NS: usize = 48;
pub(super) const OFF_BACKING_DEV: usize = 56;
pub(super) const OFF_BACKING_INO: usize = 64;
pub(super) const OFF_NAME_LEN: usize = 72;
pub(super) const OFF_PATH_LEN: usize = 76;
pub(super) const OFF_PARAMS: usize = 80; // 4 x u64 of type-specific creation parameters
pub(super) const OFF_CHECKSUM: usize = 112;
pub(super) const OFF_NAME: usize = 128;
pub(super) const NAME_CAP: usize = 896; // 260 UTF-16 units are at most 780 bytes of UTF-8
pub(super) const OFF_PATH: usize = 1024;
/// The longest backing-file path a named file-backed mapping can record.
pub const PATH_CAP: usize = 2048;
/// Committed objects up to this size are zero-filled by the header write instead of `fallocate`.
pub(super) const SMALL_COMMIT: u64 = 60 * 1024;
/// The zeros the header write gathers: the header page's unused tail and, for small committed
/// objects, their data (so nothing is allocated or cleared for them).
pub(super) static ZEROS: [u8; HEADER_SIZE + SMALL_COMMIT as usize] = [0; HEADER_SIZE + SMALL_COMMIT as usize];
/// Offset of the synchronization state area in the header page (64-byte aligned).
pub const SYNC_OFFSET: usize = 3072;
/// Size of the synchronization state area.
pub const SYNC_LEN: usize = HEADER_SIZE - SYNC_OFFSET;
/// How many 64-byte places a semaphore's, event's or timer's synchronization area can take
/// ([`sync_area_offset`]).
pub const SYNC_PLACES: u64 = 16;

/// Where the synchronization area of an object of type `kind` and inode number `ino` starts in
/// its header page. A mutex's is at 3072 (`SYNC_OFFSET`: its word must be the page's last, next
/// to each process's private robust-list page). A semaphore's, event's or timer's moves down by 64
/// bytes per step of `ino % SYNC_PLACES`, into the unused path area (only a file-backed mapping
/// records a path), so the state words of objects made one after another sit in different
/// cache sets: a wait over many objects reads one word per object, and words at the same page
/// offset would all compete for one set of the L1 cache (8 ways here), 60 against 32 ns for 64
/// words on this machine. Every process finds the same place: the inode number is the kernel's
/// (`fstat`), not something a writer of the file can change.
pub fn sync_area_offset(kind: ObjectType, ino: u64) -> usize {
    match kind {
        ObjectType::Semaphore | ObjectType::Event | ObjectType::Timer => {
            SYNC_OFFSET - 64 * (ino % SYNC_PLACES) as usize
        }
        _ => SYNC_OFFSET,
    }
}
/// The lowest place [`sync_area_offset`] gives: past the longest name (sync objects record no
/// backing path, so the path area under it is free).
const SYNC_LOWEST: usize = SYNC_OFFSET - 64 * (SYNC_PLACES as usize - 1);
const _: () = assert!(SYNC_LOWEST >= OFF_NAME + NAME_CAP);

/// A backing file's identity, recorded for file-backed mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backing {
    /// Device number of the file.
    pub dev: u64,
    /// Inode number of the file.
    pub ino: u64,
    /// The path it had when the mapping was created.
    pub path: PathBuf,
}

/// The immutable part of an object's header, parsed and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The object type.
    pub kind: ObjectType,
    /// Win32 `PAGE_*` protection (mappings), 0 otherwise.
    pub protection: u32,
    /// Win32 `SEC_*` attributes (mappings), 0 otherwise.
    pub attributes: u32,
    /// Permission bits the object was created with.
    pub mode: u32,
    /// Size in bytes (mappings), as requested at creation.
    pub size: u64,
    /// Effective uid of the creator.
    pub creator_uid: u32,
    /// Process id of the creator.
    pub creator_pid: u32,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_ns: u64,
    /// Backing file of a file-backed mapping.
    pub backing: Option<Backing>,
    /// Full name (`Local\x`, `Global\x`), or `None` for unnamed objects.
    pub name: Option<String>,
    /// Type-specific creation parameters (e.g. a semaphore's maximum count).
    pub params: [u64; 4],
}

pub(super) fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
pub(super) fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
pub(super) fn get_u32(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_le_bytes(b)
}
pub(super) fn get_u64(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_le_bytes(b)
}

/// A checksum over the header's meaningful immutable bytes: the fixed fields (with the checksum
/// word taken as zero), the name and the backing path. FNV-1a-style mixing of 64-bit words,
/// so validating a header costs tens of nanoseconds, not microseconds. The lengths must have
/// been checked against their capacities first.
pub(super) fn checksum(buf: &[u8], name_len: usize, path_len: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |bytes: &[u8]| {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
            h ^= h >> 29;
        }
    };
    mix(&buf[..OFF_CHECKSUM]);
    mix(&[0; 8]);
    mix(&buf[OFF_CHECKSUM + 8..OFF_NAME]);
    // (A header's prefix may end before the path area: an empty range mixes nothing.)
    if name_len > 0 {
        mix(&buf[OFF_NAME..OFF_NAME + name_len]);
    }
    if path_len > 0 {
        mix(&buf[OFF_PATH..OFF_PATH + path_len]);
    }
    h
}

impl Header {
    /// Encodes the header into a full header page, with `sync_init` at `SYNC_OFFSET` and a
    /// valid checksum: what a create writes (and what tools, tests and fuzz seeds use to build
    /// object files; a header is only ever trusted as far as its file's writers are, S6).
    pub fn encode(&self, sync_init: &[u8]) -> Result<Vec<u8>> {
        self.encode_at(sync_init, SYNC_OFFSET)
    }

    /// [`Header::encode`] with the synchronization area at `area` ([`sync_area_offset`] of the
    /// header's type and the file's inode number; clamped to the places it can give).
    pub fn encode_at(&self, sync_init: &[u8], area: usize) -> Result<Vec<u8>> {
        let mut page = self.encode_prefix(sync_init, area)?;
        page.resize(HEADER_SIZE, 0);
        Ok(page)
    }

    /// [`Header::encode_at`] without the page's zero tail: the header page's first bytes, up to
    /// the last that can be non-zero (the name, the backing path or the synchronization area,
    /// whichever ends last); every byte after them is zero. A create writes these and gathers
    /// the tail from [`ZEROS`], so it neither allocates nor clears a page for its header.
    pub(super) fn encode_prefix(&self, sync_init: &[u8], area: usize) -> Result<Vec<u8>> {
        let name_len = self.name.as_ref().map_or(0, |n| n.len());
        let path_len = self.backing.as_ref().map_or(0, |b| b.path.as_os_str().len());
        let n = sync_init.len().min(SYNC_LEN);
        let area = area.clamp(SYNC_LOWEST, SYNC_OFFSET);
        let mut end = OFF_NAME + name_len.min(NAME_CAP);
        if self.backing.is_some() {
            end = end.max(OFF_PATH + path_len.min(PATH_CAP));
        }
        if n > 0 {
            end = end.max(area + n);
        }
        // Not `vec![0; end]`: glibc's `calloc` skips the thread cache and costs ~370 instructions
        // here, `malloc` and a short clear a few dozen (measured with callgrind).
        #[allow(clippy::slow_vector_initialization)]
        let mut buf = Vec::with_capacity(end);
        buf.resize(end, 0u8);
        buf[..8].copy_from_slice(&MAGIC);
        put_u32(&mut buf, OFF_VERSION, VERSION);
        put_u32(&mut buf, OFF_KIND, self.kind as u32);
        put_u32(&mut buf, OFF_HEADER_SIZE, HEADER_SIZE as u32);
        put_u32(&mut buf, OFF_PROTECTION, self.protection);
        put_u32(&mut buf, OFF_ATTRIBUTES, self.attributes);
        put_u32(&mut buf, OFF_MODE, self.mode);
        put_u64(&mut buf, OFF_SIZE, self.size);
        put_u32(&mut buf, OFF_CREATOR_UID, self.creator_uid);
        put_u32(&mut buf, OFF_CREATOR_PID, self.creator_pid);
        put_u64(&mut buf, OFF_CREATED_NS, self.created_ns);
        for (i, p) in self.params.iter().enumerate() {
            put_u64(&mut buf, OFF_PARAMS + 8 * i, *p);
        }
        if let Some(name) = &self.name {
            let bytes = name.as_bytes();
            if bytes.len() > NAME_CAP {
                return Err(Error::new(Win32Error::FILENAME_EXCED_RANGE, format!("object name {name:?} is too long")));
            }
            put_u32(&mut buf, OFF_NAME_LEN, bytes.len() as u32);
            buf[OFF_NAME..OFF_NAME + bytes.len()].copy_from_slice(bytes);
        }
        if let Some(backing) = &self.backing {
            let bytes = backing.path.as_os_str().as_bytes();
            if bytes.len() > PATH_CAP {
                return Err(Error::new(
                    Win32Error::FILENAME_EXCED_RANGE,
                    format!(
                        "backing file path {} is longer than {PATH_CAP} bytes; a named mapping cannot record it",
                        backing.path.display()
                    ),
                ));
            }
            put_u64(&mut buf, OFF_BACKING_DEV, backing.dev);
            put_u64(&mut buf, OFF_BACKING_INO, backing.ino);
            put_u32(&mut buf, OFF_PATH_LEN, bytes.len() as u32);
            buf[OFF_PATH..OFF_PATH + bytes.len()].copy_from_slice(bytes);
        }
        if n > 0 {
            buf[area..area + n].copy_from_slice(&sync_init[..n]);
        }
        let sum = checksum(&buf, get_u32(&buf, OFF_NAME_LEN) as usize, get_u32(&buf, OFF_PATH_LEN) as usize);
        put_u64(&mut buf, OFF_CHECKSUM, sum);
        Ok(buf)
    }

    /// Parses and validates a header page read from disk. Everything is untrusted (S4): any
    /// inconsistency is an `ERROR_INVALID_DATA` error naming what is wrong.
    pub fn decode(buf: &[u8]) -> Result<Header> {
        Header::decode_for(buf, None)
    }

    /// [`Header::decode`] for an open by name: when the header records `expect` (written out,
    /// compared in place), its `name` is left `None` and nothing is allocated for it (the handle
    /// keeps the [`ObjectName`] it was opened with); otherwise `name` holds what the header
    /// records instead (empty if nothing), for the caller's error message.
    // LONG: one check per header field, in layout order, each with its own message.
    pub(crate) fn decode_for(buf: &[u8], expect: Option<&ObjectName>) -> Result<Header> {
        let bad = |why: &str| Error::new(Win32Error::INVALID_DATA, format!("corrupt object header: {why}"));
        if buf.len() < HEADER_SIZE {
            return Err(bad("the file is shorter than a header"));
        }
        if buf[..8] != MAGIC {
            return Err(bad("bad magic (not a filemap object)"));
        }
        if get_u32(buf, OFF_VERSION) != VERSION {
            return Err(bad(&format!("unknown version {}", get_u32(buf, OFF_VERSION))));
        }
        let kind = ObjectType::from_raw(get_u32(buf, OFF_KIND)).ok_or_else(|| bad("unknown object type"))?;
        if get_u32(buf, OFF_HEADER_SIZE) as usize != HEADER_SIZE {
            return Err(bad("unexpected header size"));
        }
        let name_len = get_u32(buf, OFF_NAME_LEN) as usize;
        if name_len > NAME_CAP {
            return Err(bad("name length out of range"));
        }
        let path_len = get_u32(buf, OFF_PATH_LEN) as usize;
        if path_len > PATH_CAP {
            return Err(bad("backing path length out of range"));
        }
        if get_u64(buf, OFF_CHECKSUM) != checksum(buf, name_len, path_len) {
            return Err(bad("checksum mismatch"));
        }
        let recorded = &buf[OFF_NAME..OFF_NAME + name_len];
        let name = match expect {
            Some(n) if n.is_written_as_bytes(recorded) => None,
            // Another name, or none: kept (as text, whatever the bytes) for the caller's message.
            Some(_) => Some(String::from_utf8_lossy(recorded).into_owned()),
            None if name_len == 0 => None,
            None => {
                let s = std::str::from_utf8(recorded).map_err(|_| bad("name is not UTF-8"))?;
                Some(s.to_owned())
            }
        };
        let backing = if path_len == 0 {
            None
        } else {
            Some(Backing {
                dev: get_u64(buf, OFF_BACKING_DEV),
                ino: get_u64(buf, OFF_BACKING_INO),
                path: PathBuf::from(OsStr::from_bytes(&buf[OFF_PATH..OFF_PATH + path_len])),
            })
        };
        let size = get_u64(buf, OFF_SIZE);
        if kind == ObjectType::Mapping && size == 0 {
            return Err(bad("mapping of size 0"));
        }
        if size > i64::MAX as u64 - HEADER_SIZE as u64 {
            return Err(bad("size out of range"));
        }
        let mut params = [0u64; 4];
        for (i, p) in params.iter_mut().enumerate() {
            *p = get_u64(buf, OFF_PARAMS + 8 * i);
        }
        Ok(Header {
            kind,
            protection: get_u32(buf, OFF_PROTECTION),
            attributes: get_u32(buf, OFF_ATTRIBUTES),
            mode: get_u32(buf, OFF_MODE),
            size,
            creator_uid: get_u32(buf, OFF_CREATOR_UID),
            creator_pid: get_u32(buf, OFF_CREATOR_PID),
            created_ns: get_u64(buf, OFF_CREATED_NS),
            backing,
            name,
            params,
        })
    }

    /// Reads and validates the header of an open object file.
    pub(crate) fn read(fd: BorrowedFd<'_>) -> Result<Header> {
        Header::read_for(fd, None)
    }

    /// [`Header::read`] with [`Header::decode_for`]'s name check.
    pub(crate) fn read_for(fd: BorrowedFd<'_>, expect: Option<&ObjectName>) -> Result<Header> {
        // One read of the whole page into uninitialized memory, the usual case: no 4 KiB of
        // zeroing first. Anything else (a short or interrupted read) goes the careful way.
        let mut raw = [std::mem::MaybeUninit::<u8>::uninit(); HEADER_SIZE];
        if let Ok((page, _)) = rustix::io::pread(fd, &mut raw[..], 0)
            && page.len() == HEADER_SIZE
        {
            return Header::decode_for(page, expect);
        }
        let mut buf = [0u8; HEADER_SIZE];
        let mut got = 0;
        while got < HEADER_SIZE {
            match rustix::io::pread(fd, &mut buf[got..], got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::from_io("cannot read object header", e.into())),
            }
        }
        if got < HEADER_SIZE {
            return Err(Error::new(
                Win32Error::INVALID_DATA,
                "corrupt object header: the file is shorter than a header",
            ));
        }
        Header::decode_for(&buf, expect)
    }
}
