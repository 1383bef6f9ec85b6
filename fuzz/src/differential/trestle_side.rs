//! Trestle's side of the differential comparison: a store with the host
//! imports, the instance, and every result, error and final item in the
//! engine-neutral form of `differential.rs`.

use super::{
    Arg, EXTERN_VALUES, Exception, FuncSource, HOST_FUNCS, HOST_GLOBALS, HOST_MEMORY, HOST_TABLES,
    HOST_TAGS, HostFailure, Item, Outcome, ParamTy, SHUFFLE, Side, TableEdit, TrapKind,
    UNEXPORTED_TAG, Value, func_ty_name, mix, shuffle_edit,
};
use std::sync::OnceLock;
use trestle::{Engine, Extern, ExternRef, Func, Instance, Store, Tag, Val, ValType};

/// A store with the host imports, and the instance once there is one.
pub(crate) struct TrestleSide {
    store: Store<()>,
    linker: trestle::Linker<()>,
    funcs: Vec<Func>,
    externs: Vec<ExternRef>,
    /// The host's tables, memory, globals and tags, by name.
    host: Vec<(&'static str, Extern)>,
    instance: Option<Instance>,
}

super::wasmtime_style_side!(trestle, TrestleSide, "Trestle", ExternRef);
super::table_edit_fn!(trestle, trestle::Ref);

impl TrestleSide {
    /// The engines, shared by all stores: with 64-bit memories and tables
    /// or without, lazy or eager funcref table initialization.
    fn engine(memory64: bool, lazy: bool) -> Engine {
        static ENGINES: OnceLock<Vec<Engine>> = OnceLock::new();
        let engines = ENGINES.get_or_init(|| {
            let mut v = Vec::new();
            for memory64 in [false, true] {
                for lazy in [false, true] {
                    let mut config = trestle::Config::new();
                    config.wasm_memory64(memory64).table_lazy_init(lazy);
                    v.push(Engine::new(&config).expect("the engine configuration"));
                }
            }
            v
        });
        engines[usize::from(memory64) * 2 + usize::from(lazy)].clone()
    }

    pub(crate) fn new(memory64: bool, lazy: bool) -> TrestleSide {
        Self::with_engine(&Self::engine(memory64, lazy))
    }

    fn outcome_of_error(&mut self, e: &trestle::Error) -> Outcome {
        use trestle::Trap;
        if let Some(trap) = e.downcast_ref::<Trap>() {
            return Outcome::Trapped(match trap {
                Trap::UnreachableCodeReached => TrapKind::Unreachable,
                Trap::MemoryOutOfBounds => TrapKind::Memory,
                Trap::TableOutOfBounds | Trap::UndefinedElement => TrapKind::Table,
                Trap::IndirectCallToNull => TrapKind::NullCall,
                Trap::BadSignature => TrapKind::Signature,
                Trap::IntegerOverflow => TrapKind::Overflow,
                Trap::IntegerDivisionByZero => TrapKind::DivZero,
                Trap::BadConversionToInteger => TrapKind::Conversion,
                Trap::NullReference | Trap::NullFunctionReference => TrapKind::NullReference,
                Trap::StackOverflow => TrapKind::Stack,
                _ => TrapKind::Other,
            });
        }
        if let Some(thrown) = e.downcast_ref::<trestle::ThrownException>() {
            let payload = thrown.payload().to_vec();
            return Outcome::Thrown(self.exception_of(thrown.tag(), &payload));
        }
        if e.downcast_ref::<HostFailure>().is_some() {
            return Outcome::HostError;
        }
        Outcome::Error(format!("{e:#}"))
    }

    /// The tag and payload of `exn`.
    fn exception(&mut self, exn: trestle::ExnRef) -> Exception {
        let tag = exn.tag(&self.store).expect("a live exnref");
        let payload = exn.payload(&mut self.store).expect("a live exnref");
        self.exception_of(tag, &payload)
    }

    /// An exception of `tag` with `payload`.
    fn exception_of(&mut self, tag: Tag, payload: &[Val]) -> Exception {
        Exception {
            tag: self.tag_name(tag),
            payload: payload.iter().map(|v| self.value(v)).collect(),
        }
    }

    fn param_ty(ty: &ValType) -> ParamTy {
        use trestle::HeapType;
        match ty {
            ValType::I32 => ParamTy::I32,
            ValType::I64 => ParamTy::I64,
            ValType::F32 => ParamTy::F32,
            ValType::F64 => ParamTy::F64,
            ValType::Ref(r) => match r.heap_type() {
                HeapType::Func => ParamTy::FuncRef,
                HeapType::Extern => ParamTy::ExternRef,
                HeapType::Exn if r.is_nullable() => ParamTy::ExnRef,
                _ => ParamTy::Unsupported,
            },
            ValType::V128 => ParamTy::V128,
        }
    }

    /// The exported functions, in export order, with their parameters.
    pub(crate) fn exported_funcs(&mut self) -> Vec<(String, Vec<ParamTy>)> {
        self.exports()
            .into_iter()
            .filter_map(|(name, e)| {
                let f = e.into_func()?;
                let params = f
                    .ty(&self.store)
                    .params()
                    .map(|t| Self::param_ty(&t))
                    .collect();
                Some((name, params))
            })
            .collect()
    }

    /// The names of the instance's exports, in order.
    pub(crate) fn export_names(&mut self) -> Vec<String> {
        self.exports().into_iter().map(|(name, _)| name).collect()
    }
}
