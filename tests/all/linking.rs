//! Linking modules and host values: imports match by structure, so equal
//! function types of two modules (and of host functions) are one type to
//! `call_indirect` while others of the same arity are not; a function
//! import accepts a declared subtype only; and import mismatches show both
//! types as the text format writes them.

use crate::harness::{
    assert_trap, assert_usable, both_modes, call, call_i32, gc_engine, new_instance,
};
use trestle::{
    Engine, Extern, Func, FuncType, Global, GlobalType, Instance, Memory, MemoryType, Module,
    Mutability, Ref, RefType, Store, Table, TableType, Trap, Val, ValType,
};

/// Adversarial case: a table shared by two modules that declare the same
/// function type at different indices, with functions of other types of the
/// same arity, from wasm and the host.
#[test]
fn structurally_equal_types_of_two_modules_match_and_others_of_the_same_arity_do_not() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        // The exporter declares (i32) -> i32 at type index 1, the importer
        // at index 0.
        let exporter = Module::new(
            engine,
            r#"(module
              (type $pad (func (param f64)))
              (type $t (func (param i32) (result i32)))
              (type $u (func (param f32) (result i32)))
              (table (export "t") 4 funcref)
              (elem (i32.const 0) func $double $f2i)
              (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
              (func $f2i (type $u) (i32.trunc_f32_s (local.get 0)))
              (func (export "call_t") (param i32 i32) (result i32)
                (call_indirect (type $t) (local.get 0) (local.get 1)))
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let a = Instance::new(&mut store, &exporter, &[]).unwrap();
        let table = a.get_table(&mut store, "t").unwrap();
        let importer = Module::new(
            engine,
            r#"(module
              (type $same (func (param i32) (result i32)))
              (type $other (func (param i64) (result i32)))
              (import "a" "t" (table 4 funcref))
              (elem (table 0) (i32.const 2) func $plus_one)
              (func $plus_one (type $same) (i32.add (local.get 0) (i32.const 1)))
              (func (export "same") (param i32 i32) (result i32)
                (call_indirect (type $same) (local.get 0) (local.get 1)))
              (func (export "other") (param i32) (result i32)
                (call_indirect (type $other) (i64.const 1) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let b = Instance::new(&mut store, &importer, &[table.into()]).unwrap();
        // The importer calls the exporter's function by its own equal type,
        // and the exporter calls the importer's.
        let args = |x: i32, slot: i32| [Val::I32(x), Val::I32(slot)];
        assert_eq!(call_i32(&mut store, &b, "same", &args(21, 0)), 42);
        assert_eq!(call_i32(&mut store, &a, "call_t", &args(41, 2)), 42);
        // (f32) -> i32 and (i64) -> i32 have the arity of (i32) -> i32.
        assert_trap(
            call(&mut store, &b, "same", &args(1, 1)),
            Trap::BadSignature,
        );
        for slot in 0..3 {
            assert_trap(
                call(&mut store, &b, "other", &[Val::I32(slot)]),
                Trap::BadSignature,
            );
        }
        // A host function of the same structure matches too; one with the
        // same arity and another parameter type does not.
        let host_same = Func::wrap(&mut store, |x: i32| x + 100);
        let host_other = Func::wrap(&mut store, |x: i64| x as i32);
        table
            .set(&mut store, 3, Ref::Func(Some(host_same)))
            .unwrap();
        assert_eq!(call_i32(&mut store, &b, "same", &args(1, 3)), 101);
        assert_eq!(call_i32(&mut store, &a, "call_t", &args(2, 3)), 102);
        table
            .set(&mut store, 3, Ref::Func(Some(host_other)))
            .unwrap();
        assert_trap(
            call(&mut store, &b, "same", &args(1, 3)),
            Trap::BadSignature,
        );
        assert_eq!(call_i32(&mut store, &b, "other", &[Val::I32(3)]), 1);
        assert_usable(&mut store, &a);
        assert_usable(&mut store, &b);
    });
}

#[test]
fn a_function_import_accepts_a_declared_subtype_only() {
    let (mut store, exporter) = new_instance(
        &gc_engine(true),
        r#"(module
          (type $base (sub (func (result i32))))
          (type $derived (sub $base (func (result i32))))
          (type $plain (func (result i32)))
          (func (export "derived") (type $derived) (i32.const 1))
          (func (export "plain") (type $plain) (i32.const 2)))"#,
    );
    let importer = Module::new(
        store.engine(),
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

fn host_table(store: &mut Store<()>) -> Extern {
    let ty = TableType::new(RefType::FUNCREF, 0, None);
    Table::new(store, ty, Ref::Func(None)).unwrap().into()
}

fn host_memory(store: &mut Store<()>) -> Extern {
    Memory::new(store, MemoryType::new(1, None)).unwrap().into()
}

fn host_global(store: &mut Store<()>) -> Extern {
    let ty = GlobalType::new(ValType::I32, Mutability::Const);
    Global::new(store, ty, Val::I32(1)).unwrap().into()
}

fn host_func(store: &mut Store<()>) -> Extern {
    Func::wrap(store, |x: i32| x).into()
}

#[test]
fn import_mismatches_show_types_as_the_text_format_writes_them() {
    type Make = fn(&mut Store<()>) -> Extern;
    let cases: [(&str, Make, &str); 6] = [
        ("(table 1 10 funcref)", host_table, "(table 0 funcref)"),
        ("(memory 1 2)", host_memory, "(memory 1)"),
        ("(global (mut i32))", host_global, "(global i32)"),
        (
            "(func (param i32) (result i64))",
            host_func,
            "(func (param i32) (result i32))",
        ),
        ("(func)", host_table, "(table 0 funcref)"),
        ("(table i64 2 externref)", host_memory, "(memory 1)"),
    ];
    let mut config = crate::harness::config();
    config.wasm_memory64(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    for (import, make, found) in cases {
        let wat = format!(r#"(module (import "m" "x" {import}))"#);
        let module = Module::new(&engine, &wat).unwrap();
        let ext = make(&mut store);
        let err = Instance::new(&mut store, &module, &[ext]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("incompatible import type for `m::x`: expected {import}, found {found}"),
        );
        assert_eq!(ext.ty(&store).to_string(), found);
    }
    // The types display the same way on their own.
    assert_eq!(
        TableType::new64(RefType::EXTERNREF, 1, Some(2)).to_string(),
        "(table i64 1 2 externref)"
    );
    assert_eq!(MemoryType::new(0, None).to_string(), "(memory 0)");
    assert_eq!(
        GlobalType::new(ValType::F64, Mutability::Var).to_string(),
        "(global (mut f64))"
    );
    let ty = FuncType::new(&engine, [ValType::EXTERNREF], []);
    assert_eq!(ty.to_string(), "(func (param externref))");
}
