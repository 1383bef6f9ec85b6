//! wasmi's side of the differential comparison, the default oracle: a
//! store with the host imports (no tags: wasmi has no exception handling),
//! the instance, and every result, error and final item in the
//! engine-neutral form of `differential.rs`.
//!
//! wasmi 1.x, not 2.0.0: wasmi 2.0.0 picks the wrong operand of a `select`
//! whose condition is a comparison, e.g. `(select (i32.const 7) (local.get
//! 1) (i32.ne (local.get 0) (i32.const 0)))`.

use super::{
    Arg, EXTERN_VALUES, FuncSource, HOST_FUNCS, HOST_GLOBALS, HOST_MEMORY, HOST_TABLES,
    HostFailure, Item, Oracle, Outcome, ParamTy, SHUFFLE, Side, TableEdit, TrapKind, Value,
    func_ty_name, mix, shuffle_edit,
};
use wasmi::{
    Extern, ExternRef, Func, Global, Memory, MemoryType, Mutability, Ref, Table, TableType, Val,
    ValType,
};
use wasmi_oracle as wasmi;

impl wasmi::errors::HostError for HostFailure {}

/// A store with the host imports, and the instance once there is one.
pub(crate) struct WasmiSide {
    store: wasmi::Store<()>,
    linker: wasmi::Linker<()>,
    funcs: Vec<Func>,
    externs: Vec<ExternRef>,
    /// The host's tables, memory and globals, by name.
    host: Vec<(&'static str, Extern)>,
    instance: Option<wasmi::Instance>,
}

/// wasmi's type for `ty`, of a host item.
fn val_type(ty: ParamTy) -> ValType {
    match ty {
        ParamTy::I32 => ValType::I32,
        ParamTy::I64 => ValType::I64,
        ParamTy::F32 => ValType::F32,
        ParamTy::F64 => ValType::F64,
        ParamTy::V128 => ValType::V128,
        ParamTy::FuncRef => ValType::FuncRef,
        ParamTy::ExternRef => ValType::ExternRef,
        ParamTy::ExnRef | ParamTy::Unsupported => unreachable!("no host item has type {ty:?}"),
    }
}

impl WasmiSide {
    /// wasmi's value for `a`.
    fn val(&self, a: Arg) -> Val {
        match a {
            Arg::I32(v) => Val::I32(v),
            Arg::I64(v) => Val::I64(v),
            Arg::F32(v) => Val::F32(wasmi::F32::from_bits(v)),
            Arg::F64(v) => Val::F64(wasmi::F64::from_bits(v)),
            Arg::Func(f) => Val::FuncRef(match f {
                Some(i) => Ref::Val(self.funcs[i]),
                None => Ref::Null,
            }),
            Arg::Extern(e) => Val::ExternRef(match e {
                Some(n) => Ref::Val(self.externs[n as usize]),
                None => Ref::Null,
            }),
            Arg::V128(v) => Val::V128(wasmi::V128::from(v)),
            Arg::NullExn => unreachable!("wasmi modules have no exnref"),
        }
    }

    fn outcome_of_error(e: &wasmi::Error) -> Outcome {
        use wasmi::TrapCode;
        if let Some(code) = e.as_trap_code() {
            return Outcome::Trapped(match code {
                TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
                TrapCode::MemoryOutOfBounds => TrapKind::Memory,
                TrapCode::TableOutOfBounds => TrapKind::Table,
                TrapCode::IndirectCallToNull => TrapKind::NullCall,
                TrapCode::BadSignature => TrapKind::Signature,
                TrapCode::IntegerOverflow => TrapKind::Overflow,
                TrapCode::IntegerDivisionByZero => TrapKind::DivZero,
                TrapCode::BadConversionToInteger => TrapKind::Conversion,
                TrapCode::StackOverflow => TrapKind::Stack,
                _ => TrapKind::Other,
            });
        }
        if e.downcast_ref::<HostFailure>().is_some() {
            return Outcome::HostError;
        }
        // wasmi reports some traps as errors of their own: an active
        // element segment that does not fit, and `table.copy` out of
        // bounds. The spec's trap is "out of bounds table access".
        use wasmi::errors::{ErrorKind, InstantiationError, TableError};
        match e.kind() {
            ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })
            | ErrorKind::Table(TableError::CopyOutOfBounds) => Outcome::Trapped(TrapKind::Table),
            _ => Outcome::Error(format!("{e}")),
        }
    }

    fn value(&self, v: &Val) -> Value {
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(x) => Value::F32(x.to_bits()),
            Val::F64(x) => Value::F64(x.to_bits()),
            Val::FuncRef(f) => Value::Func(f.val().map(|f| {
                let ty = f.ty(&self.store);
                let name = |t: &ValType| format!("{t:?}");
                func_ty_name(ty.params().iter().map(name), ty.results().iter().map(name))
            })),
            Val::ExternRef(e) => Value::Extern(e.val().map(|e| {
                *e.data(&self.store)
                    .downcast_ref::<u32>()
                    .expect("a u32 host value")
            })),
            Val::V128(x) => Value::V128(x.as_u128()),
        }
    }
}

impl Side for WasmiSide {
    const NAME: &'static str = "wasmi";

    fn instantiate(&mut self, wasm: &[u8]) -> Outcome {
        let module = match wasmi::Module::new(self.store.engine(), wasm) {
            Ok(m) => m,
            Err(e) => return Outcome::Error(format!("compilation: {e}")),
        };
        match self.linker.instantiate_and_start(&mut self.store, &module) {
            Ok(i) => {
                self.instance = Some(i);
                Outcome::Returned(Vec::new())
            }
            Err(e) => Self::outcome_of_error(&e),
        }
    }

    fn call(&mut self, name: &str, args: &[Arg]) -> Outcome {
        let instance = self.instance.expect("an instance");
        let f = instance.get_func(&self.store, name).expect("an export");
        let params: Vec<Val> = args.iter().map(|a| self.val(*a)).collect();
        let ty = f.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
            Err(e) => Self::outcome_of_error(&e),
        }
    }

    fn item(&mut self, name: &str, host: bool) -> Item {
        let e = if host {
            self.host.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
        } else {
            self.instance.and_then(|i| i.get_export(&self.store, name))
        };
        match e {
            None => Item::Missing,
            Some(Extern::Func(_)) => Item::Func,
            Some(Extern::Memory(m)) => Item::Memory(m.data(&self.store).to_vec()),
            Some(Extern::Global(g)) => Item::Global(self.value(&g.get(&self.store))),
            Some(Extern::Table(t)) => Item::Table(
                (0..t.size(&self.store))
                    .map(|i| self.value(&t.get(&self.store, i).expect("an element in bounds")))
                    .collect(),
            ),
        }
    }

    fn funcref_table_size(&mut self, name: &str, host: bool) -> Option<u64> {
        let t = self.funcref_table(name, host)?;
        Some(t.size(&self.store))
    }

    fn edit_table(&mut self, name: &str, host: bool, edit: &TableEdit) -> Option<u64> {
        let t = self.funcref_table(name, host)?;
        // The one value an edit writes, made first.
        let val = match edit {
            TableEdit::Set { func, .. }
            | TableEdit::Fill { func, .. }
            | TableEdit::Grow { func, .. } => Some(self.func_val(func)),
            TableEdit::Copy { .. } => None,
        };
        apply_edit(&mut self.store, t, edit, |_| {
            val.clone().expect("an edit that writes a value")
        })
    }
}

impl WasmiSide {
    /// The host's table `name` (`host`) or the instance's exported table
    /// `name`, when it holds funcrefs.
    fn funcref_table(&mut self, name: &str, host: bool) -> Option<Table> {
        let e = if host {
            self.host.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
        } else {
            self.instance?.get_export(&self.store, name)
        };
        let t = e?.into_table()?;
        (t.ty(&self.store).element() == ValType::FuncRef).then_some(t)
    }

    /// wasmi's value for `f`.
    fn func_val(&self, f: &FuncSource) -> Val {
        Val::FuncRef(match f {
            FuncSource::Null => Ref::Null,
            FuncSource::Host(i) => Ref::Val(self.funcs[*i]),
            FuncSource::Export(name) => {
                let instance = self.instance.expect("an instance");
                instance
                    .get_func(&self.store, name)
                    .map_or(Ref::Null, Ref::Val)
            }
        })
    }
}

super::table_edit_fn!(wasmi, Val);

impl Oracle for WasmiSide {
    const EXCEPTIONS: bool = false;

    fn new() -> WasmiSide {
        // Deeper recursion than Trestle's stack allows, so that when
        // recursion runs out of stack, Trestle's limit is the one reached
        // (and the comparison ends there without a verdict).
        let mut config = wasmi::Config::default();
        config
            .set_max_recursion_depth(10_000)
            .wasm_simd(true)
            .wasm_memory64(true)
            .wasm_multi_memory(true)
            .wasm_extended_const(true);
        let engine = wasmi::Engine::new(&config);
        let mut store = wasmi::Store::new(&engine, ());
        let funcs = vec![
            Func::wrap(&mut store, |x: i32| x.wrapping_add(1)),
            Func::wrap(&mut store, mix),
            Func::wrap(&mut store, |x: i32| -> Result<(), wasmi::Error> {
                if x & 1 == 1 {
                    return Err(wasmi::Error::host(HostFailure));
                }
                Ok(())
            }),
            Func::wrap(&mut store, |x: Ref<ExternRef>| x),
            Func::wrap(&mut store, |x: Ref<Func>| x),
        ];
        let externs: Vec<ExternRef> = (0..EXTERN_VALUES)
            .map(|n| ExternRef::new(&mut store, n))
            .collect();
        let mut side = WasmiSide {
            store,
            linker: wasmi::Linker::new(&engine),
            funcs,
            externs,
            host: Vec::new(),
            instance: None,
        };
        for t in &HOST_TABLES {
            let ty = TableType::new(val_type(t.ty), t.min, Some(t.max));
            let null = side.val(t.null());
            let table = Table::new(&mut side.store, ty, null).expect("a host table");
            for (i, a) in t.elems {
                let v = side.val(*a);
                table
                    .set(&mut side.store, *i, v)
                    .expect("a host table entry");
            }
            side.host.push((t.name, table.into()));
        }
        let (name, min, max, bytes) = HOST_MEMORY;
        let mem = Memory::new(&mut side.store, MemoryType::new(min, Some(max))).expect("a memory");
        mem.data_mut(&mut side.store)[..bytes.len()].copy_from_slice(bytes);
        side.host.push((name, mem.into()));
        for g in &HOST_GLOBALS {
            let m = [Mutability::Const, Mutability::Var][usize::from(g.mutable)];
            let init = side.val(g.init);
            side.host
                .push((g.name, Global::new(&mut side.store, init, m).into()));
        }
        // `host.shuffle`: edits the host's funcref table while wasm runs.
        let table = side.host[0].1.into_table().expect("the host funcref table");
        let funcs = side.funcs.clone();
        let shuffle = Func::wrap(
            &mut side.store,
            move |mut caller: wasmi::Caller<'_, ()>, x: i32| {
                let edit = shuffle_edit(x, table.size(&caller));
                let func = |f: &FuncSource| {
                    Val::FuncRef(match f {
                        FuncSource::Host(i) => Ref::Val(funcs[*i]),
                        _ => Ref::Null,
                    })
                };
                apply_edit(&mut caller, table, &edit, func);
            },
        );
        side.linker
            .define("host", SHUFFLE, shuffle)
            .expect("a host definition");
        let host = HOST_FUNCS
            .iter()
            .zip(side.funcs.iter().map(|f| Extern::from(*f)))
            .chain(side.host.iter().map(|(n, e)| (n, *e)));
        for (name, item) in host {
            side.linker
                .define("host", name, item)
                .expect("a host definition");
        }
        side
    }
}
