//! Wasmtime's side of the differential comparison, the oracle of the
//! `wasmtime-oracle` feature: Wasmtime runs exception handling and tail
//! calls, so the generated modules use them. A store with the host imports
//! (tags included), the instance, and every result, error, uncaught
//! exception and final item in the engine-neutral form of
//! `differential.rs`.

use crate::differential::{
    Arg, EXTERN_VALUES, Exception, HOST_FUNCS, HOST_GLOBALS, HOST_MEMORY, HOST_TABLES, HOST_TAGS,
    HostFailure, Item, Oracle, Outcome, ParamTy, Side, TrapKind, UNEXPORTED_TAG, Value,
    func_ty_name, mix,
};
use std::sync::OnceLock;
use wasmtime::{
    Engine, ExnRef, Extern, ExternRef, Func, Instance, Rooted, Store, Tag, Val, ValType,
};
use wasmtime_oracle as wasmtime;

/// A store with the host imports, and the instance once there is one.
pub(crate) struct WasmtimeSide {
    store: Store<()>,
    linker: wasmtime::Linker<()>,
    funcs: Vec<Func>,
    externs: Vec<Rooted<ExternRef>>,
    /// The host's tables, memory, globals and tags, by name.
    host: Vec<(&'static str, Extern)>,
    instance: Option<Instance>,
}

crate::differential::wasmtime_style_side!(
    wasmtime,
    WasmtimeSide,
    "Wasmtime",
    Rooted<ExternRef>,
    Extern::SharedMemory(_) => unreachable!("no shared memories are generated")
);

/// The one engine, shared by all stores: Wasmtime's defaults (all of
/// WebAssembly 3.0 it implements: exceptions, tail calls, several and
/// 64-bit memories among them), said explicitly for the proposals the
/// modules use.
fn engine() -> Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = wasmtime::Config::new();
            config
                .wasm_exceptions(true)
                .wasm_tail_call(true)
                .wasm_multi_memory(true)
                .wasm_memory64(true)
                .wasm_extended_const(true)
                .wasm_simd(true)
                .wasm_reference_types(true);
            Engine::new(&config).expect("the Wasmtime configuration")
        })
        .clone()
}

impl WasmtimeSide {
    fn outcome_of_error(&mut self, e: &wasmtime::Error) -> Outcome {
        use wasmtime::Trap;
        if let Some(trap) = e.downcast_ref::<Trap>() {
            return Outcome::Trapped(match trap {
                Trap::UnreachableCodeReached => TrapKind::Unreachable,
                Trap::MemoryOutOfBounds => TrapKind::Memory,
                Trap::TableOutOfBounds => TrapKind::Table,
                Trap::IndirectCallToNull => TrapKind::NullCall,
                Trap::BadSignature => TrapKind::Signature,
                Trap::IntegerOverflow => TrapKind::Overflow,
                Trap::IntegerDivisionByZero => TrapKind::DivZero,
                Trap::BadConversionToInteger => TrapKind::Conversion,
                Trap::NullReference => TrapKind::NullReference,
                Trap::StackOverflow => TrapKind::Stack,
                _ => TrapKind::Other,
            });
        }
        // Wasmtime keeps an uncaught exception in the store; the error
        // only says there is one.
        if e.is::<wasmtime::ThrownException>()
            && let Some(exn) = self.store.take_pending_exception()
        {
            return Outcome::Thrown(self.exception(exn));
        }
        if e.downcast_ref::<HostFailure>().is_some() {
            return Outcome::HostError;
        }
        Outcome::Error(format!("{e:#}"))
    }

    /// The tag and payload of `exn`, the tag named by its host import or
    /// export.
    fn exception(&mut self, exn: Rooted<ExnRef>) -> Exception {
        let tag = exn.tag(&mut self.store).expect("a rooted exnref");
        let payload: Vec<Val> = exn
            .fields(&mut self.store)
            .expect("a rooted exnref")
            .collect();
        Exception {
            tag: self.tag_name(tag),
            payload: payload.iter().map(|v| self.value(v)).collect(),
        }
    }
}

impl Oracle for WasmtimeSide {
    const EXCEPTIONS: bool = true;

    fn new() -> WasmtimeSide {
        Self::with_engine(&engine())
    }
}
