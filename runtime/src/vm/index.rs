//! The index spaces of a store: its instances, functions, tables,
//! memories and globals, each its own type.
//!
//! A store keeps each kind of entity in a
//! [`PrimaryMap`](cranelift_entity::PrimaryMap) keyed by one of these; the
//! public handles ([`crate::Func`], [`crate::Table`], ...) carry them, and
//! an instance maps its module's indices ([`trestle_compiler::TableIndex`],
//! ...) to them. The vmctx header holds the instance's
//! [`StoreInstanceIndex`] as a raw word.

use cranelift_entity::{EntityRef, PrimaryMap};

macro_rules! store_index_types {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub(crate) struct $name(u32);
        cranelift_entity::entity_impl!($name);
    )*};
}

store_index_types! {
    /// An instance of a store.
    StoreInstanceIndex;
    /// A function of a store: of an instance, or of the host.
    StoreFuncIndex;
    /// A table of a store.
    StoreTableIndex;
    /// A memory of a store.
    StoreMemoryIndex;
    /// A global of a store.
    StoreGlobalIndex;
    /// A tag of a store: its identity, which every instance that imports
    /// it shares.
    StoreTagIndex;
}

impl StoreInstanceIndex {
    /// The owner of the tables the host creates ([`crate::Table::new`]),
    /// which are its defined tables: no instance of the store has this
    /// index.
    pub(crate) const HOST: Self = Self(u32::MAX);
}

/// Drops the entries of `map` from `len` on.
pub(crate) fn truncate<K: EntityRef, V>(map: &mut PrimaryMap<K, V>, len: usize) {
    let mut values: Vec<V> = std::mem::take(map).into();
    values.truncate(len);
    *map = values.into();
}
