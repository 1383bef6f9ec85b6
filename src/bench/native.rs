//! The native baseline: the call loops of the `call_indirect` cases written
//! in Rust, calling through a slice of `fn(i32) -> i32`.
//!
//! Target `k` returns its argument plus `k + 1`, like `$f{k}` in the
//! WebAssembly modules, and the loops pick their slots with the same
//! formulas, so a native run and a WebAssembly run of the same case return
//! the same value. The slice goes through [`std::hint::black_box`] so the
//! compiler cannot see which functions it holds and must call through the
//! pointers.

use std::hint::black_box;

/// A call target: `fn(i32) -> i32`.
pub type Target = fn(i32) -> i32;

/// Target `K - 1`: returns `x + K`.
#[inline(never)]
fn target<const K: i32>(x: i32) -> i32 {
    x.wrapping_add(K)
}

/// The targets from `target::<$k>` up, as arrays of four nested once per
/// stride: the entries of the outermost array start `$step` apart, those
/// of the next one the next stride apart, and so on.
macro_rules! targets {
    ($k:expr;) => {
        target::<{ $k }>
    };
    ($k:expr; $step:expr $(, $inner:expr)*) => {
        [
            targets!($k; $($inner),*),
            targets!($k + $step; $($inner),*),
            targets!($k + 2 * $step; $($inner),*),
            targets!($k + 3 * $step; $($inner),*),
        ]
    };
}

/// 1024 distinct functions; entry `k` adds `k + 1`.
static TARGETS: [[[[[Target; 4]; 4]; 4]; 4]; 4] = targets!(1; 256, 64, 16, 4, 1);

/// The 1024 distinct targets, `targets()[k]` adding `k + 1`.
pub fn targets() -> &'static [Target] {
    TARGETS
        .as_flattened()
        .as_flattened()
        .as_flattened()
        .as_flattened()
}

/// Which slot each iteration calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slots {
    /// Always slot 0 of a one-entry slice.
    Mono,
    /// Slot `i & 3` of a four-entry slice.
    Poly4,
    /// Slot `(i * 2654435761) >> 22` (32-bit) of the 1024-entry slice.
    Mega1024,
    /// No slice: a direct call of target 0.
    Direct,
}

/// The slot of iteration `i` in the 1024-entry case: the top ten bits of a
/// Fibonacci hash.
#[inline(always)]
pub fn mega_slot(i: u32) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 22) as usize
}

/// Target 0 for the direct-call loop.
#[inline(never)]
fn direct_target(x: i32) -> i32 {
    x.wrapping_add(1)
}

/// Runs `n` dependent calls starting from `seed` (each call's result is the
/// next call's argument) and returns the last result.
pub fn run(slots: Slots, n: u32, seed: i32) -> i32 {
    let all = black_box(targets());
    match slots {
        Slots::Mono => run_mono(&all[..1], n, seed),
        Slots::Poly4 => run_poly4(&all[..4], n, seed),
        Slots::Mega1024 => run_mega(all, n, seed),
        Slots::Direct => run_direct(n, seed),
    }
}

#[inline(never)]
fn run_mono(table: &[Target], n: u32, seed: i32) -> i32 {
    let mut acc = seed;
    for _ in 0..n {
        acc = table[0](acc);
    }
    acc
}

#[inline(never)]
fn run_poly4(table: &[Target], n: u32, seed: i32) -> i32 {
    let mut acc = seed;
    for i in 0..n {
        acc = table[(i & 3) as usize](acc);
    }
    acc
}

#[inline(never)]
fn run_mega(table: &[Target], n: u32, seed: i32) -> i32 {
    let mut acc = seed;
    for i in 0..n {
        acc = table[mega_slot(i)](acc);
    }
    acc
}

#[inline(never)]
fn run_direct(n: u32, seed: i32) -> i32 {
    let mut acc = seed;
    for _ in 0..n {
        acc = direct_target(acc);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_distinct_and_ordered() {
        let t = targets();
        assert_eq!(t.len(), 1024);
        for (k, f) in t.iter().enumerate() {
            assert_eq!(f(0), k as i32 + 1);
        }
    }

    #[test]
    fn loops_agree_with_their_formulas() {
        assert_eq!(run(Slots::Mono, 10, 5), 15);
        assert_eq!(run(Slots::Direct, 10, 5), 15);
        // Slots 0, 1, 2, 3, 0: adds 1 + 2 + 3 + 4 + 1.
        assert_eq!(run(Slots::Poly4, 5, 0), 11);
        let expected: i32 = (0..100).map(|i| mega_slot(i) as i32 + 1).sum();
        assert_eq!(run(Slots::Mega1024, 100, 0), expected);
    }
}
