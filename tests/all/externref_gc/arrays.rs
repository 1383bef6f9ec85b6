//! GC arrays made by constant expressions: they live while a table, a
//! segment, a global, another array or a root scope holds them, are
//! refused by tables of another type or store, share a bounded budget per
//! store, and survive a collection during instantiation.

use crate::harness::{gc_engine, instantiate, new_instance};
use trestle::{HeapType, Instance, Module, Ref, RefType, RootScope, Store, Val};

const ARRAYS: &str = r#"
    (module
      (type $inner (array (mut i32)))
      (type $outer (array (ref null $inner)))
      (table $t (export "t") 1 (ref null $outer))
      (elem $e (ref null $outer)
        (item (array.new_fixed $outer 2
          (array.new_default $inner (i32.const 4))
          (array.new $inner (i32.const 9) (i32.const 3)))))
      (func (export "init")
        (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1))
        (elem.drop $e))
      (func (export "clear") (table.set $t (i32.const 0) (ref.null $outer)))
      (func (export "get") (result (ref null $outer)) (table.get $t (i32.const 0)))
    )"#;

#[test]
fn arrays_live_while_a_table_or_another_array_holds_them() {
    let (mut store, inst) = new_instance(&gc_engine(true), ARRAYS);
    // The passive segment holds the outer array, which holds two others.
    assert_eq!(store.__externref_live(), 3);
    store.gc();
    assert_eq!(store.__externref_live(), 3, "the segment holds them");
    let init = inst.get_typed_func::<(), ()>(&mut store, "init").unwrap();
    init.call(&mut store, ()).unwrap();
    store.gc();
    assert_eq!(store.__externref_live(), 3, "the table holds them now");

    {
        let mut scope = RootScope::new(&mut store);
        let get = inst.get_func(&mut scope, "get").unwrap();
        let mut out = [Val::AnyRef(None)];
        get.call(&mut scope, &[], &mut out).unwrap();
        let Val::AnyRef(Some(outer)) = out[0] else {
            panic!("expected an array, got {:?}", out[0]);
        };
        assert_eq!(outer.array_len(&scope).unwrap(), Some(2));
        assert!(matches!(
            outer.ty(&scope).unwrap(),
            HeapType::ConcreteArray(_)
        ));
        let table = inst.get_table(&mut scope, "t").unwrap();
        let element = *table.ty(&scope).element();
        assert!(Ref::Any(Some(outer)).matches_ty(&scope, &element).unwrap());
        assert!(
            !Ref::Any(Some(outer))
                .matches_ty(&scope, &RefType::new(false, HeapType::Struct))
                .unwrap()
        );
        assert!(
            Ref::Any(Some(outer))
                .matches_ty(&scope, &RefType::EQREF)
                .unwrap()
        );

        // Cleared from the table, the arrays live on while the scope roots
        // the outer one, which holds the others.
        let clear = inst.get_typed_func::<(), ()>(&mut scope, "clear").unwrap();
        clear.call(&mut scope, ()).unwrap();
        scope.gc();
        assert_eq!(outer.array_len(&scope).unwrap(), Some(2));
    }
    assert_eq!(store.__externref_live(), 3, "kept through the scope's root");
    store.gc();
    assert_eq!(store.__externref_live(), 0, "nothing holds them any more");
}

#[test]
fn an_array_of_another_store_or_type_is_refused() {
    let engine = gc_engine(true);
    let (mut store, inst) = new_instance(&engine, ARRAYS);
    let init = inst.get_typed_func::<(), ()>(&mut store, "init").unwrap();
    init.call(&mut store, ()).unwrap();
    let table = inst.get_table(&mut store, "t").unwrap();
    let Some(Ref::Any(Some(outer))) = table.get(&mut store, 0) else {
        panic!("expected an array in the table");
    };
    // The outer array is not an `(array (mut i32))`.
    let other = instantiate(
        &mut store,
        r#"(module
          (type $inner (array (mut i32)))
          (table (export "t") 1 (ref null $inner)))"#,
    );
    let inner_table = other.get_table(&mut store, "t").unwrap();
    let err = inner_table
        .set(&mut store, 0, Ref::Any(Some(outer)))
        .unwrap_err();
    assert!(err.to_string().contains("wrong type"), "{err:#}");

    let mut other_store = Store::new(&engine, ());
    let foreign = instantiate(&mut other_store, ARRAYS);
    let foreign_table = foreign.get_table(&mut other_store, "t").unwrap();
    let err = foreign_table
        .set(&mut other_store, 0, Ref::Any(Some(outer)))
        .unwrap_err();
    assert!(err.to_string().contains("cross-store"), "{err:#}");
}

#[test]
fn an_array_too_large_fails_instantiation_cleanly() {
    let engine = gc_engine(true);
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
          (type $a (array i8))
          (global (ref $a) (array.new_default $a (i32.const -1))))"#,
    )
    .unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(err.to_string().contains("too large"), "{err:#}");
    // The store is still usable.
    instantiate(&mut store, ARRAYS);
}

#[test]
fn the_arrays_of_one_store_share_a_bounded_budget() {
    let engine = gc_engine(true);
    let mut store = Store::new(&engine, ());
    // 40M one-byte cells each: one fits the store's budget of 2^26
    // elements, a second next to it does not.
    let one = r#"(module
          (type $a (array i8))
          (global (export "g") (ref $a) (array.new_default $a (i32.const 40000000))))"#;
    let module = Module::new(&engine, one).unwrap();
    let first = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(store.__externref_live(), 1);
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(err.to_string().contains("too large"), "{err:#}");
    assert!(err.to_string().contains("limit"), "{err:#}");
    assert_eq!(
        store.__externref_live(),
        1,
        "the refused array was not kept"
    );
    // The first instance's global still holds its array.
    let g = first.get_global(&mut store, "g").unwrap();
    let Val::AnyRef(Some(array)) = g.get(&mut store) else {
        panic!("expected an array in the global");
    };
    assert_eq!(array.array_len(&store).unwrap(), Some(40_000_000));

    // Once nothing holds an array, a collection returns its share.
    let passive = Module::new(
        &engine,
        r#"(module
          (type $a (array i8))
          (elem $e (ref null $a) (array.new_default $a (i32.const 40000000)))
          (func (export "drop") (elem.drop $e)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    for round in 0..3 {
        let inst = Instance::new(&mut store, &passive, &[]).unwrap();
        assert_eq!(store.__externref_live(), 1, "round {round}");
        let drop_segment = inst.get_typed_func::<(), ()>(&mut store, "drop").unwrap();
        drop_segment.call(&mut store, ()).unwrap();
    }
    store.gc();
    assert_eq!(store.__externref_live(), 0);
}

#[test]
fn a_collection_during_instantiation_keeps_arrays_not_stored_yet() {
    let mut store = Store::new(&gc_engine(true), ());
    // Unrooted garbage one short of the collection threshold (1024 live
    // values): the inner array's allocation reaches it, so the outer
    // array's allocation collects first.
    {
        let mut scope = RootScope::new(&mut store);
        for i in 0..1023u32 {
            trestle::ExternRef::new(&mut scope, i).unwrap();
        }
    }
    assert_eq!(store.__externref_live(), 1023);
    // The inner array exists only on the evaluation stack when the outer
    // one is allocated, and that allocation collects.
    instantiate(
        &mut store,
        r#"(module
          (type $inner (array i8))
          (type $outer (array (ref $inner)))
          (global (export "g") (ref $outer)
            (array.new_fixed $outer 1 (array.new_default $inner (i32.const 3)))))"#,
    );
    assert_eq!(
        store.__externref_live(),
        2,
        "the garbage went, both arrays stay"
    );
    store.gc();
    assert_eq!(store.__externref_live(), 2, "the global holds them");
}
