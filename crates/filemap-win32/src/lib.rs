//! The Win32 face of filemap: `extern "system"` functions with Win32 names over the core crate.
//! (Filled in by the Win32 C ABI issue.)
