//! `table.grow`: a delta of zero, up to and past the maximum, deltas that
//! wrap, and growth in place that writes the init value.

use crate::harness::{GROW32, in_both_modes, trap};
use trestle::{ExternRef, Ref, Trap, Val};

#[test]
fn table_grow_delta_zero_max_and_wrapping() {
    in_both_modes(GROW32, |mut store, inst| {
        let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
        let size = inst.get_typed_func::<(), i32>(&mut store, "size").unwrap();
        assert_eq!(grow.call(&mut store, 0).unwrap(), 1, "delta 0");
        assert_eq!(grow.call(&mut store, 10).unwrap(), -1, "past the maximum");
        assert_eq!(grow.call(&mut store, -1).unwrap(), -1, "delta 0xFFFF_FFFF");
        assert_eq!(
            grow.call(&mut store, i32::MAX).unwrap(),
            -1,
            "size + delta past 2^31"
        );
        assert_eq!(size.call(&mut store, ()).unwrap(), 1);
        assert_eq!(grow.call(&mut store, 9).unwrap(), 1);
        assert_eq!(size.call(&mut store, ()).unwrap(), 10);
        assert_eq!(
            grow.call(&mut store, 1).unwrap(),
            -1,
            "-1 stays a 32-bit value"
        );
    });
}

#[test]
fn in_place_growth_writes_the_init_value_and_respects_the_maximum() {
    in_both_modes(
        r#"(module
              (type $t (func (result i32)))
              (table $tab (export "t") 0 40 funcref)
              (table $ext (export "e") 0 40 externref)
              (func $one (type $t) i32.const 1)
              (elem declare func $one)
              (func (export "grow") (param i32) (result i32) (table.grow $tab (ref.func $one) (local.get 0)))
              (func (export "grow_null") (param i32) (result i32) (table.grow $tab (ref.null func) (local.get 0)))
              (func (export "grow_ext") (param externref i32) (result i32) (table.grow $ext (local.get 0) (local.get 1)))
              (func (export "call") (param i32) (result i32) (call_indirect $tab (type $t) (local.get 0))))"#,
        |mut store, inst| {
            let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
            let grow_null = inst
                .get_typed_func::<i32, i32>(&mut store, "grow_null")
                .unwrap();
            let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
            assert_eq!(grow.call(&mut store, 3).unwrap(), 0);
            assert_eq!(grow_null.call(&mut store, 5).unwrap(), 3);
            assert_eq!(grow.call(&mut store, 2).unwrap(), 8);
            for (i, expected) in [
                (0, Some(1)),
                (2, Some(1)),
                (3, None),
                (7, None),
                (8, Some(1)),
            ] {
                match expected {
                    Some(v) => assert_eq!(call.call(&mut store, i).unwrap(), v, "{i}"),
                    None => assert_eq!(
                        trap(call.call(&mut store, i).unwrap_err()),
                        Trap::IndirectCallToNull,
                        "{i}"
                    ),
                }
            }
            // Up to the maximum exactly, then -1, also for deltas that wrap.
            assert_eq!(grow.call(&mut store, 30).unwrap(), 10);
            assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
            assert_eq!(grow.call(&mut store, -1).unwrap(), -1);
            assert_eq!(grow.call(&mut store, 0).unwrap(), 40);
            assert_eq!(call.call(&mut store, 39).unwrap(), 1);

            let grow_ext = inst.get_func(&mut store, "grow_ext").unwrap();
            let r = ExternRef::new(&mut store, 7u8).unwrap();
            let mut out = [Val::I32(0)];
            for (delta, expected) in [(4, 0), (0, 4), (36, 4), (1, -1)] {
                grow_ext
                    .call(
                        &mut store,
                        &[Val::ExternRef(Some(r)), Val::I32(delta)],
                        &mut out,
                    )
                    .unwrap();
                assert_eq!(out[0].unwrap_i32(), expected, "delta {delta}");
            }
            let ext = inst.get_table(&mut store, "e").unwrap();
            assert_eq!(ext.size(&store), 40);
            assert_eq!(ext.get(&mut store, 39), Some(Ref::Extern(Some(r))));
        },
    );
}
