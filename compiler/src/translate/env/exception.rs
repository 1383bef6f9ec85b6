//! Exception handling: the handlers of enclosing `try_table`s, the
//! exception tables of the calls made inside them, and the runtime calls
//! of `throw`, `throw_ref` and of a handler that unpacks a payload.
//!
//! Nothing here costs anything while no exception is thrown: a call inside
//! a `try_table` is a Cranelift `try_call`, an ordinary call whose return
//! address the runtime finds in the module's call-site table
//! ([`crate::frame_info::CallSite`]) when it unwinds. Each entry of its
//! exception table names a handler block by the tag's index in this
//! module, after a *context* entry holding the function's vmctx, from
//! which the runtime resolves the index to the tag's store-wide identity
//! (an imported tag is the exporter's tag). A handler block receives the
//! `exnref` word in its one parameter (the first payload register of the
//! calling convention).

use super::FuncEnvironment;
use crate::abi::{POINTER, trap_code};
use crate::index::TagIndex;
use cranelift_codegen::ir::{
    self, BlockArg, ExceptionTableData, ExceptionTableItem, ExceptionTag, InstBuilder,
    MemFlagsData, SigRef, StackSlotData, StackSlotKind, Type, Value,
};
use cranelift_entity::EntityRef;
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::{LibcallIndex, Trap};

/// The size of one payload cell exchanged with the runtime.
const CELL: u32 = 16;

/// One `catch` clause of a `try_table`: the tag it catches (`None` for
/// `catch_all` and `catch_all_ref`) and the block that handles it, whose
/// one parameter is the `exnref` word.
#[derive(Clone, Copy)]
pub(crate) struct Catch {
    pub tag: Option<TagIndex>,
    pub handler: ir::Block,
}

impl FuncEnvironment<'_> {
    /// Enters a `try_table` whose clauses are `catches`, in order.
    pub(crate) fn push_catches(&mut self, catches: Vec<Catch>) {
        self.catch_scopes.push(catches);
    }

    /// Leaves the innermost `try_table`; returns its clauses.
    pub(crate) fn pop_catches(&mut self) -> Vec<Catch> {
        self.catch_scopes
            .pop()
            .expect("validated: try_table end without try_table")
    }

    /// Whether a call made here may be caught in this function.
    pub(crate) fn in_try_table(&self) -> bool {
        !self.catch_scopes.is_empty()
    }

    /// Calls `callee` (a `FuncRef` or a code pointer with `sig`) with
    /// `args` as a `try_call` whose handlers are every enclosing
    /// `try_table`'s clauses, innermost first, and continues on its normal
    /// return; returns the call's results.
    pub(crate) fn try_call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        sig: SigRef,
        callee: Result<ir::FuncRef, Value>,
        args: &[Value],
    ) -> Vec<Value> {
        let returns: Vec<Type> = b.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|p| p.value_type)
            .collect();
        let normal = b.create_block();
        for t in &returns {
            b.append_block_param(normal, *t);
        }
        let rets: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal_call = b.func.dfg.block_call(normal, &rets);
        let mut items = vec![ExceptionTableItem::Context(self.vmctx)];
        for scope in self.catch_scopes.iter().rev() {
            for c in scope {
                let call = b.func.dfg.block_call(c.handler, &[BlockArg::TryCallExn(0)]);
                items.push(match c.tag {
                    Some(tag) => ExceptionTableItem::Tag(ExceptionTag::new(tag.index()), call),
                    None => ExceptionTableItem::Default(call),
                });
            }
        }
        let table =
            b.func
                .dfg
                .exception_tables
                .push(ExceptionTableData::new(sig, normal_call, items));
        match callee {
            Ok(f) => b.ins().try_call(f, args, table),
            Err(code) => b.ins().try_call_indirect(code, args, table),
        };
        b.seal_block(normal);
        b.switch_to_block(normal);
        b.block_params(normal).to_vec()
    }

    /// A stack slot of `n` payload cells and its address.
    fn payload_cells(b: &mut FunctionBuilder<'_>, n: usize) -> Value {
        let size = CELL * (n.max(1) as u32);
        let slot =
            b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
        b.ins().stack_addr(POINTER, slot, 0)
    }

    /// `throw`'s exception: a new exception of tag `tag` carrying `values`;
    /// returns its `exnref` word.
    pub(crate) fn exn_new(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        tag: TagIndex,
        values: &[Value],
    ) -> Value {
        let cells = Self::payload_cells(b, values.len());
        for (i, v) in values.iter().enumerate() {
            b.ins()
                .store(MemFlagsData::trusted(), *v, cells, (i as u32 * CELL) as i32);
        }
        let tag = Self::index_arg(b, tag);
        self.libcall_value(b, LibcallIndex::exn_new, &[tag, cells])
    }

    /// The payload of the non-null exception `exn`, of types `types`.
    pub(crate) fn exn_payload(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        exn: Value,
        types: &[Type],
    ) -> Vec<Value> {
        if types.is_empty() {
            return Vec::new();
        }
        let cells = Self::payload_cells(b, types.len());
        self.libcall(b, LibcallIndex::exn_payload, &[exn, cells]);
        types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                b.ins()
                    .load(*t, MemFlagsData::trusted(), cells, (i as u32 * CELL) as i32)
            })
            .collect()
    }

    /// `throw_ref` of `exn` (and the end of `throw`): traps on null, else
    /// calls the runtime's throw stub, which never returns here; the
    /// current block ends.
    pub(crate) fn throw_ref(&mut self, b: &mut FunctionBuilder<'_>, exn: Value) {
        b.ins().trapz(exn, trap_code(Trap::NullReference));
        let sig = self.libcall_sig(b, LibcallIndex::throw_ref);
        let stub = self.libcall_address(b, LibcallIndex::throw_ref);
        let args = [self.vmctx, exn];
        if self.in_try_table() {
            self.try_call(b, sig, Err(stub), &args);
        } else {
            b.ins().call_indirect(sig, stub, &args);
        }
        b.ins().trap(trap_code(Trap::UnreachableCodeReached));
    }
}
