//! The on-disk object: header layout and validation, and the lifetime protocol.
//!
//! Every object, whatever its type, is one file: a 4 KiB header page, then (paging-file-backed
//! mappings only) the data. Named objects live in their scope's namespace directory; unnamed ones
//! are memfds with the same layout, so an inherited descriptor can always be validated.
//!
//! # Lifetime protocol (full argument and state table in `docs/ARCHITECTURE.md` §4)
//! Open-file-description record locks ([`crate::sys::lock`]) on the file's first two bytes.
//! Nothing ever waits for a lock inside the kernel.
//! - Every open file description (OFD) that stands for live handles holds a read lock.
//! - **Publish**: the object is built complete in an `O_TMPFILE` (header, size, reservation,
//!   exact mode, holder lock), then `linkat`ed to its name, which fails with `EEXIST` if the name
//!   is taken. Nobody can see a half-built object (I4); a crash before the link leaves nothing.
//! - **Open**: `openat(O_NOFOLLOW|O_NONBLOCK)`; `F_OFD_GETLK` (takes no lock): a write lock
//!   means a decision is in progress (no live holder: "not found"); a read lock means live: take
//!   ours, then `st_nlink > 0` (else retry) and validate the header; no lock means dead: take the
//!   decision (write) lock and unlink it if it is a verified object of this name.
//! - **Close** (last handle of this process's OFD): convert our lock to the decision lock; it
//!   succeeds exactly when no other OFD holds the object: unlink the name (if it still names
//!   our inode). A write lock needs a writable descriptor, so a process that may only read an
//!   object can never block or decide anything. An OFD that may be shared with another process
//!   decides through a fresh OFD; `fork()` gives each side its own OFD ([`crate::fork`]).
//! - Creates wait for another process's decision at most [`CONTENTION_BOUND`].
//! - Views are plain `mmap`s: they keep the memory, never the name.
//!
//! # Modules
//! - `format`: the header page's layout, encoding and validation (S4);
//! - `protocol`: [`ObjectFile`] and the publish/open/close protocol above;
//! - `scan`: namespace scans for `ls`, `gc` and the sweep ([`scan`], [`Entry`]).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FallocateFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result, Win32Error};
use crate::name::{ObjectName, Scope};
use crate::namespace::{self, Dir};
use crate::sys;
use crate::sys::lock::{self, Kind};
use crate::{fork, sweep};

/// The types of named objects; they all share one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum ObjectType {
    /// A file mapping object (section).
    Mapping = 1,
    /// An event (manual- or auto-reset).
    Event = 2,
    /// A mutex.
    Mutex = 3,
    /// A semaphore.
    Semaphore = 4,
    /// A waitable timer.
    Timer = 5,
    /// A job object (the name is reserved; jobs themselves are not supported on Linux).
    Job = 6,
}

impl ObjectType {
    fn from_raw(raw: u32) -> Option<ObjectType> {
        Some(match raw {
            1 => ObjectType::Mapping,
            2 => ObjectType::Event,
            3 => ObjectType::Mutex,
            4 => ObjectType::Semaphore,
            5 => ObjectType::Timer,
            6 => ObjectType::Job,
            _ => return None,
        })
    }

    /// A lower-case word for messages and listings (`mapping`, `mutex`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Mapping => "mapping",
            ObjectType::Event => "event",
            ObjectType::Mutex => "mutex",
            ObjectType::Semaphore => "semaphore",
            ObjectType::Timer => "timer",
            ObjectType::Job => "job",
        }
    }
}

impl std::fmt::Display for ObjectType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

mod format;
mod protocol;
mod scan;

pub use format::*;
pub use protocol::*;
pub use scan::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            kind: ObjectType::Mapping,
            protection: 4,
            attributes: 0x800_0000,
            mode: 0o600,
            size: 256,
            creator_uid: 1000,
            creator_pid: 42,
            created_ns: 7,
            backing: Some(Backing { dev: 1, ino: 2, path: PathBuf::from("/tmp/x") }),
            name: Some("Local\\x".into()),
            params: [1, 2, 3, 4],
        }
    }

    #[test]
    fn header_round_trips() {
        let h = sample();
        let buf = h.encode(&[9; 8]).unwrap();
        assert_eq!(Header::decode(&buf).unwrap(), h);
        assert_eq!(buf[SYNC_OFFSET], 9);
    }

    #[test]
    fn any_flipped_meaningful_byte_is_detected_and_padding_is_ignored() {
        let h = sample();
        let buf = h.encode(&[]).unwrap();
        let name_len = h.name.as_ref().unwrap().len();
        let path_len = 6;
        let meaningful =
            (0..OFF_NAME).chain(OFF_NAME..OFF_NAME + name_len).chain(OFF_PATH..OFF_PATH + path_len).collect::<Vec<_>>();
        for &i in &meaningful {
            let mut bad = buf.clone();
            bad[i] ^= 0x5a;
            let err = Header::decode(&bad).unwrap_err();
            assert_eq!(err.code(), Win32Error::INVALID_DATA, "byte {i}");
        }
        for i in (0..SYNC_OFFSET).filter(|i| !meaningful.contains(i)).step_by(5) {
            let mut padded = buf.clone();
            padded[i] ^= 0x5a;
            assert_eq!(Header::decode(&padded).unwrap(), h, "padding byte {i}");
        }
    }

    #[test]
    fn sizes_that_would_overflow_offsets_are_refused() {
        let mut h = sample();
        h.size = u64::MAX - 10;
        let err = Header::decode(&h.encode(&[]).unwrap()).unwrap_err();
        assert_eq!(err.code(), Win32Error::INVALID_DATA);
    }

    #[test]
    fn a_cells_sync_area_takes_sixteen_places_below_the_mutexes_and_stays_out_of_the_checksum() {
        let cells = [ObjectType::Semaphore, ObjectType::Event, ObjectType::Timer];
        for kind in cells {
            let places: std::collections::BTreeSet<usize> = (0..64).map(|ino| sync_area_offset(kind, ino)).collect();
            assert_eq!(places.len(), SYNC_PLACES as usize, "{kind}");
            for &p in &places {
                assert!(p % 64 == 0 && p + SYNC_LEN <= HEADER_SIZE && p >= OFF_NAME + NAME_CAP, "{kind} at {p}");
            }
            assert_eq!(sync_area_offset(kind, 16), sync_area_offset(kind, 0), "by the inode number alone");
        }
        for kind in [ObjectType::Mutex, ObjectType::Mapping] {
            assert_eq!(sync_area_offset(kind, 5), SYNC_OFFSET, "{kind}: the mutex word ends the page");
        }
        // Placed where asked, and not checksummed: a header with a live area decodes.
        let h = sample();
        let area = sync_area_offset(ObjectType::Event, 7);
        let mut buf = h.encode_at(&[9; 8], area).unwrap();
        assert_eq!(&buf[area..area + 8], &[9; 8]);
        buf[area + 20] = 0xff;
        assert_eq!(Header::decode(&buf).unwrap(), h);
    }

    #[test]
    fn a_creates_header_write_stops_at_its_last_meaningful_byte_and_the_zero_tail_completes_it() {
        let mapping = Header { backing: None, ..sample() };
        let name_end = OFF_NAME + mapping.name.as_ref().unwrap().len();
        let event = Header { kind: ObjectType::Event, ..mapping.clone() };
        let area = sync_area_offset(ObjectType::Event, 3);
        let cases = [
            (mapping.clone(), &[][..], SYNC_OFFSET, name_end),
            (sample(), &[][..], SYNC_OFFSET, OFF_PATH + 6),
            (event, &[7u8; 12][..], area, area + 12),
            (Header { name: None, ..mapping }, &[][..], SYNC_OFFSET, OFF_NAME),
        ];
        for (h, sync, at, end) in cases {
            let prefix = h.encode_prefix(sync, at).unwrap();
            assert_eq!(prefix.len(), end, "{:?}", h.kind);
            let mut page = prefix.clone();
            page.resize(HEADER_SIZE, 0);
            assert_eq!(Header::decode(&page).unwrap(), h);
            assert_eq!(&page[at..at + sync.len()], sync);
        }
    }

    #[test]
    fn the_sync_area_is_not_covered_by_the_checksum() {
        let mut buf = sample().encode(&[]).unwrap();
        buf[SYNC_OFFSET + 5] = 0xff;
        assert!(Header::decode(&buf).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)) {
            let _ = Header::decode(&bytes);
        }
    }
}
