//! Storage of dropped tables reused by the next ones: the engine keeps the
//! mappings of large dropped tables and clears only what it knows was
//! written, so every writer must be accounted for. Each case writes a
//! table of a store through one kind of writer, drops the store, and checks
//! that a new instance of the same module (whose table gets the same
//! mapping back) sees exactly what its element segment says: the
//! runtime's writers (lazy initialization, `table.fill`, `table.copy`,
//! `table.init`, the host API) in a few places or in many, and compiled
//! code storing inline into a table another module defines. Tables of
//! 20,000 entries and of 200,000 (large enough for huge pages), in both
//! table modes.

use crate::harness::{both_modes, trap};
use trestle::{Engine, Error, Instance, Module, Ref, RefType, Store, Table, TableType, Trap};

/// Table sizes: a pooled mapping, and one aligned to huge pages.
const SIZES: [u32; 2] = [20_000, 200_000];

/// A module with a table of `size` entries exported as `t`, whose element
/// segment puts `$one` at 5 and `$two` at 6, that writes its table only
/// through the runtime (bulk operators, lazy initialization), never with an
/// inline store.
fn runtime_writer(size: u32) -> String {
    format!(
        r#"(module
          (type $t (func (result i32)))
          (table $tab (export "t") {size} funcref)
          (elem (i32.const 5) $one $two)
          (elem $passive func $two $one $two)
          (func $one (type $t) i32.const 1)
          (func $two (type $t) i32.const 2)
          (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
          (func (export "fill") (param i32 i32) (table.fill (local.get 0) (ref.func $two) (local.get 1)))
          (func (export "copy") (param i32) (table.copy (local.get 0) (i32.const 5) (i32.const 2)))
          (func (export "init") (param i32) (table.init $passive (local.get 0) (i32.const 0) (i32.const 3))))"#
    )
}

/// Asserts that `table`, of `size` entries, holds what the segment of
/// [`runtime_writer`] says: `$one` and `$two` at 5 and 6, null elsewhere
/// (at a few samples, and at `written`). Few, because reading a lazily
/// initialized table writes it: many scattered reads would make the
/// runtime clear the whole table, whatever the writers told it.
fn assert_pristine(
    store: &mut Store<()>,
    inst: &Instance,
    table: Table,
    size: u32,
    written: &[u32],
    round: usize,
) {
    let call = inst
        .get_typed_func::<i32, i32>(&mut *store, "call")
        .unwrap();
    assert_eq!(call.call(&mut *store, 5).unwrap(), 1, "round {round}");
    assert_eq!(call.call(&mut *store, 6).unwrap(), 2, "round {round}");
    let sampled = (1..8).map(|k| size / 8 * k + 1);
    for i in sampled.chain(written.iter().copied()) {
        // Half through compiled code, half through the host.
        if i % 2 == 0 {
            assert_eq!(
                trap(call.call(&mut *store, i as i32).unwrap_err()),
                Trap::IndirectCallToNull,
                "round {round}: entry {i} of {size} kept a value of an earlier table"
            );
        } else {
            assert!(
                table.get(&mut *store, u64::from(i)).unwrap().is_null(),
                "round {round}: entry {i} of {size} kept a value of an earlier table"
            );
        }
    }
}

/// What the rounds of [`runtime_writes_are_cleared`] write, as the indices
/// they leave non-null: a few places in the first rounds, then more than
/// the runtime keeps track of one by one.
fn written_in_round(size: u32, round: usize) -> Vec<u32> {
    let spots = if round < 4 { 4 } else { 100 };
    (1..=spots).map(|k| size / (spots + 1) * k).collect()
}

#[test]
fn runtime_writes_are_cleared() {
    both_modes(|engine: &Engine| {
        for size in SIZES {
            let module = Module::new(engine, runtime_writer(size)).unwrap();
            let mut previous: Vec<u32> = Vec::new();
            for round in 0..6 {
                let mut store = Store::new(engine, ());
                let inst = Instance::new(&mut store, &module, &[]).unwrap();
                let table = inst.get_table(&mut store, "t").unwrap();
                assert_pristine(&mut store, &inst, table, size, &previous, round);
                previous.clear();
                let spots = written_in_round(size, round);
                let two = table.get(&mut store, 6).unwrap();
                for (k, &at) in spots.iter().enumerate() {
                    // Each spot through another writer of the runtime.
                    match k % 4 {
                        0 => {
                            let fill = inst
                                .get_typed_func::<(i32, i32), ()>(&mut store, "fill")
                                .unwrap();
                            fill.call(&mut store, (at as i32, 3)).unwrap();
                            previous.extend(at..at + 3);
                        }
                        1 => {
                            let copy = inst.get_typed_func::<i32, ()>(&mut store, "copy").unwrap();
                            copy.call(&mut store, at as i32).unwrap();
                            previous.extend(at..at + 2);
                        }
                        2 => {
                            let init = inst.get_typed_func::<i32, ()>(&mut store, "init").unwrap();
                            init.call(&mut store, at as i32).unwrap();
                            previous.extend(at..at + 3);
                        }
                        _ => {
                            table.set(&mut store, u64::from(at), two).unwrap();
                            previous.push(at);
                        }
                    }
                }
                // The last entry too, through the host.
                table.fill(&mut store, u64::from(size - 1), two, 1).unwrap();
                previous.push(size - 1);
                let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
                for &at in &previous {
                    assert!(
                        call.call(&mut store, at as i32).is_ok(),
                        "round {round}: entry {at} was written"
                    );
                }
            }
        }
    });
}

#[test]
fn inline_stores_of_an_importing_module_are_cleared() {
    // The defining module never stores into its table itself; a module
    // that imports it does, which the runtime does not see: the table must
    // still come back pristine.
    both_modes(|engine: &Engine| {
        for size in SIZES {
            let defining = Module::new(engine, runtime_writer(size)).unwrap();
            let importing = Module::new(
                engine,
                format!(
                    r#"(module
                      (type $t (func (result i32)))
                      (import "m" "t" (table $tab {size} funcref))
                      (func $three (type $t) i32.const 3)
                      (elem declare func $three)
                      (func (export "scribble") (param i32)
                        (table.set $tab (local.get 0) (ref.func $three))))"#
                ),
            )
            .unwrap();
            let spots = [7, size / 3, size / 2 + 1, size - 2];
            for round in 0..4 {
                let mut store = Store::new(engine, ());
                let inst = Instance::new(&mut store, &defining, &[]).unwrap();
                let table = inst.get_table(&mut store, "t").unwrap();
                let written = if round == 0 { &[][..] } else { &spots[..] };
                assert_pristine(&mut store, &inst, table, size, written, round);
                let other = Instance::new(&mut store, &importing, &[table.into()]).unwrap();
                let scribble = other
                    .get_typed_func::<i32, ()>(&mut store, "scribble")
                    .unwrap();
                let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
                for at in spots {
                    scribble.call(&mut store, at as i32).unwrap();
                    assert_eq!(call.call(&mut store, at as i32).unwrap(), 3);
                }
                assert!(matches!(
                    table.get(&mut store, u64::from(spots[0])),
                    Some(Ref::Func(Some(_)))
                ));
            }
        }
    });
}

/// A module whose 3,000-entry table an eager instantiation leaves behind
/// for the next instance (constant segments of its own functions, no
/// inline store), exported as `t`, with `call` through it and `probe`
/// placed into an imported table by a segment.
const KEPT: &str = r#"(module
  (type $t (func (result i32)))
  (import "m" "outer" (table $outer 1 funcref))
  (table $tab (export "t") 3000 funcref)
  (elem (table $tab) (i32.const 5) func $one $two)
  (elem (table $outer) (i32.const 0) func $probe)
  (elem (table $outer) (i32.const 1) func $one)
  (elem (table $tab) (i32.const 2990) func $two)
  (func $one (type $t) i32.const 1)
  (func $two (type $t) i32.const 2)
  (func $probe (export "probe") (type $t) (call_indirect $tab (type $t) (i32.const 2990)))
  (func (export "call") (param i32) (result i32) (call_indirect $tab (type $t) (local.get 0))))"#;

/// An instance of [`KEPT`] in `store`, with an imported table of `outer`
/// entries.
fn kept_instance(store: &mut Store<()>, module: &Module, outer: u32) -> Result<Instance, Error> {
    let ty = TableType::new(RefType::FUNCREF, outer, None);
    let outer = Table::new(&mut *store, ty, Ref::Func(None)).unwrap();
    Instance::new(&mut *store, module, &[outer.into()])
}

/// Asserts that an instance of [`KEPT`] holds what its segments say.
fn assert_kept_contents(store: &mut Store<()>, inst: &Instance, round: usize) {
    let call = inst
        .get_typed_func::<i32, i32>(&mut *store, "call")
        .unwrap();
    for (at, want) in [(5, 1), (6, 2), (2990, 2)] {
        assert_eq!(call.call(&mut *store, at).unwrap(), want, "round {round}");
    }
    for at in [0, 4, 7, 1000, 2989, 2999] {
        assert_eq!(
            trap(call.call(&mut *store, at).unwrap_err()),
            Trap::IndirectCallToNull,
            "round {round}: entry {at}"
        );
    }
    let table = inst.get_table(&mut *store, "t").unwrap();
    assert_eq!(table.size(&*store), 3000, "round {round}");
}

#[test]
fn instances_left_untouched_are_reused_and_written_ones_are_not() {
    // In both table modes a module keeps the table and vmctx of an
    // instance whose table nothing but lazy initialization wrote, for its
    // next instance; any write, growth or host change must stop that. Each round checks the segments'
    // contents, then (in some rounds) changes the table.
    both_modes(|engine: &Engine| {
        let module = Module::new(engine, KEPT).unwrap();
        for round in 0..8 {
            let mut store = Store::new(engine, ());
            let inst = kept_instance(&mut store, &module, 2).unwrap();
            assert_kept_contents(&mut store, &inst, round);
            let table = inst.get_table(&mut store, "t").unwrap();
            let one = table.get(&mut store, 5).unwrap();
            match round % 4 {
                0 | 1 => {}
                2 => table.set(&mut store, 2990, Ref::Func(None)).unwrap(),
                _ => {
                    table.grow(&mut store, 10, one).unwrap();
                    table.set(&mut store, 0, one).unwrap();
                }
            }
            // Two instances in one store: both may be kept.
            if round == 1 {
                let second = kept_instance(&mut store, &module, 2).unwrap();
                assert_kept_contents(&mut store, &second, round);
            }
        }
    });
}

#[test]
fn a_failed_instantiation_with_a_reused_table_keeps_only_the_earlier_segments() {
    // The fourth segment of `KEPT` (into its own table) comes after one
    // into the imported table that does not fit a table of one entry. A
    // reused table already holds every segment's entries; the failed
    // instantiation must leave it as the specification says, with the
    // first segment applied and the fourth not, which `probe` (placed in
    // the imported table by the second segment) shows.
    both_modes(|engine: &Engine| {
        let module = Module::new(engine, KEPT).unwrap();
        for round in 0..3 {
            {
                let mut store = Store::new(engine, ());
                let inst = kept_instance(&mut store, &module, 2).unwrap();
                assert_kept_contents(&mut store, &inst, round);
            }
            let mut store = Store::new(engine, ());
            let ty = TableType::new(RefType::FUNCREF, 1, None);
            let outer = Table::new(&mut store, ty, Ref::Func(None)).unwrap();
            let err = Instance::new(&mut store, &module, &[outer.into()]).unwrap_err();
            assert_eq!(trap(err), Trap::TableOutOfBounds);
            let Some(Ref::Func(Some(probe))) = outer.get(&mut store, 0) else {
                panic!("round {round}: the first segment into the imported table was applied");
            };
            let probe = probe.typed::<(), i32>(&store).unwrap();
            assert_eq!(
                trap(probe.call(&mut store, ()).unwrap_err()),
                Trap::IndirectCallToNull,
                "round {round}: a segment after the failing one was applied"
            );
        }
    });
}
