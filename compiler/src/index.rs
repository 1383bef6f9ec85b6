//! The index spaces of a module, each its own type.
//!
//! A module numbers its functions, tables, memories and globals with the
//! imported ones first ([`FuncIndex`], [`TableIndex`], [`MemoryIndex`],
//! [`GlobalIndex`]); the entities it defines have a second numbering that
//! starts at zero after the imports ([`DefinedFuncIndex`], ...), which is
//! how the vmctx and the compiled code are laid out. [`ModuleInfo`]
//! converts between the two (`defined_table_index`, `table_index`, ...).
//! Types, element segments and data segments have one numbering each
//! ([`TypeIndex`], [`ElemIndex`], [`DataIndex`]). A module's type index is
//! not the engine-wide [`CanonicalTypeId`] of the type:
//! [`ModuleInfo::type_ids`] maps one to the other.
//!
//! Each index is a `u32` in a `#[repr(transparent)]` struct that
//! implements [`cranelift_entity::EntityRef`], so it keys
//! [`PrimaryMap`](cranelift_entity::PrimaryMap)s; `from_u32` and `as_u32`
//! convert at the edges (operands wasmparser reads, libcall arguments, the
//! vmctx offsets). It displays as its number.
//!
//! [`ModuleInfo`]: crate::ModuleInfo
//! [`ModuleInfo::type_ids`]: crate::ModuleInfo::type_ids

use std::fmt;

macro_rules! index_types {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(transparent)]
        pub struct $name(u32);
        cranelift_entity::entity_impl!($name);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}

index_types! {
    /// A function of the module, imported or defined: the function index
    /// space of the specification.
    FuncIndex;
    /// A function the module defines, counted from its first defined
    /// function.
    DefinedFuncIndex;
    /// A table of the module, imported or defined.
    TableIndex;
    /// A table the module defines, counted from its first defined table.
    DefinedTableIndex;
    /// A memory of the module, imported or defined.
    MemoryIndex;
    /// A memory the module defines, counted from its first defined memory.
    DefinedMemoryIndex;
    /// A global of the module, imported or defined.
    GlobalIndex;
    /// A global the module defines, counted from its first defined global.
    DefinedGlobalIndex;
    /// A type of the module's type section.
    TypeIndex;
    /// An element segment of the module.
    ElemIndex;
    /// A data segment of the module.
    DataIndex;
    /// A tag of the module (exception handling), imported or defined.
    TagIndex;
}

/// The bit that marks a concrete type id as a position inside the
/// recursion group being canonicalized.
pub const REC_GROUP_LOCAL: u32 = 1 << 31;

/// The engine-wide canonical id of a defined type: structurally equal
/// types of any module of an engine share one, and `call_indirect`
/// compares it (the `type_id` of a [`trestle_vmctx::VMFuncRef`]) with an
/// immediate.
///
/// While a recursion group is canonicalized, a reference to a member of
/// the same group is [`CanonicalTypeId::rec_group_local`] of its position
/// instead.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[repr(transparent)]
pub struct CanonicalTypeId(u32);

impl CanonicalTypeId {
    /// The id whose raw value is `id`.
    pub const fn from_u32(id: u32) -> Self {
        Self(id)
    }

    /// The raw value, as compiled code and the vmctx hold it.
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// The reference to member `position` of the recursion group being
    /// canonicalized.
    pub const fn rec_group_local(position: u32) -> Self {
        Self(REC_GROUP_LOCAL | position)
    }

    /// The group position of a [`CanonicalTypeId::rec_group_local`]
    /// reference, `None` for a canonical id.
    pub const fn rec_group_position(self) -> Option<u32> {
        if self.0 & REC_GROUP_LOCAL != 0 {
            Some(self.0 & !REC_GROUP_LOCAL)
        } else {
            None
        }
    }

    /// The id `n` places after this one: the ids of a recursion group's
    /// members follow the first member's.
    ///
    /// # Panics
    ///
    /// When the id would overflow.
    pub fn offset(self, n: u32) -> Self {
        Self(self.0.checked_add(n).expect("canonical type id overflow"))
    }
}

impl fmt::Display for CanonicalTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
