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

/// Defines [`VMOffsets`] from the arrays that follow the vmctx header, in
/// order: each with the accessor of its element `i`, the field keeping its
/// start, the size of an element, the [`ModuleCounts`] field counting its
/// elements, and the alignment of its start.
macro_rules! vmctx_arrays {
    ($(
        $(#[$doc:meta])*
        $accessor:ident, $start:ident: [$size:ident; $count:ident], align $align:literal;
    )*) => {
        /// The layout of one module's vmctx, and the field offsets of the
        /// shared structures.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct VMOffsets {
            counts: ModuleCounts,
            $($start: u32,)*
            size: u32,
        }

        impl VMOffsets {
            /// Computes the layout for a module with these counts.
            ///
            /// # Errors
            ///
            /// [`LayoutError`] when the vmctx would not fit in `u32::MAX`
            /// bytes.
            pub fn new(counts: ModuleCounts) -> Result<Self, LayoutError> {
                let end = Self::VMCTX_HEADER_SIZE;
                $(
                    let $start = align(end, $align)?;
                    let end = array($start, counts.$count, Self::$size)?;
                )*
                Ok(Self {
                    counts,
                    $($start,)*
                    size: end,
                })
            }

            $(
                $(#[$doc])*
                pub fn $accessor(&self, i: u32) -> u32 {
                    assert!(i < self.counts.$count);
                    self.$start + i * Self::$size
                }
            )*
        }
    };
}

vmctx_arrays! {
    /// Offset of the [`crate::VMFunctionImport`] of imported function `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported function.
    imported_function, imported_funcs: [SIZE_OF_FUNCTION_IMPORT; imported_funcs], align 8;
    /// Offset of the [`crate::VMTableImport`] of imported table `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported table.
    imported_table, imported_tables: [SIZE_OF_TABLE_IMPORT; imported_tables], align 8;
    /// Offset of the [`crate::VMMemoryImport`] of imported memory `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported memory.
    imported_memory, imported_memories: [SIZE_OF_MEMORY_IMPORT; imported_memories], align 8;
    /// Offset of the [`crate::VMGlobalImport`] of imported global `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not an imported global.
    imported_global, imported_globals: [SIZE_OF_GLOBAL_IMPORT; imported_globals], align 8;
    /// Offset of the [`crate::VMTableDefinition`] of defined table `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not a defined table.
    defined_table, defined_tables: [SIZE_OF_TABLE_DEFINITION; defined_tables], align 8;
    /// Offset of the [`crate::VMMemoryDefinition`] of defined memory `i`.
    ///
    /// # Panics
    ///
    /// When `i` is not a defined memory.
    defined_memory, defined_memories: [SIZE_OF_MEMORY_DEFINITION; defined_memories], align 8;
    /// Offset of the [`crate::VMGlobalDefinition`] of defined global `i`
    /// (16-byte aligned).
    ///
    /// # Panics
    ///
    /// When `i` is not a defined global.
    defined_global, defined_globals: [SIZE_OF_GLOBAL_DEFINITION; defined_globals], align 16;
    /// Offset of the [`crate::VMFuncRef`] of function `i` (imported or
    /// defined, in the module's function index space).
    ///
    /// # Panics
    ///
    /// When `i` is not a function of the module.
    func_ref, func_refs: [SIZE_OF_FUNC_REF; funcs], align 8;
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

    /// The counts this layout was computed from.
    pub fn counts(&self) -> &ModuleCounts {
        &self.counts
    }

    /// Total size of the vmctx in bytes (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
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
