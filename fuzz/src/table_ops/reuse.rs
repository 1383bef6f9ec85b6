//! Instance reuse: a module keeps the vmctx and the untouched funcref
//! tables of its dropped instances for its next instance, which then skips
//! those tables' fill and segments. A kept table must be exactly what the
//! segments make, and a table anything else wrote must not be kept.
//!
//! The reuse module's exported table `$k` qualifies for reuse: defined,
//! filled by active segments of the module's own functions at constant
//! offsets (the second overlapping the first), and reached by its code
//! only through `call_indirect` (at computed and constant indices) and the
//! bulk instructions (`table.fill`, `table.copy`, `table.init`), never an
//! inline `table.set` or `table.grow`. Between its segments into `$k`,
//! others write the module's functions into the imported table `$h`; when
//! `$h` is too small for one of those, instantiation fails at that segment
//! and `$k` must hold only the segments before it (a function the first
//! `$h` segment placed calls through `$k` at any index, another at a slot
//! only the last `$k` segment fills).
//!
//! Each world is a store of its own with instances of the reuse module,
//! all of the same [`Module`] for a table mode (shared by every input, so
//! one input's dropped instances serve the next input's), host tables, and
//! sometimes a small writer module that imports one of the tables and
//! stores into it inline (which alone must keep the table from being
//! kept). The operations: a new world with an instance, checked in full
//! (or at a few slots) before anything else; another instance in a world,
//! sometimes importing another instance's `$k` as its `$h`; an
//! instantiation that fails at a later segment; calls through `$k`; host
//! `Table::get`/`set`/`grow`/`fill`/`copy`; the bulk exports; the writer's
//! inline stores; dropping a world, in any order, while others live on.
//! A model predicts every element, result and trap, the same for lazily
//! and eagerly initialized tables.

use super::{Elem, ModelTable, fits, grow_model, index, length, model_copy, trap_of};
use arbitrary::Unstructured;
use std::sync::OnceLock;
use trestle::{Func, Instance, Module, Ref, RefType, Store, Table, TableType, Trap, Val};

/// `$k`'s minimum and maximum size.
const K_MIN: u64 = 28;
const K_MAX: u64 = 48;

/// The slot of `$k` that the function `late` calls through: only the last
/// segment into `$k` fills it.
const LATE_SLOT: u64 = 21;

/// The reuse module's functions in order, with what each does when called
/// through `call_indirect` as `(func (result i32))`.
const FUNCS: [(&str, Result<i32, Trap>); 7] = [
    ("r0", Ok(300)),
    ("r1", Ok(301)),
    ("r2", Err(Trap::BadSignature)),
    ("r3", Err(Trap::UnreachableCodeReached)),
    ("r4", Ok(304)),
    ("probe", Err(Trap::BadSignature)),
    ("late", Err(Trap::BadSignature)),
];

/// `probe(i)` calls `$k[i]` as `(func (result i32))`.
const PROBE: usize = 5;
/// `late()` calls `$k[LATE_SLOT]` as `(func (result i32))`, widened to i64.
const LATE: usize = 6;

/// What a host function of a world returns through `call_indirect`.
const HOST_RESULT: i32 = 400;

/// The active segments in order: into `$k` (or `$h`), at an offset, the
/// functions by their index in [`FUNCS`]. `$h` needs 2, 4 and 5 elements
/// for its three segments.
const SEGMENTS: [(bool, u64, &[usize]); 6] = [
    (true, 2, &[0, 1, 2, 3, 0]),
    (false, 0, &[PROBE, LATE]),
    (true, 5, &[4, 1, 3, LATE, PROBE]),
    (false, 2, &[0, 4]),
    (true, 20, &[0, 4, 1]),
    (false, 4, &[1]),
];

/// The size `$h` needs for every segment to fit.
const H_NEEDED: u64 = 5;

/// The passive segment `$p`, for `table.init`.
const PASSIVE: [usize; 5] = [4, 0, 1, 2, 3];

fn module_text() -> String {
    let mut m = format!(
        r#"(module
  (type $ret (func (result i32)))
  (type $other (func (param i32) (result i32)))
  (type $wide (func (result i64)))
  (import "host" "h" (table $h 0 funcref))
  (table $k (export "k") {K_MIN} {K_MAX} funcref)
  (func $f0 (export "r0") (type $ret) i32.const 300)
  (func $f1 (export "r1") (type $ret) i32.const 301)
  (func $f2 (export "r2") (type $other) local.get 0)
  (func $f3 (export "r3") (type $ret) unreachable)
  (func $f4 (export "r4") (type $ret) i32.const 304)
  (func $f5 (export "probe") (type $other) (call_indirect $k (type $ret) (local.get 0)))
  (func $f6 (export "late") (type $wide)
    (i64.extend_i32_s (call_indirect $k (type $ret) (i32.const {LATE_SLOT}))))
  (func (export "call") (param i32) (result i32) (call_indirect $k (type $ret) (local.get 0)))
  (func (export "fill") (param i32 funcref i32) (table.fill $k (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (table.copy $k $k (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_hk") (param i32 i32 i32) (table.copy $k $h (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_kh") (param i32 i32 i32) (table.copy $h $k (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (table.init $k $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") elem.drop $p)
  (func (export "size") (result i32) (table.size $k))
"#
    );
    for slot in 0..=K_MIN {
        m.push_str(&format!(
            "  (func (export \"c{slot}\") (result i32) \
             (call_indirect $k (type $ret) (i32.const {slot})))\n"
        ));
    }
    let names =
        |funcs: &[usize]| -> String { funcs.iter().map(|f| format!(" $f{f}")).collect::<String>() };
    for (into_k, at, funcs) in SEGMENTS {
        let t = if into_k { "$k" } else { "$h" };
        m.push_str(&format!(
            "  (elem (table {t}) (i32.const {at}) func{})\n",
            names(funcs)
        ));
    }
    m.push_str(&format!("  (elem $p func{})\n)\n", names(&PASSIVE)));
    m
}

/// A module whose code stores into an imported table inline.
const WRITER: &str = r#"(module
  (import "host" "t" (table $t 0 funcref))
  (func (export "set") (param i32 funcref) (table.set $t (local.get 0) (local.get 1)))
  (func (export "grow") (param funcref i32) (result i32) (table.grow $t (local.get 0) (local.get 1))))"#;

/// The reuse module and the writer, compiled for the engine of the table
/// module of that mode ([`super::module`]).
fn modules(lazy: bool) -> (Module, Module) {
    static MODULES: OnceLock<[(Module, Module); 2]> = OnceLock::new();
    MODULES.get_or_init(|| {
        let wasm = wat::parse_str(module_text()).expect("the reuse module parses");
        [false, true].map(|lazy| {
            let engine = super::module(lazy).engine().clone();
            (
                Module::new(&engine, &wasm).expect("the reuse module compiles"),
                Module::new(&engine, WRITER).expect("the writer compiles"),
            )
        })
    })[usize::from(lazy)]
    .clone()
}

/// What a function of a world is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The world's host function, returning [`HOST_RESULT`].
    Host,
    /// `FUNCS[which]` of the instance whose `$k` is model table `k`.
    Own { k: usize, which: usize },
}

/// An instance of the reuse module.
struct Inst {
    instance: Instance,
    /// Model tables of its `$k` and `$h`.
    k: usize,
    h: usize,
    /// Whether its passive segment was dropped.
    dropped: bool,
}

/// A store with instances of the reuse module, and its model.
struct World {
    store: Store<()>,
    /// The functions of the world, `None` for those of a failed instance
    /// that no segment placed where the host can reach them.
    funcs: Vec<Option<Func>>,
    kinds: Vec<Kind>,
    /// The tables the host can reach, parallel to `model`; `None` for the
    /// `$k` of an instance whose instantiation failed (reached only
    /// through its functions).
    tables: Vec<Option<Table>>,
    model: Vec<ModelTable>,
    instances: Vec<Inst>,
    /// Writer instances, with the model table each imports.
    writers: Vec<(Instance, usize)>,
}

/// The live worlds of one input.
pub(super) struct Worlds {
    lazy: bool,
    alive: Vec<World>,
}

fn i32v(v: u64) -> Val {
    Val::I32(v as u32 as i32)
}

impl Worlds {
    pub(super) fn new(lazy: bool) -> Self {
        Self {
            lazy,
            alive: Vec::new(),
        }
    }

    /// One step: a new world, an instantiation, an operation in a world,
    /// or dropping one.
    pub(super) fn op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let (module, writer) = modules(self.lazy);
        match u.int_in_range(0..=15)? {
            // Worlds that live for one instantiation and its check, one
            // after the other: the next takes the instance the previous
            // one left (the module reuses the last one kept first), so
            // the input needs no earlier one for reuse to happen.
            0 | 1 => {
                for _ in 0..u.int_in_range(1..=3)? {
                    let mut w = World::new(&module);
                    let fail = u.ratio(1, 4)?;
                    w.instantiate(u, &module, fail)?;
                }
            }
            2 if self.alive.len() < 3 => {
                let mut w = World::new(&module);
                let fail = u.ratio(1, 5)?;
                w.instantiate(u, &module, fail)?;
                self.alive.push(w);
            }
            3 if !self.alive.is_empty() => {
                let i = u.choose_index(self.alive.len())?;
                let mut w = self.alive.remove(i);
                if u.ratio(1, 3)? {
                    w.verify_all();
                }
            }
            4 if !self.alive.is_empty() => {
                let i = u.choose_index(self.alive.len())?;
                if self.alive[i].instances.len() < 4 {
                    let fail = u.ratio(1, 4)?;
                    self.alive[i].instantiate(u, &module, fail)?;
                }
            }
            5 if !self.alive.is_empty() => {
                let i = u.choose_index(self.alive.len())?;
                self.alive[i].writer_op(u, &writer)?;
            }
            _ if !self.alive.is_empty() => {
                let i = u.choose_index(self.alive.len())?;
                self.alive[i].op(u)?;
            }
            _ => {
                let mut w = World::new(&module);
                w.instantiate(u, &module, false)?;
                self.alive.push(w);
            }
        }
        Ok(())
    }

    /// Checks every table of every world.
    pub(super) fn verify_all(&mut self) {
        for w in &mut self.alive {
            w.verify_all();
        }
    }

    /// Drops the worlds in an order from the input.
    pub(super) fn finish(&mut self, u: &mut Unstructured<'_>) {
        while !self.alive.is_empty() {
            let i = u.choose_index(self.alive.len()).unwrap_or(0);
            self.alive.remove(i);
        }
    }
}

impl World {
    fn new(module: &Module) -> World {
        let mut store = Store::new(module.engine(), ());
        let host = Func::wrap(&mut store, || HOST_RESULT);
        World {
            store,
            funcs: vec![Some(host)],
            kinds: vec![Kind::Host],
            tables: Vec::new(),
            model: Vec::new(),
            instances: Vec::new(),
            writers: Vec::new(),
        }
    }

    fn result(&self, f: usize) -> Result<i32, Trap> {
        match self.kinds[f] {
            Kind::Host => Ok(HOST_RESULT),
            Kind::Own { which, .. } => FUNCS[which].1,
        }
    }

    /// The expected outcome of `call_indirect` as `$ret` on model table
    /// `t` at `i`.
    fn expected_call(&self, t: usize, i: u64) -> Result<i32, Trap> {
        match self.model[t].elems.get(i as usize) {
            None => Err(Trap::UndefinedElement),
            Some(Elem::Null) => Err(Trap::IndirectCallToNull),
            Some(Elem::Func(f)) => self.result(*f),
            Some(Elem::Extern(_)) => unreachable!("an externref in a funcref table"),
        }
    }

    /// A new host table of `size` elements, as a model table.
    fn host_table(&mut self, u: &mut Unstructured<'_>, size: u64) -> arbitrary::Result<usize> {
        let max = if u.arbitrary()? {
            Some(size + u.int_in_range(0..=8u64)?)
        } else {
            None
        };
        let ty = TableType::new(RefType::FUNCREF, size as u32, max.map(|m| m as u32));
        let t = Table::new(&mut self.store, ty, Ref::Func(None)).expect("a host table");
        self.tables.push(Some(t));
        self.model.push(ModelTable {
            func: true,
            max,
            elems: vec![Elem::Null; size as usize],
        });
        Ok(self.tables.len() - 1)
    }

    /// Instantiates the reuse module, importing as `$h` a table too small
    /// for the later `$h` segments when `fail` (so the instantiation fails
    /// at one of them) or one large enough, new or already in the world
    /// (another instance's `$k` too). Checks the new `$k` at once.
    fn instantiate(
        &mut self,
        u: &mut Unstructured<'_>,
        module: &Module,
        fail: bool,
    ) -> arbitrary::Result<()> {
        let candidates: Vec<usize> = (0..self.tables.len())
            .filter(|t| {
                self.tables[*t].is_some() && (self.model[*t].elems.len() as u64 >= H_NEEDED) != fail
            })
            .collect();
        let h = if !candidates.is_empty() && u.ratio(1, 3)? {
            candidates[u.choose_index(candidates.len())?]
        } else if fail {
            let size = u.int_in_range(0..=H_NEEDED - 1)?;
            self.host_table(u, size)?
        } else {
            let size = u.int_in_range(H_NEEDED..=H_NEEDED + 3)?;
            self.host_table(u, size)?
        };
        let h_size = self.model[h].elems.len() as u64;
        // The first segment that does not fit, if any.
        let failing = SEGMENTS.iter().position(|(into_k, at, funcs)| {
            let size = if *into_k { K_MIN } else { h_size };
            !fits(*at, funcs.len() as u64, size)
        });
        let h_table = self.tables[h].expect("an importable table");
        let r = Instance::new(&mut self.store, module, &[h_table.into()]);
        let k = self.model.len();
        self.model.push(ModelTable {
            func: true,
            max: Some(K_MAX),
            elems: vec![Elem::Null; K_MIN as usize],
        });
        let applied = failing.unwrap_or(SEGMENTS.len());
        match (r, failing) {
            (Ok(instance), None) => {
                let first = self.funcs.len();
                for (which, (name, _)) in FUNCS.iter().enumerate() {
                    let f = instance.get_func(&mut self.store, name).unwrap();
                    self.funcs.push(Some(f));
                    self.kinds.push(Kind::Own { k, which });
                }
                let table = instance.get_table(&mut self.store, "k").unwrap();
                self.tables.push(Some(table));
                self.apply_segments(applied, k, h, |which| first + which);
                self.instances.push(Inst {
                    instance,
                    k,
                    h,
                    dropped: false,
                });
                // First of all, the new table against its segments: a
                // reused table must not show what an earlier instance
                // left in it.
                self.check_new(u, k)?;
            }
            (Err(e), Some(at)) => {
                assert_eq!(
                    trap_of(&e),
                    Trap::TableOutOfBounds,
                    "instantiation failing at segment {at}"
                );
                self.tables.push(None);
                // The functions the `$h` segments before the failure put
                // there: the only way to reach the failed instance.
                let mut placed = [None; FUNCS.len()];
                for (into_k, at, funcs) in &SEGMENTS[..applied] {
                    if !*into_k {
                        for (j, which) in funcs.iter().enumerate() {
                            let r = h_table
                                .get(&mut self.store, at + j as u64)
                                .expect("a segment's slot");
                            let f = *r.unwrap_func().expect("a function placed by a segment");
                            assert!(
                                !self.funcs.contains(&Some(f)),
                                "a failed instance's function seen before"
                            );
                            placed[*which] = Some(f);
                        }
                    }
                }
                let first = self.funcs.len();
                for (which, f) in placed.iter().enumerate() {
                    self.funcs.push(*f);
                    self.kinds.push(Kind::Own { k, which });
                }
                self.apply_segments(applied, k, h, |which| first + which);
                self.check_failed(u, k)?;
                self.verify(h);
            }
            (Ok(_), Some(at)) => panic!("instantiation succeeded past segment {at}"),
            (Err(e), None) => panic!("instantiation failed: {e:#}"),
        }
        Ok(())
    }

    /// Applies the first `n` segments to model tables `k` and `h`, with
    /// `func(which)` the index in `funcs` of function `which`.
    fn apply_segments(&mut self, n: usize, k: usize, h: usize, func: impl Fn(usize) -> usize) {
        for (into_k, at, funcs) in &SEGMENTS[..n] {
            let t = if *into_k { k } else { h };
            for (j, which) in funcs.iter().enumerate() {
                self.model[t].elems[*at as usize + j] = Elem::Func(func(*which));
            }
        }
    }

    /// The check of a new instance's `$k`: every element through the host
    /// API, or (leaving the rest of a lazily initialized table untouched)
    /// a few slots through `call_indirect`.
    fn check_new(&mut self, u: &mut Unstructured<'_>, k: usize) -> arbitrary::Result<()> {
        if u.ratio(3, 4)? {
            self.verify(k);
            return Ok(());
        }
        let inst = self.instances.len() - 1;
        for _ in 0..u.int_in_range(1..=4)? {
            let slot = u.int_in_range(0..=K_MIN)?;
            self.call_constant(inst, slot);
        }
        Ok(())
    }

    /// The check of a failed instance's `$k` through its `probe` and
    /// `late`, when a segment placed them in `$h`.
    fn check_failed(&mut self, u: &mut Unstructured<'_>, k: usize) -> arbitrary::Result<()> {
        let find = |w: &World, which: usize| {
            (0..w.funcs.len()).find(|f| {
                w.funcs[*f].is_some()
                    && matches!(w.kinds[*f], Kind::Own { k: kk, which: ww } if kk == k && ww == which)
            })
        };
        if let Some(late) = find(self, LATE) {
            self.call_late(late);
        }
        if let Some(probe) = find(self, PROBE) {
            if u.ratio(1, 2)? {
                for i in 0..=K_MIN {
                    self.call_probe(probe, i);
                }
            } else {
                let i = index(u, K_MIN)?;
                self.call_probe(probe, i);
            }
        }
        Ok(())
    }

    /// Checks model table `t` in full through the host API.
    fn verify(&mut self, t: usize) {
        let Some(table) = self.tables[t] else {
            return;
        };
        let size = table.size(&self.store);
        assert_eq!(size, self.model[t].elems.len() as u64, "size of table {t}");
        for i in 0..size {
            let r = table.get(&mut self.store, i).expect("in bounds");
            let got = self.elem_of(r);
            assert_eq!(
                got, self.model[t].elems[i as usize],
                "table {t} element {i}"
            );
        }
        assert!(table.get(&mut self.store, size).is_none());
    }

    fn verify_all(&mut self) {
        for t in 0..self.tables.len() {
            self.verify(t);
        }
    }

    fn elem_of(&self, r: Ref) -> Elem {
        match r.unwrap_func() {
            None => Elem::Null,
            Some(f) => Elem::Func(
                self.funcs
                    .iter()
                    .position(|g| g.as_ref() == Some(f))
                    .unwrap_or_else(|| panic!("a funcref that was never stored: {f:?}")),
            ),
        }
    }

    fn to_ref(&self, e: Elem) -> Ref {
        match e {
            Elem::Func(f) => Ref::Func(Some(self.funcs[f].expect("a reachable function"))),
            _ => Ref::Func(None),
        }
    }

    /// A value from the input: null, or any function of the world the
    /// host can reach.
    fn value(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Elem> {
        if u.ratio(1, 4)? {
            return Ok(Elem::Null);
        }
        let reachable: Vec<usize> = (0..self.funcs.len())
            .filter(|f| self.funcs[*f].is_some())
            .collect();
        Ok(Elem::Func(reachable[u.choose_index(reachable.len())?]))
    }

    /// Calls `func` with `args`, returning its results or its trap.
    fn call(&mut self, func: Func, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(|t| Val::default_for_ty(&t)).collect();
        match func.call(&mut self.store, args, &mut results) {
            Ok(()) => Ok(results),
            Err(e) => Err(trap_of(&e)),
        }
    }

    fn call_export(&mut self, inst: usize, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let f = self.instances[inst]
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        self.call(f, args)
    }

    /// `c{slot}` of instance `inst`: `call_indirect` at a constant index.
    fn call_constant(&mut self, inst: usize, slot: u64) {
        let r = self
            .call_export(inst, &format!("c{slot}"), &[])
            .map(|r| r[0].unwrap_i32());
        let k = self.instances[inst].k;
        assert_eq!(r, self.expected_call(k, slot), "c{slot} of instance {inst}");
    }

    fn call_probe(&mut self, probe: usize, i: u64) {
        let Kind::Own { k, .. } = self.kinds[probe] else {
            unreachable!("probe is the module's")
        };
        let r = self
            .call(self.funcs[probe].unwrap(), &[i32v(i)])
            .map(|r| r[0].unwrap_i32());
        assert_eq!(r, self.expected_call(k, i), "probe({i}) of table {k}");
    }

    fn call_late(&mut self, late: usize) {
        let Kind::Own { k, .. } = self.kinds[late] else {
            unreachable!("late is the module's")
        };
        let r = self
            .call(self.funcs[late].unwrap(), &[])
            .map(|r| r[0].unwrap_i64());
        let expected = self.expected_call(k, LATE_SLOT).map(i64::from);
        assert_eq!(r, expected, "late() of table {k}");
    }

    /// A writer instance importing one of the world's tables (which its
    /// inline stores then keep from being reused), or a store by one.
    fn writer_op(&mut self, u: &mut Unstructured<'_>, writer: &Module) -> arbitrary::Result<()> {
        if self.writers.is_empty() || u.ratio(1, 3)? {
            let reachable: Vec<usize> = (0..self.tables.len())
                .filter(|t| self.tables[*t].is_some())
                .collect();
            if reachable.is_empty() || self.writers.len() >= 3 {
                return Ok(());
            }
            let t = reachable[u.choose_index(reachable.len())?];
            let table = self.tables[t].unwrap();
            let instance =
                Instance::new(&mut self.store, writer, &[table.into()]).expect("the writer");
            self.writers.push((instance, t));
            return Ok(());
        }
        let (instance, t) = self.writers[u.choose_index(self.writers.len())?];
        let size = self.model[t].elems.len() as u64;
        let v = self.value(u)?;
        if u.arbitrary()? {
            let i = index(u, size)?;
            let f = instance.get_func(&mut self.store, "set").unwrap();
            let r = self.call(f, &[i32v(i), self.to_ref(v).into()]);
            if i < size {
                r.expect("table.set in bounds");
                self.model[t].elems[i as usize] = v;
            } else {
                assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "writer set({i})");
            }
        } else {
            let delta = u.int_in_range(0..=3)?;
            let f = instance.get_func(&mut self.store, "grow").unwrap();
            let r = self
                .call(f, &[self.to_ref(v).into(), i32v(delta)])
                .expect("table.grow does not trap");
            let old = r[0].unwrap_i32();
            let result = (old != -1).then_some(old as u32 as u64);
            grow_model(&mut self.model[t], t, delta, v, result, "writer grow");
        }
        Ok(())
    }

    /// One operation on the world's tables: a call, a host API call, or a
    /// bulk export.
    fn op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        if self.instances.is_empty() {
            return Ok(());
        }
        let inst = u.choose_index(self.instances.len())?;
        let Inst { k, h, .. } = self.instances[inst];
        let size = self.model[k].elems.len() as u64;
        match u.int_in_range(0..=12)? {
            0 | 1 => {
                let i = index(u, size)?;
                let r = self
                    .call_export(inst, "call", &[i32v(i)])
                    .map(|r| r[0].unwrap_i32());
                assert_eq!(r, self.expected_call(k, i), "call({i}) of instance {inst}");
            }
            2 | 3 => {
                let slot = u.int_in_range(0..=K_MIN)?;
                self.call_constant(inst, slot);
            }
            4 => {
                // `probe` or `late` of any instance, the failed ones too.
                let own: Vec<usize> = (0..self.funcs.len())
                    .filter(|f| {
                        self.funcs[*f].is_some()
                            && matches!(self.kinds[*f], Kind::Own { which, .. } if which == PROBE || which == LATE)
                    })
                    .collect();
                let f = own[u.choose_index(own.len())?];
                match self.kinds[f] {
                    Kind::Own {
                        which: PROBE, k, ..
                    } => {
                        let i = index(u, self.model[k].elems.len() as u64)?;
                        self.call_probe(f, i);
                    }
                    _ => self.call_late(f),
                }
            }
            5 => self.host_op(u)?,
            6 => {
                let i = index(u, size)?;
                let got = self.tables[k]
                    .unwrap()
                    .get(&mut self.store, i)
                    .map(|r| self.elem_of(r));
                assert_eq!(
                    got,
                    self.model[k].elems.get(i as usize).copied(),
                    "get({i})"
                );
            }
            7 => {
                let dst = index(u, size)?;
                let len = length(u)? & 0xffff_ffff;
                let v = self.value(u)?;
                let r =
                    self.call_export(inst, "fill", &[i32v(dst), self.to_ref(v).into(), i32v(len)]);
                if fits(dst, len, size) {
                    r.expect("table.fill in bounds");
                    self.model[k].elems[dst as usize..(dst + len) as usize].fill(v);
                } else {
                    assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "fill");
                }
            }
            8 => {
                let (name, dst_t, src_t) = match u.int_in_range(0..=2)? {
                    0 => ("copy", k, k),
                    1 => ("copy_hk", k, h),
                    _ => ("copy_kh", h, k),
                };
                let dst = index(u, self.model[dst_t].elems.len() as u64)?;
                let src = index(u, self.model[src_t].elems.len() as u64)?;
                let len = length(u)? & 0xffff_ffff;
                let r = self.call_export(inst, name, &[i32v(dst), i32v(src), i32v(len)]);
                model_copy(
                    &mut self.model,
                    (dst_t, dst),
                    (src_t, src),
                    len,
                    r.map(|_| ()),
                    name,
                );
            }
            9 => {
                let dst = index(u, size)?;
                let seg_len = if self.instances[inst].dropped {
                    0
                } else {
                    PASSIVE.len() as u64
                };
                let src = u.int_in_range(0..=seg_len + 1)?;
                let len = length(u)? & 0xffff_ffff;
                let r = self.call_export(inst, "init", &[i32v(dst), i32v(src), i32v(len)]);
                if fits(dst, len, size) && fits(src, len, seg_len) {
                    r.expect("table.init in bounds");
                    let first = self.first_func(k);
                    for j in 0..len as usize {
                        self.model[k].elems[dst as usize + j] =
                            Elem::Func(first + PASSIVE[src as usize + j]);
                    }
                } else {
                    assert_eq!(r.unwrap_err(), Trap::TableOutOfBounds, "init");
                }
            }
            10 => {
                self.call_export(inst, "drop", &[]).expect("elem.drop");
                self.instances[inst].dropped = true;
            }
            11 => {
                let r = self.call_export(inst, "size", &[]).unwrap();
                assert_eq!(r[0].unwrap_i32() as u32 as u64, size, "size");
            }
            _ => self.verify(k),
        }
        Ok(())
    }

    /// The index in `funcs` of `r0` of the instance whose `$k` is model
    /// table `k`; its other functions follow.
    fn first_func(&self, k: usize) -> usize {
        (0..self.funcs.len())
            .find(|f| matches!(self.kinds[*f], Kind::Own { k: kk, which: 0 } if kk == k))
            .expect("the instance's r0")
    }

    /// A host API call on a table of the world.
    fn host_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let reachable: Vec<usize> = (0..self.tables.len())
            .filter(|t| self.tables[*t].is_some())
            .collect();
        let t = reachable[u.choose_index(reachable.len())?];
        let table = self.tables[t].unwrap();
        let size = self.model[t].elems.len() as u64;
        match u.int_in_range(0..=3)? {
            0 => {
                let i = index(u, size)?;
                let v = self.value(u)?;
                let r = self.to_ref(v);
                let r = table.set(&mut self.store, i, r);
                if i < size {
                    r.expect("Table::set in bounds");
                    self.model[t].elems[i as usize] = v;
                } else {
                    assert!(r.is_err(), "Table::set({i}) out of bounds");
                }
            }
            1 => {
                let delta = u.int_in_range(0..=4)?;
                let v = self.value(u)?;
                let r = self.to_ref(v);
                let r = table.grow(&mut self.store, delta, r);
                grow_model(&mut self.model[t], t, delta, v, r.ok(), "Table::grow");
            }
            2 => {
                let dst = index(u, size)?;
                let len = length(u)?;
                let v = self.value(u)?;
                let r = self.to_ref(v);
                let r = table.fill(&mut self.store, dst, r, len);
                if fits(dst, len, size) {
                    r.expect("Table::fill in bounds");
                    self.model[t].elems[dst as usize..(dst + len) as usize].fill(v);
                } else {
                    assert!(r.is_err(), "Table::fill out of bounds");
                }
            }
            _ => {
                let src_t = reachable[u.choose_index(reachable.len())?];
                let src_size = self.model[src_t].elems.len() as u64;
                let dst = index(u, size)?;
                let src = index(u, src_size)?;
                let len = length(u)?;
                let r = Table::copy(
                    &mut self.store,
                    &table,
                    dst,
                    &self.tables[src_t].unwrap(),
                    src,
                    len,
                )
                .map_err(|_| Trap::TableOutOfBounds);
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
        Ok(())
    }
}
