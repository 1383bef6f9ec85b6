//! Precompiled modules (`Module::serialize`, `Module::deserialize`,
//! `Module::deserialize_file`) and parallel compilation: round trips that
//! run the loaded code, mismatched engines, type ids, truncated and
//! corrupted files (adversarial: a damaged file must be an error, never a
//! crash), and serial and parallel compilation giving the same code.

use crate::harness::{self, XorShift, call_i32, trap};
use trestle::{Config, Engine, Instance, Module, Store, Trap, Val};
use trestle_compiler::{Compiler, CompilerOptions};

/// A module with what a precompiled module must carry: data, a global,
/// a table of functions called indirectly, direct calls, loops and traps.
const WAT: &str = r#"(module
  (type $un (func (param i32) (result i32)))
  (memory 1)
  (data (i32.const 16) "\05\00\00\00")
  (global $g (mut i32) (i32.const 7))
  (table 3 funcref)
  (elem (i32.const 0) $double $square $bump)
  (func $double (type $un) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $un) (i32.mul (local.get 0) (local.get 0)))
  (func $bump (type $un) (global.set $g (i32.add (global.get $g) (local.get 0))) (global.get $g))
  (func (export "apply") (param i32 i32) (result i32)
    (call_indirect (type $un) (local.get 0) (local.get 1)))
  (func (export "sum_to") (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "double") (param i32) (result i32) (call $double (local.get 0))))"#;

/// Checks that `module` behaves as [`WAT`] says.
fn check_behaviour(engine: &Engine, module: &Module) {
    let mut store = Store::new(engine, ());
    let inst = Instance::new(&mut store, module, &[]).unwrap();
    let i = Val::I32;
    assert_eq!(call_i32(&mut store, &inst, "apply", &[i(21), i(0)]), 42);
    assert_eq!(call_i32(&mut store, &inst, "apply", &[i(9), i(1)]), 81);
    assert_eq!(call_i32(&mut store, &inst, "apply", &[i(3), i(2)]), 10);
    assert_eq!(call_i32(&mut store, &inst, "sum_to", &[i(100)]), 5050);
    assert_eq!(call_i32(&mut store, &inst, "load", &[i(16)]), 5);
    assert_eq!(call_i32(&mut store, &inst, "double", &[i(-4)]), -8);
    let mut func = |name: &str| inst.get_func(&mut store, name).unwrap();
    let mut out = [Val::I32(0)];
    let (apply, load, div) = (func("apply"), func("load"), func("div"));
    let err = apply.call(&mut store, &[i(1), i(3)], &mut out).unwrap_err();
    assert_eq!(trap(err), Trap::UndefinedElement);
    let err = load.call(&mut store, &[i(65535)], &mut out).unwrap_err();
    assert_eq!(trap(err), Trap::MemoryOutOfBounds);
    let err = div.call(&mut store, &[i(1), i(0)], &mut out).unwrap_err();
    assert_eq!(trap(err), Trap::IntegerDivisionByZero);
}

fn serialized() -> Vec<u8> {
    let engine = harness::engine();
    Module::new(&engine, WAT).unwrap().serialize().unwrap()
}

/// # Safety
///
/// `bytes` must come from `Module::serialize` (possibly damaged, which the
/// format's checks catch).
unsafe fn load(engine: &Engine, bytes: &[u8]) -> trestle::Result<Module> {
    // SAFETY: passed on from the caller.
    unsafe { Module::deserialize(engine, bytes) }
}

#[test]
fn round_trip_runs_the_same_in_a_fresh_engine() {
    let bytes = serialized();
    assert!(Module::is_precompiled(&bytes));
    assert!(!Module::is_precompiled(b"\0asm\x01\0\0\0"));
    let engine = harness::engine();
    // SAFETY: written by `serialize` above.
    let module = unsafe { load(&engine, &bytes) }.unwrap();
    assert_eq!(
        module
            .exports()
            .map(|e| e.name().to_string())
            .collect::<Vec<_>>(),
        ["apply", "sum_to", "load", "div", "double"]
    );
    check_behaviour(&engine, &module);
    // Serializing the loaded module writes the same bytes.
    assert_eq!(module.serialize().unwrap(), bytes);
}

#[test]
fn round_trip_in_the_compiling_engine() {
    let engine = harness::engine();
    let module = Module::new(&engine, WAT).unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: written by `serialize` above.
    let loaded = unsafe { load(&engine, &bytes) }.unwrap();
    check_behaviour(&engine, &loaded);
}

#[test]
fn deserialize_file_maps_a_cwasm_file() {
    let dir = harness::cli::scratch_dir("deserialize-file");
    let path = dir.join("module.cwasm");
    std::fs::write(&path, serialized()).unwrap();
    let engine = harness::engine();
    // SAFETY: written by `serialize` above.
    let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    check_behaviour(&engine, &module);
    let empty = dir.join("empty.cwasm");
    std::fs::write(&empty, b"").unwrap();
    // SAFETY: an empty file is refused before anything runs.
    let err = unsafe { Module::deserialize_file(&engine, &empty) }.unwrap_err();
    assert!(format!("{err:#}").contains("not a precompiled"), "{err:#}");
    // SAFETY: a missing file is refused before anything runs.
    let err = unsafe { Module::deserialize_file(&engine, dir.join("missing")) }.unwrap_err();
    assert!(format!("{err:#}").contains("cannot open"), "{err:#}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A change to a configuration.
type ConfigChange = fn(&mut Config);

/// Loading into an engine whose code-affecting settings differ is an
/// error naming the setting.
#[test]
fn mismatched_settings_are_refused_by_name() {
    let bytes = serialized();
    let cases: [(&str, ConfigChange); 5] = [
        ("consume fuel", |c| {
            c.consume_fuel(true);
        }),
        ("epoch interruption", |c| {
            c.epoch_interruption(true);
        }),
        ("lazy table initialization", |c| {
            c.table_lazy_init(!harness::table_lazy_init());
        }),
        ("WebAssembly features", |c| {
            c.wasm_tail_call(false);
        }),
        ("optimize: true", |c| {
            c.cranelift_optimize(false);
        }),
    ];
    for (setting, change) in cases {
        let mut config = harness::config();
        change(&mut config);
        let engine = Engine::new(&config).unwrap();
        // SAFETY: written by `serialize`; refused before anything runs.
        let err = unsafe { load(&engine, &bytes) }.unwrap_err().to_string();
        assert!(
            err.contains("incompatible") && err.contains(setting),
            "{setting}: {err}"
        );
    }
    // Settings that leave the code alone do not matter.
    let mut config = harness::config();
    config
        .parallel_compilation(false)
        .cranelift_debug_verifier(!cfg!(debug_assertions))
        .max_wasm_stack(128 * 1024);
    let engine = Engine::new(&config).unwrap();
    // SAFETY: written by `serialize` above.
    let module = unsafe { load(&engine, &bytes) }.unwrap();
    check_behaviour(&engine, &module);
}

/// Replaces `from` with `to` in the environment section of a file, with
/// the checksums fixed up.
fn replace_in_environment(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "same length keeps the layout");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap();
    bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
    rechecksum(bytes);
}

/// Recomputes every checksum of a file, as a file written by another
/// build would have them.
fn rechecksum(bytes: &mut [u8]) {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let count = u32_at(bytes, 20) as usize;
    for i in 0..count {
        let entry = 24 + i * 24;
        let (offset, len) = (
            u64_at(bytes, entry + 8) as usize,
            u64_at(bytes, entry + 16) as usize,
        );
        let sum = crc32fast::hash(&bytes[offset..offset + len]);
        bytes[entry + 4..entry + 8].copy_from_slice(&sum.to_le_bytes());
    }
    let end = 24 + count * 24;
    let sum = crc32fast::hash(&bytes[..end]);
    bytes[end..end + 4].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn other_version_or_target_is_refused_by_name() {
    let engine = harness::engine();
    let version = format!("trestle version: {}", env!("CARGO_PKG_VERSION"));
    let other_version = format!("trestle version: {}", "9".repeat(version.len() - 17));
    let mut bytes = serialized();
    replace_in_environment(&mut bytes, &version, &other_version);
    // SAFETY: written by `serialize`; refused before anything runs.
    let err = unsafe { load(&engine, &bytes) }.unwrap_err().to_string();
    assert!(
        err.contains("incompatible") && err.contains(&other_version),
        "{err}"
    );

    let mut bytes = serialized();
    replace_in_environment(&mut bytes, "target: x86_64", "target: riscv6");
    // SAFETY: as above.
    let err = unsafe { load(&engine, &bytes) }.unwrap_err().to_string();
    assert!(err.contains("target: riscv6"), "{err}");

    // A CPU feature the host lacks, or has and the file does not.
    let mut bytes = serialized();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (from, to) = if text.contains("has_sse41=1") {
        ("has_sse41=1", "has_sse41=0")
    } else {
        ("has_sse41=0", "has_sse41=1")
    };
    replace_in_environment(&mut bytes, from, to);
    // SAFETY: as above.
    let err = unsafe { load(&engine, &bytes) }.unwrap_err().to_string();
    assert!(err.contains(&format!("CPU features: {to}")), "{err}");
}

/// Adversarial: every truncation and seeded byte corruption of a file is
/// an error, and the engine stays usable.
#[test]
fn truncated_or_corrupted_files_are_errors() {
    let bytes = serialized();
    let engine = harness::engine();
    for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        // SAFETY: a damaged `serialize` output; the checks refuse it.
        let result = unsafe { load(&engine, &bytes[..len]) };
        assert!(result.is_err(), "truncated to {len} bytes");
    }
    let mut extended = bytes.clone();
    extended.push(0);
    // SAFETY: as above.
    assert!(unsafe { load(&engine, &extended) }.is_err());
    let mut rng = XorShift(0x5eed_cafe_f00d_0015);
    for _ in 0..500 {
        let mut damaged = bytes.clone();
        let at = rng.next() as usize % damaged.len();
        let flip = (rng.next() % 255 + 1) as u8;
        damaged[at] ^= flip;
        // SAFETY: as above.
        let result = unsafe { load(&engine, &damaged) };
        assert!(result.is_err(), "byte {at} xor {flip:#x} went unnoticed");
    }
    // SAFETY: the intact file.
    let module = unsafe { load(&engine, &bytes) }.unwrap();
    check_behaviour(&engine, &module);
}

/// A module's code compares the type ids the compiling engine gave: a
/// loading engine that numbered the same types differently refuses it,
/// one that left the ids free gives them, gaps included.
#[test]
fn type_ids_are_claimed_or_refused() {
    let other = r#"(module (type (func (param i64) (result i64)))
                   (type (func (param f32))) (type (func (param f64))))"#;
    // Compiled after another module: its ids do not start at the first.
    let compiling = harness::engine();
    Module::new(&compiling, other).unwrap();
    let bytes = Module::new(&compiling, WAT).unwrap().serialize().unwrap();

    let fresh = harness::engine();
    // SAFETY: written by `serialize` above.
    let module = unsafe { load(&fresh, &bytes) }.unwrap();
    check_behaviour(&fresh, &module);
    // A module compiled afterwards gets the claimed id for the same type:
    // its `call_indirect` accepts the loaded module's function.
    let importer = Module::new(
        &fresh,
        r#"(module (type $un (func (param i32) (result i32)))
             (import "m" "double" (func $d (type $un)))
             (table 1 funcref) (elem (i32.const 0) $d)
             (func (export "f") (param i32) (result i32)
               (call_indirect (type $un) (local.get 0) (i32.const 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&fresh, ());
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    let double = inst.get_export(&mut store, "double").unwrap();
    let calling = Instance::new(&mut store, &importer, &[double]).unwrap();
    assert_eq!(call_i32(&mut store, &calling, "f", &[Val::I32(21)]), 42);

    // An engine that gave the module's function type another id first.
    let conflicting = harness::engine();
    Module::new(
        &conflicting,
        r#"(module (type (func (param i64))) (type (func (param i32) (result i32))))"#,
    )
    .unwrap();
    // SAFETY: written by `serialize`; refused before anything runs.
    let err = unsafe { load(&conflicting, &bytes) }
        .unwrap_err()
        .to_string();
    assert!(err.contains("type ids conflict"), "{err}");
}

/// A module of many functions of several shapes, for comparing serial
/// and parallel compilation.
fn many_functions(n: usize) -> Vec<u8> {
    let mut wat = String::from(
        "(module (memory 1) (table 8 funcref) (type $t (func (param i32) (result i32)))\n",
    );
    for i in 0..n {
        let body = match i % 4 {
            0 => format!("(i32.add (local.get 0) (i32.const {i}))"),
            1 => format!(
                "(local.set 0 (i32.mul (local.get 0) (i32.const {i}))) \
                 (block (loop (br_if 1 (i32.eqz (local.get 0))) \
                 (local.set 0 (i32.shr_u (local.get 0) (i32.const 1))) (br 0))) \
                 (local.get 0)"
            ),
            2 => format!(
                "(call_indirect (type $t) (local.get 0) (i32.and (local.get 0) (i32.const {})))",
                i % 8
            ),
            _ => format!(
                "(i32.store (local.get 0) (call {} (local.get 0))) (i32.load offset={i} (local.get 0))",
                i - 1
            ),
        };
        wat.push_str(&format!("(func (export \"f{i}\") (type $t) {body})\n"));
    }
    wat.push(')');
    wat::parse_str(&wat).unwrap()
}

#[test]
fn parallel_and_serial_compilation_give_the_same_code() {
    let wasm = many_functions(400);
    let compile = |parallel: bool| {
        let compiler = Compiler::new(CompilerOptions {
            parallel_compilation: parallel,
            table_lazy_init: harness::table_lazy_init(),
            ..CompilerOptions::default()
        })
        .unwrap();
        let mut next = trestle_vmctx::TYPE_ID_FIRST;
        compiler
            .compile_module(&wasm, &mut |group| {
                next += group.len() as u32;
                next - group.len() as u32
            })
            .unwrap()
    };
    let (serial, parallel) = (compile(false), compile(true));
    assert_eq!(serial.funcs.len(), 400);
    assert!(serial.code.len() > 400 * 16);
    assert!(serial.code == parallel.code, "the code bytes differ");
    assert_eq!(serial.funcs, parallel.funcs);
    assert_eq!(serial.traps, parallel.traps);

    // The same through the API: both engines' modules serialize alike.
    let module = |parallel: bool| {
        let mut config = harness::config();
        config.parallel_compilation(parallel);
        let engine = Engine::new(&config).unwrap();
        Module::from_binary(&engine, &wasm)
            .unwrap()
            .serialize()
            .unwrap()
    };
    assert!(module(false) == module(true));
}

/// A compile error in a parallel compilation is that of the earliest
/// invalid function, as in a serial one.
#[test]
fn parallel_compilation_reports_the_first_error() {
    let mut wat = String::from("(module\n");
    for i in 0..200 {
        let body = if i == 37 || i == 150 {
            "(i64.const 0)"
        } else {
            "(i32.const 0)"
        };
        wat.push_str(&format!("(func (result i32) {body})\n"));
    }
    wat.push(')');
    let wasm = wat::parse_str(&wat).unwrap();
    let errors: Vec<String> = [false, true]
        .into_iter()
        .map(|parallel| {
            let mut config = harness::config();
            config.parallel_compilation(parallel);
            let engine = Engine::new(&config).unwrap();
            Module::from_binary(&engine, &wasm).unwrap_err().to_string()
        })
        .collect();
    assert_eq!(errors[0], errors[1]);
    assert!(errors[0].contains("type mismatch"), "{}", errors[0]);
}

/// `trestle SUBCOMMAND ARGS...` (without the table-mode argument).
fn trestle_cmd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trestle"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("failed to run trestle")
}

#[test]
fn cli_compile_then_run_and_bench_a_cwasm() {
    let dir = harness::cli::scratch_dir("cli-compile");
    let fib = dir.join("fib.cwasm");
    let fib = fib.to_str().unwrap();
    harness::successful_stdout(harness::trestle("compile").args(["examples/fib.wat", "-o", fib]));
    let bytes = std::fs::read(fib).unwrap();
    assert!(Module::is_precompiled(&bytes));
    // A precompiled file runs only when the user says they trust it: its
    // machine code runs as it is, whatever the file is named.
    let disguised = dir.join("fib.wasm");
    std::fs::copy(fib, &disguised).unwrap();
    for file in [fib, disguised.to_str().unwrap()] {
        let out = harness::trestle("run")
            .args([file, "--invoke", "fib", "10"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--allow-precompiled"), "{stderr}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    let stdout = harness::successful_stdout(harness::trestle("run").args([
        "--allow-precompiled",
        fib,
        "--invoke",
        "fib",
        "10",
    ]));
    assert_eq!(stdout, "55\n");

    // Settings that change the code must match: metering with fuel does.
    let out = harness::trestle("run")
        .args([
            "--allow-precompiled",
            "--fuel",
            "1000",
            fib,
            "--invoke",
            "fib",
            "10",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("consume fuel: false"), "{stderr}");

    // A WASI program, its output name derived from the input's.
    let hello = dir.join("hello-wasi.wasm");
    std::fs::copy("examples/hello-wasi.wasm", &hello).unwrap();
    harness::successful_stdout(harness::trestle("compile").arg(&hello));
    let stdout = harness::successful_stdout(
        harness::trestle("run")
            .arg("--allow-precompiled")
            .arg(dir.join("hello-wasi.cwasm"))
            .arg("precompiled"),
    );
    assert_eq!(stdout, "Hello, precompiled!\n");

    // `trestle bench --module` on Trestle's default engine.
    let lazy = dir.join("lazy.cwasm");
    let lazy = lazy.to_str().unwrap();
    let out = trestle_cmd(&[
        "compile",
        "--table-lazy-init",
        "true",
        "examples/fib.wat",
        "-o",
        lazy,
    ]);
    assert!(out.status.success(), "{out:?}");
    let (json, svg) = (dir.join("b.json"), dir.join("b.svg"));
    let out = trestle_cmd(&[
        "bench",
        "--sample-ms",
        "1",
        "--json",
        json.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
        "--allow-precompiled",
        "--module",
        lazy,
        "--invoke",
        "fib",
        "10",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("results of one call: 55"),
        "{out:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_loaded_module_keeps_its_frame_table_for_backtraces() {
    let engine = harness::engine();
    let module = Module::new(
        &engine,
        r#"(module $lib
             (func $inner unreachable)
             (func $outer call $inner)
             (func (export "run") call $outer))"#,
    )
    .unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were just written by `serialize`.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let backtrace_of = |module: &Module| {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        let err = run.call(&mut store, ()).unwrap_err();
        let bt = err
            .downcast_ref::<trestle::WasmBacktrace>()
            .expect("a trap carries a backtrace");
        bt.frames()
            .iter()
            .map(|f| {
                (
                    f.module_name().map(str::to_owned),
                    f.func_index(),
                    f.func_name().map(str::to_owned),
                    f.module_offset(),
                )
            })
            .collect::<Vec<_>>()
    };
    let compiled = backtrace_of(&module);
    assert_eq!(compiled.len(), 3);
    assert_eq!(compiled[0].2.as_deref(), Some("inner"));
    assert_eq!(compiled[1].2.as_deref(), Some("outer"));
    assert_eq!(compiled[0].0.as_deref(), Some("lib"));
    assert_eq!(backtrace_of(&loaded), compiled);
}

#[test]
fn modules_compiled_with_and_without_backtraces_do_not_mix() {
    let mut config = harness::config();
    config.wasm_backtrace(false);
    let without = Engine::new(&config).unwrap();
    let module = Module::new(&without, "(module (func (export \"f\")))").unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were written by `serialize`; loading must refuse them.
    let err = unsafe { Module::deserialize(&harness::engine(), &bytes) }.unwrap_err();
    assert!(
        format!("{err:#}").contains("wasm backtraces"),
        "unexpected error: {err:#}"
    );
}
