//! An externref lives as long as something holds it, and no longer.
//!
//! - Lifetime: through table operators and globals, across host calls that
//!   churn, in many arguments and results at once; a value of another store
//!   is refused, and a handle whose value was collected is an error, never
//!   a use after free.
//! - Early release: overwritten in a table (by `table.set` from wasm or the
//!   host, `table.fill`, `table.copy`, `table.init`, after `table.grow`) or
//!   in a global, a value is freed by the next collection; one that a
//!   passive segment reaches through an immutable global is kept.
//! - Roots: the results of a call and values made in a scope are rooted by
//!   the scope, a live frame keeps its locals, nested and leaked root
//!   scopes close in order, and a host function's roots end when it
//!   returns, fails, panics or traps.
//! - Automatic collection keeps the heap bounded, from the host and from a
//!   wasm loop calling a host function that makes values.

use super::{EXT, NULL_EXT, alive, ext, gc_scenario, int, scenario};
use crate::harness::{Counted, Counts, call_ok, instantiate, link, panics, table64_engine, trap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use trestle::{
    AsContextMut, Caller, ExternRef, Func, Global, GlobalType, Instance, Module, Mutability, Ref,
    RefType, RootScope, Store, Table, TableType, Trap, Val, ValType,
};

/// Runs `f` on a new store and drop counters, then checks that dropping
/// the store dropped every value made.
fn with_counted_store(f: impl FnOnce(&mut Store<()>, &Arc<Counts>)) {
    let counts = Arc::new(Counts::default());
    {
        let engine = table64_engine(true);
        let mut store = Store::new(&engine, ());
        f(&mut store, &counts);
    }
    assert_eq!(counts.dropped(), counts.created());
}

/// A new value whose scope has ended, put in slot `slot` of table `t` by
/// `table.set`, which alone holds it.
fn in_slot(store: &mut Store<()>, inst: &Instance, c: &Counts, slot: i32) -> ExternRef {
    let r = c.unrooted(store);
    call_ok(&mut *store, inst, "set", &[int(slot), ext(r)]);
    r
}

#[test]
fn externref_set_and_overwrite() {
    scenario(|store, inst, make| {
        for i in 0..10 {
            let r = make(store);
            call_ok(&mut *store, inst, "set", &[int(i % 4), ext(r)]);
            let back = call_ok(&mut *store, inst, "get", &[int(i % 4)]);
            assert_eq!(back[0], ext(r));
        }
    });
}

#[test]
fn externref_fill_copy_grow_init() {
    scenario(|store, inst, make| {
        let a = make(store);
        call_ok(&mut *store, inst, "fill", &[int(0), ext(a), int(4)]);
        call_ok(&mut *store, inst, "copy", &[int(1), int(0), int(3)]);
        let b = make(store);
        let old = call_ok(&mut *store, inst, "grow", &[ext(b), int(2)]);
        assert_eq!(old[0], int(4));
        call_ok(&mut *store, inst, "init", &[int(0)]);
        let got = call_ok(&mut *store, inst, "get", &[int(5)]);
        assert_eq!(got[0], ext(b));
        let got = call_ok(&mut *store, inst, "get", &[int(0)]);
        assert_eq!(got[0], NULL_EXT);
    });
}

#[test]
fn externref_many_returned_at_once_and_held_by_a_global() {
    scenario(|store, inst, make| {
        let refs: Vec<ExternRef> = (0..4).map(|_| make(store)).collect();
        let args: Vec<Val> = refs.iter().map(|r| Val::ExternRef(Some(*r))).collect();
        let out = call_ok(&mut *store, inst, "many", &args);
        assert_eq!(out.len(), 8);
        assert_eq!(out[0], args[0]);
        assert_eq!(out[7], args[0]);
        assert_eq!(out[4], args[3]);
        call_ok(&mut *store, inst, "keep", &[args[2]]);
        let g = inst.get_global(&mut *store, "g").unwrap();
        assert_eq!(g.get(&mut *store), args[2]);
        let data = refs[2].data(&*store).unwrap().unwrap();
        assert!(data.downcast_ref::<Counted>().is_some());
    });
}

#[test]
fn externref_in_a_live_frame_survives_host_churn() {
    scenario(|store, _inst, make| {
        let inst = link(
            &mut *store,
            r#"(module
              (import "host" "churn" (func $churn))
              (func (export "hold") (param externref) (result externref)
                call $churn
                local.get 0))"#,
            |linker| {
                linker
                    .func_wrap("host", "churn", |mut caller: trestle::Caller<'_, ()>| {
                        for i in 0..1000u32 {
                            let _ = ExternRef::new(&mut caller, i).unwrap();
                        }
                    })
                    .unwrap();
            },
        );
        let held = make(store);
        let out = call_ok(&mut *store, &inst, "hold", &[ext(held)]);
        assert_eq!(out[0], ext(held));
        let data = held.data(&*store).unwrap().unwrap();
        assert!(data.downcast_ref::<Counted>().is_some());
    });
}

#[test]
fn externref_from_another_store_is_rejected_or_panics() {
    let engine = table64_engine(true);
    let mut store = Store::new(&engine, ());
    let mut other = Store::new(&engine, ());
    let inst = instantiate(&mut store, EXT);
    let foreign = ExternRef::new(&mut other, 5u8).unwrap();
    let set = inst.get_func(&mut store, "set").unwrap();
    let err = set
        .call(&mut store, &[int(0), ext(foreign)], &mut [])
        .unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    assert!(panics(|| {
        let _ = foreign.data(&store);
    }));
}

#[test]
fn stale_externref_handle_is_an_error_never_a_use_after_free() {
    gc_scenario(|store, inst, c| {
        let stale = c.unrooted(store);
        assert_eq!(c.dropped_after_gc(store), 1);
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
            .call(&mut *store, &[int(0), ext(stale)], &mut [])
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
        assert_eq!(g.get(&mut *store), NULL_EXT);
        assert_eq!(t.get(&mut *store, 0), Some(Ref::Extern(None)));
        // A host function that returns a stale handle fails the call.
        let stale_again = c.unrooted(store);
        store.gc();
        let ret = Func::wrap(&mut *store, move || Some(stale_again));
        let err = ret.call(&mut *store, &[], &mut [NULL_EXT]).unwrap_err();
        assert!(err.to_string().contains("collected"), "{err}");
        assert_eq!(c.dropped(), 2);
    });
}

#[test]
fn externref_overwritten_by_table_set_from_wasm_is_released() {
    gc_scenario(|store, inst, c| {
        let a = in_slot(store, inst, c, 1);
        store.gc();
        assert!(alive(store, a), "the table holds it");
        let b = in_slot(store, inst, c, 1);
        assert_eq!(c.dropped(), 0, "nothing is freed before a collection");
        assert_eq!(c.dropped_after_gc(store), 1);
        assert!(!alive(store, a));
        assert!(alive(store, b));
        call_ok(&mut *store, inst, "set", &[int(1), NULL_EXT]);
        assert_eq!(c.dropped_after_gc(store), 2);
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
        assert_eq!(c.dropped_after_gc(store), 1);
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
        assert_eq!(c.dropped_after_gc(store), 2);
    });
}

#[test]
fn externref_overwritten_by_table_fill_is_released() {
    gc_scenario(|store, inst, c| {
        let a = c.unrooted(store);
        call_ok(&mut *store, inst, "fill", &[int(0), ext(a), int(4)]);
        let b = c.unrooted(store);
        // Overwrites three of the four copies of `a`: it stays.
        call_ok(&mut *store, inst, "fill", &[int(0), ext(b), int(3)]);
        assert_eq!(c.dropped_after_gc(store), 0);
        assert!(alive(store, a) && alive(store, b));
        let t = inst.get_table(&mut *store, "t").unwrap();
        t.fill(&mut *store, 3, Ref::Extern(None), 1).unwrap();
        assert_eq!(c.dropped_after_gc(store), 1);
        assert!(!alive(store, a));
        call_ok(&mut *store, inst, "fill", &[int(0), NULL_EXT, int(4)]);
        assert_eq!(c.dropped_after_gc(store), 2);
    });
}

#[test]
fn externref_overwritten_by_table_copy_is_released() {
    gc_scenario(|store, inst, c| {
        let a = in_slot(store, inst, c, 0);
        let b = in_slot(store, inst, c, 3);
        // t[3] = t[0]: b is gone from the table, a is there twice.
        call_ok(&mut *store, inst, "copy", &[int(3), int(0), int(1)]);
        assert_eq!(c.dropped_after_gc(store), 1);
        assert!(!alive(store, b));
        assert!(alive(store, a));
        // t[0..2] = t[1..3] (nulls): one copy of a is left, at 3.
        call_ok(&mut *store, inst, "copy", &[int(0), int(1), int(2)]);
        store.gc();
        assert!(alive(store, a));
        let t = inst.get_table(&mut *store, "t").unwrap();
        Table::copy(&mut *store, &t, 3, &t, 2, 1).unwrap();
        assert_eq!(c.dropped_after_gc(store), 2);
    });
}

#[test]
fn externref_grown_in_is_kept_and_overwritten_after_grow_is_released() {
    gc_scenario(|store, inst, c| {
        let a = c.unrooted(store);
        let old = call_ok(&mut *store, inst, "grow", &[ext(a), int(2)]);
        assert_eq!(old[0], int(4));
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
        call_ok(&mut *store, inst, "set", &[int(4), NULL_EXT]);
        t.set(&mut *store, 5, Ref::Extern(None)).unwrap();
        t.fill(&mut *store, 6, Ref::Extern(None), 2).unwrap();
        assert_eq!(c.dropped_after_gc(store), 1);
        assert!(!alive(store, a));
        assert!(alive(store, b));
        {
            let mut scope = RootScope::new(&mut *store);
            let got = call_ok(&mut scope, inst, "get", &[int(8)]);
            assert_eq!(got[0], ext(b));
        }
        // Growing by 0 or failing to grow keeps the init value nowhere.
        let d = c.unrooted(store);
        assert_eq!(t.grow(&mut *store, 0, d.into()).unwrap(), 9);
        assert_eq!(c.dropped_after_gc(store), 2);
        assert!(!alive(store, d));
    });
}

#[test]
fn externref_overwritten_by_table_init_is_released() {
    gc_scenario(|store, inst, c| {
        let a = in_slot(store, inst, c, 1);
        let b = in_slot(store, inst, c, 2);
        // $seg is two nulls, copied to t[1..3].
        call_ok(&mut *store, inst, "init", &[int(1)]);
        assert_eq!(c.dropped_after_gc(store), 2);
        assert!(!alive(store, a) && !alive(store, b));
    });
}

#[test]
fn externref_overwritten_in_a_global_is_released() {
    gc_scenario(|store, inst, c| {
        let g = inst.get_global(&mut *store, "g").unwrap();
        let a = c.unrooted(store);
        call_ok(&mut *store, inst, "keep", &[ext(a)]);
        store.gc();
        assert!(alive(store, a), "the global holds it");
        let b = c.unrooted(store);
        g.set(&mut *store, ext(b)).unwrap();
        assert_eq!(c.dropped_after_gc(store), 1);
        assert!(!alive(store, a));
        assert!(alive(store, b));
        call_ok(&mut *store, inst, "keep", &[NULL_EXT]);
        assert_eq!(c.dropped_after_gc(store), 2);
        // A host global holds its value too, until overwritten.
        let d = c.unrooted(store);
        let ty = GlobalType::new(ValType::EXTERNREF, Mutability::Var);
        let host = Global::new(&mut *store, ty, ext(d)).unwrap();
        store.gc();
        assert!(alive(store, d));
        host.set(&mut *store, NULL_EXT).unwrap();
        assert_eq!(c.dropped_after_gc(store), 3);
    });
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
        call_ok(&mut *store, &inst, "init", &[]);
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
        call_ok(&mut *store, &inst, "drop", &[]);
        store.gc();
        assert!(alive(store, a), "the global still holds it");
        assert_eq!(c.dropped(), 0);
    });
}

#[test]
fn externref_many_arguments_and_results_in_one_call() {
    const N: usize = 24;
    gc_scenario(|store, _inst, c| {
        let params = "externref ".repeat(N);
        let body: String = (0..N).rev().map(|i| format!("local.get {i} ")).collect();
        let wat =
            format!("(module (func (export \"rev\") (param {params}) (result {params}) {body}))");
        let inst = instantiate(store, &wat);
        let refs: Vec<ExternRef> = (0..N).map(|_| c.unrooted(store)).collect();
        let args: Vec<Val> = refs.iter().map(|r| ext(*r)).collect();
        {
            let mut scope = RootScope::new(&mut *store);
            let out = call_ok(&mut scope, &inst, "rev", &args);
            scope.as_context_mut().gc();
            for (i, v) in out.iter().enumerate() {
                assert_eq!(*v, args[N - 1 - i]);
            }
            // The results are rooted by the scope.
            assert_eq!(c.dropped(), 0);
        }
        assert_eq!(c.dropped_after_gc(store), N);
        // The same through `TypedFunc` and the `many` export.
        let inst = instantiate(store, EXT);
        type E = Option<ExternRef>;
        let many = inst
            .get_typed_func::<(E, E, E, E), (E, E, E, E, E, E, E, E)>(&mut *store, "many")
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
        assert_eq!(c.dropped_after_gc(store), N + 4);
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
    with_counted_store(|store, counts| {
        let c = counts.clone();
        let inst = link(&mut *store, HOLDER, |linker| {
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
        });

        let held = counts.unrooted(&mut *store);
        {
            let mut scope = RootScope::new(&mut *store);
            let out = call_ok(&mut scope, &inst, "hold", &[ext(held)]);
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

        let t = inst.get_table(&mut *store, "t").unwrap();
        let taken = counts.unrooted(&mut *store);
        t.set(&mut *store, 0, taken.into()).unwrap();
        {
            let mut scope = RootScope::new(&mut *store);
            let out = call_ok(&mut scope, &inst, "take", &[]);
            assert_eq!(out[0], ext(taken));
        }
        assert!(alive(&*store, taken), "no full collection since");
        assert_eq!(t.get(&mut *store, 0), Some(Ref::Extern(None)));
        store.gc();
        assert!(!alive(&*store, taken));
        assert_eq!(counts.dropped(), CHURN + 2);
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
        let back = call_ok(&mut *store, inst, "get", &[int(0)]);
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
        assert_eq!(c.dropped_after_gc(store), 2);
        assert!(!alive(store, a));
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
        assert_eq!(c.dropped_after_gc(store), 2);
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
        let made: Arc<std::sync::Mutex<Vec<ExternRef>>> = Arc::default();
        let (m, dropped) = (made.clone(), c.dropped.clone());
        let created = c.created.clone();
        let make = move |mut caller: Caller<'_, ()>, how: i32| -> trestle::Result<()> {
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
        };
        let inst = link(
            &mut *store,
            r#"(module
              (import "host" "make" (func $make (param i32)))
              (table (export "t") 1 externref)
              (func (export "run") (param i32) (call $make (local.get 0)))
              (func (export "trap") (param externref)
                (table.set 0 (i32.const 0) (local.get 0))
                unreachable))"#,
            |linker| {
                linker.func_wrap("host", "make", make).unwrap();
            },
        );
        let run = inst.get_typed_func::<i32, ()>(&mut *store, "run").unwrap();
        run.call(&mut *store, 0).unwrap();
        assert!(run.call(&mut *store, 1).is_err());
        assert!(panics(|| {
            let _ = run.call(&mut *store, 2);
        }));
        assert_eq!(c.dropped_after_gc(store), 3);
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
        assert_eq!(trap(err), Trap::UnreachableCodeReached);
        let t = inst.get_table(&mut *store, "t").unwrap();
        store.gc();
        assert!(alive(store, r));
        t.set(&mut *store, 0, Ref::Extern(None)).unwrap();
        assert_eq!(c.dropped_after_gc(store), 4);
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
    with_counted_store(|store, counts| {
        let c = counts.clone();
        let most = Arc::new(AtomicUsize::new(0));
        let m = most.clone();
        let inst = link(
            &mut *store,
            r#"(module
              (import "host" "churn" (func $churn))
              (func (export "run") (param i32)
                (loop $l
                  call $churn
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#,
            |linker| {
                linker
                    .func_wrap("host", "churn", move |mut caller: Caller<'_, ()>| {
                        for _ in 0..500 {
                            c.make(&mut caller);
                        }
                        m.fetch_max(c.created() - c.dropped(), SeqCst);
                    })
                    .unwrap();
            },
        );
        let run = inst.get_typed_func::<i32, ()>(&mut *store, "run").unwrap();
        run.call(&mut *store, 2000).unwrap();
        assert_eq!(counts.created(), 1_000_000);
        let most = most.load(SeqCst);
        assert!(most < BOUND, "{most} live values at once");
        assert!(store.__externref_live() < BOUND);
    });
}
