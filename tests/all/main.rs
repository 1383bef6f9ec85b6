//! Trestle's integration tests, one binary: the spec test suites (`wast`),
//! the command line on the example modules (`run`), trap handling
//! (`traps`), the adversarial cases of `shared/ADVERSARIAL.md`
//! (`adversarial`, `table`), seeded differential testing against wasmi
//! (`differential`), and WASI preview 1: the upstream test suite
//! (`wasi_testsuite`), C and C++ programs checked against native builds
//! (`wasi_programs`), and the sandbox and bad guest input (`wasi`).

mod adversarial;
mod differential;
mod disas;
mod interrupt;
mod run;
mod table;
mod traps;
mod typed_refs;
mod wasi;
mod wasi_programs;
mod wasi_testsuite;
mod wast;
