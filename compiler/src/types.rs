//! The description of a module that the runtime instantiates from.

use crate::index::*;
use cranelift_entity::{EntityRef, PrimaryMap};
use std::sync::Arc;

/// A value type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub enum WasmValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(WasmRefType),
}

/// A heap type: what a reference points at.
///
/// Concrete types are named by their engine-wide canonical id (see
/// [`ModuleInfo::type_ids`]); while a recursion group is being
/// canonicalized, a reference to a member of the same group carries
/// [`CanonicalTypeId::rec_group_local`] of the member's position in the
/// group instead.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub enum WasmHeapType {
    /// `func`: any function.
    Func,
    /// `nofunc`: the bottom of the function hierarchy (only null).
    NoFunc,
    /// `extern`: any host value.
    Extern,
    /// `noextern`: the bottom of the extern hierarchy (only null).
    NoExtern,
    /// `exn`: any exception (the exception-handling proposal).
    Exn,
    /// `noexn`: the bottom of the exception hierarchy (only null).
    NoExn,
    /// `any`: the top of the GC hierarchy.
    Any,
    /// `eq`: GC values comparable with `ref.eq`.
    Eq,
    /// `i31`: unboxed 31-bit integers.
    I31,
    /// `struct`: any GC structure.
    Struct,
    /// `array`: any GC array.
    Array,
    /// `none`: the bottom of the GC hierarchy (only null).
    None,
    /// Functions of one concrete type.
    ConcreteFunc(CanonicalTypeId),
    /// Arrays of one concrete type.
    ConcreteArray(CanonicalTypeId),
    /// Structures of one concrete type.
    ConcreteStruct(CanonicalTypeId),
}

/// Which of the three hierarchies of reference types a heap type is in,
/// which also decides how compiled code represents the reference.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub enum RefFamily {
    /// Functions: a pointer to a `VMFuncRef`, 0 for null.
    Func,
    /// Host values: an externref heap slot plus one, 0 for null.
    Extern,
    /// GC values (`any` and below): a heap slot plus one, 0 for null.
    Any,
    /// Exceptions (`exn`, `noexn`): a heap slot plus one, 0 for null.
    Exn,
}

impl WasmHeapType {
    /// The hierarchy the type belongs to.
    pub fn family(self) -> RefFamily {
        use WasmHeapType as H;
        match self {
            H::Func | H::NoFunc | H::ConcreteFunc(_) => RefFamily::Func,
            H::Extern | H::NoExtern => RefFamily::Extern,
            H::Exn | H::NoExn => RefFamily::Exn,
            H::Any
            | H::Eq
            | H::I31
            | H::Struct
            | H::Array
            | H::None
            | H::ConcreteArray(_)
            | H::ConcreteStruct(_) => RefFamily::Any,
        }
    }

    /// The concrete type id, for a concrete heap type.
    pub fn concrete(self) -> Option<CanonicalTypeId> {
        match self {
            WasmHeapType::ConcreteFunc(id)
            | WasmHeapType::ConcreteArray(id)
            | WasmHeapType::ConcreteStruct(id) => Some(id),
            _ => None,
        }
    }

    /// The same heap type with its concrete id passed through `f`.
    pub fn map_concrete(self, f: impl FnOnce(CanonicalTypeId) -> CanonicalTypeId) -> Self {
        match self {
            WasmHeapType::ConcreteFunc(id) => WasmHeapType::ConcreteFunc(f(id)),
            WasmHeapType::ConcreteArray(id) => WasmHeapType::ConcreteArray(f(id)),
            WasmHeapType::ConcreteStruct(id) => WasmHeapType::ConcreteStruct(f(id)),
            other => other,
        }
    }

    /// Whether every value of `self` is a value of `other`. `supertype`
    /// gives the declared supertype of a concrete type id.
    pub fn is_subtype_of(
        self,
        other: WasmHeapType,
        supertype: &dyn Fn(CanonicalTypeId) -> Option<CanonicalTypeId>,
    ) -> bool {
        use WasmHeapType as H;
        if self == other {
            return true;
        }
        match (self, other) {
            (H::NoFunc, o) => o.family() == RefFamily::Func,
            (H::NoExtern, o) => o.family() == RefFamily::Extern,
            (H::NoExn, o) => o.family() == RefFamily::Exn,
            (H::None, o) => o.family() == RefFamily::Any,
            (H::ConcreteFunc(_), H::Func) => true,
            (H::ConcreteArray(_), H::Array | H::Eq | H::Any) => true,
            (H::ConcreteStruct(_), H::Struct | H::Eq | H::Any) => true,
            (H::I31 | H::Struct | H::Array, H::Eq | H::Any) => true,
            (H::Eq, H::Any) => true,
            (H::ConcreteFunc(a), H::ConcreteFunc(b))
            | (H::ConcreteArray(a), H::ConcreteArray(b))
            | (H::ConcreteStruct(a), H::ConcreteStruct(b)) => {
                let mut at = a;
                // Supertype chains are finite and acyclic (validation
                // checks declared supertypes precede their subtypes).
                while let Some(up) = supertype(at) {
                    if up == b {
                        return true;
                    }
                    at = up;
                }
                false
            }
            _ => false,
        }
    }
}

/// A reference type: a heap type and whether null is included.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub struct WasmRefType {
    /// Whether null is a value of the type.
    pub nullable: bool,
    /// What non-null values point at.
    pub heap: WasmHeapType,
}

impl WasmRefType {
    /// `funcref`.
    pub const FUNCREF: WasmRefType = WasmRefType {
        nullable: true,
        heap: WasmHeapType::Func,
    };
    /// `externref`.
    pub const EXTERNREF: WasmRefType = WasmRefType {
        nullable: true,
        heap: WasmHeapType::Extern,
    };

    /// The hierarchy of the heap type.
    pub fn family(self) -> RefFamily {
        self.heap.family()
    }

    /// Whether the references are `VMFuncRef` pointers.
    pub fn is_func(self) -> bool {
        self.family() == RefFamily::Func
    }

    /// Whether every value of `self` is a value of `other`.
    pub fn is_subtype_of(
        self,
        other: WasmRefType,
        supertype: &dyn Fn(CanonicalTypeId) -> Option<CanonicalTypeId>,
    ) -> bool {
        (!self.nullable || other.nullable) && self.heap.is_subtype_of(other.heap, supertype)
    }
}

/// How an array element or a structure field is stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub enum WasmStorageType {
    /// A packed 8-bit integer.
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A full value.
    Val(WasmValType),
}

impl WasmStorageType {
    /// The value type operators see (packed types widen to `i32`).
    pub fn unpacked(self) -> WasmValType {
        match self {
            WasmStorageType::I8 | WasmStorageType::I16 => WasmValType::I32,
            WasmStorageType::Val(v) => v,
        }
    }
}

/// An array element or a structure field.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub struct WasmFieldType {
    /// How it is stored.
    pub storage: WasmStorageType,
    /// Whether it can be written after allocation.
    pub mutable: bool,
}

/// The shape of a defined type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, Hash)]
pub enum WasmCompositeType {
    /// A function type.
    Func(WasmFuncType),
    /// An array type: its element.
    Array(WasmFieldType),
    /// A structure type: its fields.
    Struct(Box<[WasmFieldType]>),
}

/// A defined type with its place in the subtyping hierarchy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, Hash)]
pub struct WasmSubType {
    /// Whether the type may have subtypes (`final` forbids them).
    pub is_final: bool,
    /// The declared supertype's canonical id.
    pub supertype: Option<CanonicalTypeId>,
    /// The shape.
    pub composite: WasmCompositeType,
}

impl WasmValType {
    /// The same type with every concrete type id passed through `f`.
    pub fn map_ids(self, f: &dyn Fn(CanonicalTypeId) -> CanonicalTypeId) -> Self {
        match self {
            WasmValType::Ref(r) => WasmValType::Ref(WasmRefType {
                nullable: r.nullable,
                heap: r.heap.map_concrete(f),
            }),
            other => other,
        }
    }
}

impl WasmFieldType {
    fn map_ids(self, f: &dyn Fn(CanonicalTypeId) -> CanonicalTypeId) -> Self {
        WasmFieldType {
            storage: match self.storage {
                WasmStorageType::Val(v) => WasmStorageType::Val(v.map_ids(f)),
                packed => packed,
            },
            mutable: self.mutable,
        }
    }
}

impl WasmSubType {
    /// The same type with every concrete type id it names (its supertype
    /// and the types inside it) passed through `f`.
    pub fn map_ids(&self, f: &dyn Fn(CanonicalTypeId) -> CanonicalTypeId) -> Self {
        WasmSubType {
            is_final: self.is_final,
            supertype: self.supertype.map(f),
            composite: match &self.composite {
                WasmCompositeType::Func(func) => WasmCompositeType::Func(WasmFuncType {
                    params: func.params.iter().map(|t| t.map_ids(f)).collect(),
                    results: func.results.iter().map(|t| t.map_ids(f)).collect(),
                }),
                WasmCompositeType::Array(e) => WasmCompositeType::Array(e.map_ids(f)),
                WasmCompositeType::Struct(fields) => {
                    WasmCompositeType::Struct(fields.iter().map(|x| x.map_ids(f)).collect())
                }
            },
        }
    }

    /// This member of a recursion group whose first member has canonical
    /// id `base`, with its references to the group's members
    /// ([`CanonicalTypeId::rec_group_local`] positions) resolved to their
    /// ids.
    pub fn in_group(&self, base: CanonicalTypeId) -> Self {
        self.map_ids(&|id| match id.rec_group_position() {
            Some(position) => base.offset(position),
            None => id,
        })
    }

    /// The function type, or an empty one for arrays and structures (for
    /// tables indexed by type that hold a function type for every type).
    pub fn func_or_empty(&self) -> WasmFuncType {
        self.as_func().cloned().unwrap_or(WasmFuncType {
            params: Box::new([]),
            results: Box::new([]),
        })
    }

    /// A final function type without supertype: what a function type
    /// written without `sub` is.
    pub fn final_func(ty: WasmFuncType) -> Self {
        WasmSubType {
            is_final: true,
            supertype: None,
            composite: WasmCompositeType::Func(ty),
        }
    }

    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&WasmFuncType> {
        match &self.composite {
            WasmCompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The concrete heap type of references to this type, with id `id`.
    pub fn heap_type(&self, id: CanonicalTypeId) -> WasmHeapType {
        match self.composite {
            WasmCompositeType::Func(_) => WasmHeapType::ConcreteFunc(id),
            WasmCompositeType::Array(_) => WasmHeapType::ConcreteArray(id),
            WasmCompositeType::Struct(_) => WasmHeapType::ConcreteStruct(id),
        }
    }
}

/// A function type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, Hash)]
pub struct WasmFuncType {
    /// Parameter types.
    pub params: Box<[WasmValType]>,
    /// Result types.
    pub results: Box<[WasmValType]>,
}

/// A table type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub struct WasmTableType {
    /// Element type.
    pub element: WasmRefType,
    /// Minimum number of elements.
    pub minimum: u64,
    /// Maximum number of elements.
    pub maximum: Option<u64>,
    /// Whether the table is indexed by `i64` (table64).
    pub table64: bool,
}

/// A memory type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub struct WasmMemoryType {
    /// Minimum size in 64 KiB pages.
    pub minimum: u64,
    /// Maximum size in pages.
    pub maximum: Option<u64>,
    /// Whether the memory is indexed by `i64` (memory64).
    pub memory64: bool,
    /// Whether the memory is shared (threads); never accepted today.
    pub shared: bool,
}

/// A global type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub struct WasmGlobalType {
    /// The value type.
    pub ty: WasmValType,
    /// Whether `global.set` is allowed.
    pub mutable: bool,
}

/// One operator of a constant expression.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq)]
pub enum ConstOp {
    /// `i32.const`.
    I32(i32),
    /// `i64.const`.
    I64(i64),
    /// `f32.const`, by bits.
    F32(u32),
    /// `f64.const`, by bits.
    F64(u64),
    /// `v128.const`.
    V128(u128),
    /// `global.get`.
    GlobalGet(GlobalIndex),
    /// `ref.null` of a heap type.
    RefNull(WasmHeapType),
    /// `ref.func`.
    RefFunc(FuncIndex),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
    /// `array.new $t` (a type index): the length and the initial value are on the stack.
    ArrayNew(TypeIndex),
    /// `array.new_default $t`: the length is on the stack.
    ArrayNewDefault(TypeIndex),
    /// `array.new_fixed $t n`: the `n` elements are on the stack.
    ArrayNewFixed(TypeIndex, u32),
}

/// A constant expression: a stack program of [`ConstOp`]s with one result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ConstExpr {
    /// The operators, in order.
    pub ops: Box<[ConstOp]>,
}

/// Something a module imports or exports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Copy, PartialEq, Eq, Hash)]
pub enum EntityIndex {
    /// A function, in the function index space.
    Function(FuncIndex),
    /// A table, in the table index space.
    Table(TableIndex),
    /// A memory, in the memory index space.
    Memory(MemoryIndex),
    /// A global, in the global index space.
    Global(GlobalIndex),
    /// A tag, in the tag index space.
    Tag(TagIndex),
}

/// An import: the names and the index it occupies.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// Index in its index space (imports come first in each space).
    pub index: EntityIndex,
}

/// An export.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// The exported entity.
    pub index: EntityIndex,
}

/// How an element or data segment is applied; `I` is the index of the
/// entity an active segment is copied into ([`TableIndex`] or
/// [`MemoryIndex`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub enum SegmentMode<I> {
    /// Copied into table/memory `index` at `offset` during instantiation.
    Active {
        /// Table or memory index.
        index: I,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `table.init`/`memory.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// The items of an element segment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub enum ElementItems {
    /// Function indices.
    Functions(Box<[FuncIndex]>),
    /// Constant expressions of the segment's element type.
    Expressions(Box<[ConstExpr]>),
}

impl ElementItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ElementItems::Functions(f) => f.len(),
            ElementItems::Expressions(e) => e.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ElementSegment {
    /// How it is applied.
    pub mode: SegmentMode<TableIndex>,
    /// The element type.
    pub element: WasmRefType,
    /// The items.
    pub items: ElementItems,
}

/// A data segment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct DataSegment {
    /// How it is applied (never [`SegmentMode::Declared`]).
    pub mode: SegmentMode<MemoryIndex>,
    /// The bytes.
    pub data: Box<[u8]>,
}

/// Everything about a module except its code.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, Default)]
pub struct ModuleInfo {
    /// The function types of the type section, by type index. The entry of
    /// an array or a structure type is an empty function type that is
    /// never used: validation lets only function types be named where a
    /// function type is expected.
    #[serde(with = "crate::artifact::primary_map")]
    pub types: PrimaryMap<TypeIndex, Arc<WasmFuncType>>,
    /// Every type of the type section with its supertype, by type index.
    #[serde(with = "crate::artifact::primary_map")]
    pub sub_types: PrimaryMap<TypeIndex, Arc<WasmSubType>>,
    /// The engine-wide canonical id of each type, by type index.
    #[serde(with = "crate::artifact::primary_map")]
    pub type_ids: PrimaryMap<TypeIndex, CanonicalTypeId>,
    /// Imports, in order.
    pub imports: Vec<Import>,
    /// Exports, in order.
    pub exports: Vec<Export>,
    /// Type index of every function (imported first).
    #[serde(with = "crate::artifact::primary_map")]
    pub functions: PrimaryMap<FuncIndex, TypeIndex>,
    /// Every table (imported first).
    #[serde(with = "crate::artifact::primary_map")]
    pub tables: PrimaryMap<TableIndex, WasmTableType>,
    /// Every memory (imported first).
    #[serde(with = "crate::artifact::primary_map")]
    pub memories: PrimaryMap<MemoryIndex, WasmMemoryType>,
    /// Every global (imported first).
    #[serde(with = "crate::artifact::primary_map")]
    pub globals: PrimaryMap<GlobalIndex, WasmGlobalType>,
    /// The function type of every tag (imported first): its parameters
    /// are the exception's payload, its results are empty.
    #[serde(with = "crate::artifact::primary_map")]
    pub tags: PrimaryMap<TagIndex, TypeIndex>,
    /// Initializers of the defined globals.
    #[serde(with = "crate::artifact::primary_map")]
    pub global_inits: PrimaryMap<DefinedGlobalIndex, ConstExpr>,
    /// The initial element of each defined table: an initializer
    /// expression, or `None` for null.
    #[serde(with = "crate::artifact::primary_map")]
    pub table_inits: PrimaryMap<DefinedTableIndex, Option<ConstExpr>>,
    /// Element segments.
    #[serde(with = "crate::artifact::primary_map")]
    pub elements: PrimaryMap<ElemIndex, ElementSegment>,
    /// Data segments.
    #[serde(with = "crate::artifact::primary_map")]
    pub data: PrimaryMap<DataIndex, DataSegment>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// The functions the host may call, sorted: those exported, named in
    /// an element segment, a global's or a table's initializer (the only
    /// ones `ref.func` may name in a body), and the start function. Only
    /// they have an array-to-wasm entry trampoline.
    pub escaping_funcs: Vec<FuncIndex>,
    /// The tables (defined or imported), sorted, that the module's compiled
    /// code writes with inline stores (`table.set`, `table.grow`) rather
    /// than through the runtime, which then cannot know what was written.
    pub code_written_tables: Vec<TableIndex>,
}

/// Defines, for each index space whose imports come first, the conversion
/// of an index to the defined index (`$defined_fn`, `None` for an import)
/// and back (`$index_fn`); `$imported` is the field counting the imports.
macro_rules! index_conversions {
    ($(
        $entity:literal, $imported:ident:
            $defined_fn:ident($index:ty) -> $defined:ty, $index_fn:ident;
    )*) => {$(
        #[doc = concat!("Defined index of ", $entity, " `index`, or `None` when it is imported.")]
        pub fn $defined_fn(&self, index: $index) -> Option<$defined> {
            defined(index, self.$imported)
        }

        #[doc = concat!("The ", $entity, " index of defined ", $entity, " `index`.")]
        pub fn $index_fn(&self, index: $defined) -> $index {
            with_imports(index, self.$imported)
        }
    )*};
}

/// The defined index of `index` in a space whose first `imported` entries
/// are imports.
fn defined<I: EntityRef, D: EntityRef>(index: I, imported: u32) -> Option<D> {
    index.index().checked_sub(imported as usize).map(D::new)
}

/// The index, imports included, of `defined` in a space whose first
/// `imported` entries are imports.
fn with_imports<D: EntityRef, I: EntityRef>(defined: D, imported: u32) -> I {
    I::new(imported as usize + defined.index())
}

impl ModuleInfo {
    /// Fills [`ModuleInfo::escaping_funcs`] from the exports, the segments,
    /// the initializers and the start function.
    pub(crate) fn find_escaping_funcs(&mut self) {
        let mut funcs: Vec<FuncIndex> = Vec::new();
        let from_expr = |e: &ConstExpr, funcs: &mut Vec<FuncIndex>| {
            funcs.extend(e.ops.iter().filter_map(|op| match op {
                ConstOp::RefFunc(f) => Some(*f),
                _ => None,
            }));
        };
        for export in &self.exports {
            if let EntityIndex::Function(f) = export.index {
                funcs.push(f);
            }
        }
        funcs.extend(self.start);
        for segment in self.elements.values() {
            match &segment.items {
                ElementItems::Functions(f) => funcs.extend(f.iter().copied()),
                ElementItems::Expressions(exprs) => {
                    exprs.iter().for_each(|e| from_expr(e, &mut funcs));
                }
            }
        }
        for e in self.global_inits.values() {
            from_expr(e, &mut funcs);
        }
        for e in self.table_inits.values().flatten() {
            from_expr(e, &mut funcs);
        }
        funcs.sort_unstable();
        funcs.dedup();
        self.escaping_funcs = funcs;
    }

    /// Whether the host may call function `f` ([`ModuleInfo::escaping_funcs`]).
    pub fn is_escaping(&self, f: FuncIndex) -> bool {
        self.escaping_funcs.binary_search(&f).is_ok()
    }

    /// The vmctx layout for this module.
    ///
    /// # Errors
    ///
    /// When the module has too many entities for a vmctx.
    pub fn offsets(&self) -> Result<trestle_vmctx::VMOffsets, trestle_vmctx::LayoutError> {
        trestle_vmctx::VMOffsets::new(self.counts())
    }

    /// The counts that determine the vmctx layout.
    pub fn counts(&self) -> trestle_vmctx::ModuleCounts {
        trestle_vmctx::ModuleCounts {
            imported_funcs: self.num_imported_funcs,
            imported_tables: self.num_imported_tables,
            imported_memories: self.num_imported_memories,
            imported_globals: self.num_imported_globals,
            defined_tables: self.tables.len() as u32 - self.num_imported_tables,
            defined_memories: self.memories.len() as u32 - self.num_imported_memories,
            defined_globals: self.globals.len() as u32 - self.num_imported_globals,
            funcs: self.functions.len() as u32,
        }
    }

    /// The type of function `func`.
    ///
    /// # Panics
    ///
    /// When `func` is out of range.
    pub fn func_type(&self, func: FuncIndex) -> &Arc<WasmFuncType> {
        &self.types[self.functions[func]]
    }

    /// The canonical type id of function `func`.
    ///
    /// # Panics
    ///
    /// When `func` is out of range.
    pub fn func_type_id(&self, func: FuncIndex) -> CanonicalTypeId {
        self.type_ids[self.functions[func]]
    }

    /// Whether function `func` is imported.
    pub fn is_imported_func(&self, func: FuncIndex) -> bool {
        func.as_u32() < self.num_imported_funcs
    }

    index_conversions! {
        "function", num_imported_funcs: defined_func_index(FuncIndex) -> DefinedFuncIndex, func_index;
        "table", num_imported_tables: defined_table_index(TableIndex) -> DefinedTableIndex, table_index;
        "memory", num_imported_memories:
            defined_memory_index(MemoryIndex) -> DefinedMemoryIndex, memory_index;
        "global", num_imported_globals:
            defined_global_index(GlobalIndex) -> DefinedGlobalIndex, global_index;
    }

    /// Whether tag `tag` is imported.
    pub fn is_imported_tag(&self, tag: TagIndex) -> bool {
        tag.as_u32() < self.num_imported_tags
    }

    /// The payload types of tag `tag` (its function type's parameters).
    ///
    /// # Panics
    ///
    /// When `tag` is out of range.
    pub fn tag_type(&self, tag: TagIndex) -> &Arc<WasmFuncType> {
        &self.types[self.tags[tag]]
    }
}
