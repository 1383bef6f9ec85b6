//! The parts of an engine's side that Trestle and Wasmtime share: Trestle's
//! embedding API has the shape of Wasmtime's (`Store`, `Linker`,
//! `Table::new(store, ty, init)`, `Global::new(store, ty, value)`,
//! `Tag::new(store, &ty)`, `Tag::eq`, `Instance::exports`, `Func::call`,
//! ...), so one body serves both, given the name of the crate (`trestle`
//! or Wasmtime's) and the side's type.
//!
//! The side's type must have the fields `store`, `linker`, `funcs` (the
//! functions of `HOST_FUNCS`, in order), `externs` (the externrefs of
//! host values `0..EXTERN_VALUES`), `host` (the named host items, filled
//! here) and `instance`, and the methods `outcome_of_error` (an error of
//! instantiation or of a call as an `Outcome`) and `exception` (the tag
//! and payload of an exnref). The caller must have `Arg`, `ParamTy`,
//! `Item`, `Outcome`, `Value`, `Side`, `TableEdit`, `FuncSource`, `SHUFFLE`,
//! `shuffle_edit`, `UNEXPORTED_TAG`, `EXTERN_VALUES`,
//! `HostFailure`, `mix`, `func_ty_name`, `apply_edit` (see `table_edit_fn`)
//! and the `HOST_*` items in scope.

/// Defines `apply_edit`, which applies a `TableEdit` to a funcref table of
/// the engine `$api` (an engine with Wasmtime's `Table` methods), with
/// `$ref` the engine's type of a table element.
macro_rules! table_edit_fn {
    ($api:ident, $ref:ty) => {
        /// Applies `edit` to funcref table `t`, with `func` the value of
        /// each `FuncSource`: as `Side::edit_table` says.
        fn apply_edit(
            mut store: impl $api::AsContextMut,
            t: $api::Table,
            edit: &TableEdit,
            func: impl Fn(&FuncSource) -> $ref,
        ) -> Option<u64> {
            match edit {
                TableEdit::Set { index, func: f } => {
                    t.set(&mut store, *index, func(f)).ok().map(|()| 0)
                }
                TableEdit::Fill { dst, func: f, len } => {
                    t.fill(&mut store, *dst, func(f), *len).ok().map(|()| 0)
                }
                TableEdit::Grow { delta, func: f } => t.grow(&mut store, *delta, func(f)).ok(),
                TableEdit::Copy { dst, src, len } => {
                    $api::Table::copy(&mut store, &t, *dst, &t, *src, *len)
                        .ok()
                        .map(|()| 0)
                }
            }
        }
    };
}
pub(crate) use table_edit_fn;

/// Defines `val_type`, `ref_type`, on `$side` the methods `with_engine` (a
/// new store with the host imports), `val` (the engine's value for an
/// `Arg`), `value` (the engine-neutral form of a value), `tag_name`,
/// `exports`, `funcref_table`, `host_funcs` and `define_host` (makes
/// the host's tables, memory, globals and tags and defines them and the
/// functions in the linker), and `Side` for `$side`, named `$name`.
/// `$externref` is the type of the engine's externref handles; `$extra`
/// are more arms of the match on an `Extern` of the engine, for its other
/// kinds.
macro_rules! wasmtime_style_side {
    (
        $api:ident,
        $side:ident,
        $name:literal,
        $externref:ty
        $(, $extra:pat => $extra_item:expr)*
    ) => {
        /// The engine's type for `ty`, of a host item or a tag's payload.
        fn val_type(ty: ParamTy) -> $api::ValType {
            use $api::ValType;
            match ty {
                ParamTy::I32 => ValType::I32,
                ParamTy::I64 => ValType::I64,
                ParamTy::F32 => ValType::F32,
                ParamTy::F64 => ValType::F64,
                ParamTy::V128 => ValType::V128,
                ParamTy::FuncRef | ParamTy::ExternRef => ValType::Ref(ref_type(ty)),
                ParamTy::ExnRef | ParamTy::Unsupported => {
                    unreachable!("no host item has type {ty:?}")
                }
            }
        }

        /// The engine's reference type for `ty` (funcref or externref).
        fn ref_type(ty: ParamTy) -> $api::RefType {
            match ty {
                ParamTy::FuncRef => $api::RefType::FUNCREF,
                _ => $api::RefType::EXTERNREF,
            }
        }

        impl $side {
            /// The engine's value for `a`.
            fn val(&self, a: Arg) -> $api::Val {
                use $api::Val;
                match a {
                    Arg::I32(v) => Val::I32(v),
                    Arg::I64(v) => Val::I64(v),
                    Arg::F32(v) => Val::F32(v),
                    Arg::F64(v) => Val::F64(v),
                    Arg::Func(f) => Val::FuncRef(f.map(|i| self.funcs[i])),
                    Arg::Extern(e) => Val::ExternRef(e.map(|n| self.externs[n as usize])),
                    Arg::V128(v) => Val::V128($api::V128::from(v)),
                    Arg::NullExn => Val::ExnRef(None),
                }
            }

            /// The engine-neutral form of `v`.
            fn value(&mut self, v: &$api::Val) -> Value {
                use $api::Val;
                match v {
                    Val::I32(x) => Value::I32(*x),
                    Val::I64(x) => Value::I64(*x),
                    Val::F32(x) => Value::F32(*x),
                    Val::F64(x) => Value::F64(*x),
                    Val::V128(x) => Value::V128(x.as_u128()),
                    Val::FuncRef(f) => Value::Func(f.map(|f| {
                        let ty = f.ty(&self.store);
                        let name = |t: $api::ValType| t.to_string();
                        func_ty_name(ty.params().map(name), ty.results().map(name))
                    })),
                    Val::ExternRef(e) => Value::Extern(e.map(|e| {
                        let data = e
                            .data(&self.store)
                            .expect("externref data")
                            .expect("host data");
                        *data.downcast_ref::<u32>().expect("a u32 host value")
                    })),
                    Val::ExnRef(e) => Value::Exn(e.map(|e| Box::new(self.exception(e)))),
                    other => Value::Other(format!("{other:?}")),
                }
            }

            /// The name of `tag`: `host.NAME` for a host import, else
            /// the name of an export of the instance that is `tag`.
            fn tag_name(&mut self, tag: $api::Tag) -> String {
                use $api::{Extern, Tag};
                let same = |e: &Extern, store: &$api::Store<()>| {
                    matches!(e, Extern::Tag(t) if Tag::eq(t, &tag, store))
                };
                if let Some((name, _)) = self.host.iter().find(|(_, e)| same(e, &self.store)) {
                    return format!("host.{name}");
                }
                self.exports()
                    .into_iter()
                    .find(|(_, e)| same(e, &self.store))
                    .map_or_else(|| UNEXPORTED_TAG.into(), |(name, _)| name)
            }

            /// The host's table `name` (`host`) or the instance's exported
            /// table `name`, when it holds nullable funcrefs.
            fn funcref_table(&mut self, name: &str, host: bool) -> Option<$api::Table> {
                let e = if host {
                    self.host.iter().find(|(n, _)| *n == name).map(|(_, e)| e.clone())
                } else {
                    self.instance?.get_export(&mut self.store, name)
                };
                let t = e?.into_table()?;
                let ty = t.ty(&self.store);
                let elem = ty.element();
                (elem.is_nullable() && matches!(elem.heap_type(), $api::HeapType::Func)).then_some(t)
            }

            /// The instance's exports, in order (none without one).
            fn exports(&mut self) -> Vec<(String, $api::Extern)> {
                let Some(instance) = self.instance else {
                    return Vec::new();
                };
                instance
                    .exports(&mut self.store)
                    .map(|e| (e.name().to_string(), e.into_extern()))
                    .collect()
            }

            /// A new store of `engine` with the host imports.
            fn with_engine(engine: &$api::Engine) -> $side {
                let mut store = $api::Store::new(engine, ());
                let (funcs, externs) = Self::host_funcs(&mut store);
                let mut side = $side {
                    store,
                    linker: $api::Linker::new(engine),
                    funcs,
                    externs,
                    host: Vec::new(),
                    instance: None,
                };
                side.define_host(engine);
                side
            }

            /// The host functions (those of `HOST_FUNCS`, in order) and the
            /// externrefs of host values `0..EXTERN_VALUES`.
            fn host_funcs(store: &mut $api::Store<()>) -> (Vec<$api::Func>, Vec<$externref>) {
                use $api::{ExternRef, Func};
                let funcs = vec![
                    Func::wrap(&mut *store, |x: i32| x.wrapping_add(1)),
                    Func::wrap(&mut *store, mix),
                    Func::wrap(&mut *store, |x: i32| -> $api::Result<()> {
                        if x & 1 == 1 {
                            return Err($api::Error::new(HostFailure));
                        }
                        Ok(())
                    }),
                    Func::wrap(&mut *store, |x: Option<$externref>| x),
                    Func::wrap(&mut *store, |x: Option<Func>| x),
                ];
                let externs = (0..EXTERN_VALUES)
                    .map(|n| ExternRef::new(&mut *store, n).expect("an externref"))
                    .collect();
                (funcs, externs)
            }

            /// Makes the host's tables, memory, globals and tags, and
            /// defines them and the host functions as the `host` module.
            fn define_host(&mut self, engine: &$api::Engine) {
                use $api::{
                    Extern, FuncType, Global, GlobalType, Memory, MemoryType, Mutability, Table,
                    TableType, Tag, TagType,
                };
                let reference = |v: $api::Val| v.ref_().expect("a reference");
                for t in &HOST_TABLES {
                    let ty = TableType::new(ref_type(t.ty), t.min, Some(t.max));
                    let null = reference(self.val(t.null()));
                    let table = Table::new(&mut self.store, ty, null).expect("a host table");
                    for (i, a) in t.elems {
                        let v = reference(self.val(*a));
                        table
                            .set(&mut self.store, *i, v)
                            .expect("a host table entry");
                    }
                    self.host.push((t.name, table.into()));
                }
                let (name, min, max, bytes) = HOST_MEMORY;
                let mem = Memory::new(&mut self.store, MemoryType::new(min, Some(max)))
                    .expect("the host memory");
                mem.data_mut(&mut self.store)[..bytes.len()].copy_from_slice(bytes);
                self.host.push((name, mem.into()));
                for g in &HOST_GLOBALS {
                    let m = [Mutability::Const, Mutability::Var][usize::from(g.mutable)];
                    let ty = GlobalType::new(val_type(g.ty), m);
                    let init = self.val(g.init);
                    let global = Global::new(&mut self.store, ty, init).expect("a host global");
                    self.host.push((g.name, global.into()));
                }
                for (name, params) in HOST_TAGS {
                    let params = params.iter().map(|p| val_type(*p));
                    let ty = TagType::new(FuncType::new(engine, params, []));
                    let tag = Tag::new(&mut self.store, &ty).expect("a host tag");
                    self.host.push((name, tag.into()));
                }
                // `host.shuffle`: edits the host's funcref table while
                // wasm runs.
                let table = self.host[0].1.clone().into_table().expect("the host funcref table");
                let funcs = self.funcs.clone();
                let shuffle = $api::Func::wrap(
                    &mut self.store,
                    move |mut caller: $api::Caller<'_, ()>, x: i32| {
                        let edit = shuffle_edit(x, table.size(&caller));
                        apply_edit(&mut caller, table, &edit, |f| match f {
                            FuncSource::Host(i) => $api::Ref::Func(Some(funcs[*i])),
                            _ => $api::Ref::Func(None),
                        });
                    },
                );
                self.linker
                    .define(&self.store, "host", SHUFFLE, shuffle)
                    .expect("a host definition");
                let funcs = self.funcs.iter().map(|f| Extern::from(*f));
                let host: Vec<(&str, Extern)> = HOST_FUNCS
                    .iter()
                    .copied()
                    .zip(funcs)
                    .chain(self.host.iter().cloned())
                    .collect();
                for (name, item) in host {
                    self.linker
                        .define(&self.store, "host", name, item)
                        .expect("a host definition");
                }
            }
        }

        impl $side {
            /// Compiles `wasm` for this side's engine; the outcome of the
            /// failure otherwise.
            pub(crate) fn compile(&self, wasm: &[u8]) -> Result<$api::Module, Outcome> {
                $api::Module::new(self.store.engine(), wasm)
                    .map_err(|e| Outcome::Error(format!("compilation: {e:#}")))
            }

            /// Instantiates `module`, compiled by [`Self::compile`] on a
            /// side of the same engine, with the host imports.
            pub(crate) fn instantiate_module(&mut self, module: &$api::Module) -> Outcome {
                match self.linker.instantiate(&mut self.store, module) {
                    Ok(i) => {
                        self.instance = Some(i);
                        Outcome::Returned(Vec::new())
                    }
                    Err(e) => self.outcome_of_error(&e),
                }
            }
        }

        impl Side for $side {
            const NAME: &'static str = $name;

            fn instantiate(&mut self, wasm: &[u8]) -> Outcome {
                match self.compile(wasm) {
                    Ok(module) => self.instantiate_module(&module),
                    Err(e) => e,
                }
            }

            fn call(&mut self, name: &str, args: &[Arg]) -> Outcome {
                let instance = self.instance.expect("an instance");
                let f = instance.get_func(&mut self.store, name).expect("an export");
                let params: Vec<$api::Val> = args.iter().map(|a| self.val(*a)).collect();
                // Placeholders: the call writes every result.
                let mut results = vec![$api::Val::I32(0); f.ty(&self.store).results().len()];
                match f.call(&mut self.store, &params, &mut results) {
                    Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
                    Err(e) => self.outcome_of_error(&e),
                }
            }

            fn item(&mut self, name: &str, host: bool) -> Item {
                use $api::Extern;
                let e = if host {
                    self.host.iter().find(|(n, _)| *n == name).map(|(_, e)| e).cloned()
                } else {
                    self.instance
                        .and_then(|i| i.get_export(&mut self.store, name))
                };
                match e {
                    None => Item::Missing,
                    Some(Extern::Func(_)) => Item::Func,
                    Some(Extern::Memory(m)) => Item::Memory(m.data(&self.store).to_vec()),
                    Some(Extern::Global(g)) => {
                        let v = g.get(&mut self.store);
                        Item::Global(self.value(&v))
                    }
                    Some(Extern::Table(t)) => {
                        let size = t.size(&self.store);
                        let mut elems = Vec::with_capacity(size as usize);
                        for i in 0..size {
                            let r = t.get(&mut self.store, i).expect("an element in bounds");
                            elems.push(self.value(&r.into()));
                        }
                        Item::Table(elems)
                    }
                    Some(Extern::Tag(t)) => Item::Tag(self.tag_name(t)),
                    $(Some($extra) => $extra_item,)*
                }
            }

            fn funcref_table_size(&mut self, name: &str, host: bool) -> Option<u64> {
                let t = self.funcref_table(name, host)?;
                Some(t.size(&self.store))
            }

            fn edit_table(&mut self, name: &str, host: bool, edit: &TableEdit) -> Option<u64> {
                use $api::Ref;
                let t = self.funcref_table(name, host)?;
                // The exported function an edit names, looked up first.
                let export = match edit {
                    TableEdit::Set { func: FuncSource::Export(name), .. }
                    | TableEdit::Fill { func: FuncSource::Export(name), .. }
                    | TableEdit::Grow { func: FuncSource::Export(name), .. } => {
                        let instance = self.instance.expect("an instance");
                        instance.get_func(&mut self.store, name)
                    }
                    _ => None,
                };
                let funcs = &self.funcs;
                apply_edit(&mut self.store, t, edit, |f| match f {
                    FuncSource::Null => Ref::Func(None),
                    FuncSource::Host(i) => Ref::Func(Some(funcs[*i])),
                    FuncSource::Export(_) => Ref::Func(export),
                })
            }
        }
    };
}

pub(crate) use wasmtime_style_side;
