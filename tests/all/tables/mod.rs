//! Tables: the `Table` host API and its documented errors and panics,
//! 64-bit tables, `call_indirect` (bounds, null entries, signatures, right
//! after the table changes, into host functions), `table.grow`, the bulk
//! operators (`table.copy`, `table.fill`, `table.init`, `elem.drop`),
//! tables whose contents the compiler knows (devirtualized calls) or
//! guesses (speculated calls, checked against every kind of write),
//! tables shared by instances, lazy and eager initialization, and the
//! storage of dropped tables reused by new ones.
//!
//! Most cases run in both table modes (`harness::both_modes`). The
//! adversarial cases, inputs an untrusted module or a careless embedder
//! may give, say so in their documentation: each ends in the specific trap
//! or a clean error, and the store is usable afterwards. Tables of
//! externrefs and typed tables are in `externref_gc`, the resource limiter
//! and huge tables in `limits`.

mod api;
mod bulk;
mod call_indirect;
mod grow;
mod known;
mod lazy_init;
mod reuse;
mod sharing;
mod speculation;
mod table64;

use crate::harness::trap;
use trestle::{Instance, Module, Ref, RefType, Store, Table, TableType, Trap};

/// Asserts what the `size` and `call` exports of `inst` see of their
/// table: `size` entries, `ok.1` from calling entry `ok.0`, a null entry
/// at `null` and none at `undefined`.
fn assert_sees_table(
    store: &mut Store<()>,
    inst: &Instance,
    size: i32,
    ok: (i32, i32),
    null: i32,
    undefined: i32,
) {
    let size_of = inst.get_typed_func::<(), i32>(&mut *store, "size").unwrap();
    let call = inst
        .get_typed_func::<i32, i32>(&mut *store, "call")
        .unwrap();
    assert_eq!(size_of.call(&mut *store, ()).unwrap(), size);
    assert_eq!(call.call(&mut *store, ok.0).unwrap(), ok.1);
    assert_eq!(
        trap(call.call(&mut *store, null).unwrap_err()),
        Trap::IndirectCallToNull
    );
    assert_eq!(
        trap(call.call(&mut *store, undefined).unwrap_err()),
        Trap::UndefinedElement
    );
}

/// A new funcref table of the host, of `min` null entries up to `max`.
fn funcref_table(store: &mut Store<()>, min: u32, max: Option<u32>) -> Table {
    Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, min, max),
        Ref::Func(None),
    )
    .unwrap()
}

/// An instance that imports `table` as `host.t` and exports `call`, which
/// calls an entry of it, and `ok`.
fn import_table(store: &mut Store<()>, table: Table) -> Instance {
    let module = Module::new(
        store.engine(),
        r#"(module
          (type $v (func (result i32)))
          (import "host" "t" (table $t 1 funcref))
          (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0)))
          (func (export "ok") (result i32) i32.const 42))"#,
    )
    .unwrap();
    Instance::new(store, &module, &[table.into()]).unwrap()
}
