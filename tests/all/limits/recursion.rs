//! Recursion depth: unbounded recursion of every kind ends in a stack
//! overflow trap, again and again, in one store and in the next, with a
//! small stack too; tail calls are off unless enabled, and then recurse
//! far deeper than the stack allows.

use crate::harness::{
    assert_trap, assert_usable, call, call_i32, instantiate_with_host, new_instance, typed_func,
};
use trestle::{Caller, Engine, Module, Trap, Val};

/// A host function that calls the export `export` of its caller with its
/// argument plus one and returns what that returns: recursion through the
/// host.
fn reenter(
    export: &'static str,
) -> impl Fn(Caller<'_, ()>, i32) -> trestle::Result<i32> + Send + Sync + 'static {
    move |mut caller: Caller<'_, ()>, n: i32| -> trestle::Result<i32> {
        let f = caller.get_export(export).unwrap().into_func().unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut caller, &[Val::I32(n + 1)], &mut out)?;
        Ok(out[0].unwrap_i32())
    }
}

/// Recursion every way, each ending in a stack overflow.
const RECURSION: &str = r#"
(module
  (type $r (func (param i32) (result i32)))
  (import "host" "reenter" (func $reenter (type $r)))
  (table 2 funcref)
  (elem (i32.const 0) $indirect $reentered)
  (func $direct (export "direct") (type $r)
    (i32.add (call $direct (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $ping (export "mutual") (type $r)
    (i32.add (call $pong (local.get 0)) (i32.const 1)))
  (func $pong (type $r)
    (i32.add (call $ping (local.get 0)) (i32.const 2)))
  (func $indirect (export "indirect") (type $r)
    (i32.add (call_indirect (type $r) (local.get 0) (i32.const 0)) (i32.const 1)))
  (func $reentered (export "host_reentry") (type $r)
    (i32.add (call $reenter (local.get 0)) (i32.const 1)))
  ;; Big frames: many live values across the call.
  (func $wide (export "wide") (type $r)
    (local i64 i64 i64 i64 i64 i64 i64 i64 f64 f64 f64 f64)
    (local.set 1 (i64.extend_i32_u (local.get 0)))
    (local.set 9 (f64.convert_i32_s (local.get 0)))
    (i32.add
      (i32.wrap_i64 (i64.add (local.get 1) (local.get 2)))
      (i32.add (call $wide (local.get 0))
        (i32.trunc_f64_s (f64.add (local.get 9) (local.get 10))))))
  ;; Finite recursion to depth n.
  (func $countdown (export "countdown") (type $r)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $countdown (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func (export "unreachable") unreachable)
  (func (export "ok") (result i32) i32.const 42))
"#;

/// Adversarial case: unbounded recursion directly, mutually, through
/// `call_indirect`, through the host and with big frames, three times, with
/// another trap in between.
#[test]
fn deep_recursion_overflows_cleanly_every_way_and_again_after_a_trap() {
    let (mut store, inst) = instantiate_with_host(
        &crate::harness::config(),
        RECURSION,
        "reenter",
        reenter("host_reentry"),
    );
    for round in 0..3 {
        for name in ["direct", "mutual", "indirect", "host_reentry", "wide"] {
            let r = call(&mut store, &inst, name, &[Val::I32(0)]);
            assert_trap(r, Trap::StackOverflow);
            assert_usable(&mut store, &inst);
            // Another trap, then the limit is intact: deep but finite
            // recursion still works and infinite recursion still traps.
            assert_trap(
                call(&mut store, &inst, "unreachable", &[]),
                Trap::UnreachableCodeReached,
            );
            assert_eq!(
                call_i32(&mut store, &inst, "countdown", &[Val::I32(1000)]),
                1000,
                "{name}, round {round}"
            );
        }
    }
}

/// Adversarial case: a stack overflow in a new store after another store
/// overflowed.
#[test]
fn deep_recursion_in_a_new_store_after_another_store_overflowed() {
    let engine = crate::harness::engine();
    for _ in 0..3 {
        let (mut store, inst) = new_instance(
            &engine,
            r#"(module
              (func $f (export "f") (param i32) (result i32) (call $f (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        );
        let r = call(&mut store, &inst, "f", &[Val::I32(0)]);
        assert_trap(r, Trap::StackOverflow);
        assert_usable(&mut store, &inst);
    }
}

#[test]
fn recursion_through_call_indirect_and_host_reentry_is_bounded() {
    let (mut store, inst) = instantiate_with_host(
        crate::harness::config().max_wasm_stack(128 * 1024),
        r#"(module
          (import "host" "reenter" (func $reenter (param i32) (result i32)))
          (type $t (func (param i32) (result i32)))
          (table 1 funcref)
          (elem (i32.const 0) $via_table)
          (func $via_table (export "via_table") (type $t)
            (call_indirect (type $t) (local.get 0) (i32.const 0)))
          (func (export "via_host") (param i32) (result i32)
            (call $reenter (local.get 0))))"#,
        "reenter",
        reenter("via_host"),
    );
    let via_table = typed_func::<i32, i32>(&mut store, &inst, "via_table");
    let via_host = typed_func::<i32, i32>(&mut store, &inst, "via_host");
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
fn tail_calls_are_on_by_default_and_can_be_turned_off() {
    let wat = r#"(module
      (func $f (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 9))
          (else (return_call $f (i32.sub (local.get 0) (i32.const 1))))))
      (func (export "f") (param i32) (result i32) (return_call $f (local.get 0))))"#;
    let mut config = crate::harness::config();
    config.wasm_tail_call(false);
    let off = Engine::new(&config).unwrap();
    let err = Module::new(&off, wat).unwrap_err();
    assert!(err.to_string().contains("tail calls"), "{err:#}");

    let (mut store, inst) = new_instance(&crate::harness::engine(), wat);
    let f = inst.get_typed_func::<i32, i32>(&mut store, "f").unwrap();
    // Far deeper than the stack allows for ordinary calls.
    assert_eq!(f.call(&mut store, 5_000_000).unwrap(), 9);
}
