//! One error type for the whole crate: a Win32 error code plus a message a person understands.
//!
//! The code is exactly what Windows returns from `GetLastError` for the same failure, so the
//! Win32 face of this library (`filemap-win32`) only has to copy it out. The message names the
//! object and what was asked, e.g. `cannot open mapping "Local\\Foo": no such object`.

use std::fmt;
use std::io;

/// A Win32 error code (`GetLastError` value), e.g. [`Win32Error::FILE_NOT_FOUND`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Win32Error(pub u32);

macro_rules! win32_codes {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        impl Win32Error {
            $(
                #[doc = concat!("`ERROR_", stringify!($name), "` (", stringify!($value), "): ", $text)]
                pub const $name: Win32Error = Win32Error($value);
            )*

            /// The Win32 constant's name without its `ERROR_` prefix, if the code is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// Windows' standard description of the code (what `FormatMessage` prints).
            pub fn description(self) -> &'static str {
                match self.0 {
                    $($value => $text,)*
                    _ => "Unknown error.",
                }
            }
        }
    };
}

win32_codes! {
    SUCCESS = 0, "The operation completed successfully.";
    INVALID_FUNCTION = 1, "Incorrect function.";
    FILE_NOT_FOUND = 2, "The system cannot find the file specified.";
    PATH_NOT_FOUND = 3, "The system cannot find the path specified.";
    TOO_MANY_OPEN_FILES = 4, "The system cannot open the file.";
    ACCESS_DENIED = 5, "Access is denied.";
    INVALID_HANDLE = 6, "The handle is invalid.";
    NOT_ENOUGH_MEMORY = 8, "Not enough memory resources are available to process this command.";
    INVALID_ACCESS = 12, "The access code is invalid.";
    OUTOFMEMORY = 14, "Not enough memory resources are available to complete this operation.";
    WRITE_PROTECT = 19, "The media is write protected.";
    SHARING_VIOLATION = 32, "The process cannot access the file because it is being used by another process.";
    HANDLE_EOF = 38, "Reached the end of the file.";
    NOT_SUPPORTED = 50, "The request is not supported.";
    FILE_EXISTS = 80, "The file exists.";
    INVALID_PARAMETER = 87, "The parameter is incorrect.";
    DISK_FULL = 112, "There is not enough space on the disk.";
    CALL_NOT_IMPLEMENTED = 120, "This function is not supported on this system.";
    INSUFFICIENT_BUFFER = 122, "The data area passed to a system call is too small.";
    INVALID_NAME = 123, "The filename, directory name, or volume label syntax is incorrect.";
    BAD_PATHNAME = 161, "The specified path is invalid.";
    ALREADY_EXISTS = 183, "Cannot create a file when that file already exists.";
    BAD_EXE_FORMAT = 193, "The file is not a valid application.";
    FILENAME_EXCED_RANGE = 206, "The filename or extension is too long.";
    MORE_DATA = 234, "More data is available.";
    WAIT_NO_CHILDREN = 128, "There are no child processes to wait for.";
    NOT_OWNER = 288, "Attempt to release mutex not owned by caller.";
    TOO_MANY_POSTS = 298, "Too many posts were made to a semaphore.";
    INVALID_ADDRESS = 487, "Attempt to access invalid address.";
    ABANDONED_WAIT_0 = 735, "The wait was satisfied by an abandoned mutex.";
    FILE_INVALID = 1006, "The volume for a file has been externally altered so that the opened file is no longer valid.";
    MAPPED_ALIGNMENT = 1132, "The base address or the file offset specified does not have the proper alignment.";
    PRIVILEGE_NOT_HELD = 1314, "A required privilege is not held by the client.";
    INVALID_SECURITY_DESCR = 1338, "The security descriptor structure is invalid.";
    COMMITMENT_LIMIT = 1455, "The paging file is too small for this operation to complete.";
    TIMEOUT = 1460, "This operation returned because the timeout period expired.";
    INVALID_DATA = 13, "The data is invalid.";
    NOT_LOCKED = 158, "The segment is already unlocked.";
    NOACCESS = 998, "Invalid access to memory location.";
    NO_SYSTEM_RESOURCES = 1450, "Insufficient system resources exist to complete the requested service.";
    WORKING_SET_QUOTA = 1453, "Insufficient quota to complete the requested service.";
}

impl fmt::Debug for Win32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ERROR_{name}({})", self.0),
            None => write!(f, "Win32Error({})", self.0),
        }
    }
}

impl fmt::Display for Win32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ERROR_{name} ({})", self.0),
            None => write!(f, "Win32 error {}", self.0),
        }
    }
}

/// What kind of failure an [`Error`] is, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No object has that name (`ERROR_FILE_NOT_FOUND`), or a path is missing.
    NotFound,
    /// The name is held by an object of another type (`ERROR_INVALID_HANDLE`), or a handle is invalid.
    WrongType,
    /// Permissions, protection or handle access forbid the operation (`ERROR_ACCESS_DENIED`).
    AccessDenied,
    /// A parameter is out of range or a combination of flags is invalid.
    InvalidParameter,
    /// The object name is malformed.
    InvalidName,
    /// An offset or address is not aligned to the allocation granularity.
    Alignment,
    /// An address is not the start of (or inside) a view, or is already in use.
    InvalidAddress,
    /// Memory or disk space ran out.
    OutOfMemory,
    /// The object's on-disk state is corrupt or was tampered with.
    Corrupt,
    /// The feature exists in Win32 but is not available here.
    Unsupported,
    /// A synchronization rule was broken (not the owner, too many posts).
    SyncRule,
    /// A wait timed out.
    Timeout,
    /// Anything else; look at [`Error::code`].
    Other,
}

/// The error of every fallible operation in this crate.
///
/// It carries the Win32 code Windows would set ([`Error::code`]), a kind to match on
/// ([`Error::kind`]), a message naming the object and the operation, and, when the failure came
/// from the OS, the underlying `errno`.
#[derive(Debug, thiserror::Error)]
#[error("{message} ({code})")]
pub struct Error {
    code: Win32Error,
    message: String,
    #[source]
    source: Option<io::Error>,
}

impl Error {
    /// An error with a Win32 code and a message.
    pub fn new(code: Win32Error, message: impl Into<String>) -> Error {
        Error { code, message: message.into(), source: None }
    }

    /// An error caused by an OS error, with the Win32 code chosen by the caller.
    pub fn with_source(code: Win32Error, message: impl Into<String>, source: io::Error) -> Error {
        Error { code, message: message.into(), source: Some(source) }
    }

    /// An error translated from an OS error: the Win32 code is derived from `errno`
    /// ([`win32_from_errno`]) and the OS's text is appended to the message.
    pub fn from_io(message: impl Into<String>, source: io::Error) -> Error {
        let code = win32_from_errno(&source);
        let message = format!("{}: {}", message.into(), source);
        Error { code, message, source: Some(source) }
    }

    /// The same failure, its message prefixed with `what` (the operation and the object), so
    /// an error from a helper names what the caller was doing. Code and source are kept.
    pub(crate) fn context(self, what: &str) -> Error {
        Error { message: format!("{what}: {}", self.message), ..self }
    }

    /// The Win32 code (`GetLastError` value) of this failure.
    pub fn code(&self) -> Win32Error {
        self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The broad kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self.code {
            Win32Error::FILE_NOT_FOUND | Win32Error::PATH_NOT_FOUND => ErrorKind::NotFound,
            Win32Error::INVALID_HANDLE => ErrorKind::WrongType,
            Win32Error::ACCESS_DENIED | Win32Error::PRIVILEGE_NOT_HELD | Win32Error::SHARING_VIOLATION => {
                ErrorKind::AccessDenied
            }
            Win32Error::INVALID_PARAMETER | Win32Error::FILE_INVALID | Win32Error::INVALID_ACCESS => {
                ErrorKind::InvalidParameter
            }
            Win32Error::INVALID_NAME | Win32Error::BAD_PATHNAME | Win32Error::FILENAME_EXCED_RANGE => {
                ErrorKind::InvalidName
            }
            Win32Error::MAPPED_ALIGNMENT => ErrorKind::Alignment,
            Win32Error::INVALID_ADDRESS => ErrorKind::InvalidAddress,
            Win32Error::NOT_ENOUGH_MEMORY
            | Win32Error::OUTOFMEMORY
            | Win32Error::COMMITMENT_LIMIT
            | Win32Error::DISK_FULL => ErrorKind::OutOfMemory,
            Win32Error::INVALID_DATA => ErrorKind::Corrupt,
            Win32Error::NOT_SUPPORTED | Win32Error::CALL_NOT_IMPLEMENTED | Win32Error::BAD_EXE_FORMAT => {
                ErrorKind::Unsupported
            }
            Win32Error::NOT_OWNER | Win32Error::TOO_MANY_POSTS => ErrorKind::SyncRule,
            Win32Error::TIMEOUT => ErrorKind::Timeout,
            _ => ErrorKind::Other,
        }
    }

    /// The OS error behind this failure, if any.
    pub fn os_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }
}

/// The Win32 code Windows reports for the failure a Linux `errno` describes.
pub fn win32_from_errno(err: &io::Error) -> Win32Error {
    match err.raw_os_error() {
        Some(libc::ENOENT) => Win32Error::FILE_NOT_FOUND,
        Some(libc::ENOTDIR) => Win32Error::PATH_NOT_FOUND,
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => Win32Error::ACCESS_DENIED,
        Some(libc::EBADF) => Win32Error::INVALID_HANDLE,
        Some(libc::ENOMEM) => Win32Error::NOT_ENOUGH_MEMORY,
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => Win32Error::COMMITMENT_LIMIT,
        Some(libc::EEXIST) => Win32Error::ALREADY_EXISTS,
        Some(libc::EINVAL) => Win32Error::INVALID_PARAMETER,
        Some(libc::ENAMETOOLONG) => Win32Error::FILENAME_EXCED_RANGE,
        Some(libc::EMFILE) | Some(libc::ENFILE) => Win32Error::TOO_MANY_OPEN_FILES,
        Some(libc::ELOOP) => Win32Error::ACCESS_DENIED,
        Some(libc::EFBIG) => Win32Error::NOT_ENOUGH_MEMORY,
        Some(libc::EOPNOTSUPP) => Win32Error::NOT_SUPPORTED,
        Some(libc::ETIMEDOUT) => Win32Error::TIMEOUT,
        _ => Win32Error::INVALID_FUNCTION,
    }
}

// There is deliberately no `From<rustix::io::Errno> for Error`: a bare `?` on a system call
// would make an error that names neither the object nor the operation. Every OS error is
// turned into an `Error` by the code that meets it (`Error::from_io(what, errno.into())`).

/// For `std::io` callers (`?` in a function returning `io::Result`): the [`io::ErrorKind`]
/// follows the Win32 code (`ERROR_FILE_NOT_FOUND` is `NotFound`, `ERROR_ACCESS_DENIED`
/// `PermissionDenied`, `ERROR_TIMEOUT` `TimedOut`, ...), and the `filemap::Error` itself stays
/// inside, with its code and message: `io_error.get_ref()` and `downcast_ref::<filemap::Error>()`
/// give it back, `Display` shows its message and code, and its `source` is the OS error behind
/// it. `raw_os_error()` is `None` (a Win32 code is not an `errno`; the `errno`, when there is
/// one, is [`Error::os_error`]).
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        use io::ErrorKind as Io;
        let kind = match err.code {
            Win32Error::ALREADY_EXISTS => Io::AlreadyExists,
            Win32Error::DISK_FULL | Win32Error::COMMITMENT_LIMIT => Io::StorageFull,
            Win32Error::INVALID_HANDLE => Io::InvalidInput,
            _ => match err.kind() {
                ErrorKind::NotFound => Io::NotFound,
                ErrorKind::AccessDenied => Io::PermissionDenied,
                ErrorKind::InvalidParameter
                | ErrorKind::InvalidName
                | ErrorKind::Alignment
                | ErrorKind::InvalidAddress
                | ErrorKind::WrongType => Io::InvalidInput,
                ErrorKind::OutOfMemory => Io::OutOfMemory,
                ErrorKind::Corrupt => Io::InvalidData,
                ErrorKind::Unsupported => Io::Unsupported,
                ErrorKind::Timeout => Io::TimedOut,
                ErrorKind::SyncRule | ErrorKind::Other => err.source.as_ref().map_or(Io::Other, io::Error::kind),
            },
        };
        io::Error::new(kind, err)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_names_and_descriptions() {
        assert_eq!(Win32Error::ALREADY_EXISTS.0, 183);
        assert_eq!(Win32Error::MAPPED_ALIGNMENT.name(), Some("MAPPED_ALIGNMENT"));
        assert_eq!(format!("{}", Win32Error::FILE_NOT_FOUND), "ERROR_FILE_NOT_FOUND (2)");
        assert_eq!(Win32Error(99999).name(), None);
    }

    #[test]
    fn errno_translation_matches_windows_codes() {
        let e = Error::from_io("open", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.code(), Win32Error::FILE_NOT_FOUND);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("open"));
        let e = Error::from_io("open", io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(e.kind(), ErrorKind::AccessDenied);
    }
}
