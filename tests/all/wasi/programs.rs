//! C and C++ programs built with clang and wasi-libc
//! (`tests/wasi-programs`), run by the `trestle` binary and compared with
//! the same sources built natively: `build.sh` records the native
//! program's standard output and exit status in `expected/`, with the same
//! arguments, environment and input given here. Programs whose output
//! would depend on the moment or on chance (clocks, random numbers) print
//! properties of what they observe instead of values.

use crate::harness::{scratch_dir, successful_stdout, trestle};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasi-programs")
}

/// Runs `trestle run FLAGS... wasm/NAME.wasm ARGS...` with `stdin`.
fn run(name: &str, flags: &[String], args: &[&str], stdin: Option<&Path>) -> Output {
    let wasm = programs_dir().join("wasm").join(format!("{name}.wasm"));
    let mut cmd = trestle("run");
    cmd.args(flags).arg(&wasm).args(args);
    cmd.stdin(match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
        None => Stdio::null(),
    });
    cmd.output().expect("failed to run trestle")
}

/// Checks `out` against what the native build printed and returned.
fn check(name: &str, out: &Output) {
    let expected = programs_dir().join("expected");
    let stdout = std::fs::read_to_string(expected.join(format!("{name}.stdout"))).unwrap();
    let status: i32 = std::fs::read_to_string(expected.join(format!("{name}.status")))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        stdout,
        "{name}: standard output differs from the native build's (stderr: {})",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(status), "{name}: {out:?}");
}

#[test]
fn args_and_environment() {
    let flags: Vec<String> = ["GREETING=hello", "EMPTY=", "SPACED=a b"]
        .iter()
        .flat_map(|e| ["--env".to_string(), e.to_string()])
        .collect();
    let out = run("args_env", &flags, &["one", "two words", "-x", ""], None);
    check("args_env", &out);
}

#[test]
fn env_name_alone_inherits_the_host_value() {
    // `PATH` is set for any test process; `--env NAME` passes it on, and
    // a name the host lacks is left out.
    let path = std::env::var("PATH").unwrap();
    let flags = [
        "--env".to_string(),
        "PATH".to_string(),
        "--env".to_string(),
        "TRESTLE_SURELY_UNSET_VARIABLE".to_string(),
    ];
    let out = run("args_env", &flags, &[], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout,
        format!("argc=1\nenv[0]=[PATH={path}]\nenvc=1\n"),
        "{stdout}"
    );
}

#[test]
fn stdin_to_stdout() {
    let input = programs_dir().join("stdin_upper.input");
    let out = run("stdin_upper", &[], &[], Some(&input));
    check("stdin_upper", &out);
}

/// Runs program `name` with a fresh directory preopened as `guest`, which
/// is also its argument, and checks what it printed; the directory.
fn run_in_dir(name: &str, guest: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let flags = ["--dir".to_string(), format!("{}::{guest}", dir.display())];
    check(name, &run(name, &flags, &[guest], None));
    dir
}

#[test]
fn file_io_in_a_preopened_directory() {
    let dir = run_in_dir("files", "/data");
    // What the program left behind, seen from the host.
    assert_eq!(
        std::fs::read_to_string(dir.join("kept.txt")).unwrap(),
        "hello, file\nappended\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/inner.txt")).unwrap(),
        "inner\n"
    );
    assert!(!dir.join("data.txt").exists());
    assert!(!dir.join("scratch").exists());
    assert!(!dir.join("tmp").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn directory_listing() {
    let dir = run_in_dir("listdir", "/d");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clocks() {
    check("clocks", &run("clocks", &[], &[], None));
}

#[test]
fn random() {
    check("random", &run("random", &[], &[], None));
}

#[test]
fn exit_status() {
    let out = run("exit_code", &[], &["42"], None);
    check("exit_code", &out);
    assert_eq!(out.status.code(), Some(42));
    let out = run("exit_code", &[], &["0"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "exiting with 0\n");
}

#[test]
fn cpp_virtual_calls() {
    check("shapes", &run("shapes", &[], &[], None));
}

#[test]
fn readme_example() {
    let dir = scratch_dir("readme");
    std::fs::write(dir.join("a"), "").unwrap();
    std::fs::write(dir.join("b"), "").unwrap();
    let stdout = successful_stdout(
        trestle("run")
            .arg("--dir")
            .arg(format!("{}::/", dir.display()))
            .args(["examples/hello-wasi.wasm", "Trestle"]),
    );
    assert_eq!(stdout, "Hello, Trestle!\n/ has 2 entries\n");
    std::fs::remove_dir_all(&dir).unwrap();
}
