//! What exception handling costs: a loop of calls inside a `try_table`
//! next to the same loop without one (the non-throwing path, which the
//! design keeps free), and a throw caught one and ten calls up.
//!
//! Inside a `try_table`, every call is a Cranelift `try_call`, across which
//! no register survives: the caller keeps its live values in stack slots.
//! The results are in `docs/benchmarks.md`.
//!
//! ```sh
//! cargo bench --bench exceptions
//! ```

use criterion::{Criterion, Throughput};
use trestle::{Engine, Instance, Module, Store, TypedFunc};

/// `plain(n)` and `guarded(n)` sum `step(i)` for `i < n`, the second with
/// each call inside a `try_table`; `throw_caught(depth)` throws from
/// `depth` calls down and catches it in the caller.
const MODULE: &str = r#"(module
    (tag $e (param i32))
    (func $step (param i32) (result i32)
        (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))
    (func (export "plain") (param $n i32) (result i32)
        (local $i i32) (local $sum i32)
        (loop $next
            (local.set $sum (i32.add (local.get $sum) (call $step (local.get $i))))
            (br_if $next (i32.lt_u
                (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (local.get $n))))
        (local.get $sum))
    (func (export "guarded") (param $n i32) (result i32)
        (local $i i32) (local $sum i32)
        (loop $next
            (block $caught (result i32)
                (try_table (result i32) (catch $e $caught)
                    (call $step (local.get $i))))
            (local.set $sum (i32.add (local.get $sum)))
            (br_if $next (i32.lt_u
                (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (local.get $n))))
        (local.get $sum))
    (func $descend (param $depth i32)
        (if (local.get $depth)
            (then (call $descend (i32.sub (local.get $depth) (i32.const 1))))
            (else (throw $e (i32.const 7)))))
    (func (export "throw_caught") (param $depth i32) (result i32)
        (block $caught (result i32)
            (try_table (catch $e $caught) (call $descend (local.get $depth)))
            (i32.const -1))))"#;

/// Calls per sample of the loops.
const CALLS: i32 = 10_000;

fn exceptions(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).expect("module");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instance");
    let func = |store: &mut Store<()>, name: &str| -> TypedFunc<i32, i32> {
        instance.get_typed_func(store, name).expect("export")
    };
    let expected: i32 = (0..CALLS).fold(0i32, |s, i| s.wrapping_add(3 * i + 1));

    let mut group = c.benchmark_group("exceptions/calls");
    group.throughput(Throughput::Elements(CALLS as u64));
    for name in ["plain", "guarded"] {
        let f = func(&mut store, name);
        group.bench_function(name, |b| {
            b.iter(|| assert_eq!(f.call(&mut store, CALLS).expect("runs"), expected))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("exceptions/throw_caught");
    let f = func(&mut store, "throw_caught");
    for depth in [0, 10] {
        group.bench_function(format!("depth{depth}"), |b| {
            b.iter(|| assert_eq!(f.call(&mut store, depth).expect("runs"), 7))
        });
    }
    group.finish();
}

fn main() {
    // What `criterion_group!` and `criterion_main!` expand to, written out.
    let mut c = Criterion::default().configure_from_args();
    exceptions(&mut c);
    c.final_summary();
}
