//! [`DoubleView`]: an object mapped twice, back to back, so that a ring buffer can be read and
//! written contiguously across its end.

#![allow(unsafe_code)] // raw mappings and descriptors; every block is argued

use super::*;

/// Two views of one object mapped back to back ([`Mapping::double_view`]): byte `i` and byte
/// `i + len` are the same memory, so a ring buffer can read or write up to `len` bytes from any
/// position without wrapping. Dropping it unmaps both halves.
#[derive(Debug)]
pub struct DoubleView {
    pub(super) first: View,
    pub(super) second: View,
}

impl DoubleView {
    /// The address of the first byte of the first half.
    pub fn as_ptr(&self) -> *mut u8 {
        self.first.as_ptr()
    }

    /// The size of the object (each half's length).
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Always false: views are never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn check(&self, offset: usize, len: usize, op: &str) -> Result<()> {
        if offset >= self.len() || len > self.len() {
            return Err(Error::new(
                Win32Error::INVALID_PARAMETER,
                format!("cannot {op} {len} bytes at ring offset {offset}: the ring is {} bytes", self.len()),
            ));
        }
        Ok(())
    }

    /// Copies `buf.len()` (at most `len()`) bytes starting at ring position `offset` (< `len()`),
    /// continuing contiguously past the end of the object into its start.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.check(offset, buf.len(), "read")?;
        self.first.check_range(0, 0, "read")?;
        // SAFETY: offset < len and buf.len() <= len, so the range lies inside the two adjacent
        // live views (2 * len bytes from as_ptr), which are readable (checked above).
        unsafe { sys::copy_out(self.as_ptr().add(offset), buf) };
        Ok(())
    }

    /// Copies `data` (at most `len()` bytes) to ring position `offset` (< `len()`), continuing
    /// past the end of the object into its start.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.check(offset, data.len(), "write")?;
        if !self.first.is_writable() {
            return Err(Error::new(Win32Error::ACCESS_DENIED, "cannot write to a read-only view"));
        }
        // SAFETY: as in `read_at`; both halves are writable views of the same object.
        unsafe { sys::copy_in(self.as_ptr().add(offset), data) };
        Ok(())
    }

    /// The two halves.
    pub fn halves(&self) -> (&View, &View) {
        (&self.first, &self.second)
    }
}
