//! Devirtualized `call_indirect`: calls through a table whose contents are
//! known at compile time ([`crate::devirt`]).
//!
//! - A constant index names one slot: the call becomes a direct call of its
//!   function, or the trap the generic sequence would raise (out of bounds,
//!   null, or a function of another type when the expected type is final).
//! - An index into a table where only a few functions have exactly the
//!   expected type is compared against the slot ranges of those functions
//!   (one compare per single slot, a subtract and an unsigned compare per
//!   longer run) and a match calls its function directly. Every other index
//!   takes the generic sequence, which traps, or calls a function whose type
//!   is a subtype of the expected one. When the expected type is final, that
//!   fallback can only trap and is laid out as cold code.
//!
//! - Through a table whose contents are only guessed (it may be written),
//!   a constant index, or an index that may select only a few functions of
//!   the expected type, is speculated: the entry's funcref word is loaded
//!   (after the bounds check the generic sequence makes) and compared with
//!   the funcref of each guessed function in this instance; a match calls
//!   that function directly, anything else (another function, null, a slot
//!   lazy initialization has not written yet) takes the generic sequence,
//!   laid out as cold code.
//!
//! Only the target changes: the direct call is the call the generic
//! sequence would make (the same function, with the instance's own vmctx),
//! so results, traps and fuel are the same in both table modes.

use super::FuncEnvironment;
use super::call::{CallKind, CallResults, IndirectSite};
use super::table::constant_value;
use super::table::load_func_ref;
use crate::abi::{ir_type, trap_code};
use crate::devirt::{KnownTable, KnownTables, MAX_GUARDED_FUNCS, Slot, SlotRange};
use crate::index::FuncIndex;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, InstBuilder, Value};
use cranelift_entity::EntityRef;
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::Trap;

/// What selects one target of a devirtualized `call_indirect`.
#[derive(Clone, Copy)]
enum Guard {
    /// The index lies in a range of slots of a known table.
    Slots(SlotRange),
    /// The entry's funcref word (the value) is the function's funcref.
    FuncRef(FuncIndex, Value),
}

impl Guard {
    /// The function the guard selects.
    fn func(self) -> FuncIndex {
        match self {
            Guard::Slots(range) => range.func,
            Guard::FuncRef(func, _) => func,
        }
    }
}

impl FuncEnvironment<'_> {
    /// The devirtualized form of `site` with `params`, when its table's
    /// contents are known and its index is a constant or may select only a
    /// few functions; `None` leaves the call to the generic sequence.
    pub(super) fn known_call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        site: IndirectSite,
        params: &[Value],
    ) -> Option<CallResults> {
        let known: &KnownTables = self.module.known_tables;
        let table = known.get(site.table)?;
        if table.is_guess() {
            return self.speculated_call_indirect(b, site, table, params);
        }
        if let Some(index) = constant_value(&b.func.dfg, site.index) {
            return self.call_known_slot(b, site, table.slot(index), params);
        }
        let expected = self.module.info.type_ids[site.type_index];
        let ranges = table.candidates(expected)?;
        let guards: Vec<Guard> = ranges.iter().map(|r| Guard::Slots(*r)).collect();
        let cold = self.module.info.sub_types[site.type_index].is_final;
        Some(self.call_guarded(b, site, &guards, cold, params))
    }

    /// The speculated form of `site` through `table`, whose contents are a
    /// guess: the guessed functions of the expected type the index may
    /// select, when there are at most [`MAX_GUARDED_FUNCS`] and all are
    /// defined by the module, each guarded by a compare of the entry's
    /// funcref word with its own.
    fn speculated_call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        site: IndirectSite,
        table: &KnownTable,
        params: &[Value],
    ) -> Option<CallResults> {
        let info = self.module.info;
        let expected = info.type_ids[site.type_index];
        let mut funcs: Vec<FuncIndex> = match constant_value(&b.func.dfg, site.index) {
            Some(index) => match table.slot(index) {
                Slot::Func(f) if info.func_type_id(f) == expected => vec![f],
                _ => return None,
            },
            None => table.candidates(expected)?.iter().map(|r| r.func).collect(),
        };
        funcs.sort();
        funcs.dedup();
        if funcs.len() > MAX_GUARDED_FUNCS || funcs.iter().any(|f| info.is_imported_func(*f)) {
            return None;
        }
        let index = self.table_index_to_i64(b, site.table, site.index);
        let elem = self.table_element(b, site.table, index, Trap::UndefinedElement);
        let func_ref = load_func_ref(b, elem.func_ref);
        let guards: Vec<Guard> = funcs.iter().map(|f| Guard::FuncRef(*f, func_ref)).collect();
        Some(self.call_guarded(b, site, &guards, true, params))
    }

    /// A call through constant slot `slot`: a direct call, a trap, or
    /// `None` for the generic sequence (a function of another type whose
    /// type may still be a subtype of the expected one).
    fn call_known_slot(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        site: IndirectSite,
        slot: Slot,
        params: &[Value],
    ) -> Option<CallResults> {
        let trap = match slot {
            Slot::OutOfBounds => Trap::UndefinedElement,
            Slot::Null => Trap::IndirectCallToNull,
            Slot::Func(f)
                if self.module.info.func_type_id(f)
                    == self.module.info.type_ids[site.type_index] =>
            {
                return Some(self.direct_results(b, f, params, site.kind));
            }
            // A defined function's type is its declared one; an imported
            // function may be of a subtype of its declared type.
            Slot::Func(f)
                if !self.module.info.is_imported_func(f)
                    && self.module.info.sub_types[site.type_index].is_final =>
            {
                Trap::BadSignature
            }
            Slot::Func(_) => return None,
        };
        b.ins().trap(trap_code(trap));
        Some(None)
    }

    /// A call of defined or imported function `func` and its results.
    fn direct_results(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        func: FuncIndex,
        params: &[Value],
        kind: CallKind,
    ) -> CallResults {
        self.call_function(b, func, params, kind)
    }

    /// Tests the `guards` of `site` in turn and calls the function of the
    /// first that holds directly; the generic sequence takes every other
    /// case, laid out as cold code when `cold` (it can only trap, or the
    /// guards are a speculation).
    fn call_guarded(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        site: IndirectSite,
        guards: &[Guard],
        cold: bool,
        params: &[Value],
    ) -> CallResults {
        let merge = (site.kind == CallKind::Call).then(|| {
            let merge = b.create_block();
            for ty in self.module.info.types[site.type_index].results.iter() {
                b.append_block_param(merge, ir_type(*ty));
            }
            merge
        });
        // One call block per function, however many ranges lead to it.
        let mut targets: Vec<(FuncIndex, Block)> = Vec::new();
        for guard in guards {
            let target = match targets.iter().find(|(f, _)| *f == guard.func()) {
                Some((_, block)) => *block,
                None => {
                    let block = b.create_block();
                    targets.push((guard.func(), block));
                    block
                }
            };
            let hit = match *guard {
                Guard::Slots(range) => index_in_range(b, site.index, &range),
                Guard::FuncRef(func, func_ref) => {
                    let expected = self.ref_func(b, func);
                    b.ins().icmp(IntCC::Equal, func_ref, expected)
                }
            };
            let next = b.create_block();
            b.ins().brif(hit, target, &[], next, &[]);
            b.seal_block(next);
            b.switch_to_block(next);
        }

        // Every other case: the generic sequence.
        let first_block = b.func.dfg.num_blocks();
        let current = b.current_block().expect("in a block");
        let fallback = self.generic_call_indirect(b, site, params);
        if let (Some(merge), Some(values)) = (merge, fallback) {
            let results = super::super::block_args(&values);
            b.ins().jump(merge, &results);
        }
        if cold {
            b.set_cold_block(current);
            for i in first_block..b.func.dfg.num_blocks() {
                b.set_cold_block(Block::new(i));
            }
        }

        for (func, block) in targets {
            b.seal_block(block);
            b.switch_to_block(block);
            let results = self.direct_results(b, func, params, site.kind);
            if let (Some(merge), Some(results)) = (merge, results) {
                let args = super::super::block_args(&results);
                b.ins().jump(merge, &args);
            }
        }
        let merge = merge?;
        b.seal_block(merge);
        b.switch_to_block(merge);
        Some(b.block_params(merge).to_vec())
    }
}

/// Whether `index` (in the table's index type) is in `range`: one compare
/// for a single slot, a subtract and an unsigned compare for a run.
fn index_in_range(b: &mut FunctionBuilder<'_>, index: Value, range: &SlotRange) -> Value {
    let ty = b.func.dfg.value_type(index);
    if range.first == range.last {
        let slot = b.ins().iconst(ty, range.first as i64);
        return b.ins().icmp(IntCC::Equal, index, slot);
    }
    let offset = if range.first == 0 {
        index
    } else {
        let first = b.ins().iconst(ty, range.first as i64);
        b.ins().isub(index, first)
    };
    let span = b.ins().iconst(ty, (range.last - range.first) as i64);
    b.ins().icmp(IntCC::UnsignedLessThanOrEqual, offset, span)
}
