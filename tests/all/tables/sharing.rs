//! Tables shared by instances: growth by wasm or the host is seen by every
//! importer, and an imported table outlives the module that exported it.

use super::{assert_sees_table, funcref_table, import_table};
use crate::harness::{
    GROW32, assert_trap, assert_usable, both_modes, call, call_i32, new_instance, table64_engine,
};
use trestle::{Extern, Func, Instance, Module, Ref, Store, Trap, Val};

#[test]
fn growing_an_imported_table_is_seen_by_every_importer() {
    both_modes(|engine| {
        let (mut store, exporter) = new_instance(engine, GROW32);
        let table = exporter.get_table(&mut store, "t").unwrap();
        let importer_wat = r#"(module
          (type $t (func (result i32)))
          (import "m" "t" (table 1 funcref))
          (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
          (func (export "size") (result i32) table.size))"#;
        let module = Module::new(engine, importer_wat).unwrap();
        let importers: Vec<Instance> = (0..3)
            .map(|_| Instance::new(&mut store, &module, &[Extern::Table(table)]).unwrap())
            .collect();
        // Grown by wasm in the exporter, then by the host.
        let grow = exporter
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 4).unwrap(), 1);
        assert_eq!(table.grow(&mut store, 3, Ref::Func(None)).unwrap(), 5);
        for inst in &importers {
            assert_sees_table(&mut store, inst, 8, (4, 1), 7, 8);
        }
    });
}

#[test]
fn exporting_module_dropped_while_importer_runs() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let table = {
        let module = Module::new(&engine, GROW32).unwrap();
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        inst.get_table(&mut store, "t").unwrap()
        // `module` is dropped here; the instance keeps its code alive.
    };
    let importer = Module::new(
        &engine,
        r#"(module (type $t (func (result i32)))
            (import "m" "t" (table 1 funcref))
            (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
    )
    .unwrap();
    let inst = Instance::new(&mut store, &importer, &[Extern::Table(table)]).unwrap();
    let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
    for _ in 0..3 {
        assert_eq!(call.call(&mut store, 0).unwrap(), 1);
    }
}

/// Adversarial case: the host grows an imported table by hundreds of
/// elements fifty times; each time wasm calls the new last element.
#[test]
fn call_indirect_through_an_imported_table_after_the_host_grows_it() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let table = funcref_table(&mut store, 1, None);
        let inst = import_table(&mut store, table);
        for round in 1..=50i32 {
            let f = Func::wrap(&mut store, move || round);
            let old = table.grow(&mut store, 331, Ref::Func(Some(f))).unwrap();
            let last = (old + 330) as i32;
            assert_eq!(
                call_i32(&mut store, &inst, "call", &[Val::I32(last)]),
                round
            );
            assert_eq!(
                call_i32(&mut store, &inst, "call", &[Val::I32(old as i32)]),
                round
            );
            let r = call(&mut store, &inst, "call", &[Val::I32(last + 1)]);
            assert_trap(r, Trap::UndefinedElement);
        }
        assert_usable(&mut store, &inst);
    });
}
