//! Wasmtime's side of the differential comparison, the oracle of the
//! `wasmtime-oracle` feature: Wasmtime runs exception handling and tail
//! calls, so the generated modules use them. A store with the host imports
//! (tags included), the instance, and every result, error, uncaught
//! exception and final item in the engine-neutral form of
//! `differential.rs`.

use crate::differential::{
    Arg, EXTERN_VALUES, Exception, FuncSource, HOST_FUNCS, HOST_GLOBALS, HOST_MEMORY, HOST_TABLES,
    HOST_TAGS, HostFailure, Item, Oracle, Outcome, ParamTy, SHUFFLE, Side, TableEdit, TrapKind,
    UNEXPORTED_TAG, Value, func_ty_name, mix, shuffle_edit,
};
use std::sync::OnceLock;
use wasmtime::{Engine, ExnRef, Extern, ExternRef, Func, Instance, Rooted, Store, Val};
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
crate::differential::table_edit_fn!(wasmtime, wasmtime::Ref);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::differential::{Agreement, TrestleSide, compare_with};

    /// Throws with a host tag and a tag of the module, catches an
    /// exception into a global and throws it again, and throws a null
    /// exnref.
    const EXCEPTIONS: &str = r#"(module
        (import "host" "fail" (tag $fail (param i32 f64)))
        (tag $mine (export "mine") (param i64))
        (global $caught (export "caught") (mut exnref) (ref.null exn))
        (func (export "host_tag") (param i32)
            (throw $fail (local.get 0) (f64.const 2.5)))
        (func (export "own_tag") (param i64) (throw $mine (local.get 0)))
        (func (export "catch_keep") (param i64) (result i64)
            (block $h (result i64 exnref)
                (try_table (catch_ref $mine $h) (throw $mine (local.get 0)))
                (unreachable))
            (global.set $caught))
        (func (export "rethrow") (throw_ref (global.get $caught)))
        (func (export "null") (throw_ref (ref.null exn))))"#;

    fn thrown(tag: &str, payload: Vec<Value>) -> Outcome {
        Outcome::Thrown(Exception {
            tag: tag.into(),
            payload,
        })
    }

    /// What each engine's side must report for [`EXCEPTIONS`].
    fn check_side(side: &mut impl Side) {
        let wasm = wat::parse_str(EXCEPTIONS).unwrap();
        assert_eq!(side.instantiate(&wasm), Outcome::Returned(Vec::new()));
        let fail_payload = vec![Value::I32(7), Value::F64(2.5f64.to_bits())];
        assert_eq!(
            side.call("host_tag", &[Arg::I32(7)]),
            thrown("host.fail", fail_payload)
        );
        assert_eq!(
            side.call("own_tag", &[Arg::I64(-1)]),
            thrown("mine", vec![Value::I64(-1)])
        );
        assert_eq!(
            side.call("catch_keep", &[Arg::I64(5)]),
            Outcome::Returned(vec![Value::I64(5)])
        );
        let kept = Exception {
            tag: "mine".into(),
            payload: vec![Value::I64(5)],
        };
        assert_eq!(
            side.item("caught", false),
            Item::Global(Value::Exn(Some(Box::new(kept))))
        );
        assert_eq!(
            side.call("rethrow", &[]),
            thrown("mine", vec![Value::I64(5)])
        );
        assert_eq!(
            side.call("null", &[]),
            Outcome::Trapped(TrapKind::NullReference)
        );
        assert_eq!(side.item("mine", false), Item::Tag("mine".into()));
    }

    #[test]
    fn both_sides_report_exceptions_by_tag_and_payload() {
        check_side(&mut WasmtimeSide::new());
        check_side(&mut TrestleSide::new(false, true));
    }

    #[test]
    fn trestle_and_wasmtime_agree_on_exceptions() {
        let wasm = wat::parse_str(EXCEPTIONS).unwrap();
        for lazy in [false, true] {
            match compare_with::<WasmtimeSide>(&wasm, true, lazy) {
                Ok(Agreement::Ran { thrown, .. }) => assert_eq!(thrown, 9, "uncaught exceptions"),
                other => panic!("{other:?}"),
            }
        }
    }
}
