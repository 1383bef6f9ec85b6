//! Arbitrary input through `Module::new`: an error or a module, never a
//! panic.
//!
//! The first input byte picks what the rest becomes:
//!
//! - raw bytes, as they are or behind a valid header (so parsing gets past
//!   the preamble);
//! - a wasm-smith module with invalid function bodies allowed, with
//!   Trestle's proposals (SIMD, relaxed SIMD and several memories among
//!   them) or with others it does not support (exceptions, tail calls, GC,
//!   threads, 64-bit memories);
//! - a valid wasm-smith module with a few bytes changed, cut short or
//!   spliced.
//!
//! Besides not panicking, Trestle must agree with wasmparser's validator
//! configured with Trestle's proposals: every module the validator accepts
//! compiles (except those with a 64-bit memory, which Trestle rejects by
//! design) and every module it rejects fails to compile.
//! `Module::validate` must agree with `Module::new` too.

use arbitrary::Unstructured;
use std::sync::OnceLock;
use trestle::{Config, Engine, Module};
use wasmparser::WasmFeatures;

/// Trestle's default engine and one with `wasm_memory64` (64-bit tables).
fn engines() -> &'static [Engine; 2] {
    static ENGINES: OnceLock<[Engine; 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        [false, true].map(|memory64| {
            let mut config = Config::new();
            config.wasm_memory64(memory64);
            Engine::new(&config).expect("the engine")
        })
    })
}

/// The proposals Trestle enables, as wasmparser names them.
fn features(memory64: bool) -> WasmFeatures {
    let mut f = WasmFeatures::FLOATS
        | WasmFeatures::GC_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::SIMD
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::MULTI_MEMORY;
    f.set(WasmFeatures::MEMORY64, memory64);
    f
}

/// Whether the module declares or imports a 64-bit memory.
fn has_memory64(wasm: &[u8]) -> bool {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::MemorySection(s))
                if s.clone().into_iter().any(|m| m.is_ok_and(|m| m.memory64)) =>
            {
                return true;
            }
            Ok(wasmparser::Payload::ImportSection(s)) => {
                for import in s.into_imports() {
                    if let Ok(wasmparser::Import {
                        ty: wasmparser::TypeRef::Memory(m),
                        ..
                    }) = import
                        && m.memory64
                    {
                        return true;
                    }
                }
            }
            Err(_) => return false,
            _ => {}
        }
    }
    false
}

/// A wasm-smith configuration: Trestle's proposals, or (`others`) some
/// it lacks too.
fn smith_config(u: &mut Unstructured<'_>, others: bool) -> arbitrary::Result<wasm_smith::Config> {
    let simd = u.arbitrary()?;
    let mut c = wasm_smith::Config {
        simd_enabled: simd,
        relaxed_simd_enabled: simd && u.arbitrary()?,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        extended_const_enabled: false,
        compact_imports_enabled: false,
        custom_descriptors_enabled: false,
        memory64_enabled: u.arbitrary()?,
        max_memories: u.int_in_range(0..=3)?,
        max_tables: u.int_in_range(0..=6)?,
        max_funcs: u.int_in_range(0..=20)?,
        max_instructions: u.int_in_range(0..=100)?,
        max_types: 20,
        max_globals: 10,
        max_element_segments: 10,
        max_data_segments: 10,
        max_imports: 10,
        max_exports: 20,
        min_uleb_size: u.int_in_range(0..=5)?,
        ..wasm_smith::Config::default()
    };
    if others {
        c.exceptions_enabled = u.arbitrary()?;
        c.tail_call_enabled = u.arbitrary()?;
        c.extended_const_enabled = u.arbitrary()?;
        c.gc_enabled = u.arbitrary()?;
        c.threads_enabled = u.arbitrary()?;
    }
    Ok(c)
}

/// Compiles `wasm` on both engines and checks the verdicts.
fn compile(wasm: &[u8]) {
    for (memory64, engine) in [false, true].into_iter().zip(engines()) {
        let compiled = Module::new(engine, wasm);
        let validated = Module::validate(engine, wasm);
        assert_eq!(
            compiled.is_ok(),
            validated.is_ok(),
            "Module::new and Module::validate disagree (memory64 {memory64}): {:?} vs {:?}",
            compiled.as_ref().err(),
            validated.as_ref().err()
        );
        let reference = wasmparser::Validator::new_with_features(features(memory64))
            .validate_all(wasm)
            .map(|_| ());
        match (&compiled, &reference) {
            (Ok(_), Err(e)) => panic!(
                "Trestle (memory64 {memory64}) accepts a module wasmparser rejects: {e}\nmodule: {}",
                crate::hex(wasm)
            ),
            (Err(e), Ok(())) if !has_memory64(wasm) => panic!(
                "Trestle (memory64 {memory64}) rejects a valid module: {e:#}\nmodule: {}",
                crate::hex(wasm)
            ),
            _ => {}
        }
    }
}

/// The `compile` target.
///
/// # Panics
///
/// When compilation panics, or Trestle's verdict differs from the
/// validator's.
pub fn check(data: &[u8]) -> &'static str {
    let mut u = Unstructured::new(data);
    let Ok(mode) = u.int_in_range(0..=5u8) else {
        return "empty input";
    };
    let rest = |u: Unstructured<'_>| u.take_rest().to_vec();
    match mode {
        0 => {
            compile(data);
            "raw bytes"
        }
        1 => {
            let mut wasm = b"\0asm\x01\0\0\0".to_vec();
            wasm.extend(rest(u));
            compile(&wasm);
            "bytes behind a header"
        }
        2 | 3 => {
            let others = mode == 3;
            let Ok(mut c) = smith_config(&mut u, others) else {
                return "input too short for a module";
            };
            c.allow_invalid_funcs = true;
            let Ok(m) = wasm_smith::Module::new(c, &mut u) else {
                return "input too short for a module";
            };
            compile(&m.to_bytes());
            if others {
                "wasm-smith, other proposals, invalid functions allowed"
            } else {
                "wasm-smith, invalid functions allowed"
            }
        }
        _ => {
            let Ok(c) = smith_config(&mut u, false) else {
                return "input too short for a module";
            };
            let Ok(m) = wasm_smith::Module::new(c, &mut u) else {
                return "input too short for a module";
            };
            let mut wasm = m.to_bytes();
            if mode == 4 {
                // Valid as generated: compiles unless it has a 64-bit memory.
                compile(&wasm);
                return "valid wasm-smith module";
            }
            let edits = u.int_in_range(1..=4u8).unwrap_or(1);
            for _ in 0..edits {
                if wasm.is_empty() {
                    break;
                }
                let at = u.choose_index(wasm.len()).unwrap_or(0);
                match u.int_in_range(0..=3u8).unwrap_or(0) {
                    0 => wasm[at] = u.arbitrary().unwrap_or(0xff),
                    1 => wasm[at] ^= 1 << u.int_in_range(0..=7u8).unwrap_or(0),
                    2 => wasm.truncate(at),
                    _ => {
                        let junk: Vec<u8> = (0..u.int_in_range(1..=8u8).unwrap_or(1))
                            .map(|_| u.arbitrary().unwrap_or(0x80))
                            .collect();
                        wasm.splice(at..at, junk);
                    }
                }
            }
            compile(&wasm);
            "mutated wasm-smith module"
        }
    }
}
