//! Malformed and invalid modules are errors from `Module::new` and
//! `Module::validate`, never panics: garbage, every truncation of a module,
//! sections whose size disagrees with their contents, over-long LEB128
//! encodings, type indices out of range, and `call_indirect` without a
//! funcref table.

use crate::harness::{FOUR_SLOTS, SIGNATURES, assert_usable, new_instance};
use trestle::{Engine, Module};

/// A module in binary form, from its sections (id, contents).
fn binary(sections: &[(u8, &[u8])]) -> Vec<u8> {
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    for (id, contents) in sections {
        wasm.push(*id);
        assert!(contents.len() < 128);
        wasm.push(contents.len() as u8);
        wasm.extend_from_slice(contents);
    }
    wasm
}

/// Asserts that `Module::new` and `Module::validate` reject `wasm` with an
/// error whose message contains one of `expected`.
#[track_caller]
fn assert_invalid(engine: &Engine, wasm: &[u8], expected: &[&str]) {
    let err = Module::new(engine, wasm).expect_err("an invalid module");
    let msg = format!("{err:#}");
    assert!(
        expected.iter().any(|e| msg.contains(e)),
        "{msg:?} contains none of {expected:?}"
    );
    assert!(Module::validate(engine, wasm).is_err());
}

/// Adversarial case: every prefix of a module, and sections whose size
/// runs past the end or is shorter than their contents.
#[test]
fn truncated_sections_are_errors() {
    let engine = crate::harness::engine();
    let full = wat::parse_str(SIGNATURES).unwrap();
    Module::new(&engine, &full).unwrap();
    // Where sections end: a prefix cut there may be a valid module (the
    // header alone is the empty module).
    let mut boundaries = vec![8];
    let mut at = 8;
    while at < full.len() {
        let (mut size, mut shift) = (0usize, 0);
        at += 1;
        loop {
            let byte = full[at];
            at += 1;
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        at += size;
        boundaries.push(at);
    }
    assert_eq!(at, full.len());
    // Every other prefix is an error, never a panic.
    for cut in 0..full.len() {
        let result = Module::new(&engine, &full[..cut]);
        assert_eq!(
            result.is_ok(),
            Module::validate(&engine, &full[..cut]).is_ok(),
            "cut at {cut}"
        );
        if !boundaries.contains(&cut) {
            let err = result.expect_err("a truncated module");
            assert!(!err.to_string().is_empty(), "cut at {cut}");
        }
    }
    // A section whose size runs past the end; a section shorter than its
    // contents.
    let mut past_end = binary(&[(1, &[1, 0x60, 0, 0])]);
    past_end[9] = 20;
    assert_invalid(&engine, &past_end, &["unexpected end", "section"]);
    let short = binary(&[(1, &[1, 0x60, 0])]);
    assert_invalid(&engine, &short, &["unexpected end"]);
    let (mut store, inst) = new_instance(&engine, FOUR_SLOTS);
    assert_usable(&mut store, &inst);
}

/// Adversarial case: `call_indirect` with no table, a table index past the
/// last, or an externref table.
#[test]
fn call_indirect_without_a_table_or_through_an_externref_table_is_invalid() {
    let engine = crate::harness::engine();
    let no_table =
        wat::parse_str("(module (type $t (func)) (func (call_indirect (type $t) (i32.const 0))))")
            .unwrap();
    assert_invalid(&engine, &no_table, &["unknown table"]);
    let second_missing = wat::parse_str(
        "(module (type $t (func)) (table 1 funcref)
           (func (call_indirect 1 (type $t) (i32.const 0))))",
    )
    .unwrap();
    assert_invalid(&engine, &second_missing, &["unknown table"]);
    let externref_table = wat::parse_str(
        "(module (type $t (func)) (table 1 externref)
           (func (call_indirect (type $t) (i32.const 0))))",
    )
    .unwrap();
    assert_invalid(&engine, &externref_table, &["type mismatch", "funcref"]);
}

/// Adversarial case: type indices out of range in `call_indirect`, a
/// function, an import and a block type.
#[test]
fn type_indices_out_of_range_are_invalid() {
    let engine = crate::harness::engine();
    // call_indirect with type index 5 of 1.
    let call_indirect = wat::parse_str(
        "(module (type (func)) (table 1 funcref) (func (call_indirect (type 5) (i32.const 0))))",
    )
    .unwrap();
    assert_invalid(&engine, &call_indirect, &["unknown type"]);
    // A function declared with type 3 of 1 (type, function and code
    // sections by hand).
    let func = binary(&[(1, &[1, 0x60, 0, 0]), (3, &[1, 3]), (10, &[1, 2, 0, 0x0b])]);
    assert_invalid(
        &engine,
        &func,
        &["unknown type", "type index out of bounds"],
    );
    // An import of type 1 of 1.
    let import = binary(&[(1, &[1, 0x60, 0, 0]), (2, &[1, 1, b'm', 1, b'f', 0x00, 1])]);
    assert_invalid(
        &engine,
        &import,
        &["unknown type", "type index out of bounds"],
    );
    // A block type of type 9.
    let block = wat::parse_str("(module (type (func)) (func (block (type 9))))");
    if let Ok(block) = block {
        assert_invalid(
            &engine,
            &block,
            &["unknown type", "type index out of bounds"],
        );
    }
}

/// Adversarial case: LEB128 encodings longer than their type allows, in
/// counts, section sizes and immediates.
#[test]
fn over_long_leb_encodings_are_invalid() {
    let engine = crate::harness::engine();
    // A type count of 1 in six bytes (u32 LEBs have at most five).
    let count = binary(&[(1, &[0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x60, 0, 0])]);
    assert_invalid(&engine, &count, &["too long", "too large"]);
    // Five bytes whose last one sets bits past 32.
    let high_bits = binary(&[(1, &[0x81, 0x80, 0x80, 0x80, 0x70, 0x60, 0, 0])]);
    assert_invalid(&engine, &high_bits, &["too large", "too long"]);
    // A section size in six bytes.
    let mut size = b"\0asm\x01\0\0\0\x01".to_vec();
    size.extend_from_slice(&[0x84, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 0x60, 0, 0]);
    assert_invalid(&engine, &size, &["too long", "too large"]);
    // i32.const with an 6-byte immediate, and i64.const with 11 bytes.
    let body = |insts: &[u8]| {
        let mut code = vec![0u8];
        code.extend_from_slice(insts);
        code.push(0x1a); // drop
        code.push(0x0b); // end
        let mut entry = vec![code.len() as u8];
        entry.extend_from_slice(&code);
        let mut section = vec![1u8];
        section.extend_from_slice(&entry);
        binary(&[(1, &[1, 0x60, 0, 0]), (3, &[1, 0]), (10, &section)])
    };
    let ok = body(&[0x41, 0x80, 0x80, 0x80, 0x80, 0x00]);
    Module::new(&engine, &ok).expect("a five-byte i32 immediate is fine");
    let i32_long = body(&[0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    assert_invalid(&engine, &i32_long, &["too long", "too large"]);
    let mut i64_insts = vec![0x42];
    i64_insts.extend_from_slice(&[0x80; 10]);
    i64_insts.push(0x00);
    let i64_long = body(&i64_insts);
    assert_invalid(&engine, &i64_long, &["too long", "too large"]);
    let (mut store, inst) = new_instance(&engine, FOUR_SLOTS);
    assert_usable(&mut store, &inst);
}

#[test]
fn malformed_and_invalid_modules_are_errors() {
    let engine = crate::harness::engine();
    let garbage = Module::new(&engine, [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]).unwrap_err();
    assert!(!garbage.to_string().is_empty());
    let full = wat::parse_str("(module (func (export \"f\") (result i32) i32.const 1))").unwrap();
    for cut in [4, 6, 9, 10, full.len() - 1] {
        let err = Module::new(&engine, &full[..cut]).unwrap_err();
        assert!(!err.to_string().is_empty(), "cut at {cut}");
    }
    let invalid = Module::new(&engine, "(module (func (result i32) i64.const 1))").unwrap_err();
    assert!(invalid.to_string().contains("type mismatch"), "{invalid:#}");
    let no_table =
        wat::parse_str("(module (type $t (func)) (func (call_indirect (type $t) (i32.const 0))))");
    if let Ok(bytes) = no_table {
        assert!(Module::new(&engine, bytes).is_err());
    }
    // Over-long LEB encoding of the type count.
    let long_leb = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x00,
    ];
    assert!(Module::new(&engine, long_leb).is_err());
    assert!(Module::validate(&engine, &long_leb).is_err());
}
