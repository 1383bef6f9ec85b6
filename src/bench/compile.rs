//! The compilation benchmark of one large module (`trestle bench
//! --compile-module FILE`): the time to compile it on Trestle with serial
//! and with parallel compilation ([`trestle::Config::parallel_compilation`]),
//! on Wasmtime (with `--compare`; its default configuration, which compiles
//! in parallel), and the time to load the same module precompiled
//! ([`trestle::Module::deserialize`] of bytes already in memory, and
//! [`trestle::Module::deserialize_file`] of a `.cwasm` file).
//!
//! Every engine runs in the same process, one after the other, with the
//! same sampling; the report's ratios compare them side by side.

use super::engines::{self, BenchEngine, EngineKind};
use super::report::{self, Group, Record, Report};
use super::{SampleOptions, Sampler, compile_bench, measure};
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use trestle::{Config, Engine, Module};

/// Compiles with a Trestle engine of the default configuration but for
/// parallel compilation.
struct TrestleCompile {
    engine: Engine,
    binary: Vec<u8>,
}

impl Sampler for TrestleCompile {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let start = Instant::now();
            let module = Module::from_binary(&self.engine, &self.binary)?;
            total += start.elapsed();
            drop(module);
        }
        Ok(total)
    }
}

/// Loads the precompiled module, from memory or from its file.
struct TrestleLoad {
    engine: Engine,
    bytes: Vec<u8>,
    file: Option<std::path::PathBuf>,
}

impl Sampler for TrestleLoad {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let start = Instant::now();
            let module = match &self.file {
                // SAFETY: the file was written by `Module::serialize` just
                // before, and nothing changes it.
                Some(path) => unsafe { Module::deserialize_file(&self.engine, path)? },
                // SAFETY: the bytes are `Module::serialize`'s output.
                None => unsafe { Module::deserialize(&self.engine, &self.bytes)? },
            };
            total += start.elapsed();
            drop(module);
        }
        Ok(total)
    }
}

/// Trestle's default configuration as a release build has it (without
/// Cranelift's verifier, which debug builds turn on), with or without
/// parallel compilation.
fn trestle_engine(parallel: bool) -> Result<Engine> {
    let mut config = Config::new();
    config
        .parallel_compilation(parallel)
        .cranelift_debug_verifier(false);
    Engine::new(&config)
}

/// Runs the compilation benchmark of the module at `path` (binary or text
/// WebAssembly) on Trestle and, with `compare`, on Wasmtime.
///
/// # Errors
///
/// When the file cannot be read, or an engine fails to compile or load
/// the module.
pub fn run_compile(
    path: &Path,
    compare: bool,
    sample: &SampleOptions,
    progress: &mut dyn Write,
) -> Result<Report> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let binary = wat::parse_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("failed to parse {}", path.display()))?
        .into_owned();
    let case = path
        .file_name()
        .map_or_else(|| "module".into(), |n| n.to_string_lossy().into_owned());
    let load_engine = trestle_engine(true)?;
    let precompiled = Module::from_binary(&load_engine, &binary)?.serialize()?;
    let cwasm = std::env::temp_dir().join(format!("trestle-bench-{}.cwasm", std::process::id()));
    std::fs::write(&cwasm, &precompiled)
        .with_context(|| format!("failed to write {}", cwasm.display()))?;

    let mut runs: Vec<(&str, &str, Box<dyn Sampler>)> = vec![
        (
            "trestle-serial",
            "compile",
            Box::new(TrestleCompile {
                engine: trestle_engine(false)?,
                binary: binary.clone(),
            }),
        ),
        (
            "trestle",
            "compile",
            Box::new(TrestleCompile {
                engine: trestle_engine(true)?,
                binary: binary.clone(),
            }),
        ),
    ];
    let wasmtime: Option<Box<dyn BenchEngine>> = if compare {
        Some(engines::engine(EngineKind::Wasmtime, true)?)
    } else {
        None
    };
    let mut wasmtime_bench = wasmtime
        .as_deref()
        .map(|engine| compile_bench(engine, vec![binary.clone()]));
    runs.push((
        "trestle-cwasm",
        "load",
        Box::new(TrestleLoad {
            engine: load_engine.clone(),
            bytes: precompiled.clone(),
            file: None,
        }),
    ));
    runs.push((
        "trestle-cwasm-file",
        "load",
        Box::new(TrestleLoad {
            engine: load_engine,
            bytes: Vec::new(),
            file: Some(cwasm.clone()),
        }),
    ));

    let mut report = Report::new(*sample);
    let total = runs.len() + usize::from(wasmtime_bench.is_some());
    let mut k = 0;
    let mut record = |engine: &str, unit: &'static str, sampler: &mut dyn Sampler| -> Result<()> {
        k += 1;
        write!(progress, "[{k}/{total}] {case:<24} {engine:<18} ")?;
        progress.flush()?;
        let mut bench = super::Bench {
            sampler: Box::new(Borrowed(sampler)),
            units_per_iter: 1,
            unit,
            fixed_n: None,
            max_n: 100_000,
        };
        let m = measure(&mut bench, sample)?;
        let r = Record::new(Group::Compile, case.clone(), engine, unit, m);
        writeln!(progress, "{} per {unit}", report::format_ns(r.median_ns()))?;
        report.records.push(r);
        Ok(())
    };
    for (i, (engine, unit, sampler)) in runs.iter_mut().enumerate() {
        record(engine, unit, &mut **sampler)?;
        if i == 1
            && let Some(b) = wasmtime_bench.as_mut()
        {
            record("wasmtime", "compile", &mut *b.sampler)?;
        }
    }
    let _ = std::fs::remove_file(&cwasm);
    Ok(report)
}

/// A sampler lent to a [`super::Bench`].
struct Borrowed<'a>(&'a mut dyn Sampler);

impl Sampler for Borrowed<'_> {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        self.0.sample(n)
    }
}
