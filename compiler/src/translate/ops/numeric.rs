//! Numeric instructions: constants, integer and float arithmetic,
//! comparisons and conversions. None of them touches the instance.

use super::super::BodyTranslator;
use crate::abi::trap_code;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::Trap;
use wasmparser::Operator;

/// A conversion between an integer and a float type, or between float
/// types.
#[derive(Clone, Copy)]
enum Conversion {
    /// Float to signed integer, trapping when out of range.
    ToSint,
    /// Float to unsigned integer, trapping when out of range.
    ToUint,
    /// Float to signed integer, saturating.
    ToSintSat,
    /// Float to unsigned integer, saturating.
    ToUintSat,
    /// Signed integer to float.
    FromSint,
    /// Unsigned integer to float.
    FromUint,
    /// f64 to f32.
    Demote,
    /// f32 to f64.
    Promote,
}

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a numeric instruction.
    pub(in crate::translate) fn translate_numeric(&mut self, op: &Operator<'_>) -> bool {
        use Conversion::*;
        use Operator as O;
        use types::{F32, F64, I8, I16, I32, I64};
        match *op {
            // Constants.
            O::I32Const { value } => {
                self.push_with(|b| b.ins().iconst(types::I32, i64::from(value)))
            }
            O::I64Const { value } => self.push_with(|b| b.ins().iconst(I64, value)),
            O::F32Const { value } => {
                self.push_with(|b| b.ins().f32const(Ieee32::with_bits(value.bits())))
            }
            O::F64Const { value } => {
                self.push_with(|b| b.ins().f64const(Ieee64::with_bits(value.bits())))
            }

            // Integer comparisons.
            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            // Float comparisons.
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            // Integer arithmetic, then binary float arithmetic.
            O::I32Clz | O::I64Clz => self.unop(|b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unop(|b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unop(|b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.binop(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binop(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binop(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binop(|b, x, y| {
                guard_zero(b, y);
                guard_signed_overflow(b, x, y);
                b.ins().sdiv(x, y)
            }),
            O::I32DivU | O::I64DivU => self.binop(|b, x, y| {
                guard_zero(b, y);
                b.ins().udiv(x, y)
            }),
            O::I32RemS | O::I64RemS => self.binop(|b, x, y| {
                guard_zero(b, y);
                signed_rem(b, x, y)
            }),
            O::I32RemU | O::I64RemU => self.binop(|b, x, y| {
                guard_zero(b, y);
                b.ins().urem(x, y)
            }),
            O::I32And | O::I64And => self.binop(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binop(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binop(|b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.binop(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binop(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binop(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binop(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binop(|b, x, y| b.ins().rotr(x, y)),
            O::F32Add | O::F64Add => self.binop(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binop(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binop(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binop(|b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binop(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binop(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binop(|b, x, y| b.ins().fcopysign(x, y)),

            // Float arithmetic (the binary operators are above).
            O::F32Abs | O::F64Abs => self.unop(|b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.unop(|b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.unop(|b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unop(|b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unop(|b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unop(|b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.unop(|b, x| b.ins().sqrt(x)),

            // Conversions.
            O::I32WrapI64 => self.unop(|b, x| b.ins().ireduce(I32, x)),
            O::I64ExtendI32S => self.unop(|b, x| b.ins().sextend(I64, x)),
            O::I64ExtendI32U => self.unop(|b, x| b.ins().uextend(I64, x)),
            O::I32TruncF32S | O::I32TruncF64S => self.convert(ToSint, I32),
            O::I32TruncF32U | O::I32TruncF64U => self.convert(ToUint, I32),
            O::I64TruncF32S | O::I64TruncF64S => self.convert(ToSint, I64),
            O::I64TruncF32U | O::I64TruncF64U => self.convert(ToUint, I64),
            O::I32TruncSatF32S | O::I32TruncSatF64S => self.convert(ToSintSat, I32),
            O::I32TruncSatF32U | O::I32TruncSatF64U => self.convert(ToUintSat, I32),
            O::I64TruncSatF32S | O::I64TruncSatF64S => self.convert(ToSintSat, I64),
            O::I64TruncSatF32U | O::I64TruncSatF64U => self.convert(ToUintSat, I64),
            O::F32ConvertI32S | O::F32ConvertI64S => self.convert(FromSint, F32),
            O::F32ConvertI32U | O::F32ConvertI64U => self.convert(FromUint, F32),
            O::F64ConvertI32S | O::F64ConvertI64S => self.convert(FromSint, F64),
            O::F64ConvertI32U | O::F64ConvertI64U => self.convert(FromUint, F64),
            O::F32DemoteF64 => self.convert(Demote, F32),
            O::F64PromoteF32 => self.convert(Promote, F64),
            O::I32ReinterpretF32 => self.reinterpret(I32),
            O::I64ReinterpretF64 => self.reinterpret(I64),
            O::F32ReinterpretI32 => self.reinterpret(F32),
            O::F64ReinterpretI64 => self.reinterpret(F64),
            O::I32Extend8S => self.sign_extend_from(I8, I32),
            O::I32Extend16S => self.sign_extend_from(I16, I32),
            O::I64Extend8S => self.sign_extend_from(I8, I64),
            O::I64Extend16S => self.sign_extend_from(I16, I64),
            O::I64Extend32S => self.sign_extend_from(I32, I64),
            _ => return false,
        }
        true
    }

    /// An integer comparison, giving an i32 0 or 1.
    pub(in crate::translate) fn icmp(&mut self, cc: IntCC) {
        self.binop(|b, x, y| {
            let c = b.ins().icmp(cc, x, y);
            b.ins().uextend(types::I32, c)
        });
    }

    /// A float comparison, giving an i32 0 or 1.
    fn fcmp(&mut self, cc: FloatCC) {
        self.binop(|b, x, y| {
            let c = b.ins().fcmp(cc, x, y);
            b.ins().uextend(types::I32, c)
        });
    }

    /// Whether the operand is zero (or null), as an i32 0 or 1.
    pub(in crate::translate) fn eqz(&mut self) {
        self.unop(|b, x| {
            let c = b.ins().icmp_imm_s(IntCC::Equal, x, 0);
            b.ins().uextend(types::I32, c)
        });
    }

    /// Converts the operand to `to` with `conversion`.
    fn convert(&mut self, conversion: Conversion, to: Type) {
        self.unop(|b, x| {
            let ins = b.ins();
            match conversion {
                Conversion::ToSint => ins.fcvt_to_sint(to, x),
                Conversion::ToUint => ins.fcvt_to_uint(to, x),
                Conversion::ToSintSat => ins.fcvt_to_sint_sat(to, x),
                Conversion::ToUintSat => ins.fcvt_to_uint_sat(to, x),
                Conversion::FromSint => ins.fcvt_from_sint(to, x),
                Conversion::FromUint => ins.fcvt_from_uint(to, x),
                Conversion::Demote => ins.fdemote(to, x),
                Conversion::Promote => ins.fpromote(to, x),
            }
        });
    }

    /// Reinterprets the operand's bits as type `to`.
    fn reinterpret(&mut self, to: Type) {
        self.unop(|b, x| b.ins().bitcast(to, MemFlagsData::new(), x));
    }

    /// Sign-extends the low `from` bits of the operand to `to`.
    fn sign_extend_from(&mut self, from: Type, to: Type) {
        self.unop(|b, x| {
            let n = b.ins().ireduce(from, x);
            b.ins().sextend(to, n)
        });
    }
}

/// Traps with "integer divide by zero" when `y` is zero.
fn guard_zero(b: &mut FunctionBuilder<'_>, y: Value) {
    b.ins().trapz(y, trap_code(Trap::IntegerDivisionByZero));
}

/// Traps with "integer overflow" for `MIN / -1`.
fn guard_signed_overflow(b: &mut FunctionBuilder<'_>, x: Value, y: Value) {
    let ty = b.func.dfg.value_type(x);
    let min = if ty == types::I32 {
        i64::from(i32::MIN)
    } else {
        i64::MIN
    };
    let is_min = b.ins().icmp_imm_s(IntCC::Equal, x, min);
    let is_neg1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
    let both = b.ins().band(is_min, is_neg1);
    b.ins().trapnz(both, trap_code(Trap::IntegerOverflow));
}

/// `x rem_s y` with `MIN rem_s -1 == 0` (a divisor of -1 always gives 0,
/// and must not reach the hardware instruction, which faults on MIN).
fn signed_rem(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let is_neg1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
    let one = b.ins().iconst(ty, 1);
    let safe_y = b.ins().select(is_neg1, one, y);
    b.ins().srem(x, safe_y)
}
