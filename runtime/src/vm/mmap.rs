//! [`Mmap`]: an owned, anonymous, private memory mapping.
//!
//! Linear memories reserve their whole address range as inaccessible
//! (`PROT_NONE`) pages and open it up as they grow; compiled code is copied
//! into read-write pages that are then flipped to read-execute. Both are
//! built on this type, a thin wrapper around `mmap`/`mprotect`/`munmap`.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The host's page size in bytes (cached after the first call).
pub(crate) fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: `sysconf` has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = usize::try_from(size)
                .ok()
                .filter(|s| s.is_power_of_two())
                .unwrap_or(4096);
            PAGE_SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// Rounds `len` up to a multiple of the page size, or `None` on overflow.
fn round_up_to_page(len: usize) -> Option<usize> {
    let page = page_size();
    len.checked_add(page - 1).map(|l| l & !(page - 1))
}

/// An owned anonymous private mapping, unmapped on drop.
///
/// The length is always a multiple of the page size. A zero-length `Mmap`
/// maps nothing; its pointer is dangling (but page-aligned and non-null).
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: `Mmap` owns its mapping exclusively (like a `Box<[u8]>`); the raw
// pointer is only an address, and every mutation of the mapping's protection
// goes through `&mut self`.
unsafe impl Send for Mmap {}
// SAFETY: `&Mmap` only hands out the pointer and length; it performs no
// interior mutation.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Maps `len` bytes (rounded up to the page size) with protection `prot`.
    fn map(len: usize, prot: libc::c_int, extra_flags: libc::c_int) -> io::Result<Self> {
        let len = round_up_to_page(len).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "mapping length overflows")
        })?;
        if len == 0 {
            return Ok(Self {
                ptr: ptr::without_provenance_mut(page_size()),
                len: 0,
            });
        }
        // SAFETY: an anonymous mapping at an address of the kernel's choosing
        // cannot alias any existing Rust object.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra_flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }

    /// Maps the whole of `file` read-only and private: later changes to the
    /// file may or may not show through, as with any file mapping. An
    /// empty file maps nothing. Returns the mapping and the file's length.
    pub(crate) fn map_file(file: &std::fs::File) -> io::Result<(Self, usize)> {
        use std::os::fd::AsRawFd as _;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
        if len == 0 {
            return Ok((Self::map(0, libc::PROT_READ, 0)?, 0));
        }
        let mapped = round_up_to_page(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
        // SAFETY: a new mapping at an address of the kernel's choosing cannot
        // alias any existing Rust object; `file` is an open descriptor.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok((
            Self {
                ptr: ptr.cast(),
                len: mapped,
            },
            len,
        ))
    }

    /// Reserves `len` bytes (rounded up to the page size) of address space,
    /// inaccessible (`PROT_NONE`) and not backed by swap until made
    /// accessible. `len == 0` is allowed and maps nothing.
    pub(crate) fn reserve(len: usize) -> io::Result<Self> {
        Self::map(len, libc::PROT_NONE, libc::MAP_NORESERVE)
    }

    /// Maps `len` bytes (rounded up to the page size) of zeroed, read-write
    /// memory. `len == 0` is allowed and maps nothing.
    pub(crate) fn accessible(len: usize) -> io::Result<Self> {
        Self::map(len, libc::PROT_READ | libc::PROT_WRITE, 0)
    }

    /// Changes the protection of `[start, start + len)` (with `len` rounded up
    /// to the page size) to `prot`.
    fn protect(&mut self, start: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
        assert!(
            start.is_multiple_of(page_size()),
            "mprotect start {start:#x} is not page-aligned"
        );
        assert!(
            start <= self.len && len <= self.len - start,
            "range {start:#x}+{len:#x} is outside the mapping of {:#x} bytes",
            self.len
        );
        if len == 0 || self.is_empty() {
            return Ok(());
        }
        // Cannot overflow nor leave the mapping: `start + len <= self.len`,
        // which is itself a multiple of the page size.
        let len = round_up_to_page(len).expect("checked against the mapping length");
        // SAFETY: the range lies inside this mapping (asserted above), which
        // `self` owns exclusively (`&mut self`), so no Rust reference to it
        // can be invalidated by the protection change.
        let rc = unsafe { libc::mprotect(self.ptr.add(start).cast(), len, prot) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Makes `[start, start + len)` readable and writable; `len` is rounded
    /// up to the page size.
    ///
    /// # Panics
    ///
    /// Panics if `start` is not page-aligned or the range is not inside the
    /// mapping.
    pub(crate) fn make_accessible(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_READ | libc::PROT_WRITE)
    }

    /// Makes `[start, start + len)` readable and executable (and no longer
    /// writable); `len` is rounded up to the page size.
    ///
    /// # Panics
    ///
    /// Panics if `start` is not page-aligned or the range is not inside the
    /// mapping.
    pub(crate) fn make_executable(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_READ | libc::PROT_EXEC)
    }

    /// The start of the mapping.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// The start of the mapping, as a mutable pointer.
    pub(crate) fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The length of the mapping in bytes (a multiple of the page size).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.is_empty() {
            return;
        }
        // SAFETY: `ptr`/`len` describe a mapping this value created and owns;
        // nothing can reference it once the owner is dropped.
        let rc = unsafe { libc::munmap(self.ptr.cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap failed: {}", io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_sane() {
        let p = page_size();
        assert!(p.is_power_of_two() && p >= 4096);
    }

    #[test]
    fn reserve_then_make_accessible() {
        let page = page_size();
        let mut m = Mmap::reserve(3 * page + 1).unwrap();
        assert_eq!(m.len(), 4 * page);
        assert!(!m.is_empty());
        assert_eq!(m.as_ptr() as usize % page, 0);
        m.make_accessible(page, 1).unwrap();
        // SAFETY: the second page was just made read-write.
        unsafe {
            let p = m.as_mut_ptr().add(page);
            assert_eq!(p.read(), 0);
            p.write(42);
            p.add(page - 1).write(7);
            assert_eq!(p.read(), 42);
            assert_eq!(p.add(page - 1).read(), 7);
        }
    }

    #[test]
    fn accessible_is_zeroed_and_writable() {
        let m = Mmap::accessible(10_000).unwrap();
        assert_eq!(m.len() % page_size(), 0);
        assert!(m.len() >= 10_000);
        // SAFETY: the whole mapping is read-write and owned by `m`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(m.as_mut_ptr(), m.len()) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[9_999] = 0xab;
        bytes[0] = 0xcd;
        assert_eq!(bytes[9_999], 0xab);
        assert_eq!(bytes[0], 0xcd);
    }

    #[test]
    fn empty_mappings() {
        let mut m = Mmap::reserve(0).unwrap();
        assert!(m.is_empty());
        assert_eq!(m.len(), 0);
        assert!(!m.as_ptr().is_null());
        m.make_accessible(0, 0).unwrap();
        m.make_executable(0, 0).unwrap();
        let a = Mmap::accessible(0).unwrap();
        assert!(a.is_empty());
    }

    #[test]
    fn huge_reservation() {
        let m = Mmap::reserve(8 << 30).unwrap();
        assert_eq!(m.len(), 8 << 30);
    }

    #[test]
    #[should_panic(expected = "outside the mapping")]
    fn out_of_bounds_protect_panics() {
        let mut m = Mmap::reserve(page_size()).unwrap();
        let _ = m.make_accessible(0, 2 * page_size());
    }

    #[test]
    #[should_panic(expected = "not page-aligned")]
    fn unaligned_protect_panics() {
        let mut m = Mmap::reserve(2 * page_size()).unwrap();
        let _ = m.make_accessible(1, 1);
    }

    #[test]
    fn length_overflow_is_an_error() {
        assert!(Mmap::reserve(usize::MAX).is_err());
    }
}
