//! `call_indirect`: an index at or past the table's size, null entries
//! (never set, grown, cleared by wasm or the host), every kind of
//! signature mismatch, a table whose bound is a constant, calls right after
//! the table grows or changes, and calls of host functions that fail,
//! trap or panic.

use super::{assert_sees_table, funcref_table, import_table};
use crate::harness::{
    FOUR_SLOTS, SIGNATURES, assert_trap, assert_usable, both_modes, call, call_i32, in_both_modes,
    link, new_instance,
};
use std::panic::{AssertUnwindSafe, catch_unwind};
use trestle::{Caller, Extern, Func, Instance, Module, Ref, Store, Trap, Val};

/// Calls export `call` of `inst` on slot `index`, which must trap with
/// `expected`.
#[track_caller]
fn assert_call_traps(store: &mut Store<()>, inst: &Instance, index: i32, expected: Trap) {
    assert_trap(call(store, inst, "call", &[Val::I32(index)]), expected);
}

/// Adversarial case: indices at the size, past it and negative, and the
/// bound following growth.
#[test]
fn call_indirect_index_at_size_and_beyond_is_undefined_element() {
    in_both_modes(FOUR_SLOTS, |mut store, inst| {
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(3)]), 7);
        // Size, size + 1, 0xFFFF_FFFF and other negative i32 values.
        for index in [4, 5, -1, i32::MIN, -4, i32::MAX] {
            assert_call_traps(&mut store, &inst, index, Trap::UndefinedElement);
            assert_usable(&mut store, &inst);
        }
        // The bound follows growth: the new slot is null, the next one
        // still undefined.
        assert_eq!(call_i32(&mut store, &inst, "grow", &[Val::I32(1)]), 4);
        assert_call_traps(&mut store, &inst, 4, Trap::IndirectCallToNull);
        assert_call_traps(&mut store, &inst, 5, Trap::UndefinedElement);
        assert_usable(&mut store, &inst);
    });
}

/// Adversarial case: entries never initialized, grown with null and
/// cleared by `table.set` and `table.fill`.
#[test]
fn call_indirect_through_null_entries_is_uninitialized_element() {
    // Four slots more than the segment fills, and exports that clear slots.
    let wat = FOUR_SLOTS
        .replace("(table $t 4 funcref)", "(table $t 8 funcref)")
        .replace(
            r#"(func (export "ok")"#,
            r#"(func (export "clear") (param i32) (table.set $t (local.get 0) (ref.null func)))
  (func (export "fill_null") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "ok")"#,
        );
    assert!(wat.contains("(table $t 8 funcref)") && wat.contains("fill_null"));
    in_both_modes(&wat, |mut store, inst| {
        // Never initialized: 4 to 7.
        for index in 4..8 {
            assert_call_traps(&mut store, &inst, index, Trap::IndirectCallToNull);
        }
        // Grown with ref.null (by the host: the next test).
        assert_eq!(call_i32(&mut store, &inst, "grow", &[Val::I32(3)]), 8);
        assert_call_traps(&mut store, &inst, 10, Trap::IndirectCallToNull);
        // Cleared by table.set and by table.fill.
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(0)]), 7);
        call(&mut store, &inst, "clear", &[Val::I32(0)]).unwrap();
        assert_call_traps(&mut store, &inst, 0, Trap::IndirectCallToNull);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(2)]), 7);
        call(&mut store, &inst, "fill_null", &[Val::I32(1), Val::I32(3)]).unwrap();
        for index in 1..4 {
            assert_call_traps(&mut store, &inst, index, Trap::IndirectCallToNull);
        }
        assert_usable(&mut store, &inst);
    });
}

/// Adversarial case: entries the host grew with null, cleared and filled.
#[test]
fn call_indirect_through_host_grown_and_cleared_slots_is_uninitialized_element() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let table = funcref_table(&mut store, 1, None);
        let seven = Func::wrap(&mut store, || 7i32);
        table.set(&mut store, 0, Ref::Func(Some(seven))).unwrap();
        let inst = import_table(&mut store, table);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(0)]), 7);
        table.grow(&mut store, 5, Ref::Func(None)).unwrap();
        assert_call_traps(&mut store, &inst, 5, Trap::IndirectCallToNull);
        table.set(&mut store, 0, Ref::Func(None)).unwrap();
        assert_call_traps(&mut store, &inst, 0, Trap::IndirectCallToNull);
        table
            .fill(&mut store, 1, Ref::Func(Some(seven)), 5)
            .unwrap();
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(5)]), 7);
        table.fill(&mut store, 1, Ref::Func(None), 5).unwrap();
        assert_call_traps(&mut store, &inst, 5, Trap::IndirectCallToNull);
        assert_call_traps(&mut store, &inst, 6, Trap::UndefinedElement);
        assert_usable(&mut store, &inst);
    });
}

/// Adversarial case: every pair of ten signatures that differ in a
/// parameter or result type, their order or their count.
#[test]
fn call_indirect_signature_mismatches_are_bad_signature() {
    // i64 vs f64, parameters swapped, parameters and results swapped,
    // two vs three results, zero vs one parameter: every pair.
    let types = [
        "i64",
        "f64",
        "if",
        "fi",
        "i_to_f",
        "f_to_i",
        "two",
        "three",
        "zero_params",
        "one_param",
    ];
    in_both_modes(SIGNATURES, |mut store, inst| {
        for (caller, ty) in types.iter().enumerate() {
            for slot in 0..types.len() {
                let r = call(
                    &mut store,
                    &inst,
                    &format!("call_{ty}"),
                    &[Val::I32(slot as i32)],
                );
                if slot == caller {
                    r.unwrap_or_else(|e| panic!("call_{ty}({slot}): {e:#}"));
                } else {
                    assert_trap(r, Trap::BadSignature);
                }
            }
        }
        assert_usable(&mut store, &inst);
    });
}

/// Adversarial case: calls right after `table.grow` (also in a loop that
/// moves the elements, and up to a maximum), `table.set` and `table.copy`.
#[test]
fn call_indirect_right_after_table_grow_set_and_copy_sees_the_new_table() {
    in_both_modes(
        r#"(module
              (type $v (func (result i32)))
              (table $t 1 funcref)
              (table $bounded 1 10 funcref)
              (elem declare func $a $b)
              (func $a (type $v) i32.const 1)
              (func $b (type $v) i32.const 2)
              (func (export "grow_call") (param i32) (result i32)
                (drop (table.grow $t (ref.func $a) (local.get 0)))
                (call_indirect $t (type $v) (i32.sub (table.size $t) (i32.const 1))))
              (func (export "call") (param i32) (result i32)
                (call_indirect $t (type $v) (local.get 0)))
              (func (export "set_call") (param i32) (result i32)
                (table.set $t (local.get 0) (ref.func $b))
                (call_indirect $t (type $v) (local.get 0)))
              (func (export "copy_call") (param i32 i32) (result i32)
                (table.copy $t $t (local.get 0) (local.get 1) (i32.const 1))
                (call_indirect $t (type $v) (local.get 0)))
              ;; Grows by 97 per iteration (so the elements move) and calls
              ;; the newest slot and the first every time: the sum is 3n.
              (func (export "grow_loop") (param i32) (result i32) (local i32)
                (loop $l
                  (drop (table.grow $t (ref.func $b) (i32.const 97)))
                  (local.set 1 (i32.add (local.get 1)
                    (call_indirect $t (type $v) (i32.sub (table.size $t) (i32.const 1)))))
                  (local.set 1 (i32.add (local.get 1)
                    (call_indirect $t (type $v) (i32.const 0))))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                (local.get 1))
              ;; A table with a maximum grows up to it; its bound is not a
              ;; constant.
              (func (export "grow_bounded_call") (param i32) (result i32)
                (drop (table.grow $bounded (ref.func $b) (local.get 0)))
                (call_indirect $bounded (type $v) (i32.sub (table.size $bounded) (i32.const 1))))
              (func (export "call_bounded") (param i32) (result i32)
                (call_indirect $bounded (type $v) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        |mut store, inst| {
            let i = Val::I32;
            let r = call(&mut store, &inst, "call", &[i(0)]);
            assert_trap(r, Trap::IndirectCallToNull);
            assert_eq!(call_i32(&mut store, &inst, "grow_call", &[i(3)]), 1);
            assert_eq!(call_i32(&mut store, &inst, "set_call", &[i(0)]), 2);
            assert_eq!(call_i32(&mut store, &inst, "copy_call", &[i(1), i(0)]), 2);
            assert_eq!(call_i32(&mut store, &inst, "copy_call", &[i(0), i(3)]), 1);
            assert_eq!(call_i32(&mut store, &inst, "grow_loop", &[i(200)]), 3 * 200);
            let size = 4 + 97 * 200;
            assert_eq!(call_i32(&mut store, &inst, "call", &[i(size - 1)]), 2);
            let r = call(&mut store, &inst, "call", &[i(size)]);
            assert_trap(r, Trap::UndefinedElement);

            let r = call(&mut store, &inst, "call_bounded", &[i(1)]);
            assert_trap(r, Trap::UndefinedElement);
            assert_eq!(call_i32(&mut store, &inst, "grow_bounded_call", &[i(9)]), 2);
            assert_eq!(call_i32(&mut store, &inst, "call_bounded", &[i(9)]), 2);
            // Past the maximum the growth fails and the bound stays.
            assert_eq!(call_i32(&mut store, &inst, "grow_bounded_call", &[i(1)]), 2);
            let r = call(&mut store, &inst, "call_bounded", &[i(10)]);
            assert_trap(r, Trap::UndefinedElement);
            assert_usable(&mut store, &inst);
        },
    );
}

#[test]
fn call_indirect_right_after_grow_set_and_copy() {
    in_both_modes(
        r#"(module
              (type $t (func (result i32)))
              (table $tab 1 funcref)
              (elem (i32.const 0) $a)
              (elem declare func $b)
              (func $a (type $t) i32.const 10)
              (func $b (type $t) i32.const 20)
              (func (export "run") (result i32)
                (local $sum i32)
                ;; grow by 1000 with $b, then call the last new slot
                (drop (table.grow (ref.func $b) (i32.const 1000)))
                (local.set $sum (call_indirect (type $t) (i32.const 1000)))
                ;; set slot 500 to $a and call it
                (table.set (i32.const 500) (ref.func $a))
                (local.set $sum (i32.add (local.get $sum) (call_indirect (type $t) (i32.const 500))))
                ;; copy slot 0 ($a) over slot 1 and call it
                (table.copy (i32.const 1) (i32.const 0) (i32.const 1))
                (i32.add (local.get $sum) (call_indirect (type $t) (i32.const 1)))))"#,
        |mut store, inst| {
            let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
            assert_eq!(run.call(&mut store, ()).unwrap(), 40);
        },
    );
}

#[test]
fn fixed_size_tables_use_a_constant_bound() {
    both_modes(|engine| {
        let (mut store, exporter) = new_instance(
            engine,
            r#"(module
              (type $t (func (result i32)))
              (table (export "t") 4 4 funcref)
              (elem (i32.const 3) $f)
              (func $f (type $t) i32.const 3)
              (func (export "size") (result i32) table.size)
              (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
        );
        let table = exporter.get_table(&mut store, "t").unwrap();
        let module = Module::new(
            engine,
            r#"(module
              (type $t (func (result i32)))
              (import "m" "t" (table 4 4 funcref))
              (func (export "size") (result i32) table.size)
              (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
        )
        .unwrap();
        let importer = Instance::new(&mut store, &module, &[Extern::Table(table)]).unwrap();
        for inst in [exporter, importer] {
            assert_sees_table(&mut store, &inst, 4, (3, 3), 0, 4);
        }
        assert!(table.grow(&mut store, 1, Ref::Func(None)).is_err());
    });
}

/// The error a host function returns.
#[derive(Debug)]
struct HostRefused;

impl std::fmt::Display for HostRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host refused")
    }
}

impl std::error::Error for HostRefused {}

/// Adversarial case: host functions in the table that return an error,
/// trap by calling back into wasm, or panic, imported or placed by the host.
#[test]
fn call_indirect_to_a_host_import_that_fails_traps_or_panics() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = link(
            &mut store,
            r#"(module
              (type $v (func (param i32) (result i32)))
              (import "host" "fail" (func $fail (type $v)))
              (import "host" "trap" (func $trap (type $v)))
              (import "host" "boom" (func $boom (type $v)))
              (table $t (export "t") 4 funcref)
              (elem (table $t) (i32.const 0) func $fail $trap $boom)
              (func (export "call") (param i32 i32) (result i32)
                (call_indirect $t (type $v) (local.get 1) (local.get 0)))
              (func (export "unreachable") (param i32) (result i32) unreachable)
              (func (export "ok") (result i32) i32.const 42))"#,
            |linker| {
                linker
                    .func_wrap("host", "fail", |_: i32| -> trestle::Result<i32> {
                        Err(trestle::Error::new(HostRefused))
                    })
                    .unwrap();
                // Calls back into wasm, which traps; the trap comes back out.
                linker
                    .func_wrap(
                        "host",
                        "trap",
                        |mut caller: Caller<'_, ()>, x: i32| -> trestle::Result<i32> {
                            let f = caller
                                .get_export("unreachable")
                                .unwrap()
                                .into_func()
                                .unwrap();
                            let mut out = [Val::I32(0)];
                            f.call(&mut caller, &[Val::I32(x)], &mut out)?;
                            Ok(out[0].unwrap_i32())
                        },
                    )
                    .unwrap();
                linker
                    .func_wrap("host", "boom", |_: i32| -> i32 { panic!("host boom") })
                    .unwrap();
            },
        );
        let args = |slot: i32| [Val::I32(slot), Val::I32(1)];
        for _ in 0..3 {
            let err = call(&mut store, &inst, "call", &args(0)).unwrap_err();
            assert!(err.downcast_ref::<HostRefused>().is_some(), "{err:#}");
            assert!(err.downcast_ref::<Trap>().is_none());
            assert_trap(
                call(&mut store, &inst, "call", &args(1)),
                Trap::UnreachableCodeReached,
            );
            let payload = catch_unwind(AssertUnwindSafe(|| {
                let _ = call(&mut store, &inst, "call", &args(2));
            }))
            .expect_err("the host panic reaches the caller");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"host boom"));
            assert_usable(&mut store, &inst);
        }
        // The same functions placed in the table by the host.
        let table = inst.get_table(&mut store, "t").unwrap();
        let fail = Func::wrap(&mut store, |_: i32| -> trestle::Result<i32> {
            Err(trestle::Error::new(HostRefused))
        });
        table.set(&mut store, 3, Ref::Func(Some(fail))).unwrap();
        let err = call(&mut store, &inst, "call", &args(3)).unwrap_err();
        assert!(err.downcast_ref::<HostRefused>().is_some(), "{err:#}");
        let boom = Func::wrap(&mut store, |_: i32| -> i32 { panic!("placed boom") });
        table.set(&mut store, 3, Ref::Func(Some(boom))).unwrap();
        let payload = catch_unwind(AssertUnwindSafe(|| {
            let _ = call(&mut store, &inst, "call", &args(3));
        }))
        .expect_err("the host panic reaches the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"placed boom"));
        assert_usable(&mut store, &inst);
    });
}
