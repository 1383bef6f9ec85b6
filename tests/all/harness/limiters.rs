//! A resource limiter that records what it is asked, for the tests of
//! growth from wasm and from the host.

use trestle::{ResourceLimiter, Result};

/// Records every `(current, desired)` size it is asked about; allows every
/// table growth, and memory growth up to `max_memory_bytes` when set.
#[derive(Default)]
pub struct RecordingLimiter {
    /// The memory sizes asked for, in bytes.
    pub memory_asks: Vec<(usize, usize)>,
    /// The table sizes asked for, in elements.
    pub table_asks: Vec<(usize, usize)>,
    /// The largest memory allowed, in bytes; `None` for no limit.
    pub max_memory_bytes: Option<usize>,
}

impl ResourceLimiter for RecordingLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        self.memory_asks.push((current, desired));
        Ok(self.max_memory_bytes.is_none_or(|max| desired <= max))
    }

    fn table_growing(&mut self, current: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        self.table_asks.push((current, desired));
        Ok(true)
    }
}
