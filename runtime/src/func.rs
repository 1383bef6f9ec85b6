//! [`Func`], [`TypedFunc`] and [`Caller`]: calling WebAssembly from the host
//! and the host from WebAssembly.
//!
//! Every function, wasm or host, is reached through its `VMFuncRef`. The host
//! always enters through `array_call` inside
//! [`crate::vm::traphandlers::catch_traps_with_backtrace`]:
//! for wasm functions that is the compiled array-to-wasm trampoline, for host
//! functions the shim [`host_shim`]. Compiled code calls a host function
//! through its `wasm_call`, a compiled wasm-to-array trampoline that ends in
//! the same shim.

use crate::store::{StoreContextMut, StoreId, StoreInner, StoreOpaque};
use crate::vm::code_memory::CodeMemory;
use crate::vm::traphandlers::{self, UnwindReason, catch_traps_with_backtrace};
use crate::vm::{StoreFuncIndex, StoreInstanceIndex};
use crate::{
    AnyRef, AsContext, AsContextMut, Engine, ExnRef, Extern, ExternRef, FuncType, ThrownException,
    Val, ValType, WasmBacktrace,
};
use anyhow::{Result, bail};
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use trestle_compiler::WasmFuncType;
use trestle_vmctx::{ArrayCallFn, VMContext, VMFuncRef, VMHostFuncContext, ValRaw};

/// A WebAssembly or host function of a store.
///
/// ```
/// use trestle::{Engine, Func, Store, Val};
/// let mut store = Store::new(&Engine::default(), ());
/// let double = Func::wrap(&mut store, |x: i32| x * 2);
/// let mut out = [Val::I32(0)];
/// double.call(&mut store, &[Val::I32(21)], &mut out)?;
/// assert_eq!(out[0].unwrap_i32(), 42);
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) index: StoreFuncIndex,
}

/// The closure of a host function in raw form: arguments are read from and
/// results written to the same slots.
pub(crate) type HostCall<T> =
    Arc<dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static>;

/// A host function, boxed so that its context has a stable address; the
/// `VMHostFuncContext` comes first, as the wasm-to-array trampoline expects.
#[repr(C)]
struct HostFunc<T> {
    ctx: VMHostFuncContext,
    func_ref: VMFuncRef,
    store: *mut StoreInner<T>,
    call: HostCall<T>,
    _trampoline: Arc<CodeMemory>,
}

/// Runs `func_ref` with the array convention inside a trap handler.
///
/// # Safety
///
/// `func_ref` must be a live funcref of `store`, and `values` must have room
/// for its parameters and results, holding the parameters.
pub(crate) unsafe fn invoke_raw(
    store: &mut StoreOpaque,
    func_ref: *const VMFuncRef,
    values: &mut [ValRaw],
) -> Result<()> {
    // SAFETY: live per the contract.
    let f = unsafe { &*func_ref };
    // Only functions the host cannot reach lack an entry; a funcref the
    // host holds names none of them.
    if f.array_call.is_null() {
        bail!("internal error: calling a function without a host entry point");
    }
    // SAFETY: a non-null `array_call` always holds an `ArrayCallFn`.
    let array_call: ArrayCallFn = unsafe { std::mem::transmute(f.array_call) };
    let vmctx = f.vmctx;
    let max_stack = store.engine.config().max_wasm_stack;
    let store_ctx: *mut trestle_vmctx::VMStoreContext = &mut *store.vm_store_context;
    let ptr = values.as_mut_ptr();
    let len = values.len();
    // While this call runs, wasm frames may hold exposed externrefs; the
    // count is restored however the call ends (`catch_traps` returns on
    // traps, errors and panics alike). The outermost call marks where the
    // stack the collector scans for them ends.
    if store.wasm_activations == 0 {
        store.wasm_stack_top = crate::vm::stack_scan::here();
    }
    store.wasm_activations += 1;
    // Host functions called from this entry's wasm find their caller's
    // frames from the exit the trampoline records; one called directly
    // (no wasm in between) finds none.
    let outer_exit_fp = std::mem::take(&mut store.vm_store_context.last_wasm_exit_fp);
    let backtraces = store.engine.config().wasm_backtrace;
    let mut trap_pcs = Vec::new();
    // SAFETY: the store context is live; compiled code and shims follow the
    // long-jump discipline, and keeps its frame pointers with backtraces
    // on.
    let r = unsafe {
        catch_traps_with_backtrace(
            store_ctx,
            max_stack,
            backtraces.then_some(&mut trap_pcs),
            || array_call(vmctx, std::ptr::null_mut(), ptr, len),
        )
    };
    store.vm_store_context.last_wasm_exit_fp = outer_exit_fp;
    store.wasm_activations -= 1;
    match r {
        Ok(()) => Ok(()),
        Err(UnwindReason::Trap(t)) if !trap_pcs.is_empty() => {
            Err(anyhow::Error::new(t).context(WasmBacktrace::from_pcs(&trap_pcs, true)))
        }
        Err(UnwindReason::Trap(t)) => Err(anyhow::Error::new(t)),
        Err(UnwindReason::Error(e)) => Err(e),
        Err(UnwindReason::Panic(p)) => panic::resume_unwind(p),
    }
}

/// The array-convention entry of every host function of stores of `T`.
///
/// # Safety
///
/// Called only through a funcref made by [`Func::new_raw`]: `callee` is its
/// `HostFunc<T>`, `caller` is null or the vmctx of a wasm instance, and
/// `values` has `len` slots.
unsafe extern "C" fn host_shim<T: 'static>(
    callee: *mut VMContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) {
    // SAFETY: per the contract, `callee` is a live `HostFunc<T>`.
    let host = unsafe { &*callee.cast::<HostFunc<T>>() };
    let call = host.call.clone();
    // SAFETY: the store outlives its host functions; the host that entered
    // wasm does not use its borrow of the store while wasm runs.
    let store = unsafe { &mut *host.store };
    // SAFETY: per the contract.
    let caller_instance = unsafe { crate::vm::vmctx::instance_of(caller) };
    // SAFETY: per the contract.
    let values = unsafe { std::slice::from_raw_parts_mut(values, len) };
    // The call is a root scope: the externrefs it obtains are unrooted once
    // its results are raw words in `values`, however it ends.
    let mark = store.opaque.externrefs.enter_scope();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        call(
            Caller {
                store: StoreContextMut(&mut *store),
                instance: caller_instance,
            },
            values,
        )
    }));
    store.opaque.externrefs.exit_scope(mark);
    drop(call);
    match result {
        Ok(Ok(())) => {}
        // SAFETY: compiled code called this shim inside `catch_traps` (or
        // the host did, through an entry that cleared the exit record);
        // the shim's values are dropped (`call`) or moved into the raise
        // (the error, the payload), so the skipped frames own nothing.
        Ok(Err(e)) => {
            // SAFETY: as above; the store's exit record is zero or that of
            // the trampoline through which wasm called this shim.
            let e = unsafe { crate::exception::throw_if_exception(&mut store.opaque, e) };
            let e = with_backtrace(e, StoreContextMut(&mut *store));
            // SAFETY: as above.
            unsafe { traphandlers::raise_error(e) }
        }
        // SAFETY: as above.
        Err(p) => unsafe { traphandlers::raise_panic(p) },
    }
}

/// `error`, returned by a host function, with the backtrace of the wasm
/// that called it, unless backtraces are off or it carries one already
/// (from wasm the host function called).
fn with_backtrace<T>(error: anyhow::Error, store: StoreContextMut<'_, T>) -> anyhow::Error {
    if error.downcast_ref::<WasmBacktrace>().is_some() {
        return error;
    }
    let backtrace = WasmBacktrace::capture(store);
    if backtrace.frames().is_empty() {
        error
    } else {
        error.context(backtrace)
    }
}

impl Func {
    /// A host function of type `ty` that reads its arguments from `params`
    /// and writes its results to `results`.
    ///
    /// # Panics
    ///
    /// When executable memory for its trampoline cannot be mapped.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let wasm_ty = ty.inner.clone();
        let call: HostCall<T> = Arc::new(move |mut caller, raw| {
            let store = &mut caller.store.0.opaque;
            let params: Vec<Val> = ty
                .params()
                .enumerate()
                // SAFETY: the trampoline wrote values of these types.
                .map(|(i, t)| unsafe { Val::from_raw(store, raw[i], t) })
                .collect();
            let mut results: Vec<Val> = ty.results().map(|t| Val::default_for_ty(&t)).collect();
            func(caller.reborrow(), &params, &mut results)?;
            let store = &caller.store.0.opaque;
            for (i, (v, t)) in results.iter().zip(ty.results()).enumerate() {
                if !v.matches_in(store, &t)? {
                    bail!(
                        "host function returned a {} where a {t} was expected",
                        v.ty()
                    );
                }
                raw[i] = v.to_raw(store)?;
            }
            Ok(())
        });
        Func::new_raw(store.as_context_mut().0, wasm_ty, call)
    }

    /// A host function from a Rust closure; its wasm type follows from the
    /// closure's parameter and result types.
    ///
    /// # Panics
    ///
    /// When executable memory for its trampoline cannot be mapped.
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, call) = func.into_host_call();
        Func::new_raw(store.as_context_mut().0, ty, call)
    }

    pub(crate) fn new_raw<T: 'static>(
        store: &mut StoreInner<T>,
        ty: Arc<WasmFuncType>,
        call: HostCall<T>,
    ) -> Func {
        let engine = store.opaque.engine.clone();
        let trampoline = engine
            .host_trampoline(&ty)
            .expect("cannot map executable memory for a host function trampoline");
        let type_id = engine.intern_type(&ty);
        let store_ptr: *mut StoreInner<T> = store;
        let mut host = Box::new(HostFunc {
            ctx: VMHostFuncContext::new(host_shim::<T>),
            func_ref: VMFuncRef::new(std::ptr::null(), std::ptr::null(), std::ptr::null_mut(), 0),
            store: store_ptr,
            call,
            _trampoline: trampoline.clone(),
        });
        let ctx: *mut HostFunc<T> = &mut *host;
        let shim: unsafe extern "C" fn(_, _, _, _) = host_shim::<T>;
        host.func_ref = VMFuncRef::new(
            trampoline.base(),
            shim as *const u8,
            ctx.cast(),
            type_id.as_u32(),
        );
        let func_ref: *const VMFuncRef = &host.func_ref;
        store.opaque.host_funcs.push(host);
        store.opaque.push_func(func_ref, ty)
    }

    /// The function's type.
    ///
    /// # Panics
    ///
    /// When the function belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let cx = store.as_context();
        cx.0.opaque.assert_owns(self.store);
        FuncType::from_wasm(cx.0.opaque.funcs[self.index].ty.clone())
    }

    /// Calls the function with `params`, writing its results to `results`.
    ///
    /// # Errors
    ///
    /// When the arguments do not match the function's type (count, types, a
    /// reference from another store), when `results` has the wrong length,
    /// or when the call traps (the error downcasts to [`crate::Trap`]) or a
    /// host function returns an error.
    ///
    /// # Panics
    ///
    /// When the function belongs to another store, or a host function
    /// panics (the panic is resumed here).
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        store.assert_owns(self.store);
        let data = &store.funcs[self.index];
        let ty = FuncType::from_wasm(data.ty.clone());
        let func_ref = data.func_ref;
        if params.len() != ty.params().len() {
            bail!(
                "expected {} arguments, got {}",
                ty.params().len(),
                params.len()
            );
        }
        if results.len() != ty.results().len() {
            bail!(
                "expected {} results, got {}",
                ty.results().len(),
                results.len()
            );
        }
        let mut values = vec![ValRaw::default(); params.len().max(results.len()).max(1)];
        for (i, (p, t)) in params.iter().zip(ty.params()).enumerate() {
            if !p.matches_in(store, &t)? {
                bail!("argument {i} is a {} where a {t} was expected", p.ty());
            }
            values[i] = p.to_raw(store)?;
        }
        // SAFETY: the funcref is live and `values` matches its type.
        unsafe { invoke_raw(store, func_ref, &mut values)? };
        for (i, t) in ty.results().enumerate() {
            // SAFETY: the callee wrote values of its result types.
            results[i] = unsafe { Val::from_raw(store, values[i], t) };
        }
        Ok(())
    }

    /// This function with static parameter and result types.
    ///
    /// # Errors
    ///
    /// When `Params` or `Results` do not match the function's type.
    ///
    /// # Panics
    ///
    /// When the function belongs to another store.
    pub fn typed<Params, Results>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>>
    where
        Params: WasmParams,
        Results: WasmResults,
    {
        let ty = self.ty(&store);
        let params: Vec<ValType> = ty.params().collect();
        let results: Vec<ValType> = ty.results().collect();
        if params != Params::valtypes() || results != Results::valtypes() {
            bail!(
                "type mismatch: the function's type is {ty}, not {}",
                FuncType::new(
                    &store.as_context().0.opaque.engine,
                    Params::valtypes(),
                    Results::valtypes()
                )
            );
        }
        Ok(TypedFunc {
            func: *self,
            _marker: PhantomData,
        })
    }

    pub(crate) fn func_ref(&self, store: &StoreOpaque) -> *const VMFuncRef {
        store.assert_owns(self.store);
        store.funcs[self.index].func_ref
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}

/// A function with static parameter and result types: calls skip the
/// dynamic checks of [`Func::call`].
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc")
            .field("func", &self.func)
            .finish()
    }
}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function.
    ///
    /// # Errors
    ///
    /// When the call traps (the error downcasts to [`crate::Trap`]), a host
    /// function returns an error, or an argument is a reference from another
    /// store.
    ///
    /// # Panics
    ///
    /// When the function belongs to another store, or a host function
    /// panics.
    pub fn call(&self, mut store: impl AsContextMut, params: Params) -> Result<Results> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        let store = &mut cx.0.opaque;
        let func_ref = self.func.func_ref(store);
        let mut values = [ValRaw::default(); 16];
        let n = Params::valtypes().len().max(Results::valtypes().len());
        let mut heap;
        let values: &mut [ValRaw] = if n <= values.len() {
            &mut values[..n.max(1)]
        } else {
            heap = vec![ValRaw::default(); n];
            &mut heap
        };
        params.store(store, values)?;
        // SAFETY: the type was checked when this TypedFunc was made.
        unsafe { invoke_raw(store, func_ref, values)? };
        // SAFETY: the callee wrote values of the result types.
        Ok(unsafe { Results::load(store, values) })
    }
}

/// The context a host function runs in: the store, and the instance whose
/// code called it.
pub struct Caller<'a, T> {
    pub(crate) store: StoreContextMut<'a, T>,
    instance: Option<StoreInstanceIndex>,
}

impl<T> Caller<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        &self.store.0.data
    }

    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.0.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.store.0.opaque.engine
    }

    /// The calling instance's export `name`; `None` when there is no such
    /// export or the caller is the host.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let inst = self.instance?;
        let store = &mut self.store.0.opaque;
        let index = store.instances[inst]
            .info()
            .exports
            .iter()
            .find(|e| e.name == name)?
            .index;
        Some(crate::instance::export_extern(store, inst, index))
    }

    /// Collects externref values nothing can use any more.
    ///
    /// A host function runs while wasm (or [`Func::call`]) is on the stack,
    /// so this keeps the values that an open scope roots, that a table, a
    /// global or a segment holds, and every value whose word is on the
    /// stack of the running wasm: compiled code has no stack maps, so the
    /// stack is scanned conservatively, and an integer that looks like a
    /// value's word keeps it too. See [`crate::Store::gc`].
    pub fn gc(&mut self) {
        self.store.0.opaque.gc();
    }

    /// Throws exception `exn` from this host function: returned from it,
    /// the error throws the exception at the call site in the calling
    /// wasm, where a `try_table` may catch it (see [`ThrownException`]).
    ///
    /// ```
    /// use trestle::{Caller, Engine, ExnRef, FuncType, Linker, Module, Store, Tag, TagType, Val, ValType};
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let tag = Tag::new(&mut store, &TagType::new(FuncType::new(&engine, [ValType::I32], [])))?;
    /// let mut linker = Linker::new(&engine);
    /// linker.define(&store, "host", "oops", tag)?;
    /// linker.func_wrap("host", "fail", move |mut caller: Caller<'_, ()>, code: i32| -> trestle::Result<()> {
    ///     let exn = ExnRef::new(&mut caller, &tag, &[Val::I32(code)])?;
    ///     caller.throw(exn)
    /// })?;
    /// let module = Module::new(&engine, r#"(module
    ///     (import "host" "oops" (tag $oops (param i32)))
    ///     (import "host" "fail" (func $fail (param i32)))
    ///     (func (export "run") (result i32)
    ///         (block $caught (result i32)
    ///             (try_table (catch $oops $caught) (call $fail (i32.const 42)))
    ///             (i32.const -1))))"#)?;
    /// let instance = linker.instantiate(&mut store, &module)?;
    /// let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
    /// assert_eq!(run.call(&mut store, ())?, 42);
    /// # Ok::<(), trestle::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Always: the [`ThrownException`] error to return. When `exn` was
    /// collected or belongs to another store, an error that says so
    /// instead, which no wasm catches.
    pub fn throw<R>(&mut self, exn: ExnRef) -> Result<R> {
        Err(ThrownException::error_of(&mut self.store.0.opaque, exn))
    }

    fn reborrow(&mut self) -> Caller<'_, T> {
        Caller {
            store: StoreContextMut(self.store.0),
            instance: self.instance,
        }
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> crate::store::StoreContext<'_, T> {
        crate::store::StoreContext(self.store.0)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store.0)
    }
}

/// A Rust type that maps to one WebAssembly value type.
pub trait WasmTy: Send + 'static {
    /// The WebAssembly type.
    fn valtype() -> ValType;
    #[doc(hidden)]
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw>;
    #[doc(hidden)]
    /// # Safety
    ///
    /// `raw` must hold a value of this type for `store`.
    unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self;
}

macro_rules! wasm_ty_num {
    ($t:ty, $vt:ident, $to:expr, $from:expr) => {
        impl WasmTy for $t {
            fn valtype() -> ValType {
                ValType::$vt
            }
            fn into_raw(self, _: &StoreOpaque) -> Result<ValRaw> {
                let to: fn($t) -> ValRaw = $to;
                Ok(to(self))
            }
            unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
                let from: fn(ValRaw) -> $t = $from;
                from(raw)
            }
        }
    };
}

wasm_ty_num!(i32, I32, ValRaw::i32, |r| r.get_i32());
wasm_ty_num!(u32, I32, |v| ValRaw::i32(v as i32), |r| r.get_i32() as u32);
wasm_ty_num!(i64, I64, ValRaw::i64, |r| r.get_i64());
wasm_ty_num!(u64, I64, |v| ValRaw::i64(v as i64), |r| r.get_i64() as u64);
wasm_ty_num!(f32, F32, |v| ValRaw::f32(v.to_bits()), |r| f32::from_bits(
    r.get_f32()
));
wasm_ty_num!(f64, F64, |v| ValRaw::f64(v.to_bits()), |r| f64::from_bits(
    r.get_f64()
));

/// [`WasmTy`] for a nullable reference handle, `Option<$handle>`: the
/// value type `$valtype`, through [`Val::$val`].
macro_rules! wasm_ty_ref {
    ($($handle:ty => $val:ident, $valtype:ident;)*) => {$(
        impl WasmTy for Option<$handle> {
            fn valtype() -> ValType {
                ValType::$valtype
            }
            fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
                Val::$val(self).to_raw(store)
            }
            unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
                // SAFETY: per the trait method's contract, `raw` holds a
                // value of this type for `store`.
                match unsafe { Val::from_raw(store, raw, ValType::$valtype) } {
                    Val::$val(r) => r,
                    _ => unreachable!("a {} value read as another type", stringify!($valtype)),
                }
            }
        }
    )*};
}

wasm_ty_ref! {
    Func => FuncRef, FUNCREF;
    ExternRef => ExternRef, EXTERNREF;
    AnyRef => AnyRef, ANYREF;
    ExnRef => ExnRef, EXNREF;
}

/// The parameters of a [`TypedFunc`]: a [`WasmTy`], or a tuple of them.
pub trait WasmParams {
    /// The WebAssembly types.
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    fn store(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()>;
}

/// The results of a [`TypedFunc`]: a [`WasmTy`], or a tuple of them.
pub trait WasmResults: Sized {
    /// The WebAssembly types.
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    /// # Safety
    ///
    /// `values` must hold values of these types for `store`.
    unsafe fn load(store: &mut StoreOpaque, values: &[ValRaw]) -> Self;
}

/// What a host closure may return: a [`WasmResults`] or a `Result` of one.
pub trait WasmRet {
    #[doc(hidden)]
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    fn store_ret(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()>;
}

impl<T: WasmTy> WasmParams for T {
    fn valtypes() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn store(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
        values[0] = self.into_raw(store)?;
        Ok(())
    }
}

impl<T: WasmTy> WasmResults for T {
    fn valtypes() -> Vec<ValType> {
        vec![T::valtype()]
    }
    unsafe fn load(store: &mut StoreOpaque, values: &[ValRaw]) -> Self {
        // SAFETY: per the trait method's contract.
        unsafe { T::from_raw(store, values[0]) }
    }
}

/// A value or a tuple of values is returned as it is passed.
impl<R: WasmParams> WasmRet for R {
    fn valtypes() -> Vec<ValType> {
        <R as WasmParams>::valtypes()
    }
    fn store_ret(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
        self.store(store, values)
    }
}

impl<R: WasmResults + WasmParams> WasmRet for Result<R> {
    fn valtypes() -> Vec<ValType> {
        <R as WasmResults>::valtypes()
    }
    fn store_ret(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
        self?.store(store, values)
    }
}

macro_rules! tuples {
    ($($t:ident)*) => {
        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments, clippy::unused_unit,
            reason = "generated for every tuple arity, including the empty one")]
        impl<$($t: WasmTy,)*> WasmParams for ($($t,)*) {
            fn valtypes() -> Vec<ValType> {
                vec![$($t::valtype(),)*]
            }
            fn store(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
                let ($($t,)*) = self;
                let mut i = 0;
                $( values[i] = $t.into_raw(store)?; i += 1; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments, clippy::unused_unit,
            reason = "generated for every tuple arity, including the empty one")]
        impl<$($t: WasmTy,)*> WasmResults for ($($t,)*) {
            fn valtypes() -> Vec<ValType> {
                vec![$($t::valtype(),)*]
            }
            unsafe fn load(store: &mut StoreOpaque, values: &[ValRaw]) -> Self {
                let mut i = 0;
                // SAFETY: per the trait method's contract.
                $( let $t = unsafe { $t::from_raw(store, values[i]) }; i += 1; )*
                ($($t,)*)
            }
        }

        #[allow(non_snake_case, reason = "the parameters are named after their types")]
        impl<T, F, $($t: WasmTy,)* R> IntoFunc<T, ($($t,)*), R> for F
        where
            F: Fn($($t),*) -> R + Send + Sync + 'static,
            R: WasmRet,
            T: 'static,
        {
            fn into_host_call(self) -> (Arc<WasmFuncType>, HostCall<T>) {
                // A function that does not take the `Caller` is one that
                // ignores it.
                let with_caller = move |_: Caller<'_, T>, $($t: $t),*| self($($t),*);
                IntoFunc::<T, (Caller<'_, T>, $($t,)*), R>::into_host_call(with_caller)
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments,
            reason = "generated for every arity, including zero parameters")]
        impl<T, F, $($t: WasmTy,)* R> IntoFunc<T, (Caller<'_, T>, $($t,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($t),*) -> R + Send + Sync + 'static,
            R: WasmRet,
            T: 'static,
        {
            fn into_host_call(self) -> (Arc<WasmFuncType>, HostCall<T>) {
                let ty = func_type(vec![$($t::valtype(),)*], R::valtypes());
                let call: HostCall<T> = Arc::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
                    let store = &mut caller.store.0.opaque;
                    let mut i = 0;
                    // SAFETY: the trampoline wrote values of these types.
                    $( let $t = unsafe { $t::from_raw(store, values[i]) }; i += 1; )*
                    let r = self(caller.reborrow(), $($t),*);
                    r.store_ret(&caller.store.0.opaque, values)
                });
                (ty, call)
            }
        }
    };
}

fn func_type(params: Vec<ValType>, results: Vec<ValType>) -> Arc<WasmFuncType> {
    Arc::new(WasmFuncType {
        params: params.into_iter().map(ValType::to_wasm).collect(),
        results: results.into_iter().map(ValType::to_wasm).collect(),
    })
}

/// A Rust closure usable as a host function: `Fn(A1, .., An) -> R` or
/// `Fn(Caller<'_, T>, A1, .., An) -> R` with `Ai: WasmTy` (up to twelve
/// parameters) and `R` one of `()`, a [`WasmTy`], a tuple of them, or a
/// `Result` of those.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_host_call(self) -> (Arc<WasmFuncType>, HostCall<T>);
}

tuples!();
tuples!(A1);
tuples!(A1 A2);
tuples!(A1 A2 A3);
tuples!(A1 A2 A3 A4);
tuples!(A1 A2 A3 A4 A5);
tuples!(A1 A2 A3 A4 A5 A6);
tuples!(A1 A2 A3 A4 A5 A6 A7);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12);
