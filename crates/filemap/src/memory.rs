//! The memory API around views: reserve and commit, protection, locking, queries and
//! placeholders, as Windows' `VirtualAlloc`, `VirtualFree`, `VirtualProtect`, `VirtualLock` and
//! `VirtualQuery` define them, for views and for private memory.
//!
//! # The registry
//!
//! Every view this crate maps and every private allocation it makes is recorded in one
//! process-wide registry (base address → allocation): its reserved span, the protection it was
//! allocated with (`AllocationProtect`), its type (`MEM_MAPPED` or `MEM_PRIVATE`) and, per page
//! run, the page's state (committed or reserved), its protection (with `PAGE_GUARD`) and whether
//! it is locked. Queries, commits and protection changes read and update it under one lock;
//! nothing is re-derived from `/proc/self/maps` for memory we own (that file is read only for
//! memory we did not allocate: the heap, stacks, libraries).
//!
//! # Commit state of `SEC_RESERVE` sections
//!
//! Commit is a property of the *section*, shared by every view in every process. It is not kept
//! in a table anywhere: a page of a reserved section is committed exactly when the object file
//! has that page allocated *and written*, which the kernel reports through
//! `lseek(SEEK_DATA/SEEK_HOLE)`. A commit `fallocate`s the range (a full tmpfs fails here, with
//! `ERROR_COMMITMENT_LIMIT`) and then faults the pages in without writing them
//! (`MADV_POPULATE_READ`), because tmpfs reports allocated-but-never-written pages as holes.
//! Deriving the state from the kernel means the state cannot lie: a page reported committed has
//! memory behind it and never needs an allocation on touch, so no view ever takes SIGBUS on a
//! full filesystem for a page it was told was committed. A bitmap in the shared header would be
//! hostile input that could claim pages are committed when they are not. A process that can
//! write the object file can still allocate pages (they then read as committed: harmless, it
//! could have committed them) or punch holes (destroying data it could overwrite anyway).
//!
//! Views start inaccessible (`PROT_NONE`) over reserved pages. The committing view gets its pages
//! opened at once. Other views (in this or other processes) open theirs lazily: a `SIGSEGV`
//! handler installed with the first view of a reserved section checks whether the faulting page
//! belongs to such a view and is now committed in the file; if so it opens the page and the
//! access is retried, otherwise the fault goes to the previous handler (by default the process
//! dies, as an access violation kills a Windows program without a handler). Safe Rust accessors
//! ([`View::read_at`](crate::View::read_at) etc.) check the state first and return
//! `ERROR_NOACCESS` instead of faulting.

#![allow(unsafe_code)] // address-space bookkeeping; the raw calls are in sys::vm, argued there

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FallocateFlags, SeekFrom};
use rustix::io::Errno;
use rustix::mm::ProtFlags;

use crate::error::{Error, Result, Win32Error};
use crate::object::MapPin;
use crate::sys::{GRANULARITY, PAGE, vm};

/// Win32 `MEM_*` values (allocation types, free types, states and region types).
pub mod mem {
    /// `MEM_COMMIT`: commit pages (also the committed state).
    pub const COMMIT: u32 = 0x1000;
    /// `MEM_RESERVE`: reserve address space (also the reserved state).
    pub const RESERVE: u32 = 0x2000;
    /// `MEM_REPLACE_PLACEHOLDER`: replace a placeholder (`VirtualAlloc2`, `MapViewOfFile3`).
    pub const REPLACE_PLACEHOLDER: u32 = 0x4000;
    /// `MEM_DECOMMIT`: decommit pages (`VirtualFree`).
    pub const DECOMMIT: u32 = 0x4000;
    /// `MEM_RELEASE`: release an allocation (`VirtualFree`).
    pub const RELEASE: u32 = 0x8000;
    /// `MEM_FREE`: the state of unallocated address space.
    pub const FREE: u32 = 0x1_0000;
    /// `MEM_PRIVATE`: private memory.
    pub const PRIVATE: u32 = 0x2_0000;
    /// `MEM_RESERVE_PLACEHOLDER`: reserve a placeholder (`VirtualAlloc2`).
    pub const RESERVE_PLACEHOLDER: u32 = 0x4_0000;
    /// `MEM_MAPPED`: a view of a section.
    pub const MAPPED: u32 = 0x4_0000;
    /// `MEM_RESET`: the contents of the pages are no longer needed.
    pub const RESET: u32 = 0x8_0000;
    /// `MEM_TOP_DOWN`: allocate at the highest free address.
    pub const TOP_DOWN: u32 = 0x10_0000;
    /// `MEM_WRITE_WATCH`: track written pages (not supported).
    pub const WRITE_WATCH: u32 = 0x20_0000;
    /// `MEM_PHYSICAL`: AWE memory (not supported).
    pub const PHYSICAL: u32 = 0x40_0000;
    /// `MEM_RESET_UNDO`.
    pub const RESET_UNDO: u32 = 0x100_0000;
    /// `MEM_LARGE_PAGES`: back the allocation with large pages.
    pub const LARGE_PAGES: u32 = 0x2000_0000;
    /// `MEM_COALESCE_PLACEHOLDERS` (`VirtualFree` with `MEM_RELEASE`).
    pub const COALESCE_PLACEHOLDERS: u32 = 0x1;
    /// `MEM_PRESERVE_PLACEHOLDER` (`VirtualFree` with `MEM_RELEASE`, `UnmapViewOfFile2`).
    pub const PRESERVE_PLACEHOLDER: u32 = 0x2;
}

/// `PAGE_*` modifiers that combine with a base protection.
pub mod modifier {
    /// `PAGE_GUARD`: the first access faults (here: the page is inaccessible).
    pub const GUARD: u32 = 0x100;
    /// `PAGE_NOCACHE`.
    pub const NOCACHE: u32 = 0x200;
    /// `PAGE_WRITECOMBINE`.
    pub const WRITECOMBINE: u32 = 0x400;
}

const CACHE_MODS: u32 = modifier::NOCACHE | modifier::WRITECOMBINE;

/// What one page run looks like in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Page {
    /// Private memory: committed. Views of reserved sections: known committed *and opened in
    /// this process* (the truth is the file; see the module docs).
    committed: bool,
    /// Full `PAGE_*` protection, modifiers included (0 while reserved).
    protect: u32,
    locked: bool,
}

/// Page runs of one allocation: the first run starts at 0, and each key of `rest` starts a run
/// lasting to the next key (or the end). An allocation whose pages all look alike (every view
/// until its protection or commitment changes) allocates nothing for its runs.
#[derive(Debug)]
struct Runs {
    len: usize,
    first: Page,
    rest: BTreeMap<usize, Page>,
}

impl Runs {
    fn new(len: usize, page: Page) -> Runs {
        Runs { len, first: page, rest: BTreeMap::new() }
    }

    /// The run starting at or before `off`: (start, page).
    fn start_of(&self, off: usize) -> (usize, Page) {
        self.rest.range(..=off).next_back().map_or((0, self.first), |(&k, &p)| (k, p))
    }

    /// The run containing `off`: (start, end, page).
    fn at(&self, off: usize) -> (usize, usize, Page) {
        let (start, page) = self.start_of(off);
        let end = self.rest.range(off + 1..).next().map_or(self.len, |(&k, _)| k);
        (start, end, page)
    }

    fn split(&mut self, at: usize) {
        if at == 0 || at >= self.len || self.rest.contains_key(&at) {
            return;
        }
        let (_, _, page) = self.at(at);
        self.rest.insert(at, page);
    }

    fn update(&mut self, start: usize, end: usize, mut f: impl FnMut(Page) -> Page) {
        self.split(start);
        self.split(end);
        if start == 0 && end > 0 {
            self.first = f(self.first);
        }
        for (_, page) in self.rest.range_mut(start..end) {
            *page = f(*page);
        }
        // Coalesce equal neighbours around and inside the range.
        let keys: Vec<usize> = self.rest.range(start..=end.min(self.len)).map(|(&k, _)| k).collect();
        for k in keys {
            let (_, prev) = self.start_of(k - 1);
            if Some(prev) == self.rest.get(&k).copied() {
                self.rest.remove(&k);
            }
        }
    }

    /// The runs overlapping `[start, end)`, clipped to it.
    fn pieces(&self, start: usize, end: usize) -> Vec<(usize, usize, Page)> {
        let mut out = Vec::new();
        let mut off = start;
        while off < end {
            let (_, run_end, page) = self.at(off);
            let stop = run_end.min(end);
            out.push((off, stop, page));
            off = stop;
        }
        out
    }
}

/// How a view of a `SEC_RESERVE` section reaches its object file.
#[derive(Debug)]
pub(crate) struct ReservedSection {
    /// A descriptor of the object file (the handle's description, pinned like a mapping).
    pub fd: OwnedFd,
    /// Held, never read: `fd` shares the handle's description, so it pins it like a mapping.
    #[allow(dead_code)]
    pub pin: Option<MapPin>,
    /// Where the view's first byte is in the file.
    pub file_offset: u64,
    /// Where the section's data ends in the file (header + size).
    pub file_end: u64,
}

/// A view as the registry records it.
#[derive(Debug)]
pub(crate) struct ViewRecord {
    /// The view's protection (`PAGE_READWRITE`, `PAGE_READONLY`, `PAGE_WRITECOPY`, execute
    /// variants, `PAGE_NOACCESS`), without modifiers.
    pub protect: u32,
    /// `PAGE_NOCACHE`/`PAGE_WRITECOMBINE` from the section's `SEC_NOCACHE`/`SEC_WRITECOMBINE`.
    pub modifiers: u32,
    /// The section's protection (`PAGE_*` the object was created with).
    pub section_protect: u32,
    /// Copy-on-write view.
    pub copy: bool,
    /// Length as mapped (not page-rounded).
    pub len: usize,
    /// Present for views of `SEC_RESERVE` sections.
    pub reserved: Option<ReservedSection>,
}

#[derive(Debug)]
enum Kind {
    Private {
        placeholder: bool,
        huge: usize,
    },
    /// A view. `raw`: given away with `View::into_raw` (unmapped by address); `pin`: a raw
    /// view's `MapPin` (see `object::MapPin`), dropped only after its pages are unmapped.
    View {
        view: ViewRecord,
        raw: bool,
        pin: Option<MapPin>,
    },
}

#[derive(Debug)]
struct Allocation {
    /// Page-rounded span.
    len: usize,
    alloc_protect: u32,
    kind: Kind,
    runs: Runs,
}

static REGISTRY: Mutex<BTreeMap<usize, Allocation>> = Mutex::new(BTreeMap::new());

/// Set once any view's protection was changed with [`protect`]: safe accessors of views then
/// check the registry before copying (a changed page may be inaccessible).
static VIEW_OVERRIDES: AtomicUsize = AtomicUsize::new(0);

fn registry() -> std::sync::MutexGuard<'static, BTreeMap<usize, Allocation>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn find(reg: &BTreeMap<usize, Allocation>, addr: usize) -> Option<usize> {
    find_allocation(reg, addr).map(|(base, _)| base)
}

/// [`find`], with the allocation found.
fn find_allocation(reg: &BTreeMap<usize, Allocation>, addr: usize) -> Option<(usize, &Allocation)> {
    let (&base, alloc) = reg.range(..=addr).next_back()?;
    (addr < base + alloc.len).then_some((base, alloc))
}

const fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

fn invalid(what: impl Into<String>) -> Error {
    Error::new(Win32Error::INVALID_PARAMETER, what)
}

fn bad_address(what: impl Into<String>) -> Error {
    Error::new(Win32Error::INVALID_ADDRESS, what)
}

/// The access a Win32 base protection gives: (read, write, execute, copy).
fn rights(base: u32) -> (bool, bool, bool, bool) {
    match base {
        0x02 => (true, false, false, false),
        0x04 => (true, true, false, false),
        0x08 => (true, true, false, true),
        0x10 => (false, false, true, false),
        0x20 => (true, false, true, false),
        0x40 => (true, true, true, false),
        0x80 => (true, true, true, true),
        _ => (false, false, false, false),
    }
}

/// Validates a `PAGE_*` value as `VirtualAlloc`/`VirtualProtect` do: exactly one base
/// protection, modifiers only `PAGE_GUARD`, `PAGE_NOCACHE`, `PAGE_WRITECOMBINE` (not two of them,
/// not with `PAGE_NOACCESS`), and no write-copy for private memory. Returns (base, modifiers).
pub(crate) fn check_protect(protect: u32, private: bool, op: &str) -> Result<(u32, u32)> {
    let base = protect & 0xff;
    let mods = protect & !0xff;
    let bad = |why: &str| Err(invalid(format!("{op}: invalid page protection {protect:#x}: {why}")));
    if !matches!(base, 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80) {
        return bad("exactly one PAGE_* base protection is required");
    }
    if mods & !(modifier::GUARD | CACHE_MODS) != 0 {
        return bad("unknown modifier bits");
    }
    if mods.count_ones() > 1 {
        return bad("PAGE_GUARD, PAGE_NOCACHE and PAGE_WRITECOMBINE exclude each other");
    }
    if mods != 0 && base == 0x01 {
        return bad("PAGE_NOACCESS takes no modifier");
    }
    if private && matches!(base, 0x08 | 0x80) {
        return bad("private memory cannot be copy-on-write");
    }
    Ok((base, mods))
}

/// Validates a `PAGE_*` value as `VirtualAlloc` (`private`) or `MapViewOfFile3` do, returning
/// (base protection, modifiers); `ERROR_INVALID_PARAMETER` for an invalid combination.
pub fn check_protection(protect: u32, private: bool) -> Result<(u32, u32)> {
    check_protect(protect, private, "invalid page protection")
}

/// The Linux protection of a full Win32 protection (guard pages are inaccessible).
fn prot_of(protect: u32) -> ProtFlags {
    if protect & modifier::GUARD != 0 { ProtFlags::empty() } else { vm::linux_prot(protect & 0xff) }
}

/// The system's large page size (`GetLargePageMinimum`): the default huge page size from
/// `/proc/meminfo`, or 0 if the kernel has no huge page support.
pub fn large_page_minimum() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let rest = l.strip_prefix("Hugepagesize:")?;
                    let kb: usize = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                    Some(kb * 1024)
                })
            })
            .unwrap_or(0)
    })
}

/// Reserves and/or commits memory (`VirtualAlloc`, and `VirtualAlloc2` when `placeholders` is
/// true, which allows `MEM_RESERVE_PLACEHOLDER` and `MEM_REPLACE_PLACEHOLDER`).
///
/// - `MEM_RESERVE` (optionally with `MEM_COMMIT`): a new private allocation at `addr` rounded
///   down to 64 KiB (or anywhere for 0), `ERROR_INVALID_ADDRESS` if that range is in use.
/// - `MEM_COMMIT` alone inside an allocation or a view: commits the page-rounded range (zeroed
///   for private memory; for a view, the pages of the *section*, see the module docs) and sets
///   its protection; `ERROR_INVALID_ADDRESS` if the range is not inside one allocation.
/// - `MEM_RESET`: the contents of the range are no longer needed.
///
/// Returns the page-rounded base of what was reserved or committed.
pub fn allocate(addr: usize, size: usize, alloc_type: u32, protect: u32, placeholders: bool) -> Result<usize> {
    let op = "cannot allocate memory";
    check_allocation_type(alloc_type, size, placeholders, op)?;
    if alloc_type & (mem::RESET | mem::RESET_UNDO) != 0 {
        return reset(addr, size, alloc_type == mem::RESET_UNDO);
    }
    let placeholder = alloc_type & mem::RESERVE_PLACEHOLDER != 0;
    if placeholder && protect != 0x01 {
        return Err(invalid(format!("{op}: a placeholder must be PAGE_NOACCESS")));
    }
    let (base_prot, mods) = check_protect(protect, true, op)?;
    let huge = if alloc_type & mem::LARGE_PAGES != 0 { large_page_alignment(addr, size, alloc_type, op)? } else { 0 };
    let full = base_prot | mods;
    if alloc_type & mem::RESERVE == 0 && addr != 0 {
        return commit_existing(addr, size, full, alloc_type & mem::REPLACE_PLACEHOLDER != 0);
    }
    if alloc_type & mem::REPLACE_PLACEHOLDER != 0 {
        return replace_placeholder_private(addr, size, alloc_type, full);
    }
    let commit = alloc_type & mem::COMMIT != 0;
    reserve_private(addr, size, full, (placeholder, huge), commit, op)
}

/// The checks of `VirtualAlloc`'s allocation type that need nothing but its arguments: known
/// bits only, a size, `MEM_RESET`/`MEM_RESET_UNDO` alone, `MEM_COMMIT` or `MEM_RESERVE`, no
/// unsupported bits, placeholders reserved alone.
fn check_allocation_type(alloc_type: u32, size: usize, placeholders: bool, op: &str) -> Result<()> {
    let known = mem::COMMIT
        | mem::RESERVE
        | mem::RESET
        | mem::RESET_UNDO
        | mem::TOP_DOWN
        | mem::WRITE_WATCH
        | mem::PHYSICAL
        | mem::LARGE_PAGES
        | if placeholders { mem::RESERVE_PLACEHOLDER | mem::REPLACE_PLACEHOLDER } else { 0 };
    if alloc_type & !known != 0 {
        return Err(invalid(format!("{op}: unknown allocation type bits in {alloc_type:#x}")));
    }
    if size == 0 {
        return Err(invalid(format!("{op}: the size is 0")));
    }
    if alloc_type & (mem::RESET | mem::RESET_UNDO) != 0 {
        if alloc_type & !(mem::RESET | mem::RESET_UNDO) != 0 || alloc_type == mem::RESET | mem::RESET_UNDO {
            return Err(invalid(format!("{op}: MEM_RESET and MEM_RESET_UNDO must be used alone")));
        }
        return Ok(());
    }
    if alloc_type & (mem::COMMIT | mem::RESERVE) == 0 {
        return Err(invalid(format!("{op}: MEM_COMMIT or MEM_RESERVE is required")));
    }
    if alloc_type & (mem::WRITE_WATCH | mem::PHYSICAL) != 0 {
        return Err(Error::new(
            Win32Error::NOT_SUPPORTED,
            format!("{op}: MEM_WRITE_WATCH and MEM_PHYSICAL are not supported on Linux"),
        ));
    }
    if alloc_type & mem::RESERVE_PLACEHOLDER != 0
        && (alloc_type & mem::RESERVE == 0 || alloc_type & (mem::COMMIT | mem::REPLACE_PLACEHOLDER) != 0)
    {
        return Err(invalid(format!("{op}: MEM_RESERVE_PLACEHOLDER needs MEM_RESERVE alone")));
    }
    Ok(())
}

/// The large-page size a `MEM_LARGE_PAGES` allocation is aligned to, after checking it reserves
/// and commits at once and that its address and size are multiples of it.
fn large_page_alignment(addr: usize, size: usize, alloc_type: u32, op: &str) -> Result<usize> {
    let lp = large_page_minimum();
    if alloc_type & (mem::RESERVE | mem::COMMIT) != mem::RESERVE | mem::COMMIT {
        return Err(invalid(format!("{op}: MEM_LARGE_PAGES needs MEM_RESERVE | MEM_COMMIT")));
    }
    if lp == 0 || !size.is_multiple_of(lp) || !addr.is_multiple_of(lp) {
        return Err(invalid(format!(
            "{op}: large-page allocations need a size and address that are multiples of {lp} bytes"
        )));
    }
    Ok(lp)
}

/// A new private allocation covering `addr..addr + size` (at `addr` rounded down to the
/// allocation granularity, or anywhere for 0), recorded in the registry and committed at once
/// when `commit`; a failed commit releases it again. `(placeholder, huge)`: whether it is a
/// placeholder, and its large-page size (0 for normal pages).
fn reserve_private(
    addr: usize,
    size: usize,
    full: u32,
    (placeholder, huge): (bool, usize),
    commit: bool,
    op: &str,
) -> Result<usize> {
    let align = if huge > 0 { huge } else { GRANULARITY };
    let start = addr - addr % align;
    let end = addr
        .checked_add(size)
        .map(|e| round_up(e, PAGE))
        .ok_or_else(|| invalid(format!("{op}: the range overflows")))?;
    let len = end - start;
    let mut reg = registry();
    let got = vm::reserve(len, align, (addr != 0).then_some(start)).map_err(|e| match e {
        Errno::EXIST => bad_address(format!("{op}: {start:#x}..{end:#x} is already in use")),
        e => Error::with_source(Win32Error::NOT_ENOUGH_MEMORY, format!("{op}: no room for {len} bytes"), e.into()),
    })?;
    let reserved = Page { committed: false, protect: 0, locked: false };
    let kind = Kind::Private { placeholder, huge };
    reg.insert(got, Allocation { len, alloc_protect: full, kind, runs: Runs::new(len, reserved) });
    if commit {
        let alloc = reg.get_mut(&got).expect("just inserted");
        if let Err(e) = commit_private_range(got, alloc, 0, len, full) {
            let alloc = reg.remove(&got).expect("present");
            // SAFETY: the allocation was made above and never handed out.
            unsafe { vm::release(got, alloc.len) }.ok();
            return Err(e);
        }
    }
    Ok(got)
}

fn commit_private_range(base: usize, alloc: &mut Allocation, start: usize, end: usize, protect: u32) -> Result<()> {
    let Kind::Private { huge, .. } = alloc.kind else {
        return Err(invalid("not private memory"));
    };
    let prot = prot_of(protect);
    for (s, e, page) in alloc.runs.pieces(start, end) {
        let (addr, len) = (base + s, e - s);
        let res = if page.committed {
            // SAFETY: the range is committed memory of an allocation this registry owns.
            unsafe { vm::protect(addr, len, prot) }
        } else if huge > 0 {
            // SAFETY: the range lies in our own reservation and is not committed: nobody can
            // hold references into it.
            unsafe { vm::commit_private_huge(addr, len, prot, huge) }
        } else {
            // SAFETY: as above.
            unsafe { vm::commit_private(addr, len, prot) }
        };
        res.map_err(|e| match e {
            Errno::NOMEM if huge > 0 => Error::with_source(
                Win32Error::NO_SYSTEM_RESOURCES,
                format!("cannot commit {len} bytes of large pages: the system's huge page pool is exhausted"),
                e.into(),
            ),
            Errno::NOMEM => Error::with_source(
                Win32Error::COMMITMENT_LIMIT,
                format!("cannot commit {len} bytes: the system's commit limit is reached"),
                e.into(),
            ),
            e => Error::from_io("cannot commit memory", e.into()),
        })?;
    }
    alloc.runs.update(start, end, |p| Page { committed: true, protect, locked: p.locked && p.committed });
    Ok(())
}

fn commit_existing(addr: usize, size: usize, protect: u32, replace: bool) -> Result<usize> {
    let op = "cannot commit memory";
    if replace {
        return Err(invalid(format!("{op}: MEM_REPLACE_PLACEHOLDER needs MEM_RESERVE")));
    }
    let start = addr & !(PAGE - 1);
    let end = addr
        .checked_add(size)
        .map(|e| round_up(e, PAGE))
        .ok_or_else(|| invalid(format!("{op}: the range overflows")))?;
    let mut reg = registry();
    let Some(base) = find(&reg, start) else {
        return Err(bad_address(format!("{op}: {start:#x} is not inside a reservation")));
    };
    let alloc = reg.get_mut(&base).expect("found");
    if end > base + alloc.len {
        return Err(bad_address(format!("{op}: {start:#x}..{end:#x} runs past the end of its allocation")));
    }
    match &alloc.kind {
        Kind::Private { placeholder: true, .. } => {
            Err(bad_address(format!("{op}: {start:#x} is a placeholder; replace it first")))
        }
        Kind::Private { .. } => {
            commit_private_range(base, alloc, start - base, end - base, protect)?;
            Ok(start)
        }
        Kind::View { .. } => {
            commit_view_range(base, alloc, start - base, end - base, protect)?;
            Ok(start)
        }
    }
}

/// What a protection gives access to, in the terms Windows uses to check a view's new
/// protection (Wine's conformance test `test_CreateFileMapping_protection` records the rule):
/// read, write, execute, and write-copy (execute-read-write implies write-copy; plain
/// `PAGE_WRITECOPY` counts as read only).
fn access_bits(base: u32) -> u32 {
    const R: u32 = 1;
    const W: u32 = 2;
    const X: u32 = 4;
    const C: u32 = 8;
    match base {
        0x04 => R | W,
        0x10 | 0x20 => R | X,
        0x40 => R | W | C | X,
        0x80 => R | C | X,
        0x02 | 0x08 => R,
        _ => 0,
    }
}

/// Whether a view may be given `protect` (`VirtualProtect`, `VirtualAlloc(MEM_COMMIT)`): the
/// same access as the view, or less, and no more than the section's protection allows. A
/// shared view cannot be made copy-on-write page by page on Linux: refused with the same code.
fn view_allows(view: &ViewRecord, protect: u32) -> bool {
    let (m, v, p) = (access_bits(view.section_protect), access_bits(view.protect), access_bits(protect & 0xff));
    let compatible = if v == p {
        true
    } else if v == 0 || v & p != p {
        false
    } else {
        m & p == p
    };
    compatible && (view.copy || !matches!(protect & 0xff, 0x08 | 0x80))
}

fn commit_view_range(base: usize, alloc: &mut Allocation, start: usize, end: usize, protect: u32) -> Result<()> {
    let Kind::View { view, .. } = &alloc.kind else { unreachable!("checked by the caller") };
    let op = "cannot commit view memory";
    let (base_prot, guard) = (protect & 0xff, protect & modifier::GUARD);
    if !view_allows(view, base_prot) {
        return Err(invalid(format!("{op}: protection {protect:#x} exceeds the view's {:#x}", view.protect)));
    }
    // Cache modifiers belong to the section.
    let protect = base_prot | guard | view.modifiers;
    if let Some(sec) = &view.reserved {
        let file_start = sec.file_offset + start as u64;
        let file_stop = (sec.file_offset + end as u64).min(sec.file_end);
        if file_stop > file_start {
            rustix::fs::fallocate(&sec.fd, FallocateFlags::empty(), file_start, file_stop - file_start).map_err(
                |e| match e {
                    Errno::NOSPC | Errno::NOMEM | Errno::FBIG | Errno::DQUOT => Error::with_source(
                        Win32Error::COMMITMENT_LIMIT,
                        format!(
                            "{op}: no memory left in the namespace's filesystem for {} bytes",
                            file_stop - file_start
                        ),
                        e.into(),
                    ),
                    e => Error::from_io(op, e.into()),
                },
            )?;
        }
        populate(sec, file_start, file_stop)?;
    }
    // SAFETY: the range lies inside a live view the registry owns.
    unsafe { vm::protect(base + start, end - start, prot_of(protect)) }.map_err(|e| Error::from_io(op, e.into()))?;
    alloc.runs.update(start, end, |p| Page { committed: true, protect, locked: p.locked });
    if view.reserved.is_none() || protect != view.protect | view.modifiers {
        VIEW_OVERRIDES.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Makes freshly allocated pages of the object file "written" (so `SEEK_DATA` reports them as
/// committed to every process) by faulting them in through a short-lived read-only shared
/// mapping; contents are not touched. (The view itself may be inaccessible or copy-on-write.)
fn populate(sec: &ReservedSection, file_start: u64, file_stop: u64) -> Result<()> {
    if file_stop <= file_start {
        return Ok(());
    }
    let len = round_up((file_stop - file_start) as usize, PAGE);
    vm::populate_file(sec.fd.as_fd(), file_start, len)
        .map_err(|e| Error::from_io("cannot commit view memory: faulting in the committed pages failed", e.into()))
}

fn reset(addr: usize, size: usize, undo: bool) -> Result<usize> {
    let op = if undo { "MEM_RESET_UNDO" } else { "MEM_RESET" };
    let start = addr & !(PAGE - 1);
    let end = addr.checked_add(size).map(|e| round_up(e, PAGE)).ok_or_else(|| invalid(format!("{op}: overflow")))?;
    let reg = registry();
    let Some(base) = find(&reg, start) else {
        return Err(bad_address(format!("{op}: {start:#x} is not inside an allocation")));
    };
    let alloc = &reg[&base];
    if end > base + alloc.len {
        return Err(bad_address(format!("{op}: {start:#x}..{end:#x} runs past the end of its allocation")));
    }
    if let Kind::Private { .. } = alloc.kind
        && !undo
    {
        for (s, e, page) in alloc.runs.pieces(start - base, end - base) {
            if page.committed && !page.locked {
                // SAFETY: committed private pages of our own allocation; MEM_RESET's contract is
                // that the caller no longer needs their contents.
                unsafe { vm::reset(base + s, e - s) }.ok();
            }
        }
    }
    Ok(start)
}

fn replace_placeholder_private(addr: usize, size: usize, alloc_type: u32, protect: u32) -> Result<usize> {
    let op = "cannot replace a placeholder";
    if alloc_type & mem::RESERVE == 0 {
        return Err(invalid(format!("{op}: MEM_REPLACE_PLACEHOLDER needs MEM_RESERVE")));
    }
    let mut reg = registry();
    match reg.get(&addr) {
        Some(Allocation { len, kind: Kind::Private { placeholder: true, .. }, .. }) if *len == round_up(size, PAGE) => {
        }
        _ => return Err(invalid(format!("{op}: {addr:#x}+{size:#x} is not exactly a placeholder"))),
    }
    let alloc = reg.get_mut(&addr).expect("checked");
    alloc.kind = Kind::Private { placeholder: false, huge: 0 };
    alloc.alloc_protect = protect;
    if alloc_type & mem::COMMIT != 0 {
        let len = alloc.len;
        commit_private_range(addr, alloc, 0, len, protect)?;
    }
    Ok(addr)
}

/// Decommits or releases memory (`VirtualFree`).
///
/// `MEM_DECOMMIT` turns committed private pages back into reservations (size 0: to the end of
/// the allocation); views cannot be decommitted (`ERROR_INVALID_PARAMETER`, as on Windows).
/// `MEM_RELEASE` frees a whole allocation: `addr` must be its base (`ERROR_INVALID_ADDRESS`)
/// and `size` 0 (`ERROR_INVALID_PARAMETER`). With `MEM_PRESERVE_PLACEHOLDER` it instead splits
/// `[addr, addr + size)` out of a placeholder as a placeholder of its own; with
/// `MEM_COALESCE_PLACEHOLDERS` it merges the adjacent placeholders covering exactly that range.
pub fn free(addr: usize, size: usize, free_type: u32) -> Result<()> {
    let op = "cannot free memory";
    let kind = free_type & (mem::DECOMMIT | mem::RELEASE);
    let extra = free_type & !(mem::DECOMMIT | mem::RELEASE);
    if kind == 0 || kind == mem::DECOMMIT | mem::RELEASE {
        return Err(invalid(format!("{op}: exactly one of MEM_DECOMMIT and MEM_RELEASE is required")));
    }
    if extra & !(mem::PRESERVE_PLACEHOLDER | mem::COALESCE_PLACEHOLDERS) != 0
        || extra == mem::PRESERVE_PLACEHOLDER | mem::COALESCE_PLACEHOLDERS
        || (extra != 0 && kind != mem::RELEASE)
    {
        return Err(invalid(format!("{op}: invalid free type {free_type:#x}")));
    }
    let mut reg = registry();
    let Some(base) = find(&reg, addr) else {
        return Err(bad_address(format!("{op}: {addr:#x} is not inside an allocation")));
    };
    if let Kind::View { .. } = reg[&base].kind {
        return Err(invalid(format!("{op}: {addr:#x} is inside a mapped view (unmap it instead)")));
    }
    if extra == mem::COALESCE_PLACEHOLDERS {
        return coalesce(&mut reg, addr, size);
    }
    if extra == mem::PRESERVE_PLACEHOLDER {
        return split_placeholder(&mut reg, base, addr, size);
    }
    if kind == mem::RELEASE {
        if size != 0 {
            return Err(invalid(format!("{op}: MEM_RELEASE needs a size of 0")));
        }
        if base != addr {
            return Err(bad_address(format!("{op}: {addr:#x} is not the base of its allocation ({base:#x})")));
        }
        let alloc = reg.remove(&base).expect("found");
        // SAFETY: the allocation is ours and now unregistered; VirtualFree's contract is that
        // the caller no longer uses it.
        unsafe { vm::release(base, alloc.len) }.map_err(|e| Error::from_io(op, e.into()))?;
        return Ok(());
    }
    let alloc = reg.get_mut(&base).expect("found");
    if let Kind::Private { placeholder: true, .. } = alloc.kind {
        return Err(invalid(format!("{op}: a placeholder cannot be decommitted")));
    }
    let start = addr & !(PAGE - 1);
    let end = if size == 0 {
        base + alloc.len
    } else {
        addr.checked_add(size).map(|e| round_up(e, PAGE)).ok_or_else(|| invalid(format!("{op}: overflow")))?
    };
    if end > base + alloc.len {
        return Err(bad_address(format!("{op}: {start:#x}..{end:#x} runs past the end of its allocation")));
    }
    // SAFETY: the range lies inside our own allocation; VirtualFree's contract is that the
    // caller no longer uses the decommitted pages.
    unsafe { vm::decommit(start, end - start) }.map_err(|e| Error::from_io(op, e.into()))?;
    alloc.runs.update(start - base, end - base, |_| Page { committed: false, protect: 0, locked: false });
    Ok(())
}

fn split_placeholder(reg: &mut BTreeMap<usize, Allocation>, base: usize, addr: usize, size: usize) -> Result<()> {
    let op = "cannot split a placeholder";
    let alloc = &reg[&base];
    if !matches!(alloc.kind, Kind::Private { placeholder: true, .. }) {
        return Err(invalid(format!("{op}: {addr:#x} is not inside a placeholder")));
    }
    if size == 0 || !addr.is_multiple_of(GRANULARITY) || !size.is_multiple_of(GRANULARITY) {
        return Err(invalid(format!("{op}: address and size must be non-zero multiples of 64 KiB")));
    }
    let end = addr.checked_add(size).ok_or_else(|| invalid(format!("{op}: overflow")))?;
    let alloc_end = base + alloc.len;
    if end > alloc_end {
        return Err(invalid(format!("{op}: {addr:#x}..{end:#x} runs past the placeholder")));
    }
    if addr == base && end == alloc_end {
        return Err(invalid(format!("{op}: the range is the whole placeholder")));
    }
    let protect = alloc.alloc_protect;
    let mut pieces = vec![(base, addr), (addr, end), (end, alloc_end)];
    pieces.retain(|(s, e)| e > s);
    reg.remove(&base);
    for (s, e) in pieces {
        reg.insert(s, placeholder_alloc(e - s, protect));
    }
    Ok(())
}

fn placeholder_alloc(len: usize, protect: u32) -> Allocation {
    Allocation {
        len,
        alloc_protect: protect,
        kind: Kind::Private { placeholder: true, huge: 0 },
        runs: Runs::new(len, Page { committed: false, protect: 0, locked: false }),
    }
}

fn coalesce(reg: &mut BTreeMap<usize, Allocation>, addr: usize, size: usize) -> Result<()> {
    let op = "cannot coalesce placeholders";
    let end = addr.checked_add(size).ok_or_else(|| invalid(format!("{op}: overflow")))?;
    if size == 0 {
        return Err(invalid(format!("{op}: the size is 0")));
    }
    let mut at = addr;
    let mut parts = Vec::new();
    while at < end {
        match reg.get(&at) {
            Some(a) if matches!(a.kind, Kind::Private { placeholder: true, .. }) => {
                parts.push(at);
                at += a.len;
            }
            _ => return Err(invalid(format!("{op}: {addr:#x}..{end:#x} is not a run of adjacent placeholders"))),
        }
    }
    if at != end {
        return Err(invalid(format!("{op}: {addr:#x}..{end:#x} does not end at a placeholder boundary")));
    }
    let protect = reg[&addr].alloc_protect;
    for p in parts {
        reg.remove(&p);
    }
    reg.insert(addr, placeholder_alloc(size, protect));
    Ok(())
}

/// Changes the protection of committed pages (`VirtualProtect`) and returns the old protection
/// of the first page. All pages must be committed and inside one allocation or view
/// (`ERROR_INVALID_ADDRESS`); a view cannot be given more access than it was mapped with
/// (`ERROR_INVALID_PARAMETER`). `PAGE_NOCACHE`/`PAGE_WRITECOMBINE` are per allocation, as on
/// current Windows: the allocation's are kept, the request's ignored. Memory this crate did not
/// allocate (heap, stacks) is changed directly, its old protection read from `/proc/self/maps`.
pub fn protect(addr: usize, size: usize, new_protect: u32) -> Result<u32> {
    let op = "cannot change memory protection";
    let start = addr & !(PAGE - 1);
    let end =
        addr.checked_add(size.max(1)).map(|e| round_up(e, PAGE)).ok_or_else(|| invalid(format!("{op}: overflow")))?;
    let mut reg = registry();
    let Some(base) = find(&reg, start) else {
        drop(reg);
        check_protect(new_protect, true, op)?;
        return protect_foreign(start, end, new_protect);
    };
    let alloc = reg.get_mut(&base).expect("found");
    let private = matches!(alloc.kind, Kind::Private { .. });
    let (base_prot, mods) = check_protect(new_protect, private, op)?;
    if end > base + alloc.len {
        return Err(bad_address(format!("{op}: {start:#x}..{end:#x} runs past the end of its allocation")));
    }
    refresh_view(base, alloc, start - base, end - base);
    let pieces = alloc.runs.pieces(start - base, end - base);
    if pieces.iter().any(|(_, _, p)| !p.committed) {
        return Err(bad_address(format!("{op}: {start:#x}..{end:#x} is not entirely committed")));
    }
    let cache = alloc.alloc_protect & CACHE_MODS;
    let new_full = base_prot | (mods & modifier::GUARD) | cache;
    if let Kind::View { view, .. } = &alloc.kind {
        if !view_allows(view, base_prot) {
            return Err(invalid(format!("{op}: protection {new_protect:#x} exceeds the view's {:#x}", view.protect)));
        }
        VIEW_OVERRIDES.fetch_add(1, Ordering::Relaxed);
    }
    let old = pieces[0].2.protect;
    // SAFETY: the range is committed memory of an allocation or view this registry owns;
    // VirtualProtect's contract is that the caller wants this access.
    unsafe { vm::protect(start, end - start, prot_of(new_full)) }.map_err(|e| Error::from_io(op, e.into()))?;
    alloc.runs.update(start - base, end - base, |p| Page { protect: new_full, ..p });
    Ok(old)
}

fn protect_foreign(start: usize, end: usize, protect: u32) -> Result<u32> {
    let op = "cannot change memory protection";
    let maps = read_maps()?;
    let Some(&(_, _, old, _)) = maps.iter().find(|r| r.0 <= start && start < r.1) else {
        return Err(bad_address(format!("{op}: {start:#x} is not mapped")));
    };
    // Every page of the range must be mapped.
    let mut at = start;
    while at < end {
        match maps.iter().find(|r| r.0 <= at && at < r.1) {
            Some(r) => at = r.1,
            None => return Err(bad_address(format!("{op}: {at:#x} is not mapped"))),
        }
    }
    // SAFETY: memory this crate does not own: the caller of VirtualProtect asserts it may
    // change it, exactly as Windows trusts the caller.
    unsafe { vm::protect(start, end - start, prot_of(protect)) }.map_err(|e| Error::from_io(op, e.into()))?;
    Ok(old)
}

/// For a view of a reserved section: learns from the file which pages of `[start, end)` other
/// views committed since, and opens them in this view.
fn refresh_view(base: usize, alloc: &mut Allocation, start: usize, end: usize) {
    let Kind::View { view, .. } = &alloc.kind else { return };
    let Some(sec) = &view.reserved else { return };
    let default = view.protect | view.modifiers;
    let pieces = alloc.runs.pieces(start, end);
    if pieces.iter().all(|(_, _, p)| p.committed) {
        return;
    }
    let mut opened = Vec::new();
    for (s, e) in committed_runs(sec, start, end, usize::MAX) {
        for (ps, pe, page) in alloc.runs.pieces(s, e) {
            if !page.committed {
                let protect = if page.protect == 0 { default } else { page.protect };
                // SAFETY: pages of a live view this registry owns, committed in the file.
                if unsafe { vm::protect(base + ps, pe - ps, prot_of(protect)) }.is_ok() {
                    opened.push((ps, pe, protect));
                }
            }
        }
    }
    for (s, e, protect) in opened {
        alloc.runs.update(s, e, |p| Page { committed: true, protect, locked: p.locked });
    }
}

/// The runs of `[start, end)` (view offsets) whose pages are committed in the section's file.
fn committed_runs(sec: &ReservedSection, start: usize, end: usize, max: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = start;
    while off < end && out.len() < max {
        let file = sec.file_offset + off as u64;
        if file >= sec.file_end {
            break;
        }
        let data = match rustix::fs::seek(&sec.fd, SeekFrom::Data(file)) {
            Ok(d) => d,
            Err(_) => break, // ENXIO: no data after `file`
        };
        let hole = rustix::fs::seek(&sec.fd, SeekFrom::Hole(data)).unwrap_or(sec.file_end);
        let s = (data - sec.file_offset) as usize;
        // A page that is partly past the end of the file counts whole.
        let e = round_up((hole.min(sec.file_end) - sec.file_offset) as usize, PAGE);
        if s >= end {
            break;
        }
        let s = s - s % PAGE;
        out.push((s.max(off), e.min(end)));
        off = e.max(off + PAGE);
    }
    out
}

/// Locks committed pages into memory (`VirtualLock`): `ERROR_NOACCESS` if a page is not
/// committed or inaccessible, `ERROR_WORKING_SET_QUOTA` if the kernel refuses (`RLIMIT_MEMLOCK`).
pub fn lock(addr: usize, size: usize) -> Result<()> {
    lock_or_unlock(addr, size, true)
}

/// Unlocks pages locked by [`lock`] (`VirtualUnlock`): `ERROR_NOT_LOCKED` if any page of the
/// range is not locked.
pub fn unlock(addr: usize, size: usize) -> Result<()> {
    lock_or_unlock(addr, size, false)
}

fn lock_or_unlock(addr: usize, size: usize, lock: bool) -> Result<()> {
    let op = if lock { "cannot lock memory" } else { "cannot unlock memory" };
    if size == 0 {
        return Err(invalid(format!("{op}: the size is 0")));
    }
    let start = addr & !(PAGE - 1);
    let end = addr.checked_add(size).map(|e| round_up(e, PAGE)).ok_or_else(|| invalid(format!("{op}: overflow")))?;
    let mut reg = registry();
    let Some(base) = find(&reg, start) else {
        drop(reg);
        // Memory we did not allocate: pass through to the kernel.
        // SAFETY: mlock/munlock change no contents or mappings.
        let res = unsafe { if lock { vm::lock(start, end - start) } else { vm::unlock(start, end - start) } };
        return res.map_err(|e| match e {
            Errno::NOMEM => {
                Error::with_source(Win32Error::NOACCESS, format!("{op}: the range is not mapped"), e.into())
            }
            e => Error::with_source(Win32Error::WORKING_SET_QUOTA, op, e.into()),
        });
    };
    let alloc = reg.get_mut(&base).expect("found");
    if end > base + alloc.len {
        return Err(bad_address(format!("{op}: {start:#x}..{end:#x} runs past the end of its allocation")));
    }
    refresh_view(base, alloc, start - base, end - base);
    let pieces = alloc.runs.pieces(start - base, end - base);
    if lock {
        if pieces.iter().any(|(_, _, p)| !p.committed || prot_of(p.protect).is_empty()) {
            return Err(Error::new(
                Win32Error::NOACCESS,
                format!("{op}: {start:#x}..{end:#x} has pages that are not committed or not accessible"),
            ));
        }
        // SAFETY: committed, accessible pages of our own allocation or view.
        unsafe { vm::lock(start, end - start) }.map_err(|e| {
            Error::with_source(
                Win32Error::WORKING_SET_QUOTA,
                format!("{op}: the kernel refused to lock {} bytes (RLIMIT_MEMLOCK?)", end - start),
                e.into(),
            )
        })?;
    } else {
        if pieces.iter().any(|(_, _, p)| !p.locked) {
            return Err(Error::new(Win32Error::NOT_LOCKED, format!("{op}: {start:#x}..{end:#x} is not locked")));
        }
        // SAFETY: as above.
        unsafe { vm::unlock(start, end - start) }.map_err(|e| Error::from_io(op, e.into()))?;
    }
    alloc.runs.update(start - base, end - base, |p| Page { locked: lock, ..p });
    Ok(())
}

/// The state of a region of address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `MEM_COMMIT`: pages with memory behind them.
    Commit,
    /// `MEM_RESERVE`: reserved address space.
    Reserve,
    /// `MEM_FREE`: nothing allocated.
    Free,
}

/// What kind of allocation a region belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionType {
    /// `MEM_PRIVATE`: private memory (allocations, heap, stacks).
    Private,
    /// `MEM_MAPPED`: a view of a section or another file mapping.
    Mapped,
    /// Free memory has no type (0).
    None,
}

/// One region as `VirtualQuery` reports it: consecutive pages of one allocation with the same
/// state, protection and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The queried address rounded down to a page.
    pub base: usize,
    /// The allocation's (or view's) base; 0 for free memory.
    pub allocation_base: usize,
    /// The protection the allocation was made with (`PAGE_*`, modifiers included).
    pub allocation_protect: u32,
    /// Bytes from `base` to the end of the region.
    pub size: usize,
    /// Committed, reserved or free.
    pub state: State,
    /// The pages' protection (`PAGE_*` with modifiers); 0 for reserved pages, `PAGE_NOACCESS`
    /// for free memory.
    pub protect: u32,
    /// Private or mapped.
    pub kind: RegionType,
}

impl State {
    /// The `MEM_*` value.
    pub fn to_win32(self) -> u32 {
        match self {
            State::Commit => mem::COMMIT,
            State::Reserve => mem::RESERVE,
            State::Free => mem::FREE,
        }
    }
}

impl RegionType {
    /// The `MEM_*` value (0 for free memory).
    pub fn to_win32(self) -> u32 {
        match self {
            RegionType::Private => mem::PRIVATE,
            RegionType::Mapped => mem::MAPPED,
            RegionType::None => 0,
        }
    }
}

/// The highest user address (`GetSystemInfo`'s `lpMaximumApplicationAddress`).
pub const MAX_USER_ADDRESS: usize = 0x7FFF_FFFE_FFFF;

/// Describes the region containing `addr` (`VirtualQuery`). Views and allocations come from the
/// registry; other memory from `/proc/self/maps`. `ERROR_INVALID_PARAMETER` above the highest
/// user address.
pub fn query(addr: usize) -> Result<Region> {
    if addr > MAX_USER_ADDRESS {
        return Err(invalid(format!("cannot query {addr:#x}: above the highest user address")));
    }
    let page = addr & !(PAGE - 1);
    let mut reg = registry();
    if let Some(base) = find(&reg, page) {
        let alloc = reg.get_mut(&base).expect("found");
        return Ok(query_ours(page, base, alloc));
    }
    let next_ours = reg.range(page..).next().map(|(&b, _)| b);
    let ours: Vec<(usize, usize)> = reg.iter().map(|(&b, a)| (b, b + a.len)).collect();
    drop(reg);
    query_foreign(page, next_ours, &ours)
}

/// The region at `page` inside `alloc` (at `base`), one of this library's allocations or views.
fn query_ours(page: usize, base: usize, alloc: &mut Allocation) -> Region {
    let off = page - base;
    let (kind, view) = match &alloc.kind {
        Kind::Private { .. } => (RegionType::Private, None),
        Kind::View { view, .. } => (RegionType::Mapped, Some(view)),
    };
    let (state, protect, end) = match view {
        Some(v) if v.reserved.is_some() => {
            let sec = v.reserved.as_ref().expect("checked");
            let runs = committed_runs(sec, off, alloc.len, 1);
            match runs.first() {
                Some(&(s, e)) if s == off => {
                    let (_, run_end, p) = alloc.runs.at(off);
                    let protect = if p.committed && p.protect != 0 { p.protect } else { v.protect | v.modifiers };
                    // Pages this process has not opened yet carry the view's default.
                    let same = if p.committed { run_end } else { alloc.runs.at(off).1 };
                    (State::Commit, protect, e.min(same))
                }
                Some(&(s, _)) => (State::Reserve, 0, s),
                None => (State::Reserve, 0, alloc.len),
            }
        }
        _ => {
            let (_, run_end, p) = alloc.runs.at(off);
            if p.committed { (State::Commit, p.protect, run_end) } else { (State::Reserve, 0, run_end) }
        }
    };
    Region {
        base: page,
        allocation_base: base,
        allocation_protect: alloc.alloc_protect,
        size: end - off,
        state,
        protect,
        kind,
    }
}

/// The region at `page` outside this library's allocations (`ours`, the next of them starting
/// at `next_ours`), as the kernel's `/proc/self/maps` describes it.
fn query_foreign(page: usize, next_ours: Option<usize>, ours: &[(usize, usize)]) -> Result<Region> {
    let maps = read_maps()?;
    if let Some(&(start, end, protect, file)) = maps.iter().find(|r| r.0 <= page && page < r.1) {
        // The kernel may merge our reservations with neighbouring mappings: clip at ours.
        let start = ours.iter().filter(|o| o.1 <= page).map(|o| o.1).max().map_or(start, |e| e.max(start));
        let end = next_ours.map_or(end, |n| n.min(end));
        let reserved = protect == 0x01 && !file;
        return Ok(Region {
            base: page,
            allocation_base: start,
            allocation_protect: protect,
            size: end - page,
            state: if reserved { State::Reserve } else { State::Commit },
            protect: if reserved { 0 } else { protect },
            kind: if file { RegionType::Mapped } else { RegionType::Private },
        });
    }
    let next = maps.iter().map(|r| r.0).filter(|&s| s > page).min().unwrap_or(MAX_USER_ADDRESS + 1);
    let next = next_ours.map_or(next, |n| n.min(next));
    Ok(Region {
        base: page,
        allocation_base: 0,
        allocation_protect: 0,
        size: next - page,
        state: State::Free,
        protect: 0x01,
        kind: RegionType::None,
    })
}

/// `/proc/self/maps` as (start, end, Win32 protection, file-backed).
fn read_maps() -> Result<Vec<(usize, usize, u32, bool)>> {
    let maps =
        std::fs::read_to_string("/proc/self/maps").map_err(|e| Error::from_io("cannot read /proc/self/maps", e))?;
    Ok(maps.lines().filter_map(parse_maps_line).collect())
}

fn parse_maps_line(line: &str) -> Option<(usize, usize, u32, bool)> {
    let mut parts = line.split_whitespace();
    let range = parts.next()?;
    let perms = parts.next()?.as_bytes();
    let _offset = parts.next()?;
    let _dev = parts.next()?;
    let inode = parts.next()?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
    if perms.len() < 4 {
        return None;
    }
    let (r, w, x, shared) = (perms[0] == b'r', perms[1] == b'w', perms[2] == b'x', perms[3] == b's');
    let file = inode != "0";
    let protect = match (r, w, x) {
        (false, false, false) => 0x01,
        (_, true, false) if !shared && file => 0x08,
        (_, true, false) => 0x04,
        (_, false, false) => 0x02,
        (_, true, true) if !shared && file => 0x80,
        (_, true, true) => 0x40,
        (_, false, true) => 0x20,
    };
    Some((start, end, protect, file))
}

// ---------------------------------------------------------------------------------------------
// Views: registration (from mapping.rs), raw views, placeholders.

/// Records a view mapped at `base`. For a view of a reserved section, the pages the section has
/// committed are opened now (the view was mapped inaccessible). `raw`: the view is given away to
/// raw-address code at once, with its `pin` (as [`mark_raw`] does); `pin` is `None` otherwise.
pub(crate) fn register_view(base: usize, view: ViewRecord, raw: bool, pin: Option<MapPin>) {
    let span = round_up(view.len.max(1), PAGE);
    let default = view.protect | view.modifiers;
    let reserved = view.reserved.is_some();
    let page = Page { committed: !reserved, protect: if reserved { 0 } else { default }, locked: false };
    let mut alloc = Allocation {
        len: span,
        alloc_protect: default,
        kind: Kind::View { view, raw, pin },
        runs: Runs::new(span, page),
    };
    if reserved {
        install_fault_handler();
        refresh_view(base, &mut alloc, 0, span);
    }
    registry().insert(base, alloc);
}

/// Forgets the view at `base` (before it is unmapped).
pub(crate) fn unregister_view(base: usize) {
    registry().remove(&base);
}

/// Marks the view at `base` as given away to raw-address code (`View::into_raw`), keeping its
/// pin until [`take_raw_view`]'s caller has unmapped it.
pub(crate) fn mark_raw(base: usize, view_pin: Option<MapPin>) {
    if let Some(Allocation { kind: Kind::View { raw, pin, .. }, .. }) = registry().get_mut(&base) {
        *raw = true;
        *pin = view_pin;
    } else {
        // Every view is registered when mapped; should one not be, its pages stay mapped for
        // the rest of the process's life, and so does its pin.
        std::mem::forget(view_pin);
    }
}

/// Removes the raw view containing `addr` from the registry and returns (base, span, pin):
/// the caller unmaps (base, span) and only then drops the pin (while the pages are mapped they
/// keep the handle's OFD, and any lock on it, alive). With `preserve`, the view's range becomes
/// a placeholder again (its pages are replaced by an inaccessible reservation before the
/// registry lock is released; the span returned is then 0).
pub(crate) fn take_raw_view(addr: usize, preserve: bool) -> Result<(usize, usize, Option<MapPin>)> {
    let mut reg = registry();
    // One search for the allocation, one to remove it.
    let base = find_allocation(&reg, addr).filter(|(_, a)| matches!(a.kind, Kind::View { raw: true, .. }));
    let Some((base, _)) = base else {
        return Err(bad_address(format!("{addr:#x} is not inside a mapped view")));
    };
    let alloc = reg.remove(&base).expect("found");
    let pin = match alloc.kind {
        Kind::View { pin, .. } => pin,
        Kind::Private { .. } => None, // (filtered out above)
    };
    if preserve {
        // SAFETY: the view is ours (registered raw view, now unregistered) and the caller of
        // UnmapViewOfFile2 gives it up.
        if let Err(e) = unsafe { vm::decommit(base, alloc.len) } {
            std::mem::forget(pin); // the pages may still be mapped: keep pinning the OFD
            return Err(Error::from_io("cannot unmap the view", e.into()));
        }
        reg.insert(base, placeholder_alloc(alloc.len, 0x01));
        return Ok((base, 0, pin));
    }
    Ok((base, alloc.len, pin))
}

/// The raw view containing `addr`: (base, span, copy-on-write).
pub(crate) fn find_raw_view(addr: usize) -> Option<(usize, usize, bool)> {
    let reg = registry();
    let base = find(&reg, addr)?;
    match &reg[&base].kind {
        Kind::View { raw: true, view, .. } => Some((base, reg[&base].len, view.copy)),
        _ => None,
    }
}

/// Claims the placeholder that is exactly `[addr, addr + len)` for a view about to replace it,
/// and runs `map` (which must map over exactly that range) while holding the registry.
pub(crate) fn replace_placeholder<T>(addr: usize, len: usize, map: impl FnOnce() -> Result<T>) -> Result<T> {
    let mut reg = registry();
    match reg.get(&addr) {
        Some(Allocation { len: l, kind: Kind::Private { placeholder: true, .. }, .. }) if *l == round_up(len, PAGE) => {
        }
        _ => {
            return Err(invalid(format!(
                "cannot map a view over {addr:#x}+{len:#x}: it is not exactly one placeholder"
            )));
        }
    }
    let out = map()?;
    reg.remove(&addr);
    Ok(out)
}

/// For safe accessors of a view: fails with `ERROR_NOACCESS` unless every page of
/// `[off, off + len)` of the view at `base` is committed and allows the access (opening pages
/// other views committed meanwhile).
pub(crate) fn check_view_access(base: usize, off: usize, len: usize, write: bool) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let mut reg = registry();
    let Some(alloc) = reg.get_mut(&base) else { return Ok(()) };
    let start = off - off % PAGE;
    let end = round_up(off + len, PAGE).min(alloc.len);
    refresh_view(base, alloc, start, end);
    for (s, _, page) in alloc.runs.pieces(start, end) {
        let (r, w, _, _) = rights(page.protect & 0xff);
        let guard = page.protect & modifier::GUARD != 0;
        if !page.committed || guard || !r || (write && !w) {
            return Err(Error::new(
                Win32Error::NOACCESS,
                format!(
                    "cannot {} the view at offset {}: the page is {}",
                    if write { "write" } else { "read" },
                    s,
                    if page.committed { "protected against it" } else { "reserved, not committed" }
                ),
            ));
        }
    }
    Ok(())
}

/// Whether safe accessors of a view must ask [`check_view_access`] first.
pub(crate) fn views_need_checks() -> bool {
    VIEW_OVERRIDES.load(Ordering::Relaxed) > 0
}

// ---------------------------------------------------------------------------------------------
// The fault handler that opens pages other views committed.

/// How long a fault in a view of a reserved section waits for the registry before it is taken
/// for a real access violation.
const FAULT_WAIT_SECS: i64 = 5;

static HANDLER: std::sync::Once = std::sync::Once::new();
static HANDLER_READY: AtomicBool = AtomicBool::new(false);
static mut OLD_ACTION: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();

fn install_fault_handler() {
    HANDLER.call_once(|| {
        // SAFETY:
        // - OLD_ACTION is written exactly once, here, before HANDLER_READY is published, and
        //   only read after it is (by the handler);
        // - the new action's handler is an `extern "C"` function with the SA_SIGINFO signature.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let old = std::ptr::addr_of_mut!(OLD_ACTION).cast::<libc::sigaction>();
            if libc::sigaction(libc::SIGSEGV, &action, old) == 0 {
                HANDLER_READY.store(true, Ordering::Release);
            }
        }
    });
}

/// Opens the page at `addr` if it belongs to a view of a reserved section and the section has
/// committed it. Async-signal-safe: no allocation, no blocking lock (a bounded `try_lock`), only
/// `lseek` and `mprotect`.
fn open_committed_page(addr: usize) -> bool {
    // Another thread may hold the registry for a while (a large commit `fallocate`s under it):
    // yield until it is free, for at most FAULT_WAIT (S7); then the fault is treated as real.
    let mut guard = None;
    let start = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    loop {
        if let Ok(g) = REGISTRY.try_lock() {
            guard = Some(g);
            break;
        }
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        if now.tv_sec - start.tv_sec >= FAULT_WAIT_SECS {
            break;
        }
        rustix::thread::sched_yield();
    }
    let Some(reg) = guard else { return false };
    let Some((&base, alloc)) = reg.range(..=addr).next_back() else { return false };
    if addr >= base + alloc.len {
        return false;
    }
    let Kind::View { view, .. } = &alloc.kind else { return false };
    let Some(sec) = &view.reserved else { return false };
    let off = (addr - base) & !(PAGE - 1);
    let (_, _, page) = alloc.runs.at(off);
    if page.committed {
        return false; // opened already: a real protection fault
    }
    let file = sec.file_offset + off as u64;
    if file >= sec.file_end {
        return false;
    }
    if !matches!(rustix::fs::seek(&sec.fd, SeekFrom::Data(file)), Ok(d) if d < file + PAGE as u64) {
        return false;
    }
    let protect = if page.protect == 0 { view.protect | view.modifiers } else { page.protect };
    // SAFETY: a page of a live view this registry owns, committed in the file.
    unsafe { vm::protect(base + off, PAGE, prot_of(protect)) }.is_ok()
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV.
    let addr = unsafe { (*info).si_addr() } as usize;
    if open_committed_page(addr) {
        return; // the access is retried and now succeeds
    }
    if !HANDLER_READY.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: OLD_ACTION was written before HANDLER_READY was set (see install_fault_handler).
    let old = unsafe { std::ptr::addr_of!(OLD_ACTION).cast::<libc::sigaction>().read() };
    if old.sa_flags & libc::SA_SIGINFO != 0 && old.sa_sigaction > 1 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(old.sa_sigaction) };
        f(sig, info, ctx);
    } else if old.sa_sigaction > 1 {
        // SAFETY: a plain handler (not SIG_DFL/SIG_IGN) installed without SA_SIGINFO.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(old.sa_sigaction) };
        f(sig);
    } else {
        // Default action: restore it and return; the access faults again and kills the
        // process with SIGSEGV, as an unhandled access violation ends a Windows program.
        // SAFETY: resetting a signal to its default disposition.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(libc::SIGSEGV, &dfl, std::ptr::null_mut());
        }
    }
}
