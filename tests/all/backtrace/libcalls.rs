//! Traps raised by the runtime on behalf of compiled code (out-of-bounds
//! bulk memory and table operators, fuel running out and an epoch
//! deadline passing inside them) carry the same wasm backtrace as a trap
//! in compiled code: the function that ran the operator first, at the
//! operator's offset, then each caller at its call. Every case runs with
//! both table initialization modes.

use super::{CALL, backtrace, names};
use trestle::{Caller, Config, Instance, Store, Trap};

/// The `0xfc` prefix of the bulk memory and table operators.
const PREFIX: u8 = 0xfc;

/// Each operator under test in a function `$op_<name>`, called by
/// `$middle_<name>`, called by the export `<name>`: three frames.
const BULK: &str = r#"(module
  (import "host" "bump" (func $bump))
  (memory 1)
  (table $t 4 funcref)
  (table $u 4 funcref)
  (func $f)
  (elem declare func $f)
  (elem $seg func $f $f)
  (data $bytes "0123456789")

  (func $op_memory_fill (memory.fill (i32.const 65530) (i32.const 1) (i32.const 7)))
  (func $middle_memory_fill (call $op_memory_fill))
  (func (export "memory_fill") (call $middle_memory_fill))

  (func $op_memory_copy (memory.copy (i32.const 0) (i32.const 65535) (i32.const 2)))
  (func $middle_memory_copy (call $op_memory_copy))
  (func (export "memory_copy") (call $middle_memory_copy))

  (func $op_memory_init (memory.init $bytes (i32.const 0) (i32.const 5) (i32.const 6)))
  (func $middle_memory_init (call $op_memory_init))
  (func (export "memory_init") (call $middle_memory_init))

  (func $op_table_fill (table.fill $t (i32.const 3) (ref.func $f) (i32.const 2)))
  (func $middle_table_fill (call $op_table_fill))
  (func (export "table_fill") (call $middle_table_fill))

  (func $op_table_copy (table.copy $u $t (i32.const 3) (i32.const 0) (i32.const 2)))
  (func $middle_table_copy (call $op_table_copy))
  (func (export "table_copy") (call $middle_table_copy))

  (func $op_table_init (table.init $t $seg (i32.const 4) (i32.const 0) (i32.const 1)))
  (func $middle_table_init (call $op_table_init))
  (func (export "table_init") (call $middle_table_init))

  ;; Needs more fuel than the store is given.
  (func $op_table_grow (drop (table.grow $t (ref.func $f) (i32.const 100000))))
  (func $middle_table_grow (call $op_table_grow))
  (func (export "table_grow") (call $middle_table_grow))

  ;; The host call moves the epoch to the deadline; the fill, 4 MiB, is
  ;; interrupted between two of its chunks, with nothing compiled checking
  ;; the epoch in between.
  (memory $big 64)
  (func $op_long_fill (call $bump) (memory.fill $big (i32.const 0) (i32.const 7) (i32.const 0x400000)))
  (func $middle_long_fill (call $op_long_fill))
  (func (export "long_fill") (call $middle_long_fill)))"#;

/// The sub-opcodes (after [`PREFIX`]) of the operators.
const MEMORY_INIT: u8 = 0x08;
const MEMORY_COPY: u8 = 0x0a;
const MEMORY_FILL: u8 = 0x0b;
const TABLE_INIT: u8 = 0x0c;
const TABLE_COPY: u8 = 0x0e;
const TABLE_GROW: u8 = 0x0f;
const TABLE_FILL: u8 = 0x11;

/// The module instantiated with `host.bump` (which increments the epoch),
/// in a store of `config()` in table mode `lazy`, changed by `configure`
/// (fuel, epoch interruption, backtraces).
fn instance(lazy: bool, configure: impl FnOnce(&mut Config)) -> (Store<()>, Instance, Vec<u8>) {
    let mut config = crate::harness::config();
    config.table_lazy_init(lazy);
    configure(&mut config);
    super::instance_with(&config, BULK, |linker| {
        linker.func_wrap("host", "bump", |caller: Caller<'_, ()>| {
            caller.engine().increment_epoch();
        })
    })
}

/// Calls export `name`, checks it traps with `expected`, and that the
/// backtrace is `$op_<name>` at its bulk operator `sub_opcode`, then
/// `$middle_<name>` and the export at their calls.
#[track_caller]
fn check(
    store: &mut Store<()>,
    instance: &Instance,
    binary: &[u8],
    name: &str,
    expected: Trap,
    sub_opcode: u8,
) {
    let f = instance.get_func(&mut *store, name).unwrap();
    let err = f.call(&mut *store, &[], &mut []).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&expected),
        "{name}: {err:?}"
    );
    let bt = backtrace(&err);
    let (op, middle) = (format!("op_{name}"), format!("middle_{name}"));
    assert_eq!(names(bt), [op.as_str(), middle.as_str(), "?"], "{name}");
    let frames = bt.frames();
    assert_eq!(frames[1].func_index() + 1, frames[2].func_index(), "{name}");
    assert_eq!(frames[0].func_index() + 1, frames[1].func_index(), "{name}");
    let at = frames[0].module_offset().expect("an offset");
    assert_eq!(
        [binary[at], binary[at + 1]],
        [PREFIX, sub_opcode],
        "{name}: {frames:?}"
    );
    for frame in &frames[1..] {
        assert_eq!(binary[frame.module_offset().unwrap()], CALL, "{name}");
        // `size, locals count, call`: the call right after the count.
        assert_eq!(frame.func_offset(), Some(1), "{name}");
    }
}

#[test]
fn out_of_bounds_bulk_operators_have_every_frame() {
    for lazy in [true, false] {
        let (mut store, instance, binary) = instance(lazy, |_| {});
        let cases = [
            ("memory_fill", Trap::MemoryOutOfBounds, MEMORY_FILL),
            ("memory_copy", Trap::MemoryOutOfBounds, MEMORY_COPY),
            ("memory_init", Trap::MemoryOutOfBounds, MEMORY_INIT),
            ("table_fill", Trap::TableOutOfBounds, TABLE_FILL),
            ("table_copy", Trap::TableOutOfBounds, TABLE_COPY),
            ("table_init", Trap::TableOutOfBounds, TABLE_INIT),
        ];
        for (name, trap, sub_opcode) in cases {
            check(&mut store, &instance, &binary, name, trap, sub_opcode);
            // A second trap of the same store has its own, equal trace.
            check(&mut store, &instance, &binary, name, trap, sub_opcode);
        }
    }
}

#[test]
fn fuel_running_out_in_table_grow_has_every_frame() {
    for lazy in [true, false] {
        let (mut store, instance, binary) = instance(lazy, |c| {
            c.consume_fuel(true);
        });
        store.set_fuel(10_000).unwrap();
        check(
            &mut store,
            &instance,
            &binary,
            "table_grow",
            Trap::OutOfFuel,
            TABLE_GROW,
        );
    }
}

#[test]
fn an_epoch_deadline_inside_a_long_fill_has_every_frame() {
    for lazy in [true, false] {
        let (mut store, instance, binary) = instance(lazy, |c| {
            c.epoch_interruption(true);
        });
        store.set_epoch_deadline(1);
        let f = instance.get_func(&mut store, "long_fill").unwrap();
        let err = f.call(&mut store, &[], &mut []).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
        let bt = backtrace(&err);
        assert_eq!(names(bt), ["op_long_fill", "middle_long_fill", "?"]);
        let at = bt.frames()[0].module_offset().unwrap();
        assert_eq!([binary[at], binary[at + 1]], [PREFIX, MEMORY_FILL]);
    }
}

#[test]
fn backtraces_off_leave_libcall_traps_bare() {
    let (mut store, instance, _) = instance(true, |c| {
        c.wasm_backtrace(false);
    });
    let f = instance.get_func(&mut store, "memory_fill").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    assert!(err.downcast_ref::<trestle::WasmBacktrace>().is_none());
}
