//! The SIMD kernels of the `simd` group: loops over a buffer in linear
//! memory that do their work with `v128` operations, timed per pass over
//! the buffer.
//!
//! Each module fills its buffer in its start function (not timed) and
//! exports `run(n, seed) -> i32`, which makes `n` passes and returns a
//! value that depends on every one of them, checked against
//! [`SimdCase::expected`] before timing.

use super::kernel::KernelCase;

/// The `i32` elements of each array of the dot product.
pub const DOT_LEN: u32 = 4096;

/// The bytes of the buffer the byte count searches.
pub const SEARCH_LEN: u32 = 32 * 1024;

/// The SIMD kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimdCase {
    /// The dot product of two arrays of [`DOT_LEN`] `i32`s (wrapping):
    /// `i32x4.mul` and `i32x4.add` into an accumulator, a horizontal sum
    /// per pass.
    DotI32,
    /// How many bytes of a [`SEARCH_LEN`]-byte buffer equal the low byte
    /// of the seed: `i8x16.eq` against a splat, `i8x16.bitmask` and
    /// `i32.popcnt` per 16 bytes.
    ByteCount,
}

impl SimdCase {
    /// Every case, in report order.
    pub const ALL: [SimdCase; 2] = [SimdCase::DotI32, SimdCase::ByteCount];

    /// Element `i` of the first array of the dot product.
    fn dot_a(i: u32) -> i32 {
        i.wrapping_mul(7).wrapping_add(3) as i32
    }

    /// Element `i` of the second array.
    fn dot_b(i: u32) -> i32 {
        (i ^ 0x55) as i32
    }

    /// Byte `i` of the searched buffer: some values are frequent, some
    /// rare.
    fn byte(i: u32) -> u8 {
        (i.wrapping_mul(i) >> 7) as u8
    }
}

impl KernelCase for SimdCase {
    /// The case's name in reports.
    fn name(self) -> &'static str {
        match self {
            SimdCase::DotI32 => "i32-dot-4096",
            SimdCase::ByteCount => "byte-count-32k",
        }
    }

    /// What `run(n, seed)` returns.
    fn expected(self, n: u32, seed: i32) -> i32 {
        match self {
            SimdCase::DotI32 => {
                let dot = (0..DOT_LEN).fold(0i32, |acc, i| {
                    acc.wrapping_add(Self::dot_a(i).wrapping_mul(Self::dot_b(i)))
                });
                seed.wrapping_add(dot.wrapping_mul(n as i32))
            }
            SimdCase::ByteCount => {
                let hits = (0..SEARCH_LEN)
                    .filter(|i| Self::byte(*i) == seed as u8)
                    .count();
                (hits as i32).wrapping_mul(n as i32)
            }
        }
    }

    /// The module, as text.
    fn wat(self) -> String {
        match self {
            SimdCase::DotI32 => format!(
                r#"(module
  (memory 1 1)
  ;; a[i] at 4 * i, b[i] {bytes} bytes further.
  (func $init (local $i i32)
    (loop $fill
      (i32.store (i32.shl (local.get $i) (i32.const 2))
        (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3)))
      (i32.store offset={bytes} (i32.shl (local.get $i) (i32.const 2))
        (i32.xor (local.get $i) (i32.const 0x55)))
      (br_if $fill (i32.lt_u
        (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const {DOT_LEN})))))
  (start $init)
  (func (export "run") (param $n i32) (param $seed i32) (result i32)
    (local $acc v128) (local $p i32) (local $total i32)
    (local.set $total (local.get $seed))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $pass
        (local.set $acc (v128.const i64x2 0 0))
        (local.set $p (i32.const 0))
        (loop $chunk
          (local.set $acc (i32x4.add (local.get $acc)
            (i32x4.mul (v128.load (local.get $p)) (v128.load offset={bytes} (local.get $p)))))
          (br_if $chunk (i32.lt_u
            (local.tee $p (i32.add (local.get $p) (i32.const 16))) (i32.const {bytes}))))
        (local.set $total (i32.add (local.get $total)
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
            (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))
        (br_if $pass (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $total)))
"#,
                bytes = DOT_LEN * 4
            ),
            SimdCase::ByteCount => format!(
                r#"(module
  (memory 1 1)
  ;; byte[i] = (i * i) >> 7, truncated.
  (func $init (local $i i32)
    (loop $fill
      (i32.store8 (local.get $i)
        (i32.shr_u (i32.mul (local.get $i) (local.get $i)) (i32.const 7)))
      (br_if $fill (i32.lt_u
        (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const {SEARCH_LEN})))))
  (start $init)
  (func (export "run") (param $n i32) (param $seed i32) (result i32)
    (local $needle v128) (local $p i32) (local $count i32)
    (local.set $needle (i8x16.splat (local.get $seed)))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $pass
        (local.set $p (i32.const 0))
        (loop $chunk
          (local.set $count (i32.add (local.get $count)
            (i32.popcnt (i8x16.bitmask
              (i8x16.eq (v128.load (local.get $p)) (local.get $needle))))))
          (br_if $chunk (i32.lt_u
            (local.tee $p (i32.add (local.get $p) (i32.const 16))) (i32.const {SEARCH_LEN}))))
        (br_if $pass (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $count)))
"#
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_depend_on_the_seed() {
        // Some byte of the buffer is found, and the counts differ by seed.
        let counts: Vec<i32> = (0..256)
            .map(|b| SimdCase::ByteCount.expected(1, b))
            .collect();
        assert_eq!(counts.iter().sum::<i32>(), SEARCH_LEN as i32);
        assert!(counts.iter().any(|c| *c != counts[0]));
    }
}
