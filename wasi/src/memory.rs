//! Checked access to the guest's linear memory.
//!
//! Every pointer and length a guest passes goes through [`GuestMemory`]:
//! a range that does not fit in the memory, or a pointer not aligned for
//! the structure it points at, is a trap, as the WASI preview 1 ABI asks
//! ("if an out-of-bounds or misaligned pointer is passed, the function
//! shall trap") and as Wasmtime does. Nothing here can panic on guest
//! input: all arithmetic is in `u64` or checked.

use crate::Error;
use crate::types::Errno;

/// The guest's memory during one WASI call.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

/// Why a guest pointer was refused.
fn bad_pointer(what: &str, ptr: u32, len: u64) -> Error {
    Error::trap(anyhow::anyhow!(
        "WASI call passed an invalid pointer: {what} at {ptr:#x} with length {len} is out of bounds or misaligned"
    ))
}

impl<'a> GuestMemory<'a> {
    pub(crate) fn new(bytes: &'a mut [u8]) -> Self {
        Self { bytes }
    }

    /// The range `ptr..ptr + len`, checked against the memory's size and
    /// `align`.
    fn range(&self, ptr: u32, len: u64, align: u32) -> Result<std::ops::Range<usize>, Error> {
        let start = u64::from(ptr);
        let end = start.checked_add(len);
        match end {
            Some(end) if end <= self.bytes.len() as u64 && ptr.is_multiple_of(align) => {
                Ok(start as usize..end as usize)
            }
            _ => Err(bad_pointer("a buffer", ptr, len)),
        }
    }

    /// `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Error> {
        let r = self.range(ptr, u64::from(len), 1)?;
        Ok(&self.bytes[r])
    }

    /// `len` bytes at `ptr`, mutably.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Error> {
        let r = self.range(ptr, u64::from(len), 1)?;
        Ok(&mut self.bytes[r])
    }

    /// Checks that a structure of `size` bytes aligned to `align` fits at
    /// `ptr`, and returns a writer for it.
    pub(crate) fn record(&mut self, ptr: u32, size: u32, align: u32) -> Result<Record<'_>, Error> {
        let r = self.range(ptr, u64::from(size), align)?;
        Ok(Record {
            bytes: &mut self.bytes[r],
        })
    }

    /// Reads a structure of `size` bytes aligned to `align` at `ptr`.
    pub(crate) fn read_record(&self, ptr: u32, size: u32, align: u32) -> Result<&[u8], Error> {
        let r = self.range(ptr, u64::from(size), align)?;
        Ok(&self.bytes[r])
    }

    /// Writes a `u32` at `ptr` (4-aligned).
    pub(crate) fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Error> {
        self.record(ptr, 4, 4)?.u32(0, value);
        Ok(())
    }

    /// Writes a `u64` at `ptr` (8-aligned).
    pub(crate) fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Error> {
        self.record(ptr, 8, 8)?.u64(0, value);
        Ok(())
    }

    /// Copies `data` to `ptr`.
    pub(crate) fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(data.len()).map_err(|_| Error::from(Errno::Overflow))?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    /// A path or other string argument: `len` bytes at `ptr`, which must
    /// be UTF-8 ([`Errno::Ilseq`] otherwise).
    pub(crate) fn string(&self, ptr: u32, len: u32) -> Result<String, Error> {
        let bytes = self.slice(ptr, len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => Err(Errno::Ilseq.into()),
        }
    }

    /// The `(buf, buf_len)` pairs of an `iovec`/`ciovec` array. The array
    /// is checked against the memory; the buffers are checked when used.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Error> {
        let size = u64::from(count) * u64::from(crate::types::layout::IOVEC_SIZE);
        let r = self.range(ptr, size, crate::types::layout::IOVEC_ALIGN)?;
        let raw = &self.bytes[r];
        let mut out = Vec::with_capacity(count as usize);
        for chunk in raw.chunks_exact(8) {
            let buf = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            out.push((buf, len));
        }
        Ok(out)
    }
}

/// A structure being written into guest memory; offsets are relative to
/// its start and lie inside it by construction of the callers.
pub(crate) struct Record<'a> {
    bytes: &'a mut [u8],
}

impl Record<'_> {
    pub(crate) fn u8(&mut self, offset: usize, v: u8) -> &mut Self {
        self.bytes[offset] = v;
        self
    }

    pub(crate) fn u16(&mut self, offset: usize, v: u16) -> &mut Self {
        self.bytes[offset..offset + 2].copy_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u32(&mut self, offset: usize, v: u32) -> &mut Self {
        self.bytes[offset..offset + 4].copy_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u64(&mut self, offset: usize, v: u64) -> &mut Self {
        self.bytes[offset..offset + 8].copy_from_slice(&v.to_le_bytes());
        self
    }

    /// Zeroes the whole structure (padding included).
    pub(crate) fn zero(&mut self) -> &mut Self {
        self.bytes.fill(0);
        self
    }
}

/// Little-endian field reads from a structure read out of guest memory.
pub(crate) fn le_u16(b: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([b[offset], b[offset + 1]])
}

pub(crate) fn le_u32(b: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(b[offset..offset + 4].try_into().unwrap_or([0; 4]))
}

pub(crate) fn le_u64(b: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(b[offset..offset + 8].try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        assert!(m.slice(60, 4).is_ok());
        assert!(m.slice(60, 5).is_err());
        assert!(m.slice(u32::MAX, 2).is_err());
        assert!(m.slice(0xFFFF_FFF0, 0xFFFF_FFF0).is_err());
        assert!(m.write_u64(4, 1).is_err(), "misaligned");
        assert!(m.write_u64(56, 1).is_ok());
        assert!(m.write_u32(62, 1).is_err());
        m.write_bytes(0, b"abc").unwrap();
        assert_eq!(m.string(0, 3).unwrap(), "abc");
        m.write_bytes(0, &[0xff]).unwrap();
        assert!(matches!(m.string(0, 1), Err(Error::Errno(Errno::Ilseq))));
    }
}
