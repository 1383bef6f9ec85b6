//! Linear-memory addresses: where a load or store goes, how it is
//! bounds-checked, and `memory.size`.
//!
//! Every memory, the first or any other, defined or imported, is reached
//! the same way: its base pointer is read from its `VMMemoryDefinition`
//! (in the vmctx for a defined memory, behind the import's pointer
//! otherwise) with a read-only, movable load, since the runtime never moves
//! a memory. Cranelift hoists that load out of loops, so an access to a
//! second memory costs what an access to memory 0 does.
//!
//! Bounds checks depend on the index type:
//!
//! - 32-bit memories need none: every memory reserves 8 GiB of address
//!   space plus a guard region, which covers `base + u32 index + u32
//!   offset + access size`, so an access past the accessible length faults
//!   and the fault becomes a trap.
//! - 64-bit memories get an explicit check: the start of the access
//!   (`index + offset`, trapping on overflow) is compared with the current
//!   length, and when it is not below it the address becomes null through a
//!   `select_spectre_guard`, so even a mispredicted path cannot read past
//!   the memory; the access at null faults and traps. Only the start needs
//!   checking (a memory whose maximum is its minimum has a constant
//!   length): the length is a whole number of 64 KiB pages and the
//!   reservation is inaccessible after it, so an access that starts in
//!   bounds and runs past the end faults in the guard region.

use super::{Entity, FuncEnvironment, HeapAddress, heap_flags, readonly_flags, vm_flags};
use crate::abi::POINTER;
use crate::index::MemoryIndex;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, TrapCode, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::{MEMORY64_MAX_PAGES, VMOffsets};

impl FuncEnvironment<'_> {
    /// Whether `mem` is indexed by `i64` (memory64).
    pub(crate) fn memory64(&self, mem: MemoryIndex) -> bool {
        self.module.info.memories[mem].memory64
    }

    /// The type of `mem`'s addresses and page counts: `i64` for a 64-bit
    /// memory, else `i32`.
    pub(crate) fn memory_index_type(&self, mem: MemoryIndex) -> Type {
        if self.memory64(mem) {
            types::I64
        } else {
            types::I32
        }
    }

    /// Where the access with `memarg` at `index` (of the memory's index
    /// type) goes; see the [module documentation](self) for the bounds
    /// checks.
    pub(crate) fn heap_address(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &wasmparser::MemArg,
        index: Value,
    ) -> HeapAddress {
        let wasmparser::MemArgTarget::Memory(mem) = memarg.target else {
            unreachable!("validated: GC arrays are not enabled")
        };
        let mem = MemoryIndex::from_u32(mem);
        let def = self.definition_address(b, Entity::Memory(mem));
        let base = b.ins().load(
            POINTER,
            readonly_flags(),
            def,
            VMOffsets::MEMORY_DEFINITION_BASE as i32,
        );
        if self.memory64(mem) {
            return self.checked_heap_address(b, mem, def, base, memarg.offset, index);
        }
        let index = b.ins().uextend(types::I64, index);
        let addr = b.ins().iadd(base, index);
        let (base, offset) = match i32::try_from(memarg.offset) {
            Ok(off) => (addr, off),
            Err(_) => (b.ins().iadd_imm_s(addr, memarg.offset as i64), 0),
        };
        HeapAddress {
            base,
            offset,
            flags: heap_flags(),
        }
    }

    /// The address of an access to a 64-bit memory: `base + index +
    /// offset` when `index + offset` is below the current length, else null
    /// (Spectre-safe), trapping when `index + offset` overflows.
    fn checked_heap_address(
        &self,
        b: &mut FunctionBuilder<'_>,
        mem: MemoryIndex,
        def: Value,
        base: Value,
        offset: u64,
        index: Value,
    ) -> HeapAddress {
        let start = if offset == 0 {
            index
        } else {
            let offset = b.ins().iconst(types::I64, offset as i64);
            b.ins()
                .uadd_overflow_trap(index, offset, TrapCode::HEAP_OUT_OF_BOUNDS)
        };
        // A memory that cannot grow has its declared size for length; the
        // length of any other is read per access, since it grows.
        let ty = self.module.info.memories[mem];
        let length = match ty.maximum {
            Some(max) if max == ty.minimum && max <= MEMORY64_MAX_PAGES => {
                b.ins().iconst(types::I64, (max << 16) as i64)
            }
            _ => b.ins().load(
                types::I64,
                vm_flags(),
                def,
                VMOffsets::MEMORY_DEFINITION_CURRENT_LENGTH as i32,
            ),
        };
        let out_of_bounds = b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, start, length);
        let addr = b.ins().iadd(base, start);
        let null = b.ins().iconst(POINTER, 0);
        let addr = b.ins().select_spectre_guard(out_of_bounds, null, addr);
        HeapAddress {
            base: addr,
            offset: 0,
            flags: heap_flags(),
        }
    }

    /// `memory.size`, in pages, of the memory's index type.
    pub(crate) fn memory_size(&mut self, b: &mut FunctionBuilder<'_>, mem: MemoryIndex) -> Value {
        let def = self.definition_address(b, Entity::Memory(mem));
        let len = b.ins().load(
            types::I64,
            vm_flags(),
            def,
            VMOffsets::MEMORY_DEFINITION_CURRENT_LENGTH as i32,
        );
        let pages = b.ins().ushr_imm_s(len, 16);
        if self.memory64(mem) {
            pages
        } else {
            b.ins().ireduce(types::I32, pages)
        }
    }
}
