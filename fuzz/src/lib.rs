//! Fuzz targets for Trestle, as plain functions of the input bytes: the
//! libFuzzer targets in `fuzz_targets/` and the stable-Rust driver in
//! `src/bin/smoke.rs` both call them.
//!
//! - [`differential`]: wasm-smith modules on Trestle and on wasmi, results
//!   and final state compared.
//! - [`table_ops`]: random table operations from the host and from wasm
//!   against a model, externref drops counted.
//! - [`compile`]: arbitrary bytes and invalid modules through
//!   `Module::new`.

pub mod compile;
pub mod differential;
pub mod table_ops;

/// The targets by name.
pub const TARGETS: &[&str] = &["differential", "table_ops", "compile"];

/// Runs target `name` on `data` and names what the input exercised.
///
/// # Panics
///
/// When the target finds a bug, or `name` is no target.
pub fn run(name: &str, data: &[u8]) -> &'static str {
    match name {
        "differential" => differential_target(data),
        "table_ops" => table_ops::check(data),
        "compile" => compile::check(data),
        _ => panic!("no fuzz target {name:?}; the targets are {TARGETS:?}"),
    }
}

/// The `differential` target: panics on a divergence.
///
/// # Panics
///
/// When Trestle and wasmi disagree.
pub fn differential_target(data: &[u8]) -> &'static str {
    match differential::check(data, &differential::Limits::FUZZ) {
        Ok(differential::Agreement::Ran { traps: 0, .. }) => "ran, no trap",
        Ok(differential::Agreement::Ran { .. }) => "ran, with traps",
        Ok(differential::Agreement::InstantiationFailed) => "instantiation failed on both",
        Ok(differential::Agreement::Skipped(why)) => why,
        Err(d) => panic!("{d}\nmodule: {}", hex(&d.wasm)),
    }
}

/// Lowercase hex, for modules in panic messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
