//! [`LinearMemory`]: the storage of a 32-bit WebAssembly linear memory.
//!
//! Compiled code performs no explicit bounds checks: it computes
//! `base + zext(index) + offset` where both `index` and the static `offset`
//! are 32-bit, so an access can reach at most `2 * (4 GiB - 1)` plus the
//! access size past `base`. Every memory therefore reserves
//! [`MEMORY_RESERVATION`] bytes of address space up front, only the first
//! `size * 64 KiB` of which are accessible; any out-of-bounds access lands in
//! the inaccessible rest and faults, and the fault becomes a
//! [`Trap::MemoryOutOfBounds`](trestle_vmctx::Trap::MemoryOutOfBounds). Since
//! the whole range is reserved, growing never moves the base.

use anyhow::{Context as _, bail};
use trestle_vmctx::VMMemoryDefinition;

use super::mmap::Mmap;

/// The size of a WebAssembly page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// The largest size, in pages, of a 32-bit linear memory (4 GiB).
pub const WASM32_MAX_PAGES: u64 = 65536;

/// Bytes of address space reserved for every linear memory: 8 GiB, which
/// covers every address compiled code can compute (`base + u32 + u32 +
/// access size`), plus a 64 KiB guard region.
pub const MEMORY_RESERVATION: usize = (8 << 30) + (64 << 10);

/// The storage of one linear memory: a fixed reservation of
/// [`MEMORY_RESERVATION`] bytes whose accessible prefix grows in whole
/// WebAssembly pages. The base address never changes.
#[derive(Debug)]
pub struct LinearMemory {
    mmap: Mmap,
    size_pages: u64,
    maximum_pages: Option<u64>,
}

impl LinearMemory {
    /// Creates a zeroed memory of `minimum_pages` pages that may grow up to
    /// `maximum_pages` (or [`WASM32_MAX_PAGES`] without a maximum).
    ///
    /// Fails if the minimum exceeds [`WASM32_MAX_PAGES`] or the maximum, or if
    /// the address space cannot be reserved.
    pub fn new(minimum_pages: u64, maximum_pages: Option<u64>) -> anyhow::Result<Self> {
        if minimum_pages > WASM32_MAX_PAGES {
            bail!(
                "memory minimum size of {minimum_pages} pages exceeds the limit of \
                 {WASM32_MAX_PAGES} pages"
            );
        }
        if let Some(max) = maximum_pages
            && minimum_pages > max
        {
            bail!("memory minimum size of {minimum_pages} pages exceeds its maximum of {max}");
        }
        let mut mmap = Mmap::reserve(MEMORY_RESERVATION)
            .context("failed to reserve address space for a linear memory")?;
        let bytes = pages_to_bytes(minimum_pages);
        mmap.make_accessible(0, bytes)
            .with_context(|| format!("failed to allocate {minimum_pages} pages of memory"))?;
        Ok(Self {
            mmap,
            size_pages: minimum_pages,
            maximum_pages,
        })
    }

    /// Grows the memory by `delta_pages` pages, zero-filled, and returns the
    /// old size in pages.
    ///
    /// Returns `None`, leaving the memory unchanged, if the new size would
    /// exceed the maximum (the declared one, and in any case
    /// [`WASM32_MAX_PAGES`]), or if the pages cannot be made accessible.
    /// Growing by zero pages returns the current size.
    pub fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old = self.size_pages;
        if delta_pages == 0 {
            return Some(old);
        }
        let new = old.checked_add(delta_pages)?;
        let limit = self
            .maximum_pages
            .map_or(WASM32_MAX_PAGES, |m| m.min(WASM32_MAX_PAGES));
        if new > limit {
            return None;
        }
        // Memory never shrinks and fresh anonymous pages read as zero, so the
        // newly accessible pages are zeroed.
        self.mmap
            .make_accessible(pages_to_bytes(old), pages_to_bytes(delta_pages))
            .ok()?;
        self.size_pages = new;
        Some(old)
    }

    /// The current size in WebAssembly pages.
    pub fn size_pages(&self) -> u64 {
        self.size_pages
    }

    /// The current size in bytes.
    pub fn byte_size(&self) -> usize {
        pages_to_bytes(self.size_pages)
    }

    /// The declared maximum size in pages, if any.
    pub fn maximum_pages(&self) -> Option<u64> {
        self.maximum_pages
    }

    /// The start of the memory; it never moves.
    pub fn base(&self) -> *mut u8 {
        self.mmap.as_mut_ptr()
    }

    /// The definition compiled code reads: base and current length in bytes.
    pub fn vmmemory(&self) -> VMMemoryDefinition {
        VMMemoryDefinition {
            base: self.base(),
            current_length: self.byte_size() as u64,
        }
    }
}

/// Converts a page count no larger than [`WASM32_MAX_PAGES`] to bytes.
fn pages_to_bytes(pages: u64) -> usize {
    debug_assert!(pages <= WASM32_MAX_PAGES);
    usize::try_from(pages * WASM_PAGE_SIZE).expect("64-bit host")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>() {}

    #[test]
    fn linear_memory_is_send() {
        is_send::<LinearMemory>();
    }

    #[test]
    fn new_checks_limits() {
        assert!(LinearMemory::new(WASM32_MAX_PAGES + 1, None).is_err());
        assert!(LinearMemory::new(3, Some(2)).is_err());
        let m = LinearMemory::new(0, Some(0)).unwrap();
        assert_eq!(m.size_pages(), 0);
        assert_eq!(m.byte_size(), 0);
        assert_eq!(m.maximum_pages(), Some(0));
        let m = LinearMemory::new(2, None).unwrap();
        assert_eq!(m.size_pages(), 2);
        assert_eq!(m.byte_size(), 2 * 65536);
        assert_eq!(m.maximum_pages(), None);
        let def = m.vmmemory();
        assert_eq!(def.base, m.base());
        assert_eq!(def.current_length, 2 * 65536);
    }

    #[test]
    fn contents_are_zeroed_and_last_byte_writable() {
        let m = LinearMemory::new(1, None).unwrap();
        // SAFETY: the first `byte_size()` bytes are accessible and owned by
        // `m`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(m.base(), m.byte_size()) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[0] = 1;
        *bytes.last_mut().unwrap() = 0xff;
        assert_eq!(bytes[65535], 0xff);
    }

    #[test]
    fn grow_returns_old_size_and_respects_maximum() {
        let mut m = LinearMemory::new(1, Some(3)).unwrap();
        let base = m.base();
        // SAFETY: page 0 is accessible.
        unsafe { base.write(9) };
        assert_eq!(m.grow(0), Some(1));
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.size_pages(), 2);
        assert_eq!(m.grow(2), None);
        assert_eq!(m.size_pages(), 2);
        assert_eq!(m.grow(1), Some(2));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.grow(0), Some(3));
        assert_eq!(m.grow(u64::MAX), None);
        assert_eq!(m.base(), base, "the base never moves");
        assert_eq!(m.vmmemory().current_length, 3 * 65536);
        // SAFETY: the memory now has 3 accessible pages.
        let bytes = unsafe { std::slice::from_raw_parts_mut(m.base(), m.byte_size()) };
        assert_eq!(bytes[0], 9, "growing keeps the contents");
        assert!(bytes[1..].iter().all(|&b| b == 0), "new pages are zeroed");
        let last = bytes.len() - 1;
        bytes[last] = 0x5a;
        assert_eq!(bytes[last], 0x5a);
    }

    #[test]
    fn grow_without_maximum_stops_at_4_gib() {
        let mut m = LinearMemory::new(0, None).unwrap();
        assert_eq!(m.grow(WASM32_MAX_PAGES + 1), None);
        assert_eq!(m.grow(WASM32_MAX_PAGES), Some(0));
        assert_eq!(m.byte_size(), 4 << 30);
        assert_eq!(m.grow(1), None);
        // SAFETY: the whole 4 GiB are accessible; touching the last byte only
        // commits one page.
        unsafe {
            let last = m.base().add(m.byte_size() - 1);
            last.write(3);
            assert_eq!(last.read(), 3);
        }
    }

    #[test]
    fn maximum_above_the_wasm32_limit_is_clamped() {
        let mut m = LinearMemory::new(0, Some(u64::MAX)).unwrap();
        assert_eq!(m.grow(WASM32_MAX_PAGES + 1), None);
        assert_eq!(m.grow(1), Some(0));
    }
}
