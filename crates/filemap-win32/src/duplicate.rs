//! `DuplicateHandle` between processes: a per-process receiver on a Unix socket.
//!
//! Windows' `DuplicateHandle(source process, h, target process, &out)` puts a handle into
//! another process's table and returns its value there, without the target doing anything.
//! A handle's value here is `(fd + 1) * 4` of a descriptor in the owning process, and no Linux
//! call installs a descriptor into another process, so the target must take part. Every process
//! that loads this library runs a small *receiver* thread (started by a load-time constructor,
//! and again after `fork` on the next duplicate) listening on the abstract Unix socket
//! `filemap-win32-dup/<pid>` (`SOCK_SEQPACKET`). One request per connection:
//!
//! - **PUT** (into the target): the duplicator sends the object's kind, the new handle's access
//!   and inheritability, and a descriptor of the object (`SCM_RIGHTS`): a *new* open file
//!   description holding its own holder lock, never the duplicator's own description. The
//!   receiver adopts it into its table as if inherited, and answers the handle value, which
//!   `DuplicateHandle` returns.
//! - **GET** (out of the source): the receiver looks up the handle value, checks the access
//!   asked for is no more than the handle has, sends back a new description of the object, and
//!   with `DUPLICATE_CLOSE_SOURCE` closes its handle.
//!
//! A third-party duplicate (source and target both other processes) is a GET then a PUT.
//!
//! **Who may.** The receiver serves only peers (`SO_PEERCRED`) with its own effective uid or
//! root; the duplicator only talks to a receiver whose peer credentials show the target's pid
//! (a squatter on the name gets nothing) and whose uid is its own (or it is root). Otherwise:
//! `ERROR_ACCESS_DENIED`, as Windows' `PROCESS_DUP_HANDLE` check on another user's process. The
//! process handle must carry `PROCESS_DUP_HANDLE`.
//!
//! **Failures.** A target that never looks at the handle still has it in its table (the
//! receiver adopted it), as on Windows, until it closes it or exits. If the target dies before
//! adopting, the descriptor in flight is released by the kernel with the socket and
//! `DuplicateHandle` fails (`ERROR_ACCESS_DENIED`, the process is gone); if the duplicator dies
//! after sending, the target keeps the handle (nobody learns its value: a leak until exit, as on
//! Windows). A target that has not loaded the library yet (just started) is waited for up to
//! [`START_WAIT`] while it is alive; one that never does fails with `ERROR_NOT_SUPPORTED`. Every
//! exchange has a timeout ([`IO_TIMEOUT`]), so a stopped or hostile peer cannot block a caller
//! for longer.

#![allow(unsafe_code)] // raw descriptors and the load-time constructor

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use filemap::sync::{Event, Mutex as SyncMutex, Rights, Semaphore, Timer};
use filemap::{Access, Mapping, Win32Error};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};

use crate::HANDLE;
use crate::error::{Fail, Res};
use crate::handles::{self, HANDLE_FLAG_INHERIT, Object};

/// How long a duplicator waits for a just-started target to load the library.
pub const START_WAIT: Duration = Duration::from_secs(2);
/// How long one request may take (connect to answer).
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// `PROCESS_DUP_HANDLE`.
pub const PROCESS_DUP_HANDLE: u32 = 0x0040;
const DUPLICATE_CLOSE_SOURCE: u32 = 1;
const DUPLICATE_SAME_ACCESS: u32 = 2;
const MAGIC: u32 = 0x4844_4d46; // "FMDH"
const OP_PUT: u32 = 1;
const OP_GET: u32 = 2;
const MSG_LEN: usize = 32;
/// The kind number of a file handle (namespace objects use their `ObjectType` numbers).
const KIND_FILE: u32 = 100;

/// The pid whose receiver runs in this process (0: none; another pid: we are a forked child).
static RECEIVER_PID: AtomicI32 = AtomicI32::new(0);

#[used]
#[unsafe(link_section = ".init_array")]
static START_AT_LOAD: extern "C" fn() = start_at_load;

extern "C" fn start_at_load() {
    let _ = ensure_receiver();
}

fn socket_name(pid: i32) -> Res<SocketAddrUnix> {
    SocketAddrUnix::new_abstract_name(format!("filemap-win32-dup/{pid}").as_bytes()).map_err(Fail::from)
}

/// Starts this process's receiver if it is not running (first call, or first call after fork).
pub fn ensure_receiver() -> Res<()> {
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    if RECEIVER_PID.load(Ordering::Acquire) == pid {
        return Ok(());
    }
    let sock = rustix::net::socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
    match rustix::net::bind(&sock, &socket_name(pid)?) {
        Ok(()) => {}
        // Another thread of this process won the race.
        Err(rustix::io::Errno::ADDRINUSE) if RECEIVER_PID.load(Ordering::Acquire) == pid => return Ok(()),
        Err(e) => return Err(Fail::from(e)),
    }
    rustix::net::listen(&sock, 16)?;
    // Process-directed signals must go to the program's own threads (a `pause()` in `main`
    // waiting for SIGALRM would otherwise sleep forever): the receiver starts with every signal
    // blocked, inherited from this thread's mask for the moment of the spawn.
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY:
    // - `all` is initialised by `sigfillset` before `pthread_sigmask` reads it;
    // - `old` is written by `pthread_sigmask` (which cannot fail with these arguments) before
    //   it is read back below; only this thread's mask changes, and it is restored at once.
    unsafe {
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), old.as_mut_ptr());
    }
    let spawned =
        std::thread::Builder::new().name("filemap-dup".into()).stack_size(128 * 1024).spawn(move || serve(sock));
    // SAFETY: `old` holds the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    spawned.map_err(Fail::from)?;
    RECEIVER_PID.store(pid, Ordering::Release);
    Ok(())
}

fn serve(listener: OwnedFd) {
    loop {
        let conn = match rustix::net::accept_with(&listener, SocketFlags::CLOEXEC) {
            Ok(conn) => conn,
            Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::CONNABORTED) => continue,
            Err(_) => {
                // Out of descriptors or memory: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        // A request is answered or dropped; nothing a peer sends can stop the loop.
        let _ = rustix::net::sockopt::set_socket_timeout(&conn, rustix::net::sockopt::Timeout::Recv, Some(IO_TIMEOUT));
        let _ = rustix::net::sockopt::set_socket_timeout(&conn, rustix::net::sockopt::Timeout::Send, Some(IO_TIMEOUT));
        // Read the request first, whoever sent it (closing a socket with unread data resets the
        // connection, and the peer would not see the refusal); a descriptor from a peer that is
        // not served is closed unused.
        let reply = recv(&conn).and_then(|request| {
            authorized_peer(&conn)?;
            handle_request(request)
        });
        let (status, value, kind, access, fd) = match reply {
            Ok(r) => (0, r.value, r.kind, r.access, r.fd),
            Err(Fail(code)) => (code, 0, 0, 0, None),
        };
        let _ = send(&conn, [status, kind, access, 0], value, fd.as_ref());
    }
}

/// The receiver serves its own user and root only.
fn authorized_peer(conn: &OwnedFd) -> Res<()> {
    let cred = rustix::net::sockopt::socket_peercred(conn)?;
    let me = rustix::process::geteuid();
    if cred.uid == me || cred.uid.is_root() { Ok(()) } else { Err(Fail(Win32Error::ACCESS_DENIED.0)) }
}

struct Reply {
    value: u64,
    kind: u32,
    access: u32,
    fd: Option<OwnedFd>,
}

fn handle_request((words, value, fd): ([u32; 8], u64, Option<OwnedFd>)) -> Res<Reply> {
    let [magic, op, kind, access, flags, _, _, _] = words;
    if magic != MAGIC {
        return Err(Fail(Win32Error::INVALID_PARAMETER.0));
    }
    match op {
        OP_PUT => {
            let fd = fd.ok_or(Fail(Win32Error::INVALID_PARAMETER.0))?;
            let h = adopt(fd, kind, access, flags & 1 != 0)?;
            Ok(Reply { value: h as u64, kind, access, fd: None })
        }
        OP_GET => {
            let h = value as usize as HANDLE;
            let info = handles::get(h)?;
            let same = flags & DUPLICATE_SAME_ACCESS != 0;
            let access = if same { info.access } else { access };
            let (kind, fd) = transfer(&info, access)?;
            if flags & DUPLICATE_CLOSE_SOURCE != 0 {
                handles::close(h)?;
            }
            Ok(Reply { value: 0, kind, access, fd: Some(fd) })
        }
        _ => Err(Fail(Win32Error::INVALID_PARAMETER.0)),
    }
}

/// A new description of a handle's object for another process, and its kind. A file's
/// description itself is shared, as duplicated file handles share one file object (and its
/// position) on Windows.
fn transfer(info: &handles::HandleInfo, access: u32) -> Res<(u32, OwnedFd)> {
    Ok(match &info.object {
        Object::File(_) => {
            if access & !info.access != 0 {
                return Err(Fail(Win32Error::ACCESS_DENIED.0));
            }
            // SAFETY: the handle's slot is open while the handle lives; borrowed for the dup.
            let slot = unsafe { std::os::fd::BorrowedFd::borrow_raw(info.fd) };
            (KIND_FILE, rustix::io::fcntl_dupfd_cloexec(slot, 0)?)
        }
        // Namespace objects travel as their core type's number (`ObjectType`'s values 1-5,
        // which `adopt` reads back).
        other => match other.core() {
            Some(h) => (h.object_type() as u32, h.transfer(access)?),
            // Processes and threads are not sent between processes (yet).
            None => return Err(Fail(Win32Error::NOT_SUPPORTED.0)),
        },
    })
}

/// Adopts a received description as a handle of this process.
fn adopt(fd: OwnedFd, kind: u32, access: u32, inherit: bool) -> Res<HANDLE> {
    let raw = fd.into_raw_fd();
    // SAFETY:
    // - `raw` is an open descriptor we received and own (it came out of an `OwnedFd`);
    // - the core takes ownership of it (closing it on failure), or the last arm closes it.
    let object = unsafe {
        match kind {
            1 => Object::Mapping(Arc::new(Mapping::from_inherited_fd_with_access(raw, Access(access))?)),
            2 => Object::Event(Arc::new(Event::from_inherited_fd(raw, Rights(access))?)),
            3 => Object::Mutex(Arc::new(SyncMutex::from_inherited_fd(raw, Rights(access))?)),
            4 => Object::Semaphore(Arc::new(Semaphore::from_inherited_fd(raw, Rights(access))?)),
            5 => Object::Timer(Arc::new(Timer::from_inherited_fd(raw, Rights(access))?)),
            KIND_FILE => {
                let fd = OwnedFd::from_raw_fd(raw);
                let st = rustix::fs::fstat(&fd)?;
                let file = Object::File(Arc::new(crate::objects::FileObject::adopted(st.st_dev, st.st_ino)));
                return handles::insert(file, access, inherit, fd);
            }
            _ => {
                drop(OwnedFd::from_raw_fd(raw));
                return Err(Fail(Win32Error::INVALID_PARAMETER.0));
            }
        }
    };
    let h = handles::insert_core(object)?;
    if inherit {
        handles::set_flags(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)?;
    }
    Ok(h)
}

fn send(conn: &OwnedFd, words: [u32; 4], value: u64, fd: Option<&OwnedFd>) -> Res<()> {
    let mut msg = [0u8; MSG_LEN];
    for (i, w) in words.iter().enumerate() {
        msg[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    msg[24..32].copy_from_slice(&value.to_le_bytes());
    send_raw(conn, &msg, fd)
}

fn send_raw(conn: &OwnedFd, msg: &[u8; MSG_LEN], fd: Option<&OwnedFd>) -> Res<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(fd) = fd {
        fds = [fd.as_fd()];
        control.push(SendAncillaryMessage::ScmRights(&fds));
    }
    let n = rustix::net::sendmsg(conn, &[IoSlice::new(msg)], &mut control, SendFlags::NOSIGNAL)?;
    if n != MSG_LEN {
        return Err(Fail(Win32Error::INVALID_DATA.0));
    }
    Ok(())
}

/// Receives one message: eight words (the last three of a reply unused), a value, and at
/// most one descriptor.
fn recv(conn: &OwnedFd) -> Res<([u32; 8], u64, Option<OwnedFd>)> {
    let mut msg = [0u8; MSG_LEN];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = rustix::net::recvmsg(conn, &mut [IoSliceMut::new(&mut msg)], &mut control, RecvFlags::CMSG_CLOEXEC)?;
    let mut fd = None;
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            for received in fds {
                // Keep the first; any extra descriptor a hostile peer sent is closed here.
                if fd.is_none() {
                    fd = Some(received);
                }
            }
        }
    }
    if got.bytes != MSG_LEN {
        return Err(Fail(Win32Error::INVALID_DATA.0));
    }
    let mut words = [0u32; 8];
    for (i, w) in words.iter_mut().take(6).enumerate() {
        *w = u32::from_le_bytes([msg[4 * i], msg[4 * i + 1], msg[4 * i + 2], msg[4 * i + 3]]);
    }
    let value = u64::from_le_bytes([msg[24], msg[25], msg[26], msg[27], msg[28], msg[29], msg[30], msg[31]]);
    Ok((words, value, fd))
}

// ---------------------------------------------------------------------------------------------
// The duplicator's side.
// ---------------------------------------------------------------------------------------------

/// The pid a process handle names, after checking it carries `PROCESS_DUP_HANDLE`.
fn process_pid(h: HANDLE) -> Res<(i32, Option<Arc<crate::objects::ProcessObject>>)> {
    if h as usize == handles::CURRENT_PROCESS {
        return Ok((std::process::id() as i32, None));
    }
    let info = handles::get(h)?;
    let Object::Process(p) = info.object else {
        return Err(Fail(Win32Error::INVALID_HANDLE.0));
    };
    if info.access & PROCESS_DUP_HANDLE == 0 {
        return Err(Fail(Win32Error::ACCESS_DENIED.0));
    }
    Ok((p.pid(), Some(p)))
}

/// Connects to `pid`'s receiver and checks it is that process and that we may act on it.
fn connect(pid: i32, process: Option<&crate::objects::ProcessObject>) -> Res<OwnedFd> {
    // Another user's process (unless we are root): refused before anything is sent.
    let me = rustix::process::geteuid();
    let owner = std::fs::metadata(format!("/proc/{pid}")).map_err(|_| Fail(Win32Error::ACCESS_DENIED.0))?;
    if !me.is_root() && std::os::unix::fs::MetadataExt::uid(&owner) != me.as_raw() {
        return Err(Fail(Win32Error::ACCESS_DENIED.0));
    }
    let addr = socket_name(pid)?;
    let deadline = Instant::now() + START_WAIT;
    loop {
        let sock = rustix::net::socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
        rustix::net::sockopt::set_socket_timeout(&sock, rustix::net::sockopt::Timeout::Recv, Some(IO_TIMEOUT))?;
        rustix::net::sockopt::set_socket_timeout(&sock, rustix::net::sockopt::Timeout::Send, Some(IO_TIMEOUT))?;
        match rustix::net::connect(&sock, &addr) {
            Ok(()) => {
                let cred = rustix::net::sockopt::socket_peercred(&sock)?;
                if cred.pid.as_raw_nonzero().get() != pid || !(me.is_root() || cred.uid == me) {
                    return Err(Fail(Win32Error::ACCESS_DENIED.0));
                }
                // The pid names the process of our handle only while that process has not
                // exited (a pid is reused only after its process is gone): checked after the
                // connection, so a reused pid is never taken for the handle's process.
                if process.is_some_and(crate::objects::ProcessObject::has_exited) {
                    return Err(Fail(Win32Error::ACCESS_DENIED.0));
                }
                return Ok(sock);
            }
            Err(rustix::io::Errno::CONNREFUSED) | Err(rustix::io::Errno::NOENT) => {
                let gone = process.is_some_and(crate::objects::ProcessObject::has_exited)
                    || rustix::process::test_kill_process(
                        rustix::process::Pid::from_raw(pid).ok_or(Fail(Win32Error::INVALID_HANDLE.0))?,
                    )
                    .is_err();
                if gone {
                    return Err(Fail(Win32Error::ACCESS_DENIED.0));
                }
                if Instant::now() >= deadline {
                    // Alive, but not a process of this library (or still starting after 2 s).
                    return Err(Fail(Win32Error::NOT_SUPPORTED.0));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(Fail::from(e)),
        }
    }
}

fn exchange(
    conn: &OwnedFd,
    words: [u32; 6],
    value: u64,
    fd: Option<&OwnedFd>,
) -> Res<([u32; 8], u64, Option<OwnedFd>)> {
    let mut msg = [0u8; MSG_LEN];
    for (i, w) in words.iter().enumerate() {
        msg[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    msg[24..32].copy_from_slice(&value.to_le_bytes());
    send_raw(conn, &msg, fd).map_err(|_| Fail(Win32Error::ACCESS_DENIED.0))?;
    let (reply, value, fd) = match recv(conn) {
        Ok(r) => r,
        // The target died (or stopped answering) mid-transfer.
        Err(_) => return Err(Fail(Win32Error::ACCESS_DENIED.0)),
    };
    if reply[0] != 0 {
        return Err(Fail(reply[0]));
    }
    Ok((reply, value, fd))
}

/// `DuplicateHandle` where the source or the target process is another process.
///
/// # Safety
/// `target` NULL or writable.
pub(crate) unsafe fn across(
    src_process: HANDLE,
    src: HANDLE,
    dst_process: HANDLE,
    target: *mut HANDLE,
    access: u32,
    inherit: bool,
    options: u32,
) -> Res<()> {
    // SAFETY: forwarded caller promise.
    let result = unsafe { across_inner(src_process, src, dst_process, target, access, inherit, options) };
    // Windows closes the source handle with `DUPLICATE_CLOSE_SOURCE` whatever else fails; our
    // own source is closed here (a remote one is closed by its receiver on a GET).
    if result.is_err()
        && options & DUPLICATE_CLOSE_SOURCE != 0
        && process_pid(src_process).is_ok_and(|(pid, _)| pid == std::process::id() as i32)
    {
        let _ = handles::close(src);
    }
    result
}

/// # Safety
/// `target` NULL or writable.
unsafe fn across_inner(
    src_process: HANDLE,
    src: HANDLE,
    dst_process: HANDLE,
    target: *mut HANDLE,
    access: u32,
    inherit: bool,
    options: u32,
) -> Res<()> {
    ensure_receiver()?;
    let (src_pid, src_proc) = process_pid(src_process)?;
    let (dst_pid, dst_proc) = process_pid(dst_process)?;
    let me = std::process::id() as i32;
    let same = options & DUPLICATE_SAME_ACCESS != 0;
    let close_source = options & DUPLICATE_CLOSE_SOURCE != 0;
    if handles::is_pseudo(src) {
        return Err(Fail(Win32Error::NOT_SUPPORTED.0)); // process/thread pseudo-handles stay local
    }
    if target.is_null() {
        // Nothing is duplicated; only `DUPLICATE_CLOSE_SOURCE` has an effect.
        if !close_source {
            return Ok(());
        }
        if src_pid == me {
            return handles::close(src);
        }
        let conn = connect(src_pid, src_proc.as_deref())?;
        exchange(&conn, [MAGIC, OP_GET, 0, 0, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE, 0], src as u64, None)?;
        return Ok(());
    }
    // Obtain a description of the object (ours, or pulled out of the source).
    let (kind, new_access, fd) = if src_pid == me {
        let info = handles::get(src)?;
        let new_access = if same { info.access } else { access };
        let (kind, fd) = transfer(&info, new_access)?;
        (kind, new_access, fd)
    } else {
        let conn = connect(src_pid, src_proc.as_deref())?;
        let flags = (options & (DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)) | u32::from(inherit) << 8;
        let (reply, _, fd) = exchange(&conn, [MAGIC, OP_GET, 0, access, flags, 0], src as u64, None)?;
        (reply[1], reply[2], fd.ok_or(Fail(Win32Error::INVALID_DATA.0))?)
    };
    // Give it to the target (ourselves, or pushed into the target).
    let h = if dst_pid == me {
        adopt(fd, kind, new_access, inherit)?
    } else {
        let conn = connect(dst_pid, dst_proc.as_deref())?;
        let (_, value, _) = exchange(&conn, [MAGIC, OP_PUT, kind, new_access, u32::from(inherit), 0], 0, Some(&fd))?;
        value as usize as HANDLE
    };
    if close_source && src_pid == me {
        handles::close(src)?;
    }
    // SAFETY: non-NULL (checked above) and writable (caller's promise).
    unsafe { target.write(h) };
    Ok(())
}
