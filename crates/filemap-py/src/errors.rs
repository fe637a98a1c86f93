//! Python exceptions for `filemap::Error`.
//!
//! Every failure becomes an instance of `filemap.Error` (a subclass of `OSError`) whose
//! `winerror` attribute is the Win32 code and whose `errno` is the nearest POSIX errno. Failures
//! that have a built-in Python counterpart are raised as classes that derive from both
//! `filemap.Error` and that built-in, so `except FileNotFoundError` and `except filemap.Error`
//! both catch a missing name.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use filemap::Win32Error;

/// The exception classes, made once per interpreter.
pub struct Classes {
    base: Py<PyType>,
    not_found: Py<PyType>,
    access_denied: Py<PyType>,
    exists: Py<PyType>,
    wrong_type: Py<PyType>,
    invalid: Py<PyType>,
    not_owner: Py<PyType>,
    too_many_posts: Py<PyType>,
    out_of_memory: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn make_class(py: Python<'_>, name: &str, doc: &str, bases: &[Bound<'_, PyAny>]) -> PyResult<Py<PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__doc__", doc)?;
    dict.set_item("__module__", "filemap")?;
    let bases = PyTuple::new(py, bases)?;
    let class = py.get_type::<PyType>().call1((name, bases, dict))?;
    Ok(class.cast_into::<PyType>()?.unbind())
}

// LONG: the table of exception classes, one line per Win32 error family.
fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || {
        let builtins = py.import("builtins")?;
        let b = |n: &str| builtins.getattr(n);
        let base = make_class(
            py,
            "Error",
            "Base class of every filemap failure: an OSError whose ``winerror`` is the Win32 error\n\
             code Windows reports for the same failure and whose ``errno`` is the nearest POSIX\n\
             errno.",
            &[b("OSError")?],
        )?;
        base.bind(py).setattr("winerror", py.None())?;
        let base_any = base.bind(py).clone().into_any();
        let sub = |name: &str, doc: &str, builtin: Option<&str>| -> PyResult<Py<PyType>> {
            let mut bases = vec![base_any.clone()];
            if let Some(n) = builtin {
                bases.push(b(n)?);
            }
            make_class(py, name, doc, &bases)
        };
        Ok(Classes {
            not_found: sub(
                "NotFoundError",
                "No live object has that name (ERROR_FILE_NOT_FOUND, 2). Also a FileNotFoundError.",
                Some("FileNotFoundError"),
            )?,
            access_denied: sub(
                "AccessDeniedError",
                "Permissions, protection or handle access forbid the operation (ERROR_ACCESS_DENIED, 5).\n\
                 Also a PermissionError.",
                Some("PermissionError"),
            )?,
            exists: sub(
                "AlreadyExistsError",
                "The name is already in use (ERROR_ALREADY_EXISTS, 183). Also a FileExistsError.",
                Some("FileExistsError"),
            )?,
            wrong_type: sub(
                "WrongTypeError",
                "The name is held by an object of another type (ERROR_INVALID_HANDLE, 6).",
                None,
            )?,
            invalid: sub(
                "InvalidParameterError",
                "A parameter or name is invalid (ERROR_INVALID_PARAMETER, ERROR_INVALID_NAME, ...).\n\
                 Also a ValueError.",
                Some("ValueError"),
            )?,
            not_owner: sub(
                "NotOwnerError",
                "A mutex was released by a thread that does not own it (ERROR_NOT_OWNER, 288).\n\
                 Also a RuntimeError, as threading.Lock raises for the same mistake.",
                Some("RuntimeError"),
            )?,
            too_many_posts: sub(
                "TooManyPostsError",
                "A semaphore release would exceed its maximum (ERROR_TOO_MANY_POSTS, 298). Also a\n\
                 ValueError, as threading.BoundedSemaphore raises for the same mistake.",
                Some("ValueError"),
            )?,
            out_of_memory: sub(
                "OutOfMemoryError",
                "Memory or tmpfs space ran out (ERROR_NOT_ENOUGH_MEMORY, ERROR_COMMITMENT_LIMIT, ...).\n\
                 Also a MemoryError.",
                Some("MemoryError"),
            )?,
            base,
        })
    })
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let c = classes(m.py())?;
    for class in [
        &c.base,
        &c.not_found,
        &c.access_denied,
        &c.exists,
        &c.wrong_type,
        &c.invalid,
        &c.not_owner,
        &c.too_many_posts,
        &c.out_of_memory,
    ] {
        let class = class.bind(m.py());
        m.add(class.name()?, class)?;
    }
    Ok(())
}

/// The POSIX errno nearest to a Win32 code (0 if none fits).
fn errno_for(code: Win32Error, os: Option<&std::io::Error>) -> i32 {
    match code {
        Win32Error::FILE_NOT_FOUND | Win32Error::PATH_NOT_FOUND => libc::ENOENT,
        Win32Error::ACCESS_DENIED | Win32Error::SHARING_VIOLATION => libc::EACCES,
        Win32Error::PRIVILEGE_NOT_HELD => libc::EPERM,
        Win32Error::ALREADY_EXISTS | Win32Error::FILE_EXISTS => libc::EEXIST,
        Win32Error::INVALID_HANDLE => libc::EBADF,
        Win32Error::FILENAME_EXCED_RANGE => libc::ENAMETOOLONG,
        Win32Error::NOT_ENOUGH_MEMORY | Win32Error::OUTOFMEMORY => libc::ENOMEM,
        Win32Error::COMMITMENT_LIMIT | Win32Error::DISK_FULL => libc::ENOSPC,
        Win32Error::TIMEOUT => libc::ETIMEDOUT,
        Win32Error::NOT_SUPPORTED | Win32Error::CALL_NOT_IMPLEMENTED => libc::EOPNOTSUPP,
        Win32Error::INVALID_PARAMETER
        | Win32Error::INVALID_NAME
        | Win32Error::BAD_PATHNAME
        | Win32Error::MAPPED_ALIGNMENT
        | Win32Error::INVALID_ACCESS
        | Win32Error::INVALID_ADDRESS
        | Win32Error::TOO_MANY_POSTS => libc::EINVAL,
        Win32Error::NOT_OWNER => libc::EPERM,
        _ => os.and_then(|e| e.raw_os_error()).unwrap_or(0),
    }
}

/// Builds the Python exception for a Win32 code and message.
pub fn make(py: Python<'_>, code: Win32Error, message: &str, os: Option<&std::io::Error>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let c = classes(py)?;
        let class = match code {
            Win32Error::FILE_NOT_FOUND | Win32Error::PATH_NOT_FOUND => &c.not_found,
            Win32Error::ACCESS_DENIED | Win32Error::PRIVILEGE_NOT_HELD | Win32Error::SHARING_VIOLATION => {
                &c.access_denied
            }
            Win32Error::ALREADY_EXISTS | Win32Error::FILE_EXISTS => &c.exists,
            Win32Error::INVALID_HANDLE => &c.wrong_type,
            Win32Error::INVALID_PARAMETER
            | Win32Error::INVALID_NAME
            | Win32Error::BAD_PATHNAME
            | Win32Error::FILENAME_EXCED_RANGE
            | Win32Error::MAPPED_ALIGNMENT
            | Win32Error::INVALID_ACCESS
            | Win32Error::INVALID_ADDRESS => &c.invalid,
            Win32Error::NOT_OWNER => &c.not_owner,
            Win32Error::TOO_MANY_POSTS => &c.too_many_posts,
            Win32Error::NOT_ENOUGH_MEMORY
            | Win32Error::OUTOFMEMORY
            | Win32Error::COMMITMENT_LIMIT
            | Win32Error::DISK_FULL => &c.out_of_memory,
            _ => &c.base,
        };
        let text = format!("{message} ({code})");
        let exc = class.bind(py).call1((errno_for(code, os), text))?;
        exc.setattr("winerror", code.0)?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// The Python exception for a `filemap::Error`.
pub fn to_py(py: Python<'_>, err: filemap::Error) -> PyErr {
    make(py, err.code(), err.message(), err.os_error())
}

/// `?`-friendly conversion of core results.
pub trait IntoPy<T> {
    /// Converts the error into the matching Python exception.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for filemap::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
