//! Running a module from the command line: `trestle run`.
//!
//! [`run_file`] compiles a `.wasm` or `.wat` file, instantiates it and calls
//! either the export named by `--invoke` (with arguments parsed from text by
//! the function's parameter types, see [`parse_arg`]) or `_start`. Results
//! come back as text, one value per line ([`format_val`]). A module without
//! `_start` and no `--invoke` gets its exports listed instead.
//!
//! The only imports `trestle run` provides are the functions of WASI
//! preview 1 (`wasi_snapshot_preview1`, from `trestle-wasi`). The import
//! section is checked before compilation ([`check_imports`]), so a module
//! that imports anything else fails at once with the module and field
//! named. A module that imports WASI runs as a WASI command ([`run_command`]
//! with [`WasiOptions`]): its arguments become the guest's `argv`, `--env`
//! and `--dir` give it environment variables and preopened directories,
//! standard streams are the host's, and `proc_exit` becomes the exit code.

use crate::features::Features;
use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use trestle::{
    Config, Engine, ExternType, FuncType, HeapType, Instance, Linker, Module, Result, Store, Trap,
    Val, ValType,
};
use trestle_wasi::{DirPerms, FilePerms, I32Exit, WasiCtxBuilder, WasiP1Ctx};

/// How to run: `--fuel`, `--timeout`, `--table-lazy-init` and `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Fuel for the whole run (one unit per operator), if metered.
    pub fuel: Option<u64>,
    /// Wall-clock time after which wasm is interrupted, if limited.
    pub timeout: Option<Duration>,
    /// Initialize funcref tables lazily ([`Config::table_lazy_init`]).
    pub table_lazy_init: bool,
    /// The profiler compiled code is described to ([`Config::profiler`]).
    pub profiler: trestle::ProfilingStrategy,
    /// The WebAssembly features the module may use.
    pub features: Features,
    /// Run precompiled (`.cwasm`) files. They hold machine code that runs
    /// as it is, so they are refused unless the user says they trust them
    /// (`--allow-precompiled`, as in Wasmtime's CLI): a file that merely
    /// claims to be WebAssembly must never run native code.
    pub allow_precompiled: bool,
}

impl Default for RunOptions {
    /// No fuel, no timeout, lazy tables, the default features: the
    /// runtime's defaults.
    fn default() -> Self {
        RunOptions {
            fuel: None,
            timeout: None,
            table_lazy_init: true,
            profiler: trestle::ProfilingStrategy::None,
            features: Features::DEFAULT,
            allow_precompiled: false,
        }
    }
}

impl RunOptions {
    /// An engine configured for these options.
    ///
    /// # Errors
    ///
    /// When the host CPU is not supported.
    pub fn engine(&self) -> Result<Engine> {
        let mut config = Config::new();
        self.features.configure(&mut config);
        config
            .consume_fuel(self.fuel.is_some())
            .epoch_interruption(self.timeout.is_some())
            .table_lazy_init(self.table_lazy_init)
            .profiler(self.profiler);
        Engine::new(&config)
    }
}

/// Compiles the module at `path` (binary or text) and runs it, see the
/// [module documentation](self). Returns the lines to print.
///
/// # Errors
///
/// When the file cannot be read or compiled, or the run fails or traps.
pub fn run_file(path: &Path, invoke: Option<&str>, args: &[String]) -> Result<Vec<String>> {
    run_file_with(path, invoke, args, RunOptions::default())
}

/// [`run_file`] with fuel and time options and a table initialization
/// mode.
///
/// # Errors
///
/// As [`run_file`]; running out of fuel or time is an error that says so,
/// and so is a WASI program's nonzero exit.
pub fn run_file_with(
    path: &Path,
    invoke: Option<&str>,
    args: &[String],
    options: RunOptions,
) -> Result<Vec<String>> {
    let outcome = run_command(path, invoke, args, options, &WasiOptions::default())?;
    if outcome.exit_code != 0 {
        bail!("the program exited with status {}", outcome.exit_code);
    }
    Ok(outcome.lines)
}

/// How `trestle run` sets up WASI for a module that imports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasiOptions {
    /// Preopened directories, `--dir HOST[::GUEST]`: the host directory and
    /// the name the guest sees.
    pub dirs: Vec<(PathBuf, String)>,
    /// Environment variables, `--env NAME[=VALUE]`, resolved.
    pub env: Vec<(String, String)>,
}

impl WasiOptions {
    /// Reads `--dir` values: `HOST::GUEST`, or `HOST` alone for the same
    /// name inside and out.
    pub fn parse_dir(text: &str) -> (PathBuf, String) {
        match text.split_once("::") {
            Some((host, guest)) => (PathBuf::from(host), guest.to_string()),
            None => (PathBuf::from(text), text.to_string()),
        }
    }

    /// Reads `--env` values: `NAME=VALUE`, or `NAME` alone to pass the
    /// host's value (nothing when the host has none).
    pub fn parse_env(text: &str) -> Option<(String, String)> {
        match text.split_once('=') {
            Some((name, value)) => Some((name.to_string(), value.to_string())),
            None => std::env::var(text).ok().map(|v| (text.to_string(), v)),
        }
    }
}

/// What a run printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutcome {
    /// Lines to print: the results of `--invoke`, or the export listing.
    pub lines: Vec<String>,
    /// The process exit code: the guest's `proc_exit` status, 0 otherwise.
    pub exit_code: i32,
}

/// Runs the module at `path` as `trestle run` does: checks its imports,
/// compiles it, and runs it with WASI when it imports
/// `wasi_snapshot_preview1` (standard streams inherited), otherwise
/// without imports as [`run_module_with`].
///
/// # Errors
///
/// When the file cannot be read, imports something other than WASI
/// preview 1, fails to compile, or the run fails or traps. A WASI
/// program's `proc_exit` is not an error: its status is the outcome's
/// exit code.
pub fn run_command(
    path: &Path,
    invoke: Option<&str>,
    args: &[String],
    options: RunOptions,
    wasi: &WasiOptions,
) -> Result<RunOutcome> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let engine = options.engine()?;
    let (module, uses_wasi) = if Module::is_precompiled(&bytes) {
        refuse_untrusted_precompiled(path, options.allow_precompiled)?;
        let module = load_precompiled(&engine, &bytes)
            .with_context(|| format!("failed to load {}", path.display()))?;
        let uses_wasi = check_import_list(module.imports().map(|i| {
            let is_func = matches!(i.ty(), trestle::ExternType::Func(_));
            (i.module().to_string(), i.name().to_string(), is_func)
        }))?;
        (module, uses_wasi)
    } else {
        let binary = wat::parse_bytes(&bytes)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("failed to parse {}", path.display()))?;
        let uses_wasi = check_imports(&binary)?;
        let module = Module::from_binary(&engine, &binary)
            .with_context(|| format!("failed to compile {}", path.display()))?;
        (module, uses_wasi)
    };
    if !uses_wasi {
        let lines = run_module_with(&engine, &module, invoke, args, options)?;
        return Ok(RunOutcome {
            lines,
            exit_code: 0,
        });
    }

    let mut builder = WasiCtxBuilder::new();
    builder
        .inherit_stdio()
        .arg(path.to_string_lossy())
        .args(args);
    for (name, value) in &wasi.env {
        builder.env(name, value);
    }
    for (host, guest) in &wasi.dirs {
        builder.preopened_dir(host, guest, DirPerms::ALL, FilePerms::ALL)?;
    }
    let mut linker = Linker::<WasiP1Ctx>::new(&engine);
    trestle_wasi::add_to_linker(&mut linker, |cx| cx)?;
    let (mut store, _watchdog) = new_store(&engine, builder.build_p1(), options)?;
    let exit = |e: &trestle::Error| e.downcast_ref::<I32Exit>().map(|code| code.0);
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => match exit(&e) {
            Some(code) => return Ok(exit_outcome(code)),
            None => {
                return Err(explain(e, options)).context("failed to instantiate the module");
            }
        },
    };
    let name = match invoke {
        Some(name) => {
            // A WASI reactor initializes itself before any other export is
            // called.
            let init = instance.get_func(&mut store, "_initialize");
            if let Some(Err(e)) = init.map(|f| f.call(&mut store, &[], &mut [])) {
                return match exit(&e) {
                    Some(code) => Ok(exit_outcome(code)),
                    None => Err(explain(e, options)).context("failed to run `_initialize`"),
                };
            }
            name
        }
        None if module.exports().any(|e| e.name() == "_start") => "_start",
        None => {
            return Ok(RunOutcome {
                lines: list_exports(&module),
                exit_code: 0,
            });
        }
    };
    let call_args: &[String] = if invoke.is_some() { args } else { &[] };
    match call_export(&mut store, instance, &module, name, call_args, options) {
        Ok(lines) => Ok(RunOutcome {
            lines,
            exit_code: 0,
        }),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(code) => Ok(exit_outcome(code.0)),
            None => Err(e),
        },
    }
}

fn exit_outcome(code: i32) -> RunOutcome {
    RunOutcome {
        lines: Vec::new(),
        exit_code: code,
    }
}

/// Checks the import section of `binary` before anything is compiled:
/// every import must be a function of WASI preview 1, the only imports
/// `trestle run` provides. Returns whether the module imports WASI.
///
/// # Errors
///
/// When the module imports anything else (the error names the first such
/// import's module and field), or its import section is malformed.
pub fn check_imports(binary: &[u8]) -> Result<bool> {
    let mut imports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(binary) {
        let wasmparser::Payload::ImportSection(reader) = payload? else {
            continue;
        };
        for import in reader.into_imports() {
            let import = import?;
            let is_func = matches!(import.ty, wasmparser::TypeRef::Func(_));
            imports.push((import.module.to_string(), import.name.to_string(), is_func));
        }
    }
    check_import_list(imports)
}

/// [`check_imports`] of a list of imports: `(module, name, is a
/// function)`.
fn check_import_list(imports: impl IntoIterator<Item = (String, String, bool)>) -> Result<bool> {
    let mut uses_wasi = false;
    for (module, name, is_func) in imports {
        if module == trestle_wasi::MODULE
            && is_func
            && trestle_wasi::FUNCTIONS.contains(&name.as_str())
        {
            uses_wasi = true;
            continue;
        }
        bail!(
            "unknown import `{module}::{name}`: trestle run provides only `{}` (WASI preview 1 functions)",
            trestle_wasi::MODULE
        );
    }
    Ok(uses_wasi)
}

/// The error for a precompiled file the user has not said they trust.
///
/// # Errors
///
/// Unless `allowed`.
pub fn refuse_untrusted_precompiled(path: &Path, allowed: bool) -> Result<()> {
    if !allowed {
        bail!(
            "{} is a precompiled module (from `trestle compile`): its machine code runs as it is, \
             so run it only if you trust it as a native executable, with --allow-precompiled",
            path.display()
        );
    }
    Ok(())
}

/// Loads a precompiled module (a `.cwasm` file from `trestle compile`).
///
/// The command line trusts the files it is given: a `.cwasm` file holds
/// machine code that runs as it is, so it is to be trusted as a native
/// executable would be. The format's checks catch a damaged file and one
/// made by another Trestle version, for another CPU or with other
/// settings.
///
/// # Errors
///
/// When the bytes are not a loadable precompiled module for `engine`.
pub fn load_precompiled(engine: &Engine, bytes: &[u8]) -> Result<Module> {
    // SAFETY: the command line trusts the `.cwasm` files it is given (see
    // above); damage and mismatches are caught by the format's checks.
    unsafe { Module::deserialize(engine, bytes) }
}

/// A module from the bytes of a file: precompiled (`.cwasm`), binary or
/// text WebAssembly.
///
/// # Errors
///
/// When the bytes do not load or compile.
pub fn module_from_bytes(engine: &Engine, bytes: &[u8]) -> Result<Module> {
    if Module::is_precompiled(bytes) {
        load_precompiled(engine, bytes)
    } else {
        Module::new(engine, bytes)
    }
}

/// Compiles the module at `input` (binary or text) and writes it
/// precompiled to `output`: the `trestle compile` command.
///
/// # Errors
///
/// When the input cannot be read or compiled, or the output written.
pub fn compile_file(input: &Path, output: &Path, options: RunOptions) -> Result<()> {
    let bytes =
        std::fs::read(input).with_context(|| format!("failed to read {}", input.display()))?;
    let engine = options.engine()?;
    let module = Module::new(&engine, &bytes)
        .with_context(|| format!("failed to compile {}", input.display()))?;
    std::fs::write(output, module.serialize()?)
        .with_context(|| format!("failed to write {}", output.display()))
}

/// Instantiates `module` in a fresh store and runs it, like [`run_file`].
///
/// # Errors
///
/// As [`run_file`].
pub fn run_module(
    engine: &Engine,
    module: &Module,
    invoke: Option<&str>,
    args: &[String],
) -> Result<Vec<String>> {
    run_module_with(engine, module, invoke, args, RunOptions::default())
}

/// [`run_module`] with fuel and time options; `engine` must come from
/// [`RunOptions::engine`] for the options to apply.
///
/// # Errors
///
/// As [`run_file_with`].
pub fn run_module_with(
    engine: &Engine,
    module: &Module,
    invoke: Option<&str>,
    args: &[String],
    options: RunOptions,
) -> Result<Vec<String>> {
    check_no_imports(module)?;

    let name = match invoke {
        Some(name) => name,
        None if module.exports().any(|e| e.name() == "_start") => "_start",
        None => {
            if !args.is_empty() {
                bail!("arguments were given but no function to pass them to; use --invoke NAME");
            }
            return Ok(list_exports(module));
        }
    };

    let (mut store, _watchdog) = new_store(engine, (), options)?;
    let instance = Instance::new(&mut store, module, &[])
        .map_err(|e| explain(e, options))
        .context("failed to instantiate the module")?;
    call_export(&mut store, instance, module, name, args, options)
}

/// The listing printed for a module without `_start` and no `--invoke`.
fn list_exports(module: &Module) -> Vec<String> {
    let mut lines =
        vec!["the module has no `_start` function; call an export with --invoke NAME:".to_string()];
    if module.exports().next().is_none() {
        lines[0] = "the module has no `_start` function and no exports".to_string();
    }
    lines.extend(
        module
            .exports()
            .map(|e| format!("  {}", describe_extern(e.name(), &e.ty()))),
    );
    lines
}

/// A store for one run, with its fuel and its watchdog: a thread that
/// bumps the epoch once the timeout passes, and stops early when the run
/// ends and the returned sender is dropped.
fn new_store<T: 'static>(
    engine: &Engine,
    data: T,
    options: RunOptions,
) -> Result<(Store<T>, mpsc::Sender<()>)> {
    let mut store = Store::new(engine, data);
    if let Some(fuel) = options.fuel {
        store.set_fuel(fuel)?;
    }
    let (done, watchdog) = mpsc::channel::<()>();
    if let Some(timeout) = options.timeout {
        store.set_epoch_deadline(1);
        let engine = engine.clone();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(timeout) {
                engine.increment_epoch();
            }
        });
    }
    Ok((store, done))
}

/// Says so when an error is running out of fuel or time.
fn explain(e: trestle::Error, options: RunOptions) -> trestle::Error {
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => e.context(format!(
            "ran out of fuel ({} units)",
            options.fuel.unwrap_or(0)
        )),
        Some(Trap::Interrupt) => e.context(format!(
            "timed out after {:?}",
            options.timeout.unwrap_or_default()
        )),
        _ => e,
    }
}

/// Calls export `name` of `instance` with `args` read by its parameter
/// types and formats the results. An error of the call itself is returned
/// unchanged apart from an added context, so `I32Exit` can be downcast.
fn call_export<T: 'static>(
    store: &mut Store<T>,
    instance: Instance,
    module: &Module,
    name: &str,
    args: &[String],
    options: RunOptions,
) -> Result<Vec<String>> {
    let func = instance.get_func(&mut *store, name).ok_or_else(|| {
        let funcs: Vec<String> = module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| format!("`{}`", e.name()))
            .collect();
        if funcs.is_empty() {
            anyhow!("the module exports no function `{name}` (it exports no functions at all)")
        } else {
            anyhow!(
                "the module exports no function `{name}`; its functions are {}",
                funcs.join(", ")
            )
        }
    })?;

    let ty = func.ty(&*store);
    let param_types: Vec<ValType> = ty.params().collect();
    if param_types.len() != args.len() {
        bail!(
            "`{name}` takes {} argument{} {}, but {} {} given",
            param_types.len(),
            if param_types.len() == 1 { "" } else { "s" },
            signature(&ty),
            args.len(),
            if args.len() == 1 { "was" } else { "were" },
        );
    }
    let mut params = Vec::with_capacity(args.len());
    for (i, (ty, text)) in param_types.iter().zip(args).enumerate() {
        let value = parse_arg(ty, text)
            .with_context(|| format!("argument {} of `{name}` ({text:?})", i + 1))?;
        params.push(value);
    }
    let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
    func.call(&mut *store, &params, &mut results)
        .map_err(|e| explain(e, options))
        .with_context(|| format!("failed to run `{name}`"))?;
    Ok(results.iter().map(format_val).collect())
}

/// Fails, naming every import, when `module` has imports: without WASI,
/// `trestle run` defines no host functions.
fn check_no_imports(module: &Module) -> Result<()> {
    let imports: Vec<String> = module
        .imports()
        .map(|i| format!("`{}`.`{}` ({})", i.module(), i.name(), extern_kind(&i.ty())))
        .collect();
    match imports.len() {
        0 => Ok(()),
        1 => bail!(
            "the module imports {}, which `trestle run` does not provide (it has no host functions)",
            imports[0]
        ),
        n => bail!(
            "the module has {n} imports, which `trestle run` does not provide (it has no host functions): {}",
            imports.join(", ")
        ),
    }
}

/// Parses a duration such as `500ms`, `2s`, `1.5s` or `3m` (a bare number
/// is seconds).
///
/// # Errors
///
/// When the text is not a non-negative number with one of the units `ms`,
/// `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| anyhow!("invalid duration {text:?}: expected e.g. 500ms, 2s or 1m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => bail!("invalid duration unit {other:?} in {text:?}: use ms, s, m or h"),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| anyhow!("invalid duration {text:?}: {e}"))
}

/// Parses a command-line argument as a value of type `ty`.
///
/// - `i32`, `i64`: decimal (`-7`) or hexadecimal (`0xff`, `-0x10`); values up
///   to the unsigned maximum wrap (`4294967295` is `-1` as `i32`).
/// - `f32`, `f64`: decimal (`1.5`, `-2e10`), `inf`, `-inf` or `nan`.
/// - `funcref`, `externref`: only `null`.
pub fn parse_arg(ty: &ValType, text: &str) -> Result<Val> {
    let value = match ty {
        ValType::I32 => {
            let v = parse_integer(text, i32::MIN.into(), u32::MAX.into())?;
            Val::I32(v as i32)
        }
        ValType::I64 => {
            let v = parse_integer(text, i64::MIN.into(), u64::MAX.into())?;
            Val::I64(v as i64)
        }
        ValType::F32 => Val::F32(parse_float::<f32>(text)?.to_bits()),
        ValType::F64 => Val::F64(parse_float::<f64>(text)?.to_bits()),
        ValType::Ref(r) => {
            if text != "null" {
                bail!("only `null` can be passed as a {}", valtype_name(ty));
            }
            if matches!(r.heap_type(), HeapType::Extern) {
                Val::ExternRef(None)
            } else if matches!(r.heap_type(), HeapType::Func) {
                Val::FuncRef(None)
            } else {
                bail!("parameters of type {} are not supported", valtype_name(ty))
            }
        }
        _ => bail!("parameters of type {} are not supported", valtype_name(ty)),
    };
    Ok(value)
}

fn parse_integer(text: &str, min: i128, max: i128) -> Result<i128> {
    let invalid = || anyhow!("`{text}` is not an integer (expected decimal or 0x hexadecimal)");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (digits, radix) = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => (hex, 16),
        None => (digits, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(invalid());
    }
    let magnitude = u128::from_str_radix(digits, radix).map_err(|_| invalid())?;
    let magnitude = i128::try_from(magnitude).map_err(|_| invalid())?;
    let value = if negative { -magnitude } else { magnitude };
    if value < min || value > max {
        bail!("`{text}` is out of range");
    }
    Ok(value)
}

fn parse_float<F: std::str::FromStr>(text: &str) -> Result<F> {
    // Rust's float syntax already accepts `inf`, `infinity` and `nan` in any
    // case, with an optional sign.
    text.parse::<F>()
        .map_err(|_| anyhow!("`{text}` is not a number (expected e.g. 1.5, -2e10, inf or nan)"))
}

/// Formats a result: integers in signed decimal, floats in Rust's shortest
/// round-trip decimal (`inf`, `NaN`), references as `null`, `<funcref>` or
/// `<externref>`.
pub fn format_val(value: &Val) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
        other => format!("{other:?}"),
    }
}

/// The text-format name of a value type: `i32`, `funcref`, ...
pub fn valtype_name(ty: &ValType) -> String {
    match ty {
        ValType::I32 => "i32".to_string(),
        ValType::I64 => "i64".to_string(),
        ValType::F32 => "f32".to_string(),
        ValType::F64 => "f64".to_string(),
        ValType::Ref(r) => {
            if matches!(r.heap_type(), HeapType::Func) {
                "funcref".to_string()
            } else if matches!(r.heap_type(), HeapType::Extern) {
                "externref".to_string()
            } else {
                format!("{r:?}")
            }
        }
        _ => "v128".to_string(),
    }
}

/// A function signature: `(i32, i64) -> f32`, `()`, `(i32) -> (i32, i32)`.
pub fn signature(ty: &FuncType) -> String {
    let params: Vec<String> = ty.params().map(|t| valtype_name(&t)).collect();
    let results: Vec<String> = ty.results().map(|t| valtype_name(&t)).collect();
    let mut out = format!("({})", params.join(", "));
    match results.len() {
        0 => {}
        1 => out = format!("{out} -> {}", results[0]),
        _ => out = format!("{out} -> ({})", results.join(", ")),
    }
    out
}

/// One export or import: `func fib(i32) -> i32`, `memory memory`, ...
pub fn describe_extern(name: &str, ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => format!("func {name}{}", signature(f)),
        _ => format!("{} {name}", extern_kind(ty)),
    }
}

fn extern_kind(ty: &ExternType) -> &'static str {
    if matches!(ty, ExternType::Func(_)) {
        "func"
    } else if matches!(ty, ExternType::Memory(_)) {
        "memory"
    } else if matches!(ty, ExternType::Table(_)) {
        "table"
    } else if matches!(ty, ExternType::Global(_)) {
        "global"
    } else {
        "extern"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let i32_range = (i128::from(i32::MIN), i128::from(u32::MAX));
        let p = |s| parse_integer(s, i32_range.0, i32_range.1).ok();
        assert_eq!(p("42"), Some(42));
        assert_eq!(p("-7"), Some(-7));
        assert_eq!(p("+7"), Some(7));
        assert_eq!(p("0xff"), Some(255));
        assert_eq!(p("-0x10"), Some(-16));
        assert_eq!(p("4294967295").map(|v| v as i32), Some(-1));
        assert_eq!(p("4294967296"), None);
        assert_eq!(p("-2147483649"), None);
        assert_eq!(p("0x"), None);
        assert_eq!(p("1.5"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("0x+5"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_float::<f32>("1.5").ok(), Some(1.5));
        assert_eq!(parse_float::<f64>("-inf").ok(), Some(f64::NEG_INFINITY));
        assert!(parse_float::<f32>("nan").unwrap().is_nan());
        assert!(parse_float::<f32>("one").is_err());
    }
}
