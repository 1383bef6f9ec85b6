//! Exception handling through the host API: exceptions that reach the
//! host carry their tag and payload, tags keep their identity across
//! instances and host definitions, `throw_ref` rethrows the same
//! exception, traps are never caught, deep unwinding stays bounded, host
//! functions throw exceptions that wasm catches (and pass on those of wasm
//! they call), and precompiled modules keep their handlers.
//!
//! Adversarial cases: a trap inside `try_table` with `catch_all` (must
//! trap), unbounded recursion inside `try_table` (must end in "call stack
//! exhausted", not be caught), thousands of host throws caught in a loop
//! (must not grow the stack).

use crate::harness::{self, assert_trap, call_i32, engine, new_instance};
use trestle::{
    Engine, ExnRef, Extern, ExternRef, FuncType, HeapType, Instance, Linker, Module, Ref, Store,
    Tag, TagType, ThrownException, Trap, Val, ValType,
};

/// The exception an error carries.
fn thrown(err: &trestle::Error) -> &ThrownException {
    err.downcast_ref::<ThrownException>()
        .unwrap_or_else(|| panic!("expected an uncaught exception, got: {err:#}"))
}

#[test]
fn exception_to_host_carries_tag_and_payload() {
    let (mut store, inst) = new_instance(
        &engine(),
        r#"(module
            (tag $e (export "e") (param i32 f64))
            (tag $other (export "other"))
            (func (export "throw") (param i32)
                (throw $e (local.get 0) (f64.const 2.5))))"#,
    );
    let f = inst.get_func(&mut store, "throw").unwrap();
    let err = f.call(&mut store, &[Val::I32(7)], &mut []).unwrap_err();
    let exn = thrown(&err);
    let e = inst.get_tag(&mut store, "e").unwrap();
    let other = inst.get_tag(&mut store, "other").unwrap();
    assert_eq!(exn.tag(), e);
    assert_ne!(exn.tag(), other);
    assert_eq!(exn.payload(), &[Val::I32(7), Val::F64(2.5f64.to_bits())]);
    assert!(err.to_string().contains("uncaught exception"), "{err}");
    let ty = e.ty(&store);
    assert_eq!(
        ty.ty().params().collect::<Vec<_>>(),
        [ValType::I32, ValType::F64]
    );
    // The store stays usable.
    let err = f.call(&mut store, &[Val::I32(8)], &mut []).unwrap_err();
    assert_eq!(thrown(&err).payload()[0], Val::I32(8));
}

/// A module that defines and exports tag `t` and a function that throws
/// it with its argument.
const THROWER: &str = r#"(module
    (tag $t (export "t") (param i32))
    (func (export "throw") (param i32) (throw $t (local.get 0))))"#;

/// Catches `t` around a `call_indirect` and around a direct call of the
/// imported thrower.
const CATCHER: &str = r#"(module
    (import "thrower" "t" (tag $t (param i32)))
    (import "thrower" "throw" (func $throw (param i32)))
    (tag $mine (param i32))
    (type $sig (func (param i32)))
    (table 2 funcref)
    (elem (i32.const 0) $throw $local)
    (func $local (param i32) (throw $mine (i32.add (local.get 0) (i32.const 100))))
    (func (export "indirect") (param i32 i32) (result i32)
        (block $caught (result i32)
            (try_table (catch $t $caught)
                (call_indirect (type $sig) (local.get 0) (local.get 1)))
            (i32.const -1)))
    (func (export "direct") (param i32) (result i32)
        (block $caught (result i32)
            (try_table (catch $t $caught) (call $throw (local.get 0)))
            (i32.const -1)))
    (func (export "mine_or_all") (param i32 i32) (result i32)
        (block $all
            (block $caught (result i32)
                (try_table (catch $mine $caught) (catch_all $all)
                    (call_indirect (type $sig) (local.get 0) (local.get 1)))
                (return (i32.const -1)))
            (return))
        (i32.const -2)))"#;

#[test]
fn catch_across_call_indirect_and_instances() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let thrower = harness::instantiate_linked(&linker, &mut store, THROWER);
    linker.instance(&mut store, "thrower", thrower).unwrap();
    let catcher = linker
        .instantiate(&mut store, &Module::new(&engine, CATCHER).unwrap())
        .unwrap();
    let args = |a: i32, b: i32| [Val::I32(a), Val::I32(b)];
    // The imported tag is the exporter's: the other instance's throw is
    // caught.
    assert_eq!(call_i32(&mut store, &catcher, "indirect", &args(5, 0)), 5);
    assert_eq!(call_i32(&mut store, &catcher, "direct", &[Val::I32(6)]), 6);
    // A tag the catcher defines is another tag: `catch $t` misses it.
    let err = harness::call(&mut store, &catcher, "indirect", &args(5, 1)).unwrap_err();
    assert_eq!(thrown(&err).payload(), &[Val::I32(105)]);
    // Clauses are tried in order: `$mine` first, else `catch_all`.
    assert_eq!(
        call_i32(&mut store, &catcher, "mine_or_all", &args(1, 1)),
        101
    );
    assert_eq!(
        call_i32(&mut store, &catcher, "mine_or_all", &args(1, 0)),
        -2
    );
    // Two instances of one module define two tags.
    let other = harness::instantiate_linked(&linker, &mut store, THROWER);
    let t1 = thrower.get_tag(&mut store, "t").unwrap();
    let t2 = other.get_tag(&mut store, "t").unwrap();
    assert_ne!(t1, t2);
}

#[test]
fn host_tag_is_shared_by_importers() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let ty = TagType::new(FuncType::new(&engine, [ValType::I64], []));
    let tag = Tag::new(&mut store, &ty).unwrap();
    assert!(
        Tag::new(
            &mut store,
            &TagType::new(FuncType::new(&engine, [], [ValType::I32]))
        )
        .is_err()
    );
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "tag", tag).unwrap();
    let thrower = harness::instantiate_linked(
        &linker,
        &mut store,
        r#"(module (import "host" "tag" (tag $t (param i64)))
            (func (export "throw") (param i64) (throw $t (local.get 0))))"#,
    );
    linker.instance(&mut store, "thrower", thrower).unwrap();
    let catcher = harness::instantiate_linked(
        &linker,
        &mut store,
        r#"(module (import "host" "tag" (tag $t (param i64)))
            (import "thrower" "throw" (func $throw (param i64)))
            (func (export "run") (param i64) (result i64)
                (block $h (result i64)
                    (try_table (catch $t $h) (call $throw (local.get 0)))
                    (i64.const 0))))"#,
    );
    let run = catcher
        .get_typed_func::<i64, i64>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 42).unwrap(), 42);
    // Uncaught, the host sees its own tag.
    let throw = thrower
        .get_typed_func::<i64, ()>(&mut store, "throw")
        .unwrap();
    let err = throw.call(&mut store, 9).unwrap_err();
    assert_eq!(thrown(&err).tag(), tag);
    assert!(matches!(
        thrower.get_export(&mut store, "throw"),
        Some(Extern::Func(_))
    ));
    // A tag of another type does not link.
    let wrong = Module::new(
        &engine,
        r#"(module (import "host" "tag" (tag (param i32))))"#,
    )
    .unwrap();
    let err = Instance::new(&mut store, &wrong, &[tag.into()]).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
}

#[test]
fn rethrow_with_throw_ref_keeps_the_exception() {
    let (mut store, inst) = new_instance(
        &engine(),
        r#"(module
            (tag $e (export "e") (param i32))
            (global $saved (mut exnref) (ref.null exn))
            (func $inner (param i32)
                (block $h (result i32 exnref)
                    (try_table (catch_ref $e $h) (throw $e (local.get 0)))
                    (unreachable))
                ;; catch_ref pushes the payload, then the exnref.
                (global.set $saved)
                (drop)
                (throw_ref (global.get $saved)))
            (func (export "rethrow_caught") (param i32) (result i32)
                (block $h (result i32 exnref)
                    (try_table (catch_ref $e $h) (call $inner (local.get 0)))
                    (unreachable))
                (drop))
            (func (export "rethrow_out") (param i32) (call $inner (local.get 0)))
            (func (export "saved") (result exnref) (global.get $saved))
            (func (export "throw_ref") (param exnref) (throw_ref (local.get 0))))"#,
    );
    assert_eq!(
        call_i32(&mut store, &inst, "rethrow_caught", &[Val::I32(3)]),
        3
    );
    let err = harness::call(&mut store, &inst, "rethrow_out", &[Val::I32(4)]).unwrap_err();
    let e = inst.get_tag(&mut store, "e").unwrap();
    assert_eq!(thrown(&err).tag(), e);
    assert_eq!(thrown(&err).payload(), &[Val::I32(4)]);
    // The host holds the exnref, reads it and hands it back to throw.
    let saved = harness::call_ok(&mut store, &inst, "saved", &[]);
    let Val::ExnRef(Some(exn)) = saved[0] else {
        panic!("expected an exnref, got {saved:?}")
    };
    assert_eq!(exn.tag(&store).unwrap(), e);
    assert_eq!(exn.payload(&mut store).unwrap(), [Val::I32(4)]);
    let err = harness::call(&mut store, &inst, "throw_ref", &[Val::ExnRef(Some(exn))]).unwrap_err();
    assert_eq!(thrown(&err).payload(), &[Val::I32(4)]);
    // A null exnref traps.
    assert_trap(
        harness::call(&mut store, &inst, "throw_ref", &[Val::ExnRef(None)]),
        Trap::NullReference,
    );

    // The same through typed functions and the reference accessors.
    let saved = inst
        .get_typed_func::<(), Option<ExnRef>>(&mut store, "saved")
        .unwrap();
    let exn = saved
        .call(&mut store, ())
        .unwrap()
        .expect("a saved exception");
    let as_ref = Ref::from(exn);
    assert!(as_ref.is_exn() && !as_ref.is_func());
    assert_eq!(as_ref.as_exn(), Some(Some(&exn)));
    assert_eq!(as_ref.as_extern(), None);
    assert_eq!(Val::from(Some(exn)).unwrap_exnref(), Some(&exn));
    assert_eq!(Val::ExnRef(None).exnref(), Some(None));
    assert_eq!(Val::I32(0).exnref(), None);
    assert_eq!(Ref::null(&HeapType::Exn).unwrap_exn(), None);
    let throw_ref = inst
        .get_typed_func::<Option<ExnRef>, ()>(&mut store, "throw_ref")
        .unwrap();
    let err = throw_ref.call(&mut store, Some(exn)).unwrap_err();
    assert_eq!(thrown(&err).tag(), e);
    assert_eq!(thrown(&err).payload(), &[Val::I32(4)]);
    assert_trap(throw_ref.call(&mut store, None), Trap::NullReference);
    // A typed function's exnref type must match the export's.
    assert!(
        inst.get_typed_func::<Option<ExternRef>, ()>(&mut store, "throw_ref")
            .is_err()
    );
}

#[test]
fn traps_are_never_caught() {
    let (mut store, inst) = new_instance(
        &engine(),
        r#"(module
            (func $div (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
            (func $forever (call $forever))
            (func (export "unreachable") (result i32)
                (block $h (try_table (catch_all $h) (unreachable)))
                (i32.const 1))
            (func (export "div") (param i32) (result i32)
                (block $h (result exnref)
                    (try_table (result i32) (catch_all_ref $h)
                        (call $div (local.get 0)))
                    (return))
                (drop)
                (i32.const -1))
            (func (export "overflow") (result i32)
                (block $h (try_table (catch_all $h) (call $forever)))
                (i32.const 1)))"#,
    );
    assert_trap(
        harness::call(&mut store, &inst, "unreachable", &[]),
        Trap::UnreachableCodeReached,
    );
    assert_eq!(call_i32(&mut store, &inst, "div", &[Val::I32(1)]), 1);
    assert_trap(
        harness::call(&mut store, &inst, "div", &[Val::I32(0)]),
        Trap::IntegerDivisionByZero,
    );
    assert_trap(
        harness::call(&mut store, &inst, "overflow", &[]),
        Trap::StackOverflow,
    );
}

#[test]
fn deep_recursion_with_throws_stays_bounded() {
    let (mut store, inst) = new_instance(
        &engine(),
        r#"(module
            (tag $e (param i32))
            ;; Recurses `n` deep, then throws; every tenth frame catches
            ;; and rethrows with one more in the payload.
            (func $down (param $n i32) (param $d i32)
                (if (i32.eqz (local.get $n)) (then (throw $e (local.get $d))))
                (if (i32.rem_u (local.get $n) (i32.const 10))
                    (then
                        (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $d))
                        (return)))
                (block $h (result i32)
                    (try_table (catch $e $h)
                        (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $d)))
                    (return))
                (throw $e (i32.add (i32.const 1))))
            (func (export "run") (param i32) (result i32)
                (block $h (result i32)
                    (try_table (catch $e $h) (call $down (local.get 0) (i32.const 0)))
                    (i32.const -1)))
            (func $forever (param i32)
                (block $h (try_table (catch_all $h) (call $forever (local.get 0)))))
            (func (export "overflow") (call $forever (i32.const 0))))"#,
    );
    for _ in 0..200 {
        assert_eq!(call_i32(&mut store, &inst, "run", &[Val::I32(2000)]), 200);
    }
    // Unbounded recursion inside `try_table` is a stack overflow, which no
    // handler catches, and the store stays usable.
    assert_trap(
        harness::call(&mut store, &inst, "overflow", &[]),
        Trap::StackOverflow,
    );
    assert_eq!(call_i32(&mut store, &inst, "run", &[Val::I32(10)]), 1);
}

/// An exception thrown by wasm that a host function called is that call's
/// error; returned by the host function, it continues as the same
/// exception in the wasm that called the host function, which catches it.
#[test]
fn exception_through_a_host_function_stays_an_exception() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::<()>::new(&engine);
    let thrower = harness::instantiate_linked(&linker, &mut store, THROWER);
    let throw = thrower.get_func(&mut store, "throw").unwrap();
    linker
        .func_wrap(
            "host",
            "call_thrower",
            move |mut caller: trestle::Caller<'_, ()>, x: i32| {
                let err = throw
                    .call(&mut caller, &[Val::I32(x)], &mut [])
                    .unwrap_err();
                assert_eq!(thrown(&err).payload(), &[Val::I32(x)]);
                Err::<(), _>(err)
            },
        )
        .unwrap();
    linker.instance(&mut store, "thrower", thrower).unwrap();
    let outer = harness::instantiate_linked(
        &linker,
        &mut store,
        r#"(module
            (import "thrower" "t" (tag $t (param i32)))
            (import "host" "call_thrower" (func $host (param i32)))
            (export "t" (tag $t))
            (func (export "run") (param i32) (result i32)
                (block $h (result i32)
                    (try_table (catch $t $h) (call $host (local.get 0)))
                    (i32.const -1)))
            (func (export "uncaught") (param i32) (call $host (local.get 0))))"#,
    );
    assert_eq!(call_i32(&mut store, &outer, "run", &[Val::I32(11)]), 11);
    // With no handler it reaches the host as the outer call's exception.
    let err = harness::call(&mut store, &outer, "uncaught", &[Val::I32(12)]).unwrap_err();
    let t = outer.get_tag(&mut store, "t").unwrap();
    assert_eq!(thrown(&err).tag(), t);
    assert_eq!(thrown(&err).payload(), &[Val::I32(12)]);
}

/// A module importing tag `host.oops (param i32 i64)` and host function
/// `host.fail (param i32)`, calling it directly, through `call_indirect`,
/// and with no handler around the call.
const HOST_THROW: &str = r#"(module
    (import "host" "oops" (tag $oops (param i32 i64)))
    (import "host" "fail" (func $fail (param i32)))
    (table 1 funcref)
    (elem (i32.const 0) $fail)
    (type $t (func (param i32)))
    (func (export "direct") (param i32) (result i32)
        (block $caught (result i32 i64)
            (try_table (catch $oops $caught) (call $fail (local.get 0)))
            (return (i32.const -1)))
        (drop))
    (func (export "indirect") (param i32) (result i64)
        (local $high i64)
        (block $caught (result i32 i64)
            (try_table (catch $oops $caught)
                (call_indirect (type $t) (local.get 0) (i32.const 0)))
            (return (i64.const -1)))
        (local.set $high)
        (i64.extend_i32_s)
        (i64.add (local.get $high)))
    (func (export "catch_all") (param i32) (result i32)
        (block $caught
            (try_table (catch_all $caught) (call $fail (local.get 0)))
            (return (i32.const 0)))
        (i32.const 1))
    (func (export "uncaught") (param i32) (call $fail (local.get 0)))
    (func (export "loop") (param $n i32) (result i64)
        (local $i i32) (local $sum i64)
        (loop $next
            (block $caught (result i32 i64)
                (try_table (catch $oops $caught) (call $fail (local.get $i)))
                (unreachable))
            (local.set $sum (i64.add (local.get $sum)))
            (drop)
            (br_if $next (i32.lt_u
                (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (local.get $n))))
        (local.get $sum))
    (export "fail" (func $fail)))"#;

/// Instantiates [`HOST_THROW`] with a host function that throws `oops`
/// with payload `(x, 2 * x)` for `x >= 0` and returns normally otherwise.
fn host_throw_instance(engine: &Engine) -> (Store<()>, Instance, Tag) {
    let mut store = Store::new(engine, ());
    let ty = TagType::new(FuncType::new(engine, [ValType::I32, ValType::I64], []));
    let tag = Tag::new(&mut store, &ty).unwrap();
    let mut linker = Linker::<()>::new(engine);
    linker.define(&store, "host", "oops", tag).unwrap();
    linker
        .func_wrap(
            "host",
            "fail",
            move |mut caller: trestle::Caller<'_, ()>, x: i32| -> trestle::Result<()> {
                if x < 0 {
                    return Ok(());
                }
                let exn = ExnRef::new(
                    &mut caller,
                    &tag,
                    &[Val::I32(x), Val::I64(2 * i64::from(x))],
                )?;
                caller.throw(exn)
            },
        )
        .unwrap();
    let module = Module::new(engine, HOST_THROW).unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    (store, inst, tag)
}

#[test]
fn host_functions_throw_exceptions_wasm_catches() {
    let mut without_backtraces = harness::config();
    without_backtraces.wasm_backtrace(false);
    for engine in [engine(), Engine::new(&without_backtraces).unwrap()] {
        host_throws_are_caught(&engine);
    }
}

fn host_throws_are_caught(engine: &Engine) {
    let (mut store, inst, tag) = host_throw_instance(engine);
    assert_eq!(call_i32(&mut store, &inst, "direct", &[Val::I32(5)]), 5);
    assert_eq!(call_i32(&mut store, &inst, "direct", &[Val::I32(-5)]), -1);
    let r = harness::call_ok(&mut store, &inst, "indirect", &[Val::I32(7)]);
    assert_eq!(r, [Val::I64(21)]);
    assert_eq!(call_i32(&mut store, &inst, "catch_all", &[Val::I32(1)]), 1);
    assert_eq!(call_i32(&mut store, &inst, "catch_all", &[Val::I32(-1)]), 0);
    // No handler: the outer call's error carries the host's exception.
    let err = harness::call(&mut store, &inst, "uncaught", &[Val::I32(9)]).unwrap_err();
    assert_eq!(thrown(&err).tag(), tag);
    assert_eq!(thrown(&err).payload(), &[Val::I32(9), Val::I64(18)]);
    assert_eq!(thrown(&err).exn().tag(&store).unwrap(), tag);
    // Called directly by the host, the function's error is the exception.
    let fail = inst.get_func(&mut store, "fail").unwrap();
    let err = fail.call(&mut store, &[Val::I32(3)], &mut []).unwrap_err();
    assert_eq!(thrown(&err).payload(), &[Val::I32(3), Val::I64(6)]);
}

/// Every caught host throw resumes on the handler's own stack: a hundred
/// thousand of them caught in one wasm loop leave no frames behind (left
/// behind, they would exhaust the stack).
#[test]
fn host_throws_in_a_loop_do_not_grow_the_stack() {
    let (mut store, inst, _) = host_throw_instance(&engine());
    let n = 100_000i64;
    let r = harness::call_ok(&mut store, &inst, "loop", &[Val::I32(n as i32)]);
    assert_eq!(r, [Val::I64(n * (n - 1))]);
}

#[test]
fn exnref_new_checks_its_payload() {
    let (mut store, _, tag) = host_throw_instance(&engine());
    let err = ExnRef::new(&mut store, &tag, &[Val::I32(1)]).unwrap_err();
    assert!(err.to_string().contains("2 value(s), 1 given"), "{err}");
    let err = ExnRef::new(&mut store, &tag, &[Val::I32(1), Val::I32(2)]).unwrap_err();
    assert!(err.to_string().contains("payload value 1"), "{err}");
    let exn = ExnRef::new(&mut store, &tag, &[Val::I32(1), Val::I64(2)]).unwrap();
    assert_eq!(exn.tag(&store).unwrap(), tag);
    assert_eq!(exn.payload(&mut store).unwrap(), [Val::I32(1), Val::I64(2)]);
}

#[test]
fn precompiled_module_keeps_its_handlers() {
    let engine = engine();
    let wat = r#"(module
        (tag $e (param i32))
        (func $throw (param i32) (throw $e (local.get 0)))
        (func (export "run") (param i32) (result i32)
            (block $h (result i32)
                (try_table (catch $e $h) (call $throw (local.get 0)))
                (i32.const -1))))"#;
    let bytes = Module::new(&engine, wat).unwrap().serialize().unwrap();
    // SAFETY: the bytes come from `Module::serialize` of this engine.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(call_i32(&mut store, &inst, "run", &[Val::I32(77)]), 77);
}

#[test]
fn exceptions_can_be_switched_off() {
    let mut config = harness::config();
    config.wasm_exceptions(false);
    let engine = Engine::new(&config).unwrap();
    assert!(!config.get_wasm_exceptions());
    let err = Module::new(&engine, THROWER).unwrap_err();
    assert!(format!("{err:#}").contains("exception"), "{err:#}");
    assert!(harness::config().get_wasm_exceptions());
}

/// Exceptions (and the externrefs they carry) that wasm throws, catches
/// and drops are freed while the call that made them still runs, and the
/// values its frames still hold survive those collections.
#[test]
fn exceptions_dropped_in_a_long_call_are_freed_while_it_runs() {
    use crate::harness::{Counted, Counts};
    use std::sync::Arc;
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let counts = Arc::new(Counts::default());
    let mut linker = Linker::<()>::new(&engine);
    let made = counts.clone();
    linker
        .func_wrap(
            "host",
            "make",
            move |mut caller: trestle::Caller<'_, ()>| -> Option<ExternRef> {
                Some(made.make(&mut caller))
            },
        )
        .unwrap();
    let live = counts.clone();
    linker
        .func_wrap(
            "host",
            "live",
            move |mut caller: trestle::Caller<'_, ()>| -> i32 {
                caller.gc();
                (live.created() - live.dropped()) as i32
            },
        )
        .unwrap();
    linker
        .func_wrap(
            "host",
            "alive",
            |caller: trestle::Caller<'_, ()>, r: Option<ExternRef>| -> i32 {
                let data = r.expect("non-null").data(&caller).ok().flatten();
                i32::from(data.is_some_and(|d| d.downcast_ref::<Counted>().is_some()))
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "make" (func $make (result externref)))
            (import "host" "live" (func $live (result i32)))
            (import "host" "alive" (func $alive (param externref) (result i32)))
            (tag $e (param externref))
            (func (export "run") (param $n i32) (result i32 i32 i32)
                (local $i i32) (local $kept externref) (local $first exnref)
                (local.set $kept (call $make))
                ;; The first exception is kept in a local for the whole loop.
                (block $h (result externref exnref)
                    (try_table (catch_ref $e $h) (throw $e (call $make)))
                    (unreachable))
                (local.set $first)
                (drop)
                (loop $next
                    (block $caught (result externref)
                        (try_table (catch $e $caught) (throw $e (call $make)))
                        (unreachable))
                    (drop)
                    (br_if $next (i32.lt_u
                        (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (local.get $n))))
                ;; Live values now, then whether the kept ones survived.
                (call $live)
                (call $alive (local.get $kept))
                (block $again (result externref)
                    (try_table (catch $e $again) (throw_ref (local.get $first)))
                    (unreachable))
                (call $alive)))"#,
    )
    .unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let n = 20_000;
    let r = harness::call_ok(&mut store, &inst, "run", &[Val::I32(n)]);
    let [Val::I32(live), Val::I32(kept_alive), Val::I32(first_alive)] = r[..] else {
        panic!("unexpected results {r:?}")
    };
    assert_eq!((kept_alive, first_alive), (1, 1), "a held value was freed");
    assert!(
        live < 2_000,
        "{live} of {} values still live in the call that dropped them",
        n + 2
    );
    assert_eq!(counts.created(), n as usize + 2);
    drop(store);
    assert_eq!(counts.dropped(), counts.created());
}
