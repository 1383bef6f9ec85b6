//! Segments at instantiation: table initializer expressions, passive
//! element segments evaluated once for `table.init`, and the active element
//! and data segments applied (or, for the instance's own lazily
//! initialized tables, recorded for first access).

use super::const_expr::{ConstEnv, allocates, eval_const, eval_const_in};
use crate::store::StoreOpaque;
use crate::vm::table::{LazyItems, LazyPlacement};
use crate::vm::{Meter, StoreGlobalIndex, StoreInstanceIndex, StoreTableIndex};
use anyhow::Result;
use cranelift_entity::{EntityRef, PrimaryMap, SecondaryMap};
use trestle_compiler::{
    ConstExpr, ElemIndex, ElementItems, ElementSegment, FuncIndex, GlobalIndex, ModuleInfo,
    SegmentMode,
};
use trestle_vmctx::Trap;

/// The raw word of item `k` of element segment `seg` of instance `inst`;
/// arrays its expression creates are allocated in the store.
///
/// # Errors
///
/// When an array is too large or the heap cannot hold it.
fn segment_item_in(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    seg: ElemIndex,
    k: u32,
) -> Result<usize> {
    let module = store.instances[inst].module.clone();
    match &module.info().elements[seg].items {
        ElementItems::Expressions(e) if allocates(&e[k as usize]) => {
            let globals = store.instances[inst].globals.clone();
            Ok(eval_const_in(store, inst, &globals, &e[k as usize])? as usize)
        }
        _ => {
            let env = ConstEnv {
                instances: &store.instances,
                globals: &store.globals,
            };
            Ok(env.segment_item(inst, seg, k))
        }
    }
}

/// Fills the instance's defined tables that have an initializer
/// expression, which may read imported globals (the store indices of the
/// instance's globals so far are `globals`) and name the instance's
/// functions.
///
/// # Errors
///
/// When an expression's array cannot be allocated.
pub(super) fn fill_initialized_tables(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    globals: &PrimaryMap<GlobalIndex, StoreGlobalIndex>,
) -> Result<()> {
    let module = store.instances[inst].module.clone();
    let info = module.info();
    for (i, init) in info.table_inits.iter() {
        let Some(init) = init else { continue };
        let value = eval_const_in(store, inst, globals, init)? as usize;
        if value != 0 {
            let t = store.instances[inst].tables[info.table_index(i)];
            let table = &mut store.tables[t];
            let len = table.len();
            table
                .fill(0, value, len, &Meter::OFF)
                .expect("the whole table is in bounds");
        }
    }
    Ok(())
}

/// Evaluates the items of the passive element segments once, for
/// `table.init`; active ones are applied by [`apply_active`] and declared
/// ones are dropped.
///
/// # Errors
///
/// When an item's array cannot be allocated.
pub(super) fn evaluate_passive(store: &mut StoreOpaque, inst: StoreInstanceIndex) -> Result<()> {
    let module = store.instances[inst].module.clone();
    let info = module.info();
    store.instances[inst].elements = SecondaryMap::with_capacity(info.elements.len());
    for (i, seg) in info.elements.iter() {
        if matches!(seg.mode, SegmentMode::Passive) {
            let words: Box<[usize]> = (0..seg.items.len() as u32)
                .map(|k| segment_item_in(store, inst, i, k))
                .collect::<Result<_>>()?;
            store.instances[inst].elements[i] = Some(words);
        }
    }
    Ok(())
}

/// The value of an offset expression: 32-bit offsets are zero-extended,
/// 64-bit ones used whole.
fn offset(store: &StoreOpaque, inst: StoreInstanceIndex, expr: &ConstExpr, is_64: bool) -> u64 {
    let data = &store.instances[inst];
    let v = eval_const(&store.globals, data, &data.globals, expr) as u64;
    if is_64 { v } else { u64::from(v as u32) }
}

/// Applies the active element and data segments, in order.
///
/// # Errors
///
/// A [`Trap`] when a segment does not fit (the earlier ones stay applied,
/// as the specification says), or when an item's array cannot be
/// allocated.
pub(super) fn apply_active(store: &mut StoreOpaque, inst: StoreInstanceIndex) -> Result<()> {
    let module = store.instances[inst].module.clone();
    let info = module.info();
    for (i, seg) in info.elements.iter() {
        if let Err(e) = apply_element(store, inst, info, i, seg) {
            undo_restored(store, inst, i);
            return Err(e);
        }
    }
    for (i, seg) in info.data.iter() {
        if let SegmentMode::Active { index, offset: at } = &seg.mode {
            let start = offset(store, inst, at, info.memories[*index].memory64);
            let m = store.instances[inst].memories[*index];
            let len = seg.data.len() as u64;
            store.memories[m].init(start, &seg.data, 0, len, &Meter::OFF)?;
            store.instances[inst].dropped_data[i] = true;
        }
    }
    Ok(())
}

/// Applies active element segment `i`, `seg`, of instance `inst`, whose
/// module has `info`; nothing for a segment of another mode.
///
/// # Errors
///
/// As [`apply_active`].
fn apply_element(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    info: &ModuleInfo,
    i: ElemIndex,
    seg: &ElementSegment,
) -> Result<()> {
    let SegmentMode::Active { index, offset: at } = &seg.mode else {
        return Ok(());
    };
    let start = offset(store, inst, at, info.tables[*index].table64);
    let n = seg.items.len() as u64;
    let t = store.instances[inst].tables[*index];
    let table = &mut store.tables[t];
    if start.checked_add(n).is_none_or(|end| end > table.len()) {
        return Err(Trap::TableOutOfBounds.into());
    }
    let own_table = info.defined_table_index(*index).is_some();
    if own_table && table.is_restored() {
        // An earlier instance left this segment's entries in place.
        return Ok(());
    }
    if let (true, Some(lazy)) = (own_table, table.lazy_mut()) {
        // The instance's own table is untouched so far: its entries are
        // written on first access instead, O(1) here. Imported tables
        // may hold entries already and are written now.
        let data = &store.instances[inst];
        let items = match &seg.items {
            ElementItems::Functions(f) if !f.is_empty() => LazyItems::Functions {
                func_refs: data.func_ref(FuncIndex::from_u32(0)),
                indices: f.as_ptr(),
            },
            _ => LazyItems::Expressions {
                instance: inst,
                segment: i,
            },
        };
        lazy.push(LazyPlacement {
            start,
            len: n,
            items,
        });
        return Ok(());
    }
    if let ElementItems::Functions(f) = &seg.items {
        // Function items need no evaluation: written in one pass.
        write_functions(store, inst, t, start, f);
        return Ok(());
    }
    for k in 0..n {
        let raw = segment_item_in(store, inst, i, k as u32)?;
        store.tables[t]
            .set(start + k, raw)
            .expect("segment bounds checked above");
    }
    Ok(())
}

/// After active element segment `failed` did not apply: puts the
/// instance's restored tables (whose segments were never written, see
/// [`crate::vm::retain`]) in the state the specification gives them, the
/// segments before `failed` applied and none after.
fn undo_restored(store: &mut StoreOpaque, inst: StoreInstanceIndex, failed: ElemIndex) {
    let module = store.instances[inst].module.clone();
    let info = module.info();
    for &d in module.instance_cache().tables() {
        let index = info.table_index(d);
        let t = store.instances[inst].tables[index];
        if !store.tables[t].is_restored() {
            continue;
        }
        let len = store.tables[t].len();
        store.tables[t]
            .fill(0, 0, len, &Meter::OFF)
            .expect("the whole table is in bounds");
        for seg in info.elements.values().take(failed.index()) {
            if let (
                SegmentMode::Active {
                    index: to,
                    offset: at,
                },
                ElementItems::Functions(f),
            ) = (&seg.mode, &seg.items)
                && *to == index
            {
                let start = offset(store, inst, at, info.tables[index].table64);
                write_functions(store, inst, t, start, f);
            }
        }
    }
}

/// Writes the functions `f` of instance `inst` (a segment's items) into
/// table `t` from `start`, which the caller checked they fit; nothing for
/// an empty list (in a module that may have no functions at all).
fn write_functions(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    t: StoreTableIndex,
    start: u64,
    f: &[FuncIndex],
) {
    if f.is_empty() {
        return;
    }
    let func_refs = store.instances[inst].func_ref(FuncIndex::from_u32(0));
    // SAFETY: `func_refs` is the instance's funcref array, which every
    // item of a validated segment indexes, and it lives as long as the
    // store that owns the table.
    unsafe { store.tables[t].set_functions(start, func_refs, f) }
        .expect("segment bounds checked by the caller");
}
