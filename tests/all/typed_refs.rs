//! Typed function references and GC types through the host API: concrete
//! element types of tables, the type checks of `Table::set` and
//! `Func::call` against them, import matching with declared subtypes, GC
//! arrays made by constant expressions and their collection, and the
//! errors for what is not implemented.

use trestle::{
    Config, Engine, HeapType, Instance, Linker, Module, Ref, RefType, RootScope, Store, Table,
    TableType, Val,
};

fn engine(lazy: bool) -> Engine {
    let mut config = Config::new();
    config.table_lazy_init(lazy).wasm_gc(true);
    Engine::new(&config).unwrap()
}

fn instantiate(store: &mut Store<()>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    Instance::new(store, &module, &[]).unwrap()
}

const TYPED_TABLE: &str = r#"
    (module
      (type $v (func (result i32)))
      (type $w (func (result i64)))
      (table (export "t") 2 (ref null $v))
      (func (export "v") (type $v) (i32.const 1))
      (func (export "w") (type $w) (i64.const 2))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $v) (local.get 0)))
    )"#;

#[test]
fn a_typed_table_reports_its_concrete_element_type() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, TYPED_TABLE);
    let table = inst.get_table(&mut store, "t").unwrap();
    let ty = table.ty(&store);
    let element = *ty.element();
    assert!(element.is_nullable());
    let HeapType::ConcreteFunc(index) = *element.heap_type() else {
        panic!("expected a concrete function type, got {element}");
    };
    let func_ty = engine.func_type(index).expect("a function type");
    let v = inst.get_func(&mut store, "v").unwrap();
    assert_eq!(func_ty, v.ty(&store));
    assert!(
        element.to_string().starts_with("(ref null type#"),
        "{element}"
    );
}

#[test]
fn table_set_on_a_typed_table_checks_the_function_type() {
    for lazy in [true, false] {
        let engine = engine(lazy);
        let mut store = Store::new(&engine, ());
        let inst = instantiate(&mut store, TYPED_TABLE);
        let table = inst.get_table(&mut store, "t").unwrap();
        let v = inst.get_func(&mut store, "v").unwrap();
        let w = inst.get_func(&mut store, "w").unwrap();
        let err = table.set(&mut store, 0, Ref::Func(Some(w))).unwrap_err();
        assert!(err.to_string().contains("wrong type"), "{err:#}");
        assert!(table.fill(&mut store, 0, Ref::Func(Some(w)), 1).is_err());
        assert!(table.grow(&mut store, 1, Ref::Func(Some(w))).is_err());
        assert_eq!(table.size(&store), 2, "a refused grow adds nothing");
        table.set(&mut store, 1, Ref::Func(Some(v))).unwrap();
        table.set(&mut store, 0, Ref::Func(None)).unwrap();
        let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        assert_eq!(call.call(&mut store, 1).unwrap(), 1);
        assert!(call.call(&mut store, 0).is_err());

        // A host table of the same concrete type accepts the same values.
        let ty = table.ty(&store);
        let host = Table::new(&mut store, ty, Ref::Func(Some(v))).unwrap();
        assert!(host.set(&mut store, 0, Ref::Func(Some(w))).is_err());
        assert!(Table::new(&mut store, ty, Ref::Func(Some(w))).is_err());

        // A non-nullable concrete type refuses null.
        let non_null = TableType::new(RefType::new(false, *ty.element().heap_type()), 1, None);
        assert!(Table::new(&mut store, non_null, Ref::Func(None)).is_err());
        let t = Table::new(&mut store, non_null, Ref::Func(Some(v))).unwrap();
        assert!(t.set(&mut store, 0, Ref::Func(None)).is_err());
    }
}

#[test]
fn a_function_import_accepts_a_declared_subtype_only() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let exporter = instantiate(
        &mut store,
        r#"(module
          (type $base (sub (func (result i32))))
          (type $derived (sub $base (func (result i32))))
          (type $plain (func (result i32)))
          (func (export "derived") (type $derived) (i32.const 1))
          (func (export "plain") (type $plain) (i32.const 2)))"#,
    );
    let importer = Module::new(
        &engine,
        r#"(module
          (type $base (sub (func (result i32))))
          (import "m" "f" (func (type $base))))"#,
    )
    .unwrap();
    let derived = exporter.get_func(&mut store, "derived").unwrap();
    let plain = exporter.get_func(&mut store, "plain").unwrap();
    Instance::new(&mut store, &importer, &[derived.into()]).unwrap();
    let err = Instance::new(&mut store, &importer, &[plain.into()]).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err:#}"
    );
}

#[test]
fn func_call_checks_concrete_reference_arguments() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(
        &mut store,
        r#"(module
          (type $v (func (result i32)))
          (type $w (func (result i64)))
          (func $v (type $v) (i32.const 5))
          (func (export "w") (type $w) (i64.const 6))
          (func (export "v") (type $v) (i32.const 7))
          (func (export "run") (param (ref null $v)) (result i32)
            (call_ref $v (local.get 0))))"#,
    );
    let run = inst.get_func(&mut store, "run").unwrap();
    let v = inst.get_func(&mut store, "v").unwrap();
    let w = inst.get_func(&mut store, "w").unwrap();
    let mut out = [Val::I32(0)];
    run.call(&mut store, &[Val::FuncRef(Some(v))], &mut out)
        .unwrap();
    assert_eq!(out[0].unwrap_i32(), 7);
    let err = run
        .call(&mut store, &[Val::FuncRef(Some(w))], &mut out)
        .unwrap_err();
    assert!(err.to_string().contains("argument 0"), "{err:#}");
    let err = run
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .unwrap_err();
    assert!(
        err.to_string().contains("null function reference"),
        "{err:#}"
    );
    let ty = run.ty(&store);
    let param = ty.param(0).unwrap();
    assert!(
        Val::FuncRef(Some(v)).matches_ty(&store, &param).unwrap(),
        "{param}"
    );
    assert!(!Val::FuncRef(Some(w)).matches_ty(&store, &param).unwrap());
}

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
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, ARRAYS);
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
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, ARRAYS);
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
    let engine = engine(true);
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
    let engine = engine(true);
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
fn gc_instructions_outside_constant_expressions_are_unsupported_errors() {
    let engine = engine(true);
    for body in [
        "(array.len (array.new_default $a (i32.const 1)))",
        "(struct.new $s) (drop) (i32.const 0)",
        "(i31.get_s (ref.i31 (i32.const 1)))",
        "(ref.test (ref $a) (ref.null any))",
    ] {
        let wat =
            format!("(module (type $a (array i8)) (type $s (struct)) (func (result i32) {body}))");
        let err = Module::new(&engine, &wat).unwrap_err();
        assert!(err.to_string().contains("unsupported"), "{body}: {err:#}");
    }
}

#[test]
fn typed_references_are_off_unless_enabled() {
    let engine = crate::harness::engine();
    let err =
        Module::new(&engine, "(module (type $v (func)) (table 1 (ref null $v)))").unwrap_err();
    assert!(err.to_string().contains("function references"), "{err:#}");
    let err = Module::new(&engine, "(module (type (array i8)))").unwrap_err();
    assert!(err.to_string().contains("gc"), "{err:#}");
    // A linker works with typed tables too.
    let engine = self::engine(false);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let inst = instantiate(&mut store, TYPED_TABLE);
    let t = inst.get_table(&mut store, "t").unwrap();
    linker.define(&store, "m", "t", t).unwrap();
    let module = Module::new(
        &engine,
        "(module (type $v (func (result i32))) (import \"m\" \"t\" (table 2 (ref null $v))))",
    )
    .unwrap();
    linker.instantiate(&mut store, &module).unwrap();
}

#[test]
fn a_collection_during_instantiation_keeps_arrays_not_stored_yet() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
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

const NON_NULLABLE: &str = r#"
    (module
      (type $r (func (result i32)))
      (func $one (type $r) (i32.const 1))
      (table (export "t") 3 10 (ref $r) (ref.func $one))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $r) (local.get 0)))
    )"#;

#[test]
fn a_table_initializer_fills_every_element_in_both_modes() {
    for lazy in [true, false] {
        let engine = engine(lazy);
        let mut store = Store::new(&engine, ());
        let inst = instantiate(&mut store, NON_NULLABLE);
        let table = inst.get_table(&mut store, "t").unwrap();
        assert!(!table.ty(&store).element().is_nullable());
        let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        for i in 0..3 {
            assert_eq!(
                call.call(&mut store, i).unwrap(),
                1,
                "lazy {lazy} index {i}"
            );
            assert!(matches!(
                table.get(&mut store, i as u64),
                Some(Ref::Func(Some(_)))
            ));
        }
    }
}

#[test]
fn a_non_nullable_table_refuses_null_from_the_host() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, NON_NULLABLE);
    let table = inst.get_table(&mut store, "t").unwrap();
    let err = table.set(&mut store, 0, Ref::Func(None)).unwrap_err();
    assert!(err.to_string().contains("wrong type"), "{err:#}");
    let err = table.grow(&mut store, 1, Ref::Func(None)).unwrap_err();
    assert!(err.to_string().contains("wrong type"), "{err:#}");
    let err = table.fill(&mut store, 0, Ref::Func(None), 1).unwrap_err();
    assert!(err.to_string().contains("wrong type"), "{err:#}");
    assert_eq!(table.size(&store), 3, "nothing changed");
    assert!(matches!(table.get(&mut store, 0), Some(Ref::Func(Some(_)))));

    // A host-made non-nullable table needs a non-null initial value.
    let ty = *table.ty(&store).element();
    let err = Table::new(&mut store, TableType::new(ty, 1, None), Ref::Func(None)).unwrap_err();
    assert!(err.to_string().contains("wrong type"), "{err:#}");
    let one = table.get(&mut store, 0).unwrap();
    let made = Table::new(&mut store, TableType::new(ty, 2, None), one).unwrap();
    assert!(matches!(made.get(&mut store, 1), Some(Ref::Func(Some(_)))));
}

#[test]
fn tail_calls_are_off_unless_enabled() {
    let wat = r#"(module
      (func $f (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 9))
          (else (return_call $f (i32.sub (local.get 0) (i32.const 1))))))
      (func (export "f") (param i32) (result i32) (return_call $f (local.get 0))))"#;
    let err = Module::new(&crate::harness::engine(), wat).unwrap_err();
    assert!(err.to_string().contains("tail calls"), "{err:#}");

    let mut config = crate::harness::config();
    config.wasm_tail_call(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, wat);
    let f = inst.get_typed_func::<i32, i32>(&mut store, "f").unwrap();
    // Far deeper than the stack allows for ordinary calls.
    assert_eq!(f.call(&mut store, 5_000_000).unwrap(), 9);
}
