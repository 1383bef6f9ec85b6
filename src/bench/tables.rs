//! The two sweeps over table sizes: `table_size`, the latency of
//! `call_indirect` through tables of 1 to 1,048,576 entries, and
//! `table_cycle`, what an embedder that makes a store per request pays for
//! a module with a large table: new store, instantiate, one call, drop.
//!
//! - [`SizeCase`]: a table of `size` entries filled by an element segment
//!   with 1024 distinct targets repeated over it (one for a one-entry
//!   table), called in a dependency chain through the pseudo-random slot
//!   `(acc * 2654435761) >> (32 - log2(size))`, where `acc` is the previous
//!   call's result: the slot is not known before the previous call returns,
//!   so past the caches every call waits for its own miss in the table
//!   (with a slot computed from the loop counter instead, the processor
//!   would overlap the misses of the calls ahead).
//! - [`CycleCase`]: a table of `size` entries filled by an element segment
//!   (four targets in turn), with lazy or eager table initialization on
//!   Trestle and Wasmtime's default configuration (lazy) in both cases; an
//!   iteration makes a new store, instantiates the module, calls one slot
//!   picked by the seed, and drops the store.

use super::{Bench, MEGA_MULTIPLIER, RunSampler, Sampler, TARGET_TYPE, verified_run};
use crate::bench::engines::{BenchEngine, BenchModule};
use anyhow::{Result, bail};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The table sizes of the `table_size` group.
pub const CALL_TABLE_SIZES: [u32; 4] = [1, 1 << 10, 1 << 16, 1 << 20];

/// The table sizes of the `table_cycle` group.
pub const CYCLE_TABLE_SIZES: [u32; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// The most distinct targets of a [`SizeCase`] table.
const DISTINCT_TARGETS: u32 = 1024;

/// Targets of a [`CycleCase`] table, in turn.
const CYCLE_TARGETS: u32 = 4;

/// A size written short: `1`, `1k`, `64k`, `1M`, `10k`.
fn short(size: u32) -> String {
    match size {
        s if s >= 1 << 20 && s.is_multiple_of(1 << 20) => format!("{}M", s >> 20),
        s if s >= 1_000_000 && s.is_multiple_of(1_000_000) => format!("{}M", s / 1_000_000),
        s if s >= 1 << 10 && s.is_multiple_of(1 << 10) => format!("{}k", s >> 10),
        s if s >= 1000 && s.is_multiple_of(1000) => format!("{}k", s / 1000),
        s => s.to_string(),
    }
}

/// The module text of a table of `size` entries exported as `t`, filled by
/// an element segment whose item `slot` is target `slot % distinct`, with
/// `run(n, seed)` calling through `slot` in a chain.
fn table_module(size: u32, distinct: u32, slot: &str) -> String {
    let mut items = String::with_capacity(size as usize * 5);
    for s in 0..size {
        items.push_str(&format!(" {}", s % distinct));
    }
    format!(
        "(module\n  {TARGET_TYPE}\n  (table $tab (export \"t\") {size} {size} funcref)\n  \
         (elem (i32.const 0) func{items})\n{}{})\n",
        super::targets(distinct),
        super::run_func(&format!(
            "(local.set $acc (call_indirect $tab (type $t) (local.get $acc) {slot}))"
        ))
    )
}

/// A `table_size` case: `call_indirect` through a table of this many
/// entries (a power of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SizeCase(pub u32);

impl SizeCase {
    /// Every case, in report order.
    pub fn all() -> Vec<SizeCase> {
        CALL_TABLE_SIZES.into_iter().map(SizeCase).collect()
    }

    /// The case's name in reports: `table-64k`.
    pub fn name(self) -> String {
        format!("table-{}", short(self.0))
    }

    /// log2 of the table size.
    fn bits(self) -> u32 {
        self.0.trailing_zeros()
    }

    fn distinct(self) -> u32 {
        self.0.min(DISTINCT_TARGETS)
    }

    /// The slot called with the accumulator `acc`.
    pub fn slot(self, acc: i32) -> u32 {
        match self.bits() {
            0 => 0,
            b => (acc as u32).wrapping_mul(MEGA_MULTIPLIER) >> (32 - b),
        }
    }

    /// What `run(n, seed)` returns.
    pub fn expected(self, n: u32, seed: i32) -> i32 {
        (0..n).fold(seed, |acc, _| {
            acc.wrapping_add((self.slot(acc) % self.distinct()) as i32 + 1)
        })
    }

    /// The module in binary form.
    ///
    /// # Errors
    ///
    /// When the size is not a power of two.
    pub fn module(self) -> Result<Vec<u8>> {
        if !self.0.is_power_of_two() {
            bail!("a table_size case needs a power of two, not {}", self.0);
        }
        let slot = match self.bits() {
            0 => "(i32.const 0)".to_string(),
            b => format!(
                "(i32.shr_u (i32.mul (local.get $acc) (i32.const {MEGA_MULTIPLIER})) (i32.const {}))",
                32 - b
            ),
        };
        super::wat_to_binary(&table_module(self.0, self.distinct(), &slot))
    }
}

/// The `table_size` case on `engine`, checked against
/// [`SizeCase::expected`] first.
///
/// # Errors
///
/// When the module does not compile or instantiate, or computes a wrong
/// result.
pub fn size_bench(engine: &dyn BenchEngine, case: SizeCase) -> Result<Bench<'static>> {
    let module = engine.compile(&[case.module()?])?;
    let (n, seed) = (4096, 7);
    let sampler = verified_run(
        engine,
        module,
        &case.name(),
        (n, seed, case.expected(n, seed)),
    )?;
    Ok(Bench {
        sampler: Box::new(sampler),
        units_per_iter: 1,
        unit: "call",
        fixed_n: None,
        max_n: 1 << 30,
    })
}

/// A `table_cycle` case: a table of `size` entries, lazily or eagerly
/// initialized on Trestle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CycleCase {
    /// Entries of the table.
    pub size: u32,
    /// Whether Trestle initializes the table lazily.
    pub lazy: bool,
}

impl CycleCase {
    /// Every case, in report order.
    pub fn all() -> Vec<CycleCase> {
        CYCLE_TABLE_SIZES
            .into_iter()
            .flat_map(|size| [true, false].map(|lazy| CycleCase { size, lazy }))
            .collect()
    }

    /// The case's name in reports: `cycle-100k/lazy`.
    pub fn name(self) -> String {
        format!(
            "cycle-{}/{}",
            short(self.size),
            if self.lazy { "lazy" } else { "eager" }
        )
    }

    /// The slot the one call of `run(1, seed)` goes through.
    fn slot(self, seed: i32) -> u32 {
        (seed as u32) % self.size
    }

    /// What `run(1, seed)` returns.
    pub fn expected(self, seed: i32) -> i32 {
        seed.wrapping_add((self.slot(seed) % CYCLE_TARGETS) as i32 + 1)
    }

    /// The module in binary form.
    ///
    /// # Errors
    ///
    /// Never for the built-in text.
    pub fn module(self) -> Result<Vec<u8>> {
        let slot = format!("(i32.rem_u (local.get $seed) (i32.const {}))", self.size);
        super::wat_to_binary(&table_module(self.size, CYCLE_TARGETS, &slot))
    }
}

/// Makes a store, instantiates, calls `run(1, seed)` and drops the store,
/// `n` times, all timed.
struct CycleSampler {
    module: Box<dyn BenchModule>,
    seed: i32,
    /// Moves the seed's slot across the table from one iteration to the
    /// next.
    stride: i32,
}

impl Sampler for CycleSampler {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            self.seed = self.seed.wrapping_add(self.stride) & i32::MAX;
            let mut instance = self.module.instantiate()?;
            black_box(instance.run(1, self.seed)?);
            drop(instance);
        }
        Ok(start.elapsed())
    }
}

/// The `table_cycle` case on `engine` (made with the case's table
/// initialization), checked against [`CycleCase::expected`] first.
///
/// # Errors
///
/// When the module does not compile or instantiate, or computes a wrong
/// result.
pub fn cycle_bench(engine: &dyn BenchEngine, case: CycleCase) -> Result<Bench<'static>> {
    let module = engine.compile(&[case.module()?])?;
    let seed = 12_345;
    let RunSampler { module, .. } =
        verified_run(engine, module, &case.name(), (1, seed, case.expected(seed)))?;
    Ok(Bench {
        sampler: Box::new(CycleSampler {
            module,
            seed,
            stride: 7919,
        }),
        units_per_iter: 1,
        unit: "cycle",
        fixed_n: None,
        max_n: 1_000_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::engines::{EngineKind, engine};

    #[test]
    fn short_names() {
        assert_eq!(short(1), "1");
        assert_eq!(short(1 << 10), "1k");
        assert_eq!(short(1 << 16), "64k");
        assert_eq!(short(1 << 20), "1M");
        assert_eq!(short(10_000), "10k");
        assert_eq!(short(1_000_000), "1M");
    }

    #[test]
    fn small_cases_compute_the_expected_results_in_both_table_modes() {
        for lazy in [true, false] {
            let e = engine(EngineKind::Trestle, lazy).unwrap();
            for size in [1, 4, 1 << 12] {
                let case = SizeCase(size);
                let module = e.compile(&[case.module().unwrap()]).unwrap();
                let mut instance = module.instantiate().unwrap();
                assert_eq!(instance.run(5000, 3).unwrap(), case.expected(5000, 3));
            }
            let case = CycleCase { size: 3000, lazy };
            let module = e.compile(&[case.module().unwrap()]).unwrap();
            for seed in [0, 2999, 3000, 123_457] {
                let mut instance = module.instantiate().unwrap();
                assert_eq!(instance.run(1, seed).unwrap(), case.expected(seed));
            }
        }
        assert!(SizeCase(3).module().is_err());
    }
}
