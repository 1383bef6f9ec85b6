//! Fuel metering and epoch interruption: infinite loops and infinite
//! recursion through `call_indirect` are stopped by each, and the store is
//! usable afterwards.

use crate::harness::{instantiate_with_host, trap};
use std::time::Duration;
use trestle::{Caller, Config, Instance, Store, Trap};

const SPIN: &str = r#"
(module
  (type $t (func (param i32) (result i32)))
  (import "host" "tick" (func $tick (param i32)))
  (table 1 funcref)
  (elem (i32.const 0) $rec)
  (func (export "spin") (loop (br 0)))
  (func (export "count") (param i32) (result i32)
    (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
    (local.get 0))
  (func $rec (export "rec") (type $t)
    (call $tick (local.get 0))
    (call_indirect (type $t) (i32.add (local.get 0) (i32.const 1)) (i32.const 0))))
"#;

fn setup(config: &Config) -> (Store<()>, Instance) {
    // Bumps the epoch at depth 100 of the recursion: the next function
    // entry must notice.
    instantiate_with_host(
        config,
        SPIN,
        "tick",
        |caller: Caller<'_, ()>, depth: i32| {
            if depth == 100 {
                caller.engine().increment_epoch();
            }
        },
    )
}

#[test]
fn fuel_stops_an_infinite_loop_and_infinite_call_indirect_recursion() {
    let (mut store, inst) = setup(crate::harness::config().consume_fuel(true));
    let spin = inst.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let rec = inst.get_typed_func::<i32, i32>(&mut store, "rec").unwrap();
    let count = inst
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    for _ in 0..3 {
        store.set_fuel(10_000).unwrap();
        assert_eq!(
            trap(spin.call(&mut store, ()).unwrap_err()),
            Trap::OutOfFuel
        );
        assert_eq!(store.get_fuel().unwrap(), 0);
        store.set_fuel(10_000).unwrap();
        assert_eq!(trap(rec.call(&mut store, 0).unwrap_err()), Trap::OutOfFuel);
    }
    // Fuel is charged per operator: a 100-iteration loop costs about 7
    // units an iteration, and the store keeps working.
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(count.call(&mut store, 100).unwrap(), 0);
    let used = 1_000_000 - store.get_fuel().unwrap();
    assert!((600..=800).contains(&used), "used {used}");
}

#[test]
fn fuel_apis_need_the_config() {
    let (mut store, _) = setup(&crate::harness::config());
    assert!(store.set_fuel(1).is_err());
    assert!(store.get_fuel().is_err());
}

#[test]
fn epoch_interruption_stops_an_infinite_loop_from_another_thread() {
    let (mut store, inst) = setup(crate::harness::config().epoch_interruption(true));
    let spin = inst.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    for _ in 0..3 {
        store.set_epoch_deadline(1);
        let engine = store.engine().clone();
        let ticker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            engine.increment_epoch();
        });
        assert_eq!(
            trap(spin.call(&mut store, ()).unwrap_err()),
            Trap::Interrupt
        );
        ticker.join().unwrap();
    }
}

#[test]
fn epoch_interruption_stops_call_indirect_recursion() {
    let (mut store, inst) = setup(crate::harness::config().epoch_interruption(true));
    let rec = inst.get_typed_func::<i32, i32>(&mut store, "rec").unwrap();
    let count = inst
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    for _ in 0..3 {
        store.set_epoch_deadline(1);
        assert_eq!(trap(rec.call(&mut store, 0).unwrap_err()), Trap::Interrupt);
    }
    store.set_epoch_deadline(1);
    assert_eq!(count.call(&mut store, 1000).unwrap(), 0);
}

/// Inlining and speculated calls change where code runs, not what it
/// costs: the same calls use the same fuel with inlining on and off, and
/// running out of fuel inside an inlined function traps at the same point.
#[test]
fn inlining_leaves_fuel_use_unchanged() {
    let wat = r#"(module
      (type $t (func (param i32) (result i32)))
      (table (export "t") 2 funcref)
      (elem (i32.const 0) $inc $dbl)
      (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
      (func $dbl (type $t)
        (if (result i32) (local.get 0)
          (then (i32.mul (local.get 0) (i32.const 2)))
          (else (i32.const 1))))
      (func (export "run") (param $n i32) (result i32)
        (local $acc i32)
        (loop $l
          (local.set $acc (call $inc (local.get $acc)))
          (local.set $acc (call_indirect (type $t) (local.get $acc)
            (i32.and (local.get $n) (i32.const 1))))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))"#;
    let mut used = Vec::new();
    for inlining in [true, false] {
        let mut config = crate::harness::config();
        config.consume_fuel(true).compiler_inlining(inlining);
        let engine = trestle::Engine::new(&config).unwrap();
        let module = trestle::Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        let run = inst.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
        store.set_fuel(1_000_000).unwrap();
        let result = run.call(&mut store, 20).unwrap();
        let spent = 1_000_000 - store.get_fuel().unwrap();
        // Out of fuel part of the way: the same number of units is left
        // unspent (none) and the same trap is raised.
        store.set_fuel(spent / 3).unwrap();
        assert_eq!(trap(run.call(&mut store, 20).unwrap_err()), Trap::OutOfFuel);
        used.push((result, spent, store.get_fuel().unwrap()));
    }
    assert_eq!(used[0], used[1]);
}
