//! The description of a module that the runtime instantiates from.

use std::sync::Arc;

/// A value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A reference type. Only the two nullable abstract types of the
/// reference-types proposal are supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmRefType {
    /// `funcref`.
    Func,
    /// `externref`.
    Extern,
}

/// A function type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WasmFuncType {
    /// Parameter types.
    pub params: Box<[WasmValType]>,
    /// Result types.
    pub results: Box<[WasmValType]>,
}

/// A table type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WasmGlobalType {
    /// The value type.
    pub ty: WasmValType,
    /// Whether `global.set` is allowed.
    pub mutable: bool,
}

/// One operator of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    GlobalGet(u32),
    /// `ref.null`.
    RefNull(WasmRefType),
    /// `ref.func`.
    RefFunc(u32),
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
}

/// A constant expression: a stack program of [`ConstOp`]s with one result.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstExpr {
    /// The operators, in order.
    pub ops: Box<[ConstOp]>,
}

/// Something a module imports or exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityIndex {
    /// A function, in the function index space.
    Function(u32),
    /// A table, in the table index space.
    Table(u32),
    /// A memory, in the memory index space.
    Memory(u32),
    /// A global, in the global index space.
    Global(u32),
}

/// An import: the names and the index it occupies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// Index in its index space (imports come first in each space).
    pub index: EntityIndex,
}

/// An export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// The exported entity.
    pub index: EntityIndex,
}

/// How an element or data segment is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentMode {
    /// Copied into table/memory `index` at `offset` during instantiation.
    Active {
        /// Table or memory index.
        index: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `table.init`/`memory.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// The items of an element segment.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementItems {
    /// Function indices.
    Functions(Box<[u32]>),
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
#[derive(Debug, Clone, PartialEq)]
pub struct ElementSegment {
    /// How it is applied.
    pub mode: SegmentMode,
    /// The element type.
    pub element: WasmRefType,
    /// The items.
    pub items: ElementItems,
}

/// A data segment.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSegment {
    /// How it is applied (never [`SegmentMode::Declared`]).
    pub mode: SegmentMode,
    /// The bytes.
    pub data: Box<[u8]>,
}

/// Everything about a module except its code.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// The type section, by type index.
    pub types: Vec<Arc<WasmFuncType>>,
    /// The engine-wide canonical id of each type, by type index.
    pub type_ids: Vec<u32>,
    /// Imports, in order.
    pub imports: Vec<Import>,
    /// Exports, in order.
    pub exports: Vec<Export>,
    /// Type index of every function (imported first).
    pub functions: Vec<u32>,
    /// Every table (imported first).
    pub tables: Vec<WasmTableType>,
    /// Every memory (imported first).
    pub memories: Vec<WasmMemoryType>,
    /// Every global (imported first).
    pub globals: Vec<WasmGlobalType>,
    /// Initializers of the defined globals.
    pub global_inits: Vec<ConstExpr>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// The start function.
    pub start: Option<u32>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Functions that may be referenced by `ref.func` or escape through
    /// exports, tables and segments.
    pub escaping_funcs: Vec<u32>,
}

impl ModuleInfo {
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
    pub fn func_type(&self, func: u32) -> &Arc<WasmFuncType> {
        &self.types[self.functions[func as usize] as usize]
    }

    /// The canonical type id of function `func`.
    ///
    /// # Panics
    ///
    /// When `func` is out of range.
    pub fn func_type_id(&self, func: u32) -> u32 {
        self.type_ids[self.functions[func as usize] as usize]
    }

    /// Whether function `func` is imported.
    pub fn is_imported_func(&self, func: u32) -> bool {
        func < self.num_imported_funcs
    }

    /// Defined index of table `table`, or `None` when it is imported.
    pub fn defined_table_index(&self, table: u32) -> Option<u32> {
        table.checked_sub(self.num_imported_tables)
    }

    /// Defined index of memory `memory`, or `None` when it is imported.
    pub fn defined_memory_index(&self, memory: u32) -> Option<u32> {
        memory.checked_sub(self.num_imported_memories)
    }

    /// Defined index of global `global`, or `None` when it is imported.
    pub fn defined_global_index(&self, global: u32) -> Option<u32> {
        global.checked_sub(self.num_imported_globals)
    }
}
