//! Unit tests of the compiler: modules that must compile, and inputs that
//! must be rejected cleanly.

use super::*;

fn compiler() -> Compiler {
    Compiler::new(CompilerOptions {
        verify: true,
        ..CompilerOptions::default()
    })
    .unwrap()
}

fn compile(wat: &str) -> Result<CompiledModule, CompileError> {
    let wasm = wat::parse_str(wat).unwrap();
    let mut next = trestle_vmctx::TYPE_ID_FIRST;
    compiler().compile_module(&wasm, &mut |_| {
        next += 1;
        next
    })
}

#[test]
fn compiles_control_flow_calls_and_memory() {
    let m = compile(
        r#"(module
          (memory 1)
          (global $g (mut i32) (i32.const 0))
          ;; Exported: the compiler does not know its contents, so the
          ;; call_indirect keeps its type check.
          (table (export "t") 2 funcref)
          (type $t (func (param i32) (result i32)))
          (elem (i32.const 0) $fib $fib)
          (func $fib (type $t)
            (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
              (then (local.get 0))
              (else
                (i32.add
                  (call $fib (i32.sub (local.get 0) (i32.const 1)))
                  (call_indirect (type $t) (i32.sub (local.get 0) (i32.const 2)) (i32.const 1))))))
          (func (export "mem") (param i32) (result i64)
            (global.set $g (i32.load8_u offset=4294967295 (local.get 0)))
            (loop $l (br_if $l (i32.eqz (local.get 0))))
            (block $b (result i64)
              (br_table $b $b $b (i64.const 1) (local.get 0))))
          (func (export "multi") (result i32 i64 f32 f64 i32)
            i32.const 1 i64.const 2 f32.const 3 f64.const 4 i32.const 5))"#,
    )
    .unwrap();
    assert_eq!(m.funcs.len(), 3);
    assert!(!m.code.is_empty());
    assert!(m.traps.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(
        m.traps
            .iter()
            .any(|(_, t)| *t == trestle_vmctx::Trap::BadSignature)
    );
}

#[test]
fn rejects_garbage_and_invalid_modules() {
    let c = compiler();
    let e = c
        .compile_module(b"\0asm\x01\0\0\0\x01", &mut |_| 2)
        .unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::Invalid);
    let e = c.compile_module(b"hello world", &mut |_| 2).unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::Invalid);
    let e = compile("(module (func (result i32) i64.const 0))").unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::Invalid);
    assert!(e.to_string().contains("type mismatch"), "{e}");
}

#[test]
fn host_trampoline_compiles() {
    let c = compiler();
    let ty = WasmFuncType {
        params: vec![WasmValType::I32, WasmValType::F64].into(),
        results: vec![WasmValType::I64, WasmValType::I32, WasmValType::F32].into(),
    };
    assert!(!c.compile_host_trampoline(&ty).unwrap().code.is_empty());
}

/// A module using the vector instructions that need SSE4.1 (rounding)
/// and SSSE3 (`pshufb`) on x86-64.
const SIMD_MODULE: &str = r#"(module
  (func (export "f") (param v128) (result v128)
    (i8x16.swizzle (f32x4.ceil (local.get 0)) (local.get 0))))"#;

#[test]
fn simd_compiles_to_vector_code() {
    let m = compile(SIMD_MODULE).unwrap();
    assert_eq!(m.funcs.len(), 1);
    let e = Compiler::new(CompilerOptions {
        features: Features {
            simd: false,
            ..Features::default()
        },
        ..CompilerOptions::default()
    })
    .unwrap()
    .compile_module(&wat::parse_str(SIMD_MODULE).unwrap(), &mut |_| 2)
    .unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::Invalid, "{e}");
}

#[test]
#[cfg(target_arch = "x86_64")]
fn simd_needs_sse41_on_x86_64() {
    let old_cpu = |options: CompilerOptions, flag: &str| {
        Compiler::for_host(options, &[(flag, "false")]).map(|_| ())
    };
    for flag in ["has_sse41", "has_ssse3"] {
        let e = old_cpu(CompilerOptions::default(), flag).unwrap_err();
        assert_eq!(e.kind(), CompileErrorKind::Unsupported);
        assert!(e.message().contains("SIMD on x86-64 needs"), "{e}");
        assert!(e.message().contains("SSE4.1") || e.message().contains("SSSE3"));
    }
    // Without SIMD the same CPU is fine.
    let no_simd = CompilerOptions {
        features: Features {
            simd: false,
            ..Features::default()
        },
        ..CompilerOptions::default()
    };
    old_cpu(no_simd, "has_sse41").unwrap();
    // Deterministic relaxed SIMD needs a fused multiply-add.
    let deterministic = CompilerOptions {
        relaxed_simd_deterministic: true,
        ..CompilerOptions::default()
    };
    let e = old_cpu(deterministic.clone(), "has_fma").unwrap_err();
    assert!(e.message().contains("needs FMA"), "{e}");
    let no_relaxed = CompilerOptions {
        features: Features {
            relaxed_simd: false,
            ..Features::default()
        },
        ..deterministic
    };
    old_cpu(no_relaxed, "has_fma").unwrap();
}

#[test]
fn loops_are_found_from_back_edges() {
    use crate::driver::loop_ranges;
    // Blocks at 0, 10, 30 and 50; 30 branches back to 10.
    let starts = [0, 10, 30, 50];
    let edges = [(0, 10), (10, 30), (30, 10), (30, 50)];
    assert_eq!(loop_ranges(&starts, &edges, 60), vec![(10, 50)]);
    // A block branching to itself, the last one.
    assert_eq!(loop_ranges(&starts, &[(50, 50)], 60), vec![(50, 60)]);
    assert!(loop_ranges(&starts, &[(0, 10), (10, 30)], 60).is_empty());
}

#[test]
fn padding_puts_short_loops_inside_a_cache_line() {
    use crate::module::loop_padding;
    // A 45-byte loop 26 bytes into the function fits in a line only when
    // the function starts 48 bytes after a line boundary.
    assert_eq!(loop_padding(0, &[(26, 71)]), 48);
    assert_eq!(loop_padding(64, &[(26, 71)]), 48);
    assert_eq!(loop_padding(16, &[(26, 71)]), 32);
    // Already inside a line: no padding.
    assert_eq!(loop_padding(0, &[(2, 40)]), 0);
    // No loops, or only loops longer than a line: no padding.
    assert_eq!(loop_padding(16, &[]), 0);
    assert_eq!(loop_padding(16, &[(0, 200)]), 0);
    // The placement that fits the most loops wins.
    let two = [(2, 40), (70, 120)];
    let pad = loop_padding(0, &two);
    for (start, end) in two {
        let (start, end) = (start as usize, end as usize);
        assert_eq!((pad + start) / 64, (pad + end - 1) / 64, "padding {pad}");
    }
}

/// End to end: the inner loop of a SIMD kernel, after functions of
/// several sizes, lies inside one cache line of the module's code.
#[test]
fn compiled_loops_lie_inside_cache_lines() {
    let kernel = r#"
      (func (export "sum") (param $p i32) (param $n i32) (result v128) (local $acc v128)
        (loop $l
          (local.set $acc (i32x4.add (local.get $acc)
            (i32x4.mul (v128.load (local.get $p)) (v128.load offset=1024 (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc))"#;
    for fillers in 0..4 {
        let filler: String = (0..fillers)
            .map(|i| format!("(func (result i32) (i32.const {i}))"))
            .collect();
        let wat = format!("(module (memory 1) {filler} {kernel})");
        let wasm = wat::parse_str(&wat).unwrap();
        let c = compiler();
        let m = c.compile_module(&wasm, &mut |_| 2).unwrap();
        // The kernel's loops, relative to its start, compiled alone.
        let crate::module::Parsed { info, bodies, .. } =
            crate::module::parse(c.options().features, &wasm, &mut |_| 2).unwrap();
        let offsets = info.offsets().unwrap();
        let known = crate::devirt::KnownTables::default();
        let inline = crate::inline::InlineCandidates::default();
        let mut fc = crate::driver::FunctionCompiler::new(crate::translate::ModuleEnv {
            compiler: &c,
            info: &info,
            offsets: &offsets,
            known_tables: &known,
            inline: &inline,
        });
        let (func, body) = bodies.into_iter().last().unwrap();
        let compiled = fc
            .compile_body(crate::index::FuncIndex::from_u32(fillers), func, &body)
            .unwrap();
        assert!(!compiled.loops.is_empty());
        let start = m.funcs[crate::index::DefinedFuncIndex::from_u32(fillers)].wasm_call as usize;
        for (h, e) in compiled.loops {
            let (h, e) = (start + h as usize, start + e as usize);
            assert_eq!(
                h / 64,
                (e - 1) / 64,
                "loop {h:#x}..{e:#x}, {fillers} fillers"
            );
        }
    }
}

/// Only the functions the host may reach get an array-to-wasm entry
/// trampoline: exported, in an active, passive or declared element
/// segment, named by a global's or a table's initializer, or the start
/// function.
#[test]
fn only_escaping_functions_have_entry_trampolines() {
    let m = compile(
        r#"(module
          (import "host" "f" (func $imported))
          (table $t 1 funcref (ref.func $in_table_init))
          (global funcref (ref.func $in_global))
          (elem (table $t) (i32.const 0) func $in_active)
          (elem func $in_passive)
          (elem declare func $declared)
          (start $start)
          (func $exported (export "e") (ref.func $declared) drop (call $internal))
          (func $in_table_init)
          (func $in_global)
          (func $in_active)
          (func $in_passive)
          (func $declared)
          (func $start)
          (func $internal)
          (func $also_internal))"#,
    )
    .unwrap();
    let with_trampoline: Vec<bool> = m.funcs.values().map(|f| f.array_call.is_some()).collect();
    assert_eq!(
        with_trampoline,
        [true, true, true, true, true, true, true, false, false]
    );
    let escaping: Vec<u32> = m.info.escaping_funcs.iter().map(|f| f.as_u32()).collect();
    assert_eq!(escaping, [1, 2, 3, 4, 5, 6, 7]);
    // The frame table agrees, and no trampoline overlaps a body.
    for (loc, frame) in m.funcs.values().zip(&m.frames.funcs) {
        assert_eq!(loc.array_call, frame.array_call.map(|r| r.start));
        if let Some(t) = frame.array_call {
            assert!(
                t.start >= frame.body.start + frame.body.len || t.start + t.len <= frame.body.start
            );
        }
    }
}
