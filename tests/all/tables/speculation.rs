//! Speculated `call_indirect`: through a table the compiler can only guess
//! (exported, written by wasm, grown), a call whose guessed target is in
//! the slot goes straight to it, and one whose slot holds anything else
//! must behave exactly as the generic sequence. Every write the guard must
//! see is made here: by the host between calls and from a host function in
//! the middle of a loop through the same call site, by `table.set` and
//! `table.grow` in wasm, with another function of the same type, null, a
//! function of another type, and the same function of another instance
//! (same code, another vmctx). Each runs in both table modes, with
//! inlining on and off.

use crate::harness::{call_i32, call_ok, trap};
use trestle::{
    Caller, Config, Engine, Func, Instance, Linker, Module, Ref, Store, Table, Trap, Val,
};

const MODULE: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (type $u (func (param i64) (result i64)))
  (import "host" "mutate" (func $mutate (param i32)))
  (global $bias (export "bias") (mut i32) (i32.const 0))
  (table $tab (export "t") 4 8 funcref)
  (elem (table $tab) (i32.const 0) func $inc $dbl $wide)
  (func $inc (export "inc") (type $t)
    (i32.add (i32.add (local.get 0) (i32.const 1)) (global.get $bias)))
  (func $dbl (export "dbl") (type $t) (i32.mul (local.get 0) (i32.const 2)))
  (func $wide (export "wide") (type $u) (local.get 0))
  (func (export "call_const") (param $x i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (i32.const 0)))
  (func (export "call_var") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i)))
  (func (export "tail_var") (param $x i32) (param $i i32) (result i32)
    (return_call_indirect $tab (type $t) (local.get $x) (local.get $i)))
  ;; `n` calls through slot 0 on an accumulator starting at 0, calling the
  ;; host's `mutate` just before call number `at`.
  (func (export "loop") (param $n i32) (param $at i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eq (local.get $i) (local.get $at))
          (then (call $mutate (local.get $i))))
        (local.set $acc
          (call_indirect $tab (type $t) (local.get $acc) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "set_inc") (param $i i32)
    (table.set $tab (local.get $i) (ref.func $inc)))
  (func (export "grow_dbl") (param $n i32) (result i32)
    (table.grow $tab (ref.func $dbl) (local.get $n))))"#;

/// What `host.mutate` writes into slot 0 of the table, when set.
type Mutation = Option<(Table, Ref)>;

/// Every engine the tests run on: both table modes, inlining on and off.
fn engines() -> Vec<Engine> {
    let mut engines = Vec::new();
    for lazy in [true, false] {
        for inlining in [true, false] {
            let mut config = Config::new();
            config.table_lazy_init(lazy).compiler_inlining(inlining);
            engines.push(Engine::new(&config).expect("host CPU supported"));
        }
    }
    engines
}

/// A store with two instances of [`MODULE`]; the second's `bias` is 100,
/// so its `inc` adds 101.
fn instances(engine: &Engine) -> (Store<Mutation>, Instance, Instance) {
    let module = Module::new(engine, MODULE).expect("compiles");
    let mut store = Store::new(engine, None);
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "host",
            "mutate",
            |mut caller: Caller<'_, Mutation>, _at: i32| -> trestle::Result<()> {
                if let Some((table, value)) = *caller.data() {
                    table.set(&mut caller, 0, value)?;
                }
                Ok(())
            },
        )
        .expect("defines");
    let first = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let second = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let bias = second.get_global(&mut store, "bias").expect("exported");
    bias.set(&mut store, Val::I32(100)).expect("mutable");
    (store, first, second)
}

/// The export `name` of `inst` as a funcref.
fn func_ref(store: &mut Store<Mutation>, inst: &Instance, name: &str) -> Ref {
    let f: Func = inst.get_func(&mut *store, name).expect("exported");
    Ref::Func(Some(f))
}

/// Calls `name` and returns its i32 result, or the trap.
fn outcome(
    store: &mut Store<Mutation>,
    inst: &Instance,
    name: &str,
    args: &[Val],
) -> Result<i32, Trap> {
    let f = inst.get_func(&mut *store, name).expect("exported");
    let mut out = [Val::I32(0)];
    match f.call(&mut *store, args, &mut out) {
        Ok(()) => Ok(out[0].unwrap_i32()),
        Err(e) => Err(trap(e)),
    }
}

#[test]
fn a_guessed_slot_written_by_the_host_between_calls() {
    for engine in engines() {
        let (mut store, inst, other) = instances(&engine);
        let table = inst.get_table(&mut store, "t").expect("exported");
        let x = [Val::I32(5)];
        assert_eq!(outcome(&mut store, &inst, "call_const", &x), Ok(6));
        let cases = [
            (func_ref(&mut store, &inst, "dbl"), Ok(10)),
            (Ref::Func(None), Err(Trap::IndirectCallToNull)),
            (func_ref(&mut store, &inst, "wide"), Err(Trap::BadSignature)),
            // The same function of the other instance: same code, its own
            // vmctx and so its own bias.
            (func_ref(&mut store, &other, "inc"), Ok(106)),
            (func_ref(&mut store, &inst, "inc"), Ok(6)),
        ];
        for (value, expected) in cases {
            table.set(&mut store, 0, value).expect("in bounds");
            for name in ["call_const", "call_var"] {
                let args = [Val::I32(5), Val::I32(0)];
                let args = &args[..if name == "call_const" { 1 } else { 2 }];
                assert_eq!(outcome(&mut store, &inst, name, args), expected, "{name}");
            }
            let args = [Val::I32(5), Val::I32(0)];
            assert_eq!(outcome(&mut store, &inst, "tail_var", &args), expected);
        }
    }
}

#[test]
fn a_guessed_slot_written_in_the_middle_of_a_loop() {
    for engine in engines() {
        let (mut store, inst, other) = instances(&engine);
        let table = inst.get_table(&mut store, "t").expect("exported");
        // Five `inc`s, then five `dbl`s: 5 * 2^5.
        let dbl = func_ref(&mut store, &inst, "dbl");
        *store.data_mut() = Some((table, dbl));
        let args = [Val::I32(10), Val::I32(5)];
        assert_eq!(outcome(&mut store, &inst, "loop", &args), Ok(160));
        // Slot 0 now holds `dbl`; back to the other instance's `inc`
        // after three calls: 0, 0, 0, then +101 four times.
        let other_inc = func_ref(&mut store, &other, "inc");
        *store.data_mut() = Some((table, other_inc));
        let args = [Val::I32(7), Val::I32(3)];
        assert_eq!(outcome(&mut store, &inst, "loop", &args), Ok(404));
        // Null in the middle: the call after the write traps.
        *store.data_mut() = Some((table, Ref::Func(None)));
        let args = [Val::I32(4), Val::I32(2)];
        assert_eq!(
            outcome(&mut store, &inst, "loop", &args),
            Err(Trap::IndirectCallToNull)
        );
        // A function of another type in the middle.
        let inc = func_ref(&mut store, &inst, "inc");
        table.set(&mut store, 0, inc).expect("in bounds");
        let wide = func_ref(&mut store, &inst, "wide");
        *store.data_mut() = Some((table, wide));
        assert_eq!(
            outcome(&mut store, &inst, "loop", &args),
            Err(Trap::BadSignature)
        );
    }
}

#[test]
fn guessed_slots_written_and_grown_by_wasm() {
    for engine in engines() {
        let (mut store, inst, _) = instances(&engine);
        let call = |store: &mut Store<Mutation>, i: i32| {
            outcome(store, &inst, "call_var", &[Val::I32(5), Val::I32(i)])
        };
        assert_eq!(call(&mut store, 0), Ok(6));
        assert_eq!(call(&mut store, 1), Ok(10));
        assert_eq!(call(&mut store, 2), Err(Trap::BadSignature));
        assert_eq!(call(&mut store, 3), Err(Trap::IndirectCallToNull));
        assert_eq!(call(&mut store, 4), Err(Trap::UndefinedElement));
        assert_eq!(call_i32(&mut store, &inst, "grow_dbl", &[Val::I32(2)]), 4);
        assert_eq!(call(&mut store, 4), Ok(10));
        assert_eq!(call(&mut store, 5), Ok(10));
        assert_eq!(call(&mut store, 6), Err(Trap::UndefinedElement));
        for slot in [1, 2, 3, 5] {
            call_ok(&mut store, &inst, "set_inc", &[Val::I32(slot)]);
            assert_eq!(call(&mut store, slot), Ok(6), "slot {slot}");
        }
    }
}
