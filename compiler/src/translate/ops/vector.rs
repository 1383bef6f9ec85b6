//! Vector instructions: the `v128` operations of fixed-width SIMD and, in
//! [`relaxed`], those of relaxed SIMD.
//!
//! Each operation becomes Cranelift vector IR (`iadd.i32x4`, `shuffle`,
//! `fcvt_to_sint_sat.i32x4`, ...), which the backends lower to the host's
//! vector instructions; nothing is computed lane by lane in scalar code.
//!
//! # The type of a `v128` value
//!
//! WebAssembly has one vector type, Cranelift one per lane shape. Every
//! `v128` the rest of the translator sees (on the operand stack, in a
//! local or a global, as a block, call or return value) is an `i8x16`, so
//! locals, block parameters and signatures agree without knowing what a
//! value was computed as. An operation reinterprets its operands as the
//! lane shape it works on and its result back as `i8x16`
//! ([`BodyTranslator::pop_lanes`], [`BodyTranslator::push_lanes`]). The
//! reinterpretation is a `bitcast`, free at run time; and when an
//! operand was itself just reinterpreted from the wanted shape (an
//! `i32x4.mul` feeding an `i32x4.add`), the operation takes the original
//! value, so the IR between two vector operations carries no casts and
//! the backends' instruction patterns (`pmaddwd` for `i32x4.dot_i16x8_s`,
//! `minps` for `f32x4.pmin`) see the operations they match.
//!
//! A `v128.load` whose result only vector operators and integer
//! arithmetic have met since (no `local.tee`, branch or other operator
//! could have copied it) has exactly one use, the operator that pops it.
//! That operator retypes the load to the shape it wants instead of
//! reinterpreting its result, and a commutative integer operator takes it
//! as its second operand, so the backend can fold the load into the
//! instruction (`pmulld xmm, [mem]`).
//!
//! # Memory
//!
//! Loads and stores take their address from
//! [`crate::translate::env::FuncEnvironment::heap_address`], as scalar
//! ones do: the guard region behind every linear memory is larger than a
//! 16-byte access, so an access past the end faults and becomes "out of
//! bounds memory access" before any byte is written.

mod relaxed;

use super::super::BodyTranslator;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    ConstantData, Endianness, InstBuilder, InstructionData, MemFlagsData, Opcode, Type, Value,
    ValueDef, types,
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, Operator};

use types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};

/// The Cranelift type of every `v128` outside the vector operations.
pub(crate) const V128: Type = I8X16;

/// Flags of a reinterpretation between lane shapes: lanes are numbered
/// from the least significant byte, as in memory.
fn lane_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// A vector of type `ty` with every bit zero (the upper half of the
/// `_zero` conversions).
fn zeros(b: &mut FunctionBuilder<'_>, ty: Type) -> Value {
    let c = b.func.dfg.constants.insert(vec![0u8; 16].into());
    b.ins().vconst(ty, c)
}

/// How a widening operation extends its lanes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Signed,
    Unsigned,
}

/// Which half of the lanes a widening operation takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    Low,
    High,
}

/// Widens the `half` lanes of `x` to twice their width.
fn widen(b: &mut FunctionBuilder<'_>, sign: Sign, half: Half, x: Value) -> Value {
    let ins = b.ins();
    match (sign, half) {
        (Sign::Signed, Half::Low) => ins.swiden_low(x),
        (Sign::Signed, Half::High) => ins.swiden_high(x),
        (Sign::Unsigned, Half::Low) => ins.uwiden_low(x),
        (Sign::Unsigned, Half::High) => ins.uwiden_high(x),
    }
}

/// `extadd_pairwise`: the sums of adjacent lanes of `x`, widened.
fn extadd_pairwise(b: &mut FunctionBuilder<'_>, sign: Sign, x: Value) -> Value {
    let lo = widen(b, sign, Half::Low, x);
    let hi = widen(b, sign, Half::High, x);
    b.ins().iadd_pairwise(lo, hi)
}

/// The signed dot product of adjacent lane pairs of `x` and `y`, in
/// lanes twice as wide: `i32x4.dot_i16x8_s` and the deterministic
/// `i16x8.relaxed_dot_i8x16_i7x16_s`. (The shape x86-64 selects `pmaddwd`
/// for.)
fn dot_pairs(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
    let lo = b.ins().imul(xl, yl);
    let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
    let hi = b.ins().imul(xh, yh);
    b.ins().iadd_pairwise(lo, hi)
}

/// The name of a SIMD or relaxed SIMD operator (`"I32x4Add"`), `None` for
/// any other operator.
fn simd_operator_name(op: &Operator<'_>) -> Option<&'static str> {
    macro_rules! names {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $( Operator::$op { .. } => Some(stringify!($op)), )*
                _ => None,
            }
        };
    }
    wasmparser::for_each_visit_simd_operator!(names)
}

/// Whether `op` is one of the integer operators that compute addresses
/// (constants, `local.get`, `global.get`, arithmetic, comparisons): they
/// take no `v128`, so the vectors on the operand stack are not copied.
fn takes_integers_only(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::LocalGet { .. }
            | O::GlobalGet { .. }
            | O::I32Const { .. }
            | O::I64Const { .. }
            | O::I32Add
            | O::I32Sub
            | O::I32Mul
            | O::I32And
            | O::I32Or
            | O::I32Xor
            | O::I32Shl
            | O::I32ShrS
            | O::I32ShrU
            | O::I32Eqz
            | O::I32Eq
            | O::I32Ne
            | O::I32LtS
            | O::I32LtU
            | O::I32GtS
            | O::I32GtU
            | O::I32LeS
            | O::I32LeU
            | O::I32GeS
            | O::I32GeU
            | O::I64Add
            | O::I64Sub
            | O::I64Mul
            | O::I64And
            | O::I64Or
            | O::I64Xor
            | O::I64Shl
            | O::I64ShrS
            | O::I64ShrU
            | O::I32WrapI64
            | O::I64ExtendI32S
            | O::I64ExtendI32U
    )
}

/// The lane shape of an operator named `I8x16...`, `I16x8...`, ...;
/// `None` for the `V128...` operators, which have none.
fn shape_of(name: &str) -> Option<Type> {
    Some(match name.get(..5)? {
        "I8x16" => I8X16,
        "I16x8" => I16X8,
        "I32x4" => I32X4,
        "I64x2" => I64X2,
        "F32x4" => F32X4,
        "F64x2" => F64X2,
        _ => return None,
    })
}

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a vector instruction.
    pub(in crate::translate) fn translate_vector(&mut self, op: &Operator<'_>) -> bool {
        let Some(name) = simd_operator_name(op) else {
            // Other operators may copy a loaded vector (`local.tee`,
            // `br_if`): from here on, loads keep their type. Only integer
            // arithmetic, as between the loads of a loop, leaves them be.
            if !takes_integers_only(op) {
                self.fresh_vector_loads.clear();
            }
            return false;
        };
        // The shape the operator works on, from its name (`I32x4Add`);
        // `V128...` operators have none: bitwise ones pick their own, the
        // others work on bytes.
        let shape = shape_of(name);
        self.translate_vector_memory(op)
            || self.translate_vector_lanes(op, shape.unwrap_or(V128))
            || self.translate_vector_integer(op, shape)
            || self.translate_vector_float(op, shape.unwrap_or(V128))
            || self.translate_vector_conversion(op)
            || self.translate_relaxed(op, shape.unwrap_or(V128))
    }

    // ---- Operands ---------------------------------------------------------

    /// Whether `v` is the result of a `v128.load` only vector operators
    /// and integer arithmetic have met since: the operator popping it is
    /// its only use.
    fn is_fresh_load(&self, v: Value) -> bool {
        self.fresh_vector_loads.contains(&v)
    }

    /// `v` as a vector of shape `ty`: the value `v` was reinterpreted from,
    /// when it has that shape; for a fresh load, the load retyped; or a
    /// reinterpretation.
    fn as_lanes(&mut self, v: Value, ty: Type) -> Value {
        if let Some(i) = self.fresh_vector_loads.iter().position(|f| *f == v) {
            self.fresh_vector_loads.swap_remove(i);
            if self.b.func.dfg.value_type(v) != ty {
                // The load's result type is its type: it now loads `ty`.
                // `v` has no other use to update.
                return self.b.func.dfg.replace_result(v, ty);
            }
        }
        let dfg = &self.b.func.dfg;
        if dfg.value_type(v) == ty {
            return v;
        }
        if let ValueDef::Result(inst, 0) = dfg.value_def(v)
            && let InstructionData::LoadNoOffset {
                opcode: Opcode::Bitcast,
                arg,
                ..
            } = dfg.insts[inst]
            && dfg.value_type(arg) == ty
        {
            return arg;
        }
        self.b.ins().bitcast(ty, lane_flags(), v)
    }

    /// Pops a `v128` as a vector of shape `ty`.
    fn pop_lanes(&mut self, ty: Type) -> Value {
        let v = self.stack.pop();
        self.as_lanes(v, ty)
    }

    /// Pops two `v128`s as vectors of shape `ty`, in push order.
    fn pop2_lanes(&mut self, ty: Type) -> (Value, Value) {
        let y = self.pop_lanes(ty);
        let x = self.pop_lanes(ty);
        (x, y)
    }

    /// Pops three `v128`s as vectors of shape `ty`, in push order.
    fn pop3_lanes(&mut self, ty: Type) -> (Value, Value, Value) {
        let z = self.pop_lanes(ty);
        let (x, y) = self.pop2_lanes(ty);
        (x, y, z)
    }

    /// Pushes a vector of any shape as a `v128`.
    fn push_lanes(&mut self, v: Value) {
        let v = self.as_lanes(v, V128);
        self.stack.push(v);
    }

    /// Pops one vector of shape `ty`, applies `f` and pushes the result.
    fn vunop(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let x = self.pop_lanes(ty);
        let r = f(&mut self.b, x);
        self.push_lanes(r);
    }

    /// [`Self::vbinop`] for a commutative `f`: a fresh load goes second,
    /// where the backends fold loads into the instruction.
    fn vbinop_commutative(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (x, y) = self.stack.pop2();
        let (x, y) = if self.is_fresh_load(x) && !self.is_fresh_load(y) {
            (y, x)
        } else {
            (x, y)
        };
        let (x, y) = (self.as_lanes(x, ty), self.as_lanes(y, ty));
        let r = f(&mut self.b, x, y);
        self.push_lanes(r);
    }

    /// Pops two vectors of shape `ty`, applies `f` and pushes the result.
    fn vbinop(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (x, y) = self.pop2_lanes(ty);
        let r = f(&mut self.b, x, y);
        self.push_lanes(r);
    }

    /// The shape for a bitwise operation on `values`: their common shape
    /// before reinterpretation when they share one (so an `f32x4` stays
    /// in float registers), else `i8x16`.
    fn bitwise_shape(&self, values: &[Value]) -> Type {
        let dfg = &self.b.func.dfg;
        let origin = |v: Value| match dfg.value_def(v) {
            ValueDef::Result(inst, 0) => match dfg.insts[inst] {
                InstructionData::LoadNoOffset {
                    opcode: Opcode::Bitcast,
                    arg,
                    ..
                } if dfg.value_type(arg).is_vector() => dfg.value_type(arg),
                _ => dfg.value_type(v),
            },
            _ => dfg.value_type(v),
        };
        let first = origin(values[0]);
        if values.iter().all(|v| origin(*v) == first) {
            first
        } else {
            V128
        }
    }

    // ---- Memory -------------------------------------------------------------

    /// Loads and stores.
    fn translate_vector_memory(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        use types::{I8, I16, I32, I64};
        match *op {
            O::V128Load { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().load(V128, f, a, o));
                let v = self.stack.top();
                self.fresh_vector_loads.push(v);
            }
            O::V128Load8x8S { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().sload8x8(f, a, o))
            }
            O::V128Load8x8U { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().uload8x8(f, a, o))
            }
            O::V128Load16x4S { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().sload16x4(f, a, o))
            }
            O::V128Load16x4U { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().uload16x4(f, a, o))
            }
            O::V128Load32x2S { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().sload32x2(f, a, o))
            }
            O::V128Load32x2U { memarg } => {
                self.vector_load(&memarg, |b, f, a, o| b.ins().uload32x2(f, a, o))
            }
            O::V128Load8Splat { memarg } => self.load_splat(&memarg, I8, I8X16),
            O::V128Load16Splat { memarg } => self.load_splat(&memarg, I16, I16X8),
            O::V128Load32Splat { memarg } => self.load_splat(&memarg, I32, I32X4),
            O::V128Load64Splat { memarg } => self.load_splat(&memarg, I64, I64X2),
            O::V128Load32Zero { memarg } => self.vector_load(&memarg, |b, f, a, o| {
                let x = b.ins().load(I32, f, a, o);
                b.ins().scalar_to_vector(I32X4, x)
            }),
            O::V128Load64Zero { memarg } => self.vector_load(&memarg, |b, f, a, o| {
                let x = b.ins().load(I64, f, a, o);
                b.ins().scalar_to_vector(I64X2, x)
            }),
            O::V128Load8Lane { memarg, lane } => self.load_lane(&memarg, I8X16, lane),
            O::V128Load16Lane { memarg, lane } => self.load_lane(&memarg, I16X8, lane),
            O::V128Load32Lane { memarg, lane } => self.load_lane(&memarg, I32X4, lane),
            O::V128Load64Lane { memarg, lane } => self.load_lane(&memarg, I64X2, lane),
            O::V128Store { memarg } => {
                let v = self.stack.pop();
                self.vector_store(&memarg, v);
            }
            O::V128Store8Lane { memarg, lane } => self.store_lane(&memarg, I8X16, lane),
            O::V128Store16Lane { memarg, lane } => self.store_lane(&memarg, I16X8, lane),
            O::V128Store32Lane { memarg, lane } => self.store_lane(&memarg, I32X4, lane),
            O::V128Store64Lane { memarg, lane } => self.store_lane(&memarg, I64X2, lane),
            _ => return false,
        }
        true
    }

    /// Pops an address and pushes what `load` reads there (given the
    /// flags, base and offset of the access).
    fn vector_load(
        &mut self,
        memarg: &MemArg,
        load: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value, i32) -> Value,
    ) {
        let index = self.stack.pop();
        let at = self.env.heap_address(&mut self.b, memarg, index);
        let v = load(&mut self.b, at.flags, at.base, at.offset);
        self.push_lanes(v);
    }

    /// `v128.loadN_splat`: one `lane`-typed value, in every lane of a
    /// `shape` vector.
    fn load_splat(&mut self, memarg: &MemArg, lane: Type, shape: Type) {
        self.vector_load(memarg, |b, f, a, o| {
            let x = b.ins().load(lane, f, a, o);
            b.ins().splat(shape, x)
        });
    }

    /// `v128.loadN_lane`: replaces lane `lane` of the vector operand.
    fn load_lane(&mut self, memarg: &MemArg, shape: Type, lane: u8) {
        let v = self.pop_lanes(shape);
        self.vector_load(memarg, |b, f, a, o| {
            let x = b.ins().load(shape.lane_type(), f, a, o);
            b.ins().insertlane(v, x, lane)
        });
    }

    /// Pops an address and stores `value` there.
    fn vector_store(&mut self, memarg: &MemArg, value: Value) {
        let index = self.stack.pop();
        let at = self.env.heap_address(&mut self.b, memarg, index);
        self.b.ins().store(at.flags, value, at.base, at.offset);
    }

    /// `v128.storeN_lane`: stores lane `lane` of the vector operand.
    fn store_lane(&mut self, memarg: &MemArg, shape: Type, lane: u8) {
        let v = self.pop_lanes(shape);
        let x = self.b.ins().extractlane(v, lane);
        self.vector_store(memarg, x);
    }

    // ---- Constants, lanes, shuffles -----------------------------------------

    /// `v128.const`, splats, lane access, shuffles and swizzles.
    fn translate_vector_lanes(&mut self, op: &Operator<'_>, shape: Type) -> bool {
        use Operator as O;
        use types::I32;
        match *op {
            O::V128Const { value } => {
                let c = self
                    .b
                    .func
                    .dfg
                    .constants
                    .insert(value.bytes().to_vec().into());
                let v = self.b.ins().vconst(V128, c);
                self.stack.push(v);
            }
            O::I8x16Splat | O::I16x8Splat => {
                let x = self.stack.pop();
                let x = self.b.ins().ireduce(shape.lane_type(), x);
                let v = self.b.ins().splat(shape, x);
                self.push_lanes(v);
            }
            O::I32x4Splat | O::I64x2Splat | O::F32x4Splat | O::F64x2Splat => {
                let x = self.stack.pop();
                let v = self.b.ins().splat(shape, x);
                self.push_lanes(v);
            }
            O::I8x16ExtractLaneS { lane } => self.extract_lane(I8X16, lane, Some(Sign::Signed)),
            O::I8x16ExtractLaneU { lane } => self.extract_lane(I8X16, lane, Some(Sign::Unsigned)),
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, lane, Some(Sign::Signed)),
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, lane, Some(Sign::Unsigned)),
            O::I32x4ExtractLane { lane } => self.extract_lane(I32X4, lane, None),
            O::I64x2ExtractLane { lane } => self.extract_lane(I64X2, lane, None),
            O::F32x4ExtractLane { lane } => self.extract_lane(F32X4, lane, None),
            O::F64x2ExtractLane { lane } => self.extract_lane(F64X2, lane, None),
            O::I8x16ReplaceLane { lane } => self.replace_lane(I8X16, lane),
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, lane),
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, lane),
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, lane),
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, lane),
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, lane),
            O::I8x16Shuffle { lanes } => {
                let (x, y) = self.pop2_lanes(I8X16);
                let mask = self
                    .b
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(&lanes[..]));
                let v = self.b.ins().shuffle(x, y, mask);
                self.push_lanes(v);
            }
            O::I8x16Swizzle => self.vbinop(I8X16, |b, x, y| b.ins().swizzle(x, y)),
            O::V128AnyTrue => {
                // Any bit set: on the operand's integer shape, or on bytes
                // (a float lane of -0 is not "zero" here).
                let x = self.stack.pop();
                let shape = Some(self.bitwise_shape(&[x])).filter(|t| t.lane_type().is_int());
                let x = self.as_lanes(x, shape.unwrap_or(V128));
                let t = self.b.ins().vany_true(x);
                let r = self.b.ins().uextend(I32, t);
                self.stack.push(r);
            }
            O::I8x16AllTrue | O::I16x8AllTrue | O::I32x4AllTrue | O::I64x2AllTrue => {
                let x = self.pop_lanes(shape);
                let t = self.b.ins().vall_true(x);
                let r = self.b.ins().uextend(I32, t);
                self.stack.push(r);
            }
            O::I8x16Bitmask | O::I16x8Bitmask | O::I32x4Bitmask | O::I64x2Bitmask => {
                let x = self.pop_lanes(shape);
                let r = self.b.ins().vhigh_bits(I32, x);
                self.stack.push(r);
            }
            _ => return false,
        }
        true
    }

    /// `extract_lane`: lane `lane` of a `shape` vector, extended to `i32`
    /// when narrower.
    fn extract_lane(&mut self, shape: Type, lane: u8, extend: Option<Sign>) {
        let v = self.pop_lanes(shape);
        let x = self.b.ins().extractlane(v, lane);
        let x = match extend {
            None => x,
            Some(Sign::Signed) => self.b.ins().sextend(types::I32, x),
            Some(Sign::Unsigned) => self.b.ins().uextend(types::I32, x),
        };
        self.stack.push(x);
    }

    /// `replace_lane`: the vector with lane `lane` replaced by the scalar
    /// operand (truncated to the lane's width).
    fn replace_lane(&mut self, shape: Type, lane: u8) {
        let x = self.stack.pop();
        let v = self.pop_lanes(shape);
        let lane_ty = shape.lane_type();
        let x = if self.b.func.dfg.value_type(x) == lane_ty {
            x
        } else {
            self.b.ins().ireduce(lane_ty, x)
        };
        let r = self.b.ins().insertlane(v, x, lane);
        self.push_lanes(r);
    }

    // ---- Integer and bitwise operations -------------------------------------

    /// Integer arithmetic, comparisons, shifts and the bitwise operations.
    fn translate_vector_integer(&mut self, op: &Operator<'_>, shape: Option<Type>) -> bool {
        use IntCC::*;
        use Operator as O;
        let Some(shape) = shape else {
            return self.translate_bitwise(op);
        };
        match *op {
            O::I8x16Add | O::I16x8Add | O::I32x4Add | O::I64x2Add => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().iadd(x, y))
            }
            O::I8x16Sub | O::I16x8Sub | O::I32x4Sub | O::I64x2Sub => {
                self.vbinop(shape, |b, x, y| b.ins().isub(x, y))
            }
            O::I16x8Mul | O::I32x4Mul | O::I64x2Mul => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().imul(x, y))
            }
            O::I8x16AddSatS | O::I16x8AddSatS => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().sadd_sat(x, y))
            }
            O::I8x16AddSatU | O::I16x8AddSatU => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().uadd_sat(x, y))
            }
            O::I8x16SubSatS | O::I16x8SubSatS => {
                self.vbinop(shape, |b, x, y| b.ins().ssub_sat(x, y))
            }
            O::I8x16SubSatU | O::I16x8SubSatU => {
                self.vbinop(shape, |b, x, y| b.ins().usub_sat(x, y))
            }
            O::I8x16MinS | O::I16x8MinS | O::I32x4MinS => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().smin(x, y))
            }
            O::I8x16MinU | O::I16x8MinU | O::I32x4MinU => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().umin(x, y))
            }
            O::I8x16MaxS | O::I16x8MaxS | O::I32x4MaxS => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().smax(x, y))
            }
            O::I8x16MaxU | O::I16x8MaxU | O::I32x4MaxU => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().umax(x, y))
            }
            O::I8x16AvgrU | O::I16x8AvgrU => {
                self.vbinop_commutative(shape, |b, x, y| b.ins().avg_round(x, y))
            }
            O::I8x16Neg | O::I16x8Neg | O::I32x4Neg | O::I64x2Neg => {
                self.vunop(shape, |b, x| b.ins().ineg(x))
            }
            O::I8x16Abs | O::I16x8Abs | O::I32x4Abs | O::I64x2Abs => {
                self.vunop(shape, |b, x| b.ins().iabs(x))
            }
            O::I8x16Popcnt => self.vunop(shape, |b, x| b.ins().popcnt(x)),
            O::I16x8Q15MulrSatS => self.vbinop(shape, |b, x, y| b.ins().sqmul_round_sat(x, y)),
            O::I32x4DotI16x8S => self.vbinop(I16X8, dot_pairs),

            // Shifts take the count modulo the lane width, as Cranelift's
            // vector shifts do.
            O::I8x16Shl | O::I16x8Shl | O::I32x4Shl | O::I64x2Shl => {
                self.shift(shape, |b, x, n| b.ins().ishl(x, n))
            }
            O::I8x16ShrS | O::I16x8ShrS | O::I32x4ShrS | O::I64x2ShrS => {
                self.shift(shape, |b, x, n| b.ins().sshr(x, n))
            }
            O::I8x16ShrU | O::I16x8ShrU | O::I32x4ShrU | O::I64x2ShrU => {
                self.shift(shape, |b, x, n| b.ins().ushr(x, n))
            }

            O::I8x16Eq | O::I16x8Eq | O::I32x4Eq | O::I64x2Eq => self.vicmp(shape, Equal),
            O::I8x16Ne | O::I16x8Ne | O::I32x4Ne | O::I64x2Ne => self.vicmp(shape, NotEqual),
            O::I8x16LtS | O::I16x8LtS | O::I32x4LtS | O::I64x2LtS => {
                self.vicmp(shape, SignedLessThan)
            }
            O::I8x16LtU | O::I16x8LtU | O::I32x4LtU => self.vicmp(shape, UnsignedLessThan),
            O::I8x16GtS | O::I16x8GtS | O::I32x4GtS | O::I64x2GtS => {
                self.vicmp(shape, SignedGreaterThan)
            }
            O::I8x16GtU | O::I16x8GtU | O::I32x4GtU => self.vicmp(shape, UnsignedGreaterThan),
            O::I8x16LeS | O::I16x8LeS | O::I32x4LeS | O::I64x2LeS => {
                self.vicmp(shape, SignedLessThanOrEqual)
            }
            O::I8x16LeU | O::I16x8LeU | O::I32x4LeU => self.vicmp(shape, UnsignedLessThanOrEqual),
            O::I8x16GeS | O::I16x8GeS | O::I32x4GeS | O::I64x2GeS => {
                self.vicmp(shape, SignedGreaterThanOrEqual)
            }
            O::I8x16GeU | O::I16x8GeU | O::I32x4GeU => {
                self.vicmp(shape, UnsignedGreaterThanOrEqual)
            }

            _ => return false,
        }
        true
    }

    /// The bitwise operations, on the shape their operands share.
    fn translate_bitwise(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        match *op {
            O::V128Not => {
                let x = self.stack.pop();
                let shape = self.bitwise_shape(&[x]);
                self.stack.push(x);
                self.vunop(shape, |b, x| b.ins().bnot(x));
            }
            O::V128And | O::V128AndNot | O::V128Or | O::V128Xor => {
                let operands = self.stack.top_n(2).to_vec();
                let shape = self.bitwise_shape(&operands);
                let f = |b: &mut FunctionBuilder<'_>, x, y| match *op {
                    O::V128And => b.ins().band(x, y),
                    O::V128AndNot => b.ins().band_not(x, y),
                    O::V128Or => b.ins().bor(x, y),
                    _ => b.ins().bxor(x, y),
                };
                if matches!(op, O::V128AndNot) {
                    self.vbinop(shape, f);
                } else {
                    self.vbinop_commutative(shape, f);
                }
            }
            O::V128Bitselect => {
                let operands = self.stack.top_n(3).to_vec();
                let shape = self.bitwise_shape(&operands);
                let (x, y, mask) = self.pop3_lanes(shape);
                let r = self.b.ins().bitselect(mask, x, y);
                self.push_lanes(r);
            }
            _ => return false,
        }
        true
    }

    /// A shift of the `shape` lanes of the vector operand by the `i32`
    /// operand.
    fn shift(
        &mut self,
        shape: Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let n = self.stack.pop();
        let x = self.pop_lanes(shape);
        let r = f(&mut self.b, x, n);
        self.push_lanes(r);
    }

    /// A lane-wise integer comparison: all ones where it holds, else zero.
    fn vicmp(&mut self, shape: Type, cc: IntCC) {
        let f = |b: &mut FunctionBuilder<'_>, x, y| b.ins().icmp(cc, x, y);
        if matches!(cc, IntCC::Equal | IntCC::NotEqual) {
            self.vbinop_commutative(shape, f);
        } else {
            self.vbinop(shape, f);
        }
    }

    // ---- Float operations -----------------------------------------------------

    /// Float arithmetic and comparisons.
    fn translate_vector_float(&mut self, op: &Operator<'_>, shape: Type) -> bool {
        use FloatCC::*;
        use Operator as O;
        match *op {
            O::F32x4Add | O::F64x2Add => self.vbinop(shape, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub | O::F64x2Sub => self.vbinop(shape, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul | O::F64x2Mul => self.vbinop(shape, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div | O::F64x2Div => self.vbinop(shape, |b, x, y| b.ins().fdiv(x, y)),
            // `fmin`/`fmax` are WebAssembly's: a NaN operand gives NaN and
            // -0 is below +0.
            O::F32x4Min | O::F64x2Min => self.vbinop(shape, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4Max | O::F64x2Max => self.vbinop(shape, |b, x, y| b.ins().fmax(x, y)),
            O::F32x4PMin | O::F64x2PMin => self.vbinop(shape, pmin),
            O::F32x4PMax | O::F64x2PMax => self.vbinop(shape, pmax),
            O::F32x4Abs | O::F64x2Abs => self.vunop(shape, |b, x| b.ins().fabs(x)),
            O::F32x4Neg | O::F64x2Neg => self.vunop(shape, |b, x| b.ins().fneg(x)),
            O::F32x4Sqrt | O::F64x2Sqrt => self.vunop(shape, |b, x| b.ins().sqrt(x)),
            O::F32x4Ceil | O::F64x2Ceil => self.vunop(shape, |b, x| b.ins().ceil(x)),
            O::F32x4Floor | O::F64x2Floor => self.vunop(shape, |b, x| b.ins().floor(x)),
            O::F32x4Trunc | O::F64x2Trunc => self.vunop(shape, |b, x| b.ins().trunc(x)),
            O::F32x4Nearest | O::F64x2Nearest => self.vunop(shape, |b, x| b.ins().nearest(x)),
            O::F32x4Eq | O::F64x2Eq => self.vfcmp(shape, Equal),
            O::F32x4Ne | O::F64x2Ne => self.vfcmp(shape, NotEqual),
            O::F32x4Lt | O::F64x2Lt => self.vfcmp(shape, LessThan),
            O::F32x4Gt | O::F64x2Gt => self.vfcmp(shape, GreaterThan),
            O::F32x4Le | O::F64x2Le => self.vfcmp(shape, LessThanOrEqual),
            O::F32x4Ge | O::F64x2Ge => self.vfcmp(shape, GreaterThanOrEqual),
            _ => return false,
        }
        true
    }

    /// A lane-wise float comparison: all ones where it holds, else zero.
    fn vfcmp(&mut self, shape: Type, cc: FloatCC) {
        self.vbinop(shape, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    // ---- Conversions, narrowing, widening -------------------------------------

    /// Conversions between lane shapes.
    fn translate_vector_conversion(&mut self, op: &Operator<'_>) -> bool {
        use Half::{High, Low};
        use Operator as O;
        use Sign::{Signed, Unsigned};
        match *op {
            O::F32x4ConvertI32x4S => self.vunop(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x)),
            O::F32x4ConvertI32x4U => self.vunop(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x)),
            O::F64x2ConvertLowI32x4S => self.vunop(I32X4, |b, x| {
                let x = b.ins().swiden_low(x);
                b.ins().fcvt_from_sint(F64X2, x)
            }),
            O::F64x2ConvertLowI32x4U => self.vunop(I32X4, |b, x| {
                let x = b.ins().uwiden_low(x);
                b.ins().fcvt_from_uint(F64X2, x)
            }),
            O::F64x2PromoteLowF32x4 => self.vunop(F32X4, |b, x| b.ins().fvpromote_low(x)),
            O::F32x4DemoteF64x2Zero => self.vunop(F64X2, |b, x| b.ins().fvdemote(x)),
            O::I32x4TruncSatF32x4S => self.vunop(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x)),
            O::I32x4TruncSatF32x4U => self.vunop(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x)),
            O::I32x4TruncSatF64x2SZero => self.vunop(F64X2, trunc_sat_f64x2_s_zero),
            O::I32x4TruncSatF64x2UZero => self.vunop(F64X2, trunc_sat_f64x2_u_zero),
            O::I8x16NarrowI16x8S => self.vbinop(I16X8, |b, x, y| b.ins().snarrow(x, y)),
            O::I8x16NarrowI16x8U => self.vbinop(I16X8, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8NarrowI32x4S => self.vbinop(I32X4, |b, x, y| b.ins().snarrow(x, y)),
            O::I16x8NarrowI32x4U => self.vbinop(I32X4, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8ExtendLowI8x16S => self.extend(I8X16, Signed, Low),
            O::I16x8ExtendHighI8x16S => self.extend(I8X16, Signed, High),
            O::I16x8ExtendLowI8x16U => self.extend(I8X16, Unsigned, Low),
            O::I16x8ExtendHighI8x16U => self.extend(I8X16, Unsigned, High),
            O::I32x4ExtendLowI16x8S => self.extend(I16X8, Signed, Low),
            O::I32x4ExtendHighI16x8S => self.extend(I16X8, Signed, High),
            O::I32x4ExtendLowI16x8U => self.extend(I16X8, Unsigned, Low),
            O::I32x4ExtendHighI16x8U => self.extend(I16X8, Unsigned, High),
            O::I64x2ExtendLowI32x4S => self.extend(I32X4, Signed, Low),
            O::I64x2ExtendHighI32x4S => self.extend(I32X4, Signed, High),
            O::I64x2ExtendLowI32x4U => self.extend(I32X4, Unsigned, Low),
            O::I64x2ExtendHighI32x4U => self.extend(I32X4, Unsigned, High),
            O::I16x8ExtAddPairwiseI8x16S => self.vunop(I8X16, |b, x| extadd_pairwise(b, Signed, x)),
            O::I16x8ExtAddPairwiseI8x16U => {
                self.vunop(I8X16, |b, x| extadd_pairwise(b, Unsigned, x))
            }
            O::I32x4ExtAddPairwiseI16x8S => self.vunop(I16X8, |b, x| extadd_pairwise(b, Signed, x)),
            O::I32x4ExtAddPairwiseI16x8U => {
                self.vunop(I16X8, |b, x| extadd_pairwise(b, Unsigned, x))
            }
            O::I16x8ExtMulLowI8x16S => self.extmul(I8X16, Signed, Low),
            O::I16x8ExtMulHighI8x16S => self.extmul(I8X16, Signed, High),
            O::I16x8ExtMulLowI8x16U => self.extmul(I8X16, Unsigned, Low),
            O::I16x8ExtMulHighI8x16U => self.extmul(I8X16, Unsigned, High),
            O::I32x4ExtMulLowI16x8S => self.extmul(I16X8, Signed, Low),
            O::I32x4ExtMulHighI16x8S => self.extmul(I16X8, Signed, High),
            O::I32x4ExtMulLowI16x8U => self.extmul(I16X8, Unsigned, Low),
            O::I32x4ExtMulHighI16x8U => self.extmul(I16X8, Unsigned, High),
            O::I64x2ExtMulLowI32x4S => self.extmul(I32X4, Signed, Low),
            O::I64x2ExtMulHighI32x4S => self.extmul(I32X4, Signed, High),
            O::I64x2ExtMulLowI32x4U => self.extmul(I32X4, Unsigned, Low),
            O::I64x2ExtMulHighI32x4U => self.extmul(I32X4, Unsigned, High),
            _ => return false,
        }
        true
    }

    /// `extend_{low,high}`: half the `from` lanes, widened.
    fn extend(&mut self, from: Type, sign: Sign, half: Half) {
        self.vunop(from, |b, x| widen(b, sign, half, x));
    }

    /// `extmul_{low,high}`: the products of half the `from` lanes, in
    /// lanes twice as wide.
    fn extmul(&mut self, from: Type, sign: Sign, half: Half) {
        self.vbinop(from, |b, x, y| {
            let x = widen(b, sign, half, x);
            let y = widen(b, sign, half, y);
            b.ins().imul(x, y)
        });
    }
}

/// `pmin`: `y < x ? y : x`, lane by lane (the first operand when either is
/// NaN). Written so x86-64 selects `minps`/`minpd`, whose operand order
/// gives exactly this.
fn pmin(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let lt = b.ins().fcmp(FloatCC::LessThan, y, x);
    let mask = b.ins().bitcast(ty, lane_flags(), lt);
    b.ins().bitselect(mask, y, x)
}

/// `pmax`: `x < y ? y : x`, lane by lane (`maxps`/`maxpd` on x86-64).
fn pmax(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let lt = b.ins().fcmp(FloatCC::LessThan, x, y);
    let mask = b.ins().bitcast(ty, lane_flags(), lt);
    b.ins().bitselect(mask, y, x)
}

/// `i32x4.trunc_sat_f64x2_s_zero`: both lanes converted with saturation
/// (NaN to 0), then two zero lanes.
fn trunc_sat_f64x2_s_zero(b: &mut FunctionBuilder<'_>, x: Value) -> Value {
    let wide = b.ins().fcvt_to_sint_sat(I64X2, x);
    let zero = zeros(b, I64X2);
    b.ins().snarrow(wide, zero)
}

/// `i32x4.trunc_sat_f64x2_u_zero`, unsigned.
fn trunc_sat_f64x2_u_zero(b: &mut FunctionBuilder<'_>, x: Value) -> Value {
    let wide = b.ins().fcvt_to_uint_sat(I64X2, x);
    let zero = zeros(b, I64X2);
    b.ins().uunarrow(wide, zero)
}
