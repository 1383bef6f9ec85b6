//! [`Store`]: the owner of all WebAssembly state (instances, memories,
//! tables, globals, functions, host values) and of the embedder's data.
//!
//! The store is split the way wasmi splits it: [`Store<T>`] is a thin generic
//! shell around a non-generic [`StoreOpaque`] that libcalls and most of the
//! runtime work with, so they are compiled once rather than once per `T`.
//! Handles ([`crate::Func`], [`crate::Memory`], ...) are small `Copy` values
//! holding the store's id and an index into one of its lists.

use crate::instance::{ConstEnv, InstanceData};
use crate::limits::StoreLimiter;
use crate::vm::table::{Growth, TableBudget, TableInit};
use crate::vm::{
    self, Meter, StoreFuncIndex, StoreGlobalIndex, StoreInstanceIndex, StoreMemoryIndex,
    StoreTableIndex,
};
use crate::{Engine, Func, ResourceLimiter};
use anyhow::Result;
use cranelift_entity::PrimaryMap;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use trestle_compiler::{
    CanonicalTypeId, DefinedTableIndex, WasmFuncType, WasmGlobalType, WasmMemoryType, WasmTableType,
};
use trestle_vmctx::{
    VMFuncRef, VMGlobalDefinition, VMMemoryDefinition, VMStoreContext, VMTableDefinition,
};

/// The unique id of a store, carried by every handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub(crate) struct StoreId(pub(crate) u64);

impl StoreId {
    fn allocate() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A hasher for addresses: one multiply. The keys are funcref addresses
/// the store itself handed out, so no attacker picks them, and the default
/// SipHash would dominate a host `Table::get`.
#[derive(Default, Clone, Copy)]
pub(crate) struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Spread the address over the high bits, then fold them back into
        // the low ones (aligned addresses have constant low bits).
        let x = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29);
    }
}

/// Builds [`AddressHasher`]s.
pub(crate) type BuildAddressHasher = std::hash::BuildHasherDefault<AddressHasher>;

/// A function known to the store.
pub(crate) struct FuncData {
    /// Stable for the life of the store: inside an instance's vmctx or a
    /// boxed host function.
    pub(crate) func_ref: *const VMFuncRef,
    pub(crate) ty: Arc<WasmFuncType>,
}

/// The part of a store that does not depend on the embedder's data type.
pub struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    pub(crate) vm_store_context: Box<VMStoreContext>,
    pub(crate) instances: PrimaryMap<StoreInstanceIndex, InstanceData>,
    pub(crate) funcs: PrimaryMap<StoreFuncIndex, FuncData>,
    pub(crate) func_by_ref: HashMap<usize, StoreFuncIndex, BuildAddressHasher>,
    /// Host functions: kept alive for the store's life; each box starts
    /// with its `VMHostFuncContext`.
    pub(crate) host_funcs: Vec<Box<dyn Any>>,
    pub(crate) memories: PrimaryMap<StoreMemoryIndex, vm::Memory>,
    pub(crate) tables: PrimaryMap<StoreTableIndex, vm::Table>,
    /// The storage, in elements, of all tables together.
    pub(crate) table_budget: TableBudget,
    /// Store indices of the tables made by [`crate::Table::new`]: the
    /// defined tables of [`StoreInstanceIndex::HOST`].
    pub(crate) host_tables: PrimaryMap<DefinedTableIndex, StoreTableIndex>,
    pub(crate) globals: PrimaryMap<StoreGlobalIndex, vm::Global>,
    /// Every tag: those instances define and those of [`crate::Tag::new`].
    pub(crate) tags: PrimaryMap<vm::StoreTagIndex, crate::exception::TagData>,
    /// Where the throw stub resumes at a handler: written by the
    /// `throw_ref` libcall just before the stub reads it.
    pub(crate) resume: crate::exception::Resume,
    /// The host values of externrefs, with their roots.
    pub(crate) externrefs: crate::gc::ExternHeap,
    /// How many calls into wasm (or host functions through
    /// [`crate::Func::call`]) of this store are on the stack; while any is,
    /// a collection frees only what no wasm frame can hold.
    pub(crate) wasm_activations: u32,
    /// While [`StoreOpaque::wasm_activations`] is not zero, an address in
    /// the frame of the outermost of those calls: every wasm frame of the
    /// store lies below it on this thread's stack.
    pub(crate) wasm_stack_top: usize,
    /// The embedder's limiter, reached through the generic shell.
    pub(crate) limiter: StoreLimiter,
}

impl Drop for StoreOpaque {
    fn drop(&mut self) {
        self.keep_instances();
    }
}

impl fmt::Debug for StoreOpaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOpaque")
            .field("id", &self.id)
            .field("instances", &self.instances.len())
            .finish_non_exhaustive()
    }
}

impl StoreOpaque {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Panics unless a handle of store `id` belongs to this store.
    #[track_caller]
    pub(crate) fn assert_owns(&self, id: StoreId) {
        assert!(
            self.id == id,
            "object used with the wrong store: it belongs to another store"
        );
    }

    /// The [`Func`] handle for a function reference, creating it on first
    /// sight.
    ///
    /// # Safety
    ///
    /// `func_ref` must be a live funcref of this store.
    pub(crate) unsafe fn func_from_ref(&mut self, func_ref: *const VMFuncRef) -> Func {
        if let Some(i) = self.func_by_ref.get(&(func_ref as usize)) {
            return Func {
                store: self.id,
                index: *i,
            };
        }
        // SAFETY: live per this function's contract.
        let type_id = CanonicalTypeId::from_u32(unsafe { (*func_ref).type_id });
        let ty = self.engine.type_of_id(type_id);
        self.push_func(func_ref, ty)
    }

    pub(crate) fn push_func(&mut self, func_ref: *const VMFuncRef, ty: Arc<WasmFuncType>) -> Func {
        let index = self.funcs.push(FuncData { func_ref, ty });
        self.func_by_ref.insert(func_ref as usize, index);
        Func {
            store: self.id,
            index,
        }
    }

    /// Whether compiled code may grow tables in place. Not while a limiter
    /// is installed, nor with fuel metering: then every growth reaches the
    /// runtime, which asks the limiter and charges the fuel.
    fn inline_table_growth(&self) -> bool {
        !self.limiter.is_installed() && !self.engine.config().consume_fuel
    }

    /// Creates a memory of type `ty`, its definition at `def` (inside a
    /// vmctx) or owned; its store index.
    ///
    /// # Errors
    ///
    /// As [`vm::Memory::new`].
    ///
    /// # Safety
    ///
    /// As [`vm::Memory::new`].
    pub(crate) unsafe fn new_memory(
        &mut self,
        ty: WasmMemoryType,
        def: Option<*mut VMMemoryDefinition>,
    ) -> Result<StoreMemoryIndex> {
        // SAFETY: per this function's contract.
        let memory = unsafe { vm::Memory::new(ty, def, &mut self.limiter)? };
        Ok(self.memories.push(memory))
    }

    /// Creates a table of type `ty`, its definition at `def` (inside a
    /// vmctx) or owned, named by `owner`; its store index.
    ///
    /// # Errors
    ///
    /// As [`vm::Table::new`].
    ///
    /// # Safety
    ///
    /// As [`vm::Table::new`].
    pub(crate) unsafe fn new_table(
        &mut self,
        ty: WasmTableType,
        init: TableInit,
        def: Option<*mut VMTableDefinition>,
        owner: (StoreInstanceIndex, DefinedTableIndex),
    ) -> Result<StoreTableIndex> {
        let inline = self.inline_table_growth();
        let growth = Growth {
            limiter: &mut self.limiter,
            budget: &mut self.table_budget,
        };
        let pool = &self.engine.inner.table_pool;
        // SAFETY: per this function's contract.
        let table = unsafe { vm::Table::new(ty, init, def, owner, inline, growth, pool)? };
        Ok(self.tables.push(table))
    }

    /// Creates a global of type `ty` holding `value`, its storage at `def`
    /// (inside a vmctx) or owned; its store index.
    ///
    /// # Safety
    ///
    /// As [`vm::Global::new`].
    pub(crate) unsafe fn new_global(
        &mut self,
        ty: WasmGlobalType,
        def: Option<*mut VMGlobalDefinition>,
        value: [u8; 16],
    ) -> StoreGlobalIndex {
        // SAFETY: per this function's contract.
        self.globals
            .push(unsafe { vm::Global::new(ty, def, value) })
    }

    /// Drops the instances, giving each module the vmctx and the tables
    /// it may reuse for its next instance (see [`vm::retain`]); the
    /// store's other entities are dropped after this.
    fn keep_instances(&mut self) {
        for (_, data) in std::mem::take(&mut self.instances) {
            let cache = data.module.instance_cache();
            let info = data.module.info();
            let tables: Vec<_> = cache
                .tables()
                .iter()
                .filter_map(|&i| {
                    let t = data.tables[info.table_index(i)];
                    Some((i, self.tables[t].take_sealed()?))
                })
                .collect();
            if !tables.is_empty() {
                cache.keep(vm::retain::KeptInstance {
                    vmctx: data.vmctx,
                    tables,
                });
            }
        }
    }

    /// Drops the tables and memories made after the first `tables` and
    /// `memories`: what an instantiation that failed before registering
    /// its instance had created.
    pub(crate) fn truncate_entities(&mut self, tables: usize, memories: usize) {
        vm::index::truncate(&mut self.tables, tables);
        vm::index::truncate(&mut self.memories, memories);
        self.table_budget.recount(&self.tables);
    }

    /// The fuel and epoch meter for a libcall's work: charges and checks
    /// as the engine's settings say.
    pub(crate) fn meter(&mut self) -> Meter {
        let config = self.engine.config();
        let (fuel, epoch) = (config.consume_fuel, config.epoch_interruption);
        // SAFETY: the context is boxed, lives as long as the store, and is
        // only touched through this meter while a libcall works (compiled
        // code of the store is suspended in it).
        unsafe { Meter::new(&mut *self.vm_store_context, fuel, epoch) }
    }

    /// The tables, with what lazy initialization needs to evaluate segment
    /// items.
    pub(crate) fn tables_and_items(
        &mut self,
    ) -> (&mut PrimaryMap<StoreTableIndex, vm::Table>, ConstEnv<'_>) {
        let items = ConstEnv {
            instances: &self.instances,
            globals: &self.globals,
        };
        (&mut self.tables, items)
    }

    /// The raw word at `index` of table `t` (a store index), written first
    /// by lazy initialization if needed; `None` when out of bounds.
    pub(crate) fn table_get(&mut self, t: StoreTableIndex, index: u64) -> Option<usize> {
        let (tables, items) = self.tables_and_items();
        tables[t].get(index, &items)
    }

    /// Grows table `t` (a store index) by `delta` elements set to `raw`;
    /// the old size, or `None` when refused.
    ///
    /// # Errors
    ///
    /// What `meter` raises.
    pub(crate) fn table_grow(
        &mut self,
        t: StoreTableIndex,
        delta: u64,
        raw: usize,
        meter: &Meter,
    ) -> Result<Option<u64>, trestle_vmctx::Trap> {
        let growth = Growth {
            limiter: &mut self.limiter,
            budget: &mut self.table_budget,
        };
        self.tables[t].grow(delta, raw, growth, meter)
    }

    /// Grows memory `m` (a store index) by `delta` pages; the old size in
    /// pages, or `None` when refused.
    pub(crate) fn memory_grow(&mut self, m: StoreMemoryIndex, delta: u64) -> Option<u64> {
        self.memories[m].grow(delta, &mut self.limiter)
    }
}

/// A collection of WebAssembly instances and host objects, together with
/// the embedder's data `T`.
///
/// All handles ([`crate::Func`], [`crate::Memory`], [`crate::Table`],
/// [`crate::Global`], [`crate::Instance`], [`crate::ExternRef`]) belong to
/// the store that made them; using one with another store panics.
/// Everything is freed when the store is dropped, except externref values,
/// which [`Store::gc`] may free earlier (see [`crate::RootScope`]).
///
/// # Panics in host code
///
/// A panic in host code that WebAssembly reached (a host function, or the
/// store's [`ResourceLimiter`] asked by `memory.grow` or `table.grow`) is
/// caught before it reaches compiled code, carried across the wasm frames
/// and resumed in the caller of [`crate::Func::call`],
/// [`crate::TypedFunc::call`] or [`crate::Instance::new`], with its
/// original payload. The store is not poisoned and stays usable: the
/// growth that asked the limiter did not happen, an instantiation that
/// panicked before its instance was complete is rolled back (its tables
/// and memories are dropped), and no value is leaked; what the panicking
/// call had already done stays done, as after a trap.
///
/// ```
/// use trestle::{Engine, Store};
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, 42u32);
/// *store.data_mut() += 1;
/// assert_eq!(*store.data(), 43);
/// ```
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

/// Finds the limiter in the store's data.
pub(crate) type LimiterFn<T> =
    dyn (FnMut(&mut T) -> &mut (dyn ResourceLimiter + 'static)) + Send + Sync;

// SAFETY: the raw pointers inside a store point into allocations the store
// owns (vmctx, table and memory definitions, host function records), which
// move with it; nothing in it is tied to the thread that made it. Its host
// functions and values are `Send + Sync` by their bounds, and the data `T`
// is `Send` here.
unsafe impl<T: Send> Send for Store<T> {}

/// The store's state: the opaque part first, so a pointer to it is also a
/// pointer to the whole (host function shims rely on this).
#[repr(C)]
pub struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) limiter_fn: Option<Box<LimiterFn<T>>>,
    pub(crate) data: T,
}

impl<T> fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.opaque.id)
            .finish_non_exhaustive()
    }
}

impl<T> Store<T> {
    /// A new store for `engine`, holding `data`.
    pub fn new(engine: &Engine, data: T) -> Self {
        let mut vm_store_context = Box::new(VMStoreContext::default());
        vm_store_context.epoch_ptr = engine.inner.epoch.as_ptr();
        vm_store_context.epoch_deadline = engine.current_epoch();
        Self {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: StoreId::allocate(),
                    engine: engine.clone(),
                    vm_store_context,
                    instances: PrimaryMap::new(),
                    funcs: PrimaryMap::new(),
                    func_by_ref: HashMap::default(),
                    host_funcs: Vec::new(),
                    memories: PrimaryMap::new(),
                    tables: PrimaryMap::new(),
                    table_budget: TableBudget::default(),
                    host_tables: PrimaryMap::new(),
                    globals: PrimaryMap::new(),
                    tags: PrimaryMap::new(),
                    resume: Default::default(),
                    externrefs: crate::gc::ExternHeap::default(),
                    wasm_activations: 0,
                    wasm_stack_top: 0,
                    limiter: StoreLimiter::default(),
                },
                limiter_fn: None,
                data,
            }),
        }
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store and returns the embedder's data.
    pub fn into_data(self) -> T {
        let inner = *self.inner;
        inner.data
    }

    /// The engine of this store.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// Sets the fuel left for wasm code to `fuel` units.
    ///
    /// # Errors
    ///
    /// When fuel metering is not enabled with [`crate::Config::consume_fuel`].
    pub fn set_fuel(&mut self, fuel: u64) -> anyhow::Result<()> {
        self.fuel_enabled()?;
        let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        self.inner.opaque.vm_store_context.fuel_consumed = -fuel;
        Ok(())
    }

    /// The fuel left.
    ///
    /// # Errors
    ///
    /// When fuel metering is not enabled with [`crate::Config::consume_fuel`].
    pub fn get_fuel(&self) -> anyhow::Result<u64> {
        self.fuel_enabled()?;
        let consumed = self.inner.opaque.vm_store_context.fuel_consumed;
        Ok(consumed.min(0).unsigned_abs())
    }

    fn fuel_enabled(&self) -> anyhow::Result<()> {
        if !self.inner.opaque.engine.config().consume_fuel {
            anyhow::bail!("fuel is not enabled: use `Config::consume_fuel(true)`");
        }
        Ok(())
    }

    /// Sets the deadline for epoch interruption to `ticks` increments of the
    /// engine's epoch from now.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        let now = self.inner.opaque.engine.current_epoch();
        self.inner.opaque.vm_store_context.epoch_deadline = now.saturating_add(ticks);
    }

    /// How many instances, memories, tables and globals the store owns, in
    /// that order: a diagnostic for leak tests.
    #[doc(hidden)]
    pub fn __object_counts(&self) -> [usize; 4] {
        let o = &self.inner.opaque;
        [
            o.instances.len(),
            o.memories.len(),
            o.tables.len(),
            o.globals.len(),
        ]
    }

    /// The number of externref values the store holds: a diagnostic for
    /// leak tests.
    #[doc(hidden)]
    pub fn __externref_live(&self) -> usize {
        self.inner.opaque.externrefs.live()
    }

    /// Collects externref values nothing can use any more, dropping them.
    ///
    /// Called on a store (no wasm running), it frees every externref value
    /// that is neither rooted (obtained by the host in a [`crate::RootScope`]
    /// that is still open, or outside any scope, which roots it until the
    /// store is dropped) nor held by a table, a global or a passive element
    /// segment. Called from a host function ([`crate::Caller::gc`],
    /// [`StoreContextMut::gc`]) while wasm runs, it also keeps every value
    /// whose word is on the stack of the running wasm, which is scanned
    /// conservatively. Handles to freed values stay safe to use: they give
    /// errors.
    ///
    /// [`crate::ExternRef::new`] collects on its own as the number of live
    /// values doubles, so explicit calls are only needed to drop values at
    /// a known point.
    ///
    /// ```
    /// use trestle::{Engine, ExternRef, Ref, RefType, RootScope, Store, Table, TableType};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let ty = TableType::new(RefType::EXTERNREF, 1, None);
    /// let table = Table::new(&mut store, ty, Ref::Extern(None))?;
    /// let r = {
    ///     let mut scope = RootScope::new(&mut store);
    ///     let r = ExternRef::new(&mut scope, 7u32)?;
    ///     table.set(&mut scope, 0, r.into())?;
    ///     r
    /// };
    /// store.gc();
    /// assert!(r.data(&store).is_ok(), "the table holds it");
    /// table.set(&mut store, 0, Ref::Extern(None))?;
    /// store.gc();
    /// assert!(r.data(&store).is_err(), "nothing holds it: dropped");
    /// # Ok::<(), trestle::Error>(())
    /// ```
    pub fn gc(&mut self) {
        self.inner.opaque.gc();
    }

    /// Installs a [`ResourceLimiter`], found in the store's data by `limiter`,
    /// that is asked before every memory and table growth, at instantiation
    /// too.
    pub fn limiter(
        &mut self,
        limiter: impl (FnMut(&mut T) -> &mut (dyn ResourceLimiter + 'static)) + Send + Sync + 'static,
    ) {
        self.inner.limiter_fn = Some(Box::new(limiter));
        // From now on every table growth asks the limiter: compiled code no
        // longer grows tables in place.
        let opaque = &mut self.inner.opaque;
        opaque.limiter.install();
        for t in opaque.tables.values_mut() {
            t.set_inline_growth(false);
        }
    }
}

impl<T> StoreInner<T> {
    /// Refreshes the opaque part's pointer to the limiter before running
    /// anything that may grow a memory or table.
    pub(crate) fn prepare_limiter(&mut self) {
        if let Some(f) = &mut self.limiter_fn {
            // The pointer is refreshed before each entry and only used
            // while `self` is borrowed by that entry.
            let l: *mut (dyn ResourceLimiter + 'static) = f(&mut self.data);
            self.opaque.limiter.set(l);
        }
    }
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// Collects externref values nothing can use any more: see
    /// [`Store::gc`].
    pub fn gc(&mut self) {
        self.0.opaque.gc();
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }
}

impl<'a, T> From<&'a Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContextMut<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContextMut(&mut s.inner)
    }
}

impl<'a, T> From<StoreContextMut<'a, T>> for StoreContext<'a, T> {
    fn from(s: StoreContextMut<'a, T>) -> Self {
        StoreContext(s.0)
    }
}

impl<'a, 'b, T> From<&'b StoreContextMut<'a, T>> for StoreContext<'b, T> {
    fn from(s: &'b StoreContextMut<'a, T>) -> Self {
        StoreContext(s.0)
    }
}

impl<'a, 'b, T> From<&'b mut StoreContextMut<'a, T>> for StoreContextMut<'b, T> {
    fn from(s: &'b mut StoreContextMut<'a, T>) -> Self {
        StoreContextMut(s.0)
    }
}

impl<'a, 'b, T> From<&'b StoreContext<'a, T>> for StoreContext<'b, T> {
    fn from(s: &'b StoreContext<'a, T>) -> Self {
        StoreContext(s.0)
    }
}

impl<'a, T> From<&'a mut crate::Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut crate::Caller<'_, T>) -> Self {
        StoreContextMut(c.store.0)
    }
}

impl<'a, T> From<&'a crate::Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a crate::Caller<'_, T>) -> Self {
        StoreContext(c.store.0)
    }
}

/// Something that gives shared access to a store.
pub trait AsContext {
    /// The store's data type.
    type Data;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that gives exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// Borrows the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        S::as_context(*self)
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        S::as_context(*self)
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        S::as_context_mut(*self)
    }
}
