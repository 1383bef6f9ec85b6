//! [`Table`]: the host's handle to a table, a thin wrapper over
//! [`crate::vm::Table`].

use super::Extern;
use crate::store::{StoreId, StoreOpaque};
use crate::vm::table::TableInit;
use crate::vm::{Meter, StoreInstanceIndex, StoreTableIndex};
use crate::{AsContext, AsContextMut, HeapType, Ref, TableType};
use anyhow::{Result, anyhow, bail};
use trestle_compiler::DefinedTableIndex;

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
    pub(crate) instance: StoreInstanceIndex,
    pub(crate) defined: DefinedTableIndex,
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
            instance: t.instance.as_u32(),
            index: t.defined.as_u32(),
        }
    }
}

impl Table {
    /// The instance id of tables created by the host with [`Table::new`].
    pub const HOST_INSTANCE: u32 = u32::MAX;

    /// The handle of store table `index`.
    pub(crate) fn from_store_index(store: &StoreOpaque, index: StoreTableIndex) -> Table {
        let (instance, defined) = store.tables[index].owner();
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
    pub(crate) fn index(&self, store: &StoreOpaque) -> StoreTableIndex {
        store.assert_owns(self.store);
        if self.instance == StoreInstanceIndex::HOST {
            store.host_tables[self.defined]
        } else {
            let data = &store.instances[self.instance];
            data.tables[data.info().table_index(self.defined)]
        }
    }

    /// A new table owned by the host, every element set to `init`.
    ///
    /// # Errors
    ///
    /// When `init` is not of the element type or belongs to another store,
    /// the minimum is over the maximum or the implementation's limits
    /// ([`crate::MAX_TABLE_ELEMENTS`], [`crate::MAX_STORE_TABLE_ELEMENTS`]), or
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
        let raw = init.to_raw(store)?;
        let owner = (StoreInstanceIndex::HOST, store.host_tables.next_key());
        // SAFETY: the table owns its definition.
        let index = unsafe { store.new_table(ty.inner, TableInit::Value(raw), None, owner)? };
        store.host_tables.push(index);
        Ok(Table::from_store_index(store, index))
    }

    /// The table's type, with its current size ([`Table::size`]) as the
    /// minimum, as [`crate::Memory::ty`] reports a memory's; this is the
    /// type import matching checks.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let store = &store.as_context().0.opaque;
        let index = self.index(store);
        TableType::from_wasm(store.tables[index].current_ty())
    }

    /// The element at `index`, or `None` when out of bounds.
    ///
    /// # Panics
    ///
    /// When the table belongs to another store.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Ref> {
        let store = &mut store.as_context_mut().0.opaque;
        let t = self.index(store);
        let raw = store.table_get(t, index)?;
        let heap = HeapType::from_wasm(store.tables[t].element().heap);
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
        store.tables[t].set(index, raw)?;
        Ok(())
    }

    fn checked_raw(store: &StoreOpaque, t: StoreTableIndex, val: Ref) -> Result<usize> {
        let ty = TableType::from_wasm(store.tables[t].ty());
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
        store.tables[t].len()
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
            .table_grow(t, delta, raw, &Meter::OFF)?
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
        store.tables[t].fill(dst, raw, len, &Meter::OFF)?;
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
        if store.tables[dst].element() != store.tables[src].element() {
            bail!("cannot copy between tables of different element types");
        }
        let (tables, items) = store.tables_and_items();
        crate::vm::Table::copy(
            tables,
            dst,
            dst_index,
            src,
            src_index,
            len,
            &items,
            &Meter::OFF,
        )?;
        Ok(())
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_instance_is_the_store_index_of_host_tables() {
        assert_eq!(StoreInstanceIndex::HOST.as_u32(), Table::HOST_INSTANCE);
    }
}
