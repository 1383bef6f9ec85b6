//! Benchmarks of `call_indirect` throughput, table operations, compilation
//! and instantiation, shared by `trestle bench` and the criterion benchmarks
//! in `benches/`.
//!
//! Every case is a WebAssembly module (or two) defined here as text, run on
//! each engine through the adapter trait in [`engines`], with a native Rust
//! baseline in [`native`]:
//!
//! - `call_indirect` cases loop inside WebAssembly: the export
//!   `run(n, seed) -> i32` makes `n` calls, each taking the previous call's
//!   result as its argument (`acc = call_indirect(slot(i), acc)`), so the
//!   loop is one dependency chain and time / `n` is the latency of a call.
//!   Target `$f{k}` returns its argument plus `k + 1`. See [`CallCase`].
//! - Table operations ([`TableOp`]): `table.grow`, `table.fill` and
//!   `table.copy` loop inside WebAssembly; the host API's table get and set
//!   loop on the host.
//! - SIMD kernels ([`simd::SimdCase`]): an `i32` dot product and a byte
//!   count over a buffer in linear memory, with `v128` operations.
//! - Memory kernels ([`memory::MemoryCase`]): sequential loads and stores
//!   and `memory.copy`, on memory 0, on a second memory and on a 64-bit
//!   memory.
//! - Compilation and instantiation of the same modules ([`ModuleCase`]),
//!   and instantiation of modules whose tables of 1k, 10k and 100k entries
//!   are filled by an element segment, with lazy and eager table
//!   initialization ([`TABLE_SIZES`]).
//! - Sweeps over table sizes ([`tables`]): `call_indirect` through tables
//!   of 1 to 1M entries, and new store + instantiate + call + drop of
//!   modules with tables of 1k to 1M entries.
//!
//! A case becomes a [`Bench`]: a [`Sampler`] that times `n` iterations,
//! with the number of units (calls, elements, ...) each iteration stands
//! for. [`measure`] calibrates `n`, warms up and takes samples;
//! [`run_suite`] runs a whole suite into a [`Report`], which prints as a
//! table, JSON or an SVG bar chart (see [`report`]).

pub mod compile;
pub mod engines;
pub mod kernel;
pub mod memory;
pub mod native;
pub mod programs;
pub mod report;
pub mod simd;
pub mod tables;

use anyhow::{Context as _, Result, bail};
use engines::{Arg, BenchEngine, BenchInstance, BenchModule, EngineKind};
use kernel::KernelCase as _;
use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

pub use report::{Group, Machine, Record, Report};

/// The type every call target has.
const TARGET_TYPE: &str = "(type $t (func (param i32) (result i32)))";

/// The multiplier of the 1024-slot case's slot formula, `(i * M) >> 22`.
pub const MEGA_MULTIPLIER: u32 = 2_654_435_761;

/// The table size of the `lazy-first-touch` case.
pub const LAZY_TABLE_SIZE: u32 = 100_000;

/// The table sizes of the instantiation benchmarks.
pub const TABLE_SIZES: [u32; 3] = [1_000, 10_000, 100_000];

/// Grows per instance (and per call of `run`) in the `table.grow` case:
/// wasmi 2.0 uses stack for every `table.grow` until `run` returns and
/// overflows the 8 MiB main thread stack at about 100,000.
pub const GROW_CHUNK: u64 = 10_000;

/// Elements per iteration of `table.fill` and `table.copy`.
pub const BULK_LEN: u32 = 1024;

/// The `call_indirect` cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallCase {
    /// One target: slot 0 of a one-slot table.
    Mono,
    /// Four targets in turn: slot `i & 3` of a four-slot table.
    Poly4,
    /// 1024 distinct targets: slot `(i * 2654435761) >> 22` (32-bit) of a
    /// 1024-slot table.
    Mega1024,
    /// Every call hits a slot not touched since instantiation: slot `i` of
    /// a 100,000-slot table filled by an element segment (four targets in
    /// turn), run once per fresh instance, with lazy table initialization.
    LazyFirstTouch,
    /// Like `mono`, but the table is imported from another instance, which
    /// also defines the target.
    CrossModule,
    /// The `mono` target called directly, for reference.
    Direct,
}

impl CallCase {
    /// Every case, in report order.
    pub const ALL: [CallCase; 6] = [
        CallCase::Mono,
        CallCase::Poly4,
        CallCase::Mega1024,
        CallCase::LazyFirstTouch,
        CallCase::CrossModule,
        CallCase::Direct,
    ];

    /// The case's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            CallCase::Mono => "mono",
            CallCase::Poly4 => "poly4",
            CallCase::Mega1024 => "mega1024",
            CallCase::LazyFirstTouch => "lazy-first-touch",
            CallCase::CrossModule => "cross-module",
            CallCase::Direct => "direct",
        }
    }

    /// The native loop with the same targets and slots.
    pub fn native(self) -> native::Slots {
        match self {
            CallCase::Mono | CallCase::CrossModule => native::Slots::Mono,
            CallCase::Poly4 | CallCase::LazyFirstTouch => native::Slots::Poly4,
            CallCase::Mega1024 => native::Slots::Mega1024,
            CallCase::Direct => native::Slots::Direct,
        }
    }

    /// The index of the target called in iteration `i`.
    pub fn target(self, i: u32) -> u32 {
        match self {
            CallCase::Mono | CallCase::CrossModule | CallCase::Direct => 0,
            CallCase::Poly4 | CallCase::LazyFirstTouch => i & 3,
            CallCase::Mega1024 => i.wrapping_mul(MEGA_MULTIPLIER) >> 22,
        }
    }

    /// What `run(n, seed)` returns.
    pub fn expected(self, n: u32, seed: i32) -> i32 {
        (0..n).fold(seed, |acc, i| acc.wrapping_add(self.target(i) as i32 + 1))
    }

    /// After how many calls the case needs a fresh instance: the
    /// `lazy-first-touch` case touches every slot once.
    pub fn fresh_every(self) -> Option<u64> {
        (self == CallCase::LazyFirstTouch).then_some(u64::from(LAZY_TABLE_SIZE))
    }

    /// The modules, as text; the last one exports `run` and (except for
    /// `direct` and `cross-module`) the table as `t`.
    pub fn wat(self) -> Vec<String> {
        let call = |table_slot: &str| {
            format!("(local.set $acc (call_indirect $tab (type $t) (local.get $acc) {table_slot}))")
        };
        match self {
            CallCase::Mono => vec![table_module(1, 1, &call("(i32.const 0)"))],
            CallCase::Poly4 => vec![table_module(
                4,
                4,
                &call("(i32.and (local.get $i) (i32.const 3))"),
            )],
            CallCase::Mega1024 => vec![table_module(
                1024,
                1024,
                &call(&format!(
                    "(i32.shr_u (i32.mul (local.get $i) (i32.const {MEGA_MULTIPLIER})) (i32.const 22))"
                )),
            )],
            CallCase::LazyFirstTouch => {
                vec![table_module(LAZY_TABLE_SIZE, 4, &call("(local.get $i)"))]
            }
            CallCase::CrossModule => {
                let lib = format!(
                    "(module\n  {TARGET_TYPE}\n  (table $tab (export \"t\") 1 1 funcref)\n  \
                     (elem (i32.const 0) func $f0)\n{})\n",
                    targets(1)
                );
                let main = format!(
                    "(module\n  {TARGET_TYPE}\n  (import \"lib\" \"t\" (table $tab 1 1 funcref))\n{})\n",
                    run_func(&call("(i32.const 0)"))
                );
                vec![lib, main]
            }
            CallCase::Direct => vec![format!(
                "(module\n  {TARGET_TYPE}\n{}{})\n",
                targets(1),
                run_func("(local.set $acc (call $f0 (local.get $acc)))")
            )],
        }
    }

    /// The modules in binary form.
    ///
    /// # Errors
    ///
    /// Never for the built-in text; an error would be a bug here.
    pub fn modules(self) -> Result<Vec<Vec<u8>>> {
        self.wat().iter().map(|w| wat_to_binary(w)).collect()
    }
}

/// `count` targets: `$f{k}` returns its argument plus `k + 1`.
fn targets(count: u32) -> String {
    let mut out = String::new();
    for k in 0..count {
        out.push_str(&format!(
            "  (func $f{k} (type $t) (i32.add (local.get 0) (i32.const {})))\n",
            k + 1
        ));
    }
    out
}

/// `func $f0 $f1 ...` for `size` slots cycling through `distinct` targets.
fn elem_items(size: u32, distinct: u32) -> String {
    let mut out = String::from("func");
    for slot in 0..size {
        out.push_str(&format!(" $f{}", slot % distinct));
    }
    out
}

/// The export `run(n, seed)`: `acc = seed`, then `body` for `i` in `0..n`,
/// then return `acc`.
fn run_func(body: &str) -> String {
    format!(
        r#"  (func (export "run") (param $n i32) (param $seed i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.set $acc (local.get $seed))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $next
        {body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $acc))
"#
    )
}

/// A module with a fixed-size table of `size` slots exported as `t`,
/// filled by an element segment cycling through `distinct` targets, and
/// `run` with `body` (empty: no `run`).
fn table_module(size: u32, distinct: u32, body: &str) -> String {
    let run = if body.is_empty() {
        String::new()
    } else {
        run_func(body)
    };
    format!(
        "(module\n  {TARGET_TYPE}\n  (table $tab (export \"t\") {size} {size} funcref)\n  \
         (elem (i32.const 0) {})\n{}{run})\n",
        elem_items(size, distinct),
        targets(distinct)
    )
}

/// The module of the instantiation benchmarks: a table of `size` entries
/// filled by an element segment (four targets in turn), no code to run.
pub fn table_init_module(size: u32) -> Result<Vec<u8>> {
    wat_to_binary(&table_module(size, 4, ""))
}

/// Converts the text format to the binary format.
///
/// # Errors
///
/// When the text does not parse.
pub fn wat_to_binary(text: &str) -> Result<Vec<u8>> {
    let buf = wast::parser::ParseBuffer::new(text)?;
    let mut wat = wast::parser::parse::<wast::Wat<'_>>(&buf)?;
    Ok(wat.encode()?)
}

/// The table operation cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableOp {
    /// `table.grow` by one null element, in WebAssembly, with a fresh
    /// instance for every [`GROW_CHUNK`] grows.
    Grow,
    /// `table.fill` of 1024 elements with a function reference, in
    /// WebAssembly.
    Fill,
    /// `table.copy` of 1024 elements within one table, in WebAssembly.
    Copy,
    /// The host API's table get (`Table::get`), looping on the host.
    HostGet,
    /// The host API's table set (`Table::set`), looping on the host.
    HostSet,
}

impl TableOp {
    /// Every case, in report order.
    pub const ALL: [TableOp; 5] = [
        TableOp::Grow,
        TableOp::Fill,
        TableOp::Copy,
        TableOp::HostGet,
        TableOp::HostSet,
    ];

    /// The case's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            TableOp::Grow => "table.grow",
            TableOp::Fill => "table.fill",
            TableOp::Copy => "table.copy",
            TableOp::HostGet => "Table::get",
            TableOp::HostSet => "Table::set",
        }
    }

    /// What one unit of the reported time is.
    pub fn unit(self) -> &'static str {
        match self {
            TableOp::Grow => "grow",
            TableOp::Fill | TableOp::Copy => "element",
            TableOp::HostGet | TableOp::HostSet => "call",
        }
    }

    /// Units per iteration of the loop.
    pub fn units_per_iter(self) -> u64 {
        match self {
            TableOp::Fill | TableOp::Copy => u64::from(BULK_LEN),
            _ => 1,
        }
    }

    /// The module, as text.
    pub fn wat(self) -> String {
        match self {
            TableOp::Grow => format!(
                "(module\n  (table $tab (export \"t\") 0 funcref)\n{})\n",
                run_func(
                    "(local.set $acc (i32.add (local.get $acc) \
                     (table.grow $tab (ref.null func) (i32.const 1))))"
                )
            ),
            TableOp::Fill => format!(
                "(module\n  {TARGET_TYPE}\n  (table $tab (export \"t\") {BULK_LEN} {BULK_LEN} funcref)\n  \
                 (elem declare func $f0 $f1)\n{}{})\n",
                targets(2),
                run_func(&format!(
                    "(table.fill $tab (i32.const 0)\n          \
                     (select (result funcref) (ref.func $f0) (ref.func $f1) \
                     (i32.and (local.get $i) (i32.const 1)))\n          \
                     (i32.const {BULK_LEN}))\n        \
                     (local.set $acc (i32.add (local.get $acc) (i32.const 1)))"
                ))
            ),
            TableOp::Copy => format!(
                "(module\n  {TARGET_TYPE}\n  (table $tab (export \"t\") {n} {n} funcref)\n  \
                 (elem (i32.const 0) {})\n{}{})\n",
                elem_items(BULK_LEN, 4),
                targets(4),
                run_func(&format!(
                    "(table.copy $tab $tab (i32.const {BULK_LEN}) (i32.const 0) (i32.const {BULK_LEN}))\n        \
                     (local.set $acc (i32.add (local.get $acc) (i32.const 1)))"
                )),
                n = 2 * BULK_LEN
            ),
            // The host operations use the 1024-slot table of `mega1024`.
            TableOp::HostGet | TableOp::HostSet => CallCase::Mega1024.wat().remove(0),
        }
    }
}

/// The modules whose compilation and instantiation are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleCase {
    /// The module(s) of a `call_indirect` case.
    Call(CallCase),
    /// A module with a 100,000-entry table filled by an element segment.
    Table100k,
}

impl ModuleCase {
    /// Every case, in report order.
    pub fn all() -> Vec<ModuleCase> {
        let mut all: Vec<ModuleCase> = CallCase::ALL.into_iter().map(ModuleCase::Call).collect();
        all.push(ModuleCase::Table100k);
        all
    }

    /// The case's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModuleCase::Call(c) => c.name(),
            ModuleCase::Table100k => "table-100k",
        }
    }

    /// The modules in binary form.
    ///
    /// # Errors
    ///
    /// Never for the built-in text.
    pub fn modules(self) -> Result<Vec<Vec<u8>>> {
        match self {
            ModuleCase::Call(c) => c.modules(),
            ModuleCase::Table100k => Ok(vec![table_init_module(100_000)?]),
        }
    }
}

/// Times `n` iterations of a benchmark.
pub trait Sampler {
    /// Runs `n` iterations and returns the time they took, without any
    /// setup (such as a fresh instance) done along the way.
    ///
    /// # Errors
    ///
    /// When the engine fails or the code traps.
    fn sample(&mut self, n: u64) -> Result<Duration>;
}

/// A closure `FnMut(n) -> Result<Duration>` is a sampler.
impl<F: FnMut(u64) -> Result<Duration>> Sampler for F {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        self(n)
    }
}

/// The time `run` takes; what it returns is kept from the optimizer.
///
/// # Errors
///
/// When `run` fails.
fn timed<R>(run: impl FnOnce() -> Result<R>) -> Result<Duration> {
    let start = Instant::now();
    let result = run()?;
    let elapsed = start.elapsed();
    black_box(result);
    Ok(elapsed)
}

/// A benchmark ready to run.
pub struct Bench<'a> {
    /// Times the iterations.
    pub sampler: Box<dyn Sampler + 'a>,
    /// Units (calls, elements, ...) per iteration.
    pub units_per_iter: u64,
    /// What a unit is: `call`, `element`, `grow`, `compile`, ...
    pub unit: &'static str,
    /// The iterations per sample, when fixed by the case.
    pub fixed_n: Option<u64>,
    /// The most iterations one sample may take.
    pub max_n: u64,
}

/// Runs `run(n, seed)`, with a fresh instance for every `fresh_every`
/// calls when set.
struct RunSampler {
    module: Box<dyn BenchModule>,
    instance: Option<Box<dyn BenchInstance>>,
    fresh_every: Option<u64>,
    seed: i32,
}

impl Sampler for RunSampler {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let mut total = Duration::ZERO;
        let mut left = n;
        while left > 0 {
            let chunk = match self.fresh_every {
                Some(every) => {
                    // Drop the old instance before making the new one.
                    self.instance = None;
                    self.instance = Some(self.module.instantiate()?);
                    left.min(every)
                }
                None => left.min(i32::MAX as u64),
            };
            let instance = match &mut self.instance {
                Some(i) => i,
                None => self.instance.insert(self.module.instantiate()?),
            };
            self.seed = self.seed.wrapping_add(1);
            let start = Instant::now();
            let result = instance.run(chunk as i32, self.seed)?;
            total += start.elapsed();
            black_box(result);
            left -= chunk;
        }
        Ok(total)
    }
}

/// A `call_indirect` case on `engine`. Checks the module's result against
/// [`CallCase::expected`] first.
///
/// # Errors
///
/// When the module does not compile or instantiate, or computes a wrong
/// result.
pub fn call_bench(engine: &dyn BenchEngine, case: CallCase) -> Result<Bench<'static>> {
    let module = engine.compile(&case.modules()?)?;
    let (n, seed) = (1000, 7);
    let expected = case.expected(n, seed);
    let sampler = verified_run(engine, module, case.name(), (n, seed, expected))?;
    Ok(Bench {
        sampler: Box::new(RunSampler {
            fresh_every: case.fresh_every(),
            ..sampler
        }),
        units_per_iter: 1,
        unit: "call",
        fixed_n: case.fresh_every(),
        max_n: 1 << 30,
    })
}

/// Instantiates `module` and checks that `run(n, seed)` returns `expected`
/// before anything is timed: a wrong result is an engine bug, and timing it
/// would be meaningless. Returns a sampler over that instance that never
/// makes a fresh one.
///
/// # Errors
///
/// When the module does not instantiate, traps, or returns anything but
/// `expected`.
fn verified_run(
    engine: &dyn BenchEngine,
    module: Box<dyn BenchModule>,
    case: &str,
    (n, seed, expected): (u32, i32, i32),
) -> Result<RunSampler> {
    let mut instance = module.instantiate()?;
    let got = instance.run(n as i32, seed)?;
    if got != expected {
        bail!(
            "{} computed {got} for {case}, expected {expected}",
            engine.kind().name()
        );
    }
    Ok(RunSampler {
        module,
        instance: Some(instance),
        fresh_every: None,
        seed,
    })
}

/// The native baseline of a `call_indirect` loop shape.
pub fn native_bench(slots: native::Slots) -> Bench<'static> {
    let mut seed = 7i32;
    Bench {
        sampler: Box::new(move |n: u64| {
            seed = seed.wrapping_add(1);
            timed(|| Ok(native::run(slots, n as u32, seed)))
        }),
        units_per_iter: 1,
        unit: "call",
        fixed_n: None,
        max_n: u64::from(u32::MAX),
    }
}

/// A table operation case on `engine`.
///
/// # Errors
///
/// When the module does not compile or instantiate.
pub fn table_bench(engine: &dyn BenchEngine, op: TableOp) -> Result<Bench<'static>> {
    let module = engine.compile(&[wat_to_binary(&op.wat())?])?;
    let instance = module.instantiate()?;
    let sampler: Box<dyn Sampler> = match op {
        TableOp::HostGet | TableOp::HostSet => {
            let (mut instance, set, mut seed) = (instance, op == TableOp::HostSet, 0u64);
            Box::new(move |n: u64| {
                seed = seed.wrapping_add(1);
                timed(|| {
                    if set {
                        instance.table_set(n, seed)
                    } else {
                        instance.table_get(n, seed)
                    }
                })
            })
        }
        TableOp::Grow => Box::new(RunSampler {
            module,
            instance: None,
            fresh_every: Some(GROW_CHUNK),
            seed: 0,
        }),
        TableOp::Fill | TableOp::Copy => Box::new(RunSampler {
            module,
            instance: Some(instance),
            fresh_every: None,
            seed: 0,
        }),
    };
    Ok(Bench {
        sampler,
        units_per_iter: op.units_per_iter(),
        unit: op.unit(),
        fixed_n: None,
        max_n: 1 << 30,
    })
}

struct CompileSampler<'a> {
    engine: &'a dyn BenchEngine,
    modules: Vec<Vec<u8>>,
}

impl Sampler for CompileSampler<'_> {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let start = Instant::now();
            let module = self.engine.compile(&self.modules)?;
            total += start.elapsed();
            drop(module);
        }
        Ok(total)
    }
}

/// Compilation of `modules` on `engine`.
pub fn compile_bench(engine: &dyn BenchEngine, modules: Vec<Vec<u8>>) -> Bench<'_> {
    Bench {
        sampler: Box::new(CompileSampler { engine, modules }),
        units_per_iter: 1,
        unit: "compile",
        fixed_n: None,
        max_n: 100_000,
    }
}

struct InstantiateSampler {
    module: Box<dyn BenchModule>,
}

impl Sampler for InstantiateSampler {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let start = Instant::now();
            let instance = self.module.instantiate()?;
            total += start.elapsed();
            drop(instance);
        }
        Ok(total)
    }
}

/// Instantiation (in a new store) of `modules` on `engine`.
///
/// # Errors
///
/// When the modules do not compile.
pub fn instantiate_bench(engine: &dyn BenchEngine, modules: &[Vec<u8>]) -> Result<Bench<'static>> {
    Ok(Bench {
        sampler: Box::new(InstantiateSampler {
            module: engine.compile(modules)?,
        }),
        units_per_iter: 1,
        unit: "instantiation",
        fixed_n: None,
        max_n: 1_000_000,
    })
}

struct FunctionSampler {
    instance: Box<dyn BenchInstance>,
    name: String,
    args: Vec<Arg>,
}

impl Sampler for FunctionSampler {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let start = Instant::now();
        let results = self.instance.call(&self.name, &self.args, n)?;
        let elapsed = start.elapsed();
        black_box(results);
        Ok(elapsed)
    }
}

/// Calls from the host of the export `name` of `wasm` with `args`; also
/// returns the results of one call.
///
/// # Errors
///
/// When the module does not compile or instantiate, or the call fails.
pub fn function_bench(
    engine: &dyn BenchEngine,
    wasm: Vec<u8>,
    name: &str,
    args: Vec<Arg>,
) -> Result<(Bench<'static>, Vec<Arg>)> {
    let module = engine.compile(&[wasm])?;
    let mut instance = module.instantiate()?;
    let results = instance.call(name, &args, 1)?;
    let bench = Bench {
        sampler: Box::new(FunctionSampler {
            instance,
            name: name.to_string(),
            args,
        }),
        units_per_iter: 1,
        unit: "call",
        fixed_n: None,
        max_n: 1 << 40,
    };
    Ok((bench, results))
}

/// How [`measure`] samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOptions {
    /// Samples taken after the warm-up; the median is reported.
    pub samples: usize,
    /// The time one sample should take; `n` is picked to match.
    pub sample_time: Duration,
    /// The least time spent warming up (at least one sample).
    pub warmup: Duration,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            samples: 11,
            sample_time: Duration::from_millis(20),
            warmup: Duration::from_millis(100),
        }
    }
}

/// The samples of one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Iterations per sample.
    pub n: u64,
    /// Units per sample.
    pub units: u64,
    /// Nanoseconds per unit, one value per sample, in the order taken.
    pub samples_ns: Vec<f64>,
}

/// Picks `n`, warms up and takes the samples of `bench`.
///
/// # Errors
///
/// When a sample fails.
pub fn measure(bench: &mut Bench<'_>, options: &SampleOptions) -> Result<Measured> {
    let n = match bench.fixed_n {
        Some(n) => n,
        None => calibrate(bench, options.sample_time)?,
    };
    let start = Instant::now();
    loop {
        bench.sampler.sample(n)?;
        if start.elapsed() >= options.warmup {
            break;
        }
    }
    let units = n * bench.units_per_iter;
    let mut samples_ns = Vec::with_capacity(options.samples);
    for _ in 0..options.samples.max(1) {
        let t = bench.sampler.sample(n)?;
        samples_ns.push(t.as_nanos() as f64 / units as f64);
    }
    Ok(Measured {
        n,
        units,
        samples_ns,
    })
}

/// The number of iterations that takes about `target`.
fn calibrate(bench: &mut Bench<'_>, target: Duration) -> Result<u64> {
    let max = bench.max_n.max(1);
    let mut n: u64 = 1;
    loop {
        let t = bench.sampler.sample(n)?.max(Duration::from_nanos(1));
        let scaled = (n as f64 * target.as_secs_f64() / t.as_secs_f64()).round() as u64;
        if t >= target / 2 || n >= max {
            return Ok(scaled.clamp(1, max));
        }
        n = if t < target / 100 {
            n.saturating_mul(10)
        } else {
            scaled.max(n + 1)
        }
        .min(max);
    }
}

/// What [`run_suite`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteOptions {
    /// The engines, Trestle first.
    pub engines: Vec<EngineKind>,
    /// How each case is sampled.
    pub sample: SampleOptions,
    /// Run the table operations, compilation and instantiation cases too,
    /// not only `call_indirect`.
    pub all_groups: bool,
    /// Run this group only (with [`SuiteOptions::all_groups`]).
    pub only: Option<Group>,
}

/// The engines of one suite run: each kind with lazy and with eager tables,
/// made on first use.
struct Engines {
    made: HashMap<(EngineKind, bool), Box<dyn BenchEngine>>,
}

impl Engines {
    fn get(&mut self, kind: EngineKind, lazy: bool) -> Result<&dyn BenchEngine> {
        let lazy = lazy && kind.has_table_lazy_init();
        let engine = match self.made.entry((kind, lazy)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(engines::engine(kind, lazy)?),
        };
        Ok(&**engine)
    }
}

/// One benchmark of a suite, before it runs.
enum Job {
    Native(CallCase),
    Call(EngineKind, CallCase),
    Table(EngineKind, TableOp),
    Simd(EngineKind, simd::SimdCase),
    NativeProgram(programs::Program),
    Program(EngineKind, programs::Program),
    Memory(EngineKind, memory::MemoryCase),
    Compile(EngineKind, ModuleCase),
    Instantiate(EngineKind, ModuleCase),
    TableInit(EngineKind, u32, bool),
    TableSize(EngineKind, tables::SizeCase),
    TableCycle(EngineKind, tables::CycleCase),
}

impl Job {
    /// The benchmark the job runs, on its engine from `engines`.
    ///
    /// # Errors
    ///
    /// When the engine cannot be made, or the benchmark's module does not
    /// compile, instantiate or compute the expected result.
    fn bench(self, engines: &mut Engines) -> Result<Bench<'_>> {
        Ok(match self {
            Job::Native(c) => native_bench(c.native()),
            Job::Call(e, c) => call_bench(engines.get(e, true)?, c)?,
            Job::Table(e, op) => table_bench(engines.get(e, true)?, op)?,
            Job::Simd(e, c) => kernel::kernel_bench(engines.get(e, true)?, c)?,
            Job::NativeProgram(p) => programs::native_program_bench(p),
            Job::Program(e, p) => programs::program_bench(engines.get(e, true)?, p)?,
            Job::Memory(e, c) => kernel::kernel_bench(engines.get(e, true)?, c)?,
            Job::Compile(e, c) => compile_bench(engines.get(e, true)?, c.modules()?),
            Job::Instantiate(e, c) => instantiate_bench(engines.get(e, true)?, &c.modules()?)?,
            Job::TableInit(e, size, lazy) => {
                instantiate_bench(engines.get(e, lazy)?, &[table_init_module(size)?])?
            }
            Job::TableSize(e, c) => tables::size_bench(engines.get(e, true)?, c)?,
            Job::TableCycle(e, c) => {
                // Wasmtime in its default configuration (lazy) in both
                // cases; Trestle as the case says.
                let lazy = c.lazy || e != EngineKind::Trestle;
                tables::cycle_bench(engines.get(e, lazy)?, c)?
            }
        })
    }

    /// The group the job's result belongs to.
    fn group(&self) -> Group {
        match self {
            Job::Native(_) | Job::Call(..) => Group::CallIndirect,
            Job::Table(..) => Group::TableOps,
            Job::Simd(..) => Group::Simd,
            Job::Memory(..) => Group::Memory,
            Job::NativeProgram(_) | Job::Program(..) => Group::Programs,
            Job::Compile(..) => Group::Compile,
            Job::Instantiate(..) => Group::Instantiate,
            Job::TableInit(..) => Group::TableInit,
            Job::TableSize(..) => Group::TableSize,
            Job::TableCycle(..) => Group::TableCycle,
        }
    }
}

/// Runs the built-in suite and writes progress lines to `progress`.
///
/// # Errors
///
/// When an engine fails; progress and partial results are lost.
pub fn run_suite(options: &SuiteOptions, progress: &mut dyn Write) -> Result<Report> {
    let mut jobs = Vec::new();
    for case in CallCase::ALL {
        jobs.push(Job::Native(case));
        for &e in &options.engines {
            jobs.push(Job::Call(e, case));
        }
    }
    if options.all_groups {
        for op in TableOp::ALL {
            for &e in &options.engines {
                jobs.push(Job::Table(e, op));
            }
        }
        for case in simd::SimdCase::ALL {
            for &e in &options.engines {
                jobs.push(Job::Simd(e, case));
            }
        }
        for case in memory::MemoryCase::ALL {
            for &e in &options.engines {
                jobs.push(Job::Memory(e, case));
            }
        }
        for program in programs::Program::ALL {
            jobs.push(Job::NativeProgram(program));
            for &e in &options.engines {
                jobs.push(Job::Program(e, program));
            }
        }
        for case in ModuleCase::all() {
            for &e in &options.engines {
                jobs.push(Job::Compile(e, case));
            }
        }
        for case in ModuleCase::all() {
            for &e in &options.engines {
                jobs.push(Job::Instantiate(e, case));
            }
        }
        for size in TABLE_SIZES {
            for lazy in [true, false] {
                for &e in &options.engines {
                    if lazy && !e.has_table_lazy_init() {
                        continue;
                    }
                    jobs.push(Job::TableInit(e, size, lazy));
                }
            }
        }
        for case in tables::SizeCase::all() {
            for &e in &options.engines {
                jobs.push(Job::TableSize(e, case));
            }
        }
        for case in tables::CycleCase::all() {
            for &e in &options.engines {
                if e.has_table_lazy_init() {
                    jobs.push(Job::TableCycle(e, case));
                }
            }
        }
    }

    if let Some(only) = options.only {
        jobs.retain(|job| job.group() == only);
    }

    let mut engines = Engines {
        made: HashMap::new(),
    };
    let mut natives: HashMap<native::Slots, Measured> = HashMap::new();
    let mut report = Report::new(options.sample);
    let total = jobs.len();
    for (k, job) in jobs.into_iter().enumerate() {
        let group = job.group();
        let (case, engine) = match &job {
            Job::Native(c) => (c.name().to_string(), "native"),
            Job::Call(e, c) => (c.name().to_string(), e.name()),
            Job::Table(e, op) => (op.name().to_string(), e.name()),
            Job::Simd(e, c) => (c.name().to_string(), e.name()),
            Job::Memory(e, c) => (c.name().to_string(), e.name()),
            Job::NativeProgram(p) => (p.name().to_string(), "native"),
            Job::Program(e, p) => (p.name().to_string(), e.name()),
            Job::Compile(e, c) => (c.name().to_string(), e.name()),
            Job::Instantiate(e, c) => (c.name().to_string(), e.name()),
            Job::TableInit(e, size, lazy) => (table_init_case(*size, *lazy), e.name()),
            Job::TableSize(e, c) => (c.name(), e.name()),
            Job::TableCycle(e, c) => (c.name(), e.name()),
        };
        write!(
            progress,
            "[{:>2}/{total}] {:<13} {:<22} {:<8} ",
            k + 1,
            group.name(),
            case,
            engine
        )?;
        progress.flush()?;
        let started = Instant::now();
        let (measured, unit) = match job {
            Job::Native(c) => {
                let slots = c.native();
                let m = match natives.get(&slots) {
                    Some(m) => m.clone(),
                    None => {
                        let m = measure(&mut native_bench(slots), &options.sample)?;
                        natives.insert(slots, m.clone());
                        m
                    }
                };
                (m, "call")
            }
            job => {
                let mut b = job
                    .bench(&mut engines)
                    .with_context(|| format!("{case} on {engine}"))?;
                (measure(&mut b, &options.sample)?, b.unit)
            }
        };
        let record = Record::new(group, case, engine, unit, measured);
        writeln!(
            progress,
            "{} per {} ({:.1}s)",
            report::format_ns(record.median_ns()),
            unit,
            started.elapsed().as_secs_f64()
        )?;
        report.records.push(record);
    }
    Ok(report)
}

/// The case name of a table-initialization benchmark: `table-10k/lazy`.
fn table_init_case(size: u32, lazy: bool) -> String {
    format!(
        "table-{}k/{}",
        size / 1000,
        if lazy { "lazy" } else { "eager" }
    )
}

/// Times calls of a function of the user's module: the `--module` mode of
/// `trestle bench`. `args` are text, read by the function's parameter
/// types.
///
/// # Errors
///
/// When the file cannot be read, the module does not compile, has imports
/// or no such function, an argument does not parse, or a call fails.
pub fn run_function(
    path: &std::path::Path,
    name: &str,
    args: &[String],
    engines_to_run: &[EngineKind],
    sample: &SampleOptions,
    allow_precompiled: bool,
    progress: &mut dyn Write,
) -> Result<Report> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let precompiled = trestle::Module::is_precompiled(&bytes);
    if precompiled {
        crate::run::refuse_untrusted_precompiled(path, allow_precompiled)?;
    }
    if precompiled && engines_to_run.iter().any(|k| *k != EngineKind::Trestle) {
        bail!(
            "{} is precompiled for Trestle; other engines cannot run it",
            path.display()
        );
    }
    let wasm = if precompiled || bytes.starts_with(b"\0asm") {
        bytes
    } else {
        let text = String::from_utf8(bytes)
            .with_context(|| format!("{} is neither a .wasm nor a .wat file", path.display()))?;
        wat_to_binary(&text).with_context(|| format!("failed to parse {}", path.display()))?
    };
    let args = parse_args(&wasm, name, args)?;
    let mut engines = Engines {
        made: HashMap::new(),
    };
    let mut report = Report::new(*sample);
    let mut first: Option<Vec<Arg>> = None;
    for (k, &kind) in engines_to_run.iter().enumerate() {
        write!(
            progress,
            "[{}/{}] {name:<24} {:<8} ",
            k + 1,
            engines_to_run.len(),
            kind.name()
        )?;
        progress.flush()?;
        let (mut b, results) =
            function_bench(engines.get(kind, true)?, wasm.clone(), name, args.clone())
                .with_context(|| format!("`{name}` on {}", kind.name()))?;
        match &first {
            None => first = Some(results),
            Some(r) if *r != results => writeln!(
                progress,
                "note: {} returned {}, trestle returned {}",
                kind.name(),
                join(&results),
                join(r)
            )?,
            Some(_) => {}
        }
        let m = measure(&mut b, sample)?;
        let record = Record::new(Group::Function, name.to_string(), kind.name(), "call", m);
        writeln!(
            progress,
            "{} per call",
            report::format_ns(record.median_ns())
        )?;
        report.records.push(record);
    }
    report.results = first.map(|r| join(&r));
    Ok(report)
}

fn join(values: &[Arg]) -> String {
    let texts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    texts.join(" ")
}

/// Reads `args` by the parameter types of the export `name` of `wasm`,
/// which must have no imports.
fn parse_args(wasm: &[u8], name: &str, args: &[String]) -> Result<Vec<Arg>> {
    let engine = trestle::Engine::default();
    let module = crate::run::module_from_bytes(&engine, wasm)?;
    if let Some(import) = module.imports().next() {
        bail!(
            "the module imports `{}`.`{}`; `trestle bench --module` provides no imports",
            import.module(),
            import.name()
        );
    }
    let ty = match module.get_export(name) {
        Some(trestle::ExternType::Func(ty)) => ty,
        _ => bail!("the module exports no function `{name}`"),
    };
    let params: Vec<trestle::ValType> = ty.params().collect();
    if params.len() != args.len() {
        bail!(
            "`{name}` takes {} argument(s) {}, but {} were given",
            params.len(),
            crate::run::signature(&ty),
            args.len()
        );
    }
    params
        .iter()
        .zip(args)
        .map(|(ty, text)| {
            Ok(match crate::run::parse_arg(ty, text)? {
                trestle::Val::I32(v) => Arg::I32(v),
                trestle::Val::I64(v) => Arg::I64(v),
                trestle::Val::F32(v) => Arg::F32(v),
                trestle::Val::F64(v) => Arg::F64(v),
                _ => bail!("`{name}` takes reference parameters, which bench does not support"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_parse() {
        for case in CallCase::ALL {
            case.modules().unwrap();
        }
        for op in TableOp::ALL {
            wat_to_binary(&op.wat()).unwrap();
        }
        table_init_module(1000).unwrap();
    }

    #[test]
    fn expected_matches_native() {
        for case in CallCase::ALL {
            assert_eq!(
                case.expected(1000, 7),
                native::run(case.native(), 1000, 7),
                "{}",
                case.name()
            );
        }
    }

    #[test]
    fn function_mode_times_a_user_function() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fib.wat");
        let options = SampleOptions {
            samples: 3,
            sample_time: Duration::from_micros(200),
            warmup: Duration::ZERO,
        };
        let mut progress = Vec::new();
        let report = run_function(
            &path,
            "fib",
            &["10".to_string()],
            &[EngineKind::Trestle],
            &options,
            false,
            &mut progress,
        )
        .unwrap();
        assert_eq!(report.results.as_deref(), Some("55"));
        assert_eq!(report.records.len(), 1);
        assert!(report.text().contains("fib"));
        let err = run_function(
            &path,
            "fib",
            &[],
            &[EngineKind::Trestle],
            &options,
            false,
            &mut progress,
        )
        .unwrap_err();
        assert!(err.to_string().contains("takes 1 argument"), "{err}");
    }

    #[test]
    fn comparison_engines_need_the_feature() {
        for kind in [EngineKind::Wasmtime, EngineKind::Wasmi] {
            let result = engines::engine(kind, true);
            assert_eq!(result.is_ok(), engines::COMPARE_AVAILABLE);
            if let Err(e) = result {
                assert!(e.to_string().contains("--features compare"), "{e}");
            }
        }
    }

    #[test]
    fn trestle_runs_every_case() {
        let engine = engines::engine(EngineKind::Trestle, true).unwrap();
        let options = SampleOptions {
            samples: 1,
            sample_time: Duration::from_micros(200),
            warmup: Duration::ZERO,
        };
        for case in CallCase::ALL {
            let mut b = call_bench(&*engine, case).unwrap();
            let m = measure(&mut b, &options).unwrap();
            assert!(m.samples_ns[0] > 0.0);
        }
        for op in TableOp::ALL {
            let mut b = table_bench(&*engine, op).unwrap();
            measure(&mut b, &options).unwrap();
        }
        for case in simd::SimdCase::ALL {
            let mut b = kernel::kernel_bench(&*engine, case).unwrap();
            measure(&mut b, &options).unwrap();
        }
        for case in memory::MemoryCase::ALL {
            let mut b = kernel::kernel_bench(&*engine, case).unwrap();
            measure(&mut b, &options).unwrap();
        }
    }
}
