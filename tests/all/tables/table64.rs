//! 64-bit tables: indices above 2^32 are never truncated, by
//! `call_indirect`, `table.get` or the host, and growth near the top of
//! the 64-bit range fails cleanly.

use crate::harness::{
    assert_trap, assert_usable, call, call_i32, in_both_modes, instantiate, table64_engine, trap,
};
use trestle::{Store, Trap, Val};

const TABLE64: &str = r#"
(module
  (type $t (func (result i32)))
  (table $tab (export "t") i64 4 funcref)
  (elem (table $tab) (i64.const 0) func $seven)
  (func $seven (type $t) i32.const 7)
  (func (export "call") (param i64) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "grow") (param i64) (result i64) (table.grow (ref.null func) (local.get 0)))
  (func (export "size") (result i64) table.size)
  (func (export "get_is_null") (param i64) (result i32) (ref.is_null (table.get (local.get 0)))))
"#;

#[test]
fn table64_indices_are_not_truncated() {
    in_both_modes(TABLE64, |mut store, inst| {
        let call = inst.get_typed_func::<i64, i32>(&mut store, "call").unwrap();
        assert_eq!(call.call(&mut store, 0).unwrap(), 7);
        for index in [4, 1 << 32, (1 << 32) + 1, i64::MAX, -1] {
            assert_eq!(
                trap(call.call(&mut store, index).unwrap_err()),
                Trap::UndefinedElement,
                "index {index:#x}"
            );
        }
        assert_eq!(
            trap(call.call(&mut store, 1).unwrap_err()),
            Trap::IndirectCallToNull
        );
        let get = inst
            .get_typed_func::<i64, i32>(&mut store, "get_is_null")
            .unwrap();
        assert_eq!(
            trap(get.call(&mut store, 1 << 32).unwrap_err()),
            Trap::TableOutOfBounds
        );
        let table = inst.get_table(&mut store, "t").unwrap();
        assert!(table.ty(&store).is_64());
        assert!(table.get(&mut store, 1 << 32).is_none());
    });
}

#[test]
fn table64_grow_near_2_pow_61_and_2_pow_63_fails_cleanly() {
    let mut store = Store::new(&table64_engine(true), ());
    let inst = instantiate(&mut store, TABLE64);
    let grow = inst.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
    let size = inst.get_typed_func::<(), i64>(&mut store, "size").unwrap();
    for delta in [1 << 61, (1 << 61) + 1, 1 << 62, i64::MAX, -1, i64::MIN] {
        assert_eq!(
            grow.call(&mut store, delta).unwrap(),
            -1,
            "delta {delta:#x}"
        );
    }
    assert_eq!(grow.call(&mut store, 2).unwrap(), 4);
    assert_eq!(size.call(&mut store, ()).unwrap(), 6);
}

/// Adversarial case: 64-bit indices that truncate to a valid 32-bit one.
#[test]
fn call_indirect_on_a_64_bit_table_does_not_truncate_indices() {
    in_both_modes(
        r#"(module
              (type $v (func (result i32)))
              (table $t i64 2 funcref)
              (elem (table $t) (i64.const 0) func $a $b)
              (func $a (type $v) i32.const 7)
              (func $b (type $v) i32.const 8)
              (func (export "call") (param i64) (result i32)
                (call_indirect $t (type $v) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        |mut store, inst| {
            assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I64(0)]), 7);
            assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I64(1)]), 8);
            // Each of these truncates to 0 or 1 in 32 bits.
            for index in [
                1i64 << 32,
                (1 << 32) + 1,
                -1,
                i64::MIN,
                i64::MIN + 1,
                0x7fff_ffff_0000_0000,
                2,
            ] {
                let r = call(&mut store, &inst, "call", &[Val::I64(index)]);
                assert_trap(r, Trap::UndefinedElement);
                assert_usable(&mut store, &inst);
            }
        },
    );
}
