//! Constant expressions: the initializers of globals and tables, the
//! offsets and items of segments. Most only read globals and name
//! functions; the GC subset's `array.new` family allocates in the store.

use super::InstanceData;
use crate::store::StoreOpaque;
use crate::vm::{self, StoreGlobalIndex, StoreInstanceIndex};
use anyhow::{Result, anyhow, bail};
use cranelift_entity::PrimaryMap;
use trestle_compiler::{
    ConstExpr, ConstOp, ElemIndex, ElementItems, GlobalIndex, WasmCompositeType, WasmStorageType,
    WasmValType,
};

/// What evaluating the constant expressions of any instance of a store
/// reads: the instances and the store's globals. Lazy table
/// initialization evaluates segment items through it.
pub(crate) struct ConstEnv<'a> {
    pub(crate) instances: &'a PrimaryMap<StoreInstanceIndex, InstanceData>,
    pub(crate) globals: &'a PrimaryMap<StoreGlobalIndex, vm::Global>,
}

impl ConstEnv<'_> {
    /// The raw word of item `k` of element segment `seg` of instance
    /// `inst`, for a segment whose items allocate nothing.
    pub(crate) fn segment_item(&self, inst: StoreInstanceIndex, seg: ElemIndex, k: u32) -> usize {
        let data = &self.instances[inst];
        match &data.info().elements[seg].items {
            ElementItems::Functions(f) => data.func_ref(f[k as usize]) as usize,
            ElementItems::Expressions(e) => {
                eval_const(self.globals, data, &data.globals, &e[k as usize]) as usize
            }
        }
    }
}

impl vm::table::SegmentItems for ConstEnv<'_> {
    fn expression_item(&self, instance: StoreInstanceIndex, segment: ElemIndex, k: u32) -> usize {
        self.segment_item(instance, segment, k)
    }
}

/// Evaluates a constant expression of instance `inst` that allocates
/// nothing (no `array.new`) to the raw bits of its value (references as
/// pointer-sized words). `inst_globals` are the store indices of the
/// instance's globals so far.
///
/// # Panics
///
/// When the expression allocates: use [`eval_const_in`] for those.
pub(crate) fn eval_const(
    globals: &PrimaryMap<StoreGlobalIndex, vm::Global>,
    inst: &InstanceData,
    inst_globals: &PrimaryMap<GlobalIndex, StoreGlobalIndex>,
    expr: &ConstExpr,
) -> u128 {
    let mut stack: Vec<u128> = Vec::with_capacity(2);
    for op in expr.ops.iter() {
        eval_pure_op(globals, inst, inst_globals, *op, &mut stack);
    }
    stack.pop().expect("validated: one result")
}

/// Whether evaluating `expr` allocates GC values.
pub(crate) fn allocates(expr: &ConstExpr) -> bool {
    expr.ops.iter().any(|op| {
        matches!(
            op,
            ConstOp::ArrayNew(_) | ConstOp::ArrayNewDefault(_) | ConstOp::ArrayNewFixed(..)
        )
    })
}

/// Evaluates any constant expression of instance `inst`, allocating the
/// arrays it creates in the store's heap.
///
/// # Errors
///
/// When an array is too large or the heap cannot hold it.
pub(crate) fn eval_const_in(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    inst_globals: &PrimaryMap<GlobalIndex, StoreGlobalIndex>,
    expr: &ConstExpr,
) -> Result<u128> {
    if !allocates(expr) {
        let data = &store.instances[inst];
        return Ok(eval_const(&store.globals, data, inst_globals, expr));
    }
    let module = store.instances[inst].module.clone();
    let info = module.info();
    let mut stack: Vec<u128> = Vec::with_capacity(2);
    for op in expr.ops.iter() {
        let (ty, elems) = match *op {
            ConstOp::ArrayNew(t) => {
                let len = stack.pop().expect("validated") as u32;
                let init = stack.pop().expect("validated");
                (t, array_elems(store, len, |_| init)?)
            }
            ConstOp::ArrayNewDefault(t) => {
                let len = stack.pop().expect("validated") as u32;
                (t, array_elems(store, len, |_| 0)?)
            }
            ConstOp::ArrayNewFixed(t, n) => {
                let at = stack.len().checked_sub(n as usize).expect("validated");
                let values = stack.split_off(at);
                (t, array_elems(store, n, |i| values[i])?)
            }
            op => {
                let data = &store.instances[inst];
                eval_pure_op(&store.globals, data, inst_globals, op, &mut stack);
                continue;
            }
        };
        let sub = &info.sub_types[ty];
        let WasmCompositeType::Array(field) = sub.composite else {
            unreachable!("validated: array.new names an array type")
        };
        let (mask, traced) = match field.storage {
            WasmStorageType::I8 => (0xff, false),
            WasmStorageType::I16 => (0xffff, false),
            WasmStorageType::Val(v) => {
                (u128::MAX, matches!(v, WasmValType::Ref(r) if !r.is_func()))
            }
        };
        let elems = elems.into_iter().map(|e| e & mask).collect();
        let word = store.new_gc_array(crate::gc::GcArray {
            type_id: info.type_ids[ty],
            traced,
            elems,
        })?;
        stack.push(word as u128);
    }
    Ok(stack.pop().expect("validated: one result"))
}

/// The elements of a new array of `len`, element `i` being `value(i)`,
/// within the store's budget of array elements.
fn array_elems(
    store: &mut StoreOpaque,
    len: u32,
    value: impl Fn(usize) -> u128,
) -> Result<Vec<u128>> {
    if len as usize > crate::gc::MAX_ARRAY_CELLS {
        bail!("allocation size too large: an array of {len} elements");
    }
    store.reserve_array_cells(len as usize)?;
    let mut elems = Vec::new();
    elems
        .try_reserve_exact(len as usize)
        .map_err(|_| anyhow!("out of memory allocating an array of {len} elements"))?;
    elems.extend((0..len as usize).map(value));
    Ok(elems)
}

/// Applies one operator that allocates nothing to the stack.
fn eval_pure_op(
    globals: &PrimaryMap<StoreGlobalIndex, vm::Global>,
    inst: &InstanceData,
    inst_globals: &PrimaryMap<GlobalIndex, StoreGlobalIndex>,
    op: ConstOp,
    stack: &mut Vec<u128>,
) {
    let v = match op {
        ConstOp::I32(v) => u128::from(v as u32),
        ConstOp::I64(v) => u128::from(v as u64),
        ConstOp::F32(v) => u128::from(v),
        ConstOp::F64(v) => u128::from(v),
        ConstOp::V128(v) => v,
        ConstOp::GlobalGet(g) => u128::from_le_bytes(globals[inst_globals[g]].get()),
        ConstOp::RefNull(_) => 0,
        ConstOp::RefFunc(f) => inst.func_ref(f) as usize as u128,
        ConstOp::I32Add
        | ConstOp::I32Sub
        | ConstOp::I32Mul
        | ConstOp::I64Add
        | ConstOp::I64Sub
        | ConstOp::I64Mul => {
            // Wrapping arithmetic on 64 bits, truncated to 32 for the i32
            // operators, gives the same low bits as on 32 bits.
            let b = stack.pop().expect("validated") as u64;
            let a = stack.pop().expect("validated") as u64;
            let v = match op {
                ConstOp::I32Add | ConstOp::I64Add => a.wrapping_add(b),
                ConstOp::I32Sub | ConstOp::I64Sub => a.wrapping_sub(b),
                _ => a.wrapping_mul(b),
            };
            let i32_op = matches!(op, ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul);
            u128::from(if i32_op { u64::from(v as u32) } else { v })
        }
        ConstOp::ArrayNew(_) | ConstOp::ArrayNewDefault(_) | ConstOp::ArrayNewFixed(..) => {
            panic!("an allocating constant expression evaluated without the store")
        }
    };
    stack.push(v);
}
