//! [`Extern`] and the handles of memories ([`memory`]), globals
//! ([`global`]) and tables ([`table`]): thin wrappers over the entities
//! the internal `vm` layer owns.

mod global;
mod memory;
mod table;

pub use global::Global;
pub use memory::Memory;
pub use table::{CTable, Table};

pub use crate::exception::Tag;

use crate::store::{StoreId, StoreOpaque};
use crate::{AsContext, ExternType, Func, FuncType, GlobalType, MemoryType, TableType};

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
    /// A tag (exception handling).
    Tag(Tag),
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

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        match self {
            Extern::Tag(t) => Some(t),
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
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        let store = &store.as_context().0.opaque;
        store.assert_owns(self.store_id());
        extern_type(store, self)
    }

    /// The id of the store the item belongs to.
    pub(crate) fn store_id(&self) -> StoreId {
        match self {
            Extern::Func(f) => f.store,
            Extern::Memory(m) => m.store,
            Extern::Table(t) => t.store,
            Extern::Global(g) => g.store,
            Extern::Tag(t) => t.store,
        }
    }
}

/// The type of an item of `store`, tables and memories with their current
/// size as the minimum.
pub(crate) fn extern_type(store: &StoreOpaque, ext: &Extern) -> ExternType {
    match ext {
        Extern::Func(f) => ExternType::Func(FuncType::from_wasm(store.funcs[f.index].ty.clone())),
        Extern::Global(g) => ExternType::Global(GlobalType::from_wasm(store.globals[g.index].ty())),
        Extern::Table(t) => {
            let table = &store.tables[t.index(store)];
            ExternType::Table(TableType::from_wasm(table.current_ty()))
        }
        Extern::Memory(m) => ExternType::Memory(MemoryType {
            inner: store.memories[m.index].current_ty(),
        }),
        Extern::Tag(t) => ExternType::Tag(store.tags[t.index].ty.clone()),
    }
}
