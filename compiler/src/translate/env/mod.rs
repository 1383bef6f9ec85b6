//! The function environment: everything the translated code reaches
//! through the vmctx.
//!
//! [`FuncEnvironment`] is the only part of the translator that knows the
//! vmctx layout ([`VMOffsets`]) and how the runtime represents an entity:
//! where a global lives, a memory's base, a table's elements, how a
//! function is called directly, through an import, a table or a funcref,
//! how a libcall is reached, and the fuel and epoch checks. The operator
//! translations ([`super::ops`]) ask it for addresses and calls and never
//! compute an offset themselves.
//!
//! Its methods take the function builder as an argument; the environment
//! keeps only what stays the same for the whole function (the vmctx value,
//! signature caches, the store context) and the fuel not yet charged.
//!
//! - this file: construction, memory flags, globals, libcalls, fuel and
//!   epochs;
//! - [`memory`]: linear-memory addresses and bounds checks, `memory.size`;
//! - [`table`]: table elements, `table.get`/`set`/`size`/`grow`;
//! - [`call`]: direct, imported, `call_indirect` and `call_ref` calls;
//! - [`exception`]: `try_table` handlers, `try_call`s, `throw` and
//!   `throw_ref`;
//! - [`devirt`]: `call_indirect` through a table whose contents are known
//!   at compile time.

mod call;
mod devirt;
mod exception;
mod memory;
mod table;

pub(crate) use call::{CallKind, CallResults};
pub(crate) use exception::Catch;

use crate::abi::{POINTER, ir_type, libcall_signature, trap_code};
use crate::index::{FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex};
use crate::types::ModuleInfo;
use crate::{Compiler, CompilerOptions};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::immediates::Offset32;
use cranelift_codegen::ir::{
    self, Endianness, FuncRef, Function, GlobalValueData, InstBuilder, MemFlagsData, SigRef,
    TrapCode, Type, Value, types,
};
use cranelift_entity::EntityRef;
use cranelift_frontend::FunctionBuilder;
use std::collections::HashMap;
use trestle_vmctx::{LibcallIndex, Trap, VMOffsets};

/// Flags of a load or store to linear memory: little-endian, may trap.
fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
}

/// Flags of an access to the vmctx or another runtime structure.
fn vm_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of a load of a value that never changes for the life of an
/// instance (a memory base, an import's pointer): it may be hoisted and
/// deduplicated.
fn readonly_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags of a load from a `VMFuncRef`: never written after the function's
/// instance is set up, but only valid once the pointer was checked for null,
/// so it may not move above that check.
fn func_ref_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly()
}

/// Sets `func`'s stack limit: Cranelift checks the stack pointer against
/// it in the prologue. It is reached as vmctx -> store context ->
/// stack limit.
pub(crate) fn declare_stack_limit(func: &mut Function) {
    let load = |func: &mut Function, base, offset: u32, flags: MemFlagsData| {
        let flags = func.dfg.mem_flags.insert_unchecked(flags);
        func.create_global_value(GlobalValueData::Load {
            base,
            offset: Offset32::new(offset as i32),
            global_type: POINTER,
            flags,
        })
    };
    let vmctx = func.create_global_value(GlobalValueData::VMContext);
    let store_ctx = load(
        func,
        vmctx,
        VMOffsets::VMCTX_STORE_CONTEXT,
        readonly_flags(),
    );
    let limit = load(
        func,
        store_ctx,
        VMOffsets::STORE_CONTEXT_STACK_LIMIT,
        vm_flags(),
    );
    func.stack_limit = Some(limit);
}

/// Where a linear-memory access goes: `base + offset`, with the flags the
/// access must carry.
#[derive(Clone, Copy)]
pub(crate) struct HeapAddress {
    pub base: Value,
    pub offset: i32,
    pub flags: MemFlagsData,
}

/// A global, memory or table, by its index in the module.
#[derive(Clone, Copy)]
enum Entity {
    Global(GlobalIndex),
    Memory(MemoryIndex),
    Table(TableIndex),
}

/// Jumps to `block` with `value`, its one parameter, and continues there;
/// returns the parameter.
fn jump_and_continue(b: &mut FunctionBuilder<'_>, block: ir::Block, value: Value) -> Value {
    b.ins().jump(block, &[ir::BlockArg::Value(value)]);
    b.seal_block(block);
    b.switch_to_block(block);
    b.block_params(block)[0]
}

/// What the translator knows about the instance a function runs in.
pub(crate) struct FuncEnvironment<'a> {
    /// The compiler, the module, its vmctx layout and its known tables.
    module: super::ModuleEnv<'a>,
    /// The function's own vmctx parameter.
    vmctx: Value,
    /// Imported signatures of wasm function types, by type index.
    signatures: HashMap<TypeIndex, SigRef>,
    /// Imported direct callees, by function index.
    direct_callees: HashMap<FuncIndex, FuncRef>,
    /// Imported libcall signatures.
    libcall_signatures: HashMap<LibcallIndex, SigRef>,
    /// The store context pointer, loaded once at entry when fuel or epochs
    /// are on.
    store_ctx: Option<Value>,
    /// Fuel used by the operators since the last flush to the store.
    fuel_pending: i64,
    /// The clauses of the enclosing `try_table`s, outermost first.
    catch_scopes: Vec<Vec<Catch>>,
}

impl<'a> FuncEnvironment<'a> {
    pub(crate) fn new(module: super::ModuleEnv<'a>, vmctx: Value) -> Self {
        Self {
            module,
            vmctx,
            signatures: HashMap::new(),
            direct_callees: HashMap::new(),
            libcall_signatures: HashMap::new(),
            store_ctx: None,
            fuel_pending: 0,
            catch_scopes: Vec::new(),
        }
    }

    pub(crate) fn info(&self) -> &'a ModuleInfo {
        self.module.info
    }

    fn options(&self) -> &CompilerOptions {
        self.module.compiler.options()
    }

    /// The compiler, for what depends on the target (the vector
    /// instructions the host has).
    pub(crate) fn compiler(&self) -> &'a Compiler {
        self.module.compiler
    }

    /// Code at the function's entry: the store context is loaded when fuel
    /// or epochs need it, and the epoch is checked.
    pub(crate) fn function_entry(&mut self, b: &mut FunctionBuilder<'_>) {
        let opts = self.options();
        if opts.consume_fuel || opts.epoch_interruption {
            let ctx = b.ins().load(
                POINTER,
                readonly_flags(),
                self.vmctx,
                VMOffsets::VMCTX_STORE_CONTEXT as i32,
            );
            self.store_ctx = Some(ctx);
        }
        self.epoch_check(b);
    }

    // ---- Fuel and epochs -------------------------------------------------

    /// With epoch interruption on, traps when the engine's epoch has
    /// reached the store's deadline.
    pub(crate) fn epoch_check(&mut self, b: &mut FunctionBuilder<'_>) {
        if !self.options().epoch_interruption {
            return;
        }
        let ctx = self.store_ctx.expect("loaded at entry");
        let epoch_ptr = b.ins().load(
            POINTER,
            readonly_flags(),
            ctx,
            VMOffsets::STORE_CONTEXT_EPOCH_PTR as i32,
        );
        // Another thread bumps the epoch: an atomic load, so the value is
        // never reused from an earlier check.
        let epoch = b
            .ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), epoch_ptr);
        let deadline = b.ins().load(
            types::I64,
            vm_flags(),
            ctx,
            VMOffsets::STORE_CONTEXT_EPOCH_DEADLINE as i32,
        );
        let due = b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        b.ins().trapnz(due, trap_code(Trap::Interrupt));
    }

    /// Whether operators cost fuel.
    pub(crate) fn consumes_fuel(&self) -> bool {
        self.options().consume_fuel
    }

    /// Records the fuel of one operator; it is charged at the next
    /// [`Self::flush_fuel`].
    pub(crate) fn add_fuel(&mut self, units: i64) {
        self.fuel_pending += units;
    }

    /// Drops the fuel recorded since the last flush: the operators it was
    /// recorded for turned out to be dead code after a branch.
    pub(crate) fn forget_fuel(&mut self) {
        self.fuel_pending = 0;
    }

    /// With fuel metering on, adds the fuel of the operators translated
    /// since the last flush to the store's counter and traps when it runs
    /// out. Called before every branch and call, so every loop iteration
    /// and every call pays before it goes on.
    pub(crate) fn flush_fuel(&mut self, b: &mut FunctionBuilder<'_>) {
        if self.fuel_pending == 0 {
            return;
        }
        let ctx = self.store_ctx.expect("loaded at entry");
        let off = VMOffsets::STORE_CONTEXT_FUEL_CONSUMED as i32;
        let fuel = b.ins().load(types::I64, vm_flags(), ctx, off);
        let fuel = b.ins().iadd_imm_s(fuel, self.fuel_pending);
        b.ins().store(vm_flags(), fuel, ctx, off);
        let out = b.ins().icmp_imm_s(IntCC::SignedGreaterThan, fuel, 0);
        b.ins().trapnz(out, trap_code(Trap::OutOfFuel));
        self.fuel_pending = 0;
    }

    /// The address of an entity's definition: in the vmctx for a defined
    /// one, behind the import's pointer for an imported one.
    fn definition_address(&self, b: &mut FunctionBuilder<'_>, entity: Entity) -> Value {
        let (info, offsets) = (self.module.info, self.module.offsets);
        let defined = match entity {
            Entity::Global(i) => info
                .defined_global_index(i)
                .map(|d| offsets.defined_global(d.as_u32())),
            Entity::Memory(i) => info
                .defined_memory_index(i)
                .map(|d| offsets.defined_memory(d.as_u32())),
            Entity::Table(i) => info
                .defined_table_index(i)
                .map(|d| offsets.defined_table(d.as_u32())),
        };
        if let Some(off) = defined {
            return b.ins().iadd_imm_s(self.vmctx, i64::from(off));
        }
        let import = match entity {
            Entity::Global(i) => {
                offsets.imported_global(i.as_u32()) + VMOffsets::GLOBAL_IMPORT_FROM
            }
            Entity::Memory(i) => {
                offsets.imported_memory(i.as_u32()) + VMOffsets::MEMORY_IMPORT_FROM
            }
            Entity::Table(i) => offsets.imported_table(i.as_u32()) + VMOffsets::TABLE_IMPORT_FROM,
        };
        b.ins()
            .load(POINTER, readonly_flags(), self.vmctx, import as i32)
    }

    // ---- Globals ---------------------------------------------------------

    /// Address and type of a global's storage.
    fn global_addr(&mut self, b: &mut FunctionBuilder<'_>, global: GlobalIndex) -> (Value, Type) {
        let ty = ir_type(self.module.info.globals[global].ty);
        (self.definition_address(b, Entity::Global(global)), ty)
    }

    /// `global.get`.
    pub(crate) fn global_get(&mut self, b: &mut FunctionBuilder<'_>, global: GlobalIndex) -> Value {
        let (addr, ty) = self.global_addr(b, global);
        b.ins().load(ty, vm_flags(), addr, 0)
    }

    /// `global.set`.
    pub(crate) fn global_set(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        global: GlobalIndex,
        value: Value,
    ) {
        let (addr, _) = self.global_addr(b, global);
        b.ins().store(vm_flags(), value, addr, 0);
    }

    // ---- Libcalls --------------------------------------------------------

    /// The imported signature of libcall `which`.
    fn libcall_sig(&mut self, b: &mut FunctionBuilder<'_>, which: LibcallIndex) -> SigRef {
        if let Some(s) = self.libcall_signatures.get(&which) {
            return *s;
        }
        let s = b.import_signature(libcall_signature(self.module.compiler.call_conv(), which));
        self.libcall_signatures.insert(which, s);
        s
    }

    /// The address of libcall `which`, read from the builtins array.
    fn libcall_address(&mut self, b: &mut FunctionBuilder<'_>, which: LibcallIndex) -> Value {
        // Read-only but not movable: libcalls mostly sit on cold paths, and
        // a pointer hoisted out of a loop would hold a callee-saved register
        // across the hot path's calls.
        let flags = MemFlagsData::trusted().with_readonly();
        let builtins = b
            .ins()
            .load(POINTER, flags, self.vmctx, VMOffsets::VMCTX_BUILTINS as i32);
        b.ins()
            .load(POINTER, flags, builtins, VMOffsets::builtin(which) as i32)
    }

    /// Calls runtime function `which` with `args` after the vmctx, and
    /// returns the call instruction.
    pub(crate) fn libcall(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        which: LibcallIndex,
        args: &[Value],
    ) -> ir::Inst {
        let sig = self.libcall_sig(b, which);
        let f = self.libcall_address(b, which);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        b.ins().call_indirect(sig, f, &all)
    }

    /// Calls runtime function `which`, which returns a value, and returns
    /// it.
    pub(crate) fn libcall_value(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        which: LibcallIndex,
        args: &[Value],
    ) -> Value {
        let inst = self.libcall(b, which, args);
        b.inst_results(inst)[0]
    }

    /// An i32 constant naming an entity (a memory, table, data or element
    /// segment) in a libcall's arguments.
    pub(crate) fn index_arg(b: &mut FunctionBuilder<'_>, index: impl EntityRef) -> Value {
        b.ins().iconst(types::I32, index.index() as i64)
    }

    /// A function's `VMFuncRef` in the vmctx, for `ref.func`.
    pub(crate) fn ref_func(&mut self, b: &mut FunctionBuilder<'_>, func: FuncIndex) -> Value {
        let off = self.module.offsets.func_ref(func.as_u32());
        b.ins().iadd_imm_s(self.vmctx, i64::from(off))
    }
}
