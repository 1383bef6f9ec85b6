//! Lazily initialized funcref tables: they agree with eagerly initialized
//! ones entry by entry, and a reused mapping of a dropped table starts
//! fresh.

use crate::harness::{instantiate, table64_engine, trap};
use trestle::{Instance, Module, Ref, Store, Trap};

#[test]
fn a_reused_table_mapping_starts_fresh() {
    // Large lazily initialized tables come from a pool of cleared mappings
    // of dropped tables: an instance must never see what an earlier one of
    // the same module wrote.
    let engine = table64_engine(true);
    let module = Module::new(
        &engine,
        r#"(module
          (type $t (func (result i32)))
          (table $tab (export "t") 20000 funcref)
          (elem (i32.const 5) $one $two)
          (func $one (type $t) i32.const 1)
          (func $two (type $t) i32.const 2)
          (elem declare func $two)
          (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
          (func (export "scribble") (param i32)
            (table.set (local.get 0) (ref.func $two))))"#,
    )
    .unwrap();
    for round in 0..4 {
        let mut store = Store::new(&engine, ());
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        let scribble = inst
            .get_typed_func::<i32, ()>(&mut store, "scribble")
            .unwrap();
        // What the segment says, and null everywhere else, whatever the
        // previous round left.
        assert_eq!(call.call(&mut store, 5).unwrap(), 1, "round {round}");
        assert_eq!(call.call(&mut store, 6).unwrap(), 2);
        for i in [0, 4, 7, 1000, 12_345, 19_999] {
            assert_eq!(
                trap(call.call(&mut store, i).unwrap_err()),
                Trap::IndirectCallToNull,
                "round {round}, entry {i}"
            );
        }
        let table = inst.get_table(&mut store, "t").unwrap();
        for i in (0..20_000).step_by(97) {
            assert!(
                table.get(&mut store, i).unwrap().is_null(),
                "round {round}: entry {i} kept a value of an earlier table"
            );
        }
        // Leave entries behind on many pages for the next round.
        for i in (0..20_000).step_by(97) {
            scribble.call(&mut store, i).unwrap();
        }
        table
            .fill(&mut store, 10_000, Ref::Func(None), 5_000)
            .unwrap();
    }
}

#[test]
fn lazy_and_eager_tables_agree_entry_by_entry() {
    let wat = r#"(module
      (type $t (func (result i32)))
      (table $tab (export "t") 100000 funcref)
      (func $a (type $t) i32.const 1)
      (func $b (type $t) i32.const 2)
      (elem (i32.const 10) $a $b $a)
      (elem (i32.const 11) $b $b)
      (elem (i32.const 99998) $a $b)
      (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#;
    let results = |lazy: bool| {
        let mut store = Store::new(&table64_engine(lazy), ());
        let inst = instantiate(&mut store, wat);
        let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        let table = inst.get_table(&mut store, "t").unwrap();
        let mut out = Vec::new();
        for i in [0, 9, 10, 11, 12, 13, 99997, 99998, 99999] {
            // Half the entries are first touched by the host, half by wasm.
            if i % 2 == 0 {
                out.push(table.get(&mut store, i as u64).map(|r| r.is_null()));
            }
            out.push(Some(call.call(&mut store, i).is_ok()));
            out.push(call.call(&mut store, i).ok().map(|v| v == 1));
        }
        out
    };
    assert_eq!(results(true), results(false));
}
