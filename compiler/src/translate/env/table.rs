//! Tables: where an element lives, and the inline sequences of
//! `table.get`, `table.set`, `table.size` and `table.grow`.
//!
//! A table is a [`trestle_vmctx::VMTableDefinition`] (in the vmctx, or
//! reached through an import) pointing at the element arrays described by
//! [`trestle_vmctx::VMTableEntry`]: a funcref element is a code word (the
//! callee's `wasm_call`, the null entry's marker, or zero while lazy
//! initialization has not written it) plus a funcref word in a second
//! array; an externref element is one word. Table indices reach this file
//! in the table's index type (i32, or i64 for a 64-bit table) and are
//! widened here.

use super::{Entity, FuncEnvironment, func_ref_flags, jump_and_continue, readonly_flags, vm_flags};
use crate::abi::{POINTER, trap_code};
use crate::index::TableIndex;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::{LibcallIndex, NULL_ENTRY_CODE, Trap, VMOffsets};

/// Where one table element lives (see [`trestle_vmctx::VMTableEntry`]).
#[derive(Clone, Copy)]
pub(super) struct TableElement {
    /// The address of its word in the table's first array: the code word
    /// of a funcref element, the word of an externref element.
    pub word: Value,
    /// The address and immediate offset of the funcref word of a funcref
    /// element.
    pub func_ref: (Value, i32),
    /// The element's index, an i64 known to be in bounds.
    pub index: Value,
}

/// Loads the code word of a funcref element, or the word of an externref
/// element, at `word`.
pub(super) fn load_code_word(b: &mut FunctionBuilder<'_>, word: Value) -> Value {
    b.ins().load(POINTER, vm_flags(), word, 0)
}

/// Loads the funcref word of a funcref element at `(address, offset)`.
pub(super) fn load_func_ref(b: &mut FunctionBuilder<'_>, (at, offset): (Value, i32)) -> Value {
    b.ins().load(POINTER, vm_flags(), at, offset)
}

/// Jumps to `done` with `value` when `cond` is non-zero, and otherwise
/// continues in a new cold block.
fn continue_cold_unless(b: &mut FunctionBuilder<'_>, cond: Value, done: ir::Block, value: Value) {
    let cold = b.create_block();
    b.set_cold_block(cold);
    b.ins()
        .brif(cond, done, &[BlockArg::Value(value)], cold, &[]);
    b.seal_block(cold);
    b.switch_to_block(cold);
}

/// Loads field `field` (an offset from [`VMOffsets`]) of type `ty` of the
/// table definition at `def`.
fn load_table_field(b: &mut FunctionBuilder<'_>, def: Value, ty: Type, field: u32) -> Value {
    b.ins().load(ty, vm_flags(), def, field as i32)
}

impl FuncEnvironment<'_> {
    /// Whether table `table` is indexed by i64.
    pub(crate) fn table64(&self, table: TableIndex) -> bool {
        self.module.info.tables[table].table64
    }

    /// Whether table `table` holds funcrefs (as opposed to externrefs).
    pub(super) fn is_funcref_table(&self, table: TableIndex) -> bool {
        self.module.info.tables[table].element.is_func()
    }

    /// The wasm type of an index into table `table`.
    fn table_index_type(&self, table: TableIndex) -> Type {
        if self.table64(table) {
            types::I64
        } else {
            types::I32
        }
    }

    /// Widens `index`, of the index type of table `table`, to an i64.
    pub(crate) fn table_index_to_i64(
        &self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        index: Value,
    ) -> Value {
        if self.table64(table) {
            index
        } else {
            b.ins().uextend(types::I64, index)
        }
    }

    /// Narrows `value`, an i64 size or index, to the index type of table
    /// `table`.
    fn i64_to_table_index(
        &self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        value: Value,
    ) -> Value {
        if self.table64(table) {
            value
        } else {
            b.ins().ireduce(types::I32, value)
        }
    }

    /// The size of a table that cannot grow, if it is one (and small
    /// enough for its arrays' distance to be an immediate offset, which
    /// every table the runtime accepts is).
    fn fixed_table_size(&self, table: TableIndex) -> Option<u64> {
        let ty = &self.module.info.tables[table];
        (ty.maximum == Some(ty.minimum) && ty.minimum < (1 << 28)).then_some(ty.minimum)
    }

    /// Address of the table's [`trestle_vmctx::VMTableDefinition`].
    fn table_definition(&self, b: &mut FunctionBuilder<'_>, table: TableIndex) -> Value {
        self.definition_address(b, Entity::Table(table))
    }

    /// Bounds-checks `index` (an i64) and returns where its table element
    /// lives. The offset into the arrays is clamped to 0 when out of bounds,
    /// so a mispredicted branch cannot read past the table. An index that
    /// is in bounds by construction (a table that cannot grow, an index
    /// computed with a mask, a shift or a remainder that keeps it below the
    /// size) needs neither the check nor the clamp.
    pub(super) fn table_element(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        index: Value,
        oob: Trap,
    ) -> TableElement {
        let def = self.table_definition(b, table);
        let fixed = self.fixed_table_size(table);
        // A table whose maximum equals its minimum never grows: its bound is
        // a constant, its base never moves (an imported one too, since its
        // size must match the declared limits) and its capacity is its size,
        // so its funcref words are at a constant distance from its code
        // words.
        let flags = if fixed.is_some() {
            readonly_flags()
        } else {
            vm_flags()
        };
        let base = b
            .ins()
            .load(POINTER, flags, def, VMOffsets::TABLE_DEFINITION_BASE as i32);
        let scaled = b
            .ins()
            .ishl_imm_s(index, i64::from(VMOffsets::TABLE_ELEMENT_SHIFT));
        let in_range = fixed.is_some_and(|size| max_value(&b.func.dfg, index, 4) < size);
        let offset = if in_range {
            scaled
        } else {
            let bound = match fixed {
                Some(size) => b.ins().iconst(types::I64, size as i64),
                None => load_table_field(
                    b,
                    def,
                    types::I64,
                    VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS,
                ),
            };
            let out = b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, index, bound);
            b.ins().trapnz(out, trap_code(oob));
            let zero = b.ins().iconst(types::I64, 0);
            b.ins().select_spectre_guard(out, zero, scaled)
        };
        let word = b.ins().iadd(base, offset);
        let func_ref = if !self.is_funcref_table(table) {
            (word, 0)
        } else if let Some(size) = fixed {
            (word, (size << VMOffsets::TABLE_ELEMENT_SHIFT) as i32)
        } else {
            let refs = load_table_field(b, def, POINTER, VMOffsets::TABLE_DEFINITION_FUNC_REFS);
            (b.ins().iadd(refs, offset), 0)
        };
        TableElement {
            word,
            func_ref,
            index,
        }
    }

    /// Where the funcref word of the element of funcref table `table` whose
    /// code word is at `word` is: an address and an immediate offset.
    pub(super) fn func_ref_at(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        word: Value,
    ) -> (Value, i32) {
        if let Some(size) = self.fixed_table_size(table) {
            return (word, (size << VMOffsets::TABLE_ELEMENT_SHIFT) as i32);
        }
        let def = self.table_definition(b, table);
        let base = load_table_field(b, def, POINTER, VMOffsets::TABLE_DEFINITION_BASE);
        let refs = load_table_field(b, def, POINTER, VMOffsets::TABLE_DEFINITION_FUNC_REFS);
        let offset = b.ins().isub(word, base);
        (b.ins().iadd(refs, offset), 0)
    }

    /// Calls the lazy-initialization libcall for element `index` (an i64,
    /// known to be in bounds) of funcref table `table`, which writes it, and
    /// returns the address of its code word, from which the element's words
    /// are reloaded: nothing of the fast path stays alive across the call
    /// (the register allocator would give such a value a callee-saved
    /// register that a value living across the indirect call needs).
    pub(super) fn lazy_init(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        index: Value,
    ) -> Value {
        let t = Self::index_arg(b, table);
        self.libcall_value(b, LibcallIndex::table_lazy_init, &[t, index])
    }

    /// `table.size`, in the table's index type.
    pub(crate) fn table_size(&mut self, b: &mut FunctionBuilder<'_>, table: TableIndex) -> Value {
        if let Some(size) = self.fixed_table_size(table) {
            let ty = self.table_index_type(table);
            return b.ins().iconst(ty, size as i64);
        }
        let def = self.table_definition(b, table);
        let len = load_table_field(
            b,
            def,
            types::I64,
            VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS,
        );
        self.i64_to_table_index(b, table, len)
    }

    /// `table.get` of `index` (in the table's index type): inline, with
    /// lazy initialization of funcref entries on a cold path.
    pub(crate) fn table_get(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        index: Value,
    ) -> Value {
        let index = self.table_index_to_i64(b, table, index);
        let elem = self.table_element(b, table, index, Trap::TableOutOfBounds);
        if !self.is_funcref_table(table) {
            return load_code_word(b, elem.word);
        }
        let func_ref = load_func_ref(b, elem.func_ref);
        if !self.options().table_lazy_init {
            return func_ref;
        }
        // A null funcref is a null entry or one not yet initialized; the
        // code word tells which.
        let done = b.create_block();
        b.append_block_param(done, POINTER);
        // Cold: null.
        continue_cold_unless(b, func_ref, done, func_ref);
        let code = load_code_word(b, elem.word);
        // Colder: not yet initialized.
        continue_cold_unless(b, code, done, func_ref);
        let word = self.lazy_init(b, table, elem.index);
        let at = self.func_ref_at(b, table, word);
        let func_ref = load_func_ref(b, at);
        jump_and_continue(b, done, func_ref)
    }

    /// `table.set` of `index` (in the table's index type) to the raw
    /// reference `val`: inline.
    pub(crate) fn table_set(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        index: Value,
        val: Value,
    ) {
        let index = self.table_index_to_i64(b, table, index);
        let elem = self.table_element(b, table, index, Trap::TableOutOfBounds);
        let code = self
            .is_funcref_table(table)
            .then(|| Self::entry_code(b, val));
        Self::store_element(b, elem.word, elem.func_ref, code, val);
    }

    /// `table.grow` by `delta` (in the table's index type) with `init`: in
    /// place when the table's inline capacity has room (writing the new
    /// elements and the length here), else through the libcall, which
    /// reallocates and asks the limiter. Returns the old size, or -1, in
    /// the table's index type.
    pub(crate) fn table_grow(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        table: TableIndex,
        delta: Value,
        init: Value,
    ) -> Value {
        let delta = self.table_index_to_i64(b, table, delta);
        let def = self.table_definition(b, table);
        let len = load_table_field(
            b,
            def,
            types::I64,
            VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS,
        );
        let capacity = load_table_field(
            b,
            def,
            types::I64,
            VMOffsets::TABLE_DEFINITION_INLINE_CAPACITY,
        );
        let room = b.ins().isub(capacity, len);
        let fits = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, delta, room);
        let inline = b.create_block();
        let slow = b.create_block();
        let done = b.create_block();
        b.append_block_param(done, types::I64);
        b.set_cold_block(slow);
        b.ins().brif(fits, inline, &[], slow, &[]);

        b.seal_block(slow);
        b.switch_to_block(slow);
        let t = Self::index_arg(b, table);
        let r = self.libcall_value(b, LibcallIndex::table_grow, &[t, delta, init]);
        b.ins().jump(done, &[BlockArg::Value(r)]);

        // In place: write `init` to elements `len..len + delta`, then the
        // new length. The storage cannot move: there is no call in between.
        b.seal_block(inline);
        b.switch_to_block(inline);
        let funcs = self.is_funcref_table(table);
        let code = funcs.then(|| Self::entry_code(b, init));
        let new_len = b.ins().iadd(len, delta);
        let base = load_table_field(b, def, POINTER, VMOffsets::TABLE_DEFINITION_BASE);
        let refs =
            funcs.then(|| load_table_field(b, def, POINTER, VMOffsets::TABLE_DEFINITION_FUNC_REFS));
        let head = b.create_block();
        b.append_block_param(head, types::I64);
        let body = b.create_block();
        let exit = b.create_block();
        b.ins().jump(head, &[BlockArg::Value(len)]);
        b.switch_to_block(head);
        let i = b.block_params(head)[0];
        let more = b.ins().icmp(IntCC::UnsignedLessThan, i, new_len);
        b.ins().brif(more, body, &[], exit, &[]);
        b.seal_block(body);
        b.switch_to_block(body);
        let offset = b
            .ins()
            .ishl_imm_s(i, i64::from(VMOffsets::TABLE_ELEMENT_SHIFT));
        let word = b.ins().iadd(base, offset);
        let func_ref = match refs {
            Some(refs) => (b.ins().iadd(refs, offset), 0),
            None => (word, 0),
        };
        Self::store_element(b, word, func_ref, code, init);
        let next = b.ins().iadd_imm_s(i, 1);
        b.ins().jump(head, &[BlockArg::Value(next)]);
        b.seal_block(head);
        b.seal_block(exit);
        b.switch_to_block(exit);
        b.ins().store(
            vm_flags(),
            new_len,
            def,
            VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS as i32,
        );
        let old_len = jump_and_continue(b, done, len);
        self.i64_to_table_index(b, table, old_len)
    }

    /// Stores an element's words: `val` alone at `word` (an externref), or
    /// `code` at `word` and `val` at `func_ref` (a funcref and its code
    /// word, from [`Self::entry_code`]).
    fn store_element(
        b: &mut FunctionBuilder<'_>,
        word: Value,
        func_ref: (Value, i32),
        code: Option<Value>,
        val: Value,
    ) {
        match code {
            None => {
                b.ins().store(vm_flags(), val, word, 0);
            }
            Some(code) => {
                b.ins().store(vm_flags(), code, word, 0);
                b.ins().store(vm_flags(), val, func_ref.0, func_ref.1);
            }
        }
    }

    /// The code word of the table entry for funcref `val`: its `wasm_call`,
    /// or the null entry's marker.
    fn entry_code(b: &mut FunctionBuilder<'_>, val: Value) -> Value {
        let nonnull = b.create_block();
        let merge = b.create_block();
        b.append_block_param(merge, POINTER);
        let marker = b.ins().iconst(POINTER, NULL_ENTRY_CODE as i64);
        b.ins()
            .brif(val, nonnull, &[], merge, &[BlockArg::Value(marker)]);
        b.seal_block(nonnull);
        b.switch_to_block(nonnull);
        let code = b.ins().load(
            POINTER,
            func_ref_flags(),
            val,
            VMOffsets::FUNC_REF_WASM_CALL as i32,
        );
        jump_and_continue(b, merge, code)
    }
}

/// An upper bound of the unsigned value of integer `v`, from the
/// instructions that compute it (looking `depth` definitions deep): the
/// constant itself, the smaller bound of a `band`, a right shift by a
/// constant, a remainder by a constant. The type's maximum when nothing
/// better is known.
fn max_value(dfg: &ir::DataFlowGraph, v: Value, depth: u32) -> u64 {
    let ty_max = type_max(dfg, v);
    let constant = |x: Value| constant_value(dfg, x);
    if depth == 0 {
        return ty_max;
    }
    let ir::ValueDef::Result(inst, _) = dfg.value_def(v) else {
        return ty_max;
    };
    let args = dfg.inst_args(inst);
    let bound = match dfg.insts[inst].opcode() {
        ir::Opcode::Iconst => constant(v),
        ir::Opcode::Uextend => Some(max_value(dfg, args[0], depth - 1)),
        ir::Opcode::Band => {
            Some(max_value(dfg, args[0], depth - 1).min(max_value(dfg, args[1], depth - 1)))
        }
        ir::Opcode::Ushr => {
            let bits = u64::from(dfg.value_type(v).bits());
            constant(args[1]).map(|k| max_value(dfg, args[0], depth - 1) >> (k % bits))
        }
        ir::Opcode::Urem => constant(args[1])
            .filter(|c| *c > 0)
            .map(|c| (c - 1).min(max_value(dfg, args[0], depth - 1))),
        _ => None,
    };
    bound.unwrap_or(ty_max).min(ty_max)
}

/// The largest unsigned value of integer `v`'s type.
fn type_max(dfg: &ir::DataFlowGraph, v: Value) -> u64 {
    match dfg.value_type(v).bits() {
        64 => u64::MAX,
        bits => (1u64 << bits) - 1,
    }
}

/// The unsigned value of integer `v` when it is an `iconst`.
pub(super) fn constant_value(dfg: &ir::DataFlowGraph, v: Value) -> Option<u64> {
    let ir::ValueDef::Result(inst, _) = dfg.value_def(v) else {
        return None;
    };
    match dfg.insts[inst] {
        ir::InstructionData::UnaryImm {
            opcode: ir::Opcode::Iconst,
            imm,
        } => Some(imm.bits() as u64 & type_max(dfg, v)),
        _ => None,
    }
}
