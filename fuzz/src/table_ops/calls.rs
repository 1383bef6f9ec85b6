//! `call_indirect` through tables that change: the module's exported `$f`
//! and the imported `$fi`, both filled by active segments of `ref.func`
//! constants, so a compiler can guess each slot's function from the
//! segments and call it directly behind a guard (and inline it). Every
//! guess must be checked against the table as it is at the call.
//!
//! Call sites at constant indices (every slot, and past the end, where a
//! growth makes the index valid) and at computed ones, with `call_indirect`
//! and `return_call_indirect`, through `$ret` and through `$ret2` (the same
//! type declared again); the slots hold functions of that type (one traps,
//! one reads the instance's global, one tail-calls another), functions of
//! other types, the host's `h0`, and null. Tables change between calls
//! (the other operations of the target) and during them:
//!
//! - `drive_*` loops over a call site (twice per iteration: once directly,
//!   once through a small function that may be inlined) and calls the host
//!   import `step` after each iteration, which runs the next [`Step`] of a
//!   plan: a host API `Table::set`/`fill`/`grow`/`copy`, or a wasm export
//!   (`table.set`/`fill`/`grow`/`copy`/`init`, `elem.drop`) called again
//!   from inside the import, on the table being called or another one;
//! - `spin_*` loops over a call site and writes the same table from wasm
//!   between iterations (`table.set`, `grow`, `fill`, `copy` or `init`,
//!   with values read from a private table), in the same function.
//!
//! A second instance of the module in the same store imports the first
//! one's `$f` as its `$fi`: its segment writes its own functions into it,
//! which share code with the first instance's but not their instance (and
//! `w4` returns a different number there).
//!
//! The model predicts each call's result or trap and each step's outcome,
//! iteration by iteration.

use super::{
    Elem, Harness, INSTANCE_BASE, PASSIVE_FUNCS, WASM_TABLES, fits, index, length, model_copy,
    module_func,
};
use arbitrary::Unstructured;
use trestle::{
    Caller, Func, Global, GlobalType, Instance, Linker, Module, Mutability, Ref, Store, Table,
    Trap, Val, ValType,
};

/// Constant indices with call sites of their own: every slot of `$f`
/// (12) and two past its end.
const CONST_SLOTS: u64 = 14;

/// Constant indices of the loops, by table (`$f`, `$fi`).
const LOOP_SLOTS: [&[u64]; 2] = [&[0, 1, 2, 4, 5, 6, 7, 8, 9, 12], &[0, 1, 2, 3]];

/// The private table `$pool` that the `spin_*` loops take their values
/// from, at slot `k % 8` in iteration `k`: `Some(k)` for `w{k}`,
/// `Some(usize::MAX)` for `h0`.
const POOL: [Option<usize>; 8] = [
    Some(usize::MAX),
    Some(0),
    Some(6),
    Some(3),
    Some(2),
    Some(8),
    Some(4),
    None,
];

/// The call sites and loops, as module fields.
pub(super) fn module_text() -> String {
    let mut m = String::from(
        "  (table $pool 8 funcref)\n  \
         (elem (table $pool) (i32.const 0) func $h0 $w0 $w6 $w3 $w2 $w8 $w4)\n",
    );
    for (t, slots) in ["f", "fi"].into_iter().zip(LOOP_SLOTS) {
        m.push_str(&format!(
            "  (func $via_{t} (param i32) (result i32) \
             (call_indirect ${t} (type $ret) (local.get 0)))\n  \
             (func (export \"call2_{t}\") (param i32) (result i32) \
             (call_indirect ${t} (type $ret2) (local.get 0)))\n  \
             (func (export \"tail_{t}\") (param i32) (result i32) \
             (return_call_indirect ${t} (type $ret) (local.get 0)))\n"
        ));
        for s in 0..CONST_SLOTS {
            m.push_str(&format!(
                "  (func (export \"call_{t}_c{s}\") (result i32) \
                 (call_indirect ${t} (type $ret) (i32.const {s})))\n  \
                 (func (export \"tail_{t}_c{s}\") (result i32) \
                 (return_call_indirect ${t} (type $ret) (i32.const {s})))\n"
            ));
        }
        let computed = "(i32.add (local.get $i) (i32.mul (local.get $k) (local.get $d)))";
        m.push_str(&drive(t, "", computed));
        m.push_str(&spin(t, "", "(local.get $i)"));
        for s in slots {
            let constant = format!("(i32.const {s})");
            m.push_str(&drive(t, &format!("_c{s}"), &constant));
            m.push_str(&spin(t, &format!("_c{s}"), &constant));
        }
    }
    m
}

/// `drive_{t}{suffix}(i, d, n)`: `n` iterations, each calling through
/// `$t` at `index` twice (directly, then through `$via_{t}`) and then the
/// `step` import; returns the results folded together.
fn drive(t: &str, suffix: &str, index: &str) -> String {
    format!(
        r#"  (func (export "drive_{t}{suffix}") (param $i i32) (param $d i32) (param $n i32) (result i32)
    (local $k i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
          (call_indirect ${t} (type $ret) {index})))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
          (call $via_{t} {index})))
        (call $step)
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $top)))
    (local.get $acc))
"#
    )
}

/// `spin_{t}{suffix}(i, j, mode, n)`: `n` iterations, each calling through
/// `$t` at `index` and then writing `$t` at `j` by `mode`: 0 `table.set`,
/// 1 `table.grow` by one, 2 `table.fill` of two, 3 `table.copy` of one
/// from slot `k % size`, 4 `table.init` of one from `$pf` at `k % 4`; the
/// value written is `$pool[k % 8]`.
fn spin(t: &str, suffix: &str, index: &str) -> String {
    format!(
        r#"  (func (export "spin_{t}{suffix}") (param $i i32) (param $j i32) (param $mode i32) (param $n i32) (result i32)
    (local $k i32) (local $acc i32) (local $v funcref)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
          (call_indirect ${t} (type $ret) {index})))
        (local.set $v (table.get $pool (i32.rem_u (local.get $k) (i32.const 8))))
        (block $next
          (block $init (block $copy (block $fill (block $grow (block $set
            (br_table $set $grow $fill $copy $init (local.get $mode)))
            (table.set ${t} (local.get $j) (local.get $v)) (br $next))
            (drop (table.grow ${t} (local.get $v) (i32.const 1))) (br $next))
            (table.fill ${t} (local.get $j) (local.get $v) (i32.const 2)) (br $next))
            (table.copy ${t} ${t} (local.get $j)
              (i32.rem_u (local.get $k) (table.size ${t})) (i32.const 1)) (br $next))
          (table.init ${t} $pf (local.get $j) (i32.rem_u (local.get $k) (i32.const 4)) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $top)))
    (local.get $acc))
"#
    )
}

/// A table operation of a plan, on a funcref table (by its index in
/// [`Harness::tables`]).
#[derive(Debug, Clone, Copy)]
enum TableOp {
    Nothing,
    Set {
        t: usize,
        i: u64,
        v: Elem,
    },
    Fill {
        t: usize,
        dst: u64,
        v: Elem,
        len: u64,
    },
    Grow {
        t: usize,
        delta: u64,
        v: Elem,
    },
    Copy {
        dst: (usize, u64),
        src: (usize, u64),
        len: u64,
    },
    /// `table.init` from the first instance's `$pf` (wasm only).
    Init {
        t: usize,
        dst: u64,
        src: u64,
        len: u64,
    },
    /// `elem.drop $pf` of the first instance (wasm only).
    Drop,
}

/// One step of a plan: an operation through the host API, or through the
/// first instance's wasm exports (then only on its `$f` and `$fi`).
#[derive(Debug, Clone, Copy)]
struct Step {
    op: TableOp,
    by_wasm: bool,
}

/// What a step did.
#[derive(Debug, Clone, PartialEq)]
enum StepResult {
    Done,
    /// A growth: the old size, or `None` when it failed.
    Grew(Option<u64>),
    /// An error from the host API, or a table out-of-bounds trap.
    Refused,
    /// Anything else: never right.
    Unexpected(String),
}

/// The store's data: the plan the `step` import follows and what each
/// step did.
#[derive(Default)]
pub(super) struct Plan {
    steps: Vec<Step>,
    next: usize,
    log: Vec<StepResult>,
    tables: Vec<Table>,
    funcs: Vec<Func>,
    instance: Option<Instance>,
}

/// The host functions every instance imports.
pub(super) struct Imports {
    gc: Func,
    h0: Func,
    step: Func,
}

impl Imports {
    /// `h0` is the host function the module imports (and puts in its
    /// tables).
    pub(super) fn new(store: &mut Store<Plan>, h0: Func) -> Imports {
        Imports {
            gc: Func::wrap(&mut *store, |mut caller: Caller<'_, Plan>| caller.gc()),
            h0,
            step: Func::wrap(&mut *store, run_step),
        }
    }

    /// Instantiates the module with `ftab` and `etab` as its imported
    /// tables, as instance number `which` (0 or 1), which sets its `base`.
    pub(super) fn instantiate(
        &self,
        store: &mut Store<Plan>,
        module: &Module,
        ftab: Table,
        etab: Table,
        which: usize,
    ) -> Instance {
        let base = Global::new(
            &mut *store,
            GlobalType::new(ValType::I32, Mutability::Const),
            Val::I32(INSTANCE_BASE[which]),
        )
        .expect("a global");
        let mut linker = Linker::new(store.engine());
        linker.define(&*store, "host", "ftab", ftab).unwrap();
        linker.define(&*store, "host", "etab", etab).unwrap();
        linker.define(&*store, "host", "gc", self.gc).unwrap();
        linker.define(&*store, "host", "h0", self.h0).unwrap();
        linker.define(&*store, "host", "step", self.step).unwrap();
        linker.define(&*store, "host", "base", base).unwrap();
        linker
            .instantiate(&mut *store, module)
            .expect("the table module instantiates")
    }
}

/// The `step` import: runs the plan's next step and logs what it did.
fn run_step(mut caller: Caller<'_, Plan>) {
    let plan = caller.data();
    let Some(step) = plan.steps.get(plan.next).copied() else {
        caller
            .data_mut()
            .log
            .push(StepResult::Unexpected("a step past the plan".into()));
        return;
    };
    let tables = plan.tables.clone();
    let funcs = plan.funcs.clone();
    let instance = plan.instance.expect("the plan's instance");
    caller.data_mut().next += 1;
    let r = |v: Elem| match v {
        Elem::Func(f) => Ref::Func(Some(funcs[f])),
        _ => Ref::Func(None),
    };
    let result = if step.by_wasm {
        let i32v = |v: u64| Val::I32(v as u32 as i32);
        let name = |op: &str, t: usize| format!("{op}_{}", WASM_TABLES[t].0);
        let (export, args) = match step.op {
            TableOp::Nothing => return caller.data_mut().log.push(StepResult::Done),
            TableOp::Set { t, i, v } => (name("set", t), vec![i32v(i), r(v).into()]),
            TableOp::Fill { t, dst, v, len } => {
                (name("fill", t), vec![i32v(dst), r(v).into(), i32v(len)])
            }
            TableOp::Grow { t, delta, v } => (name("grow", t), vec![r(v).into(), i32v(delta)]),
            TableOp::Copy { dst, src, len } => (
                format!("{}_{}", name("copy", dst.0), WASM_TABLES[src.0].0),
                vec![i32v(dst.1), i32v(src.1), i32v(len)],
            ),
            TableOp::Init { t, dst, src, len } => {
                (name("init", t), vec![i32v(dst), i32v(src), i32v(len)])
            }
            TableOp::Drop => ("drop_f".into(), Vec::new()),
        };
        let f = instance
            .get_func(&mut caller, &export)
            .unwrap_or_else(|| panic!("no export {export}"));
        let mut results = vec![Val::I32(0); f.ty(&caller).results().len()];
        match f.call(&mut caller, &args, &mut results) {
            Ok(()) if matches!(step.op, TableOp::Grow { .. }) => {
                let old = results[0].unwrap_i32();
                StepResult::Grew((old != -1).then_some(old as u32 as u64))
            }
            Ok(()) => StepResult::Done,
            Err(e) => match e.downcast_ref::<Trap>() {
                Some(Trap::TableOutOfBounds) => StepResult::Refused,
                _ => StepResult::Unexpected(format!("{e:#}")),
            },
        }
    } else {
        let done = |ok: bool| {
            if ok {
                StepResult::Done
            } else {
                StepResult::Refused
            }
        };
        match step.op {
            TableOp::Nothing => StepResult::Done,
            TableOp::Set { t, i, v } => done(tables[t].set(&mut caller, i, r(v)).is_ok()),
            TableOp::Fill { t, dst, v, len } => {
                done(tables[t].fill(&mut caller, dst, r(v), len).is_ok())
            }
            TableOp::Grow { t, delta, v } => {
                StepResult::Grew(tables[t].grow(&mut caller, delta, r(v)).ok())
            }
            TableOp::Copy { dst, src, len } => {
                let (d, s) = (&tables[dst.0], &tables[src.0]);
                done(Table::copy(&mut caller, d, dst.1, s, src.1, len).is_ok())
            }
            TableOp::Init { .. } | TableOp::Drop => {
                StepResult::Unexpected("a host step of a wasm-only operation".into())
            }
        }
    };
    caller.data_mut().log.push(result);
}

impl Harness {
    /// One of the operations of this module: a call at a constant or
    /// computed index, a `drive_*` loop or a `spin_*` loop.
    pub(super) fn call_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        match u.int_in_range(0..=3)? {
            0 => self.drive_op(u),
            1 => self.spin_op(u),
            _ => self.single_call_op(u),
        }
    }

    /// An instance to call (the second one in a third of the calls, when
    /// there is one), its number, and one of its funcref tables: its name
    /// and index in [`Harness::model`].
    fn pick_call_site(
        &mut self,
        u: &mut Unstructured<'_>,
    ) -> arbitrary::Result<(Instance, usize, &'static str, usize)> {
        let (instance, which) = match self.second {
            Some(second) if u.ratio(1, 3)? => (second, 1),
            _ => (self.instance, 0),
        };
        let name = if u.arbitrary()? { "f" } else { "fi" };
        // The first instance's `$f` and `$fi` are tables 0 and 1; the
        // second's `$f` is table 4 and its `$fi` the first's `$f`.
        let t = match (which, name) {
            (0, "f") => 0,
            (0, _) => 1,
            (_, "f") => 4,
            _ => 0,
        };
        Ok((instance, which, name, t))
    }

    /// One call through a call site of `$f` or `$fi`.
    fn single_call_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let (instance, _, name, t) = self.pick_call_site(u)?;
        let size = self.model[t].elems.len() as u64;
        let op = ["call", "call2", "tail"][u.choose_index(3)?];
        let (export, i, args) = if u.arbitrary()? {
            let i = u.int_in_range(0..=CONST_SLOTS - 1)?;
            let op = if op == "call2" { "call" } else { op };
            (format!("{op}_{name}_c{i}"), i, Vec::new())
        } else {
            let i = index(u, size)?;
            (format!("{op}_{name}"), i, vec![Val::I32(i as u32 as i32)])
        };
        let got = self
            .call_on(instance, &export, &args)
            .map(|r| r[0].unwrap_i32());
        assert_eq!(got, self.expected_call(t, i), "{export}({i})");
        Ok(())
    }

    /// A constant index of the loops of table `name`, or `None` for the
    /// computed one.
    fn loop_slot(u: &mut Unstructured<'_>, name: &str) -> arbitrary::Result<Option<u64>> {
        let slots = LOOP_SLOTS[usize::from(name == "fi")];
        Ok(if u.arbitrary()? {
            Some(slots[u.choose_index(slots.len())?])
        } else {
            None
        })
    }

    /// A `drive_*` loop with a plan of steps, checked iteration by
    /// iteration.
    fn drive_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let (instance, _, name, t) = self.pick_call_site(u)?;
        let size = self.model[t].elems.len() as u64;
        let constant = Self::loop_slot(u, name)?;
        let (export, i, d) = match constant {
            Some(s) => (format!("drive_{name}_c{s}"), s, 0),
            None => {
                let d = match u.int_in_range(0..=3)? {
                    0 | 1 => 0,
                    2 => 1,
                    _ => u.arbitrary::<u32>()?,
                };
                (format!("drive_{name}"), index(u, size)?, d)
            }
        };
        let n = u.int_in_range(0..=8u32)?;
        let steps = (0..n)
            .map(|_| self.step(u, t, i))
            .collect::<arbitrary::Result<Vec<Step>>>()?;
        let plan = self.store.data_mut();
        plan.steps = steps.clone();
        plan.next = 0;
        plan.log.clear();
        plan.tables = self.tables.clone();
        plan.funcs = self.funcs.clone();
        plan.instance = Some(self.instance);
        let args = [i, u64::from(d), u64::from(n)].map(|v| Val::I32(v as u32 as i32));
        let got = self
            .call_on(instance, &export, &args)
            .map(|r| r[0].unwrap_i32());
        let log = std::mem::take(&mut self.store.data_mut().log);

        let what = format!("{export}({i}, {d}, {n}) with {steps:?}");
        let mut expected = None;
        let mut acc = 0i32;
        let mut ran = 0;
        for (k, step) in steps.iter().enumerate() {
            let at = (i as u32).wrapping_add((k as u32).wrapping_mul(d));
            match self.expected_call(t, u64::from(at)) {
                Ok(r) => {
                    acc = acc.wrapping_mul(31).wrapping_add(r);
                    acc = acc.wrapping_mul(31).wrapping_add(r);
                }
                Err(trap) => {
                    expected = Some(Err(trap));
                    break;
                }
            }
            let Some(result) = log.get(k) else {
                panic!("{what}: step {k} did not run; the call gave {got:?}");
            };
            self.model_step(*step, result, &what);
            ran += 1;
        }
        assert_eq!(log.len(), ran, "{what}: steps run: {log:?}");
        assert_eq!(got, expected.unwrap_or(Ok(acc)), "{what}");
        Ok(())
    }

    /// A step of a plan for a loop over table `t` at index `hot`: on that
    /// table or another funcref table, often at `hot`.
    fn step(&mut self, u: &mut Unstructured<'_>, t: usize, hot: u64) -> arbitrary::Result<Step> {
        if u.ratio(1, 5)? {
            return Ok(Step {
                op: TableOp::Nothing,
                by_wasm: false,
            });
        }
        let by_wasm: bool = u.arbitrary()?;
        let choices: Vec<usize> = if by_wasm {
            vec![0, 1]
        } else {
            (0..self.tables.len())
                .filter(|k| self.model[*k].func)
                .collect()
        };
        let pick = |u: &mut Unstructured<'_>| -> arbitrary::Result<usize> {
            Ok(if choices.contains(&t) && u.arbitrary()? {
                t
            } else {
                choices[u.choose_index(choices.len())?]
            })
        };
        let table = pick(u)?;
        let size = self.model[table].elems.len() as u64;
        let at = |u: &mut Unstructured<'_>, size: u64| -> arbitrary::Result<u64> {
            if u.arbitrary()? {
                Ok(hot)
            } else {
                index(u, size)
            }
        };
        // Wasm takes 32-bit lengths.
        let mask = if by_wasm { 0xffff_ffff } else { u64::MAX };
        let len = |u: &mut Unstructured<'_>| -> arbitrary::Result<u64> {
            Ok(if u.ratio(3, 4)? {
                u.int_in_range(1..=3)?
            } else {
                length(u)? & mask
            })
        };
        let op = match u.int_in_range(0..=if by_wasm { 5 } else { 3 })? {
            0 => TableOp::Set {
                t: table,
                i: at(u, size)?,
                v: self.value(u, true)?,
            },
            1 => TableOp::Fill {
                t: table,
                dst: at(u, size)?,
                v: self.value(u, true)?,
                len: len(u)?,
            },
            2 => TableOp::Grow {
                t: table,
                delta: len(u)?,
                v: self.value(u, true)?,
            },
            3 => {
                let src_t = pick(u)?;
                let src_size = self.model[src_t].elems.len() as u64;
                TableOp::Copy {
                    dst: (table, at(u, size)?),
                    src: (src_t, index(u, src_size)?),
                    len: len(u)?,
                }
            }
            4 => TableOp::Init {
                t: table,
                dst: at(u, size)?,
                src: u.int_in_range(0..=4)?,
                len: len(u)?,
            },
            _ if u.ratio(1, 4)? => TableOp::Drop,
            _ => TableOp::Nothing,
        };
        Ok(Step { op, by_wasm })
    }

    /// Applies `step` to the model, given what it did.
    fn model_step(&mut self, step: Step, result: &StepResult, what: &str) {
        let what = &format!("{what}: {step:?}");
        let check = |ok: bool| {
            let expected = if ok {
                StepResult::Done
            } else {
                StepResult::Refused
            };
            assert_eq!(*result, expected, "{what}");
            ok
        };
        match step.op {
            TableOp::Nothing => assert_eq!(*result, StepResult::Done, "{what}"),
            TableOp::Set { t, i, v } => {
                if check(i < self.model[t].elems.len() as u64) {
                    self.model[t].elems[i as usize] = v;
                }
            }
            TableOp::Fill { t, dst, v, len } => {
                if check(fits(dst, len, self.model[t].elems.len() as u64)) {
                    self.model[t].elems[dst as usize..(dst + len) as usize].fill(v);
                }
            }
            TableOp::Grow { t, delta, v } => {
                let StepResult::Grew(r) = result else {
                    panic!("{what}: {result:?}");
                };
                self.model_grow(t, delta, v, *r, what);
            }
            TableOp::Copy { dst, src, len } => {
                let r = match result {
                    StepResult::Done => Ok(()),
                    StepResult::Refused => Err(Trap::TableOutOfBounds),
                    other => panic!("{what}: {other:?}"),
                };
                model_copy(&mut self.model, dst, src, len, r, what);
            }
            TableOp::Init { t, dst, src, len } => {
                let seg_len = if self.dropped[0] {
                    0
                } else {
                    PASSIVE_FUNCS.len() as u64
                };
                let size = self.model[t].elems.len() as u64;
                if check(fits(dst, len, size) && fits(src, len, seg_len)) {
                    for k in 0..len as usize {
                        let f = PASSIVE_FUNCS[src as usize + k];
                        self.model[t].elems[dst as usize + k] = Elem::Func(module_func(0, f));
                    }
                }
            }
            TableOp::Drop => {
                assert_eq!(*result, StepResult::Done, "{what}");
                self.dropped[0] = true;
            }
        }
    }

    /// A `spin_*` loop, checked iteration by iteration.
    fn spin_op(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let (instance, which, name, t) = self.pick_call_site(u)?;
        let size = self.model[t].elems.len() as u64;
        let (export, i) = match Self::loop_slot(u, name)? {
            Some(s) => (format!("spin_{name}_c{s}"), s),
            None => (format!("spin_{name}"), index(u, size)?),
        };
        let j = if u.arbitrary()? { i } else { index(u, size)? };
        let mode = u.int_in_range(0..=4u32)?;
        let n = u.int_in_range(0..=8u32)?;
        let args = [i, j, u64::from(mode), u64::from(n)].map(|v| Val::I32(v as u32 as i32));
        let got = self
            .call_on(instance, &export, &args)
            .map(|r| r[0].unwrap_i32());

        let h0 = self.h0_refs[which];
        let elem = |slot: Option<usize>| match slot {
            None => Elem::Null,
            Some(usize::MAX) => Elem::Func(h0),
            Some(k) => Elem::Func(module_func(which, k)),
        };
        // The second instance's `$pf` is never dropped.
        let seg_len = if which == 0 && self.dropped[0] {
            0
        } else {
            PASSIVE_FUNCS.len() as u64
        };
        let mut expected = None;
        let mut acc = 0i32;
        for k in 0..u64::from(n) {
            match self.expected_call(t, i) {
                Ok(r) => acc = acc.wrapping_mul(31).wrapping_add(r),
                Err(trap) => {
                    expected = Some(Err(trap));
                    break;
                }
            }
            let v = elem(POOL[(k % 8) as usize]);
            let m = &mut self.model[t];
            let size = m.elems.len() as u64;
            let ok = match mode {
                0 => fits(j, 1, size),
                1 | 3 => true,
                2 => fits(j, 2, size),
                _ => fits(j, 1, size) && fits(k % 4, 1, seg_len),
            };
            if !ok {
                expected = Some(Err(Trap::TableOutOfBounds));
                break;
            }
            match mode {
                0 => m.elems[j as usize] = v,
                1 => {
                    if m.max.is_none_or(|max| size < max) {
                        m.elems.push(v);
                    }
                }
                2 => m.elems[j as usize..j as usize + 2].fill(v),
                3 if fits(j, 1, size) => m.elems[j as usize] = m.elems[(k % size) as usize],
                3 => {
                    expected = Some(Err(Trap::TableOutOfBounds));
                    break;
                }
                _ => {
                    let f = PASSIVE_FUNCS[(k % 4) as usize];
                    m.elems[j as usize] = Elem::Func(module_func(which, f));
                }
            }
        }
        let what = format!("{export}({i}, {j}, {mode}, {n})");
        assert_eq!(got, expected.unwrap_or(Ok(acc)), "{what}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::MODULE_FUNCS;
    use super::*;

    /// The module's functions as [`MODULE_FUNCS`] says, through the
    /// module's own call sites: the known answers of the model.
    #[test]
    fn the_model_knows_the_module() {
        let data = [0u8; 64];
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut u = Unstructured::new(&data);
        let mut h = Harness::new(&mut u, &drops).unwrap();
        for s in 0..CONST_SLOTS {
            let got = h
                .call(&format!("call_f_c{s}"), &[])
                .map(|r| r[0].unwrap_i32());
            assert_eq!(got, h.expected_call(0, s), "slot {s}");
        }
        assert_eq!(h.call("call_f_c6", &[]).unwrap()[0].unwrap_i32(), 103);
        assert_eq!(
            h.call("call_f_c7", &[]).unwrap_err(),
            Trap::UnreachableCodeReached
        );
        assert_eq!(MODULE_FUNCS.len(), 9);
    }
}
