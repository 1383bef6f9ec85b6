//! Declared sizes and counts an untrusted module may ask for: table
//! minimums past the built-in limits (32- and 64-bit), more large tables
//! than one store may hold, and thousands of tables or element segments
//! in one module; and the built-in limits themselves.

use crate::harness::{
    FOUR_SLOTS, assert_trap, assert_usable, both_modes, call, call_i32, in_both_modes, instantiate,
    table64_engine,
};
use trestle::{
    Instance, MAX_GC_ARRAY_ELEMENTS, MAX_MEMORY_PAGES, MAX_STORE_TABLE_ELEMENTS,
    MAX_TABLE_ELEMENTS, Memory, MemoryType, Module, Ref, RefType, Store, Table, TableType, Trap,
    Val,
};

#[test]
fn huge_declared_minimums_are_clean_instantiation_errors() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    for wat in [
        "(module (table 0xFFFFFFFF funcref))",
        "(module (table i64 0x8000000000000000 funcref))",
        "(module (table 0xFFFFFFFF externref))",
    ] {
        let module = Module::new(&engine, wat).unwrap();
        let err = Instance::new(&mut store, &module, &[]).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
    }
    assert_eq!(store.__object_counts(), [0, 0, 0, 0]);
}

#[test]
fn many_large_tables_hit_the_store_budget_not_the_host() {
    // Lazy tables cost address space only, so this stays cheap; the
    // eleventh 10M-entry table is over the store's budget.
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let tables = "(table 10000000 funcref)".repeat(11);
    let module = Module::new(&engine, format!("(module {tables})")).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(err.to_string().contains("in one store"), "{err}");
    assert_eq!(store.__object_counts(), [0, 0, 0, 0]);
    // The budget is free again: a smaller module instantiates.
    let ok = Module::new(&engine, "(module (table 10000000 funcref))").unwrap();
    Instance::new(&mut store, &ok, &[]).unwrap();
}

/// Adversarial case: table minimums of 2^32 - 1 and 2^63 and more, one
/// next to a small table; nothing is left behind.
#[test]
fn a_declared_table_minimum_of_u32_max_is_a_clean_instantiation_error() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        for wat in [
            "(module (table 0xffffffff funcref))",
            "(module (table 0xffffffff externref))",
            "(module (table 0xffffffff 0xffffffff funcref))",
            "(module (table i64 0x8000000000000000 funcref))",
            "(module (table i64 0xffffffffffffffff externref))",
            "(module (table 1 funcref) (table 0xffffffff funcref) (func (export \"f\")))",
        ] {
            let module = Module::new(engine, wat).unwrap();
            let err = Instance::new(&mut store, &module, &[]).unwrap_err();
            assert!(err.downcast_ref::<Trap>().is_none(), "{wat}: {err:#}");
            assert!(!err.to_string().is_empty());
        }
        // Nothing was left behind, and the store works.
        assert_eq!(store.__object_counts(), [0, 0, 0, 0]);
        let inst = instantiate(&mut store, FOUR_SLOTS);
        assert_usable(&mut store, &inst);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(0)]), 7);
    });
}

/// Adversarial case: 5,000 tables in one module, the last one used.
#[test]
fn thousands_of_tables_in_one_module() {
    const N: usize = 5000;
    let mut wat = String::from("(module (type $v (func (result i32)))\n");
    for _ in 0..N {
        wat.push_str("(table 1 funcref)\n");
    }
    wat.push_str(&format!(
        "(elem (table {last}) (i32.const 0) func $a)
         (func $a (type $v) i32.const 7)
         (func (export \"first\") (result i32) (call_indirect 0 (type $v) (i32.const 0)))
         (func (export \"last\") (result i32) (call_indirect {last} (type $v) (i32.const 0)))
         (func (export \"grow_last\") (result i32) (table.grow {last} (ref.null func) (i32.const 1)))
         (func (export \"ok\") (result i32) i32.const 42))",
        last = N - 1
    ));
    in_both_modes(&wat, |mut store, inst| {
        assert_eq!(call_i32(&mut store, &inst, "last", &[]), 7);
        assert_trap(
            call(&mut store, &inst, "first", &[]),
            Trap::IndirectCallToNull,
        );
        assert_eq!(call_i32(&mut store, &inst, "grow_last", &[]), 1);
        assert_eq!(call_i32(&mut store, &inst, "last", &[]), 7);
        assert_eq!(store.__object_counts()[2], N);
        assert_usable(&mut store, &inst);
    });
}

/// Adversarial case: 5,000 active and 5,000 passive element segments in one
/// module, the last one used and dropped.
#[test]
fn thousands_of_element_segments_in_one_module() {
    const N: usize = 5000;
    let mut wat =
        format!("(module (type $v (func (param i32) (result i32))) (table {N} funcref)\n");
    // Active segments, one slot each, alternating two functions; passive
    // ones, and a table.init from the last.
    for i in 0..N {
        let f = if i % 2 == 0 { "$even" } else { "$odd" };
        wat.push_str(&format!("(elem (i32.const {i}) func {f})\n"));
    }
    for _ in 0..N {
        wat.push_str("(elem func $odd $even)\n");
    }
    wat.push_str(&format!(
        "(func $even (type $v) (i32.mul (local.get 0) (i32.const 2)))
         (func $odd (type $v) (i32.add (local.get 0) (i32.const 1)))
         (func (export \"call\") (param i32 i32) (result i32)
           (call_indirect (type $v) (local.get 0) (local.get 1)))
         (func (export \"init_last\") (param i32)
           (table.init {last} (local.get 0) (i32.const 0) (i32.const 2)))
         (func (export \"drop_last\") (elem.drop {last}))
         (func (export \"ok\") (result i32) i32.const 42))",
        last = 2 * N - 1
    ));
    in_both_modes(&wat, |mut store, inst| {
        let c = |store: &mut Store<()>, x: i32, slot: i32| {
            call_i32(store, &inst, "call", &[Val::I32(x), Val::I32(slot)])
        };
        for slot in [0, 1, 2, 2501, N as i32 - 2, N as i32 - 1] {
            let want = if slot % 2 == 0 { 20 } else { 11 };
            assert_eq!(c(&mut store, 10, slot), want, "slot {slot}");
        }
        call(&mut store, &inst, "init_last", &[Val::I32(0)]).unwrap();
        assert_eq!(c(&mut store, 10, 0), 11);
        assert_eq!(c(&mut store, 10, 1), 20);
        call(&mut store, &inst, "drop_last", &[]).unwrap();
        assert_trap(
            call(&mut store, &inst, "init_last", &[Val::I32(0)]),
            Trap::TableOutOfBounds,
        );
        assert_usable(&mut store, &inst);
    });
}

#[test]
fn the_built_in_limits_are_public_and_enforced() {
    assert_eq!(MAX_TABLE_ELEMENTS, 10_000_000);
    assert_eq!(MAX_STORE_TABLE_ELEMENTS, 100_000_000);
    assert_eq!(MAX_MEMORY_PAGES, 65_536);
    assert_eq!(MAX_GC_ARRAY_ELEMENTS, 1 << 26);
    let mut store = Store::new(&crate::harness::engine(), ());
    let over = u32::try_from(MAX_TABLE_ELEMENTS + 1).unwrap();
    let err = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, over, None),
        Ref::Func(None),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&MAX_TABLE_ELEMENTS.to_string()),
        "{err}"
    );
    let at_limit = u32::try_from(MAX_TABLE_ELEMENTS).unwrap();
    let table = Table::new(
        &mut store,
        TableType::new(RefType::EXTERNREF, at_limit, None),
        Ref::Extern(None),
    )
    .unwrap();
    assert!(table.grow(&mut store, 1, Ref::Extern(None)).is_err());
    let over = u32::try_from(MAX_MEMORY_PAGES + 1).unwrap();
    assert!(Memory::new(&mut store, MemoryType::new(over, None)).is_err());
}
