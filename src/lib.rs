//! The library behind the `trestle` command.
//!
//! - [`wast`] runs `.wast` scripts, the format of the WebAssembly spec tests,
//!   and reports every directive; the `trestle wast` command and the spec
//!   suites under `tests/all` are built on it.
//! - [`features`] is the feature set a command runs with: the defaults, an
//!   edition of the standard, the features turned off.
//! - [`run`] loads a module, calls one of its exports with arguments given as
//!   text and formats the results; it is the `trestle run` command.
//! - [`bench`](mod@bench) holds the benchmarks of `call_indirect` throughput, table
//!   operations, compilation and instantiation, shared by `trestle bench`
//!   and the criterion benchmarks in `benches/`.

pub mod bench;
pub mod features;
pub mod run;
pub mod wast;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
