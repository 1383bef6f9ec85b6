//! Calls: direct calls to defined functions, calls through an import's
//! pointers, `call_indirect` through a table and `call_ref` through a
//! funcref ([`FuncEnvironment::func_ref_callee`] then
//! [`FuncEnvironment::call_func_ref`]), each as a regular call or a tail
//! call.
//!
//! Every callee has the wasm signature
//! (`(callee_vmctx, caller_vmctx, params...)`, see
//! [`crate::abi::wasm_signature`]). The caller hands over the parameters
//! (the top of its operand stack) and gets back the call's results, which
//! it pushes, or `None` after a tail call, which ends the block.

use super::table::{load_code_word, load_func_ref};
use super::{FuncEnvironment, func_ref_flags, readonly_flags};
use crate::CompileError;
use crate::abi::{POINTER, import_defined_function, trap_code, wasm_signature};
use crate::index::{FuncIndex, TableIndex, TypeIndex};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, SigRef, Value, types,
};
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::{LibcallIndex, Trap, VMOffsets};

/// Whether a call returns to the caller or replaces its frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CallKind {
    /// `call`, `call_indirect`, `call_ref`.
    Call,
    /// `return_call`, `return_call_indirect`, `return_call_ref`.
    TailCall,
}

/// The results of a call, or `None` when the block ended with it (a tail
/// call, or a call that always traps).
pub(crate) type CallResults = Option<Vec<Value>>;

/// One `call_indirect` or `return_call_indirect`: its type, its table, the
/// index operand (in the table's index type) and the kind of call.
#[derive(Clone, Copy)]
pub(super) struct IndirectSite {
    pub type_index: TypeIndex,
    pub table: TableIndex,
    pub index: Value,
    pub kind: CallKind,
}

/// What a call instruction calls.
#[derive(Clone, Copy)]
enum CallTarget {
    /// A defined function, by a relocated direct call.
    Direct(FuncRef),
    /// Code at an address, with a signature.
    Indirect(SigRef, Value),
}

/// A function reached through a non-null funcref: its code pointer (from
/// a table entry's code word or the funcref) and the funcref.
#[derive(Clone, Copy)]
pub(crate) struct Callee {
    code: Value,
    func_ref: Value,
}

/// The arguments of a wasm call: the callee's vmctx, the caller's, the
/// parameters.
fn call_args(callee_vmctx: Value, caller_vmctx: Value, params: &[Value]) -> Vec<Value> {
    let mut args = Vec::with_capacity(params.len() + 2);
    args.push(callee_vmctx);
    args.push(caller_vmctx);
    args.extend_from_slice(params);
    args
}

/// Loads the canonical type id of the function of funcref `func_ref`.
fn load_type_id(b: &mut FunctionBuilder<'_>, func_ref: Value, flags: MemFlagsData) -> Value {
    b.ins().load(
        types::I32,
        flags,
        func_ref,
        VMOffsets::FUNC_REF_TYPE_ID as i32,
    )
}

/// Tables declared with a number of entries in this range are called
/// through with the code pointer read from the funcref rather than from
/// the entry (see [`FuncEnvironment::generic_call_indirect`]). Their two
/// arrays together (16 bytes an entry) are 512 KiB to 4 MiB, past a core's
/// L2 cache on many machines, while the funcref array alone is half that:
/// reading one array rather than both keeps more of the table in the
/// faster cache, which pays for the extra dependent load. In a smaller
/// table the extra load costs more than it saves; in a larger one both
/// layouts miss the same caches, and the shorter chain to the branch
/// target is kept (measured in docs/benchmarks.md, "Large tables, third
/// pass": 64k entries gained, 1M entries measured the same either way).
pub(crate) const FUNC_REF_ONLY_ENTRIES: std::ops::Range<u64> = (1 << 15)..(1 << 18);

/// Loads a funcref's code pointer for calls from wasm.
fn load_wasm_call(b: &mut FunctionBuilder<'_>, func_ref: Value, flags: MemFlagsData) -> Value {
    b.ins().load(
        POINTER,
        flags,
        func_ref,
        VMOffsets::FUNC_REF_WASM_CALL as i32,
    )
}

/// Branches to `check` with a funcref table entry's two words when its
/// funcref is non-null, else to `otherwise`.
fn branch_if_func_ref(
    b: &mut FunctionBuilder<'_>,
    code: Value,
    func_ref: Value,
    check: Block,
    otherwise: Block,
) {
    b.ins().brif(
        func_ref,
        check,
        &[BlockArg::Value(code), BlockArg::Value(func_ref)],
        otherwise,
        &[],
    );
}

impl FuncEnvironment<'_> {
    /// The imported signature of wasm function type `type_index`.
    fn signature(&mut self, b: &mut FunctionBuilder<'_>, type_index: TypeIndex) -> SigRef {
        if let Some(s) = self.signatures.get(&type_index) {
            return *s;
        }
        let sig = wasm_signature(&self.module.info.types[type_index]);
        let s = b.import_signature(sig);
        self.signatures.insert(type_index, s);
        s
    }

    /// The imported direct callee for defined function `func`.
    fn direct_callee(&mut self, b: &mut FunctionBuilder<'_>, func: FuncIndex) -> FuncRef {
        if let Some(f) = self.direct_callees.get(&func) {
            return *f;
        }
        let sig = self.signature(b, self.module.info.functions[func]);
        let f = import_defined_function(b, func, sig);
        self.direct_callees.insert(func, f);
        f
    }

    /// Calls `target` with `args` and returns its results, or jumps to it
    /// for a tail call (`None`: the block ends). Inside a `try_table` a
    /// call is a `try_call` whose handlers are the enclosing clauses; a
    /// tail call leaves the `try_table`, so it never is.
    fn emit_call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        target: CallTarget,
        args: &[Value],
        kind: CallKind,
    ) -> Option<Vec<Value>> {
        if kind == CallKind::Call && self.in_try_table() {
            let (sig, callee) = match target {
                CallTarget::Direct(f) => (b.func.dfg.ext_funcs[f].signature, Ok(f)),
                CallTarget::Indirect(sig, code) => (sig, Err(code)),
            };
            return Some(self.try_call(b, sig, callee, args));
        }
        let ins = b.ins();
        let call = match (target, kind) {
            (CallTarget::Direct(f), CallKind::Call) => ins.call(f, args),
            (CallTarget::Indirect(sig, code), CallKind::Call) => ins.call_indirect(sig, code, args),
            (CallTarget::Direct(f), CallKind::TailCall) => {
                ins.return_call(f, args);
                return None;
            }
            (CallTarget::Indirect(sig, code), CallKind::TailCall) => {
                ins.return_call_indirect(sig, code, args);
                return None;
            }
        };
        Some(b.inst_results(call).to_vec())
    }

    /// `call` / `return_call` of function `func` with `params`: a direct
    /// call to a defined function, an indirect one through the import's
    /// code and vmctx pointers for an imported function.
    pub(crate) fn call_function(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        func: FuncIndex,
        params: &[Value],
        kind: CallKind,
    ) -> Option<Vec<Value>> {
        if self.module.info.is_imported_func(func) {
            let off = self.module.offsets.imported_function(func.as_u32()) as i32;
            let code = b.ins().load(
                POINTER,
                readonly_flags(),
                self.vmctx,
                off + VMOffsets::FUNCTION_IMPORT_WASM_CALL as i32,
            );
            let callee_vmctx = b.ins().load(
                POINTER,
                readonly_flags(),
                self.vmctx,
                off + VMOffsets::FUNCTION_IMPORT_VMCTX as i32,
            );
            let args = call_args(callee_vmctx, self.vmctx, params);
            let sig = self.signature(b, self.module.info.functions[func]);
            return self.emit_call(b, CallTarget::Indirect(sig, code), &args, kind);
        }
        let callee = self.direct_callee(b, func);
        let args = call_args(self.vmctx, self.vmctx, params);
        self.emit_call(b, CallTarget::Direct(callee), &args, kind)
    }

    /// `call_indirect` / `return_call_indirect` of type `type_index`
    /// through element `index` (in the table's index type) of table
    /// `table`, with `params`: the call's results, or `None` when the
    /// block ended (a tail call, or a call known to trap).
    ///
    /// Through a table whose contents are known at compile time, a constant
    /// index becomes a direct call or a trap, and an index that may select
    /// only a few functions is compared against their slots
    /// ([`super::devirt`]); otherwise the generic sequence
    /// ([`Self::generic_call_indirect`]) loads and checks the entry.
    ///
    /// # Errors
    ///
    /// When the table does not hold funcrefs (not supported).
    pub(crate) fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: TypeIndex,
        table: TableIndex,
        index: Value,
        params: &[Value],
        kind: CallKind,
    ) -> Result<CallResults, CompileError> {
        if !self.is_funcref_table(table) {
            return Err(CompileError::unsupported(
                "call_indirect on a non-funcref table",
            ));
        }
        let site = IndirectSite {
            type_index,
            table,
            index,
            kind,
        };
        if let Some(results) = self.known_call_indirect(b, site, params) {
            return Ok(results);
        }
        Ok(self.generic_call_indirect(b, site, params))
    }

    /// The generic `call_indirect` sequence: the bounds check, the entry's
    /// null (and, with lazy initialization, not-yet-written) check, the type
    /// check and the call through the entry's code pointer.
    pub(super) fn generic_call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        site: IndirectSite,
        params: &[Value],
    ) -> CallResults {
        let IndirectSite {
            type_index,
            table,
            index,
            kind,
        } = site;
        let index = self.table_index_to_i64(b, table, index);
        let elem = self.table_element(b, table, index, Trap::UndefinedElement);

        // Fast path: the entry's funcref is non-null and has the expected
        // type. Both words of the entry are loaded at once: the code pointer,
        // the branch target, is one load from the index, while the type
        // check and the callee's vmctx go through the funcref. Through a
        // table of [`FUNC_REF_ONLY_ENTRIES`], the code pointer comes from
        // the funcref instead (where the entry's code word copies it from):
        // one cache line of the table per call rather than one in each of
        // its two arrays.
        let large = FUNC_REF_ONLY_ENTRIES.contains(&self.module.info.tables[table].minimum);
        let code = (!large).then(|| load_code_word(b, elem.word));
        let func_ref = load_func_ref(b, elem.func_ref);
        if !self.options().table_lazy_init {
            // Without lazy initialization a null funcref is a null entry:
            // the type load itself faults on it (the null page is never
            // mapped) and the fault is the trap, so there is no branch.
            let flags = func_ref_flags().with_trap_code(Some(trap_code(Trap::IndirectCallToNull)));
            let code = code.unwrap_or_else(|| load_wasm_call(b, func_ref, flags));
            let type_id = load_type_id(b, func_ref, flags);
            let callee = Callee { code, func_ref };
            return self.checked_call(b, type_index, callee, type_id, params, kind);
        }
        let check = b.create_block();
        b.append_block_param(check, POINTER);
        b.append_block_param(check, POINTER);
        let empty = b.create_block();
        b.set_cold_block(empty);
        match code {
            Some(code) => branch_if_func_ref(b, code, func_ref, check, empty),
            None => {
                let found = b.create_block();
                b.ins().brif(func_ref, found, &[], empty, &[]);
                b.seal_block(found);
                b.switch_to_block(found);
                let code = load_wasm_call(b, func_ref, func_ref_flags());
                b.ins()
                    .jump(check, &[BlockArg::Value(code), BlockArg::Value(func_ref)]);
            }
        }

        // Cold: a null entry (its code word is a non-zero marker), or one
        // lazy initialization has yet to write (all zero).
        b.seal_block(empty);
        b.switch_to_block(empty);
        let code = code.unwrap_or_else(|| load_code_word(b, elem.word));
        let null = b.create_block();
        b.set_cold_block(null);
        let lazy = b.create_block();
        b.set_cold_block(lazy);
        b.ins().brif(code, null, &[], lazy, &[]);
        b.seal_block(lazy);
        b.switch_to_block(lazy);
        let word = self.lazy_init(b, table, elem.index);
        let code = load_code_word(b, word);
        let at = self.func_ref_at(b, table, word);
        let func_ref = load_func_ref(b, at);
        branch_if_func_ref(b, code, func_ref, check, null);
        b.seal_block(null);
        b.switch_to_block(null);
        b.ins().trap(trap_code(Trap::IndirectCallToNull));

        b.seal_block(check);
        b.switch_to_block(check);
        let callee = Callee {
            code: b.block_params(check)[0],
            func_ref: b.block_params(check)[1],
        };
        let type_id = load_type_id(b, callee.func_ref, func_ref_flags());
        self.checked_call(b, type_index, callee, type_id, params, kind)
    }

    /// The rest of a `call_indirect` once the callee's funcref is known to
    /// be non-null: the type check (one compare of the canonical id
    /// `type_id` with an immediate) and the call through the entry's code
    /// pointer.
    fn checked_call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: TypeIndex,
        callee: Callee,
        type_id: Value,
        params: &[Value],
        kind: CallKind,
    ) -> Option<Vec<Value>> {
        let expected = self.module.info.type_ids[type_index];
        let ok = b
            .ins()
            .icmp_imm_s(IntCC::Equal, type_id, i64::from(expected.as_u32()));
        let call_block = b.create_block();
        let mismatch = b.create_block();
        b.set_cold_block(mismatch);
        b.ins().brif(ok, call_block, &[], mismatch, &[]);
        b.seal_block(mismatch);
        b.switch_to_block(mismatch);
        if self.module.info.sub_types[type_index].is_final {
            // A final type has no subtypes: only its own id matches.
            b.ins().trap(trap_code(Trap::BadSignature));
        } else {
            // The callee's type may declare the expected one as supertype.
            let expected = b.ins().iconst(types::I32, i64::from(expected.as_u32()));
            let sub = self.libcall_value(b, LibcallIndex::is_subtype, &[type_id, expected]);
            b.ins().trapz(sub, trap_code(Trap::BadSignature));
            b.ins().jump(call_block, &[]);
        }

        b.seal_block(call_block);
        b.switch_to_block(call_block);
        self.call_func_ref(b, type_index, callee, params, kind)
    }

    /// The callee of `call_ref` / `return_call_ref` through `func_ref`,
    /// whose type validation already proved; only null is checked.
    pub(crate) fn func_ref_callee(b: &mut FunctionBuilder<'_>, func_ref: Value) -> Callee {
        b.ins()
            .trapz(func_ref, trap_code(Trap::NullFunctionReference));
        let code = b.ins().load(
            POINTER,
            func_ref_flags(),
            func_ref,
            VMOffsets::FUNC_REF_WASM_CALL as i32,
        );
        Callee { code, func_ref }
    }

    /// Calls `callee`, of type `type_index`, with `params`.
    pub(crate) fn call_func_ref(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: TypeIndex,
        callee: Callee,
        params: &[Value],
        kind: CallKind,
    ) -> Option<Vec<Value>> {
        let callee_vmctx = b.ins().load(
            POINTER,
            func_ref_flags(),
            callee.func_ref,
            VMOffsets::FUNC_REF_VMCTX as i32,
        );
        let args = call_args(callee_vmctx, self.vmctx, params);
        let sig = self.signature(b, type_index);
        self.emit_call(b, CallTarget::Indirect(sig, callee.code), &args, kind)
    }
}
