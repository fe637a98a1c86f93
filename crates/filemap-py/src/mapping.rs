//! `filemap.Mapping` and `filemap.View`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use filemap::{Access, Created, Mapping, Protection, SectionFlags, View};

use crate::errors::IntoPy;

/// `filemap.View`, the subtype with the buffer slots (made at import).
pub static VIEW_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Reads an access argument: an `int` (`FILE_MAP_*` bits) or one of `"r"` (read), `"w"`/`"rw"`
/// (read and write), `"c"` (copy-on-write).
pub fn parse_access(obj: &Bound<'_, PyAny>) -> PyResult<Access> {
    if let Ok(bits) = obj.extract::<u32>() {
        return Ok(Access(bits));
    }
    match obj.extract::<String>()?.as_str() {
        "r" => Ok(Access::READ),
        "w" | "rw" => Ok(Access::WRITE),
        "c" => Ok(Access::COPY),
        other => Err(PyValueError::new_err(format!(
            "access must be FILE_MAP_* bits or one of 'r', 'w', 'rw', 'c', not {other:?}"
        ))),
    }
}

fn closed_err(what: &str) -> PyErr {
    PyValueError::new_err(format!("operation on a closed {what}"))
}

/// A handle to a named (or unnamed) file mapping object, backed by memory (the paging file).
///
/// ``Mapping.create(name, size)`` creates it, or opens it if the name exists (as
/// CreateFileMapping does; ``existed`` tells which; ``exclusive=True`` raises
/// AlreadyExistsError instead). ``Mapping.open(name, access)`` opens an existing one. The name
/// lives exactly as long as some process holds a handle: closing the last handle anywhere (or
/// the death of the last holder) frees it at once, while views keep their memory. A context
/// manager that closes the handle.
#[pyclass(module = "filemap", name = "Mapping", frozen)]
pub struct PyMapping {
    inner: Mutex<Option<Arc<Mapping>>>,
    existed: bool,
}

impl PyMapping {
    fn handle(&self) -> PyResult<Arc<Mapping>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(|| closed_err("mapping"))
    }

    /// The access a view gets by default: read-write if the handle and protection allow it.
    fn default_view_access(m: &Mapping) -> Access {
        let writable_prot = matches!(m.protection(), Protection::ReadWrite | Protection::ExecuteReadWrite);
        if writable_prot && m.access().contains(Access::WRITE) { Access::WRITE } else { Access::READ }
    }
}

#[pymethods]
impl PyMapping {
    /// Creates the mapping ``name`` of ``size`` bytes (``name=None``: unnamed), or opens it if
    /// the name is already held by a live mapping (then ``existed`` is True and ``size`` is the
    /// existing object's). ``protection`` is a ``PAGE_*`` value, optionally or-ed with ``SEC_*``
    /// flags; ``mode`` the object's permission bits (default 0o600); ``exclusive=True`` raises
    /// AlreadyExistsError (a FileExistsError) when the name exists.
    #[classmethod]
    #[pyo3(signature = (name, size, *, protection = filemap::page::READWRITE, exclusive = false, mode = None))]
    fn create(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        name: Option<String>,
        size: u64,
        protection: u32,
        exclusive: bool,
        mode: Option<u32>,
    ) -> PyResult<PyMapping> {
        let (prot, flags) = Protection::from_win32(protection).py(py)?;
        let (map, created) = py
            .detach(|| {
                let mut opts = Mapping::options().size(size).protection(prot);
                if flags != SectionFlags(0) {
                    opts = opts.section_flags(flags);
                }
                if let Some(name) = &name {
                    opts = opts.name(name);
                }
                if let Some(mode) = mode {
                    opts = opts.mode(mode);
                }
                opts.create()
            })
            .py(py)?;
        if exclusive && created == Created::Existing {
            drop(map);
            return Err(crate::errors::make(
                py,
                filemap::Win32Error::ALREADY_EXISTS,
                &format!("cannot create mapping {:?}: the name is in use", name.unwrap_or_default()),
                None,
            ));
        }
        Ok(PyMapping { inner: Mutex::new(Some(Arc::new(map))), existed: created == Created::Existing })
    }

    /// Opens the existing mapping ``name`` (OpenFileMapping) with ``access``: ``FILE_MAP_*``
    /// bits or ``'r'``, ``'w'``/``'rw'``, ``'c'``. NotFoundError (a FileNotFoundError) if no
    /// live object has the name, WrongTypeError if another type holds it, AccessDeniedError (a
    /// PermissionError) if its permissions forbid ``access``.
    #[staticmethod]
    #[pyo3(signature = (name, access = None))]
    fn open(py: Python<'_>, name: String, access: Option<&Bound<'_, PyAny>>) -> PyResult<PyMapping> {
        let access = access.map(parse_access).transpose()?.unwrap_or(Access::ALL);
        let map = py.detach(|| Mapping::open(&name, access)).py(py)?;
        Ok(PyMapping { inner: Mutex::new(Some(Arc::new(map))), existed: true })
    }

    /// Maps a view (MapViewOfFile): ``length`` bytes (0: to the end) from ``offset`` (a multiple
    /// of ALLOCATION_GRANULARITY, 64 KiB). ``access`` defaults to read-write when the handle and
    /// the protection allow it, else read-only. The view stays valid after the handle closes.
    #[pyo3(signature = (offset = 0, length = 0, access = None))]
    fn view<'py>(
        slf: &Bound<'py, Self>,
        offset: u64,
        length: usize,
        access: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let t = VIEW_TYPE.get(py).expect("filemap.View is made at import");
        t.bind(py).call1((slf, offset, length, access))
    }

    /// Closes the handle (CloseHandle). Views stay valid. Closing twice is allowed.
    fn close(&self) {
        let taken = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }

    /// True once ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Pickles a named mapping to ``Mapping.open(name, access)``, so it can be passed to
    /// ``multiprocessing`` children. Unnamed mappings cannot be pickled.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String, u32))> {
        let m = slf.get().handle()?;
        let Some(name) = m.name() else {
            return Err(pyo3::exceptions::PyTypeError::new_err("cannot pickle an unnamed mapping"));
        };
        Ok((slf.get_type().getattr("open")?, (name, m.access().0)))
    }

    /// True if ``create`` found the name held and opened the existing object
    /// (ERROR_ALREADY_EXISTS); always True for ``open``.
    #[getter]
    fn existed(&self) -> bool {
        self.existed
    }

    /// The object's name as created (None if unnamed).
    #[getter]
    fn name(&self) -> PyResult<Option<String>> {
        Ok(self.handle()?.name())
    }

    /// The object's size in bytes, as created (not rounded to pages).
    #[getter]
    fn size(&self) -> PyResult<u64> {
        Ok(self.handle()?.size())
    }

    /// The handle's access (``FILE_MAP_*`` bits).
    #[getter]
    fn access(&self) -> PyResult<u32> {
        Ok(self.handle()?.access().0)
    }

    /// The object's protection (a ``PAGE_*`` value).
    #[getter]
    fn protection(&self) -> PyResult<u32> {
        Ok(self.handle()?.protection().to_win32())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        match self.inner.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            None => "<filemap.Mapping closed>".to_string(),
            Some(m) => format!("<filemap.Mapping name={:?} size={}>", m.name().unwrap_or_default(), m.size()),
        }
    }
}

/// What `filemap.View` needs to export a buffer (the buffer protocol lives in `buffer.rs`).
pub struct ExportInfo {
    pub view: Arc<View>,
    pub exports: Arc<AtomicUsize>,
    pub ptr: *mut u8,
    pub len: usize,
    pub readonly: bool,
}

/// The base of ``filemap.View`` (which adds the buffer protocol); use ``Mapping.view()``.
#[pyclass(module = "filemap", name = "_ViewBase", subclass, frozen)]
pub struct PyView {
    view: Mutex<Option<Arc<View>>>,
    ptr: usize,
    len: isize,
    offset: u64,
    readonly: bool,
    readable: bool,
    /// Buffers exported and not yet released (shared with each export's owner).
    exports: Arc<AtomicUsize>,
}

impl PyView {
    /// What an export needs. Fails if closed or unreadable.
    pub fn export_info(&self) -> PyResult<ExportInfo> {
        let view = self.view.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(|| closed_err("view"))?;
        if !self.readable {
            return Err(PyBufferError::new_err("the view was mapped with no access"));
        }
        Ok(ExportInfo {
            view,
            exports: self.exports.clone(),
            ptr: self.ptr as *mut u8,
            len: self.len as usize,
            readonly: self.readonly,
        })
    }

    fn handle(&self) -> PyResult<Arc<View>> {
        self.view.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(|| closed_err("view"))
    }

    fn memoryview<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().get_type::<pyo3::types::PyMemoryView>().call1((slf,))
    }
}

#[pymethods]
impl PyView {
    #[new]
    #[pyo3(signature = (mapping, offset = 0, length = 0, access = None))]
    fn new(
        py: Python<'_>,
        mapping: &Bound<'_, PyMapping>,
        offset: u64,
        length: usize,
        access: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyView> {
        let m = mapping.get().handle()?;
        let access = match access {
            Some(a) if !a.is_none() => parse_access(a)?,
            _ => PyMapping::default_view_access(&m),
        };
        let view = py.detach(|| m.view_range(offset, length, access)).py(py)?;
        Ok(PyView {
            ptr: view.as_ptr() as usize,
            len: view.len() as isize,
            offset: view.offset(),
            readonly: !view.is_writable(),
            readable: view.is_readable(),
            exports: Arc::new(AtomicUsize::new(0)),
            view: Mutex::new(Some(Arc::new(view))),
        })
    }

    /// Unmaps the view (UnmapViewOfFile). Raises BufferError while buffers exported from it
    /// (memoryviews, numpy arrays, slices) exist, as mmap.mmap.close does. Memory that an
    /// export's owner still references (a numpy array's ``base``) stays mapped until that goes
    /// too. Closing twice is allowed.
    fn close(&self) -> PyResult<()> {
        let mut guard = self.view.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_some() && self.exports.load(Ordering::Acquire) > 0 {
            return Err(PyBufferError::new_err("cannot close exported pointers exist"));
        }
        let taken = guard.take();
        drop(guard);
        drop(taken);
        Ok(())
    }

    /// True once ``close()`` succeeded.
    #[getter]
    fn closed(&self) -> bool {
        self.view.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Writes modified pages back (FlushViewOfFile): ``size`` bytes from ``offset`` (0: to the
    /// end). Releases the GIL while it runs.
    #[pyo3(signature = (offset = 0, size = 0))]
    fn flush(&self, py: Python<'_>, offset: usize, size: usize) -> PyResult<()> {
        let v = self.handle()?;
        py.detach(|| v.flush_range(offset, size)).py(py)
    }

    /// Length in bytes.
    fn __len__(&self) -> usize {
        self.len as usize
    }

    /// ``view[i]`` is a byte (int); ``view[a:b]`` a memoryview slice over the same memory (no
    /// copy: ``bytes(view[a:b])`` copies once, into the bytes).
    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mv = Self::memoryview(slf)?;
        let item = mv.get_item(key)?;
        if !item.is_instance_of::<pyo3::types::PyMemoryView>() {
            mv.call_method0("release")?;
        }
        Ok(item)
    }

    /// ``view[i] = byte``, ``view[a:b] = data`` (same length).
    fn __setitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>, value: &Bound<'py, PyAny>) -> PyResult<()> {
        let mv = Self::memoryview(slf)?;
        let r = mv.set_item(key, value);
        mv.call_method0("release")?;
        r
    }

    /// The offset into the object where the view starts.
    #[getter]
    fn offset(&self) -> u64 {
        self.offset
    }

    /// True if the view may not be written.
    #[getter]
    fn readonly(&self) -> bool {
        self.readonly
    }

    /// The view's address in this process (for ctypes); valid until ``close()``.
    #[getter]
    fn address(&self) -> PyResult<usize> {
        self.handle()?;
        Ok(self.ptr)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        if self.closed() {
            "<filemap.View closed>".to_string()
        } else {
            format!(
                "<filemap.View offset={} length={}{}>",
                self.offset,
                self.len,
                if self.readonly { " readonly" } else { "" }
            )
        }
    }
}
