//! The runtime's internal layer: one owner per entity ([`Table`],
//! [`Memory`], [`Global`]) and the machinery under them (the vmctx
//! allocation, table storage, memory mappings, executable code, trap
//! handling, the fuel and epoch [`Meter`](meter::Meter)).
//!
//! Nothing here knows the embedding API: the public handles
//! ([`crate::Table`], [`crate::Memory`], [`crate::Global`]) and the
//! libcalls (`crate::libcalls`) are thin wrappers over these owners, and
//! the store reaches the embedder's limiter through [`GrowthLimiter`].

pub(crate) mod code_memory;
pub(crate) mod global;
pub(crate) mod index;
pub(crate) mod memory;
pub(crate) mod meter;
pub(crate) mod mmap;
pub(crate) mod retain;
pub(crate) mod stack_scan;
pub(crate) mod stack_walk;
pub(crate) mod table;
pub(crate) mod table_buf;
pub(crate) mod traphandlers;
pub(crate) mod unwind;
pub(crate) mod vmctx;

pub(crate) use global::Global;
pub(crate) use index::{
    StoreFuncIndex, StoreGlobalIndex, StoreInstanceIndex, StoreMemoryIndex, StoreTableIndex,
    StoreTagIndex,
};
pub(crate) use memory::Memory;
pub(crate) use meter::Meter;
pub(crate) use table::Table;

/// What growing (or creating) a memory or table asks of its store: the
/// embedder's limiter, behind the store's adapter.
pub(crate) trait GrowthLimiter {
    /// Whether a memory may grow from `current` to `desired` bytes.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// Told that a memory growth the limiter allowed failed anyway.
    fn memory_grow_failed(&mut self, error: anyhow::Error);

    /// Whether a table may grow from `current` to `desired` elements.
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// Told that a table growth the limiter allowed failed anyway.
    fn table_grow_failed(&mut self, error: anyhow::Error);
}

/// Where an entity's definition (what compiled code reads: a table's or a
/// memory's base and length, a global's value) lives: inside the defining
/// instance's vmctx, or, for an entity of the host, in an allocation of its
/// own that it frees.
pub(crate) struct Definition<T> {
    ptr: *mut T,
    owned: bool,
}

impl<T> Definition<T> {
    /// The definition at `at` (inside a vmctx), or in a new allocation when
    /// `None`; it holds `value` either way.
    ///
    /// # Safety
    ///
    /// An `at` must be valid for reads and writes, used by nothing but the
    /// entity and compiled code, for the entity's whole life.
    pub(crate) unsafe fn new(at: Option<*mut T>, value: T) -> Self {
        match at {
            Some(ptr) => {
                // SAFETY: valid for writes per the contract.
                unsafe { ptr.write(value) };
                Definition { ptr, owned: false }
            }
            None => Definition {
                ptr: Box::into_raw(Box::new(value)),
                owned: true,
            },
        }
    }

    /// The definition, valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr
    }
}

impl<T> Drop for Definition<T> {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: allocated by `Box::into_raw` in `new`, freed once.
            drop(unsafe { Box::from_raw(self.ptr) });
        }
    }
}

/// `start..start + len` when it lies within `0..size`.
pub(crate) fn in_bounds(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}
