//! `trestle`: run WebAssembly modules and `.wast` scripts with the Trestle
//! runtime.

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use trestle_cli::wast::{CaseOutcome, Features, FileOutcome, WastConfig, panic_message, run_wast};

/// Run WebAssembly modules and .wast scripts with Trestle.
///
/// Trestle compiles WebAssembly to native code with Cranelift.
#[derive(Parser)]
#[command(name = "trestle", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(RunArgs),
    Compile(CompileArgs),
    Wast(WastArgs),
    Bench(BenchArgs),
}

/// Compile a WebAssembly module ahead of time, to a .cwasm file that
/// `trestle run` and `trestle bench --module` load without compiling.
///
/// A .cwasm file holds machine code for this CPU, made by this version of
/// Trestle with these settings; loading it anywhere else is refused with
/// an error naming the difference. It runs as it is: trust .cwasm files
/// as you would native executables.
///
/// Example: trestle compile examples/fib.wat -o fib.cwasm
///          trestle run --allow-precompiled fib.cwasm --invoke fib 30
#[derive(Args)]
struct CompileArgs {
    /// The module: a binary .wasm file or a .wat text file.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Where to write the precompiled module (default: FILE with the
    /// extension .cwasm).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// Compile for metering with fuel, as `trestle run --fuel` needs.
    #[arg(long)]
    fuel: bool,

    /// Compile with epoch checks, as `trestle run --timeout` needs.
    #[arg(long)]
    interruptible: bool,

    /// Compile for lazily (true, the default) or eagerly initialized
    /// funcref tables, as `trestle run --table-lazy-init` will use.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    table_lazy_init: bool,

    /// Turn WebAssembly features off, as `trestle run --disable` will: a
    /// comma-separated list of names such as tail-call, simd, memory64.
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    disable: Vec<String>,
}

/// Compile and run a WebAssembly module.
///
/// Calls the function named by --invoke with ARGS and prints its results, one
/// per line. Without --invoke, runs the module's `_start` function if it
/// exports one, and otherwise lists the module's exports.
///
/// A module that imports WASI preview 1 (`wasi_snapshot_preview1`) runs as a
/// WASI program: ARGS are its command-line arguments (after FILE, its
/// argv[0]), --env and --dir give it environment variables and directories,
/// standard input and output are the terminal's, and its exit status is
/// trestle's. With --invoke, a WASI reactor's `_initialize` runs first.
/// A trap exits with status 134 (as after SIGABRT), other errors with 1.
/// Other imports are not provided: such a module is refused before it is
/// compiled.
///
/// Examples: trestle run examples/fib.wat --invoke fib 30
///           trestle run --dir data::/ examples/hello-wasi.wasm world
#[derive(Args)]
struct RunArgs {
    /// The module: a binary .wasm file, a .wat text file, or (with
    /// --allow-precompiled) a .cwasm file from `trestle compile`.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Call the exported function NAME instead of `_start`.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// Give a WASI program the host directory HOST, under the name GUEST
    /// (HOST itself when `::GUEST` is left out). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Set an environment variable of a WASI program; NAME alone passes
    /// the host's value. The program sees no other variables. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,

    /// Arguments for the function, read by its parameter types: i32/i64 in
    /// decimal or 0x hexadecimal (e.g. -7, 0xff), f32/f64 in decimal or inf,
    /// -inf, nan. They come after FILE and --invoke.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,

    /// Meter execution: stop with an error after N units of fuel (one per
    /// WebAssembly operator).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// Stop with an error when the run takes longer than DURATION
    /// (e.g. 500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", value_parser = trestle_cli::run::parse_duration)]
    timeout: Option<std::time::Duration>,

    /// Initialize funcref tables lazily, on first use of each element
    /// (true, the default), or at instantiation (false).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    table_lazy_init: bool,

    /// Describe the compiled code to a profiler: `perfmap` writes
    /// /tmp/perf-<pid>.map for `perf record` / `perf report`.
    #[arg(long, value_name = "PROFILER", value_parser = parse_profiler)]
    profile: Option<trestle::ProfilingStrategy>,

    /// Run a precompiled .cwasm file: its machine code runs as it is, so
    /// pass this only for files you trust as you would a native executable.
    #[arg(long)]
    allow_precompiled: bool,

    /// Turn WebAssembly features off (all of standard WebAssembly 3.0 that
    /// Trestle implements is on by default): a comma-separated list of
    /// names such as tail-call, simd, multi-memory, memory64.
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    disable: Vec<String>,
}

/// Run .wast scripts, the format of the WebAssembly spec tests.
///
/// Runs every directive of every script and prints one line per script:
/// PASS with the number of assertions, or FAIL with the first failures and
/// their line numbers; then a total. Scripts run against the `spectest` host
/// module, with the engine's default features (all of standard WebAssembly
/// 3.0 that Trestle implements, but the GC subset), or
/// exactly one edition's features with --standard. Exits with status 1 when
/// any assertion failed.
#[derive(Args)]
struct WastArgs {
    /// The scripts to run.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,

    /// Run with exactly the features of one edition of the standard:
    /// 1.0, 2.0 or 3.0 (as far as Trestle implements it), as the spec
    /// suites of that edition expect.
    #[arg(long, value_name = "VERSION")]
    standard: Option<String>,

    /// Turn features off: a comma-separated list of names such as
    /// tail-call, simd, multi-memory, memory64.
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    disable: Vec<String>,

    /// Initialize funcref tables lazily, on first use of each element
    /// (true, the default), or at instantiation (false).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    table_lazy_init: bool,
}

/// Measure call_indirect throughput, table operations, SIMD kernels,
/// compilation and instantiation.
///
/// Runs the built-in suite on Trestle, with a native Rust baseline (a slice
/// of `fn(i32) -> i32` called in the same loop), and prints one table per
/// group; progress goes to stderr. Each call_indirect case loops inside
/// WebAssembly, every call taking the previous call's result, so the time
/// per call is its latency. Reports the median of the samples, and writes
/// the results as JSON and bar charts of every group as SVG.
///
/// With --compare (in a build with `--features compare`) the same modules
/// also run on Wasmtime and wasmi. With --module FILE --invoke NAME [ARGS],
/// times calls of your own exported function instead.
///
/// Example: cargo run --release -- bench
#[derive(Args)]
struct BenchArgs {
    /// Also run Wasmtime and wasmi, side by side, with ratios to the
    /// fastest engine. Needs a build with `--features compare`.
    #[arg(long)]
    compare: bool,

    /// Meter Trestle's code with fuel or epoch checks (never exhausted), to
    /// measure what they cost: none, fuel or epoch.
    #[arg(long, value_name = "KIND", default_value = "none", value_parser = parse_metering)]
    metering: trestle_cli::bench::engines::Metering,

    /// Inline small functions into their direct callers in Trestle's code
    /// (true, the default), or not, to measure what inlining gives.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    inlining: bool,

    /// Let Trestle's modules keep the tables of their dropped instances for
    /// the next ones (true, the default), or not, to measure what reuse
    /// gives in the `table_cycle` and `instantiate` groups.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    instance_reuse: bool,

    /// Describe Trestle's compiled code to a profiler: `perfmap` writes
    /// /tmp/perf-<pid>.map for `perf record` / `perf report`.
    #[arg(long, value_name = "PROFILER", value_parser = parse_profiler)]
    profile: Option<trestle::ProfilingStrategy>,

    /// Run a precompiled .cwasm file: its machine code runs as it is, so
    /// pass this only for files you trust as you would a native executable.
    #[arg(long)]
    allow_precompiled: bool,

    /// Where to write the results as JSON.
    #[arg(long, value_name = "FILE", default_value = "bench.json")]
    json: PathBuf,

    /// Where to write the bar charts, one per group (SVG).
    #[arg(long, value_name = "FILE", default_value = "bench.svg")]
    svg: PathBuf,

    /// Samples per case after the warm-up; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 11,
          value_parser = clap::value_parser!(u32).range(11..))]
    samples: u32,

    /// The time one sample should take, in milliseconds; the iteration
    /// count of each case is picked to match.
    #[arg(long, value_name = "MS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    sample_ms: u64,

    /// Run only the call_indirect cases, not the table operations, SIMD
    /// kernels, compilation and instantiation.
    #[arg(long, conflicts_with = "module")]
    calls_only: bool,

    /// Time the compilation of this module (a .wasm or .wat file) on
    /// Trestle, serial and parallel, on Wasmtime with --compare, and its
    /// loading from a .cwasm file, instead of the built-in suite.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["module", "calls_only"])]
    compile_module: Option<PathBuf>,

    /// Run one group of the suite only: call_indirect, table_ops, simd,
    /// memory, programs, compile, instantiate, table_init, table_size or
    /// table_cycle.
    #[arg(long, value_name = "GROUP", conflicts_with_all = ["module", "calls_only", "compile_module"],
          value_parser = parse_group)]
    group: Option<trestle_cli::bench::Group>,

    /// Time a function of this module (a .wasm, .wat or, on Trestle only
    /// and with --allow-precompiled, .cwasm file without imports) instead
    /// of the built-in suite. Needs --invoke.
    #[arg(long, value_name = "FILE", requires = "invoke")]
    module: Option<PathBuf>,

    /// The exported function to time with --module.
    #[arg(long, value_name = "NAME", requires = "module")]
    invoke: Option<String>,

    /// Arguments for the function, read by its parameter types as in
    /// `trestle run`. They come last: everything after NAME is an argument.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        requires = "module"
    )]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Panics are reported as one `error:` line below (and inside scripts as
    // failed assertions), not by the default hook.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(move || dispatch(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {}", one_line(&e));
            // As Wasmtime does: the wasm frames under the error.
            if let Some(backtrace) = e.downcast_ref::<trestle::WasmBacktrace>() {
                eprintln!("{backtrace}");
            }
            exit_code_of(&e)
        }
        Err(payload) => {
            eprintln!("error: internal error: {}", panic_message(&*payload));
            ExitCode::FAILURE
        }
    }
}

/// The exit status for an error: [`TRAP_EXIT_STATUS`] when WebAssembly
/// trapped, 1 otherwise.
fn exit_code_of(e: &anyhow::Error) -> ExitCode {
    if e.downcast_ref::<trestle::Trap>().is_some() {
        ExitCode::from(TRAP_EXIT_STATUS)
    } else {
        ExitCode::FAILURE
    }
}

/// The exit status of `trestle run` when the module traps: 134, what a
/// shell reports for a process killed by `SIGABRT`, as Wasmtime exits, so
/// that scripts tell a trap from other failures the same way.
const TRAP_EXIT_STATUS: u8 = 134;

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Compile(args) => compile(args),
        Command::Wast(args) => wast(args),
        Command::Bench(args) => bench(args),
    }
}

fn parse_metering(text: &str) -> Result<trestle_cli::bench::engines::Metering, String> {
    use trestle_cli::bench::engines::Metering;
    match text {
        "none" => Ok(Metering::None),
        "fuel" => Ok(Metering::Fuel),
        "epoch" => Ok(Metering::Epoch),
        other => Err(format!(
            "unknown metering {other:?}: use none, fuel or epoch"
        )),
    }
}

fn parse_profiler(text: &str) -> Result<trestle::ProfilingStrategy, String> {
    match text {
        "perfmap" => Ok(trestle::ProfilingStrategy::PerfMap),
        "none" => Ok(trestle::ProfilingStrategy::None),
        other => Err(format!("unknown profiler {other:?}: use perfmap or none")),
    }
}

/// A benchmark group by its name in reports.
fn parse_group(name: &str) -> Result<trestle_cli::bench::Group, String> {
    trestle_cli::bench::Group::SUITE
        .into_iter()
        .find(|g| g.name() == name)
        .ok_or_else(|| format!("unknown group `{name}`"))
}

fn bench(args: BenchArgs) -> Result<ExitCode> {
    use trestle_cli::bench::{self, engines};
    engines::set_metering(args.metering);
    engines::set_inlining(args.inlining);
    engines::set_instance_reuse(args.instance_reuse);
    engines::set_perf_map(args.profile == Some(trestle::ProfilingStrategy::PerfMap));
    let mut kinds = vec![engines::EngineKind::Trestle];
    if args.compare {
        if !engines::COMPARE_AVAILABLE {
            return Err(engines::compare_unavailable());
        }
        kinds.extend([engines::EngineKind::Wasmtime, engines::EngineKind::Wasmi]);
    }
    let sample = bench::SampleOptions {
        samples: args.samples as usize,
        sample_time: std::time::Duration::from_millis(args.sample_ms),
        ..bench::SampleOptions::default()
    };
    let mut progress = std::io::stderr().lock();
    let report = match (&args.module, &args.invoke) {
        _ if args.compile_module.is_some() => {
            let file = args.compile_module.as_deref().expect("checked");
            bench::compile::run_compile(file, args.compare, &sample, &mut progress)?
        }
        (Some(file), Some(name)) => bench::run_function(
            file,
            name,
            &args.args,
            &kinds,
            &sample,
            args.allow_precompiled,
            &mut progress,
        )?,
        _ => {
            let options = bench::SuiteOptions {
                engines: kinds,
                sample,
                all_groups: !args.calls_only,
                only: args.group,
            };
            bench::run_suite(&options, &mut progress)?
        }
    };
    drop(progress);
    std::fs::write(&args.json, report.json())
        .with_context(|| format!("failed to write {}", args.json.display()))?;
    std::fs::write(&args.svg, report.svg())
        .with_context(|| format!("failed to write {}", args.svg.display()))?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", report.text())?;
    writeln!(
        out,
        "\nwrote {} and {}",
        args.json.display(),
        args.svg.display()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn compile(args: CompileArgs) -> Result<ExitCode> {
    let options = trestle_cli::run::RunOptions {
        fuel: args.fuel.then_some(0),
        timeout: args.interruptible.then_some(std::time::Duration::ZERO),
        table_lazy_init: args.table_lazy_init,
        // A profiler sees code as it is loaded, not as it is compiled.
        profiler: trestle::ProfilingStrategy::None,
        features: features(None, &args.disable)?,
        allow_precompiled: false,
    };
    let output = args
        .output
        .unwrap_or_else(|| args.file.with_extension("cwasm"));
    trestle_cli::run::compile_file(&args.file, &output, options)?;
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let options = trestle_cli::run::RunOptions {
        fuel: args.fuel,
        timeout: args.timeout,
        table_lazy_init: args.table_lazy_init,
        profiler: args.profile.unwrap_or_default(),
        features: features(None, &args.disable)?,
        allow_precompiled: args.allow_precompiled,
    };
    use trestle_cli::run::WasiOptions;
    let wasi = WasiOptions {
        dirs: args
            .dirs
            .iter()
            .map(|d| WasiOptions::parse_dir(d))
            .collect(),
        env: args
            .envs
            .iter()
            .filter_map(|e| WasiOptions::parse_env(e))
            .collect(),
    };
    let outcome = trestle_cli::run::run_command(
        &args.file,
        args.invoke.as_deref(),
        &args.args,
        options,
        &wasi,
    )?;
    let mut out = std::io::stdout().lock();
    for line in outcome.lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    // WASI exit statuses are 0..126; anything else cannot come back from
    // `proc_exit`.
    Ok(ExitCode::from(
        u8::try_from(outcome.exit_code).unwrap_or(u8::MAX),
    ))
}

fn wast(args: WastArgs) -> Result<ExitCode> {
    let config = WastConfig {
        table_lazy_init: args.table_lazy_init,
        features: features(args.standard.as_deref(), &args.disable)?,
        ..WastConfig::default()
    };
    // Deeply nested scripts and modules need more stack than the main thread
    // has; the spec suites under tests/ run the same way.
    let thread = std::thread::Builder::new()
        .name("wast".to_string())
        .stack_size(64 << 20)
        .spawn(move || run_scripts(&args.files, &config))
        .context("failed to start the script thread")?;
    match thread.join() {
        Ok(result) => result,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// The features of `standard` (the defaults when `None`) without those
/// named in `disable`.
fn features(standard: Option<&str>, disable: &[String]) -> Result<Features> {
    let mut features = match standard {
        Some(name) => Features::standard(name)?,
        None => Features::DEFAULT,
    };
    for name in disable {
        features = features.without(name)?;
    }
    Ok(features)
}

fn run_scripts(files: &[PathBuf], config: &WastConfig) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    for path in files {
        let name = path.display().to_string();
        let outcome = match std::fs::read_to_string(path) {
            Ok(source) => run_wast(&name, &source, config),
            Err(e) => FileOutcome {
                name,
                cases: vec![CaseOutcome {
                    line: 0,
                    directive: "read",
                    result: Err(format!("failed to read the file: {e}")),
                }],
            },
        };
        passed += outcome.passed();
        failed += outcome.failed();
        out.write_all(outcome.report(5).as_bytes())?;
        out.flush()?;
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The error chain on one line, joined by ": ". Multi-line messages (text
/// format errors with a source snippet) keep their first line and location.
fn one_line(error: &anyhow::Error) -> String {
    // A wasm backtrace is printed under the line, not in it.
    let backtrace = error
        .downcast_ref::<trestle::WasmBacktrace>()
        .map(|b| b.to_string());
    let parts: Vec<String> = error
        .chain()
        .filter(|cause| backtrace.as_deref() != Some(&*cause.to_string()))
        .map(|cause| {
            let text = cause.to_string();
            let mut lines = text.lines();
            let mut part = lines.next().unwrap_or("").trim().to_string();
            if let Some(location) = lines.find_map(|l| l.trim().strip_prefix("--> ")) {
                part.push_str(&format!(" (at {location})"));
            }
            part
        })
        .collect();
    parts.join(": ")
}
