//! Criterion benchmarks of `call_indirect` throughput, table operations,
//! SIMD and memory kernels, compilation and instantiation, on Trestle and, with
//! `--features compare`, on Wasmtime and wasmi, plus the native baseline.
//!
//! The cases and engines are those of `trestle bench` (`src/bench.rs`);
//! only the sampling is criterion's. Each benchmark id is
//! `group/case/engine`, and throughput is reported per call, grow,
//! element or pass of a kernel.
//!
//! ```sh
//! cargo bench                                   # Trestle and native
//! cargo bench --features compare               # + Wasmtime and wasmi
//! cargo bench --features compare --bench call_indirect -- \
//!     --warm-up-time 1 --measurement-time 3     # shorter
//! cargo bench --bench call_indirect -- call_indirect/mega1024   # a filter
//! ```

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use trestle_cli::bench::engines::{self, BenchEngine, EngineKind};
use trestle_cli::bench::kernel::{KernelCase, kernel_bench};
use trestle_cli::bench::memory::MemoryCase;
use trestle_cli::bench::simd::SimdCase;
use trestle_cli::bench::{
    Bench, CallCase, ModuleCase, TABLE_SIZES, TableOp, call_bench, compile_bench,
    instantiate_bench, native_bench, table_bench, table_init_module,
};

/// The engines of this build.
fn kinds() -> Vec<EngineKind> {
    if engines::COMPARE_AVAILABLE {
        vec![EngineKind::Trestle, EngineKind::Wasmtime, EngineKind::Wasmi]
    } else {
        vec![EngineKind::Trestle]
    }
}

fn engine(kind: EngineKind, lazy: bool) -> Box<dyn BenchEngine> {
    engines::engine(kind, lazy).expect("engine available")
}

/// Registers `bench` under `id`: criterion's iteration count becomes the
/// sampler's `n`.
fn add(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, mut bench: Bench<'_>) {
    group.throughput(Throughput::Elements(bench.units_per_iter));
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut left = iters;
            // A sampler may cap one sample (e.g. table.grow's table size).
            while left > 0 {
                let n = left.min(bench.max_n);
                total += bench.sampler.sample(n).expect("sample");
                left -= n;
            }
            total
        })
    });
}

/// Adds a group `{prefix}/{case name}` per case, with one benchmark per
/// engine made by `bench`, after whatever `baseline` adds (the native
/// loop, where there is one).
fn per_engine<C: Copy>(
    c: &mut Criterion,
    prefix: &str,
    cases: &[C],
    name: impl Fn(C) -> &'static str,
    bench: impl Fn(&dyn BenchEngine, C) -> anyhow::Result<Bench<'static>>,
    baseline: impl Fn(&mut BenchmarkGroup<'_, WallTime>, C),
) {
    for &case in cases {
        let mut group = c.benchmark_group(format!("{prefix}/{}", name(case)));
        baseline(&mut group, case);
        for kind in kinds() {
            let engine = engine(kind, true);
            let bench = bench(&*engine, case).expect("case runs");
            add(&mut group, kind.name(), bench);
        }
        group.finish();
    }
}

fn call_indirect(c: &mut Criterion) {
    per_engine(
        c,
        "call_indirect",
        &CallCase::ALL,
        CallCase::name,
        call_bench,
        |group, case| add(group, "native", native_bench(case.native())),
    );
}

fn table_ops(c: &mut Criterion) {
    per_engine(
        c,
        "table",
        &TableOp::ALL,
        TableOp::name,
        table_bench,
        |_, _| {},
    );
}

fn kernels<K: KernelCase>(c: &mut Criterion, prefix: &str, cases: &[K]) {
    per_engine(c, prefix, cases, K::name, kernel_bench, |_, _| {});
}

fn compile_and_instantiate(c: &mut Criterion) {
    for case in ModuleCase::all() {
        let modules = case.modules().expect("modules");
        let mut group = c.benchmark_group(format!("compile/{}", case.name()));
        group.sample_size(10);
        for kind in kinds() {
            let engine = engine(kind, true);
            add(
                &mut group,
                kind.name(),
                compile_bench(&*engine, modules.clone()),
            );
        }
        group.finish();
        let mut group = c.benchmark_group(format!("instantiate/{}", case.name()));
        group.sample_size(10);
        for kind in kinds() {
            let engine = engine(kind, true);
            let bench = instantiate_bench(&*engine, &modules).expect("compiles");
            add(&mut group, kind.name(), bench);
        }
        group.finish();
    }
    for size in TABLE_SIZES {
        let module = table_init_module(size).expect("module");
        let mut group = c.benchmark_group(format!("table_init/{}k", size / 1000));
        // Some runs take milliseconds per instantiation (and more to drop
        // the store); ten samples keep the group within seconds.
        group.sample_size(10);
        for kind in kinds() {
            for lazy in [true, false] {
                if lazy && !kind.has_table_lazy_init() {
                    continue;
                }
                let engine = engine(kind, lazy);
                let bench =
                    instantiate_bench(&*engine, std::slice::from_ref(&module)).expect("compiles");
                let mode = if lazy { "lazy" } else { "eager" };
                add(&mut group, &format!("{}-{mode}", kind.name()), bench);
            }
        }
        group.finish();
    }
}

fn main() {
    // What `criterion_group!` and `criterion_main!` expand to, written out.
    let mut c = Criterion::default().configure_from_args();
    call_indirect(&mut c);
    table_ops(&mut c);
    kernels(&mut c, "simd", &SimdCase::ALL);
    kernels(&mut c, "memory", &MemoryCase::ALL);
    compile_and_instantiate(&mut c);
    c.final_summary();
}
