//! [`ResourceLimiter`]: the embedder's say over memory and table growth.

use anyhow::Result;

/// Decides whether memories and tables of a store may be created or grow.
///
/// Installed with [`crate::Store::limiter`]; asked at instantiation (with a
/// current size of 0) and before every growth, from the host API and from
/// `memory.grow`/`table.grow` alike. A refusal makes instantiation fail,
/// the host API return an error, and the instruction return -1.
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
