//! Fuel and epochs bound the work of bulk operators, not only their count:
//! `memory.fill`, `memory.copy`, `memory.init`, `table.fill`, `table.copy`,
//! `table.init` and `table.grow` pay fuel in proportion to what they touch
//! (one unit per 64 bytes, one per table element), trap before doing
//! anything when the fuel left cannot pay, cost nothing extra when they
//! trap out of bounds or fail to grow, and stop at an epoch deadline
//! between chunks of their work. Assertions are on trap kinds, fuel counts
//! and memory contents, never on timing.

use crate::harness::{instantiate_with_host, trap, typed_func};
use std::sync::mpsc;
use trestle::{Caller, Instance, Store, Trap, TypedFunc, WasmParams};

const BULK: &str = r#"(module
  (import "host" "bump" (func $bump))
  (memory (export "mem") 128)
  (table $t (export "t") 200000 funcref)
  (table $u 200000 funcref)
  (func $f)
  (elem declare func $f)
  (elem $seg func $f $f $f $f $f $f $f $f $f $f)
  (data $bytes "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
  (func (export "memory_fill") (param i32 i32)
    (memory.fill (local.get 0) (i32.const 0xaa) (local.get 1)))
  (func (export "memory_copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "memory_init") (param i32 i32)
    (memory.init $bytes (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "table_fill") (param i32 i32)
    (table.fill $t (local.get 0) (ref.func $f) (local.get 1)))
  (func (export "table_copy") (param i32 i32 i32)
    (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "table_init") (param i32 i32)
    (table.init $t $seg (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "table_grow") (param i32) (result i32)
    (table.grow $t (ref.func $f) (local.get 0)))
  ;; The same operators after a host call that bumps the epoch: nothing
  ;; compiled checks the epoch between the call and the operator.
  (func (export "bumped_memory_fill") (param i32 i32)
    (call $bump) (memory.fill (local.get 0) (i32.const 0xbb) (local.get 1)))
  (func (export "bumped_memory_copy") (param i32 i32 i32)
    (call $bump) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "bumped_table_fill") (param i32 i32)
    (call $bump) (table.fill $t (local.get 0) (ref.func $f) (local.get 1)))
  (func (export "bumped_table_copy") (param i32 i32 i32)
    (call $bump) (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "bumped_table_grow") (param i32) (result i32)
    (call $bump) (table.grow $t (ref.func $f) (local.get 0))))"#;

fn setup(fuel: bool, epoch: bool) -> (Store<()>, Instance) {
    let mut config = crate::harness::config();
    config.consume_fuel(fuel).epoch_interruption(epoch);
    instantiate_with_host(&config, BULK, "bump", |caller: Caller<'_, ()>| {
        caller.engine().increment_epoch();
    })
}

/// The fuel `f` consumes.
fn fuel_of(store: &mut Store<()>, f: impl FnOnce(&mut Store<()>)) -> u64 {
    store.set_fuel(1 << 40).unwrap();
    f(store);
    (1 << 40) - store.get_fuel().unwrap()
}

/// The fuel `f` consumes with the arguments `sized` beyond what it consumes
/// with `empty`.
fn extra_fuel<P: WasmParams + Copy>(
    store: &mut Store<()>,
    f: &TypedFunc<P, ()>,
    empty: P,
    sized: P,
) -> u64 {
    let base = fuel_of(store, |s| f.call(s, empty).unwrap());
    fuel_of(store, |s| f.call(s, sized).unwrap()) - base
}

#[test]
fn bulk_operators_pay_fuel_for_what_they_touch() {
    let (mut store, inst) = setup(true, false);
    let mem_fill = typed_func::<(i32, i32), ()>(&mut store, &inst, "memory_fill");
    let mem_copy = typed_func::<(i32, i32, i32), ()>(&mut store, &inst, "memory_copy");
    let mem_init = typed_func::<(i32, i32), ()>(&mut store, &inst, "memory_init");
    let tab_fill = typed_func::<(i32, i32), ()>(&mut store, &inst, "table_fill");
    let tab_copy = typed_func::<(i32, i32, i32), ()>(&mut store, &inst, "table_copy");
    let tab_init = typed_func::<(i32, i32), ()>(&mut store, &inst, "table_init");

    // One unit per 64 bytes, rounded down, on top of the operators' own.
    let base = fuel_of(&mut store, |s| mem_fill.call(s, (0, 0)).unwrap());
    for (len, extra) in [(63, 0), (64, 1), (6400, 100), (65536, 1024)] {
        let used = fuel_of(&mut store, |s| mem_fill.call(s, (0, len)).unwrap());
        assert_eq!(used - base, extra, "memory.fill of {len} bytes");
    }
    let extra = extra_fuel(&mut store, &mem_copy, (0, 100, 0), (0, 100, 640));
    assert_eq!(extra, 10, "memory.copy of 640 bytes");
    let extra = extra_fuel(&mut store, &mem_init, (0, 0), (0, 128));
    assert_eq!(extra, 2, "memory.init of 128 bytes");

    // One unit per element.
    let extra = extra_fuel(&mut store, &tab_fill, (0, 0), (5, 1000));
    assert_eq!(extra, 1000, "table.fill of 1000 elements");
    let extra = extra_fuel(&mut store, &tab_copy, (0, 0, 0), (7, 3, 250));
    assert_eq!(extra, 250, "table.copy of 250 elements");
    let extra = extra_fuel(&mut store, &tab_init, (0, 0), (9, 10));
    assert_eq!(extra, 10, "table.init of 10 elements");
}

#[test]
fn every_table_grow_is_charged_even_where_compiled_code_could_grow_in_place() {
    let (mut store, inst) = setup(true, false);
    let grow = typed_func::<i32, i32>(&mut store, &inst, "table_grow");
    let base = fuel_of(&mut store, |s| {
        assert_eq!(grow.call(s, 0).unwrap(), 200_000)
    });
    // The first growth reallocates with room to spare; without fuel the
    // next ones would happen in place, uncharged.
    for (delta, old) in [(10, 200_000), (1, 200_010), (1, 200_011), (100, 200_012)] {
        let used = fuel_of(&mut store, |s| {
            assert_eq!(grow.call(s, delta).unwrap(), old)
        });
        assert_eq!(used - base, delta as u64, "table.grow by {delta}");
    }
    // A growth that fails costs nothing extra, however large.
    let used = fuel_of(&mut store, |s| {
        assert_eq!(grow.call(s, 1 << 30).unwrap(), -1)
    });
    assert_eq!(used, base);
    store.set_fuel(base + 5).unwrap();
    assert_eq!(
        grow.call(&mut store, 1 << 30).unwrap(),
        -1,
        "fails, no fuel trap"
    );
}

#[test]
fn a_bulk_operator_the_fuel_cannot_pay_traps_before_doing_anything() {
    let (mut store, inst) = setup(true, false);
    let mem_fill = typed_func::<(i32, i32), ()>(&mut store, &inst, "memory_fill");
    let tab_fill = typed_func::<(i32, i32), ()>(&mut store, &inst, "table_fill");
    let grow = typed_func::<i32, i32>(&mut store, &inst, "table_grow");
    let memory = inst.get_memory(&mut store, "mem").unwrap();
    let table = inst.get_table(&mut store, "t").unwrap();
    let whole = memory.data_size(&store) as i32;

    store.set_fuel(1000).unwrap();
    let err = mem_fill.call(&mut store, (0, whole)).unwrap_err();
    assert_eq!(trap(err), Trap::OutOfFuel);
    assert_eq!(store.get_fuel().unwrap(), 0, "all fuel consumed");
    assert!(
        memory.data(&store).iter().all(|b| *b == 0),
        "nothing written"
    );

    store.set_fuel(1000).unwrap();
    let err = tab_fill.call(&mut store, (0, 150_000)).unwrap_err();
    assert_eq!(trap(err), Trap::OutOfFuel);
    assert!(
        table.get(&mut store, 0).unwrap().is_null(),
        "nothing written"
    );

    store.set_fuel(1000).unwrap();
    let err = grow.call(&mut store, 50_000).unwrap_err();
    assert_eq!(trap(err), Trap::OutOfFuel);
    assert_eq!(table.size(&store), 200_000, "the table kept its size");

    // Out of bounds is checked first: the operator traps out of bounds and
    // charges nothing for its length.
    store.set_fuel(1000).unwrap();
    let err = mem_fill.call(&mut store, (1, whole)).unwrap_err();
    assert_eq!(trap(err), Trap::MemoryOutOfBounds);
    assert!(store.get_fuel().unwrap() > 900);
    let err = tab_fill.call(&mut store, (1, 200_000)).unwrap_err();
    assert_eq!(trap(err), Trap::TableOutOfBounds);
    assert!(store.get_fuel().unwrap() > 900);

    // Enough fuel: the same calls work.
    store.set_fuel(1 << 20).unwrap();
    mem_fill.call(&mut store, (0, whole)).unwrap();
    assert!(memory.data(&store).iter().all(|b| *b == 0xaa));
}

/// The bytes of memory a bulk operator does between two epoch checks, as
/// `Config::epoch_interruption` documents: the tests look at where an
/// interrupted operator stopped.
const MEMORY_CHUNK: usize = 1 << 20;
/// The table elements a bulk operator does between two epoch checks.
const TABLE_CHUNK: u64 = 1 << 16;

#[test]
fn an_epoch_deadline_stops_bulk_operators_between_chunks() {
    let (mut store, inst) = setup(false, true);
    let memory = inst.get_memory(&mut store, "mem").unwrap();
    let table = inst.get_table(&mut store, "t").unwrap();
    let whole = memory.data_size(&store);
    assert!(whole >= 4 * MEMORY_CHUNK);

    // The host call bumps the epoch to the deadline; the operator does its
    // first chunk, then stops.
    let fill = typed_func::<(i32, i32), ()>(&mut store, &inst, "bumped_memory_fill");
    store.set_epoch_deadline(1);
    let err = fill.call(&mut store, (0, whole as i32)).unwrap_err();
    assert_eq!(trap(err), Trap::Interrupt);
    let data = memory.data(&store);
    assert_eq!(data[MEMORY_CHUNK - 1], 0xbb, "the first chunk was filled");
    assert_eq!(data[MEMORY_CHUNK], 0, "the second was not");
    assert_eq!(data[whole - 1], 0);

    // memory.copy to a higher address copies its last chunk first, so that
    // no chunk overwrites what a later one reads.
    let pattern = |i: usize| (i % 251) as u8;
    for (i, b) in memory.data_mut(&mut store)[..4 * MEMORY_CHUNK]
        .iter_mut()
        .enumerate()
    {
        *b = pattern(i);
    }
    let copy = typed_func::<(i32, i32, i32), ()>(&mut store, &inst, "bumped_memory_copy");
    store.set_epoch_deadline(1);
    let len = 3 * MEMORY_CHUNK;
    let err = copy.call(&mut store, (1, 0, len as i32)).unwrap_err();
    assert_eq!(trap(err), Trap::Interrupt);
    let data = memory.data(&store);
    assert_eq!(data[len], pattern(len - 1), "the last chunk was copied");
    assert_eq!(
        data[2 * MEMORY_CHUNK],
        pattern(2 * MEMORY_CHUNK),
        "only that one"
    );
    assert_eq!(data[1], pattern(1), "the first chunk was not copied");

    let tfill = typed_func::<(i32, i32), ()>(&mut store, &inst, "bumped_table_fill");
    store.set_epoch_deadline(1);
    let err = tfill.call(&mut store, (0, 200_000)).unwrap_err();
    assert_eq!(trap(err), Trap::Interrupt);
    assert!(
        table
            .get(&mut store, TABLE_CHUNK - 1)
            .unwrap()
            .is_non_null()
    );
    assert!(table.get(&mut store, TABLE_CHUNK).unwrap().is_null());

    let tcopy = typed_func::<(i32, i32, i32), ()>(&mut store, &inst, "bumped_table_copy");
    store.set_epoch_deadline(1);
    let err = tcopy.call(&mut store, (0, 0, 200_000)).unwrap_err();
    assert_eq!(trap(err), Trap::Interrupt);

    // table.grow fills the new elements before publishing the new size: an
    // interrupted growth leaves the table as it was.
    let grow = typed_func::<i32, i32>(&mut store, &inst, "bumped_table_grow");
    store.set_epoch_deadline(1);
    let err = grow.call(&mut store, 3 * TABLE_CHUNK as i32).unwrap_err();
    assert_eq!(trap(err), Trap::Interrupt);
    assert_eq!(table.size(&store), 200_000);

    // Small operators (one chunk) finish, and the store goes on.
    store.set_epoch_deadline(1);
    fill.call(&mut store, (0, 100)).unwrap();
    store.set_epoch_deadline(1);
    assert_eq!(grow.call(&mut store, 10).unwrap(), 200_000);
}

#[test]
fn a_multi_gigabyte_memory_fill_is_interrupted_from_another_thread() {
    let mut config = crate::harness::config();
    config.epoch_interruption(true);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (mut store, inst) = instantiate_with_host(
        &config,
        r#"(module
          (import "host" "started" (func $started))
          (memory (export "mem") 65536)
          (func (export "fill_all")
            (call $started)
            (memory.fill (i32.const 0) (i32.const 0x5a) (i32.const -1))))"#,
        "started",
        move || {
            started_tx.send(()).unwrap();
        },
    );
    let fill = inst
        .get_typed_func::<(), ()>(&mut store, "fill_all")
        .unwrap();
    store.set_epoch_deadline(1);
    // Another thread waits until the fill is about to start, then moves
    // the epoch to the deadline: the fill, 4 GiB of page faults, is still
    // far from done when it notices.
    let ticker = std::thread::spawn({
        let engine = store.engine().clone();
        move || {
            started_rx.recv().unwrap();
            engine.increment_epoch();
        }
    });
    let err = fill.call(&mut store, ()).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(trap(err), Trap::Interrupt);
    let memory = inst.get_memory(&mut store, "mem").unwrap();
    let data = memory.data(&store);
    assert_eq!(data[0], 0x5a, "the fill had begun");
    assert_eq!(data[data.len() - 2], 0, "and was stopped before the end");
}
