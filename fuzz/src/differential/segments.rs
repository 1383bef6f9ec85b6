//! Active element segments of functions, added to generated modules.
//!
//! wasm-smith 0.263 makes every element segment empty: it clamps a
//! segment's length to `total_elements.saturating_sub(max_elements)`, which
//! is 0 (and `min_elements` above 0 fails its `max >= min` assertion). Its
//! modules would then never have tables whose slots hold functions from
//! the start, which is exactly what a compiler reads to guess the callee of
//! a `call_indirect`. So after generation, [`with_function_segments`]
//! appends active segments of function indices to the module's funcref
//! tables (imported and defined), each within the table's minimum size so
//! instantiation still succeeds.

use super::{push_section, read_leb, rewrite_sections, write_leb};
use arbitrary::Unstructured;

/// The element section's id.
const ELEMENT_SECTION: u8 = 9;

/// The ids of the sections that come after the element section: data
/// count, code and data.
const AFTER_ELEMENTS: [u8; 3] = [12, 10, 11];

/// A funcref table of the module: whether it is 64-bit, and its minimum
/// size.
struct FuncTable {
    table64: bool,
    min: u64,
}

/// The module's funcref tables, in index order (`None` for tables of other
/// types), and its number of functions, imports included.
fn tables_and_funcs(wasm: &[u8]) -> Option<(Vec<Option<FuncTable>>, u32)> {
    use wasmparser::{Payload, RefType, TableType, TypeRef};
    let func_table = |ty: &TableType| {
        (ty.element_type == RefType::FUNCREF).then_some(FuncTable {
            table64: ty.table64,
            min: ty.initial,
        })
    };
    let mut tables = Vec::new();
    let mut funcs = 0u32;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    match import.ok()?.ty {
                        TypeRef::Func(_) => funcs += 1,
                        TypeRef::Table(ty) => tables.push(func_table(&ty)),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(section) => funcs += section.count(),
            Payload::TableSection(section) => {
                for table in section {
                    tables.push(func_table(&table.ok()?.ty));
                }
            }
            _ => {}
        }
    }
    Some((tables, funcs))
}

/// The bytes of up to one new active segment per funcref table, chosen
/// from `u`, and how many there are.
fn new_segments(
    u: &mut Unstructured<'_>,
    tables: &[Option<FuncTable>],
    funcs: u32,
) -> arbitrary::Result<(Vec<u8>, u64)> {
    let mut bytes = Vec::new();
    let mut count = 0;
    if funcs == 0 {
        return Ok((bytes, count));
    }
    for (index, table) in tables.iter().enumerate() {
        let Some(table) = table else { continue };
        if table.min == 0 || u.ratio(1, 4)? {
            continue;
        }
        let offset = u.int_in_range(0..=table.min - 1)?;
        let len = u.int_in_range(1..=(table.min - offset).min(6))?;
        // Active, with a table index and an offset expression, of
        // function indices.
        bytes.push(0x02);
        write_leb(&mut bytes, index as u64);
        bytes.push(if table.table64 { 0x42 } else { 0x41 });
        write_sleb(&mut bytes, offset as i64);
        bytes.push(0x0b);
        bytes.push(0x00);
        write_leb(&mut bytes, len);
        for _ in 0..len {
            write_leb(&mut bytes, u64::from(u.int_in_range(0..=funcs - 1)?));
        }
        count += 1;
    }
    Ok((bytes, count))
}

/// Appends a signed LEB128 number.
fn write_sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

/// Appends an element section of the `count` segments `segments`.
fn push_element_section(out: &mut Vec<u8>, segments: &[u8], count: u64) {
    let mut section = Vec::new();
    write_leb(&mut section, count);
    section.extend_from_slice(segments);
    push_section(out, ELEMENT_SECTION, &section);
}

/// `wasm` with active segments of functions added to its funcref tables
/// (chosen from `u`), or unchanged when it does not decode or `u` runs
/// out.
pub(super) fn with_function_segments(wasm: &[u8], u: &mut Unstructured<'_>) -> Vec<u8> {
    let Some((tables, funcs)) = tables_and_funcs(wasm) else {
        return wasm.to_vec();
    };
    let Ok((segments, added)) = new_segments(u, &tables, funcs) else {
        return wasm.to_vec();
    };
    if added == 0 {
        return wasm.to_vec();
    }
    let mut done = false;
    let rewritten = rewrite_sections(wasm, |id, payload, out| {
        if id == ELEMENT_SECTION {
            let mut p = 0;
            let count = read_leb(payload, &mut p)?;
            let mut section = Vec::new();
            write_leb(&mut section, count + added);
            section.extend_from_slice(&payload[p..]);
            section.extend_from_slice(&segments);
            push_section(out, id, &section);
            done = true;
        } else {
            if !done && AFTER_ELEMENTS.contains(&id) {
                push_element_section(out, &segments, added);
                done = true;
            }
            push_section(out, id, payload);
        }
        Some(())
    });
    let rewrite = || -> Option<Vec<u8>> {
        let mut out = rewritten?;
        if !done {
            // No data count, code or data section: the segments go last.
            push_element_section(&mut out, &segments, added);
        }
        Some(out)
    };
    rewrite().unwrap_or_else(|| wasm.to_vec())
}
