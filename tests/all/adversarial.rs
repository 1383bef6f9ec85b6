//! The cases of `shared/ADVERSARIAL.md` under "call_indirect and funcrefs"
//! and "Resources and malformed input", one named test each: every one ends
//! in the specific trap or a clean error, and the store is usable
//! afterwards.
//!
//! Not here: "An infinite loop stopped by fuel and by epoch interruption"
//! is covered by `tests/all/interrupt.rs`; the table.grow, table.copy,
//! externref and sharing headings by `tests/all/table.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use trestle::{
    Caller, Config, Engine, Func, Instance, Linker, Module, Ref, RefType, Store, Table, TableType,
    Trap, Val,
};

// ---- Helpers ------------------------------------------------------------

fn engine(lazy: bool) -> Engine {
    let mut config = Config::new();
    config.table_lazy_init(lazy).wasm_memory64(true);
    Engine::new(&config).unwrap()
}

/// Runs `f` with lazily and with eagerly initialized tables.
fn both_modes(f: impl Fn(&Engine)) {
    for lazy in [true, false] {
        f(&engine(lazy));
    }
}

fn instantiate(store: &mut Store<()>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    Instance::new(&mut *store, &module, &[]).unwrap()
}

/// Calls export `name` with `args`; the results, or the error.
fn call(
    store: &mut Store<()>,
    inst: &Instance,
    name: &str,
    args: &[Val],
) -> trestle::Result<Vec<Val>> {
    let f = inst
        .get_func(&mut *store, name)
        .unwrap_or_else(|| panic!("no export {name}"));
    let mut results: Vec<Val> = f
        .ty(&*store)
        .results()
        .map(|t| Val::default_for_ty(&t))
        .collect();
    f.call(&mut *store, args, &mut results)?;
    Ok(results)
}

fn call_i32(store: &mut Store<()>, inst: &Instance, name: &str, args: &[Val]) -> i32 {
    call(store, inst, name, args).unwrap_or_else(|e| panic!("{name}({args:?}): {e:#}"))[0]
        .unwrap_i32()
}

/// Asserts that `result` is the trap `expected`, with the spec's message.
#[track_caller]
fn assert_trap<T: std::fmt::Debug>(result: trestle::Result<T>, expected: Trap) {
    let err = result.expect_err("expected a trap");
    assert_eq!(err.downcast_ref::<Trap>(), Some(&expected), "{err:#}");
    assert!(
        format!("{err:#}").contains(expected.message()),
        "{err:#} lacks {:?}",
        expected.message()
    );
}

/// Every module below exports `ok`, returning 42: the store still works.
#[track_caller]
fn assert_usable(store: &mut Store<()>, inst: &Instance) {
    assert_eq!(call_i32(store, inst, "ok", &[]), 42);
}

// ---- call_indirect and funcrefs -----------------------------------------

const FOUR_SLOTS: &str = r#"
(module
  (type $v (func (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $a $a $a $a)
  (func $a (type $v) i32.const 7)
  (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0)))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "ok") (result i32) i32.const 42))
"#;

#[test]
fn call_indirect_index_at_size_and_beyond_is_undefined_element() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, FOUR_SLOTS);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(3)]), 7);
        // Size, size + 1, 0xFFFF_FFFF and other negative i32 values.
        for index in [4, 5, -1, i32::MIN, -4, i32::MAX] {
            let r = call(&mut store, &inst, "call", &[Val::I32(index)]);
            assert_trap(r, Trap::UndefinedElement);
            assert_usable(&mut store, &inst);
        }
        // The bound follows growth: the new slot is null, the next one
        // still undefined.
        assert_eq!(call_i32(&mut store, &inst, "grow", &[Val::I32(1)]), 4);
        let r = call(&mut store, &inst, "call", &[Val::I32(4)]);
        assert_trap(r, Trap::IndirectCallToNull);
        let r = call(&mut store, &inst, "call", &[Val::I32(5)]);
        assert_trap(r, Trap::UndefinedElement);
        assert_eq!(Trap::UndefinedElement.to_string(), "undefined element");
        assert_usable(&mut store, &inst);
    });
}

#[test]
fn call_indirect_on_a_64_bit_table_does_not_truncate_indices() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(
            &mut store,
            r#"(module
              (type $v (func (result i32)))
              (table $t i64 2 funcref)
              (elem (table $t) (i64.const 0) func $a $b)
              (func $a (type $v) i32.const 7)
              (func $b (type $v) i32.const 8)
              (func (export "call") (param i64) (result i32)
                (call_indirect $t (type $v) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        );
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I64(0)]), 7);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I64(1)]), 8);
        // Each of these truncates to 0 or 1 in 32 bits.
        for index in [
            1i64 << 32,
            (1 << 32) + 1,
            -1,
            i64::MIN,
            i64::MIN + 1,
            0x7fff_ffff_0000_0000,
            2,
        ] {
            let r = call(&mut store, &inst, "call", &[Val::I64(index)]);
            assert_trap(r, Trap::UndefinedElement);
            assert_usable(&mut store, &inst);
        }
    });
}

#[test]
fn call_indirect_through_null_entries_is_uninitialized_element() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(
            &mut store,
            r#"(module
              (type $v (func (result i32)))
              (table $t 8 funcref)
              (elem (table $t) (i32.const 0) func $a $a $a $a)
              (func $a (type $v) i32.const 7)
              (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0)))
              (func (export "grow_null") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
              (func (export "clear") (param i32) (table.set $t (local.get 0) (ref.null func)))
              (func (export "fill_null") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
              (func (export "ok") (result i32) i32.const 42))"#,
        );
        // Never initialized: 4 to 7.
        for index in 4..8 {
            let r = call(&mut store, &inst, "call", &[Val::I32(index)]);
            assert_trap(r, Trap::IndirectCallToNull);
        }
        // Grown with ref.null (by the host: the next test).
        assert_eq!(call_i32(&mut store, &inst, "grow_null", &[Val::I32(3)]), 8);
        let r = call(&mut store, &inst, "call", &[Val::I32(10)]);
        assert_trap(r, Trap::IndirectCallToNull);
        // Cleared by table.set and by table.fill.
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(0)]), 7);
        call(&mut store, &inst, "clear", &[Val::I32(0)]).unwrap();
        let r = call(&mut store, &inst, "call", &[Val::I32(0)]);
        assert_trap(r, Trap::IndirectCallToNull);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(2)]), 7);
        call(&mut store, &inst, "fill_null", &[Val::I32(1), Val::I32(3)]).unwrap();
        for index in 1..4 {
            let r = call(&mut store, &inst, "call", &[Val::I32(index)]);
            assert_trap(r, Trap::IndirectCallToNull);
        }
        assert_eq!(
            Trap::IndirectCallToNull.to_string(),
            "uninitialized element"
        );
        assert_usable(&mut store, &inst);
    });
}

#[test]
fn call_indirect_through_host_grown_and_cleared_slots_is_uninitialized_element() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let table = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 1, None),
            Ref::Func(None),
        )
        .unwrap();
        let seven = Func::wrap(&mut store, || 7i32);
        table.set(&mut store, 0, Ref::Func(Some(seven))).unwrap();
        let module = Module::new(
            engine,
            r#"(module
              (type $v (func (result i32)))
              (import "host" "t" (table $t 1 funcref))
              (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let inst = Instance::new(&mut store, &module, &[table.into()]).unwrap();
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(0)]), 7);
        table.grow(&mut store, 5, Ref::Func(None)).unwrap();
        let r = call(&mut store, &inst, "call", &[Val::I32(5)]);
        assert_trap(r, Trap::IndirectCallToNull);
        table.set(&mut store, 0, Ref::Func(None)).unwrap();
        let r = call(&mut store, &inst, "call", &[Val::I32(0)]);
        assert_trap(r, Trap::IndirectCallToNull);
        table
            .fill(&mut store, 1, Ref::Func(Some(seven)), 5)
            .unwrap();
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(5)]), 7);
        table.fill(&mut store, 1, Ref::Func(None), 5).unwrap();
        let r = call(&mut store, &inst, "call", &[Val::I32(5)]);
        assert_trap(r, Trap::IndirectCallToNull);
        let r = call(&mut store, &inst, "call", &[Val::I32(6)]);
        assert_trap(r, Trap::UndefinedElement);
        assert_usable(&mut store, &inst);
    });
}

/// One function per type below, at the same index in the table as its
/// type; `call_<type>` calls slot `i` with that type.
const SIGNATURES: &str = r#"
(module
  (type $i64 (func (param i64) (result i64)))
  (type $f64 (func (param f64) (result f64)))
  (type $if (func (param i32 f32) (result i32)))
  (type $fi (func (param f32 i32) (result i32)))
  (type $i_to_f (func (param i32) (result f32)))
  (type $f_to_i (func (param f32) (result i32)))
  (type $two (func (result i32 i32)))
  (type $three (func (result i32 i32 i32)))
  (type $zero_params (func (result i32)))
  (type $one_param (func (param i32) (result i32)))
  (table 10 funcref)
  (elem (i32.const 0) func $i64 $f64 $if $fi $i_to_f $f_to_i $two $three $zero_params $one_param)
  (func $i64 (type $i64) local.get 0)
  (func $f64 (type $f64) local.get 0)
  (func $if (type $if) local.get 0)
  (func $fi (type $fi) local.get 1)
  (func $i_to_f (type $i_to_f) f32.const 1)
  (func $f_to_i (type $f_to_i) i32.const 1)
  (func $two (type $two) i32.const 1 i32.const 2)
  (func $three (type $three) i32.const 1 i32.const 2 i32.const 3)
  (func $zero_params (type $zero_params) i32.const 1)
  (func $one_param (type $one_param) local.get 0)
  (func (export "call_i64") (param i32) (drop (call_indirect (type $i64) (i64.const 1) (local.get 0))))
  (func (export "call_f64") (param i32) (drop (call_indirect (type $f64) (f64.const 1) (local.get 0))))
  (func (export "call_if") (param i32) (drop (call_indirect (type $if) (i32.const 1) (f32.const 1) (local.get 0))))
  (func (export "call_fi") (param i32) (drop (call_indirect (type $fi) (f32.const 1) (i32.const 1) (local.get 0))))
  (func (export "call_i_to_f") (param i32) (drop (call_indirect (type $i_to_f) (i32.const 1) (local.get 0))))
  (func (export "call_f_to_i") (param i32) (drop (call_indirect (type $f_to_i) (f32.const 1) (local.get 0))))
  (func (export "call_two") (param i32) (drop (drop (call_indirect (type $two) (local.get 0)))))
  (func (export "call_three") (param i32) (drop (drop (drop (call_indirect (type $three) (local.get 0))))))
  (func (export "call_zero_params") (param i32) (drop (call_indirect (type $zero_params) (local.get 0))))
  (func (export "call_one_param") (param i32) (drop (call_indirect (type $one_param) (i32.const 1) (local.get 0))))
  (func (export "ok") (result i32) i32.const 42))
"#;

#[test]
fn call_indirect_signature_mismatches_are_bad_signature() {
    // i64 vs f64, parameters swapped, parameters and results swapped,
    // two vs three results, zero vs one parameter: every pair.
    let types = [
        "i64",
        "f64",
        "if",
        "fi",
        "i_to_f",
        "f_to_i",
        "two",
        "three",
        "zero_params",
        "one_param",
    ];
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, SIGNATURES);
        for (caller, ty) in types.iter().enumerate() {
            for slot in 0..types.len() {
                let r = call(
                    &mut store,
                    &inst,
                    &format!("call_{ty}"),
                    &[Val::I32(slot as i32)],
                );
                if slot == caller {
                    r.unwrap_or_else(|e| panic!("call_{ty}({slot}): {e:#}"));
                } else {
                    assert_trap(r, Trap::BadSignature);
                }
            }
        }
        assert_eq!(
            Trap::BadSignature.to_string(),
            "indirect call type mismatch"
        );
        assert_usable(&mut store, &inst);
    });
}

#[test]
fn structurally_equal_types_of_two_modules_match_and_others_of_the_same_arity_do_not() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        // The exporter declares (i32) -> i32 at type index 1, the importer
        // at index 0.
        let exporter = Module::new(
            engine,
            r#"(module
              (type $pad (func (param f64)))
              (type $t (func (param i32) (result i32)))
              (type $u (func (param f32) (result i32)))
              (table (export "t") 4 funcref)
              (elem (i32.const 0) func $double $f2i)
              (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
              (func $f2i (type $u) (i32.trunc_f32_s (local.get 0)))
              (func (export "call_t") (param i32 i32) (result i32)
                (call_indirect (type $t) (local.get 0) (local.get 1)))
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let a = Instance::new(&mut store, &exporter, &[]).unwrap();
        let table = a.get_table(&mut store, "t").unwrap();
        let importer = Module::new(
            engine,
            r#"(module
              (type $same (func (param i32) (result i32)))
              (type $other (func (param i64) (result i32)))
              (import "a" "t" (table 4 funcref))
              (elem (table 0) (i32.const 2) func $plus_one)
              (func $plus_one (type $same) (i32.add (local.get 0) (i32.const 1)))
              (func (export "same") (param i32 i32) (result i32)
                (call_indirect (type $same) (local.get 0) (local.get 1)))
              (func (export "other") (param i32) (result i32)
                (call_indirect (type $other) (i64.const 1) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let b = Instance::new(&mut store, &importer, &[table.into()]).unwrap();
        // The importer calls the exporter's function by its own equal type,
        // and the exporter calls the importer's.
        let args = |x: i32, slot: i32| [Val::I32(x), Val::I32(slot)];
        assert_eq!(call_i32(&mut store, &b, "same", &args(21, 0)), 42);
        assert_eq!(call_i32(&mut store, &a, "call_t", &args(41, 2)), 42);
        // (f32) -> i32 and (i64) -> i32 have the arity of (i32) -> i32.
        assert_trap(
            call(&mut store, &b, "same", &args(1, 1)),
            Trap::BadSignature,
        );
        for slot in 0..3 {
            assert_trap(
                call(&mut store, &b, "other", &[Val::I32(slot)]),
                Trap::BadSignature,
            );
        }
        // A host function of the same structure matches too; one with the
        // same arity and another parameter type does not.
        let host_same = Func::wrap(&mut store, |x: i32| x + 100);
        let host_other = Func::wrap(&mut store, |x: i64| x as i32);
        table
            .set(&mut store, 3, Ref::Func(Some(host_same)))
            .unwrap();
        assert_eq!(call_i32(&mut store, &b, "same", &args(1, 3)), 101);
        assert_eq!(call_i32(&mut store, &a, "call_t", &args(2, 3)), 102);
        table
            .set(&mut store, 3, Ref::Func(Some(host_other)))
            .unwrap();
        assert_trap(
            call(&mut store, &b, "same", &args(1, 3)),
            Trap::BadSignature,
        );
        assert_eq!(call_i32(&mut store, &b, "other", &[Val::I32(3)]), 1);
        assert_usable(&mut store, &a);
        assert_usable(&mut store, &b);
    });
}

#[test]
fn a_funcref_from_another_store_is_rejected_by_the_host_api() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(
        &mut store,
        r#"(module
          (type $v (func (result i32)))
          (table $t (export "t") 2 funcref)
          (func (export "call_ref") (param funcref) (result i32)
            (table.set $t (i32.const 0) (local.get 0))
            (call_indirect $t (type $v) (i32.const 0)))
          (func (export "ok") (result i32) i32.const 42))"#,
    );
    let mut other = Store::new(&engine, ());
    let foreign = Func::wrap(&mut other, || 13i32);

    // As an argument: an error, nothing called.
    let err = call(
        &mut store,
        &inst,
        "call_ref",
        &[Val::FuncRef(Some(foreign))],
    )
    .unwrap_err();
    assert!(err.to_string().contains("another store"), "{err:#}");
    assert!(err.downcast_ref::<Trap>().is_none());
    // Into a table, by set, grow and fill: errors, the table unchanged.
    let table = inst.get_table(&mut store, "t").unwrap();
    assert!(table.set(&mut store, 0, Ref::Func(Some(foreign))).is_err());
    assert!(table.grow(&mut store, 1, Ref::Func(Some(foreign))).is_err());
    assert!(
        table
            .fill(&mut store, 0, Ref::Func(Some(foreign)), 2)
            .is_err()
    );
    assert_eq!(table.size(&store), 2);
    assert!(table.get(&mut store, 0).unwrap().is_null());
    // As a host function's result: an error for the wasm caller's caller.
    let returns_foreign = Func::new(
        &mut store,
        trestle::FuncType::new(&engine, [], [trestle::ValType::FUNCREF]),
        move |_, _, results| {
            results[0] = Val::FuncRef(Some(foreign));
            Ok(())
        },
    );
    let mut out = [Val::FuncRef(None)];
    let err = returns_foreign.call(&mut store, &[], &mut out).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err:#}");

    // Called directly with the wrong store: the documented panic.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let mut out = [Val::I32(0)];
        let _ = foreign.call(&mut store, &[], &mut out);
    }));
    assert!(panicked.is_err(), "Func::call with another store's Func");
    let panicked = catch_unwind(AssertUnwindSafe(|| foreign.ty(&store)));
    assert!(panicked.is_err(), "Func::ty with another store's Func");

    // Both stores still work, and the function in its own.
    assert_usable(&mut store, &inst);
    let own = Func::wrap(&mut store, || 5i32);
    assert_eq!(
        call_i32(&mut store, &inst, "call_ref", &[Val::FuncRef(Some(own))]),
        5
    );
    let mut out = [Val::I32(0)];
    foreign.call(&mut other, &[], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 13);
}

#[test]
fn call_indirect_right_after_table_grow_set_and_copy_sees_the_new_table() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(
            &mut store,
            r#"(module
              (type $v (func (result i32)))
              (table $t 1 funcref)
              (table $bounded 1 10 funcref)
              (elem declare func $a $b)
              (func $a (type $v) i32.const 1)
              (func $b (type $v) i32.const 2)
              (func (export "grow_call") (param i32) (result i32)
                (drop (table.grow $t (ref.func $a) (local.get 0)))
                (call_indirect $t (type $v) (i32.sub (table.size $t) (i32.const 1))))
              (func (export "call") (param i32) (result i32)
                (call_indirect $t (type $v) (local.get 0)))
              (func (export "set_call") (param i32) (result i32)
                (table.set $t (local.get 0) (ref.func $b))
                (call_indirect $t (type $v) (local.get 0)))
              (func (export "copy_call") (param i32 i32) (result i32)
                (table.copy $t $t (local.get 0) (local.get 1) (i32.const 1))
                (call_indirect $t (type $v) (local.get 0)))
              ;; Grows by 97 per iteration (so the elements move) and calls
              ;; the newest slot and the first every time: the sum is 3n.
              (func (export "grow_loop") (param i32) (result i32) (local i32)
                (loop $l
                  (drop (table.grow $t (ref.func $b) (i32.const 97)))
                  (local.set 1 (i32.add (local.get 1)
                    (call_indirect $t (type $v) (i32.sub (table.size $t) (i32.const 1)))))
                  (local.set 1 (i32.add (local.get 1)
                    (call_indirect $t (type $v) (i32.const 0))))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                (local.get 1))
              ;; A table with a maximum grows up to it; its bound is not a
              ;; constant.
              (func (export "grow_bounded_call") (param i32) (result i32)
                (drop (table.grow $bounded (ref.func $b) (local.get 0)))
                (call_indirect $bounded (type $v) (i32.sub (table.size $bounded) (i32.const 1))))
              (func (export "call_bounded") (param i32) (result i32)
                (call_indirect $bounded (type $v) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        );
        let i = Val::I32;
        let r = call(&mut store, &inst, "call", &[i(0)]);
        assert_trap(r, Trap::IndirectCallToNull);
        assert_eq!(call_i32(&mut store, &inst, "grow_call", &[i(3)]), 1);
        assert_eq!(call_i32(&mut store, &inst, "set_call", &[i(0)]), 2);
        assert_eq!(call_i32(&mut store, &inst, "copy_call", &[i(1), i(0)]), 2);
        assert_eq!(call_i32(&mut store, &inst, "copy_call", &[i(0), i(3)]), 1);
        assert_eq!(call_i32(&mut store, &inst, "grow_loop", &[i(200)]), 3 * 200);
        let size = 4 + 97 * 200;
        assert_eq!(call_i32(&mut store, &inst, "call", &[i(size - 1)]), 2);
        let r = call(&mut store, &inst, "call", &[i(size)]);
        assert_trap(r, Trap::UndefinedElement);

        let r = call(&mut store, &inst, "call_bounded", &[i(1)]);
        assert_trap(r, Trap::UndefinedElement);
        assert_eq!(call_i32(&mut store, &inst, "grow_bounded_call", &[i(9)]), 2);
        assert_eq!(call_i32(&mut store, &inst, "call_bounded", &[i(9)]), 2);
        // Past the maximum the growth fails and the bound stays.
        assert_eq!(call_i32(&mut store, &inst, "grow_bounded_call", &[i(1)]), 2);
        let r = call(&mut store, &inst, "call_bounded", &[i(10)]);
        assert_trap(r, Trap::UndefinedElement);
        assert_usable(&mut store, &inst);
    });
}

#[test]
fn call_indirect_through_an_imported_table_after_the_host_grows_it() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let table = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 1, None),
            Ref::Func(None),
        )
        .unwrap();
        let module = Module::new(
            engine,
            r#"(module
              (type $v (func (result i32)))
              (import "host" "t" (table $t 1 funcref))
              (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let inst = Instance::new(&mut store, &module, &[table.into()]).unwrap();
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

/// The error a host function returns.
#[derive(Debug)]
struct HostRefused;

impl std::fmt::Display for HostRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host refused")
    }
}

impl std::error::Error for HostRefused {}

#[test]
fn call_indirect_to_a_host_import_that_fails_traps_or_panics() {
    both_modes(|engine| {
        let module = Module::new(
            engine,
            r#"(module
              (type $v (func (param i32) (result i32)))
              (import "host" "fail" (func $fail (type $v)))
              (import "host" "trap" (func $trap (type $v)))
              (import "host" "boom" (func $boom (type $v)))
              (table $t (export "t") 4 funcref)
              (elem (table $t) (i32.const 0) func $fail $trap $boom)
              (func (export "call") (param i32 i32) (result i32)
                (call_indirect $t (type $v) (local.get 1) (local.get 0)))
              (func (export "unreachable") (param i32) (result i32) unreachable)
              (func (export "ok") (result i32) i32.const 42))"#,
        )
        .unwrap();
        let mut linker = Linker::new(engine);
        linker
            .func_wrap("host", "fail", |_: i32| -> trestle::Result<i32> {
                Err(trestle::Error::new(HostRefused))
            })
            .unwrap();
        // Calls back into wasm, which traps; the trap comes back out.
        linker
            .func_wrap(
                "host",
                "trap",
                |mut caller: Caller<'_, ()>, x: i32| -> trestle::Result<i32> {
                    let f = caller
                        .get_export("unreachable")
                        .unwrap()
                        .into_func()
                        .unwrap();
                    let mut out = [Val::I32(0)];
                    f.call(&mut caller, &[Val::I32(x)], &mut out)?;
                    Ok(out[0].unwrap_i32())
                },
            )
            .unwrap();
        linker
            .func_wrap("host", "boom", |_: i32| -> i32 { panic!("host boom") })
            .unwrap();
        let mut store = Store::new(engine, ());
        let inst = linker.instantiate(&mut store, &module).unwrap();
        let args = |slot: i32| [Val::I32(slot), Val::I32(1)];
        for _ in 0..3 {
            let err = call(&mut store, &inst, "call", &args(0)).unwrap_err();
            assert!(err.downcast_ref::<HostRefused>().is_some(), "{err:#}");
            assert!(err.downcast_ref::<Trap>().is_none());
            assert_trap(
                call(&mut store, &inst, "call", &args(1)),
                Trap::UnreachableCodeReached,
            );
            let payload = catch_unwind(AssertUnwindSafe(|| {
                let _ = call(&mut store, &inst, "call", &args(2));
            }))
            .expect_err("the host panic reaches the caller");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"host boom"));
            assert_usable(&mut store, &inst);
        }
        // The same functions placed in the table by the host.
        let table = inst.get_table(&mut store, "t").unwrap();
        let fail = Func::wrap(&mut store, |_: i32| -> trestle::Result<i32> {
            Err(trestle::Error::new(HostRefused))
        });
        table.set(&mut store, 3, Ref::Func(Some(fail))).unwrap();
        let err = call(&mut store, &inst, "call", &args(3)).unwrap_err();
        assert!(err.downcast_ref::<HostRefused>().is_some(), "{err:#}");
        let boom = Func::wrap(&mut store, |_: i32| -> i32 { panic!("placed boom") });
        table.set(&mut store, 3, Ref::Func(Some(boom))).unwrap();
        let payload = catch_unwind(AssertUnwindSafe(|| {
            let _ = call(&mut store, &inst, "call", &args(3));
        }))
        .expect_err("the host panic reaches the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"placed boom"));
        assert_usable(&mut store, &inst);
    });
}

// ---- Resources and malformed input --------------------------------------

#[test]
fn a_declared_table_minimum_of_u32_max_is_a_clean_instantiation_error() {
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        for wat in [
            "(module (table 0xffffffff funcref))",
            "(module (table 0xffffffff externref))",
            "(module (table 0xffffffff 0xffffffff funcref))",
            "(module (table i64 0x8000000000000000 funcref))",
            "(module (table i64 0xffffffffffffffff externref))",
            "(module (table 1 funcref) (table 0xffffffff funcref) (func (export \"f\")))",
        ] {
            let module = Module::new(engine, wat).unwrap();
            let err = Instance::new(&mut store, &module, &[]).unwrap_err();
            assert!(err.downcast_ref::<Trap>().is_none(), "{wat}: {err:#}");
            assert!(!err.to_string().is_empty());
        }
        // Nothing was left behind, and the store works.
        assert_eq!(store.__object_counts(), [0, 0, 0, 0]);
        let inst = instantiate(&mut store, FOUR_SLOTS);
        assert_usable(&mut store, &inst);
        assert_eq!(call_i32(&mut store, &inst, "call", &[Val::I32(0)]), 7);
    });
}

#[test]
fn thousands_of_tables_in_one_module() {
    const N: usize = 5000;
    let mut wat = String::from("(module (type $v (func (result i32)))\n");
    for _ in 0..N {
        wat.push_str("(table 1 funcref)\n");
    }
    wat.push_str(&format!(
        "(elem (table {last}) (i32.const 0) func $a)
         (func $a (type $v) i32.const 7)
         (func (export \"first\") (result i32) (call_indirect 0 (type $v) (i32.const 0)))
         (func (export \"last\") (result i32) (call_indirect {last} (type $v) (i32.const 0)))
         (func (export \"grow_last\") (result i32) (table.grow {last} (ref.null func) (i32.const 1)))
         (func (export \"ok\") (result i32) i32.const 42))",
        last = N - 1
    ));
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, &wat);
        assert_eq!(call_i32(&mut store, &inst, "last", &[]), 7);
        assert_trap(
            call(&mut store, &inst, "first", &[]),
            Trap::IndirectCallToNull,
        );
        assert_eq!(call_i32(&mut store, &inst, "grow_last", &[]), 1);
        assert_eq!(call_i32(&mut store, &inst, "last", &[]), 7);
        assert_eq!(store.__object_counts()[2], N);
        assert_usable(&mut store, &inst);
    });
}

#[test]
fn thousands_of_element_segments_in_one_module() {
    const N: usize = 5000;
    let mut wat =
        format!("(module (type $v (func (param i32) (result i32))) (table {N} funcref)\n");
    // Active segments, one slot each, alternating two functions; passive
    // ones, and a table.init from the last.
    for i in 0..N {
        let f = if i % 2 == 0 { "$even" } else { "$odd" };
        wat.push_str(&format!("(elem (i32.const {i}) func {f})\n"));
    }
    for _ in 0..N {
        wat.push_str("(elem func $odd $even)\n");
    }
    wat.push_str(&format!(
        "(func $even (type $v) (i32.mul (local.get 0) (i32.const 2)))
         (func $odd (type $v) (i32.add (local.get 0) (i32.const 1)))
         (func (export \"call\") (param i32 i32) (result i32)
           (call_indirect (type $v) (local.get 0) (local.get 1)))
         (func (export \"init_last\") (param i32)
           (table.init {last} (local.get 0) (i32.const 0) (i32.const 2)))
         (func (export \"drop_last\") (elem.drop {last}))
         (func (export \"ok\") (result i32) i32.const 42))",
        last = 2 * N - 1
    ));
    both_modes(|engine| {
        let mut store = Store::new(engine, ());
        let inst = instantiate(&mut store, &wat);
        let c = |store: &mut Store<()>, x: i32, slot: i32| {
            call_i32(store, &inst, "call", &[Val::I32(x), Val::I32(slot)])
        };
        for slot in [0, 1, 2, 2501, N as i32 - 2, N as i32 - 1] {
            let want = if slot % 2 == 0 { 20 } else { 11 };
            assert_eq!(c(&mut store, 10, slot), want, "slot {slot}");
        }
        call(&mut store, &inst, "init_last", &[Val::I32(0)]).unwrap();
        assert_eq!(c(&mut store, 10, 0), 11);
        assert_eq!(c(&mut store, 10, 1), 20);
        call(&mut store, &inst, "drop_last", &[]).unwrap();
        assert_trap(
            call(&mut store, &inst, "init_last", &[Val::I32(0)]),
            Trap::TableOutOfBounds,
        );
        assert_usable(&mut store, &inst);
    });
}

/// Recursion every way, each ending in a stack overflow.
const RECURSION: &str = r#"
(module
  (type $r (func (param i32) (result i32)))
  (import "host" "reenter" (func $reenter (type $r)))
  (table 2 funcref)
  (elem (i32.const 0) $indirect $reentered)
  (func $direct (export "direct") (type $r)
    (i32.add (call $direct (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $ping (export "mutual") (type $r)
    (i32.add (call $pong (local.get 0)) (i32.const 1)))
  (func $pong (type $r)
    (i32.add (call $ping (local.get 0)) (i32.const 2)))
  (func $indirect (export "indirect") (type $r)
    (i32.add (call_indirect (type $r) (local.get 0) (i32.const 0)) (i32.const 1)))
  (func $reentered (export "host_reentry") (type $r)
    (i32.add (call $reenter (local.get 0)) (i32.const 1)))
  ;; Big frames: many live values across the call.
  (func $wide (export "wide") (type $r)
    (local i64 i64 i64 i64 i64 i64 i64 i64 f64 f64 f64 f64)
    (local.set 1 (i64.extend_i32_u (local.get 0)))
    (local.set 9 (f64.convert_i32_s (local.get 0)))
    (i32.add
      (i32.wrap_i64 (i64.add (local.get 1) (local.get 2)))
      (i32.add (call $wide (local.get 0))
        (i32.trunc_f64_s (f64.add (local.get 9) (local.get 10))))))
  ;; Finite recursion to depth n.
  (func $countdown (export "countdown") (type $r)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $countdown (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func (export "unreachable") unreachable)
  (func (export "ok") (result i32) i32.const 42))
"#;

#[test]
fn deep_recursion_overflows_cleanly_every_way_and_again_after_a_trap() {
    let engine = crate::harness::engine();
    let module = Module::new(&engine, RECURSION).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, ()>, n: i32| -> trestle::Result<i32> {
                let f = caller
                    .get_export("host_reentry")
                    .unwrap()
                    .into_func()
                    .unwrap();
                let mut out = [Val::I32(0)];
                f.call(&mut caller, &[Val::I32(n + 1)], &mut out)?;
                Ok(out[0].unwrap_i32())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &module).unwrap();
    for round in 0..3 {
        for name in ["direct", "mutual", "indirect", "host_reentry", "wide"] {
            let r = call(&mut store, &inst, name, &[Val::I32(0)]);
            assert_trap(r, Trap::StackOverflow);
            assert_usable(&mut store, &inst);
            // Another trap, then the limit is intact: deep but finite
            // recursion still works and infinite recursion still traps.
            assert_trap(
                call(&mut store, &inst, "unreachable", &[]),
                Trap::UnreachableCodeReached,
            );
            assert_eq!(
                call_i32(&mut store, &inst, "countdown", &[Val::I32(1000)]),
                1000,
                "{name}, round {round}"
            );
        }
    }
}

#[test]
fn deep_recursion_in_a_new_store_after_another_store_overflowed() {
    let engine = crate::harness::engine();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let inst = instantiate(
            &mut store,
            r#"(module
              (func $f (export "f") (param i32) (result i32) (call $f (local.get 0)))
              (func (export "ok") (result i32) i32.const 42))"#,
        );
        assert_trap(
            call(&mut store, &inst, "f", &[Val::I32(0)]),
            Trap::StackOverflow,
        );
        assert_usable(&mut store, &inst);
    }
}

/// A module in binary form, from its sections (id, contents).
fn binary(sections: &[(u8, &[u8])]) -> Vec<u8> {
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    for (id, contents) in sections {
        wasm.push(*id);
        assert!(contents.len() < 128);
        wasm.push(contents.len() as u8);
        wasm.extend_from_slice(contents);
    }
    wasm
}

/// Asserts that `Module::new` and `Module::validate` reject `wasm` with an
/// error whose message contains one of `expected`.
#[track_caller]
fn assert_invalid(engine: &Engine, wasm: &[u8], expected: &[&str]) {
    let err = Module::new(engine, wasm).expect_err("an invalid module");
    let msg = format!("{err:#}");
    assert!(
        expected.iter().any(|e| msg.contains(e)),
        "{msg:?} contains none of {expected:?}"
    );
    assert!(Module::validate(engine, wasm).is_err());
}

#[test]
fn truncated_sections_are_errors() {
    let engine = crate::harness::engine();
    let full = wat::parse_str(SIGNATURES).unwrap();
    Module::new(&engine, &full).unwrap();
    // Where sections end: a prefix cut there may be a valid module (the
    // header alone is the empty module).
    let mut boundaries = vec![8];
    let mut at = 8;
    while at < full.len() {
        let (mut size, mut shift) = (0usize, 0);
        at += 1;
        loop {
            let byte = full[at];
            at += 1;
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        at += size;
        boundaries.push(at);
    }
    assert_eq!(at, full.len());
    // Every other prefix is an error, never a panic.
    for cut in 0..full.len() {
        let result = Module::new(&engine, &full[..cut]);
        assert_eq!(
            result.is_ok(),
            Module::validate(&engine, &full[..cut]).is_ok(),
            "cut at {cut}"
        );
        if !boundaries.contains(&cut) {
            let err = result.expect_err("a truncated module");
            assert!(!err.to_string().is_empty(), "cut at {cut}");
        }
    }
    // A section whose size runs past the end; a section shorter than its
    // contents.
    let mut past_end = binary(&[(1, &[1, 0x60, 0, 0])]);
    past_end[9] = 20;
    assert_invalid(&engine, &past_end, &["unexpected end", "section"]);
    let short = binary(&[(1, &[1, 0x60, 0])]);
    assert_invalid(&engine, &short, &["unexpected end"]);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, FOUR_SLOTS);
    assert_usable(&mut store, &inst);
}

#[test]
fn call_indirect_without_a_table_or_through_an_externref_table_is_invalid() {
    let engine = crate::harness::engine();
    let no_table =
        wat::parse_str("(module (type $t (func)) (func (call_indirect (type $t) (i32.const 0))))")
            .unwrap();
    assert_invalid(&engine, &no_table, &["unknown table"]);
    let second_missing = wat::parse_str(
        "(module (type $t (func)) (table 1 funcref)
           (func (call_indirect 1 (type $t) (i32.const 0))))",
    )
    .unwrap();
    assert_invalid(&engine, &second_missing, &["unknown table"]);
    let externref_table = wat::parse_str(
        "(module (type $t (func)) (table 1 externref)
           (func (call_indirect (type $t) (i32.const 0))))",
    )
    .unwrap();
    assert_invalid(&engine, &externref_table, &["type mismatch", "funcref"]);
}

#[test]
fn type_indices_out_of_range_are_invalid() {
    let engine = crate::harness::engine();
    // call_indirect with type index 5 of 1.
    let call_indirect = wat::parse_str(
        "(module (type (func)) (table 1 funcref) (func (call_indirect (type 5) (i32.const 0))))",
    )
    .unwrap();
    assert_invalid(&engine, &call_indirect, &["unknown type"]);
    // A function declared with type 3 of 1 (type, function and code
    // sections by hand).
    let func = binary(&[(1, &[1, 0x60, 0, 0]), (3, &[1, 3]), (10, &[1, 2, 0, 0x0b])]);
    assert_invalid(
        &engine,
        &func,
        &["unknown type", "type index out of bounds"],
    );
    // An import of type 1 of 1.
    let import = binary(&[(1, &[1, 0x60, 0, 0]), (2, &[1, 1, b'm', 1, b'f', 0x00, 1])]);
    assert_invalid(
        &engine,
        &import,
        &["unknown type", "type index out of bounds"],
    );
    // A block type of type 9.
    let block = wat::parse_str("(module (type (func)) (func (block (type 9))))");
    if let Ok(block) = block {
        assert_invalid(
            &engine,
            &block,
            &["unknown type", "type index out of bounds"],
        );
    }
}

#[test]
fn over_long_leb_encodings_are_invalid() {
    let engine = crate::harness::engine();
    // A type count of 1 in six bytes (u32 LEBs have at most five).
    let count = binary(&[(1, &[0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x60, 0, 0])]);
    assert_invalid(&engine, &count, &["too long", "too large"]);
    // Five bytes whose last one sets bits past 32.
    let high_bits = binary(&[(1, &[0x81, 0x80, 0x80, 0x80, 0x70, 0x60, 0, 0])]);
    assert_invalid(&engine, &high_bits, &["too large", "too long"]);
    // A section size in six bytes.
    let mut size = b"\0asm\x01\0\0\0\x01".to_vec();
    size.extend_from_slice(&[0x84, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 0x60, 0, 0]);
    assert_invalid(&engine, &size, &["too long", "too large"]);
    // i32.const with an 6-byte immediate, and i64.const with 11 bytes.
    let body = |insts: &[u8]| {
        let mut code = vec![0u8];
        code.extend_from_slice(insts);
        code.push(0x1a); // drop
        code.push(0x0b); // end
        let mut entry = vec![code.len() as u8];
        entry.extend_from_slice(&code);
        let mut section = vec![1u8];
        section.extend_from_slice(&entry);
        binary(&[(1, &[1, 0x60, 0, 0]), (3, &[1, 0]), (10, &section)])
    };
    let ok = body(&[0x41, 0x80, 0x80, 0x80, 0x80, 0x00]);
    Module::new(&engine, &ok).expect("a five-byte i32 immediate is fine");
    let i32_long = body(&[0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    assert_invalid(&engine, &i32_long, &["too long", "too large"]);
    let mut i64_insts = vec![0x42];
    i64_insts.extend_from_slice(&[0x80; 10]);
    i64_insts.push(0x00);
    let i64_long = body(&i64_insts);
    assert_invalid(&engine, &i64_long, &["too long", "too large"]);
    let mut store = Store::new(&engine, ());
    let inst = instantiate(&mut store, FOUR_SLOTS);
    assert_usable(&mut store, &inst);
}
