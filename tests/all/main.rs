//! Trestle's integration tests, one binary: the spec test suites (`wast`),
//! the command line on the example modules (`run`) and trap handling
//! (`traps`).

mod interrupt;
mod run;
mod table;
mod traps;
mod wast;
