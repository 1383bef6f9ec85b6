//! Wasm backtraces: a trap, and an error a host function returns, carry
//! the wasm frames that were on the stack, innermost first, with each
//! function's index, its name from the `name` section (demangled for
//! display) and the module offset of the instruction each frame is at.
//! Traps three calls deep, through `call_indirect`, through a host
//! function, after a tail call, in a start function, on stack exhaustion;
//! with names and without; with backtraces off.
//!
//! Offsets are checked against the module's bytes: a trapping frame's
//! offset holds the opcode that trapped, every outer frame's a call.
//! Traps the runtime raises for compiled code (bulk operators, fuel and
//! epochs inside them) are in [`libcalls`].

mod libcalls;

use crate::harness::config;
use trestle::{
    Caller, Config, Engine, FrameInfo, Instance, Linker, Module, Store, Trap, Val, WasmBacktrace,
};

/// The opcodes of `unreachable`, `call` and `call_indirect`.
const UNREACHABLE: u8 = 0x00;
const CALL: u8 = 0x10;
const CALL_INDIRECT: u8 = 0x11;

/// `wat` compiled and instantiated in a new store of `config`, with the
/// host function `host.check` (it captures a backtrace and returns an
/// error) defined.
fn instance(config: &Config, wat: &str) -> (Store<()>, Instance, Vec<u8>) {
    instance_with(config, wat, |linker| {
        linker.func_wrap(
            "host",
            "fail",
            |caller: Caller<'_, ()>| -> trestle::Result<()> {
                let seen = WasmBacktrace::capture(&caller);
                Err(trestle::Error::msg(format!(
                    "host failed under {} frames",
                    seen.frames().len()
                )))
            },
        )
    })
}

/// `wat` compiled and instantiated in a new store of `config` with the
/// host functions `define` adds to the linker, and the module's bytes.
fn instance_with(
    config: &Config,
    wat: &str,
    define: impl FnOnce(&mut Linker<()>) -> trestle::Result<&mut Linker<()>>,
) -> (Store<()>, Instance, Vec<u8>) {
    let engine = Engine::new(config).unwrap();
    let binary = wat::parse_str(wat).unwrap();
    let module = Module::new(&engine, &binary).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    define(&mut linker).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance, binary)
}

/// Calls export `name`, which must fail, and returns the error.
fn fail(store: &mut Store<()>, instance: &Instance, name: &str) -> trestle::Error {
    let f = instance.get_func(&mut *store, name).unwrap();
    f.call(&mut *store, &[], &mut []).unwrap_err()
}

/// Calls export `name`, which must trap with `expected`, and returns the
/// error.
#[track_caller]
fn fail_with(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    expected: Trap,
) -> trestle::Error {
    let err = fail(store, instance, name);
    assert_eq!(err.downcast_ref::<Trap>(), Some(&expected), "{err:?}");
    err
}

/// The backtrace `err` carries.
#[track_caller]
fn backtrace(err: &trestle::Error) -> &WasmBacktrace {
    err.downcast_ref::<WasmBacktrace>()
        .unwrap_or_else(|| panic!("no backtrace: {err:?}"))
}

/// The names of the frames, `?` for a frame without one.
fn names(bt: &WasmBacktrace) -> Vec<&str> {
    bt.frames()
        .iter()
        .map(|f| f.func_name().unwrap_or("?"))
        .collect()
}

/// The byte of the module at the frame's offset.
#[track_caller]
fn opcode_at(binary: &[u8], frame: &FrameInfo) -> u8 {
    binary[frame.module_offset().expect("an offset")]
}

const THREE_DEEP: &str = r#"(module
    (func $outer (export "run") (call $middle))
    (func $middle (call $inner))
    (func $inner unreachable))"#;

#[test]
fn trap_three_calls_deep() {
    let (mut store, instance, binary) = instance(&config(), THREE_DEEP);
    let err = fail_with(&mut store, &instance, "run", Trap::UnreachableCodeReached);
    let bt = backtrace(&err);
    assert_eq!(names(bt), ["inner", "middle", "outer"]);
    let indices: Vec<u32> = bt.frames().iter().map(|f| f.func_index()).collect();
    assert_eq!(indices, [2, 1, 0]);
    assert_eq!(opcode_at(&binary, &bt.frames()[0]), UNREACHABLE);
    assert_eq!(opcode_at(&binary, &bt.frames()[1]), CALL);
    assert_eq!(opcode_at(&binary, &bt.frames()[2]), CALL);
    for frame in bt.frames() {
        // Each body here is `size, locals count, code`: the instruction
        // comes after the (one-byte) locals count.
        assert_eq!(frame.func_offset(), Some(1), "{frame:?}");
        assert!(frame.module_name().is_none());
    }
    // The store is still usable, and a second trap has its own trace.
    let err = fail(&mut store, &instance, "run");
    assert_eq!(backtrace(&err).frames().len(), 3);
}

#[test]
fn display_follows_wasmtime() {
    let wat = r#"(module $demo
        (func $outer (export "run") (call $inner))
        (func $inner unreachable))"#;
    let (mut store, instance, binary) = instance(&config(), wat);
    let err = fail(&mut store, &instance, "run");
    let bt = backtrace(&err);
    let inner = bt.frames()[0].module_offset().unwrap();
    let outer = bt.frames()[1].module_offset().unwrap();
    assert_eq!(binary[inner], UNREACHABLE);
    let expected = [
        "error while executing at wasm backtrace:".to_string(),
        format!("    0: {inner:#6x} - demo!inner"),
        format!("    1: {outer:#6x} - demo!outer"),
    ];
    assert_eq!(bt.to_string(), expected.join("\n"));
    // The chain: the backtrace, then the trap.
    let chain = format!("{err:#}");
    let trap = Trap::UnreachableCodeReached.to_string();
    assert!(chain.ends_with(&format!(": {trap}")), "{chain}");
}

#[test]
fn frames_without_names() {
    let wat = r#"(module
        (func (export "run") (call 1))
        (func (i32.div_s (i32.const 1) (i32.const 0)) drop))"#;
    let (mut store, instance, binary) = instance(&config(), wat);
    let err = fail_with(&mut store, &instance, "run", Trap::IntegerDivisionByZero);
    let bt = backtrace(&err);
    assert_eq!(names(bt), ["?", "?"]);
    assert_eq!(bt.frames()[0].func_index(), 1);
    // i32.div_s
    assert_eq!(opcode_at(&binary, &bt.frames()[0]), 0x6d);
    let text = bt.to_string();
    assert!(text.contains("<unknown>!<wasm function 1>"), "{text}");
    assert!(text.contains("<unknown>!<wasm function 0>"), "{text}");
}

#[test]
fn trap_through_call_indirect() {
    // Runs in the harness's table mode: lazily initialized tables reach
    // the callee through the runtime on first use.
    let wat = r#"(module
        (type $t (func (param i32) (result i32)))
        (table 2 funcref)
        (memory 0)
        (elem (i32.const 0) $ok $bad)
        (func $ok (type $t) (local.get 0))
        (func $bad (type $t) (i32.load (i32.const 0)))
        (func $dispatch (export "run") (param i32) (result i32)
            (call_indirect (type $t) (local.get 0) (local.get 0)))
        (func (export "ok") (result i32)
            (call $dispatch (i32.const 0))))"#;
    let (mut store, instance, binary) = instance(&config(), wat);
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let err = run.call(&mut store, 1).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    let bt = backtrace(&err);
    assert_eq!(names(bt), ["bad", "dispatch"]);
    // i32.load
    assert_eq!(opcode_at(&binary, &bt.frames()[0]), 0x28);
    assert_eq!(opcode_at(&binary, &bt.frames()[1]), CALL_INDIRECT);
    // A call that does not trap is unaffected.
    assert_eq!(run.call(&mut store, 0).unwrap(), 0);
    // An out-of-bounds index traps in the dispatching function itself.
    let err = run.call(&mut store, 7).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::UndefinedElement));
    let bt = backtrace(&err);
    assert_eq!(names(bt), ["dispatch"]);
    assert_eq!(opcode_at(&binary, &bt.frames()[0]), CALL_INDIRECT);
}

#[test]
fn host_error_through_a_host_function() {
    let wat = r#"(module
        (import "host" "fail" (func $fail))
        (func $caller (call $fail))
        (func $entry (export "run") (call $caller)))"#;
    let (mut store, instance, binary) = instance(&config(), wat);
    let err = fail(&mut store, &instance, "run");
    // The host function saw the two wasm frames under it, and its error
    // carries them.
    assert_eq!(err.root_cause().to_string(), "host failed under 2 frames");
    let bt = backtrace(&err);
    assert_eq!(names(bt), ["caller", "entry"]);
    assert_eq!(bt.frames()[0].func_index(), 1);
    assert_eq!(opcode_at(&binary, &bt.frames()[0]), CALL);
    assert_eq!(opcode_at(&binary, &bt.frames()[1]), CALL);
    // A host function called directly by the host has no wasm under it.
    let direct = instance.get_func(&mut store, "run").unwrap();
    let host = trestle::Func::wrap(&mut store, |caller: Caller<'_, ()>| {
        WasmBacktrace::capture(&caller).frames().len() as i32
    });
    let mut out = [Val::I32(-1)];
    host.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 0);
    assert!(direct.call(&mut store, &[], &mut []).is_err());
}

#[test]
fn trap_in_wasm_called_back_by_the_host() {
    // wasm -> host -> wasm that traps: the trap's frames are those of the
    // inner call; the host function's error keeps them, not the outer
    // ones.
    let wat = r#"(module
        (import "host" "reenter" (func $reenter))
        (func $outer (export "run") (call $reenter))
        (func $boom (export "boom") unreachable))"#;
    let (mut store, instance, _) = instance_with(&config(), wat, |linker| {
        linker.func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, ()>| -> trestle::Result<()> {
                let boom = caller.get_export("boom").unwrap().into_func().unwrap();
                boom.call(&mut caller, &[], &mut [])
            },
        )
    });
    let err = fail_with(&mut store, &instance, "run", Trap::UnreachableCodeReached);
    assert_eq!(names(backtrace(&err)), ["boom"]);
}

#[test]
fn trap_after_a_tail_call() {
    let mut config = config();
    config.wasm_tail_call(true);
    let wat = r#"(module
        (func $entry (export "run") (call $hop))
        (func $hop (return_call $land))
        (func $land unreachable))"#;
    let (mut store, instance, binary) = instance(&config, wat);
    let err = fail(&mut store, &instance, "run");
    let bt = backtrace(&err);
    // The tail call replaced `hop`'s frame with `land`'s.
    assert_eq!(names(bt), ["land", "entry"]);
    assert_eq!(opcode_at(&binary, &bt.frames()[0]), UNREACHABLE);
    assert_eq!(opcode_at(&binary, &bt.frames()[1]), CALL);
}

#[test]
fn trap_in_a_start_function() {
    let engine = Engine::new(&config()).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (func $helper unreachable)
            (func $init (call $helper))
            (start $init))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert_eq!(names(backtrace(&err)), ["helper", "init"]);
}

#[test]
fn stack_exhaustion_has_every_frame() {
    let mut config = config();
    config.max_wasm_stack(64 * 1024);
    let wat = r#"(module
        (func $recurse (export "run") (call $recurse)))"#;
    let (mut store, instance, _) = instance(&config, wat);
    let err = fail(&mut store, &instance, "run");
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
    let bt = backtrace(&err);
    // 64 KiB of frames of at least 16 bytes, at most 4096 of them.
    assert!(bt.frames().len() > 100, "{} frames", bt.frames().len());
    assert!(bt.frames().len() <= 4096, "{} frames", bt.frames().len());
    assert!(bt.frames().iter().all(|f| f.func_name() == Some("recurse")));
}

#[test]
fn mangled_names_are_demangled_for_display() {
    let wat = r#"(module
        (func $_ZN7mycrate5inner17h0123456789abcdefE (export "run")
            (call $_Z5outerv))
        (func $_Z5outerv unreachable))"#;
    let (mut store, instance, _) = instance(&config(), wat);
    let err = fail(&mut store, &instance, "run");
    let bt = backtrace(&err);
    assert_eq!(bt.frames()[0].func_name(), Some("_Z5outerv"));
    assert_eq!(bt.frames()[0].demangled_name().as_deref(), Some("outer()"));
    assert_eq!(
        bt.frames()[1].demangled_name().as_deref(),
        Some("mycrate::inner")
    );
    let text = bt.to_string();
    assert!(text.contains("<unknown>!outer()"), "{text}");
    assert!(text.contains("<unknown>!mycrate::inner"), "{text}");
}

#[test]
fn backtraces_off() {
    let mut config = config();
    config.wasm_backtrace(false);
    assert!(!config.get_wasm_backtrace());
    let (mut store, instance, _) = instance(&config, THREE_DEEP);
    let err = fail_with(&mut store, &instance, "run", Trap::UnreachableCodeReached);
    assert!(err.downcast_ref::<WasmBacktrace>().is_none());
    assert_eq!(err.to_string(), Trap::UnreachableCodeReached.to_string());

    // A host function may still force a capture: the frames are found,
    // without offsets (the code has no address map).
    let wat = r#"(module
        (import "host" "frames" (func $frames (result i32)))
        (func $leaf (result i32) (call $frames))
        (func (export "run") (result i32) (call $leaf)))"#;
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "frames", |caller: Caller<'_, ()>| {
            assert!(WasmBacktrace::capture(&caller).frames().is_empty());
            let forced = WasmBacktrace::force_capture(&caller);
            assert!(forced.frames().iter().all(|f| f.module_offset().is_none()));
            forced.frames().len() as i32
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 2);
}

#[test]
fn cli_prints_the_backtrace_under_the_error() {
    let dir = crate::harness::scratch_dir("cli-backtrace");
    let file = dir.join("trap.wat");
    std::fs::write(&file, THREE_DEEP).unwrap();
    let out = crate::harness::trestle("run")
        .arg(&file)
        .args(["--invoke", "run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(134),
        "a trap exits as Wasmtime does: {out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("error: "), "{stderr}");
    let trap = Trap::UnreachableCodeReached.to_string();
    assert!(lines[0].ends_with(&format!(": {trap}")), "{stderr}");
    assert!(!lines[0].contains("backtrace"), "{stderr}");
    assert_eq!(
        lines[1], "error while executing at wasm backtrace:",
        "{stderr}"
    );
    assert_eq!(lines.len(), 5, "{stderr}");
    for (line, name) in lines[2..].iter().zip(["inner", "middle", "outer"]) {
        assert!(line.ends_with(&format!(" - <unknown>!{name}")), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trap in a function inlined into its caller has the same backtrace as
/// with inlining off: the inlined function's frame at the trapping
/// instruction, then its caller's at the call.
#[test]
fn a_trap_in_an_inlined_function_has_its_own_frame() {
    let wat = r#"(module
        (memory 1)
        (func $load (param i32) (result i32) (i32.load (local.get 0)))
        (func $outer (export "run") (result i32)
          (i32.add (call $load (i32.const 8)) (call $load (i32.const 65536)))))"#;
    let mut traces = Vec::new();
    for inlining in [true, false] {
        let mut config = config();
        config.compiler_inlining(inlining);
        let (mut store, instance, binary) = instance(&config, wat);
        let f = instance.get_func(&mut store, "run").unwrap();
        let err = f.call(&mut store, &[], &mut [Val::I32(0)]).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
        let bt = backtrace(&err);
        assert_eq!(names(bt), ["load", "outer"]);
        assert_eq!(opcode_at(&binary, &bt.frames()[0]), 0x28, "i32.load");
        assert_eq!(opcode_at(&binary, &bt.frames()[1]), CALL);
        traces.push(bt.to_string());
    }
    assert_eq!(traces[0], traces[1]);
}
