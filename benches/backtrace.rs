//! What wasm backtraces cost: a call that traps ten frames deep, and the
//! same call returning normally, on engines with `Config::wasm_backtrace`
//! on (the default) and off, side by side.
//!
//! With backtraces on, a trap walks the frame-pointer chain and looks up
//! each return address; every function keeps its frame pointer, which is
//! what the normal call pays. The results are in `docs/profiling.md`.
//!
//! ```sh
//! cargo bench --bench backtrace
//! ```

use criterion::Criterion;
use trestle::{Config, Engine, Instance, Module, Store, TypedFunc};

/// `run(depth, trap)` recurses `depth` calls deep, then traps with
/// `unreachable` when `trap` is non-zero, or returns `depth`.
const MODULE: &str = r#"(module
    (func $descend (export "run") (param $depth i32) (param $trap i32) (result i32)
        (if (result i32) (local.get $depth)
            (then
                (i32.add
                    (call $descend
                        (i32.sub (local.get $depth) (i32.const 1))
                        (local.get $trap))
                    (i32.const 1)))
            (else
                (if (local.get $trap) (then unreachable))
                (i32.const 0)))))"#;

const DEPTH: i32 = 10;

fn function(backtraces: bool) -> (Store<()>, TypedFunc<(i32, i32), i32>) {
    let mut config = Config::new();
    config.wasm_backtrace(backtraces);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(&engine, MODULE).expect("module");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instance");
    let run = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "run")
        .expect("export");
    (store, run)
}

fn backtrace(c: &mut Criterion) {
    let mut group = c.benchmark_group("backtrace");
    for (label, on) in [("on", true), ("off", false)] {
        let (mut store, run) = function(on);
        group.bench_function(format!("trap_depth10/{label}"), |b| {
            b.iter(|| {
                let err = run.call(&mut store, (DEPTH, 1)).unwrap_err();
                std::hint::black_box(err);
            })
        });
        group.bench_function(format!("return_depth10/{label}"), |b| {
            b.iter(|| {
                let n = run.call(&mut store, (DEPTH, 0)).expect("returns");
                assert_eq!(n, DEPTH);
            })
        });
    }
    group.finish();
}

fn main() {
    // What `criterion_group!` and `criterion_main!` expand to, written out.
    let mut c = Criterion::default().configure_from_args();
    backtrace(&mut c);
    c.final_summary();
}
