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
