//! [`InstanceCache`]: what a module keeps of its dropped instances, so the
//! next instance of it skips work whose result would be the same.
//!
//! A funcref table's entries are the callee's code address and the address
//! of its funcref inside the instance's vmctx. When everything that writes
//! a table at instantiation depends only on the module (each active
//! segment into it has a constant offset and names functions the module
//! defines), the next instance of the module would write the same words,
//! provided its vmctx sits at the same address. So when a store drops an
//! instance whose table is still what instantiation made it (see
//! [`TableBuf::seal`](super::table_buf::TableBuf::seal): nothing but lazy
//! initialization wrote it since, no growth, and no compiled code that
//! stores into it inline), the module keeps the vmctx allocation and the
//! table together. The next instantiation takes both, zeroes the vmctx but
//! for the funcrefs of the defined functions (which depend only on the
//! module and the vmctx's address: they are exactly what the entries point
//! at), fills in the rest as usual, and skips the funcrefs and the table's
//! allocation and segments:
//!
//! - an eagerly initialized table is not written at all, where it would
//!   cost a write of every entry;
//! - a lazily initialized one keeps the entries already written and the
//!   record of its segments, where it would cost an allocation.
//!
//! If a later element segment of the new instance fails, the tables are
//! put back to what the specification says (the segments before the
//! failing one applied), at the cost of writing them.
//!
//! A module keeps at most [`MAX_KEPT`] instances, holding at most
//! [`MAX_KEPT_BYTES`] of table storage together (one instance is always
//! kept), for as long as the module lives.

use super::table::SealedTable;
use super::vmctx::VmctxAlloc;
use cranelift_entity::EntityRef;
use std::sync::Mutex;
use trestle_compiler::{ConstOp, DefinedTableIndex, ElementItems, ModuleInfo, SegmentMode};

/// The most dropped instances a module keeps.
pub(crate) const MAX_KEPT: usize = 4;

/// The most bytes of table storage a module's kept instances hold
/// together, unless there is only one.
pub(crate) const MAX_KEPT_BYTES: usize = 64 << 20;

/// What a module keeps of its dropped instances (see the [module
/// documentation](self)).
pub(crate) struct InstanceCache {
    /// The defined tables whose contents after instantiation depend only
    /// on the module, sorted.
    tables: Box<[DefinedTableIndex]>,
    kept: Mutex<Vec<KeptInstance>>,
}

/// A dropped instance's vmctx, with the storage of those of its tables
/// that [`InstanceCache::tables`] names and nothing wrote since
/// instantiation.
pub(crate) struct KeptInstance {
    pub(crate) vmctx: VmctxAlloc,
    pub(crate) tables: Vec<(DefinedTableIndex, SealedTable)>,
}

// SAFETY: the vmctx allocation and the table storage are owned here alone:
// the store that used them is gone, and no code runs on them until an
// instantiation takes them back (on whatever thread).
unsafe impl Send for KeptInstance {}

impl KeptInstance {
    /// The bytes of table storage held.
    fn table_bytes(&self) -> usize {
        self.tables.iter().map(|(_, t)| t.bytes()).sum()
    }
}

impl InstanceCache {
    /// The cache of a module with `info`; with `enabled` false
    /// ([`crate::Config::instance_reuse`]), one that never keeps anything.
    pub(crate) fn new(info: &ModuleInfo, enabled: bool) -> Self {
        let tables = if enabled {
            restorable_tables(info)
        } else {
            Vec::new()
        };
        Self {
            tables: tables.into_boxed_slice(),
            kept: Mutex::new(Vec::new()),
        }
    }

    /// The defined tables an instance may leave behind for the next one.
    pub(crate) fn tables(&self) -> &[DefinedTableIndex] {
        &self.tables
    }

    /// A kept instance, when there is one.
    pub(crate) fn take(&self) -> Option<KeptInstance> {
        if self.tables.is_empty() {
            return None;
        }
        self.lock().pop()
    }

    /// Keeps a dropped instance's vmctx and sealed tables, unless the
    /// cache is full.
    pub(crate) fn keep(&self, instance: KeptInstance) {
        let mut kept = self.lock();
        let bytes: usize = kept.iter().map(KeptInstance::table_bytes).sum();
        if kept.is_empty()
            || (kept.len() < MAX_KEPT && bytes + instance.table_bytes() <= MAX_KEPT_BYTES)
        {
            kept.push(instance);
        }
    }

    /// How many instances are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<KeptInstance>> {
        // The list is consistent at every step: a panic elsewhere while it
        // was locked leaves nothing half done.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The defined funcref tables of `info` whose contents right after
/// instantiation follow from the module alone: no initializer expression,
/// no inline store from the module's code, and every active element
/// segment into them a list of the module's own functions at a constant
/// offset that fits the minimum size.
fn restorable_tables(info: &ModuleInfo) -> Vec<DefinedTableIndex> {
    let mut ok: Vec<bool> = info
        .table_inits
        .iter()
        .map(|(i, init)| {
            let t = info.table_index(i);
            init.is_none()
                && info.tables[t].element.is_func()
                && info.code_written_tables.binary_search(&t).is_err()
        })
        .collect();
    for seg in info.elements.values() {
        let SegmentMode::Active { index, offset } = &seg.mode else {
            continue;
        };
        let Some(i) = info.defined_table_index(*index) else {
            continue;
        };
        let start = match *offset.ops {
            [ConstOp::I32(v)] => Some(u64::from(v as u32)),
            [ConstOp::I64(v)] => Some(v as u64),
            _ => None,
        };
        let fits = start
            .and_then(|s| s.checked_add(seg.items.len() as u64))
            .is_some_and(|end| end <= info.tables[*index].minimum);
        let own_functions = match &seg.items {
            ElementItems::Functions(f) => f
                .iter()
                .map(|f| f.as_u32())
                .min()
                .is_none_or(|lowest| lowest >= info.num_imported_funcs),
            ElementItems::Expressions(_) => false,
        };
        if !(fits && own_functions) {
            ok[i.index()] = false;
        }
    }
    ok.iter()
        .enumerate()
        .filter(|(_, ok)| **ok)
        .map(|(i, _)| DefinedTableIndex::new(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Instance, Module, Ref, Store};

    const WAT: &str = r#"(module
      (type $t (func (result i32)))
      (global $g (import "m" "g") i32)
      (func $h (import "m" "h") (result i32))
      (table $a (export "a") 100 funcref)
      (table $b 10 funcref)
      (table $c 10 funcref)
      (table $d 10 funcref)
      (table $e 10 funcref (ref.func $f))
      (table $x 10 externref)
      (elem (table $a) (i32.const 7) func $f)
      (elem (table $b) (global.get $g) func $f)
      (elem (table $c) (i32.const 8) func $f $f)
      (elem (table $d) (i32.const 0) funcref (ref.func $f))
      (func $f (type $t) i32.const 7)
      (func (table.set $c (i32.const 0) (ref.null func)))
      (func (export "call") (param i32) (result i32) (call_indirect $a (type $t) (local.get 0)))
      (func (export "host") (result i32) (call $h)))"#;

    fn engine(lazy: bool) -> Engine {
        let mut config = Config::new();
        config.table_lazy_init(lazy);
        Engine::new(&config).unwrap()
    }

    /// An instance of [`WAT`] whose imported function returns `h`.
    fn instance_with(store: &mut Store<()>, module: &Module, h: i32) -> Instance {
        let g = crate::Global::new(
            &mut *store,
            crate::GlobalType::new(crate::ValType::I32, crate::Mutability::Const),
            crate::Val::I32(1),
        )
        .unwrap();
        let h = crate::Func::wrap(&mut *store, move || h);
        Instance::new(&mut *store, module, &[g.into(), h.into()]).unwrap()
    }

    fn instance(store: &mut Store<()>, module: &Module) -> Instance {
        instance_with(store, module, 0)
    }

    #[test]
    fn only_tables_made_by_the_module_alone_are_kept() {
        // `$b`'s offset is imported, the code stores into `$c`, `$d`'s
        // segment is made of expressions, `$e` has an initializer and `$x`
        // holds externrefs: only `$a` qualifies.
        for lazy in [false, true] {
            let module = Module::new(&engine(lazy), WAT).unwrap();
            assert_eq!(module.instance_cache().tables().len(), 1);
            assert_eq!(module.instance_cache().tables()[0].as_u32(), 0);
        }
        let mut config = Config::new();
        config.instance_reuse(false);
        let module = Module::new(&Engine::new(&config).unwrap(), WAT).unwrap();
        assert!(module.instance_cache().tables().is_empty());
    }

    #[test]
    fn untouched_instances_are_kept_and_reused() {
        for lazy in [false, true] {
            kept_and_reused(&engine(lazy));
        }
    }

    fn kept_and_reused(engine: &Engine) {
        let module = Module::new(engine, WAT).unwrap();
        let cache = module.instance_cache();
        let mut store = Store::new(engine, ());
        let first = instance(&mut store, &module);
        instance(&mut store, &module);
        let call = first
            .get_typed_func::<i32, i32>(&mut store, "call")
            .unwrap();
        assert_eq!(call.call(&mut store, 7).unwrap(), 7);
        drop(store);
        assert_eq!(cache.len(), 2, "both instances kept");

        // Reused: both taken by new instances, and given back once more.
        // Each links its own import into the kept vmctx.
        let mut store = Store::new(engine, ());
        let a = instance_with(&mut store, &module, 11);
        let b = instance_with(&mut store, &module, 12);
        assert_eq!(cache.len(), 0);
        for (inst, h) in [(a, 11), (b, 12)] {
            let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
            assert_eq!(call.call(&mut store, 7).unwrap(), 7);
            assert!(call.call(&mut store, 8).is_err());
            let host = inst.get_typed_func::<(), i32>(&mut store, "host").unwrap();
            assert_eq!(host.call(&mut store, ()).unwrap(), h);
        }
        // A written table is not kept.
        let t = b.get_table(&mut store, "a").unwrap();
        t.set(&mut store, 1, Ref::Func(None)).unwrap();
        drop(store);
        assert_eq!(cache.len(), 1, "only the untouched instance kept");

        // At most `MAX_KEPT` instances.
        let mut store = Store::new(engine, ());
        for _ in 0..super::MAX_KEPT + 3 {
            instance(&mut store, &module);
        }
        drop(store);
        assert_eq!(cache.len(), super::MAX_KEPT);
    }
}
