//! Traps, recursion limits, host panics and malformed modules: every failure
//! is an error (or the host's own panic) and the store stays usable.

use trestle::{Caller, Engine, Func, Instance, Linker, Module, Store, Trap, Val};

const TRAPS: &str = r#"
(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (memory 1)
  (table 3 funcref)
  (elem (i32.const 0) $id $nop)
  (func $id (type $ii) local.get 0)
  (func $nop (type $v))
  (func (export "unreachable") unreachable)
  (func (export "div_zero") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "rem_zero") (param i64) (result i64) (i64.rem_u (i64.const 1) (local.get 0)))
  (func (export "div_overflow") (param i32) (result i32) (i32.div_s (i32.const 0x80000000) (local.get 0)))
  (func (export "rem_min") (param i32) (result i32) (i32.rem_s (i32.const 0x80000000) (local.get 0)))
  (func (export "bad_convert") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "convert_overflow") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32) (i64.store offset=8 (local.get 0) (i64.const 7)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $ii) (i32.const 5) (local.get 0)))
  (func $rec (export "recurse") (param i32) (result i32)
    (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "ok") (result i32) i32.const 42))
"#;

fn setup() -> (Store<()>, Instance) {
    let engine = crate::harness::engine();
    let module = Module::new(&engine, TRAPS).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Calls export `name` and returns the trap it raised.
fn trap_of(store: &mut Store<()>, instance: &Instance, name: &str, args: &[Val]) -> Trap {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut results = vec![Val::I32(0); f.ty(&*store).results().len()];
    let err = f
        .call(&mut *store, args, &mut results)
        .expect_err("expected a trap");
    *err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {err:#}"))
}

fn assert_store_usable(store: &mut Store<()>, instance: &Instance) {
    let ok = instance
        .get_typed_func::<(), i32>(&mut *store, "ok")
        .unwrap();
    assert_eq!(ok.call(&mut *store, ()).unwrap(), 42);
}

#[test]
fn every_trap_kind_is_an_error_and_the_store_survives() {
    let (mut store, inst) = setup();
    let cases: &[(&str, Vec<Val>, Trap)] = &[
        ("unreachable", vec![], Trap::UnreachableCodeReached),
        ("div_zero", vec![Val::I32(0)], Trap::IntegerDivisionByZero),
        ("rem_zero", vec![Val::I64(0)], Trap::IntegerDivisionByZero),
        ("div_overflow", vec![Val::I32(-1)], Trap::IntegerOverflow),
        (
            "bad_convert",
            vec![Val::F32(f32::NAN.to_bits())],
            Trap::BadConversionToInteger,
        ),
        (
            "convert_overflow",
            vec![Val::F64((-1.5f64).to_bits())],
            Trap::IntegerOverflow,
        ),
        ("load", vec![Val::I32(65536 - 3)], Trap::MemoryOutOfBounds),
        ("load", vec![Val::I32(-1)], Trap::MemoryOutOfBounds),
        ("store", vec![Val::I32(65536 - 15)], Trap::MemoryOutOfBounds),
        ("call", vec![Val::I32(1)], Trap::BadSignature),
        ("call", vec![Val::I32(2)], Trap::IndirectCallToNull),
        ("call", vec![Val::I32(3)], Trap::UndefinedElement),
        ("call", vec![Val::I32(-1)], Trap::UndefinedElement),
        ("recurse", vec![Val::I32(0)], Trap::StackOverflow),
    ];
    for (name, args, expected) in cases {
        let trap = trap_of(&mut store, &inst, name, args);
        assert_eq!(trap, *expected, "{name}({args:?})");
        assert_store_usable(&mut store, &inst);
    }
    assert_eq!(
        Trap::IntegerDivisionByZero.to_string(),
        "integer divide by zero"
    );
}

#[test]
fn min_rem_minus_one_is_zero_not_a_trap() {
    let (mut store, inst) = setup();
    let f = inst
        .get_typed_func::<i32, i32>(&mut store, "rem_min")
        .unwrap();
    assert_eq!(f.call(&mut store, -1).unwrap(), 0);
    let id = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
    assert_eq!(id.call(&mut store, 0).unwrap(), 5);
}

#[test]
fn infinite_recursion_traps_a_hundred_times_in_one_store() {
    let (mut store, inst) = setup();
    let f = inst
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .unwrap();
    for _ in 0..100 {
        let err = f.call(&mut store, 0).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
    }
    assert_store_usable(&mut store, &inst);
}

#[test]
fn recursion_through_call_indirect_and_host_reentry_is_bounded() {
    let engine = Engine::new(crate::harness::config().max_wasm_stack(128 * 1024)).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "reenter" (func $reenter (param i32) (result i32)))
          (type $t (func (param i32) (result i32)))
          (table 1 funcref)
          (elem (i32.const 0) $via_table)
          (func $via_table (export "via_table") (type $t)
            (call_indirect (type $t) (local.get 0) (i32.const 0)))
          (func (export "via_host") (param i32) (result i32)
            (call $reenter (local.get 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, ()>, n: i32| -> trestle::Result<i32> {
                let f = caller.get_export("via_host").unwrap().into_func().unwrap();
                let mut out = [Val::I32(0)];
                f.call(&mut caller, &[Val::I32(n + 1)], &mut out)?;
                Ok(out[0].unwrap_i32())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let via_table = inst
        .get_typed_func::<i32, i32>(&mut store, "via_table")
        .unwrap();
    let via_host = inst
        .get_typed_func::<i32, i32>(&mut store, "via_host")
        .unwrap();
    for _ in 0..3 {
        let err = via_table.call(&mut store, 0).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
        let err = via_host.call(&mut store, 0).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::StackOverflow),
            "{err:#}"
        );
    }
}

#[test]
fn host_panic_propagates_as_a_panic() {
    let engine = crate::harness::engine();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "boom" (func $boom))
            (func (export "run") call $boom))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "boom", || -> () { panic!("host says boom") })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &module).unwrap();
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
    let engine = crate::harness::engine();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "fail" (func $fail (result i32)))
            (func (export "run") (result i32) call $fail))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "fail", || -> trestle::Result<i32> {
            Err(trestle::Error::msg("host refused"))
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.to_string(), "host refused");
}

#[test]
fn malformed_and_invalid_modules_are_errors() {
    let engine = crate::harness::engine();
    let garbage = Module::new(&engine, [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]).unwrap_err();
    assert!(!garbage.to_string().is_empty());
    let full = wat::parse_str("(module (func (export \"f\") (result i32) i32.const 1))").unwrap();
    for cut in [4, 6, 9, 10, full.len() - 1] {
        let err = Module::new(&engine, &full[..cut]).unwrap_err();
        assert!(!err.to_string().is_empty(), "cut at {cut}");
    }
    let invalid = Module::new(&engine, "(module (func (result i32) i64.const 1))").unwrap_err();
    assert!(invalid.to_string().contains("type mismatch"), "{invalid:#}");
    let no_table =
        wat::parse_str("(module (type $t (func)) (func (call_indirect (type $t) (i32.const 0))))");
    if let Ok(bytes) = no_table {
        assert!(Module::new(&engine, bytes).is_err());
    }
    // Over-long LEB encoding of the type count.
    let long_leb = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x00,
    ];
    assert!(Module::new(&engine, long_leb).is_err());
    assert!(Module::validate(&engine, &long_leb).is_err());
}
