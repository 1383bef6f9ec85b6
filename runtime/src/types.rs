//! The types of WebAssembly values and entities, as the embedding API shows
//! them.

use crate::Engine;
use std::fmt;
use std::sync::Arc;
use trestle_compiler::{
    CanonicalTypeId, RefFamily, WasmFuncType, WasmGlobalType, WasmHeapType, WasmMemoryType,
    WasmRefType, WasmTableType, WasmValType,
};

/// The engine-wide canonical id of a defined type (a function, array or
/// structure type of some module's type section, or a [`FuncType`] made by
/// the host). Ids are only meaningful within the engine that assigned them;
/// [`Engine::func_type`] gives the function type behind one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeIndex(pub(crate) u32);

impl TypeIndex {
    /// The public form of canonical id `id`.
    pub(crate) fn from_canonical(id: CanonicalTypeId) -> Self {
        TypeIndex(id.as_u32())
    }

    /// The canonical id this names.
    pub(crate) fn canonical(self) -> CanonicalTypeId {
        CanonicalTypeId::from_u32(self.0)
    }
}

/// The heap type a reference points into: one of the abstract types of the
/// three hierarchies (functions, host values, GC values), or a concrete
/// defined type.
///
/// The concrete variants name their type by [`TypeIndex`], where Wasmtime's
/// carry the type itself; [`Engine::func_type`] turns an index of a
/// function type into its [`FuncType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Functions of any type.
    Func,
    /// No function: the bottom of the function hierarchy (only null).
    NoFunc,
    /// Host values.
    Extern,
    /// No host value: the bottom of the extern hierarchy (only null).
    NoExtern,
    /// Exceptions.
    Exn,
    /// No exception: the bottom of the exception hierarchy (only null).
    NoExn,
    /// Any GC value.
    Any,
    /// GC values that `ref.eq` compares.
    Eq,
    /// Unboxed 31-bit integers.
    I31,
    /// Any GC structure.
    Struct,
    /// Any GC array.
    Array,
    /// No GC value: the bottom of the GC hierarchy (only null).
    None,
    /// Functions of one concrete type.
    ConcreteFunc(TypeIndex),
    /// Arrays of one concrete type.
    ConcreteArray(TypeIndex),
    /// Structures of one concrete type.
    ConcreteStruct(TypeIndex),
}

impl HeapType {
    pub(crate) fn from_wasm(h: WasmHeapType) -> Self {
        use WasmHeapType as W;
        match h {
            W::Func => HeapType::Func,
            W::NoFunc => HeapType::NoFunc,
            W::Extern => HeapType::Extern,
            W::NoExtern => HeapType::NoExtern,
            W::Exn => HeapType::Exn,
            W::NoExn => HeapType::NoExn,
            W::Any => HeapType::Any,
            W::Eq => HeapType::Eq,
            W::I31 => HeapType::I31,
            W::Struct => HeapType::Struct,
            W::Array => HeapType::Array,
            W::None => HeapType::None,
            W::ConcreteFunc(id) => HeapType::ConcreteFunc(TypeIndex::from_canonical(id)),
            W::ConcreteArray(id) => HeapType::ConcreteArray(TypeIndex::from_canonical(id)),
            W::ConcreteStruct(id) => HeapType::ConcreteStruct(TypeIndex::from_canonical(id)),
        }
    }

    pub(crate) fn to_wasm(self) -> WasmHeapType {
        use WasmHeapType as W;
        match self {
            HeapType::Func => W::Func,
            HeapType::NoFunc => W::NoFunc,
            HeapType::Extern => W::Extern,
            HeapType::NoExtern => W::NoExtern,
            HeapType::Exn => W::Exn,
            HeapType::NoExn => W::NoExn,
            HeapType::Any => W::Any,
            HeapType::Eq => W::Eq,
            HeapType::I31 => W::I31,
            HeapType::Struct => W::Struct,
            HeapType::Array => W::Array,
            HeapType::None => W::None,
            HeapType::ConcreteFunc(t) => W::ConcreteFunc(t.canonical()),
            HeapType::ConcreteArray(t) => W::ConcreteArray(t.canonical()),
            HeapType::ConcreteStruct(t) => W::ConcreteStruct(t.canonical()),
        }
    }

    /// Whether this is in the function hierarchy (`func`, `nofunc` or a
    /// concrete function type).
    pub fn is_func(&self) -> bool {
        self.to_wasm().family() == RefFamily::Func
    }

    /// Whether this is in the host-value hierarchy (`extern`, `noextern`).
    pub fn is_extern(&self) -> bool {
        self.to_wasm().family() == RefFamily::Extern
    }

    /// Whether this is in the GC hierarchy (`any` and below).
    pub fn is_any(&self) -> bool {
        self.to_wasm().family() == RefFamily::Any
    }

    /// Whether this is in the exception hierarchy (`exn`, `noexn`).
    pub fn is_exn(&self) -> bool {
        self.to_wasm().family() == RefFamily::Exn
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::ConcreteFunc(t)
            | HeapType::ConcreteArray(t)
            | HeapType::ConcreteStruct(t) => {
                write!(f, "type#{}", t.0)
            }
        }
    }
}

/// A reference type: references into a heap type, with or without null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    nullable: bool,
    heap_type: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType::new(true, HeapType::Func);
    /// `externref`.
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::Extern);
    /// `anyref`.
    pub const ANYREF: RefType = RefType::new(true, HeapType::Any);
    /// `eqref`.
    pub const EQREF: RefType = RefType::new(true, HeapType::Eq);
    /// `arrayref`.
    pub const ARRAYREF: RefType = RefType::new(true, HeapType::Array);
    /// `exnref`.
    pub const EXNREF: RefType = RefType::new(true, HeapType::Exn);

    /// A reference type.
    pub const fn new(nullable: bool, heap_type: HeapType) -> Self {
        Self {
            nullable,
            heap_type,
        }
    }

    /// Whether the type includes null.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// The heap type.
    pub fn heap_type(&self) -> &HeapType {
        &self.heap_type
    }

    pub(crate) fn from_wasm(r: WasmRefType) -> Self {
        Self {
            nullable: r.nullable,
            heap_type: HeapType::from_wasm(r.heap),
        }
    }

    pub(crate) fn to_wasm(self) -> WasmRefType {
        WasmRefType {
            nullable: self.nullable,
            heap: self.heap_type.to_wasm(),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abbreviation = match self.heap_type {
            HeapType::Func => "funcref",
            HeapType::NoFunc => "nullfuncref",
            HeapType::Extern => "externref",
            HeapType::NoExtern => "nullexternref",
            HeapType::Exn => "exnref",
            HeapType::NoExn => "nullexnref",
            HeapType::Any => "anyref",
            HeapType::Eq => "eqref",
            HeapType::I31 => "i31ref",
            HeapType::Struct => "structref",
            HeapType::Array => "arrayref",
            HeapType::None => "nullref",
            _ => "",
        };
        match (self.nullable, abbreviation) {
            (true, a) if !a.is_empty() => f.write_str(a),
            (true, _) => write!(f, "(ref null {})", self.heap_type),
            (false, _) => write!(f, "(ref {})", self.heap_type),
        }
    }
}

/// The type of a WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
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
    Ref(RefType),
}

impl ValType {
    /// `funcref`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `anyref`.
    pub const ANYREF: ValType = ValType::Ref(RefType::ANYREF);
    /// `exnref`.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// Whether this is `i32`, `i64`, `f32` or `f64`.
    pub fn is_num(&self) -> bool {
        matches!(
            self,
            ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64
        )
    }

    /// Whether this is a reference type.
    pub fn is_ref(&self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    pub(crate) fn from_wasm(t: WasmValType) -> Self {
        match t {
            WasmValType::I32 => ValType::I32,
            WasmValType::I64 => ValType::I64,
            WasmValType::F32 => ValType::F32,
            WasmValType::F64 => ValType::F64,
            WasmValType::V128 => ValType::V128,
            WasmValType::Ref(r) => ValType::Ref(RefType::from_wasm(r)),
        }
    }

    pub(crate) fn to_wasm(self) -> WasmValType {
        match self {
            ValType::I32 => WasmValType::I32,
            ValType::I64 => WasmValType::I64,
            ValType::F32 => WasmValType::F32,
            ValType::F64 => WasmValType::F64,
            ValType::V128 => WasmValType::V128,
            ValType::Ref(r) => WasmValType::Ref(r.to_wasm()),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => r.fmt(f),
        }
    }
}

/// The type of a function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    pub(crate) inner: Arc<WasmFuncType>,
}

impl FuncType {
    /// A function type with these parameters and results.
    ///
    /// The engine is taken for compatibility with Wasmtime's signature;
    /// types are compared structurally across engines.
    pub fn new(
        _engine: &Engine,
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        Self::from_wasm(Arc::new(WasmFuncType {
            params: params.into_iter().map(ValType::to_wasm).collect(),
            results: results.into_iter().map(ValType::to_wasm).collect(),
        }))
    }

    pub(crate) fn from_wasm(inner: Arc<WasmFuncType>) -> Self {
        Self { inner }
    }

    /// The parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.inner.params.iter().map(|t| ValType::from_wasm(*t))
    }

    /// The result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.inner.results.iter().map(|t| ValType::from_wasm(*t))
    }

    /// The `n`th parameter type.
    pub fn param(&self, n: usize) -> Option<ValType> {
        self.inner.params.get(n).map(|t| ValType::from_wasm(*t))
    }

    /// The `n`th result type.
    pub fn result(&self, n: usize) -> Option<ValType> {
        self.inner.results.get(n).map(|t| ValType::from_wasm(*t))
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.inner.params.is_empty() {
            f.write_str(" (param")?;
            for p in self.params() {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.inner.results.is_empty() {
            f.write_str(" (result")?;
            for r in self.results() {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// Whether a global can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// The type of a global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        Self {
            content,
            mutability,
        }
    }

    /// The value type.
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// The mutability.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// Whether the global is mutable.
    pub fn is_mutable(&self) -> bool {
        self.mutability == Mutability::Var
    }

    pub(crate) fn from_wasm(g: WasmGlobalType) -> Self {
        Self::new(
            ValType::from_wasm(g.ty),
            if g.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
        )
    }

    pub(crate) fn to_wasm(self) -> WasmGlobalType {
        WasmGlobalType {
            ty: self.content.to_wasm(),
            mutable: self.is_mutable(),
        }
    }
}

/// As in the text format: `(global i32)`, `(global (mut externref))`.
impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mutability {
            Mutability::Const => write!(f, "(global {})", self.content),
            Mutability::Var => write!(f, "(global (mut {}))", self.content),
        }
    }
}

/// Writes the start of a table or memory type as the text format does:
/// `(table`, the index type when it is `i64`, and the limits (` min` or
/// ` min max`).
fn write_sized_head(
    f: &mut fmt::Formatter<'_>,
    keyword: &str,
    is_64: bool,
    (minimum, maximum): (u64, Option<u64>),
) -> fmt::Result {
    write!(f, "({keyword}")?;
    if is_64 {
        f.write_str(" i64")?;
    }
    write!(f, " {minimum}")?;
    match maximum {
        Some(max) => write!(f, " {max}"),
        None => Ok(()),
    }
}

/// The accessors of the limits and index type of a table or memory type
/// (`$what`), kept in its field `inner`: `$unit` says what the limits
/// count and `$is_64` names the field of a 64-bit index type.
macro_rules! limits_accessors {
    ($what:literal, $unit:literal, $is_64:ident) => {
        #[doc = concat!("The minimum ", $unit, ".")]
        pub fn minimum(&self) -> u64 {
            self.inner.minimum
        }

        #[doc = concat!("The maximum ", $unit, ".")]
        pub fn maximum(&self) -> Option<u64> {
            self.inner.maximum
        }

        #[doc = concat!("Whether the ", $what, " is indexed by `i64`.")]
        pub fn is_64(&self) -> bool {
            self.inner.$is_64
        }
    };
}

/// The type of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    pub(crate) inner: WasmTableType,
    element: RefType,
}

impl TableType {
    /// A table of `element` with 32-bit indices.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> Self {
        Self::from_wasm(WasmTableType {
            element: element.to_wasm(),
            minimum: u64::from(minimum),
            maximum: maximum.map(u64::from),
            table64: false,
        })
    }

    /// A table of `element` with 64-bit indices (table64).
    pub fn new64(element: RefType, minimum: u64, maximum: Option<u64>) -> Self {
        Self::from_wasm(WasmTableType {
            element: element.to_wasm(),
            minimum,
            maximum,
            table64: true,
        })
    }

    pub(crate) fn from_wasm(inner: WasmTableType) -> Self {
        Self {
            inner,
            element: RefType::from_wasm(inner.element),
        }
    }

    /// The element type.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    limits_accessors!("table", "number of elements", table64);
}

/// As in the text format: `(table 1 10 funcref)`, `(table i64 0 externref)`.
impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limits = (self.minimum(), self.maximum());
        write_sized_head(f, "table", self.is_64(), limits)?;
        write!(f, " {})", self.element)
    }
}

/// The type of a linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    pub(crate) inner: WasmMemoryType,
}

impl MemoryType {
    /// A 32-bit memory of `minimum` pages, at most `maximum`.
    pub fn new(minimum: u32, maximum: Option<u32>) -> Self {
        Self {
            inner: WasmMemoryType {
                minimum: u64::from(minimum),
                maximum: maximum.map(u64::from),
                memory64: false,
                shared: false,
            },
        }
    }

    /// A 64-bit memory (indexed by `i64`, the memory64 proposal) of
    /// `minimum` pages, at most `maximum`. Trestle gives a 64-bit memory at
    /// most [`crate::MAX_MEMORY64_PAGES`] pages; the type may declare more.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> Self {
        Self {
            inner: WasmMemoryType {
                minimum,
                maximum,
                memory64: true,
                shared: false,
            },
        }
    }

    limits_accessors!("memory", "size in pages", memory64);

    /// Whether the memory is shared between threads (never, today).
    pub fn is_shared(&self) -> bool {
        self.inner.shared
    }
}

/// As in the text format: `(memory 1)`, `(memory 1 2)`.
impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limits = (self.minimum(), self.maximum());
        write_sized_head(f, "memory", self.is_64(), limits)?;
        if self.is_shared() {
            f.write_str(" shared")?;
        }
        f.write_str(")")
    }
}

/// The type of a tag: a function type whose parameters are the payload
/// of the exceptions it tags and whose results are empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagType {
    pub(crate) ty: FuncType,
}

impl TagType {
    /// The tag type of function type `ty`.
    pub fn new(ty: FuncType) -> Self {
        Self { ty }
    }

    /// The function type: its parameters are the payload.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

/// As in the text format: `(tag (param i32))`.
impl fmt::Display for TagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(tag")?;
        for p in self.ty.params() {
            write!(f, " (param {p})")?;
        }
        f.write_str(")")
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A tag (exception handling).
    Tag(TagType),
}

impl ExternType {
    /// The tag type, if this is one.
    pub fn tag(&self) -> Option<&TagType> {
        match self {
            ExternType::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// The function type, if this is one.
    pub fn func(&self) -> Option<&FuncType> {
        match self {
            ExternType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The global type, if this is one.
    pub fn global(&self) -> Option<&GlobalType> {
        match self {
            ExternType::Global(g) => Some(g),
            _ => None,
        }
    }

    /// The table type, if this is one.
    pub fn table(&self) -> Option<&TableType> {
        match self {
            ExternType::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The memory type, if this is one.
    pub fn memory(&self) -> Option<&MemoryType> {
        match self {
            ExternType::Memory(m) => Some(m),
            _ => None,
        }
    }
}

/// As in the text format: `(func (param i32) (result i64))`,
/// `(global (mut i32))`, `(table 1 10 funcref)`, `(memory 1 2)`.
impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(t) => t.fmt(f),
            ExternType::Global(t) => t.fmt(f),
            ExternType::Table(t) => t.fmt(f),
            ExternType::Memory(t) => t.fmt(f),
            ExternType::Tag(t) => t.fmt(f),
        }
    }
}

/// One import of a module.
#[derive(Debug, Clone)]
pub struct ImportType<'module> {
    pub(crate) module: &'module str,
    pub(crate) name: &'module str,
    pub(crate) ty: ExternType,
}

impl<'module> ImportType<'module> {
    /// The module name.
    pub fn module(&self) -> &'module str {
        self.module
    }

    /// The field name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Debug, Clone)]
pub struct ExportType<'module> {
    pub(crate) name: &'module str,
    pub(crate) ty: ExternType,
}

impl<'module> ExportType<'module> {
    /// The export name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The exported type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}
