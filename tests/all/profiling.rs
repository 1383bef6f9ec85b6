//! The perf map of `Config::profiler(ProfilingStrategy::PerfMap)`: every
//! defined function, the entry trampoline of each the host may call and
//! every wasm-to-host trampoline are written to `/tmp/perf-<pid>.map` as
//! `START SIZE NAME`, with the names backtraces use; `trestle run
//! --profile perfmap` and `trestle bench --profile perfmap` write it for
//! their process.

use crate::harness::{config, scratch_dir, trestle};
use trestle::{Engine, Func, Linker, Module, ProfilingStrategy, Store};

/// One line of a perf map.
#[derive(Debug)]
struct Symbol {
    start: u64,
    size: u64,
    name: String,
}

/// The lines of the perf map of process `pid` whose name contains
/// `needle`.
fn symbols(pid: u32, needle: &str) -> Vec<Symbol> {
    let path = format!("/tmp/perf-{pid}.map");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|line| line.contains(needle))
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut hex = || u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let (start, size) = (hex(), hex());
            Symbol {
                start,
                size,
                name: parts.next().unwrap().to_string(),
            }
        })
        .collect()
}

/// Asserts that the symbols are non-empty and do not overlap.
#[track_caller]
fn assert_disjoint(symbols: &[Symbol]) {
    let mut ranges: Vec<(u64, u64)> = symbols.iter().map(|s| (s.start, s.size)).collect();
    ranges.sort_unstable();
    for (start, size) in &ranges {
        assert!(*start != 0 && *size != 0, "{symbols:?}");
    }
    for pair in ranges.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0, "{symbols:?}");
    }
}

const MODULE: &str = r#"(module $perfmap_api
    (import "host" "log" (func $log (param i64)))
    (func $alpha (export "alpha") (param i64) (call $log (local.get 0)))
    (func $_ZN5crate4beta17h0011223344556677E (result i32) (i32.const 7))
    (func (result f64) (f64.const 1.5)))"#;

#[test]
fn perf_map_lists_every_function_and_trampoline() {
    let mut config = config();
    config.profiler(ProfilingStrategy::PerfMap);
    assert_eq!(config.get_profiler(), ProfilingStrategy::PerfMap);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "log", |_: i64| {}).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let alpha = instance
        .get_typed_func::<i64, ()>(&mut store, "alpha")
        .unwrap();
    alpha.call(&mut store, 1).unwrap();

    let found = symbols(std::process::id(), "perfmap_api!");
    let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
    // One body per defined function (the import has none), in function
    // order, demangled, and an entry trampoline for each function the host
    // may call: here only the exported one.
    assert_eq!(
        names,
        [
            "perfmap_api!alpha",
            "perfmap_api!alpha (array-to-wasm trampoline)",
            "perfmap_api!crate::beta",
            "perfmap_api!<wasm function 3>",
        ]
    );
    assert_disjoint(&found);
    // The module's code is one mapping: the bodies come first.
    assert!(found[0].start < found[2].start && found[2].start < found[3].start);
    assert!(found[3].start < found[1].start);

    // The trampoline through which wasm called `log`.
    let trampolines = symbols(
        std::process::id(),
        "wasm-to-host trampoline (func (param i64))",
    );
    assert!(!trampolines.is_empty());
    assert_disjoint(&trampolines[..1]);
}

#[test]
fn perf_map_is_off_by_default() {
    let engine = Engine::new(&config()).unwrap();
    assert_eq!(engine.config().get_profiler(), ProfilingStrategy::None);
    Module::new(&engine, r#"(module $perfmap_off (func))"#).unwrap();
    let mut store = Store::new(&engine, ());
    Func::wrap(&mut store, |_: i32, _: i32, _: i32| {});
    let path = format!("/tmp/perf-{}.map", std::process::id());
    if let Ok(text) = std::fs::read_to_string(path) {
        assert!(!text.contains("perfmap_off"), "{text}");
        assert!(!text.contains("(param i32 i32 i32)"), "{text}");
    }
}

const PROGRAM: &str = r#"(module $perfmap_cli
    (func $spin (export "spin") (param i32) (result i32)
        (loop $again
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $again (local.get 0)))
        (local.get 0)))"#;

/// Runs the `trestle` command to completion and returns the perf map
/// lines of its process that name `needle`, removing the map.
fn perf_map_of(mut command: std::process::Command, needle: &str) -> Vec<Symbol> {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let found = symbols(pid, needle);
    std::fs::remove_file(format!("/tmp/perf-{pid}.map")).unwrap();
    found
}

#[test]
fn cli_run_and_bench_write_the_perf_map() {
    let dir = scratch_dir("perfmap");
    let file = dir.join("spin.wat");
    std::fs::write(&file, PROGRAM).unwrap();

    let mut run = trestle("run");
    run.args(["--profile", "perfmap"])
        .arg(&file)
        .args(["--invoke", "spin", "1000"]);
    let found = perf_map_of(run, "perfmap_cli!spin");
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].name, "perfmap_cli!spin");
    assert_disjoint(&found);

    // Not `trestle("bench")`: the table mode arguments it adds would be
    // read as the function's arguments.
    let mut bench = std::process::Command::new(env!("CARGO_BIN_EXE_trestle"));
    bench
        .arg("bench")
        .args(["--profile", "perfmap", "--sample-ms", "1"])
        .arg("--json")
        .arg(dir.join("bench.json"))
        .arg("--svg")
        .arg(dir.join("bench.svg"))
        .arg("--module")
        .arg(&file)
        .args(["--invoke", "spin", "1000"]);
    let found = perf_map_of(bench, "perfmap_cli!spin");
    assert!(!found.is_empty());
    assert!(found.iter().all(|s| s.name.starts_with("perfmap_cli!spin")));

    // Without --profile, no map.
    let mut plain = trestle("run");
    plain.arg(&file).args(["--invoke", "spin", "10"]);
    let child = plain.stdout(std::process::Stdio::null()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!std::path::Path::new(&format!("/tmp/perf-{pid}.map")).exists());

    std::fs::remove_dir_all(&dir).unwrap();
}
