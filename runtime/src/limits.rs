//! [`ResourceLimiter`]: the embedder's say over memory and table growth,
//! and the limits Trestle enforces whatever the embedder says.
//!
//! Untrusted modules choose the sizes of their tables, memories and GC
//! arrays, so the runtime bounds them on its own:
//!
//! | Limit | Value | What happens past it |
//! |---|---|---|
//! | [`MAX_TABLE_ELEMENTS`] | 10,000,000 elements per table | instantiation and [`crate::Table::new`] fail; `table.grow` returns -1 |
//! | [`MAX_STORE_TABLE_ELEMENTS`] | 100,000,000 elements in all the tables of a store | the same |
//! | [`MAX_MEMORY_PAGES`] | 65,536 pages (4 GiB) per 32-bit memory | instantiation and [`crate::Memory::new`] fail; `memory.grow` returns -1 |
//! | [`MAX_MEMORY64_PAGES`] | 2^20 pages (64 GiB) per 64-bit memory | the same |
//! | [`MAX_GC_ARRAY_ELEMENTS`] | 2^26 elements in all the live GC arrays of a store | the allocating constant expression fails instantiation |
//!
//! A [`ResourceLimiter`] can only lower these.

use crate::vm::GrowthLimiter;
use anyhow::Result;

pub use crate::gc::MAX_ARRAY_CELLS as MAX_GC_ARRAY_ELEMENTS;
pub use crate::vm::memory::{MAX_MEMORY_PAGES, MAX_MEMORY64_PAGES};
pub use crate::vm::table::{MAX_STORE_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS};

/// Decides whether memories and tables of a store may be created or grow.
///
/// Installed with [`crate::Store::limiter`]; asked at instantiation (with a
/// current size of 0) and before every growth, from the host API and from
/// `memory.grow`/`table.grow` alike. A refusal makes instantiation fail,
/// the host API return an error, and the instruction return -1. A panic in
/// a limiter propagates to the caller of the host API, of the function
/// call or of the instantiation that asked it (see [`crate::Store`]).
pub trait ResourceLimiter {
    /// Whether a memory may grow from `current` to `desired` bytes.
    ///
    /// # Errors
    ///
    /// An error refuses the growth.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// Whether a table may grow from `current` to `desired` elements.
    ///
    /// # Errors
    ///
    /// An error refuses the growth.
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// Told that a memory growth [`ResourceLimiter::memory_growing`]
    /// allowed failed anyway (past the maximum, or no address space).
    ///
    /// # Errors
    ///
    /// Ignored today; the signature matches Wasmtime's.
    fn memory_grow_failed(&mut self, error: anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// Told that a table growth [`ResourceLimiter::table_growing`] allowed
    /// failed anyway (past the maximum or the implementation's limit, or no
    /// memory).
    ///
    /// # Errors
    ///
    /// Ignored today; the signature matches Wasmtime's.
    fn table_grow_failed(&mut self, error: anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }
}

/// The store's view of the embedder's limiter: whether one is installed,
/// and a pointer to it refreshed before each entry from the host.
#[derive(Default)]
pub(crate) struct StoreLimiter {
    installed: bool,
    current: Option<*mut dyn ResourceLimiter>,
}

impl StoreLimiter {
    /// Records that a limiter is installed (its pointer comes with
    /// [`StoreLimiter::set`]).
    pub(crate) fn install(&mut self) {
        self.installed = true;
    }

    /// Whether a limiter is installed.
    pub(crate) fn is_installed(&self) -> bool {
        self.installed
    }

    /// Points at the limiter for the entry about to run.
    pub(crate) fn set(&mut self, limiter: *mut dyn ResourceLimiter) {
        self.current = Some(limiter);
    }

    /// The limiter, if any.
    fn get(&mut self) -> Option<&mut dyn ResourceLimiter> {
        // SAFETY: the pointer targets the limiter found in the generic
        // shell's data by `Store::limiter`'s closure; it is refreshed before
        // each entry from the host and only used while that entry borrows
        // the store, during which nothing else borrows the data.
        self.current.map(|l| unsafe { &mut *l })
    }
}

impl StoreLimiter {
    /// Whether the limiter, if any, allows what `ask` asks it; an error
    /// counts as a refusal.
    fn allows(&mut self, ask: impl FnOnce(&mut dyn ResourceLimiter) -> Result<bool>) -> bool {
        self.get().is_none_or(|l| ask(l).unwrap_or(false))
    }

    /// Tells the limiter, if any, through `tell`; the growth has failed
    /// already, so what it answers changes nothing.
    fn tell(&mut self, tell: impl FnOnce(&mut dyn ResourceLimiter) -> Result<()>) {
        if let Some(l) = self.get() {
            let _ = tell(l);
        }
    }
}

impl GrowthLimiter for StoreLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.allows(|l| l.memory_growing(current, desired, maximum))
    }

    fn memory_grow_failed(&mut self, error: anyhow::Error) {
        self.tell(|l| l.memory_grow_failed(error));
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.allows(|l| l.table_growing(current, desired, maximum))
    }

    fn table_grow_failed(&mut self, error: anyhow::Error) {
        self.tell(|l| l.table_grow_failed(error));
    }
}
