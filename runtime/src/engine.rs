//! [`Config`] and [`Engine`]: compilation settings and the state shared by
//! every store of an engine (the code generator and the canonical type ids).

use crate::vm::code_memory::CodeMemory;
use anyhow::{Context as _, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use trestle_compiler::{
    CanonicalTypeId, Compiler, CompilerOptions, Features, WasmFuncType, WasmHeapType, WasmRefType,
    WasmSubType, WasmValType,
};
use trestle_vmctx::TYPE_ID_FIRST;

/// Settings for an [`Engine`].
///
/// Each setting has a builder-style setter (`table_lazy_init(false)`) and a
/// getter (`get_table_lazy_init()`); an engine's settings are
/// [`Engine::config`]. Nothing but these calls changes a `Config`: it does
/// not read the environment.
///
/// ```
/// let mut config = trestle::Config::new();
/// config.max_wasm_stack(256 * 1024).table_lazy_init(false);
/// let engine = trestle::Engine::new(&config)?;
/// assert!(!engine.config().get_table_lazy_init());
/// assert_eq!(engine.config().get_max_wasm_stack(), 256 * 1024);
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) features: Features,
    pub(crate) max_wasm_stack: usize,
    pub(crate) table_lazy_init: bool,
    pub(crate) verify: bool,
    pub(crate) optimize: bool,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) relaxed_simd_deterministic: bool,
    pub(crate) parallel_compilation: bool,
    pub(crate) wasm_backtrace: bool,
    pub(crate) inlining: bool,
    pub(crate) instance_reuse: bool,
    pub(crate) profiler: crate::ProfilingStrategy,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// Defines, for each setting, the setter `$set` that stores its argument
/// in the field `$field` (a path inside [`Config`]) and returns the
/// configuration for chaining, and the getter `$get` that reads it back.
macro_rules! settings {
    ($(
        $(#[$set_doc:meta])*
        $set:ident($arg:ident: $ty:ty) => $($field:ident).+;
        $(#[$get_doc:meta])*
        $get:ident;
    )*) => {$(
        $(#[$set_doc])*
        pub fn $set(&mut self, $arg: $ty) -> &mut Self {
            self.$($field).+ = $arg;
            self
        }

        $(#[$get_doc])*
        pub fn $get(&self) -> $ty {
            self.$($field).+
        }
    )*};
}

impl Config {
    /// The default settings: every part of standard WebAssembly 3.0 that
    /// Trestle implements (WebAssembly 2.0 with SIMD, relaxed SIMD, multiple
    /// memories, extended constant expressions, typed function references
    /// tail calls and 64-bit memories and tables), a 512 KiB wasm stack, lazy funcref table
    /// initialization, no fuel metering or epoch interruption, optimized
    /// code, Cranelift's verifier in debug builds.
    pub fn new() -> Self {
        Self {
            features: Features::default(),
            max_wasm_stack: 512 * 1024,
            table_lazy_init: true,
            verify: cfg!(debug_assertions),
            optimize: true,
            consume_fuel: false,
            epoch_interruption: false,
            relaxed_simd_deterministic: false,
            parallel_compilation: true,
            wasm_backtrace: true,
            inlining: true,
            instance_reuse: true,
            profiler: crate::ProfilingStrategy::None,
        }
    }

    /// Enables the part of the GC proposal Trestle implements: its type
    /// system (recursion groups, declared subtypes, arrays and structures,
    /// `anyref`, `eqref`, `arrayref` and friends), `ref.eq`, and arrays
    /// allocated by `array.new`, `array.new_default` and `array.new_fixed`
    /// in constant expressions. Other GC instructions are rejected at
    /// compile time as unsupported. Implies typed function references. Off
    /// by default.
    pub fn wasm_gc(&mut self, enable: bool) -> &mut Self {
        self.features.gc = enable;
        if enable {
            self.features.function_references = true;
        }
        self
    }

    /// Whether the GC subset is enabled.
    pub fn get_wasm_gc(&self) -> bool {
        self.features.gc
    }

    settings! {
        /// Enables multi-value blocks and functions.
        wasm_multi_value(enable: bool) => features.multi_value;
        /// Whether multi-value blocks and functions are enabled.
        get_wasm_multi_value;

        /// Enables the sign-extension operators.
        wasm_sign_extension(enable: bool) => features.sign_extension;
        /// Whether the sign-extension operators are enabled.
        get_wasm_sign_extension;

        /// Enables the non-trapping float-to-int conversions.
        wasm_saturating_float_to_int(enable: bool) => features.saturating_float_to_int;
        /// Whether the non-trapping float-to-int conversions are enabled.
        get_wasm_saturating_float_to_int;

        /// Enables import and export of mutable globals.
        wasm_mutable_global(enable: bool) => features.mutable_global;
        /// Whether import and export of mutable globals are enabled.
        get_wasm_mutable_global;

        /// Enables bulk memory and table operations.
        wasm_bulk_memory(enable: bool) => features.bulk_memory;
        /// Whether bulk memory and table operations are enabled.
        get_wasm_bulk_memory;

        /// Enables reference types.
        wasm_reference_types(enable: bool) => features.reference_types;
        /// Whether reference types are enabled.
        get_wasm_reference_types;

        /// Enables 64-bit memories and tables (the memory64 proposal of
        /// WebAssembly 3.0): `i64` addresses in every memory instruction, with
        /// explicit, Spectre-safe bounds checks, and `i64` table indices. On by
        /// default.
        wasm_memory64(enable: bool) => features.memory64;
        /// Whether 64-bit tables are enabled.
        get_wasm_memory64;

        /// Enables typed function references: concrete reference types such as
        /// `(ref null $t)` in tables, globals, locals and signatures,
        /// `ref.as_non_null`, `br_on_null`, `br_on_non_null` and `call_ref`.
        /// On by default.
        wasm_function_references(enable: bool) => features.function_references;
        /// Whether typed function references are enabled (also by
        /// [`Config::wasm_gc`]).
        get_wasm_function_references;

        /// Enables tail calls: `return_call`, `return_call_indirect` and, with
        /// typed function references, `return_call_ref`. A tail call replaces
        /// the caller's frame, so a chain of them runs in constant stack. On
        /// by default.
        wasm_tail_call(enable: bool) => features.tail_call;
        /// Whether tail calls are enabled.
        get_wasm_tail_call;

        /// Enables several memories per module (the multi-memory proposal of
        /// WebAssembly 3.0): memory instructions name the memory they use. On
        /// by default.
        wasm_multi_memory(enable: bool) => features.multi_memory;
        /// Whether several memories per module are enabled.
        get_wasm_multi_memory;

        /// Enables extended constant expressions: `i32.add`, `i32.sub`,
        /// `i32.mul` and their `i64` forms in global initializers, segment
        /// offsets and table initializers. On by default.
        wasm_extended_const(enable: bool) => features.extended_const;
        /// Whether extended constant expressions are enabled.
        get_wasm_extended_const;

        /// Enables exception handling (the standard `exnref` form of
        /// WebAssembly 3.0): tags, `throw`, `throw_ref`, `try_table` and the
        /// `exnref` type. On by default.
        wasm_exceptions(enable: bool) => features.exceptions;
        /// Whether exception handling is enabled.
        get_wasm_exceptions;

        /// Enables fixed-width SIMD: the `v128` type and its instructions,
        /// compiled to the host's vector instructions. On by default.
        ///
        /// On x86-64 this needs SSE4.1 (and SSSE3): on a CPU without them,
        /// [`Engine::new`] fails while SIMD is on.
        wasm_simd(enable: bool) => features.simd;
        /// Whether fixed-width SIMD is enabled.
        get_wasm_simd;

        /// Enables relaxed SIMD: instructions whose results the specification
        /// lets the host choose for some inputs (out-of-range swizzle indices,
        /// NaN in `relaxed_min`, fused or unfused `relaxed_madd`, ...), so they
        /// compile to one host instruction. Results may differ between x86-64
        /// and aarch64 unless [`Config::relaxed_simd_deterministic`] is set;
        /// `docs/simd.md` lists the choices. Needs [`Config::wasm_simd`]. On by
        /// default.
        wasm_relaxed_simd(enable: bool) => features.relaxed_simd;
        /// Whether relaxed SIMD is enabled.
        get_wasm_relaxed_simd;

        /// Gives every relaxed SIMD instruction its deterministic result, the
        /// same on every host (that of the fixed-width instruction it relaxes,
        /// and a fused `relaxed_madd`), at some cost in speed on x86-64. Off by
        /// default.
        ///
        /// On x86-64 this needs FMA: on a CPU without it, [`Engine::new`] fails
        /// while relaxed SIMD is on.
        relaxed_simd_deterministic(enable: bool) => relaxed_simd_deterministic;
        /// Whether relaxed SIMD instructions give their deterministic results.
        get_relaxed_simd_deterministic;

        /// The most stack, in bytes, that wasm code may use before it traps with
        /// "call stack exhausted".
        max_wasm_stack(size: usize) => max_wasm_stack;
        /// The most stack, in bytes, wasm code may use.
        get_max_wasm_stack;

        /// Whether funcref tables filled by element segments are initialized
        /// lazily, on first access (the default), or eagerly at instantiation.
        table_lazy_init(lazy: bool) => table_lazy_init;
        /// Whether funcref tables filled by element segments are initialized
        /// lazily (`true`, the default) or at instantiation.
        get_table_lazy_init;

        /// Whether a [`Module`](crate::Module) keeps the vmctx and the funcref
        /// tables of its dropped instances for its next instances (the
        /// default), so that instantiating a module with a large table costs
        /// nothing in proportion to the table. Only a table that follows from
        /// the module alone (active segments of the module's own functions at
        /// constant offsets, no inline store from its code) is kept, and only
        /// when nothing but lazy initialization wrote it; a module keeps at
        /// most 4 instances and 64 MiB of tables, until it is dropped.
        instance_reuse(enable: bool) => instance_reuse;
        /// Whether modules keep their dropped instances' tables for reuse.
        get_instance_reuse;

        /// Meters execution with fuel: every operator costs one unit (`nop`,
        /// `drop`, `block`, `loop`, `else` and `end` are free) and wasm traps
        /// with [`crate::Trap::OutOfFuel`] once the store's fuel
        /// ([`crate::Store::set_fuel`], zero at first) is spent.
        ///
        /// Bulk operators also pay for the work they do: `memory.fill`,
        /// `memory.copy` and `memory.init` one more unit per 64 bytes (rounded
        /// down), `table.fill`, `table.copy`, `table.init` and `table.grow` one
        /// more unit per element. That part is charged after the bounds checks
        /// and before any work, so an operation that traps out of bounds or a
        /// growth that fails costs nothing extra, and one the fuel left cannot
        /// pay traps having changed nothing. With fuel on, compiled code never
        /// grows a table in place: every `table.grow` reaches the runtime,
        /// which charges it.
        consume_fuel(enable: bool) => consume_fuel;
        /// Whether execution is metered with fuel.
        get_consume_fuel;

        /// Makes wasm check the engine's epoch ([`Engine::increment_epoch`])
        /// against the store's deadline ([`crate::Store::set_epoch_deadline`]) at
        /// every function entry and loop header, and trap with
        /// [`crate::Trap::Interrupt`] once it is reached. A new store's deadline
        /// is the current epoch, so set one before calling into wasm.
        ///
        /// Bulk operators (`memory.fill`, `memory.copy`, `memory.init` and the
        /// table operations) check the deadline too, between chunks of their
        /// work (1 MiB of memory, 65,536 table elements), so a multi-gigabyte
        /// `memory.fill` is interrupted promptly; the chunks done stay done.
        epoch_interruption(enable: bool) => epoch_interruption;
        /// Whether wasm checks the epoch deadline.
        get_epoch_interruption;

        /// Whether traps, and errors of host functions called from wasm, carry
        /// a [`crate::WasmBacktrace`] (on by default).
        ///
        /// With it on, compiled functions keep their frame pointers (a push, a
        /// move and a pop in functions that call nothing, which would skip
        /// them otherwise) and their code is mapped back to module offsets.
        /// Nothing is captured until a trap or an error happens. Off, a host
        /// function may still [`crate::WasmBacktrace::force_capture`] the
        /// frames under it.
        wasm_backtrace(enable: bool) => wasm_backtrace;
        /// Whether traps carry wasm backtraces.
        get_wasm_backtrace;

        /// Which profiler to describe compiled code to (none by default):
        /// [`crate::ProfilingStrategy::PerfMap`] writes each compiled
        /// function's address, size and name to `/tmp/perf-<pid>.map`, where
        /// `perf report` finds them.
        profiler(profiler: crate::ProfilingStrategy) => profiler;
        /// The profiler compiled code is described to.
        get_profiler;

        /// Runs Cranelift's IR verifier on every function.
        cranelift_debug_verifier(enable: bool) => verify;
        /// Whether Cranelift's IR verifier runs on every function.
        get_cranelift_debug_verifier;

        /// Whether Cranelift optimizes the generated code.
        cranelift_optimize(enable: bool) => optimize;
        /// Whether Cranelift optimizes the generated code.
        get_cranelift_optimize;

        /// Whether the function bodies of a module are compiled on all cores
        /// (rayon's global thread pool; the default) or one after the other on
        /// the calling thread. The machine code is the same either way.
        parallel_compilation(enable: bool) => parallel_compilation;
        /// Whether function bodies are compiled in parallel.
        get_parallel_compilation;

        /// Whether small functions that call nothing are copied into the
        /// functions calling them directly (on by default; only with
        /// [`Config::cranelift_optimize`]). Direct calls include the
        /// `call_indirect`s the compiler resolves to one function, so a
        /// devirtualized or correctly speculated indirect call of a small
        /// function costs no call at all. What the code computes does not
        /// change; in a backtrace, a trap inside an inlined function shows that
        /// function's frame without an offset inside it, above its caller's
        /// frame at the call.
        compiler_inlining(enable: bool) => inlining;
        /// Whether small leaf functions are inlined into their direct callers.
        get_compiler_inlining;
    }
}

/// The greatest type id a precompiled module may claim.
const MAX_CLAIMED_TYPE_ID: u32 = 1 << 24;

/// The canonical ids of types, shared by all modules of an engine.
///
/// Types are canonicalized by recursion group (iso-recursively, as the GC
/// proposal specifies): two groups with the same members, where references
/// between members are by position in the group and references to other
/// types by canonical id, are one group, and each member's id is the
/// group's first id plus its position. A function type outside any explicit
/// group is a group of its own, so structurally equal function types get
/// the same id.
#[derive(Default)]
pub(crate) struct TypeRegistry {
    groups: HashMap<Box<[WasmSubType]>, CanonicalTypeId>,
    /// Every type by id minus [`TYPE_ID_FIRST`], with ids resolved; `None`
    /// for ids no type has (below those a precompiled module claimed).
    types: Vec<Option<Arc<WasmSubType>>>,
    /// The function type of every id (empty for arrays and structures).
    funcs: Vec<Arc<WasmFuncType>>,
}

impl TypeRegistry {
    fn intern_group(&mut self, group: &[WasmSubType]) -> CanonicalTypeId {
        if let Some(base) = self.groups.get(group) {
            return *base;
        }
        let base = CanonicalTypeId::from_u32(TYPE_ID_FIRST + self.types.len() as u32);
        for sub in group {
            let sub = sub.in_group(base);
            self.funcs.push(Arc::new(sub.func_or_empty()));
            self.types.push(Some(Arc::new(sub)));
        }
        self.groups.insert(group.into(), base);
        base
    }

    /// Gives `group` the ids from `base` on, as the engine that compiled a
    /// precompiled module did: its code compares type ids as immediates.
    ///
    /// # Errors
    ///
    /// When this engine gave the group other ids, or gave one of those ids
    /// to another type.
    fn claim_group(&mut self, group: &[WasmSubType], base: CanonicalTypeId) -> Result<()> {
        let conflict = || {
            anyhow::anyhow!(
                "precompiled module's type ids conflict with this engine's: its types were                  numbered by the engine that compiled it; load precompiled modules into an                  engine before defining host functions or compiling other modules"
            )
        };
        if let Some(&existing) = self.groups.get(group) {
            return if existing == base {
                Ok(())
            } else {
                Err(conflict())
            };
        }
        // Ids are dense in the compiling engine: one far beyond what any
        // engine hands out is corruption, not a reason to allocate.
        let first = base
            .as_u32()
            .checked_sub(TYPE_ID_FIRST)
            .filter(|f| f.saturating_add(group.len() as u32) < MAX_CLAIMED_TYPE_ID)
            .ok_or_else(|| anyhow::anyhow!("precompiled module has an invalid type id"))?
            as usize;
        let ids = first..first + group.len();
        if self
            .types
            .iter()
            .skip(first)
            .take(group.len())
            .any(Option::is_some)
        {
            return Err(conflict());
        }
        if self.types.len() < ids.end {
            let empty = Arc::new(WasmFuncType {
                params: Box::new([]),
                results: Box::new([]),
            });
            self.types.resize(ids.end, None);
            self.funcs.resize(ids.end, empty);
        }
        for (i, sub) in group.iter().enumerate() {
            let sub = sub.in_group(base);
            self.funcs[first + i] = Arc::new(sub.func_or_empty());
            self.types[first + i] = Some(Arc::new(sub));
        }
        self.groups.insert(group.into(), base);
        Ok(())
    }

    fn get(&self, id: CanonicalTypeId) -> Option<&Arc<WasmSubType>> {
        self.types
            .get(id.as_u32().checked_sub(TYPE_ID_FIRST)? as usize)?
            .as_ref()
    }
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) compiler: Compiler,
    pub(crate) types: Mutex<TypeRegistry>,
    /// The epoch counter compiled code reads; boxed so its address is
    /// stable.
    pub(crate) epoch: Box<std::sync::atomic::AtomicU64>,
    /// Wasm-to-array trampolines for host functions, by type id.
    host_trampolines: Mutex<HashMap<CanonicalTypeId, Arc<CodeMemory>>>,
    /// Cleared mappings of dropped tables, for the stores' next tables.
    pub(crate) table_pool: Arc<crate::vm::table_buf::TablePool>,
}

/// The compilation environment shared by modules and stores: a code
/// generator for the host CPU and the engine-wide function type ids.
///
/// Cheap to clone.
///
/// ```
/// let engine = trestle::Engine::default();
/// let module = trestle::Module::new(&engine, "(module)")?;
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Default for Engine {
    /// An engine with the default [`Config`].
    ///
    /// # Panics
    ///
    /// When the host CPU is not supported by Cranelift, or is an x86-64
    /// CPU without SSE4.1, which SIMD (on by default) needs.
    fn default() -> Self {
        Engine::new(&Config::new()).expect("host CPU supported by Cranelift")
    }
}

impl Engine {
    /// An engine with these settings.
    ///
    /// # Errors
    ///
    /// When the host CPU is not supported by Cranelift, or lacks what an
    /// enabled feature needs (see [`Config::wasm_simd`] and
    /// [`Config::relaxed_simd_deterministic`]).
    pub fn new(config: &Config) -> Result<Engine> {
        let compiler = Compiler::new(CompilerOptions {
            verify: config.verify,
            optimize: config.optimize,
            features: config.features,
            consume_fuel: config.consume_fuel,
            epoch_interruption: config.epoch_interruption,
            table_lazy_init: config.table_lazy_init,
            relaxed_simd_deterministic: config.relaxed_simd_deterministic,
            parallel_compilation: config.parallel_compilation,
            wasm_backtrace: config.wasm_backtrace,
            inlining: config.inlining,
        })
        .context("cannot create a code generator for this CPU")?;
        crate::vm::traphandlers::init_traps();
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                compiler,
                types: Mutex::new(TypeRegistry::default()),
                epoch: Box::new(std::sync::atomic::AtomicU64::new(0)),
                host_trampolines: Mutex::new(HashMap::new()),
                table_pool: Arc::default(),
            }),
        })
    }

    /// The settings of this engine.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Advances the epoch by one. Safe to call from any thread (a timer, a
    /// watchdog); wasm running in stores whose deadline is reached traps at
    /// its next function entry or loop header.
    pub fn increment_epoch(&self) {
        self.inner
            .epoch
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The function type with canonical id `index`, or `None` when the id
    /// names an array or structure type or no type of this engine.
    pub fn func_type(&self, index: crate::TypeIndex) -> Option<crate::FuncType> {
        let sub = self.sub_type(index.canonical())?;
        let func = sub.as_func()?.clone();
        Some(crate::FuncType::from_wasm(Arc::new(func)))
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, TypeRegistry> {
        self.inner.types.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The canonical id of a function type written without `sub` or `rec`.
    pub(crate) fn intern_type(&self, ty: &WasmFuncType) -> CanonicalTypeId {
        self.intern_group(&[WasmSubType::final_func(ty.clone())])
    }

    /// The canonical id of the first member of a recursion group.
    pub(crate) fn intern_group(&self, group: &[WasmSubType]) -> CanonicalTypeId {
        self.registry().intern_group(group)
    }

    /// Gives a precompiled module's recursion groups the ids they had in
    /// the engine that compiled it ([`TypeRegistry::claim_group`]).
    pub(crate) fn claim_groups(&self, groups: &[trestle_compiler::TypeGroup]) -> Result<()> {
        let mut registry = self.registry();
        for group in groups {
            registry.claim_group(&group.members, group.base)?;
        }
        Ok(())
    }

    /// The function type of id `id`.
    ///
    /// # Panics
    ///
    /// When no type has that id.
    pub(crate) fn type_of_id(&self, id: CanonicalTypeId) -> Arc<WasmFuncType> {
        self.registry().funcs[(id.as_u32() - TYPE_ID_FIRST) as usize].clone()
    }

    /// The type of id `id`, with its supertype.
    pub(crate) fn sub_type(&self, id: CanonicalTypeId) -> Option<Arc<WasmSubType>> {
        self.registry().get(id).cloned()
    }

    /// Whether type `sub` is `sup` or declares it as a (transitive)
    /// supertype.
    pub(crate) fn is_subtype_id(&self, sub: CanonicalTypeId, sup: CanonicalTypeId) -> bool {
        // The supertype chain is the same walk for every kind of defined
        // type.
        let registry = self.registry();
        WasmHeapType::ConcreteFunc(sub).is_subtype_of(WasmHeapType::ConcreteFunc(sup), &|id| {
            registry.get(id).and_then(|t| t.supertype)
        })
    }

    /// Whether every value of reference type `a` is a value of `b`.
    pub(crate) fn ref_subtype(&self, a: WasmRefType, b: WasmRefType) -> bool {
        // The registry is locked only when a chain of declared supertypes
        // must be followed: most checks (a function into a `funcref`
        // table, equal types) answer without it.
        let registry = std::cell::OnceCell::new();
        a.is_subtype_of(b, &|id| {
            registry
                .get_or_init(|| self.registry())
                .get(id)
                .and_then(|t| t.supertype)
        })
    }

    /// Whether every value of `a` is a value of `b`.
    pub(crate) fn val_subtype(&self, a: WasmValType, b: WasmValType) -> bool {
        match (a, b) {
            (WasmValType::Ref(a), WasmValType::Ref(b)) => self.ref_subtype(a, b),
            (a, b) => a == b,
        }
    }

    /// The code through which compiled code calls a host function of type
    /// `ty`, compiled once per engine and type.
    pub(crate) fn host_trampoline(&self, ty: &WasmFuncType) -> Result<Arc<CodeMemory>> {
        let id = self.intern_type(ty);
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(code) = cache.get(&id) {
            return Ok(code.clone());
        }
        let tramp = self.inner.compiler.compile_host_trampoline(ty)?;
        let code =
            CodeMemory::new(&tramp.code, Vec::new()).context("cannot map executable memory")?;
        crate::profiling::register_host_trampoline(self.config().profiler, &code, ty);
        cache.insert(id, code.clone());
        Ok(code)
    }
}
