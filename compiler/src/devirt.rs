//! Tables whose contents are known, or can be guessed, at compile time, for
//! devirtualized `call_indirect`.
//!
//! A funcref table the module defines, neither imports nor exports, and
//! never writes after instantiation (no `table.set`, `table.grow`,
//! `table.fill`, `table.init`, or `table.copy` into it anywhere in the
//! module) holds, for the whole life of every instance, what its active
//! element segments wrote into it at instantiation. When every segment's
//! offset and items are constants (no `global.get` of an import, no
//! initializer expression the compiler cannot evaluate) and every segment
//! fits in the table (otherwise instantiation fails and no code of the
//! module ever runs), [`KnownTables::analyze`] records the table's contents:
//! its size (its minimum: it cannot grow) and the function in each non-null
//! slot. Nothing outside the module can reach such a table: the host API
//! only sees exported entities, and lazy initialization only fills in what
//! the segments wrote.
//!
//! Every other funcref table whose active segments are constants (one the
//! module imports, exports or writes) starts out with the same contents
//! but may change while the code runs: its contents are only a *guess*
//! ([`KnownTable::is_guess`]). A call through it is speculated: the code
//! compares the funcref word of the selected entry with the guessed
//! function's funcref in the instance and calls the function directly when
//! they are the same; any write, from wasm or from the host, growth, or a
//! function of another instance in the slot, makes the compare fail and the
//! generic sequence run. The guard reads the entry on every call, so no
//! write needs to invalidate anything.
//!
//! The `call_indirect` translation ([`crate::translate`]) uses it to call a
//! constant index's function directly (or trap as the generic sequence
//! would), and, when at most [`MAX_CANDIDATE_FUNCS`] functions in the table
//! have exactly the expected type, to compare the index against their slots and call the
//! match directly, the generic sequence remaining the fallback for every
//! other index. Through a guessed table, a constant index or an index that
//! may select at most [`MAX_GUARDED_FUNCS`] functions is guarded as above.
//!
//! Tables without any active segment are left to the generic sequence: all
//! their slots are null and every call through them traps anyway.

use crate::index::{CanonicalTypeId, FuncIndex, GlobalIndex, TableIndex};
use crate::types::{ConstExpr, ConstOp, ElementItems, EntityIndex, ModuleInfo, SegmentMode};
use crate::{CompileError, Compiler};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use wasmparser::{FunctionBody, Operator};

/// The most distinct functions of one type a `call_indirect` compares
/// against; with more, it keeps the generic sequence alone. Measured on the
/// `programs` benchmark group (docs/benchmarks.md): 4 speeds up the
/// comparator sort and the lexer, 8 also the C++ virtual calls and the
/// type-erased callables, 16 also the interpreter's 11 handlers and the
/// double-dispatch visitor, by far the most.
pub(crate) const MAX_CANDIDATE_FUNCS: usize = 16;

/// The most functions a speculated `call_indirect` through a table whose
/// contents are only guessed compares the entry with: each compare is an
/// add and a compare on every call, taken before the generic sequence when
/// the guess is wrong.
pub(crate) const MAX_GUARDED_FUNCS: usize = 4;

/// The most slot ranges (runs of consecutive slots holding one function) a
/// `call_indirect` compares against.
pub(crate) const MAX_CANDIDATE_RANGES: usize = 32;

/// What one slot of a known table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The index is past the table's end.
    OutOfBounds,
    /// A null funcref.
    Null,
    /// A function.
    Func(FuncIndex),
}

/// A run of consecutive slots `first..=last` that all hold `func`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotRange {
    pub first: u64,
    pub last: u64,
    pub func: FuncIndex,
}

/// The contents of one table known at compile time.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownTable {
    /// The table's size, which never changes; for a guess, the size it has
    /// at instantiation (or, imported, at least has).
    size: u64,
    /// Whether the contents are only what instantiation writes, which
    /// may change later (see the module documentation).
    guess: bool,
    /// The non-null slots.
    funcs: BTreeMap<u64, FuncIndex>,
    /// By canonical type id: the slot ranges of the functions of exactly
    /// that type, in slot order, or `None` when there are more than
    /// [`MAX_CANDIDATE_FUNCS`] functions or [`MAX_CANDIDATE_RANGES`] ranges.
    by_type: HashMap<CanonicalTypeId, Option<Vec<SlotRange>>>,
}

impl KnownTable {
    /// Whether the contents are only a guess: what instantiation writes
    /// into a table that may be written later, or from outside.
    pub(crate) fn is_guess(&self) -> bool {
        self.guess
    }

    /// What slot `index` holds (for a guess: held at instantiation).
    pub(crate) fn slot(&self, index: u64) -> Slot {
        if index >= self.size {
            return Slot::OutOfBounds;
        }
        self.funcs
            .get(&index)
            .map_or(Slot::Null, |f| Slot::Func(*f))
    }

    /// The slot ranges of the functions of exactly type `ty`, when there is
    /// at least one and they are few enough to compare against.
    pub(crate) fn candidates(&self, ty: CanonicalTypeId) -> Option<&[SlotRange]> {
        self.by_type.get(&ty)?.as_deref()
    }

    /// Groups the non-null slots into ranges by function and the ranges by
    /// the functions' type.
    fn index_by_type(&mut self, info: &ModuleInfo) {
        let mut ranges: Vec<SlotRange> = Vec::new();
        for (&slot, &func) in &self.funcs {
            match ranges.last_mut() {
                Some(r) if r.func == func && r.last + 1 == slot => r.last = slot,
                _ => ranges.push(SlotRange {
                    first: slot,
                    last: slot,
                    func,
                }),
            }
        }
        // The distinct functions of each type so far (at most
        // MAX_CANDIDATE_FUNCS + 1, so a list), and the type of the previous
        // range: a large table is mostly runs of a type already found to
        // have too many, which then cost no hashing.
        let mut funcs_of_type: HashMap<CanonicalTypeId, Vec<FuncIndex>> = HashMap::new();
        let mut too_many: Option<CanonicalTypeId> = None;
        for range in ranges {
            let ty = info.func_type_id(range.func);
            if too_many == Some(ty) {
                continue;
            }
            let Some(few) = self.by_type.entry(ty).or_insert_with(|| Some(Vec::new())) else {
                too_many = Some(ty);
                continue;
            };
            let funcs = funcs_of_type.entry(ty).or_default();
            if !funcs.contains(&range.func) {
                funcs.push(range.func);
            }
            few.push(range);
            if funcs.len() > MAX_CANDIDATE_FUNCS || few.len() > MAX_CANDIDATE_RANGES {
                self.by_type.insert(ty, None);
                funcs_of_type.remove(&ty);
                too_many = Some(ty);
            }
        }
    }
}

/// The module's tables whose contents are known at compile time.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownTables {
    tables: HashMap<TableIndex, KnownTable>,
}

impl KnownTables {
    /// The contents of table `table`, if known.
    pub(crate) fn get(&self, table: TableIndex) -> Option<&KnownTable> {
        self.tables.get(&table)
    }

    /// Finds the tables of the module `info` (with function bodies
    /// `bodies`) whose contents are known at compile time; with
    /// `parallel`, the bodies are searched for table writes on all threads
    /// of rayon's current pool.
    pub(crate) fn analyze(info: &ModuleInfo, bodies: &[&FunctionBody<'_>], parallel: bool) -> Self {
        let mut tables: HashMap<TableIndex, KnownTable> = info
            .tables
            .keys()
            .filter_map(|t| {
                let guess = !is_private_func_table(info, t);
                (!guess || may_guess(info, t)).then(|| {
                    let table = KnownTable {
                        size: info.tables[t].minimum,
                        guess,
                        ..KnownTable::default()
                    };
                    (t, table)
                })
            })
            .collect();
        // Apply the active segments in order, as instantiation does; a
        // table with none, or with one the compiler cannot evaluate or that
        // does not fit, is not known.
        let mut has_segment = HashSet::new();
        for segment in info.elements.values() {
            let SegmentMode::Active { index, offset } = &segment.mode else {
                continue;
            };
            let Some(table) = tables.get_mut(index) else {
                continue;
            };
            let applied = eval_offset(info, offset).and_then(|offset| {
                apply_segment(info, table, offset, &segment.items).then_some(())
            });
            if applied.is_some() {
                has_segment.insert(*index);
            } else {
                tables.remove(index);
            }
        }
        tables.retain(|t, _| has_segment.contains(t));
        let candidates: Vec<TableIndex> = tables
            .iter()
            .filter(|(_, table)| !table.guess)
            .map(|(t, _)| *t)
            .collect();
        if !candidates.is_empty() {
            // Once one body writes every candidate, the others need no
            // reading.
            let all_written = AtomicBool::new(false);
            let scan = |body: &&FunctionBody<'_>| {
                if all_written.load(Ordering::Relaxed) {
                    return Vec::new();
                }
                let written = tables_written_by(body, &candidates);
                if written.len() == candidates.len() {
                    all_written.store(true, Ordering::Relaxed);
                }
                written
            };
            let written: HashSet<TableIndex> = if parallel {
                use rayon::prelude::*;
                bodies.par_iter().flat_map_iter(scan).collect()
            } else {
                bodies.iter().flat_map(scan).collect()
            };
            // A private table the code writes starts out as its segments
            // say: a guess.
            for t in written {
                if let Some(table) = tables.get_mut(&t) {
                    table.guess = true;
                }
            }
        }
        for table in tables.values_mut() {
            table.index_by_type(info);
        }
        Self { tables }
    }

    /// The indices of the known tables (not the guesses), in order.
    fn indices(&self) -> Vec<TableIndex> {
        let mut out: Vec<TableIndex> = self
            .tables
            .iter()
            .filter(|(_, table)| !table.guess)
            .map(|(t, _)| *t)
            .collect();
        out.sort();
        out
    }
}

/// Whether `table` is a funcref table the module defines and does not
/// export, with no initializer expression other than null.
fn is_private_func_table(info: &ModuleInfo, table: TableIndex) -> bool {
    info.defined_table_index(table).is_some()
        && may_guess(info, table)
        && !info
            .exports
            .iter()
            .any(|e| e.index == EntityIndex::Table(table))
}

/// Whether the contents of funcref table `table`, imported, exported or
/// written, start out as its segments say: it holds funcrefs and, when the
/// module defines it, has no initializer other than null.
fn may_guess(info: &ModuleInfo, table: TableIndex) -> bool {
    let null_init =
        info.defined_table_index(table)
            .is_none_or(|defined| match &info.table_inits[defined] {
                None => true,
                Some(init) => matches!(&init.ops[..], [ConstOp::RefNull(_)]),
            });
    info.tables[table].element.is_func() && null_init
}

/// Writes the items of a segment at `offset` into `table`; `false` when an
/// item is not a constant function or null, or the segment does not fit
/// (instantiation would trap).
fn apply_segment(
    info: &ModuleInfo,
    table: &mut KnownTable,
    offset: u64,
    items: &ElementItems,
) -> bool {
    let fits = offset
        .checked_add(items.len() as u64)
        .is_some_and(|end| end <= table.size);
    if !fits {
        return false;
    }
    let item = |i: usize| -> Option<Option<FuncIndex>> {
        match items {
            ElementItems::Functions(f) => Some(Some(f[i])),
            ElementItems::Expressions(e) => match &e[i].ops[..] {
                [ConstOp::RefFunc(f)] => Some(Some(*f)),
                [ConstOp::RefNull(_)] => Some(None),
                _ => None,
            },
        }
    };
    let mut written: Vec<(u64, Option<FuncIndex>)> = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        match item(i) {
            Some(Some(f)) if f.as_u32() >= info.functions.len() as u32 => return false,
            Some(f) => written.push((offset + i as u64, f)),
            None => return false,
        }
    }
    if table.funcs.is_empty() {
        // The first segment: built in one pass from its slots, in order.
        table.funcs = written
            .into_iter()
            .filter_map(|(slot, f)| Some((slot, f?)))
            .collect();
        return true;
    }
    for (slot, f) in written {
        match f {
            Some(f) => table.funcs.insert(slot, f),
            None => table.funcs.remove(&slot),
        };
    }
    true
}

/// The value of an active segment's offset expression, when it does not
/// depend on an import.
fn eval_offset(info: &ModuleInfo, expr: &ConstExpr) -> Option<u64> {
    eval_int(info, expr, 4)
}

/// Evaluates an integer constant expression of `i32` or `i64` operators
/// and `global.get` of defined immutable globals (followed `depth` deep),
/// as the unsigned value of its type.
fn eval_int(info: &ModuleInfo, expr: &ConstExpr, depth: u32) -> Option<u64> {
    let mut stack: Vec<u64> = Vec::new();
    for op in expr.ops.iter() {
        let value = match op {
            ConstOp::I32(v) => u64::from(*v as u32),
            ConstOp::I64(v) => *v as u64,
            ConstOp::GlobalGet(g) => eval_global(info, *g, depth)?,
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (stack.pop()? as u32, stack.pop()? as u32);
                u64::from(match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return None,
        };
        stack.push(value);
    }
    match stack[..] {
        [value] => Some(value),
        _ => None,
    }
}

/// The value of defined, immutable integer global `global`, when its
/// initializer does not depend on an import.
fn eval_global(info: &ModuleInfo, global: GlobalIndex, depth: u32) -> Option<u64> {
    let defined = info.defined_global_index(global)?;
    if info.globals[global].mutable || depth == 0 {
        return None;
    }
    eval_int(info, &info.global_inits[defined], depth - 1)
}

/// The tables among `candidates` that an instruction of `body` may write.
/// A body that does not decode writes, as far as this is concerned, every
/// table (validation rejects it later anyway).
fn tables_written_by(body: &FunctionBody<'_>, candidates: &[TableIndex]) -> Vec<TableIndex> {
    let mut written = Vec::new();
    let Ok(mut ops) = body.get_operators_reader() else {
        return candidates.to_vec();
    };
    while !ops.eof() {
        let Ok(op) = ops.read() else {
            return candidates.to_vec();
        };
        let table = match op {
            Operator::TableSet { table }
            | Operator::TableGrow { table }
            | Operator::TableFill { table }
            | Operator::TableInit { table, .. }
            | Operator::TableCopy {
                dst_table: table, ..
            }
            | Operator::TableAtomicSet {
                table_index: table, ..
            }
            | Operator::TableAtomicRmwXchg {
                table_index: table, ..
            }
            | Operator::TableAtomicRmwCmpxchg {
                table_index: table, ..
            } => TableIndex::from_u32(table),
            _ => continue,
        };
        if candidates.contains(&table) && !written.contains(&table) {
            written.push(table);
            if written.len() == candidates.len() {
                break;
            }
        }
    }
    written
}

impl Compiler {
    /// The tables of `wasm` whose contents the compiler knows at compile
    /// time (defined, not exported, funcref, written only by constant
    /// active element segments), whose `call_indirect`s it may turn into
    /// direct calls.
    ///
    /// # Errors
    ///
    /// When the module is malformed or uses an unsupported feature.
    pub fn known_tables(&self, wasm: &[u8]) -> Result<Vec<TableIndex>, CompileError> {
        let mut next = 0;
        let parsed = crate::module::parse(self.options.features, wasm, &mut |group| {
            next += group.len() as u32;
            next - group.len() as u32
        })?;
        let bodies: Vec<&FunctionBody<'_>> = parsed.bodies.iter().map(|(_, body)| body).collect();
        Ok(
            KnownTables::analyze(&parsed.info, &bodies, self.options.parallel_compilation)
                .indices(),
        )
    }
}
