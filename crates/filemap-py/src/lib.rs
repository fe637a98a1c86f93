//! The native part of the `filemap` Python package (`filemap._filemap`): named shared memory and
//! synchronization objects with Windows' lifetimes, over the `filemap` crate's public API.
//!
//! The Python package (`python/filemap`) re-exports these classes and adds
//! `filemap.SharedMemory`, a drop-in for `multiprocessing.shared_memory.SharedMemory`. See the
//! crate README for the Python API.

#![deny(unsafe_code)]

mod buffer;
mod errors;
mod mapping;
mod sync;

use pyo3::prelude::*;

/// Named shared memory and synchronization objects with Windows' lifetimes (native part).
#[pymodule]
fn _filemap(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    errors::register(m)?;
    m.add_class::<mapping::PyMapping>()?;
    m.add_class::<mapping::PyView>()?;
    let base = py.get_type::<mapping::PyView>();
    let (view, export) = buffer::make_types(py, &base)?;
    m.add("View", &view)?;
    m.add("_ViewExport", &export)?;
    mapping::VIEW_TYPE.get_or_init(py, || view.unbind());
    sync::register(m)?;

    for (name, value) in [
        ("FILE_MAP_COPY", filemap::Access::COPY.0),
        ("FILE_MAP_WRITE", filemap::Access::WRITE.0),
        ("FILE_MAP_READ", filemap::Access::READ.0),
        ("FILE_MAP_EXECUTE", filemap::Access::EXECUTE.0),
        ("FILE_MAP_ALL_ACCESS", filemap::Access::ALL.0),
        ("PAGE_READONLY", filemap::page::READONLY),
        ("PAGE_READWRITE", filemap::page::READWRITE),
        ("PAGE_WRITECOPY", filemap::page::WRITECOPY),
        ("SEC_COMMIT", filemap::SectionFlags::COMMIT.0),
        ("SEC_RESERVE", filemap::SectionFlags::RESERVE.0),
        ("MUTEX_ALL_ACCESS", filemap::sync::Rights::MUTEX_ALL_ACCESS.0),
        ("SEMAPHORE_ALL_ACCESS", filemap::sync::Rights::SEMAPHORE_ALL_ACCESS.0),
        ("SEMAPHORE_MODIFY_STATE", filemap::sync::Rights::SEMAPHORE_MODIFY_STATE.0),
        ("EVENT_ALL_ACCESS", filemap::sync::Rights::EVENT_ALL_ACCESS.0),
        ("EVENT_MODIFY_STATE", filemap::sync::Rights::EVENT_MODIFY_STATE.0),
        ("TIMER_ALL_ACCESS", filemap::sync::Rights::TIMER_ALL_ACCESS.0),
        ("TIMER_MODIFY_STATE", filemap::sync::Rights::TIMER_MODIFY_STATE.0),
        ("SYNCHRONIZE", filemap::sync::Rights::SYNCHRONIZE.0),
    ] {
        m.add(name, value)?;
    }
    m.add("ALLOCATION_GRANULARITY", filemap::ALLOCATION_GRANULARITY)?;
    Ok(())
}
