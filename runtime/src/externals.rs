//! [`Extern`] and the handles of memories, globals and tables.

use crate::store::StoreId;
use crate::vm::memory::{LinearMemory, WASM_PAGE_SIZE};
use crate::{AsContext, AsContextMut, Func, GlobalType, MemoryType, Ref, TableType, Val};
use anyhow::{Result, anyhow, bail};

/// Something an instance can import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A global.
    Global(Global),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The item's type.
    ///
    /// # Panics
    ///
    /// When the item belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> crate::ExternType {
        match self {
            Extern::Func(f) => crate::ExternType::Func(f.ty(store)),
            Extern::Global(g) => crate::ExternType::Global(g.ty(store)),
            Extern::Table(t) => crate::ExternType::Table(t.ty(store)),
            Extern::Memory(m) => crate::ExternType::Memory(m.ty(store)),
        }
    }
}

/// A linear memory of a store.
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
    pub(crate) index: u32,
}

impl Memory {
    /// A new memory owned by the host.
    ///
    /// # Errors
    ///
    /// When the minimum exceeds the maximum or 4 GiB, when the store's
    /// limiter refuses it, or when the address space cannot be reserved.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        let bytes = |p: u64| p.saturating_mul(WASM_PAGE_SIZE) as usize;
        if !store.memory_growing(0, bytes(ty.minimum()), ty.maximum().map(bytes)) {
            bail!("memory of {} pages refused by the limiter", ty.minimum());
        }
        let memory = LinearMemory::new(ty.minimum(), ty.maximum())?;
        let index = store.push_memory_owned(memory, ty);
        Ok(Memory {
            store: store.id,
            index,
        })
    }

    fn data_ref<'a, T: 'a>(
        &self,
        store: &'a crate::store::StoreInner<T>,
    ) -> &'a crate::store::MemoryData {
        store.opaque.assert_owns(self.store);
        &store.opaque.memories[self.index as usize]
    }

    /// The memory's type, with its current size as the minimum.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let cx = store.as_context();
        let md = self.data_ref(cx.0);
        MemoryType::new(
            md.memory.size_pages() as u32,
            md.ty.maximum().map(|m| m as u32),
        )
    }

    /// The accessible bytes.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data<'a, T: 'a>(&self, store: impl Into<crate::store::StoreContext<'a, T>>) -> &'a [u8] {
        let cx: crate::store::StoreContext<'a, T> = store.into();
        let m = &self.data_ref(cx.0).memory;
        // SAFETY: the accessible part of a live memory, borrowed with the
        // store.
        unsafe { std::slice::from_raw_parts(m.base(), m.byte_size()) }
    }

    /// The accessible bytes, mutably.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::store::StoreContextMut<'a, T>>,
    ) -> &'a mut [u8] {
        let cx: crate::store::StoreContextMut<'a, T> = store.into();
        let m = &self.data_ref(cx.0).memory;
        // SAFETY: the accessible part of a live memory, borrowed exclusively
        // with the store.
        unsafe { std::slice::from_raw_parts_mut(m.base(), m.byte_size()) }
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
        store: impl Into<crate::store::StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let cx: crate::store::StoreContextMut<'a, T> = store.into();
        let inner = cx.0;
        let (base, len) = {
            let m = &self.data_ref(&*inner).memory;
            (m.base(), m.byte_size())
        };
        // SAFETY: the accessible part of a live memory; its bytes live
        // outside the store's data, so the two borrows do not overlap, and
        // both last as long as the exclusive borrow of the store.
        let bytes = unsafe { std::slice::from_raw_parts_mut(base, len) };
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
        let src = offset
            .checked_add(buffer.len())
            .and_then(|end| data.get(offset..end))
            .ok_or_else(|| anyhow!("out of bounds memory access"))?;
        buffer.copy_from_slice(src);
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
        let dst = offset
            .checked_add(buffer.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or_else(|| anyhow!("out of bounds memory access"))?;
        dst.copy_from_slice(buffer);
        Ok(())
    }

    /// The size in pages.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.data_ref(store.as_context().0).memory.size_pages()
    }

    /// The size in bytes.
    ///
    /// # Panics
    ///
    /// When the memory belongs to another store.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.data_ref(store.as_context().0).memory.byte_size()
    }

    /// Grows the memory by `delta` pages and returns the old size in pages.
    ///
    /// # Errors
    ///
    /// When the new size would exceed the maximum or 4 GiB, or the store's
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

/// A global of a store.
///
/// ```
/// use trestle::{Engine, Global, GlobalType, Mutability, Store, Val, ValType};
/// let mut store = Store::new(&Engine::default(), ());
/// let ty = GlobalType::new(ValType::I32, Mutability::Var);
/// let g = Global::new(&mut store, ty, Val::I32(1))?;
/// g.set(&mut store, Val::I32(2))?;
/// assert_eq!(g.get(&mut store).unwrap_i32(), 2);
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Global {
    /// A new global owned by the host.
    ///
    /// # Errors
    ///
    /// When `val` is not of the global's type or belongs to another store.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        if !val.matches_in(store, ty.content())? {
            bail!(
                "value of type {} for a global of type {}",
                val.ty(),
                ty.content()
            );
        }
        let bytes = val.to_storage(store)?;
        let index = store.push_global(ty, None);
        // SAFETY: the new global's definition.
        unsafe { (*store.globals[index as usize].def).storage = bytes };
        Ok(Global {
            store: store.id,
            index,
        })
    }

    /// The global's type.
    ///
    /// # Panics
    ///
    /// When the global belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let cx = store.as_context();
        cx.0.opaque.assert_owns(self.store);
        cx.0.opaque.globals[self.index as usize].ty
    }

    /// The current value.
    ///
    /// # Panics
    ///
    /// When the global belongs to another store.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = &mut store.as_context_mut().0.opaque;
        store.assert_owns(self.store);
        let gd = &store.globals[self.index as usize];
        let ty = *gd.ty.content();
        // SAFETY: the definition of a live global.
        let bytes = unsafe { (*gd.def).storage };
        // SAFETY: the global holds a value of its type.
        unsafe { Val::from_storage(store, bytes, ty) }
    }

    /// Sets the value.
    ///
    /// # Errors
    ///
    /// When the global is immutable, or `val` is not of its type or belongs
    /// to another store.
    ///
    /// # Panics
    ///
    /// When the global belongs to another store.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.assert_owns(self.store);
        let gd = &store.globals[self.index as usize];
        if !gd.ty.is_mutable() {
            bail!("immutable global cannot be set");
        }
        if !val.matches_in(store, gd.ty.content())? {
            bail!(
                "value of type {} for a global of type {}",
                val.ty(),
                gd.ty.content()
            );
        }
        let bytes = val.to_storage(store)?;
        // SAFETY: the definition of a live global.
        unsafe { (*store.globals[self.index as usize].def).storage = bytes };
        Ok(())
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

/// A table of a store.
///
/// `Table` is a `Copy` handle, `#[repr(C)]` so a C API can pass it by value:
/// the store's id, the id of the instance that defines the table (or
/// [`Table::HOST_INSTANCE`] for a table made with [`Table::new`]) and the
/// table's index among that instance's defined tables. Its size, alignment
/// and field offsets are checked at compile time against [`CTable`].
///
/// ```
/// use trestle::{Engine, Ref, RefType, Store, Table, TableType};
/// let mut store = Store::new(&Engine::default(), ());
/// let table = Table::new(&mut store, TableType::new(RefType::FUNCREF, 2, None), Ref::Func(None))?;
/// assert_eq!(table.size(&store), 2);
/// assert_eq!(table.grow(&mut store, 3, Ref::Func(None))?, 2);
/// assert!(table.get(&mut store, 4).unwrap().is_null());
/// assert!(table.get(&mut store, 5).is_none());
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) instance: u32,
    pub(crate) defined: u32,
}

/// The C view of a [`Table`] handle, for a C API: what a C header would
/// declare as `struct trestle_table { uint64_t store_id; uint32_t instance;
/// uint32_t index; }`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CTable {
    /// The store's id.
    pub store_id: u64,
    /// The defining instance, or [`Table::HOST_INSTANCE`].
    pub instance: u32,
    /// The defined index within that instance.
    pub index: u32,
}

const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Table>() == size_of::<CTable>());
    assert!(align_of::<Table>() == align_of::<CTable>());
    assert!(offset_of!(Table, store) == offset_of!(CTable, store_id));
    assert!(offset_of!(Table, instance) == offset_of!(CTable, instance));
    assert!(offset_of!(Table, defined) == offset_of!(CTable, index));
    assert!(size_of::<Table>() == 16);
};

impl From<Table> for CTable {
    fn from(t: Table) -> CTable {
        CTable {
            store_id: t.store.0,
            instance: t.instance,
            index: t.defined,
        }
    }
}

impl Table {
    /// The instance id of tables created by the host with [`Table::new`].
    pub const HOST_INSTANCE: u32 = u32::MAX;

    /// The handle of store table `index`.
    pub(crate) fn from_store_index(store: &crate::store::StoreOpaque, index: u32) -> Table {
        let (instance, defined) = store.tables[index as usize].owner;
        Table {
            store: store.id,
            instance,
            defined,
        }
    }

    /// The store's index of this table.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    #[track_caller]
    pub(crate) fn index(&self, store: &crate::store::StoreOpaque) -> u32 {
        store.assert_owns(self.store);
        if self.instance == Self::HOST_INSTANCE {
            store.host_tables[self.defined as usize]
        } else {
            let data = &store.instances[self.instance as usize];
            data.tables[(data.info().num_imported_tables + self.defined) as usize]
        }
    }

    /// A new table owned by the host, every element set to `init`.
    ///
    /// # Errors
    ///
    /// When `init` is not of the element type or belongs to another store,
    /// the minimum is over the implementation's limit or the maximum, or
    /// the store's limiter refuses.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Ref) -> Result<Table> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        if !store.ref_matches(&init, ty.element())? {
            bail!(
                "initial value of the wrong type for a table of {}",
                ty.element()
            );
        }
        if ty.maximum().is_some_and(|m| m < ty.minimum()) {
            bail!("table minimum {} exceeds its maximum", ty.minimum());
        }
        crate::instance::check_table_size(store, ty.minimum())?;
        let max = ty.maximum().map(|m| m.min(usize::MAX as u64) as usize);
        if !store.table_growing(0, ty.minimum() as usize, max) {
            bail!("table of {} elements refused by the limiter", ty.minimum());
        }
        let raw = init.to_raw(store)?;
        let elements = crate::instance::new_table_elements(
            store,
            ty.inner.element,
            ty.minimum() as usize,
            false,
            raw,
        )?;
        let defined = store.host_tables.len() as u32;
        let index = store.push_table(
            elements,
            ty.minimum(),
            ty.inner,
            None,
            (Self::HOST_INSTANCE, defined),
        );
        store.host_tables.push(index);
        Ok(Table::from_store_index(store, index))
    }

    /// The table's type as declared (its current size is [`Table::size`]).
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let store = &store.as_context().0.opaque;
        let index = self.index(store);
        TableType::from_wasm(store.tables[index as usize].ty)
    }

    /// The element at `index`, or `None` when out of bounds.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Ref> {
        let store = &mut store.as_context_mut().0.opaque;
        let t = self.index(store);
        let raw = store.table_get(t, index).ok()?;
        let heap = crate::HeapType::from_wasm(store.tables[t as usize].element().heap);
        // SAFETY: table words are null or live references of this store.
        Some(unsafe { Ref::from_raw(store, heap, raw) })
    }

    /// Sets the element at `index`.
    ///
    /// # Errors
    ///
    /// When `index` is out of bounds, or `val` is not of the element type or
    /// belongs to another store.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, val: Ref) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let t = self.index(store);
        let raw = Self::checked_raw(store, t, val)?;
        store.table_set(t, index, raw)?;
        Ok(())
    }

    fn checked_raw(store: &crate::store::StoreOpaque, t: u32, val: Ref) -> Result<usize> {
        let ty = TableType::from_wasm(store.tables[t as usize].ty);
        if !store.ref_matches(&val, ty.element())? {
            bail!("value of the wrong type for a table of {}", ty.element());
        }
        val.to_raw(store)
    }

    /// The number of elements.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let store = &store.as_context().0.opaque;
        let t = self.index(store);
        store.tables[t as usize].len()
    }

    /// Grows the table by `delta` elements set to `init`; returns the old
    /// size.
    ///
    /// # Errors
    ///
    /// When the new size exceeds the maximum or the implementation's limit,
    /// the store's limiter refuses, or `init` is not of the element type or
    /// belongs to another store.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Ref) -> Result<u64> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        let t = self.index(store);
        let raw = Self::checked_raw(store, t, init)?;
        store
            .table_grow(t, delta, raw)
            .ok_or_else(|| anyhow!("failed to grow table by {delta}"))
    }

    /// Sets `len` elements from `dst` to `val`.
    ///
    /// # Errors
    ///
    /// When the range is out of bounds, or `val` is not of the element type
    /// or belongs to another store.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn fill(&self, mut store: impl AsContextMut, dst: u64, val: Ref, len: u64) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let t = self.index(store);
        let raw = Self::checked_raw(store, t, val)?;
        store.table_fill(t, dst, raw, len)?;
        Ok(())
    }

    /// Copies `len` elements of `src_table` from `src_index` to `dst_table`
    /// at `dst_index`; the tables may be the same and the ranges may
    /// overlap.
    ///
    /// # Errors
    ///
    /// When a range is out of bounds or the element types differ.
    ///
    /// # Panics
    ///
    /// When either table belongs to another store.
    pub fn copy(
        mut store: impl AsContextMut,
        dst_table: &Table,
        dst_index: u64,
        src_table: &Table,
        src_index: u64,
        len: u64,
    ) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (dst, src) = (dst_table.index(store), src_table.index(store));
        if store.tables[dst as usize].element() != store.tables[src as usize].element() {
            bail!("cannot copy between tables of different element types");
        }
        store.table_copy(dst, dst_index, src, src_index, len)?;
        Ok(())
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
