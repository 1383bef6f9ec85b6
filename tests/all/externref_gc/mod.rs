//! Externrefs and the GC subset: when the store lets go of a host value
//! (overwritten in a table or a global, dropped with the store, never while
//! a table, a global, a live frame or a root scope holds it), root scopes
//! and the roots of host calls, automatic collection keeping the heap
//! bounded, stale handles, and typed references: concrete table and
//! function types, non-nullable tables, and GC arrays made by constant
//! expressions.
//!
//! The externref cases count their values' drops
//! (`harness::Counts`): every value made is dropped exactly once, with the
//! store at the latest.

mod arrays;
mod lifetime;
mod typed;

use crate::harness::{Counted, Counts, new_instance, table64_engine};
use trestle::{ExternRef, Instance, Store, Val};

/// Tables, a global and functions that move externrefs around.
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

/// Runs `f` on a fresh store with `EXT` instantiated, and a maker of
/// counted values; checks that nothing is dropped before the store, and
/// everything with it.
fn scenario(f: impl Fn(&mut Store<()>, &Instance, &dyn Fn(&mut Store<()>) -> ExternRef)) {
    let counts = Counts::default();
    {
        let engine = table64_engine(true);
        let (mut store, inst) = new_instance(&engine, EXT);
        let make = |store: &mut Store<()>| counts.make(store);
        f(&mut store, &inst, &make);
        // Nothing held by the table, a global or the host is freed
        // before the store goes.
        assert_eq!(counts.dropped(), 0);
    }
    assert_eq!(counts.dropped(), counts.created());
    assert!(counts.created() > 0);
}

/// Runs `f` on a fresh store with `EXT` instantiated, then checks that
/// dropping the store drops every value not dropped before, once.
fn gc_scenario(f: impl FnOnce(&mut Store<()>, &Instance, &Counts)) {
    let counts = Counts::default();
    {
        let engine = table64_engine(true);
        let (mut store, inst) = new_instance(&engine, EXT);
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

/// The null externref, as an argument.
const NULL_EXT: Val = Val::ExternRef(None);

/// An `i32` argument.
fn int(x: i32) -> Val {
    Val::I32(x)
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
