//! Random table operations against a model.
//!
//! A fixed module imports a funcref and an externref table made by the
//! host, defines one of each (the funcref one filled lazily or eagerly by
//! an active segment), and exports a function per table instruction and
//! table: `table.get`/`set`/`grow`/`fill`/`size`/`init`, `elem.drop`,
//! `call_indirect`, and `table.copy` between every pair of tables of one
//! element type. A third, private funcref table, which no instruction
//! writes, is only called through (at computed and constant indices): the
//! compiler knows its contents and devirtualizes those calls, which must
//! keep giving the same results and traps whatever happens to the other
//! tables. The input is a sequence of operations, each either a call
//! of one of those exports or a host [`trestle::Table`] call (`get`, `set`,
//! `grow`, `fill`, `copy`, and `Table::new` for more host tables), on
//! indices near the bounds and on edge values, with `Ref::Func` and
//! `Ref::Extern` values (wrong-typed ones too). A model of every table
//! predicts each result, trap or error and, every 64 operations and at the
//! end, every element. Externrefs carry a payload that counts its drops: once the
//! store is dropped, drops must equal creations.
//!
//! Calls through `$f` and `$fi` whose slots the active segments fill with
//! functions of the call's type and of others, at constant and computed
//! indices, with tables written between the calls and during them (from
//! a host import and from the looping function itself), and a second
//! instance in the same store: see [`calls`].
//!
//! Instances of another module, whose exported table qualifies for reuse
//! by the module's next instance, in stores made and dropped between the
//! other operations: see [`reuse`].
//!
//! Externrefs are collected, too. Half of them are rooted by the store
//! (made outside any `RootScope`), the other half in a scope that ends at
//! once, and every read happens in a scope of its own, so a value stays only
//! while the store roots it or a table holds it. The operations include
//! `Store::gc`, after which exactly the values the model says are held
//! must be alive (and the count of drops must match), a stale handle must
//! be refused, and a wasm function that keeps an externref only in a local
//! while its host import runs `Caller::gc` must get it back intact.

#[path = "table_ops/calls.rs"]
mod calls;
#[path = "table_ops/reuse.rs"]
mod reuse;

use arbitrary::Unstructured;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use trestle::{
    Config, Engine, ExternRef, Func, Instance, Module, Ref, RefType, RootScope, Store, Table,
    TableType, Trap, Val,
};

/// An externref's host value: its number, and a drop counter.
struct Payload {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Payload {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A table element in the model: funcs by their index in
/// [`Harness::funcs`], externrefs by payload number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Null,
    Func(usize),
    Extern(u32),
}

#[derive(Debug, Clone)]
struct ModelTable {
    func: bool,
    max: Option<u64>,
    elems: Vec<Elem>,
}

/// Tables that wasm can reach, by their suffix in export names.
/// `fi`/`ei` are imported from the host, `f`/`e` defined by the module.
const WASM_TABLES: [(&str, bool); 4] = [("f", true), ("fi", true), ("e", false), ("ei", false)];

/// What the host functions do when called through `call_indirect` with
/// type `$ret`: `h0` (also imported by the module), then two others.
const HOST_FUNCS: [Result<i32, Trap>; 3] = [Ok(200), Ok(201), Err(Trap::BadSignature)];

/// What the module's `w0` to `w8` do when called as `(func (result i32))`.
#[derive(Debug, Clone, Copy)]
enum Callee {
    /// Returns this constant.
    Returns(i32),
    /// Returns this constant plus the instance's imported global `base`.
    ReturnsBase(i32),
    /// Has another type.
    Mismatch,
    /// Traps with `unreachable`.
    Unreachable,
}

impl Callee {
    fn result(self, base: i32) -> Result<i32, Trap> {
        match self {
            Callee::Returns(n) => Ok(n),
            Callee::ReturnsBase(n) => Ok(n.wrapping_add(base)),
            Callee::Mismatch => Err(Trap::BadSignature),
            Callee::Unreachable => Err(Trap::UnreachableCodeReached),
        }
    }
}

/// `w0` to `w8`: `w3` has type `$ret2`, which is `$ret` declared again
/// (so it matches), `w4` reads the instance's `base`, `w8` tail-calls
/// `w4`; `w2`, `w5` and `w7` have other types.
const MODULE_FUNCS: [Callee; 9] = [
    Callee::Returns(100),
    Callee::Returns(101),
    Callee::Mismatch,
    Callee::Returns(102),
    Callee::ReturnsBase(103),
    Callee::Mismatch,
    Callee::Unreachable,
    Callee::Mismatch,
    Callee::ReturnsBase(103),
];

/// The global `base` imported by the first and the second instance.
const INSTANCE_BASE: [i32; 2] = [0, 1000];

/// The index in [`Harness::funcs`] of the module's `w{k}` in `instance`
/// (0 or 1).
fn module_func(instance: usize, k: usize) -> usize {
    3 + instance * MODULE_FUNCS.len() + k
}

/// The module's passive funcref segment `$pf`, as `w` numbers.
const PASSIVE_FUNCS: [usize; 4] = [1, 0, 2, 1];

/// Sizes of the module's passive externref segment `$pe` (all null).
const PASSIVE_EXTERNS: usize = 2;

/// The module's own tables: `$f` has 12 elements, `$e` 8, both at most
/// 40. `$f` holds, from two active segments, `w0 w1 w2` at 1..4 and
/// `w3 h0 w4 w6 w8 w5 w7` at 4..11 (see [`OWN_FUNC_TABLE`]).
const OWN_FUNC_TABLE_MIN: u64 = 12;
const OWN_EXTERN_TABLE_MIN: u64 = 8;
const OWN_TABLE_MAX: u64 = 40;

/// What the active segments put in `$f`, by slot: `Some(k)` for `w{k}`,
/// `Some(HOST_H0)` for the imported `h0`.
const OWN_FUNC_TABLE: [Option<usize>; OWN_FUNC_TABLE_MIN as usize] = [
    None,
    Some(0),
    Some(1),
    Some(2),
    Some(3),
    Some(HOST_H0),
    Some(4),
    Some(6),
    Some(8),
    Some(5),
    Some(7),
    None,
];

/// What the active segment puts in the imported `$fi` at 0..3, as in
/// [`OWN_FUNC_TABLE`]: `w1 h0 w4`. The host makes that table with at
/// least 3 elements.
const IMPORTED_FUNC_TABLE: [Option<usize>; 3] = [Some(1), Some(HOST_H0), Some(4)];

/// Marks the imported host function `h0` in [`OWN_FUNC_TABLE`].
const HOST_H0: usize = usize::MAX;

/// The module's private table `$k`: neither imported nor exported, and
/// written by no instruction, so the compiler knows its contents and
/// devirtualizes the `call_indirect`s through it. By slot: function
/// indices as in [`Harness::funcs`], `None` for null.
const KNOWN_TABLE: [Option<usize>; 6] = [None, Some(3), Some(4), Some(5), Some(3), None];

fn module_text() -> String {
    let mut m = String::from(
        r#"(module
  (type $ret (func (result i32)))
  (type $ret2 (func (result i32)))
  (type $other (func (param i32) (result i32)))
  (type $wide (func (result i64)))
  (type $pair (func (result i32 i32)))
  (import "host" "ftab" (table $fi 0 funcref))
  (import "host" "etab" (table $ei 0 externref))
  (import "host" "gc" (func $gc))
  (import "host" "h0" (func $h0 (type $ret)))
  (import "host" "step" (func $step))
  (import "host" "base" (global $base i32))
  (table $f (export "f") 12 40 funcref)
  (table $e (export "e") 8 40 externref)
  (func $w0 (export "w0") (type $ret) i32.const 100)
  (func $w1 (export "w1") (type $ret) i32.const 101)
  (func $w2 (export "w2") (type $other) local.get 0)
  (func $w3 (export "w3") (type $ret2) i32.const 102)
  (func $w4 (export "w4") (type $ret) (local i32)
    (local.set 0 (i32.const 51))
    (i32.add (global.get $base) (i32.add (local.get 0) (i32.const 52))))
  (func $w5 (export "w5") (type $wide) i64.const 104)
  (func $w6 (export "w6") (type $ret) unreachable)
  (func $w7 (export "w7") (type $pair) i32.const 1 i32.const 2)
  (func $w8 (export "w8") (type $ret) return_call $w4)
  (elem (table $f) (i32.const 1) func $w0 $w1 $w2)
  (elem (table $f) (i32.const 4) func $w3 $h0 $w4 $w6 $w8 $w5 $w7)
  (elem (table $fi) (i32.const 0) func $w1 $h0 $w4)
  (table $k 6 funcref)
  (elem (table $k) (i32.const 1) func $w0 $w1 $w2 $w0)
  (func (export "call_k") (param i32) (result i32) (call_indirect $k (type $ret) (local.get 0)))
  (elem $pf func $w1 $w0 $w2 $w1)
  (elem $pe externref (ref.null extern) (ref.null extern))
  (func (export "drop_f") elem.drop $pf)
  (func (export "drop_e") elem.drop $pe)
  (func (export "h0_ref") (result funcref) (ref.func $h0))
  (func (export "hold_gc") (param externref) (result externref) call $gc local.get 0)
"#,
    );
    m.push_str(&calls::module_text());
    // A constant index into `$k` for every slot and the first one past it.
    for slot in 0..=KNOWN_TABLE.len() {
        m.push_str(&format!(
            "  (func (export \"call_k{slot}\") (result i32) \
             (call_indirect $k (type $ret) (i32.const {slot})))\n"
        ));
    }
    for (t, func) in WASM_TABLES {
        let ty = if func { "funcref" } else { "externref" };
        let seg = if func { "$pf" } else { "$pe" };
        m.push_str(&format!(
            r#"  (func (export "get_{t}") (param i32) (result {ty}) (table.get ${t} (local.get 0)))
  (func (export "set_{t}") (param i32 {ty}) (table.set ${t} (local.get 0) (local.get 1)))
  (func (export "grow_{t}") (param {ty} i32) (result i32) (table.grow ${t} (local.get 0) (local.get 1)))
  (func (export "fill_{t}") (param i32 {ty} i32) (table.fill ${t} (local.get 0) (local.get 1) (local.get 2)))
  (func (export "size_{t}") (result i32) (table.size ${t}))
  (func (export "init_{t}") (param i32 i32 i32) (table.init ${t} {seg} (local.get 0) (local.get 1) (local.get 2)))
"#
        ));
        if func {
            m.push_str(&format!(
                "  (func (export \"call_{t}\") (param i32) (result i32) \
                 (call_indirect ${t} (type $ret) (local.get 0)))\n"
            ));
        }
        for (u, ufunc) in WASM_TABLES {
            if ufunc == func {
                m.push_str(&format!(
                    "  (func (export \"copy_{t}_{u}\") (param i32 i32 i32) \
                     (table.copy ${t} ${u} (local.get 0) (local.get 1) (local.get 2)))\n"
                ));
            }
        }
    }
    m.push_str(")\n");
    m
}

/// The table module compiled for an engine with lazy or eager table
/// initialization.
fn module(lazy: bool) -> Module {
    static MODULES: std::sync::OnceLock<[Module; 2]> = std::sync::OnceLock::new();
    MODULES.get_or_init(|| {
        let wasm = wat::parse_str(module_text()).expect("the table module parses");
        [false, true].map(|lazy| {
            let mut config = Config::new();
            config.table_lazy_init(lazy);
            let engine = Engine::new(&config).expect("the engine");
            Module::new(&engine, &wasm).expect("the table module compiles")
        })
    })[usize::from(lazy)]
    .clone()
}

/// The store, the instances, and the model.
struct Harness {
    store: Store<calls::Plan>,
    instance: Instance,
    /// Sometimes a second instance of the module in the same store, whose
    /// `$fi` is the first one's `$f` and whose `base` differs.
    second: Option<Instance>,
    /// Host functions 0 to 2, then `w0` to `w8` of the first instance and
    /// of the second, then the instances' references to `h0` when the
    /// host API sees them as functions of their own.
    funcs: Vec<Func>,
    /// What each function in `funcs` does when called as `$ret`.
    results: Vec<Result<i32, Trap>>,
    /// The index in `funcs` of each instance's `ref.func $h0`.
    h0_refs: [usize; 2],
    externs: Vec<ExternRef>,
    /// Whether each externref is rooted by the store (made outside any
    /// scope), so no collection frees it.
    rooted: Vec<bool>,
    drops: Arc<AtomicUsize>,
    /// The tables wasm can reach (in [`WASM_TABLES`] order), the second
    /// instance's `$f` and `$e` when there is one, then the host's own.
    tables: Vec<Table>,
    model: Vec<ModelTable>,
    /// Whether the first instance's `$pf` and `$pe` were dropped.
    dropped: [bool; 2],
    /// Stores of the reuse module, made and dropped along the way.
    reuse: reuse::Worlds,
}

/// An index from the input: near the bounds, or an edge value.
fn index(u: &mut Unstructured<'_>, size: u64) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=7)? {
        0..=3 => u.int_in_range(0..=size + 2)?,
        4 => size,
        5 => [u64::from(u32::MAX), 0x8000_0000, 0x7fff_ffff, 0xffff_fff0][u.choose_index(4)?],
        6 => u.int_in_range(0..=3)?,
        _ => u64::from(u.arbitrary::<u32>()?),
    })
}

/// A length for fill, copy, init and grow: small, or at least 2^24 (more
/// elements than a table may have, so growing by it always fails).
fn length(u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=7)? {
        0..=4 => u.int_in_range(0..=6)?,
        5 => u.int_in_range(0..=40)?,
        6 => [u64::from(u32::MAX), 0x8000_0000, 0xffff_fff0][u.choose_index(3)?],
        _ => u64::from(u.arbitrary::<u32>()? | 0x0100_0000),
    })
}

fn trap_of(e: &trestle::Error) -> Trap {
    *e.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("expected a trap, got {e:#}"))
}

/// Copies in `model` after a copy of `len` elements to table and index
/// `dst` from `src` that returned `result`; checks that it trapped exactly
/// when out of bounds. `op` names the copy in a finding.
fn model_copy(
    model: &mut [ModelTable],
    (dst_t, dst): (usize, u64),
    (src_t, src): (usize, u64),
    len: u64,
    result: Result<(), Trap>,
    op: &str,
) {
    let ok = fits(dst, len, model[dst_t].elems.len() as u64)
        && fits(src, len, model[src_t].elems.len() as u64);
    if ok {
        result.unwrap_or_else(|t| panic!("{op}({dst}, {src}, {len}) trapped: {t}"));
        let from: Vec<Elem> = model[src_t].elems[src as usize..(src + len) as usize].to_vec();
        model[dst_t].elems[dst as usize..(dst + len) as usize].copy_from_slice(&from);
    } else {
        assert_eq!(
            result,
            Err(Trap::TableOutOfBounds),
            "{op}({dst}, {src}, {len})"
        );
    }
}

/// Whether `[start, start + len)` fits in `size` elements (no wrapping).
fn fits(start: u64, len: u64, size: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= size)
}

impl Harness {
    fn new(u: &mut Unstructured<'_>, drops: &Arc<AtomicUsize>) -> arbitrary::Result<Harness> {
        let lazy: bool = u.arbitrary()?;
        let module = module(lazy);
        let engine = module.engine().clone();
        let mut store = Store::new(&engine, calls::Plan::default());
        let mut funcs = vec![
            Func::wrap(&mut store, || 200i32),
            Func::wrap(&mut store, || 201i32),
            Func::wrap(&mut store, |x: i32| x),
        ];
        let mut model = Vec::new();
        let mut host = Vec::new();
        for func in [true, false] {
            // The funcref table takes an active segment of 3 elements.
            let min = u.int_in_range(if func { 3 } else { 0 }..=6u32)?;
            let max = if u.arbitrary()? {
                Some(min + u.int_in_range(0..=20u32)?)
            } else {
                None
            };
            let elem = if func {
                RefType::FUNCREF
            } else {
                RefType::EXTERNREF
            };
            let init = if func {
                Ref::Func(None)
            } else {
                Ref::Extern(None)
            };
            let t =
                Table::new(&mut store, TableType::new(elem, min, max), init).expect("a host table");
            host.push(t);
            model.push(ModelTable {
                func,
                max: max.map(u64::from),
                elems: vec![Elem::Null; min as usize],
            });
        }
        let imports = calls::Imports::new(&mut store, funcs[0]);
        let mut instances = vec![imports.instantiate(&mut store, &module, host[0], host[1], 0)];
        let own_f = instances[0].get_table(&mut store, "f").unwrap();
        let own_e = instances[0].get_table(&mut store, "e").unwrap();
        if u.arbitrary()? {
            // The second instance's segment writes its `w1 h0 w4` into the
            // first one's `$f`.
            instances.push(imports.instantiate(&mut store, &module, own_f, host[1], 1));
        }
        let mut results = HOST_FUNCS.to_vec();
        for (which, instance) in instances.iter().enumerate() {
            for (k, callee) in MODULE_FUNCS.iter().enumerate() {
                funcs.push(instance.get_func(&mut store, &format!("w{k}")).unwrap());
                results.push(callee.result(INSTANCE_BASE[which]));
            }
        }
        // `ref.func $h0` of an instance: its own reference to the import,
        // which the host API may see as a function of its own.
        let mut h0_refs = [0; 2];
        for (which, instance) in instances.iter().enumerate() {
            let f = instance.get_func(&mut store, "h0_ref").unwrap();
            let mut r = [Val::FuncRef(None)];
            f.call(&mut store, &[], &mut r).expect("h0_ref");
            let h0 = r[0].unwrap_funcref().copied().expect("a reference to h0");
            h0_refs[which] = funcs.iter().position(|g| *g == h0).unwrap_or_else(|| {
                funcs.push(h0);
                results.push(HOST_FUNCS[0]);
                funcs.len() - 1
            });
        }
        let own = |func, elems| ModelTable {
            func,
            max: Some(OWN_TABLE_MAX),
            elems,
        };
        let mut h = Harness {
            store,
            instance: instances[0],
            second: instances.get(1).copied(),
            funcs,
            results,
            h0_refs,
            externs: Vec::new(),
            rooted: Vec::new(),
            drops: drops.clone(),
            // WASM_TABLES order: f, fi, e, ei.
            tables: vec![own_f, host[0], own_e, host[1]],
            model: Vec::new(),
            dropped: [false, false],
            reuse: reuse::Worlds::new(lazy),
        };
        let [mf, me] = [model[0].clone(), model[1].clone()];
        h.model = vec![
            own(true, h.segment_elems(&OWN_FUNC_TABLE, 0)),
            mf,
            own(false, vec![Elem::Null; OWN_EXTERN_TABLE_MIN as usize]),
            me,
        ];
        // Each instance's segment into its `$fi`: the host's table for the
        // first, the first's `$f` for the second.
        let first = h.segment_elems(&IMPORTED_FUNC_TABLE, 0);
        h.model[1].elems[..first.len()].copy_from_slice(&first);
        if let Some(second) = h.second {
            let elems = h.segment_elems(&IMPORTED_FUNC_TABLE, 1);
            h.model[0].elems[..elems.len()].copy_from_slice(&elems);
            for (name, func, elems) in [
                ("f", true, h.segment_elems(&OWN_FUNC_TABLE, 1)),
                ("e", false, vec![Elem::Null; OWN_EXTERN_TABLE_MIN as usize]),
            ] {
                h.tables.push(second.get_table(&mut h.store, name).unwrap());
                h.model.push(own(func, elems));
            }
        }
        Ok(h)
    }

    /// The elements a segment of `w{k}` and `h0` ([`HOST_H0`]) puts in a
    /// table, in instance `which`.
    fn segment_elems(&self, segment: &[Option<usize>], which: usize) -> Vec<Elem> {
        segment
            .iter()
            .map(|slot| match *slot {
                None => Elem::Null,
                Some(HOST_H0) => Elem::Func(self.h0_refs[which]),
                Some(k) => Elem::Func(module_func(which, k)),
            })
            .collect()
    }

    /// A value for a table of funcrefs (`func`) or externrefs; sometimes a
    /// new externref, rooted by the store or not rooted at all. An existing
    /// externref is one that is sure to be alive: rooted, or in a table.
    fn value(&mut self, u: &mut Unstructured<'_>, func: bool) -> arbitrary::Result<Elem> {
        if u.ratio(1, 4)? {
            return Ok(Elem::Null);
        }
        if func {
            return Ok(Elem::Func(u.choose_index(self.funcs.len())?));
        }
        let held = self.held();
        let alive: Vec<u32> = (0..self.externs.len() as u32)
            .filter(|id| held[*id as usize])
            .collect();
        if alive.is_empty() || u.ratio(1, 3)? {
            let id = self.externs.len() as u32;
            let payload = Payload {
                id,
                drops: self.drops.clone(),
            };
            let rooted: bool = u.arbitrary()?;
            let e = if rooted {
                ExternRef::new(&mut self.store, payload)
            } else {
                // The scope ends with the statement: the value lives on only
                // if the operation puts it in a table.
                ExternRef::new(RootScope::new(&mut self.store), payload)
            };
            self.externs.push(e.expect("an externref"));
            self.rooted.push(rooted);
            return Ok(Elem::Extern(id));
        }
        Ok(Elem::Extern(alive[u.choose_index(alive.len())?]))
    }

    /// For each externref, whether the store roots it or a table holds it
    /// by the model: exactly the ones a collection must keep.
    fn held(&self) -> Vec<bool> {
        let mut held = self.rooted.clone();
        for m in &self.model {
            for e in &m.elems {
                if let Elem::Extern(id) = e {
                    held[*id as usize] = true;
                }
            }
        }
        held
    }

    /// Collects the store's externrefs, then checks that exactly the held
    /// ones are alive, that the others were dropped once, and that a stale
    /// handle is refused.
    fn collect_and_verify(&mut self) {
        self.store.gc();
        let held = self.held();
        for (id, e) in self.externs.iter().enumerate() {
            match e.data(&self.store) {
                Ok(data) => {
                    assert!(held[id], "externref {id} survived a collection unheld");
                    let p = data.unwrap().downcast_ref::<Payload>();
                    assert_eq!(p.map(|p| p.id), Some(id as u32), "externref {id} payload");
                }
                Err(e) => {
                    assert!(!held[id], "externref {id} was collected while held: {e:#}");
                    assert!(e.to_string().contains("collected"), "{e:#}");
                }
            }
        }
        let dead = held.iter().filter(|h| !**h).count();
        assert_eq!(
            self.drops.load(Ordering::SeqCst),
            dead,
            "drops after a collection"
        );
        // A stale handle passed to wasm: an error before the call, the
        // table untouched.
        if let Some(id) = held.iter().position(|h| !*h) {
            let f = self.instance.get_func(&mut self.store, "set_e").unwrap();
            let args = [Val::I32(0), Val::ExternRef(Some(self.externs[id]))];
            let err = f.call(&mut self.store, &args, &mut []).unwrap_err();
            assert!(err.to_string().contains("collected"), "{err:#}");
        }
    }

    fn to_ref(&self, e: Elem, func: bool) -> Ref {
        match e {
            Elem::Null if func => Ref::Func(None),
            Elem::Null => Ref::Extern(None),
            Elem::Func(i) => Ref::Func(Some(self.funcs[i])),
            Elem::Extern(i) => Ref::Extern(Some(self.externs[i as usize])),
        }
    }

    fn elem_of(&self, r: Ref) -> Elem {
        match r {
            Ref::Func(None) | Ref::Extern(None) => Elem::Null,
            Ref::Exn(_) => panic!("the harness's tables hold no exnref"),
            Ref::Func(Some(f)) => Elem::Func(
                self.funcs
                    .iter()
                    .position(|g| *g == f)
                    .unwrap_or_else(|| panic!("a funcref that was never stored: {f:?}")),
            ),
            Ref::Extern(Some(e)) => {
                let data = e.data(&self.store).unwrap().unwrap();
                let p = data
                    .downcast_ref::<Payload>()
                    .expect("an externref of this harness");
                assert_eq!(
                    self.externs.get(p.id as usize),
                    Some(&e),
                    "externref identity"
                );
                Elem::Extern(p.id)
            }
            // The harness's tables hold funcrefs and externrefs only.
            Ref::Any(a) => panic!("a GC reference in a funcref or externref table: {a:?}"),
        }
    }

    /// Calls export `name`; its results are read in a scope that ends
    /// before this returns, so they stay alive only while a table holds
    /// them (or the store roots them already).
    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        self.call_on(self.instance, name, args)
    }

    /// Calls export `name` of `instance`, as [`Harness::call`] does.
    fn call_on(&mut self, instance: Instance, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let mut scope = RootScope::new(&mut self.store);
        let f = instance
            .get_func(&mut scope, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let ty = f.ty(&scope);
        let mut results: Vec<Val> = ty.results().map(|t| Val::default_for_ty(&t)).collect();
        match f.call(&mut scope, args, &mut results) {
            Ok(()) => Ok(results),
            Err(e) => Err(trap_of(&e)),
        }
    }

    /// Checks every element of every table against the model.
    fn verify_all(&mut self) {
        for t in 0..self.tables.len() {
            let table = self.tables[t];
            let size = table.size(&self.store);
            assert_eq!(size, self.model[t].elems.len() as u64, "size of table {t}");
            for i in 0..size {
                let r = table
                    .get(RootScope::new(&mut self.store), i)
                    .expect("in bounds");
                let got = self.elem_of(r);
                assert_eq!(
                    got, self.model[t].elems[i as usize],
                    "table {t} element {i}"
                );
            }
            assert!(table.get(RootScope::new(&mut self.store), size).is_none());
        }
    }

    /// Grows model table `t` after a growth by `delta` that returned
    /// `result` (`None` for failure).
    fn model_grow(&mut self, t: usize, delta: u64, init: Elem, result: Option<u64>, op: &str) {
        grow_model(&mut self.model[t], t, delta, init, result, op);
    }

    /// A call through the private table `$k`, whose contents never change
    /// whatever the other operations do: at a computed index, or at a
    /// constant one.
    fn known_table_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let size = KNOWN_TABLE.len() as u64;
        let (name, i) = if u.arbitrary()? {
            let i = index(u, size)?;
            ("call_k".to_string(), i)
        } else {
            let i = u.int_in_range(0..=size)?;
            (format!("call_k{i}"), i)
        };
        let args = if name == "call_k" {
            vec![Val::I32(i as u32 as i32)]
        } else {
            Vec::new()
        };
        let expected = match KNOWN_TABLE.get(i as usize) {
            None => Err(Trap::UndefinedElement),
            Some(None) => Err(Trap::IndirectCallToNull),
            Some(Some(f)) => self.results[*f],
        };
        let got = self.call(&name, &args).map(|r| r[0].unwrap_i32());
        assert_eq!(got, expected, "{name}({i})");
        Ok(())
    }

    /// The expected outcome of `call_indirect` on table `t` at `i`.
    fn expected_call(&self, t: usize, i: u64) -> Result<i32, Trap> {
        match self.model[t].elems.get(i as usize) {
            None => Err(Trap::UndefinedElement),
            Some(Elem::Null) => Err(Trap::IndirectCallToNull),
            Some(Elem::Func(f)) => self.results[*f],
            Some(Elem::Extern(_)) => unreachable!("an externref in a funcref table"),
        }
    }

    /// One operation from the wasm side.
    fn wasm_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let which = u.choose_index(WASM_TABLES.len())?;
        let (t, func) = WASM_TABLES[which];
        let size = self.model[which].elems.len() as u64;
        let i32v = |v: u64| Val::I32(v as u32 as i32);
        let reval = |h: &Harness, e: Elem| -> Val { h.to_ref(e, func).into() };
        match u.int_in_range(0..=9)? {
            0 => {
                let i = index(u, size)?;
                let r = self.call(&format!("get_{t}"), &[i32v(i)]);
                if i < size {
                    let got = r.expect("table.get in bounds");
                    let got = self.elem_of(got[0].ref_().unwrap());
                    assert_eq!(got, self.model[which].elems[i as usize], "get_{t}({i})");
                } else {
                    assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "get_{t}({i})");
                }
            }
            1 => {
                let i = index(u, size)?;
                let v = self.value(u, func)?;
                let r = self.call(&format!("set_{t}"), &[i32v(i), reval(self, v)]);
                if i < size {
                    r.expect("table.set in bounds");
                    self.model[which].elems[i as usize] = v;
                } else {
                    assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "set_{t}({i})");
                }
            }
            2 => {
                let delta = length(u)? & 0xffff_ffff;
                let v = self.value(u, func)?;
                let r = self
                    .call(&format!("grow_{t}"), &[reval(self, v), i32v(delta)])
                    .expect("table.grow does not trap");
                let old = r[0].unwrap_i32();
                let result = (old != -1).then_some(old as u32 as u64);
                self.model_grow(which, delta, v, result, &format!("grow_{t}"));
            }
            3 => {
                let dst = index(u, size)?;
                let len = length(u)? & 0xffff_ffff;
                let v = self.value(u, func)?;
                let r = self.call(
                    &format!("fill_{t}"),
                    &[i32v(dst), reval(self, v), i32v(len)],
                );
                if fits(dst, len, size) {
                    r.expect("table.fill in bounds");
                    self.model[which].elems[dst as usize..(dst + len) as usize].fill(v);
                } else {
                    assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "fill_{t}");
                }
            }
            4 => {
                let r = self.call(&format!("size_{t}"), &[]).unwrap();
                assert_eq!(r[0].unwrap_i32() as u32 as u64, size, "size_{t}");
            }
            5 => {
                let dst = index(u, size)?;
                let seg_len = match (func, self.dropped[usize::from(!func)]) {
                    (_, true) => 0,
                    (true, false) => PASSIVE_FUNCS.len() as u64,
                    (false, false) => PASSIVE_EXTERNS as u64,
                };
                let src = u.int_in_range(0..=seg_len + 1)?;
                let len = length(u)? & 0xffff_ffff;
                let r = self.call(&format!("init_{t}"), &[i32v(dst), i32v(src), i32v(len)]);
                if fits(dst, len, size) && fits(src, len, seg_len) {
                    r.expect("table.init in bounds");
                    for k in 0..len as usize {
                        self.model[which].elems[dst as usize + k] = if func {
                            Elem::Func(module_func(0, PASSIVE_FUNCS[src as usize + k]))
                        } else {
                            Elem::Null
                        };
                    }
                } else {
                    assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "init_{t}");
                }
            }
            6 => {
                let name = if func { "drop_f" } else { "drop_e" };
                self.call(name, &[]).expect("elem.drop");
                self.dropped[usize::from(!func)] = true;
            }
            7 if func => {
                let i = index(u, size)?;
                let r = self
                    .call(&format!("call_{t}"), &[i32v(i)])
                    .map(|v| v[0].unwrap_i32());
                assert_eq!(r, self.expected_call(which, i), "call_{t}({i})");
            }
            9 => {
                // Held only by a wasm local while the host collects.
                let v = self.value(u, false)?;
                let arg = self.to_ref(v, false).into();
                let r = self.call("hold_gc", &[arg]).expect("hold_gc");
                let got = self.elem_of(r[0].ref_().unwrap());
                assert_eq!(got, v, "hold_gc");
            }
            _ => {
                let others: Vec<usize> = (0..WASM_TABLES.len())
                    .filter(|k| WASM_TABLES[*k].1 == func)
                    .collect();
                let src_t = others[u.choose_index(others.len())?];
                let src_size = self.model[src_t].elems.len() as u64;
                let dst = index(u, size)?;
                let src = index(u, src_size)?;
                let len = length(u)? & 0xffff_ffff;
                let name = format!("copy_{t}_{}", WASM_TABLES[src_t].0);
                let r = self.call(&name, &[i32v(dst), i32v(src), i32v(len)]);
                model_copy(
                    &mut self.model,
                    (which, dst),
                    (src_t, src),
                    len,
                    r.map(|_| ()),
                    &name,
                );
            }
        }
        Ok(())
    }

    /// One operation through the host API.
    fn host_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let t = u.choose_index(self.tables.len())?;
        let table = self.tables[t];
        let func = self.model[t].func;
        let size = self.model[t].elems.len() as u64;
        // Sometimes a value of the wrong element type: always an error.
        let wrong = u.ratio(1, 10)?;
        let value = |h: &mut Harness, u: &mut Unstructured<'_>| -> arbitrary::Result<Elem> {
            h.value(u, func ^ wrong)
        };
        match u.int_in_range(0..=6)? {
            0 => {
                let i = index(u, size)?;
                let got = table
                    .get(RootScope::new(&mut self.store), i)
                    .map(|r| self.elem_of(r));
                assert_eq!(
                    got,
                    self.model[t].elems.get(i as usize).copied(),
                    "Table::get({i})"
                );
            }
            1 => {
                let i = index(u, size)?;
                let v = value(self, u)?;
                let r = self.to_ref(v, func ^ wrong);
                let r = table.set(&mut self.store, i, r);
                if i < size && !wrong {
                    r.expect("Table::set in bounds");
                    self.model[t].elems[i as usize] = v;
                } else {
                    assert!(r.is_err(), "Table::set({i}) out of bounds or mistyped");
                }
            }
            2 => {
                let delta = length(u)?;
                let v = value(self, u)?;
                let r = self.to_ref(v, func ^ wrong);
                let r = table.grow(&mut self.store, delta, r);
                if wrong {
                    assert!(r.is_err(), "Table::grow with a mistyped value");
                } else {
                    self.model_grow(t, delta, v, r.ok(), "Table::grow");
                }
            }
            3 => {
                let dst = index(u, size)?;
                let len = length(u)?;
                let v = value(self, u)?;
                let r = self.to_ref(v, func ^ wrong);
                let r = table.fill(&mut self.store, dst, r, len);
                if fits(dst, len, size) && !wrong {
                    r.expect("Table::fill in bounds");
                    self.model[t].elems[dst as usize..(dst + len) as usize].fill(v);
                } else {
                    assert!(r.is_err(), "Table::fill out of bounds or mistyped");
                }
            }
            4 => {
                let src_t = u.choose_index(self.tables.len())?;
                let src_size = self.model[src_t].elems.len() as u64;
                let dst = index(u, size)?;
                let src = index(u, src_size)?;
                let len = length(u)?;
                let r = Table::copy(&mut self.store, &table, dst, &self.tables[src_t], src, len);
                if self.model[src_t].func != func {
                    assert!(r.is_err(), "Table::copy between element types");
                } else {
                    let r = r.map_err(|_| Trap::TableOutOfBounds);
                    model_copy(
                        &mut self.model,
                        (t, dst),
                        (src_t, src),
                        len,
                        r,
                        "Table::copy",
                    );
                }
            }
            6 => self.collect_and_verify(),
            _ => {
                if self.tables.len() >= 12 {
                    return Ok(());
                }
                let func = u.arbitrary()?;
                let min = u.int_in_range(0..=10u32)?;
                let max = if u.arbitrary()? {
                    Some(min + u.int_in_range(0..=10u32)?)
                } else {
                    None
                };
                let init = self.value(u, func)?;
                let elem = if func {
                    RefType::FUNCREF
                } else {
                    RefType::EXTERNREF
                };
                let r = self.to_ref(init, func);
                let t = Table::new(&mut self.store, TableType::new(elem, min, max), r)
                    .expect("Table::new");
                self.tables.push(t);
                self.model.push(ModelTable {
                    func,
                    max: max.map(u64::from),
                    elems: vec![init; min as usize],
                });
            }
        }
        Ok(())
    }
}

/// Grows model table `m` (table `t`, for messages) after a growth by
/// `delta` that returned `result` (`None` for failure).
fn grow_model(m: &mut ModelTable, t: usize, delta: u64, init: Elem, result: Option<u64>, op: &str) {
    let size = m.elems.len() as u64;
    let new = size.checked_add(delta);
    let must_fail = match (new, m.max) {
        (None, _) => true,
        (Some(n), Some(max)) => n > max || n > u64::from(u32::MAX),
        (Some(n), None) => n > u64::from(u32::MAX),
    };
    let must_succeed = !must_fail && new.is_some_and(|n| n <= 4096);
    match result {
        Some(old) => {
            assert!(!must_fail, "{op}: table {t} grew by {delta} from {size}");
            assert_eq!(old, size, "{op}: old size of table {t}");
            m.elems.resize((size + delta) as usize, init);
        }
        None => assert!(
            !must_succeed,
            "{op}: table {t} of {size} failed to grow by {delta} (max {:?})",
            m.max
        ),
    }
}

/// Runs the operations in `data`; panics when Trestle and the model
/// disagree, or when an externref is leaked or dropped twice.
///
/// # Panics
///
/// On a finding.
pub fn check(data: &[u8]) -> &'static str {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut u = Unstructured::new(data);
    let Ok(mut h) = Harness::new(&mut u, &drops) else {
        return "input too short";
    };
    // No full check before the operations: reading every element would
    // initialize the lazily initialized table before the operations get to
    // it.
    let mut ops = 0usize;
    while !u.is_empty() && ops < 2000 {
        let r = if u.ratio(1, 4).unwrap_or(false) {
            h.call_op(&mut u)
        } else if u.ratio(1, 6).unwrap_or(false) {
            h.reuse.op(&mut u)
        } else if u.ratio(1, 8).unwrap_or(false) {
            h.known_table_op(&mut u)
        } else if u.ratio(1, 2).unwrap_or(false) {
            h.wasm_op(&mut u)
        } else {
            h.host_op(&mut u)
        };
        if r.is_err() {
            break;
        }
        ops += 1;
        if ops.is_multiple_of(64) {
            h.verify_all();
            h.reuse.verify_all();
        }
    }
    h.verify_all();
    h.reuse.verify_all();
    h.reuse.finish(&mut u);
    h.collect_and_verify();
    let created = h.externs.len();
    drop(h);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        created,
        "externref payloads dropped vs created"
    );
    match ops {
        0 => "no operation",
        1..=9 => "1 to 9 operations",
        10..=99 => "10 to 99 operations",
        _ => "100 operations or more",
    }
}
