//! Host errors and host panics reached from WebAssembly. An error a host
//! function returns comes back to the caller as it was (under the wasm
//! backtrace of its caller). A host function
//! that panics, a panicking `ResourceLimiter` asked by `table.grow`,
//! `memory.grow` or instantiation, and a host function that calls back
//! into wasm whose limiter panics: each panic reaches the caller of `call`
//! or `instantiate` with its payload (never an abort), the store stays
//! usable, and nothing leaks: host values are counted through the strong
//! count of an `Arc` they hold.

use crate::harness::{engine_in_mode, instantiate_with_host, link, panic_text};
use std::sync::Arc;
use trestle::{
    Caller, Engine, ExternRef, Func, Instance, Memory, MemoryType, Module, Ref, RefType,
    ResourceLimiter, Result, RootScope, Store, Table, TableType, TypedFunc, Val,
};

#[test]
fn host_panic_propagates_as_a_panic() {
    let (mut store, inst) = instantiate_with_host(
        &crate::harness::config(),
        r#"(module (import "host" "boom" (func $boom))
            (func (export "run") call $boom))"#,
        "boom",
        || -> () { panic!("host says boom") },
    );
    let run = inst.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.call(&mut store, ());
    }))
    .expect_err("the host panic must reach the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"host says boom"));
    // The store is still usable after the panic.
    let direct = Func::wrap(&mut store, |x: i32| x + 1);
    let mut out = [Val::I32(0)];
    direct.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 2);
}

#[test]
fn host_errors_are_returned_to_the_caller() {
    let (mut store, inst) = instantiate_with_host(
        &crate::harness::config(),
        r#"(module (import "host" "fail" (func $fail (result i32)))
            (func (export "run") (result i32) call $fail))"#,
        "fail",
        || -> trestle::Result<i32> { Err(trestle::Error::msg("host refused")) },
    );
    let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    // The error itself, under the backtrace of the wasm that called the
    // host function.
    assert_eq!(err.root_cause().to_string(), "host refused");
    let backtrace = err
        .downcast_ref::<trestle::WasmBacktrace>()
        .expect("a backtrace");
    assert_eq!(backtrace.frames().len(), 1);
}

/// A limiter that allows everything, or panics when told to, and holds a
/// counted reference so that dropping it shows.
struct Panicky {
    tables: bool,
    memories: bool,
    _held: Arc<()>,
}

impl Panicky {
    fn new(held: &Arc<()>) -> Self {
        Panicky {
            tables: false,
            memories: false,
            _held: held.clone(),
        }
    }
}

impl ResourceLimiter for Panicky {
    fn memory_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        allow(self.memories, || {
            format!("memory limiter panicked at {desired} bytes")
        })
    }

    fn table_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        allow(self.tables, || {
            format!("table limiter panicked at {desired} elements")
        })
    }
}

/// Allows a growth, or panics with `message` when told to.
fn allow(panic: bool, message: impl FnOnce() -> String) -> Result<bool> {
    if panic {
        panic!("{}", message());
    }
    Ok(true)
}

const MODULE: &str = r#"(module
  (table $f (export "funcs") 1 100 funcref)
  (table $e (export "externs") 1 100 externref)
  (memory (export "mem") 1 10)
  (func $nop)
  (elem declare func $nop)
  (func (export "grow_funcs") (param i32) (result i32)
    (table.grow $f (ref.func $nop) (local.get 0)))
  (func (export "grow_externs") (param externref i32) (result i32)
    (table.grow $e (local.get 0) (local.get 1)))
  (func (export "grow_memory") (param i32) (result i32)
    (memory.grow (local.get 0)))
  (func (export "sizes") (result i32 i32 i32)
    (table.size $f) (table.size $e) (memory.size))
  (func (export "id") (param externref) (result externref) (local.get 0)))"#;

fn setup(engine: &Engine, held: &Arc<()>) -> (Store<Panicky>, Instance) {
    let module = Module::new(engine, MODULE).unwrap();
    let mut store = Store::new(engine, Panicky::new(held));
    store.limiter(|l| l as &mut dyn ResourceLimiter);
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    (store, inst)
}

fn sizes(store: &mut Store<Panicky>, inst: &Instance) -> (i32, i32, i32) {
    let f: TypedFunc<(), (i32, i32, i32)> = inst.get_typed_func(&mut *store, "sizes").unwrap();
    f.call(store, ()).unwrap()
}

/// Checks that the store collects with no wasm running: a value handed to
/// wasm and then dropped everywhere is freed. It would be kept if a panic
/// had left the store believing wasm was still on the stack.
fn assert_collects_fully(store: &mut Store<Panicky>, inst: &Instance, held: &Arc<()>) {
    let id: TypedFunc<Option<ExternRef>, Option<ExternRef>> =
        inst.get_typed_func(&mut *store, "id").unwrap();
    let before = Arc::strong_count(held);
    let r = {
        let mut scope = RootScope::new(&mut *store);
        let r = ExternRef::new(&mut scope, held.clone()).unwrap();
        assert_eq!(id.call(&mut scope, Some(r)).unwrap(), Some(r));
        r
    };
    assert_eq!(Arc::strong_count(held), before + 1);
    store.gc();
    assert!(r.data(&*store).is_err(), "collected");
    assert_eq!(Arc::strong_count(held), before, "dropped by the collection");
}

#[test]
fn a_limiter_panicking_in_table_grow_reaches_the_caller_and_the_store_goes_on() {
    let held = Arc::new(());
    for lazy in [true, false] {
        let (mut store, inst) = setup(&engine_in_mode(lazy), &held);
        let grow_funcs: TypedFunc<i32, i32> =
            inst.get_typed_func(&mut store, "grow_funcs").unwrap();
        let grow_externs: TypedFunc<(Option<ExternRef>, i32), i32> =
            inst.get_typed_func(&mut store, "grow_externs").unwrap();
        let value = ExternRef::new(&mut store, held.clone()).unwrap();

        store.data_mut().tables = true;
        for _ in 0..3 {
            let text = panic_text(|| {
                let _ = grow_funcs.call(&mut store, 5);
            });
            assert_eq!(text, "table limiter panicked at 6 elements");
            let text = panic_text(|| {
                let _ = grow_externs.call(&mut store, (Some(value), 3));
            });
            assert_eq!(text, "table limiter panicked at 4 elements");
            assert_eq!(sizes(&mut store, &inst), (1, 1, 1), "nothing grew");
        }

        store.data_mut().tables = false;
        assert_eq!(grow_funcs.call(&mut store, 5).unwrap(), 1);
        assert_eq!(grow_externs.call(&mut store, (Some(value), 3)).unwrap(), 1);
        assert_eq!(sizes(&mut store, &inst), (6, 4, 1));
        let externs = inst.get_table(&mut store, "externs").unwrap();
        let got = externs.get(&mut store, 3).unwrap();
        assert_eq!(got.unwrap_extern(), Some(&value));
        let funcs = inst.get_table(&mut store, "funcs").unwrap();
        assert!(funcs.get(&mut store, 5).unwrap().is_non_null());
        assert_collects_fully(&mut store, &inst, &held);
        drop(store);
    }
    assert_eq!(
        Arc::strong_count(&held),
        1,
        "every value dropped with its store"
    );
}

#[test]
fn a_limiter_panicking_in_memory_grow_reaches_the_caller_and_the_store_goes_on() {
    let held = Arc::new(());
    let (mut store, inst) = setup(&crate::harness::engine(), &held);
    let grow: TypedFunc<i32, i32> = inst.get_typed_func(&mut store, "grow_memory").unwrap();
    let memory = inst.get_memory(&mut store, "mem").unwrap();
    memory.data_mut(&mut store)[100] = 7;

    store.data_mut().memories = true;
    for _ in 0..3 {
        let text = panic_text(|| {
            let _ = grow.call(&mut store, 2);
        });
        assert_eq!(
            text,
            format!("memory limiter panicked at {} bytes", 3 << 16)
        );
        assert_eq!(sizes(&mut store, &inst), (1, 1, 1), "nothing grew");
    }
    // The host API panics the same way, with nothing changed.
    let text = panic_text(|| {
        let _ = memory.grow(&mut store, 1);
    });
    assert_eq!(
        text,
        format!("memory limiter panicked at {} bytes", 2 << 16)
    );
    assert_eq!(memory.size(&store), 1);

    store.data_mut().memories = false;
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(memory.data(&store)[100], 7, "the contents survived");
    assert_eq!(memory.data_size(&store), 3 << 16);
    assert_collects_fully(&mut store, &inst, &held);
    drop(store);
    assert_eq!(Arc::strong_count(&held), 1);
}

#[test]
fn a_limiter_panicking_during_instantiation_leaves_nothing_half_registered() {
    let held = Arc::new(());
    let engine = crate::harness::engine();
    let mut store = Store::new(&engine, Panicky::new(&held));
    store.limiter(|l| l as &mut dyn ResourceLimiter);
    // Tables are made before memories: a panic at the memory comes after
    // the table exists.
    let module = Module::new(
        &engine,
        r#"(module (table 3 funcref) (table 2 externref) (memory 1)
             (func (export "f") (result i32) i32.const 9))"#,
    )
    .unwrap();
    let before = store.__object_counts();
    for (tables, memories, expected) in [
        (true, false, "table limiter panicked at 3 elements"),
        (false, true, "memory limiter panicked at 65536 bytes"),
    ] {
        store.data_mut().tables = tables;
        store.data_mut().memories = memories;
        for _ in 0..2 {
            let text = panic_text(|| {
                let _ = Instance::new(&mut store, &module, &[]);
            });
            assert_eq!(text, expected);
            assert_eq!(store.__object_counts(), before, "nothing half-registered");
        }
    }
    // The host API's constructors panic the same way.
    store.data_mut().tables = true;
    let text = panic_text(|| {
        let ty = TableType::new(RefType::EXTERNREF, 4, None);
        let _ = Table::new(&mut store, ty, Ref::Extern(None));
    });
    assert_eq!(text, "table limiter panicked at 4 elements");
    store.data_mut().tables = false;
    store.data_mut().memories = true;
    let text = panic_text(|| {
        let _ = Memory::new(&mut store, MemoryType::new(2, None));
    });
    assert_eq!(text, "memory limiter panicked at 131072 bytes");
    assert_eq!(store.__object_counts(), before);

    store.data_mut().memories = false;
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    let f = inst.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 9);
    let after = store.__object_counts();
    assert_eq!(
        after,
        [before[0] + 1, before[1] + 1, before[2] + 2, before[3]]
    );
    drop(store);
    assert_eq!(Arc::strong_count(&held), 1);
}

#[test]
fn a_panic_deep_in_nested_wasm_and_host_calls_reaches_the_outermost_caller() {
    let held = Arc::new(());
    for lazy in [true, false] {
        let engine = engine_in_mode(lazy);
        let inner = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, Panicky::new(&held));
        store.limiter(|l| l as &mut dyn ResourceLimiter);
        let inner_inst = Instance::new(&mut store, &inner, &[]).unwrap();
        let grow = inner_inst
            .get_typed_func::<i32, i32>(&mut store, "grow_funcs")
            .unwrap();
        let outer_inst = link(
            &mut store,
            r#"(module
              (import "host" "grow_inner" (func $grow (param i32) (result i32)))
              (func (export "run") (param i32) (result i32)
                (i32.add (call $grow (local.get 0)) (i32.const 1000))))"#,
            |linker| {
                linker
                    .func_wrap(
                        "host",
                        "grow_inner",
                        move |mut caller: Caller<'_, Panicky>, n: i32| -> trestle::Result<i32> {
                            // Owns a counted value while wasm below panics: it is
                            // dropped as the panic unwinds through this frame.
                            let _guard = caller.data()._held.clone();
                            grow.call(&mut caller, n)
                        },
                    )
                    .unwrap();
            },
        );
        let run = outer_inst
            .get_typed_func::<i32, i32>(&mut store, "run")
            .unwrap();

        store.data_mut().tables = true;
        let counted = Arc::strong_count(&held);
        let text = panic_text(|| {
            let _ = run.call(&mut store, 2);
        });
        assert_eq!(text, "table limiter panicked at 3 elements");
        assert_eq!(
            Arc::strong_count(&held),
            counted,
            "the host frame's value was dropped"
        );

        store.data_mut().tables = false;
        assert_eq!(run.call(&mut store, 2).unwrap(), 1001);
        assert_eq!(sizes(&mut store, &inner_inst), (3, 1, 1));
        assert_collects_fully(&mut store, &inner_inst, &held);
        drop(store);
    }
    assert_eq!(Arc::strong_count(&held), 1);
}
