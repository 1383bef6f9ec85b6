//! The `Table` host API: every documented error and panic of `new`,
//! `get`, `set`, `size`, `grow`, `fill`, `copy` and `ty`, values from
//! another store, and the C-shaped handle.

use super::funcref_table;
use crate::harness::{
    assert_usable, both_modes, call, call_i32, instantiate, new_instance, panics, table64_engine,
};
use std::panic::{AssertUnwindSafe, catch_unwind};
use trestle::{CTable, ExternRef, Func, Ref, RefType, Store, Table, TableType, Trap, Val};

#[test]
fn table_new_rejects_bad_init_bad_limits_and_foreign_values() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let ty = TableType::new(RefType::FUNCREF, 1, None);
    let extern_init = ExternRef::new(&mut store, 1u32).unwrap();
    assert!(Table::new(&mut store, ty, Ref::Extern(Some(extern_init))).is_err());
    assert!(
        Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 3, Some(2)),
            Ref::Func(None)
        )
        .is_err()
    );
    assert!(
        Table::new(
            &mut store,
            TableType::new64(RefType::FUNCREF, 1 << 63, None),
            Ref::Func(None)
        )
        .is_err()
    );
    let mut other = Store::new(&engine, ());
    let foreign = Func::wrap(&mut other, || {});
    let err = Table::new(&mut store, ty, Ref::Func(Some(foreign))).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    // Nothing was created by the failed calls.
    assert_eq!(store.__object_counts()[2], 0);
}

#[test]
fn table_get_set_size_and_their_errors() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let table = funcref_table(&mut store, 2, None);
    let f = Func::wrap(&mut store, |x: i32| x);
    assert_eq!(table.size(&store), 2);
    assert!(table.get(&mut store, 1).unwrap().is_null());
    assert!(table.get(&mut store, 2).is_none());
    assert!(table.get(&mut store, u64::MAX).is_none());
    table.set(&mut store, 1, Ref::Func(Some(f))).unwrap();
    assert_eq!(table.get(&mut store, 1), Some(Ref::Func(Some(f))));
    assert!(table.set(&mut store, 2, Ref::Func(Some(f))).is_err());
    let e = ExternRef::new(&mut store, ()).unwrap();
    assert!(table.set(&mut store, 0, Ref::Extern(Some(e))).is_err());
    let mut other = Store::new(&engine, ());
    let foreign = Func::wrap(&mut other, || {});
    assert!(table.set(&mut store, 0, Ref::Func(Some(foreign))).is_err());
    assert!(table.get(&mut store, 0).unwrap().is_null());
    let ty = table.ty(&store);
    assert_eq!((ty.minimum(), ty.maximum(), ty.is_64()), (2, None, false));
    assert_eq!(*ty.element(), RefType::FUNCREF);
}

#[test]
fn table_grow_and_its_errors() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let table = funcref_table(&mut store, 1, Some(4));
    assert_eq!(table.grow(&mut store, 0, Ref::Func(None)).unwrap(), 1);
    assert_eq!(table.grow(&mut store, 3, Ref::Func(None)).unwrap(), 1);
    assert!(table.grow(&mut store, 1, Ref::Func(None)).is_err());
    assert_eq!(table.size(&store), 4);
    let unbounded = funcref_table(&mut store, 0, None);
    assert!(
        unbounded
            .grow(&mut store, u64::MAX, Ref::Func(None))
            .is_err()
    );
    assert!(
        unbounded
            .grow(&mut store, 1 << 63, Ref::Func(None))
            .is_err()
    );
    let e = ExternRef::new(&mut store, ()).unwrap();
    assert!(unbounded.grow(&mut store, 1, Ref::Extern(Some(e))).is_err());
    let mut other = Store::new(&engine, ());
    let foreign = Func::wrap(&mut other, || {});
    assert!(
        unbounded
            .grow(&mut store, 1, Ref::Func(Some(foreign)))
            .is_err()
    );
    assert_eq!(unbounded.size(&store), 0);
}

#[test]
fn table_fill_and_its_errors() {
    let mut store = Store::new(&table64_engine(true), ());
    let table = funcref_table(&mut store, 4, None);
    let f = Func::wrap(&mut store, || {});
    table.fill(&mut store, 1, Ref::Func(Some(f)), 2).unwrap();
    let pattern: Vec<bool> = (0..4)
        .map(|i| table.get(&mut store, i).unwrap().is_null())
        .collect();
    assert_eq!(pattern, [true, false, false, true]);
    table.fill(&mut store, 4, Ref::Func(None), 0).unwrap();
    assert!(table.fill(&mut store, 5, Ref::Func(None), 0).is_err());
    assert!(table.fill(&mut store, 3, Ref::Func(None), 2).is_err());
    assert!(
        table
            .fill(&mut store, u64::MAX - 1, Ref::Func(None), 4)
            .is_err()
    );
    let e = ExternRef::new(&mut store, ()).unwrap();
    assert!(table.fill(&mut store, 0, Ref::Extern(Some(e)), 1).is_err());
}

#[test]
fn table_copy_three_cases_overlaps_and_errors() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let funcs: Vec<Func> = (0..4)
            .map(|i| Func::wrap(&mut store, move || -> i32 { i }))
            .collect();
        let a = funcref_table(&mut store, 6, None);
        for (i, f) in funcs.iter().enumerate() {
            a.set(&mut store, i as u64, Ref::Func(Some(*f))).unwrap();
        }
        let get = |store: &mut Store<()>, t: &Table, i| match t.get(store, i).unwrap() {
            Ref::Func(Some(f)) => Some(funcs.iter().position(|g| *g == f).unwrap()),
            _ => None,
        };
        // Within one table, overlapping, forward: [0 1 2 3 - -] -> [0 0 1 2 3 -].
        Table::copy(&mut store, &a, 1, &a, 0, 4).unwrap();
        let got: Vec<_> = (0..6).map(|i| get(&mut store, &a, i)).collect();
        assert_eq!(got, [Some(0), Some(0), Some(1), Some(2), Some(3), None]);
        // Overlapping, backward: -> [0 1 2 3 3 -].
        Table::copy(&mut store, &a, 0, &a, 1, 4).unwrap();
        let got: Vec<_> = (0..6).map(|i| get(&mut store, &a, i)).collect();
        assert_eq!(got, [Some(0), Some(1), Some(2), Some(3), Some(3), None]);
        // Across tables.
        let b = funcref_table(&mut store, 2, None);
        Table::copy(&mut store, &b, 0, &a, 2, 2).unwrap();
        assert_eq!(get(&mut store, &b, 0), Some(2));
        assert_eq!(get(&mut store, &b, 1), Some(3));
        // Errors: out of bounds on either side, length 0 at the end is fine.
        assert!(Table::copy(&mut store, &b, 1, &a, 0, 2).is_err());
        assert!(Table::copy(&mut store, &b, 0, &a, 5, 2).is_err());
        Table::copy(&mut store, &b, 2, &a, 6, 0).unwrap();
        assert!(Table::copy(&mut store, &b, 3, &a, 0, 0).is_err());
        // Element type mismatch.
        let ext = Table::new(
            &mut store,
            TableType::new(RefType::EXTERNREF, 2, None),
            Ref::Extern(None),
        )
        .unwrap();
        assert!(Table::copy(&mut store, &ext, 0, &a, 0, 1).is_err());
    });
}

#[test]
fn table_handles_panic_in_the_wrong_store() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let mut other = Store::new(&engine, ());
    let table = funcref_table(&mut store, 1, None);
    let theirs = funcref_table(&mut other, 1, None);
    assert!(panics(|| {
        table.size(&other);
    }));
    assert!(panics(|| {
        table.get(&mut other, 0);
    }));
    assert!(panics(|| {
        let _ = table.set(&mut other, 0, Ref::Func(None));
    }));
    assert!(panics(|| {
        let _ = table.grow(&mut other, 1, Ref::Func(None));
    }));
    assert!(panics(|| {
        let _ = table.fill(&mut other, 0, Ref::Func(None), 1);
    }));
    assert!(panics(|| {
        table.ty(&other);
    }));
    assert!(panics(|| {
        let _ = Table::copy(&mut store, &table, 0, &theirs, 0, 1);
    }));
    // The stores are intact afterwards.
    assert_eq!(table.size(&store), 1);
    assert_eq!(theirs.size(&other), 1);
}

#[test]
fn table_handle_is_c_shaped() {
    let mut store = Store::new(&table64_engine(true), ());
    let table = funcref_table(&mut store, 1, None);
    let c = CTable::from(table);
    assert_eq!(c.instance, Table::HOST_INSTANCE);
    assert_eq!(c.index, 0);
    assert_eq!(std::mem::size_of::<Table>(), 16);
    let inst = instantiate(&mut store, r#"(module (table (export "t") 1 funcref))"#);
    let exported = CTable::from(inst.get_table(&mut store, "t").unwrap());
    assert_ne!(exported.instance, Table::HOST_INSTANCE);
    assert_eq!(exported.index, 0);
    assert_eq!(exported.store_id, c.store_id);
}

/// Adversarial case: a funcref of another store, as an argument, into a
/// table by the host, as a host function's result and called directly.
#[test]
fn a_funcref_from_another_store_is_rejected_by_the_host_api() {
    let engine = table64_engine(true);
    let (mut store, inst) = new_instance(
        &engine,
        r#"(module
          (type $v (func (result i32)))
          (table $t (export "t") 2 funcref)
          (func (export "call_ref") (param funcref) (result i32)
            (table.set $t (i32.const 0) (local.get 0))
            (call_indirect $t (type $v) (i32.const 0)))
          (func (export "ok") (result i32) i32.const 42))"#,
    );
    let mut other = Store::new(&engine, ());
    let foreign = Func::wrap(&mut other, || 13i32);

    // As an argument: an error, nothing called.
    let err = call(
        &mut store,
        &inst,
        "call_ref",
        &[Val::FuncRef(Some(foreign))],
    )
    .unwrap_err();
    assert!(err.to_string().contains("another store"), "{err:#}");
    assert!(err.downcast_ref::<Trap>().is_none());
    // Into a table, by set, grow and fill: errors, the table unchanged.
    let table = inst.get_table(&mut store, "t").unwrap();
    assert!(table.set(&mut store, 0, Ref::Func(Some(foreign))).is_err());
    assert!(table.grow(&mut store, 1, Ref::Func(Some(foreign))).is_err());
    assert!(
        table
            .fill(&mut store, 0, Ref::Func(Some(foreign)), 2)
            .is_err()
    );
    assert_eq!(table.size(&store), 2);
    assert!(table.get(&mut store, 0).unwrap().is_null());
    // As a host function's result: an error for the wasm caller's caller.
    let returns_foreign = Func::new(
        &mut store,
        trestle::FuncType::new(&engine, [], [trestle::ValType::FUNCREF]),
        move |_, _, results| {
            results[0] = Val::FuncRef(Some(foreign));
            Ok(())
        },
    );
    let mut out = [Val::FuncRef(None)];
    let err = returns_foreign.call(&mut store, &[], &mut out).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err:#}");

    // Called directly with the wrong store: the documented panic.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let mut out = [Val::I32(0)];
        let _ = foreign.call(&mut store, &[], &mut out);
    }));
    assert!(panicked.is_err(), "Func::call with another store's Func");
    let panicked = catch_unwind(AssertUnwindSafe(|| foreign.ty(&store)));
    assert!(panicked.is_err(), "Func::ty with another store's Func");

    // Both stores still work, and the function in its own.
    assert_usable(&mut store, &inst);
    let own = Func::wrap(&mut store, || 5i32);
    assert_eq!(
        call_i32(&mut store, &inst, "call_ref", &[Val::FuncRef(Some(own))]),
        5
    );
    let mut out = [Val::I32(0)];
    foreign.call(&mut other, &[], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 13);
}
