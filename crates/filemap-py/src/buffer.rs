//! The buffer protocol for views, by hand.
//!
//! The wheel targets the stable ABI of CPython 3.9, whose limited API does not declare
//! `Py_buffer` (it does from 3.11), so PyO3 cannot generate `__getbuffer__` for it. CPython
//! accepts the `Py_bf_getbuffer`/`Py_bf_releasebuffer` slots in `PyType_FromSpec` since 3.9
//! (bpo-40724), and `Py_buffer`'s layout has not changed since 3.3. So `filemap.View` is a type
//! made here from a spec with those two slots, deriving from the PyO3 class `_ViewBase` that
//! holds the mapped view and carries every method.
//!
//! Soundness: an exported buffer points into the view's mapping. Each export holds a strong
//! reference to the view object (`Py_buffer.obj`) and counts in `_ViewBase::exports`; `close()`
//! refuses while the count is not zero (`BufferError`, as `mmap.mmap.close` does), and dropping
//! the object cannot happen while a buffer holds it. So the memory stays mapped while any
//! buffer exists.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};
use std::panic::AssertUnwindSafe;

use pyo3::exceptions::{PyBufferError, PySystemError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

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

/// Fills `out` for the view `obj`, or fails with the exception to raise.
///
/// # Safety
/// - `out` must point to a writable `Py_buffer` (CPython passes one to `bf_getbuffer`).
unsafe fn fill(py: Python<'_>, obj: Borrowed<'_, '_, PyAny>, out: *mut RawBuffer, flags: c_int) -> PyResult<()> {
    let view = obj.cast::<PyView>()?;
    let view = view.get();
    let (ptr, len, readonly) = view.export_info(py)?;
    if flags & PYBUF_WRITABLE != 0 && readonly {
        return Err(PyBufferError::new_err("the view is read-only"));
    }
    let shape = if flags & PYBUF_ND != 0 { view.len_ptr() } else { std::ptr::null_mut() };
    let strides =
        if flags & PYBUF_STRIDES == PYBUF_STRIDES { (&raw const ONE).cast_mut() } else { std::ptr::null_mut() };
    let format =
        if flags & PYBUF_FORMAT != 0 { FORMAT_B.as_ptr().cast::<c_char>().cast_mut() } else { std::ptr::null_mut() };
    // SAFETY:
    // - `out` is writable (caller's premise);
    // - `obj` is a live object (we are called on it), so taking a new strong reference is sound; the
    //   exporter protocol hands that reference to the consumer, who releases it;
    // - `ptr` stays mapped for `len` bytes while this export is counted (see the module docs);
    // - `shape` points into the view object, which the reference in `obj` keeps alive; `ONE` and
    //   `FORMAT_B` are statics that no consumer writes.
    unsafe {
        ffi::Py_IncRef(obj.as_ptr());
        out.write(RawBuffer {
            buf: ptr.cast(),
            obj: obj.as_ptr(),
            len: len as ffi::Py_ssize_t,
            itemsize: 1,
            readonly: c_int::from(readonly),
            ndim: 1,
            format,
            shape,
            strides,
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
    }
    view.exported();
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
        // SAFETY: the GIL is held (see above); `out` is writable.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: as above.
        unsafe { (*out).obj = std::ptr::null_mut() };
        PySystemError::new_err("filemap: panic while exporting a buffer").restore(py);
        -1
    })
}

/// `bf_releasebuffer` of `filemap.View`: one export fewer. CPython drops `Py_buffer.obj`
/// after this returns.
///
/// # Safety
/// - Called by CPython with the GIL held and `obj` a live instance of `filemap.View`.
unsafe extern "C" fn releasebuffer(obj: *mut ffi::PyObject, _buf: *mut RawBuffer) {
    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: CPython calls buffer slots with the GIL held.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: `obj` is the live object the slot was called on.
        let any = unsafe { Borrowed::from_ptr(py, obj) };
        if let Ok(view) = any.cast::<PyView>() {
            view.get().released();
        }
    }));
}

const DOC: &std::ffi::CStr = c"A view of a file mapping mapped into this process (MapViewOfFile).\n\n\
Supports the buffer protocol with no copy: memoryview(view), numpy.frombuffer(view, dtype),\n\
view[a:b] (a memoryview slice), bytes(view[a:b]). While any exported buffer exists the view\n\
stays mapped and close() raises BufferError, as mmap.mmap does. Views outlive the Mapping\n\
handle they came from (Windows semantics). A context manager that closes the view.";

/// Makes the `filemap.View` type: `base` plus the buffer slots.
pub fn make_view_type<'py>(py: Python<'py>, base: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyType>> {
    let getbuffer_fn: unsafe extern "C" fn(*mut ffi::PyObject, *mut RawBuffer, c_int) -> c_int = getbuffer;
    let releasebuffer_fn: unsafe extern "C" fn(*mut ffi::PyObject, *mut RawBuffer) = releasebuffer;
    let mut slots = [
        ffi::PyType_Slot { slot: ffi::Py_bf_getbuffer, pfunc: getbuffer_fn as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_bf_releasebuffer, pfunc: releasebuffer_fn as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_tp_doc, pfunc: DOC.as_ptr().cast_mut().cast() },
        ffi::PyType_Slot { slot: 0, pfunc: std::ptr::null_mut() },
    ];
    let mut spec = ffi::PyType_Spec {
        // Older CPythons keep this pointer as `tp_name`: it must be static.
        name: c"filemap.View".as_ptr(),
        basicsize: 0, // the base's layout; this type adds no fields
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    let bases = PyTuple::new(py, [base])?;
    // SAFETY:
    // - `spec` and `slots` are valid for the call (CPython copies the slots and the doc; the name
    //   is a static C string);
    // - the slot functions have the signatures CPython calls them with (`Py_buffer*` is
    //   `RawBuffer`, the same layout);
    // - `bases` is a live tuple holding one type.
    let t = unsafe { ffi::PyType_FromSpecWithBases(&mut spec, bases.as_ptr()) };
    if t.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a non-null result is a new reference to a type object.
    Ok(unsafe { Bound::from_owned_ptr(py, t) }.cast_into::<PyType>()?)
}
