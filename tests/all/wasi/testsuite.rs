//! The WASI preview 1 test suite (`tests/third_party/wasi-testsuite`, see its
//! README): every program runs through the `trestle` binary with the flags
//! its specification asks for, and is judged as `doc/specification.md`
//! says: the exit code must match, and so must standard output and
//! standard error where the specification gives them. An output the
//! specification leaves out is not checked: the upstream runner only adds
//! a `read` operation for the fields present, and several programs write
//! diagnostics regardless (`stdio.wasm` always lists its renumberings on
//! standard error) while Wasmtime passes all of them.
//!
//! Each program that names a `root` gets a fresh copy of that directory,
//! preopened as the guest's `/` (`--dir COPY::/`); its environment is
//! exactly the specification's `env` (`--env NAME=VALUE`), its arguments
//! follow the module. Programs run on a few threads at once; most of the
//! time goes to compiling them.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Programs expected to fail. Empty: every program passes.
const EXPECTED_FAILURES: &[&str] = &[];

struct Spec {
    args: Vec<String>,
    env: BTreeMap<String, String>,
    root: Option<String>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

fn read_spec(wasm: &Path) -> Spec {
    let json = wasm.with_extension("json");
    let value: Value = match std::fs::read_to_string(&json) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", json.display())),
        Err(_) => Value::Object(Default::default()),
    };
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    Spec {
        args: value
            .get("args")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().expect("string argument").to_string())
                    .collect()
            })
            .unwrap_or_default(),
        env: value
            .get("env")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        root: value
            .get("root")
            .and_then(Value::as_str)
            .map(str::to_string),
        exit_code: value
            .get("exit_code")
            .and_then(Value::as_i64)
            .map_or(0, |c| c as i32),
        stdout: text("stdout"),
        stderr: text("stderr"),
    }
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/third_party/wasi-testsuite/tests")
}

fn programs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lang in std::fs::read_dir(suite_dir()).unwrap() {
        let dir = lang.unwrap().path().join("testsuite/wasm32-wasip1");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wasm") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Copies `from` into `to` recursively, every copy writable.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[expect(
                clippy::permissions_set_readonly_false,
                reason = "a private scratch copy"
            )]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// Runs one program; `Err` says how it failed.
fn run_one(wasm: &Path, scratch: &Path) -> Result<(), String> {
    let spec = read_spec(wasm);
    let mut cmd = crate::harness::trestle("run");
    for (k, v) in &spec.env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    if let Some(root) = &spec.root {
        let copy = scratch.join(wasm.file_stem().unwrap());
        copy_dir(&wasm.parent().unwrap().join(root), &copy);
        cmd.arg("--dir").arg(format!("{}::/", copy.display()));
    }
    cmd.arg(wasm).args(&spec.args);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run trestle: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(spec.exit_code) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            out.status.code(),
            spec.exit_code
        ));
    }
    if let Some(expected) = spec.stdout.as_deref().filter(|e| *e != stdout) {
        problems.push(format!("stdout {stdout:?}, expected {expected:?}"));
    }
    if let Some(expected) = spec.stderr.as_deref().filter(|e| *e != stderr) {
        problems.push(format!("stderr {stderr:?}, expected {expected:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn wasi_testsuite() {
    let programs = programs();
    assert_eq!(programs.len(), 72, "the suite has 72 preview 1 programs");
    let scratch = crate::harness::scratch_dir("wasi-testsuite");

    let queue = Mutex::new(programs.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let Some(wasm) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let result = run_one(wasm, &scratch);
                    results.lock().unwrap().push((wasm.clone(), result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let root = suite_dir();
    let mut unexpected = Vec::new();
    let mut passed = 0;
    for (wasm, result) in &results {
        let name = wasm.strip_prefix(&root).unwrap().display().to_string();
        let expected_fail = EXPECTED_FAILURES.iter().any(|f| name.ends_with(f));
        match (result, expected_fail) {
            (Ok(()), false) => {
                passed += 1;
                println!("  PASS   {name}");
            }
            (Ok(()), true) => {
                println!("  XPASS  {name}");
                unexpected.push(format!("{name}: passes but is listed as failing"));
            }
            (Err(e), true) => println!("  XFAIL  {name}: {e}"),
            (Err(e), false) => {
                println!("  FAIL   {name}: {e}");
                unexpected.push(format!("{name}: {e}"));
            }
        }
    }
    println!("wasi-testsuite: {passed}/{} passed", results.len());
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}
