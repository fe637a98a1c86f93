//! The object file and its lifetime protocol: publish, open (with the reclaim of dead objects),
//! close on the private and shared paths, and the bounded wait for another process's decision
//! (the module docs of `object` and `docs/ARCHITECTURE.md` §4 have the argument).

#![allow(unsafe_code)] // the mapped header page (sync state); argued below

use super::*;

/// Whether a create made a new object or returned an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Created {
    /// A new object was made.
    New,
    /// The name already existed; this is a handle to that object (`ERROR_ALREADY_EXISTS`).
    Existing,
}

impl Created {
    /// True for [`Created::Existing`].
    pub fn existed(self) -> bool {
        self == Created::Existing
    }
}

/// One open file description of an object, holding the handle lock while it lives. Dropping it runs
/// the close protocol. Handles of one process share it through an `Arc`.
#[derive(Debug)]
pub(crate) struct ObjectFile {
    fd: OwnedFd,
    dir: Option<Arc<Dir>>,
    name: Option<ObjectName>,
    header: Header,
    /// The object file's (device, inode), from the `fstat` the handle was made with; a create
    /// that needed no `fstat` (`fill`) has `None` and learns it at first use, into `asked_id`.
    id: Option<(u64, u64)>,
    asked_id: AskedId,
    /// The OFD may be shared with another process (inheritable or inherited, or a fork that
    /// could not give each side its own OFD): close must not decide "last holder" by converting
    /// this OFD's own lock. Shared with the fork handlers' registry.
    shared_ofd: Arc<AtomicBool>,
    writable: bool,
    /// The file's size when this handle was created or opened.
    file_size: u64,
    page: OnceLock<HeaderPage>,
    /// For a handle whose OFD may be shared with another process: a private OFD without a lock
    /// that views and the header page are mapped from. A mapping keeps its OFD (and so that
    /// OFD's lock) alive after the descriptor is closed; mapping from the locked, shared OFD
    /// would let a view keep the name alive after the last handle closed (I2).
    map_ofd: OnceLock<OwnedFd>,
    /// Held (read) while a mapping is made from [`ObjectFile::map_fd`], and (write) while
    /// `set_inheritable` moves the descriptor to another OFD, so no mapping can pin the OFD
    /// that is about to carry the shared handle's lock.
    switch: std::sync::RwLock<()>,
    /// One extra reference per live mapping made from `fd` itself ([`MapPin`]).
    own_maps: Arc<()>,
    /// The close protocol has run.
    closed: bool,
}

/// Held by every mapping made from a handle's own OFD: while one exists, that OFD (and any
/// lock on it) outlives the handle's descriptor, so the close protocol must release its lock
/// explicitly.
#[derive(Debug, Clone)]
pub(crate) struct MapPin(#[allow(dead_code)] Arc<()>);

/// The header page mapped shared, for sync objects' state words.
#[derive(Debug)]
pub(crate) struct HeaderPage(NonNull<u8>);

// SAFETY: the page is a shared mapping owned by the ObjectFile; it is only accessed through
// atomics (sync state) by whoever holds the ObjectFile, which is itself Send + Sync.
unsafe impl Send for HeaderPage {}
// SAFETY: as above; all access to the page's memory is atomic.
unsafe impl Sync for HeaderPage {}

impl Drop for HeaderPage {
    fn drop(&mut self) {
        // SAFETY: the page was mapped by `sys::map_page` and nothing borrows it once the owning
        // ObjectFile is being dropped (borrows are tied to `&ObjectFile`).
        unsafe { sys::unmap_page(self.0) }
    }
}

/// A hook run on an object file just before it is published (see [`NewObject::before_link`]).
pub(crate) type BeforeLink<'a> = &'a mut dyn FnMut(BorrowedFd<'_>) -> Result<()>;

/// Everything needed to create an object.
pub(crate) struct NewObject<'a> {
    pub name: Option<&'a ObjectName>,
    /// The namespace the name is created in.
    pub namespace: &'a namespace::Namespace,
    pub header: Header,
    pub sync_init: &'a [u8],
    /// Bytes of data after the header page (paging-file-backed mappings).
    pub data_len: u64,
    /// Reserve the data now (`SEC_COMMIT`).
    pub commit: bool,
    pub inheritable: bool,
    /// Called with the complete, still unnamed object file just before it is published (named
    /// objects only): the last moment to prepare anything that must be in place the instant
    /// other processes can see the object.
    pub before_link: Option<BeforeLink<'a>>,
}

pub(super) fn cloexec(inheritable: bool) -> OFlags {
    if inheritable { OFlags::empty() } else { OFlags::CLOEXEC }
}

pub(super) fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// Fills in the creator fields of a header (the creator's uid is the object file's owner,
/// filled in when the file is made).
pub(crate) fn stamp(header: &mut Header) {
    header.creator_pid = current_pid();
    header.created_ns = now_ns();
}

/// This process's pid without a syscall per call: cached, and forgotten in a forked child.
pub(super) fn current_pid() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    static HOOK: Once = Once::new();
    extern "C" fn forget_pid() {
        PID.store(0, Ordering::Relaxed);
    }
    HOOK.call_once(|| {
        // SAFETY: `forget_pid` is a plain function that only stores to an atomic, which is
        // async-signal-safe and valid in the child right after fork; the other hooks are null.
        unsafe { libc::pthread_atfork(None, None, Some(forget_pid)) };
    });
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}
/// How long a create waits, at most, for another process that holds a name's decision lock
/// (a closer or reclaimer between its write lock and its unlink) before it fails with
/// `ERROR_SHARING_VIOLATION`. Legitimate holders keep it for microseconds; only a stopped or
/// misbehaving process keeps it longer. Opens never wait: a name under a decision lock has no
/// live holder, so an open reports it as not found at once.
pub const CONTENTION_BOUND: Duration = Duration::from_millis(200);

/// Why a dead object's file is still under its name after an open looked at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leftover {
    /// Another process is opening or releasing it at this very moment.
    Contended,
    /// We may not remove it: a read-only descriptor, or another user's file in a sticky
    /// directory (Global); its owner's processes or root's `filemap gc` reclaim it.
    NotEntitled(u32),
    /// It is not a valid object file of this name (corrupt or planted): never removed.
    Invalid,
}

/// What the open protocol found under a name.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // returned once per open and matched at once: no box
pub(super) enum Found {
    /// A live object: a new handle to it.
    Live(ObjectFile),
    /// No file has the name (any dead leftover was just removed).
    Free,
    /// Only a dead object has the name (no live holder): it resolves to nothing.
    Dead(Leftover),
    /// Another process holds the name's decision lock: no live holder, release in progress.
    Busy,
}

/// Waits a little before a create retries a name another process is releasing; fails once
/// [`CONTENTION_BOUND`] has passed since the first wait.
pub(super) fn wait_for_release(
    started: &mut Option<Instant>,
    round: &mut u32,
    what: &dyn Fn() -> String,
) -> Result<()> {
    let start = *started.get_or_insert_with(Instant::now);
    if start.elapsed() > CONTENTION_BOUND {
        return Err(Error::new(
            Win32Error::SHARING_VIOLATION,
            format!(
                "{}: another process has been releasing the name for more than {} ms without finishing \
                 (it is stopped or misbehaving); only this name is affected",
                what(),
                CONTENTION_BOUND.as_millis()
            ),
        ));
    }
    let micros = 20u64 << (*round).min(8); // 20 µs .. 5 ms
    *round += 1;
    std::thread::sleep(Duration::from_micros(micros));
    Ok(())
}

impl ObjectFile {
    /// Wraps a descriptor that holds its handle lock (named objects) into a handle, and
    /// registers a private OFD for the fork handlers.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        fd: OwnedFd,
        dir: Option<Arc<Dir>>,
        name: Option<ObjectName>,
        header: Header,
        made: Made,
        shared: bool,
        writable: bool,
    ) -> ObjectFile {
        let shared_ofd = Arc::new(AtomicBool::new(shared));
        if name.is_some() && !shared {
            fork::track(rustix::fd::AsRawFd::as_raw_fd(&fd), writable, &shared_ofd);
        }
        ObjectFile {
            fd,
            dir,
            name,
            header,
            id: made.id,
            asked_id: AskedId::default(),
            file_size: made.file_size,
            shared_ofd,
            writable,
            page: OnceLock::new(),
            map_ofd: OnceLock::new(),
            switch: std::sync::RwLock::new(()),
            own_maps: Arc::new(()),
            closed: false,
        }
    }

    /// Creates the object, or opens the existing one of the same name and type.
    pub(crate) fn create(mut new: NewObject<'_>) -> Result<(ObjectFile, Created)> {
        let Some(name) = new.name else {
            return Ok((ObjectFile::create_unnamed(&mut new)?, Created::New));
        };
        let kind = new.header.kind;
        let what = || format!("cannot create {kind} \"{name}\"");
        let mut dir = new
            .namespace
            .dir(name.scope(), true)
            .map_err(|e| e.context(&what()))?
            .ok_or_else(|| Error::new(Win32Error::PATH_NOT_FOUND, what()))?;
        let file = name.file();
        let (tmp, made) = match build_tmpfile(&dir, &mut new) {
            // The directory was removed under us (systemd-logind's RemoveIPC does it at logout).
            Err(e) if e.code() == Win32Error::FILE_NOT_FOUND || e.code() == Win32Error::PATH_NOT_FOUND => {
                dir = namespace::refresh(&dir, true)
                    .map_err(|e| e.context(&what()))?
                    .ok_or_else(|| Error::new(Win32Error::PATH_NOT_FOUND, what()))?;
                build_tmpfile(&dir, &mut new)
            }
            other => other,
        }
        .map_err(|e| prefix(e, &what()))?;
        if let Some(hook) = new.before_link.as_mut() {
            hook(tmp.as_fd()).map_err(|e| prefix(e, &what()))?;
        }
        let (mut started, mut round, mut refreshed) = (None, 0, false);
        loop {
            match link(&tmp, &dir, file) {
                Ok(()) => {
                    sweep::tick(&dir);
                    let object = ObjectFile::assemble(
                        tmp,
                        Some(dir),
                        Some(name.clone()),
                        new.header,
                        made,
                        new.inheritable,
                        true,
                    );
                    return Ok((object, Created::New));
                }
                Err(Errno::EXIST) => match ObjectFile::open_in(&dir, name, new.header.kind, true, new.inheritable)? {
                    Found::Live(existing) => return Ok((existing, Created::Existing)),
                    Found::Free => continue, // a dead leftover was reclaimed: the name is free now
                    Found::Dead(Leftover::NotEntitled(uid)) => {
                        return Err(Error::new(
                            Win32Error::ACCESS_DENIED,
                            format!(
                                "{}: the name is held by a dead object of uid {uid} that only its owner or root may \
                                 remove (the owner's next filemap process or root's `filemap gc` reclaims it)",
                                what()
                            ),
                        ));
                    }
                    Found::Dead(Leftover::Invalid) => {
                        return Err(Error::new(
                            Win32Error::INVALID_DATA,
                            format!(
                                "{}: the name is held by a file that is not a valid object of this name \
                                 (corrupt or planted); it is left alone",
                                what()
                            ),
                        ));
                    }
                    Found::Dead(Leftover::Contended) | Found::Busy => {
                        wait_for_release(&mut started, &mut round, &what)?
                    }
                },
                Err(Errno::NOENT) if !refreshed => {
                    refreshed = true;
                    dir = namespace::refresh(&dir, true)
                        .map_err(|e| e.context(&what()))?
                        .ok_or_else(|| Error::new(Win32Error::PATH_NOT_FOUND, what()))?;
                }
                Err(e) => return Err(Error::from_io(what(), e.into())),
            }
        }
    }

    fn create_unnamed(new: &mut NewObject<'_>) -> Result<ObjectFile> {
        let flags = rustix::fs::MemfdFlags::ALLOW_SEALING
            | if new.inheritable { rustix::fs::MemfdFlags::empty() } else { rustix::fs::MemfdFlags::CLOEXEC };
        let fd = rustix::fs::memfd_create("filemap", flags)
            .map_err(|e| Error::from_io(format!("cannot create unnamed {}", new.header.kind), e.into()))?;
        let made =
            fill(&fd, new, false).map_err(|e| prefix(e, &format!("cannot create unnamed {}", new.header.kind)))?;
        Ok(ObjectFile::assemble(fd, None, None, new.header.clone(), made, new.inheritable, true))
    }

    /// Opens an existing named object of type `kind`.
    pub(crate) fn open(
        ns: &namespace::Namespace,
        name: &ObjectName,
        kind: ObjectType,
        write: bool,
        inheritable: bool,
    ) -> Result<ObjectFile> {
        let not_found = || {
            Error::new(Win32Error::FILE_NOT_FOUND, format!("cannot open {kind} \"{name}\": no object has that name"))
        };
        let what = || format!("cannot open {kind} \"{name}\"");
        let mut dir = ns.dir(name.scope(), false).map_err(|e| e.context(&what()))?.ok_or_else(not_found)?;
        let mut refreshed = false;
        loop {
            match ObjectFile::open_in(&dir, name, kind, write, inheritable)? {
                Found::Live(object) => {
                    sweep::tick(&dir);
                    return Ok(object);
                }
                // Nothing under the name: unless our directory was removed and replaced meanwhile.
                Found::Free if !refreshed && namespace::is_stale(&dir) => {
                    refreshed = true;
                    dir = namespace::refresh(&dir, false).map_err(|e| e.context(&what()))?.ok_or_else(not_found)?;
                }
                _ => {
                    sweep::tick(&dir);
                    return Err(not_found());
                }
            }
        }
    }

    /// The open protocol (`docs/ARCHITECTURE.md` §4). Never waits on another process.
    fn open_in(dir: &Arc<Dir>, name: &ObjectName, kind: ObjectType, write: bool, inheritable: bool) -> Result<Found> {
        let file = name.file();
        let what = || format!("cannot open {kind} \"{name}\"");
        for _ in 0..64 {
            let Some(fd) = open_named(dir, file, write, inheritable, &what)? else {
                return Ok(Found::Free);
            };
            // Who holds it? `F_OFD_GETLK` takes no lock, so looking never makes anything look held.
            let held = lock::conflicting(fd.as_fd(), Kind::Write);
            let held = held.map_err(|e| Error::from_io(what(), e.into()))?;
            match held {
                // A decision in progress: no live holder, none can join before the name is gone.
                Some(Kind::Write) => return Ok(Found::Busy),
                Some(_) => {}
                None => {
                    let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
                    if st.st_mode & 0o170000 != 0o100000 {
                        return Err(not_regular(&what()));
                    }
                    return Ok(reclaim_dead(dir, file, fd, &st, write, name));
                }
            }
            // Live: join the holders. If the holder we saw released the name meanwhile, either its
            // decision lock refuses us (busy: the name is going) or the link count below says
            // it is gone (retry); if it died meanwhile, our open came first and we hold the
            // object from then on.
            match lock::set(fd.as_fd(), Kind::Read) {
                Ok(()) => {}
                Err(Errno::AGAIN) => return Ok(Found::Busy),
                Err(e) => return Err(Error::from_io(what(), e.into())),
            }
            let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
            if st.st_mode & 0o170000 != 0o100000 {
                return Err(not_regular(&what()));
            }
            if st.st_nlink == 0 {
                continue; // its last holder released the name between our lookup and our lock
            }
            // The header's name is checked in place and not kept: the handle keeps `name`.
            let header = Header::read_for(fd.as_fd(), Some(name)).map_err(|e| prefix(e, &what()))?;
            check_identity(&header, kind, &what)?;
            let object = ObjectFile::assemble(
                fd,
                Some(dir.clone()),
                Some(name.clone()),
                header,
                Made::of(&st),
                inheritable,
                write,
            );
            return Ok(Found::Live(object));
        }
        Err(Error::new(
            Win32Error::SHARING_VIOLATION,
            format!("{}: the name changed objects 64 times while we looked; giving up", what()),
        ))
    }

    /// Adopts a descriptor inherited from a parent process (or passed by other means).
    pub(crate) fn from_inherited(fd: OwnedFd, kind: ObjectType) -> Result<ObjectFile> {
        let what =
            || format!("inherited descriptor {} is not a usable {kind} handle", rustix::fd::AsRawFd::as_raw_fd(&fd));
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(Error::new(Win32Error::INVALID_HANDLE, format!("{}: it is not a regular file", what())));
        }
        let mode = rustix::fs::fcntl_getfl(&fd).map_err(|e| Error::from_io(what(), e.into()))?;
        let writable = mode.contains(OFlags::RDWR);
        let header = Header::read(fd.as_fd())
            .map_err(|e| Error::new(Win32Error::INVALID_HANDLE, format!("{}: {}", what(), e.message())))?;
        if header.kind != kind {
            return Err(Error::new(Win32Error::INVALID_HANDLE, format!("{}: it is a {}", what(), header.kind)));
        }
        let (dir, name) = match &header.name {
            Some(full) => {
                let name = ObjectName::parse(full)?;
                // Whichever namespace the sender used: the directory that holds this very file.
                (namespace::dir_of(fd.as_fd(), name.scope(), name.file()), Some(name))
            }
            None => (None, None),
        };
        Ok(ObjectFile::assemble(fd, dir, name, header, Made::of(&st), true, writable))
    }

    /// A new, independent OFD of the same object (for a handle with another inheritability).
    pub(crate) fn reopen(&self, inheritable: bool) -> Result<ObjectFile> {
        let fd =
            self.reopen_ofd(cloexec(inheritable)).map_err(|e| Error::from_io("cannot duplicate handle", e.into()))?;
        if self.name.is_some() {
            // We hold the object, so no decision lock can be held: this never fails with EAGAIN.
            lock::set(fd.as_fd(), Kind::Read)
                .map_err(|e| Error::from_io(format!("cannot duplicate a handle of {}", self.describe()), e.into()))?;
        }
        let mut st = rustix::fs::fstat(&fd)
            .map_err(|e| Error::from_io(format!("cannot duplicate a handle of {}", self.describe()), e.into()))?;
        st.st_size = self.file_size as i64;
        Ok(ObjectFile::assemble(
            fd,
            self.dir.clone(),
            self.name.clone(),
            self.header.clone(),
            Made::of(&st),
            inheritable,
            self.writable,
        ))
    }

    /// A new open file description of this object for another process (sent over a socket),
    /// as a bare close-on-exec descriptor: read-write if `write` (and this handle is), holding
    /// a holder (read) lock for a named object, so the receiver adopts it as a handle of its own (dropping
    /// it unsent releases the lock). If the file's permissions no longer let us reopen it, our
    /// own description is shared instead, and from then on closed with the shared protocol.
    pub(crate) fn reopen_for_transfer(&self, write: bool) -> Result<OwnedFd> {
        let what = || format!("cannot duplicate {} into another process", self.describe());
        let access = if write && self.writable { OFlags::RDWR } else { OFlags::RDONLY };
        let path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&self.fd));
        match rustix::fs::open(path.as_str(), access | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => {
                if self.name.is_some() {
                    // We hold the object, so no decision lock can be held: this never fails
                    // with EAGAIN.
                    lock::set(fd.as_fd(), Kind::Read).map_err(|e| Error::from_io(what(), e.into()))?;
                }
                Ok(fd)
            }
            Err(Errno::ACCESS) | Err(Errno::PERM) => {
                self.shared_ofd.store(true, Ordering::Relaxed);
                rustix::io::fcntl_dupfd_cloexec(&self.fd, 0).map_err(|e| Error::from_io(what(), e.into()))
            }
            Err(e) => Err(Error::from_io(what(), e.into())),
        }
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn name(&self) -> Option<&ObjectName> {
        self.name.as_ref()
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The object's identity (device, inode): equal for two handles iff they refer to one object.
    pub(crate) fn id(&self) -> (u64, u64) {
        if let Some(id) = self.id {
            return id;
        }
        if let Some(id) = self.asked_id.get() {
            return id;
        }
        let id = match rustix::fs::fstat(&self.fd) {
            Ok(st) => (st.st_dev, st.st_ino),
            // Not for a descriptor we hold open (EBADF cannot happen, EOVERFLOW not on a
            // 64-bit system); should it fail anyway, no other object can have this identity
            // (inode numbers are below 2^64 - 1), so none is mistaken for this one.
            Err(_) => return (u64::MAX, u64::MAX - rustix::fd::AsRawFd::as_raw_fd(&self.fd) as u64),
        };
        self.asked_id.set(id);
        id
    }

    /// The object file's size when this handle was made (header page + data).
    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    /// Whether the handle's descriptor is inherited by child processes (no `FD_CLOEXEC`).
    pub(crate) fn inheritable(&self) -> bool {
        rustix::io::fcntl_getfd(&self.fd).is_ok_and(|flags| !flags.contains(rustix::io::FdFlags::CLOEXEC))
    }

    /// Where the synchronization area starts in the header page ([`sync_area_offset`]).
    pub(crate) fn sync_area_offset(&self) -> usize {
        sync_area_offset(self.header.kind, self.id().1)
    }

    /// The synchronization state area of the header page, mapped shared on first use.
    /// 64-byte aligned, [`SYNC_LEN`] bytes, at [`ObjectFile::sync_area_offset`] in the page,
    /// valid as long as `self` lives.
    pub(crate) fn sync_area(&self) -> Result<NonNull<u8>> {
        let area = self.sync_area_offset();
        if let Some(page) = self.page.get() {
            // SAFETY: the area ends at or before the page's end (`sync_area_offset` is at most
            // SYNC_OFFSET, and SYNC_OFFSET + SYNC_LEN = PAGE), so the result stays inside it.
            return Ok(unsafe { page.0.add(area) });
        }
        let ptr = self.with_map_fd(|fd, _pin| {
            // A file truncated below its header page since the open would SIGBUS the state words.
            let what = || format!("cannot map the state of {}", self.describe());
            crate::backing::ensure_covers(fd, HEADER_SIZE as u64, Win32Error::INVALID_DATA, &what, "its object file")?;
            sys::map_page(fd, self.writable)
                .map_err(|e| Error::from_io(format!("cannot map the state of {}", self.describe()), e.into()))
        })?;
        let page = self.page.get_or_init(|| HeaderPage(ptr));
        if page.0 != ptr {
            // Another thread won the race; drop our extra mapping.
            // SAFETY: `ptr` was mapped just above and never shared.
            unsafe { sys::unmap_page(ptr) };
        }
        // SAFETY: as above.
        Ok(unsafe { page.0.add(area) })
    }

    /// Makes the handle's descriptor inherited by child processes, or not (`FD_CLOEXEC`).
    ///
    /// Once a descriptor has been inheritable a child may share its OFD, so from then on the
    /// handle is closed with the protocol for shared OFDs, even if made private again. The first
    /// time a named handle becomes inheritable its descriptor number is moved to a fresh OFD
    /// (see `move_to_fresh_ofd`), so views mapped while it was private never pin the name.
    pub(crate) fn set_inheritable(&self, inheritable: bool) -> Result<()> {
        let what = || format!("cannot change the inheritability of {}", self.describe());
        if inheritable && self.name.is_some() {
            let _switching = self.switch.write().unwrap_or_else(|e| e.into_inner());
            if !self.shared_ofd.load(Ordering::Relaxed) {
                // No fork may copy the descriptor table half-way through the move.
                let moved = fork::excluded(|| {
                    let moved = self.move_to_fresh_ofd();
                    self.shared_ofd.store(true, Ordering::Relaxed);
                    moved
                });
                fork::untrack(rustix::fd::AsRawFd::as_raw_fd(&self.fd));
                match moved {
                    Ok(()) => {}
                    // The object's mode does not let us reopen it (see `with_map_fd`): keep the
                    // OFD; views mapped so far then keep the name alive until unmapped.
                    Err(e) if e.code() == Win32Error::ACCESS_DENIED => {}
                    Err(e) => return Err(prefix(e, &what())),
                }
            } else if fork::rescued(rustix::fd::AsRawFd::as_raw_fd(&self.fd)) {
                // A fork rescue left our descriptor's OFD without the handle lock (it is on the
                // rescue's lock OFD, which is close-on-exec): a child that inherits the
                // descriptor must get an OFD that holds it. Put a locked OFD behind the number,
                // then leave the rescue. If the mode forbids reopening, refuse (nothing
                // changes): the only writable OFD is our own, which the forked child shares and
                // decides its close through; locking it again would let that close take our
                // lock over and unlink the name under this handle (docs/model, finding 3).
                match fork::excluded(|| self.move_to_fresh_ofd()) {
                    Ok(()) => {}
                    Err(e) if e.code() == Win32Error::ACCESS_DENIED => {
                        return Err(Error::new(
                            Win32Error::ACCESS_DENIED,
                            format!(
                                "{}: its mode does not let this process reopen it, and since a fork its \
                                 open file description is shared with the child, so no description \
                                 holding the handle's lock can be handed to a new program",
                                what()
                            ),
                        ));
                    }
                    Err(e) => return Err(prefix(e, &what())),
                }
                drop(fork::untrack(rustix::fd::AsRawFd::as_raw_fd(&self.fd)));
            }
        }
        let flags = if inheritable { rustix::io::FdFlags::empty() } else { rustix::io::FdFlags::CLOEXEC };
        rustix::io::fcntl_setfd(&self.fd, flags).map_err(|e| Error::from_io(what(), e.into()))
    }

    /// Puts a new OFD of the same inode, holding the handle lock, behind this handle's
    /// descriptor number, and drops the lock of the old one. Views already mapped from the old,
    /// private OFD keep it alive; without this they would keep its lock, and so the name, alive
    /// once the handle's OFD is shared with a child (whose close protocol cannot release it).
    fn move_to_fresh_ofd(&self) -> Result<()> {
        let failed = |e: Errno| Error::from_io("cannot move the handle to a fresh open file description", e.into());
        let fresh = self.reopen_ofd(OFlags::CLOEXEC).map_err(failed)?;
        lock::set(fresh.as_fd(), Kind::Read).map_err(failed)?;
        let old = rustix::io::fcntl_dupfd_cloexec(&self.fd, 0).map_err(failed)?;
        // SAFETY:
        // - the number is `self.fd`'s, open for as long as `self` lives; wrapping it in a
        //   `ManuallyDrop<OwnedFd>` only lets `dup3` name it, and it is never closed here;
        // - `dup3` atomically points that number at the fresh OFD of the same inode (keeping
        //   it close-on-exec until the caller decides), so any thread using `self.fd`
        //   meanwhile sees one valid OFD of this object or the other.
        let mut target = std::mem::ManuallyDrop::new(unsafe {
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(rustix::fd::AsRawFd::as_raw_fd(&self.fd))
        });
        rustix::io::dup3(&fresh, &mut target, rustix::io::DupFlags::CLOEXEC).map_err(failed)?;
        // The handle's lock now lives on the fresh OFD; release the old one's (best effort:
        // on failure the old OFD's lock lasts only as long as its views).
        lock::set(old.as_fd(), Kind::Unlock).ok();
        Ok(())
    }

    /// Runs `map` with the descriptor to `mmap` this object from (views, the header page).
    ///
    /// Our own OFD when only this handle uses it: its lock is released (converted) by the close
    /// protocol whatever mappings remain. When the OFD may be shared with another process (an
    /// inheritable or inherited handle), the close protocol cannot touch its lock, and a mapping
    /// of it would keep the lock, and so the name, alive: such handles map from a second,
    /// private OFD of the same inode that holds no lock (reopened through `/proc/self/fd` on first use, a few µs).
    pub(crate) fn with_map_fd<T>(&self, map: impl FnOnce(BorrowedFd<'_>, Option<MapPin>) -> Result<T>) -> Result<T> {
        let _no_switch = self.switch.read().unwrap_or_else(|e| e.into_inner());
        let own = || Some(MapPin(self.own_maps.clone()));
        if !self.shared_ofd.load(Ordering::Relaxed) || self.name.is_none() {
            return map(self.fd.as_fd(), own());
        }
        if let Some(fd) = self.map_ofd.get() {
            return map(fd.as_fd(), None);
        }
        match self.reopen_ofd(OFlags::CLOEXEC) {
            // A racing thread may have set it first; ours is then dropped (it holds no lock).
            Ok(fd) => map(self.map_ofd.get_or_init(|| fd).as_fd(), None),
            // Reopening checks the file's mode again (an owner-read-only object opened for
            // writing by its creator): fall back to the handle's own OFD. Its views then keep
            // the name alive until they are unmapped (documented limit).
            Err(Errno::ACCESS) | Err(Errno::PERM) => map(self.fd.as_fd(), own()),
            Err(e) => Err(Error::from_io(format!("cannot map {}", self.describe()), e.into())),
        }
    }

    /// A new OFD of this handle's inode, with the handle's access (through `/proc/self/fd`,
    /// which works for unnamed objects and released names too; the file's mode is checked again).
    fn reopen_ofd(&self, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let access = if self.writable { OFlags::RDWR } else { OFlags::RDONLY };
        let path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&self.fd));
        rustix::fs::open(path.as_str(), access | flags, Mode::empty())
    }

    /// `mapping "Local\x"` or `unnamed mapping`, for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{} \"{name}\"", self.header.kind),
            None => format!("unnamed {}", self.header.kind),
        }
    }
}

impl ObjectFile {
    /// Runs the close protocol now and reports whether it could decide the name's fate; dropping
    /// the object later does nothing more. Dropping it without this runs the same protocol and
    /// ignores the result; the one failure that matters, no descriptor left to test a shared OFD
    /// with, leaves a dead object that the next sweep (or `filemap gc`) reclaims, and is reported
    /// here. In place: handles close the object inside its shared allocation, without moving it.
    pub(crate) fn close_in_place(&mut self) -> Result<()> {
        self.release()
    }

    /// The close protocol (`docs/ARCHITECTURE.md` §4); runs once.
    fn release(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        // (Clones of shared text, no allocation: the protocol below needs `&mut self`.)
        let (Some(dir), Some(name)) = (self.dir.clone(), self.name.clone()) else {
            return Ok(());
        };
        let file = name.file();
        // (A handle the fork handlers had to mark shared is still registered: forget it too,
        // and take back the lock OFD their rescue gave it.)
        let lock_ofd = fork::untrack(rustix::fd::AsRawFd::as_raw_fd(&self.fd));
        let result = if !self.shared_ofd.load(Ordering::Relaxed) {
            self.release_private(&dir, file)
        } else {
            self.release_shared(&dir, file, lock_ofd)
        };
        sweep::tick(&dir);
        result
    }

    /// Our OFD is ours alone: its own lock tells whether any other holder exists.
    fn release_private(&mut self, dir: &Dir, file: &str) -> Result<()> {
        let fd = self.fd.as_fd();
        // A mapping of this OFD keeps it, and its locks, alive after the descriptor is closed.
        let pinned = Arc::strong_count(&self.own_maps) > 1 || self.page.get().is_some();
        if self.writable {
            // One call: the conversion succeeds iff no other OFD holds the object (or decides).
            if lock::set(fd, Kind::Write).is_ok() {
                unlink_decided(dir, file, &self.fd, pinned);
            } else {
                // Others hold it. Our read lock stays after a failed conversion (they are
                // atomic), and closing the descriptor does not always drop it: a view may pin
                // the OFD, and so does any child another thread is starting (`posix_spawn`,
                // `vfork`, Rust's `Command`: until its `exec` it holds a copy of every
                // descriptor of ours). The other holders' last close would then see our lock,
                // leave the name behind, and an open in that window would still find it
                // (test `cross_process::the_last_close_frees_the_name_while_another_thread_spawns_children`).
                lock::set(fd, Kind::Unlock).ok();
            }
            // Two last handles closing at the very same moment may each see the other and both
            // leave: the object is then dead, which every open sees, and the sweep removes it.
            return Ok(());
        }
        // A read-only descriptor cannot take the decision lock: if nobody else holds the object,
        // decide through a writable descriptor opened by name.
        let last = matches!(lock::conflicting(fd, Kind::Write), Ok(None));
        lock::set(fd, Kind::Unlock).ok();
        if last {
            return self.release_by_name(dir, file);
        }
        Ok(())
    }

    /// The OFD may be shared with another process: decide with a fresh OFD of the same inode.
    ///
    /// `lock_ofd`: the OFD that holds this handle's lock instead of `self.fd` since a fork
    /// rescue (`fork.rs`); our reference to it goes before the decision, and `self.fd` then
    /// holds no handle lock.
    fn release_shared(&mut self, dir: &Dir, file: &str, lock_ofd: Option<OwnedFd>) -> Result<()> {
        let rescued = lock_ofd.is_some();
        let fresh = match open_object(dir, file) {
            Ok(fresh) => fresh,
            Err(Errno::NOENT) => return Ok(()), // the name is already gone
            Err(e) => {
                return Err(Error::from_io(
                    format!(
                        "cannot close {} properly: no descriptor to test whether other holders remain; \
                         if this was the last handle the object is left dead, for the next sweep or `filemap gc`",
                        self.describe()
                    ),
                    e.into(),
                ));
            }
        };
        match rustix::fs::fstat(&fresh) {
            Ok(st) if (st.st_dev, st.st_ino) == self.id() => {}
            _ => return Ok(()), // the name already belongs to another object
        }
        drop(lock_ofd);
        let fresh_writable = rustix::fs::fcntl_getfl(&fresh).is_ok_and(|fl| fl.contains(OFlags::RDWR));
        if rescued && !fresh_writable && self.writable {
            // The object's mode lets nobody but root open it for writing (e.g. 0400 of a
            // non-root owner): decide through our own writable OFD, which holds no handle lock.
            drop(fresh);
            return self.decide_through_own_ofd(dir, file);
        }
        // Close ours first (by replacing it with the fresh one, which we then test and drop).
        drop(std::mem::replace(&mut self.fd, fresh));
        if lock::set(self.fd.as_fd(), Kind::Write).is_ok() {
            unlink_if_linked(dir, file, &self.fd, false); // the fresh OFD is mapped by nobody
        }
        Ok(())
    }

    /// The decision of a rescued handle whose object nobody may reopen for writing: through our
    /// own OFD, which no handle lock is on since the rescue but which the processes forked from
    /// us share (with its views). Two of them may decide at once through it (a lock of one OFD
    /// never conflicts with itself): a classic, per-process record lock on byte 2 makes them take
    /// turns, so each unlinks only after checking that the name still names this inode. The OFD
    /// write lock is dropped at once after: views of this OFD in other processes would otherwise
    /// keep it.
    fn decide_through_own_ofd(&mut self, dir: &Dir, file: &str) -> Result<()> {
        let fd = self.fd.as_fd();
        if lock::set_process_turn(fd, true).is_err() {
            return Ok(()); // a process sharing our OFD is deciding right now
        }
        if lock::set(fd, Kind::Write).is_ok() {
            let (dev, ino) = self.id();
            let _ = unlink_if_same(dir, file, dev, ino);
            lock::set(fd, Kind::Unlock).ok();
        }
        lock::set_process_turn(fd, false).ok();
        Ok(())
    }

    /// Our read-only handle was the last: take the decision lock through a writable OFD opened
    /// by name (same inode), if the object's mode lets us; otherwise the object is left dead for
    /// a process that may write it (its owner's next sweep, root's `filemap gc`).
    fn release_by_name(&mut self, dir: &Dir, file: &str) -> Result<()> {
        let Ok(rw) = open_for_decision(dir, file) else {
            return Ok(());
        };
        match rustix::fs::fstat(&rw) {
            Ok(st) if (st.st_dev, st.st_ino) == self.id() => {}
            _ => return Ok(()),
        }
        if lock::set(rw.as_fd(), Kind::Write).is_ok() {
            unlink_if_linked(dir, file, &rw, false);
        }
        Ok(())
    }
}

impl Drop for ObjectFile {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

/// A writable descriptor of `file` in `dir` (never following a symlink, never blocking), through
/// which a holder with only read access takes the decision lock; fails when the object's mode
/// does not let this process write it.
pub(super) fn open_for_decision(dir: &Dir, file: &str) -> std::result::Result<OwnedFd, Errno> {
    rustix::fs::openat(
        &dir.fd,
        file,
        OFlags::RDWR | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Opens the object file `file` of `dir` for an open by name: never following a symlink, never
/// blocking on a FIFO; `None` if there is no such file.
pub(super) fn open_named(
    dir: &Dir,
    file: &str,
    write: bool,
    inheritable: bool,
    what: &dyn Fn() -> String,
) -> Result<Option<OwnedFd>> {
    let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
    match rustix::fs::openat(
        &dir.fd,
        file,
        access | OFlags::NOFOLLOW | OFlags::NONBLOCK | cloexec(inheritable),
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::ACCESS) | Err(Errno::PERM) => Err(Error::new(
            Win32Error::ACCESS_DENIED,
            format!("{}: its permissions do not allow {} access", what(), if write { "write" } else { "read" }),
        )),
        Err(Errno::LOOP) => {
            Err(Error::new(Win32Error::ACCESS_DENIED, format!("{}: it is a symlink; refusing to follow it", what())))
        }
        Err(Errno::NXIO) => Err(not_regular(&what())),
        Err(e) => Err(Error::from_io(what(), e.into())),
    }
}

/// The header opened by name (read by [`Header::read_for`] with that name) belongs to that name
/// (`ERROR_INVALID_DATA` otherwise) and is of the type asked for (`ERROR_INVALID_HANDLE`: the
/// name is held by another type, I5).
pub(super) fn check_identity(header: &Header, kind: ObjectType, what: &dyn Fn() -> String) -> Result<()> {
    // `read_for(.., Some(name))` leaves `name` out exactly when the header records this name.
    if header.name.is_some() {
        return Err(Error::new(
            Win32Error::INVALID_DATA,
            format!("{}: the file holds object {:?}, not this name", what(), header.name),
        ));
    }
    if header.kind != kind {
        return Err(Error::new(
            Win32Error::INVALID_HANDLE,
            format!("{}: the name is held by a {}", what(), header.kind),
        ));
    }
    Ok(())
}

/// Opens a namespace entry for the protocol's own use (close, sweep): read-write if its mode
/// lets us (needed for the decision lock), else read-only; never follows a symlink, never
/// blocks on a FIFO.
pub(super) fn open_object(dir: &Dir, file: &str) -> std::result::Result<OwnedFd, Errno> {
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::openat(&dir.fd, file, OFlags::RDWR | flags, Mode::empty()) {
        Err(Errno::ACCESS) | Err(Errno::PERM) => {
            rustix::fs::openat(&dir.fd, file, OFlags::RDONLY | flags, Mode::empty())
        }
        other => other,
    }
}

pub(super) fn not_regular(what: &str) -> Error {
    Error::new(
        Win32Error::ACCESS_DENIED,
        format!("{what}: the name is held by something that is not a regular file; left alone"),
    )
}

pub(super) fn prefix(e: Error, what: &str) -> Error {
    let code = e.code();
    Error::new(code, format!("{what}: {}", e.message()))
}

/// The open protocol met a dead object (no holder; we hold the open lock): remove it if we may
/// and it is a verified object file of this name.
pub(super) fn reclaim_dead(
    dir: &Dir,
    file: &str,
    fd: OwnedFd,
    st: &rustix::fs::Stat,
    writable: bool,
    name: &ObjectName,
) -> Found {
    let fd = if writable {
        fd
    } else {
        // A read-only open: decide through a writable descriptor of the same inode if the
        // object's mode lets us.
        let Ok(rw) = open_for_decision(dir, file) else {
            return Found::Dead(Leftover::NotEntitled(st.st_uid));
        };
        if !rustix::fs::fstat(&rw).is_ok_and(|now| now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
            return Found::Dead(Leftover::Contended);
        }
        drop(fd);
        rw
    };
    // Fails if anyone holds the object now (an open that saw a holder just before it died and
    // joined) or another process is deciding.
    if lock::set(fd.as_fd(), Kind::Write).is_err() {
        return Found::Dead(Leftover::Contended);
    }
    // Another reclaimer may have removed it between our lookup and our lock.
    if !rustix::fs::fstat(&fd).is_ok_and(|now| now.st_nlink > 0) {
        return Found::Free;
    }
    // Only a valid object file of this very name is ever removed.
    let verified = Header::read(fd.as_fd()).is_ok_and(|h| h.name.as_deref().is_some_and(|n| name.is_written_as(n)));
    if !verified {
        return Found::Dead(Leftover::Invalid);
    }
    match unlink_if_same(dir, file, st.st_dev, st.st_ino) {
        Ok(()) => Found::Free,
        Err(Errno::PERM) | Err(Errno::ACCESS) => Found::Dead(Leftover::NotEntitled(st.st_uid)),
        Err(_) => Found::Dead(Leftover::Contended),
    }
}

/// Unlinks `file` if it still names the inode `(dev, ino)` (the caller holds its decision lock,
/// so no process following the protocol can have replaced it meanwhile; the comparison guards
/// against anything else). `NOENT` counts as done.
pub(super) fn unlink_if_same(dir: &Dir, file: &str, dev: u64, ino: u64) -> std::result::Result<(), Errno> {
    let named = match rustix::fs::statat(&dir.fd, file, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(named) => named,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    if named.st_dev != dev || named.st_ino != ino {
        return Ok(());
    }
    match rustix::fs::unlinkat(&dir.fd, file, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Unlinks `file`, the name of the object open as `fd`, unless the object has no name any more.
///
/// The caller holds the decision lock on the object, so no process following the protocol can
/// unlink or replace the name meanwhile; an object file only ever has one name, so a link count
/// above zero means `file` still names it. (Cheaper than comparing `statat(file)` with our inode.)
/// In a sticky directory (Global) only the file's owner or root may unlink it: otherwise the
/// object stays, dead, for them.
pub(super) fn unlink_if_linked(dir: &Dir, file: &str, fd: &OwnedFd, pinned: bool) {
    if rustix::fs::fstat(fd).is_ok_and(|st| st.st_nlink > 0) {
        unlink_decided(dir, file, fd, pinned);
    } else if pinned {
        lock::set(fd.as_fd(), Kind::Unlock).ok();
    }
}

/// Unlinks `file`, the name of the object open as `fd`, whose decision lock we won by
/// *converting* the read lock this OFD held since it joined or published the object.
///
/// No link-count check is needed: every unlink of the protocol (closers, reclaimers, gc, the
/// sweep) happens under the decision lock, which our read lock refused for as long as we held
/// it, and we held it without a gap up to the conversion; so the name was never unlinked, and
/// an object file only ever has one name. (The decisions made through an OFD opened later, by
/// name, cannot say the same and check `st_nlink` first: `unlink_if_linked`.) In a sticky
/// directory (Global) only the file's owner or root may unlink it: otherwise the object stays,
/// dead, for them.
pub(super) fn unlink_decided(dir: &Dir, file: &str, fd: &OwnedFd, pinned: bool) {
    rustix::fs::unlinkat(&dir.fd, file, AtFlags::empty()).ok();
    // A mapping of this OFD (`pinned`) keeps it, and so its decision lock, alive after the
    // descriptor is closed: drop the lock now (it would only make later probes of this
    // unnamed inode see a decision in progress).
    if pinned {
        lock::set(fd.as_fd(), Kind::Unlock).ok();
    }
}

/// An identity learnt after the handle was made ([`ObjectFile::id`]): plain atomics, not a
/// `OnceLock`, so that no thread ever waits for another to finish asking (a `fork` while one
/// thread asks would otherwise leave the child's lock "running" for good). Threads that race
/// store the same values.
#[derive(Debug, Default)]
struct AskedId {
    dev: std::sync::atomic::AtomicU64,
    ino: std::sync::atomic::AtomicU64,
    known: AtomicBool,
}

impl AskedId {
    fn get(&self) -> Option<(u64, u64)> {
        self.known.load(Ordering::Acquire).then(|| (self.dev.load(Ordering::Relaxed), self.ino.load(Ordering::Relaxed)))
    }

    fn set(&self, (dev, ino): (u64, u64)) {
        self.dev.store(dev, Ordering::Relaxed);
        self.ino.store(ino, Ordering::Relaxed);
        self.known.store(true, Ordering::Release);
    }
}

/// What a handle is made with besides its descriptor: the object file's identity, when known
/// without asking (see [`ObjectFile::id`]), and its size.
pub(super) struct Made {
    id: Option<(u64, u64)>,
    file_size: u64,
}

impl Made {
    fn of(st: &rustix::fs::Stat) -> Made {
        Made { id: Some((st.st_dev, st.st_ino)), file_size: st.st_size as u64 }
    }
}

pub(super) fn build_tmpfile(dir: &Dir, new: &mut NewObject<'_>) -> Result<(OwnedFd, Made)> {
    let flags = OFlags::TMPFILE | OFlags::RDWR | cloexec(new.inheritable);
    // Unnamed until linked, the file can be made with its final mode: nobody can reach it yet.
    let mode = Mode::from_raw_mode(new.header.mode & 0o777);
    let fd = rustix::fs::openat(&dir.fd, c".", flags, mode).map_err(|e| match e {
        Errno::ACCESS | Errno::PERM if dir.scope == Scope::Global => Error::new(
            Win32Error::ACCESS_DENIED,
            "creating objects in the Global namespace is a privilege (SeCreateGlobalPrivilege): \
             run as root or as a member of the group set by `filemap init-global`",
        ),
        e => Error::from_io("cannot create the object file", e.into()),
    })?;
    let made = fill(&fd, new, dir.exact_modes)?;
    lock::set(fd.as_fd(), Kind::Read).map_err(|e| Error::from_io("cannot take the handle lock", e.into()))?;
    Ok((fd, made))
}

/// Writes the header, sizes and reserves the data, and makes sure the file has exactly the
/// requested mode (S3: whatever the umask took away is put back).
///
/// `exact_mode`: the file was made in a directory whose default ACL gives it exactly the mode
/// it was made with (`namespace::Dir::exact_modes`). A mapping made there needs no `fstat`: its
/// mode is right, its owner is this process's effective uid, and nothing asks for its inode
/// number on the way (a sync object's handle asks for it at once: its synchronization area, the
/// mutexes' registry and the waits' ordering use it, so the `fstat` would only move).
pub(super) fn fill(fd: &OwnedFd, new: &mut NewObject<'_>, exact_mode: bool) -> Result<Made> {
    let kind = new.header.kind;
    let st = if exact_mode && kind == ObjectType::Mapping {
        None
    } else {
        Some(rustix::fs::fstat(fd).map_err(|e| Error::from_io("cannot read the new object file", e.into()))?)
    };
    new.header.creator_uid = st.as_ref().map_or_else(|| rustix::process::geteuid().as_raw(), |st| st.st_uid);
    let ino = st.as_ref().map_or(0, |st| st.st_ino);
    // The header's meaningful bytes; the rest of its page is gathered from `ZEROS` below.
    let page = new.header.encode_prefix(new.sync_init, sync_area_offset(kind, ino))?;
    let total = HEADER_SIZE as u64 + new.data_len;
    let commit_error = |e: Errno| match e {
        Errno::NOSPC | Errno::FBIG | Errno::NOMEM => Error::with_source(
            Win32Error::COMMITMENT_LIMIT,
            format!("cannot commit {} bytes: not enough memory in the namespace's filesystem", new.data_len),
            e.into(),
        ),
        e => Error::from_io("cannot reserve the object's memory", e.into()),
    };
    // Small committed objects: writing zeroed data with the header commits it in the same call
    // (gathered from a static zero block, so nothing is allocated or cleared for it).
    let mut data_zeros = 0;
    if new.commit && new.data_len > 0 && new.data_len <= SMALL_COMMIT {
        data_zeros = new.data_len as usize;
    } else if new.commit && new.data_len > 0 {
        rustix::fs::fallocate(fd, FallocateFlags::empty(), 0, total).map_err(commit_error)?;
    } else if total > HEADER_SIZE as u64 {
        rustix::fs::ftruncate(fd, total).map_err(|e| match e {
            Errno::FBIG | Errno::INVAL => Error::with_source(
                Win32Error::NOT_ENOUGH_MEMORY,
                format!("cannot size the mapping to {} bytes", new.data_len),
                e.into(),
            ),
            e => Error::from_io("cannot size the object", e.into()),
        })?;
    }
    let (page, zeros) = (page.as_slice(), &ZEROS[..HEADER_SIZE - page.len() + data_zeros]);
    let mut done = 0;
    while done < page.len() + zeros.len() {
        let written = if done < page.len() {
            let bufs = [std::io::IoSlice::new(&page[done..]), std::io::IoSlice::new(zeros)];
            rustix::io::pwritev(fd, &bufs, done as u64)
        } else {
            rustix::io::pwrite(fd, &zeros[done - page.len()..], done as u64)
        };
        match written {
            Ok(0) => return Err(commit_error(Errno::NOSPC)),
            Ok(n) => done += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(commit_error(e)),
        }
    }
    let mode = new.header.mode & 0o777;
    if let Some(st) = &st
        && st.st_mode & 0o7777 != mode
    {
        rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::from_io(format!("cannot set the object's mode to {mode:04o}"), e.into()))?;
    }
    Ok(Made { id: st.map(|st| (st.st_dev, st.st_ino)), file_size: total })
}

/// Gives the unnamed file its name; `EEXIST` if the name is taken.
pub(super) fn link(fd: &OwnedFd, dir: &Dir, file: &str) -> std::result::Result<(), Errno> {
    match rustix::fs::linkat(fd, c"", &dir.fd, file, AtFlags::EMPTY_PATH) {
        Err(Errno::NOENT) | Err(Errno::PERM) => {
            // Kernels before 6.10 want CAP_DAC_READ_SEARCH for AT_EMPTY_PATH; go through /proc.
            let path = format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(fd));
            rustix::fs::linkat(rustix::fs::CWD, path.as_str(), &dir.fd, file, AtFlags::SYMLINK_FOLLOW)
        }
        other => other,
    }
}
/// Makes an open file description of a named object's file stand for a live handle: takes the
/// lifetime protocol's holder lock on it (a read lock on the object's first two bytes, see
/// `docs/ARCHITECTURE.md` §4). For layers that build handles from descriptors they opened
/// themselves (the Win32 layer's inheritable handles) before adopting them with
/// `from_inherited_fd`. The caller must already hold a handle to the object, so that it is
/// live; then this never fails with a conflict.
pub fn take_handle_lock(fd: BorrowedFd<'_>) -> Result<()> {
    lock::set(fd, Kind::Read).map_err(|e| Error::from_io("cannot take the handle lock", e.into()))
}
