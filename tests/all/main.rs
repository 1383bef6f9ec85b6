//! Trestle's integration tests, one binary: the spec test suites (`wast`),
//! the command line on the example modules (`run`), trap handling
//! (`traps`), the adversarial cases of `shared/ADVERSARIAL.md`
//! (`adversarial`, `table`), seeded differential testing against wasmi
//! (`differential`), host panics reached from wasm (`panics`), fuel and
//! epochs on bulk operators (`interrupt`, `metering`), the embedding API
//! as an embedder reads it (`api`), and WASI preview 1: the upstream test
//! suite (`wasi_testsuite`), C and C++ programs checked against native
//! builds (`wasi_programs`), and the sandbox and bad guest input (`wasi`).
//! Every test builds its engines from `harness`, which applies
//! `TRESTLE_TABLE_LAZY_INIT`.

mod adversarial;
mod api;
mod differential;
mod disas;
mod harness;
mod interrupt;
mod metering;
mod panics;
mod run;
mod table;
mod traps;
mod typed_refs;
mod wasi;
mod wasi_programs;
mod wasi_testsuite;
mod wast;
