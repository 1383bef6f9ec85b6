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
          (table 2 funcref)
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
