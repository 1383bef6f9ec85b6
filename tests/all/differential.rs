//! Differential testing against wasmi, seeded: a fixed set of 2,400
//! wasm-smith modules, made from a fixed seed, each run on Trestle and on
//! wasmi with every export called and the final state compared. Some of
//! them have tables whose contents the compiler knows (private, written
//! only by their segments), whose `call_indirect`s are devirtualized. The
//! checking code is the `differential` fuzz target's
//! (`fuzz/src/differential.rs`); the fuzz target explores further from
//! random input.
//!
//! A divergence fails the test and leaves the module in Cargo's temporary
//! directory for the test, as `divergence-<seed>-<index>.wasm`, to replay
//! with `cargo run --manifest-path fuzz/Cargo.toml --bin smoke --
//! differential --module FILE`.

#[path = "../../fuzz/src/differential.rs"]
#[allow(dead_code, reason = "the fuzz target's limits are not used here")]
mod check;

use check::{Agreement, Limits};

/// The modules are made from `SEED`, split into four tests of
/// `PER_CHUNK` modules so they run in parallel.
const SEED: u64 = 0x7e57_1e5e_ed00_0001;
const PER_CHUNK: u64 = 600;

/// The input bytes of module `index`.
fn input(index: u64) -> Vec<u8> {
    crate::harness::seeded_bytes(SEED, index, 512..4096)
}

/// Runs chunk `chunk` and fails on any divergence.
fn run_chunk(chunk: u64) {
    let mut ran = 0u64;
    let mut calls = 0usize;
    let mut simd = 0u64;
    let mut instantiation_failed = 0;
    let mut skipped = 0;
    let mut divergences = Vec::new();
    let mut known_tables = 0u64;
    let compiler = trestle_compiler::Compiler::new(trestle_compiler::CompilerOptions {
        features: trestle_compiler::Features {
            memory64: true,
            ..trestle_compiler::Features::default()
        },
        ..trestle_compiler::CompilerOptions::default()
    })
    .expect("host supported");
    for index in chunk * PER_CHUNK..(chunk + 1) * PER_CHUNK {
        let wasm = check::module(&input(index), &Limits::SEEDED);
        if let Some(known) = wasm.and_then(|w| compiler.known_tables(&w).ok()) {
            known_tables += u64::from(!known.is_empty());
        }
        match check::check(&input(index), &Limits::SEEDED) {
            Ok(Agreement::Ran {
                calls: n, simd: s, ..
            }) => {
                ran += 1;
                calls += n;
                simd += u64::from(s);
            }
            Ok(Agreement::InstantiationFailed) => instantiation_failed += 1,
            Ok(Agreement::Skipped(_)) => skipped += 1,
            Err(d) => {
                let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("divergence-{SEED:x}-{index}.wasm"));
                let _ = std::fs::write(&file, &d.wasm);
                divergences.push(format!("module {index} ({}): {}", file.display(), d.what));
            }
        }
    }
    assert!(
        divergences.is_empty(),
        "{} of {PER_CHUNK} modules diverge:\n{}",
        divergences.len(),
        divergences.join("\n")
    );
    // The generator must keep producing modules that run.
    assert!(
        ran >= PER_CHUNK * 8 / 10,
        "only {ran} of {PER_CHUNK} modules ran ({instantiation_failed} failed to \
         instantiate, {skipped} skipped)"
    );
    assert!(calls as u64 >= ran, "{calls} calls in {ran} modules");
    // And SIMD in most of them (the generator turns it on in three of
    // four).
    assert!(
        simd >= ran / 2,
        "only {simd} of {ran} modules that ran use SIMD"
    );
    // And tables whose contents the compiler knows, whose calls are
    // devirtualized, in some of them.
    assert!(
        known_tables >= PER_CHUNK / 50,
        "only {known_tables} of {PER_CHUNK} modules have a table the compiler knows"
    );
    eprintln!(
        "chunk {chunk}: {ran} modules ran ({calls} calls, {simd} modules with SIMD, \
         {known_tables} with a known table), {instantiation_failed} failed to \
         instantiate on both engines, {skipped} skipped"
    );
}

#[test]
fn seeded_modules_agree_with_wasmi_0() {
    run_chunk(0);
}

#[test]
fn seeded_modules_agree_with_wasmi_1() {
    run_chunk(1);
}

#[test]
fn seeded_modules_agree_with_wasmi_2() {
    run_chunk(2);
}

#[test]
fn seeded_modules_agree_with_wasmi_3() {
    run_chunk(3);
}

/// The oracle itself on known answers, including the `select` pattern
/// wasmi 2.0.0 gets wrong and the traps wasmi reports as errors of their
/// own.
#[test]
fn the_oracle_agrees_with_trestle_on_known_modules() {
    let cases = [
        r#"(module (func (export "f") (param i32 i32) (result i32)
             (select (i32.const 7) (local.get 1) (i32.ne (local.get 0) (i32.const 0)))))"#,
        r#"(module (table 1 funcref) (func (export "f") (param i32)
             (table.copy (i32.const 0) (local.get 0) (i32.const 1))))"#,
        r#"(module (table 1 funcref) (func $f) (elem (i32.const 1) func $f))"#,
        r#"(module (memory 1 2) (func (export "f") (param i32) (result i32)
             (memory.grow (local.get 0))))"#,
        // SIMD: integer lanes compare exactly; 0/0 is a NaN whose sign
        // the engines need not agree on.
        r#"(module (memory 1)
             (func (export "dot") (param v128 v128) (result v128)
               (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))
             (func (export "nan") (param v128) (result v128)
               (f32x4.div (local.get 0) (local.get 0)))
             (func (export "store") (param i32 v128)
               (v128.store offset=65520 (local.get 0) (local.get 1))))"#,
    ];
    for wat in cases {
        let wasm = wat::parse_str(wat).unwrap();
        for (table64, lazy) in [(false, true), (true, false)] {
            if let Err(d) = check::compare(&wasm, table64, lazy) {
                panic!("{wat}: {}", d.what);
            }
        }
    }
    // Several memories, one of them 64-bit: stores, copies between them,
    // growth and accesses at the top.
    let memories = [
        r#"(module (memory 1 2) (memory $b i64 1 2)
             (func (export "f") (param i64 i32) (result i32)
               (i32.store $b (local.get 0) (local.get 1))
               (memory.copy 0 $b (i32.const 8) (local.get 0) (i32.const 4))
               (i32.load 0 (i32.const 8)))
             (func (export "grow") (param i64) (result i64) (memory.grow $b (local.get 0)))
             (func (export "top") (param i64) (result i64)
               (i64.load $b offset=65528 (local.get 0))))"#,
        r#"(module (memory 0) (memory 1) (memory i64 1 1)
             (data (memory 1) (i32.const 65530) "abcdef")
             (data (memory 2) (i64.const 65530) "abcdef")
             (func (export "f") (param i32) (result i32)
               (i32.add (i32.load8_u 1 (local.get 0)) (i32.load8_u 2 (i64.extend_i32_u (local.get 0))))))"#,
    ];
    for wat in memories {
        let wasm = wat::parse_str(wat).unwrap();
        for lazy in [true, false] {
            if let Err(d) = check::compare(&wasm, true, lazy) {
                panic!("{wat}: {}", d.what);
            }
        }
    }
}
