//! `trestle run` and `trestle wast`: the library functions behind them and
//! the `trestle` binary itself, on the example modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
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
fn trestle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trestle"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(args[0])
        .args(crate::harness::cli_args())
        .args(&args[1..])
        .output()
        .expect("failed to run trestle")
}

#[test]
fn cli_run() {
    let out = trestle(&["run", "examples/fib.wat", "--invoke", "fib", "10"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "55\n");

    let out = trestle(&["run", "examples/fib.wat", "--invoke", "fib"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = trestle(&["run", "examples/no-such-file.wat"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn cli_wast() {
    let dir = std::env::temp_dir().join(format!("trestle-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.wast");
    let bad = dir.join("bad.wast");
    std::fs::write(
        &good,
        r#"(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 1))
"#,
    )
    .unwrap();
    std::fs::write(
        &bad,
        r#"(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 2))
"#,
    )
    .unwrap();

    let out = trestle(&["wast", good.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("  PASS  "), "{stdout}");
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");

    let out = trestle(&["wast", good.to_str().unwrap(), bad.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout.contains("  FAIL  "), "{stdout}");
    assert!(stdout.contains("line 2: assert_return"), "{stdout}");
    assert!(stdout.ends_with("3 passed, 1 failed\n"), "{stdout}");

    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `text` to a fresh file named `name` and returns its path.
fn temp_module(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trestle-run-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn cli_unknown_import_is_reported_before_compilation() {
    // The body does not validate: compiling would fail with another error.
    let path = temp_module(
        "unknown-import.wat",
        r#"(module (import "env" "foo" (func))
                   (func (export "_start") (i32.add (i32.const 1))))"#,
    );
    let out = trestle(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "unknown import `env::foo`: trestle run provides only `wasi_snapshot_preview1`"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("compile"), "{stderr}");

    let path = temp_module(
        "unknown-wasi-function.wat",
        r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func)))"#,
    );
    let out = trestle(&["run", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown import `wasi_snapshot_preview1::no_such_call`"),
        "{stderr}"
    );
}

#[test]
fn cli_wrong_wasi_signature_is_a_link_error() {
    let path = temp_module(
        "wrong-signature.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i64)))
                   (memory (export "memory") 1)
                   (func (export "_start")))"#,
    );
    let out = trestle(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("incompatible import type for `wasi_snapshot_preview1::proc_exit`"),
        "{stderr}"
    );
}

#[test]
fn cli_wasi_reactor_is_initialized_before_invoke() {
    let path = temp_module(
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
    );
    let out = trestle(&["run", path.to_str().unwrap(), "--invoke", "argc_plus", "10"]);
    assert!(out.status.success(), "{out:?}");
    // argv is the module path and the one argument.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "12\n");
}

#[test]
fn cli_wasi_exit_code_and_stdio() {
    let path = temp_module(
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
    );
    let out = trestle(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(17), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to stderr\n");
    assert!(out.stdout.is_empty());
}
