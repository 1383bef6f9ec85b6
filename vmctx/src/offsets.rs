//! [`VMOffsets`]: where each field of a module's vmctx lives.
//!
//! The vmctx of an instance is one allocation:
//!
//! ```text
//! header           magic: u32, pad, store: *mut (), store_context: *mut VMStoreContext,
//!                  builtins: *const [fn; NUM_LIBCALLS], instance: *mut ()
//! imported funcs   [VMFunctionImport; imported_funcs]
//! imported tables  [VMTableImport; imported_tables]
//! imported mems    [VMMemoryImport; imported_memories]
//! imported globals [VMGlobalImport; imported_globals]
//! defined tables   [VMTableDefinition; defined_tables]
//! defined mems     [VMMemoryDefinition; defined_memories]
//! defined globals  [VMGlobalDefinition; defined_globals]   (16-byte aligned)
//! func refs        [VMFuncRef; funcs]                       (every function)
//! ```
//!
//! Every sum is checked: a module whose counts overflow the 32-bit offsets
//! gets a [`LayoutError`] instead of a wrapped layout.

use core::fmt;

/// The counts of a module that determine its vmctx layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModuleCounts {
    /// Imported functions.
    pub imported_funcs: u32,
    /// Imported tables.
    pub imported_tables: u32,
    /// Imported memories.
    pub imported_memories: u32,
    /// Imported globals.
    pub imported_globals: u32,
    /// Tables defined by the module.
    pub defined_tables: u32,
    /// Memories defined by the module.
    pub defined_memories: u32,
    /// Globals defined by the module.
    pub defined_globals: u32,
    /// All functions, imported and defined.
    pub funcs: u32,
}

/// The module's counts do not fit a vmctx with 32-bit offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutError;

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("module has too many entities for a vmctx")
    }
}

impl core::error::Error for LayoutError {}

/// The layout of one module's vmctx, and the field offsets of the shared
/// structures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMOffsets {
    counts: ModuleCounts,
    imported_funcs: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    func_refs: u32,
    size: u32,
}

fn array(start: u32, count: u32, elem: u32) -> Result<u32, LayoutError> {
    count
        .checked_mul(elem)
        .and_then(|n| n.checked_add(start))
        .ok_or(LayoutError)
}

fn align(offset: u32, to: u32) -> Result<u32, LayoutError> {
    offset
        .checked_add(to - 1)
        .map(|o| o & !(to - 1))
        .ok_or(LayoutError)
}

impl VMOffsets {
    /// Offset of the magic number ([`crate::VMCTX_MAGIC`]).
    pub const VMCTX_MAGIC: u32 = 0;
    /// Offset of the opaque pointer to the owning store.
    pub const VMCTX_STORE: u32 = 8;
    /// Offset of the pointer to the store's [`crate::VMStoreContext`].
    pub const VMCTX_STORE_CONTEXT: u32 = 16;
    /// Offset of the pointer to the libcall array.
    pub const VMCTX_BUILTINS: u32 = 24;
    /// Offset of the opaque pointer to the runtime's instance.
    pub const VMCTX_INSTANCE: u32 = 32;
    /// Size of the fixed header.
    pub const VMCTX_HEADER_SIZE: u32 = 40;

    /// Size of [`crate::VMFuncRef`].
    pub const SIZE_OF_FUNC_REF: u32 = 32;
    /// Offset of [`crate::VMFuncRef::wasm_call`].
    pub const FUNC_REF_WASM_CALL: u32 = 0;
    /// Offset of [`crate::VMFuncRef::array_call`].
    pub const FUNC_REF_ARRAY_CALL: u32 = 8;
    /// Offset of [`crate::VMFuncRef::vmctx`].
    pub const FUNC_REF_VMCTX: u32 = 16;
    /// Offset of [`crate::VMFuncRef::type_id`].
    pub const FUNC_REF_TYPE_ID: u32 = 24;

    /// Size of one word of a table's element arrays: a code word or a
    /// funcref word of a funcref table (see [`crate::VMTableEntry`]), an
    /// externref word.
    pub const SIZE_OF_TABLE_ELEMENT: u32 = 8;
    /// `log2` of [`Self::SIZE_OF_TABLE_ELEMENT`].
    pub const TABLE_ELEMENT_SHIFT: u32 = 3;

    /// Size of [`crate::VMTableDefinition`].
    pub const SIZE_OF_TABLE_DEFINITION: u32 = 32;
    /// Offset of [`crate::VMTableDefinition::base`].
    pub const TABLE_DEFINITION_BASE: u32 = 0;
    /// Offset of [`crate::VMTableDefinition::current_elements`].
    pub const TABLE_DEFINITION_CURRENT_ELEMENTS: u32 = 8;
    /// Offset of [`crate::VMTableDefinition::inline_capacity`].
    pub const TABLE_DEFINITION_INLINE_CAPACITY: u32 = 16;
    /// Offset of [`crate::VMTableDefinition::func_refs`].
    pub const TABLE_DEFINITION_FUNC_REFS: u32 = 24;
    /// Size of [`crate::VMTableImport`].
    pub const SIZE_OF_TABLE_IMPORT: u32 = 16;
    /// Offset of [`crate::VMTableImport::from`].
    pub const TABLE_IMPORT_FROM: u32 = 0;

    /// Size of [`crate::VMMemoryDefinition`].
    pub const SIZE_OF_MEMORY_DEFINITION: u32 = 16;
    /// Offset of [`crate::VMMemoryDefinition::base`].
    pub const MEMORY_DEFINITION_BASE: u32 = 0;
    /// Offset of [`crate::VMMemoryDefinition::current_length`].
    pub const MEMORY_DEFINITION_CURRENT_LENGTH: u32 = 8;
    /// Size of [`crate::VMMemoryImport`].
    pub const SIZE_OF_MEMORY_IMPORT: u32 = 16;
    /// Offset of [`crate::VMMemoryImport::from`].
    pub const MEMORY_IMPORT_FROM: u32 = 0;

    /// Size of [`crate::VMGlobalDefinition`].
    pub const SIZE_OF_GLOBAL_DEFINITION: u32 = 16;
    /// Size of [`crate::VMGlobalImport`].
    pub const SIZE_OF_GLOBAL_IMPORT: u32 = 8;
    /// Offset of [`crate::VMGlobalImport::from`].
    pub const GLOBAL_IMPORT_FROM: u32 = 0;

    /// Size of [`crate::VMFunctionImport`].
    pub const SIZE_OF_FUNCTION_IMPORT: u32 = 16;
    /// Offset of [`crate::VMFunctionImport::wasm_call`].
    pub const FUNCTION_IMPORT_WASM_CALL: u32 = 0;
    /// Offset of [`crate::VMFunctionImport::vmctx`].
    pub const FUNCTION_IMPORT_VMCTX: u32 = 8;

    /// Offset of [`crate::VMHostFuncContext::magic`].
    pub const HOST_CTX_MAGIC: u32 = 0;
    /// Offset of [`crate::VMHostFuncContext::array_call`].
    pub const HOST_CTX_ARRAY_CALL: u32 = 8;

    /// Offset of [`crate::VMStoreContext::stack_limit`].
    pub const STORE_CONTEXT_STACK_LIMIT: u32 = 0;
    /// Offset of [`crate::VMStoreContext::fuel_consumed`].
    pub const STORE_CONTEXT_FUEL_CONSUMED: u32 = 8;
    /// Offset of [`crate::VMStoreContext::epoch_deadline`].
    pub const STORE_CONTEXT_EPOCH_DEADLINE: u32 = 16;
    /// Offset of [`crate::VMStoreContext::epoch_ptr`].
    pub const STORE_CONTEXT_EPOCH_PTR: u32 = 24;
    /// Offset of [`crate::VMStoreContext::last_wasm_exit_fp`].
    pub const STORE_CONTEXT_LAST_WASM_EXIT_FP: u32 = 32;
    /// Offset of [`crate::VMStoreContext::last_libcall_fp`].
    pub const STORE_CONTEXT_LAST_LIBCALL_FP: u32 = 40;
    /// Offset of [`crate::VMStoreContext::last_libcall_pc`].
    pub const STORE_CONTEXT_LAST_LIBCALL_PC: u32 = 48;

    /// Computes the layout for a module with these counts.
    ///
    /// # Errors
    ///
    /// [`LayoutError`] when the vmctx would not fit in `u32::MAX` bytes.
    pub fn new(counts: ModuleCounts) -> Result<Self, LayoutError> {
        let imported_funcs = Self::VMCTX_HEADER_SIZE;
        let imported_tables = array(
            imported_funcs,
            counts.imported_funcs,
            Self::SIZE_OF_FUNCTION_IMPORT,
        )?;
        let imported_memories = array(
            imported_tables,
            counts.imported_tables,
            Self::SIZE_OF_TABLE_IMPORT,
        )?;
        let imported_globals = array(
            imported_memories,
            counts.imported_memories,
            Self::SIZE_OF_MEMORY_IMPORT,
        )?;
        let defined_tables = array(
            imported_globals,
            counts.imported_globals,
            Self::SIZE_OF_GLOBAL_IMPORT,
        )?;
        let defined_memories = array(
            defined_tables,
            counts.defined_tables,
            Self::SIZE_OF_TABLE_DEFINITION,
        )?;
        let defined_globals = align(
            array(
                defined_memories,
                counts.defined_memories,
                Self::SIZE_OF_MEMORY_DEFINITION,
            )?,
            16,
        )?;
        let func_refs = array(
            defined_globals,
            counts.defined_globals,
            Self::SIZE_OF_GLOBAL_DEFINITION,
        )?;
        let size = array(func_refs, counts.funcs, Self::SIZE_OF_FUNC_REF)?;
        Ok(Self {
            counts,
            imported_funcs,
            imported_tables,
            imported_memories,
            imported_globals,
            defined_tables,
            defined_memories,
            defined_globals,
            func_refs,
            size,
        })
    }

    /// The counts this layout was computed from.
    pub fn counts(&self) -> &ModuleCounts {
        &self.counts
    }

    /// Total size of the vmctx in bytes (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of the [`crate::VMFunctionImport`] of imported function `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported function.
    pub fn imported_function(&self, i: u32) -> u32 {
        assert!(i < self.counts.imported_funcs);
        self.imported_funcs + i * Self::SIZE_OF_FUNCTION_IMPORT
    }

    /// Offset of the [`crate::VMTableImport`] of imported table `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported table.
    pub fn imported_table(&self, i: u32) -> u32 {
        assert!(i < self.counts.imported_tables);
        self.imported_tables + i * Self::SIZE_OF_TABLE_IMPORT
    }

    /// Offset of the [`crate::VMMemoryImport`] of imported memory `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported memory.
    pub fn imported_memory(&self, i: u32) -> u32 {
        assert!(i < self.counts.imported_memories);
        self.imported_memories + i * Self::SIZE_OF_MEMORY_IMPORT
    }

    /// Offset of the [`crate::VMGlobalImport`] of imported global `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported global.
    pub fn imported_global(&self, i: u32) -> u32 {
        assert!(i < self.counts.imported_globals);
        self.imported_globals + i * Self::SIZE_OF_GLOBAL_IMPORT
    }

    /// Offset of the [`crate::VMTableDefinition`] of defined table `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not a defined table.
    pub fn defined_table(&self, i: u32) -> u32 {
        assert!(i < self.counts.defined_tables);
        self.defined_tables + i * Self::SIZE_OF_TABLE_DEFINITION
    }

    /// Offset of the [`crate::VMMemoryDefinition`] of defined memory `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not a defined memory.
    pub fn defined_memory(&self, i: u32) -> u32 {
        assert!(i < self.counts.defined_memories);
        self.defined_memories + i * Self::SIZE_OF_MEMORY_DEFINITION
    }

    /// Offset of the [`crate::VMGlobalDefinition`] of defined global `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not a defined global.
    pub fn defined_global(&self, i: u32) -> u32 {
        assert!(i < self.counts.defined_globals);
        self.defined_globals + i * Self::SIZE_OF_GLOBAL_DEFINITION
    }

    /// Offset of the [`crate::VMFuncRef`] of function `i` (imported or
    /// defined, in the module's function index space).
    ///
    /// # Panics
    ///
    /// When `i` is not a function of the module.
    pub fn func_ref(&self, i: u32) -> u32 {
        assert!(i < self.counts.funcs);
        self.func_refs + i * Self::SIZE_OF_FUNC_REF
    }

    /// Offset of libcall `index` inside the builtins array.
    pub fn builtin(index: crate::LibcallIndex) -> u32 {
        index as u32 * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_follow_each_other() {
        let o = VMOffsets::new(ModuleCounts {
            imported_funcs: 2,
            imported_tables: 1,
            imported_memories: 1,
            imported_globals: 3,
            defined_tables: 2,
            defined_memories: 1,
            defined_globals: 2,
            funcs: 5,
        })
        .unwrap();
        assert_eq!(o.imported_function(0), VMOffsets::VMCTX_HEADER_SIZE);
        assert_eq!(o.imported_function(1), VMOffsets::VMCTX_HEADER_SIZE + 16);
        assert_eq!(o.imported_table(0), VMOffsets::VMCTX_HEADER_SIZE + 32);
        assert_eq!(o.imported_memory(0), o.imported_table(0) + 16);
        assert_eq!(o.imported_global(2), o.imported_memory(0) + 16 + 16);
        assert_eq!(o.defined_table(0), o.imported_global(2) + 8);
        assert_eq!(o.defined_memory(0), o.defined_table(1) + 32);
        assert_eq!(o.defined_global(0) % 16, 0);
        assert!(o.defined_global(0) >= o.defined_memory(0) + 16);
        assert_eq!(o.func_ref(0), o.defined_global(1) + 16);
        assert_eq!(o.size(), o.func_ref(4) + 32);
        assert_eq!(o.size() % 16, 0);
    }

    #[test]
    fn overflow_is_an_error() {
        let counts = ModuleCounts {
            funcs: u32::MAX,
            ..ModuleCounts::default()
        };
        assert_eq!(VMOffsets::new(counts), Err(LayoutError));
    }

    #[test]
    #[should_panic]
    fn out_of_range_index_panics() {
        let o = VMOffsets::new(ModuleCounts::default()).unwrap();
        o.func_ref(0);
    }
}
