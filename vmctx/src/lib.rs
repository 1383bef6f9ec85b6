//! The memory layout that Trestle's compiled code and its runtime share.
//!
//! Compiled WebAssembly reaches everything it needs (tables, memories,
//! globals, imported functions, libcalls) through one pointer, the *vmctx*,
//! whose layout depends on the module's counts of each entity. That layout is
//! computed here, by [`VMOffsets`], and nowhere else: the compiler asks
//! [`VMOffsets`] for every offset it bakes into code, and the runtime builds
//! the vmctx with the same answers. Each `#[repr(C)]` structure below has a
//! test that checks `offset_of!`/`size_of` against the constants the compiler
//! uses.
//!
//! The crate also holds the two other lists the compiler and the runtime must
//! agree on: the libcalls ([`foreach_libcall!`]) and the trap codes
//! ([`Trap`]).
//!
//! Only 64-bit little-endian hosts are supported (x86-64 and aarch64).

#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(not(all(target_pointer_width = "64", target_endian = "little")))]
compile_error!("Trestle supports only 64-bit little-endian hosts");

mod offsets;
mod trap;

pub use offsets::{LayoutError, ModuleCounts, VMOffsets};
pub use trap::Trap;

use core::ptr;

/// The opaque context pointer that every compiled function receives.
///
/// Its size depends on the module; [`VMOffsets`] says where each field lives.
/// The fixed header at its start is described by the `VMCTX_*` constants.
#[repr(C)]
pub struct VMContext {
    _opaque: [u8; 0],
}

/// Magic number stored in the first four bytes of every instance's vmctx.
pub const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"TRST");
/// Magic number stored in the first four bytes of a [`VMHostFuncContext`].
pub const HOST_CTX_MAGIC: u32 = u32::from_le_bytes(*b"THST");

/// The first canonical type id handed out for a function type; 0 is never
/// a function's type.
pub const TYPE_ID_FIRST: u32 = 1;

/// The most 64 KiB pages a 32-bit linear memory may have: 65,536, the
/// whole 4 GiB a 32-bit address reaches.
pub const MEMORY32_MAX_PAGES: u64 = 1 << 16;

/// The most 64 KiB pages a 64-bit linear memory may have in Trestle:
/// 2^20, 64 GiB. The runtime and the compiler both rely on it: a memory
/// declared larger fails instantiation, so no code runs against one.
pub const MEMORY64_MAX_PAGES: u64 = 1 << 20;

/// The code word of a null funcref table entry: not an address, only
/// non-zero, so that a null entry differs from one not yet initialized.
pub const NULL_ENTRY_CODE: usize = 1;

/// A function reference: everything needed to call a function, from compiled
/// code (`wasm_call`) or from the host (`array_call`).
///
/// `funcref` values (`ref.func`, `table.get`, `Func` handles) are pointers to
/// one of these, owned by the instance (or host function) that defines the
/// function, so their address is stable for the life of the store.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry point with the wasm calling convention:
    /// `(callee_vmctx, caller_vmctx, params...) -> results`.
    pub wasm_call: *const u8,
    /// Entry point with the array calling convention, see [`ArrayCallFn`];
    /// null for a wasm function the host can never reach (not exported,
    /// in no table, segment or initializer, not the start function),
    /// which has no entry trampoline.
    pub array_call: *const u8,
    /// The callee's vmctx (or [`VMHostFuncContext`] for host functions).
    pub vmctx: *mut VMContext,
    /// The engine-wide canonical id of the function's type.
    pub type_id: u32,
    _pad: u32,
}

impl VMFuncRef {
    /// Builds a function reference.
    pub const fn new(
        wasm_call: *const u8,
        array_call: *const u8,
        vmctx: *mut VMContext,
        type_id: u32,
    ) -> Self {
        Self {
            wasm_call,
            array_call,
            vmctx,
            type_id,
            _pad: 0,
        }
    }
}

/// The array calling convention, used by the host to enter compiled code and
/// by compiled code to reach host functions.
///
/// `values` points at `len` slots: the arguments on entry, the results on
/// return (the slice is as long as the larger of the two lists).
pub type ArrayCallFn = unsafe extern "C" fn(
    callee_vmctx: *mut VMContext,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
);

/// One element of a funcref table: two words, stored in two arrays.
///
/// A funcref table of capacity `n` is `2 * n` words: the code words of its
/// elements first (`VMTableDefinition::base`), then their funcref words
/// (`VMTableDefinition::func_refs`). The code word is the callee's
/// [`VMFuncRef::wasm_call`], so the target of a `call_indirect` is one load
/// from the index, at a stride of one word, which the address arithmetic of
/// the hardware scales for free; the funcref word points at the callee's
/// canonical [`VMFuncRef`], which holds its type id and vmctx (and is the
/// value `table.get` returns).
///
/// The three states:
///
/// - a function: `wasm_call` is the callee's [`VMFuncRef::wasm_call`],
///   `func_ref` points at its funcref;
/// - null: `func_ref` is null and `wasm_call` is [`NULL_ENTRY_CODE`];
/// - not yet initialized: both are zero, so zeroed memory is a table whose
///   lazy initialization has not started.
///
/// A null `func_ref` is what sends `call_indirect` and `table.get` to their
/// cold paths; the code word then tells a null entry from one to initialize.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMTableEntry {
    /// Copy of the target's [`VMFuncRef::wasm_call`], or a state marker.
    pub wasm_call: *const u8,
    /// The target's canonical [`VMFuncRef`], or null.
    pub func_ref: *const VMFuncRef,
}

impl VMTableEntry {
    /// The entry of a null reference.
    pub const NULL: Self = Self {
        wasm_call: ptr::without_provenance(NULL_ENTRY_CODE),
        func_ref: ptr::null(),
    };

    /// The entry that refers to `func_ref`, or the null entry.
    ///
    /// # Safety
    ///
    /// A non-null `func_ref` must point at a live [`VMFuncRef`].
    pub unsafe fn from_func_ref(func_ref: *const VMFuncRef) -> Self {
        if func_ref.is_null() {
            return Self::NULL;
        }
        // SAFETY: non-null and live, per this function's contract.
        let wasm_call = unsafe { (*func_ref).wasm_call };
        Self {
            wasm_call,
            func_ref,
        }
    }
}

/// A table defined by an instance (or created by the host).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMTableDefinition {
    /// Start of the elements: one word per element, the code words of a
    /// funcref table (see [`VMTableEntry`]) or the words of an externref
    /// table.
    pub base: *mut u8,
    /// Number of elements.
    pub current_elements: u64,
    /// The size up to which compiled code may grow the table in place,
    /// writing the new elements and `current_elements` itself: the
    /// capacity of the allocation behind `base`, or `current_elements` when
    /// every growth must go through the runtime (a resource limiter is
    /// installed). Never more than the table's maximum.
    pub inline_capacity: u64,
    /// Start of the funcref words of a funcref table, `capacity` words
    /// after `base`; null for externref tables.
    pub func_refs: *mut u8,
}

/// A table imported by an instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMTableImport {
    /// The definition, owned by the exporter.
    pub from: *mut VMTableDefinition,
    /// The vmctx of the instance that defines it (null for host tables).
    pub vmctx: *mut VMContext,
}

/// A linear memory defined by an instance (or created by the host).
///
/// `base` never moves: memories reserve their whole address range up front,
/// so compiled code may treat it as read-only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMMemoryDefinition {
    /// Start of the memory.
    pub base: *mut u8,
    /// Accessible length in bytes.
    pub current_length: u64,
}

/// A linear memory imported by an instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMMemoryImport {
    /// The definition, owned by the exporter.
    pub from: *mut VMMemoryDefinition,
    /// The vmctx of the instance that defines it (null for host memories).
    pub vmctx: *mut VMContext,
}

/// Storage of one global: 16 bytes, enough for every value type, the value
/// stored little-endian at offset 0.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMGlobalDefinition {
    /// The raw bytes of the value.
    pub storage: [u8; 16],
}

/// A global imported by an instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMGlobalImport {
    /// The definition, owned by the exporter.
    pub from: *mut VMGlobalDefinition,
}

/// A function imported by an instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFunctionImport {
    /// The callee's wasm-convention entry point.
    pub wasm_call: *const u8,
    /// The callee's vmctx.
    pub vmctx: *mut VMContext,
}

/// The callee context of a host function: what compiled code passes as
/// `callee_vmctx` when it calls a function defined by the host.
///
/// The host function's wasm-convention entry point is a compiled trampoline
/// that spills the arguments into an array of [`ValRaw`] and calls
/// `array_call` with this context. The runtime allocates this struct at the
/// start of a larger one holding the host closure.
#[repr(C)]
#[derive(Debug)]
pub struct VMHostFuncContext {
    /// [`HOST_CTX_MAGIC`].
    pub magic: u32,
    _pad: u32,
    /// The host function's array-convention entry point.
    pub array_call: ArrayCallFn,
}

impl VMHostFuncContext {
    /// A context whose trampoline calls `array_call`.
    pub const fn new(array_call: ArrayCallFn) -> Self {
        Self {
            magic: HOST_CTX_MAGIC,
            _pad: 0,
            array_call,
        }
    }
}

/// Per-store state that compiled code reads and writes, shared by every
/// instance of the store.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// The lowest address the stack pointer may reach in wasm code; the
    /// prologue of every compiled function traps below it.
    pub stack_limit: usize,
    /// Fuel consumed, counted up towards zero: minus the fuel left. With
    /// fuel metering on, wasm code traps when it becomes positive.
    pub fuel_consumed: i64,
    /// With epoch interruption, wasm code traps once the engine's epoch
    /// reaches this value.
    pub epoch_deadline: u64,
    /// The engine's epoch counter, read by compiled code at function entry
    /// and loop headers when epoch interruption is on.
    pub epoch_ptr: *const u64,
    /// The frame pointer of the last wasm-to-host trampoline frame: its
    /// frame record holds the frame pointer and the return address of the
    /// wasm function that called the host. Written by the trampoline when
    /// backtraces are on; zero while no wasm code has called out.
    pub last_wasm_exit_fp: usize,
    /// The frame pointer of the wasm function that made the last libcall,
    /// written by the libcall's entry on every call: the wasm frames of a
    /// trap the libcall raises are walked from it.
    pub last_libcall_fp: usize,
    /// The return address of the last libcall, into the wasm function that
    /// made it; written with [`VMStoreContext::last_libcall_fp`].
    pub last_libcall_pc: usize,
}

impl Default for VMStoreContext {
    fn default() -> Self {
        Self {
            stack_limit: usize::MAX,
            fuel_consumed: 0,
            epoch_deadline: u64::MAX,
            epoch_ptr: core::ptr::null(),
            last_wasm_exit_fp: 0,
            last_libcall_fp: 0,
            last_libcall_pc: 0,
        }
    }
}

/// One value in the array calling convention: 16 bytes, the value stored
/// little-endian from offset 0.
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ValRaw {
    bits: u128,
}

impl core::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ValRaw({:#x})", self.bits)
    }
}

impl ValRaw {
    /// An `i32` value.
    pub const fn i32(v: i32) -> Self {
        Self {
            bits: v as u32 as u128,
        }
    }
    /// An `i64` value.
    pub const fn i64(v: i64) -> Self {
        Self {
            bits: v as u64 as u128,
        }
    }
    /// An `f32` value, by its bits.
    pub const fn f32(bits: u32) -> Self {
        Self { bits: bits as u128 }
    }
    /// An `f64` value, by its bits.
    pub const fn f64(bits: u64) -> Self {
        Self { bits: bits as u128 }
    }
    /// A reference (funcref or externref), as a pointer-sized word.
    pub fn ptr<T>(p: *const T) -> Self {
        Self {
            bits: p as usize as u128,
        }
    }
    /// Reads the value as `i32`.
    pub const fn get_i32(self) -> i32 {
        self.bits as u32 as i32
    }
    /// Reads the value as `i64`.
    pub const fn get_i64(self) -> i64 {
        self.bits as u64 as i64
    }
    /// Reads the bits of an `f32`.
    pub const fn get_f32(self) -> u32 {
        self.bits as u32
    }
    /// Reads the bits of an `f64`.
    pub const fn get_f64(self) -> u64 {
        self.bits as u64
    }
    /// Reads a reference as a pointer-sized word.
    pub const fn get_ptr(self) -> usize {
        self.bits as usize
    }
}

/// The size of a [`ValRaw`] slot.
pub const VAL_RAW_SIZE: u32 = 16;

/// Calls `$mac` with the list of every libcall: functions of the runtime that
/// compiled code calls through the builtins array of the vmctx.
///
/// Each entry reads `name(param: kind, ...) -> kind;` where a kind is `vmctx`
/// (the caller's vmctx pointer), `i32`, `i64` or `ptr` (a pointer-sized word).
/// A libcall that traps does not return. The compiler builds one Cranelift
/// signature per entry; the runtime builds the function-pointer array from
/// the same list, so adding a libcall is one line here plus its body.
#[macro_export]
macro_rules! foreach_libcall {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: returns the old size in pages, or -1.
            memory_grow(vmctx: vmctx, memory: i32, delta: i64) -> i64;
            /// `memory.fill`: traps when out of bounds.
            memory_fill(vmctx: vmctx, memory: i32, dst: i64, val: i32, len: i64);
            /// `memory.copy`: traps when out of bounds.
            memory_copy(vmctx: vmctx, dst_mem: i32, dst: i64, src_mem: i32, src: i64, len: i64);
            /// `memory.init`: traps when out of bounds.
            memory_init(vmctx: vmctx, memory: i32, data: i32, dst: i64, src: i32, len: i32);
            /// `data.drop`.
            data_drop(vmctx: vmctx, data: i32);
            /// `table.grow`: returns the old size, or -1.
            table_grow(vmctx: vmctx, table: i32, delta: i64, init: ptr) -> i64;
            /// `table.fill`: traps when out of bounds.
            table_fill(vmctx: vmctx, table: i32, dst: i64, val: ptr, len: i64);
            /// `table.copy`: traps when out of bounds.
            table_copy(vmctx: vmctx, dst_table: i32, dst: i64, src_table: i32, src: i64, len: i64);
            /// `table.init`: traps when out of bounds.
            table_init(vmctx: vmctx, table: i32, elem: i32, dst: i64, src: i32, len: i32);
            /// `elem.drop`.
            elem_drop(vmctx: vmctx, elem: i32);
            /// Lazy funcref initialization: writes the element at `index`
            /// (in bounds) of a funcref table and returns the address of its
            /// code word.
            table_lazy_init(vmctx: vmctx, table: i32, index: i64) -> ptr;
            /// The slow part of a `call_indirect` whose expected type may
            /// have subtypes: 1 when type `actual` is `expected` or declares
            /// it as a (transitive) supertype, else 0.
            is_subtype(vmctx: vmctx, actual: i32, expected: i32) -> i32;
            /// `throw`'s allocation: a new exception of tag `tag` (an index
            /// of the caller's module) whose payload is the tag's parameter
            /// values, one per 16-byte cell at `values`; returns its
            /// `exnref` word.
            exn_new(vmctx: vmctx, tag: i32, values: ptr) -> ptr;
            /// A caught exception's payload: writes the values of the
            /// non-null `exnref` word `exn` into 16-byte cells at `values`.
            exn_payload(vmctx: vmctx, exn: ptr, values: ptr);
            /// `throw` and `throw_ref` of the non-null `exnref` word `exn`:
            /// finds the handler, from the frame `fp` of the throwing
            /// function and the return address `pc` of this call, and
            /// returns the address of the record the throw stub resumes
            /// from; never returns when no wasm frame catches it. Compiled
            /// code does not call this entry itself but the runtime's throw
            /// stub (with the `tail` convention and `(vmctx, exn)` only),
            /// which adds `fp` and `pc` (see `THROW_STUB_PARAMS`).
            throw_ref(vmctx: vmctx, exn: ptr, fp: ptr, pc: ptr) -> ptr;
        }
    };
}

macro_rules! define_libcall_index {
    ($( $(#[$attr:meta])* $name:ident( $($pname:ident: $pkind:ident),* ) $(-> $result:ident)?; )*) => {
        /// Index of a libcall in the builtins array that the vmctx header
        /// points at.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[allow(non_camel_case_types, reason = "variants are named after the libcalls")]
        pub enum LibcallIndex {
            $( $(#[$attr])* $name, )*
        }

        impl LibcallIndex {
            /// Every libcall, in array order.
            pub const ALL: &'static [LibcallIndex] = &[$(LibcallIndex::$name,)*];

            /// The libcall's name.
            pub const fn name(self) -> &'static str {
                match self { $(LibcallIndex::$name => stringify!($name),)* }
            }
        }
    };
}
foreach_libcall!(define_libcall_index);

/// Number of libcalls.
pub const NUM_LIBCALLS: u32 = LibcallIndex::ALL.len() as u32;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    /// Asserts that the size of `$ty` (in parentheses, where given) and the
    /// offset of each named field are the constants compiled code is built
    /// with.
    macro_rules! assert_layout {
        ($ty:ident $(($size:expr))? { $($field:ident: $offset:expr),* $(,)? }) => {
            $(assert_eq!(size_of::<$ty>(), $size as usize, "size of {}", stringify!($ty));)?
            $(assert_eq!(
                offset_of!($ty, $field),
                $offset as usize,
                "offset of {}::{}",
                stringify!($ty),
                stringify!($field)
            );)*
        };
    }

    #[test]
    fn struct_layouts_match_offsets() {
        assert_layout!(VMFuncRef(VMOffsets::SIZE_OF_FUNC_REF) {
            wasm_call: VMOffsets::FUNC_REF_WASM_CALL,
            array_call: VMOffsets::FUNC_REF_ARRAY_CALL,
            vmctx: VMOffsets::FUNC_REF_VMCTX,
            type_id: VMOffsets::FUNC_REF_TYPE_ID
        });
        assert_layout!(VMTableDefinition(VMOffsets::SIZE_OF_TABLE_DEFINITION) {
            base: VMOffsets::TABLE_DEFINITION_BASE,
            current_elements: VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS,
            inline_capacity: VMOffsets::TABLE_DEFINITION_INLINE_CAPACITY,
            func_refs: VMOffsets::TABLE_DEFINITION_FUNC_REFS
        });
        assert_layout!(VMTableImport(VMOffsets::SIZE_OF_TABLE_IMPORT) {
            from: VMOffsets::TABLE_IMPORT_FROM
        });
        assert_layout!(VMMemoryDefinition(VMOffsets::SIZE_OF_MEMORY_DEFINITION) {
            base: VMOffsets::MEMORY_DEFINITION_BASE,
            current_length: VMOffsets::MEMORY_DEFINITION_CURRENT_LENGTH
        });
        assert_layout!(VMMemoryImport(VMOffsets::SIZE_OF_MEMORY_IMPORT) {
            from: VMOffsets::MEMORY_IMPORT_FROM
        });
        assert_layout!(VMGlobalDefinition(VMOffsets::SIZE_OF_GLOBAL_DEFINITION) {});
        assert_layout!(VMGlobalImport(VMOffsets::SIZE_OF_GLOBAL_IMPORT) {
            from: VMOffsets::GLOBAL_IMPORT_FROM
        });
        assert_layout!(VMFunctionImport(VMOffsets::SIZE_OF_FUNCTION_IMPORT) {
            wasm_call: VMOffsets::FUNCTION_IMPORT_WASM_CALL,
            vmctx: VMOffsets::FUNCTION_IMPORT_VMCTX
        });
        assert_layout!(VMHostFuncContext {
            magic: VMOffsets::HOST_CTX_MAGIC,
            array_call: VMOffsets::HOST_CTX_ARRAY_CALL
        });
        assert_layout!(VMStoreContext {
            stack_limit: VMOffsets::STORE_CONTEXT_STACK_LIMIT,
            fuel_consumed: VMOffsets::STORE_CONTEXT_FUEL_CONSUMED,
            epoch_deadline: VMOffsets::STORE_CONTEXT_EPOCH_DEADLINE,
            epoch_ptr: VMOffsets::STORE_CONTEXT_EPOCH_PTR,
            last_wasm_exit_fp: VMOffsets::STORE_CONTEXT_LAST_WASM_EXIT_FP,
            last_libcall_fp: VMOffsets::STORE_CONTEXT_LAST_LIBCALL_FP,
            last_libcall_pc: VMOffsets::STORE_CONTEXT_LAST_LIBCALL_PC
        });
        assert_eq!(
            1 << VMOffsets::TABLE_ELEMENT_SHIFT,
            VMOffsets::SIZE_OF_TABLE_ELEMENT
        );
        assert_eq!(align_of::<VMGlobalDefinition>(), 16);
        assert_eq!(size_of::<ValRaw>(), VAL_RAW_SIZE as usize);
    }

    #[test]
    fn val_raw_round_trips() {
        assert_eq!(ValRaw::i32(-5).get_i32(), -5);
        assert_eq!(ValRaw::i64(i64::MIN).get_i64(), i64::MIN);
        assert_eq!(ValRaw::f32(0x7fc0_0001).get_f32(), 0x7fc0_0001);
        assert_eq!(ValRaw::f64(u64::MAX).get_f64(), u64::MAX);
        // An i32 is stored zero-extended, so its i64 view is the u32 value.
        assert_eq!(ValRaw::i32(-1).get_i64(), 0xffff_ffff);
    }

    #[test]
    fn libcall_list_is_indexed_in_order() {
        for (i, l) in LibcallIndex::ALL.iter().enumerate() {
            assert_eq!(*l as usize, i);
        }
        assert_eq!(LibcallIndex::memory_grow.name(), "memory_grow");
        assert_eq!(NUM_LIBCALLS as usize, LibcallIndex::ALL.len());
    }
}
