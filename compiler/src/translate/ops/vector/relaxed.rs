//! Relaxed SIMD: instructions whose result, for some inputs, the
//! specification leaves to the host, so that each host can run them as
//! one instruction.
//!
//! Each has a deterministic result, which matches a fixed-width SIMD
//! instruction (`relaxed_swizzle` is `swizzle`, `relaxed_min` is `min`,
//! ...), and Trestle gives that result on every host unless x86-64 has a
//! faster instruction whose result the specification also allows; with
//! [`crate::CompilerOptions::relaxed_simd_deterministic`] every host gives
//! the deterministic result. `docs/simd.md` has the table of both.

use super::super::super::BodyTranslator;
use super::{I8X16, I16X8, I32X4, I64X2, Sign, dot_pairs, extadd_pairwise, pmax, pmin};
use cranelift_codegen::ir::{InstBuilder, Type, Value, types};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// What the target offers the relaxed instructions.
#[derive(Clone, Copy)]
struct Target {
    /// x86-64 with the host's own results allowed: `pshufb`, `cvttps2dq`,
    /// `minps`, `blendv`, `pmulhrsw` and `pmaddubsw` take the place of the
    /// deterministic sequences.
    x86_native: bool,
    /// A fused multiply-add instruction.
    fma: bool,
}

impl Target {
    fn new(isa: &dyn TargetIsa, deterministic: bool) -> Self {
        Target {
            x86_native: !deterministic
                && isa.triple().architecture == target_lexicon::Architecture::X86_64,
            fma: isa.has_native_fma(),
        }
    }
}

/// `relaxed_madd` (and with `-x`, `relaxed_nmadd`): `x * y + z`, fused when
/// the host has the instruction, else rounded after the multiplication
/// too. Deterministic mode needs the fused form, and the compiler refuses
/// it on an x86-64 host without FMA.
fn madd(b: &mut FunctionBuilder<'_>, fma: bool, x: Value, y: Value, z: Value) -> Value {
    if fma {
        b.ins().fma(x, y, z)
    } else {
        let product = b.ins().fmul(x, y);
        b.ins().fadd(product, z)
    }
}

/// `i32x4.trunc_sat_f64x2_{s,u}_zero`-like conversions: the two lanes
/// converted by `convert` to `i64x2`, then narrowed next to two zeros.
fn narrow_with_zeros(b: &mut FunctionBuilder<'_>, sign: Sign, wide: Value) -> Value {
    let zero = super::zeros(b, I64X2);
    match sign {
        Sign::Signed => b.ins().snarrow(wide, zero),
        Sign::Unsigned => b.ins().uunarrow(wide, zero),
    }
}

impl BodyTranslator<'_, '_> {
    /// Translates `op`, of lane shape `shape`, if it is a relaxed SIMD
    /// instruction.
    pub(super) fn translate_relaxed(&mut self, op: &Operator<'_>, shape: Type) -> bool {
        use Operator as O;
        use types::{F32X4, F64X2};
        let compiler = self.env.compiler();
        let t = Target::new(
            &*compiler.isa,
            compiler.options().relaxed_simd_deterministic,
        );
        match *op {
            // Host: `pshufb`, which takes an index modulo 16 unless its top
            // bit is set. Deterministic: `swizzle` (0 from 16 on).
            O::I8x16RelaxedSwizzle => self.vbinop(I8X16, |b, x, y| {
                if t.x86_native {
                    b.ins().x86_pshufb(x, y)
                } else {
                    b.ins().swizzle(x, y)
                }
            }),
            // Host: `cvttps2dq`, i32::MIN for NaN and out of range.
            // Deterministic: `trunc_sat`.
            O::I32x4RelaxedTruncF32x4S => self.vunop(F32X4, |b, x| {
                if t.x86_native {
                    b.ins().x86_cvtt2dq(I32X4, x)
                } else {
                    b.ins().fcvt_to_sint_sat(I32X4, x)
                }
            }),
            O::I32x4RelaxedTruncF64x2SZero => self.vunop(F64X2, |b, x| {
                let wide = if t.x86_native {
                    b.ins().x86_cvtt2dq(I64X2, x)
                } else {
                    b.ins().fcvt_to_sint_sat(I64X2, x)
                };
                narrow_with_zeros(b, Sign::Signed, wide)
            }),
            // x86-64 has no single instruction for these; `trunc_sat` on
            // every host.
            O::I32x4RelaxedTruncF32x4U => {
                self.vunop(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
            }
            O::I32x4RelaxedTruncF64x2UZero => self.vunop(F64X2, |b, x| {
                let wide = b.ins().fcvt_to_uint_sat(I64X2, x);
                narrow_with_zeros(b, Sign::Unsigned, wide)
            }),
            O::F32x4RelaxedMadd | O::F64x2RelaxedMadd => {
                let (x, y, z) = self.pop3_lanes(shape);
                let r = madd(&mut self.b, t.fma, x, y, z);
                self.push_lanes(r);
            }
            O::F32x4RelaxedNmadd | O::F64x2RelaxedNmadd => {
                let (x, y, z) = self.pop3_lanes(shape);
                let x = self.b.ins().fneg(x);
                let r = madd(&mut self.b, t.fma, x, y, z);
                self.push_lanes(r);
            }
            // Host: `blendv`, which looks at the top bit of each mask lane
            // only (no such instruction for 16-bit lanes). Deterministic:
            // `bitselect`.
            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => {
                let blend = t.x86_native && compiler.isa.has_blendv_lowering(shape);
                let (x, y, mask) = self.pop3_lanes(shape);
                let r = if blend {
                    self.b.ins().blendv(mask, x, y)
                } else {
                    self.b.ins().bitselect(mask, x, y)
                };
                self.push_lanes(r);
            }
            // Host: `minps`/`maxps`, written as `pmin`/`pmax`: the first
            // operand unless the second is below (above) it, so the first
            // when either is NaN or both are zeros. Deterministic:
            // `min`/`max`.
            O::F32x4RelaxedMin | O::F64x2RelaxedMin => self.vbinop(shape, |b, x, y| {
                if t.x86_native {
                    pmin(b, x, y)
                } else {
                    b.ins().fmin(x, y)
                }
            }),
            O::F32x4RelaxedMax | O::F64x2RelaxedMax => self.vbinop(shape, |b, x, y| {
                if t.x86_native {
                    pmax(b, x, y)
                } else {
                    b.ins().fmax(x, y)
                }
            }),
            // Host: `pmulhrsw`, which wraps `-1 * -1` (0x8000 * 0x8000) to
            // i16::MIN. Deterministic: `q15mulr_sat_s`, which saturates.
            O::I16x8RelaxedQ15mulrS => self.vbinop(I16X8, |b, x, y| {
                if t.x86_native {
                    b.ins().x86_pmulhrsw(x, y)
                } else {
                    b.ins().sqmul_round_sat(x, y)
                }
            }),
            // Host: `pmaddubsw`, which takes the second operand's bytes as
            // unsigned and saturates the sums of pairs. Deterministic: both
            // signed, sums wrapping.
            O::I16x8RelaxedDotI8x16I7x16S => self.vbinop(I8X16, |b, x, y| {
                if t.x86_native {
                    b.ins().x86_pmaddubsw(x, y)
                } else {
                    dot_pairs(b, x, y)
                }
            }),
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let acc = self.pop_lanes(I32X4);
                let (x, y) = self.pop2_lanes(I8X16);
                let b = &mut self.b;
                let sums = if t.x86_native {
                    let pairs = b.ins().x86_pmaddubsw(x, y);
                    extadd_pairwise(b, Sign::Signed, pairs)
                } else {
                    // The exact sum of the four products in each lane.
                    let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
                    let lo = b.ins().imul(xl, yl);
                    let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
                    let hi = b.ins().imul(xh, yh);
                    let lo = extadd_pairwise(b, Sign::Signed, lo);
                    let hi = extadd_pairwise(b, Sign::Signed, hi);
                    b.ins().iadd_pairwise(lo, hi)
                };
                let r = b.ins().iadd(sums, acc);
                self.push_lanes(r);
            }
            _ => return false,
        }
        true
    }
}
