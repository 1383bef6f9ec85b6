//! The command line: `trestle run` (arguments by parameter type, the
//! export listing, imports, traps, WASI commands and reactors, fuel and
//! time limits) and `trestle wast`, through the library functions behind
//! them and the `trestle` binary itself, on the example modules.

use crate::harness::scratch_dir;
use std::path::{Path, PathBuf};
use std::process::Output;
use trestle::Module;
use trestle_cli::run::{run_file_with, run_module_with};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn run_file(path: &Path, invoke: Option<&str>, list: &[String]) -> anyhow::Result<Vec<String>> {
    run_file_with(path, invoke, list, crate::harness::run_options())
}

fn run_wat(wat: &str, invoke: Option<&str>, list: &[&str]) -> anyhow::Result<Vec<String>> {
    let options = crate::harness::run_options();
    let engine = options.engine()?;
    let module = Module::new(&engine, wat)?;
    run_module_with(&engine, &module, invoke, &args(list), options)
}

#[test]
fn fib_example() {
    let lines = run_file(&example("fib.wat"), Some("fib"), &args(&["20"])).unwrap();
    assert_eq!(lines, ["6765"]);
}

#[test]
fn indirect_example() {
    let lines = run_file(&example("indirect.wat"), Some("run"), &args(&["1000"])).unwrap();
    assert_eq!(lines, ["4000"]);
}

#[test]
fn arguments_follow_parameter_types() {
    let wat = r#"(module
      (func (export "f") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
        local.get 0 local.get 1 local.get 2 local.get 3))"#;
    let lines = run_wat(wat, Some("f"), &["-1", "0x10", "1.5", "-inf"]).unwrap();
    assert_eq!(lines, ["-1", "16", "1.5", "-inf"]);
    let lines = run_wat(wat, Some("f"), &["4294967295", "-0x1", "nan", "2e3"]).unwrap();
    assert_eq!(lines, ["-1", "-1", "NaN", "2000"]);

    let err = run_wat(wat, Some("f"), &["1"]).unwrap_err();
    assert!(format!("{err:#}").contains("takes 4 arguments"), "{err:#}");
    let err = run_wat(wat, Some("f"), &["1", "2", "x", "4"]).unwrap_err();
    assert!(format!("{err:#}").contains("argument 3"), "{err:#}");
    let err = run_wat(wat, Some("g"), &[]).unwrap_err();
    assert!(format!("{err:#}").contains("`f`"), "{err:#}");
}

#[test]
fn start_and_export_listing() {
    let lines = run_wat(r#"(module (func (export "_start")))"#, None, &[]).unwrap();
    assert!(lines.is_empty());

    let lines = run_wat(
        r#"(module (memory (export "mem") 1) (func (export "f") (param i32) (result i32) local.get 0))"#,
        None,
        &[],
    )
    .unwrap();
    assert!(lines[0].contains("--invoke"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "  memory mem"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "  func f(i32) -> i32"),
        "{lines:?}"
    );
}

#[test]
fn imports_are_named() {
    let err = run_wat(
        r#"(module (import "env" "log" (func (param i32))))"#,
        None,
        &[],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("`env`.`log`"), "{err:#}");
}

#[test]
fn traps_are_errors() {
    let err = run_wat(
        r#"(module (func (export "f") unreachable))"#,
        Some("f"),
        &[],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("unreachable"), "{err:#}");
}

/// Runs `trestle COMMAND ARGS...` in the table mode the environment asks
/// for.
fn run_trestle(args: &[&str]) -> Output {
    crate::harness::trestle(args[0])
        .args(&args[1..])
        .output()
        .expect("failed to run trestle")
}

#[test]
fn cli_run() {
    let out = run_trestle(&["run", "examples/fib.wat", "--invoke", "fib", "10"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "55\n");

    let out = run_trestle(&["run", "examples/fib.wat", "--invoke", "fib"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = run_trestle(&["run", "examples/no-such-file.wat"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn cli_wast() {
    let dir = scratch_dir("cli-wast");
    let good = dir.join("good.wast");
    let bad = dir.join("bad.wast");
    // A script that expects `one` to return `expected`.
    let script = |expected: i32| {
        format!(
            r#"(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const {expected}))
"#
        )
    };
    std::fs::write(&good, script(1)).unwrap();
    std::fs::write(&bad, script(2)).unwrap();

    let out = run_trestle(&["wast", good.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("  PASS  "), "{stdout}");
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");

    let out = run_trestle(&["wast", good.to_str().unwrap(), bad.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout.contains("  FAIL  "), "{stdout}");
    assert!(stdout.contains("line 2: assert_return"), "{stdout}");
    assert!(stdout.ends_with("3 passed, 1 failed\n"), "{stdout}");

    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `text` to a file named `name` in a fresh directory and returns
/// its path.
fn temp_module(name: &str, text: &str) -> PathBuf {
    let path = scratch_dir(name).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes `text` to a file named `name` in a fresh directory and runs
/// `trestle run FILE ARGS...`.
fn run_module(name: &str, text: &str, args: &[&str]) -> Output {
    let path = temp_module(name, text);
    let mut all = vec!["run", path.to_str().unwrap()];
    all.extend_from_slice(args);
    run_trestle(&all)
}

/// Asserts that the standard error of `out` contains `text`, and returns
/// it.
#[track_caller]
fn assert_stderr_contains(out: &Output, text: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains(text), "{stderr}");
    stderr
}

#[test]
fn cli_unknown_import_is_reported_before_compilation() {
    // The body does not validate: compiling would fail with another error.
    let out = run_module(
        "unknown-import.wat",
        r#"(module (import "env" "foo" (func))
                   (func (export "_start") (i32.add (i32.const 1))))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = assert_stderr_contains(
        &out,
        "unknown import `env::foo`: trestle run provides only `wasi_snapshot_preview1`",
    );
    assert!(!stderr.contains("compile"), "{stderr}");

    let out = run_module(
        "unknown-wasi-function.wat",
        r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func)))"#,
        &[],
    );
    assert_stderr_contains(
        &out,
        "unknown import `wasi_snapshot_preview1::no_such_call`",
    );
}

#[test]
fn cli_wrong_wasi_signature_is_a_link_error() {
    let out = run_module(
        "wrong-signature.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i64)))
                   (memory (export "memory") 1)
                   (func (export "_start")))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_stderr_contains(
        &out,
        "incompatible import type for `wasi_snapshot_preview1::proc_exit`",
    );
}

#[test]
fn cli_wasi_reactor_is_initialized_before_invoke() {
    let out = run_module(
        "reactor.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "args_sizes_get"
               (func $sizes (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (global $argc (mut i32) (i32.const -1))
             (func (export "_initialize")
               (drop (call $sizes (i32.const 0) (i32.const 4)))
               (global.set $argc (i32.load (i32.const 0))))
             (func (export "argc_plus") (param i32) (result i32)
               (i32.add (global.get $argc) (local.get 0))))"#,
        &["--invoke", "argc_plus", "10"],
    );
    assert!(out.status.success(), "{out:?}");
    // argv is the module path and the one argument.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "12\n");
}

#[test]
fn cli_wasi_exit_code_and_stdio() {
    let out = run_module(
        "exit.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "to stderr\n")
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 10))
               (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
               (call $exit (i32.const 17))
               unreachable))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(17), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to stderr\n");
    assert!(out.stdout.is_empty());
}

#[test]
fn cli_fuel_and_timeout_stop_an_infinite_loop() {
    let file = temp_module(
        "spin.wat",
        r#"(module (func $spin (export "spin") (loop (br 0))))"#,
    );
    for limit in [["--fuel", "100000"], ["--timeout", "200ms"]] {
        let out = run_trestle(&[
            "run",
            file.to_str().unwrap(),
            "--invoke",
            "spin",
            limit[0],
            limit[1],
        ]);
        assert_eq!(out.status.code(), Some(134), "a trap: {limit:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = if limit[0] == "--fuel" {
            "ran out of fuel"
        } else {
            "timed out after 200ms"
        };
        // One clear line, then the wasm backtrace of where it stopped.
        let mut lines = stderr.lines();
        assert!(lines.next().unwrap().contains(expected), "{stderr}");
        assert_eq!(
            lines.next(),
            Some("error while executing at wasm backtrace:"),
            "{stderr}"
        );
        assert!(lines.all(|l| l.ends_with("!spin")), "{stderr}");
    }
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

/// `trestle run` has every implemented standard feature on (a tail call,
/// a 64-bit memory), and `--disable` turns them off.
#[test]
fn cli_run_enables_the_standard_and_disables_on_request() {
    let text = r#"(module
      (memory i64 1)
      (func $count (param i64 i32) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
          (then (local.get 1))
          (else (return_call $count (i64.sub (local.get 0) (i64.const 1))
                                    (i32.add (local.get 1) (i32.const 1))))))
      (func (export "f") (param i64) (result i32)
        (i32.store (i64.const 65532) (i32.const 5))
        (i32.add (i32.load (i64.const 65532)) (call $count (local.get 0) (i32.const 0)))))"#;
    let out = run_module("standard.wat", text, &["--invoke", "f", "1000000"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1000005\n");
    for (feature, message) in [("tail-call", "tail calls"), ("memory64", "memory64")] {
        let out = run_module(
            "standard.wat",
            text,
            &["--disable", feature, "--invoke", "f", "1"],
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_stderr_contains(&out, message);
    }
    let out = run_module("standard.wat", text, &["--disable", "threads"]);
    assert_stderr_contains(&out, "unknown feature `threads`");
}

/// `trestle wast --standard` runs a script under exactly one edition's
/// features: a second memory is invalid in 1.0 and 2.0, valid in 3.0.
#[test]
fn cli_wast_standard() {
    let dir = scratch_dir("cli-wast-standard");
    let script = dir.join("two-memories.wast");
    std::fs::write(
        &script,
        "(assert_invalid (module (memory 1) (memory 1)) \"multiple memories\")\n",
    )
    .unwrap();
    let path = script.to_str().unwrap();
    for (standard, passes) in [("1.0", true), ("2.0", true), ("3.0", false)] {
        let out = run_trestle(&["wast", "--standard", standard, path]);
        assert_eq!(out.status.success(), passes, "{standard}: {out:?}");
    }
    let out = run_trestle(&["wast", path]);
    assert!(
        !out.status.success(),
        "the defaults have multi-memory: {out:?}"
    );
    let out = run_trestle(&["wast", "--disable", "multi-memory", path]);
    assert!(out.status.success(), "{out:?}");
    let out = run_trestle(&["wast", "--standard", "4.0", path]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
