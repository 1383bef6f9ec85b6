//! Every trap kind (unreachable, division, conversion, memory bounds,
//! `call_indirect`, stack overflow) is an error, and the store stays
//! usable after each one.

use crate::harness::{assert_usable, call, trap, typed_func};
use trestle::{Instance, Module, Store, Trap, Val};

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
    trap(call(store, instance, name, args).expect_err("expected a trap"))
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
        assert_usable(&mut store, &inst);
    }
}

/// Traps display as the spec's test suite names them.
#[test]
fn traps_display_the_spec_messages() {
    let messages = [
        (Trap::IntegerDivisionByZero, "integer divide by zero"),
        (Trap::UndefinedElement, "undefined element"),
        (Trap::IndirectCallToNull, "uninitialized element"),
        (Trap::BadSignature, "indirect call type mismatch"),
    ];
    for (trap, message) in messages {
        assert_eq!(trap.to_string(), message);
    }
}

#[test]
fn min_rem_minus_one_is_zero_not_a_trap() {
    let (mut store, inst) = setup();
    let f = typed_func::<i32, i32>(&mut store, &inst, "rem_min");
    assert_eq!(f.call(&mut store, -1).unwrap(), 0);
    let id = typed_func::<i32, i32>(&mut store, &inst, "call");
    assert_eq!(id.call(&mut store, 0).unwrap(), 5);
}

#[test]
fn infinite_recursion_traps_a_hundred_times_in_one_store() {
    let (mut store, inst) = setup();
    let f = typed_func::<i32, i32>(&mut store, &inst, "recurse");
    for _ in 0..100 {
        let err = f.call(&mut store, 0).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
    }
    assert_usable(&mut store, &inst);
}
