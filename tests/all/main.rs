//! Trestle's integration tests, one binary: the spec test suites (`wast`),
//! the command line on the example modules (`run`), trap handling
//! (`traps`), the adversarial cases of `shared/ADVERSARIAL.md`
//! (`adversarial`, `table`), SIMD through the host API (`simd`) and seeded
//! differential testing against wasmi (`differential`).

mod adversarial;
mod differential;
mod disas;
mod interrupt;
mod run;
mod simd;
mod table;
mod traps;
mod typed_refs;
mod wast;
