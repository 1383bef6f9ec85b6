//! Fuzz targets for Trestle, as plain functions of the input bytes: the
//! libFuzzer targets in `fuzz_targets/` and the stable-Rust driver in
//! `src/bin/smoke.rs` both call them.
//!
//! - [`differential`]: wasm-smith modules on Trestle and on an oracle,
//!   results and final state compared: wasmi, or with the
//!   `wasmtime-oracle` feature Wasmtime, on modules that also use
//!   exception handling and tail calls.
//! - [`table_ops`]: random table operations from the host and from wasm
//!   against a model, externref drops counted.
//! - [`compile`]: arbitrary bytes and invalid modules through
//!   `Module::new`.

pub mod compile;
pub mod differential;
pub mod table_ops;
#[cfg(feature = "wasmtime-oracle")]
mod wasmtime_side;

/// The oracle of the `differential` target: Wasmtime with the
/// `wasmtime-oracle` feature, wasmi without.
#[cfg(feature = "wasmtime-oracle")]
type DifferentialOracle = wasmtime_side::WasmtimeSide;
#[cfg(not(feature = "wasmtime-oracle"))]
type DifferentialOracle = differential::WasmiSide;

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
/// When Trestle and the oracle disagree.
pub fn differential_target(data: &[u8]) -> &'static str {
    use differential::{Agreement, TableShape};
    /// The labels of modules that ran: by exceptions and traps (rows),
    /// and by how they call through tables (columns, in the order of
    /// [`TableShape`]).
    const RAN: [[&str; 3]; 4] = [
        [
            "ran, with try_table/throw, an exception reached the host; no call_indirect",
            "ran, with try_table/throw, an exception reached the host; call_indirect",
            "ran, with try_table/throw, an exception reached the host; call_indirect, mutable tables with segments",
        ],
        [
            "ran, with try_table/throw, no exception reached the host; no call_indirect",
            "ran, with try_table/throw, no exception reached the host; call_indirect",
            "ran, with try_table/throw, no exception reached the host; call_indirect, mutable tables with segments",
        ],
        [
            "ran, no trap; no call_indirect",
            "ran, no trap; call_indirect",
            "ran, no trap; call_indirect, mutable tables with segments",
        ],
        [
            "ran, with traps; no call_indirect",
            "ran, with traps; call_indirect",
            "ran, with traps; call_indirect, mutable tables with segments",
        ],
    ];
    let agreement =
        differential::check_with::<DifferentialOracle>(data, &differential::Limits::FUZZ);
    match agreement {
        Ok(Agreement::Ran {
            exceptions,
            thrown,
            traps,
            tables,
            ..
        }) => {
            let row = match (exceptions, thrown > 0, traps > 0) {
                (true, true, _) => 0,
                (true, false, _) => 1,
                (false, _, false) => 2,
                (false, _, true) => 3,
            };
            let column = match tables {
                TableShape::NoIndirectCalls => 0,
                TableShape::IndirectCalls => 1,
                TableShape::MutableTables => 2,
            };
            RAN[row][column]
        }
        Ok(Agreement::InstantiationFailed) => "instantiation failed on both",
        Ok(Agreement::Skipped(why)) => why,
        Err(d) => panic!("{d}\nmodule: {}", hex(&d.wasm)),
    }
}

/// Runs `wasm` on Trestle and on the `differential` target's oracle:
/// see [`differential::compare`].
///
/// # Errors
///
/// When the engines disagree.
pub fn differential_compare(
    wasm: &[u8],
    memory64: bool,
    lazy: bool,
) -> Result<differential::Agreement, differential::Divergence> {
    differential::compare_with::<DifferentialOracle>(wasm, memory64, lazy)
}

/// Lowercase hex, for modules in panic messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
