//! The resource limiter: it refuses table growth from wasm, from the host
//! and at instantiation without leaving anything half made, and it is
//! asked about every growth, even one compiled code could do in place.

use crate::harness::{GROW32, RecordingLimiter, both_modes, trap};
use trestle::{Instance, Module, Ref, RefType, ResourceLimiter, Store, Table, TableType, Trap};

#[derive(Default)]
struct Limits {
    max_table_elements: usize,
    refused: usize,
    failed: usize,
}

impl ResourceLimiter for Limits {
    fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> trestle::Result<bool> {
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> trestle::Result<bool> {
        let ok = desired <= self.max_table_elements;
        if !ok {
            self.refused += 1;
        }
        Ok(ok)
    }

    fn table_grow_failed(&mut self, _error: trestle::Error) -> trestle::Result<()> {
        self.failed += 1;
        Ok(())
    }
}

#[test]
fn limiter_refuses_growth_and_instantiation_without_leaks() {
    both_modes(|engine| {
        let mut store = Store::new(
            engine,
            Limits {
                max_table_elements: 5,
                ..Limits::default()
            },
        );
        store.limiter(|l| l as &mut dyn ResourceLimiter);
        let module = Module::new(engine, GROW32).unwrap();
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
        assert_eq!(grow.call(&mut store, 4).unwrap(), 1);
        assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
        assert_eq!(store.data().refused, 1);
        let table = inst.get_table(&mut store, "t").unwrap();
        assert!(table.grow(&mut store, 1, Ref::Func(None)).is_err());
        assert_eq!(store.data().refused, 2);
        assert_eq!(table.size(&store), 5);

        // At instantiation: a module with a memory and a too-large table.
        let before = store.__object_counts();
        let big = Module::new(engine, "(module (memory 1) (table 6 funcref))").unwrap();
        let err = Instance::new(&mut store, &big, &[]).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(store.__object_counts(), before, "nothing half-registered");
        assert!(
            Table::new(
                &mut store,
                TableType::new(RefType::FUNCREF, 6, None),
                Ref::Func(None)
            )
            .is_err()
        );
        // Growth past the declared maximum that the limiter allowed.
        store.data_mut().max_table_elements = 100;
        assert_eq!(grow.call(&mut store, 6).unwrap(), -1);
        assert_eq!(store.data().failed, 1);
    });
}

#[test]
fn limiter_installed_after_growth_is_asked_on_every_growth_from_wasm() {
    // Compiled code grows a table in place while its storage has room; a
    // limiter installed later must still see every growth, and the table
    // must read back the same either way.
    both_modes(|engine| {
        let mut store = Store::new(engine, RecordingLimiter::default());
        let module = Module::new(
            engine,
            r#"(module
              (type $t (func (result i32)))
              (table $tab (export "t") 1 1000 funcref)
              (elem (i32.const 0) $one)
              (func $one (type $t) i32.const 1)
              (func (export "grow") (param i32) (result i32) (table.grow (ref.func $one) (local.get 0)))
              (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
        )
        .unwrap();
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
        let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        // Without a limiter: the first growth reallocates with room to
        // spare, the next ones happen in place.
        for expected in 1..20 {
            assert_eq!(grow.call(&mut store, 1).unwrap(), expected);
            assert_eq!(call.call(&mut store, expected).unwrap(), 1);
        }
        assert!(store.data().table_asks.is_empty());
        store.limiter(|c| c as &mut dyn ResourceLimiter);
        for k in 0..10 {
            assert_eq!(grow.call(&mut store, 1).unwrap(), 20 + k);
        }
        assert_eq!(grow.call(&mut store, 0).unwrap(), 30);
        let asks = &store.data().table_asks;
        assert_eq!(asks.len(), 10, "every non-empty growth asks: {asks:?}");
        assert_eq!(asks[0], (20, 21));
        assert_eq!(asks[9], (29, 30));
        let table = inst.get_table(&mut store, "t").unwrap();
        assert_eq!(table.size(&store), 30);
        assert_eq!(call.call(&mut store, 29).unwrap(), 1);
        assert_eq!(
            trap(call.call(&mut store, 30).unwrap_err()),
            Trap::UndefinedElement
        );
    });
}
