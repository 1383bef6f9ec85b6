//! Tables: every documented error and panic of the `Table` API, 64-bit
//! tables, the table cases of `shared/ADVERSARIAL.md` (table.grow,
//! table.copy/fill/init/elem.drop, sharing across instances and stores),
//! lazy and eager initialization, and the resource limiter.

use std::panic::{AssertUnwindSafe, catch_unwind};
use trestle::{
    AsContextMut, CTable, Config, Engine, Extern, ExternRef, Func, Instance, Linker, Module, Ref,
    RefType, ResourceLimiter, Store, Table, TableType, Trap, Val,
};

fn engine(lazy: bool) -> Engine {
    let mut config = Config::new();
    config.table_lazy_init(lazy).wasm_memory64(true);
    Engine::new(&config).unwrap()
}

/// Runs `f` once with lazy and once with eager table initialization.
fn both_modes(f: impl Fn(&Engine)) {
    for lazy in [true, false] {
        f(&engine(lazy));
    }
}

fn instantiate(store: &mut Store<()>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    Instance::new(store, &module, &[]).unwrap()
}

fn trap(err: trestle::Error) -> Trap {
    *err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {err:#}"))
}

fn funcref_table(store: &mut Store<()>, min: u32, max: Option<u32>) -> Table {
    Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, min, max),
        Ref::Func(None),
    )
    .unwrap()
}

fn panics(f: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

// ---- Host API: documented errors and panics -----------------------------

#[test]
fn table_new_rejects_bad_init_bad_limits_and_foreign_values() {
    let engine = engine(true);
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
    let engine = engine(true);
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
    let engine = engine(true);
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
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
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
    let engine = engine(true);
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
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
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

// ---- 64-bit tables ------------------------------------------------------

const TABLE64: &str = r#"
(module
  (type $t (func (result i32)))
  (table $tab (export "t") i64 4 funcref)
  (elem (table $tab) (i64.const 0) func $seven)
  (func $seven (type $t) i32.const 7)
  (func (export "call") (param i64) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "grow") (param i64) (result i64) (table.grow (ref.null func) (local.get 0)))
  (func (export "size") (result i64) table.size)
  (func (export "get_is_null") (param i64) (result i32) (ref.is_null (table.get (local.get 0)))))
"#;

#[test]
fn table64_indices_are_not_truncated() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, TABLE64);
        let call = inst.get_typed_func::<i64, i32>(&mut store, "call").unwrap();
        assert_eq!(call.call(&mut store, 0).unwrap(), 7);
        for index in [4, 1 << 32, (1 << 32) + 1, i64::MAX, -1] {
            assert_eq!(
                trap(call.call(&mut store, index).unwrap_err()),
                Trap::UndefinedElement,
                "index {index:#x}"
            );
        }
        assert_eq!(
            trap(call.call(&mut store, 1).unwrap_err()),
            Trap::IndirectCallToNull
        );
        let get = inst
            .get_typed_func::<i64, i32>(&mut store, "get_is_null")
            .unwrap();
        assert_eq!(
            trap(get.call(&mut store, 1 << 32).unwrap_err()),
            Trap::TableOutOfBounds
        );
        let table = inst.get_table(&mut store, "t").unwrap();
        assert!(table.ty(&store).is_64());
        assert!(table.get(&mut store, 1 << 32).is_none());
    });
}

#[test]
fn table64_grow_near_2_pow_61_and_2_pow_63_fails_cleanly() {
    let mut store = Store::new(&engine(true), ());
    let inst = instantiate(&mut store, TABLE64);
    let grow = inst.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
    let size = inst.get_typed_func::<(), i64>(&mut store, "size").unwrap();
    for delta in [1 << 61, (1 << 61) + 1, 1 << 62, i64::MAX, -1, i64::MIN] {
        assert_eq!(
            grow.call(&mut store, delta).unwrap(),
            -1,
            "delta {delta:#x}"
        );
    }
    assert_eq!(grow.call(&mut store, 2).unwrap(), 4);
    assert_eq!(size.call(&mut store, ()).unwrap(), 6);
}

// ---- table.grow (ADVERSARIAL) -------------------------------------------

const GROW32: &str = r#"
(module
  (type $t (func (result i32)))
  (table $tab (export "t") 1 10 funcref)
  (elem (i32.const 0) $one)
  (func $one (type $t) i32.const 1)
  (func (export "grow") (param i32) (result i32) (table.grow (ref.func $one) (local.get 0)))
  (func (export "grow_null") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "size") (result i32) table.size))
"#;

#[test]
fn table_grow_delta_zero_max_and_wrapping() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, GROW32);
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
fn call_indirect_right_after_grow_set_and_copy() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(
            &mut store,
            r#"(module
              (type $t (func (result i32)))
              (table $tab 1 funcref)
              (elem (i32.const 0) $a)
              (elem declare func $b)
              (func $a (type $t) i32.const 10)
              (func $b (type $t) i32.const 20)
              (func (export "run") (result i32)
                (local $sum i32)
                ;; grow by 1000 with $b, then call the last new slot
                (drop (table.grow (ref.func $b) (i32.const 1000)))
                (local.set $sum (call_indirect (type $t) (i32.const 1000)))
                ;; set slot 500 to $a and call it
                (table.set (i32.const 500) (ref.func $a))
                (local.set $sum (i32.add (local.get $sum) (call_indirect (type $t) (i32.const 500))))
                ;; copy slot 0 ($a) over slot 1 and call it
                (table.copy (i32.const 1) (i32.const 0) (i32.const 1))
                (i32.add (local.get $sum) (call_indirect (type $t) (i32.const 1)))))"#,
        );
        let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 40);
    });
}

#[test]
fn growing_an_imported_table_is_seen_by_every_importer() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let exporter = instantiate(&mut store, GROW32);
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
            let size = inst.get_typed_func::<(), i32>(&mut store, "size").unwrap();
            let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
            assert_eq!(size.call(&mut store, ()).unwrap(), 8);
            assert_eq!(call.call(&mut store, 4).unwrap(), 1);
            assert_eq!(
                trap(call.call(&mut store, 7).unwrap_err()),
                Trap::IndirectCallToNull
            );
            assert_eq!(
                trap(call.call(&mut store, 8).unwrap_err()),
                Trap::UndefinedElement
            );
        }
    });
}

#[test]
fn exporting_module_dropped_while_importer_runs() {
    let engine = engine(true);
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

// ---- table.copy / fill / init / elem.drop (ADVERSARIAL) -----------------

const BULK: &str = r#"
(module
  (type $t (func (result i32)))
  (table $a (export "a") 8 funcref)
  (table $b 4 funcref)
  (table $e 4 externref)
  (func $f0 (type $t) i32.const 0)
  (func $f1 (type $t) i32.const 1)
  (func $f2 (type $t) i32.const 2)
  (elem $active (table $a) (i32.const 0) func $f0 $f1 $f2)
  (elem $passive func $f2 $f1 $f0)
  (elem $declared declare func $f0)
  (elem $ext externref (ref.null extern) (ref.null extern))
  (func (export "copy") (param i32 i32 i32) (table.copy $a $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_ab") (param i32 i32 i32) (table.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32) (table.fill $a (local.get 0) (ref.func $f1) (local.get 1)))
  (func (export "init_passive") (param i32 i32 i32) (table.init $a $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_active") (param i32 i32 i32) (table.init $a $active (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_declared") (param i32 i32 i32) (table.init $a $declared (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_ext") (param i32 i32 i32) (table.init $e $ext (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop_passive") (elem.drop $passive))
  (func (export "call") (param i32) (result i32) (call_indirect $a (type $t) (local.get 0)))
  (func (export "call_b") (param i32) (result i32) (call_indirect $b (type $t) (local.get 0))))
"#;

struct Bulk {
    store: Store<()>,
    inst: Instance,
}

impl Bulk {
    fn new(engine: &Engine) -> Self {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, BULK);
        Bulk { store, inst }
    }

    fn run(&mut self, name: &str, args: &[i32]) -> Result<(), Trap> {
        let f = self.inst.get_func(&mut self.store, name).unwrap();
        let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        f.call(&mut self.store, &args, &mut []).map_err(trap)
    }

    fn slot(&mut self, name: &str, i: i32) -> Result<i32, Trap> {
        let f = self
            .inst
            .get_typed_func::<i32, i32>(&mut self.store, name)
            .unwrap();
        f.call(&mut self.store, i).map_err(trap)
    }

    fn slots(&mut self) -> Vec<Option<i32>> {
        (0..8).map(|i| self.slot("call", i).ok()).collect()
    }
}

#[test]
fn table_bulk_offset_plus_length_wrapping_traps() {
    both_modes(|engine| {
        let mut b = Bulk::new(engine);
        let big = 0xFFFF_FFF0u32 as i32;
        assert_eq!(b.run("copy", &[big, 0, 0x20]), Err(Trap::TableOutOfBounds));
        assert_eq!(b.run("copy", &[0, big, 0x20]), Err(Trap::TableOutOfBounds));
        assert_eq!(b.run("fill", &[big, 0x20]), Err(Trap::TableOutOfBounds));
        assert_eq!(
            b.run("init_passive", &[big, 0, 0x20]),
            Err(Trap::TableOutOfBounds)
        );
        assert_eq!(b.slots()[..3], [Some(0), Some(1), Some(2)]);
    });
}

#[test]
fn table_bulk_length_zero_at_size_is_allowed_and_past_size_traps() {
    both_modes(|engine| {
        let mut b = Bulk::new(engine);
        assert_eq!(b.run("copy", &[8, 0, 0]), Ok(()));
        assert_eq!(b.run("copy", &[0, 8, 0]), Ok(()));
        assert_eq!(b.run("fill", &[8, 0]), Ok(()));
        assert_eq!(b.run("init_passive", &[8, 3, 0]), Ok(()));
        assert_eq!(b.run("copy", &[9, 0, 0]), Err(Trap::TableOutOfBounds));
        assert_eq!(b.run("copy", &[0, 9, 0]), Err(Trap::TableOutOfBounds));
        assert_eq!(b.run("fill", &[9, 0]), Err(Trap::TableOutOfBounds));
        assert_eq!(
            b.run("init_passive", &[9, 0, 0]),
            Err(Trap::TableOutOfBounds)
        );
        assert_eq!(
            b.run("init_passive", &[0, 4, 0]),
            Err(Trap::TableOutOfBounds)
        );
    });
}

#[test]
fn table_copy_overlapping_both_directions_and_between_tables() {
    both_modes(|engine| {
        let mut b = Bulk::new(engine);
        b.run("copy", &[1, 0, 3]).unwrap();
        assert_eq!(b.slots()[..5], [Some(0), Some(0), Some(1), Some(2), None]);
        b.run("copy", &[0, 1, 3]).unwrap();
        assert_eq!(b.slots()[..5], [Some(0), Some(1), Some(2), Some(2), None]);
        b.run("copy_ab", &[0, 1, 3]).unwrap();
        assert_eq!(b.slot("call_b", 0), Ok(1));
        assert_eq!(b.slot("call_b", 2), Ok(2));
        assert_eq!(b.slot("call_b", 3), Err(Trap::IndirectCallToNull));
    });
}

#[test]
fn table_copy_between_imported_and_local_tables() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let exporter = instantiate(&mut store, BULK);
        let a = exporter.get_table(&mut store, "a").unwrap();
        let module = Module::new(
            engine,
            r#"(module
              (type $t (func (result i32)))
              (import "m" "a" (table $imp 8 funcref))
              (table $local 8 funcref)
              (func (export "to_local") (table.copy $local $imp (i32.const 4) (i32.const 0) (i32.const 3)))
              (func (export "to_imported") (table.copy $imp $local (i32.const 5) (i32.const 4) (i32.const 3)))
              (func (export "call_local") (param i32) (result i32) (call_indirect $local (type $t) (local.get 0))))"#,
        )
        .unwrap();
        let inst = Instance::new(&mut store, &module, &[Extern::Table(a)]).unwrap();
        let run = |store: &mut Store<()>, name: &str| {
            inst.get_typed_func::<(), ()>(&mut *store, name)
                .unwrap()
                .call(store, ())
                .unwrap()
        };
        run(&mut store, "to_local");
        let call_local = inst
            .get_typed_func::<i32, i32>(&mut store, "call_local")
            .unwrap();
        assert_eq!(call_local.call(&mut store, 6).unwrap(), 2);
        run(&mut store, "to_imported");
        let call = exporter
            .get_typed_func::<i32, i32>(&mut store, "call")
            .unwrap();
        assert_eq!(call.call(&mut store, 5).unwrap(), 0);
        assert_eq!(call.call(&mut store, 7).unwrap(), 2);
    });
}

#[test]
fn table_init_from_dropped_active_and_declared_segments() {
    both_modes(|engine| {
        let mut b = Bulk::new(engine);
        b.run("init_passive", &[5, 0, 3]).unwrap();
        assert_eq!(b.slots()[5..], [Some(2), Some(1), Some(0)]);
        // Active and declared segments are dropped: only length 0 works.
        assert_eq!(b.run("init_active", &[0, 0, 0]), Ok(()));
        assert_eq!(
            b.run("init_active", &[0, 0, 1]),
            Err(Trap::TableOutOfBounds)
        );
        assert_eq!(b.run("init_declared", &[0, 0, 0]), Ok(()));
        assert_eq!(
            b.run("init_declared", &[0, 0, 1]),
            Err(Trap::TableOutOfBounds)
        );
        // An externref table from an externref segment.
        b.run("init_ext", &[0, 0, 2]).unwrap();
        // elem.drop twice is fine; afterwards the segment acts as empty.
        b.run("drop_passive", &[]).unwrap();
        b.run("drop_passive", &[]).unwrap();
        assert_eq!(b.run("init_passive", &[0, 0, 0]), Ok(()));
        assert_eq!(
            b.run("init_passive", &[0, 0, 1]),
            Err(Trap::TableOutOfBounds)
        );
        assert_eq!(b.slots()[5..], [Some(2), Some(1), Some(0)]);
    });
}

#[test]
fn active_segments_that_do_not_fit_leave_earlier_ones_applied() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let exporter = instantiate(&mut store, BULK);
        let a = exporter.get_table(&mut store, "a").unwrap();
        let before = store.__object_counts();
        let module = Module::new(
            engine,
            r#"(module
              (type $t (func (result i32)))
              (import "m" "a" (table 8 funcref))
              (func $nine (type $t) i32.const 9)
              (elem (i32.const 7) $nine)
              (elem (i32.const 8) $nine))"#,
        )
        .unwrap();
        let err = Instance::new(&mut store, &module, &[Extern::Table(a)]).unwrap_err();
        assert_eq!(trap(err), Trap::TableOutOfBounds);
        let call = exporter
            .get_typed_func::<i32, i32>(&mut store, "call")
            .unwrap();
        assert_eq!(call.call(&mut store, 7).unwrap(), 9);
        // The failed instance was registered (its segment's effect is
        // visible) but made no tables or memories of its own.
        let after = store.__object_counts();
        assert_eq!(after[1..3], before[1..3]);
    });
}

// ---- Resource limiter -----------------------------------------------------

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

/// A limiter that allows everything and counts what it is asked.
#[derive(Default)]
struct Counting {
    table_asks: Vec<(usize, usize)>,
}

impl ResourceLimiter for Counting {
    fn memory_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> trestle::Result<bool> {
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> trestle::Result<bool> {
        self.table_asks.push((current, desired));
        Ok(true)
    }
}

#[test]
fn limiter_installed_after_growth_is_asked_on_every_growth_from_wasm() {
    // Compiled code grows a table in place while its storage has room; a
    // limiter installed later must still see every growth, and the table
    // must read back the same either way.
    both_modes(|engine| {
        let mut store = Store::new(engine, Counting::default());
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

#[test]
fn in_place_growth_writes_the_init_value_and_respects_the_maximum() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(
            &mut store,
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
        );
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
    });
}

#[test]
fn a_reused_table_mapping_starts_fresh() {
    // Large lazily initialized tables come from a pool of cleared mappings
    // of dropped tables: an instance must never see what an earlier one of
    // the same module wrote.
    let engine = engine(true);
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
fn huge_declared_minimums_are_clean_instantiation_errors() {
    let engine = engine(true);
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

// ---- Lazy initialization --------------------------------------------------

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
        let mut store = Store::new(&engine(lazy), ());
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

// ---- Externref lifetime -----------------------------------------------------

mod externref {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use trestle::{Caller, Global, GlobalType, Mutability, RootScope, ValType};

    /// A payload that counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    const EXT: &str = r#"(module
      (table $t (export "t") 4 externref)
      (elem $seg externref (ref.null extern) (ref.null extern))
      (global $g (export "g") (mut externref) (ref.null extern))
      (func (export "set") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
      (func (export "get") (param i32) (result externref) (table.get $t (local.get 0)))
      (func (export "fill") (param i32 externref i32) (table.fill $t (local.get 0) (local.get 1) (local.get 2)))
      (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
      (func (export "grow") (param externref i32) (result i32) (table.grow $t (local.get 0) (local.get 1)))
      (func (export "init") (param i32) (table.init $t $seg (local.get 0) (i32.const 0) (i32.const 2)))
      (func (export "keep") (param externref) (global.set $g (local.get 0)))
      (func (export "many") (param externref externref externref externref)
        (result externref externref externref externref externref externref externref externref)
        local.get 0 local.get 1 local.get 2 local.get 3
        local.get 3 local.get 2 local.get 1 local.get 0))"#;

    fn scenario(f: impl Fn(&mut Store<()>, &Instance, &dyn Fn(&mut Store<()>) -> ExternRef)) {
        let created = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        {
            let engine = super::engine(true);
            let mut store = Store::new(&engine, ());
            let inst = instantiate(&mut store, EXT);
            let make = |store: &mut Store<()>| {
                created.fetch_add(1, SeqCst);
                ExternRef::new(store, Counted(dropped.clone())).unwrap()
            };
            f(&mut store, &inst, &make);
            // Nothing held by the table, a global or the host is freed
            // before the store goes.
            assert_eq!(dropped.load(SeqCst), 0);
        }
        assert_eq!(dropped.load(SeqCst), created.load(SeqCst));
        assert!(created.load(SeqCst) > 0);
    }

    fn call(store: &mut Store<()>, inst: &Instance, name: &str, args: &[Val]) -> Vec<Val> {
        call_in(store, inst, name, args)
    }

    /// [`call`] in any context, a [`RootScope`] for example.
    fn call_in(
        mut store: impl AsContextMut<Data = ()>,
        inst: &Instance,
        name: &str,
        args: &[Val],
    ) -> Vec<Val> {
        let f = inst.get_func(&mut store, name).unwrap();
        let mut results = vec![Val::I32(0); f.ty(&store).results().len()];
        f.call(&mut store, args, &mut results).unwrap();
        results
    }

    #[test]
    fn externref_set_and_overwrite() {
        scenario(|store, inst, make| {
            for i in 0..10 {
                let r = make(store);
                call(
                    store,
                    inst,
                    "set",
                    &[Val::I32(i % 4), Val::ExternRef(Some(r))],
                );
                let back = call(store, inst, "get", &[Val::I32(i % 4)]);
                assert_eq!(back[0], Val::ExternRef(Some(r)));
            }
        });
    }

    #[test]
    fn externref_fill_copy_grow_init() {
        scenario(|store, inst, make| {
            let a = make(store);
            call(
                store,
                inst,
                "fill",
                &[Val::I32(0), Val::ExternRef(Some(a)), Val::I32(4)],
            );
            call(
                store,
                inst,
                "copy",
                &[Val::I32(1), Val::I32(0), Val::I32(3)],
            );
            let b = make(store);
            let old = call(store, inst, "grow", &[Val::ExternRef(Some(b)), Val::I32(2)]);
            assert_eq!(old[0], Val::I32(4));
            call(store, inst, "init", &[Val::I32(0)]);
            let got = call(store, inst, "get", &[Val::I32(5)]);
            assert_eq!(got[0], Val::ExternRef(Some(b)));
            let got = call(store, inst, "get", &[Val::I32(0)]);
            assert_eq!(got[0], Val::ExternRef(None));
        });
    }

    #[test]
    fn externref_many_returned_at_once_and_held_by_a_global() {
        scenario(|store, inst, make| {
            let refs: Vec<ExternRef> = (0..4).map(|_| make(store)).collect();
            let args: Vec<Val> = refs.iter().map(|r| Val::ExternRef(Some(*r))).collect();
            let out = call(store, inst, "many", &args);
            assert_eq!(out.len(), 8);
            assert_eq!(out[0], args[0]);
            assert_eq!(out[7], args[0]);
            assert_eq!(out[4], args[3]);
            call(store, inst, "keep", &[args[2]]);
            let g = inst.get_global(&mut *store, "g").unwrap();
            assert_eq!(g.get(&mut *store), args[2]);
            let data = refs[2].data(&*store).unwrap().unwrap();
            assert!(data.downcast_ref::<Counted>().is_some());
        });
    }

    #[test]
    fn externref_in_a_live_frame_survives_host_churn() {
        scenario(|store, _inst, make| {
            let engine = store.engine().clone();
            let module = Module::new(
                &engine,
                r#"(module
                  (import "host" "churn" (func $churn))
                  (func (export "hold") (param externref) (result externref)
                    call $churn
                    local.get 0))"#,
            )
            .unwrap();
            let mut linker = Linker::new(&engine);
            linker
                .func_wrap("host", "churn", |mut caller: trestle::Caller<'_, ()>| {
                    for i in 0..1000u32 {
                        let _ = ExternRef::new(&mut caller, i).unwrap();
                    }
                })
                .unwrap();
            let inst = linker.instantiate(&mut *store, &module).unwrap();
            let held = make(store);
            let out = call(store, &inst, "hold", &[Val::ExternRef(Some(held))]);
            assert_eq!(out[0], Val::ExternRef(Some(held)));
            let data = held.data(&*store).unwrap().unwrap();
            assert!(data.downcast_ref::<Counted>().is_some());
        });
    }

    #[test]
    fn externref_from_another_store_is_rejected_or_panics() {
        let engine = super::engine(true);
        let mut store = Store::new(&engine, ());
        let mut other = Store::new(&engine, ());
        let inst = instantiate(&mut store, EXT);
        let foreign = ExternRef::new(&mut other, 5u8).unwrap();
        let set = inst.get_func(&mut store, "set").unwrap();
        let err = set
            .call(
                &mut store,
                &[Val::I32(0), Val::ExternRef(Some(foreign))],
                &mut [],
            )
            .unwrap_err();
        assert!(err.to_string().contains("another store"), "{err}");
        assert!(super::panics(|| {
            let _ = foreign.data(&store);
        }));
    }

    // ---- Collection: early release, roots and scopes ----------------------

    /// Creation and drop counters for [`Counted`] payloads.
    #[derive(Default)]
    struct Counts {
        created: Arc<AtomicUsize>,
        dropped: Arc<AtomicUsize>,
    }

    impl Counts {
        /// A new value, rooted by the current scope of `store`.
        fn make(&self, store: impl AsContextMut) -> ExternRef {
            self.created.fetch_add(1, SeqCst);
            ExternRef::new(store, Counted(self.dropped.clone())).unwrap()
        }

        /// A new value whose scope has ended already: only what it is
        /// handed to next keeps it past the next collection.
        fn unrooted(&self, store: &mut Store<()>) -> ExternRef {
            self.make(&mut RootScope::new(store))
        }

        fn created(&self) -> usize {
            self.created.load(SeqCst)
        }

        fn dropped(&self) -> usize {
            self.dropped.load(SeqCst)
        }
    }

    /// Runs `f` on a fresh store with `EXT` instantiated, then checks that
    /// dropping the store drops every value not dropped before, once.
    fn gc_scenario(f: impl FnOnce(&mut Store<()>, &Instance, &Counts)) {
        let counts = Counts::default();
        {
            let engine = super::engine(true);
            let mut store = Store::new(&engine, ());
            let inst = instantiate(&mut store, EXT);
            f(&mut store, &inst, &counts);
            assert_eq!(
                store.__externref_live(),
                counts.created() - counts.dropped(),
                "live values"
            );
        }
        assert!(counts.created() > 0);
        assert_eq!(counts.dropped(), counts.created(), "drops == creations");
    }

    fn ext(r: ExternRef) -> Val {
        Val::ExternRef(Some(r))
    }

    /// Whether `r` still names a live [`Counted`] value.
    fn alive(store: &Store<()>, r: ExternRef) -> bool {
        match r.data(store) {
            Ok(v) => v.unwrap().downcast_ref::<Counted>().is_some(),
            Err(e) => {
                assert!(e.to_string().contains("collected"), "{e}");
                false
            }
        }
    }

    #[test]
    fn externref_overwritten_by_table_set_from_wasm_is_released() {
        gc_scenario(|store, inst, c| {
            let a = c.unrooted(store);
            call(&mut *store, inst, "set", &[Val::I32(1), ext(a)]);
            store.gc();
            assert!(alive(store, a), "the table holds it");
            let b = c.unrooted(store);
            call(&mut *store, inst, "set", &[Val::I32(1), ext(b)]);
            assert_eq!(c.dropped(), 0, "nothing is freed before a collection");
            store.gc();
            assert_eq!(c.dropped(), 1);
            assert!(!alive(store, a));
            assert!(alive(store, b));
            call(
                &mut *store,
                inst,
                "set",
                &[Val::I32(1), Val::ExternRef(None)],
            );
            store.gc();
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn externref_overwritten_by_host_table_set_is_released() {
        gc_scenario(|store, inst, c| {
            let t = inst.get_table(&mut *store, "t").unwrap();
            let a = c.unrooted(store);
            t.set(&mut *store, 2, a.into()).unwrap();
            store.gc();
            assert!(alive(store, a));
            let b = c.unrooted(store);
            t.set(&mut *store, 2, b.into()).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 1);
            assert!(!alive(store, a));
            // Read back in a scope: the handle is b's, and b stays in the
            // table after the scope ends.
            {
                let mut scope = RootScope::new(&mut *store);
                assert_eq!(t.get(&mut scope, 2), Some(Ref::Extern(Some(b))));
            }
            store.gc();
            assert!(alive(store, b));
            // A host table holds values too.
            let ty = TableType::new(RefType::EXTERNREF, 3, None);
            let host = Table::new(&mut *store, ty, Ref::Extern(Some(b))).unwrap();
            t.set(&mut *store, 2, Ref::Extern(None)).unwrap();
            store.gc();
            assert!(alive(store, b), "the host table holds it");
            host.fill(&mut *store, 0, Ref::Extern(None), 3).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn externref_overwritten_by_table_fill_is_released() {
        gc_scenario(|store, inst, c| {
            let a = c.unrooted(store);
            call(
                &mut *store,
                inst,
                "fill",
                &[Val::I32(0), ext(a), Val::I32(4)],
            );
            let b = c.unrooted(store);
            // Overwrites three of the four copies of `a`: it stays.
            call(
                &mut *store,
                inst,
                "fill",
                &[Val::I32(0), ext(b), Val::I32(3)],
            );
            store.gc();
            assert_eq!(c.dropped(), 0);
            assert!(alive(store, a) && alive(store, b));
            let t = inst.get_table(&mut *store, "t").unwrap();
            t.fill(&mut *store, 3, Ref::Extern(None), 1).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 1);
            assert!(!alive(store, a));
            call(
                &mut *store,
                inst,
                "fill",
                &[Val::I32(0), Val::ExternRef(None), Val::I32(4)],
            );
            store.gc();
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn externref_overwritten_by_table_copy_is_released() {
        gc_scenario(|store, inst, c| {
            let a = c.unrooted(store);
            let b = c.unrooted(store);
            call(&mut *store, inst, "set", &[Val::I32(0), ext(a)]);
            call(&mut *store, inst, "set", &[Val::I32(3), ext(b)]);
            // t[3] = t[0]: b is gone from the table, a is there twice.
            call(
                &mut *store,
                inst,
                "copy",
                &[Val::I32(3), Val::I32(0), Val::I32(1)],
            );
            store.gc();
            assert_eq!(c.dropped(), 1);
            assert!(!alive(store, b));
            assert!(alive(store, a));
            // t[0..2] = t[1..3] (nulls): one copy of a is left, at 3.
            call(
                &mut *store,
                inst,
                "copy",
                &[Val::I32(0), Val::I32(1), Val::I32(2)],
            );
            store.gc();
            assert!(alive(store, a));
            let t = inst.get_table(&mut *store, "t").unwrap();
            Table::copy(&mut *store, &t, 3, &t, 2, 1).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn externref_grown_in_is_kept_and_overwritten_after_grow_is_released() {
        gc_scenario(|store, inst, c| {
            let a = c.unrooted(store);
            let old = call(&mut *store, inst, "grow", &[ext(a), Val::I32(2)]);
            assert_eq!(old[0], Val::I32(4));
            store.gc();
            assert!(alive(store, a), "the grown-in slots hold it");
            let t = inst.get_table(&mut *store, "t").unwrap();
            let b = c.unrooted(store);
            assert_eq!(t.grow(&mut *store, 3, b.into()).unwrap(), 6);
            store.gc();
            assert!(alive(store, a) && alive(store, b));
            assert_eq!(c.dropped(), 0);
            // Overwrite both of a's slots (from wasm and the host), and all
            // but one of b's.
            call(
                &mut *store,
                inst,
                "set",
                &[Val::I32(4), Val::ExternRef(None)],
            );
            t.set(&mut *store, 5, Ref::Extern(None)).unwrap();
            t.fill(&mut *store, 6, Ref::Extern(None), 2).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 1);
            assert!(!alive(store, a));
            assert!(alive(store, b));
            {
                let mut scope = RootScope::new(&mut *store);
                let got = call_in(&mut scope, inst, "get", &[Val::I32(8)]);
                assert_eq!(got[0], ext(b));
            }
            // Growing by 0 or failing to grow keeps the init value nowhere.
            let d = c.unrooted(store);
            assert_eq!(t.grow(&mut *store, 0, d.into()).unwrap(), 9);
            store.gc();
            assert!(!alive(store, d));
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn externref_overwritten_by_table_init_is_released() {
        gc_scenario(|store, inst, c| {
            let a = c.unrooted(store);
            let b = c.unrooted(store);
            call(&mut *store, inst, "set", &[Val::I32(1), ext(a)]);
            call(&mut *store, inst, "set", &[Val::I32(2), ext(b)]);
            // $seg is two nulls, copied to t[1..3].
            call(&mut *store, inst, "init", &[Val::I32(1)]);
            store.gc();
            assert_eq!(c.dropped(), 2);
            assert!(!alive(store, a) && !alive(store, b));
        });
    }

    #[test]
    fn externref_overwritten_in_a_global_is_released() {
        gc_scenario(|store, inst, c| {
            let g = inst.get_global(&mut *store, "g").unwrap();
            let a = c.unrooted(store);
            call(&mut *store, inst, "keep", &[ext(a)]);
            store.gc();
            assert!(alive(store, a), "the global holds it");
            let b = c.unrooted(store);
            g.set(&mut *store, ext(b)).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 1);
            assert!(!alive(store, a));
            assert!(alive(store, b));
            call(&mut *store, inst, "keep", &[Val::ExternRef(None)]);
            store.gc();
            assert_eq!(c.dropped(), 2);
            // A host global holds its value too, until overwritten.
            let d = c.unrooted(store);
            let ty = GlobalType::new(ValType::EXTERNREF, Mutability::Var);
            let host = Global::new(&mut *store, ty, ext(d)).unwrap();
            store.gc();
            assert!(alive(store, d));
            host.set(&mut *store, Val::ExternRef(None)).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 3);
        });
    }

    #[test]
    fn externref_many_arguments_and_results_in_one_call() {
        const N: usize = 24;
        gc_scenario(|store, _inst, c| {
            let params = "externref ".repeat(N);
            let body: String = (0..N).rev().map(|i| format!("local.get {i} ")).collect();
            let wat = format!(
                "(module (func (export \"rev\") (param {params}) (result {params}) {body}))"
            );
            let inst = instantiate(store, &wat);
            let refs: Vec<ExternRef> = (0..N).map(|_| c.unrooted(store)).collect();
            let args: Vec<Val> = refs.iter().map(|r| ext(*r)).collect();
            {
                let mut scope = RootScope::new(&mut *store);
                let out = call_in(&mut scope, &inst, "rev", &args);
                scope.as_context_mut().gc();
                for (i, v) in out.iter().enumerate() {
                    assert_eq!(*v, args[N - 1 - i]);
                }
                // The results are rooted by the scope.
                assert_eq!(c.dropped(), 0);
            }
            store.gc();
            assert_eq!(c.dropped(), N);
            // The same through `TypedFunc` and the `many` export.
            let inst = instantiate(store, EXT);
            let many = inst
                .get_typed_func::<(
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                ), (
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                    Option<ExternRef>,
                )>(&mut *store, "many")
                .unwrap();
            let r: Vec<ExternRef> = (0..4).map(|_| c.unrooted(store)).collect();
            {
                let mut scope = RootScope::new(&mut *store);
                let out = many
                    .call(&mut scope, (Some(r[0]), Some(r[1]), Some(r[2]), Some(r[3])))
                    .unwrap();
                scope.as_context_mut().gc();
                assert_eq!(out.0, Some(r[0]));
                assert_eq!(out.7, Some(r[0]));
                assert_eq!(out.4, Some(r[3]));
                assert!(r.iter().all(|r| r.data(&scope).is_ok()));
            }
            store.gc();
            assert_eq!(c.dropped(), N + 4);
        });
    }

    /// A module whose `hold` keeps its argument only in a local across a
    /// call of `host.churn`, and whose `take` moves element 0 of its table
    /// into a local before calling `host.clear` (which empties the table).
    const HOLDER: &str = r#"(module
      (import "host" "churn" (func $churn))
      (import "host" "clear" (func $clear))
      (table $t (export "t") 1 externref)
      (func (export "hold") (param externref) (result externref)
        call $churn
        local.get 0)
      (func (export "take") (result externref) (local externref)
        (local.set 0 (table.get $t (i32.const 0)))
        call $clear
        local.get 0))"#;

    #[test]
    fn externref_held_only_by_a_live_frame_survives_host_churn_and_gc() {
        const CHURN: usize = 100_000;
        let counts = Arc::new(Counts::default());
        {
            let engine = super::engine(true);
            let mut store = Store::new(&engine, ());
            let module = Module::new(&engine, HOLDER).unwrap();
            let mut linker = Linker::new(&engine);
            let c = counts.clone();
            linker
                .func_wrap("host", "churn", move |mut caller: Caller<'_, ()>| {
                    let before = c.dropped();
                    // In scopes of 1000: automatic collection keeps up.
                    for _ in 0..CHURN / 1000 {
                        let mut scope = RootScope::new(&mut caller);
                        for _ in 0..1000 {
                            let r = c.make(&mut scope);
                            assert!(r.data(&scope).is_ok());
                        }
                    }
                    caller.gc();
                    assert_eq!(c.dropped() - before, CHURN, "the churn is collected");
                })
                .unwrap();
            linker
                .func_wrap("host", "clear", |mut caller: Caller<'_, ()>| {
                    let t = caller.get_export("t").unwrap().into_table().unwrap();
                    t.set(&mut caller, 0, Ref::Extern(None)).unwrap();
                    caller.gc();
                })
                .unwrap();
            let inst = linker.instantiate(&mut store, &module).unwrap();

            let held = counts.unrooted(&mut store);
            {
                let mut scope = RootScope::new(&mut store);
                let out = call_in(&mut scope, &inst, "hold", &[ext(held)]);
                assert_eq!(out[0], ext(held));
                assert!(held.data(&scope).is_ok());
            }
            assert_eq!(counts.dropped(), CHURN);
            store.gc();
            assert_eq!(
                counts.dropped(),
                CHURN + 1,
                "released once the frame is gone"
            );

            let t = inst.get_table(&mut store, "t").unwrap();
            let taken = counts.unrooted(&mut store);
            t.set(&mut store, 0, taken.into()).unwrap();
            {
                let mut scope = RootScope::new(&mut store);
                let out = call_in(&mut scope, &inst, "take", &[]);
                assert_eq!(out[0], ext(taken));
            }
            assert!(alive(&store, taken), "no full collection since");
            assert_eq!(t.get(&mut store, 0), Some(Ref::Extern(None)));
            store.gc();
            assert!(!alive(&store, taken));
            assert_eq!(counts.dropped(), CHURN + 2);
        }
        assert_eq!(counts.dropped(), counts.created());
    }

    #[test]
    fn externref_from_an_immutable_global_through_a_passive_segment_is_kept() {
        gc_scenario(|store, _inst, c| {
            let engine = store.engine().clone();
            let module = Module::new(
                &engine,
                r#"(module
                  (import "host" "g" (global $g externref))
                  (table $t (export "t") 2 externref)
                  (elem $s externref (global.get $g))
                  (func (export "init") (table.init $t $s (i32.const 0) (i32.const 0) (i32.const 1)))
                  (func (export "drop") elem.drop $s))"#,
            )
            .unwrap();
            let a = c.unrooted(store);
            let ty = GlobalType::new(ValType::EXTERNREF, Mutability::Const);
            let g = Global::new(&mut *store, ty, ext(a)).unwrap();
            let inst = Instance::new(&mut *store, &module, &[g.into()]).unwrap();
            // In wasm 2.0 a segment's non-null externrefs come from
            // immutable imported globals, which live as long as the store:
            // the segment never holds a value alone.
            call(&mut *store, &inst, "init", &[]);
            let t = inst.get_table(&mut *store, "t").unwrap();
            store.gc();
            assert!(alive(store, a));
            {
                let mut scope = RootScope::new(&mut *store);
                assert_eq!(t.get(&mut scope, 0), Some(Ref::Extern(Some(a))));
            }
            t.set(&mut *store, 0, Ref::Extern(None)).unwrap();
            store.gc();
            assert!(alive(store, a), "the global and the segment hold it");
            call(&mut *store, &inst, "drop", &[]);
            store.gc();
            assert!(alive(store, a), "the global still holds it");
            assert_eq!(c.dropped(), 0);
        });
    }

    #[test]
    fn stale_externref_handle_is_an_error_never_a_use_after_free() {
        gc_scenario(|store, inst, c| {
            let stale = c.unrooted(store);
            store.gc();
            assert_eq!(c.dropped(), 1);
            let err = stale.data(&*store).unwrap_err();
            assert!(err.to_string().contains("collected"), "{err}");
            assert!(stale.data_mut(&mut *store).is_err());
            // The slot is reused by the next value; the stale handle does
            // not see it.
            let fresh = c.make(&mut *store);
            assert_ne!(fresh, stale);
            assert!(stale.data(&*store).is_err());
            assert!(alive(store, fresh));
            // Handing it to wasm, a table or a global is an error, and
            // nothing changes.
            let set = inst.get_func(&mut *store, "set").unwrap();
            let err = set
                .call(&mut *store, &[Val::I32(0), ext(stale)], &mut [])
                .unwrap_err();
            assert!(err.to_string().contains("collected"), "{err}");
            let typed = set.typed::<(i32, Option<ExternRef>), ()>(&*store).unwrap();
            assert!(typed.call(&mut *store, (0, Some(stale))).is_err());
            let t = inst.get_table(&mut *store, "t").unwrap();
            assert!(t.set(&mut *store, 0, stale.into()).is_err());
            assert!(t.fill(&mut *store, 0, stale.into(), 1).is_err());
            assert!(t.grow(&mut *store, 1, stale.into()).is_err());
            assert_eq!(t.size(&*store), 4);
            let ty = TableType::new(RefType::EXTERNREF, 1, None);
            assert!(Table::new(&mut *store, ty, stale.into()).is_err());
            let g = inst.get_global(&mut *store, "g").unwrap();
            assert!(g.set(&mut *store, ext(stale)).is_err());
            let gty = GlobalType::new(ValType::EXTERNREF, Mutability::Const);
            assert!(Global::new(&mut *store, gty, ext(stale)).is_err());
            assert_eq!(g.get(&mut *store), Val::ExternRef(None));
            assert_eq!(t.get(&mut *store, 0), Some(Ref::Extern(None)));
            // A host function that returns a stale handle fails the call.
            let stale_again = c.unrooted(store);
            store.gc();
            let ret = Func::wrap(&mut *store, move || Some(stale_again));
            let err = ret
                .call(&mut *store, &[], &mut [Val::ExternRef(None)])
                .unwrap_err();
            assert!(err.to_string().contains("collected"), "{err}");
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn externref_from_an_ended_scope_stays_valid_while_a_table_holds_it() {
        gc_scenario(|store, inst, c| {
            let t = inst.get_table(&mut *store, "t").unwrap();
            let r = {
                let mut scope = RootScope::new(&mut *store);
                let r = c.make(&mut scope);
                t.set(&mut scope, 0, r.into()).unwrap();
                r
            };
            for _ in 0..3 {
                store.gc();
                assert!(alive(store, r));
            }
            r.data_mut(&mut *store).unwrap().unwrap();
            let back = call(&mut *store, inst, "get", &[Val::I32(0)]);
            assert_eq!(back[0], ext(r));
            t.set(&mut *store, 0, Ref::Extern(None)).unwrap();
            store.gc();
            // Reading it back at the top level rooted it in the store.
            assert!(alive(store, r));
            assert_eq!(c.dropped(), 0);
        });
    }

    #[test]
    fn nested_root_scopes_release_last_in_first_out() {
        gc_scenario(|store, inst, c| {
            let t = inst.get_table(&mut *store, "t").unwrap();
            let mut outer = RootScope::new(&mut *store);
            let a = c.make(&mut outer);
            t.set(&mut outer, 0, a.into()).unwrap();
            let b;
            {
                let mut inner = RootScope::new(&mut outer);
                // Rooted by the outer scope already: the inner one does not
                // take it over.
                assert_eq!(t.get(&mut inner, 0), Some(Ref::Extern(Some(a))));
                t.set(&mut inner, 0, Ref::Extern(None)).unwrap();
                b = c.make(&mut inner);
                inner.as_context_mut().gc();
                assert!(a.data(&inner).is_ok() && b.data(&inner).is_ok());
            }
            outer.as_context_mut().gc();
            assert!(a.data(&outer).is_ok(), "the outer scope roots a");
            assert!(b.data(&outer).is_err(), "b's scope ended");
            drop(outer);
            store.gc();
            assert!(!alive(store, a));
            assert_eq!(c.dropped(), 2);
        });
    }

    #[test]
    fn leaked_root_scope_is_closed_by_the_enclosing_scope() {
        gc_scenario(|store, _inst, c| {
            // At the top level, inside an outer scope.
            let mut outer = RootScope::new(&mut *store);
            std::mem::forget(RootScope::new(&mut outer));
            let a = c.make(&mut outer);
            outer.as_context_mut().gc();
            assert!(a.data(&outer).is_ok());
            drop(outer);
            store.gc();
            assert!(!alive(store, a), "the outer scope unrooted it");
            // Inside a host function: its implicit scope closes the leak.
            let dropped = c.dropped.clone();
            let created = c.created.clone();
            let leaky = Func::wrap(&mut *store, move |mut caller: Caller<'_, ()>| {
                std::mem::forget(RootScope::new(&mut caller));
                created.fetch_add(1, SeqCst);
                ExternRef::new(&mut caller, Counted(dropped.clone())).unwrap();
            });
            leaky.call(&mut *store, &[], &mut []).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 2);
            // Scopes still work afterwards.
            let b = {
                let mut scope = RootScope::new(&mut *store);
                let b = c.make(&mut scope);
                scope.as_context_mut().gc();
                assert!(b.data(&scope).is_ok());
                b
            };
            store.gc();
            assert!(!alive(store, b));
        });
    }

    #[test]
    fn host_function_roots_end_on_return_error_panic_and_trap() {
        gc_scenario(|store, _inst, c| {
            let engine = store.engine().clone();
            let module = Module::new(
                &engine,
                r#"(module
                  (import "host" "make" (func $make (param i32)))
                  (table (export "t") 1 externref)
                  (func (export "run") (param i32) (call $make (local.get 0)))
                  (func (export "trap") (param externref)
                    (table.set 0 (i32.const 0) (local.get 0))
                    unreachable))"#,
            )
            .unwrap();
            let mut linker = Linker::new(&engine);
            let made: Arc<std::sync::Mutex<Vec<ExternRef>>> = Arc::default();
            let (m, dropped) = (made.clone(), c.dropped.clone());
            let created = c.created.clone();
            linker
                .func_wrap(
                    "host",
                    "make",
                    move |mut caller: Caller<'_, ()>, how: i32| -> trestle::Result<()> {
                        created.fetch_add(1, SeqCst);
                        let r = ExternRef::new(&mut caller, Counted(dropped.clone())).unwrap();
                        m.lock().unwrap().push(r);
                        // Rooted for the rest of the call.
                        caller.gc();
                        assert!(r.data(&caller).is_ok());
                        match how {
                            0 => Ok(()),
                            1 => Err(trestle::Error::msg("refused")),
                            _ => panic!("host panic"),
                        }
                    },
                )
                .unwrap();
            let inst = linker.instantiate(&mut *store, &module).unwrap();
            let run = inst.get_typed_func::<i32, ()>(&mut *store, "run").unwrap();
            run.call(&mut *store, 0).unwrap();
            assert!(run.call(&mut *store, 1).is_err());
            assert!(super::panics(|| {
                let _ = run.call(&mut *store, 2);
            }));
            store.gc();
            assert_eq!(c.dropped(), 3);
            assert!(
                made.lock()
                    .unwrap()
                    .iter()
                    .all(|r| r.data(&*store).is_err())
            );
            // After a trap the store is back to "no wasm running": a full
            // collection frees what the trapping call put in the table once
            // it is overwritten.
            let r = c.unrooted(store);
            let trap_fn = inst.get_func(&mut *store, "trap").unwrap();
            let err = trap_fn.call(&mut *store, &[ext(r)], &mut []).unwrap_err();
            assert_eq!(super::trap(err), Trap::UnreachableCodeReached);
            let t = inst.get_table(&mut *store, "t").unwrap();
            store.gc();
            assert!(alive(store, r));
            t.set(&mut *store, 0, Ref::Extern(None)).unwrap();
            store.gc();
            assert_eq!(c.dropped(), 4);
        });
    }

    #[test]
    fn automatic_collection_keeps_the_externref_heap_bounded() {
        const BOUND: usize = 4096;
        gc_scenario(|store, _inst, c| {
            let mut most = 0;
            for _ in 0..1000 {
                let mut scope = RootScope::new(&mut *store);
                for _ in 0..1000 {
                    c.make(&mut scope);
                }
                drop(scope);
                most = most.max(store.__externref_live());
            }
            assert!(most < BOUND, "{most} live values at once");
            assert_eq!(c.created(), 1_000_000);
            assert!(c.dropped() > 1_000_000 - BOUND, "{}", c.dropped());
        });
    }

    #[test]
    fn wasm_loop_calling_a_churning_host_function_stays_bounded() {
        const BOUND: usize = 4096;
        let counts = Arc::new(Counts::default());
        {
            let engine = super::engine(true);
            let mut store = Store::new(&engine, ());
            let module = Module::new(
                &engine,
                r#"(module
                  (import "host" "churn" (func $churn))
                  (func (export "run") (param i32)
                    (loop $l
                      call $churn
                      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#,
            )
            .unwrap();
            let mut linker = Linker::new(&engine);
            let c = counts.clone();
            let most = Arc::new(AtomicUsize::new(0));
            let m = most.clone();
            linker
                .func_wrap("host", "churn", move |mut caller: Caller<'_, ()>| {
                    for _ in 0..500 {
                        c.make(&mut caller);
                    }
                    m.fetch_max(c.created() - c.dropped(), SeqCst);
                })
                .unwrap();
            let inst = linker.instantiate(&mut store, &module).unwrap();
            let run = inst.get_typed_func::<i32, ()>(&mut store, "run").unwrap();
            run.call(&mut store, 2000).unwrap();
            assert_eq!(counts.created(), 1_000_000);
            let most = most.load(SeqCst);
            assert!(most < BOUND, "{most} live values at once");
            assert!(store.__externref_live() < BOUND);
        }
        assert_eq!(counts.dropped(), counts.created());
    }
}

#[test]
fn fixed_size_tables_use_a_constant_bound() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let exporter = instantiate(
            &mut store,
            r#"(module
              (type $t (func (result i32)))
              (table (export "t") 4 4 funcref)
              (elem (i32.const 3) $f)
              (func $f (type $t) i32.const 3)
              (func (export "size") (result i32) table.size)
              (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
        );
        let table = exporter.get_table(&mut store, "t").unwrap();
        let module = Module::new(
            engine,
            r#"(module
              (type $t (func (result i32)))
              (import "m" "t" (table 4 4 funcref))
              (func (export "size") (result i32) table.size)
              (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
        )
        .unwrap();
        let importer = Instance::new(&mut store, &module, &[Extern::Table(table)]).unwrap();
        for inst in [exporter, importer] {
            let size = inst.get_typed_func::<(), i32>(&mut store, "size").unwrap();
            let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
            assert_eq!(size.call(&mut store, ()).unwrap(), 4);
            assert_eq!(call.call(&mut store, 3).unwrap(), 3);
            assert_eq!(
                trap(call.call(&mut store, 4).unwrap_err()),
                Trap::UndefinedElement
            );
            assert_eq!(
                trap(call.call(&mut store, 0).unwrap_err()),
                Trap::IndirectCallToNull
            );
        }
        assert!(table.grow(&mut store, 1, Ref::Func(None)).is_err());
    });
}

#[test]
fn many_large_tables_hit_the_store_budget_not_the_host() {
    // Lazy tables cost address space only, so this stays cheap; the
    // eleventh 10M-entry table is over the store's budget.
    let engine = engine(true);
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
