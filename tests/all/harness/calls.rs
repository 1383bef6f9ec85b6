//! Instantiating and calling wasm from a test, and judging how a call
//! ended: its trap (kind and message), or the host panic it let through.

use std::panic::{AssertUnwindSafe, catch_unwind};
use trestle::{
    AsContextMut, Config, Engine, Instance, IntoFunc, Linker, Module, Store, Trap, TypedFunc, Val,
    WasmParams, WasmResults,
};

/// `wat` compiled and instantiated in `store`, with no imports.
pub fn instantiate(store: &mut Store<()>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    Instance::new(store, &module, &[]).unwrap()
}

/// `wat` instantiated in `store` with the imports `linker` defines.
pub fn instantiate_linked<T: 'static>(
    linker: &Linker<T>,
    store: &mut Store<T>,
    wat: &str,
) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    linker.instantiate(store, &module).unwrap()
}

/// A new store of the tests' [`super::engine`] with an instance of `wat`,
/// which has no imports.
pub fn instance_of(wat: &str) -> (Store<()>, Instance) {
    new_instance(&super::engine(), wat)
}

/// A new store of `engine` with an instance of `wat`, which has no
/// imports.
pub fn new_instance(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let inst = instantiate(&mut store, wat);
    (store, inst)
}

/// `wat` instantiated in `store`, its imports defined in a new linker by
/// `define`.
pub fn link<T: 'static>(
    store: &mut Store<T>,
    wat: &str,
    define: impl FnOnce(&mut Linker<T>),
) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    let mut linker = Linker::new(store.engine());
    define(&mut linker);
    linker.instantiate(store, &module).unwrap()
}

/// `wat` instantiated in a new store of a new engine of `config`, its
/// import the host function `func` as `host.NAME`.
pub fn instantiate_with_host<Params, Results>(
    config: &Config,
    wat: &str,
    name: &str,
    func: impl IntoFunc<(), Params, Results>,
) -> (Store<()>, Instance) {
    let mut store = Store::new(&Engine::new(config).unwrap(), ());
    let inst = link(&mut store, wat, |linker| {
        linker.func_wrap("host", name, func).unwrap();
    });
    (store, inst)
}

/// The function export `name` of `inst`, typed.
///
/// # Panics
///
/// When `inst` has no such export of that type.
pub fn typed_func<P: WasmParams, R: WasmResults>(
    store: &mut Store<()>,
    inst: &Instance,
    name: &str,
) -> TypedFunc<P, R> {
    inst.get_typed_func(store, name).unwrap()
}

/// Calls export `name` of `inst` with `args`: the results, or the error.
///
/// # Panics
///
/// When `inst` has no function export `name`.
pub fn call(
    mut store: impl AsContextMut,
    inst: &Instance,
    name: &str,
    args: &[Val],
) -> trestle::Result<Vec<Val>> {
    let f = inst
        .get_func(&mut store, name)
        .unwrap_or_else(|| panic!("no export {name}"));
    let mut results: Vec<Val> = f
        .ty(&store)
        .results()
        .map(|t| Val::default_for_ty(&t))
        .collect();
    f.call(&mut store, args, &mut results)?;
    Ok(results)
}

/// [`call`], which must succeed.
#[track_caller]
pub fn call_ok(store: impl AsContextMut, inst: &Instance, name: &str, args: &[Val]) -> Vec<Val> {
    call(store, inst, name, args).unwrap_or_else(|e| panic!("{name}({args:?}): {e:#}"))
}

/// The first result of [`call_ok`], an `i32`.
#[track_caller]
pub fn call_i32(store: impl AsContextMut, inst: &Instance, name: &str, args: &[Val]) -> i32 {
    call_ok(store, inst, name, args)[0].unwrap_i32()
}

/// The trap `err` is.
///
/// # Panics
///
/// When `err` is another error.
#[track_caller]
pub fn trap(err: trestle::Error) -> Trap {
    *err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {err:#}"))
}

/// Asserts that `result` is the trap `expected`, with the spec's message.
#[track_caller]
pub fn assert_trap<T: std::fmt::Debug>(result: trestle::Result<T>, expected: Trap) {
    let err = result.expect_err("expected a trap");
    assert_eq!(err.downcast_ref::<Trap>(), Some(&expected), "{err:#}");
    assert!(
        format!("{err:#}").contains(expected.message()),
        "{err:#} lacks {:?}",
        expected.message()
    );
}

/// Asserts that the store still works: `inst` exports `ok`, returning 42,
/// as the modules of the cases that end in a trap or an error do.
#[track_caller]
pub fn assert_usable(store: &mut Store<()>, inst: &Instance) {
    assert_eq!(call_i32(store, inst, "ok", &[]), 42);
}

/// Whether `f` panics.
pub fn panics(f: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

/// The text of the panic `f` raises.
///
/// # Panics
///
/// When `f` returns, or panics with a payload that is not text.
pub fn panic_text(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the panic reaches the caller");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .expect("a text payload")
            .to_string(),
    }
}
