//! [`Memory`]: the host's handle to a linear memory, a thin wrapper over
//! [`crate::vm::Memory`].

use super::Extern;
use crate::store::{StoreContext, StoreContextMut, StoreId, StoreInner};
use crate::vm::StoreMemoryIndex;
use crate::{AsContext, AsContextMut, MemoryType, vm};
use anyhow::{Result, anyhow};

/// A linear memory of a store, 32- or 64-bit.
///
/// Byte offsets and sizes are `usize` and page counts `u64`, as in
/// Wasmtime. Trestle runs only on 64-bit hosts, where a `usize` is 64 bits
/// wide, so every byte of a 64-bit memory has an offset (see
/// [`crate::MAX_MEMORY64_PAGES`] for how large one may grow).
///
/// ```
/// use trestle::{Engine, Memory, MemoryType, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let memory = Memory::new(&mut store, MemoryType::new(1, Some(2)))?;
/// memory.write(&mut store, 8, b"hi")?;
/// assert_eq!(&memory.data(&store)[8..10], b"hi");
/// assert_eq!(memory.grow(&mut store, 1)?, 1);
/// assert!(memory.grow(&mut store, 1).is_err());
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: StoreMemoryIndex,
}

impl Memory {
    /// A new memory owned by the host.
    ///
    /// # Errors
    ///
    /// When the minimum exceeds the maximum or the limit for its index type
    /// ([`crate::MAX_MEMORY_PAGES`], [`crate::MAX_MEMORY64_PAGES`]), when the store's limiter refuses it, or when the address
    /// space cannot be reserved.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        // SAFETY: the memory owns its definition.
        let index = unsafe { store.new_memory(ty.inner, None)? };
        Ok(Memory {
            store: store.id,
            index,
        })
    }

    fn vm<'a, T: 'a>(&self, store: &'a StoreInner<T>) -> &'a vm::Memory {
        store.opaque.assert_owns(self.store);
        &store.opaque.memories[self.index]
    }

    /// The memory's type, with its current size as the minimum.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        MemoryType {
            inner: self.vm(store.as_context().0).current_ty(),
        }
    }

    /// The accessible bytes.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> &'a [u8] {
        let cx: StoreContext<'a, T> = store.into();
        self.vm(cx.0).data()
    }

    /// The accessible bytes, mutably.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data_mut<'a, T: 'a>(&self, store: impl Into<StoreContextMut<'a, T>>) -> &'a mut [u8] {
        let cx: StoreContextMut<'a, T> = store.into();
        cx.0.opaque.assert_owns(self.store);
        cx.0.opaque.memories[self.index].data_mut()
    }

    /// The accessible bytes and the store's data, both mutably: what a host
    /// function needs to work on the caller's memory and its own state at
    /// once.
    ///
    /// ```
    /// use trestle::{Engine, Memory, MemoryType, Store};
    /// let mut store = Store::new(&Engine::default(), 0usize);
    /// let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    /// let (bytes, count) = memory.data_and_store_mut(&mut store);
    /// bytes[0] = 7;
    /// *count += usize::from(bytes[0]);
    /// assert_eq!(*store.data(), 7);
    /// # Ok::<(), trestle::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let cx: StoreContextMut<'a, T> = store.into();
        let inner = cx.0;
        inner.opaque.assert_owns(self.store);
        // The memory's bytes are borrowed through the store's internals and
        // the data through its own field: two disjoint borrows.
        let bytes = inner.opaque.memories[self.index].data_mut();
        (bytes, &mut inner.data)
    }

    /// Copies `buffer.len()` bytes at `offset` into `buffer`.
    ///
    /// # Errors
    ///
    /// When the range is out of bounds.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn read(&self, store: impl AsContext, offset: usize, buffer: &mut [u8]) -> Result<()> {
        let cx = store.as_context();
        let data = self.data(&cx);
        let range = byte_range(offset, buffer.len(), data.len())?;
        buffer.copy_from_slice(&data[range]);
        Ok(())
    }

    /// Copies `buffer` to `offset`.
    ///
    /// # Errors
    ///
    /// When the range is out of bounds.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buffer: &[u8]) -> Result<()> {
        let mut cx = store.as_context_mut();
        let data = self.data_mut(&mut cx);
        let range = byte_range(offset, buffer.len(), data.len())?;
        data[range].copy_from_slice(buffer);
        Ok(())
    }

    /// The size in pages.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.vm(store.as_context().0).size_pages()
    }

    /// The size in bytes.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.vm(store.as_context().0).byte_size()
    }

    /// Grows the memory by `delta` pages and returns the old size in pages.
    ///
    /// # Errors
    ///
    /// When the new size would exceed the maximum or the limit for the
    /// memory's index type (4 GiB for 32-bit, 64 GiB for 64-bit), or the store's
    /// limiter refuses.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        store.assert_owns(self.store);
        store
            .memory_grow(self.index, delta)
            .ok_or_else(|| anyhow!("failed to grow memory by {delta} pages"))
    }
}

impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

/// The range of `len` bytes at `offset` in a memory of `size` bytes.
///
/// # Errors
///
/// When the range does not fit in the memory.
fn byte_range(offset: usize, len: usize, size: usize) -> Result<std::ops::Range<usize>> {
    offset
        .checked_add(len)
        .filter(|&end| end <= size)
        .map(|end| offset..end)
        .ok_or_else(|| anyhow!("out of bounds memory access"))
}
