//! [`Memory`]: the owner of one WebAssembly linear memory (its storage,
//! the definition compiled code reads, growth and the bulk operations
//! `memory.fill`, `memory.copy` and `memory.init`), and [`LinearMemory`],
//! its storage.
//!
//! Compiled code performs no explicit bounds checks on 32-bit memories: it
//! computes `base + zext(index) + offset` where both `index` and the static
//! `offset` are 32-bit, so an access can reach at most `2 * (4 GiB - 1)` plus the
//! access size past `base`. Every memory therefore reserves
//! [`MEMORY_RESERVATION`] bytes of address space up front, only the first
//! `size * 64 KiB` of which are accessible; any out-of-bounds access lands in
//! the inaccessible rest and faults, and the fault becomes a
//! [`Trap::MemoryOutOfBounds`](trestle_vmctx::Trap::MemoryOutOfBounds). Since
//! the whole range is reserved, growing never moves the base.
//!
//! A 64-bit memory may grow to [`MAX_MEMORY64_PAGES`] (64 GiB). Compiled
//! code checks the start of each access explicitly against the current
//! length (the compiler's `translate/env/memory.rs`), so its reservation
//! only covers its largest possible size, its declared maximum when it has
//! one, plus a guard region for an access that starts in bounds and runs
//! past the end.

use anyhow::{Context as _, Result, bail};
use cranelift_entity::PrimaryMap;
use std::ops::Range;
use trestle_compiler::WasmMemoryType;
use trestle_vmctx::{Trap, VMMemoryDefinition};

use super::meter::{MEMORY_CHUNK, Meter};
use super::mmap::Mmap;
use super::{Definition, GrowthLimiter, StoreMemoryIndex};

/// The size of a WebAssembly page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// The most pages a 32-bit linear memory may have: 65,536, 4 GiB, the
/// whole of a 32-bit address space. A larger declared minimum fails
/// instantiation (and [`crate::Memory::new`]), and `memory.grow` past it
/// returns -1.
pub const MAX_MEMORY_PAGES: u64 = trestle_vmctx::MEMORY32_MAX_PAGES;

/// The most pages a 64-bit linear memory may have: 2^20, 64 GiB. Past it,
/// the same as for [`MAX_MEMORY_PAGES`].
pub const MAX_MEMORY64_PAGES: u64 = trestle_vmctx::MEMORY64_MAX_PAGES;

/// The inaccessible bytes reserved after the largest size of every memory,
/// so that an access starting in bounds faults rather than reaching past
/// the reservation: 64 KiB, more than the widest access.
const GUARD_BYTES: usize = 64 << 10;

/// Bytes of address space reserved for every 32-bit linear memory: 8 GiB,
/// which covers every address compiled code can compute (`base + u32 +
/// u32 + access size`), plus the guard region.
pub(crate) const MEMORY32_RESERVATION: usize = (8 << 30) + GUARD_BYTES;

/// The storage of one linear memory: a fixed reservation whose accessible
/// prefix grows in whole WebAssembly pages (see the [module
/// documentation](self) for its size). The base address never changes.
#[derive(Debug)]
pub(crate) struct LinearMemory {
    mmap: Mmap,
    size_pages: u64,
    maximum_pages: Option<u64>,
    /// The most pages this memory can reach: the smaller of its declared
    /// maximum and the limit for its index type.
    limit_pages: u64,
}

impl LinearMemory {
    /// Creates a zeroed memory of `minimum_pages` pages that may grow up to
    /// `maximum_pages`, and in any case up to [`MAX_MEMORY_PAGES`] for a
    /// 32-bit memory or [`MAX_MEMORY64_PAGES`] for a 64-bit one
    /// (`memory64`).
    ///
    /// Fails if the minimum exceeds that limit or the maximum, or if the
    /// address space cannot be reserved.
    pub(crate) fn new(
        minimum_pages: u64,
        maximum_pages: Option<u64>,
        memory64: bool,
    ) -> anyhow::Result<Self> {
        let type_limit = if memory64 {
            MAX_MEMORY64_PAGES
        } else {
            MAX_MEMORY_PAGES
        };
        if minimum_pages > type_limit {
            bail!(
                "memory minimum size of {minimum_pages} pages exceeds the limit of \
                 {type_limit} pages"
            );
        }
        if let Some(max) = maximum_pages
            && minimum_pages > max
        {
            bail!("memory minimum size of {minimum_pages} pages exceeds its maximum of {max}");
        }
        let limit_pages = maximum_pages.map_or(type_limit, |m| m.min(type_limit));
        let reservation = if memory64 {
            pages_to_bytes(limit_pages) + GUARD_BYTES
        } else {
            MEMORY32_RESERVATION
        };
        let mut mmap = Mmap::reserve(reservation)
            .context("failed to reserve address space for a linear memory")?;
        let bytes = pages_to_bytes(minimum_pages);
        mmap.make_accessible(0, bytes)
            .with_context(|| format!("failed to allocate {minimum_pages} pages of memory"))?;
        Ok(Self {
            mmap,
            size_pages: minimum_pages,
            maximum_pages,
            limit_pages,
        })
    }

    /// Grows the memory by `delta_pages` pages, zero-filled, and returns the
    /// old size in pages.
    ///
    /// Returns `None`, leaving the memory unchanged, if the new size would
    /// exceed the maximum (the declared one, and in any case the limit for
    /// the memory's index type), or if the pages cannot be made accessible.
    /// Growing by zero pages returns the current size.
    pub(crate) fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old = self.size_pages;
        if delta_pages == 0 {
            return Some(old);
        }
        let new = old.checked_add(delta_pages)?;
        if new > self.limit_pages {
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
    pub(crate) fn size_pages(&self) -> u64 {
        self.size_pages
    }

    /// The current size in bytes.
    pub(crate) fn byte_size(&self) -> usize {
        pages_to_bytes(self.size_pages)
    }

    /// The declared maximum size in pages, if any.
    pub(crate) fn maximum_pages(&self) -> Option<u64> {
        self.maximum_pages
    }

    /// The start of the memory; it never moves.
    pub(crate) fn base(&self) -> *mut u8 {
        self.mmap.as_mut_ptr()
    }

    /// The definition compiled code reads: base and current length in bytes.
    pub(crate) fn vmmemory(&self) -> VMMemoryDefinition {
        VMMemoryDefinition {
            base: self.base(),
            current_length: self.byte_size() as u64,
        }
    }
}

/// The bytes of a page count, saturated.
fn pages_bytes(pages: u64) -> usize {
    pages.saturating_mul(WASM_PAGE_SIZE).min(usize::MAX as u64) as usize
}

/// A linear memory: see the [module documentation](self).
pub(crate) struct Memory {
    storage: LinearMemory,
    /// Where compiled code reads the memory's base and length.
    def: Definition<VMMemoryDefinition>,
    ty: WasmMemoryType,
}

impl Memory {
    /// A memory of type `ty` with its declared minimum of pages, after
    /// asking the limiter. `def` is where compiled code reads the memory's
    /// definition (inside a vmctx), or `None` for a memory of the host,
    /// which then owns its definition.
    ///
    /// # Errors
    ///
    /// When the limiter refuses, the minimum exceeds the maximum or
    /// [`MAX_MEMORY_PAGES`], or the address space cannot be reserved.
    ///
    /// # Safety
    ///
    /// A `def` must be valid for reads and writes, used by nothing but this
    /// memory and compiled code, for the memory's whole life.
    pub(crate) unsafe fn new(
        ty: WasmMemoryType,
        def: Option<*mut VMMemoryDefinition>,
        limiter: &mut dyn GrowthLimiter,
    ) -> Result<Memory> {
        let max = ty.maximum.map(pages_bytes);
        if !limiter.memory_growing(0, pages_bytes(ty.minimum), max) {
            bail!("memory of {} pages refused by the limiter", ty.minimum);
        }
        let storage = LinearMemory::new(ty.minimum, ty.maximum, ty.memory64)?;
        // SAFETY: per this function's contract.
        let def = unsafe { Definition::new(def, storage.vmmemory()) };
        Ok(Memory { storage, def, ty })
    }

    /// The memory's type with its current size as the minimum, which is
    /// what import matching and [`crate::Memory::ty`] go by.
    pub(crate) fn current_ty(&self) -> WasmMemoryType {
        WasmMemoryType {
            minimum: self.storage.size_pages(),
            ..self.ty
        }
    }

    /// The definition compiled code reads, for importers.
    pub(crate) fn definition(&self) -> *mut VMMemoryDefinition {
        self.def.as_ptr()
    }

    /// The size in pages.
    pub(crate) fn size_pages(&self) -> u64 {
        self.storage.size_pages()
    }

    /// The size in bytes.
    pub(crate) fn byte_size(&self) -> usize {
        self.storage.byte_size()
    }

    /// The accessible bytes.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: the accessible part of a live memory, borrowed with it.
        unsafe { std::slice::from_raw_parts(self.storage.base(), self.storage.byte_size()) }
    }

    /// The accessible bytes, mutably.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: the accessible part of a live memory, borrowed
        // exclusively with it.
        unsafe { std::slice::from_raw_parts_mut(self.storage.base(), self.storage.byte_size()) }
    }

    /// `memory.grow`: grows the memory by `delta` pages after asking the
    /// limiter; the old size in pages, or `None` when refused or
    /// impossible (past the maximum, or no address space), which the
    /// limiter is told.
    pub(crate) fn grow(&mut self, delta: u64, limiter: &mut dyn GrowthLimiter) -> Option<u64> {
        let current = self.storage.byte_size();
        let max = self.storage.maximum_pages().map(pages_bytes);
        if delta > 0 {
            // A 64-bit memory may ask for up to 2^64 - 1 pages: a size that
            // does not fit in 64 bits is impossible, and refused without
            // asking the limiter.
            let desired = delta
                .checked_mul(WASM_PAGE_SIZE)
                .and_then(|d| d.checked_add(current as u64))
                .and_then(|d| usize::try_from(d).ok())?;
            if !limiter.memory_growing(current, desired, max) {
                return None;
            }
        }
        let Some(old) = self.storage.grow(delta) else {
            limiter.memory_grow_failed(anyhow::anyhow!(
                "failed to grow memory of {current} bytes by {delta} pages"
            ));
            return None;
        };
        // SAFETY: the definition of this live memory.
        unsafe { self.def.as_ptr().write(self.storage.vmmemory()) };
        Some(old)
    }

    /// `start..start + len` when it lies within the memory.
    fn range(&self, start: u64, len: u64) -> Result<Range<usize>, Trap> {
        super::in_bounds(start, len, self.storage.byte_size() as u64).ok_or(Trap::MemoryOutOfBounds)
    }

    /// `memory.fill`: sets `len` bytes from `dst` to `val`.
    ///
    /// # Errors
    ///
    /// [`Trap::MemoryOutOfBounds`] when the range is out of bounds, and
    /// what `meter` raises.
    pub(crate) fn fill(&mut self, dst: u64, val: u8, len: u64, meter: &Meter) -> Result<(), Trap> {
        let d = self.range(dst, len)?;
        meter.charge_bytes(len)?;
        let bytes = &mut self.data_mut()[d];
        meter.in_chunks(bytes.len(), MEMORY_CHUNK, |r| bytes[r].fill(val))
    }

    /// `memory.init`: copies bytes `src..src + len` of a data segment
    /// (empty once dropped) to `dst` onwards.
    ///
    /// # Errors
    ///
    /// [`Trap::MemoryOutOfBounds`] when either range is out of bounds, and
    /// what `meter` raises.
    pub(crate) fn init(
        &mut self,
        dst: u64,
        data: &[u8],
        src: u64,
        len: u64,
        meter: &Meter,
    ) -> Result<(), Trap> {
        let s = super::in_bounds(src, len, data.len() as u64).ok_or(Trap::MemoryOutOfBounds)?;
        let d = self.range(dst, len)?;
        meter.charge_bytes(len)?;
        let (from, to) = (&data[s], &mut self.data_mut()[d]);
        meter.in_chunks(from.len(), MEMORY_CHUNK, |r| {
            to[r.clone()].copy_from_slice(&from[r]);
        })
    }

    /// `memory.copy`: copies `len` bytes of `memories[src_m]` from `src` to
    /// `memories[dst_m]` at `dst`; the memories may be the same and the
    /// ranges may overlap.
    ///
    /// # Errors
    ///
    /// [`Trap::MemoryOutOfBounds`] when either range is out of bounds, and
    /// what `meter` raises.
    pub(crate) fn copy(
        memories: &mut PrimaryMap<StoreMemoryIndex, Memory>,
        dst_m: StoreMemoryIndex,
        dst: u64,
        src_m: StoreMemoryIndex,
        src: u64,
        len: u64,
        meter: &Meter,
    ) -> Result<(), Trap> {
        let s = memories[src_m].range(src, len)?;
        let d = memories[dst_m].range(dst, len)?;
        meter.charge_bytes(len)?;
        let sbase = memories[src_m].storage.base();
        let dbase = memories[dst_m].storage.base();
        meter.copy_in_chunks(s.len(), s.start, d.start, MEMORY_CHUNK, |r, to| {
            // SAFETY: both ranges were checked against their memories,
            // which nothing else accesses while `memories` is borrowed;
            // `copy` allows overlap.
            unsafe { std::ptr::copy(sbase.add(r.start), dbase.add(to), r.len()) };
        })
    }
}

/// Converts a page count no larger than [`MAX_MEMORY64_PAGES`] to bytes.
fn pages_to_bytes(pages: u64) -> usize {
    debug_assert!(pages <= MAX_MEMORY64_PAGES);
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
        assert!(LinearMemory::new(MAX_MEMORY_PAGES + 1, None, false).is_err());
        assert!(LinearMemory::new(3, Some(2), false).is_err());
        let m = LinearMemory::new(0, Some(0), false).unwrap();
        assert_eq!(m.size_pages(), 0);
        assert_eq!(m.byte_size(), 0);
        assert_eq!(m.maximum_pages(), Some(0));
        let m = LinearMemory::new(2, None, false).unwrap();
        assert_eq!(m.size_pages(), 2);
        assert_eq!(m.byte_size(), 2 * 65536);
        assert_eq!(m.maximum_pages(), None);
        let def = m.vmmemory();
        assert_eq!(def.base, m.base());
        assert_eq!(def.current_length, 2 * 65536);
    }

    #[test]
    fn contents_are_zeroed_and_last_byte_writable() {
        let m = LinearMemory::new(1, None, false).unwrap();
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
        let mut m = LinearMemory::new(1, Some(3), false).unwrap();
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
        let mut m = LinearMemory::new(0, None, false).unwrap();
        assert_eq!(m.grow(MAX_MEMORY_PAGES + 1), None);
        assert_eq!(m.grow(MAX_MEMORY_PAGES), Some(0));
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
    fn a_64_bit_memory_grows_past_4_gib_up_to_its_limit() {
        let mut m = LinearMemory::new(MAX_MEMORY_PAGES, None, true).unwrap();
        assert_eq!(m.grow(1), Some(MAX_MEMORY_PAGES));
        assert_eq!(m.byte_size(), (4 << 30) + 65536);
        // SAFETY: the memory has 65,537 accessible pages; touching the last
        // byte only commits one page.
        unsafe {
            let last = m.base().add(m.byte_size() - 1);
            last.write(7);
            assert_eq!(last.read(), 7);
        }
        let room = MAX_MEMORY64_PAGES - m.size_pages();
        assert_eq!(m.grow(room + 1), None);
        assert_eq!(m.grow(room), Some(MAX_MEMORY_PAGES + 1));
        assert_eq!(m.grow(1), None);
        assert!(LinearMemory::new(MAX_MEMORY64_PAGES + 1, None, true).is_err());
    }

    #[test]
    fn a_64_bit_memory_reserves_only_its_maximum() {
        let mut m = LinearMemory::new(1, Some(2), true).unwrap();
        assert_eq!(m.mmap.len(), 2 * 65536 + GUARD_BYTES);
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.grow(1), None);
    }

    #[test]
    fn maximum_above_the_wasm32_limit_is_clamped() {
        let mut m = LinearMemory::new(0, Some(u64::MAX), false).unwrap();
        assert_eq!(m.grow(MAX_MEMORY_PAGES + 1), None);
        assert_eq!(m.grow(1), Some(0));
    }
}
