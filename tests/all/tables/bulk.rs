//! The bulk table operators `table.copy`, `table.fill`, `table.init` and
//! `elem.drop` from wasm: offset plus length wrapping, length zero at the
//! size, overlapping copies both ways, copies between imported and local
//! tables, dropped segments, and active segments that do not fit.

use crate::harness::{both_modes, new_instance, trap};
use trestle::{Engine, Extern, Instance, Module, Store, Trap, Val};

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
        let (store, inst) = new_instance(engine, BULK);
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
        let (mut store, exporter) = new_instance(engine, BULK);
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
        let (mut store, exporter) = new_instance(engine, BULK);
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
