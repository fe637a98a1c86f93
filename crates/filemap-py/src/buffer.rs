//! The buffer protocol for views, by hand.
//!
//! The wheel targets the stable ABI of CPython 3.9, whose limited API does not declare
//! `Py_buffer` (it does from 3.11), so PyO3 cannot generate `__getbuffer__` for it. CPython
//! accepts the `Py_bf_getbuffer`/`Py_bf_releasebuffer` slots in `PyType_FromSpec` since 3.9
//! (bpo-40724), and `Py_buffer`'s layout has not changed since 3.3. So two types are made here
//! from specs:
//!
//! - `filemap.View`: the PyO3 class `_ViewBase` (which holds the view and every method) plus a
//!   `bf_getbuffer` slot;
//! - `filemap._ViewExport`: one small object per exported buffer, its `Py_buffer.obj`. It owns
//!   a reference to the mapped view (an `Arc`), and its `bf_releasebuffer` counts the export
//!   off.
//!
//! Soundness: a buffer's memory stays mapped while its `_ViewExport` lives, and the export
//! object lives at least as long as the `Py_buffer` (CPython drops `obj` last). Consumers that
//! release the buffer but keep `obj` (numpy keeps it as the array's `base`) keep it mapped too:
//! the mapping is unmapped when the `View` is closed *and* every export object is gone.
//! `View.close()` still raises BufferError while buffers are exported, as `mmap.close` does.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::exceptions::{PyBufferError, PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use filemap::View;

use crate::mapping::PyView;

/// CPython's `Py_buffer` (Include/pybuffer.h; the same layout in every CPython since 3.3).
#[repr(C)]
pub struct RawBuffer {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

const PYBUF_WRITABLE: c_int = 0x0001;
const PYBUF_FORMAT: c_int = 0x0004;
const PYBUF_ND: c_int = 0x0008;
const PYBUF_STRIDES: c_int = 0x0010 | PYBUF_ND;

/// The stride of a byte array; consumers only read it.
static ONE: ffi::Py_ssize_t = 1;
/// Unsigned bytes; consumers only read it.
static FORMAT_B: &[u8; 2] = b"B\0";

/// What one export owns.
struct Payload {
    /// Keeps the memory mapped.
    _view: Arc<View>,
    /// The exporting `View`'s count of live exports.
    exports: Arc<AtomicUsize>,
    /// Set once this export was counted off.
    released: AtomicBool,
    /// The buffer's `shape` points here.
    len: ffi::Py_ssize_t,
}

/// The layout of a `_ViewExport` object.
#[repr(C)]
struct ExportObj {
    ob_base: ffi::PyObject,
    payload: *mut Payload,
}

/// `filemap._ViewExport`, made at import.
static EXPORT_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Fills `out` for the view `obj`, or fails with the exception to raise.
///
/// # Safety
/// - `out` must point to a writable `Py_buffer` (CPython passes one to `bf_getbuffer`).
unsafe fn fill(py: Python<'_>, obj: Borrowed<'_, '_, PyAny>, out: *mut RawBuffer, flags: c_int) -> PyResult<()> {
    let view = obj.cast::<PyView>()?;
    let info = view.get().export_info()?;
    if flags & PYBUF_WRITABLE != 0 && info.readonly {
        return Err(PyBufferError::new_err("the view is read-only"));
    }
    let export_type = EXPORT_TYPE.get(py).expect("filemap._ViewExport is made at import").bind(py);
    // SAFETY: `export_type` is a live heap type whose instances have `ExportObj`'s layout
    // (its spec's basicsize); `PyType_GenericAlloc` returns a new, zeroed object or NULL.
    let owner = unsafe { ffi::PyType_GenericAlloc(export_type.as_type_ptr(), 0) };
    if owner.is_null() {
        return Err(PyErr::fetch(py));
    }
    let payload = Box::into_raw(Box::new(Payload {
        _view: info.view,
        exports: info.exports.clone(),
        released: AtomicBool::new(false),
        len: info.len as ffi::Py_ssize_t,
    }));
    // SAFETY: `owner` is a new object with `ExportObj`'s layout, not yet shared with anyone;
    // its dealloc frees `payload`.
    unsafe { (*owner.cast::<ExportObj>()).payload = payload };
    let shape = if flags & PYBUF_ND != 0 {
        // SAFETY: `payload` is live (owned by `owner`, which the buffer will hold).
        unsafe { &raw mut (*payload).len }
    } else {
        std::ptr::null_mut()
    };
    let strides =
        if flags & PYBUF_STRIDES == PYBUF_STRIDES { (&raw const ONE).cast_mut() } else { std::ptr::null_mut() };
    let format =
        if flags & PYBUF_FORMAT != 0 { FORMAT_B.as_ptr().cast::<c_char>().cast_mut() } else { std::ptr::null_mut() };
    info.exports.fetch_add(1, Ordering::AcqRel);
    // SAFETY:
    // - `out` is writable (caller's premise);
    // - the new reference to `owner` passes to the buffer (the consumer drops it);
    // - `ptr` stays mapped for `len` bytes while `owner` lives: it holds the view's `Arc`;
    // - `shape` points into `owner`'s payload; `ONE` and `FORMAT_B` are statics no consumer
    //   writes.
    unsafe {
        out.write(RawBuffer {
            buf: info.ptr.cast(),
            obj: owner,
            len: info.len as ffi::Py_ssize_t,
            itemsize: 1,
            readonly: c_int::from(info.readonly),
            ndim: 1,
            format,
            shape,
            strides,
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
    }
    Ok(())
}

/// `bf_getbuffer` of `filemap.View`.
///
/// # Safety
/// - Called by CPython with the GIL held, `obj` a live instance of `filemap.View` (or a
///   subclass) and `out` a writable `Py_buffer`.
unsafe extern "C" fn getbuffer(obj: *mut ffi::PyObject, out: *mut RawBuffer, flags: c_int) -> c_int {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: CPython calls buffer slots with the GIL held.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: `obj` is the live object the slot was called on.
        let any = unsafe { Borrowed::from_ptr(py, obj) };
        // SAFETY: `out` is writable (CPython's premise for this slot).
        match unsafe { fill(py, any, out, flags) } {
            Ok(()) => 0,
            Err(e) => {
                // SAFETY: `out` is writable; the protocol asks for `obj = NULL` on failure.
                unsafe { (*out).obj = std::ptr::null_mut() };
                e.restore(py);
                -1
            }
        }
    }));
    result.unwrap_or_else(|_| {
        // SAFETY: the GIL is held (see above).
        let py = unsafe { Python::assume_attached() };
        // SAFETY: `out` is writable.
        unsafe { (*out).obj = std::ptr::null_mut() };
        PySystemError::new_err("filemap: panic while exporting a buffer").restore(py);
        -1
    })
}

/// `bf_releasebuffer` of `filemap._ViewExport`: counts the export off (once). CPython drops
/// `Py_buffer.obj` after this returns; the memory stays mapped while the object lives.
///
/// # Safety
/// - Called by CPython with the GIL held and `obj` a live `_ViewExport`.
unsafe extern "C" fn releasebuffer(obj: *mut ffi::PyObject, _buf: *mut RawBuffer) {
    // SAFETY: `obj` is a live object of our export type (the slot is only on that type).
    let payload = unsafe { (*obj.cast::<ExportObj>()).payload };
    if payload.is_null() {
        return;
    }
    // SAFETY: a non-null payload is owned by the live `obj`.
    let payload = unsafe { &*payload };
    if !payload.released.swap(true, Ordering::AcqRel) {
        let _ = payload.exports.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

/// `tp_dealloc` of `filemap._ViewExport`: frees the payload (which may unmap the view).
///
/// # Safety
/// - Called by CPython with the GIL held when `obj`'s reference count reached zero.
unsafe extern "C" fn export_dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: `obj` is a dying `_ViewExport` (premise); nobody else can reach its payload.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        let payload = std::mem::replace(&mut (*obj.cast::<ExportObj>()).payload, std::ptr::null_mut());
        if !payload.is_null() {
            drop(Box::from_raw(payload));
        }
        let free = ffi::PyType_GetSlot(tp, ffi::Py_tp_free);
        if !free.is_null() {
            let free: ffi::freefunc = std::mem::transmute::<*mut c_void, ffi::freefunc>(free);
            free(obj.cast());
        }
        // Instances of heap types own a reference to their type.
        ffi::Py_DecRef(tp.cast());
    }
}

/// `tp_new` of `filemap._ViewExport`: only `View` makes them.
///
/// # Safety
/// - Called by CPython with the GIL held.
unsafe extern "C" fn export_new(
    _t: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (premise).
    let py = unsafe { Python::assume_attached() };
    PyTypeError::new_err("filemap._ViewExport objects are made by exporting a View's buffer").restore(py);
    std::ptr::null_mut()
}

const VIEW_DOC: &std::ffi::CStr = c"A view of a file mapping mapped into this process (MapViewOfFile).\n\n\
Supports the buffer protocol with no copy: memoryview(view), numpy.frombuffer(view, dtype),\n\
view[a:b] (a memoryview slice), bytes(view[a:b]). Every exported buffer keeps the memory\n\
mapped while it (or an object that keeps its owner, such as a numpy array's base) lives;\n\
close() raises BufferError while buffers are exported, as mmap.mmap does. Views outlive the\n\
Mapping handle they came from (Windows semantics). A context manager that closes the view.";

const EXPORT_DOC: &std::ffi::CStr = c"The owner of one buffer exported by a filemap.View: keeps its memory mapped.";

/// Makes a type from a spec.
///
/// # Safety
/// - `slots` must end with a zero slot and hold functions with the signatures CPython calls
///   those slots with; `name` must be static; `basicsize` must match the functions' layout.
unsafe fn from_spec<'py>(
    py: Python<'py>,
    name: &'static std::ffi::CStr,
    basicsize: usize,
    slots: &mut [ffi::PyType_Slot],
    bases: Option<&Bound<'py, PyTuple>>,
) -> PyResult<Bound<'py, PyType>> {
    let mut spec = ffi::PyType_Spec {
        // Older CPythons keep this pointer as `tp_name`: it must be static.
        name: name.as_ptr(),
        basicsize: basicsize as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    let bases = bases.map_or(std::ptr::null_mut(), |b| b.as_ptr());
    // SAFETY: `spec` and `slots` are valid for the call (CPython copies the slots and docs);
    // the slot functions are right (caller's premise); `bases` is NULL or a live tuple.
    let t = unsafe { ffi::PyType_FromSpecWithBases(&mut spec, bases) };
    if t.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a non-null result is a new reference to a type object.
    Ok(unsafe { Bound::from_owned_ptr(py, t) }.cast_into::<PyType>()?)
}

/// Makes `filemap.View` (`base` plus the buffer slot) and `filemap._ViewExport`.
pub fn make_types<'py>(
    py: Python<'py>,
    base: &Bound<'py, PyType>,
) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyType>)> {
    let getbuffer_fn: unsafe extern "C" fn(*mut ffi::PyObject, *mut RawBuffer, c_int) -> c_int = getbuffer;
    let releasebuffer_fn: unsafe extern "C" fn(*mut ffi::PyObject, *mut RawBuffer) = releasebuffer;
    let dealloc_fn: unsafe extern "C" fn(*mut ffi::PyObject) = export_dealloc;
    let new_fn: ffi::newfunc = export_new;
    let slot = |slot, pfunc: *mut c_void| ffi::PyType_Slot { slot, pfunc };
    let mut export_slots = [
        slot(ffi::Py_bf_releasebuffer, releasebuffer_fn as *mut c_void),
        slot(ffi::Py_tp_dealloc, dealloc_fn as *mut c_void),
        slot(ffi::Py_tp_new, new_fn as *mut c_void),
        slot(ffi::Py_tp_doc, EXPORT_DOC.as_ptr().cast_mut().cast()),
        slot(0, std::ptr::null_mut()),
    ];
    // SAFETY: the slots end with a zero slot; `releasebuffer`, `export_dealloc` and
    // `export_new` have CPython's signatures (`Py_buffer*` is `RawBuffer`, the same layout) and
    // work on `ExportObj`, whose size is the basicsize.
    let export =
        unsafe { from_spec(py, c"filemap._ViewExport", std::mem::size_of::<ExportObj>(), &mut export_slots, None) }?;
    EXPORT_TYPE.get_or_init(py, || export.clone().unbind());

    let mut view_slots = [
        slot(ffi::Py_bf_getbuffer, getbuffer_fn as *mut c_void),
        slot(ffi::Py_tp_doc, VIEW_DOC.as_ptr().cast_mut().cast()),
        slot(0, std::ptr::null_mut()),
    ];
    let bases = PyTuple::new(py, [base])?;
    // SAFETY: the slots end with a zero slot; `getbuffer` has CPython's signature and works on
    // instances of `base` (basicsize 0: the base's layout).
    let view = unsafe { from_spec(py, c"filemap.View", 0, &mut view_slots, Some(&bases)) }?;
    Ok((view, export))
}
