//! The engines the benchmarks run on, behind one small adapter trait.
//!
//! [`BenchEngine`] compiles a *program*: one or more modules instantiated in
//! order in one store, each module's imports resolved by name from the
//! exports of the instance before it (the import's module name is not
//! looked at). The last instance is the one the benchmarks call: its
//! export `run(n, seed) -> i32` and its exported table `t`.
//!
//! Trestle is always available. Wasmtime and wasmi are compiled in only with
//! the `compare` cargo feature; [`engine`] says how to get them otherwise.

use anyhow::{Context as _, Result, anyhow, bail};

/// An argument or result value of a function called from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits.
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::I32(v) => write!(f, "{v}"),
            Arg::I64(v) => write!(f, "{v}"),
            Arg::F32(bits) => write!(f, "{}", f32::from_bits(*bits)),
            Arg::F64(bits) => write!(f, "{}", f64::from_bits(*bits)),
        }
    }
}

/// A WebAssembly engine with its configuration.
pub trait BenchEngine {
    /// Which engine this is.
    fn kind(&self) -> EngineKind;

    /// Compiles the modules of a program (binary format), see the
    /// [module documentation](self).
    ///
    /// # Errors
    ///
    /// When a module does not compile.
    fn compile(&self, modules: &[Vec<u8>]) -> Result<Box<dyn BenchModule>>;
}

/// A compiled program.
pub trait BenchModule {
    /// Instantiates every module of the program in a new store.
    ///
    /// # Errors
    ///
    /// When an import cannot be resolved or instantiation fails.
    fn instantiate(&self) -> Result<Box<dyn BenchInstance>>;
}

/// An instantiated program and its store.
pub trait BenchInstance {
    /// Calls the export `run(n, seed) -> i32`.
    ///
    /// # Errors
    ///
    /// When there is no such export or the call traps.
    fn run(&mut self, n: i32, seed: i32) -> Result<i32>;

    /// Calls the host API's table get `n` times on the exported table `t`,
    /// whose size must be a power of two. Each index depends on the
    /// previous result: `i = (i + 1 + is_null) & (size - 1)`, starting from
    /// `seed`. Returns the last index.
    ///
    /// # Errors
    ///
    /// When there is no such table.
    fn table_get(&mut self, n: u64, seed: u64) -> Result<u64>;

    /// Calls the host API's table set `n` times on the exported table `t`
    /// (size a power of two), storing its element 0 at indexes
    /// `i = (i + 1) & (size - 1)` from `seed`. Returns the last index.
    ///
    /// # Errors
    ///
    /// When there is no such table or a set fails.
    fn table_set(&mut self, n: u64, seed: u64) -> Result<u64>;

    /// Calls the exported function `name` `n` times (at least once) with
    /// `args` and returns the last call's results.
    ///
    /// # Errors
    ///
    /// When there is no such function, the arguments do not match its
    /// parameters or the call traps.
    fn call(&mut self, name: &str, args: &[Arg], n: u64) -> Result<Vec<Arg>>;
}

/// The engines [`engine`] can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineKind {
    /// Trestle, this runtime.
    Trestle,
    /// Wasmtime 48 (Cranelift), default configuration.
    Wasmtime,
    /// wasmi 2, the interpreter, default configuration (with 64-bit
    /// memories).
    Wasmi,
}

impl EngineKind {
    /// The engine's name as the reports print it.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Trestle => "trestle",
            EngineKind::Wasmtime => "wasmtime",
            EngineKind::Wasmi => "wasmi",
        }
    }

    /// Whether the engine has a lazy table initialization setting (wasmi
    /// always initializes tables at instantiation).
    pub fn has_table_lazy_init(self) -> bool {
        self != EngineKind::Wasmi
    }
}

/// Whether this build includes Wasmtime and wasmi (the `compare` feature).
pub const COMPARE_AVAILABLE: bool = cfg!(feature = "compare");

/// The error for a comparison requested from a build without it.
pub fn compare_unavailable() -> anyhow::Error {
    anyhow!(
        "this build has no comparison engines: rebuild with `--features compare` \
         (e.g. `cargo run --release --features compare -- bench --compare`), which adds \
         Wasmtime and wasmi"
    )
}

/// An engine of `kind` in its default configuration, with funcref tables
/// initialized lazily or at instantiation.
///
/// # Errors
///
/// When the engine cannot be created, or Wasmtime or wasmi is asked for
/// in a build without the `compare` feature.
pub fn engine(kind: EngineKind, table_lazy_init: bool) -> Result<Box<dyn BenchEngine>> {
    match kind {
        EngineKind::Trestle => Ok(Box::new(trestle_engine::new(table_lazy_init)?)),
        #[cfg(feature = "compare")]
        EngineKind::Wasmtime => Ok(Box::new(wasmtime_engine::new(table_lazy_init)?)),
        #[cfg(feature = "compare")]
        EngineKind::Wasmi => Ok(Box::new(wasmi_engine::new())),
        #[cfg(not(feature = "compare"))]
        EngineKind::Wasmtime | EngineKind::Wasmi => Err(compare_unavailable()),
    }
}

/// The table index after `i` for [`BenchInstance::table_get`].
#[inline(always)]
fn next_get_index(i: u64, is_null: bool, mask: u64) -> u64 {
    (i + 1 + u64::from(is_null)) & mask
}

/// The mask for indexes of a table of `size` elements.
fn index_mask(size: u64) -> Result<u64> {
    if !size.is_power_of_two() {
        bail!("the exported table `t` has {size} elements, not a power of two");
    }
    Ok(size - 1)
}

/// How Trestle's engine is metered in a benchmark run: not at all (the
/// default), with fuel, or with epoch checks. Set once by the command line
/// before the engines are made; the comparison engines are never metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metering {
    /// No fuel or epoch checks.
    #[default]
    None,
    /// `Config::consume_fuel`, with fuel that never runs out.
    Fuel,
    /// `Config::epoch_interruption`, with a deadline never reached.
    Epoch,
}

static METERING: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets the metering of every Trestle engine made afterwards.
pub fn set_metering(metering: Metering) {
    METERING.store(metering as u8, std::sync::atomic::Ordering::Relaxed);
}

static PERF_MAP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes every Trestle engine made afterwards write its code to the perf
/// map (`trestle bench --profile perfmap`).
pub fn set_perf_map(enable: bool) {
    PERF_MAP.store(enable, std::sync::atomic::Ordering::Relaxed);
}

static INLINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Whether every Trestle engine made afterwards inlines small functions
/// (`Config::compiler_inlining`; `trestle bench --inlining false` to
/// measure what inlining gives).
pub fn set_inlining(enable: bool) {
    INLINING.store(enable, std::sync::atomic::Ordering::Relaxed);
}

static INSTANCE_REUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Whether every Trestle engine made afterwards lets modules reuse their
/// dropped instances' tables (`Config::instance_reuse`; `trestle bench
/// --instance-reuse false` to measure what reuse gives).
pub fn set_instance_reuse(enable: bool) {
    INSTANCE_REUSE.store(enable, std::sync::atomic::Ordering::Relaxed);
}

fn profiler() -> trestle::ProfilingStrategy {
    if PERF_MAP.load(std::sync::atomic::Ordering::Relaxed) {
        trestle::ProfilingStrategy::PerfMap
    } else {
        trestle::ProfilingStrategy::None
    }
}

fn metering() -> Metering {
    match METERING.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Metering::Fuel,
        2 => Metering::Epoch,
        _ => Metering::None,
    }
}

/// Defines the adapters of an engine whose embedding API is shaped like
/// Wasmtime's, as Trestle's and wasmi's are, from one source: `Adapter`
/// (the [`BenchEngine`], made from an engine of the crate), `Program`
/// and `Inst`. `api` is the crate, `kind` the engine's [`EngineKind`];
/// `load` compiles one module; `prepare` readies each new store before
/// instantiation (by default it does nothing); `f32` and `f64` convert the
/// bits of a float to the crate's value of it and back (by default the
/// crate's value is the bits).
macro_rules! wasmtime_shaped_engine {
    // The given function, or the default.
    (@or $default:tt) => {
        $default
    };
    (@or $default:tt $given:expr) => {
        $given
    };
    (
        api: $api:ident,
        kind: $kind:expr,
        load: $load:expr,
        $(prepare: $prepare:expr,)?
        $(f32: ($from32:expr, $to32:expr), f64: ($from64:expr, $to64:expr),)?
    ) => {
        use $api::{Engine, Extern, Instance, Module, Store, Table, TypedFunc, Val};

        pub(super) struct Adapter {
            engine: Engine,
        }

        impl BenchEngine for Adapter {
            fn kind(&self) -> EngineKind {
                $kind
            }

            fn compile(&self, modules: &[Vec<u8>]) -> Result<Box<dyn BenchModule>> {
                let load: fn(&Engine, &[u8]) -> Result<Module> = $load;
                let modules = modules
                    .iter()
                    .map(|m| load(&self.engine, m))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Box::new(Program {
                    engine: self.engine.clone(),
                    modules,
                }))
            }
        }

        struct Program {
            engine: Engine,
            modules: Vec<Module>,
        }

        impl BenchModule for Program {
            fn instantiate(&self) -> Result<Box<dyn BenchInstance>> {
                let mut store = Store::new(&self.engine, ());
                let prepare: fn(&mut Store<()>) -> Result<()> =
                    wasmtime_shaped_engine!(@or (|_| Ok(())) $($prepare)?);
                prepare(&mut store)?;
                let mut last: Option<Instance> = None;
                for module in &self.modules {
                    let mut imports = Vec::new();
                    if let Some(prev) = last {
                        for import in module.imports() {
                            let item =
                                prev.get_export(&mut store, import.name())
                                    .with_context(|| {
                                        format!("no export `{}` to import", import.name())
                                    })?;
                            imports.push(item);
                        }
                    }
                    last = Some(Instance::new(&mut store, module, &imports)?);
                }
                Ok(Box::new(Inst {
                    store,
                    instance: last.context("a program without modules")?,
                    run: None,
                }))
            }
        }

        struct Inst {
            store: Store<()>,
            instance: Instance,
            run: Option<TypedFunc<(i32, i32), i32>>,
        }

        impl Inst {
            fn table(&mut self) -> Result<Table> {
                self.instance
                    .get_table(&mut self.store, "t")
                    .context("the module exports no table `t`")
            }
        }

        impl BenchInstance for Inst {
            #[allow(
                clippy::needless_question_mark,
                reason = "Trestle's errors are `anyhow` errors already, Wasmtime's convert"
            )]
            fn run(&mut self, n: i32, seed: i32) -> Result<i32> {
                if self.run.is_none() {
                    self.run = Some(self.instance.get_typed_func(&mut self.store, "run")?);
                }
                let run = self.run.as_ref().expect("looked up above");
                Ok(run.call(&mut self.store, (n, seed))?)
            }

            fn table_get(&mut self, n: u64, seed: u64) -> Result<u64> {
                let table = self.table()?;
                let mask = index_mask(table.size(&self.store))?;
                let mut i = seed & mask;
                for _ in 0..n {
                    let is_null = table.get(&mut self.store, i).is_none_or(|r| r.is_null());
                    i = next_get_index(i, is_null, mask);
                }
                Ok(i)
            }

            #[allow(
                clippy::clone_on_copy,
                reason = "Trestle's references are `Copy`, Wasmtime's only `Clone`"
            )]
            fn table_set(&mut self, n: u64, seed: u64) -> Result<u64> {
                let table = self.table()?;
                let mask = index_mask(table.size(&self.store))?;
                let value = table
                    .get(&mut self.store, 0)
                    .context("the table `t` is empty")?;
                let mut i = seed & mask;
                for _ in 0..n {
                    table.set(&mut self.store, i, value.clone())?;
                    i = (i + 1) & mask;
                }
                Ok(i)
            }

            fn call(&mut self, name: &str, args: &[Arg], n: u64) -> Result<Vec<Arg>> {
                let func = match self.instance.get_export(&mut self.store, name) {
                    Some(Extern::Func(f)) => f,
                    _ => bail!("the module exports no function `{name}`"),
                };
                // Floats cross as their bits, or through the crate's own type.
                let (from32, to32) = wasmtime_shaped_engine!(
                    @or (std::convert::identity, std::convert::identity) $(($from32, $to32))?
                );
                let (from64, to64) = wasmtime_shaped_engine!(
                    @or (std::convert::identity, std::convert::identity) $(($from64, $to64))?
                );
                let params: Vec<Val> = args
                    .iter()
                    .map(|a| match *a {
                        Arg::I32(v) => Val::I32(v),
                        Arg::I64(v) => Val::I64(v),
                        Arg::F32(v) => Val::F32(from32(v)),
                        Arg::F64(v) => Val::F64(from64(v)),
                    })
                    .collect();
                let ty = func.ty(&self.store);
                let mut results: Vec<Val> = ty.results().into_iter().map(|_| Val::I32(0)).collect();
                for _ in 0..n.max(1) {
                    func.call(&mut self.store, &params, &mut results)?;
                }
                results
                    .iter()
                    .map(|v| match v {
                        Val::I32(v) => Ok(Arg::I32(*v)),
                        Val::I64(v) => Ok(Arg::I64(*v)),
                        Val::F32(v) => Ok(Arg::F32(to32(*v))),
                        Val::F64(v) => Ok(Arg::F64(to64(*v))),
                        other => Err(anyhow!("unsupported result {other:?}")),
                    })
                    .collect()
            }
        }
    };
}

mod trestle_engine {
    use super::*;

    wasmtime_shaped_engine! {
        api: trestle,
        kind: EngineKind::Trestle,
        load: crate::run::module_from_bytes,
        prepare: |store| {
            match metering() {
                Metering::None => {}
                Metering::Fuel => store.set_fuel(u64::MAX)?,
                Metering::Epoch => store.set_epoch_deadline(u64::MAX),
            }
            Ok(())
        },
    }

    pub(super) fn new(table_lazy_init: bool) -> Result<Adapter> {
        let mut config = trestle::Config::new();
        config
            .table_lazy_init(table_lazy_init)
            .consume_fuel(metering() == Metering::Fuel)
            .epoch_interruption(metering() == Metering::Epoch)
            .compiler_inlining(INLINING.load(std::sync::atomic::Ordering::Relaxed))
            .instance_reuse(INSTANCE_REUSE.load(std::sync::atomic::Ordering::Relaxed))
            .profiler(profiler());
        Ok(Adapter {
            engine: Engine::new(&config)?,
        })
    }
}

#[cfg(feature = "compare")]
mod wasmtime_engine {
    use super::*;

    wasmtime_shaped_engine! {
        api: wasmtime,
        kind: EngineKind::Wasmtime,
        load: |engine, bytes| Ok(Module::from_binary(engine, bytes)?),
    }

    pub(super) fn new(table_lazy_init: bool) -> Result<Adapter> {
        let mut config = wasmtime::Config::default();
        // 64-bit memories for the memory group, as Trestle has them.
        config.table_lazy_init(table_lazy_init).wasm_memory64(true);
        Ok(Adapter {
            engine: Engine::new(&config)?,
        })
    }
}

#[cfg(feature = "compare")]
mod wasmi_engine {
    use super::*;

    wasmtime_shaped_engine! {
        api: wasmi,
        kind: EngineKind::Wasmi,
        load: |engine, bytes| Ok(Module::new(engine, bytes)?),
        prepare: |_| Ok(()),
        f32: (wasmi::F32::from_bits, wasmi::F32::to_bits),
        f64: (wasmi::F64::from_bits, wasmi::F64::to_bits),
    }

    pub(super) fn new() -> Adapter {
        // 64-bit memories for the memory group; otherwise the defaults.
        let mut config = wasmi::Config::default();
        config.wasm_memory64(true);
        Adapter {
            engine: Engine::new(&config),
        }
    }
}
