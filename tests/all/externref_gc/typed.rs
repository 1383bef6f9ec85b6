//! Typed function references through the host API: concrete element
//! types of tables, the type checks of `Table::set` and `Func::call`
//! against them, non-nullable tables and their initializers in both table
//! modes, what is off unless enabled, and the errors for GC instructions
//! not implemented.

use crate::harness::{gc_engine, instantiate, new_instance};
use trestle::{HeapType, Linker, Module, Ref, RefType, Store, Table, TableType, Val};

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
    let engine = gc_engine(true);
    let (mut store, inst) = new_instance(&engine, TYPED_TABLE);
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
        let (mut store, inst) = new_instance(&gc_engine(lazy), TYPED_TABLE);
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
fn func_call_checks_concrete_reference_arguments() {
    let (mut store, inst) = new_instance(
        &gc_engine(true),
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
    // The trap, under the wasm backtrace.
    assert!(
        format!("{err:#}").contains("null function reference"),
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
        let (mut store, inst) = new_instance(&gc_engine(lazy), NON_NULLABLE);
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
    let (mut store, inst) = new_instance(&gc_engine(true), NON_NULLABLE);
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
fn gc_instructions_outside_constant_expressions_are_unsupported_errors() {
    let engine = gc_engine(true);
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
fn typed_references_are_on_by_default_and_gc_is_off() {
    let engine = crate::harness::engine();
    Module::new(&engine, "(module (type $v (func)) (table 1 (ref null $v)))").unwrap();
    let mut config = crate::harness::config();
    config.wasm_function_references(false);
    let off = trestle::Engine::new(&config).unwrap();
    let err = Module::new(&off, "(module (type $v (func)) (table 1 (ref null $v)))").unwrap_err();
    assert!(err.to_string().contains("function references"), "{err:#}");
    let err = Module::new(&engine, "(module (type (array i8)))").unwrap_err();
    assert!(err.to_string().contains("gc"), "{err:#}");
    // A linker works with typed tables too.
    let engine = gc_engine(false);
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
